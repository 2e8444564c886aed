//! Monte Carlo (DESIGN layer 6): uncertain parameters drawn from distributions, the
//! scenario run once per draw, and quantile bands of every output series.
//!
//! Draw `n` uses its own generator, ChaCha8 seeded with the run's seed on stream `n`, so a
//! draw's numbers depend only on (seed, n): results are identical on one thread or many,
//! and a shard of the draws (`first..last`) gives exactly the rows the full run would.
//! Parameters are set by path in the scenario's merged TOML table (see
//! [`crate::scenario::params`]) and the scenario is validated again for each draw, so a
//! draw that makes the scenario invalid (a sigma drawn below 1) fails like any bad input.
//! Failed draws are counted with their reasons; they are never averaged in.

use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, LogNormal, Normal, StandardNormal, Triangular, Uniform};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;
use toml::Table;

use crate::limits::{check_draws, LimitError};
use crate::scenario::params::ParamPath;
use crate::scenario::raw::{RawDistribution, RawUncertainty};
use crate::scenario::{Scenario, ScenarioError};
use crate::simulate::{key_series, run, run_years};

pub mod merge;

/// A problem with the uncertainty specification.
#[derive(Debug, Error)]
pub enum MonteCarloError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{path}: {field}: {message}")]
    Spec {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{path}: the scenario has no `[uncertainty]`: nothing to draw")]
    Nothing { path: PathBuf },
    #[error("{path}: the scenario itself does not run: {message}")]
    Base { path: PathBuf, message: String },
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// One uncertain parameter.
#[derive(Debug, Clone)]
enum Draw {
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    Uniform(Uniform<f64>),
    Triangular(Triangular<f64>),
    Beta {
        dist: Beta<f64>,
        low: f64,
        high: f64,
    },
}

/// The validated specification: parameters with their distributions, and optionally a
/// multivariate normal over cost coefficients.
#[derive(Debug, Clone)]
pub struct Uncertainty {
    params: Vec<(ParamPath, Draw)>,
    /// Coefficient paths, their central values and the Cholesky factor of the covariance.
    coefficients: Option<(Vec<ParamPath>, DVector<f64>, DMatrix<f64>)>,
}

/// A scenario ready for Monte Carlo: its file, merged table and uncertainty.
#[derive(Debug, Clone)]
pub struct MonteCarlo {
    path: PathBuf,
    table: Table,
    /// The central scenario, whose loaded data every draw reuses.
    central: Scenario,
    uncertainty: Uncertainty,
    /// Names (and years) of the output series, from the central run.
    series: Vec<(String, Option<i32>)>,
}

/// Summary of one output series over the draws (a row of `montecarlo.csv`). A statistic
/// the successful draws do not define is `None`, an empty cell: the mean and quantiles
/// when no draw succeeded, the standard deviation with fewer than two.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub series: String,
    pub year: Option<i32>,
    pub draws: usize,
    pub failed: usize,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub q05: Option<f64>,
    pub q25: Option<f64>,
    pub q50: Option<f64>,
    pub q75: Option<f64>,
    pub q95: Option<f64>,
}

/// The values of every series for one draw, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawResult {
    pub index: u64,
    pub outcome: Result<Vec<f64>, String>,
}

impl MonteCarlo {
    /// Checks everything a run of `draws` draws needs before any work: the number of draws
    /// against [`crate::limits::MAX_DRAWS`], the scenario, and its `[uncertainty]` against
    /// the merged table. Runs nothing; a command calls it before it replaces any results.
    pub fn check(path: &Path, draws: u64) -> Result<(), MonteCarloError> {
        check_draws(draws)?;
        spec(path).map(|_| ())
    }

    /// Reads the scenario, checks its `[uncertainty]` against the merged table and runs the
    /// central scenario once to fix the output series.
    pub fn from_file(path: &Path) -> Result<MonteCarlo, MonteCarloError> {
        let (table, central, uncertainty) = spec(path)?;
        let series = outputs(&central)
            .map_err(|message| MonteCarloError::Base {
                path: path.to_owned(),
                message,
            })?
            .into_iter()
            .map(|(name, year, _)| (name, year))
            .collect();
        Ok(MonteCarlo {
            path: path.to_owned(),
            table,
            central,
            uncertainty,
            series,
        })
    }

    /// Names and years of the output series, in column order.
    pub fn series(&self) -> &[(String, Option<i32>)] {
        &self.series
    }

    /// Runs draws `range` (in parallel) with `seed`; results in draw order. `progress` is
    /// called once per finished draw, from any thread.
    pub fn run(
        &self,
        seed: u64,
        range: std::ops::Range<u64>,
        progress: &(dyn Fn() + Sync),
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Vec<DrawResult> {
        range
            .into_par_iter()
            .map(|index| {
                let outcome = if stop() {
                    Err("stopped".to_owned())
                } else {
                    self.one(seed, index)
                };
                progress();
                DrawResult { index, outcome }
            })
            .collect()
    }

    /// The table of draw `index`: every uncertain parameter set to its draw.
    pub fn draw_table(&self, seed: u64, index: u64) -> Result<Table, String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let mut table = self.table.clone();
        for (path, d) in &self.uncertainty.params {
            let v = match d {
                Draw::Normal(x) => x.sample(&mut rng),
                Draw::LogNormal(x) => x.sample(&mut rng),
                Draw::Uniform(x) => x.sample(&mut rng),
                Draw::Triangular(x) => x.sample(&mut rng),
                Draw::Beta { dist, low, high } => low + (high - low) * dist.sample(&mut rng),
            };
            path.set(&mut table, v)?;
        }
        if let Some((paths, mean, chol)) = &self.uncertainty.coefficients {
            let z = DVector::from_fn(mean.len(), |_, _| StandardNormal.sample(&mut rng));
            let b = mean + chol * z;
            for (p, v) in paths.iter().zip(b.iter()) {
                p.set(&mut table, *v)?;
            }
        }
        Ok(table)
    }

    fn one(&self, seed: u64, index: u64) -> Result<Vec<f64>, String> {
        let table = self.draw_table(seed, index)?;
        let s = Scenario::from_table_reusing(table, &self.path, Some(&self.central))
            .map_err(|e| e.to_string())?;
        let values = outputs(&s)?;
        if values.len() != self.series.len() {
            return Err("the draw produced a different set of series".into());
        }
        Ok(values.into_iter().map(|(_, _, v)| v).collect())
    }

    /// Quantile bands of every series over the successful draws.
    pub fn bands(&self, draws: &[DrawResult]) -> Vec<Band> {
        bands(&self.series, draws)
    }
}

/// Quantile bands of each series (`series[k]` is value `k` of every draw) over the
/// successful draws; failed draws are counted in `failed`, never averaged in.
pub fn bands(series: &[(String, Option<i32>)], draws: &[DrawResult]) -> Vec<Band> {
    let ok: Vec<&Vec<f64>> = draws
        .iter()
        .filter_map(|d| d.outcome.as_ref().ok())
        .collect();
    let failed = draws.len() - ok.len();
    series
        .iter()
        .enumerate()
        .map(|(k, (name, year))| {
            let mut v: Vec<f64> = ok.iter().map(|d| d[k]).collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let mean = (n > 0).then(|| v.iter().sum::<f64>() / n as f64);
            // The sample standard deviation (n - 1 in the denominator) needs two draws.
            let sd = mean
                .filter(|_| n >= 2)
                .map(|m| (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
            let q = |p: f64| (n > 0).then(|| quantile(&v, p));
            Band {
                series: name.clone(),
                year: *year,
                draws: n,
                failed,
                mean,
                sd,
                q05: q(0.05),
                q25: q(0.25),
                q50: q(0.50),
                q75: q(0.75),
                q95: q(0.95),
            }
        })
        .collect()
}

/// Quantile of sorted values, linear interpolation between order statistics (Hyndman and
/// Fan 1996, type 7, as R's default and numpy's `linear`). NaN for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// The output series of one run: key series by year for a yearly scenario; welfare, real
/// GDP and foreign exports change of every economy for a single counterfactual.
pub fn outputs(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, String> {
    if s.dynamics.is_some() {
        let r = run_years(s).map_err(|e| e.to_string())?;
        Ok(key_series(&r, s)
            .into_iter()
            .map(|p| (p.series, Some(p.year), p.value))
            .collect())
    } else {
        let r = run(s).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for c in &r.countries {
            out.push((
                format!("{} welfare_change_pct", c.country),
                None,
                c.welfare_change_pct,
            ));
            out.push((
                format!("{} real_gdp_change_pct", c.country),
                None,
                c.real_gdp_change_pct,
            ));
            out.push((
                format!("{} foreign_exports_change_pct", c.country),
                None,
                c.foreign_exports_change_pct,
            ));
        }
        Ok(out)
    }
}

/// The merged table, the central scenario and the validated `[uncertainty]` of a file.
fn spec(path: &Path) -> Result<(Table, Scenario, Uncertainty), MonteCarloError> {
    let table = Scenario::load_table(path)?;
    let central =
        Scenario::from_table(table.clone(), path).map_err(|e| crate::scenario::located(path, e))?;
    let spec_value = table
        .get("uncertainty")
        .cloned()
        .ok_or_else(|| MonteCarloError::Nothing {
            path: path.to_owned(),
        })?;
    let raw: RawUncertainty =
        spec_value
            .try_into()
            .map_err(|e: toml::de::Error| MonteCarloError::Spec {
                path: path.to_owned(),
                field: "uncertainty".into(),
                message: e.message().to_owned(),
            })?;
    let uncertainty = validate(&raw, &table, path)?;
    Ok((table, central, uncertainty))
}

fn validate(
    raw: &RawUncertainty,
    table: &Table,
    file: &Path,
) -> Result<Uncertainty, MonteCarloError> {
    let err = |field: String, message: String| MonteCarloError::Spec {
        path: file.to_owned(),
        field,
        message,
    };
    let mut params = Vec::new();
    for (k, d) in raw.parameters.iter().enumerate() {
        let field = format!("uncertainty.parameters[{k}]");
        let path = ParamPath::parse(&d.path).map_err(|m| err(format!("{field}.path"), m))?;
        let current = path
            .get(table)
            .map_err(|m| err(format!("{field}.path"), m))?;
        params.push((
            path,
            distribution(d, current).map_err(|m| err(field.clone(), m))?,
        ));
    }
    let coefficients = match &raw.coefficients {
        None => None,
        Some(c) => {
            let field = "uncertainty.coefficients";
            let n = c.names.len();
            if c.covariance.len() != n || c.covariance.iter().any(|r| r.len() != n) {
                return Err(err(
                    format!("{field}.covariance"),
                    format!("must be {n} x {n}, one row and column per name"),
                ));
            }
            let cov = DMatrix::from_fn(n, n, |i, j| c.covariance[i][j]);
            if (0..n).any(|i| {
                (0..n)
                    .any(|j| (cov[(i, j)] - cov[(j, i)]).abs() > 1e-12 * cov[(i, i)].abs().max(1.0))
            }) {
                return Err(err(
                    format!("{field}.covariance"),
                    "must be symmetric".into(),
                ));
            }
            let chol = cov.clone().cholesky().ok_or_else(|| {
                err(
                    format!("{field}.covariance"),
                    "is not positive definite".into(),
                )
            })?;
            let mut paths = Vec::new();
            let mut mean = DVector::zeros(n);
            for (i, name) in c.names.iter().enumerate() {
                let p = ParamPath::parse(&format!("costs.coefficients.{name}"))
                    .map_err(|m| err(format!("{field}.names[{i}]"), m))?;
                mean[i] = p
                    .get(table)
                    .map_err(|m| err(format!("{field}.names[{i}]"), m))?;
                paths.push(p);
            }
            Some((paths, mean, chol.l()))
        }
    };
    if params.is_empty() && coefficients.is_none() {
        return Err(err("uncertainty".into(), "names no parameter".into()));
    }
    Ok(Uncertainty {
        params,
        coefficients,
    })
}

fn distribution(d: &RawDistribution, current: f64) -> Result<Draw, String> {
    let need = |v: Option<f64>, name: &str| {
        v.ok_or_else(|| {
            format!(
                "`{name}` is required for distribution = \"{}\"",
                d.distribution
            )
        })
    };
    let given: [(&str, bool); 7] = [
        ("mean", d.mean.is_some()),
        ("sd", d.sd.is_some()),
        ("low", d.low.is_some()),
        ("high", d.high.is_some()),
        ("mode", d.mode.is_some()),
        ("alpha", d.alpha.is_some()),
        ("beta", d.beta.is_some()),
    ];
    let takes: &[&str] = match d.distribution.as_str() {
        "normal" | "lognormal" => &["mean", "sd"],
        "uniform" => &["low", "high"],
        "triangular" => &["low", "high", "mode"],
        "beta" => &["low", "high", "alpha", "beta"],
        other => {
            return Err(format!(
                "unknown distribution `{other}` (normal, lognormal, uniform, triangular, beta)"
            ))
        }
    };
    if let Some((name, _)) = given.iter().find(|(n, g)| *g && !takes.contains(n)) {
        return Err(format!(
            "`{name}` does not apply to distribution = \"{}\"",
            d.distribution
        ));
    }
    let bad = |what: &str| {
        format!(
            "invalid parameters for distribution = \"{}\": {what}",
            d.distribution
        )
    };
    Ok(match d.distribution.as_str() {
        "normal" => {
            let sd = need(d.sd, "sd")?;
            if !(sd >= 0.0 && sd.is_finite()) {
                return Err(bad("sd must be >= 0 and finite"));
            }
            Draw::Normal(
                Normal::new(d.mean.unwrap_or(current), sd)
                    .map_err(|_| bad("sd must be >= 0 and finite"))?,
            )
        }
        "lognormal" => {
            let median = d.mean.unwrap_or(current);
            if median <= 0.0 {
                return Err(bad(
                    "the median (`mean`, default the parameter's value) must be positive",
                ));
            }
            let sd = need(d.sd, "sd")?;
            if !(sd >= 0.0 && sd.is_finite()) {
                return Err(bad("sd must be >= 0 and finite"));
            }
            Draw::LogNormal(
                LogNormal::new(median.ln(), sd).map_err(|_| bad("sd must be >= 0 and finite"))?,
            )
        }
        "uniform" => {
            let (lo, hi) = (need(d.low, "low")?, need(d.high, "high")?);
            if !(lo < hi && lo.is_finite() && hi.is_finite()) {
                return Err(bad("low must be below high"));
            }
            Draw::Uniform(Uniform::new(lo, hi))
        }
        "triangular" => {
            let (lo, hi) = (need(d.low, "low")?, need(d.high, "high")?);
            let mode = need(d.mode, "mode")?;
            Draw::Triangular(
                Triangular::new(lo, hi, mode)
                    .map_err(|_| bad("need low < high and low <= mode <= high"))?,
            )
        }
        _ => {
            let (lo, hi) = (d.low.unwrap_or(0.0), d.high.unwrap_or(1.0));
            if !(lo < hi && lo.is_finite() && hi.is_finite()) {
                return Err(bad("low must be below high"));
            }
            let (a, b) = (need(d.alpha, "alpha")?, need(d.beta, "beta")?);
            Draw::Beta {
                dist: Beta::new(a, b).map_err(|_| bad("alpha and beta must be positive"))?,
                low: lo,
                high: hi,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_type_7() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert!((quantile(&v, 0.05) - 1.2).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
