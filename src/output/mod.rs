//! Output: CSV and JSON writers that return bytes (so they can be snapshot-tested), and
//! results folders that tradeflow owns, written in one piece ([`folder`]).

use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

use crate::gravity::SolveReport;
use crate::scenario::Scenario;
use crate::simulate::{RunResults, YearRun};

pub mod folder;

pub use folder::{Claim, Part, Results};

/// A problem writing results.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("cannot write the output folder {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot serialise {what}: {message}")]
    Serialise { what: String, message: String },
    /// A folder tradeflow will not write into; nothing was touched.
    #[error("refusing to write results into {path}: {reason}; nothing was written")]
    Refused { path: PathBuf, reason: String },
    /// Another tradeflow process is writing the folder.
    #[error("{path} is in use by {holder}; nothing was written")]
    InUse { path: PathBuf, holder: String },
}

/// What `run.json` records besides the results: enough to reproduce the run.
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    tradeflow_version: &'static str,
    scenario: &'a Scenario,
    solver_reports: &'a [SolveReport],
    files: [&'static str; 2],
}

/// The files of a run folder: `countries.csv`, `bilateral.csv` and `run.json`.
pub fn run_files(
    scenario: &Scenario,
    results: &RunResults,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let record = RunRecord {
        tradeflow_version: env!("CARGO_PKG_VERSION"),
        scenario,
        solver_reports: &results.reports,
        files: ["countries.csv", "bilateral.csv"],
    };
    Ok(vec![
        (
            "countries.csv",
            csv_bytes(&results.countries, "country results")?,
        ),
        (
            "bilateral.csv",
            csv_bytes(&results.bilateral, "bilateral results")?,
        ),
        ("run.json", json_bytes(&record, "run record")?),
    ])
}

/// What `run.json` records for a yearly run.
#[derive(Debug, Serialize)]
struct YearRunRecord<'a> {
    tradeflow_version: &'static str,
    scenario: &'a Scenario,
    years: &'a [i32],
    solver_reports: &'a [SolveReport],
    files: [&'static str; 4],
}

/// The files of a yearly run folder: `flows.csv`, `routes.csv`, `reexports.csv`,
/// `countries.csv` and `run.json`.
pub fn year_run_files(
    scenario: &Scenario,
    run: &YearRun,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let record = YearRunRecord {
        tradeflow_version: env!("CARGO_PKG_VERSION"),
        scenario,
        years: &run.years,
        solver_reports: &run.reports,
        files: ["flows.csv", "routes.csv", "reexports.csv", "countries.csv"],
    };
    Ok(vec![
        ("flows.csv", csv_bytes(&run.flows, "recorded flows")?),
        ("routes.csv", csv_bytes(&run.routes, "route flows")?),
        ("reexports.csv", csv_bytes(&run.reexports, "re-exports")?),
        (
            "countries.csv",
            csv_bytes(&run.countries, "country results")?,
        ),
        ("run.json", json_bytes(&record, "run record")?),
    ])
}

/// Rows as CSV bytes, with a header from the row type's field names.
pub fn csv_bytes<T: Serialize>(rows: &[T], what: &str) -> Result<Vec<u8>, OutputError> {
    let err = |e: &dyn std::fmt::Display| OutputError::Serialise {
        what: what.to_owned(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

/// A value as pretty JSON bytes with a final newline.
pub fn json_bytes<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, OutputError> {
    let mut v = serde_json::to_vec_pretty(value).map_err(|e| OutputError::Serialise {
        what: what.to_owned(),
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        a: &'static str,
        b: f64,
    }

    #[test]
    fn csv_has_header_and_round_trip_numbers() {
        let bytes = csv_bytes(
            &[Row {
                a: "x",
                b: 0.1 + 0.2,
            }],
            "rows",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "a,b\nx,0.30000000000000004\n"
        );
    }
}
