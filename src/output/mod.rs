//! Output: CSV and JSON writers that return bytes (so they can be snapshot-tested), and a
//! run folder written in one piece.
//!
//! A run folder is first written in full to a hidden sibling folder and then renamed into
//! place, so a failure part-way leaves either the previous results or nothing, never a
//! half-written folder.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::gravity::SolveReport;
use crate::scenario::Scenario;
use crate::simulate::{RunResults, YearRun};

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

/// Writes `files` (name, bytes) into `dir`, replacing what a previous run left there.
/// Either every file lands or the folder is as it was. A name may hold a sub-folder
/// (`charts/flows.png`); it is created inside the folder.
pub fn write_run_folder(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), OutputError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |cause| OutputError::Io { path, cause }
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| {
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        for (file, bytes) in files {
            let path = staging.join(file);
            if let Some(sub) = path.parent().filter(|p| *p != staging.as_path()) {
                std::fs::create_dir_all(sub).map_err(io(sub))?;
            }
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
        // Swap in: move an older folder aside first so a failed rename can restore it.
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let had_old = dir.exists();
        if had_old {
            std::fs::rename(dir, &old).map_err(io(dir))?;
        }
        if let Err(cause) = std::fs::rename(&staging, dir) {
            if had_old {
                let _ = std::fs::rename(&old, dir);
            }
            return Err(OutputError::Io {
                path: dir.to_owned(),
                cause,
            });
        }
        if had_old {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
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

    #[test]
    fn names_with_a_sub_folder_land_in_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write_run_folder(
            &dir,
            &[("a.csv", b"1".to_vec()), ("charts/b.png", b"2".to_vec())],
        )
        .unwrap();
        assert_eq!(std::fs::read(dir.join("charts/b.png")).unwrap(), b"2");
    }

    #[test]
    fn replaces_a_previous_folder_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write_run_folder(&dir, &[("a.csv", b"1".to_vec()), ("b.csv", b"2".to_vec())]).unwrap();
        write_run_folder(&dir, &[("a.csv", b"3".to_vec())]).unwrap();
        assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), b"3");
        assert!(!dir.join("b.csv").exists());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
