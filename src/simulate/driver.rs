//! The yearly loop, once: for each sector and each year, the instruments' state, the
//! routes, the gravity GE against the base year, the partial adjustment toward it and the
//! recorded views (see [`super::years`] for the model). What a caller keeps of each
//! sector-year is its [`YearSink`]'s business:
//!
//! - [`super::run_years`] keeps every result row (`years.rs`'s row sink);
//! - the key series of draws and sweep points keep a few sums (`key.rs`'s sink), and stop
//!   at the first number that is not finite, leaving the message to the row path.
//!
//! Both paths therefore run the same arithmetic in the same order, and their series agree
//! to the last bit (a test in `key.rs` checks it).

use std::ops::ControlFlow;

use super::years::{
    adjust, check_year_costs, costs_in_year, final_from_recorded, network_links, network_routing,
    Margins, RecordedOptions, Speeds, Views,
};
use super::RunError;
use crate::gravity::{costs_from_flows, Equilibrium, GeMode, GravityModel};
use crate::policy::PolicyState;
use crate::routes::{detour, route_flows, RouteError, RouteFlows, Routing, Via};
use crate::scenario::{RouteForm, Scenario};
use crate::solver::SolveReport;
use crate::world::{GravityData, Matrix};

/// One sector in one year, as the driver hands it to a [`YearSink`]. Sectors come in the
/// order of `[[sectors]]`, and within a sector the years in order.
pub(super) struct SectorYear<'a> {
    /// The sector's position in `[[sectors]]`.
    pub(super) si: usize,
    /// The year's position from the base year.
    pub(super) yi: usize,
    pub(super) year: i32,
    /// Final-destination flows after the adjustment (`rf.final_flows()`).
    pub(super) x: &'a Matrix,
    /// Flows by route after the adjustment.
    pub(super) rf: &'a RouteFlows,
    /// What each customs authority records of them.
    pub(super) views: &'a Views,
    /// The sector's base-year equilibrium, and this year's (the same in the base year).
    pub(super) base: &'a Equilibrium,
    pub(super) eq: &'a Equilibrium,
    /// Each economy's income from intermediation, in the base year and this year.
    pub(super) margins: Margins<'a>,
    /// What each hub records of the transit from each origin this year.
    pub(super) recording: &'a [crate::policy::HubRecording],
}

/// Which solve a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Solve {
    /// The recorded-to-final fixed point of a sector's base year.
    BaseYearFlows,
    /// A gravity solve: the base-year equilibrium or one of a year's counterfactuals.
    Gravity,
}

/// What a caller of [`drive`] keeps of each sector-year.
pub(super) trait YearSink {
    /// Takes one sector-year; `Break` ends the run there ([`drive`] returns it).
    fn year(&mut self, y: &SectorYear<'_>) -> ControlFlow<()>;

    /// Takes a solve's report, in the order the solves ran. The default drops it.
    fn report(&mut self, _solve: Solve, _sector: &str, _year: i32, _report: SolveReport) {}
}

/// Runs the yearly loop of `s` into `sink`: `Ok(Break)` when the sink stopped it, an error
/// when a year cannot be solved.
pub(super) fn drive(s: &Scenario, sink: &mut impl YearSink) -> Result<ControlFlow<()>, RunError> {
    let d = s.dynamics.as_ref().ok_or(RunError::NoYears)?;
    let eco = &s.data.economies;
    let n = eco.len();
    let layout = d.routes.as_ref().map(|r| &r.layout);
    let by_origin: &[bool] = layout.map_or(&[], |l| l.imports_by_origin.as_slice());
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
        // Route choice depends on a year's wedges and route multipliers alone (in both
        // forms): the routing of the last year routed, with the ones it came from, is reused
        // by years with the same ones, bit for bit (the base year, and every year after the
        // policies are phased in).
        let mut routed = (st0.wedge.clone(), st0.via.clone(), routing0.clone());
        let (final0, final_report) = final_from_recorded(
            &recorded,
            &d.reporters,
            &routing0,
            &st0.recording,
            &st0.union,
            by_origin,
            eco,
            &RecordedOptions::default(),
        )
        .map_err(|reason| RunError::BaseYear {
            sector: sector.name.clone(),
            year: d.base_year,
            reason: Box::new(reason),
        })?;
        sink.report(
            Solve::BaseYearFlows,
            &sector.name,
            d.base_year,
            final_report,
        );
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
        let (base_eq, report) = model.baseline()?;
        sink.report(Solve::Gravity, &sector.name, d.base_year, report);
        let mut rf_prev: Option<RouteFlows> = None;
        let mut margin0: Option<crate::world::Vector> = None;
        for (yi, year) in (d.base_year..=d.horizon).enumerate() {
            let st = state(year);
            let same = same_bits(&routed.0, &st.wedge)
                && routed.1.len() == st.via.len()
                && routed.1.iter().zip(&st.via).all(|(a, b)| same_bits(a, b));
            if !same {
                routed = (st.wedge.clone(), st.via.clone(), routing_of(&st)?);
            }
            let routing = &routed.2;
            let experiment;
            let eq = if year == d.base_year {
                &base_eq
            } else {
                let t = costs_in_year(&t0, routing, &routing0, &st, &st0, sector.sigma);
                check_year_costs(&t, eco, &sector.name, sector.sigma, theta, year)?;
                let growth = st.growth.component_div(&st0.growth);
                let cf =
                    model.counterfactual_with_growth(&base_eq, &t, &growth, GeMode::Complete)?;
                for r in cf.reports {
                    sink.report(Solve::Gravity, &sector.name, year, r);
                }
                experiment = cf.experiment;
                &experiment
            };
            let target = if year == d.base_year {
                &final0
            } else {
                &eq.trade
            };
            let rf_star = route_flows(target, routing).map_err(|error| RunError::YearRoutes {
                sector: sector.name.clone(),
                year,
                named: error.named(eco),
                error,
            })?;
            // Each route's flow closes `adjustment` of its gap to the year's equilibrium:
            // existing contracts wind down on a closed route while new channels build up.
            let rf = match &rf_prev {
                None => rf_star,
                Some(prev) => adjust(
                    prev,
                    &rf_star,
                    &Speeds {
                        general: d.adjustment,
                        closing: d.closing(),
                        state: &st,
                    },
                ),
            };
            let x = rf.final_flows();
            let income = Margins::income(&rf, layout, n);
            let margins = Margins {
                base: margin0.get_or_insert_with(|| income.clone()),
                year: &income,
            };
            let views = Views::new(&rf, &st.recording, &st.union, by_origin);
            let taken = sink.year(&SectorYear {
                si,
                yi,
                year,
                x: &x,
                rf: &rf,
                views: &views,
                base: &base_eq,
                eq,
                margins,
                recording: &st.recording,
            });
            if taken.is_break() {
                return Ok(taken);
            }
            rf_prev = Some(rf);
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Whether two matrices hold the same numbers, bit for bit.
fn same_bits(a: &Matrix, b: &Matrix) -> bool {
    a.shape() == b.shape()
        && a.as_slice()
            .iter()
            .zip(b.as_slice())
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the driver hands it; stops after `stop_after` sector-years.
    struct Trace {
        years: Vec<(usize, usize, i32, bool)>,
        reports: Vec<(Solve, String, i32)>,
        stop_after: usize,
    }

    impl YearSink for Trace {
        fn year(&mut self, y: &SectorYear<'_>) -> ControlFlow<()> {
            let base_is_eq = std::ptr::eq(y.base, y.eq);
            self.years.push((y.si, y.yi, y.year, base_is_eq));
            assert_eq!(
                y.x,
                &y.rf.final_flows(),
                "x is the route flows' final flows"
            );
            if self.years.len() >= self.stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }

        fn report(&mut self, solve: Solve, sector: &str, year: i32, _: SolveReport) {
            self.reports.push((solve, sector.to_owned(), year));
        }
    }

    /// Every sector-year once, sectors in order and years in order within each, the base
    /// year's equilibrium standing for itself; each sector's base-year fixed point and
    /// baseline reported before its later years; a sink's `Break` ends the run there.
    #[test]
    fn a_sink_sees_every_sector_year_in_order_and_can_stop_the_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/roundabout/as_happened.toml");
        let s = Scenario::from_file(&path).unwrap();
        let d = s.dynamics().unwrap();
        let trace = |stop_after| Trace {
            years: Vec::new(),
            reports: Vec::new(),
            stop_after,
        };
        let mut all = trace(usize::MAX);
        assert!(drive(&s, &mut all).unwrap().is_continue());
        let expected: Vec<(usize, usize, i32, bool)> = (0..d.sectors.len())
            .flat_map(|si| {
                (d.base_year..=d.horizon)
                    .enumerate()
                    .map(move |(yi, year)| (si, yi, year, yi == 0))
            })
            .collect();
        assert!(d.sectors.len() > 1 && d.horizon > d.base_year + 1);
        assert_eq!(all.years, expected);
        for sector in &d.sectors {
            let of: Vec<&(Solve, String, i32)> =
                all.reports.iter().filter(|r| r.1 == sector.name).collect();
            assert_eq!(
                of[0],
                &(Solve::BaseYearFlows, sector.name.clone(), d.base_year)
            );
            assert_eq!(of[1], &(Solve::Gravity, sector.name.clone(), d.base_year));
            assert!(of[2..]
                .iter()
                .all(|r| r.0 == Solve::Gravity && r.2 > d.base_year));
        }
        let mut two = trace(2);
        assert!(drive(&s, &mut two).unwrap().is_break());
        assert_eq!(two.years, expected[..2]);
    }
}
