//! The record of a sweep folder, and joining shards of one sweep (`tradeflow merge`).
//!
//! A sweep folder holds `sweep.csv` (point, one column per parameter, series, year, value),
//! `failed_points.csv` (point, reason), `sweep.json` ([`Record`]) and, for a whole sweep,
//! `tornado.csv` ([`crate::sweep::TornadoRow`]). `sweep.json` names the scenario as given
//! and as an absolute path (see [`crate::shard`] for how a stored path is read back).
//!
//! A merge matches rows by their keys (point, series, year), never by position: a point
//! outside the shard's `first_point..last_point`, a repeated key, a series not among the
//! record's `series`, a point lacking a series, a point in both `sweep.csv` and
//! `failed_points.csv` or in neither, a value that is not a finite number, or parameter
//! cells that differ between rows of one point is an error naming the file and line. Rows
//! are written in point order and, within a point, in the record's series order, so the
//! merged folder is byte for byte what one unsharded sweep writes (records of earlier
//! versions have no `series`: the order of the lowest successful point's rows is used).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::output::{csv_bytes, json_bytes, OutputError};
use crate::shard::{join, stored_scenario, Shard, ShardOf, ShardSetError};
use crate::sweep::{Axis, Sweep, SweepError};

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The scenario file as given on the command line.
    pub scenario: PathBuf,
    /// The scenario file's absolute path (absent in records of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_file: Option<PathBuf>,
    pub parameters: Vec<String>,
    /// The axes as given (`PATH=LOW:HIGH:COUNT`), for the tornado of a merge.
    pub axes: Vec<String>,
    /// The tornado's output series and year.
    pub tornado_output: (String, Option<i32>),
    pub points: usize,
    pub shard: Option<Shard>,
    pub first_point: usize,
    pub last_point: usize,
    /// The output series of every point, in row order (absent in earlier versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<(String, Option<i32>)>,
}

/// Why sweep shards cannot be merged.
#[derive(Debug, Error)]
pub enum MergeError {
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not a sweep record: {message}")]
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
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Shards joined: the merged record and the files of the whole sweep's folder.
#[derive(Debug, Clone)]
pub struct Merged {
    pub record: Record,
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub shards: usize,
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

/// A CSV file's header and records with their line numbers (the header must be `header`).
fn csv_records(
    path: &Path,
    header: &[String],
) -> Result<Vec<(u64, csv::StringRecord)>, MergeError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_err(path, e))?;
    let found = reader.headers().map_err(|e| csv_err(path, e))?;
    if found.iter().ne(header.iter().map(String::as_str)) {
        return Err(line_err(
            path,
            1,
            format!(
                "the columns are `{}`, expected `{}`",
                found.iter().collect::<Vec<_>>().join(","),
                header.join(",")
            ),
        ));
    }
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while reader.read_record(&mut rec).map_err(|e| csv_err(path, e))? {
        out.push((rec.position().map_or(0, |p| p.line()), rec.clone()));
    }
    Ok(out)
}

fn describe(series: &str, year: Option<i32>) -> String {
    match year {
        Some(y) => format!("series `{series}` in {y}"),
        None => format!("series `{series}`"),
    }
}

/// One row of `sweep.csv`, read.
struct Row {
    line: u64,
    point: usize,
    series: String,
    year: Option<i32>,
    record: csv::StringRecord,
}

/// One shard folder, read and checked row by row (keys checked against the series in
/// [`merge`]).
struct ShardRows {
    record_path: PathBuf,
    rows_path: PathBuf,
    record: Record,
    rows: Vec<Row>,
    /// Point -> (line, record) of `failed_points.csv`.
    failed: BTreeMap<usize, (u64, csv::StringRecord)>,
}

fn read_shard(dir: &Path) -> Result<ShardRows, MergeError> {
    let record_path = dir.join("sweep.json");
    let bytes = std::fs::read(&record_path).map_err(|cause| MergeError::Io {
        path: record_path.clone(),
        cause,
    })?;
    let record: Record = serde_json::from_slice(&bytes).map_err(|e| MergeError::Record {
        path: record_path.clone(),
        message: e.to_string(),
    })?;
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
    let most = crate::limits::MAX_GRID_POINTS.max(crate::limits::MAX_LHS_POINTS);
    if record.points as u64 > most {
        return Err(file_err(format!(
            "{} points is more than the limit of {most}",
            record.points
        )));
    }
    let range = shard.range(record.points as u64);
    let range = range.start as usize..range.end as usize;
    if range != (record.first_point..record.last_point) {
        return Err(file_err(format!(
            "shard {}/{} of {} points runs points {}..{}, not {}..{} as recorded",
            shard.k,
            shard.n,
            record.points,
            range.start,
            range.end,
            record.first_point,
            record.last_point
        )));
    }
    let np = record.parameters.len();
    let mut header = vec!["point".to_owned()];
    header.extend(record.parameters.iter().cloned());
    header.extend(["series", "year", "value"].map(String::from));

    let rows_path = dir.join("sweep.csv");
    let point_of = |path: &Path, line: u64, cell: Option<&str>| -> Result<usize, MergeError> {
        let cell = cell.unwrap_or("");
        let p: usize = cell
            .parse()
            .map_err(|_| line_err(path, line, format!("point `{cell}` is not a point number")))?;
        if !range.contains(&p) {
            return Err(line_err(
                path,
                line,
                format!(
                    "point {p} is outside this shard's points {}..{} (sweep.json)",
                    range.start, range.end
                ),
            ));
        }
        Ok(p)
    };
    let mut rows = Vec::new();
    for (line, rec) in csv_records(&rows_path, &header)? {
        let point = point_of(&rows_path, line, rec.get(0))?;
        let series = rec.get(np + 1).unwrap_or("").to_owned();
        let year = match rec.get(np + 2).unwrap_or("") {
            "" => None,
            y => Some(
                y.parse::<i32>()
                    .map_err(|_| line_err(&rows_path, line, format!("year `{y}` is not a year")))?,
            ),
        };
        let value = rec.get(np + 3).unwrap_or("");
        if !value.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(line_err(
                &rows_path,
                line,
                format!("value `{value}` is not a finite number"),
            ));
        }
        rows.push(Row {
            line,
            point,
            series,
            year,
            record: rec,
        });
    }
    let failed_path = dir.join("failed_points.csv");
    let mut failed = BTreeMap::new();
    for (line, rec) in csv_records(&failed_path, &["point".into(), "reason".into()])? {
        let point = point_of(&failed_path, line, rec.get(0))?;
        if let Some(row) = rows.iter().find(|r| r.point == point) {
            return Err(line_err(
                &failed_path,
                line,
                format!(
                    "point {point} failed here but has values in sweep.csv (line {})",
                    row.line
                ),
            ));
        }
        if let Some((earlier, _)) = failed.insert(point, (line, rec)) {
            return Err(line_err(
                &failed_path,
                line,
                format!("point {point} is repeated (first at line {earlier})"),
            ));
        }
    }
    Ok(ShardRows {
        record_path,
        rows_path,
        record,
        rows,
        failed,
    })
}

/// Joins sweep shard folders into the folder of the whole sweep: rows in point order, and
/// the tornado computed as one run would (which re-opens the scenario).
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    let shards: Vec<ShardRows> = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<_, _>>()?;
    let set = join(
        &shards,
        "sweeps",
        |s| ShardOf {
            record: &s.record_path,
            scenario: &s.record.scenario,
            scenario_file: s.record.scenario_file.as_deref(),
            shard: s.record.shard,
        },
        |a, b| {
            let (a, b) = (&a.record, &b.record);
            [
                (
                    "parameters",
                    a.parameters != b.parameters || a.axes != b.axes,
                ),
                ("tornado output", a.tornado_output != b.tornado_output),
                ("points", a.points != b.points),
                ("series", a.series != b.series),
            ]
            .into_iter()
            .find_map(|(what, d)| d.then_some(what))
        },
    )?;
    let first = &shards[0];
    if let Some(missing) = set.missing() {
        return Err(MergeError::Shards(format!(
            "the shards do not cover points 0..{} exactly once (missing shard {})",
            first.record.points, missing
        )));
    }

    // The series order: the record's, or (earlier versions) the lowest point's rows.
    let series: Vec<(String, Option<i32>)> = if first.record.series.is_empty() {
        let lowest = shards
            .iter()
            .flat_map(|s| s.rows.iter())
            .map(|r| r.point)
            .min();
        let mut order = Vec::new();
        for s in &shards {
            for r in s.rows.iter().filter(|r| Some(r.point) == lowest) {
                let key = (r.series.clone(), r.year);
                if !order.contains(&key) {
                    order.push(key);
                }
            }
        }
        order
    } else {
        first.record.series.clone()
    };
    let slot: HashMap<(&str, Option<i32>), usize> = series
        .iter()
        .enumerate()
        .map(|(k, (s, y))| ((s.as_str(), *y), k))
        .collect();

    let np = first.record.parameters.len();
    // Point -> (first line, its rows by series slot).
    type Slots<'a> = (u64, Vec<Option<&'a Row>>);
    let mut points: BTreeMap<usize, Slots> = BTreeMap::new();
    let mut failed: BTreeMap<usize, &csv::StringRecord> = BTreeMap::new();
    for s in &shards {
        let path = &s.rows_path;
        for r in &s.rows {
            let at = |message: String| line_err(path, r.line, message);
            let Some(&k) = slot.get(&(r.series.as_str(), r.year)) else {
                return Err(at(format!(
                    "{} is not among the series of sweep.json",
                    describe(&r.series, r.year)
                )));
            };
            let entry = points
                .entry(r.point)
                .or_insert_with(|| (r.line, vec![None; series.len()]));
            if let Some(earlier) = entry.1[k] {
                return Err(at(format!(
                    "point {}, {} is repeated (first at line {})",
                    r.point,
                    describe(&r.series, r.year),
                    earlier.line
                )));
            }
            if let Some(other) = entry.1.iter().flatten().next() {
                let (a, b) = (&other.record, &r.record);
                if a.iter().skip(1).take(np).ne(b.iter().skip(1).take(np)) {
                    return Err(at(format!(
                        "point {}: the parameter values differ from line {}",
                        r.point, other.line
                    )));
                }
            }
            entry.1[k] = Some(r);
        }
        failed.extend(s.failed.iter().map(|(p, (_, rec))| (*p, rec)));
    }
    for s in &shards {
        for (p, slots) in points.range(s.record.first_point..s.record.last_point) {
            if let Some(k) = slots.1.iter().position(Option::is_none) {
                let (name, year) = &series[k];
                return Err(line_err(
                    &s.rows_path,
                    slots.0,
                    format!("point {p} has no row for {}", describe(name, *year)),
                ));
            }
        }
        let range = s.record.first_point..s.record.last_point;
        if let Some(p) = range
            .clone()
            .find(|p| !points.contains_key(p) && !failed.contains_key(p))
        {
            let line = points.range(p..range.end).next().map_or(
                s.rows.iter().map(|r| r.line).max().unwrap_or(1) + 1,
                |(_, v)| v.0,
            );
            return Err(line_err(
                &s.rows_path,
                line,
                format!(
                    "point {p} is missing: this shard runs points {}..{} and point {p} is in neither sweep.csv nor failed_points.csv",
                    range.start, range.end
                ),
            ));
        }
    }

    let bytes_err = |e: &dyn std::fmt::Display| OutputError::Serialise {
        what: "merged sweep".into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_owned()];
    header.extend(first.record.parameters.iter().cloned());
    header.extend(["series", "year", "value"].map(String::from));
    w.write_record(&header).map_err(|e| bytes_err(&e))?;
    for (_, slots) in points.values() {
        for r in slots.iter().flatten() {
            w.write_record(&r.record).map_err(|e| bytes_err(&e))?;
        }
    }
    let mut fw = csv::Writer::from_writer(Vec::new());
    fw.write_record(["point", "reason"])
        .map_err(|e| bytes_err(&e))?;
    for rec in failed.values() {
        fw.write_record(*rec).map_err(|e| bytes_err(&e))?;
    }
    let axes: Vec<Axis> = first
        .record
        .axes
        .iter()
        .enumerate()
        .map(|(k, a)| {
            a.parse().map_err(|message| MergeError::File {
                path: first.record_path.clone(),
                message: format!("axes[{k}]: {message}"),
            })
        })
        .collect::<Result<_, _>>()?;
    let file = stored_scenario(
        &first.record_path,
        &first.record.scenario,
        first.record.scenario_file.as_deref(),
    );
    let sweep = Sweep::new(&file, &axes)?;
    let record = Record {
        shard: None,
        first_point: 0,
        last_point: first.record.points,
        ..first.record.clone()
    };
    let files = vec![
        ("sweep.csv", w.into_inner().map_err(|e| bytes_err(&e))?),
        (
            "failed_points.csv",
            fw.into_inner().map_err(|e| bytes_err(&e))?,
        ),
        ("sweep.json", json_bytes(&record, "sweep record")?),
        (
            "tornado.csv",
            tornado_csv(&sweep, &axes, &record.tornado_output)?,
        ),
    ];
    Ok(Merged {
        record,
        files,
        shards: shards.len(),
    })
}

/// Tornado rows for `target` as CSV bytes (a failed run leaves its cells empty and says
/// why in `failed`).
pub fn tornado_csv(
    sweep: &Sweep,
    axes: &[Axis],
    target: &(String, Option<i32>),
) -> Result<Vec<u8>, OutputError> {
    csv_bytes(&sweep.tornado(axes, target), "tornado")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "../../scenarios/two_country_symmetric.toml";

    fn record(k: u64, points: usize) -> Record {
        let shard = Shard { k, n: 2 };
        let r = shard.range(points as u64);
        Record {
            scenario: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/two_country_symmetric.toml"),
            scenario_file: None,
            parameters: vec!["sigma".into()],
            axes: vec!["sigma=3:7:4".into()],
            tornado_output: ("ALP welfare_change_pct".into(), None),
            points,
            shard: Some(shard),
            first_point: r.start as usize,
            last_point: r.end as usize,
            series: vec![("a".into(), None), ("b".into(), Some(2020))],
        }
    }

    fn shard(dir: &Path, name: &str, r: &Record, rows: &[&str], failed: &[&str]) -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sweep.json"), json_bytes(r, "r").unwrap()).unwrap();
        let mut text = "point,sigma,series,year,value\n".to_owned();
        for l in rows {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(d.join("sweep.csv"), text).unwrap();
        let mut text = "point,reason\n".to_owned();
        for l in failed {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(d.join("failed_points.csv"), text).unwrap();
        d
    }

    const FIRST: [&str; 4] = ["0,3,a,,1.5", "0,3,b,2020,2.5", "1,4,a,,3", "1,4,b,2020,4"];
    const SECOND: [&str; 2] = ["3,7,a,,5", "3,7,b,2020,6"];

    fn merged(first: &[&str], second: &[&str]) -> Result<Merged, MergeError> {
        let tmp = tempfile::tempdir().unwrap();
        let a = shard(tmp.path(), "a", &record(1, 4), first, &[]);
        let b = shard(tmp.path(), "b", &record(2, 4), second, &["2,sigma is bad"]);
        merge(&[b, a])
    }

    #[test]
    fn reordered_rows_merge_like_ordered_rows() {
        let ordered = merged(&FIRST, &SECOND).unwrap();
        let reordered = merged(
            &[FIRST[3], FIRST[0], FIRST[2], FIRST[1]],
            &[SECOND[1], SECOND[0]],
        )
        .unwrap();
        assert_eq!(ordered.files, reordered.files);
        let rows = String::from_utf8(ordered.files[0].1.clone()).unwrap();
        assert_eq!(
            rows,
            "point,sigma,series,year,value\n0,3,a,,1.5\n0,3,b,2020,2.5\n1,4,a,,3\n1,4,b,2020,4\n3,7,a,,5\n3,7,b,2020,6\n"
        );
        assert_eq!(ordered.files[1].1, b"point,reason\n2,sigma is bad\n");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let err = |first: &[&str]| merged(first, &SECOND).unwrap_err().to_string();
        // Repeated.
        let e = err(&[FIRST[0], FIRST[1], FIRST[0], FIRST[2], FIRST[3]]);
        assert!(
            e.contains("a/sweep.csv, line 4") && e.contains("first at line 2"),
            "{e}"
        );
        // Unknown series.
        let e = err(&[FIRST[0], FIRST[1], "1,4,c,,3", FIRST[3]]);
        assert!(
            e.contains("a/sweep.csv, line 4") && e.contains("series `c`"),
            "{e}"
        );
        // Outside the shard's points 0..2.
        let e = err(&[FIRST[0], FIRST[1], "2,4,a,,3"]);
        assert!(
            e.contains("a/sweep.csv, line 4") && e.contains("0..2"),
            "{e}"
        );
        // A point missing, and a point lacking a series.
        let e = err(&[FIRST[0], FIRST[1]]);
        assert!(
            e.contains("a/sweep.csv, line 4") && e.contains("point 1 is missing"),
            "{e}"
        );
        let e = err(&[FIRST[0], FIRST[1], FIRST[2]]);
        assert!(
            e.contains("a/sweep.csv, line 4") && e.contains("point 1 has no row"),
            "{e}"
        );
        // Not a number.
        let e = err(&[FIRST[0], FIRST[1], "1,4,a,,NaN", FIRST[3]]);
        assert!(
            e.contains("line 4") && e.contains("not a finite number"),
            "{e}"
        );
    }

    #[test]
    fn a_relative_scenario_is_read_from_the_record_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        std::fs::create_dir_all(root.join("scenarios")).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_country_symmetric.toml"),
            root.join("scenarios/two_country_symmetric.toml"),
        )
        .unwrap();
        let dirs: Vec<PathBuf> = [(1, &FIRST[..], &[][..]), (2, &SECOND[..], &["2,x"][..])]
            .iter()
            .map(|(k, rows, failed)| {
                let mut r = record(*k, 4);
                r.scenario = SCENARIO.into();
                shard(&root.join("out"), &format!("s{k}"), &r, rows, failed)
            })
            .collect();
        let m = merge(&dirs).unwrap();
        assert_eq!(m.record.scenario, Path::new(SCENARIO));
        let tornado = String::from_utf8(m.files[3].1.clone()).unwrap();
        assert!(tornado.starts_with("parameter,"), "{tornado}");
    }
}
