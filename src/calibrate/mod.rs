//! Calibration (DESIGN layer 6): fit named parameters to observed figures.
//!
//! The scenario's `[calibration]` names free parameters (parameter paths, resolved once
//! against the validated scenario, each with bounds) and targets (an output series, a year, the observed value, a
//! weight, a source). The fit minimises `sum_k w_k (ln model_k - ln observed_k)^2` by
//! Levenberg-Marquardt with bounds: a forward-difference Jacobian, a damped Gauss-Newton
//! step, projection onto the bounds, and a damping factor that rises when a step fails and
//! falls when it succeeds (Nocedal and Wright 2006, ch. 10; Madsen, Nielsen and Tingleff
//! 2004 for the damping rule). Standard errors come from `s^2 (J'WJ)^-1` with
//! `s^2 = SSR / (m - n)`; directions of `J` with tiny singular values mark parameters the
//! targets cannot pin down.

use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Table;

use crate::scenario::params::{ParamError, ParamPath};
use crate::scenario::{Param, Scenario, ScenarioError};
use crate::simulate::{outputs_direct, RunError};
use crate::solver::{check_cap, check_tolerance, InvalidOption, SolveReport, StopReason};

pub mod files;

/// `[calibration]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalibration {
    #[serde(default)]
    pub free: Vec<RawFree>,
    #[serde(default)]
    pub targets: Vec<RawTarget>,
    /// Steps at most (default 50).
    #[serde(default)]
    pub max_steps: Option<usize>,
}

/// A free parameter.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFree {
    pub path: String,
    pub lower: f64,
    pub upper: f64,
}

/// An observed figure to fit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// An output series, as `tradeflow series FILE` lists them (`CHN-KGZ.recorded.CHN`), or
    /// for a single counterfactual `CAN welfare_change_pct`.
    pub series: String,
    #[serde(default)]
    pub year: Option<i32>,
    pub value: f64,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub source: String,
}

fn one() -> f64 {
    1.0
}

/// A problem with the calibration specification or the fit.
#[derive(Debug, Error)]
pub enum CalibrationError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{path}: {field}: {message}")]
    Spec {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// A free parameter's path names no number (`field`: where in `[calibration]`).
    #[error("{path}: {field}: {error}")]
    Param {
        path: PathBuf,
        field: String,
        error: Box<ParamError>,
    },
    #[error("{path}: the scenario does not run at the starting values: {reason}")]
    Start {
        path: PathBuf,
        reason: Box<EvalError>,
    },
}

/// Why [`fitted_file`] cannot write a fitted value back.
#[derive(Debug, Error)]
pub enum FittedFileError {
    /// The fitted parameter sits in an instrument without an `id`, which the fitted file
    /// could not name to replace.
    #[error("`{path}`: only instruments with an `id` can be written back")]
    InstrumentWithoutId { path: String },
    /// A segment of the path is a value, not a table to write into.
    #[error("`{path}` cannot be written back")]
    NotATable { path: String },
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The changed values do not serialise as TOML.
    #[error("{0}")]
    Toml(#[from] toml::ser::Error),
}

/// Why the model cannot be evaluated at a point of the fit.
#[derive(Debug, Error)]
pub enum EvalError {
    /// The free parameters' values there make the scenario invalid.
    #[error(transparent)]
    Invalid(#[from] ScenarioError),
    /// The scenario does not run there (boxed: a run error is large, and the fit passes
    /// this around at every step).
    #[error(transparent)]
    Run(Box<RunError>),
    /// A target's model value is not positive, so it has no log deviation.
    #[error("the model value of `{series}` {} is {value}: log deviations need positive values", .year.map_or(String::new(), |y| y.to_string()))]
    NonPositive {
        series: String,
        year: Option<i32>,
        value: f64,
    },
}

/// Settings of the Levenberg-Marquardt fit, checked once by [`LmOptions::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmOptions {
    max_steps: usize,
    gradient_tolerance: f64,
    exact_fit: f64,
    relative_decrease: f64,
    step_tolerance: f64,
    initial_damping: f64,
    damping_tries: usize,
}

impl Default for LmOptions {
    /// 50 steps at most (`[calibration] max_steps`); converged when the largest projected
    /// gradient component is below `1e-10` or the objective below `1e-20` (an exact fit),
    /// or when an accepted step lowers the objective by less than a fraction `1e-12` or
    /// moves no parameter by more than `1e-10` of the largest; damping starts at `1e-3`
    /// and a step is retried with ten times the damping up to 30 times.
    fn default() -> Self {
        LmOptions {
            max_steps: 50,
            gradient_tolerance: 1e-10,
            exact_fit: 1e-20,
            relative_decrease: 1e-12,
            step_tolerance: 1e-10,
            initial_damping: 1e-3,
            damping_tries: 30,
        }
    }
}

impl LmOptions {
    /// The defaults with at most `max_steps` steps (at least 1).
    pub fn new(max_steps: usize) -> Result<LmOptions, Vec<InvalidOption>> {
        LmOptions {
            max_steps,
            ..LmOptions::default()
        }
        .checked()
    }

    /// These settings with the tolerances replaced: `gradient` for the projected gradient,
    /// `decrease` for the relative fall of the objective, `step` for the relative move of
    /// an accepted step (each in (0, 1)).
    pub fn with_tolerances(
        self,
        gradient: f64,
        decrease: f64,
        step: f64,
    ) -> Result<LmOptions, Vec<InvalidOption>> {
        LmOptions {
            gradient_tolerance: gradient,
            relative_decrease: decrease,
            step_tolerance: step,
            ..self
        }
        .checked()
    }

    /// Steps at most.
    pub fn max_steps(&self) -> usize {
        self.max_steps
    }

    fn checked(self) -> Result<LmOptions, Vec<InvalidOption>> {
        let mut wrong = Vec::new();
        check_cap("max_steps", self.max_steps, &mut wrong);
        check_tolerance("gradient_tolerance", self.gradient_tolerance, &mut wrong);
        check_tolerance("exact_fit", self.exact_fit, &mut wrong);
        check_tolerance("relative_decrease", self.relative_decrease, &mut wrong);
        check_tolerance("step_tolerance", self.step_tolerance, &mut wrong);
        check_tolerance("initial_damping", self.initial_damping, &mut wrong);
        check_cap("damping_tries", self.damping_tries, &mut wrong);
        if wrong.is_empty() {
            Ok(self)
        } else {
            Err(wrong)
        }
    }
}

/// How `calibration.json`'s `stop` words a Levenberg-Marquardt stop reason.
fn stop_text(reason: StopReason, max_steps: usize) -> String {
    match reason {
        StopReason::MaxIterations => format!("stopped at the step limit ({max_steps})"),
        StopReason::Converged => "converged: the projected gradient vanished".into(),
        StopReason::NoProgress => "converged: the objective stopped falling".into(),
        StopReason::NoDescent => {
            "converged: no step lowers the objective (a local minimum within the bounds)".into()
        }
        other => other.to_string(),
    }
}

/// A fitted parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedParameter {
    pub path: String,
    pub initial: f64,
    pub fitted: f64,
    /// `None` (an empty cell in `parameters.csv`, `null` in JSON) when it is undefined: no
    /// more targets than parameters (no residual variance), or a singular `J'WJ`.
    pub stderr: Option<f64>,
    pub lower: f64,
    pub upper: f64,
    pub at_bound: bool,
    /// Its weight in the least identified direction of the Jacobian (0 to 1); high values
    /// with a tiny singular value mean the targets cannot pin it down.
    pub weak_direction_loading: f64,
    /// The targets pin it down poorly: its standard error exceeds half its value, or the
    /// Jacobian is near-singular (condition number above 1e6) along a direction it loads
    /// on by more than half.
    pub poorly_identified: bool,
}

/// One target against the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetFit {
    pub series: String,
    pub year: Option<i32>,
    pub observed: f64,
    pub initial: f64,
    pub fitted: f64,
    /// `ln fitted - ln observed`.
    pub log_deviation: f64,
    pub weight: f64,
    pub source: String,
}

/// The outcome of a calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub parameters: Vec<FittedParameter>,
    pub targets: Vec<TargetFit>,
    pub objective_initial: f64,
    pub objective: f64,
    /// `report.iterations`, as `calibration.json` records it.
    pub steps: usize,
    /// `report.evaluations`, as `calibration.json` records it.
    pub evaluations: usize,
    /// Why it stopped, in the words `calibration.json` records (from `report`).
    pub stop: String,
    /// `report.converged()`.
    pub converged: bool,
    /// The optimiser's report: steps, model evaluations, the largest projected gradient
    /// component at the last step and the stop reason.
    #[serde(skip)]
    pub report: SolveReport,
    /// Singular values of the weighted Jacobian at the fit, largest first.
    pub singular_values: Vec<f64>,
    /// Ratio of the largest to the smallest singular value.
    pub condition_number: f64,
    /// The fitted scenario's merged table, for [`fitted_file`]: filled by [`calibrate`]
    /// (which read the file); empty from [`calibrate_scenario`].
    #[serde(skip)]
    pub table: Table,
}

struct Problem {
    file: PathBuf,
    /// The scenario as given; each evaluation is a copy with the free parameters set.
    central: Scenario,
    free: Vec<(Param, f64, f64)>,
    targets: Vec<RawTarget>,
    index: Vec<usize>,
    options: LmOptions,
}

impl Problem {
    /// The scenario at `x`, each value checked as validation checks it.
    fn scenario_at(&self, x: &DVector<f64>) -> Result<Scenario, ScenarioError> {
        let values: Vec<(&Param, f64)> = self
            .free
            .iter()
            .zip(x.iter())
            .map(|((p, _, _), v)| (p, *v))
            .collect();
        self.central.with_params(&values)
    }

    /// Model values of the targets at `x`.
    fn model(&self, x: &DVector<f64>) -> Result<Vec<f64>, EvalError> {
        let s = self.scenario_at(x)?;
        // The series alone, without the result rows (the same values as the row path's).
        let out = outputs_direct(&s).map_err(|e| EvalError::Run(Box::new(e)))?;
        Ok(self.index.iter().map(|&k| out[k].2).collect())
    }
}

/// A least-squares problem `min |r(x)|^2` over a box, as Levenberg-Marquardt sees it.
trait Residuals {
    /// The residual vector at `x`, or why the model cannot be evaluated there.
    fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError>;
}

impl Residuals for Problem {
    /// Weighted log residuals `sqrt(w_k) (ln model_k - ln observed_k)`.
    fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
        let m = self.model(x)?;
        let mut r = DVector::zeros(m.len());
        for (k, (v, t)) in m.iter().zip(&self.targets).enumerate() {
            if !(*v > 0.0 && v.is_finite()) {
                return Err(EvalError::NonPositive {
                    series: t.series.clone(),
                    year: t.year,
                    value: *v,
                });
            }
            r[k] = t.weight.sqrt() * (v.ln() - t.value.ln());
        }
        Ok(r)
    }
}

/// Forward-difference Jacobian of the residuals `r` at `x`, stepping inward at an upper
/// bound: one model run per parameter.
fn jacobian<P: Residuals>(
    p: &P,
    x: &DVector<f64>,
    r: &DVector<f64>,
    upper: &DVector<f64>,
) -> Result<DMatrix<f64>, EvalError> {
    let mut jac = DMatrix::zeros(r.len(), x.len());
    for j in 0..x.len() {
        let h = 1e-5 * x[j].abs().max(1e-2);
        let mut xh = x.clone();
        let dir = if xh[j] + h > upper[j] { -1.0 } else { 1.0 };
        xh[j] += dir * h;
        let rh = p.residuals(&xh)?;
        jac.set_column(j, &((rh - r) / (dir * h)));
    }
    Ok(jac)
}

/// Where Levenberg-Marquardt stopped: the point, its residuals, the objective at the
/// start and at the end, the Jacobian at the end, and the report.
struct LmOutcome {
    x: DVector<f64>,
    r: DVector<f64>,
    cost0: f64,
    cost: f64,
    jac: DMatrix<f64>,
    report: SolveReport,
}

/// Levenberg-Marquardt with bounds from `x0` (inside the box `[lower, upper]`): each step
/// solves `(J'J + mu diag(J'J)) delta = -J'r`, projects `x + delta` onto the box and
/// accepts it if the objective falls; `mu` is divided by 3 after a success and multiplied
/// by 10 after a failure (Madsen, Nielsen and Tingleff 2004). This loop owns the stopping
/// rules (see [`LmOptions`]) and the report says which one ended it. A trial point where
/// the model cannot be evaluated counts as a failed step; an error at `x0` or in a
/// Jacobian is returned.
fn levenberg_marquardt<P: Residuals>(
    p: &P,
    x0: DVector<f64>,
    lower: &DVector<f64>,
    upper: &DVector<f64>,
    options: &LmOptions,
) -> Result<LmOutcome, EvalError> {
    let n = x0.len();
    let mut x = x0;
    let mut r = p.residuals(&x)?;
    let mut cost = r.norm_squared();
    let cost0 = cost;
    let mut mu = options.initial_damping;
    let mut evaluations = 1;
    let mut steps = 0;
    let mut reason = StopReason::MaxIterations;
    let mut residual = f64::INFINITY;
    let mut jac = DMatrix::zeros(r.len(), n);
    // Whether `jac` is the Jacobian at the current `x`.
    let mut jac_current = false;
    for step in 1..=options.max_steps {
        steps = step;
        jac = jacobian(p, &x, &r, upper)?;
        evaluations += n;
        jac_current = true;
        let g = jac.transpose() * &r;
        // `f64::max` drops NaN, so a NaN gradient would look like a vanished one.
        if !cost.is_finite() || g.iter().any(|v| !v.is_finite()) {
            reason = StopReason::NonFinite;
            break;
        }
        // Projected gradient: zero where a bound blocks the descent direction.
        let pg_norm = (0..n)
            .map(|j| {
                let blocked = (x[j] <= lower[j] && g[j] > 0.0) || (x[j] >= upper[j] && g[j] < 0.0);
                if blocked {
                    0.0
                } else {
                    g[j].abs()
                }
            })
            .fold(0.0, f64::max);
        residual = pg_norm;
        if pg_norm < options.gradient_tolerance || cost < options.exact_fit {
            reason = StopReason::Converged;
            break;
        }
        let jtj = jac.transpose() * &jac;
        let mut improved = false;
        for _ in 0..options.damping_tries {
            let mut a = jtj.clone();
            for j in 0..n {
                a[(j, j)] += mu * jtj[(j, j)].max(1e-12);
            }
            let Some(delta) = a.cholesky().map(|c| c.solve(&(-&g))) else {
                mu *= 10.0;
                continue;
            };
            let trial = (&x + &delta).zip_zip_map(lower, upper, |v, lo, hi| v.clamp(lo, hi));
            evaluations += 1;
            match p.residuals(&trial) {
                Ok(rt) if rt.norm_squared() < cost => {
                    let new_cost = rt.norm_squared();
                    let rel = (cost - new_cost) / cost.max(1e-300);
                    let dx = (&trial - &x).amax() / x.amax().max(1e-12);
                    x = trial;
                    r = rt;
                    cost = new_cost;
                    jac_current = false;
                    mu = (mu / 3.0).max(1e-12);
                    improved = true;
                    if rel < options.relative_decrease || dx < options.step_tolerance {
                        reason = StopReason::NoProgress;
                    }
                    break;
                }
                // A worse step, or a point where the scenario does not run: damp more.
                _ => mu *= 10.0,
            }
        }
        if reason == StopReason::NoProgress {
            break;
        }
        if !improved {
            reason = StopReason::NoDescent;
            break;
        }
    }
    // Jacobian at the fit for standard errors and identification (unless the last step
    // left it there already).
    if !jac_current {
        jac = jacobian(p, &x, &r, upper)?;
        evaluations += n;
    }
    let mut report = SolveReport::new("calibration", steps, residual, reason);
    report.evaluations = Some(evaluations);
    Ok(LmOutcome {
        x,
        r,
        cost0,
        cost,
        jac,
        report,
    })
}

/// Reads the scenario file and its `[calibration]`, and fits it ([`calibrate_scenario`]);
/// the fit's `table` is the file's merged table with the fitted values, for
/// [`fitted_file`].
pub fn calibrate(file: &Path) -> Result<Fit, CalibrationError> {
    let (table, raw) = calibration_spec(file)?;
    let central = Scenario::from_file(file)?;
    calibrate_from(file, table, &raw, central)
}

/// The scenario file's merged table and its `[calibration]`, read and checked.
pub fn calibration_spec(file: &Path) -> Result<(Table, RawCalibration), CalibrationError> {
    let table = Scenario::load_table(file)?;
    let spec_err = |field: String, message: String| CalibrationError::Spec {
        path: file.to_owned(),
        field,
        message,
    };
    let raw: RawCalibration = table
        .get("calibration")
        .cloned()
        .ok_or_else(|| {
            spec_err(
                "calibration".into(),
                "the scenario has no `[calibration]`".into(),
            )
        })?
        .try_into()
        .map_err(|e: toml::de::Error| spec_err("calibration".into(), e.message().to_owned()))?;
    Ok((table, raw))
}

/// Fits `central` (the scenario of `file`, possibly with parameters set since it was read)
/// to the `[calibration]` of `file` ([`calibration_spec`]); the fit's `table` is `table`
/// with the fitted values, for [`fitted_file`].
pub fn calibrate_from(
    file: &Path,
    mut table: Table,
    raw: &RawCalibration,
    central: Scenario,
) -> Result<Fit, CalibrationError> {
    let mut fit = calibrate_scenario(central, raw)?;
    for p in &fit.parameters {
        let written =
            ParamPath::parse(&p.path).and_then(|path| path.set_or_insert(&mut table, p.fitted));
        written.map_err(|error| CalibrationError::Param {
            path: file.to_owned(),
            field: "calibration.free".into(),
            error: Box::new(error),
        })?;
    }
    fit.table = table;
    Ok(fit)
}

/// Fits the free parameters of a validated scenario to the targets of `raw` (its
/// `[calibration]`): each path resolved once against the scenario, each step setting
/// values through [`Scenario::with_params`].
pub fn calibrate_scenario(
    central: Scenario,
    raw: &RawCalibration,
) -> Result<Fit, CalibrationError> {
    let file = central.origin();
    let spec_err = |field: String, message: String| CalibrationError::Spec {
        path: file.clone(),
        field,
        message,
    };
    if raw.free.is_empty() {
        return Err(spec_err(
            "calibration.free".into(),
            "names no free parameter".into(),
        ));
    }
    if raw.targets.is_empty() {
        return Err(spec_err(
            "calibration.targets".into(),
            "names no target".into(),
        ));
    }
    let mut free: Vec<(Param, f64, f64)> = Vec::new();
    for (k, f) in raw.free.iter().enumerate() {
        let field = format!("calibration.free[{k}]");
        if let Some(first) = raw.free[..k].iter().position(|o| o.path == f.path) {
            return Err(spec_err(
                format!("{field}.path"),
                format!(
                    "`{}` is already free in calibration.free[{first}]: free each parameter once",
                    f.path
                ),
            ));
        }
        let p = ParamPath::parse(&f.path)
            .and_then(|path| central.param(&path))
            .map_err(|error| CalibrationError::Param {
                path: file.clone(),
                field: format!("{field}.path"),
                error: Box::new(error),
            })?;
        let v = central.value(&p);
        if !(f.lower < f.upper && f.lower.is_finite() && f.upper.is_finite()) {
            return Err(spec_err(
                field,
                format!(
                    "bounds reversed or not finite: lower {} upper {}",
                    f.lower, f.upper
                ),
            ));
        }
        if !(f.lower..=f.upper).contains(&v) {
            return Err(spec_err(
                format!("{field}.path"),
                format!(
                    "the starting value {v} lies outside [{}, {}]",
                    f.lower, f.upper
                ),
            ));
        }
        free.push((p, f.lower, f.upper));
    }
    let out = outputs_direct(&central).map_err(|e| CalibrationError::Start {
        path: file.clone(),
        reason: Box::new(EvalError::Run(Box::new(e))),
    })?;
    let mut index = Vec::new();
    for (k, t) in raw.targets.iter().enumerate() {
        let field = format!("calibration.targets[{k}]");
        if !(t.value > 0.0 && t.value.is_finite()) {
            return Err(spec_err(
                format!("{field}.value"),
                format!("must be positive (the fit is on logs), got {}", t.value),
            ));
        }
        if !(t.weight > 0.0 && t.weight.is_finite()) {
            return Err(spec_err(
                format!("{field}.weight"),
                format!("must be positive, got {}", t.weight),
            ));
        }
        let pos = out
            .iter()
            .position(|(name, year, _)| *name == t.series && *year == t.year);
        match pos {
            Some(i) => index.push(i),
            None => {
                let why = crate::simulate::series::missing_output(&out, &t.series, t.year)
                    .unwrap_or_default();
                return Err(spec_err(format!("{field}.series"), why));
            }
        }
    }
    let options = match raw.max_steps {
        None => LmOptions::default(),
        Some(k) => LmOptions::new(k).map_err(|wrong| {
            let messages: Vec<String> = wrong.into_iter().map(|w| w.message).collect();
            spec_err("calibration.max_steps".into(), messages.join("; "))
        })?,
    };
    let problem = Problem {
        file,
        central,
        free,
        targets: raw.targets.clone(),
        index,
        options,
    };
    fit(&problem)
}

fn fit(pb: &Problem) -> Result<Fit, CalibrationError> {
    let start_err = |reason: EvalError| CalibrationError::Start {
        path: pb.file.clone(),
        reason: Box::new(reason),
    };
    let n = pb.free.len();
    let lower = DVector::from_iterator(n, pb.free.iter().map(|f| f.1));
    let upper = DVector::from_iterator(n, pb.free.iter().map(|f| f.2));
    let x0 = DVector::from_iterator(n, pb.free.iter().map(|(p, _, _)| pb.central.value(p)));
    let model0 = pb.model(&x0).map_err(start_err)?;
    let LmOutcome {
        x,
        r,
        cost0,
        cost,
        jac,
        report,
    } = levenberg_marquardt(pb, x0.clone(), &lower, &upper, &pb.options).map_err(start_err)?;
    let svd = jac.clone().svd(false, true);
    let mut order: Vec<usize> = (0..svd.singular_values.len()).collect();
    order.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
    let singular: Vec<f64> = order.iter().map(|&k| svd.singular_values[k]).collect();
    let condition =
        singular.first().copied().unwrap_or(0.0) / singular.last().copied().unwrap_or(0.0);
    let weak = svd
        .v_t
        .as_ref()
        .and_then(|vt| order.last().map(|&k| vt.row(k).map(|v| v * v)))
        .map(|row| row.iter().copied().collect::<Vec<f64>>())
        .unwrap_or_else(|| vec![0.0; n]);
    let m = r.len();
    let s2 = if m > n {
        cost / (m - n) as f64
    } else {
        f64::NAN
    };
    let cov = (jac.transpose() * &jac).try_inverse();
    let model = pb.model(&x).map_err(start_err)?;
    let mut parameters: Vec<FittedParameter> = pb
        .free
        .iter()
        .enumerate()
        .map(|(j, (p, lo, hi))| FittedParameter {
            path: p.to_string(),
            initial: x0[j],
            fitted: x[j],
            stderr: cov
                .as_ref()
                .map(|c| (s2 * c[(j, j)]).sqrt())
                .filter(|v| v.is_finite()),
            lower: *lo,
            upper: *hi,
            at_bound: x[j] <= *lo || x[j] >= *hi,
            weak_direction_loading: weak.get(j).copied().unwrap_or(0.0),
            poorly_identified: false,
        })
        .collect();
    for p in &mut parameters {
        p.poorly_identified = p.stderr.is_some_and(|se| se > 0.5 * p.fitted.abs())
            || (condition > 1e6 && p.weak_direction_loading > 0.5);
    }
    let targets = pb
        .targets
        .iter()
        .enumerate()
        .map(|(k, t)| TargetFit {
            series: t.series.clone(),
            year: t.year,
            observed: t.value,
            initial: model0[k],
            fitted: model[k],
            log_deviation: model[k].ln() - t.value.ln(),
            weight: t.weight,
            source: t.source.clone(),
        })
        .collect();
    Ok(Fit {
        parameters,
        targets,
        objective_initial: cost0,
        objective: cost,
        steps: report.iterations,
        evaluations: report.evaluations.unwrap_or(report.iterations),
        stop: stop_text(report.stop_reason, pb.options.max_steps()),
        converged: report.converged(),
        report,
        singular_values: singular,
        condition_number: condition,
        table: Table::new(),
    })
}

/// The fitted scenario as a file that `extends` the original and restates what the fit
/// changed (for a parameter inside an instrument, the whole instrument, which replaces the
/// original's by `id`), with the fit in comments.
pub fn fitted_file(original: &Path, fit: &Fit) -> Result<String, FittedFileError> {
    let mut delta = Table::new();
    for p in &fit.parameters {
        let segments: Vec<&str> = p.path.split('.').collect();
        match segments.as_slice() {
            ["instruments", id, ..] => {
                let item = fit
                    .table
                    .get("instruments")
                    .and_then(|v| v.as_array())
                    .and_then(|a| {
                        a.iter()
                            .find(|i| i.get("id").and_then(|v| v.as_str()) == Some(id))
                    })
                    .ok_or_else(|| FittedFileError::InstrumentWithoutId {
                        path: p.path.clone(),
                    })?;
                let list = delta
                    .entry("instruments")
                    .or_insert_with(|| toml::Value::Array(Vec::new()));
                if let toml::Value::Array(items) = list {
                    let same = |i: &toml::Value| i.get("id") == item.get("id");
                    match items.iter().position(same) {
                        Some(k) => items[k] = item.clone(),
                        None => items.push(item.clone()),
                    }
                }
            }
            ["sectors", ..] => {
                delta.insert("sectors".into(), fit.table["sectors"].clone());
            }
            _ => {
                let path = ParamPath::parse(&p.path)?;
                let mut node = &mut delta;
                for seg in &segments[..segments.len() - 1] {
                    node = node
                        .entry(seg.to_string())
                        .or_insert_with(|| toml::Value::Table(Table::new()))
                        .as_table_mut()
                        .ok_or_else(|| FittedFileError::NotATable {
                            path: p.path.clone(),
                        })?;
                }
                node.insert(
                    segments[segments.len() - 1].to_string(),
                    toml::Value::Float(path.get(&fit.table)?),
                );
            }
        }
    }
    let name = fit
        .table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("scenario");
    delta.insert("name".into(), toml::Value::String(format!("{name}_fitted")));
    delta.remove("calibration");
    let mut out = String::new();
    out.push_str(&format!(
        "# Fitted by `tradeflow calibrate {}` ({}; objective {:.4e} -> {:.4e}, {} steps).\n",
        original.display(),
        fit.stop,
        fit.objective_initial,
        fit.objective,
        fit.steps
    ));
    out.push_str(
        "#\n# parameter                                   initial      fitted   std. error\n",
    );
    for p in &fit.parameters {
        out.push_str(&format!(
            "# {:<42} {:>9.4} {:>11.4} {:>12}\n",
            p.path,
            p.initial,
            p.fitted,
            p.stderr
                .map_or_else(|| "n/a".into(), |se| format!("{se:.4}"))
        ));
    }
    out.push_str("#\n# target                                      year   observed     fitted\n");
    for t in &fit.targets {
        out.push_str(&format!(
            "# {:<42} {:>5} {:>10.4} {:>10.4}\n",
            t.series,
            t.year.map_or(String::new(), |y| y.to_string()),
            t.observed,
            t.fitted
        ));
    }
    let file_name = original
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.push_str(&format!("\nextends = \"{file_name}\"\n"));
    out.push_str(&toml::to_string(&delta)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fit of the parameters `paths` on the merged table `toml`, for [`fitted_file`].
    fn fit_of(paths: &[&str], toml: &str) -> Fit {
        let parameter = |path: &str| FittedParameter {
            path: path.to_owned(),
            initial: 1.0,
            fitted: 2.0,
            stderr: None,
            lower: 0.0,
            upper: 3.0,
            at_bound: false,
            weak_direction_loading: 0.0,
            poorly_identified: false,
        };
        Fit {
            parameters: paths.iter().map(|p| parameter(p)).collect(),
            targets: Vec::new(),
            objective_initial: 1.0,
            objective: 0.5,
            steps: 1,
            evaluations: 1,
            stop: "converged".into(),
            converged: true,
            report: SolveReport::new("fit", 1, 0.0, StopReason::Converged),
            singular_values: Vec::new(),
            condition_number: 1.0,
            table: toml::from_str(toml).unwrap(),
        }
    }

    #[test]
    fn fitted_file_errors_say_which_parameter_cannot_be_written_back() {
        let original = Path::new("s.toml");
        let no_id = "[[instruments]]\nkind = \"growth\"\nstart = 2022\npercent = 2.0\n";
        let e = fitted_file(original, &fit_of(&["instruments.g.percent"], no_id)).unwrap_err();
        assert!(
            matches!(&e, FittedFileError::InstrumentWithoutId { path } if path == "instruments.g.percent"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "`instruments.g.percent`: only instruments with an `id` can be written back"
        );
        let e = fitted_file(original, &fit_of(&["years.adjustment"], "name = \"s\"")).unwrap_err();
        assert!(
            matches!(&e, FittedFileError::Param(ParamError::Missing { .. })),
            "{e:?}"
        );
        let text = fitted_file(
            original,
            &fit_of(&["years.adjustment"], "[years]\nadjustment = 2.0"),
        )
        .unwrap();
        assert!(text.contains("extends = \"s.toml\""), "{text}");
        assert!(text.contains("adjustment = 2.0"), "{text}");
    }

    /// `r(x) = A x - b`: linear least squares, minimum at the normal-equation solution.
    struct Linear {
        a: DMatrix<f64>,
        b: DVector<f64>,
    }

    impl Residuals for Linear {
        fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
            Ok(&self.a * x - &self.b)
        }
    }

    /// Rosenbrock's valley as residuals `(1 - x0, 10 (x1 - x0^2))`, minimum 0 at (1, 1).
    struct Rosenbrock;

    impl Residuals for Rosenbrock {
        fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
            Ok(DVector::from_vec(vec![
                1.0 - x[0],
                10.0 * (x[1] - x[0] * x[0]),
            ]))
        }
    }

    fn boxed(lo: f64, hi: f64, n: usize) -> (DVector<f64>, DVector<f64>) {
        (DVector::from_element(n, lo), DVector::from_element(n, hi))
    }

    fn linear() -> Linear {
        Linear {
            a: DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
            b: DVector::from_vec(vec![1.0, 2.0, 4.0]),
        }
    }

    #[test]
    fn finds_the_least_squares_solution() {
        let p = linear();
        // Normal equations: [[2, 1], [1, 2]] x = [5, 6], so x = (4/3, 7/3).
        let (lo, hi) = boxed(-10.0, 10.0, 2);
        let out =
            levenberg_marquardt(&p, DVector::zeros(2), &lo, &hi, &LmOptions::default()).unwrap();
        assert!(out.report.converged(), "{}", out.report);
        assert!((out.x[0] - 4.0 / 3.0).abs() < 1e-6, "{}", out.x);
        assert!((out.x[1] - 7.0 / 3.0).abs() < 1e-6, "{}", out.x);
        // Residuals (1/3, 1/3, -1/3): the objective is 1/3.
        assert!((out.cost - 1.0 / 3.0).abs() < 1e-10);
        assert_eq!(out.cost0, 21.0);
        assert!(out.report.evaluations.unwrap() > out.report.iterations);
    }

    #[test]
    fn stops_on_a_bound() {
        // Uncoupled parameters (diagonal J'J), unconstrained minimum (1, 3) above the bound
        // x1 <= 2: the fit ends on the bound, where the projected gradient vanishes.
        let p = Linear {
            a: DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 0.0, 1.0, 0.0, 1.0]),
            b: DVector::from_vec(vec![1.0, 2.0, 4.0]),
        };
        let lo = DVector::from_vec(vec![-10.0, -10.0]);
        let hi = DVector::from_vec(vec![10.0, 2.0]);
        let out =
            levenberg_marquardt(&p, DVector::zeros(2), &lo, &hi, &LmOptions::default()).unwrap();
        assert!(out.report.converged(), "{}", out.report);
        assert_eq!(out.x[1], 2.0);
        assert!((out.x[0] - 1.0).abs() < 1e-6, "{}", out.x);
    }

    #[test]
    fn solves_rosenbrock_and_reports_the_step_limit() {
        let (lo, hi) = boxed(-2.0, 2.0, 2);
        let x0 = DVector::from_vec(vec![-1.2, 1.0]);
        let out =
            levenberg_marquardt(&Rosenbrock, x0.clone(), &lo, &hi, &LmOptions::default()).unwrap();
        assert!(out.report.converged(), "{}", out.report);
        assert!((out.x[0] - 1.0).abs() < 1e-5 && (out.x[1] - 1.0).abs() < 1e-5);
        let one = LmOptions::new(1).unwrap();
        let out = levenberg_marquardt(&Rosenbrock, x0, &lo, &hi, &one).unwrap();
        assert_eq!(out.report.stop_reason, StopReason::MaxIterations);
        assert_eq!(out.report.iterations, 1);
        assert!(!out.report.converged());
        assert_eq!(
            stop_text(out.report.stop_reason, one.max_steps()),
            "stopped at the step limit (1)"
        );
    }

    #[test]
    fn a_nan_residual_is_non_finite_not_converged() {
        struct Nan;
        impl Residuals for Nan {
            fn residuals(&self, _: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
                Ok(DVector::from_element(2, f64::NAN))
            }
        }
        let (lo, hi) = boxed(-1.0, 1.0, 1);
        let out =
            levenberg_marquardt(&Nan, DVector::zeros(1), &lo, &hi, &LmOptions::default()).unwrap();
        assert_eq!(out.report.stop_reason, StopReason::NonFinite);
        assert!(!out.report.converged());
    }

    #[test]
    fn options_are_checked_once() {
        assert!(LmOptions::new(0).is_err());
        let wrong = LmOptions::default()
            .with_tolerances(f64::NAN, 1e-12, 0.0)
            .unwrap_err();
        let fields: Vec<&str> = wrong.iter().map(|w| w.field).collect();
        assert_eq!(fields, ["gradient_tolerance", "step_tolerance"]);
    }

    #[test]
    fn stop_texts_are_those_calibration_json_records() {
        assert_eq!(
            stop_text(StopReason::NoProgress, 50),
            "converged: the objective stopped falling"
        );
        assert_eq!(
            stop_text(StopReason::Converged, 50),
            "converged: the projected gradient vanished"
        );
        assert_eq!(
            stop_text(StopReason::NoDescent, 50),
            "converged: no step lowers the objective (a local minimum within the bounds)"
        );
    }
}
