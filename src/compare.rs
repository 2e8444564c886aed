//! Scenarios side by side: each scenario with `[years]` that is not a base
//! (`abstract = true`) is run, and its key series, its all-sector flows and country rows are
//! lined up with the others' and measured against a reference scenario (`compare.csv`,
//! `differences.csv`, `countries_vs_reference.csv`, `final_flows.csv`,
//! `recorded_flows.csv`), for the comparison charts and tables. What was compared is
//! written beside them: each scenario with its description (`scenarios.csv`) and its
//! instruments with their years (`scenario_instruments.csv`), which the charts' legends
//! and policy years are drawn from.
//!
//! Data flow: validated scenarios -> [`crate::simulate::run_years`] each -> key series and
//! totals -> [`Comparison::files`] (CSV bytes).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
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
    /// The scenarios compared (`scenarios.csv`), in the order given.
    pub scenarios: Vec<ScenarioRow>,
    /// Their instruments (`scenario_instruments.csv`).
    pub instruments: Vec<InstrumentRow>,
}

/// One row of `scenarios.csv`: a scenario compared. Written by `tradeflow compare` and read
/// back by the comparison charts (legends use the description).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRow {
    pub scenario: String,
    pub description: String,
    /// The scenario the others are measured against.
    pub reference: bool,
    /// The scenario file (empty for a scenario made in memory).
    pub file: String,
    pub base_year: i32,
    pub horizon: i32,
    /// How many instruments it has (`scenario_instruments.csv` lists them).
    pub instruments: usize,
}

/// One row of `scenario_instruments.csv`: an instrument of a scenario compared, with the
/// years it is in force. The comparison charts mark the years in which an instrument the
/// reference lacks starts or ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentRow {
    pub scenario: String,
    /// The instrument's `id`, or `#k` (its position from 1) when it has none.
    pub instrument: String,
    /// Its `kind` (the effect: `wedge`, `route_cost`, `demand`, ...).
    pub kind: String,
    pub label: String,
    pub start: i32,
    /// The first year it is no longer in force; `None` (an empty cell) when it never ends.
    pub end: Option<i32>,
    /// Whether it is a sanction ([`crate::policy::Effect::is_sanction`]).
    pub sanction: bool,
    /// Whether the reference scenario has the same instrument (kind, years, sectors and
    /// numbers alike).
    pub in_reference: bool,
}

/// The rows of `scenarios.csv` and `scenario_instruments.csv` for `scenarios` (bases
/// skipped), measured against the scenario named `reference`.
pub fn scenario_rows(
    scenarios: &[Scenario],
    reference: &str,
) -> (Vec<ScenarioRow>, Vec<InstrumentRow>) {
    let runnable: Vec<&Scenario> = scenarios.iter().filter(|s| !s.is_abstract()).collect();
    let as_json = |ins: &crate::policy::Instrument| {
        // Compared without id and label: the same policy under another name is the same.
        let mut v = serde_json::to_value(ins).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.remove("id");
            m.remove("label");
            m.remove("source");
        }
        v
    };
    let reference_set: Vec<serde_json::Value> = runnable
        .iter()
        .find(|s| s.name == reference)
        .and_then(|s| s.dynamics.as_ref())
        .map(|d| d.instruments.iter().map(as_json).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut instruments = Vec::new();
    for s in runnable {
        let Some(d) = s.dynamics.as_ref() else {
            continue;
        };
        rows.push(ScenarioRow {
            scenario: s.name.clone(),
            description: s.description.clone(),
            reference: s.name == reference,
            file: s
                .source
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string()),
            base_year: d.base_year,
            horizon: d.horizon,
            instruments: d.instruments.len(),
        });
        for (k, ins) in d.instruments.iter().enumerate() {
            let kind = serde_json::to_value(&ins.effect)
                .ok()
                .and_then(|v| v.get("effect").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            instruments.push(InstrumentRow {
                scenario: s.name.clone(),
                instrument: ins.id.clone().unwrap_or_else(|| format!("#{}", k + 1)),
                kind,
                label: ins.label.clone(),
                start: ins.start,
                end: ins.end,
                sanction: ins.effect.is_sanction(),
                in_reference: reference_set.contains(&as_json(ins)),
            });
        }
    }
    (rows, instruments)
}

/// One row of `compare.csv` (read back by the comparison charts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub scenario: String,
    pub series: String,
    pub year: i32,
    pub value: f64,
    pub unit: String,
}

/// One row of `differences.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferenceRow {
    pub scenario: String,
    pub reference: String,
    pub series: String,
    pub year: i32,
    pub value: f64,
    pub reference_value: f64,
    pub difference: f64,
    /// `None` (an empty cell) where the reference is 0.
    pub difference_pct: Option<f64>,
    pub unit: String,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalFlowRow {
    pub scenario: String,
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub final_destination: f64,
}

/// One row of `recorded_flows.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFlowRow {
    pub scenario: String,
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub reporter: String,
    pub recorded: f64,
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
    let (about, instruments) = scenario_rows(scenarios, &reference);
    Ok(Comparison {
        scenarios: about,
        instruments,
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

    /// `compare.csv`, `differences.csv`, `countries_vs_reference.csv`, `final_flows.csv`,
    /// `recorded_flows.csv`, `scenarios.csv` and `scenario_instruments.csv`
    /// ([`crate::output::columns::COMPARE_FILES`] says what each holds).
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
        let rows: Vec<CompareRow> = self
            .series
            .iter()
            .flat_map(|(name, series)| {
                series.iter().map(move |p| CompareRow {
                    scenario: name.clone(),
                    series: p.series.clone(),
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
                        scenario: name.clone(),
                        reference: reference.to_owned(),
                        series: p.series.clone(),
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
        let final_rows: Vec<FinalFlowRow> = self
            .finals
            .iter()
            .flat_map(|(name, flows)| {
                flows.iter().map(move |f| FinalFlowRow {
                    scenario: name.clone(),
                    year: f.year,
                    exporter: f.exporter.clone(),
                    importer: f.importer.clone(),
                    final_destination: f.final_destination,
                })
            })
            .collect();
        let recorded_rows: Vec<RecordedFlowRow> = self
            .recorded
            .iter()
            .flat_map(|(name, flows)| {
                flows.iter().map(move |f| RecordedFlowRow {
                    scenario: name.clone(),
                    year: f.year,
                    exporter: f.exporter.clone(),
                    importer: f.importer.clone(),
                    reporter: f.reporter.clone(),
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
            (
                "scenarios.csv",
                csv_bytes(&self.scenarios, "scenarios compared")?,
            ),
            (
                "scenario_instruments.csv",
                csv_bytes(&self.instruments, "instruments of the scenarios compared")?,
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
