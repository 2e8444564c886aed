//! PPML estimation of gravity equations with high-dimensional fixed effects.
//!
//! The model is the Poisson pseudo-maximum-likelihood estimator (Santos Silva and Tenreyro
//! 2006) of
//!
//! ```text
//! E[y_n | z_n] = mu_n = exp(b'z_n + c + sum_d alpha_d[g_d(n)])
//! ```
//!
//! with any number of fixed-effect dimensions `d` (exporter, importer, exporter-year,
//! importer-year, pair), observation `n` belonging to group `g_d(n)` of dimension `d`.
//!
//! # Data flow
//!
//! A [`Design`] (dependent variable, regressors, group ids) goes into [`ppml`], which
//!
//! 1. drops what cannot be estimated and says why ([`drop`]: non-finite values, singletons,
//!    groups with zero trade throughout), every dropped observation listed in
//!    [`PpmlFit::dropped`];
//! 2. runs iteratively reweighted least squares (IRLS), the Newton method of the Poisson
//!    likelihood: with weights `w = mu` and working variable `z = eta + (y - mu) / mu`, each
//!    step is the weighted regression of `z` on the regressors and the fixed effects. The
//!    fixed effects are swept out of `z` and of each regressor by weighted alternating
//!    projections ([`demean`]; Frisch-Waugh-Lovell), never by dummies, as in ppmlhdfe
//!    (Correia, Guimaraes and Zylkin 2020) and fixest's `fepois` (Berge 2018). The new linear
//!    predictor is `eta = z - e`, `e` the residual of the demeaned regression, so the fixed
//!    effects themselves are not needed during the iterations;
//! 3. stops when the relative change of the deviance,
//!    `|D - D_old| / max(min(D, D_old), 0.1)`, is below [`PpmlOptions::tolerance`]
//!    (ppmlhdfe's rule), or reports that it did not ([`StopReason`]);
//! 4. recovers the fixed effects from the demeaning coefficients, computes the standard
//!    errors ([`StdErrKind`] states the formulas) and the fitted means.
//!
//! [`predict`] gives the mean of a new cell from a fit, for imputing missing trade.
//!
//! # Normalisation of the fixed effects and the constant
//!
//! Fixed effects are identified only up to shifts between dimensions. The fit reports the
//! constant `c` of ppmlhdfe (reghdfe's `_cons`): the `mu`-weighted mean, over the kept
//! observations, of the summed fixed effects, `c = sum_n mu_n D_n / sum_n mu_n` with
//! `D_n = eta_n - b'z_n`. Each dimension's fixed effects are then normalised to a zero
//! `mu`-weighted mean over the observations, `sum_n mu_n alpha_d[g_d(n)] = 0`, so that
//! `eta_n = b'z_n + c + sum_d alpha_d[g_d(n)]` holds exactly. To normalise differently
//! (say the importer effect of a reference country to zero), add a number to one
//! dimension and subtract it from `c`. The standard error of `c` is the one of reghdfe: the
//! regressors are demeaned and their `mu`-weighted means added back, and `c` is the
//! coefficient of a column of ones in the same sandwich.
//!
//! Not done: separation by the regressors (ppmlhdfe's ReLU test) is not detected; such a
//! design shows up as an IRLS that does not converge or a deviance that falls to zero.

mod demean;
mod drop;
pub mod run;
pub mod synthetic;
pub mod table;

use std::collections::HashMap;
use std::fmt;

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

use demean::{Dimension, Weights};
pub use drop::{DropReason, Dropped};

/// One fixed-effect dimension: its name and the group of every observation.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedEffect {
    /// `exporter`, `importer`, `exporter-year`, ...
    pub name: String,
    /// Group of each observation (any `u32`; groups need not be numbered densely).
    pub groups: Vec<u32>,
}

/// What to estimate: `n` observations.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Dependent variable (trade), `n` values, none negative; non-finite values are dropped.
    pub y: Vec<f64>,
    /// Regressors: one vector of length `n` per regressor.
    pub x: Vec<Vec<f64>>,
    /// Name of each regressor.
    pub names: Vec<String>,
    /// Fixed-effect dimensions (none gives a plain Poisson regression with an intercept).
    pub fixed_effects: Vec<FixedEffect>,
    /// Cluster of each observation, for [`StdErrKind::ClusterPair`].
    pub cluster: Option<Vec<u32>>,
}

/// Which standard errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StdErrKind {
    /// Heteroskedasticity-robust (Eicker-White HC0), no small-sample factor:
    /// `V = B (sum_n (y_n - mu_n)^2 x~_n x~_n') B`, `B = (sum_n mu_n x~_n x~_n')^-1`, where
    /// `x~_n` are the regressors with the fixed effects swept out (weights `mu`) at the
    /// estimate. This is statsmodels' `GLM(..., Poisson).fit(cov_type="HC0")` with dummies.
    #[default]
    Robust,
    /// Clustered on [`Design::cluster`] (the exporter-importer pair in `tradeflow
    /// estimate`): `V = G/(G-1) B (sum_c s_c s_c') B`, `s_c = sum_{n in c} (y_n - mu_n) x~_n`,
    /// `G` the number of clusters among the kept observations.
    ClusterPair,
}

impl StdErrKind {
    /// The formula, as stated in [`StdErrKind`]'s variants, for reports.
    pub fn formula(self) -> &'static str {
        match self {
            StdErrKind::Robust => {
                "HC0 (Eicker-White), no small-sample factor: V = B (sum_n (y_n - mu_n)^2 x~_n x~_n') B, \
                 B = (sum_n mu_n x~_n x~_n')^-1, x~ = regressors with the fixed effects swept out"
            }
            StdErrKind::ClusterPair => {
                "clustered by pair: V = G/(G-1) B (sum_c s_c s_c') B, s_c = sum_{n in c} (y_n - mu_n) x~_n, \
                 B = (sum_n mu_n x~_n x~_n')^-1, G = number of pairs"
            }
        }
    }
}

/// Settings of the IRLS and of the demeaning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PpmlOptions {
    /// Stop when the relative change of the deviance is below this (default `1e-10`).
    pub tolerance: f64,
    /// At most this many IRLS iterations (default 100).
    pub max_iterations: usize,
    /// A demeaning stops when no sweep moves a fixed-effect coefficient by more than this
    /// times `1 + max |v|` (default `1e-11`). Early IRLS iterations use a looser tolerance,
    /// `1e-3` times the last deviance change but at most `1e-6`; the standard errors are
    /// always computed from a demeaning to this one.
    pub demean_tolerance: f64,
    /// At most this many sweeps per demeaning (default 10 000).
    pub max_demean_iterations: usize,
    /// Which standard errors (default robust HC0).
    pub se: StdErrKind,
}

impl Default for PpmlOptions {
    fn default() -> Self {
        PpmlOptions {
            tolerance: 1e-10,
            max_iterations: 100,
            demean_tolerance: 1e-11,
            max_demean_iterations: 10_000,
            se: StdErrKind::Robust,
        }
    }
}

/// One estimated coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    pub name: String,
    pub beta: f64,
    /// Standard error of the kind asked for ([`PpmlOptions::se`]).
    pub stderr: f64,
}

/// The estimated fixed effects of one dimension, normalised as the module docs state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixedEffectValues {
    pub name: String,
    /// `(group id as given in the design, estimate)`, by group id; groups whose every
    /// observation was dropped are absent.
    pub values: Vec<(u32, f64)>,
}

impl FixedEffectValues {
    /// The estimate of group `id`, if it was estimated.
    pub fn get(&self, id: u32) -> Option<f64> {
        self.values
            .binary_search_by_key(&id, |&(g, _)| g)
            .ok()
            .map(|k| self.values[k].1)
    }
}

/// Why the IRLS stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The relative change of the deviance fell below the tolerance.
    Converged,
    /// [`PpmlOptions::max_iterations`] iterations without converging.
    MaxIterations,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Converged => "converged",
            StopReason::MaxIterations => "stopped at the iteration limit without converging",
        })
    }
}

/// How the estimation went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PpmlReport {
    /// IRLS iterations.
    pub iterations: usize,
    /// Poisson deviance `2 sum_n [y_n ln(y_n / mu_n) - (y_n - mu_n)]` at the estimate.
    pub deviance: f64,
    /// The last relative change of the deviance.
    pub relative_change: f64,
    pub stop: StopReason,
    pub converged: bool,
    /// The most sweeps one demeaning needed.
    pub max_demean_sweeps: usize,
    /// Whether some demeaning hit [`PpmlOptions::max_demean_iterations`].
    pub demean_limit_hit: bool,
    /// Observations in the design, kept, and dropped.
    pub observations: usize,
    pub kept: usize,
    /// Clusters among the kept observations (clustered standard errors only).
    pub clusters: Option<usize>,
}

/// A PPML fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PpmlFit {
    /// The regressors' coefficients, in the design's order.
    pub coefficients: Vec<Coefficient>,
    /// The constant `c` (ppmlhdfe's `_cons`), defined in the module docs.
    pub constant: Coefficient,
    /// The fixed effects of each dimension, in the design's order.
    pub fixed_effects: Vec<FixedEffectValues>,
    /// Indices (in the design) of the kept observations.
    pub kept: Vec<usize>,
    /// Fitted mean `mu` of each kept observation, parallel to `kept`.
    pub fitted: Vec<f64>,
    /// Every observation left out, and why, by index.
    pub dropped: Vec<Dropped>,
    pub report: PpmlReport,
    /// Which standard errors `stderr` holds.
    pub se: StdErrKind,
}

/// Why an estimation could not be run.
#[derive(Debug, Error, PartialEq)]
pub enum EstimateError {
    #[error("the design is malformed: {0}")]
    Shape(String),
    #[error("invalid option: {0}")]
    Options(String),
    #[error("observation {index}: the dependent variable is {value}; PPML needs y >= 0")]
    Negative { index: usize, value: f64 },
    #[error("{kept} observations are left after dropping {dropped}, too few for {parameters} coefficients")]
    TooFew {
        kept: usize,
        dropped: usize,
        parameters: usize,
    },
    #[error("{} absorbed by the fixed effects (constant within their groups): drop {} or the fixed effect", list(.0), if .0.len() == 1 { "it" } else { "them" })]
    Absorbed(Vec<String>),
    #[error("the regressors are collinear (after sweeping out the fixed effects): {0}")]
    Collinear(String),
    #[error("the IRLS broke down at iteration {iteration}: the deviance is not finite (separation by a regressor?)")]
    NotFinite { iteration: usize },
}

fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        1 => format!("regressor {} is", quoted[0]),
        _ => format!("regressors {} are", quoted.join(", ")),
    }
}

/// Poisson deviance `2 sum_n [y_n ln(y_n / mu_n) - (y_n - mu_n)]`, with `0 ln 0 = 0`
/// (McCullagh and Nelder 1989, table 2.1).
fn deviance(y: &[f64], mu: &[f64]) -> f64 {
    2.0 * y
        .iter()
        .zip(mu)
        .map(|(&y, &m)| {
            let log_term = if y > 0.0 { y * (y / m).ln() } else { 0.0 };
            log_term - (y - m)
        })
        .sum::<f64>()
}

/// Relative deviance change, ppmlhdfe's stopping rule:
/// `|D - D_old| / max(min(D, D_old), 0.1)`.
fn relative_change(d: f64, d_old: f64) -> f64 {
    (d - d_old).abs() / d.min(d_old).max(0.1)
}

/// Each dimension's dense group numbers per observation, and the group id of each number.
type Numbered = (Vec<Vec<u32>>, Vec<Vec<u32>>);

/// Checks the shapes and the options, and numbers each dimension's groups densely.
fn check(design: &Design, options: &PpmlOptions) -> Result<Numbered, EstimateError> {
    let n = design.y.len();
    let shape = |s: String| Err(EstimateError::Shape(s));
    if design.names.len() != design.x.len() {
        return shape(format!(
            "{} regressors but {} names",
            design.x.len(),
            design.names.len()
        ));
    }
    for (col, name) in design.x.iter().zip(&design.names) {
        if col.len() != n {
            return shape(format!(
                "regressor `{name}` has {} values for {n} observations",
                col.len()
            ));
        }
    }
    for fe in &design.fixed_effects {
        if fe.groups.len() != n {
            return shape(format!(
                "fixed effect `{}` has {} group ids for {n} observations",
                fe.name,
                fe.groups.len()
            ));
        }
    }
    if let Some(c) = &design.cluster {
        if c.len() != n {
            return shape(format!("{} cluster ids for {n} observations", c.len()));
        }
    } else if options.se == StdErrKind::ClusterPair {
        return shape("clustered standard errors asked for, but the design has no clusters".into());
    }
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(options.tolerance) || !positive(options.demean_tolerance) {
        return Err(EstimateError::Options(format!(
            "tolerances must be positive and finite (tolerance {}, demean_tolerance {})",
            options.tolerance, options.demean_tolerance
        )));
    }
    if options.max_iterations == 0 || options.max_demean_iterations == 0 {
        return Err(EstimateError::Options(
            "iteration limits must be at least 1".into(),
        ));
    }
    if let Some(index) = design.y.iter().position(|&v| v < 0.0) {
        return Err(EstimateError::Negative {
            index,
            value: design.y[index],
        });
    }
    // Dense numbering: group ids are the user's, dense numbers index the kernels' vectors.
    let mut dense = Vec::new();
    let mut labels = Vec::new();
    for fe in &design.fixed_effects {
        let mut map: HashMap<u32, u32> = HashMap::new();
        let mut lab = Vec::new();
        let ids = fe
            .groups
            .iter()
            .map(|&g| {
                *map.entry(g).or_insert_with(|| {
                    lab.push(g);
                    (lab.len() - 1) as u32
                })
            })
            .collect();
        dense.push(ids);
        labels.push(lab);
    }
    Ok((dense, labels))
}

/// Estimates a PPML with fixed effects (see the module docs for the method, the stopping
/// rule and the normalisation). Not converging is reported in [`PpmlFit::report`], not an
/// error.
pub fn ppml(design: &Design, options: &PpmlOptions) -> Result<PpmlFit, EstimateError> {
    let (dense, labels) = check(design, options)?;
    let n_all = design.y.len();
    let k = design.x.len();
    let dim_names: Vec<String> = design
        .fixed_effects
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let counts: Vec<usize> = labels.iter().map(Vec::len).collect();
    let dropped = drop::find_dropped(
        &design.y,
        &design.x,
        &design.names,
        &dim_names,
        &dense,
        &counts,
    );
    let mut keep = vec![true; n_all];
    for d in &dropped {
        keep[d.index] = false;
    }
    let kept: Vec<usize> = (0..n_all).filter(|&i| keep[i]).collect();
    let n = kept.len();
    // The absorbed degrees of freedom are not counted here: the check only guards against
    // a regression with no observations to spare.
    if n <= k || design.y.iter().zip(&keep).all(|(&y, &kp)| !kp || y == 0.0) {
        return Err(EstimateError::TooFew {
            kept: n,
            dropped: dropped.len(),
            parameters: k + 1,
        });
    }

    // Kept observations, with groups renumbered densely among them. Without fixed effects
    // the intercept is swept out as a dimension with a single group.
    let y: Vec<f64> = kept.iter().map(|&i| design.y[i]).collect();
    let x: Vec<Vec<f64>> = design
        .x
        .iter()
        .map(|col| kept.iter().map(|&i| col[i]).collect())
        .collect();
    let mut dims = Vec::new();
    let mut dim_labels: Vec<Vec<u32>> = Vec::new();
    for (ids, lab) in dense.iter().zip(&labels) {
        let mut renum = vec![u32::MAX; lab.len()];
        let mut kept_lab = Vec::new();
        let kept_ids = kept
            .iter()
            .map(|&i| {
                let g = ids[i] as usize;
                if renum[g] == u32::MAX {
                    renum[g] = kept_lab.len() as u32;
                    kept_lab.push(lab[g]);
                }
                renum[g]
            })
            .collect();
        dims.push(Dimension {
            ids: kept_ids,
            groups: kept_lab.len(),
        });
        dim_labels.push(kept_lab);
    }
    let intercept_only = dims.is_empty();
    if intercept_only {
        dims.push(Dimension {
            ids: vec![0; n],
            groups: 1,
        });
    }

    // IRLS from ppmlhdfe's (and glm's) start: mu = (y + mean y) / 2.
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let mut mu: Vec<f64> = y.iter().map(|&v| 0.5 * (v + y_mean)).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
    let mut dev_old = deviance(&y, &mu);
    // Demeaning state of each column (z first, then each regressor): the fixed-effect
    // coefficients, kept between iterations as warm starts, and the demeaned values.
    let zero_alpha = || -> Vec<Vec<f64>> { dims.iter().map(|d| vec![0.0; d.groups]).collect() };
    let mut alpha: Vec<Vec<Vec<f64>>> = (0..=k).map(|_| zero_alpha()).collect();
    let mut tilde: Vec<Vec<f64>> = vec![vec![0.0; n]; k + 1];
    let mut z = vec![0.0; n];
    let mut beta = DVector::zeros(k);
    let mut max_sweeps = 0;
    let mut limit_hit = false;
    let mut stop = StopReason::MaxIterations;
    let mut iterations = 0;
    let mut change = f64::INFINITY;
    let mut dev = dev_old;
    for iteration in 1..=options.max_iterations {
        iterations = iteration;
        for ((zn, &e), (&yn, &m)) in z.iter_mut().zip(&eta).zip(y.iter().zip(&mu)) {
            *zn = e + (yn - m) / m;
        }
        let weights = Weights::new(&dims, &mu);
        // Early iterations need no precise demeaning: the tolerance follows the last
        // deviance change, `1e-3` times it, between `demean_tolerance` and `1e-6` (ppmlhdfe
        // tightens its own the same way). With the defaults, the iteration that meets the
        // stopping rule followed a change below `1e-8` and is demeaned to `1e-11`.
        let demean_tol =
            (change * 1e-3).clamp(options.demean_tolerance, options.demean_tolerance.max(1e-6));
        let (sweeps, hit) = demean_all(
            &weights, &z, &x, &mut alpha, &mut tilde, options, demean_tol,
        );
        max_sweeps = max_sweeps.max(sweeps);
        limit_hit |= hit;
        if iteration == 1 {
            check_absorbed(&x, &tilde[1..], &design.names)?;
        }
        beta = wls(&tilde[1..], &tilde[0], &mu, &design.names)?;
        // eta = z - e, e = z~ - X~ b the residual of the demeaned regression.
        for (n_, (e, &zn)) in eta.iter_mut().zip(&z).enumerate() {
            let fit: f64 = (0..k).map(|j| tilde[j + 1][n_] * beta[j]).sum();
            *e = zn - (tilde[0][n_] - fit);
        }
        for (m, &e) in mu.iter_mut().zip(&eta) {
            *m = e.exp();
        }
        dev = deviance(&y, &mu);
        if !dev.is_finite() {
            return Err(EstimateError::NotFinite { iteration });
        }
        change = relative_change(dev, dev_old);
        dev_old = dev;
        if change < options.tolerance {
            stop = StopReason::Converged;
            break;
        }
    }

    // Fixed effects: eta - Xb = D (alpha_z - sum_j b_j alpha_j), from the last demeaning.
    let mut fe_raw: Vec<Vec<f64>> = alpha[0].clone();
    for j in 0..k {
        for (fd, ad) in fe_raw.iter_mut().zip(&alpha[j + 1]) {
            for (f, a) in fd.iter_mut().zip(ad) {
                *f -= beta[j] * a;
            }
        }
    }
    let mu_total: f64 = mu.iter().sum();
    let mut constant = 0.0;
    for (d, fd) in dims.iter().zip(fe_raw.iter_mut()) {
        let mean = d
            .ids
            .iter()
            .zip(&mu)
            .map(|(&g, &m)| m * fd[g as usize])
            .sum::<f64>()
            / mu_total;
        constant += mean;
        for f in fd.iter_mut() {
            *f -= mean;
        }
    }

    // The sandwich at the estimate: the regressors demeaned once more with the final mu.
    let weights = Weights::new(&dims, &mu);
    let mut x_alpha: Vec<Vec<Vec<f64>>> = alpha[1..].to_vec();
    let mut x_tilde: Vec<Vec<f64>> = vec![vec![0.0; n]; k];
    x_tilde
        .par_iter_mut()
        .zip(x_alpha.par_iter_mut())
        .zip(x.par_iter())
        .for_each(|((t, a), v)| {
            weights.demean(
                v,
                a,
                t,
                options.demean_tolerance,
                options.max_demean_iterations,
            );
        });
    let x_means: Vec<f64> = x
        .iter()
        .map(|col| col.iter().zip(&mu).map(|(v, m)| v * m).sum::<f64>() / mu_total)
        .collect();
    let clusters = match (options.se, &design.cluster) {
        (StdErrKind::ClusterPair, Some(c)) => Some(kept.iter().map(|&i| c[i]).collect::<Vec<_>>()),
        _ => None,
    };
    let (cov, n_clusters) = sandwich(
        &x_tilde,
        &x_means,
        &y,
        &mu,
        clusters.as_deref(),
        &design.names,
    )?;
    let coefficients = (0..k)
        .map(|j| Coefficient {
            name: design.names[j].clone(),
            beta: beta[j],
            stderr: cov[(j, j)].sqrt(),
        })
        .collect();
    let constant = Coefficient {
        name: "constant".to_owned(),
        beta: constant,
        stderr: cov[(k, k)].sqrt(),
    };
    let fixed_effects = if intercept_only {
        Vec::new()
    } else {
        design
            .fixed_effects
            .iter()
            .zip(&dim_labels)
            .zip(&fe_raw)
            .map(|((fe, lab), vals)| {
                let mut values: Vec<(u32, f64)> =
                    lab.iter().copied().zip(vals.iter().copied()).collect();
                values.sort_by_key(|&(g, _)| g);
                FixedEffectValues {
                    name: fe.name.clone(),
                    values,
                }
            })
            .collect()
    };
    Ok(PpmlFit {
        coefficients,
        constant,
        fixed_effects,
        kept,
        fitted: mu,
        dropped,
        report: PpmlReport {
            iterations,
            deviance: dev,
            relative_change: change,
            stop,
            converged: stop == StopReason::Converged,
            max_demean_sweeps: max_sweeps,
            demean_limit_hit: limit_hit,
            observations: n_all,
            kept: n,
            clusters: n_clusters,
        },
        se: options.se,
    })
}

/// Demeans `z` into `tilde[0]` and each regressor into `tilde[1..]`, in parallel over the
/// columns: the most sweeps one column needed, and whether one hit the limit.
fn demean_all(
    weights: &Weights<'_>,
    z: &[f64],
    x: &[Vec<f64>],
    alpha: &mut [Vec<Vec<f64>>],
    tilde: &mut [Vec<f64>],
    options: &PpmlOptions,
    tol: f64,
) -> (usize, bool) {
    let reports: Vec<_> = tilde
        .par_iter_mut()
        .zip(alpha.par_iter_mut())
        .enumerate()
        .map(|(j, (t, a))| {
            let v = if j == 0 { z } else { &x[j - 1] };
            weights.demean(v, a, t, tol, options.max_demean_iterations)
        })
        .collect();
    (
        reports.iter().map(|r| r.sweeps).max().unwrap_or(0),
        reports.iter().any(|r| !r.converged),
    )
}

/// A regressor whose demeaned values vanish (relative to its own size) is absorbed by the
/// fixed effects: it has no within-group variation left to estimate from.
fn check_absorbed(
    x: &[Vec<f64>],
    x_tilde: &[Vec<f64>],
    names: &[String],
) -> Result<(), EstimateError> {
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let absorbed: Vec<String> = x
        .iter()
        .zip(x_tilde)
        .zip(names)
        .filter(|((v, t), _)| norm(t) <= 1e-9 * norm(v).max(f64::MIN_POSITIVE))
        .map(|(_, name)| name.clone())
        .collect();
    if absorbed.is_empty() {
        Ok(())
    } else {
        Err(EstimateError::Absorbed(absorbed))
    }
}

/// `sum_n w_n a_n b_n'` for the columns `cols` (a `K x K` cross-product).
fn cross(cols: &[Vec<f64>], w: &[f64]) -> DMatrix<f64> {
    let k = cols.len();
    let mut m = DMatrix::zeros(k, k);
    for a in 0..k {
        for b in 0..=a {
            let s: f64 = cols[a]
                .iter()
                .zip(&cols[b])
                .zip(w)
                .map(|((p, q), w)| p * q * w)
                .sum();
            m[(a, b)] = s;
            m[(b, a)] = s;
        }
    }
    m
}

/// Weighted least squares of the demeaned regression, `b = (X~'WX~)^-1 X~'W z~`, by
/// Cholesky.
fn wls(
    x_tilde: &[Vec<f64>],
    z_tilde: &[f64],
    w: &[f64],
    names: &[String],
) -> Result<DVector<f64>, EstimateError> {
    let k = x_tilde.len();
    let xtx = cross(x_tilde, w);
    let xtz = DVector::from_iterator(
        k,
        x_tilde.iter().map(|col| {
            col.iter()
                .zip(z_tilde)
                .zip(w)
                .map(|((a, b), w)| a * b * w)
                .sum::<f64>()
        }),
    );
    if k == 0 {
        return Ok(DVector::zeros(0));
    }
    let chol = xtx
        .cholesky()
        .ok_or_else(|| EstimateError::Collinear(names.join(", ")))?;
    Ok(chol.solve(&xtz))
}

/// The covariance matrix of `(b, c)`: the sandwich of [`StdErrKind`] on the columns
/// `a_n = (x~_n + x_bar, 1)`, `x_bar` the `mu`-weighted means of the regressors (reghdfe's
/// way to give the constant a standard error; the `b` block is the sandwich on `x~` alone,
/// since `x~` is `mu`-orthogonal to the ones). With clusters, also their number.
fn sandwich(
    x_tilde: &[Vec<f64>],
    x_means: &[f64],
    y: &[f64],
    mu: &[f64],
    clusters: Option<&[u32]>,
    names: &[String],
) -> Result<(DMatrix<f64>, Option<usize>), EstimateError> {
    let k = x_tilde.len();
    let n = y.len();
    let mut cols: Vec<Vec<f64>> = x_tilde
        .iter()
        .zip(x_means)
        .map(|(col, m)| col.iter().map(|v| v + m).collect())
        .collect();
    cols.push(vec![1.0; n]);
    let bread = cross(&cols, mu)
        .try_inverse()
        .ok_or_else(|| EstimateError::Collinear(names.join(", ")))?;
    let row = |i: usize| DVector::from_iterator(k + 1, cols.iter().map(|c| c[i]));
    let mut meat = DMatrix::zeros(k + 1, k + 1);
    let mut n_clusters = None;
    match clusters {
        None => {
            for i in 0..n {
                let s = row(i) * (y[i] - mu[i]);
                meat += &s * s.transpose();
            }
        }
        Some(c) => {
            let mut index: HashMap<u32, usize> = HashMap::new();
            let mut scores: Vec<DVector<f64>> = Vec::new();
            for i in 0..n {
                let at = *index.entry(c[i]).or_insert_with(|| {
                    scores.push(DVector::zeros(k + 1));
                    scores.len() - 1
                });
                scores[at] += row(i) * (y[i] - mu[i]);
            }
            let g = scores.len() as f64;
            for s in &scores {
                meat += s * s.transpose();
            }
            if g > 1.0 {
                meat *= g / (g - 1.0);
            }
            n_clusters = Some(scores.len());
        }
    }
    Ok((&bread * meat * &bread, n_clusters))
}

/// The predicted mean of a new cell, `exp(b'x + c + sum_d alpha_d[g_d])`, given its
/// regressors (in the design's order) and its group id in each fixed-effect dimension (in
/// the design's order, ids as given in the design). `None` if the lengths do not match or a
/// group was not estimated (never seen, or all its observations dropped).
pub fn predict(fit: &PpmlFit, x_row: &[f64], fe_groups: &[u32]) -> Option<f64> {
    if x_row.len() != fit.coefficients.len() || fe_groups.len() != fit.fixed_effects.len() {
        return None;
    }
    let mut eta = fit.constant.beta;
    for (c, &x) in fit.coefficients.iter().zip(x_row) {
        eta += c.beta * x;
    }
    for (fe, &g) in fit.fixed_effects.iter().zip(fe_groups) {
        eta += fe.get(g)?;
    }
    Some(eta.exp())
}

#[cfg(test)]
mod tests;
