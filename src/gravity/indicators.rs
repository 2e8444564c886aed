//! Country and bilateral results of a counterfactual, defined as in Yotov et al. (2016)
//! and gegravity 0.3 so that users moving from gegravity find the same numbers.
//!
//! Every change is `100 (new - old) / old`. Welfare is `W_i = E_i / P_i`; gegravity reports
//! the statistic `W / W'` (below 1 is a gain), tradeflow reports
//! `welfare_change_pct = 100 (W' / W - 1)` (positive is a gain), so
//! `welfare_change_pct = 100 (1 / statistic - 1)`.

use serde::Serialize;

use super::Equilibrium;
use crate::world::Economies;

/// One row of `countries.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryResult {
    pub country: String,
    pub factory_gate_price_change_pct: f64,
    pub output_change_pct: f64,
    pub expenditure_change_pct: f64,
    pub imr_baseline: f64,
    pub imr_experiment: f64,
    pub omr_baseline: f64,
    pub omr_experiment: f64,
    /// Real GDP `Y_i / P_i`.
    pub real_gdp_change_pct: f64,
    /// Welfare `E_i / P_i`; positive is a gain.
    pub welfare_change_pct: f64,
    /// Terms of trade `p_i / P_i`.
    pub terms_of_trade_change_pct: f64,
    /// Modeled exports to other economies, `sum_{j != i} X_ij`.
    pub foreign_exports_change_pct: f64,
    /// Modeled imports from other economies, `sum_{i != j} X_ij`.
    pub foreign_imports_change_pct: f64,
    /// Modeled domestic sales `X_ii`.
    pub intranational_trade_change_pct: f64,
}

/// One row of `bilateral.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BilateralResult {
    pub exporter: String,
    pub importer: String,
    pub baseline_trade: f64,
    pub experiment_trade: f64,
    pub trade_change_pct: f64,
}

/// `100 (new - old) / old`; a quantity that is zero in both states has changed by 0 (a
/// zero flow, i.e. a prohibitive cost, stays zero in every counterfactual).
pub fn pct_change(old: f64, new: f64) -> f64 {
    if old == 0.0 && new == 0.0 {
        0.0
    } else {
        100.0 * (new - old) / old
    }
}

/// Country results of moving from `base` to `exp`.
pub fn country_results(
    economies: &Economies,
    base: &Equilibrium,
    exp: &Equilibrium,
) -> Vec<CountryResult> {
    let n = economies.len();
    let foreign_exports = |eq: &Equilibrium, i: usize| eq.trade.row(i).sum() - eq.trade[(i, i)];
    let foreign_imports = |eq: &Equilibrium, j: usize| eq.trade.column(j).sum() - eq.trade[(j, j)];
    (0..n)
        .map(|i| CountryResult {
            country: economies.code(i).to_owned(),
            factory_gate_price_change_pct: pct_change(
                base.factory_gate_price[i],
                exp.factory_gate_price[i],
            ),
            output_change_pct: pct_change(base.output[i], exp.output[i]),
            expenditure_change_pct: pct_change(base.expenditure[i], exp.expenditure[i]),
            imr_baseline: base.imr[i],
            imr_experiment: exp.imr[i],
            omr_baseline: base.omr[i],
            omr_experiment: exp.omr[i],
            real_gdp_change_pct: pct_change(
                base.output[i] / base.imr[i],
                exp.output[i] / exp.imr[i],
            ),
            welfare_change_pct: pct_change(
                base.expenditure[i] / base.imr[i],
                exp.expenditure[i] / exp.imr[i],
            ),
            terms_of_trade_change_pct: pct_change(
                base.factory_gate_price[i] / base.imr[i],
                exp.factory_gate_price[i] / exp.imr[i],
            ),
            foreign_exports_change_pct: pct_change(
                foreign_exports(base, i),
                foreign_exports(exp, i),
            ),
            foreign_imports_change_pct: pct_change(
                foreign_imports(base, i),
                foreign_imports(exp, i),
            ),
            intranational_trade_change_pct: pct_change(base.trade[(i, i)], exp.trade[(i, i)]),
        })
        .collect()
}

/// Bilateral results, exporters in the outer loop.
pub fn bilateral_results(
    economies: &Economies,
    base: &Equilibrium,
    exp: &Equilibrium,
) -> Vec<BilateralResult> {
    let n = economies.len();
    let mut out = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let (b, e) = (base.trade[(i, j)], exp.trade[(i, j)]);
            out.push(BilateralResult {
                exporter: economies.code(i).to_owned(),
                importer: economies.code(j).to_owned(),
                baseline_trade: b,
                experiment_trade: e,
                trade_change_pct: pct_change(b, e),
            });
        }
    }
    out
}
