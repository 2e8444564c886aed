//! The key series of a yearly run computed directly, for the commands that run a scenario
//! many times and keep only its series (Monte Carlo draws, sweep points).
//!
//! [`super::run_years`] builds every result row (flows, recorded views, routes, re-exports,
//! countries, their all-sector totals: thousands of rows of economy codes per run) and
//! [`super::key_series`] then reads a few dozen numbers back out of them. [`key_outputs`]
//! runs the same yearly loop and adds up only what the key series need, in the same order,
//! so the values are the same to the last bit (`tests/it/montecarlo.rs` compares both paths
//! on every bundled yearly scenario and on Monte Carlo draws).
//!
//! A run whose rows would hold a value that is not a finite number is an error in
//! [`super::run_years`], whose message names the first such row. This path checks the same
//! numbers (without building the rows) and, if one is not finite, runs the full path to
//! report that very error; so do runs whose shape this path does not handle (none of the
//! bundled ones).

use super::series::{yearly_series, Series};
use super::years::{
    adjust, check_year_costs, costs_in_year, fraction, network_links, network_routing, pct_change,
    recorded_shares, Views,
};
use super::{key_series, outputs, run_years, RunError};
use crate::gravity::{costs_from_flows, country_results, Equilibrium, GeMode, GravityModel};
use crate::policy::PolicyState;
use crate::routes::{detour, route_flows, RouteError, RouteFlows, Routing, Via};
use crate::scenario::{RouteForm, Scenario};
use crate::world::{GravityData, Matrix};

/// The output series of one run, as [`super::outputs`] gives them: for a yearly scenario
/// through [`key_outputs`], otherwise [`super::outputs`] itself.
pub fn outputs_direct(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, String> {
    if s.dynamics().is_some() {
        key_outputs(s)
    } else {
        outputs(s)
    }
}

/// The key series of a yearly scenario by year (`(name, Some(year), value)`, the order of
/// [`super::key_series`]), computed without building the result rows. The same values as
/// `key_series(&run_years(s)?, s)`, bit for bit, and the same error message when the run
/// fails.
pub fn key_outputs(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, String> {
    let mut out = Vec::new();
    match direct(s, &mut |x: &Series, year, value| {
        out.push((x.name(), Some(year), value))
    }) {
        Ok(true) => Ok(out),
        // Not finite somewhere, or a shape this path leaves to the full one: the full path
        // gives the values or names the row.
        Ok(false) => full(s),
        Err(e) => Err(e.to_string()),
    }
}

/// The values of [`outputs_direct`] alone, in the same order, written into `out` (cleared
/// first): what a Monte Carlo draw keeps, without formatting a series name. The names and
/// years are those of [`outputs_direct`] for the same scenario shape; a caller that runs
/// many scenarios of one shape reads them once.
pub fn output_values(s: &Scenario, out: &mut Vec<f64>) -> Result<(), String> {
    out.clear();
    if s.dynamics().is_none() {
        out.extend(outputs(s)?.into_iter().map(|(_, _, v)| v));
        return Ok(());
    }
    match direct(s, &mut |_: &Series, _, value| out.push(value)) {
        Ok(true) => Ok(()),
        Ok(false) => {
            out.clear();
            out.extend(full(s)?.into_iter().map(|(_, _, v)| v));
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn full(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, String> {
    let r = run_years(s).map_err(|e| e.to_string())?;
    Ok(key_series(&r, s)
        .into_iter()
        .map(|p| (p.series, Some(p.year), p.value))
        .collect())
}

/// Where a wanted series reads its value in one year's totals.
enum Source {
    /// Final imports of the route target.
    Imports,
    /// The direct route's share of them.
    DirectShare,
    /// Goods routed through `via[h]` into the target.
    Reexports(usize),
    /// `a -> b` as the exporter (`true`) or the importer records it.
    Recorded(usize, usize, bool),
    /// A series no row gives (zero, as in [`super::key_series`]).
    Zero,
}

/// Per year, the all-sector sums the key series read: route values by origin (`direct`
/// first, then each hub), and the recorded values of the wanted pairs. The first sector
/// sets a sum and later ones add to it, as the total rows do.
struct YearSums {
    /// `routes[i * (1 + hubs) + slot]`.
    routes: Vec<f64>,
    recorded: Vec<f64>,
}

/// The key series, each given to `emit` (series, year, value) in output order; `Ok(false)`
/// when the full path must decide (see the module docs), in which case `emit` was never
/// called.
fn direct(s: &Scenario, emit: &mut dyn FnMut(&Series, i32, f64)) -> Result<bool, RunError> {
    let d = s.dynamics.as_ref().ok_or(RunError::NoYears)?;
    let eco = &s.data.economies;
    let n = eco.len();
    let years: Vec<i32> = (d.base_year..=d.horizon).collect();
    let layout = d.routes.as_ref().map(|r| &r.layout);
    let wanted = yearly_series(s);
    let target = layout.map(|l| l.target);
    let hubs: Vec<usize> = layout.map(|l| l.hubs.clone()).unwrap_or_default();
    let slots = 1 + hubs.len();
    let position = |code: &str| eco.position(code);
    let sources: Vec<Source> = wanted
        .iter()
        .map(|x| {
            let is_target = |t: &str| target.is_some() && position(t) == target;
            match x {
                Series::ImportsFinal { target } if is_target(target) => Source::Imports,
                Series::DirectShare { target } if is_target(target) => Source::DirectShare,
                Series::Reexports { hub, target } if is_target(target) => {
                    match hubs.iter().position(|&k| Some(k) == position(hub)) {
                        Some(h) => Source::Reexports(h),
                        None => Source::Zero,
                    }
                }
                Series::Recorded {
                    exporter,
                    importer,
                    reporter,
                } => match (position(exporter), position(importer)) {
                    (Some(a), Some(b)) if a != b && reporter == exporter => {
                        Source::Recorded(a, b, true)
                    }
                    (Some(a), Some(b)) if a != b && reporter == importer => {
                        Source::Recorded(a, b, false)
                    }
                    _ => Source::Zero,
                },
                _ => Source::Zero,
            }
        })
        .collect();
    // Two hubs with one code would share route rows: the full path adds them up.
    if (1..hubs.len()).any(|h| hubs[..h].contains(&hubs[h])) {
        return Ok(false);
    }
    let recorded_pairs: Vec<(usize, usize, bool)> = sources
        .iter()
        .filter_map(|x| match x {
            Source::Recorded(a, b, e) => Some((*a, *b, *e)),
            _ => None,
        })
        .collect();
    let mut sums: Vec<YearSums> = years
        .iter()
        .map(|_| YearSums {
            routes: vec![0.0; n * slots],
            recorded: vec![0.0; recorded_pairs.len()],
        })
        .collect();
    // The country totals' inputs, to check them as the total rows are checked.
    let mut country = vec![CountryCheck::default(); years.len() * n];
    let rho = recorded_shares(d, n);
    for (si, sector) in d.sectors.iter().enumerate() {
        let theta = d
            .routes
            .as_ref()
            .map_or(sector.sigma - 1.0, |r| r.theta_for(sector.sigma));
        let state =
            |year: i32| PolicyState::at(&d.instruments, n, layout, d.base_year, year, si, theta);
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
        let (final0, _) = super::final_from_recorded(
            &recorded,
            &d.reporters,
            &routing0,
            &rho,
            &st0.union,
            eco,
            &super::RecordedOptions::default(),
        )
        .map_err(|reason| RunError::BaseYear {
            sector: sector.name.clone(),
            year: d.base_year,
            reason: Box::new(reason),
        })?;
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
        let (base_eq, _) = model.baseline()?;
        let mut rf_prev: Option<RouteFlows> = None;
        for (yi, &year) in years.iter().enumerate() {
            let st = state(year);
            let routing = routing_of(&st)?;
            let experiment;
            let eq = if year == d.base_year {
                &base_eq
            } else {
                let t = costs_in_year(&t0, &routing, &routing0, &st, &st0, sector.sigma);
                check_year_costs(&t, eco, &sector.name, sector.sigma, theta, year)?;
                let growth = st.growth.component_div(&st0.growth);
                experiment = model
                    .counterfactual_with_growth(&base_eq, &t, &growth, GeMode::Complete)?
                    .experiment;
                &experiment
            };
            let flows_target = if year == d.base_year {
                &final0
            } else {
                &eq.trade
            };
            let rf_star =
                route_flows(flows_target, &routing).map_err(|error| RunError::YearRoutes {
                    sector: sector.name.clone(),
                    year,
                    named: error.named(eco),
                    error,
                })?;
            let rf = match &rf_prev {
                None => rf_star,
                Some(prev) => adjust(prev, &rf_star, d.adjustment),
            };
            let views = Views::new(&rf, &rho, &st.union);
            if !rows_finite(&rf, &views, target) {
                return Ok(false);
            }
            if !countries_finite(&base_eq, eq, &mut country[yi * n..(yi + 1) * n], eco) {
                return Ok(false);
            }
            let y = &mut sums[yi];
            let add = |acc: &mut f64, v: f64| *acc = if si == 0 { v } else { *acc + v };
            if let Some(t) = target {
                for i in (0..n).filter(|&i| i != t) {
                    add(&mut y.routes[i * slots], rf.direct[(i, t)]);
                    for (h, (flows, &k)) in rf.via.iter().zip(&rf.hubs).enumerate() {
                        if k != i {
                            add(&mut y.routes[i * slots + 1 + h], flows[(i, t)]);
                        }
                    }
                }
            }
            for (slot, &(a, b, by_exporter)) in recorded_pairs.iter().enumerate() {
                let view = if by_exporter {
                    &views.by_exporter
                } else {
                    &views.by_importer
                };
                add(&mut y.recorded[slot], view[(a, b)]);
            }
            rf_prev = Some(rf);
        }
    }
    if !country.iter().all(CountryCheck::finite) {
        return Ok(false);
    }
    let mut via = vec![0.0; hubs.len()];
    for (yi, &year) in years.iter().enumerate() {
        let y = &sums[yi];
        // The order of the route total rows: origins, `direct` then each hub.
        let (mut imports, mut direct) = (0.0, 0.0);
        via.fill(0.0);
        if let Some(t) = target {
            for i in (0..n).filter(|&i| i != t) {
                imports += y.routes[i * slots];
                direct += y.routes[i * slots];
                for (h, &k) in hubs.iter().enumerate() {
                    if k != i {
                        imports += y.routes[i * slots + 1 + h];
                        via[h] += y.routes[i * slots + 1 + h];
                    }
                }
            }
        }
        let mut recorded = y.recorded.iter();
        for (x, source) in wanted.iter().zip(&sources) {
            let value = match source {
                Source::Imports => imports,
                Source::DirectShare => fraction(direct, imports),
                Source::Reexports(h) => via[*h],
                Source::Recorded(..) => *recorded.next().expect("one sum per recorded series"),
                Source::Zero => 0.0,
            };
            if matches!(x, Series::Country { .. }) {
                continue;
            }
            emit(x, year, value);
        }
    }
    Ok(true)
}

/// True when every number the year's flow, recorded, route and re-export rows of one
/// sector would hold is finite.
fn rows_finite(rf: &RouteFlows, v: &Views, target: Option<usize>) -> bool {
    let n = rf.len();
    let finite = |m: &Matrix| (0..n).all(|a| (0..n).all(|b| a == b || m[(a, b)].is_finite()));
    let x = rf.final_flows();
    if ![&v.shipped, &x, &v.by_exporter, &v.by_importer]
        .into_iter()
        .all(finite)
    {
        return false;
    }
    let Some(t) = target else { return true };
    let imports: f64 = (0..n).filter(|&i| i != t).map(|i| x[(i, t)]).sum();
    for i in (0..n).filter(|&i| i != t) {
        let total = x[(i, t)];
        let ok = |value: f64| {
            value.is_finite()
                && fraction(value, total).is_finite()
                && fraction(value, imports).is_finite()
        };
        if !ok(rf.direct[(i, t)]) {
            return false;
        }
        for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
            if k != i && !ok(flows[(i, t)]) {
                return false;
            }
        }
    }
    let transit = rf.transit();
    for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
        for i in (0..n).filter(|&i| i != k) {
            let imports = rf.direct[(i, k)] + transit[(i, k)];
            let re = flows[(i, t)];
            if !(imports.is_finite() && re.is_finite() && fraction(re, imports).is_finite()) {
                return false;
            }
        }
    }
    true
}

/// The sums behind one economy's all-sector country row in one year.
#[derive(Debug, Clone, Default)]
struct CountryCheck {
    output: (f64, f64),
    foreign_exports: (f64, f64),
    foreign_imports: (f64, f64),
    expenditure0: f64,
    welfare_log: f64,
    real_gdp_log: f64,
    price_log: f64,
}

impl CountryCheck {
    /// True when the all-sector country row these sums give is finite.
    fn finite(&self) -> bool {
        let geometric = |log_sum: f64, weight: f64| {
            if weight > 0.0 {
                100.0 * ((log_sum / weight).exp() - 1.0)
            } else {
                0.0
            }
        };
        [
            geometric(self.welfare_log, self.expenditure0),
            geometric(self.real_gdp_log, self.output.0),
            geometric(self.price_log, self.output.0),
            pct_change(self.output.0, self.output.1),
            pct_change(self.foreign_exports.0, self.foreign_exports.1),
            pct_change(self.foreign_imports.0, self.foreign_imports.1),
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

/// True when the year's country rows of one sector are finite; adds the sector to the
/// all-sector sums.
fn countries_finite(
    base: &Equilibrium,
    eq: &Equilibrium,
    sums: &mut [CountryCheck],
    eco: &crate::world::Economies,
) -> bool {
    let foreign_exports = |e: &Equilibrium, i: usize| e.trade.row(i).sum() - e.trade[(i, i)];
    let foreign_imports = |e: &Equilibrium, j: usize| e.trade.column(j).sum() - e.trade[(j, j)];
    for (i, c) in country_results(eco, base, eq).into_iter().enumerate() {
        let values = [
            c.welfare_change_pct,
            c.real_gdp_change_pct,
            c.factory_gate_price_change_pct,
            c.output_change_pct,
            c.foreign_exports_change_pct,
            c.foreign_imports_change_pct,
        ];
        if !values.iter().all(|v| v.is_finite()) {
            return false;
        }
        let t = &mut sums[i];
        let log = |pct: f64| (1.0 + pct / 100.0).ln();
        t.output.0 += base.output[i];
        t.output.1 += eq.output[i];
        t.foreign_exports.0 += foreign_exports(base, i);
        t.foreign_exports.1 += foreign_exports(eq, i);
        t.foreign_imports.0 += foreign_imports(base, i);
        t.foreign_imports.1 += foreign_imports(eq, i);
        t.expenditure0 += base.expenditure[i];
        t.welfare_log += base.expenditure[i] * log(c.welfare_change_pct);
        t.real_gdp_log += base.output[i] * log(c.real_gdp_change_pct);
        t.price_log += base.output[i] * log(c.factory_gate_price_change_pct);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montecarlo::MonteCarlo;
    /// The key series computed directly (what draws and sweep points run) equal, bit for bit,
    /// those read out of the full result rows: for every bundled yearly scenario, and for draws
    /// of `as_happened`, failed ones included (same message).
    #[test]
    fn direct_key_series_equal_the_ones_read_from_the_rows() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let bits = |v: &[(String, Option<i32>, f64)]| -> Vec<(String, Option<i32>, u64)> {
            v.iter()
                .map(|(s, y, x)| (s.clone(), *y, x.to_bits()))
                .collect()
        };
        let mut yearly = 0;
        for dir in ["scenarios", "scenarios/roundabout"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for path in files {
                let Ok(s) = Scenario::from_file(&path) else {
                    continue;
                };
                if s.dynamics().is_none() {
                    continue;
                }
                yearly += 1;
                let rows = outputs(&s).map(|v| bits(&v));
                let direct = key_outputs(&s).map(|v| bits(&v));
                assert_eq!(direct, rows, "{}", path.display());
            }
        }
        assert!(yearly >= 5, "only {yearly} yearly scenarios found");
        let path = root.join("scenarios/roundabout/as_happened.toml");
        let mc = MonteCarlo::from_file(&path).unwrap();
        let (mut ok, mut failed) = (0, 0);
        for index in 0..40 {
            let Ok(s) = mc.draw(7, index) else { continue };
            let rows = outputs(&s).map(|v| bits(&v));
            let direct = key_outputs(&s).map(|v| bits(&v));
            if rows.is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
            assert_eq!(direct, rows, "draw {index}");
        }
        assert!(ok > 0 && failed > 0, "{ok} draws ran, {failed} failed");
    }
}
