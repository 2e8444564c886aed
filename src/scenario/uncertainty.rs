//! `[uncertainty]`, checked against the validated scenario: each uncertain parameter a
//! resolved [`Param`] with a distribution whose parameters are valid, and the cost
//! coefficients' covariance factored. `montecarlo` draws from it. `posterior` names a
//! calibration folder; its files are read and checked by `montecarlo::posterior` when a
//! Monte Carlo runs, not when the scenario is read (a plain run does not need them).

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Beta, Distribution as _, LogNormal, Normal, Triangular, Uniform};

use super::params::{Param, ParamPath};
use super::raw::{RawDistribution, RawUncertainty};
use super::resolve::Problems;
use super::Scenario;

/// A checked distribution of one parameter.
#[derive(Debug, Clone)]
pub enum Distribution {
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    Uniform(Uniform<f64>),
    Triangular(Triangular<f64>),
    /// A beta distribution stretched onto `[low, high]`.
    Beta {
        dist: Beta<f64>,
        low: f64,
        high: f64,
    },
}

impl Distribution {
    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Distribution::Normal(x) => x.sample(rng),
            Distribution::LogNormal(x) => x.sample(rng),
            Distribution::Uniform(x) => x.sample(rng),
            Distribution::Triangular(x) => x.sample(rng),
            Distribution::Beta { dist, low, high } => low + (high - low) * dist.sample(rng),
        }
    }
}

/// Cost coefficients drawn jointly from a multivariate normal around their values.
#[derive(Debug, Clone)]
pub struct CoefficientDraws {
    /// The coefficients, in the order of the covariance matrix.
    pub params: Vec<Param>,
    /// Their values in the scenario.
    pub mean: DVector<f64>,
    /// The lower Cholesky factor of the covariance.
    pub cholesky: DMatrix<f64>,
}

/// The checked `[uncertainty]` of a scenario.
#[derive(Debug, Clone)]
pub struct Uncertainty {
    /// Each uncertain parameter with its distribution, in the file's order.
    pub parameters: Vec<(Param, Distribution)>,
    pub coefficients: Option<CoefficientDraws>,
    /// `posterior`: a calibration folder whose posterior is drawn from too, as written
    /// (relative to the scenario file's folder); read by `montecarlo`, which resolves its
    /// parameters.
    pub posterior: Option<String>,
}

/// Checks `[uncertainty]` against `s`, recording every problem.
pub(crate) fn validate(
    raw: &RawUncertainty,
    s: &Scenario,
    p: &mut Problems,
) -> Option<Uncertainty> {
    let before = p.0.len();
    let resolve = |text: &str| ParamPath::parse(text).and_then(|path| s.param(&path));
    let mut parameters = Vec::new();
    for (k, d) in raw.parameters.iter().enumerate() {
        let field = format!("uncertainty.parameters[{k}]");
        let param = match resolve(&d.path) {
            Ok(param) => param,
            Err(m) => {
                p.add(format!("{field}.path"), m.to_string());
                continue;
            }
        };
        match distribution(d, s.value(&param)) {
            Ok(dist) => parameters.push((param, dist)),
            Err(m) => p.add(field, m),
        }
    }
    let coefficients = raw.coefficients.as_ref().and_then(|c| {
        let field = "uncertainty.coefficients";
        let n = c.names.len();
        if c.covariance.len() != n || c.covariance.iter().any(|r| r.len() != n) {
            p.add(
                format!("{field}.covariance"),
                format!("must be {n} x {n}, one row and column per name"),
            );
            return None;
        }
        let cov = DMatrix::from_fn(n, n, |i, j| c.covariance[i][j]);
        if (0..n).any(|i| {
            (0..n).any(|j| (cov[(i, j)] - cov[(j, i)]).abs() > 1e-12 * cov[(i, i)].abs().max(1.0))
        }) {
            p.add(format!("{field}.covariance"), "must be symmetric");
            return None;
        }
        let Some(chol) = cov.cholesky() else {
            p.add(format!("{field}.covariance"), "is not positive definite");
            return None;
        };
        let mut params = Vec::new();
        let mut mean = DVector::zeros(n);
        for (i, name) in c.names.iter().enumerate() {
            match resolve(&format!("costs.coefficients.{name}")) {
                Ok(param) => {
                    mean[i] = s.value(&param);
                    params.push(param);
                }
                Err(m) => p.add(format!("{field}.names[{i}]"), m.to_string()),
            }
        }
        (params.len() == n).then(|| CoefficientDraws {
            params,
            mean,
            cholesky: chol.l(),
        })
    });
    if let Some(folder) = &raw.posterior {
        if folder.trim().is_empty() {
            p.add(
                "uncertainty.posterior",
                "is empty: name the calibration folder whose posterior is drawn from",
            );
        }
    }
    if raw.parameters.is_empty() && raw.coefficients.is_none() && raw.posterior.is_none() {
        p.add("uncertainty", "names no parameter");
    }
    (p.0.len() == before).then_some(Uncertainty {
        parameters,
        coefficients,
        posterior: raw.posterior.clone(),
    })
}

/// The distribution of `d`; `current` is the parameter's value (the default mean or
/// median).
fn distribution(d: &RawDistribution, current: f64) -> Result<Distribution, String> {
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
            Distribution::Normal(
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
            Distribution::LogNormal(
                LogNormal::new(median.ln(), sd).map_err(|_| bad("sd must be >= 0 and finite"))?,
            )
        }
        "uniform" => {
            let (lo, hi) = (need(d.low, "low")?, need(d.high, "high")?);
            if !(lo < hi && lo.is_finite() && hi.is_finite()) {
                return Err(bad("low must be below high"));
            }
            Distribution::Uniform(Uniform::new(lo, hi))
        }
        "triangular" => {
            let (lo, hi) = (need(d.low, "low")?, need(d.high, "high")?);
            let mode = need(d.mode, "mode")?;
            Distribution::Triangular(
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
            Distribution::Beta {
                dist: Beta::new(a, b).map_err(|_| bad("alpha and beta must be positive"))?,
                low: lo,
                high: hi,
            }
        }
    })
}
