//! Runs a validated scenario: baseline costs, the baseline equilibrium, the shocked costs
//! and the counterfactual, then the country and bilateral results.
//!
//! A scenario with `[years]` runs through one yearly loop (`driver.rs`), which hands each
//! sector-year to a sink: [`run_years`] keeps every result row (`years.rs`), while
//! [`key_outputs`] and [`output_values`] keep only the sums the key series need (`key.rs`),
//! for the commands that run a scenario many times. A new consumer of the yearly results
//! is a new sink, not a copy of the loop.

use thiserror::Error;

mod driver;
mod key;
mod outputs;
pub mod series;
mod years;

pub use key::{country_series, key_outputs, output_values, outputs_direct};
pub use outputs::outputs;

pub use years::{
    final_from_recorded, key_series, run_years, Code, CountryTotalRow, FinalFlowsError, FlowRow,
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
    NonFinite(NonFiniteAt),
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
    /// A shock takes the trade cost `t^(1-sigma)` of `exporter -> importer` to `value`,
    /// out of the range of `f64`.
    #[error("shock \"{label}\": {cause} makes t^(1-sigma) for {exporter}->{importer} {value}, not a finite number")]
    Shock {
        label: String,
        exporter: String,
        importer: String,
        value: f64,
        cause: Box<ShockCause>,
    },
}

/// Which row of a result holds a value that is not a finite number
/// ([`RunError::NonFinite`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonFiniteAt {
    /// A country of a single counterfactual.
    Country(String),
    /// A flow of a single counterfactual.
    Flow { exporter: String, importer: String },
    /// A yearly flow (`flows.csv`).
    YearFlow {
        exporter: String,
        importer: String,
        year: i32,
    },
    /// A yearly flow as one reporter records it (`recorded.csv`).
    Recorded {
        exporter: String,
        importer: String,
        reporter: String,
        year: i32,
    },
    /// A route into the target (`routes.csv`); `via` is an intermediary or `direct`.
    Route {
        origin: String,
        via: String,
        year: i32,
    },
    /// An origin's re-exports through an intermediary (`reexports.csv`).
    Reexports {
        origin: String,
        intermediary: String,
        year: i32,
    },
    /// A country's row of one sector in one year (`countries.csv`).
    YearCountry { country: String, year: i32 },
    /// A country's all-sector row in one year (`countries_total.csv`).
    CountryTotal { country: String, year: i32 },
}

impl std::fmt::Display for NonFiniteAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NonFiniteAt::Country(c) => write!(f, "country {c}"),
            NonFiniteAt::Flow { exporter, importer } => write!(f, "flow {exporter}->{importer}"),
            NonFiniteAt::YearFlow {
                exporter,
                importer,
                year,
            } => write!(f, "flow {exporter}->{importer} in {year}"),
            NonFiniteAt::Recorded {
                exporter,
                importer,
                reporter,
                year,
            } => write!(
                f,
                "flow {exporter}->{importer} recorded by {reporter} in {year}"
            ),
            NonFiniteAt::Route { origin, via, year } => {
                write!(f, "route {origin} via {via} in {year}")
            }
            NonFiniteAt::Reexports {
                origin,
                intermediary,
                year,
            } => write!(f, "re-exports of {origin} via {intermediary} in {year}"),
            NonFiniteAt::YearCountry { country, year } => write!(f, "country {country} in {year}"),
            NonFiniteAt::CountryTotal { country, year } => {
                write!(f, "country {country} (all sectors) in {year}")
            }
        }
    }
}

/// What a shock did to a trade cost that left the range of `f64` ([`RunError::Shock`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ShockCause {
    /// Setting cost variable `variable` from `from` to `value`, with coefficient
    /// `coefficient`.
    SetVariable {
        variable: String,
        value: f64,
        from: f64,
        coefficient: f64,
    },
    /// A cost factor on `t`, raised to `1 - sigma` (`power`: the result).
    Factor { factor: f64, sigma: f64, power: f64 },
}

impl std::fmt::Display for ShockCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShockCause::SetVariable {
                variable,
                value,
                from,
                coefficient,
            } => write!(
                f,
                "`{variable}` = {} (from {}, coefficient {})",
                number_text(*value),
                number_text(*from),
                number_text(*coefficient)
            ),
            ShockCause::Factor {
                factor,
                sigma,
                power,
            } => write!(
                f,
                "a cost factor {} with sigma = {} (factor^(1-sigma) = {power})",
                number_text(*factor),
                number_text(*sigma)
            ),
        }
    }
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
        let out_of_range = |i: usize, j: usize, value: f64, cause: ShockCause| RunError::Shock {
            label: shock.label.clone(),
            exporter: code(i).to_owned(),
            importer: code(j).to_owned(),
            value,
            cause: Box::new(cause),
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
                            ShockCause::SetVariable {
                                variable: variable.clone(),
                                value: *value,
                                from: z[(i, j)],
                                coefficient: beta,
                            },
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
                            ShockCause::Factor {
                                factor: *factor,
                                sigma: s.sigma,
                                power: m,
                            },
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
    let solved = solve_checked(s)?;
    let bilateral = bilateral_results(
        solved.model.economies(),
        &solved.baseline,
        &solved.counterfactual.experiment,
    );
    Ok(RunResults {
        baseline: solved.baseline,
        counterfactual: solved.counterfactual,
        reports: solved.reports,
        countries: solved.countries,
        bilateral,
    })
}

/// The country results of a single counterfactual, checked as [`run`] checks them, without
/// building the bilateral rows: what a Monte Carlo draw or a sweep point keeps.
pub fn run_countries(s: &Scenario) -> Result<Vec<CountryResult>, RunError> {
    Ok(solve_checked(s)?.countries)
}

/// A single counterfactual solved, its country results built and every country and
/// bilateral figure checked finite (the bilateral ones on the matrices, so that a caller
/// that keeps only the countries builds no bilateral rows).
struct Solved {
    model: GravityModel,
    baseline: Equilibrium,
    counterfactual: Counterfactual,
    reports: Vec<SolveReport>,
    countries: Vec<CountryResult>,
}

fn solve_checked(s: &Scenario) -> Result<Solved, RunError> {
    let (model, t1) = model(s)?;
    let (baseline, report) = model.baseline()?;
    let counterfactual = model.counterfactual(&baseline, &t1, s.ge_mode)?;
    let mut reports = vec![report];
    reports.extend(counterfactual.reports.iter().cloned());
    let countries = country_results(model.economies(), &baseline, &counterfactual.experiment);
    check_finite(
        model.economies(),
        &countries,
        &baseline,
        &counterfactual.experiment,
    )?;
    Ok(Solved {
        model,
        baseline,
        counterfactual,
        reports,
        countries,
    })
}

/// Every country figure, then every bilateral one (baseline trade, experiment trade and
/// their change, the columns of [`BilateralResult`]) in row order: the first that is not
/// finite is the error.
fn check_finite(
    economies: &crate::world::Economies,
    countries: &[CountryResult],
    base: &Equilibrium,
    exp: &Equilibrium,
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
            return Err(RunError::NonFinite(NonFiniteAt::Country(c.country.clone())));
        }
    }
    let n = economies.len();
    for i in 0..n {
        for j in 0..n {
            let (b, e) = (base.trade[(i, j)], exp.trade[(i, j)]);
            if ![b, e, crate::gravity::pct_change(b, e)]
                .iter()
                .all(|v| v.is_finite())
            {
                return Err(RunError::NonFinite(NonFiniteAt::Flow {
                    exporter: economies.code(i).to_owned(),
                    importer: economies.code(j).to_owned(),
                }));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ParamPath;

    /// A cost factor raised to `1 - sigma` with an extreme sigma leaves the range of `f64`:
    /// a typed error naming the shock, the pair and the factor, with the message users see.
    #[test]
    fn a_shock_out_of_range_is_a_typed_error() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/two_country_symmetric.toml");
        let s = Scenario::from_file(&path).unwrap();
        let sigma = s.param(&ParamPath::parse("sigma").unwrap()).unwrap();
        let s = s.with_params(&[(&sigma, 1e308)]).unwrap();
        let e = counterfactual_costs(&s, &baseline_costs(&s).unwrap()).unwrap_err();
        match &e {
            RunError::Shock {
                exporter,
                importer,
                cause,
                ..
            } => {
                assert_eq!((exporter.as_str(), importer.as_str()), ("ALP", "BET"));
                assert!(
                    matches!(**cause, ShockCause::Factor { factor, sigma, .. } if factor == 0.8 && sigma == 1e308),
                    "{cause:?}"
                );
            }
            other => panic!("expected a shock error, got {other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.starts_with(
                "shock \"20% cut in bilateral trade costs\": a cost factor 0.8 with sigma = 1e308"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("for ALP->BET inf, not a finite number"),
            "{text}"
        );
    }
}
