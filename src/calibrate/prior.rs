//! Priors on free parameters: `prior = { dist = "normal", mean, sd, reason }` or
//! `{ dist = "lognormal", median, sd, reason }` (`sd` of the natural log) on a
//! `[[calibration.free]]` entry, checked once into a [`Prior`].
//!
//! A prior adds one row to the residual vector the fit minimises: `(x - mean) / sd` for a
//! normal prior, `(ln x - ln median) / sd` for a lognormal one, so that the objective is
//! minus twice the log posterior up to a constant and its minimum the posterior mode. The
//! rows' derivatives are exact ([`Prior::derivative`]).

use serde::{Deserialize, Serialize};

/// `prior = { ... }` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrior {
    /// `normal` or `lognormal`.
    pub dist: String,
    #[serde(default)]
    pub mean: Option<f64>,
    #[serde(default)]
    pub median: Option<f64>,
    pub sd: f64,
    /// Why this prior: a source, a range in the literature, an argument.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A checked prior.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Prior {
    /// `x ~ N(mean, sd^2)`.
    Normal { mean: f64, sd: f64, reason: String },
    /// `ln x ~ N(ln median, sd^2)`.
    Lognormal {
        median: f64,
        sd: f64,
        reason: String,
    },
}

impl Prior {
    /// Checks `raw` for the free parameter at `field` (`calibration.free[2]`) with bounds
    /// `[lower, upper]`; `Err` is (the field, the message).
    pub fn check(raw: &RawPrior, field: &str, lower: f64) -> Result<Prior, (String, String)> {
        let at = |k: &str| format!("{field}.prior.{k}");
        let reason = match raw.reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => r.to_owned(),
            _ => {
                return Err((
                    at("reason"),
                    "a prior needs its `reason` (a source or an argument for it)".into(),
                ))
            }
        };
        if !(raw.sd.is_finite() && raw.sd > 0.0) {
            return Err((at("sd"), format!("must be positive, got {}", raw.sd)));
        }
        match raw.dist.as_str() {
            "normal" => {
                if raw.median.is_some() {
                    return Err((
                        at("median"),
                        "a normal prior takes `mean`, not `median`".into(),
                    ));
                }
                let mean = raw
                    .mean
                    .ok_or_else(|| (at("mean"), "a normal prior needs its `mean`".to_owned()))?;
                if !mean.is_finite() {
                    return Err((at("mean"), format!("must be finite, got {mean}")));
                }
                Ok(Prior::Normal {
                    mean,
                    sd: raw.sd,
                    reason,
                })
            }
            "lognormal" => {
                if raw.mean.is_some() {
                    return Err((
                        at("mean"),
                        "a lognormal prior takes `median` (and `sd` of the log), not `mean`".into(),
                    ));
                }
                let median = raw.median.ok_or_else(|| {
                    (
                        at("median"),
                        "a lognormal prior needs its `median`".to_owned(),
                    )
                })?;
                if !(median.is_finite() && median > 0.0) {
                    return Err((at("median"), format!("must be positive, got {median}")));
                }
                if lower <= 0.0 || lower.is_nan() {
                    return Err((
                        format!("{field}.lower"),
                        format!("a lognormal prior needs a positive lower bound, got {lower}"),
                    ));
                }
                Ok(Prior::Lognormal {
                    median,
                    sd: raw.sd,
                    reason,
                })
            }
            other => Err((
                at("dist"),
                format!("`{other}` is not one of normal, lognormal"),
            )),
        }
    }

    /// The residual row of the prior at `x`: `(x - mean) / sd` or `(ln x - ln median) / sd`.
    pub fn residual(&self, x: f64) -> f64 {
        match self {
            Prior::Normal { mean, sd, .. } => (x - mean) / sd,
            Prior::Lognormal { median, sd, .. } => {
                (x.max(f64::MIN_POSITIVE).ln() - median.ln()) / sd
            }
        }
    }

    /// The derivative of [`Prior::residual`] at `x`: `1 / sd` or `1 / (sd x)`.
    pub fn derivative(&self, x: f64) -> f64 {
        match self {
            Prior::Normal { sd, .. } => 1.0 / sd,
            Prior::Lognormal { sd, .. } => 1.0 / (sd * x.max(f64::MIN_POSITIVE)),
        }
    }

    /// `normal` or `lognormal`.
    pub fn name(&self) -> &'static str {
        match self {
            Prior::Normal { .. } => "normal",
            Prior::Lognormal { .. } => "lognormal",
        }
    }

    /// The mean or the median.
    pub fn location(&self) -> f64 {
        match self {
            Prior::Normal { mean, .. } => *mean,
            Prior::Lognormal { median, .. } => *median,
        }
    }

    /// The prior sd: of `x` (normal) or of `ln x` (lognormal).
    pub fn sd(&self) -> f64 {
        match self {
            Prior::Normal { sd, .. } | Prior::Lognormal { sd, .. } => *sd,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Prior::Normal { reason, .. } | Prior::Lognormal { reason, .. } => reason,
        }
    }

    /// The posterior sd on the prior's scale: `posterior_sd` itself (normal), or the sd of
    /// `ln x`, `posterior_sd / mode` (lognormal: the delta method).
    pub fn on_scale(&self, posterior_sd: f64, mode: f64) -> f64 {
        match self {
            Prior::Normal { .. } => posterior_sd,
            Prior::Lognormal { .. } => posterior_sd / mode.abs().max(f64::MIN_POSITIVE),
        }
    }
}

/// The verdict on a ratio of posterior to prior sd: below 0.5 the data pinned the
/// parameter down, above 0.9 the prior did, both between; `None` (a flat prior): the data
/// only.
pub fn verdict(ratio: Option<f64>) -> &'static str {
    match ratio {
        None => "data only",
        Some(r) if r < 0.5 => "the data pinned this down",
        Some(r) if r > 0.9 => "the prior did",
        Some(_) => "both",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(dist: &str, mean: Option<f64>, median: Option<f64>, reason: Option<&str>) -> RawPrior {
        RawPrior {
            dist: dist.into(),
            mean,
            median,
            sd: 0.5,
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn priors_are_checked_with_the_field_named() {
        let f = "calibration.free[1]";
        let e = Prior::check(&raw("normal", Some(1.0), None, None), f, 0.0).unwrap_err();
        assert_eq!(e.0, "calibration.free[1].prior.reason");
        let e = Prior::check(&raw("normal", None, Some(1.0), Some("r")), f, 0.0).unwrap_err();
        assert_eq!(e.0, "calibration.free[1].prior.median");
        let e = Prior::check(&raw("lognormal", None, Some(2.0), Some("r")), f, 0.0).unwrap_err();
        assert_eq!(e.0, "calibration.free[1].lower");
        let e = Prior::check(&raw("beta", None, None, Some("r")), f, 0.0).unwrap_err();
        assert_eq!(e.0, "calibration.free[1].prior.dist");
        let p = Prior::check(&raw("lognormal", None, Some(2.0), Some("r")), f, 1.0).unwrap();
        assert_eq!(p.location(), 2.0);
    }

    #[test]
    fn residual_rows_and_their_derivatives() {
        let n = Prior::Normal {
            mean: 1.0,
            sd: 0.5,
            reason: String::new(),
        };
        assert_eq!(n.residual(2.0), 2.0);
        assert_eq!(n.derivative(7.0), 2.0);
        let l = Prior::Lognormal {
            median: 2.0,
            sd: 0.5,
            reason: String::new(),
        };
        assert!((l.residual(2.0 * 1f64.exp()) - 2.0).abs() < 1e-12);
        let h = 1e-6;
        let fd = (l.residual(3.0 + h) - l.residual(3.0 - h)) / (2.0 * h);
        assert!((fd - l.derivative(3.0)).abs() < 1e-6);
        assert!((l.on_scale(0.3, 3.0) - 0.1).abs() < 1e-15);
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(None), "data only");
        assert_eq!(verdict(Some(0.2)), "the data pinned this down");
        assert_eq!(verdict(Some(0.7)), "both");
        assert_eq!(verdict(Some(0.95)), "the prior did");
    }
}
