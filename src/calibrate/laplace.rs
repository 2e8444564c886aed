//! The Laplace approximation of the posterior at its mode: covariance `(J'J)^-1` with `J`
//! the stacked Jacobian of the weighted log residuals of the targets and the prior rows
//! (Gelman et al. 2013, *Bayesian Data Analysis*, 3rd ed., sec. 4.1: the normal
//! approximation at the mode, its precision the Hessian of minus the log posterior, here
//! the Gauss-Newton `J'J`). Per parameter: the posterior sd, the prior sd on the same scale
//! (for a lognormal prior the sd of `ln x`, set against `posterior_sd / mode`), their
//! ratio and what it says ([`super::prior::verdict`]); per pair the covariance and the
//! correlation.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::prior::{verdict, Prior};
use super::HighCorrelation;
use crate::scenario::Param;

/// A row of `posterior.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorRow {
    /// The parameter path, as in `[[calibration.free]] path`.
    pub parameter: String,
    /// `normal`, `lognormal` or `flat`.
    pub prior: String,
    /// The prior's mean (normal) or median (lognormal); empty for a flat prior.
    pub prior_location: Option<f64>,
    /// The prior's sd: of the value (normal) or of its log (lognormal); empty if flat.
    pub prior_sd: Option<f64>,
    /// The posterior mode (the fitted value).
    pub mode: f64,
    /// The Laplace posterior sd of the value; empty where `J'J` is singular.
    pub posterior_sd: Option<f64>,
    /// Posterior sd over prior sd on the prior's scale; empty for a flat prior.
    pub sd_ratio: Option<f64>,
    pub verdict: String,
    pub lower: f64,
    pub upper: f64,
}

/// A row of `posterior_covariance.csv`: one ordered pair (the diagonal included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovarianceRow {
    pub parameter_a: String,
    pub parameter_b: String,
    /// Empty where `J'J` is singular.
    pub covariance: Option<f64>,
    pub correlation: Option<f64>,
}

/// `s2 (J'J)^-1`, or `None` when `J'J` is singular or `s2` undefined.
pub(crate) fn covariance(jac: &DMatrix<f64>, s2: f64) -> Option<DMatrix<f64>> {
    if !s2.is_finite() {
        return None;
    }
    let jtj = jac.transpose() * jac;
    let inv = jtj.try_inverse()?;
    let c = inv * s2;
    // A near-singular `J'J` inverts to huge or negative diagonals: not a covariance.
    (c.iter().all(|v| v.is_finite()) && (0..c.nrows()).all(|j| c[(j, j)] >= 0.0)).then_some(c)
}

/// The posterior summary.
pub(crate) struct Posterior {
    pub(crate) rows: Vec<PosteriorRow>,
    pub(crate) covariance: Vec<CovarianceRow>,
    pub(crate) high: Vec<HighCorrelation>,
}

/// Correlations above this (in absolute value) are listed.
pub const HIGH_CORRELATION: f64 = 0.9;

pub(crate) fn summarise(
    paths: &[String],
    mode: &DVector<f64>,
    priors: &[Option<Prior>],
    free: &[(Param, f64, f64)],
    cov: Option<&DMatrix<f64>>,
) -> Posterior {
    let n = paths.len();
    let sd = |j: usize| cov.map(|c| c[(j, j)].sqrt()).filter(|v| v.is_finite());
    let rows = (0..n)
        .map(|j| {
            let posterior_sd = sd(j);
            let prior = priors[j].as_ref();
            let sd_ratio = prior
                .zip(posterior_sd)
                .map(|(p, s)| p.on_scale(s, mode[j]) / p.sd())
                .filter(|v| v.is_finite());
            let verdict = match (prior, sd_ratio) {
                (Some(_), None) => "undefined (singular)",
                (_, r) => verdict(r),
            };
            PosteriorRow {
                parameter: paths[j].clone(),
                prior: prior.map_or("flat", Prior::name).to_owned(),
                prior_location: prior.map(Prior::location),
                prior_sd: prior.map(Prior::sd),
                mode: mode[j],
                posterior_sd,
                sd_ratio,
                verdict: verdict.to_owned(),
                lower: free[j].1,
                upper: free[j].2,
            }
        })
        .collect();
    let mut covariance = Vec::with_capacity(n * n);
    let mut high = Vec::new();
    for a in 0..n {
        for b in 0..n {
            let c = cov.map(|c| c[(a, b)]).filter(|v| v.is_finite());
            let r = match (c, sd(a), sd(b)) {
                (Some(c), Some(sa), Some(sb)) if sa > 0.0 && sb > 0.0 => {
                    Some((c / (sa * sb)).clamp(-1.0, 1.0))
                }
                _ => None,
            };
            if a < b {
                if let Some(r) = r.filter(|r| r.abs() > HIGH_CORRELATION) {
                    high.push(HighCorrelation {
                        parameter_a: paths[a].clone(),
                        parameter_b: paths[b].clone(),
                        correlation: r,
                    });
                }
            }
            covariance.push(CovarianceRow {
                parameter_a: paths[a].clone(),
                parameter_b: paths[b].clone(),
                covariance: c,
                correlation: r,
            });
        }
    }
    Posterior {
        rows,
        covariance,
        high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covariance_of_a_known_jacobian() {
        // J = diag(2, 4): J'J = diag(4, 16), covariance diag(1/4, 1/16).
        let j = DMatrix::from_row_slice(2, 2, &[2.0, 0.0, 0.0, 4.0]);
        let c = covariance(&j, 1.0).unwrap();
        assert!((c[(0, 0)] - 0.25).abs() < 1e-15 && (c[(1, 1)] - 0.0625).abs() < 1e-15);
        assert!(covariance(&j, f64::NAN).is_none());
        let singular = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        assert!(covariance(&singular, 1.0).is_none());
    }
}
