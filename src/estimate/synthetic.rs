//! A synthetic trade panel with known coefficients, for benchmarks and tests of
//! [`ppml`](super::ppml): `economies x economies` pairs (domestic pairs included) over
//! `years` years, drawn from
//!
//! ```text
//! y_ijt ~ Poisson(exp(0.4 pta_ijt - 2 ln_tariff_ijt + o_it + m_jt + p_ij))
//! ```
//!
//! with exporter-year effects `o_it`, importer-year effects `m_jt` and pair effects `p_ij`
//! (minus a log distance plus noise, domestic pairs much larger), so that it is estimated
//! with exporter-year, importer-year and pair fixed effects. `pta` switches on in a drawn
//! year for a fifth of the pairs; `ln_tariff` falls over time with noise. Small means give
//! zeros, and pairs that are zero in every year (dropped as separated) occur.
//!
//! The generator is passed its seed; the panel is the same on every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};

use super::{Design, FixedEffect};

/// The coefficients the panel is drawn with: `pta`, `ln_tariff`.
pub const TRUE_BETA: [f64; 2] = [0.4, -2.0];

/// A drawn panel, one entry per observation (exporter-major, then importer, then year).
#[derive(Debug, Clone)]
pub struct SyntheticPanel {
    pub economies: usize,
    pub years: usize,
    pub exporter: Vec<u32>,
    pub importer: Vec<u32>,
    /// Years numbered from 0.
    pub year: Vec<u32>,
    pub trade: Vec<f64>,
    pub pta: Vec<f64>,
    pub ln_tariff: Vec<f64>,
}

/// First calendar year of the panel in its CSV.
pub const FIRST_YEAR: u32 = 2000;

/// Draws the panel (see the module docs).
pub fn synthetic_panel(economies: usize, years: usize, seed: u64) -> SyntheticPanel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let unit = Normal::new(0.0, 1.0).expect("a unit normal");
    let size: Vec<f64> = (0..economies)
        .map(|_| 1.5 * unit.sample(&mut rng))
        .collect();
    let pos: Vec<(f64, f64)> = (0..economies)
        .map(|_| (rng.gen::<f64>(), rng.gen::<f64>()))
        .collect();
    let growth: Vec<f64> = (0..economies)
        .map(|_| 0.03 * unit.sample(&mut rng))
        .collect();
    let cells = economies * economies * years;
    let mut p = SyntheticPanel {
        economies,
        years,
        exporter: Vec::with_capacity(cells),
        importer: Vec::with_capacity(cells),
        year: Vec::with_capacity(cells),
        trade: Vec::with_capacity(cells),
        pta: Vec::with_capacity(cells),
        ln_tariff: Vec::with_capacity(cells),
    };
    for i in 0..economies {
        for j in 0..economies {
            let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
            let pair = if i == j {
                4.0
            } else {
                -1.2 * (0.01 + (dx * dx + dy * dy).sqrt()).ln() + 0.5 * unit.sample(&mut rng)
            };
            let pta_from = if i != j && rng.gen::<f64>() < 0.2 {
                rng.gen_range(0..years as u32 + 3)
            } else {
                u32::MAX
            };
            let tariff0 = if i == j {
                0.0
            } else {
                0.05 + 0.1 * rng.gen::<f64>()
            };
            for t in 0..years as u32 {
                let pta = f64::from(u8::from(t >= pta_from));
                let ln_tariff = if i == j {
                    0.0
                } else {
                    ((1.0 + tariff0 * (1.0 - 0.05 * f64::from(t)) * (1.0 - 0.5 * pta)).ln()
                        + 0.005 * unit.sample(&mut rng))
                    .max(0.0)
                };
                let o = size[i] + growth[i] * f64::from(t);
                let m = size[j] + growth[j] * f64::from(t);
                let eta = TRUE_BETA[0] * pta + TRUE_BETA[1] * ln_tariff + o + m + pair;
                let mean = eta.exp().min(1e12);
                let trade = if mean > 1e-9 {
                    Poisson::new(mean).map_or(0.0, |d| d.sample(&mut rng))
                } else {
                    0.0
                };
                p.exporter.push(i as u32);
                p.importer.push(j as u32);
                p.year.push(t);
                p.trade.push(trade);
                p.pta.push(pta);
                p.ln_tariff.push(ln_tariff);
            }
        }
    }
    p
}

impl SyntheticPanel {
    /// The design with exporter-year, importer-year and pair fixed effects, clustered by
    /// pair.
    pub fn design(&self) -> Design {
        let (ne, ny) = (self.economies as u32, self.years as u32);
        let exporter_year = self
            .exporter
            .iter()
            .zip(&self.year)
            .map(|(&i, &t)| i * ny + t)
            .collect();
        let importer_year = self
            .importer
            .iter()
            .zip(&self.year)
            .map(|(&j, &t)| j * ny + t)
            .collect();
        let pair: Vec<u32> = self
            .exporter
            .iter()
            .zip(&self.importer)
            .map(|(&i, &j)| i * ne + j)
            .collect();
        Design {
            y: self.trade.clone(),
            x: vec![self.pta.clone(), self.ln_tariff.clone()],
            names: vec!["pta".to_owned(), "ln_tariff".to_owned()],
            fixed_effects: vec![
                FixedEffect {
                    name: "exporter-year".to_owned(),
                    groups: exporter_year,
                },
                FixedEffect {
                    name: "importer-year".to_owned(),
                    groups: importer_year,
                },
                FixedEffect {
                    name: "pair".to_owned(),
                    groups: pair.clone(),
                },
            ],
            cluster: Some(pair),
        }
    }

    /// The panel as CSV: `exporter,importer,year,trade,pta,ln_tariff`, economies named
    /// `C000`, `C001`, ..., years from [`FIRST_YEAR`]. Values are written with Rust's
    /// shortest round-trip formatting, so a reader gets the same numbers back.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut s = String::from("exporter,importer,year,trade,pta,ln_tariff\n");
        for n in 0..self.trade.len() {
            s.push_str(&format!(
                "C{:03},C{:03},{},{},{},{}\n",
                self.exporter[n],
                self.importer[n],
                FIRST_YEAR + self.year[n],
                self.trade[n],
                self.pta[n],
                self.ln_tariff[n]
            ));
        }
        s.into_bytes()
    }
}
