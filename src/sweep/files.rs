//! The files of a sweep folder as bytes, from the points a sweep ran: `sweep.csv` (point, one
//! column per parameter, series, year, value), `failed_points.csv` (point, reason),
//! `sweep.json` ([`Record`]) and, for a whole sweep, `tornado.csv`. `tradeflow sweep` writes
//! them and the Python package reads them; nothing here touches the disk.

use std::path::Path;

use super::merge::{tornado_csv, Record};
use super::{Axis, PointResult, Sweep, SweepError};
use crate::output::{json_bytes, OutputError};
use crate::shard::Shard;

/// What a sweep ran: the axes, every point of the grid or hypercube, and the results of
/// the points `first..first + results.len()` (a shard's slice, or all of them).
#[derive(Debug, Clone, Copy)]
pub struct Ran<'a> {
    /// The scenario file as given (written into `sweep.json`).
    pub file: &'a Path,
    pub axes: &'a [Axis],
    pub points: &'a [Vec<f64>],
    pub first: usize,
    pub results: &'a [PointResult],
    /// The outputs to keep (`SERIES` and year); empty keeps all. The first is the
    /// tornado's.
    pub wanted: &'a [(String, Option<i32>)],
    pub shard: Option<Shard>,
}

/// An output as the command line writes it, `SERIES@YEAR` or `SERIES` (for a single
/// counterfactual, or a series name that holds an `@` not followed by a year).
pub fn parse_output(s: &str) -> (String, Option<i32>) {
    match s.rsplit_once('@') {
        Some((name, year)) => match year.trim().parse() {
            Ok(y) => (name.to_owned(), Some(y)),
            Err(_) => (s.to_owned(), None),
        },
        None => (s.to_owned(), None),
    }
}

fn bytes_err(e: &dyn std::fmt::Display) -> SweepError {
    SweepError::Output(OutputError::Serialise {
        what: "sweep".into(),
        message: e.to_string(),
    })
}

/// The files of the sweep folder; the tornado (which runs each parameter alone at its
/// bounds) only for a whole sweep. Errors: an unknown wanted output (checked against the
/// first point that ran), or no point that ran at all.
pub fn folder_files(sweep: &Sweep, ran: &Ran) -> Result<Vec<(&'static str, Vec<u8>)>, SweepError> {
    let param_err = |message: String| SweepError::Param {
        path: ran.file.to_owned(),
        message,
    };
    let Some(out) = ran.results.iter().find_map(|r| r.as_ref().ok()) else {
        return Err(param_err(format!(
            "no point of the sweep ran (first reason: {})",
            ran.results
                .iter()
                .find_map(|r| r.as_ref().err().map(ToString::to_string))
                .unwrap_or_else(|| "no points".into())
        )));
    };
    for (name, year) in ran.wanted {
        if let Some(why) = crate::simulate::series::missing_output(out, name, *year) {
            return Err(param_err(format!(
                "--output `{name}`{}: {why}",
                year.map_or(String::new(), |y| format!("@{y}"))
            )));
        }
    }
    let keep = |name: &String, year: &Option<i32>| {
        ran.wanted.is_empty() || ran.wanted.iter().any(|(n, y)| n == name && y == year)
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_owned()];
    header.extend(ran.axes.iter().map(|a| a.path.to_string()));
    header.extend(["series", "year", "value"].map(String::from));
    w.write_record(&header).map_err(|e| bytes_err(&e))?;
    let mut failed = csv::Writer::from_writer(Vec::new());
    failed
        .write_record(["point", "reason"])
        .map_err(|e| bytes_err(&e))?;
    let points = &ran.points[ran.first..ran.first + ran.results.len()];
    for (k, (point, result)) in points.iter().zip(ran.results).enumerate() {
        let index = (ran.first + k).to_string();
        match result {
            Err(reason) => failed
                .write_record([index.as_str(), reason.to_string().as_str()])
                .map_err(|e| bytes_err(&e))?,
            Ok(out) => {
                // Never a NaN on disk: a point with an output that is not a number failed.
                if let Some((name, year, v)) = out.iter().find(|(.., v)| !v.is_finite()) {
                    let at = year.map_or(String::new(), |y| format!(" in {y}"));
                    let reason = format!("output `{name}`{at} is {v}, not a finite number");
                    failed
                        .write_record([index.as_str(), reason.as_str()])
                        .map_err(|e| bytes_err(&e))?;
                    continue;
                }
                for (name, year, value) in out.iter().filter(|(n, y, _)| keep(n, y)) {
                    let mut row = vec![index.clone()];
                    row.extend(point.iter().map(|v| v.to_string()));
                    row.push(name.clone());
                    row.push(year.map_or(String::new(), |y| y.to_string()));
                    row.push(value.to_string());
                    w.write_record(&row).map_err(|e| bytes_err(&e))?;
                }
            }
        }
    }
    let target = match ran.wanted.first() {
        Some(t) => t.clone(),
        None => {
            let first = out[0].0.clone();
            let last_year = out
                .iter()
                .filter(|(n, _, _)| *n == first)
                .filter_map(|(_, y, _)| *y)
                .max();
            (first, last_year)
        }
    };
    let series: Vec<(String, Option<i32>)> = out
        .iter()
        .filter(|(n, y, _)| keep(n, y))
        .map(|(n, y, _)| (n.clone(), *y))
        .collect();
    let record = Record {
        scenario: ran.file.to_owned(),
        scenario_file: Some(crate::shard::absolute(ran.file)),
        series,
        parameters: ran.axes.iter().map(|a| a.path.to_string()).collect(),
        axes: ran.axes.iter().map(|a| a.to_string()).collect(),
        tornado_output: target.clone(),
        points: ran.points.len(),
        shard: ran.shard,
        first_point: ran.first,
        last_point: ran.first + ran.results.len(),
    };
    let mut files = vec![
        ("sweep.csv", w.into_inner().map_err(|e| bytes_err(&e))?),
        (
            "failed_points.csv",
            failed.into_inner().map_err(|e| bytes_err(&e))?,
        ),
        ("sweep.json", json_bytes(&record, "sweep record")?),
    ];
    if ran.shard.is_none() {
        files.push(("tornado.csv", tornado_csv(sweep, ran.axes, &target)?));
    }
    Ok(files)
}
