//! Runs a validated scenario: baseline costs, the baseline equilibrium, the shocked costs
//! and the counterfactual, then the country and bilateral results.

use thiserror::Error;

mod key;
mod outputs;
pub mod series;
mod years;

pub use key::{key_outputs, output_values, outputs_direct};
pub use outputs::outputs;

pub use years::{
    final_from_recorded, key_series, run_years, CountryTotalRow, FinalFlowsError, FlowRow,
    FlowTotalRow, RecordedOptions, RecordedRow, RecordedTotalRow, ReexportRow, ReexportTotalRow,
    RouteRow, RouteTotalRow, SeriesPoint, YearCountryRow, YearRun, YearTotals, ALL_SECTORS, DIRECT,
};

use crate::gravity::number_text;
use crate::gravity::{
    bilateral_results, costs_from_coefficients, costs_from_flows, country_results, BilateralResult,
    CostError, Counterfactual, CountryResult, Equilibrium, GravityModel, SolveError, SolveReport,
};
use crate::routes::RouteError;
use crate::scenario::{CostChange, CostMethod, Scenario};
use crate::world::Matrix;

/// Why a run failed after the scenario was valid.
#[derive(Debug, Error)]
pub enum RunError {
    /// Not a `source`: the message already holds the cost error's, and a report that
    /// prints the chain would say it twice.
    #[error("trade costs: {0}")]
    Cost(CostError),
    #[error(transparent)]
    Solve(#[from] SolveError),
    #[error("the result holds a value that is not a finite number ({0}); nothing was written")]
    NonFinite(String),
    #[error("the scenario has no `[years]`")]
    NoYears,
    /// The routes of a sector in some year are rejected; `named` is the route error with
    /// economy codes (`network`: the network form, whose link factor scales every link).
    #[error("routes of sector `{sector}`{}: {named}", if *.network { " (network form; `routes.link_factor` scales every link)" } else { "" })]
    Routes {
        sector: String,
        network: bool,
        error: RouteError,
        named: String,
    },
    /// The base-year final flows of a sector cannot be solved from the recorded ones.
    #[error("sector `{sector}`, base year {year}: {reason}")]
    BaseYear {
        sector: String,
        year: i32,
        reason: Box<FinalFlowsError>,
    },
    /// A year's flows do not fit its routes.
    #[error("sector `{sector}`, {year}: {named}")]
    YearRoutes {
        sector: String,
        year: i32,
        error: RouteError,
        named: String,
    },
    /// A year's trade costs leave the range of `f64`.
    #[error("sector `{sector}`, {year}: the route and policy costs give t^(1-sigma) = {value} for {exporter}->{importer}, not a finite number: the route-choice elasticity theta = {} (`routes.theta`) or sigma = {} is too extreme for the cost changes", number_text(*.theta), number_text(*.sigma))]
    YearCosts {
        sector: String,
        year: i32,
        exporter: String,
        importer: String,
        value: f64,
        theta: f64,
        sigma: f64,
    },
    /// A shock takes a trade cost out of the range of `f64`.
    #[error("{0}")]
    Shock(String),
}

impl From<CostError> for RunError {
    fn from(e: CostError) -> Self {
        RunError::Cost(e)
    }
}

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct RunResults {
    pub baseline: Equilibrium,
    pub counterfactual: Counterfactual,
    /// Baseline solve first, then the counterfactual's.
    pub reports: Vec<SolveReport>,
    pub countries: Vec<CountryResult>,
    pub bilateral: Vec<BilateralResult>,
}

/// Baseline trade costs `t^(1-sigma)` of a scenario.
pub fn baseline_costs(s: &Scenario) -> Result<Matrix, CostError> {
    match s.cost_method {
        CostMethod::Coefficients => costs_from_coefficients(&s.data, &s.coefficients),
        CostMethod::Observed => costs_from_flows(&s.data),
    }
}

/// Applies the scenario's shocks, in order, to baseline costs `t^(1-sigma)`.
///
/// Setting variable `k` to `v` multiplies `t^(1-sigma)` by `exp(b_k (v - z_k))`, with `z_k`
/// the value the earlier shocks left; a factor `f` on `t` multiplies `t^(1-sigma)` by
/// `f^(1-sigma)`. A shock that takes a cost out of the range of `f64` (`0.8^(1-sigma)` with
/// `sigma = 1e308`) is an error naming the shock and the values that overflow.
pub fn counterfactual_costs(s: &Scenario, base: &Matrix) -> Result<Matrix, RunError> {
    let mut t = base.clone();
    let mut vars = s.data.variables.clone();
    for shock in &s.shocks {
        let code = |i: usize| s.data.economies.code(i);
        let out_of_range = |i: usize, j: usize, v: f64, what: String| {
            RunError::Shock(format!(
                "shock \"{}\": {what} makes t^(1-sigma) for {}->{} {v}, not a finite number",
                shock.label,
                code(i),
                code(j)
            ))
        };
        match &shock.change {
            CostChange::SetVariable { variable, value } => {
                let beta = s.coefficients[variable];
                let z = vars
                    .get_mut(variable)
                    .expect("validation checked that the variable exists");
                for &(i, j) in &shock.pairs {
                    let before = t[(i, j)];
                    t[(i, j)] *= (beta * (value - z[(i, j)])).exp();
                    if !t[(i, j)].is_finite() && before.is_finite() {
                        return Err(out_of_range(
                            i,
                            j,
                            t[(i, j)],
                            format!(
                                "`{variable}` = {} (from {}, coefficient {})",
                                number_text(*value),
                                number_text(z[(i, j)]),
                                number_text(beta)
                            ),
                        ));
                    }
                    z[(i, j)] = *value;
                }
            }
            CostChange::Factor { factor } => {
                let m = factor.powf(1.0 - s.sigma);
                for &(i, j) in &shock.pairs {
                    t[(i, j)] *= m;
                    if !t[(i, j)].is_finite() {
                        return Err(out_of_range(
                            i,
                            j,
                            t[(i, j)],
                            format!(
                                "a cost factor {} with sigma = {} (factor^(1-sigma) = {m})",
                                number_text(*factor),
                                number_text(s.sigma)
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(t)
}

/// The gravity model of a scenario's baseline, and its counterfactual costs `t^(1-sigma)`.
pub fn model(s: &Scenario) -> Result<(GravityModel, Matrix), RunError> {
    let t0 = baseline_costs(s)?;
    let t1 = counterfactual_costs(s, &t0)?;
    let model = GravityModel::new(
        s.data.economies.clone(),
        s.sigma,
        &s.reference_importer,
        t0,
        s.data.output.clone(),
        s.data.expenditure.clone(),
    )?
    .with_options(s.solver)?;
    Ok((model, t1))
}

/// Solves the baseline and the counterfactual of a scenario.
pub fn run(s: &Scenario) -> Result<RunResults, RunError> {
    let (model, t1) = model(s)?;
    let (baseline, report) = model.baseline()?;
    let counterfactual = model.counterfactual(&baseline, &t1, s.ge_mode)?;
    let mut reports = vec![report];
    reports.extend(counterfactual.reports.iter().cloned());
    let countries = country_results(model.economies(), &baseline, &counterfactual.experiment);
    let bilateral = bilateral_results(model.economies(), &baseline, &counterfactual.experiment);
    check_finite(&countries, &bilateral)?;
    Ok(RunResults {
        baseline,
        counterfactual,
        reports,
        countries,
        bilateral,
    })
}

fn check_finite(
    countries: &[CountryResult],
    bilateral: &[BilateralResult],
) -> Result<(), RunError> {
    for c in countries {
        let values = [
            c.factory_gate_price_change_pct,
            c.output_change_pct,
            c.expenditure_change_pct,
            c.imr_baseline,
            c.imr_experiment,
            c.omr_baseline,
            c.omr_experiment,
            c.real_gdp_change_pct,
            c.welfare_change_pct,
            c.terms_of_trade_change_pct,
            c.foreign_exports_change_pct,
            c.foreign_imports_change_pct,
            c.intranational_trade_change_pct,
        ];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(RunError::NonFinite(format!("country {}", c.country)));
        }
    }
    for b in bilateral {
        if ![b.baseline_trade, b.experiment_trade, b.trade_change_pct]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err(RunError::NonFinite(format!(
                "flow {}->{}",
                b.exporter, b.importer
            )));
        }
    }
    Ok(())
}
