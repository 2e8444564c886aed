//! Parameters drawn from a fitted posterior: the folder `tradeflow calibrate` writes holds
//! `posterior.csv` (one row per free parameter: its mode, posterior sd and the fit's
//! bounds) and `posterior_covariance.csv` (the Laplace approximation's covariance, one row
//! per ordered pair of parameters, diagonal included). A draw is a multivariate normal at
//! the mode with that covariance, truncated to the bounds by drawing again.
//!
//! Read once, against the validated scenario: every parameter must resolve on it (an error
//! naming the file, the line and the parameter), every number must be finite, every pair
//! must be present once and the matrix symmetric. A parameter whose variance is exactly
//! zero (and its covariances with it) is held at its mode; the rest must be positive
//! definite, factored by Cholesky. A matrix that is not is refused, with its smallest
//! eigenvalue, rather than floored: a Laplace covariance that is not positive definite
//! says the fit did not stop at a maximum of the posterior, and flooring the eigenvalues
//! would draw from a spread the fit never produced.
//!
//! Truncation by rejection keeps the normal's shape inside the bounds: a draw outside is
//! thrown away and drawn again, at most [`MAX_REDRAWS`] times (then the draw fails, with
//! its reason, like any draw that cannot run). The redraws are counted and written into
//! the Monte Carlo folder's `posterior.json`.
//!
//! The same folder's `fit.csv` (series, year, observed; `source`) and `backtest.csv` (series,
//! reporter, year, observed, fitted, in_sample) give the observed figures of the fitted
//! series, which the fan charts show as points ([`observed_rows`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Distribution as _, StandardNormal};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::scenario::{Param, ParamPath, Scenario};

/// The posterior's parameters.
pub const POSTERIOR_FILE: &str = "posterior.csv";
/// Their covariance, in long form.
pub const COVARIANCE_FILE: &str = "posterior_covariance.csv";
/// Most times one draw is drawn again for falling outside the bounds before it fails.
pub const MAX_REDRAWS: u32 = 10_000;

/// The columns of `posterior.csv` (the calibration's contract).
const POSTERIOR_COLUMNS: [&str; 10] = [
    "parameter",
    "prior",
    "prior_location",
    "prior_sd",
    "mode",
    "posterior_sd",
    "sd_ratio",
    "verdict",
    "lower",
    "upper",
];
/// The columns of `posterior_covariance.csv`.
const COVARIANCE_COLUMNS: [&str; 4] = ["parameter_a", "parameter_b", "covariance", "correlation"];

/// A problem with a posterior folder.
#[derive(Debug, Error)]
pub enum PosteriorError {
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// A posterior read and checked against a scenario.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// The folder, as given (the key resolved against the scenario's folder, or the flag).
    pub folder: PathBuf,
    /// The parameters, in the order of `posterior.csv`.
    pub params: Vec<Param>,
    pub mode: DVector<f64>,
    pub sd: Vec<f64>,
    /// The fit's bounds (infinite where `posterior.csv` leaves the cell empty).
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Positions of the parameters with a positive variance, in order.
    varying: Vec<usize>,
    /// Lower Cholesky factor of the covariance of `varying`.
    cholesky: DMatrix<f64>,
}

/// One draw of the posterior: the values, in the order of [`Posterior::params`], and how
/// many times it was drawn again for falling outside the bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PosteriorDraw {
    pub values: Vec<f64>,
    pub redraws: u32,
}

/// A draw that stayed outside the bounds [`MAX_REDRAWS`] times.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("no posterior draw within the bounds in {} tries (`{parameter}` fell outside most often): the mode is far outside the bounds, or the bounds are narrow against the posterior sd", MAX_REDRAWS + 1)]
pub struct Truncated {
    pub parameter: String,
}

/// A CSV file's rows as cells by column, with their lines.
struct Table {
    path: PathBuf,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    fn read(path: &Path, required: &[&str]) -> Result<Table, PosteriorError> {
        let bytes = std::fs::read(path).map_err(|cause| PosteriorError::Io {
            path: path.to_owned(),
            cause,
        })?;
        let csv_err = |e: csv::Error| PosteriorError::Line {
            path: path.to_owned(),
            line: e.position().map_or(1, csv::Position::line),
            message: e.to_string(),
        };
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header = reader.headers().map_err(csv_err)?.clone();
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(k, h)| (h.trim().to_owned(), k))
            .collect();
        for c in required {
            if !columns.contains_key(*c) {
                return Err(PosteriorError::File {
                    path: path.to_owned(),
                    message: format!(
                        "no column `{c}` (the header is `{}`; need {})",
                        header.iter().collect::<Vec<_>>().join(","),
                        required.join(", ")
                    ),
                });
            }
        }
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map_or(0, csv::Position::line);
            rows.push((line, rec.iter().map(|c| c.trim().to_owned()).collect()));
        }
        Ok(Table {
            path: path.to_owned(),
            columns,
            rows,
        })
    }

    fn at(&self, line: u64, message: String) -> PosteriorError {
        PosteriorError::Line {
            path: self.path.clone(),
            line,
            message,
        }
    }

    fn cell<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        self.columns
            .get(column)
            .and_then(|&k| row.get(k))
            .map_or("", String::as_str)
    }

    /// A finite number, or `None` for an empty cell.
    fn number(
        &self,
        line: u64,
        row: &[String],
        column: &str,
    ) -> Result<Option<f64>, PosteriorError> {
        let text = self.cell(row, column);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            Ok(_) => Err(self.at(
                line,
                format!("column `{column}`: `{text}` is not a finite number"),
            )),
            Err(_) => Err(self.at(line, format!("column `{column}`: `{text}` is not a number"))),
        }
    }

    fn required(&self, line: u64, row: &[String], column: &str) -> Result<f64, PosteriorError> {
        self.number(line, row, column)?
            .ok_or_else(|| self.at(line, format!("column `{column}` is empty")))
    }
}

impl Posterior {
    /// Reads the posterior in `folder` and resolves its parameters on `s`.
    pub fn read(folder: &Path, s: &Scenario) -> Result<Posterior, PosteriorError> {
        if !folder.is_dir() {
            return Err(PosteriorError::File {
                path: folder.to_owned(),
                message: format!(
                    "no such folder: a posterior folder is the calibration folder `tradeflow calibrate` writes ({POSTERIOR_FILE}, {COVARIANCE_FILE})"
                ),
            });
        }
        let t = Table::read(&folder.join(POSTERIOR_FILE), &POSTERIOR_COLUMNS)?;
        let mut params = Vec::new();
        let mut names: HashMap<String, (usize, u64)> = HashMap::new();
        let (mut mode, mut sd, mut lower, mut upper) = (vec![], vec![], vec![], vec![]);
        for (line, row) in &t.rows {
            let line = *line;
            let name = t.cell(row, "parameter");
            let param = ParamPath::parse(name)
                .and_then(|p| s.param(&p))
                .map_err(|e| {
                    t.at(
                        line,
                        format!(
                            "parameter `{name}` does not resolve on scenario {}: {e}",
                            s.origin().display()
                        ),
                    )
                })?;
            if let Some((_, first)) = names.get(name) {
                return Err(t.at(
                    line,
                    format!("parameter `{name}` is repeated (first at line {first})"),
                ));
            }
            names.insert(name.to_owned(), (params.len(), line));
            let m = t.required(line, row, "mode")?;
            let lo = t.number(line, row, "lower")?.unwrap_or(f64::NEG_INFINITY);
            let hi = t.number(line, row, "upper")?.unwrap_or(f64::INFINITY);
            if lo > hi {
                return Err(t.at(line, format!("`{name}`: lower {lo} is above upper {hi}")));
            }
            if !(lo..=hi).contains(&m) {
                return Err(t.at(
                    line,
                    format!("`{name}`: the mode {m} is outside its bounds [{lo}, {hi}]"),
                ));
            }
            params.push(param);
            mode.push(m);
            sd.push(t.number(line, row, "posterior_sd")?.unwrap_or(f64::NAN));
            lower.push(lo);
            upper.push(hi);
        }
        if params.is_empty() {
            return Err(PosteriorError::File {
                path: t.path.clone(),
                message: "no parameters".into(),
            });
        }
        let n = params.len();
        let c = Table::read(&folder.join(COVARIANCE_FILE), &COVARIANCE_COLUMNS)?;
        let mut cov: Vec<Option<(f64, u64)>> = vec![None; n * n];
        for (line, row) in &c.rows {
            let line = *line;
            let pos = |col: &str| {
                let name = c.cell(row, col);
                names.get(name).map(|&(k, _)| k).ok_or_else(|| {
                    c.at(
                        line,
                        format!(
                            "column `{col}`: `{name}` is not a parameter of {}",
                            t.path.display()
                        ),
                    )
                })
            };
            let (a, b) = (pos("parameter_a")?, pos("parameter_b")?);
            let v = c.number(line, row, "covariance")?.ok_or_else(|| {
                c.at(
                    line,
                    format!(
                        "column `covariance` is empty for (`{}`, `{}`): the calibration could not compute the posterior covariance (a flat or singular posterior: give the free parameters priors), so there is nothing to draw from",
                        params[a], params[b]
                    ),
                )
            })?;
            c.number(line, row, "correlation")?;
            if let Some((_, first)) = cov[a * n + b] {
                return Err(c.at(
                    line,
                    format!(
                        "the pair (`{}`, `{}`) is repeated (first at line {first})",
                        params[a], params[b]
                    ),
                ));
            }
            cov[a * n + b] = Some((v, line));
        }
        let file_err = |message: String| PosteriorError::File {
            path: c.path.clone(),
            message,
        };
        let mut m = DMatrix::zeros(n, n);
        for a in 0..n {
            for b in 0..n {
                let Some((v, _)) = cov[a * n + b] else {
                    return Err(file_err(format!(
                        "no row for the pair (`{}`, `{}`): every ordered pair of the parameters of {POSTERIOR_FILE}, the diagonal included, needs one",
                        params[a], params[b]
                    )));
                };
                m[(a, b)] = v;
            }
        }
        for a in 0..n {
            let (var, line) = cov[a * n + a].expect("checked above");
            if var < 0.0 {
                return Err(c.at(
                    line,
                    format!("the variance of `{}` is negative ({var})", params[a]),
                ));
            }
            // The sd column and the diagonal must say the same (to the digits a file keeps).
            if sd[a].is_finite()
                && (var.sqrt() - sd[a]).abs() > 1e-6 * sd[a].abs().max(var.sqrt()) + 1e-300
            {
                return Err(file_err(format!(
                    "the variance of `{}` ({var}, sd {}) disagrees with its posterior_sd {} in {POSTERIOR_FILE}: are both files from one fit?",
                    params[a],
                    var.sqrt(),
                    sd[a]
                )));
            }
            for b in 0..a {
                let (x, y) = (m[(a, b)], m[(b, a)]);
                let scale = (m[(a, a)] * m[(b, b)]).sqrt();
                if (x - y).abs() > 1e-9 * scale.max(x.abs()) {
                    return Err(file_err(format!(
                        "not symmetric: cov(`{}`, `{}`) = {x} but cov(`{}`, `{}`) = {y}",
                        params[a], params[b], params[b], params[a]
                    )));
                }
            }
        }
        // A zero variance holds its parameter at the mode; its covariances must be zero.
        let varying: Vec<usize> = (0..n).filter(|&a| m[(a, a)] > 0.0).collect();
        for a in (0..n).filter(|a| !varying.contains(a)) {
            if let Some(b) = (0..n).find(|&b| m[(a, b)] != 0.0) {
                return Err(file_err(format!(
                    "`{}` has variance 0 but covariance {} with `{}`: not a covariance matrix",
                    params[a],
                    m[(a, b)],
                    params[b]
                )));
            }
        }
        let k = varying.len();
        let sub = DMatrix::from_fn(k, k, |i, j| m[(varying[i], varying[j])]);
        let cholesky = match sub.clone().cholesky() {
            Some(ch) => ch.l(),
            None => {
                let smallest = sub
                    .symmetric_eigenvalues()
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
                return Err(file_err(format!(
                    "the covariance is not positive definite (smallest eigenvalue {smallest:e}): the fit did not stop at a maximum of the posterior, or the file was rounded; tradeflow does not floor it"
                )));
            }
        };
        Ok(Posterior {
            folder: folder.to_owned(),
            params,
            mode: DVector::from_vec(mode),
            sd: (0..n).map(|a| m[(a, a)].sqrt()).collect(),
            lower,
            upper,
            varying,
            cholesky,
        })
    }

    /// One draw: `mode + L z` with `z` standard normal, drawn again while any value is
    /// outside its bounds (at most [`MAX_REDRAWS`] times).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<PosteriorDraw, Truncated> {
        let n = self.mode.len();
        let mut outside = vec![0u32; n];
        for redraws in 0..=MAX_REDRAWS {
            let z = DVector::from_fn(self.varying.len(), |_, _| StandardNormal.sample(rng));
            let step = &self.cholesky * z;
            let mut values: Vec<f64> = self.mode.iter().copied().collect();
            for (i, &a) in self.varying.iter().enumerate() {
                values[a] += step[i];
            }
            let mut inside = true;
            for a in 0..n {
                if !(self.lower[a]..=self.upper[a]).contains(&values[a]) {
                    outside[a] += 1;
                    inside = false;
                }
            }
            if inside {
                return Ok(PosteriorDraw { values, redraws });
            }
        }
        let worst = (0..n)
            .max_by_key(|&a| (outside[a], std::cmp::Reverse(a)))
            .unwrap_or(0);
        Err(Truncated {
            parameter: self.params[worst].to_string(),
        })
    }

    /// The record of this posterior for `posterior.json`, with the tally of the draws run.
    pub fn record(
        &self,
        replaces: Vec<String>,
        independent: Vec<String>,
        tally: Tally,
    ) -> PosteriorRecord {
        let bound = |v: f64| v.is_finite().then_some(v);
        PosteriorRecord {
            folder: self.folder.clone(),
            folder_absolute: crate::shard::absolute(&self.folder),
            parameters: self
                .params
                .iter()
                .enumerate()
                .map(|(a, p)| PosteriorParameter {
                    path: p.to_string(),
                    mode: self.mode[a],
                    sd: self.sd[a],
                    lower: bound(self.lower[a]),
                    upper: bound(self.upper[a]),
                })
                .collect(),
            replaces,
            independent,
            max_redraws: MAX_REDRAWS,
            redraws: tally.redraws,
            truncated: tally.truncated,
        }
    }
}

/// Redraws over a range of draws.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Draws thrown away for falling outside the bounds, over all draws.
    pub redraws: u64,
    /// Draws that stayed outside [`MAX_REDRAWS`] times, and failed.
    pub truncated: u64,
}

/// One parameter of `posterior.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorParameter {
    pub path: String,
    pub mode: f64,
    pub sd: f64,
    /// `null`: unbounded.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// `posterior.json` of a Monte Carlo folder drawn from a posterior: where the draws came
/// from and how many were drawn again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorRecord {
    /// The posterior folder, as given.
    pub folder: PathBuf,
    pub folder_absolute: PathBuf,
    /// Drawn jointly from the posterior.
    pub parameters: Vec<PosteriorParameter>,
    /// Parameters of `[uncertainty]` whose own draws the posterior replaces.
    pub replaces: Vec<String>,
    /// Parameters still drawn from `[uncertainty]`, independently of the posterior.
    pub independent: Vec<String>,
    pub max_redraws: u32,
    /// Posterior draws thrown away for falling outside the bounds, over all draws.
    pub redraws: u64,
    /// Draws that found no values within the bounds and failed.
    pub truncated: u64,
}

/// One row of `observed.csv`: an observed figure of a series of the Monte Carlo, from the
/// posterior folder's `fit.csv` or `backtest.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedRow {
    pub series: String,
    pub year: i32,
    /// The economy that reported the figure (from the series name for `fit.csv` rows).
    pub reporter: String,
    /// In the model's units.
    pub observed: f64,
    /// Fitted to (`true`), or predicted out of sample by a backtest (`false`).
    pub in_sample: bool,
    /// Where the figure comes from: `fit.csv`'s `source` cell, else the file.
    pub source: String,
}

/// The observed figures of `series` (of a yearly Monte Carlo) in the posterior folder:
/// `fit.csv` (in sample) and `backtest.csv` if present (its `in_sample` flag wins for a
/// figure in both, and its reporter where `fit.csv` cannot tell it). Rows of other
/// series, and rows without a year, are left out. Sorted by series and year.
pub fn observed_rows(
    folder: &Path,
    series: &[(String, Option<i32>)],
) -> Result<Vec<ObservedRow>, PosteriorError> {
    let names: std::collections::HashSet<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
    let reporter_of = |s: &str| match crate::simulate::series::Series::parse(s) {
        Some(crate::simulate::series::Series::Recorded { reporter, .. }) => reporter,
        _ => String::new(),
    };
    // One figure per series and year (a series names its reporter where it has one).
    let mut rows: BTreeMap<(String, i32), ObservedRow> = BTreeMap::new();
    let fit = folder.join("fit.csv");
    if fit.is_file() {
        let t = Table::read(&fit, &["series", "year", "observed"])?;
        for (line, row) in &t.rows {
            let name = t.cell(row, "series");
            let Some(year) = year_of(&t, *line, row)? else {
                continue;
            };
            if !names.contains(name) {
                continue;
            }
            let observed = t.required(*line, row, "observed")?;
            let source = match t.cell(row, "source") {
                "" => "fit.csv".to_owned(),
                s => s.to_owned(),
            };
            let reporter = match t.cell(row, "reporter") {
                "" => reporter_of(name),
                r => r.to_owned(),
            };
            // `fit.csv` holds the figures fitted to; an `in_sample` column, where there is
            // one, says so row by row.
            let in_sample = match t.cell(row, "in_sample") {
                "" => true,
                flag => bool_of(&t, *line, flag)?,
            };
            rows.insert(
                (name.to_owned(), year),
                ObservedRow {
                    series: name.to_owned(),
                    year,
                    reporter,
                    observed,
                    in_sample,
                    source,
                },
            );
        }
    }
    let backtest = folder.join("backtest.csv");
    if backtest.is_file() {
        let t = Table::read(
            &backtest,
            &[
                "series",
                "reporter",
                "year",
                "observed",
                "fitted",
                "in_sample",
            ],
        )?;
        for (line, row) in &t.rows {
            let name = t.cell(row, "series");
            let Some(year) = year_of(&t, *line, row)? else {
                continue;
            };
            if !names.contains(name) {
                continue;
            }
            let observed = t.required(*line, row, "observed")?;
            let in_sample = bool_of(&t, *line, t.cell(row, "in_sample"))?;
            let key = (name.to_owned(), year);
            let earlier = rows.get(&key);
            let reporter = match t.cell(row, "reporter") {
                "" => earlier.map_or_else(|| reporter_of(name), |r| r.reporter.clone()),
                r => r.to_owned(),
            };
            let source = match (earlier, t.cell(row, "source")) {
                (Some(r), _) => r.source.clone(),
                (None, "") => "backtest.csv".to_owned(),
                (None, s) => s.to_owned(),
            };
            rows.insert(
                key,
                ObservedRow {
                    series: name.to_owned(),
                    year,
                    reporter,
                    observed,
                    in_sample,
                    source,
                },
            );
        }
    }
    Ok(rows.into_values().collect())
}

fn bool_of(t: &Table, line: u64, text: &str) -> Result<bool, PosteriorError> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(t.at(
            line,
            format!("column `in_sample`: `{other}` is not true or false"),
        )),
    }
}

fn year_of(t: &Table, line: u64, row: &[String]) -> Result<Option<i32>, PosteriorError> {
    let text = t.cell(row, "year");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i32>()
        .map(Some)
        .map_err(|_| t.at(line, format!("column `year`: `{text}` is not a year")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_draw_stays_within_bounds_and_counts_its_redraws() {
        let p = Posterior {
            folder: PathBuf::from("x"),
            params: Vec::new(),
            mode: DVector::from_vec(vec![0.0]),
            sd: vec![1.0],
            lower: vec![0.0],
            upper: vec![f64::INFINITY],
            varying: vec![0],
            cholesky: DMatrix::from_element(1, 1, 1.0),
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut redraws = 0;
        for _ in 0..400 {
            let d = p.draw(&mut rng).unwrap();
            assert!(d.values[0] >= 0.0);
            redraws += d.redraws;
        }
        // Half of the normal lies below the mode: about one redraw per draw.
        assert!((300..500).contains(&redraws), "{redraws}");
    }
}
