//! The gravity prior behind imputed cells: a PPML fit on observed foreign cells, with
//! either exporter and importer fixed effects or economy masses, optionally pooled over
//! several years with year fixed effects.
//!
//! - **fixed effects**: `X_ij = exp(b'z_ij + c + a_i + g_j)` (+ `t_year` when pooled). The
//!   structural-gravity form (Anderson and van Wincoop 2003; Head and Mayer 2014, section
//!   3.2): `a_i`, `g_j` absorb output, expenditure and the multilateral resistances. Only an
//!   economy with a kept observed cell as exporter (importer) has `a_i` (`g_j`).
//! - **masses**: `X_ij = exp(c + m_o ln Y_i + m_d ln Y_j + b'z_ij)` (+ `t_year`), `Y` the
//!   economy's figure in the domestic table (output). The "naive" gravity of Tinbergen
//!   (1962) estimated by PPML (Santos Silva and Tenreyro 2006): it needs only the economy's
//!   output, so it predicts every cell, at the price of leaving the multilateral resistances
//!   in the error term (Head and Mayer 2014 call it a biased but usable predictor).
//!
//! The standard error of a prediction is the delta method on the dummy form of the model,
//! `se(X_ij) = X_ij sqrt(d' V d)`, `V` the HC0 covariance of every parameter (coefficients,
//! constant or fixed-effect dummies) from [`super::delta_covariance`].

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};

use crate::data::geography::VARIABLES;
use crate::estimate::{self, Design, FixedEffect, PpmlFit, PpmlOptions};

/// Which effects the gravity prior has (`--effects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effects {
    /// Exporter and importer fixed effects; an economy without them cannot be imputed.
    Fixed,
    /// Economy masses (`ln Y_i`, `ln Y_j`) for every cell.
    Masses,
    /// Fixed effects when every economy with a missing cell has its effect, otherwise
    /// masses for every cell (one model for the whole prior, never a mix).
    #[default]
    Auto,
}

impl Effects {
    pub const NAMES: [&'static str; 3] = ["auto", "fixed", "masses"];

    pub fn parse(s: &str) -> Option<Effects> {
        match s {
            "auto" => Some(Effects::Auto),
            "fixed" => Some(Effects::Fixed),
            "masses" => Some(Effects::Masses),
            _ => None,
        }
    }
}

/// The model a prior was fitted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Fixed,
    Masses,
}

/// One observed foreign cell of a fit year.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Obs {
    pub year: i32,
    pub i: usize,
    pub j: usize,
    pub y: f64,
    pub z: [f64; 4],
    /// `(ln Y_i, ln Y_j)`, when both economies have an output figure in the year.
    pub ln_out: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Exporter,
    Importer,
    Year,
}

impl Dim {
    fn name(self) -> &'static str {
        match self {
            Dim::Exporter => "exporter",
            Dim::Importer => "importer",
            Dim::Year => "year",
        }
    }
    fn group(self, year: i32, i: usize, j: usize) -> u32 {
        match self {
            Dim::Exporter => i as u32,
            Dim::Importer => j as u32,
            // Years are positive in any panel tradeflow reads.
            Dim::Year => year.max(0) as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regressor {
    Geo(usize),
    LnOutputExporter,
    LnOutputImporter,
}

/// The names of the mass regressors.
pub const LN_OUTPUT_EXPORTER: &str = "ln_output_exporter";
pub const LN_OUTPUT_IMPORTER: &str = "ln_output_importer";

impl Regressor {
    fn name(self) -> &'static str {
        match self {
            Regressor::Geo(k) => VARIABLES[k],
            Regressor::LnOutputExporter => LN_OUTPUT_EXPORTER,
            Regressor::LnOutputImporter => LN_OUTPUT_IMPORTER,
        }
    }
    fn value(self, z: &[f64; 4], ln_out: Option<(f64, f64)>) -> f64 {
        match self {
            Regressor::Geo(k) => z[k],
            Regressor::LnOutputExporter => ln_out.map_or(f64::NAN, |o| o.0),
            Regressor::LnOutputImporter => ln_out.map_or(f64::NAN, |o| o.1),
        }
    }
}

/// A fitted prior.
pub(crate) struct Prior {
    pub model: Model,
    pub fit: PpmlFit,
    regressors: Vec<Regressor>,
    pub left_out: Vec<(String, String)>,
    dims: Vec<Dim>,
    /// Per dimension, the dummy parameter of each group (`None`: the reference group).
    dummy: Vec<BTreeMap<u32, Option<usize>>>,
    /// The parameter of the constant, when there is no fixed-effect dimension.
    constant: Option<usize>,
    /// The number of parameters of the dummy form.
    size: usize,
    pub cov: DMatrix<f64>,
    pub obs: Vec<Obs>,
    pub years: Vec<i32>,
}

/// Why a prediction is impossible: the dimension and the economy or year without effect.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NoEffect {
    pub dim: &'static str,
    pub group: u32,
}

impl Prior {
    /// Fits `model` on `obs` (every observation must carry `ln_out` for [`Model::Masses`]);
    /// year fixed effects when `obs` spans several years.
    pub(crate) fn fit(obs: Vec<Obs>, model: Model, ppml: &PpmlOptions) -> Result<Prior, String> {
        let mut years: Vec<i32> = obs.iter().map(|o| o.year).collect();
        years.sort_unstable();
        years.dedup();
        let mut dims = match model {
            Model::Fixed => vec![Dim::Exporter, Dim::Importer],
            Model::Masses => Vec::new(),
        };
        if years.len() > 1 {
            dims.push(Dim::Year);
        }
        let mut candidates = Vec::new();
        if model == Model::Masses {
            candidates.push(Regressor::LnOutputExporter);
            candidates.push(Regressor::LnOutputImporter);
        }
        candidates.extend((0..VARIABLES.len()).map(Regressor::Geo));
        let (regressors, left_out) = identifiable(&obs, &dims, &candidates);
        let design = Design {
            y: obs.iter().map(|o| o.y).collect(),
            x: regressors
                .iter()
                .map(|r| obs.iter().map(|o| r.value(&o.z, o.ln_out)).collect())
                .collect(),
            names: regressors.iter().map(|r| r.name().to_owned()).collect(),
            fixed_effects: dims
                .iter()
                .map(|d| FixedEffect {
                    name: d.name().into(),
                    groups: obs.iter().map(|o| d.group(o.year, o.i, o.j)).collect(),
                })
                .collect(),
            cluster: None,
        };
        let fit = estimate::ppml(&design, ppml).map_err(|e| e.to_string())?;
        if !fit.report.converged {
            return Err(format!(
                "the IRLS {} after {} iterations (relative deviance change {:e})",
                fit.report.stop, fit.report.iterations, fit.report.relative_change
            ));
        }
        let mut next = regressors.len();
        let mut dummy = Vec::new();
        for (d, values) in fit.fixed_effects.iter().enumerate() {
            let mut m = BTreeMap::new();
            for (k, &(g, _)) in values.values.iter().enumerate() {
                if d > 0 && k == 0 {
                    m.insert(g, None);
                } else {
                    m.insert(g, Some(next));
                    next += 1;
                }
            }
            dummy.push(m);
        }
        let constant = dims.is_empty().then(|| {
            next += 1;
            next - 1
        });
        let mut p = Prior {
            model,
            fit,
            regressors,
            left_out,
            dims,
            dummy,
            constant,
            size: next,
            cov: DMatrix::zeros(0, 0),
            obs,
            years,
        };
        let rows: Vec<(DVector<f64>, f64, f64)> = p
            .fit
            .kept
            .iter()
            .zip(&p.fit.fitted)
            .map(|(&k, &mu)| {
                let o = &p.obs[k];
                let d = p
                    .gradient(o.year, o.i, o.j, &o.z, o.ln_out)
                    .unwrap_or_else(|_| DVector::zeros(next));
                (d, o.y, mu)
            })
            .collect();
        p.cov = super::delta_covariance(&rows, next).ok_or_else(|| {
            "its covariance is singular (too few observed cells for the coefficients and effects, or economies linked by no chain of observed cells)".to_owned()
        })?;
        Ok(p)
    }

    /// The derivative of `eta` with respect to every parameter, or which effect is missing.
    pub(crate) fn gradient(
        &self,
        year: i32,
        i: usize,
        j: usize,
        z: &[f64; 4],
        ln_out: Option<(f64, f64)>,
    ) -> Result<DVector<f64>, NoEffect> {
        let mut d = DVector::zeros(self.size);
        for (p, r) in self.regressors.iter().enumerate() {
            d[p] = r.value(z, ln_out);
        }
        for (k, dim) in self.dims.iter().enumerate() {
            let g = dim.group(year, i, j);
            match self.dummy[k].get(&g) {
                Some(Some(p)) => d[*p] = 1.0,
                Some(None) => {}
                None => {
                    return Err(NoEffect {
                        dim: dim.name(),
                        group: g,
                    })
                }
            }
        }
        if let Some(p) = self.constant {
            d[p] = 1.0;
        }
        Ok(d)
    }

    /// `eta = b'x + c + sum of effects` of a cell, with its gradient.
    pub(crate) fn predict(
        &self,
        year: i32,
        i: usize,
        j: usize,
        z: &[f64; 4],
        ln_out: Option<(f64, f64)>,
    ) -> Result<(f64, DVector<f64>), NoEffect> {
        let d = self.gradient(year, i, j, z, ln_out)?;
        let mut eta = self.fit.constant.beta;
        for (r, c) in self.regressors.iter().zip(&self.fit.coefficients) {
            eta += c.beta * r.value(z, ln_out);
        }
        for (k, dim) in self.dims.iter().enumerate() {
            eta += self.fit.fixed_effects[k]
                .get(dim.group(year, i, j))
                .unwrap_or(0.0);
        }
        Ok((eta, d))
    }

    /// The cell's terms for its note: `beta name=value`, then the constant and effects.
    pub(crate) fn terms(
        &self,
        year: i32,
        i: usize,
        j: usize,
        z: &[f64; 4],
        ln_out: Option<(f64, f64)>,
    ) -> String {
        let mut t: Vec<String> = self
            .regressors
            .iter()
            .zip(&self.fit.coefficients)
            .map(|(r, c)| format!("{:.4} {}={:.4}", c.beta, r.name(), r.value(z, ln_out)))
            .collect();
        t.push(format!("c={:.6}", self.fit.constant.beta));
        for (k, dim) in self.dims.iter().enumerate() {
            let v = self.fit.fixed_effects[k].get(dim.group(year, i, j));
            t.push(format!(
                "fe_{}={}",
                dim.name(),
                v.map_or("none".into(), |v| format!("{v:.6}"))
            ));
        }
        t.join(", ")
    }

    /// What the model is, in words.
    pub(crate) fn effects_text(&self) -> String {
        let base = match self.model {
            Model::Fixed => "exporter and importer fixed effects".to_owned(),
            Model::Masses => {
                "economy masses (ln output of exporter and importer, from the domestic table)"
                    .to_owned()
            }
        };
        if self.years.len() > 1 {
            format!(
                "{base}, year fixed effects (pooled {})",
                self.years
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            base
        }
    }
}

/// The regressors of `candidates` that `obs` identify, in order, and those left out with
/// why: a regressor is kept if it raises the rank of the matrix of the effects' dummies (a
/// column of ones without effects) and the regressors kept before it.
fn identifiable(
    obs: &[Obs],
    dims: &[Dim],
    candidates: &[Regressor],
) -> (Vec<Regressor>, Vec<(String, String)>) {
    let m = obs.len();
    let mut base: Vec<DVector<f64>> = Vec::new();
    if dims.is_empty() {
        base.push(DVector::from_element(m, 1.0));
    }
    for (k, dim) in dims.iter().enumerate() {
        let mut groups: Vec<u32> = obs.iter().map(|o| dim.group(o.year, o.i, o.j)).collect();
        groups.sort_unstable();
        groups.dedup();
        for g in groups.iter().skip(usize::from(k > 0)) {
            base.push(DVector::from_iterator(
                m,
                obs.iter()
                    .map(|o| f64::from(u8::from(dim.group(o.year, o.i, o.j) == *g))),
            ));
        }
    }
    let rank = |cols: &[DVector<f64>]| -> usize {
        if cols.is_empty() || m == 0 {
            return 0;
        }
        DMatrix::from_columns(cols).rank(1e-9 * (m.max(1) as f64))
    };
    let mut r = rank(&base);
    let mut used = Vec::new();
    let mut left_out = Vec::new();
    for &c in candidates {
        let col = DVector::from_iterator(m, obs.iter().map(|o| c.value(&o.z, o.ln_out)));
        let first = col.get(0).copied();
        if col.iter().all(|v| Some(*v) == first) {
            left_out.push((
                c.name().to_owned(),
                format!(
                    "{} in every observed cell",
                    first.map_or("missing".into(), |v| v.to_string())
                ),
            ));
            continue;
        }
        let norm = col.norm();
        base.push(col / norm);
        let r2 = rank(&base);
        if r2 > r {
            r = r2;
            used.push(c);
        } else {
            base.pop();
            let kept: Vec<&str> = used.iter().map(|u| u.name()).collect();
            let effects = if dims.is_empty() {
                "the constant".to_owned()
            } else {
                format!(
                    "the {} effects",
                    dims.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
                )
            };
            left_out.push((
                c.name().to_owned(),
                format!(
                    "collinear over the observed cells with {effects}{}",
                    if kept.is_empty() {
                        String::new()
                    } else {
                        format!(" and {}", kept.join(", "))
                    }
                ),
            ));
        }
    }
    (used, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic world of 8 economies whose trade is exactly
    /// `exp(c + m_o ln Y_i + m_d ln Y_j + b lndist)` times a deterministic noise that
    /// averages out: the masses fit recovers the coefficients.
    fn synthetic(noise: f64, years: &[i32]) -> Vec<Obs> {
        let n = 8;
        let (c, mo, md, b) = (-3.0, 0.9, 0.7, -1.1);
        let mut obs = Vec::new();
        for &year in years {
            let shift = 0.1 * f64::from(year - years[0]);
            for i in 0..n {
                for j in 0..n {
                    if i == j {
                        continue;
                    }
                    let yi = (2.0 + i as f64 * 0.7 + shift).exp();
                    let yj = (2.0 + j as f64 * 0.5 + shift).exp();
                    let lnd = 6.0 + ((i * 5 + j * 3) % 7) as f64 * 0.4;
                    let eta = c + mo * yi.ln() + md * yj.ln() + b * lnd + 0.3 * shift;
                    let e = 1.0 + noise * if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
                    obs.push(Obs {
                        year,
                        i,
                        j,
                        y: eta.exp() * e,
                        z: [lnd, 0.0, 0.0, 0.0],
                        ln_out: Some((yi.ln(), yj.ln())),
                    });
                }
            }
        }
        obs
    }

    #[test]
    fn a_masses_fit_recovers_the_coefficients_of_a_synthetic_panel() {
        let p = Prior::fit(
            synthetic(0.0, &[2021]),
            Model::Masses,
            &PpmlOptions::default(),
        )
        .unwrap();
        let b: BTreeMap<&str, f64> = p
            .fit
            .coefficients
            .iter()
            .map(|c| (c.name.as_str(), c.beta))
            .collect();
        assert!((b[LN_OUTPUT_EXPORTER] - 0.9).abs() < 1e-8, "{b:?}");
        assert!((b[LN_OUTPUT_IMPORTER] - 0.7).abs() < 1e-8, "{b:?}");
        assert!((b["lndist"] + 1.1).abs() < 1e-8, "{b:?}");
        assert!((p.fit.constant.beta + 3.0).abs() < 1e-7);
        // The constant variables are left out and said so.
        assert!(p.left_out.iter().any(|(n, _)| n == "pta"));
        // A cell predicts its exact mean; its standard error is finite.
        let o = &p.obs[5];
        let (eta, d) = p.predict(2021, o.i, o.j, &o.z, o.ln_out).unwrap();
        assert!((eta.exp() - o.y).abs() < 1e-8 * o.y);
        let se = d.dot(&(&p.cov * &d)).sqrt();
        assert!(se.is_finite());
    }

    #[test]
    fn pooling_uses_the_other_years_with_year_effects() {
        // The base year alone with noise gives one estimate; pooled with two more years of
        // the same model (shifted by a year effect) the fit uses all three years' cells.
        let one = Prior::fit(
            synthetic(0.2, &[2021]),
            Model::Masses,
            &PpmlOptions::default(),
        )
        .unwrap();
        let pooled = Prior::fit(
            synthetic(0.2, &[2019, 2020, 2021]),
            Model::Masses,
            &PpmlOptions::default(),
        )
        .unwrap();
        assert_eq!(pooled.years, [2019, 2020, 2021]);
        assert_eq!(pooled.fit.report.kept, 3 * one.fit.report.kept);
        assert!(pooled.effects_text().contains("year fixed effects"));
        // Without noise the year effect of 2021 relative to 2019 is the model's 0.3 per
        // 0.1 of shift: 0.3 * 0.2 = 0.06 (the masses' own shift is in ln Y).
        let exact = Prior::fit(
            synthetic(0.0, &[2019, 2020, 2021]),
            Model::Masses,
            &PpmlOptions::default(),
        )
        .unwrap();
        let fe = &exact.fit.fixed_effects[0];
        let d = fe.get(2021).unwrap() - fe.get(2019).unwrap();
        assert!((d - 0.06).abs() < 1e-7, "{d}");
        // The pooled standard error of lndist is smaller: more cells.
        let se = |p: &Prior| {
            p.fit
                .coefficients
                .iter()
                .find(|c| c.name == "lndist")
                .unwrap()
                .stderr
        };
        assert!(se(&pooled) < se(&one), "{} vs {}", se(&pooled), se(&one));
        // The 2021 prediction of a pooled fit uses the 2021 year effect.
        let o = pooled.obs.iter().find(|o| o.year == 2021).unwrap();
        let (_, d) = pooled.predict(2021, o.i, o.j, &o.z, o.ln_out).unwrap();
        assert_eq!(d.len(), pooled.cov.nrows());
        assert!(pooled.predict(2024, o.i, o.j, &o.z, o.ln_out).is_err());
    }

    #[test]
    fn fixed_effects_cannot_predict_an_economy_without_cells() {
        let obs: Vec<Obs> = synthetic(0.1, &[2021])
            .into_iter()
            .filter(|o| o.i != 7)
            .collect();
        let p = Prior::fit(obs, Model::Fixed, &PpmlOptions::default()).unwrap();
        let e = p
            .predict(2021, 7, 1, &[6.0, 0.0, 0.0, 0.0], None)
            .unwrap_err();
        assert_eq!(e.dim, "exporter");
        assert_eq!(e.group, 7);
    }
}
