//! Sweeps and sensitivity (DESIGN layer 6): run a scenario over a grid or a Latin
//! hypercube of named parameters, and rank parameters by how much they move an output
//! (tornado data).
//!
//! Parameters are paths resolved once against the validated scenario
//! ([`crate::scenario::params`]); each point sets its values through the checked
//! [`Scenario::with_params`] and runs, in parallel. A point whose values make the scenario
//! invalid, or that does not solve, is reported with its reason, never dropped.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

use crate::limits::{check_axis_count, check_lhs, grid_points, LimitError, MAX_AXIS_COUNT};
use crate::scenario::params::{ParamError, ParamPath};
use crate::scenario::{Param, Scenario, ScenarioError};
use crate::simulate::{outputs_direct, RunError};

pub mod files;
pub mod merge;

/// One swept parameter: `path=low:high:count`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub path: ParamPath,
    pub low: f64,
    pub high: f64,
    pub count: usize,
}

/// Why `PATH=LOW:HIGH:COUNT` is not an axis.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AxisError {
    /// The range part is wrong; `text` is the axis as given.
    #[error("`{text}`: {problem}")]
    Range { text: String, problem: RangeProblem },
    /// The path part is not a parameter path.
    #[error(transparent)]
    Path(#[from] ParamError),
}

/// What is wrong with an axis's range ([`AxisError::Range`]).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RangeProblem {
    #[error("a parameter is PATH=LOW:HIGH:COUNT")]
    NoEquals,
    #[error("a range is LOW:HIGH:COUNT, e.g. 0:1:11")]
    NotThreeParts,
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("COUNT {0} is more than the limit of {MAX_AXIS_COUNT} values on one axis")]
    CountOverflow(String),
    #[error("`{0}` is not a whole number")]
    NotAWholeNumber(String),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("LOW must not exceed HIGH (bounds reversed?)")]
    Reversed,
    #[error("COUNT must be at least 2 (or 1 with LOW = HIGH)")]
    TooFewValues,
}

impl std::str::FromStr for Axis {
    type Err = AxisError;
    fn from_str(s: &str) -> Result<Axis, AxisError> {
        let wrong = |problem: RangeProblem| AxisError::Range {
            text: s.to_owned(),
            problem,
        };
        let (path, range) = s
            .split_once('=')
            .ok_or_else(|| wrong(RangeProblem::NoEquals))?;
        let parts: Vec<&str> = range.split(':').collect();
        let [low, high, count] = parts.as_slice() else {
            return Err(wrong(RangeProblem::NotThreeParts));
        };
        let num = |t: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| wrong(RangeProblem::NotANumber(t.to_owned())))
        };
        let (low, high) = (num(low)?, num(high)?);
        let count = count.trim();
        let count: u64 = count.parse().map_err(|_| {
            wrong(
                if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
                    RangeProblem::CountOverflow(count.to_owned())
                } else {
                    RangeProblem::NotAWholeNumber(count.to_owned())
                },
            )
        })?;
        check_axis_count("COUNT", count).map_err(|e| wrong(e.into()))?;
        // At most MAX_AXIS_COUNT, so it fits.
        let count = count as usize;
        if !(low <= high && low.is_finite() && high.is_finite()) {
            return Err(wrong(RangeProblem::Reversed));
        }
        if count == 0 || (count == 1 && low != high) {
            return Err(wrong(RangeProblem::TooFewValues));
        }
        Ok(Axis {
            path: ParamPath::parse(path.trim())?,
            low,
            high,
            count,
        })
    }
}

impl std::fmt::Display for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}:{}:{}", self.path, self.low, self.high, self.count)
    }
}

impl Axis {
    /// The grid values, evenly spaced from low to high.
    pub fn values(&self) -> Vec<f64> {
        if self.count == 1 {
            return vec![self.low];
        }
        (0..self.count)
            .map(|k| self.low + (self.high - self.low) * k as f64 / (self.count - 1) as f64)
            .collect()
    }
}

/// Every combination of the axes' values (the last axis varies fastest). The number of
/// points is checked first ([`crate::limits::MAX_GRID_POINTS`]).
pub fn grid(axes: &[Axis]) -> Result<Vec<Vec<f64>>, LimitError> {
    let counts: Vec<u64> = axes.iter().map(|a| a.count as u64).collect();
    grid_points(&counts)?;
    let mut points = vec![Vec::new()];
    for axis in axes {
        let values = axis.values();
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(*v);
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

/// A Latin hypercube of `n` points within the axes' bounds (the counts are ignored): each
/// axis is cut into `n` equal strata, each stratum used once, a uniform draw inside it
/// (McKay, Beckman and Conover 1979). Reproducible from `seed`. `n` is checked first
/// ([`crate::limits::MAX_LHS_POINTS`]).
pub fn latin_hypercube(axes: &[Axis], n: usize, seed: u64) -> Result<Vec<Vec<f64>>, LimitError> {
    check_lhs(n as u64)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for axis in axes {
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        columns.push(
            strata
                .into_iter()
                .map(|k| {
                    let u: f64 = rng.gen();
                    axis.low + (axis.high - axis.low) * (k as f64 + u) / n as f64
                })
                .collect(),
        );
    }
    Ok((0..n)
        .map(|i| columns.iter().map(|c| c[i]).collect())
        .collect())
}

/// A scenario ready to sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The scenario as given; every point is a copy with the swept parameters set.
    central: Scenario,
    params: Vec<Param>,
    /// Base values of the swept parameters.
    pub base: Vec<f64>,
}

/// The outputs of one point, or why it failed.
pub type PointResult = Result<Vec<(String, Option<i32>, f64)>, PointError>;

/// Why a point gave no outputs; its message is the reason `failed_points.csv` records.
#[derive(Debug, Error)]
pub enum PointError {
    /// The point's values make the scenario invalid.
    #[error(transparent)]
    Invalid(#[from] ScenarioError),
    /// The scenario at the point does not run.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl Sweep {
    /// Reads and validates the scenario file and prepares it ([`Sweep::from_scenario`]).
    pub fn new(file: &Path, axes: &[Axis]) -> Result<Sweep, SweepError> {
        check_distinct(file, axes)?;
        Sweep::from_scenario(Scenario::from_file(file)?, axes)
    }

    /// Prepares a validated scenario: every axis's path resolved once into a parameter.
    pub fn from_scenario(central: Scenario, axes: &[Axis]) -> Result<Sweep, SweepError> {
        let file = central.origin();
        check_distinct(&file, axes)?;
        let params = axes
            .iter()
            .map(|a| central.param(&a.path))
            .collect::<Result<Vec<Param>, ParamError>>()
            .map_err(|error| SweepError::Path {
                path: file.clone(),
                error,
            })?;
        let base = params.iter().map(|p| central.value(p)).collect();
        Ok(Sweep {
            central,
            params,
            base,
        })
    }

    /// Runs the scenario at one point.
    pub fn point(&self, values: &[f64]) -> PointResult {
        let set: Vec<(&Param, f64)> = self.params.iter().zip(values.iter().copied()).collect();
        let s = self.central.with_params(&set)?;
        // The key series alone, without the result rows the point would drop.
        Ok(outputs_direct(&s)?)
    }

    /// Runs every point in parallel; results in point order.
    pub fn run(&self, points: &[Vec<f64>], progress: &(dyn Fn() + Sync)) -> Vec<PointResult> {
        points
            .par_iter()
            .map(|p| {
                let r = self.point(p);
                progress();
                r
            })
            .collect()
    }

    /// Tornado data for `output` (series and year): each parameter moved alone to its low
    /// and high bound, the others at their base values; sorted by swing, largest first.
    pub fn tornado(&self, axes: &[Axis], output: &(String, Option<i32>)) -> Vec<TornadoRow> {
        let pick = |r: &PointResult| -> Result<f64, String> {
            r.as_ref().map_err(ToString::to_string).and_then(|v| {
                v.iter()
                    .find(|(n, y, _)| *n == output.0 && *y == output.1)
                    .map(|x| x.2)
                    .ok_or_else(|| format!("no output `{}`", output.0))
            })
        };
        let base = pick(&self.point(&self.base));
        let mut rows: Vec<TornadoRow> = axes
            .par_iter()
            .enumerate()
            .map(|(k, axis)| {
                let at = |v: f64| {
                    let mut p = self.base.clone();
                    p[k] = v;
                    pick(&self.point(&p))
                };
                let (lo, hi) = (at(axis.low), at(axis.high));
                let swing = match (&lo, &hi) {
                    (Ok(a), Ok(b)) => Some((b - a).abs()),
                    _ => None,
                };
                let failed = lo.clone().err().or(hi.clone().err()).unwrap_or_default();
                TornadoRow {
                    parameter: axis.path.to_string(),
                    low: axis.low,
                    high: axis.high,
                    base_value: self.base[k],
                    output: output.0.clone(),
                    year: output.1,
                    output_at_base: base.clone().ok(),
                    output_at_low: lo.ok(),
                    output_at_high: hi.ok(),
                    swing,
                    failed,
                }
            })
            .collect();
        // Largest swing first; parameters whose runs failed last.
        rows.sort_by(|a, b| {
            b.swing
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.swing.unwrap_or(f64::NEG_INFINITY))
        });
        rows
    }
}

/// Each axis sweeps a parameter of its own.
fn check_distinct(file: &Path, axes: &[Axis]) -> Result<(), SweepError> {
    for (k, a) in axes.iter().enumerate() {
        if let Some(first) = axes[..k].iter().position(|b| b.path == a.path) {
            return Err(SweepError::Param {
                path: file.to_owned(),
                message: format!(
                    "--param `{}` is given twice (parameters {} and {}): sweep each parameter once",
                    a.path,
                    first + 1,
                    k + 1
                ),
            });
        }
    }
    Ok(())
}

/// One bar of a tornado chart.
// Deserialize: `plot` reads the file back through this same type.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TornadoRow {
    pub parameter: String,
    pub low: f64,
    pub high: f64,
    /// The parameter's value in the scenario (where the other bars hold it).
    pub base_value: f64,
    pub output: String,
    pub year: Option<i32>,
    /// Empty where that run failed (see `failed`).
    pub output_at_base: Option<f64>,
    pub output_at_low: Option<f64>,
    pub output_at_high: Option<f64>,
    /// `|output_at_high - output_at_low|`, empty where a run failed.
    pub swing: Option<f64>,
    /// Why a run failed, if one did.
    pub failed: String,
}

/// Errors of a sweep's set-up.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{path}: {message}")]
    Param { path: PathBuf, message: String },
    /// A swept parameter's path names no number of the scenario.
    #[error("{path}: {error}")]
    Path { path: PathBuf, error: ParamError },
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_and_hypercube_cover_the_axes() {
        let a: Axis = "x=0:1:3".parse().unwrap();
        let b: Axis = "y=10:20:2".parse().unwrap();
        let g = grid(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [0.0, 10.0]);
        assert_eq!(g[5], [1.0, 20.0]);
        let h = latin_hypercube(&[a, b], 10, 3).unwrap();
        assert_eq!(h.len(), 10);
        // One point per stratum on each axis.
        let mut strata: Vec<usize> = h.iter().map(|p| (p[0] * 10.0) as usize).collect();
        strata.sort_unstable();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        assert_eq!(
            h,
            latin_hypercube(
                &["x=0:1:3".parse().unwrap(), "y=10:20:2".parse().unwrap()],
                10,
                3
            )
            .unwrap()
        );
    }

    #[test]
    fn bad_axes_are_rejected() {
        for s in ["x=1:0:3", "x", "x=0:1", "x=0:1:0", "x=a:1:2"] {
            assert!(s.parse::<Axis>().is_err(), "{s}");
        }
    }
}
