//! Calibration (DESIGN layer 6): fit named parameters to observed figures, with priors.
//!
//! The scenario's `[calibration]` names free parameters (parameter paths, resolved once
//! against the validated scenario, each with bounds and optionally a prior, [`prior`]) and
//! targets: explicit ones (an output series, a year, the observed value, its uncertainty
//! `sd` or a `weight`, a source) and ones chosen from the observed panel or the aggregates
//! by `[[calibration.select]]` ([`select`]). The fit finds the posterior mode: it minimises
//! `sum_k w_k (ln model_k - ln observed_k)^2 + sum_j prior_j(x_j)^2` (`w = 1 / sd^2`; a
//! prior row is `(x - mean) / sd` or `(ln x - ln median) / sd`) by Levenberg-Marquardt with
//! bounds: a forward-difference Jacobian (exact rows for the priors), a damped Gauss-Newton
//! step, projection onto the bounds, and a damping factor that rises when a step fails and
//! falls when it succeeds (Nocedal and Wright 2006, ch. 10; Madsen, Nielsen and Tingleff
//! 2004 for the damping rule).
//!
//! Uncertainty ([`laplace`]): the posterior covariance is the Laplace approximation
//! `(J'J)^-1` at the mode, `J` the stacked Jacobian of the weighted targets and the priors
//! (the stated `sd`s are the uncertainty, so nothing is rescaled). A file of the older kind
//! (plain weights, no `sd`, no prior, no selector) keeps the older standard errors
//! `s^2 (J'WJ)^-1` with `s^2 = SSR / (m - n)`. Directions of `J` with tiny singular values
//! mark parameters the targets cannot pin down. A fit with `until` ([`backtest`]) uses the
//! targets up to that year only and sets the rest against the fit as predictions.

use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Table;

use crate::scenario::params::{ParamError, ParamPath};
use crate::scenario::{Param, Scenario, ScenarioError};
use crate::simulate::{outputs_direct, RunError};
use crate::solver::{check_cap, check_tolerance, InvalidOption, SolveReport, StopReason};

pub mod backtest;
pub mod files;
pub mod laplace;
pub mod prior;
pub mod select;

pub use backtest::{BacktestRow, BacktestSummary};
pub use laplace::{CovarianceRow, PosteriorRow};
pub use prior::{Prior, RawPrior};
pub use select::{RawSelect, Target};

/// `[calibration]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalibration {
    #[serde(default)]
    pub free: Vec<RawFree>,
    #[serde(default)]
    pub targets: Vec<RawTarget>,
    /// Targets chosen from the observed panel or the aggregates.
    #[serde(default)]
    pub select: Vec<RawSelect>,
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
    /// The prior (flat within the bounds when not given).
    #[serde(default)]
    pub prior: Option<RawPrior>,
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
    /// A plain weight (default 1), for files written before `sd`.
    #[serde(default)]
    pub weight: Option<f64>,
    /// The stated uncertainty of the log figure: weight `1 / sd^2` (not with `weight`).
    #[serde(default)]
    pub sd: Option<f64>,
    #[serde(default)]
    pub source: String,
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
    /// Whose record the figure is (a code; empty for a series that is no recorded flow).
    pub reporter: String,
    /// The stated uncertainty of the log figure (empty for a plain weight).
    pub sd: Option<f64>,
    /// Fitted (`true`), or a prediction of a backtest (`false`).
    pub in_sample: bool,
}

/// A pair of parameters whose posterior correlation exceeds 0.9 in absolute value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HighCorrelation {
    pub parameter_a: String,
    pub parameter_b: String,
    pub correlation: f64,
}

/// The outcome of a calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub parameters: Vec<FittedParameter>,
    /// Every target: the fitted ones, then (a backtest) the predicted ones.
    pub targets: Vec<TargetFit>,
    /// The objective at the start and at the mode: weighted squared log deviations of the
    /// fitted targets plus the prior terms.
    pub objective_initial: f64,
    pub objective: f64,
    /// The objective's parts at the mode: the targets' and the priors'.
    pub objective_targets: f64,
    pub objective_prior: f64,
    /// `stated` (the targets' `sd`s and the priors are the uncertainty: covariance
    /// `(J'J)^-1`) or `scaled` (plain weights, no prior: `s^2 (J'WJ)^-1`).
    pub uncertainty: &'static str,
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
    /// Singular values of the stacked Jacobian (weighted targets and priors) at the fit,
    /// largest first.
    pub singular_values: Vec<f64>,
    /// Ratio of the largest to the smallest singular value.
    pub condition_number: f64,
    /// Per parameter: prior, mode, posterior sd and what pinned it down (`posterior.csv`).
    pub posterior: Vec<PosteriorRow>,
    /// Every ordered pair of parameters (`posterior_covariance.csv`).
    #[serde(skip)]
    pub covariance: Vec<CovarianceRow>,
    /// Pairs correlated above 0.9 in absolute value.
    pub high_correlations: Vec<HighCorrelation>,
    /// What the report warns of (parameters the data may not pin down).
    pub warnings: Vec<String>,
    /// Figures the selectors left out, each with its reason.
    pub left_out: Vec<String>,
    /// The last year of the fitted targets of a backtest.
    pub until: Option<i32>,
    /// Out-of-sample accuracy of a backtest.
    pub backtest: Option<BacktestSummary>,
    /// The fitted scenario's merged table, for [`fitted_file`]: filled by [`calibrate`]
    /// (which read the file); empty from [`calibrate_scenario`].
    #[serde(skip)]
    pub table: Table,
}

impl Fit {
    /// The rows of `backtest.csv`: every target at the fit, fitted or predicted.
    pub fn backtest_rows(&self) -> Vec<BacktestRow> {
        backtest::rows(&self.targets)
    }
}

struct Problem {
    file: PathBuf,
    /// The scenario as given; each evaluation is a copy with the free parameters set.
    central: Scenario,
    free: Vec<(Param, f64, f64)>,
    /// Each free parameter's prior (`None`: flat).
    priors: Vec<Option<Prior>>,
    /// Every target, fitted or predicted.
    targets: Vec<Target>,
    /// Position of each target's series among the model's outputs.
    index: Vec<usize>,
    /// The targets fitted (positions in `targets`).
    fitted: Vec<usize>,
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

    /// Model values of every target at `x`.
    fn model(&self, x: &DVector<f64>) -> Result<Vec<f64>, EvalError> {
        let s = self.scenario_at(x)?;
        // The series alone, without the result rows (the same values as the row path's).
        let out = outputs_direct(&s).map_err(|e| EvalError::Run(Box::new(e)))?;
        Ok(self.index.iter().map(|&k| out[k].2).collect())
    }

    /// The prior rows: (parameter position, prior).
    fn prior_rows(&self) -> impl Iterator<Item = (usize, &Prior)> {
        self.priors
            .iter()
            .enumerate()
            .filter_map(|(j, p)| p.as_ref().map(|p| (j, p)))
    }
}

/// A least-squares problem `min |r(x)|^2` over a box, as Levenberg-Marquardt sees it.
trait Residuals {
    /// The residual vector at `x`, or why the model cannot be evaluated there.
    fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError>;

    /// Overwrites the rows of the Jacobian at `x` whose derivatives are known exactly
    /// (the priors'); the others stay forward differences.
    fn exact_rows(&self, _x: &DVector<f64>, _jac: &mut DMatrix<f64>) {}
}

impl Residuals for Problem {
    /// Weighted log residuals `sqrt(w_k) (ln model_k - ln observed_k)` of the fitted
    /// targets, then one row per prior.
    fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
        let m = self.model(x)?;
        let n_prior = self.prior_rows().count();
        let mut r = DVector::zeros(self.fitted.len() + n_prior);
        for (row, &k) in self.fitted.iter().enumerate() {
            let (v, t) = (m[k], &self.targets[k]);
            if !(v > 0.0 && v.is_finite()) {
                return Err(EvalError::NonPositive {
                    series: t.series.clone(),
                    year: t.year,
                    value: v,
                });
            }
            r[row] = t.weight.sqrt() * (v.ln() - t.value.ln());
        }
        for (row, (j, p)) in self.prior_rows().enumerate() {
            r[self.fitted.len() + row] = p.residual(x[j]);
        }
        Ok(r)
    }

    fn exact_rows(&self, x: &DVector<f64>, jac: &mut DMatrix<f64>) {
        for (row, (j, p)) in self.prior_rows().enumerate() {
            let i = self.fitted.len() + row;
            jac.row_mut(i).fill(0.0);
            jac[(i, j)] = p.derivative(x[j]);
        }
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
    p.exact_rows(x, &mut jac);
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
    calibrate_until(file, None)
}

/// [`calibrate`], fitting only the targets of `until` and before (a backtest: the later
/// ones are set against the fit as predictions).
pub fn calibrate_until(file: &Path, until: Option<i32>) -> Result<Fit, CalibrationError> {
    let (table, raw) = calibration_spec(file)?;
    let central = Scenario::from_file(file)?;
    calibrate_from_until(file, table, &raw, central, until)
}

/// The scenario file's merged table and its `[calibration]`, read and checked.
pub fn calibration_spec(file: &Path) -> Result<(Table, RawCalibration), CalibrationError> {
    let table = Scenario::load_table(file)?;
    let spec_err = |field: String, message: String| CalibrationError::Spec {
        path: file.to_owned(),
        field,
        message,
    };
    let value = table.get("calibration").cloned().ok_or_else(|| {
        spec_err(
            "calibration".into(),
            "the scenario has no `[calibration]`".into(),
        )
    })?;
    // Through serde_path_to_error, so that a wrong key names where it is
    // (`calibration.free[2].prior.mean`).
    let raw: RawCalibration = serde_path_to_error::deserialize(value).map_err(
        |e: serde_path_to_error::Error<toml::de::Error>| {
            let at = e.path().to_string();
            let field = if at == "." || at.is_empty() {
                "calibration".to_owned()
            } else {
                format!("calibration.{at}")
            };
            spec_err(field, e.inner().message().to_owned())
        },
    )?;
    Ok((table, raw))
}

/// Fits `central` (the scenario of `file`, possibly with parameters set since it was read)
/// to the `[calibration]` of `file` ([`calibration_spec`]); the fit's `table` is `table`
/// with the fitted values, for [`fitted_file`].
pub fn calibrate_from(
    file: &Path,
    table: Table,
    raw: &RawCalibration,
    central: Scenario,
) -> Result<Fit, CalibrationError> {
    calibrate_from_until(file, table, raw, central, None)
}

/// [`calibrate_from`] fitting only the targets of `until` and before.
pub fn calibrate_from_until(
    file: &Path,
    mut table: Table,
    raw: &RawCalibration,
    central: Scenario,
    until: Option<i32>,
) -> Result<Fit, CalibrationError> {
    let mut fit = calibrate_scenario_until(central, raw, until)?;
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
    calibrate_scenario_until(central, raw, None)
}

/// The explicit targets of `raw`, checked: a positive value, `sd` or `weight` (not both),
/// each positive.
fn explicit_targets(raw: &RawCalibration) -> Result<Vec<Target>, (String, String)> {
    let mut out = Vec::new();
    for (k, t) in raw.targets.iter().enumerate() {
        let field = format!("calibration.targets[{k}]");
        if !(t.value > 0.0 && t.value.is_finite()) {
            return Err((
                format!("{field}.value"),
                format!("must be positive (the fit is on logs), got {}", t.value),
            ));
        }
        let weight = match (t.weight, t.sd) {
            (Some(_), Some(_)) => {
                return Err((
                    format!("{field}.sd"),
                    "give `sd` (the uncertainty of the log figure) or `weight`, not both".into(),
                ))
            }
            (_, Some(sd)) => {
                if !(sd > 0.0 && sd.is_finite()) {
                    return Err((format!("{field}.sd"), format!("must be positive, got {sd}")));
                }
                1.0 / (sd * sd)
            }
            (Some(w), None) => {
                if !(w > 0.0 && w.is_finite()) {
                    return Err((
                        format!("{field}.weight"),
                        format!("must be positive, got {w}"),
                    ));
                }
                w
            }
            (None, None) => 1.0,
        };
        let reporter = match crate::simulate::series::Series::parse(&t.series) {
            Some(crate::simulate::series::Series::Recorded { reporter, .. }) => reporter,
            _ => String::new(),
        };
        out.push(Target {
            series: t.series.clone(),
            year: t.year,
            value: t.value,
            weight,
            sd: t.sd,
            source: t.source.clone(),
            reporter,
            origin: field,
        });
    }
    Ok(out)
}

/// [`calibrate_scenario`] fitting only the targets of `until` and before; the later ones
/// are predictions, set against the fit.
pub fn calibrate_scenario_until(
    central: Scenario,
    raw: &RawCalibration,
    until: Option<i32>,
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
    if raw.targets.is_empty() && raw.select.is_empty() {
        return Err(spec_err(
            "calibration.targets".into(),
            "names no target".into(),
        ));
    }
    let mut free: Vec<(Param, f64, f64)> = Vec::new();
    let mut priors: Vec<Option<Prior>> = Vec::new();
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
        let prior = match &f.prior {
            None => None,
            Some(rp) => Some(Prior::check(rp, &field, f.lower).map_err(|(fl, m)| spec_err(fl, m))?),
        };
        free.push((p, f.lower, f.upper));
        priors.push(prior);
    }
    let out = outputs_direct(&central).map_err(|e| CalibrationError::Start {
        path: file.clone(),
        reason: Box::new(EvalError::Run(Box::new(e))),
    })?;
    let mut targets = explicit_targets(raw).map_err(|(f, m)| spec_err(f, m))?;
    let selection =
        select::select(&central, &file, &raw.select, &out).map_err(|(f, m)| spec_err(f, m))?;
    targets.extend(selection.targets);
    let mut index = Vec::new();
    for (k, t) in targets.iter().enumerate() {
        if let Some(first) = targets[..k]
            .iter()
            .find(|o| o.series == t.series && o.year == t.year)
        {
            return Err(spec_err(
                t.origin.clone(),
                format!(
                    "`{}`{} is already a target of {}: target each figure once",
                    t.series,
                    t.year.map_or(String::new(), |y| format!(" in {y}")),
                    first.origin
                ),
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
                return Err(spec_err(format!("{}.series", t.origin), why));
            }
        }
    }
    let fitted: Vec<usize> = (0..targets.len())
        .filter(|&k| match (until, targets[k].year) {
            (Some(u), Some(y)) => y <= u,
            _ => true,
        })
        .collect();
    if let Some(u) = until {
        if fitted.is_empty() {
            return Err(spec_err(
                "--until".into(),
                format!("no target is of {u} or before: nothing to fit"),
            ));
        }
        if fitted.len() == targets.len() {
            return Err(spec_err(
                "--until".into(),
                format!("every target is of {u} or before: nothing to predict"),
            ));
        }
    }
    let (n, m) = (free.len(), fitted.len());
    let n_prior = priors.iter().filter(|p| p.is_some()).count();
    let within = until.map_or(String::new(), |u| format!(" of {u} or before"));
    if n > m + n_prior {
        return Err(spec_err(
            "calibration.free".into(),
            format!(
                "{n} free parameters but {m} targets{within} and {n_prior} priors: with more free parameters than targets the fit is singular; give priors (`prior = {{ dist = \"normal\", mean = ..., sd = ..., reason = \"...\" }}`) to at least {} of them",
                n - m - n_prior
            ),
        ));
    }
    let mut warnings = Vec::new();
    if m < n {
        for (f, p) in raw.free.iter().zip(&priors) {
            if p.is_none() {
                warnings.push(format!(
                    "`{}` has no prior, and there are fewer targets{within} ({m}) than free parameters ({n}): the data alone may not pin it down; give it a prior",
                    f.path
                ));
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
    // The older kind of file (plain weights, no `sd`, no prior, no selector) keeps its
    // standard errors rescaled by the residual variance.
    let scaled = raw.select.is_empty()
        && raw.targets.iter().all(|t| t.sd.is_none())
        && priors.iter().all(Option::is_none);
    let problem = Problem {
        file,
        central,
        free,
        priors,
        targets,
        index,
        fitted,
        options,
    };
    let mut fit = fit(&problem, scaled)?;
    fit.warnings.splice(0..0, warnings);
    fit.left_out = selection.left_out;
    fit.until = until;
    fit.backtest = until.map(|u| backtest::summary(u, &fit.targets));
    Ok(fit)
}

fn fit(pb: &Problem, scaled: bool) -> Result<Fit, CalibrationError> {
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
    // An exactly singular Jacobian (a parameter no target moves): infinite, written as the
    // largest finite number, since the report files hold no non-finite number.
    let condition = if condition.is_nan() {
        f64::MAX
    } else {
        condition.min(f64::MAX)
    };
    let weak = svd
        .v_t
        .as_ref()
        .and_then(|vt| order.last().map(|&k| vt.row(k).map(|v| v * v)))
        .map(|row| row.iter().copied().collect::<Vec<f64>>())
        .unwrap_or_else(|| vec![0.0; n]);
    let m_fit = pb.fitted.len();
    let objective_targets: f64 = r.rows(0, m_fit).norm_squared();
    let objective_prior = (cost - objective_targets).max(0.0);
    // Older files: `s^2 (J'WJ)^-1`, undefined without residual degrees of freedom.
    let s2 = if !scaled {
        1.0
    } else if m_fit > n {
        cost / (m_fit - n) as f64
    } else {
        f64::NAN
    };
    let cov = laplace::covariance(&jac, s2);
    let model = pb.model(&x).map_err(start_err)?;
    let paths: Vec<String> = pb.free.iter().map(|(p, _, _)| p.to_string()).collect();
    let post = laplace::summarise(&paths, &x, &pb.priors, &pb.free, cov.as_ref());
    let mut parameters: Vec<FittedParameter> = pb
        .free
        .iter()
        .enumerate()
        .map(|(j, (_, lo, hi))| FittedParameter {
            path: paths[j].clone(),
            initial: x0[j],
            fitted: x[j],
            stderr: post.rows[j].posterior_sd,
            lower: *lo,
            upper: *hi,
            at_bound: x[j] <= *lo || x[j] >= *hi,
            weak_direction_loading: weak.get(j).copied().unwrap_or(0.0),
            poorly_identified: false,
        })
        .collect();
    let mut warnings = Vec::new();
    for (j, p) in parameters.iter_mut().enumerate() {
        p.poorly_identified = match &pb.priors[j] {
            // With a prior: the data add little to it (or nothing is defined).
            Some(_) => post.rows[j].sd_ratio.is_none_or(|r| r > 0.9),
            None => {
                p.stderr.is_some_and(|se| se > 0.5 * p.fitted.abs())
                    || (condition > 1e6 && p.weak_direction_loading > 0.5)
            }
        };
        if pb.priors[j].is_none() && p.poorly_identified {
            warnings.push(format!(
                "`{}` is poorly identified and has a flat prior: the targets cannot pin it down; give it a prior",
                p.path
            ));
        }
        if p.at_bound {
            warnings.push(format!(
                "`{}` ends on a bound ({}): its posterior sd is that of the mode on the bound",
                p.path, p.fitted
            ));
        }
    }
    let fitted_set: std::collections::BTreeSet<usize> = pb.fitted.iter().copied().collect();
    let mut order_t: Vec<usize> = pb.fitted.clone();
    order_t.extend((0..pb.targets.len()).filter(|k| !fitted_set.contains(k)));
    let targets = order_t
        .iter()
        .map(|&k| {
            let t = &pb.targets[k];
            TargetFit {
                series: t.series.clone(),
                year: t.year,
                observed: t.value,
                initial: model0[k],
                fitted: model[k],
                log_deviation: model[k].ln() - t.value.ln(),
                weight: t.weight,
                source: t.source.clone(),
                reporter: t.reporter.clone(),
                sd: t.sd,
                in_sample: fitted_set.contains(&k),
            }
        })
        .collect();
    Ok(Fit {
        parameters,
        targets,
        objective_initial: cost0,
        objective: cost,
        objective_targets,
        objective_prior,
        uncertainty: if scaled { "scaled" } else { "stated" },
        steps: report.iterations,
        evaluations: report.evaluations.unwrap_or(report.iterations),
        stop: stop_text(report.stop_reason, pb.options.max_steps()),
        converged: report.converged(),
        report,
        singular_values: singular,
        condition_number: condition,
        posterior: post.rows,
        covariance: post.covariance,
        high_correlations: post.high,
        warnings,
        left_out: Vec::new(),
        until: None,
        backtest: None,
        table: Table::new(),
    })
}

/// The posterior in words, for the console: per parameter its prior, mode, posterior sd,
/// the ratio to the prior sd and the verdict; the correlations above 0.9; the warnings; the
/// figures the selectors left out; and a backtest's accuracy.
pub fn posterior_table(fit: &Fit) -> String {
    let mut s = format!(
        "\nposterior ({}): objective {:.4e} = targets {:.4e} + priors {:.4e}\n",
        if fit.uncertainty == "stated" {
            "Laplace approximation at the mode, from the stated sd's and priors"
        } else {
            "plain weights, no priors: standard errors rescaled by the residual variance"
        },
        fit.objective,
        fit.objective_targets,
        fit.objective_prior
    );
    s.push_str(&format!(
        "{:<45} {:>10} {:>10} {:>10} {:>10} {:>6}  {}\n",
        "parameter", "prior", "mode", "post. sd", "prior sd", "ratio", "verdict"
    ));
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    for p in &fit.posterior {
        s.push_str(&format!(
            "{:<45} {:>10} {:>10.4} {:>10} {:>10} {:>6}  {}\n",
            p.parameter,
            p.prior,
            p.mode,
            num(p.posterior_sd),
            num(p.prior_sd),
            p.sd_ratio
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
            p.verdict
        ));
    }
    for c in &fit.high_correlations {
        s.push_str(&format!(
            "correlation {:+.3}: {} and {}\n",
            c.correlation, c.parameter_a, c.parameter_b
        ));
    }
    for w in &fit.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    if !fit.left_out.is_empty() {
        s.push_str(&format!(
            "left out by the selectors ({}):\n",
            fit.left_out.len()
        ));
        for l in &fit.left_out {
            s.push_str(&format!("  {l}\n"));
        }
    }
    if let Some(b) = &fit.backtest {
        s.push('\n');
        s.push_str(&backtest::summary_text(b));
    }
    s
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
    let fitted_name = match fit.until {
        None => format!("{name}_fitted"),
        Some(y) => format!("{name}_fitted_until_{y}"),
    };
    delta.insert("name".into(), toml::Value::String(fitted_name));
    delta.remove("calibration");
    let mut out = String::new();
    out.push_str(&format!(
        "# Fitted by `tradeflow calibrate {}{}` ({}; objective {:.4e} -> {:.4e}, {} steps).\n",
        original.display(),
        fit.until.map_or(String::new(), |y| format!(" --until {y}")),
        fit.stop,
        fit.objective_initial,
        fit.objective,
        fit.steps
    ));
    out.push_str(
        "#\n# parameter                                   initial      fitted   std. error  verdict\n",
    );
    for (p, post) in fit.parameters.iter().zip(&fit.posterior) {
        out.push_str(&format!(
            "# {:<42} {:>9.4} {:>11.4} {:>12}  {}\n",
            p.path,
            p.initial,
            p.fitted,
            p.stderr
                .map_or_else(|| "n/a".into(), |se| format!("{se:.4}")),
            post.verdict
        ));
    }
    out.push_str("#\n# target                                      year   observed     fitted\n");
    for t in &fit.targets {
        out.push_str(&format!(
            "# {:<42} {:>5} {:>10.4} {:>10.4}{}\n",
            t.series,
            t.year.map_or(String::new(), |y| y.to_string()),
            t.observed,
            t.fitted,
            if t.in_sample { "" } else { "  (predicted)" }
        ));
    }
    if let Some(b) = &fit.backtest {
        out.push_str("#\n");
        for line in backtest::summary_text(b).lines() {
            out.push_str(&format!("# {line}\n"));
        }
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
            objective_targets: 0.5,
            objective_prior: 0.0,
            uncertainty: "scaled",
            steps: 1,
            evaluations: 1,
            stop: "converged".into(),
            converged: true,
            report: SolveReport::new("fit", 1, 0.0, StopReason::Converged),
            singular_values: Vec::new(),
            condition_number: 1.0,
            posterior: Vec::new(),
            covariance: Vec::new(),
            high_correlations: Vec::new(),
            warnings: Vec::new(),
            left_out: Vec::new(),
            until: None,
            backtest: None,
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

    /// A target proportional to the parameter, `model = c x`, observed `obs` with log sd
    /// `sd_t`, and a lognormal prior (median `med`, log sd `sd_p`): linear in `ln x`, so the
    /// posterior of `ln x` is exactly normal, with precision `1/sd_t^2 + 1/sd_p^2` and mean
    /// the precision-weighted average of `ln(obs / c)` and `ln med`.
    struct Proportional {
        c: f64,
        obs: f64,
        sd_t: f64,
        prior: Prior,
    }

    impl Residuals for Proportional {
        fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, EvalError> {
            Ok(DVector::from_vec(vec![
                ((self.c * x[0]).ln() - self.obs.ln()) / self.sd_t,
                self.prior.residual(x[0]),
            ]))
        }
        fn exact_rows(&self, x: &DVector<f64>, jac: &mut DMatrix<f64>) {
            jac[(1, 0)] = self.prior.derivative(x[0]);
        }
    }

    #[test]
    fn laplace_sd_is_exact_on_a_model_linear_in_logs() {
        let (sd_t, sd_p, med) = (0.1, 0.3, 2.0);
        let p = Proportional {
            c: 3.0,
            obs: 9.0,
            sd_t,
            prior: Prior::Lognormal {
                median: med,
                sd: sd_p,
                reason: "test".into(),
            },
        };
        let (lo, hi) = boxed(0.01, 100.0, 1);
        let out = levenberg_marquardt(
            &p,
            DVector::from_element(1, 1.0),
            &lo,
            &hi,
            &LmOptions::default(),
        )
        .unwrap();
        assert!(out.report.converged(), "{}", out.report);
        let (wt, wp) = (1.0 / (sd_t * sd_t), 1.0 / (sd_p * sd_p));
        let ln_mode = (wt * (3.0f64).ln() + wp * med.ln()) / (wt + wp);
        assert!(
            (out.x[0].ln() - ln_mode).abs() < 1e-6,
            "{} {}",
            out.x[0],
            ln_mode.exp()
        );
        let cov = laplace::covariance(&out.jac, 1.0).unwrap();
        let sd_ln = cov[(0, 0)].sqrt() / out.x[0];
        let exact = 1.0 / (wt + wp).sqrt();
        assert!(
            (sd_ln - exact).abs() < 1e-4 * exact,
            "{sd_ln} against {exact}"
        );
        // The summary on the prior's scale: the ratio to the prior's sd.
        let ratio = p.prior.on_scale(cov[(0, 0)].sqrt(), out.x[0]) / sd_p;
        assert!((ratio - exact / sd_p).abs() < 1e-4, "{ratio}");
        assert_eq!(prior::verdict(Some(ratio)), "the data pinned this down");
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
