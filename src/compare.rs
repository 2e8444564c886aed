//! Scenarios side by side: each scenario with `[years]` is run, and its key series and its
//! bilateral final-destination flows are lined up with the others' (`compare.csv`,
//! `final_flows.csv`), for the comparison charts and tables.
//!
//! Data flow: validated scenarios -> [`crate::simulate::run_years`] each -> key series and
//! final-destination flows -> [`Comparison::files`] (CSV bytes).

use serde::Serialize;
use thiserror::Error;

use crate::output::{csv_bytes, OutputError};
use crate::scenario::Scenario;
use crate::simulate::{key_series, run_years, FlowRow, RunError, SeriesPoint, ALL_SECTORS};

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
    /// Each scenario's name and key series.
    pub series: Vec<(String, Vec<SeriesPoint>)>,
    /// Each scenario's name and its final-destination flows (all sectors, one row per link).
    finals: Vec<(String, Vec<FlowRow>)>,
}

/// One row of `compare.csv`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    scenario: &'a str,
    series: &'a str,
    year: i32,
    value: f64,
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

fn file_of(s: &Scenario) -> String {
    s.source
        .as_ref()
        .map_or_else(|| "scenario".to_owned(), |p| p.display().to_string())
}

/// Checks that every scenario has `[years]` and a name of its own, before anything runs.
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
    Ok(())
}

/// Runs each scenario and lines up their results.
pub fn compare(scenarios: &[Scenario]) -> Result<Comparison, CompareError> {
    check(scenarios)?;
    let mut series = Vec::new();
    let mut finals = Vec::new();
    let mut years: Vec<i32> = Vec::new();
    for scenario in scenarios {
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
        // One sector: its rows are the totals; several: the all-sector rows.
        let sector = match scenario.dynamics.as_ref().map(|d| d.sectors.as_slice()) {
            Some([one]) => one.name.clone(),
            _ => ALL_SECTORS.to_owned(),
        };
        let flows = run
            .flows
            .into_iter()
            .filter(|f| f.sector == sector && f.reporter == f.exporter)
            .collect();
        finals.push((scenario.name.clone(), flows));
        series.push((scenario.name.clone(), key));
    }
    years.sort_unstable();
    Ok(Comparison {
        years,
        series,
        finals,
    })
}

impl Comparison {
    /// `compare.csv` (scenario, series, year, value) and `final_flows.csv` (scenario, year,
    /// exporter, importer, final_destination).
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
        Ok(vec![
            ("compare.csv", csv_bytes(&rows, "comparison")?),
            (
                "final_flows.csv",
                csv_bytes(&final_rows, "final-destination flows")?,
            ),
        ])
    }
}
