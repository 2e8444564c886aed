//! The files of a Monte Carlo folder, and joining shards of one run (`tradeflow merge`).
//!
//! A Monte Carlo folder holds:
//! - `montecarlo.json` ([`Record`]): tradeflow version, scenario (as given and absolute, see
//!   [`crate::shard`]), seed, draws, shard (`null` for a whole run), first and last draw
//!   (`first_draw..last_draw`), failed draws, and the output series (name, year).
//! - `montecarlo.csv` ([`crate::montecarlo::Band`]): one row per series and year.
//! - `failed_draws.csv` ([`FailedRow`]): draw, reason.
//! - `draws.csv` ([`DrawRow`], shards only): draw, series, year, value; every value of every
//!   successful draw.
//! - drawn from a posterior, `posterior.json` ([`PosteriorRecord`]: the folder, its
//!   parameters, the `[uncertainty]` draws it replaces, the redraws) and `observed.csv`
//!   ([`ObservedRow`]: the observed figures of the series, for the fan charts). A merge
//!   sums the shards' redraws and needs the rest identical in every shard.
//!
//! A merge matches rows by their keys, never by position: each draw's values are built by
//! looking up (series, year) in the record's series. A row whose series is not in the
//! record, a repeated (draw, series, year), a draw outside the shard's `first_draw..last_draw`,
//! a draw in both `draws.csv` and `failed_draws.csv`, a draw lacking a series, a draw in
//! neither file, or a value that is not a finite number is an error naming the file and
//! line. The shards must come from one run (same scenario, seed, draws, series and N) and
//! cover every draw exactly once; then the merged folder is byte for byte what one
//! unsharded run writes ([`folder_files`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::montecarlo::posterior::{ObservedRow, PosteriorRecord};
use crate::montecarlo::{bands, DrawError, DrawResult};
use crate::output::{csv_bytes, csv_bytes_exact, json_bytes, OutputError};
use crate::shard::{join, Shard, ShardOf, ShardSetError};

/// `montecarlo.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub tradeflow_version: String,
    /// The scenario file as given on the command line.
    pub scenario: PathBuf,
    /// The scenario file's absolute path (absent in records of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_file: Option<PathBuf>,
    pub seed: u64,
    pub draws: u64,
    pub shard: Option<Shard>,
    pub first_draw: u64,
    pub last_draw: u64,
    pub failed: usize,
    pub series: Vec<(String, Option<i32>)>,
}

/// One row of `draws.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawRow {
    pub draw: u64,
    pub series: String,
    pub year: Option<i32>,
    pub value: f64,
}

/// One row of `failed_draws.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRow {
    pub draw: u64,
    pub reason: String,
}

/// Why shards cannot be merged, or a folder not written.
#[derive(Debug, Error)]
pub enum MergeError {
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not a Monte Carlo record: {message}")]
    Record { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Shards(String),
    /// A shard given twice.
    #[error(transparent)]
    Shard(#[from] ShardSetError),
    #[error("every draw failed (first reason: {0}); nothing written")]
    AllFailed(String),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A shard folder, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardFolder {
    /// Its `montecarlo.json`.
    pub record_path: PathBuf,
    pub record: Record,
    /// Its draws (`first_draw..last_draw`), in draw order.
    pub draws: Vec<DrawResult>,
    /// Its `posterior.json` and `observed.csv`, when drawn from a posterior.
    pub posterior: Option<(PosteriorRecord, Vec<ObservedRow>)>,
}

/// Shards joined: the record and the draws of the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub record: Record,
    pub draws: Vec<DrawResult>,
    /// How many shards were joined.
    pub shards: usize,
    /// The posterior drawn from (redraws summed over the shards) and the observed figures.
    pub posterior: Option<(PosteriorRecord, Vec<ObservedRow>)>,
}

fn line_err(path: &Path, line: u64, message: String) -> MergeError {
    MergeError::Line {
        path: path.to_owned(),
        line,
        message,
    }
}

fn csv_err(path: &Path, e: csv::Error) -> MergeError {
    let line = e.position().map_or(0, |p| p.line());
    if !e.is_io_error() {
        return line_err(path, line, e.to_string());
    }
    match e.into_kind() {
        csv::ErrorKind::Io(cause) => MergeError::Io {
            path: path.to_owned(),
            cause,
        },
        other => line_err(path, line, format!("{other:?}")),
    }
}

/// The rows of a CSV file with their line numbers, deserialised by header.
pub(crate) fn csv_rows<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Vec<(u64, T)>, MergeError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_err(path, e))?;
    let headers = reader.headers().map_err(|e| csv_err(path, e))?.clone();
    let mut rec = csv::StringRecord::new();
    let mut out = Vec::new();
    while reader.read_record(&mut rec).map_err(|e| csv_err(path, e))? {
        let line = rec.position().map_or(0, |p| p.line());
        let row: T = rec
            .deserialize(Some(&headers))
            .map_err(|e| line_err(path, line, e.to_string()))?;
        out.push((line, row));
    }
    Ok(out)
}

fn describe(series: &str, year: Option<i32>) -> String {
    match year {
        Some(y) => format!("series `{series}` in {y}"),
        None => format!("series `{series}`"),
    }
}

/// Reads and checks `montecarlo.json`.
pub fn read_record(path: &Path) -> Result<Record, MergeError> {
    let bytes = std::fs::read(path).map_err(|cause| MergeError::Io {
        path: path.to_owned(),
        cause,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| MergeError::Record {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Reads one shard folder (`montecarlo.json`, `draws.csv`, `failed_draws.csv`) and checks
/// every row against the record (see the module docs).
pub fn read_shard(dir: &Path) -> Result<ShardFolder, MergeError> {
    let record_path = dir.join("montecarlo.json");
    let record = read_record(&record_path)?;
    let file_err = |message: String| MergeError::File {
        path: record_path.clone(),
        message,
    };
    let Some(shard) = record.shard else {
        return Err(file_err("not a shard (no `shard`)".into()));
    };
    if !shard.is_valid() {
        return Err(file_err(format!(
            "shard {}/{} is not a shard: need 1 <= K <= N",
            shard.k, shard.n
        )));
    }
    crate::limits::check_draws(record.draws).map_err(|e| file_err(e.to_string()))?;
    let range = record.first_draw..record.last_draw;
    if range != shard.range(record.draws) {
        return Err(file_err(format!(
            "shard {}/{} of {} draws runs draws {}..{}, not {}..{} as recorded",
            shard.k,
            shard.n,
            record.draws,
            shard.range(record.draws).start,
            shard.range(record.draws).end,
            range.start,
            range.end
        )));
    }
    let mut slot: HashMap<(&str, Option<i32>), usize> = HashMap::new();
    for (k, (name, year)) in record.series.iter().enumerate() {
        if slot.insert((name.as_str(), *year), k).is_some() {
            return Err(file_err(format!(
                "{} is listed twice in `series`",
                describe(name, *year)
            )));
        }
    }

    let draws_path = dir.join("draws.csv");
    // Per draw: the line of its first row, and each series' value with its line.
    type Slots = (u64, Vec<Option<(f64, u64)>>);
    let mut values: BTreeMap<u64, Slots> = BTreeMap::new();
    let mut last_line = 1;
    for (line, row) in csv_rows::<DrawRow>(&draws_path)? {
        last_line = line;
        let at = |message: String| line_err(&draws_path, line, message);
        if !range.contains(&row.draw) {
            return Err(at(format!(
                "draw {} is outside this shard's draws {}..{} (montecarlo.json)",
                row.draw, range.start, range.end
            )));
        }
        let Some(&k) = slot.get(&(row.series.as_str(), row.year)) else {
            return Err(at(format!(
                "{} is not among the series of montecarlo.json",
                describe(&row.series, row.year)
            )));
        };
        if !row.value.is_finite() {
            return Err(at(format!("value {} is not a finite number", row.value)));
        }
        let entry = values
            .entry(row.draw)
            .or_insert_with(|| (line, vec![None; record.series.len()]));
        if let Some((_, earlier)) = entry.1[k] {
            return Err(at(format!(
                "draw {}, {} is repeated (first at line {earlier})",
                row.draw,
                describe(&row.series, row.year)
            )));
        }
        entry.1[k] = Some((row.value, line));
    }

    let failed_path = dir.join("failed_draws.csv");
    let mut failed: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    for (line, row) in csv_rows::<FailedRow>(&failed_path)? {
        let at = |message: String| line_err(&failed_path, line, message);
        if !range.contains(&row.draw) {
            return Err(at(format!(
                "draw {} is outside this shard's draws {}..{} (montecarlo.json)",
                row.draw, range.start, range.end
            )));
        }
        if let Some((first, _)) = values.get(&row.draw) {
            return Err(at(format!(
                "draw {} failed here but has values in draws.csv (line {first})",
                row.draw
            )));
        }
        if let Some((earlier, _)) = failed.get(&row.draw) {
            return Err(at(format!(
                "draw {} is repeated (first at line {earlier})",
                row.draw
            )));
        }
        failed.insert(row.draw, (line, row.reason));
    }

    // Every series of every successful draw.
    for (draw, (first, slots)) in &values {
        if let Some(k) = slots.iter().position(Option::is_none) {
            let (name, year) = &record.series[k];
            return Err(line_err(
                &draws_path,
                *first,
                format!("draw {draw} has no row for {}", describe(name, *year)),
            ));
        }
    }
    // Every draw of the range, in one file or the other (both hold only draws in range,
    // none in both): walk them in order to find the first one missing.
    let mut next = range.start;
    let mut present = values
        .keys()
        .chain(failed.keys())
        .copied()
        .collect::<Vec<_>>();
    present.sort_unstable();
    for d in present.iter().copied().chain(std::iter::once(range.end)) {
        if d != next {
            let line = values
                .range(next..)
                .next()
                .map_or(last_line + 1, |(_, v)| v.0);
            return Err(line_err(
                &draws_path,
                line,
                format!(
                    "draw {next} is missing: this shard runs draws {}..{} and draw {next} is in neither draws.csv nor failed_draws.csv",
                    range.start, range.end
                ),
            ));
        }
        next = d + 1;
    }
    if failed.len() != record.failed {
        return Err(file_err(format!(
            "records {} failed draws but failed_draws.csv lists {}",
            record.failed,
            failed.len()
        )));
    }

    let mut draws: Vec<DrawResult> = values
        .into_iter()
        .map(|(index, (_, slots))| DrawResult {
            index,
            outcome: Ok(slots
                .into_iter()
                .map(|s| s.map_or(0.0, |(v, _)| v))
                .collect()),
        })
        .chain(failed.into_iter().map(|(index, (_, reason))| DrawResult {
            index,
            outcome: Err(DrawError::Recorded(reason)),
        }))
        .collect();
    draws.sort_by_key(|d| d.index);
    let posterior = read_posterior(dir)?;
    Ok(ShardFolder {
        record_path,
        record,
        draws,
        posterior,
    })
}

/// A folder's `posterior.json` and `observed.csv`, if it has the first (then it needs the
/// second).
fn read_posterior(dir: &Path) -> Result<Option<(PosteriorRecord, Vec<ObservedRow>)>, MergeError> {
    let path = dir.join("posterior.json");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|cause| MergeError::Io {
        path: path.clone(),
        cause,
    })?;
    let record: PosteriorRecord =
        serde_json::from_slice(&bytes).map_err(|e| MergeError::Record {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let observed = csv_rows::<ObservedRow>(&dir.join("observed.csv"))?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(Some((record, observed)))
}

/// The files a Monte Carlo folder drawn from a posterior adds: `posterior.json` and
/// `observed.csv`.
pub fn posterior_files(
    record: &PosteriorRecord,
    observed: &[ObservedRow],
) -> Result<Vec<(&'static str, Vec<u8>)>, MergeError> {
    Ok(vec![
        ("posterior.json", json_bytes(record, "posterior record")?),
        (
            "observed.csv",
            crate::output::with_header(
                csv_bytes_exact(observed, "observed figures")?,
                &[
                    "series",
                    "year",
                    "reporter",
                    "observed",
                    "in_sample",
                    "source",
                ],
            ),
        ),
    ])
}

/// Joins shard folders of one run into the draws of the whole run (see the module docs).
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    let shards: Vec<ShardFolder> = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<_, _>>()?;
    let set = join(
        &shards,
        "runs",
        |s| ShardOf {
            record: &s.record_path,
            scenario: &s.record.scenario,
            scenario_file: s.record.scenario_file.as_deref(),
            shard: s.record.shard,
        },
        |a, b| {
            // The posterior's redraws are the shard's own; the rest must agree.
            let without_tally = |p: &Option<(PosteriorRecord, Vec<ObservedRow>)>| {
                p.as_ref().map(|(r, o)| {
                    (
                        PosteriorRecord {
                            redraws: 0,
                            truncated: 0,
                            ..r.clone()
                        },
                        o.clone(),
                    )
                })
            };
            let posterior = without_tally(&a.posterior) != without_tally(&b.posterior);
            let (a, b) = (&a.record, &b.record);
            [
                ("seed", a.seed != b.seed),
                ("draws", a.draws != b.draws),
                ("series", a.series != b.series),
                ("posterior", posterior),
            ]
            .into_iter()
            .find_map(|(what, d)| d.then_some(what))
        },
    )?;
    let first = &shards[0];
    let draws_total = first.record.draws;
    let mut draws: Vec<DrawResult> = shards.iter().flat_map(|s| s.draws.clone()).collect();
    draws.sort_by_key(|d| d.index);
    if let Some(missing) = set.missing() {
        return Err(MergeError::Shards(format!(
            "the shards do not cover draws 0..{draws_total} exactly once (have {} draws; missing shard {})",
            draws.len(),
            missing
        )));
    }
    let record = Record {
        shard: None,
        first_draw: 0,
        last_draw: draws_total,
        failed: draws.iter().filter(|d| d.outcome.is_err()).count(),
        ..first.record.clone()
    };
    let posterior = first.posterior.as_ref().map(|(p, observed)| {
        let mut p = p.clone();
        p.redraws = shards
            .iter()
            .filter_map(|s| s.posterior.as_ref())
            .map(|(q, _)| q.redraws)
            .sum();
        p.truncated = shards
            .iter()
            .filter_map(|s| s.posterior.as_ref())
            .map(|(q, _)| q.truncated)
            .sum();
        (p, observed.clone())
    });
    Ok(Merged {
        record,
        draws,
        shards: shards.len(),
        posterior,
    })
}

/// The files of a Monte Carlo folder for `record` and its `draws`: `montecarlo.csv`,
/// `failed_draws.csv`, `montecarlo.json`, and `draws.csv` when `with_draws` (a shard).
/// Every draw failing is an error.
pub fn folder_files(
    record: &Record,
    draws: &[DrawResult],
    with_draws: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>, MergeError> {
    if !draws.iter().any(|d| d.outcome.is_ok()) {
        return Err(MergeError::AllFailed(
            draws
                .iter()
                .find_map(|d| d.outcome.as_ref().err().map(ToString::to_string))
                .unwrap_or_else(|| "no draws".into()),
        ));
    }
    let failed: Vec<FailedRow> = draws
        .iter()
        .filter_map(|d| {
            d.outcome.as_ref().err().map(|r| FailedRow {
                draw: d.index,
                reason: r.to_string(),
            })
        })
        .collect();
    let mut files = vec![
        (
            "montecarlo.csv",
            csv_bytes(&bands(&record.series, draws), "Monte Carlo bands")?,
        ),
        (
            "failed_draws.csv",
            crate::output::with_header(csv_bytes(&failed, "failed draws")?, &["draw", "reason"]),
        ),
        ("montecarlo.json", json_bytes(record, "Monte Carlo record")?),
    ];
    if with_draws {
        let rows: Vec<DrawRow> = draws
            .iter()
            .filter_map(|d| d.outcome.as_ref().ok().map(|v| (d.index, v)))
            .flat_map(|(draw, values)| {
                record
                    .series
                    .iter()
                    .zip(values)
                    .map(move |((series, year), value)| DrawRow {
                        draw,
                        series: series.clone(),
                        year: *year,
                        value: *value,
                    })
            })
            .collect();
        files.push(("draws.csv", csv_bytes_exact(&rows, "draws")?));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(k: u64, n: u64, draws: u64, failed: usize) -> Record {
        let shard = Shard { k, n };
        let r = shard.range(draws);
        Record {
            tradeflow_version: "0.1.0".into(),
            scenario: "s.toml".into(),
            scenario_file: None,
            seed: 7,
            draws,
            shard: Some(shard),
            first_draw: r.start,
            last_draw: r.end,
            failed,
            series: vec![("share".into(), Some(2020)), ("share".into(), Some(2021))],
        }
    }

    /// Writes a shard folder: its record, `draws.csv` lines and `failed_draws.csv` lines.
    fn shard(dir: &Path, name: &str, r: &Record, draws: &[&str], failed: &[&str]) -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("montecarlo.json"), json_bytes(r, "r").unwrap()).unwrap();
        let mut text = "draw,series,year,value\n".to_owned();
        for l in draws {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(d.join("draws.csv"), text).unwrap();
        let mut text = "draw,reason\n".to_owned();
        for l in failed {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(d.join("failed_draws.csv"), text).unwrap();
        d
    }

    const ROWS: [&str; 4] = [
        "0,share,2020,0.25",
        "0,share,2021,0.5",
        "1,share,2020,0.75",
        "1,share,2021,1",
    ];

    fn error_of(draws: &[&str], failed: &[&str], failed_count: usize) -> String {
        let tmp = tempfile::tempdir().unwrap();
        let d = shard(
            tmp.path(),
            "a",
            &record(1, 2, 6, failed_count),
            draws,
            failed,
        );
        read_shard(&d).unwrap_err().to_string()
    }

    #[test]
    fn reordered_rows_merge_like_ordered_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let second = ["3,share,2020,0.1", "3,share,2021,0.2"];
        let b = shard(tmp.path(), "b", &record(2, 2, 4, 1), &second, &["2,sigma"]);
        let a = shard(tmp.path(), "a", &record(1, 2, 4, 0), &ROWS, &[]);
        let ordered = merge(&[a, b.clone()]).unwrap();
        let reordered = [ROWS[3], ROWS[0], ROWS[2], ROWS[1]];
        let a = shard(tmp.path(), "a2", &record(1, 2, 4, 0), &reordered, &[]);
        let merged = merge(&[b, a]).unwrap();
        assert_eq!(merged, ordered);
        assert_eq!(merged.draws[0].outcome, Ok(vec![0.25, 0.5]));
        assert_eq!(merged.draws[1].outcome, Ok(vec![0.75, 1.0]));
        assert_eq!(
            merged.draws[2].outcome,
            Err(DrawError::Recorded("sigma".into()))
        );
        assert_eq!(merged.record.failed, 1);
        assert_eq!(merged.record.shard, None);
        assert_eq!(
            folder_files(&merged.record, &merged.draws, false).unwrap(),
            folder_files(&ordered.record, &ordered.draws, false).unwrap()
        );
    }

    #[test]
    fn a_repeated_row_names_file_and_lines() {
        let e = error_of(&[ROWS[0], ROWS[1], ROWS[2], ROWS[0], ROWS[3]], &[], 0);
        assert!(
            e.contains("draws.csv, line 5") && e.contains("first at line 2"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_series_names_file_and_line() {
        let e = error_of(&[ROWS[0], "0,share,2030,0.5", ROWS[2], ROWS[3]], &[], 0);
        assert!(
            e.contains("draws.csv, line 3") && e.contains("`share` in 2030"),
            "{e}"
        );
    }

    #[test]
    fn a_draw_outside_the_range_names_file_and_line() {
        // Shard 1 of 2 of 6 draws runs draws 0..3.
        let e = error_of(&[ROWS[0], ROWS[1], "3,share,2020,1"], &[], 0);
        assert!(e.contains("draws.csv, line 4") && e.contains("0..3"), "{e}");
        let e = error_of(&ROWS, &["2,x", "4,y"], 2);
        assert!(e.contains("failed_draws.csv, line 3"), "{e}");
    }

    #[test]
    fn a_missing_draw_or_series_names_file_and_line() {
        // Draw 2 is nowhere.
        let e = error_of(&ROWS, &[], 0);
        assert!(
            e.contains("draws.csv, line 6") && e.contains("draw 2 is missing"),
            "{e}"
        );
        // Draw 1 lacks 2021.
        let e = error_of(&[ROWS[0], ROWS[1], ROWS[2]], &["2,x"], 1);
        assert!(
            e.contains("draws.csv, line 4")
                && e.contains("draw 1 has no row for series `share` in 2021"),
            "{e}"
        );
    }

    #[test]
    fn a_draw_both_failed_and_with_values_is_an_error() {
        let e = error_of(&ROWS, &["1,x", "2,y"], 2);
        assert!(
            e.contains("failed_draws.csv, line 2") && e.contains("draws.csv (line 4)"),
            "{e}"
        );
    }

    #[test]
    fn shards_of_different_runs_or_repeated_shards_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let a = shard(tmp.path(), "a", &record(1, 2, 4, 0), &ROWS, &[]);
        let e = merge(&[a.clone(), a.clone()]).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
        let e = merge(std::slice::from_ref(&a)).unwrap_err().to_string();
        assert!(e.contains("do not cover draws 0..4"), "{e}");
        let mut other = record(2, 2, 4, 0);
        other.seed = 8;
        let b = shard(
            tmp.path(),
            "b",
            &other,
            &[
                "2,share,2020,1",
                "2,share,2021,1",
                "3,share,2020,1",
                "3,share,2021,1",
            ],
            &[],
        );
        let e = merge(&[a, b]).unwrap_err().to_string();
        assert!(e.contains("different runs") && e.contains("seed"), "{e}");
    }
}
