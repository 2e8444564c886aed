//! Scenarios side by side: each scenario with `[years]` that is not a base
//! (`abstract = true`) is run, and its key series, its all-sector flows and country rows are
//! lined up with the others' and measured against a reference scenario (`compare.csv`,
//! `differences.csv`, `countries_vs_reference.csv`, `final_flows.csv`,
//! `recorded_flows.csv`), for the comparison charts and tables.
//!
//! Data flow: validated scenarios -> [`crate::simulate::run_years`] each -> key series and
//! totals -> [`Comparison::files`] (CSV bytes).

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

use crate::output::{csv_bytes, OutputError};
use crate::scenario::Scenario;
use crate::simulate::series::{Series, DATA_UNIT};
use crate::simulate::{
    key_series, run_years, CountryTotalRow, FlowTotalRow, RecordedTotalRow, RunError, SeriesPoint,
};

/// Why scenarios could not be compared.
#[derive(Debug, Error)]
pub enum CompareError {
    /// A scenario without `[years]`: there are no yearly series to line up.
    #[error("{file}: scenario `{name}` has no `[years]`; compare lines up yearly series")]
    NotYearly { file: String, name: String },
    /// Two scenarios with one name: their rows could not be told apart.
    #[error("{file}: scenario name `{name}` is also the name of {other}; compare tells scenarios apart by name, so each needs its own")]
    SameName {
        file: String,
        other: String,
        name: String,
    },
    /// Every scenario given is a base (`abstract = true`).
    #[error("every scenario given is a base (`abstract = true`): {names}; give the scenarios that extend it")]
    AllAbstract { names: String },
    /// `--reference` names no scenario given.
    #[error("--reference `{reference}`: not one of the scenarios compared ({names})")]
    NoReference { reference: String, names: String },
    /// A scenario's run failed.
    #[error("{file}: scenario `{name}`: {source}")]
    Run {
        file: String,
        name: String,
        /// Boxed: a run's error is large, and the other variants are small.
        source: Box<RunError>,
    },
}

/// The scenarios' series and flows, in the order the scenarios were given.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Every year any scenario covers, ascending.
    pub years: Vec<i32>,
    /// The scenario the others are measured against (`differences.csv`,
    /// `countries_vs_reference.csv`, the heatmaps).
    pub reference: String,
    /// Each scenario's name and key series.
    pub series: Vec<(String, Vec<SeriesPoint>)>,
    /// Each scenario's name and its flows, all sectors, one row per link.
    finals: Vec<(String, Vec<FlowTotalRow>)>,
    /// Each scenario's name and its recorded flows, all sectors, one row per link and
    /// reporter.
    recorded: Vec<(String, Vec<RecordedTotalRow>)>,
    /// Each scenario's name and its all-sector country rows.
    countries: Vec<(String, Vec<CountryTotalRow>)>,
    /// Each scenario's name and the unit of its flows (`[data] unit`).
    units: Vec<(String, String)>,
}

/// One row of `compare.csv`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    scenario: &'a str,
    series: &'a str,
    year: i32,
    value: f64,
    unit: String,
}

/// One row of `differences.csv`.
#[derive(Debug, Serialize)]
struct DifferenceRow<'a> {
    scenario: &'a str,
    reference: &'a str,
    series: &'a str,
    year: i32,
    value: f64,
    reference_value: f64,
    difference: f64,
    /// `None` (an empty cell) where the reference is 0.
    difference_pct: Option<f64>,
    unit: String,
}

/// One row of `countries_vs_reference.csv`: a scenario's level against the reference's in
/// the same year, `100 ((1 + a/100) / (1 + b/100) - 1)` from the two changes `a`, `b`
/// against their base years (exact when the scenarios share the base year, as scenarios
/// that extend one base do).
#[derive(Debug, Serialize)]
struct CountryVsRow<'a> {
    scenario: &'a str,
    reference: &'a str,
    year: i32,
    country: &'a str,
    welfare_vs_reference_pct: f64,
    real_gdp_vs_reference_pct: f64,
    factory_gate_price_vs_reference_pct: f64,
    output_vs_reference_pct: f64,
    foreign_exports_vs_reference_pct: f64,
    foreign_imports_vs_reference_pct: f64,
}

/// One row of `final_flows.csv`: the bilateral final-destination flows of every scenario
/// (all sectors), from which the comparison heatmaps are drawn.
#[derive(Debug, Serialize)]
struct FinalRow<'a> {
    scenario: &'a str,
    year: i32,
    exporter: &'a str,
    importer: &'a str,
    final_destination: f64,
}

/// One row of `recorded_flows.csv`.
#[derive(Debug, Serialize)]
struct RecordedFlowRow<'a> {
    scenario: &'a str,
    year: i32,
    exporter: &'a str,
    importer: &'a str,
    reporter: &'a str,
    recorded: f64,
}

fn file_of(s: &Scenario) -> String {
    s.source
        .as_ref()
        .map_or_else(|| "scenario".to_owned(), |p| p.display().to_string())
}

/// The scenarios compare runs and the bases it skips (`abstract = true`), in the order
/// given.
pub fn without_bases(scenarios: Vec<Scenario>) -> (Vec<Scenario>, Vec<Scenario>) {
    scenarios.into_iter().partition(|s| !s.is_abstract())
}

/// Checks that every scenario has `[years]` and a name of its own, and that there is one
/// to compare, before anything runs.
pub fn check(scenarios: &[Scenario]) -> Result<(), CompareError> {
    for (k, s) in scenarios.iter().enumerate() {
        if s.dynamics.is_none() {
            return Err(CompareError::NotYearly {
                file: file_of(s),
                name: s.name.clone(),
            });
        }
        if let Some(other) = scenarios[..k].iter().find(|o| o.name == s.name) {
            return Err(CompareError::SameName {
                file: file_of(s),
                other: file_of(other),
                name: s.name.clone(),
            });
        }
    }
    if !scenarios.is_empty() && scenarios.iter().all(Scenario::is_abstract) {
        return Err(CompareError::AllAbstract {
            names: scenarios
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// The reference scenario: `requested` if given (it must be one of `scenarios`), else the
/// scenario with the fewest instruments, the least policy (`no_war` among the roundabout
/// scenarios), the first given among equals. Bases (`abstract = true`) are never picked.
pub fn reference<'a>(
    scenarios: &'a [Scenario],
    requested: Option<&str>,
) -> Result<&'a Scenario, CompareError> {
    let runnable: Vec<&Scenario> = scenarios.iter().filter(|s| !s.is_abstract()).collect();
    if let Some(r) = requested {
        return runnable
            .iter()
            .find(|s| s.name == r)
            .copied()
            .ok_or_else(|| CompareError::NoReference {
                reference: r.to_owned(),
                names: runnable
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
    }
    let count = |s: &Scenario| s.dynamics.as_ref().map_or(0, |d| d.instruments.len());
    let mut best: Option<&Scenario> = None;
    for s in runnable {
        if best.is_none_or(|b| count(s) < count(b)) {
            best = Some(s);
        }
    }
    best.ok_or_else(|| CompareError::AllAbstract {
        names: scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Runs each scenario that is not a base and lines up their results against the
/// reference ([`reference`]).
pub fn compare(
    scenarios: &[Scenario],
    requested_reference: Option<&str>,
) -> Result<Comparison, CompareError> {
    check(scenarios)?;
    let reference = reference(scenarios, requested_reference)?.name.clone();
    let mut series = Vec::new();
    let mut finals = Vec::new();
    let mut recorded = Vec::new();
    let mut countries = Vec::new();
    let mut units = Vec::new();
    let mut years: Vec<i32> = Vec::new();
    for scenario in scenarios.iter().filter(|s| !s.is_abstract()) {
        let run = run_years(scenario).map_err(|source| CompareError::Run {
            file: file_of(scenario),
            name: scenario.name.clone(),
            source: Box::new(source),
        })?;
        for y in &run.years {
            if !years.contains(y) {
                years.push(*y);
            }
        }
        let key = key_series(&run, scenario);
        series.push((scenario.name.clone(), key));
        finals.push((scenario.name.clone(), run.totals.flows));
        recorded.push((scenario.name.clone(), run.totals.recorded));
        countries.push((scenario.name.clone(), run.totals.countries));
        units.push((scenario.name.clone(), scenario.unit().to_owned()));
    }
    years.sort_unstable();
    Ok(Comparison {
        years,
        reference,
        series,
        finals,
        recorded,
        countries,
        units,
    })
}

fn unit_of(series: &str, data_unit: &str) -> String {
    Series::parse(series).map_or_else(|| data_unit.to_owned(), |s| s.unit(data_unit))
}

/// `100 ((1 + a/100) / (1 + b/100) - 1)`: level against level from two changes.
fn vs_pct(a: f64, b: f64) -> f64 {
    100.0 * ((1.0 + a / 100.0) / (1.0 + b / 100.0) - 1.0)
}

impl Comparison {
    /// The unit of the reference scenario's flows (`[data] unit`).
    pub fn data_unit(&self) -> &str {
        self.unit(&self.reference)
    }

    /// The unit of a scenario's flows.
    fn unit(&self, scenario: &str) -> &str {
        self.units
            .iter()
            .find(|(n, _)| n == scenario)
            .map_or(DATA_UNIT, |(_, u)| u.as_str())
    }

    /// `compare.csv`, `differences.csv`, `countries_vs_reference.csv`, `final_flows.csv` and
    /// `recorded_flows.csv` ([`crate::output::columns::COMPARE_FILES`] says what each holds).
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
        let rows: Vec<Row> = self
            .series
            .iter()
            .flat_map(|(name, series)| {
                series.iter().map(move |p| Row {
                    scenario: name,
                    series: &p.series,
                    year: p.year,
                    value: p.value,
                    unit: unit_of(&p.series, self.unit(name)),
                })
            })
            .collect();
        let reference = self.reference.as_str();
        let ref_series: HashMap<(&str, i32), f64> = self
            .series
            .iter()
            .filter(|(n, _)| n == reference)
            .flat_map(|(_, s)| s.iter().map(|p| ((p.series.as_str(), p.year), p.value)))
            .collect();
        let differences: Vec<DifferenceRow> = self
            .series
            .iter()
            .filter(|(n, _)| n != reference)
            .flat_map(|(name, series)| {
                let ref_series = &ref_series;
                series.iter().filter_map(move |p| {
                    let r = *ref_series.get(&(p.series.as_str(), p.year))?;
                    Some(DifferenceRow {
                        scenario: name,
                        reference,
                        series: &p.series,
                        year: p.year,
                        value: p.value,
                        reference_value: r,
                        difference: p.value - r,
                        difference_pct: (r != 0.0).then(|| 100.0 * (p.value - r) / r),
                        unit: unit_of(&p.series, self.unit(name)),
                    })
                })
            })
            .collect();
        let ref_countries: HashMap<(i32, &str), &CountryTotalRow> = self
            .countries
            .iter()
            .filter(|(n, _)| n == reference)
            .flat_map(|(_, rows)| rows.iter().map(|r| ((r.year, r.country.as_str()), r)))
            .collect();
        let countries: Vec<CountryVsRow> = self
            .countries
            .iter()
            .filter(|(n, _)| n != reference)
            .flat_map(|(name, rows)| {
                let ref_countries = &ref_countries;
                rows.iter().filter_map(move |c| {
                    let r = ref_countries.get(&(c.year, c.country.as_str()))?;
                    Some(CountryVsRow {
                        scenario: name,
                        reference,
                        year: c.year,
                        country: &c.country,
                        welfare_vs_reference_pct: vs_pct(
                            c.welfare_change_pct,
                            r.welfare_change_pct,
                        ),
                        real_gdp_vs_reference_pct: vs_pct(
                            c.real_gdp_change_pct,
                            r.real_gdp_change_pct,
                        ),
                        factory_gate_price_vs_reference_pct: vs_pct(
                            c.factory_gate_price_change_pct,
                            r.factory_gate_price_change_pct,
                        ),
                        output_vs_reference_pct: vs_pct(c.output_change_pct, r.output_change_pct),
                        foreign_exports_vs_reference_pct: vs_pct(
                            c.foreign_exports_change_pct,
                            r.foreign_exports_change_pct,
                        ),
                        foreign_imports_vs_reference_pct: vs_pct(
                            c.foreign_imports_change_pct,
                            r.foreign_imports_change_pct,
                        ),
                    })
                })
            })
            .collect();
        let final_rows: Vec<FinalRow> = self
            .finals
            .iter()
            .flat_map(|(name, flows)| {
                flows.iter().map(move |f| FinalRow {
                    scenario: name,
                    year: f.year,
                    exporter: &f.exporter,
                    importer: &f.importer,
                    final_destination: f.final_destination,
                })
            })
            .collect();
        let recorded_rows: Vec<RecordedFlowRow> = self
            .recorded
            .iter()
            .flat_map(|(name, flows)| {
                flows.iter().map(move |f| RecordedFlowRow {
                    scenario: name,
                    year: f.year,
                    exporter: &f.exporter,
                    importer: &f.importer,
                    reporter: &f.reporter,
                    recorded: f.recorded,
                })
            })
            .collect();
        let files = vec![
            ("compare.csv", csv_bytes(&rows, "comparison")?),
            (
                "differences.csv",
                csv_bytes(&differences, "differences against the reference")?,
            ),
            (
                "countries_vs_reference.csv",
                csv_bytes(&countries, "countries against the reference")?,
            ),
            (
                "final_flows.csv",
                csv_bytes(&final_rows, "final-destination flows")?,
            ),
            (
                "recorded_flows.csv",
                csv_bytes(&recorded_rows, "recorded flows")?,
            ),
        ];
        // A file with no row (differences with one scenario) still has its header.
        Ok(files
            .into_iter()
            .map(|(name, bytes)| {
                let columns =
                    crate::output::columns::columns_of(crate::output::columns::COMPARE_FILES, name)
                        .unwrap_or_default();
                (name, crate::output::with_header(bytes, &columns))
            })
            .collect())
    }
}
