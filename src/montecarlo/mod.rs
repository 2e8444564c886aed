//! Monte Carlo (DESIGN layer 6): uncertain parameters drawn from distributions, the
//! scenario run once per draw, and quantile bands of every output series.
//!
//! Draw `n` uses its own generator, ChaCha8 seeded with the run's seed on stream `n`, so a
//! draw's numbers depend only on (seed, n): results are identical on one thread or many,
//! and a shard of the draws (`first..last`) gives exactly the rows the full run would.
//! The scenario's `[uncertainty]` is checked with the scenario ([`Uncertainty`]: each path
//! resolved into a [`crate::scenario::Param`], each distribution valid); a draw sets its
//! values on the validated scenario through [`Scenario::with_params`], which re-checks only
//! what they touch, so a draw that makes the scenario invalid (a sigma drawn below 1) fails
//! like any bad input, and nothing is re-read or re-validated per draw.
//! Failed draws are counted with their reasons; they are never averaged in.
//!
//! A fitted posterior ([`posterior`]: `[uncertainty] posterior = "<folder>"`, or the
//! command line's `--posterior DIR`) adds a joint draw of its parameters, a multivariate
//! normal at the mode truncated to the fit's bounds, after the independent draws of
//! `[uncertainty]`; where both name a parameter, the posterior's value is the one set.

use std::path::{Path, PathBuf};

use nalgebra::DVector;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

use crate::limits::{check_draws, LimitError};
use crate::scenario::{Param, Scenario, ScenarioError, Uncertainty};
// `outputs` moved to `simulate` (the series every tuning command reads); re-exported for
// callers that still name it here.
pub use crate::simulate::outputs;
use crate::simulate::{output_values, outputs_direct, RunError};

pub mod merge;
pub mod posterior;

pub use posterior::{Posterior, PosteriorError, PosteriorRecord, Tally};

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
    #[error("{path}: the scenario has no `[uncertainty]` and no posterior is given (`--posterior DIR`): nothing to draw")]
    Nothing { path: PathBuf },
    /// Not a `source`: the message already holds the run error's. Boxed: a run error
    /// is large.
    #[error("{path}: the scenario itself does not run: {error}")]
    Base { path: PathBuf, error: Box<RunError> },
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Posterior(#[from] PosteriorError),
}

/// A scenario ready for Monte Carlo: the validated scenario, whose checked
/// `[uncertainty]` says what to draw, and the series its central run gives.
#[derive(Debug, Clone)]
pub struct MonteCarlo {
    /// The central scenario; every draw is a copy with the uncertain parameters set.
    central: Scenario,
    /// Names (and years) of the output series, from the central run.
    series: Vec<(String, Option<i32>)>,
    /// The fitted posterior drawn from, if any.
    posterior: Option<Posterior>,
}

/// Summary of one output series over the draws (a row of `montecarlo.csv`). A statistic
/// the successful draws do not define is `None`, an empty cell: the mean and quantiles
/// when no draw succeeded, the standard deviation with fewer than two.
// Deserialize: `plot` reads the file back through this same type.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    pub outcome: Result<Vec<f64>, DrawError>,
}

/// Why a draw gave no values. It displays (and serializes as) the reason
/// `failed_draws.csv` records.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DrawError {
    /// The run was interrupted before this draw started.
    #[error("stopped")]
    Stopped,
    /// The drawn values make the scenario invalid: the validation message.
    #[error("{0}")]
    Invalid(String),
    /// The drawn scenario does not run: the run's message.
    #[error("{0}")]
    Run(String),
    /// The draw's run produced other series than the central run.
    #[error("the draw produced a different set of series")]
    Series,
    /// A series of the draw is not a finite number: the draw counts as failed rather than
    /// stopping every file from being written.
    #[error("series `{series}`{} is {value}, not a finite number", .year.map_or(String::new(), |y| format!(" in {y}")))]
    NonFinite {
        series: String,
        year: Option<i32>,
        value: f64,
    },
    /// A reason read back from a shard's `failed_draws.csv`.
    #[error("{0}")]
    Recorded(String),
}

impl Serialize for DrawError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl MonteCarlo {
    /// Checks everything a run of `draws` draws needs before any work: the number of draws
    /// against [`crate::limits::MAX_DRAWS`], the scenario, and its `[uncertainty]` against
    /// the merged table. Runs nothing; a command calls it before it replaces any results.
    pub fn check(path: &Path, draws: u64) -> Result<(), MonteCarloError> {
        MonteCarlo::check_with(path, draws, None)
    }

    /// As [`MonteCarlo::check`], with the posterior folder `posterior` (the command line's
    /// `--posterior`) in place of the scenario's `[uncertainty] posterior`: the posterior
    /// is read and checked too.
    pub fn check_with(
        path: &Path,
        draws: u64,
        posterior: Option<&Path>,
    ) -> Result<(), MonteCarloError> {
        check_draws(draws)?;
        prepare(&Scenario::from_file(path)?, posterior).map(|_| ())
    }

    /// Reads and validates the scenario file (its `[uncertainty]` with it) and prepares it
    /// ([`MonteCarlo::new`]).
    pub fn from_file(path: &Path) -> Result<MonteCarlo, MonteCarloError> {
        MonteCarlo::new(Scenario::from_file(path)?)
    }

    /// As [`MonteCarlo::from_file`], drawing from the posterior in `posterior` when given
    /// (in place of the scenario's `[uncertainty] posterior`).
    pub fn from_file_with(
        path: &Path,
        posterior: Option<&Path>,
    ) -> Result<MonteCarlo, MonteCarloError> {
        MonteCarlo::with_posterior(Scenario::from_file(path)?, posterior)
    }

    /// Prepares a validated scenario with an `[uncertainty]`: reads its posterior, if it
    /// names one, and runs it once to fix the output series.
    pub fn new(central: Scenario) -> Result<MonteCarlo, MonteCarloError> {
        MonteCarlo::with_posterior(central, None)
    }

    /// As [`MonteCarlo::new`], with the posterior folder `posterior` in place of the
    /// scenario's `[uncertainty] posterior`; a scenario without `[uncertainty]` can then
    /// draw from the posterior alone.
    pub fn with_posterior(
        central: Scenario,
        posterior: Option<&Path>,
    ) -> Result<MonteCarlo, MonteCarloError> {
        let posterior = prepare(&central, posterior)?;
        let series = outputs_direct(&central)
            .map_err(|error| MonteCarloError::Base {
                path: central.origin(),
                error: Box::new(error),
            })?
            .into_iter()
            .map(|(name, year, _)| (name, year))
            .collect();
        Ok(MonteCarlo {
            central,
            series,
            posterior,
        })
    }

    /// The posterior drawn from, if any.
    pub fn posterior(&self) -> Option<&Posterior> {
        self.posterior.as_ref()
    }

    /// Parameters of `[uncertainty]` whose independent draws the posterior replaces, and
    /// those still drawn independently, by path.
    pub fn sources(&self) -> (Vec<String>, Vec<String>) {
        let from_posterior = |p: &Param| {
            self.posterior
                .as_ref()
                .is_some_and(|post| post.params.contains(p))
        };
        let mut replaced = Vec::new();
        let mut independent = Vec::new();
        if let Some(u) = self.central.uncertainty() {
            let own = u
                .parameters
                .iter()
                .map(|(p, _)| p)
                .chain(u.coefficients.iter().flat_map(|c| c.params.iter()));
            for p in own {
                if from_posterior(p) {
                    replaced.push(p.to_string());
                } else {
                    independent.push(p.to_string());
                }
            }
        }
        (replaced, independent)
    }

    /// The redraws of the posterior over draws `range` with `seed` (the draws' own
    /// streams replayed: no model runs), `None` without a posterior.
    pub fn tally(&self, seed: u64, range: std::ops::Range<u64>) -> Option<Tally> {
        self.posterior.as_ref()?;
        let mut tally = Tally::default();
        for index in range {
            match self.drawn(seed, index) {
                Ok((_, redraws)) => tally.redraws += u64::from(redraws),
                Err(_) => {
                    tally.truncated += 1;
                    tally.redraws += u64::from(posterior::MAX_REDRAWS) + 1;
                }
            }
        }
        Some(tally)
    }

    /// The record of the posterior for `posterior.json` over draws `range`, `None`
    /// without a posterior.
    pub fn posterior_record(
        &self,
        seed: u64,
        range: std::ops::Range<u64>,
    ) -> Option<PosteriorRecord> {
        let tally = self.tally(seed, range)?;
        let (replaces, independent) = self.sources();
        Some(
            self.posterior
                .as_ref()?
                .record(replaces, independent, tally),
        )
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
                    Err(DrawError::Stopped)
                } else {
                    self.one(seed, index)
                };
                progress();
                DrawResult { index, outcome }
            })
            .collect()
    }

    /// The values of draw `index`: every uncertain parameter with its draw, in the order of
    /// `[uncertainty]` (parameters, then the coefficients drawn jointly), then the
    /// posterior's parameters (a parameter of both keeps its place and takes the
    /// posterior's value); or why the posterior found no values within its bounds.
    pub fn draw_values(
        &self,
        seed: u64,
        index: u64,
    ) -> Result<Vec<(&Param, f64)>, posterior::Truncated> {
        self.drawn(seed, index).map(|(values, _)| values)
    }

    /// [`MonteCarlo::draw_values`] and the posterior's redraws.
    fn drawn(&self, seed: u64, index: u64) -> Result<(Drawn<'_>, u32), posterior::Truncated> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let mut values = Vec::new();
        if let Some(u) = self.central.uncertainty() {
            for (param, d) in &u.parameters {
                values.push((param, d.sample(&mut rng)));
            }
            if let Some(c) = &u.coefficients {
                let z = DVector::from_fn(c.mean.len(), |_, _| StandardNormal.sample(&mut rng));
                let b = &c.mean + &c.cholesky * z;
                values.extend(c.params.iter().zip(b.iter().copied()));
            }
        }
        let Some(post) = &self.posterior else {
            return Ok((values, 0));
        };
        // Drawn after the independent draws, from the same stream: a draw's numbers still
        // depend on (seed, index) alone.
        let d = post.draw(&mut rng)?;
        for (param, v) in post.params.iter().zip(d.values) {
            match values.iter_mut().find(|(p, _)| *p == param) {
                Some(slot) => slot.1 = v,
                None => values.push((param, v)),
            }
        }
        Ok((values, d.redraws))
    }

    /// The scenario of draw `index`, or why the drawn values make it invalid (or the
    /// posterior found none within its bounds).
    pub fn draw(&self, seed: u64, index: u64) -> Result<Scenario, DrawError> {
        let values = self
            .draw_values(seed, index)
            .map_err(|e| DrawError::Invalid(e.to_string()))?;
        self.central
            .with_params(&values)
            .map_err(|e| DrawError::Invalid(e.to_string()))
    }

    fn one(&self, seed: u64, index: u64) -> Result<Vec<f64>, DrawError> {
        let s = self.draw(seed, index)?;
        // The key series' values alone, in the order of `self.series` (whose names were
        // formatted once, from the central run), without the result rows a draw would drop.
        let mut values = Vec::with_capacity(self.series.len());
        output_values(&s, &mut values).map_err(|e| DrawError::Run(e.to_string()))?;
        if values.len() != self.series.len() {
            return Err(DrawError::Series);
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            let (series, year) = &self.series[k];
            return Err(DrawError::NonFinite {
                series: series.clone(),
                year: *year,
                value: values[k],
            });
        }
        Ok(values)
    }

    /// Quantile bands of every series over the successful draws.
    pub fn bands(&self, draws: &[DrawResult]) -> Vec<Band> {
        bands(&self.series, draws)
    }
}

/// The values of one draw, by parameter.
type Drawn<'a> = Vec<(&'a Param, f64)>;

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

/// The posterior a Monte Carlo of `s` draws from: the folder `flag` when given, else the
/// scenario's `[uncertainty] posterior` (relative to the scenario file's folder), read and
/// checked against `s`; an error when there is neither a posterior nor an `[uncertainty]`.
fn prepare(s: &Scenario, flag: Option<&Path>) -> Result<Option<Posterior>, MonteCarloError> {
    let folder = match flag {
        Some(f) => Some(f.to_owned()),
        None => s.uncertainty().and_then(posterior_folder(s)),
    };
    match folder {
        Some(f) => Ok(Some(Posterior::read(&f, s)?)),
        None => uncertainty_of(s).map(|_| None),
    }
}

/// The folder `[uncertainty] posterior` names, resolved against the scenario file's folder.
fn posterior_folder(s: &Scenario) -> impl Fn(&Uncertainty) -> Option<PathBuf> + '_ {
    move |u| {
        let rel = u.posterior.as_ref()?;
        let base = s.source().and_then(Path::parent).unwrap_or(Path::new("."));
        Some(base.join(rel))
    }
}

/// The checked `[uncertainty]` of a scenario, or the error that it has none.
fn uncertainty_of(s: &Scenario) -> Result<&Uncertainty, MonteCarloError> {
    s.uncertainty()
        .ok_or_else(|| MonteCarloError::Nothing { path: s.origin() })
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
