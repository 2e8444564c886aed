//! Calibration (DESIGN layer 6): fit named parameters to observed figures.
//!
//! The scenario's `[calibration]` names free parameters (paths into the merged scenario
//! table, each with bounds) and targets (an output series, a year, the observed value, a
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

use crate::montecarlo::outputs;
use crate::scenario::params::ParamPath;
use crate::scenario::{Scenario, ScenarioError};

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
    /// An output series, as `tradeflow compare` names it (`CHN->KGZ recorded by CHN`), or
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
    #[error("{path}: the scenario does not run at the starting values: {message}")]
    Start { path: PathBuf, message: String },
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
    pub steps: usize,
    pub evaluations: usize,
    /// Why it stopped.
    pub stop: String,
    pub converged: bool,
    /// Singular values of the weighted Jacobian at the fit, largest first.
    pub singular_values: Vec<f64>,
    /// Ratio of the largest to the smallest singular value.
    pub condition_number: f64,
    /// The fitted scenario table.
    #[serde(skip)]
    pub table: Table,
}

struct Problem {
    file: PathBuf,
    table: Table,
    free: Vec<(ParamPath, f64, f64)>,
    targets: Vec<RawTarget>,
    index: Vec<usize>,
    max_steps: usize,
}

impl Problem {
    fn table_at(&self, x: &DVector<f64>) -> Result<Table, String> {
        let mut t = self.table.clone();
        for ((p, _, _), v) in self.free.iter().zip(x.iter()) {
            p.set(&mut t, *v)?;
        }
        Ok(t)
    }

    /// Model values of the targets at `x`.
    fn model(&self, x: &DVector<f64>) -> Result<Vec<f64>, String> {
        let s = Scenario::from_table(self.table_at(x)?, &self.file).map_err(|e| e.to_string())?;
        let out = outputs(&s)?;
        Ok(self.index.iter().map(|&k| out[k].2).collect())
    }

    /// Forward-difference Jacobian of the residuals `r` at `x`, stepping inward at an upper
    /// bound: one model run per parameter.
    fn jacobian(
        &self,
        x: &DVector<f64>,
        r: &DVector<f64>,
        upper: &DVector<f64>,
    ) -> Result<DMatrix<f64>, String> {
        let mut jac = DMatrix::zeros(r.len(), x.len());
        for j in 0..x.len() {
            let h = 1e-5 * x[j].abs().max(1e-2);
            let mut xh = x.clone();
            let dir = if xh[j] + h > upper[j] { -1.0 } else { 1.0 };
            xh[j] += dir * h;
            let rh = self.residuals(&xh)?;
            jac.set_column(j, &((rh - r) / (dir * h)));
        }
        Ok(jac)
    }

    /// Weighted log residuals.
    fn residuals(&self, x: &DVector<f64>) -> Result<DVector<f64>, String> {
        let m = self.model(x)?;
        let mut r = DVector::zeros(m.len());
        for (k, (v, t)) in m.iter().zip(&self.targets).enumerate() {
            if !(*v > 0.0 && v.is_finite()) {
                return Err(format!(
                    "the model value of `{}` {} is {v}: log deviations need positive values",
                    t.series,
                    t.year.map_or(String::new(), |y| y.to_string())
                ));
            }
            r[k] = t.weight.sqrt() * (v.ln() - t.value.ln());
        }
        Ok(r)
    }
}

/// Reads the scenario's `[calibration]` and fits it.
pub fn calibrate(file: &Path) -> Result<Fit, CalibrationError> {
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
    let mut free: Vec<(ParamPath, f64, f64)> = Vec::new();
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
        let p = ParamPath::parse(&f.path).map_err(|m| spec_err(format!("{field}.path"), m))?;
        let v = p
            .get(&table)
            .map_err(|m| spec_err(format!("{field}.path"), m))?;
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
    let central =
        Scenario::from_table(table.clone(), file).map_err(|e| crate::scenario::located(file, e))?;
    let out = outputs(&central).map_err(|message| CalibrationError::Start {
        path: file.to_owned(),
        message,
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
                let similar: Vec<&str> = out
                    .iter()
                    .map(|(n, _, _)| n.as_str())
                    .filter(|n| n.split(' ').next() == t.series.split(' ').next())
                    .take(3)
                    .collect();
                return Err(spec_err(
                    format!("{field}.series"),
                    format!(
                        "no output `{}`{} (series are named as in compare.csv{})",
                        t.series,
                        t.year.map_or(String::new(), |y| format!(" in {y}")),
                        if similar.is_empty() {
                            String::new()
                        } else {
                            format!(", e.g. `{}`", similar.join("`, `"))
                        }
                    ),
                ));
            }
        }
    }
    let problem = Problem {
        file: file.to_owned(),
        table,
        free,
        targets: raw.targets,
        index,
        max_steps: raw.max_steps.unwrap_or(50),
    };
    fit(&problem)
}

fn fit(pb: &Problem) -> Result<Fit, CalibrationError> {
    let start_err = |message: String| CalibrationError::Start {
        path: pb.file.clone(),
        message,
    };
    let n = pb.free.len();
    let lower = DVector::from_iterator(n, pb.free.iter().map(|f| f.1));
    let upper = DVector::from_iterator(n, pb.free.iter().map(|f| f.2));
    let mut x = DVector::from_iterator(
        n,
        pb.free
            .iter()
            .map(|(p, _, _)| p.get(&pb.table).unwrap_or(f64::NAN)),
    );
    let x0 = x.clone();
    let model0 = pb.model(&x).map_err(start_err)?;
    let mut r = pb.residuals(&x).map_err(start_err)?;
    let mut cost = r.norm_squared();
    let cost0 = cost;
    let mut mu = 1e-3;
    let mut evaluations = 1;
    let mut steps = 0;
    let mut stop = format!("stopped at the step limit ({})", pb.max_steps);
    let mut converged = false;
    let mut jac = DMatrix::zeros(r.len(), n);
    // Whether `jac` is the Jacobian at the current `x`.
    let mut jac_current = false;
    for step in 1..=pb.max_steps {
        steps = step;
        jac = pb.jacobian(&x, &r, &upper).map_err(start_err)?;
        evaluations += n;
        jac_current = true;
        let g = jac.transpose() * &r;
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
        if pg_norm < 1e-10 || cost < 1e-20 {
            stop = "converged: the projected gradient vanished".into();
            converged = true;
            break;
        }
        let jtj = jac.transpose() * &jac;
        let mut improved = false;
        for _ in 0..30 {
            let mut a = jtj.clone();
            for j in 0..n {
                a[(j, j)] += mu * jtj[(j, j)].max(1e-12);
            }
            let Some(delta) = a.cholesky().map(|c| c.solve(&(-&g))) else {
                mu *= 10.0;
                continue;
            };
            let trial = (&x + &delta).zip_zip_map(&lower, &upper, |v, lo, hi| v.clamp(lo, hi));
            evaluations += 1;
            match pb.residuals(&trial) {
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
                    if rel < 1e-12 || dx < 1e-10 {
                        stop = "converged: the objective stopped falling".into();
                        converged = true;
                    }
                    break;
                }
                // A worse step, or a point where the scenario does not run: damp more.
                _ => mu *= 10.0,
            }
        }
        if converged {
            break;
        }
        if !improved {
            stop = "converged: no step lowers the objective (a local minimum within the bounds)"
                .into();
            converged = true;
            break;
        }
    }
    // Jacobian at the fit for standard errors and identification (unless the last step
    // left it there already).
    if !jac_current {
        jac = pb.jacobian(&x, &r, &upper).map_err(start_err)?;
        evaluations += n;
    }
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
        steps,
        evaluations,
        stop,
        converged,
        singular_values: singular,
        condition_number: condition,
        table: pb.table_at(&x).map_err(start_err)?,
    })
}

/// The fitted scenario as a file that `extends` the original and restates what the fit
/// changed (for a parameter inside an instrument, the whole instrument, which replaces the
/// original's by `id`), with the fit in comments.
pub fn fitted_file(original: &Path, fit: &Fit) -> Result<String, String> {
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
                    .ok_or_else(|| {
                        format!(
                            "`{}`: only instruments with an `id` can be written back",
                            p.path
                        )
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
                        .ok_or_else(|| format!("`{}` cannot be written back", p.path))?;
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
    out.push_str(&toml::to_string(&delta).map_err(|e| e.to_string())?);
    Ok(out)
}
