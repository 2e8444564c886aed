//! The yearly loop (DESIGN layer 5): for each sector and year, apply the instruments,
//! recompute routes, solve the gravity GE against the base year, adjust flows partially
//! toward it, and record what each customs authority would see.
//!
//! Base year: the data are *recorded* flows, each with its reporter. Given the base-year
//! route shares, [`final_from_recorded`] solves the origin-to-final-buyer flows whose
//! recorded views equal the data; trade costs are backed out of those final flows, so the
//! base year reproduces the data exactly. Later years change costs relative to the base:
//!
//! ```text
//! t_ij^(1-sigma)(y) = t_ij^(1-sigma)(base) * [g_ij(y) c_ij(y) / g_ij(base)]^(1-sigma) * d_ij(y) / d_ij(base)
//! ```
//!
//! with `g` the routing factor (`tau / t`, from wedges and route multipliers), `c` the
//! investment factor on bilateral costs and `d` the demand shifter.
//!
//! Recording conventions (customs statistics):
//! - the origin records everything it ships to a hub, transit included, as exports to it;
//! - a hub records only the share `rho_k` of transit, both as imports from the origin and
//!   as exports to the final buyer;
//! - the final buyer records imports from the hub: the hub's re-exports in full, unless
//!   the two share a customs union (no customs post), where only `rho_k` is seen.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::RunError;
use crate::gravity::{costs_from_flows, country_results, Equilibrium, GeMode, GravityModel};
use crate::policy::PolicyState;
use crate::routes::{detour, network, route_flows, RouteError, RouteFlows, Routing, Via};
use crate::scenario::RouteForm;
use crate::scenario::{Dynamics, Reporter, Scenario};
use crate::solver::{check_cap, check_tolerance, InvalidOption, SolveReport, StopReason};
use crate::world::{Economies, GravityData, Matrix, Vector};

/// One row of `flows.csv`: a link in one sector and year, as goods move (one row per
/// link; what each customs authority records is in `recorded.csv`, joined on
/// `year, sector, exporter, importer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRow {
    pub year: i32,
    pub sector: String,
    pub exporter: String,
    pub importer: String,
    /// Goods physically shipped on the link (direct sales plus transit legs), data unit.
    pub shipped: f64,
    /// Goods from the exporter bought by final buyers in the importer, by any route.
    pub final_destination: f64,
}

/// One row of `recorded.csv`: a link as one reporter records it (two rows per link: the
/// exporter's and the importer's statistics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRow {
    pub year: i32,
    pub sector: String,
    pub exporter: String,
    pub importer: String,
    /// Whose statistics: the exporter's or the importer's code.
    pub reporter: String,
    /// What that reporter records, data unit.
    pub recorded: f64,
}

/// One row of `routes.csv`: an origin's final-destination flow into the route target by
/// one route, in one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteRow {
    pub year: i32,
    pub sector: String,
    pub origin: String,
    /// `direct` or the intermediary's code.
    pub via: String,
    pub destination: String,
    /// Data unit.
    pub value: f64,
    /// `value` over the origin's whole flow into the destination (all routes).
    pub pair_fraction: f64,
    /// `value` over the destination's imports from every origin by every route.
    pub target_imports_fraction: f64,
}

/// One row of `reexports.csv`: what one origin ships into one intermediary, and how much of
/// it goes on to the route target, in one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReexportRow {
    pub year: i32,
    pub sector: String,
    pub intermediary: String,
    pub origin: String,
    /// Goods shipped from the origin into the intermediary (its own purchases and transit).
    pub imports_from_origin: f64,
    /// Of which re-exported to the route target.
    pub reexports_to_target: f64,
    /// `reexports_to_target / imports_from_origin` (0 where there are no imports).
    pub reexport_fraction: f64,
}

/// One row of the yearly `countries.csv`: the year's equilibrium of one sector against the
/// base year's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearCountryRow {
    pub year: i32,
    pub sector: String,
    pub country: String,
    pub welfare_change_pct: f64,
    pub real_gdp_change_pct: f64,
    pub factory_gate_price_change_pct: f64,
    pub output_change_pct: f64,
    pub foreign_exports_change_pct: f64,
    pub foreign_imports_change_pct: f64,
}

/// One row of `flows_total.csv`: [`FlowRow`] summed over sectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTotalRow {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub shipped: f64,
    pub final_destination: f64,
}

/// One row of `recorded_total.csv`: [`RecordedRow`] summed over sectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedTotalRow {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub reporter: String,
    pub recorded: f64,
}

/// One row of `routes_total.csv`: [`RouteRow`] summed over sectors, fractions of the sums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTotalRow {
    pub year: i32,
    pub origin: String,
    pub via: String,
    pub destination: String,
    pub value: f64,
    pub pair_fraction: f64,
    pub target_imports_fraction: f64,
}

/// One row of `reexports_total.csv`: [`ReexportRow`] summed over sectors and origins, per
/// intermediary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReexportTotalRow {
    pub year: i32,
    pub intermediary: String,
    pub imports_from_origins: f64,
    pub reexports_to_target: f64,
    pub reexport_fraction: f64,
}

/// One row of `countries_total.csv`: a country's changes over all sectors against the base
/// year. Output, foreign exports and imports are sums, `100 (sum_s new / sum_s old - 1)`.
/// Welfare and real GDP deflate the sums of expenditure and output by one price index, the
/// Cobb-Douglas aggregate of the sectors' `P_s` in base-year expenditure shares
/// (`P'/P = exp(sum_s (E_s / sum E) ln(P'_s / P_s))`): `100 ((sum E' / sum E) / (P'/P) - 1)`
/// and the same with `Y`. They differ where the sectors' `E / Y` differ. The factory-gate
/// price is the geometric mean of the sectors' in base-year output shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryTotalRow {
    pub year: i32,
    pub country: String,
    pub welfare_change_pct: f64,
    pub real_gdp_change_pct: f64,
    pub factory_gate_price_change_pct: f64,
    pub output_change_pct: f64,
    pub foreign_exports_change_pct: f64,
    pub foreign_imports_change_pct: f64,
}

/// The totals of a yearly run, each in a file of its own (`*_total.csv`), so that the
/// detail files hold only leaf rows (one sector, one origin) and sum to these.
#[derive(Debug, Clone, Default)]
pub struct YearTotals {
    pub flows: Vec<FlowTotalRow>,
    pub recorded: Vec<RecordedTotalRow>,
    pub routes: Vec<RouteTotalRow>,
    pub reexports: Vec<ReexportTotalRow>,
    pub countries: Vec<CountryTotalRow>,
}

/// Everything a yearly run produces.
#[derive(Debug, Clone)]
pub struct YearRun {
    pub years: Vec<i32>,
    pub flows: Vec<FlowRow>,
    pub recorded: Vec<RecordedRow>,
    pub routes: Vec<RouteRow>,
    pub reexports: Vec<ReexportRow>,
    pub countries: Vec<YearCountryRow>,
    /// Over all sectors (and, for re-exports, all origins).
    pub totals: YearTotals,
    /// Every gravity solve, labelled with sector and year (`run.json`'s `solver_reports`).
    pub reports: Vec<SolveReport>,
    /// The recorded-to-final fixed point of each sector's base year, labelled likewise
    /// (not written to `run.json`, whose reports are the gravity solves').
    pub base_year_reports: Vec<SolveReport>,
}

/// The name of the one sector of a yearly scenario without `[[sectors]]`.
pub const ALL_SECTORS: &str = "all";

/// Runs a scenario with `[years]`.
pub fn run_years(s: &Scenario) -> Result<YearRun, RunError> {
    let d = s.dynamics.as_ref().ok_or(RunError::NoYears)?;
    let eco = &s.data.economies;
    let n = eco.len();
    let years: Vec<i32> = (d.base_year..=d.horizon).collect();
    let layout = d.routes.as_ref().map(|r| &r.layout);
    let mut out = YearRun {
        years: years.clone(),
        flows: Vec::new(),
        recorded: Vec::new(),
        routes: Vec::new(),
        reexports: Vec::new(),
        countries: Vec::new(),
        totals: YearTotals::default(),
        reports: Vec::new(),
        base_year_reports: Vec::new(),
    };
    // Per year and country, the sector levels the all-sector country rows are made of.
    let mut country_sums: Vec<Vec<CountrySums>> =
        vec![vec![CountrySums::default(); n]; years.len()];
    let rho = recorded_shares(d, n);
    for (si, sector) in d.sectors.iter().enumerate() {
        let theta = d
            .routes
            .as_ref()
            .map_or(sector.sigma - 1.0, |r| r.theta_for(sector.sigma));
        let state =
            |year: i32| PolicyState::at(&d.instruments, n, layout, d.base_year, year, si, theta);
        // Base-year recorded flows of this sector, then final flows, then costs. For the
        // network form the link costs come from the base-year costs of the detour-free
        // world, so the network is built after the first inversion (see `network_links`).
        let recorded = Matrix::from_fn(n, n, |i, j| s.data.trade[(i, j)] * sector.share[i]);
        let links = match d.routes.as_ref().map(|r| r.form) {
            Some(RouteForm::Network) => Some(network_links(&recorded, sector.sigma, eco)?),
            _ => None,
        };
        let routing_of = |st: &PolicyState| -> Result<Routing, RunError> {
            let context = |network: bool| {
                move |error: RouteError| RunError::Routes {
                    sector: sector.name.clone(),
                    network,
                    named: error.named(eco),
                    error,
                }
            };
            if let (Some(kappa), Some(r)) = (&links, &d.routes) {
                return network_routing(kappa, r, st, theta).map_err(context(true));
            }
            let vias: Vec<Via> = layout
                .map(|l| {
                    l.hubs
                        .iter()
                        .zip(&st.via)
                        .map(|(&k, m)| Via::new(k, m.clone()))
                        .collect()
                })
                .unwrap_or_default();
            detour(&Matrix::from_element(n, n, 1.0), &st.wedge, &vias, theta)
                .map_err(context(false))
        };
        let st0 = state(d.base_year);
        let routing0 = routing_of(&st0)?;
        let (final0, final_report) = final_from_recorded(
            &recorded,
            &d.reporters,
            &routing0,
            &rho,
            &st0.union,
            eco,
            &RecordedOptions::default(),
        )
        .map_err(|reason| RunError::BaseYear {
            sector: sector.name.clone(),
            year: d.base_year,
            reason: Box::new(reason),
        })?;
        out.base_year_reports
            .push(labelled(final_report, &sector.name, d.base_year));
        let data = GravityData::from_flows(eco.clone(), final0.clone());
        let t0 = costs_from_flows(&data)?;
        let model = GravityModel::new(
            eco.clone(),
            sector.sigma,
            &s.reference_importer,
            t0.clone(),
            data.output.clone(),
            data.expenditure.clone(),
        )?
        .with_options(s.solver)?;
        let (base_eq, rep) = model.baseline()?;
        out.reports.push(labelled(rep, &sector.name, d.base_year));
        let mut rf_prev: Option<RouteFlows> = None;
        for (yi, &year) in years.iter().enumerate() {
            let st = state(year);
            let routing = routing_of(&st)?;
            let eq = if year == d.base_year {
                base_eq.clone()
            } else {
                let t = costs_in_year(&t0, &routing, &routing0, &st, &st0, sector.sigma);
                check_year_costs(&t, eco, &sector.name, sector.sigma, theta, year)?;
                let growth = st.growth.component_div(&st0.growth);
                let cf =
                    model.counterfactual_with_growth(&base_eq, &t, &growth, GeMode::Complete)?;
                for r in cf.reports.iter().cloned() {
                    out.reports.push(labelled(r, &sector.name, year));
                }
                cf.experiment
            };
            let target = if year == d.base_year {
                &final0
            } else {
                &eq.trade
            };
            let rf_star = route_flows(target, &routing).map_err(|error| RunError::YearRoutes {
                sector: sector.name.clone(),
                year,
                named: error.named(eco),
                error,
            })?;
            // Each route's flow closes `adjustment` of its gap to the year's equilibrium:
            // existing contracts wind down on a closed route while new channels build up.
            let rf = match &rf_prev {
                None => rf_star,
                Some(prev) => adjust(prev, &rf_star, d.adjustment),
            };
            let x = rf.final_flows();
            let views = Views::new(&rf, &rho, &st.union);
            push_rows(&mut out, year, &sector.name, eco, &x, &rf, &views, d);
            push_countries(
                &mut out,
                &mut country_sums[yi],
                year,
                &sector.name,
                eco,
                &base_eq,
                &eq,
            );
            rf_prev = Some(rf);
        }
    }
    out.totals = totals_of(&out, &years, &country_sums, eco);
    check_rows_finite(&out)?;
    Ok(out)
}

/// Link costs of the network form: `kappa_kl = (T_kl / T_kk)^(1/(1-sigma))`, with
/// `T = t^(1-sigma)` backed out of the base-year recorded flows: the cost of selling from
/// `k` to `l` relative to selling at home (`+inf` where nothing is sold). The scenario's
/// `link_factor` scales them.
pub(super) fn network_links(
    recorded: &Matrix,
    sigma: f64,
    eco: &Economies,
) -> Result<Matrix, RunError> {
    let n = recorded.nrows();
    let t = costs_from_flows(&GravityData::from_flows(eco.clone(), recorded.clone()))?;
    Ok(Matrix::from_fn(n, n, |k, l| {
        if k == l || t[(k, l)] == 0.0 {
            f64::INFINITY
        } else {
            (t[(k, l)] / t[(k, k)]).powf(1.0 / (1.0 - sigma))
        }
    }))
}

/// The network form in a given year: links cost `link_factor * kappa * w` (the direct-link
/// wedge), and the link from each hub into the target also carries the route instruments'
/// change (the geometric mean over origins of the route multiplier against the base
/// premium: a link cannot tell origins apart). Route shares are attributed by the last
/// stop before the destination: `share_k,ij = B_ik A_kj / B_ij` for the listed
/// intermediaries `k`; every other last stop counts as direct.
pub(super) fn network_routing(
    kappa: &Matrix,
    r: &crate::scenario::Routes,
    st: &PolicyState,
    theta: f64,
) -> Result<Routing, crate::routes::RouteError> {
    let n = kappa.nrows();
    let layout = &r.layout;
    let mut k = kappa.component_mul(&st.wedge) * r.link_factor;
    for (h, &hub) in layout.hubs.iter().enumerate() {
        let logs: Vec<f64> = layout
            .origins
            .iter()
            .map(|&i| st.via[h][(i, layout.target)])
            .filter(|m| m.is_finite())
            .map(|m| (m / layout.premium).ln())
            .collect();
        k[(hub, layout.target)] *= if logs.is_empty() {
            // Every route through the hub is closed (full compliance): so is its link.
            f64::INFINITY
        } else {
            (logs.iter().sum::<f64>() / logs.len() as f64).exp()
        };
    }
    let net = network(&k, theta)?;
    let mut via_share = vec![Matrix::zeros(n, n); layout.hubs.len()];
    let mut direct_share = Matrix::from_element(n, n, 1.0);
    for i in 0..n {
        for j in 0..n {
            if i == j || net.b[(i, j)] <= 0.0 {
                continue;
            }
            let mut routed = 0.0;
            for (h, &hub) in layout.hubs.iter().enumerate() {
                if hub != i && hub != j {
                    let sh = net.b[(i, hub)] * net.a[(hub, j)] / net.b[(i, j)];
                    via_share[h][(i, j)] = sh;
                    routed += sh;
                }
            }
            direct_share[(i, j)] = (1.0 - routed).max(0.0);
        }
    }
    Ok(Routing {
        tau: net.tau,
        direct_share,
        via_share,
        hubs: layout.hubs.clone(),
    })
}

fn labelled(mut r: SolveReport, sector: &str, year: i32) -> SolveReport {
    r.stage = format!("{sector} {year}: {}", r.stage);
    r
}

/// `rho_k` for every economy (1 for non-hubs).
pub(super) fn recorded_shares(d: &Dynamics, n: usize) -> Vector {
    let mut rho = Vector::from_element(n, 1.0);
    if let Some(r) = &d.routes {
        for (&k, &share) in r.layout.hubs.iter().zip(&r.layout.recorded_share) {
            rho[k] = share;
        }
    }
    rho
}

pub(super) fn costs_in_year(
    t0: &Matrix,
    routing: &Routing,
    routing0: &Routing,
    st: &PolicyState,
    st0: &PolicyState,
    sigma: f64,
) -> Matrix {
    let n = t0.nrows();
    Matrix::from_fn(n, n, |i, j| {
        let g = routing.tau[(i, j)] * st.cost[(i, j)] / (routing0.tau[(i, j)] * st0.cost[(i, j)]);
        let shift = st.demand[(i, j)] / st0.demand[(i, j)];
        // A pair closed this year (g infinite) trades nothing: 0, never NaN.
        if g.is_infinite() || t0[(i, j)] == 0.0 {
            0.0
        } else {
            t0[(i, j)] * g.powf(1.0 - sigma) * shift
        }
    })
}

/// The year's costs `t^(1-sigma)` must be numbers: route costs raised to `-theta` and
/// cost changes raised to `1 - sigma` leave the range of `f64` when either exponent is
/// extreme, and the error then names both rather than only the pair.
pub(super) fn check_year_costs(
    t: &Matrix,
    eco: &Economies,
    sector: &str,
    sigma: f64,
    theta: f64,
    year: i32,
) -> Result<(), RunError> {
    let n = t.nrows();
    for j in 0..n {
        for i in 0..n {
            let v = t[(i, j)];
            if !(v.is_finite() && v >= 0.0) {
                return Err(RunError::YearCosts {
                    sector: sector.to_owned(),
                    year,
                    exporter: eco.code(i).to_owned(),
                    importer: eco.code(j).to_owned(),
                    value: v,
                    theta,
                    sigma,
                });
            }
        }
    }
    Ok(())
}

/// `prev + lambda (target - prev)`, route by route.
pub(super) fn adjust(prev: &RouteFlows, target: &RouteFlows, lambda: f64) -> RouteFlows {
    let step = |p: &Matrix, t: &Matrix| p + (t - p) * lambda;
    RouteFlows {
        direct: step(&prev.direct, &target.direct),
        via: prev
            .via
            .iter()
            .zip(&target.via)
            .map(|(p, t)| step(p, t))
            .collect(),
        hubs: prev.hubs.clone(),
    }
}

/// Recorded views of a year's flows.
pub(super) struct Views {
    /// Physical shipments per link.
    pub(super) shipped: Matrix,
    /// As the exporter records: everything it ships, hubs only `rho` of their re-exports.
    pub(super) by_exporter: Matrix,
    /// As the importer records.
    pub(super) by_importer: Matrix,
}

impl Views {
    pub(super) fn new(rf: &RouteFlows, rho: &Vector, union: &Matrix) -> Views {
        let transit = rf.transit();
        let reexports = rf.reexports();
        let n = rf.len();
        let shipped = &rf.direct + &transit + &reexports;
        let by_exporter = Matrix::from_fn(n, n, |a, b| {
            rf.direct[(a, b)] + transit[(a, b)] + rho[a] * reexports[(a, b)]
        });
        let by_importer = Matrix::from_fn(n, n, |a, b| {
            let second = if union[(a, b)] > 0.0 { rho[a] } else { 1.0 };
            rf.direct[(a, b)] + rho[b] * transit[(a, b)] + second * reexports[(a, b)]
        });
        Views {
            shipped,
            by_exporter,
            by_importer,
        }
    }
}

/// Settings of [`final_from_recorded`], checked once by [`RecordedOptions::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedOptions {
    tolerance: f64,
    max_iterations: usize,
}

impl Default for RecordedOptions {
    /// Tolerance `1e-13`, at most 500 steps.
    fn default() -> Self {
        RecordedOptions {
            tolerance: 1e-13,
            max_iterations: 500,
        }
    }
}

impl RecordedOptions {
    /// `tolerance`: stop when no final flow changes in a step by this fraction of itself
    /// or more (in (0, 1); default `1e-13`). `max_iterations`: steps at most (at least 1;
    /// default 500). Every setting out of range is reported.
    pub fn new(
        tolerance: f64,
        max_iterations: usize,
    ) -> Result<RecordedOptions, Vec<InvalidOption>> {
        let mut wrong = Vec::new();
        check_tolerance("tolerance", tolerance, &mut wrong);
        check_cap("max_iterations", max_iterations, &mut wrong);
        if wrong.is_empty() {
            Ok(RecordedOptions {
                tolerance,
                max_iterations,
            })
        } else {
            Err(wrong)
        }
    }

    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    pub fn max_iterations(&self) -> usize {
        self.max_iterations
    }
}

/// Why the base-year final flows cannot be solved from the recorded ones.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FinalFlowsError {
    /// The base-year routes reject the flows; `named` is the error with economy codes.
    #[error("{named}")]
    Route { error: RouteError, named: String },
    #[error("{exporter}->{importer} is recorded but its direct route is closed in the base year")]
    ClosedDirect { exporter: String, importer: String },
    #[error("infeasible routes: {reporter} recorded {recorded:.4} for {exporter}->{importer}, but the base-year routes already send {routed:.4} through it (transit and re-exports counted by that reporter); lower the routes' base share (raise `routes.premium`)")]
    Infeasible {
        reporter: String,
        exporter: String,
        importer: String,
        recorded: f64,
        routed: f64,
    },
    /// The step limit came first.
    #[error("the base-year final flows did not converge in {} steps", .0.iterations)]
    NotConverged(SolveReport),
    /// A final flow came out as a value that is not a finite number.
    #[error("the base-year final flows hold a value that is not a finite number ({0})")]
    NonFinite(SolveReport),
}

/// Solves the final-destination flows whose recorded views equal `recorded`, given the
/// base-year routing. Each pair's direct flow is what its reporter records minus the routed
/// goods that reporter also counts; the routed goods depend on the final flows of other
/// pairs, so this is a fixed point (it converges in a few steps: routed shares are small
/// at base). One step is [`recorded_step`]; this loop owns the stopping rule: the largest
/// change of a final flow relative to itself (`max(|x|, 1e-12)`) below the tolerance.
/// A flow that would have to be negative (more transit through a hub than the origin
/// recorded to it) is an error with the numbers.
pub fn final_from_recorded(
    recorded: &Matrix,
    reporters: &[Reporter],
    routing: &Routing,
    rho: &Vector,
    union: &Matrix,
    eco: &Economies,
    options: &RecordedOptions,
) -> Result<(Matrix, SolveReport), FinalFlowsError> {
    let stage = "base-year final flows";
    let mut x = recorded.clone();
    let mut change = f64::INFINITY;
    for it in 1..=options.max_iterations {
        let (next, c) = recorded_step(&x, recorded, reporters, routing, rho, union, eco)?;
        x = next;
        change = c;
        if !change.is_finite() {
            return Err(FinalFlowsError::NonFinite(SolveReport::new(
                stage,
                it,
                change,
                StopReason::NonFinite,
            )));
        }
        if change < options.tolerance {
            return Ok((
                x,
                SolveReport::new(stage, it, change, StopReason::Converged),
            ));
        }
    }
    Err(FinalFlowsError::NotConverged(SolveReport::new(
        stage,
        options.max_iterations,
        change,
        StopReason::MaxIterations,
    )))
}

/// One step of [`final_from_recorded`]: for every recorded pair `a -> b`,
/// `x_ab' = (recorded_ab - routed_ab(x)) / direct_share_ab`, with `routed_ab(x)` the goods
/// routed through hubs that the pair's reporter also counts on that link (see [`Views`]).
/// Returns the new flows and the largest change relative to the old flow (`+inf` when a
/// new flow is not a finite number).
fn recorded_step(
    x: &Matrix,
    recorded: &Matrix,
    reporters: &[Reporter],
    routing: &Routing,
    rho: &Vector,
    union: &Matrix,
    eco: &Economies,
) -> Result<(Matrix, f64), FinalFlowsError> {
    let n = recorded.nrows();
    let rf = route_flows(x, routing).map_err(|error| FinalFlowsError::Route {
        named: error.named(eco),
        error,
    })?;
    let v = Views::new(&rf, rho, union);
    let mut next = x.clone();
    let mut change = 0.0f64;
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let view = match reporters[a * n + b] {
                Reporter::Model => continue,
                Reporter::Exporter => &v.by_exporter,
                Reporter::Importer => &v.by_importer,
            };
            let routed_in_view = view[(a, b)] - rf.direct[(a, b)];
            let direct_share = routing.direct_share[(a, b)];
            if direct_share == 0.0 {
                return Err(FinalFlowsError::ClosedDirect {
                    exporter: eco.code(a).to_owned(),
                    importer: eco.code(b).to_owned(),
                });
            }
            let direct = recorded[(a, b)] - routed_in_view;
            if direct < 0.0 {
                let reporter = match reporters[a * n + b] {
                    Reporter::Importer => b,
                    _ => a,
                };
                return Err(FinalFlowsError::Infeasible {
                    reporter: eco.code(reporter).to_owned(),
                    exporter: eco.code(a).to_owned(),
                    importer: eco.code(b).to_owned(),
                    recorded: recorded[(a, b)],
                    routed: routed_in_view,
                });
            }
            let xab = direct / direct_share;
            if !xab.is_finite() {
                return Ok((next, f64::INFINITY));
            }
            change = change.max((xab - x[(a, b)]).abs() / x[(a, b)].abs().max(1e-12));
            next[(a, b)] = xab;
        }
    }
    Ok((next, change))
}

#[expect(
    clippy::too_many_arguments,
    reason = "the rows of one year draw on all of these"
)]
fn push_rows(
    out: &mut YearRun,
    year: i32,
    sector: &str,
    eco: &Economies,
    x: &Matrix,
    rf: &RouteFlows,
    v: &Views,
    d: &Dynamics,
) {
    let n = eco.len();
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            out.flows.push(FlowRow {
                year,
                sector: sector.to_owned(),
                exporter: eco.code(a).to_owned(),
                importer: eco.code(b).to_owned(),
                shipped: v.shipped[(a, b)],
                final_destination: x[(a, b)],
            });
            for (reporter, view) in [(a, &v.by_exporter), (b, &v.by_importer)] {
                out.recorded.push(RecordedRow {
                    year,
                    sector: sector.to_owned(),
                    exporter: eco.code(a).to_owned(),
                    importer: eco.code(b).to_owned(),
                    reporter: eco.code(reporter).to_owned(),
                    recorded: view[(a, b)],
                });
            }
        }
    }
    let Some(routes) = &d.routes else { return };
    let target = routes.layout.target;
    let imports: f64 = (0..n)
        .filter(|&i| i != target)
        .map(|i| x[(i, target)])
        .sum();
    for i in 0..n {
        if i == target {
            continue;
        }
        let total = x[(i, target)];
        let row = |via: String, value: f64| RouteRow {
            year,
            sector: sector.to_owned(),
            origin: eco.code(i).to_owned(),
            via,
            destination: eco.code(target).to_owned(),
            value,
            pair_fraction: fraction(value, total),
            target_imports_fraction: fraction(value, imports),
        };
        out.routes
            .push(row(DIRECT.to_owned(), rf.direct[(i, target)]));
        for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
            if k == i {
                continue;
            }
            out.routes
                .push(row(eco.code(k).to_owned(), flows[(i, target)]));
        }
    }
    let transit = rf.transit();
    for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
        for i in (0..n).filter(|&i| i != k) {
            let imports = rf.direct[(i, k)] + transit[(i, k)];
            let re = flows[(i, target)];
            out.reexports.push(ReexportRow {
                year,
                sector: sector.to_owned(),
                intermediary: eco.code(k).to_owned(),
                origin: eco.code(i).to_owned(),
                imports_from_origin: imports,
                reexports_to_target: re,
                reexport_fraction: fraction(re, imports),
            });
        }
    }
}

/// The `via` of the direct route in `routes.csv`.
pub const DIRECT: &str = "direct";

/// `part / whole`, 0 where the whole is not positive (nothing to share).
pub(super) fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// `100 (new - old) / old`, 0 where both are 0 (as the gravity indicators define it).
pub(super) fn pct_change(old: f64, new: f64) -> f64 {
    if old == 0.0 && new == 0.0 {
        0.0
    } else {
        100.0 * (new - old) / old
    }
}

/// The base-year and year levels of one country in one year, summed over sectors, from
/// which its all-sector row is made (see [`CountryTotalRow`]).
#[derive(Debug, Clone, Default)]
struct CountrySums {
    output: (f64, f64),
    foreign_exports: (f64, f64),
    foreign_imports: (f64, f64),
    expenditure: (f64, f64),
    /// `sum_s E_s ln(P'_s / P_s)`: the log price index, times the expenditure weight.
    price_index_log: f64,
    /// `sum_s Y_s ln(p'_s / p_s)`: the log factory-gate price, times the output weight.
    price_log: f64,
}

fn push_countries(
    out: &mut YearRun,
    sums: &mut [CountrySums],
    year: i32,
    sector: &str,
    eco: &Economies,
    base: &Equilibrium,
    eq: &Equilibrium,
) {
    let foreign_exports = |e: &Equilibrium, i: usize| e.trade.row(i).sum() - e.trade[(i, i)];
    let foreign_imports = |e: &Equilibrium, j: usize| e.trade.column(j).sum() - e.trade[(j, j)];
    for (i, c) in country_results(eco, base, eq).into_iter().enumerate() {
        let t = &mut sums[i];
        let log = |pct: f64| (1.0 + pct / 100.0).ln();
        t.output.0 += base.output[i];
        t.output.1 += eq.output[i];
        t.foreign_exports.0 += foreign_exports(base, i);
        t.foreign_exports.1 += foreign_exports(eq, i);
        t.foreign_imports.0 += foreign_imports(base, i);
        t.foreign_imports.1 += foreign_imports(eq, i);
        t.expenditure.0 += base.expenditure[i];
        t.expenditure.1 += eq.expenditure[i];
        t.price_index_log += base.expenditure[i] * (eq.imr[i] / base.imr[i]).ln();
        t.price_log += base.output[i] * log(c.factory_gate_price_change_pct);
        out.countries.push(YearCountryRow {
            year,
            sector: sector.to_owned(),
            country: c.country,
            welfare_change_pct: c.welfare_change_pct,
            real_gdp_change_pct: c.real_gdp_change_pct,
            factory_gate_price_change_pct: c.factory_gate_price_change_pct,
            output_change_pct: c.output_change_pct,
            foreign_exports_change_pct: c.foreign_exports_change_pct,
            foreign_imports_change_pct: c.foreign_imports_change_pct,
        });
    }
}

/// Rows summed by key, in the order each key first appears.
fn sum_by<R, T, K: std::hash::Hash + Eq>(
    rows: &[R],
    key: impl Fn(&R) -> K,
    first: impl Fn(&R) -> T,
    add: impl Fn(&mut T, &R),
) -> Vec<T> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for r in rows {
        match index.get(&key(r)) {
            Some(&k) => add(&mut out[k], r),
            None => {
                index.insert(key(r), out.len());
                out.push(first(r));
            }
        }
    }
    out
}

/// The totals files: the detail rows summed over sectors (and, for re-exports, origins),
/// fractions recomputed from the sums; the all-sector country rows from `sums`.
fn totals_of(
    out: &YearRun,
    years: &[i32],
    sums: &[Vec<CountrySums>],
    eco: &Economies,
) -> YearTotals {
    let flows = sum_by(
        &out.flows,
        |r| (r.year, r.exporter.clone(), r.importer.clone()),
        |r| FlowTotalRow {
            year: r.year,
            exporter: r.exporter.clone(),
            importer: r.importer.clone(),
            shipped: r.shipped,
            final_destination: r.final_destination,
        },
        |t, r| {
            t.shipped += r.shipped;
            t.final_destination += r.final_destination;
        },
    );
    let recorded = sum_by(
        &out.recorded,
        |r| {
            (
                r.year,
                r.exporter.clone(),
                r.importer.clone(),
                r.reporter.clone(),
            )
        },
        |r| RecordedTotalRow {
            year: r.year,
            exporter: r.exporter.clone(),
            importer: r.importer.clone(),
            reporter: r.reporter.clone(),
            recorded: r.recorded,
        },
        |t, r| t.recorded += r.recorded,
    );
    let mut routes = sum_by(
        &out.routes,
        |r| (r.year, r.origin.clone(), r.via.clone()),
        |r| RouteTotalRow {
            year: r.year,
            origin: r.origin.clone(),
            via: r.via.clone(),
            destination: r.destination.clone(),
            value: r.value,
            pair_fraction: 0.0,
            target_imports_fraction: 0.0,
        },
        |t, r| t.value += r.value,
    );
    let pair: Vec<(i32, String, f64)> = sum_by(
        &routes,
        |r| (r.year, r.origin.clone()),
        |r| (r.year, r.origin.clone(), r.value),
        |t, r| t.2 += r.value,
    );
    let imports: Vec<(i32, f64)> = sum_by(
        &routes,
        |r| r.year,
        |r| (r.year, r.value),
        |t, r| t.1 += r.value,
    );
    for r in &mut routes {
        let p = pair
            .iter()
            .find(|p| p.0 == r.year && p.1 == r.origin)
            .map_or(0.0, |p| p.2);
        let m = imports.iter().find(|m| m.0 == r.year).map_or(0.0, |m| m.1);
        r.pair_fraction = fraction(r.value, p);
        r.target_imports_fraction = fraction(r.value, m);
    }
    let mut reexports = sum_by(
        &out.reexports,
        |r| (r.year, r.intermediary.clone()),
        |r| ReexportTotalRow {
            year: r.year,
            intermediary: r.intermediary.clone(),
            imports_from_origins: r.imports_from_origin,
            reexports_to_target: r.reexports_to_target,
            reexport_fraction: 0.0,
        },
        |t, r| {
            t.imports_from_origins += r.imports_from_origin;
            t.reexports_to_target += r.reexports_to_target;
        },
    );
    for r in &mut reexports {
        r.reexport_fraction = fraction(r.reexports_to_target, r.imports_from_origins);
    }
    let mut countries = Vec::new();
    for (yi, &year) in years.iter().enumerate() {
        for (i, t) in sums[yi].iter().enumerate() {
            let geometric = |log_sum: f64, weight: f64| {
                if weight > 0.0 {
                    (log_sum / weight).exp()
                } else {
                    1.0
                }
            };
            // One price index for the country over its sectors: Cobb-Douglas in the base
            // year's expenditure shares.
            let price_index = geometric(t.price_index_log, t.expenditure.0);
            let real = |(old, new): (f64, f64)| {
                if old > 0.0 {
                    100.0 * (new / old / price_index - 1.0)
                } else {
                    0.0
                }
            };
            countries.push(CountryTotalRow {
                year,
                country: eco.code(i).to_owned(),
                welfare_change_pct: real(t.expenditure),
                real_gdp_change_pct: real(t.output),
                factory_gate_price_change_pct: 100.0 * (geometric(t.price_log, t.output.0) - 1.0),
                output_change_pct: pct_change(t.output.0, t.output.1),
                foreign_exports_change_pct: pct_change(t.foreign_exports.0, t.foreign_exports.1),
                foreign_imports_change_pct: pct_change(t.foreign_imports.0, t.foreign_imports.1),
            });
        }
    }
    YearTotals {
        flows,
        recorded,
        routes,
        reexports,
        countries,
    }
}

fn check_rows_finite(out: &YearRun) -> Result<(), RunError> {
    let bad = |what: String| Err(RunError::NonFinite(what));
    for r in &out.flows {
        if ![r.shipped, r.final_destination]
            .iter()
            .all(|v| v.is_finite())
        {
            return bad(format!("flow {}->{} in {}", r.exporter, r.importer, r.year));
        }
    }
    for r in &out.recorded {
        if !r.recorded.is_finite() {
            return bad(format!(
                "flow {}->{} recorded by {} in {}",
                r.exporter, r.importer, r.reporter, r.year
            ));
        }
    }
    for r in &out.routes {
        if ![r.value, r.pair_fraction, r.target_imports_fraction]
            .iter()
            .all(|v| v.is_finite())
        {
            return bad(format!("route {} via {} in {}", r.origin, r.via, r.year));
        }
    }
    for r in &out.reexports {
        if ![
            r.imports_from_origin,
            r.reexports_to_target,
            r.reexport_fraction,
        ]
        .iter()
        .all(|v| v.is_finite())
        {
            return bad(format!(
                "re-exports of {} via {} in {}",
                r.origin, r.intermediary, r.year
            ));
        }
    }
    for r in &out.countries {
        let v = [
            r.welfare_change_pct,
            r.real_gdp_change_pct,
            r.factory_gate_price_change_pct,
            r.output_change_pct,
            r.foreign_exports_change_pct,
            r.foreign_imports_change_pct,
        ];
        if !v.iter().all(|x| x.is_finite()) {
            return bad(format!("country {} in {}", r.country, r.year));
        }
    }
    for r in &out.totals.countries {
        let v = [
            r.welfare_change_pct,
            r.real_gdp_change_pct,
            r.factory_gate_price_change_pct,
            r.output_change_pct,
            r.foreign_exports_change_pct,
            r.foreign_imports_change_pct,
        ];
        if !v.iter().all(|x| x.is_finite()) {
            return bad(format!("country {} (all sectors) in {}", r.country, r.year));
        }
    }
    Ok(())
}

/// One point of a key series: what `tradeflow compare` lines up across scenarios.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// A name in the grammar of [`super::series`] (`KGZ.reexports.RUS`).
    pub series: String,
    pub year: i32,
    /// In the data's unit, or a fraction for a `direct_share` series.
    pub value: f64,
}

/// The key series of a yearly run, over all sectors (the totals files), year by year in
/// the order of [`super::series::yearly_series`]: final-destination imports of the route
/// target, the direct share, re-exports via each intermediary, and the exporter-recorded
/// flow of every pair into the target or an intermediary.
pub fn key_series(run: &YearRun, s: &Scenario) -> Vec<SeriesPoint> {
    use super::series::{yearly_series, Series};
    use std::collections::HashMap;
    let wanted = yearly_series(s);
    if wanted.is_empty() {
        return Vec::new();
    }
    let t = &run.totals;
    // (year, destination, via) -> value, and (year, exporter, importer, reporter) -> recorded.
    let mut by_route: HashMap<(i32, &str, &str), f64> = HashMap::new();
    let mut into: HashMap<(i32, &str), f64> = HashMap::new();
    for r in &t.routes {
        *by_route
            .entry((r.year, r.destination.as_str(), r.via.as_str()))
            .or_default() += r.value;
        *into.entry((r.year, r.destination.as_str())).or_default() += r.value;
    }
    let recorded: HashMap<(i32, &str, &str, &str), f64> = t
        .recorded
        .iter()
        .map(|r| {
            (
                (
                    r.year,
                    r.exporter.as_str(),
                    r.importer.as_str(),
                    r.reporter.as_str(),
                ),
                r.recorded,
            )
        })
        .collect();
    let mut out = Vec::new();
    for &year in &run.years {
        for x in &wanted {
            let value = match x {
                Series::ImportsFinal { target } => {
                    into.get(&(year, target.as_str())).copied().unwrap_or(0.0)
                }
                Series::DirectShare { target } => fraction(
                    by_route
                        .get(&(year, target.as_str(), DIRECT))
                        .copied()
                        .unwrap_or(0.0),
                    into.get(&(year, target.as_str())).copied().unwrap_or(0.0),
                ),
                Series::Reexports { hub, target } => by_route
                    .get(&(year, target.as_str(), hub.as_str()))
                    .copied()
                    .unwrap_or(0.0),
                Series::Recorded {
                    exporter,
                    importer,
                    reporter,
                } => recorded
                    .get(&(
                        year,
                        exporter.as_str(),
                        importer.as_str(),
                        reporter.as_str(),
                    ))
                    .copied()
                    .unwrap_or(0.0),
                Series::Country { .. } => continue,
            };
            out.push(SeriesPoint {
                series: x.name(),
                year,
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Origin O (0), hub H (1), target T (2); O ships to T directly (share 0.8) or through
    /// H (0.2); every other pair only directly. Every pair is recorded by its exporter and
    /// H records all its re-exports (`rho = 1`).
    fn case(r_oh: f64) -> (Matrix, Vec<Reporter>, Routing, Vector, Matrix, Economies) {
        let mut direct = Matrix::from_element(3, 3, 1.0);
        direct[(0, 2)] = 0.8;
        let mut via = Matrix::zeros(3, 3);
        via[(0, 2)] = 0.2;
        let routing = Routing {
            tau: Matrix::from_element(3, 3, 1.0),
            direct_share: direct,
            via_share: vec![via],
            hubs: vec![1],
        };
        let mut recorded = Matrix::from_element(3, 3, 1.0);
        recorded[(0, 2)] = 8.0;
        recorded[(0, 1)] = r_oh;
        recorded[(1, 2)] = 6.0;
        let eco = Economies::new(["O", "H", "T"]).unwrap();
        (
            recorded,
            vec![Reporter::Exporter; 9],
            routing,
            Vector::from_element(3, 1.0),
            Matrix::zeros(3, 3),
            eco,
        )
    }

    #[test]
    fn recorded_to_final_by_hand() {
        // O records to T only the direct part: X_OT = 8 / 0.8 = 10. O records to H its own
        // sales and the transit 0.2 X_OT = 2: X_OH = 5 - 2 = 3. H records to T its own
        // sales and the re-exports: X_HT = 6 - 2 = 4.
        let (rec, rep, routing, rho, union, eco) = case(5.0);
        let (x, report) = final_from_recorded(
            &rec,
            &rep,
            &routing,
            &rho,
            &union,
            &eco,
            &RecordedOptions::default(),
        )
        .unwrap();
        assert_eq!(report.stop_reason, StopReason::Converged);
        assert!(report.iterations <= 4, "{report}");
        assert!((x[(0, 2)] - 10.0).abs() < 1e-12);
        assert!((x[(0, 1)] - 3.0).abs() < 1e-12);
        assert!((x[(1, 2)] - 4.0).abs() < 1e-12);
        assert_eq!(x[(2, 0)], 1.0);
    }

    #[test]
    fn a_tiny_cap_is_a_reported_reason() {
        let (rec, rep, routing, rho, union, eco) = case(5.0);
        let one = RecordedOptions::new(1e-13, 1).unwrap();
        let e = final_from_recorded(&rec, &rep, &routing, &rho, &union, &eco, &one).unwrap_err();
        match &e {
            FinalFlowsError::NotConverged(r) => {
                assert_eq!(r.stop_reason, StopReason::MaxIterations);
                assert_eq!(r.iterations, 1);
            }
            other => panic!("expected NotConverged, got {other:?}"),
        }
        assert_eq!(
            e.to_string(),
            "the base-year final flows did not converge in 1 steps"
        );
    }

    #[test]
    fn infeasible_and_nan_inputs_are_errors_not_panics() {
        // O records 1 to H, but 2 of transit pass through it.
        let (rec, rep, routing, rho, union, eco) = case(1.0);
        let opts = RecordedOptions::default();
        let e = final_from_recorded(&rec, &rep, &routing, &rho, &union, &eco, &opts).unwrap_err();
        assert!(matches!(e, FinalFlowsError::Infeasible { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("infeasible routes: O recorded 1.0000 for O->H"));
        let (mut rec, rep, routing, rho, union, eco) = case(5.0);
        rec[(1, 2)] = f64::NAN;
        let e = final_from_recorded(&rec, &rep, &routing, &rho, &union, &eco, &opts).unwrap_err();
        assert!(matches!(e, FinalFlowsError::Route { .. }), "{e}");
        assert!(e.to_string().contains("H->T"), "{e}");
        let wrong = RecordedOptions::new(f64::NAN, 0).unwrap_err();
        assert_eq!(wrong.len(), 2);
    }
}
