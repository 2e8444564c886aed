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
//!   as exports to the final buyer (by default; `recording` instruments set the two shares
//!   apart, per hub and origin, and a share "lost in transit" that the hub never records
//!   at all, though the origin recorded it as exports to the hub);
//! - the final buyer records imports from the hub: the hub's re-exports in full, unless
//!   the two share a customs union (no customs post), where only `rho_k` is seen.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::driver::{drive, SectorYear, Solve, YearSink};
use super::{NonFiniteAt, RunError};
use crate::gravity::{costs_from_flows, country_results, CountryResult, Equilibrium};
use crate::policy::{HubRecording, PolicyState, RouteLayout};
use crate::routes::{network, route_flows, RouteError, RouteFlows, Routing};
use crate::scenario::{Dynamics, Reporter, Scenario};
use crate::solver::{check_cap, check_tolerance, InvalidOption, SolveReport, StopReason};
use crate::world::{Economies, GravityData, Matrix, Vector};

/// An economy or a sector of a yearly run, by its position in [`YearRun::economies`] or
/// [`YearRun::sectors`] ([`YearRun::economy`] and [`YearRun::sector`] give the name). The
/// detail rows hold these rather than names: a run of 150 economies and 20 sectors over 10
/// years has 13 million of them (limits: [`crate::limits::MAX_ECONOMIES`],
/// [`crate::limits::MAX_SECTORS`]).
pub type Code = u16;

/// One row of `flows.csv`: a link in one sector and year, as goods move (one row per
/// link; what each customs authority records is in `recorded.csv`, joined on
/// `year, sector, exporter, importer`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowRow {
    pub year: i32,
    pub sector: Code,
    pub exporter: Code,
    pub importer: Code,
    /// Goods physically shipped on the link (direct sales plus transit legs), data unit.
    pub shipped: f64,
    /// Goods from the exporter bought by final buyers in the importer, by any route.
    pub final_destination: f64,
}

/// One row of `recorded.csv`: a link as one reporter records it (two rows per link: the
/// exporter's and the importer's statistics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedRow {
    pub year: i32,
    pub sector: Code,
    pub exporter: Code,
    pub importer: Code,
    /// Whose statistics: the exporter or the importer.
    pub reporter: Code,
    /// What that reporter records, data unit.
    pub recorded: f64,
}

/// One row of `routes.csv`: an origin's final-destination flow into the route target by
/// one route, in one sector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteRow {
    pub year: i32,
    pub sector: Code,
    pub origin: Code,
    /// The intermediary, or `None` for the direct route (written [`DIRECT`]).
    pub via: Option<Code>,
    pub destination: Code,
    /// Data unit.
    pub value: f64,
    /// `value` over the origin's whole flow into the destination (all routes).
    pub pair_fraction: f64,
    /// `value` over the destination's imports from every origin by every route.
    pub target_imports_fraction: f64,
}

/// One row of `reexports.csv`: what one origin ships into one intermediary, and how much of
/// it goes on to the route target, in one sector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReexportRow {
    pub year: i32,
    pub sector: Code,
    pub intermediary: Code,
    pub origin: Code,
    /// Goods shipped from the origin into the intermediary (its own purchases and transit).
    pub imports_from_origin: f64,
    /// Of which re-exported to the route target.
    pub reexports_to_target: f64,
    /// `reexports_to_target / imports_from_origin` (0 where there are no imports).
    pub reexport_fraction: f64,
    /// Of the re-exports, what the intermediary's customs record as its exports (its
    /// export share of the origin's transit not lost; see the module docs).
    pub recorded_by_intermediary: f64,
    /// The intermediary's income from re-exporting them (`routes.margin` times their value).
    pub margin_income: f64,
}

/// One row of the yearly `countries.csv`: the year's equilibrium of one sector against the
/// base year's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearCountryRow {
    pub year: i32,
    pub sector: Code,
    pub country: Code,
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
    /// Not finite when read from a folder written before the column existed.
    #[serde(default = "missing")]
    pub recorded_by_intermediary: f64,
    #[serde(default = "missing")]
    pub margin_income: f64,
}

/// A column an older results folder lacks, as read back: not a number.
fn missing() -> f64 {
    f64::NAN
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
    /// The economies the detail rows' [`Code`]s refer to (the scenario's, in its order).
    pub economies: Economies,
    /// The sectors' names, in the scenario's order ([`ALL_SECTORS`] without `[[sectors]]`).
    pub sectors: Vec<String>,
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

impl YearCountryRow {
    /// The row of economy `country` in one sector and year, from that sector's result.
    pub(super) fn new(year: i32, sector: Code, country: Code, c: &CountryResult) -> Self {
        YearCountryRow {
            year,
            sector,
            country,
            welfare_change_pct: c.welfare_change_pct,
            real_gdp_change_pct: c.real_gdp_change_pct,
            factory_gate_price_change_pct: c.factory_gate_price_change_pct,
            output_change_pct: c.output_change_pct,
            foreign_exports_change_pct: c.foreign_exports_change_pct,
            foreign_imports_change_pct: c.foreign_imports_change_pct,
        }
    }

    /// The changes in column order (welfare, real GDP, factory-gate price, output,
    /// foreign exports, foreign imports), in percent.
    pub fn changes(&self) -> [f64; 6] {
        [
            self.welfare_change_pct,
            self.real_gdp_change_pct,
            self.factory_gate_price_change_pct,
            self.output_change_pct,
            self.foreign_exports_change_pct,
            self.foreign_imports_change_pct,
        ]
    }
}

impl CountryTotalRow {
    /// The row of `country` in `year` with `changes` in column order (see
    /// [`YearCountryRow::changes`]).
    fn new(year: i32, country: String, changes: [f64; 6]) -> Self {
        let [welfare, real_gdp, price, output, exports, imports] = changes;
        CountryTotalRow {
            year,
            country,
            welfare_change_pct: welfare,
            real_gdp_change_pct: real_gdp,
            factory_gate_price_change_pct: price,
            output_change_pct: output,
            foreign_exports_change_pct: exports,
            foreign_imports_change_pct: imports,
        }
    }

    /// The changes in column order, as [`YearCountryRow::changes`].
    pub fn changes(&self) -> [f64; 6] {
        [
            self.welfare_change_pct,
            self.real_gdp_change_pct,
            self.factory_gate_price_change_pct,
            self.output_change_pct,
            self.foreign_exports_change_pct,
            self.foreign_imports_change_pct,
        ]
    }
}

impl YearRun {
    /// The code of the economy `c` of a detail row.
    pub fn economy(&self, c: Code) -> &str {
        self.economies.code(usize::from(c))
    }

    /// The name of the sector `c` of a detail row.
    pub fn sector(&self, c: Code) -> &str {
        &self.sectors[usize::from(c)]
    }
}

/// An index below [`crate::limits::MAX_ECONOMIES`] or [`crate::limits::MAX_SECTORS`] (the
/// scenario checked them) as a [`Code`].
fn code(i: usize) -> Code {
    const _: () = assert!(crate::limits::MAX_ECONOMIES <= Code::MAX as usize);
    const _: () = assert!(crate::limits::MAX_SECTORS <= Code::MAX as usize);
    Code::try_from(i).unwrap_or(Code::MAX)
}

/// The name of the one sector of a yearly scenario without `[[sectors]]`.
pub const ALL_SECTORS: &str = "all";

/// An empty vector with room for the product of `sizes` elements, or none where that is
/// more than can be had (the run then grows it and fails as it would have).
fn reserved<T>(sizes: &[usize]) -> Vec<T> {
    let mut v = Vec::new();
    if let Some(len) = sizes.iter().try_fold(1usize, |a, &b| a.checked_mul(b)) {
        let _ = v.try_reserve_exact(len);
    }
    v
}

/// Runs a scenario with `[years]`: the yearly loop (`simulate/driver.rs`) into the row sink,
/// then the totals and the check that every number is finite.
pub fn run_years(s: &Scenario) -> Result<YearRun, RunError> {
    let d = s.dynamics.as_ref().ok_or(RunError::NoYears)?;
    let eco = &s.data.economies;
    let n = eco.len();
    let years: Vec<i32> = (d.base_year..=d.horizon).collect();
    let leaves = d.sectors.len() * years.len();
    let mut rows = Rows {
        out: YearRun {
            years: years.clone(),
            economies: eco.clone(),
            sectors: d.sectors.iter().map(|x| x.name.clone()).collect(),
            // Every sector-year has a row per link (two recorded) and per country: room for
            // all of them at once, so that the largest vectors never grow by doubling (twice
            // the memory while they move).
            flows: reserved(&[leaves, n, n.saturating_sub(1)]),
            recorded: reserved(&[2, leaves, n, n.saturating_sub(1)]),
            routes: Vec::new(),
            reexports: Vec::new(),
            countries: reserved(&[leaves, n]),
            totals: YearTotals::default(),
            reports: Vec::new(),
            base_year_reports: Vec::new(),
        },
        country_sums: vec![vec![CountrySums::default(); n]; years.len()],
        d,
        eco,
    };
    // The row sink takes every year: the run ends only on an error.
    let _: ControlFlow<()> = drive(s, &mut rows)?;
    let Rows {
        mut out,
        country_sums,
        ..
    } = rows;
    out.totals = totals_of(&out, &years, &country_sums, eco);
    check_rows_finite(&out)?;
    Ok(out)
}

/// The sink of [`run_years`]: every detail row, every solve report, and per year and
/// country the sector levels the all-sector country rows are made of.
struct Rows<'s> {
    out: YearRun,
    country_sums: Vec<Vec<CountrySums>>,
    d: &'s Dynamics,
    eco: &'s Economies,
}

impl YearSink for Rows<'_> {
    fn year(&mut self, y: &SectorYear<'_>) -> ControlFlow<()> {
        let sector = code(y.si);
        let n = self.eco.len();
        push_rows(
            &mut self.out,
            y.year,
            sector,
            n,
            y.x,
            y.rf,
            y.views,
            y.recording,
            self.d,
        );
        push_countries(
            &mut self.out,
            &mut self.country_sums[y.yi],
            y.year,
            sector,
            self.eco,
            y.base,
            y.eq,
            &y.margins,
        );
        ControlFlow::Continue(())
    }

    fn report(&mut self, solve: Solve, sector: &str, year: i32, report: SolveReport) {
        let r = labelled(report, sector, year);
        match solve {
            Solve::BaseYearFlows => self.out.base_year_reports.push(r),
            Solve::Gravity => self.out.reports.push(r),
        }
    }
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

/// How fast each route's flow closes its gap to the year's equilibrium.
pub(super) struct Speeds<'a> {
    /// `years.adjustment`: every flow the two below do not cover.
    pub(super) general: f64,
    /// `years.closing_speed`: direct flows on a link the year's wedge closes.
    pub(super) closing: f64,
    /// The year's policy state: which links are closed, which channels open at a speed of
    /// their own (`opening`, for flows that grow).
    pub(super) state: &'a PolicyState,
}

/// `prev + lambda (target - prev)`, route by route, with `lambda` from `speeds`.
pub(super) fn adjust(prev: &RouteFlows, target: &RouteFlows, speeds: &Speeds<'_>) -> RouteFlows {
    let n = prev.direct.nrows();
    let st = speeds.state;
    let direct = Matrix::from_fn(n, n, |i, j| {
        let (p, t) = (prev.direct[(i, j)], target.direct[(i, j)]);
        let lambda = if st.wedge[(i, j)].is_infinite() {
            speeds.closing
        } else {
            speeds.general
        };
        p + (t - p) * lambda
    });
    let via = prev
        .via
        .iter()
        .zip(&target.via)
        .enumerate()
        .map(|(h, (pm, tm))| {
            let opening = st.opening.get(h);
            Matrix::from_fn(n, n, |i, j| {
                let (p, t) = (pm[(i, j)], tm[(i, j)]);
                let lambda = match opening.and_then(|o| o[i]) {
                    Some(v) if t > p => v,
                    _ => speeds.general,
                };
                p + (t - p) * lambda
            })
        })
        .collect();
    RouteFlows {
        direct,
        via,
        hubs: prev.hubs.clone(),
    }
}

/// Recorded views of a year's flows.
pub(super) struct Views {
    /// First legs of routed goods, `transit[(i, k)]`: what origin `i` ships to hub `k` for
    /// buyers elsewhere ([`RouteFlows::transit`]).
    pub(super) transit: Matrix,
    /// Physical shipments per link.
    pub(super) shipped: Matrix,
    /// As the exporter records: everything it ships, hubs only the recorded share of their
    /// re-exports.
    pub(super) by_exporter: Matrix,
    /// As the importer records.
    pub(super) by_importer: Matrix,
    /// The share of each direct flow its importer records (a hub's `own_share` of its own
    /// purchases; 1 elsewhere).
    pub(super) importer_direct: Matrix,
}

impl Views {
    /// The views of `rf`, with `recording` what each hub records of the transit from each
    /// origin (layout order, as `rf.hubs`) and `union` the pairs in a customs union.
    ///
    /// An importer in `by_origin` (empty: none) records imports by country of origin: its
    /// record of `a -> b` holds `a`'s own goods routed through hubs (what a hub in a customs
    /// union with it declares of them, all of them otherwise) and none of the re-exports of
    /// a hub `a`, which it books under their origins.
    pub(super) fn new(
        rf: &RouteFlows,
        recording: &[HubRecording],
        union: &Matrix,
        by_origin: &[bool],
    ) -> Views {
        let transit = rf.transit();
        let reexports = rf.reexports();
        let n = rf.len();
        let shipped = &rf.direct + &transit + &reexports;
        // What each hub records of its transit: as imports from the origin (`(i, k)`), as
        // exports to the final buyer (`(k, j)`).
        let mut transit_in = Matrix::zeros(n, n);
        let mut reexports_out = Matrix::zeros(n, n);
        let mut importer_direct = Matrix::from_element(n, n, 1.0);
        let (mut rows, mut seen) = (vec![0.0; n], vec![0.0; n]);
        for ((flows, &k), rec) in rf.via.iter().zip(&rf.hubs).zip(recording) {
            crate::routes::row_sums(flows, &mut rows);
            for (i, &row) in rows.iter().enumerate() {
                importer_direct[(i, k)] = rec.own[i];
                seen[i] = rec.exports_of(i);
                if row != 0.0 {
                    transit_in[(i, k)] += rec.imports_of(i) * row;
                }
            }
            // `(k, j)` takes the origins in order, skipping those that send nothing through
            // the hub, column by column of the flows (contiguous).
            for (j, column) in flows.as_slice().chunks_exact(n.max(1)).enumerate() {
                let mut out = reexports_out[(k, j)];
                for ((&row, &share), &flow) in rows.iter().zip(&seen).zip(column) {
                    if row != 0.0 {
                        out += share * flow;
                    }
                }
                reexports_out[(k, j)] = out;
            }
        }
        let by_exporter = Matrix::from_fn(n, n, |a, b| {
            rf.direct[(a, b)] + transit[(a, b)] + reexports_out[(a, b)]
        });
        // By origin: the goods of `a` that reach `b` through hubs, as `b` sees them.
        let mut routed_by_origin = Matrix::zeros(n, n);
        if by_origin.iter().any(|&x| x) {
            for ((flows, &k), rec) in rf.via.iter().zip(&rf.hubs).zip(recording) {
                for a in 0..n {
                    for b in (0..n).filter(|&b| by_origin.get(b) == Some(&true)) {
                        let seen = if union[(k, b)] > 0.0 {
                            rec.exports_of(a)
                        } else {
                            1.0
                        };
                        routed_by_origin[(a, b)] += seen * flows[(a, b)];
                    }
                }
            }
        }
        let by_importer = Matrix::from_fn(n, n, |a, b| {
            let direct = importer_direct[(a, b)] * rf.direct[(a, b)];
            if by_origin.get(b) == Some(&true) {
                return direct + transit_in[(a, b)] + routed_by_origin[(a, b)];
            }
            // Across a customs union there is no customs post: the importer sees what the
            // hub declares.
            let second = if union[(a, b)] > 0.0 {
                reexports_out[(a, b)]
            } else {
                reexports[(a, b)]
            };
            direct + transit_in[(a, b)] + second
        });
        Views {
            transit,
            shipped,
            by_exporter,
            by_importer,
            importer_direct,
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
#[expect(
    clippy::too_many_arguments,
    reason = "the recorded views draw on the routes, each hub's recording, the unions and the importers' conventions"
)]
pub fn final_from_recorded(
    recorded: &Matrix,
    reporters: &[Reporter],
    routing: &Routing,
    recording: &[HubRecording],
    union: &Matrix,
    by_origin: &[bool],
    eco: &Economies,
    options: &RecordedOptions,
) -> Result<(Matrix, SolveReport), FinalFlowsError> {
    let stage = "base-year final flows";
    let mut x = recorded.clone();
    let mut change = f64::INFINITY;
    for it in 1..=options.max_iterations {
        let (next, c) = recorded_step(
            &x, recorded, reporters, routing, recording, union, by_origin, eco,
        )?;
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
/// `x_ab' = (recorded_ab - routed_ab(x)) / (seen_ab direct_share_ab)`, with `seen_ab` the share
/// of the direct flow the reporter records (a hub's `own_share` as importer, else 1) and
/// `routed_ab(x)` the goods
/// routed through hubs that the pair's reporter also counts on that link (see [`Views`]).
/// Returns the new flows and the largest change relative to the old flow (`+inf` when a
/// new flow is not a finite number).
#[expect(
    clippy::too_many_arguments,
    reason = "the recorded views draw on the routes, each hub's recording, the unions and the importers' conventions"
)]
fn recorded_step(
    x: &Matrix,
    recorded: &Matrix,
    reporters: &[Reporter],
    routing: &Routing,
    recording: &[HubRecording],
    union: &Matrix,
    by_origin: &[bool],
    eco: &Economies,
) -> Result<(Matrix, f64), FinalFlowsError> {
    let n = recorded.nrows();
    let rf = route_flows(x, routing).map_err(|error| FinalFlowsError::Route {
        named: error.named(eco),
        error,
    })?;
    let v = Views::new(&rf, recording, union, by_origin);
    let mut next = x.clone();
    let mut change = 0.0f64;
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            // The reporter's view and the share of the direct flow it sees (an importer
            // that under-records its own purchases sees `own_share` of them).
            let (view, seen) = match reporters[a * n + b] {
                Reporter::Model => continue,
                Reporter::Exporter => (&v.by_exporter, 1.0),
                Reporter::Importer => (&v.by_importer, v.importer_direct[(a, b)]),
            };
            let routed_in_view = view[(a, b)] - seen * rf.direct[(a, b)];
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
            let xab = direct / (seen * direct_share);
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
    sector: Code,
    n: usize,
    x: &Matrix,
    rf: &RouteFlows,
    v: &Views,
    recording: &[HubRecording],
    d: &Dynamics,
) {
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let (exporter, importer) = (code(a), code(b));
            out.flows.push(FlowRow {
                year,
                sector,
                exporter,
                importer,
                shipped: v.shipped[(a, b)],
                final_destination: x[(a, b)],
            });
            for (reporter, view) in [(a, &v.by_exporter), (b, &v.by_importer)] {
                out.recorded.push(RecordedRow {
                    year,
                    sector,
                    exporter,
                    importer,
                    reporter: code(reporter),
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
        let row = |via: Option<Code>, value: f64| RouteRow {
            year,
            sector,
            origin: code(i),
            via,
            destination: code(target),
            value,
            pair_fraction: fraction(value, total),
            target_imports_fraction: fraction(value, imports),
        };
        out.routes.push(row(None, rf.direct[(i, target)]));
        for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
            if k == i {
                continue;
            }
            out.routes.push(row(Some(code(k)), flows[(i, target)]));
        }
    }
    for (h, (flows, &k)) in rf.via.iter().zip(&rf.hubs).enumerate() {
        let margin = routes.layout.margin.get(h).copied().unwrap_or(0.0);
        for i in (0..n).filter(|&i| i != k) {
            let imports = rf.direct[(i, k)] + v.transit[(i, k)];
            let re = flows[(i, target)];
            let seen = recording.get(h).map_or(1.0, |r| r.exports_of(i));
            out.reexports.push(ReexportRow {
                year,
                sector,
                intermediary: code(k),
                origin: code(i),
                imports_from_origin: imports,
                reexports_to_target: re,
                reexport_fraction: fraction(re, imports),
                recorded_by_intermediary: seen * re,
                margin_income: margin * re,
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

/// Each economy's income from intermediation (`routes.margin` times the value of its
/// re-exports to the target), data unit: in the sector's base year and in this year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Margins<'a> {
    pub(super) base: &'a Vector,
    pub(super) year: &'a Vector,
}

impl Margins<'_> {
    /// The margin income of each economy on the route flows `rf`.
    pub(super) fn income(rf: &RouteFlows, layout: Option<&RouteLayout>, n: usize) -> Vector {
        let mut m = Vector::zeros(n);
        if let Some(l) = layout {
            for ((flows, &k), &share) in rf.via.iter().zip(&rf.hubs).zip(&l.margin) {
                if share > 0.0 {
                    m[k] += share * flows.column(l.target).sum();
                }
            }
        }
        m
    }
}

/// The base-year and year levels of one country in one year, summed over sectors, from
/// which its all-sector row is made (see [`CountryTotalRow`]).
#[derive(Debug, Clone, Default)]
pub(super) struct CountrySums {
    output: (f64, f64),
    foreign_exports: (f64, f64),
    foreign_imports: (f64, f64),
    expenditure: (f64, f64),
    /// `sum_s E_s ln(P'_s / P_s)`: the log price index, times the expenditure weight.
    price_index_log: f64,
    /// `sum_s Y_s ln(p'_s / p_s)`: the log factory-gate price, times the output weight.
    price_log: f64,
}

impl CountrySums {
    /// Adds one sector's base-year and year levels of every economy to `sums` (one entry
    /// per economy); returns the sector's own country results, which its rows hold.
    /// `margins` is each economy's income from intermediation in the base year and in
    /// this year (data unit): it counts towards the economy's expenditure, so welfare
    /// includes it (real GDP and output are goods production and do not).
    pub(super) fn add(
        sums: &mut [CountrySums],
        eco: &Economies,
        base: &Equilibrium,
        eq: &Equilibrium,
        margins: &Margins<'_>,
    ) -> Vec<CountryResult> {
        let foreign_exports = |e: &Equilibrium, i: usize| e.trade.row(i).sum() - e.trade[(i, i)];
        let foreign_imports = |e: &Equilibrium, j: usize| e.trade.column(j).sum() - e.trade[(j, j)];
        let mut results = country_results(eco, base, eq);
        for (i, c) in results.iter_mut().enumerate() {
            let (m0, m1) = (margins.base[i], margins.year[i]);
            if m0 != 0.0 || m1 != 0.0 {
                let income = (1.0 + m1 / eq.expenditure[i]) / (1.0 + m0 / base.expenditure[i]);
                c.welfare_change_pct =
                    100.0 * ((1.0 + c.welfare_change_pct / 100.0) * income - 1.0);
            }
            let t = &mut sums[i];
            let log = |pct: f64| (1.0 + pct / 100.0).ln();
            t.output.0 += base.output[i];
            t.output.1 += eq.output[i];
            t.foreign_exports.0 += foreign_exports(base, i);
            t.foreign_exports.1 += foreign_exports(eq, i);
            t.foreign_imports.0 += foreign_imports(base, i);
            t.foreign_imports.1 += foreign_imports(eq, i);
            t.expenditure.0 += base.expenditure[i] + margins.base[i];
            t.expenditure.1 += eq.expenditure[i] + margins.year[i];
            t.price_index_log +=
                (base.expenditure[i] + margins.base[i]) * (eq.imr[i] / base.imr[i]).ln();
            t.price_log += base.output[i] * log(c.factory_gate_price_change_pct);
        }
        results
    }

    /// The all-sector changes these sums give, in the order of [`CountryTotalRow`]'s
    /// columns: welfare, real GDP, factory-gate price, output, foreign exports and foreign
    /// imports, each in percent.
    pub(super) fn changes(&self) -> [f64; 6] {
        let geometric = |log_sum: f64, weight: f64| {
            if weight > 0.0 {
                (log_sum / weight).exp()
            } else {
                1.0
            }
        };
        // One price index for the country over its sectors: Cobb-Douglas in the base
        // year's expenditure shares.
        let price_index = geometric(self.price_index_log, self.expenditure.0);
        let real = |(old, new): (f64, f64)| {
            if old > 0.0 {
                100.0 * (new / old / price_index - 1.0)
            } else {
                0.0
            }
        };
        [
            real(self.expenditure),
            real(self.output),
            100.0 * (geometric(self.price_log, self.output.0) - 1.0),
            pct_change(self.output.0, self.output.1),
            pct_change(self.foreign_exports.0, self.foreign_exports.1),
            pct_change(self.foreign_imports.0, self.foreign_imports.1),
        ]
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a sector-year's country rows draw on all of these"
)]
fn push_countries(
    out: &mut YearRun,
    sums: &mut [CountrySums],
    year: i32,
    sector: Code,
    eco: &Economies,
    base: &Equilibrium,
    eq: &Equilibrium,
    margins: &Margins<'_>,
) {
    for (i, c) in CountrySums::add(sums, eco, base, eq, margins)
        .iter()
        .enumerate()
    {
        out.countries
            .push(YearCountryRow::new(year, sector, code(i), c));
    }
}

/// Rows summed by key, in the order each key first appears.
///
/// Every sector repeats the first sector's keys in the same order, so the sum a row adds
/// to is nearly always the one after the last row's: that guess is checked first, and the
/// hash map is asked only where it fails (once a sector), not once a row (a random memory
/// access into hundreds of thousands of sums). The sums are the same either way, added in
/// the same order.
fn sum_by<R, T, K: std::hash::Hash + Eq + Clone>(
    rows: &[R],
    key: impl Fn(&R) -> K,
    first: impl Fn(&R) -> T,
    add: impl Fn(&mut T, &R),
) -> Vec<T> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut keys: Vec<K> = Vec::new();
    let mut out: Vec<T> = Vec::new();
    let mut next = 0;
    for r in rows {
        let k = key(r);
        if keys.get(next) == Some(&k) {
            add(&mut out[next], r);
            next += 1;
            continue;
        }
        match index.get(&k) {
            Some(&at) => {
                add(&mut out[at], r);
                next = at + 1;
            }
            None => {
                index.insert(k.clone(), out.len());
                keys.push(k);
                out.push(first(r));
                next = out.len();
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
    let name = |c: Code| eco.code(usize::from(c)).to_owned();
    let flows = sum_by(
        &out.flows,
        |r| (r.year, r.exporter, r.importer),
        |r| FlowTotalRow {
            year: r.year,
            exporter: name(r.exporter),
            importer: name(r.importer),
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
        |r| (r.year, r.exporter, r.importer, r.reporter),
        |r| RecordedTotalRow {
            year: r.year,
            exporter: name(r.exporter),
            importer: name(r.importer),
            reporter: name(r.reporter),
            recorded: r.recorded,
        },
        |t, r| t.recorded += r.recorded,
    );
    let mut routes = sum_by(
        &out.routes,
        |r| (r.year, r.origin, r.via),
        |r| RouteTotalRow {
            year: r.year,
            origin: name(r.origin),
            via: r.via.map_or_else(|| DIRECT.to_owned(), name),
            destination: name(r.destination),
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
        |r| (r.year, r.intermediary),
        |r| ReexportTotalRow {
            year: r.year,
            intermediary: name(r.intermediary),
            imports_from_origins: r.imports_from_origin,
            reexports_to_target: r.reexports_to_target,
            reexport_fraction: 0.0,
            recorded_by_intermediary: r.recorded_by_intermediary,
            margin_income: r.margin_income,
        },
        |t, r| {
            t.imports_from_origins += r.imports_from_origin;
            t.reexports_to_target += r.reexports_to_target;
            t.recorded_by_intermediary += r.recorded_by_intermediary;
            t.margin_income += r.margin_income;
        },
    );
    for r in &mut reexports {
        r.reexport_fraction = fraction(r.reexports_to_target, r.imports_from_origins);
    }
    let mut countries = Vec::new();
    for (yi, &year) in years.iter().enumerate() {
        for (i, t) in sums[yi].iter().enumerate() {
            countries.push(CountryTotalRow::new(
                year,
                eco.code(i).to_owned(),
                t.changes(),
            ));
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

/// Every number of the rows is finite; else the error names the first row that is not.
fn check_rows_finite(out: &YearRun) -> Result<(), RunError> {
    let name = |c: Code| out.economy(c).to_owned();
    finite_rows(
        &out.flows,
        |r| [r.shipped, r.final_destination],
        |r| NonFiniteAt::YearFlow {
            exporter: name(r.exporter),
            importer: name(r.importer),
            year: r.year,
        },
    )?;
    finite_rows(
        &out.recorded,
        |r| [r.recorded],
        |r| NonFiniteAt::Recorded {
            exporter: name(r.exporter),
            importer: name(r.importer),
            reporter: name(r.reporter),
            year: r.year,
        },
    )?;
    finite_rows(
        &out.routes,
        |r| [r.value, r.pair_fraction, r.target_imports_fraction],
        |r| NonFiniteAt::Route {
            origin: name(r.origin),
            via: r.via.map_or_else(|| DIRECT.to_owned(), name),
            year: r.year,
        },
    )?;
    finite_rows(
        &out.reexports,
        |r| {
            [
                r.imports_from_origin,
                r.reexports_to_target,
                r.reexport_fraction,
                r.recorded_by_intermediary,
                r.margin_income,
            ]
        },
        |r| NonFiniteAt::Reexports {
            origin: name(r.origin),
            intermediary: name(r.intermediary),
            year: r.year,
        },
    )?;
    finite_rows(&out.countries, YearCountryRow::changes, |r| {
        NonFiniteAt::YearCountry {
            country: name(r.country),
            year: r.year,
        }
    })?;
    finite_rows(&out.totals.countries, CountryTotalRow::changes, |r| {
        NonFiniteAt::CountryTotal {
            country: r.country.clone(),
            year: r.year,
        }
    })
}

/// `Ok` when every one of `values` of every row is finite, else the error `at` of the first
/// row that holds another number.
fn finite_rows<R, const N: usize>(
    rows: &[R],
    values: impl Fn(&R) -> [f64; N],
    at: impl Fn(&R) -> NonFiniteAt,
) -> Result<(), RunError> {
    match rows
        .iter()
        .find(|r| !values(r).iter().all(|v| v.is_finite()))
    {
        Some(r) => Err(RunError::NonFinite(at(r))),
        None => Ok(()),
    }
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
    fn case(
        r_oh: f64,
    ) -> (
        Matrix,
        Vec<Reporter>,
        Routing,
        Vec<HubRecording>,
        Matrix,
        Economies,
    ) {
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
            vec![HubRecording {
                imports: Vector::from_element(3, 1.0),
                exports: Vector::from_element(3, 1.0),
                lost: Vector::zeros(3),
                own: Vector::from_element(3, 1.0),
            }],
            Matrix::zeros(3, 3),
            eco,
        )
    }

    /// A number that is not finite in any file of a run is an error naming the first row
    /// that holds one, by kind of row.
    #[test]
    fn a_row_that_is_not_finite_is_named() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/roundabout/no_war.toml");
        let run = run_years(&Scenario::from_file(&path).unwrap()).unwrap();
        let at = |r: &YearRun| match check_rows_finite(r) {
            Err(RunError::NonFinite(at)) => at,
            other => panic!("expected a non-finite row, got {other:?}"),
        };
        let mut r = run.clone();
        r.flows[1].final_destination = f64::NAN;
        let f = &r.flows[1];
        let (exporter, importer) = (
            r.economy(f.exporter).to_owned(),
            r.economy(f.importer).to_owned(),
        );
        let e = at(&r);
        assert_eq!(
            e,
            NonFiniteAt::YearFlow {
                exporter: exporter.clone(),
                importer: importer.clone(),
                year: f.year
            }
        );
        assert_eq!(
            e.to_string(),
            format!("flow {exporter}->{importer} in {}", f.year)
        );
        let mut r = run.clone();
        r.routes[0].pair_fraction = f64::INFINITY;
        assert!(matches!(at(&r), NonFiniteAt::Route { .. }));
        let mut r = run.clone();
        let last = r.totals.countries.len() - 1;
        r.totals.countries[last].welfare_change_pct = f64::NAN;
        let c = r.totals.countries[last].country.clone();
        assert_eq!(
            at(&r).to_string(),
            format!(
                "country {c} (all sectors) in {}",
                r.totals.countries[last].year
            )
        );
        assert!(check_rows_finite(&run).is_ok());
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
            &[],
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

    /// A hub that records only `own_share` of its own purchases: its import record of O
    /// (5, as in `recorded_to_final_by_hand`, now reported by H) holds the transit 2 in full
    /// and half of O's sales to H, so those are (5 - 2) / 0.5 = 6; the views give it back.
    #[test]
    fn a_hub_that_under_records_its_own_purchases() {
        let (rec, mut rep, routing, mut recording, union, eco) = case(5.0);
        rep[1] = Reporter::Importer;
        recording[0].own[0] = 0.5;
        let (x, _) = final_from_recorded(
            &rec,
            &rep,
            &routing,
            &recording,
            &union,
            &[],
            &eco,
            &RecordedOptions::default(),
        )
        .unwrap();
        assert!((x[(0, 1)] - 6.0).abs() < 1e-12, "{}", x[(0, 1)]);
        let rf = route_flows(&x, &routing).unwrap();
        let v = Views::new(&rf, &recording, &union, &[]);
        assert!((v.by_importer[(0, 1)] - 5.0).abs() < 1e-12);
        // O's own record of the same link counts its sales in full.
        assert!((v.by_exporter[(0, 1)] - 8.0).abs() < 1e-12);
    }

    #[test]
    fn a_tiny_cap_is_a_reported_reason() {
        let (rec, rep, routing, rho, union, eco) = case(5.0);
        let one = RecordedOptions::new(1e-13, 1).unwrap();
        let e =
            final_from_recorded(&rec, &rep, &routing, &rho, &union, &[], &eco, &one).unwrap_err();
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
        let e =
            final_from_recorded(&rec, &rep, &routing, &rho, &union, &[], &eco, &opts).unwrap_err();
        assert!(matches!(e, FinalFlowsError::Infeasible { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("infeasible routes: O recorded 1.0000 for O->H"));
        let (mut rec, rep, routing, rho, union, eco) = case(5.0);
        rec[(1, 2)] = f64::NAN;
        let e =
            final_from_recorded(&rec, &rep, &routing, &rho, &union, &[], &eco, &opts).unwrap_err();
        assert!(matches!(e, FinalFlowsError::Route { .. }), "{e}");
        assert!(e.to_string().contains("H->T"), "{e}");
        let wrong = RecordedOptions::new(f64::NAN, 0).unwrap_err();
        assert_eq!(wrong.len(), 2);
    }
    /// Origin O (0) ships 10 to target T (2) through hub H (1) and 4 directly; H buys 3
    /// from O for itself. With `recording`, H's customs and T's follow the shares.
    fn transit_case(rec: HubRecording, union: bool) -> Views {
        let mut direct = Matrix::zeros(3, 3);
        direct[(0, 2)] = 4.0;
        direct[(0, 1)] = 3.0;
        let mut via = Matrix::zeros(3, 3);
        via[(0, 2)] = 10.0;
        let rf = RouteFlows {
            direct,
            via: vec![via],
            hubs: vec![1],
        };
        let mut u = Matrix::zeros(3, 3);
        if union {
            u[(1, 2)] = 1.0;
            u[(2, 1)] = 1.0;
        }
        Views::new(&rf, &[rec], &u, &[])
    }

    fn recording(imports: f64, exports: f64, lost: f64) -> HubRecording {
        HubRecording {
            imports: Vector::from_element(3, imports),
            exports: Vector::from_element(3, exports),
            lost: Vector::from_element(3, lost),
            own: Vector::from_element(3, 1.0),
        }
    }

    /// The hub's import record and its export record are different figures, and a share
    /// lost in transit is in neither; the origin records all it ships to the hub, and the
    /// target (outside a customs union) all it receives from it.
    #[test]
    fn a_hub_records_its_imports_and_exports_of_transit_apart() {
        let v = transit_case(recording(0.8, 0.3, 0.0), false);
        assert_eq!(v.by_exporter[(0, 1)], 13.0);
        assert!((v.by_importer[(0, 1)] - (3.0 + 8.0)).abs() < 1e-12);
        assert!((v.by_exporter[(1, 2)] - 3.0).abs() < 1e-12);
        assert_eq!(v.by_importer[(1, 2)], 10.0);
        // Half lost in transit: the hub sees half as much in both directions.
        let v = transit_case(recording(0.8, 0.3, 0.5), false);
        assert_eq!(v.by_exporter[(0, 1)], 13.0);
        assert!((v.by_importer[(0, 1)] - (3.0 + 4.0)).abs() < 1e-12);
        assert!((v.by_exporter[(1, 2)] - 1.5).abs() < 1e-12);
        // In a customs union the target sees what the hub declares.
        let v = transit_case(recording(0.8, 0.3, 0.5), true);
        assert!((v.by_importer[(1, 2)] - 1.5).abs() < 1e-12);
    }

    /// A target that records imports by origin books the transit under the origin: O's
    /// goods through H count as imports from O (all of them, or what H declares when the
    /// two share a customs union), and none of them as imports from H.
    #[test]
    fn an_importer_recording_by_origin_books_transit_under_the_origin() {
        let mut direct = Matrix::zeros(3, 3);
        direct[(0, 2)] = 4.0;
        direct[(1, 2)] = 2.0;
        let mut via = Matrix::zeros(3, 3);
        via[(0, 2)] = 10.0;
        let rf = RouteFlows {
            direct,
            via: vec![via],
            hubs: vec![1],
        };
        let by_origin = [false, false, true];
        let v = Views::new(
            &rf,
            &[recording(0.5, 0.3, 0.0)],
            &Matrix::zeros(3, 3),
            &by_origin,
        );
        assert_eq!(v.by_importer[(0, 2)], 14.0);
        assert_eq!(v.by_importer[(1, 2)], 2.0);
        // The exporters' records do not change.
        assert_eq!(v.by_exporter[(0, 2)], 4.0);
        assert!((v.by_exporter[(1, 2)] - (2.0 + 3.0)).abs() < 1e-12);
        let mut union = Matrix::zeros(3, 3);
        union[(1, 2)] = 1.0;
        let v = Views::new(&rf, &[recording(0.5, 0.3, 0.0)], &union, &by_origin);
        assert!((v.by_importer[(0, 2)] - (4.0 + 3.0)).abs() < 1e-12);
        assert_eq!(v.by_importer[(1, 2)], 2.0);
    }

    /// A lost-in-transit share of 1: the hub records nothing of the transit (only its own
    /// purchases), whatever its recorded shares; the shipments are unchanged.
    #[test]
    fn all_lost_in_transit_means_the_hub_records_nothing() {
        let v = transit_case(recording(1.0, 1.0, 1.0), true);
        assert_eq!(v.by_importer[(0, 1)], 3.0);
        assert_eq!(v.by_exporter[(1, 2)], 0.0);
        assert_eq!(v.by_importer[(1, 2)], 0.0);
        assert_eq!(v.by_exporter[(0, 1)], 13.0);
        assert_eq!(v.shipped[(0, 1)], 13.0);
        assert_eq!(v.shipped[(1, 2)], 10.0);
    }

    fn state(wedge_ot: f64, opening: Option<f64>) -> PolicyState {
        let mut wedge = Matrix::from_element(3, 3, 1.0);
        wedge[(0, 2)] = wedge_ot;
        PolicyState {
            wedge,
            via: vec![Matrix::from_element(3, 3, 2.0)],
            demand: Matrix::from_element(3, 3, 1.0),
            cost: Matrix::from_element(3, 3, 1.0),
            growth: Vector::from_element(3, 1.0),
            union: Matrix::zeros(3, 3),
            recording: vec![recording(1.0, 1.0, 0.0)],
            opening: vec![vec![opening, None, None]],
        }
    }

    /// Direct flows on a closed link close `closing` of their gap, other direct flows
    /// `general`; a route flow with an opening speed grows at it, and falls at `general`.
    #[test]
    fn closed_links_and_opening_channels_move_at_their_own_speeds() {
        let flows = |d: f64, v: f64| {
            let mut direct = Matrix::from_element(3, 3, 1.0);
            direct[(0, 2)] = d;
            let mut via = Matrix::zeros(3, 3);
            via[(0, 2)] = v;
            RouteFlows {
                direct,
                via: vec![via],
                hubs: vec![1],
            }
        };
        let prev = flows(10.0, 1.0);
        let target = flows(0.0, 5.0);
        let st = state(f64::INFINITY, Some(0.9));
        let speeds = Speeds {
            general: 0.5,
            closing: 0.8,
            state: &st,
        };
        let out = adjust(&prev, &target, &speeds);
        assert!((out.direct[(0, 2)] - 2.0).abs() < 1e-12);
        assert!((out.via[0][(0, 2)] - (1.0 + 0.9 * 4.0)).abs() < 1e-12);
        // Another link, open: the general speed.
        let mut t2 = target.clone();
        t2.direct[(1, 2)] = 3.0;
        let out = adjust(&prev, &t2, &speeds);
        assert!((out.direct[(1, 2)] - 2.0).abs() < 1e-12);
        // An open direct link closes at the general speed; a shrinking route flow too.
        let st = state(1.5, Some(0.9));
        let speeds = Speeds {
            general: 0.5,
            closing: 0.8,
            state: &st,
        };
        let out = adjust(&prev, &flows(0.0, 0.0), &speeds);
        assert!((out.direct[(0, 2)] - 5.0).abs() < 1e-12);
        assert!((out.via[0][(0, 2)] - 0.5).abs() < 1e-12);
    }
}
