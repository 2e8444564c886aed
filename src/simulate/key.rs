//! The key series of a yearly run computed directly, for the commands that run a scenario
//! many times and keep only its series (Monte Carlo draws, sweep points).
//!
//! [`super::run_years`] keeps every result row (flows, recorded views, routes, re-exports,
//! countries, their all-sector totals: thousands of rows of economy codes per run) and
//! [`super::key_series`] then reads a few dozen numbers back out of them. [`key_outputs`]
//! runs the same yearly loop ([`super::driver`]) with a sink that adds up only what the key
//! series need, in the same order, so the values are the same to the last bit (a test
//! below compares both paths on every bundled yearly scenario and on Monte Carlo draws).
//!
//! A run whose rows would hold a value that is not a finite number is an error in
//! [`super::run_years`], whose message names the first such row. This sink checks the same
//! numbers (without building the rows) and, if one is not finite, stops the loop and runs
//! the full path to report that very error; so do runs whose shape this path does not
//! handle (two hubs with one code; none of the bundled scenarios).

use std::ops::ControlFlow;

use super::driver::{drive, SectorYear, YearSink};
use super::series::{yearly_series, Series, COUNTRY_MEASURES};
use super::years::{fraction, CountrySums, Views};
use super::{key_series, run_countries, run_years, RunError, RunResults, YearCountryRow};
use crate::gravity::CountryResult;
use crate::routes::RouteFlows;
use crate::scenario::Scenario;
use crate::world::{Economies, Matrix};

/// The output series of one run, as [`super::outputs`] gives them: for a yearly scenario
/// through [`key_outputs`], otherwise from the single counterfactual's country results
/// ([`country_series`]).
pub fn outputs_direct(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, RunError> {
    if s.dynamics().is_some() {
        key_outputs(s)
    } else {
        Ok(series_of_countries(&run_countries(s)?))
    }
}

/// The series of a single counterfactual: welfare, real GDP and foreign exports change of
/// every economy (the measures of [`COUNTRY_MEASURES`]), without a year.
pub fn country_series(r: &RunResults) -> Vec<(String, Option<i32>, f64)> {
    series_of_countries(&r.countries)
}

fn series_of_countries(countries: &[CountryResult]) -> Vec<(String, Option<i32>, f64)> {
    let mut out = Vec::new();
    for c in countries {
        for (measure, value) in COUNTRY_MEASURES.iter().zip(country_values(c)) {
            let name = Series::Country {
                country: c.country.clone(),
                measure: (*measure).to_owned(),
            };
            out.push((name.name(), None, value));
        }
    }
    out
}

/// One country's values of [`COUNTRY_MEASURES`], in that order.
fn country_values(c: &CountryResult) -> [f64; 3] {
    [
        c.welfare_change_pct,
        c.real_gdp_change_pct,
        c.foreign_exports_change_pct,
    ]
}

/// The key series of a yearly scenario by year (`(name, Some(year), value)`, the order of
/// [`super::key_series`]), computed without building the result rows. The same values as
/// `key_series(&run_years(s)?, s)`, bit for bit, and the same error when the run fails.
pub fn key_outputs(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, RunError> {
    let mut out = Vec::new();
    if direct(s, &mut |x: &Series, year, value| {
        out.push((x.name(), Some(year), value))
    })? {
        Ok(out)
    } else {
        // Not finite somewhere, or a shape this path leaves to the full one: the full path
        // gives the values or names the row.
        full(s)
    }
}

/// The values of [`outputs_direct`] alone, in the same order, written into `out` (cleared
/// first): what a Monte Carlo draw keeps, without formatting a series name. The names and
/// years are those of [`outputs_direct`] for the same scenario shape; a caller that runs
/// many scenarios of one shape reads them once.
pub fn output_values(s: &Scenario, out: &mut Vec<f64>) -> Result<(), RunError> {
    out.clear();
    if s.dynamics().is_none() {
        // The values of `country_series`, without the bilateral rows and series names.
        out.extend(run_countries(s)?.iter().flat_map(country_values));
        return Ok(());
    }
    if !direct(s, &mut |_: &Series, _, value| out.push(value))? {
        out.clear();
        out.extend(full(s)?.into_iter().map(|(_, _, v)| v));
    }
    Ok(())
}

fn full(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, RunError> {
    let r = run_years(s)?;
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

/// The sink of the key series: per year the sums they read, and the country sums whose
/// all-sector rows the row path checks. Stops at the first number a row would hold that is
/// not finite.
struct KeySums<'a> {
    eco: &'a Economies,
    target: Option<usize>,
    slots: usize,
    /// The wanted recorded pairs `(exporter, importer, recorded by the exporter)`.
    recorded_pairs: Vec<(usize, usize, bool)>,
    sums: Vec<YearSums>,
    /// `country[yi * n + i]`.
    country: Vec<CountrySums>,
}

impl YearSink for KeySums<'_> {
    fn year(&mut self, y: &SectorYear<'_>) -> ControlFlow<()> {
        let n = self.eco.len();
        if !rows_finite(y.x, y.rf, y.views, self.target) {
            return ControlFlow::Break(());
        }
        // The sector's country rows, checked as the row path checks them (the codes do
        // not matter here).
        let countries = &mut self.country[y.yi * n..(y.yi + 1) * n];
        if !CountrySums::add(countries, self.eco, y.base, y.eq, &y.margins)
            .iter()
            .all(|c| {
                let row = YearCountryRow::new(y.year, 0, 0, c);
                row.changes().iter().all(|v| v.is_finite())
            })
        {
            return ControlFlow::Break(());
        }
        let sums = &mut self.sums[y.yi];
        let add = |acc: &mut f64, v: f64| *acc = if y.si == 0 { v } else { *acc + v };
        let slots = self.slots;
        let rf = y.rf;
        if let Some(t) = self.target {
            for i in (0..n).filter(|&i| i != t) {
                add(&mut sums.routes[i * slots], rf.direct[(i, t)]);
                for (h, (flows, &k)) in rf.via.iter().zip(&rf.hubs).enumerate() {
                    if k != i {
                        add(&mut sums.routes[i * slots + 1 + h], flows[(i, t)]);
                    }
                }
            }
        }
        for (slot, &(a, b, by_exporter)) in self.recorded_pairs.iter().enumerate() {
            let view = if by_exporter {
                &y.views.by_exporter
            } else {
                &y.views.by_importer
            };
            add(&mut sums.recorded[slot], view[(a, b)]);
        }
        ControlFlow::Continue(())
    }
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
    let mut sink = KeySums {
        eco,
        target,
        slots,
        sums: years
            .iter()
            .map(|_| YearSums {
                routes: vec![0.0; n * slots],
                recorded: vec![0.0; recorded_pairs.len()],
            })
            .collect(),
        recorded_pairs,
        country: vec![CountrySums::default(); years.len() * n],
    };
    if drive(s, &mut sink)?.is_break() {
        return Ok(false);
    }
    // The all-sector country rows, checked as the row path checks them.
    if !sink
        .country
        .iter()
        .all(|c| c.changes().iter().all(|v| v.is_finite()))
    {
        return Ok(false);
    }
    let mut via = vec![0.0; hubs.len()];
    for (yi, &year) in years.iter().enumerate() {
        let y = &sink.sums[yi];
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
/// sector would hold is finite (`x`: the final flows of `rf`).
fn rows_finite(x: &Matrix, rf: &RouteFlows, v: &Views, target: Option<usize>) -> bool {
    let n = rf.len();
    // Off the diagonal; every entry at once first (one pass on the plain slice, without an
    // early exit), then entry by entry only if one is not finite.
    let finite = |m: &Matrix| {
        m.as_slice().iter().fold(true, |all, v| all & v.is_finite())
            || (0..n).all(|a| (0..n).all(|b| a == b || m[(a, b)].is_finite()))
    };
    if ![&v.shipped, x, &v.by_exporter, &v.by_importer]
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
    for (flows, &k) in rf.via.iter().zip(&rf.hubs) {
        for i in (0..n).filter(|&i| i != k) {
            let imports = rf.direct[(i, k)] + v.transit[(i, k)];
            let re = flows[(i, t)];
            if !(imports.is_finite() && re.is_finite() && fraction(re, imports).is_finite()) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montecarlo::MonteCarlo;
    use crate::simulate::outputs;
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
                let rows = outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
                let direct = key_outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
                assert_eq!(direct, rows, "{}", path.display());
            }
        }
        assert!(yearly >= 5, "only {yearly} yearly scenarios found");
        let path = root.join("scenarios/roundabout/as_happened.toml");
        let mc = MonteCarlo::from_file(&path).unwrap();
        let (mut ok, mut failed) = (0, 0);
        for index in 0..40 {
            let Ok(s) = mc.draw(7, index) else { continue };
            let rows = outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
            let direct = key_outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
            if rows.is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
            assert_eq!(direct, rows, "draw {index}");
        }
        // A run that fails for certain: routes as cheap as direct trade (premium 1) send more
        // through the hubs in the base year than they recorded.
        let central = Scenario::from_file(&path).unwrap();
        let premium = central
            .param(&crate::scenario::ParamPath::parse("routes.premium").unwrap())
            .unwrap();
        let s = central.with_params(&[(&premium, 1.0)]).unwrap();
        let rows = outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
        let direct = key_outputs(&s).map(|v| bits(&v)).map_err(|e| e.to_string());
        assert!(rows.is_err(), "premium 1 ran");
        assert_eq!(direct, rows, "premium 1");
        failed += 1;
        assert!(ok > 0 && failed > 0, "{ok} draws ran, {failed} failed");
    }
}
