//! An estimation from a data file to its results, as `tradeflow estimate` and the Python
//! package run it: read the table, fit, and turn the fit into `coefficients.csv` (the layout
//! `tradeflow gravity --coefficients` and scenario `[costs]` read), `fixed_effects.csv`,
//! `dropped.csv` and `estimate.json`, plus the console summary.
//!
//! Nothing here writes to disk: [`Estimated::files`] gives the bytes, and the caller writes
//! them through a folder claim. An estimation that does not converge is an error
//! ([`RunEstimateError::NotConverged`]), so it never reaches a results folder.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use super::table::{read_table, FixedEffectKind, Table, TableError, TableSpec};
use super::{ppml, DropReason, EstimateError, PpmlFit, PpmlOptions, StdErrKind, StopReason};
use crate::output::{csv_bytes, json_bytes, OutputError};

/// What to estimate: the data file and the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// A CSV in the gegravity layout: `exporter,importer,year,<dependent>,<variables>`.
    pub data: PathBuf,
    /// Regressors (columns of the data).
    pub variables: Vec<String>,
    /// Fixed-effect dimensions by name: `exporter`, `importer`, `year`, `exporter-year`,
    /// `importer-year`, `pair`.
    pub fixed_effects: Vec<String>,
    /// Standard errors clustered by the ordered pair (otherwise robust HC0).
    pub cluster_pair: bool,
    /// The dependent variable's column.
    pub dependent: String,
    /// Use only this year's rows (every row without it).
    pub year: Option<i64>,
}

impl Request {
    /// The default model of gegravity's users: exporter and importer fixed effects, robust
    /// standard errors, dependent variable `trade`.
    pub fn new(data: impl Into<PathBuf>, variables: Vec<String>) -> Request {
        Request {
            data: data.into(),
            variables,
            fixed_effects: vec!["exporter".into(), "importer".into()],
            cluster_pair: false,
            dependent: "trade".into(),
            year: None,
        }
    }
}

/// Why an estimation produced no results.
#[derive(Debug, Error)]
pub enum RunEstimateError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{path}: PPML estimation: {source}")]
    Estimate {
        path: PathBuf,
        #[source]
        source: EstimateError,
    },
    #[error("{path}: PPML {stop} after {iterations} iterations (relative deviance change {change:.2e}); nothing was written")]
    NotConverged {
        path: PathBuf,
        stop: StopReason,
        iterations: usize,
        change: f64,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A converged estimation with what traces it to the data.
#[derive(Debug, Clone)]
pub struct Estimated {
    pub request: Request,
    pub kinds: Vec<FixedEffectKind>,
    pub table: Table,
    pub fit: PpmlFit,
    pub options: PpmlOptions,
}

/// The fixed-effect dimensions of a request, or every unknown name at once.
pub fn fixed_effect_kinds(names: &[String]) -> Result<Vec<FixedEffectKind>, TableError> {
    let mut kinds = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match FixedEffectKind::parse(name) {
            Some(k) => kinds.push(k),
            None => unknown.push(name.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(kinds)
    } else {
        Err(TableError::UnknownFixedEffects(unknown))
    }
}

/// Reads the data of a request (checked before any folder is claimed).
pub fn read(request: &Request) -> Result<(Vec<FixedEffectKind>, Table), RunEstimateError> {
    let kinds = fixed_effect_kinds(&request.fixed_effects)?;
    let spec = TableSpec {
        dependent: request.dependent.clone(),
        variables: request.variables.clone(),
        fixed_effects: kinds.clone(),
        cluster_pair: request.cluster_pair,
        year: request.year,
    };
    let table = read_table(&request.data, &spec)?;
    Ok((kinds, table))
}

/// Fits a table read by [`read`]; a fit that did not converge is an error.
pub fn fit(
    request: Request,
    kinds: Vec<FixedEffectKind>,
    table: Table,
) -> Result<Estimated, RunEstimateError> {
    let options = PpmlOptions {
        se: if request.cluster_pair {
            StdErrKind::ClusterPair
        } else {
            StdErrKind::Robust
        },
        ..PpmlOptions::default()
    };
    let fit = ppml(&table.design, &options).map_err(|source| RunEstimateError::Estimate {
        path: request.data.clone(),
        source,
    })?;
    if !fit.report.converged {
        return Err(RunEstimateError::NotConverged {
            path: request.data.clone(),
            stop: fit.report.stop,
            iterations: fit.report.iterations,
            change: fit.report.relative_change,
        });
    }
    Ok(Estimated {
        request,
        kinds,
        table,
        fit,
        options,
    })
}

/// [`read`] then [`fit`].
pub fn estimate(request: Request) -> Result<Estimated, RunEstimateError> {
    let (kinds, table) = read(&request)?;
    fit(request, kinds, table)
}

/// One row of `coefficients.csv`.
#[derive(Debug, Clone, Serialize)]
struct CoefficientRow<'a> {
    variable: &'a str,
    beta: f64,
    stderr: f64,
}

/// One row of `fixed_effects.csv`.
#[derive(Debug, Clone, Serialize)]
struct FixedEffectRow<'a> {
    dimension: &'a str,
    group: &'a str,
    estimate: f64,
}

/// One row of `dropped.csv`: an observation the estimation could not use, and why.
#[derive(Debug, Clone, Serialize)]
struct DroppedRow<'a> {
    line: u64,
    exporter: &'a str,
    importer: &'a str,
    year: Option<i64>,
    reason: String,
}

/// `estimate.json`.
#[derive(Serialize)]
struct Record<'a> {
    tradeflow_version: &'static str,
    data: String,
    year: Option<i64>,
    dependent: &'a str,
    variables: &'a [String],
    fixed_effects: Vec<&'static str>,
    standard_errors: StdErrKind,
    standard_error_formula: &'static str,
    constant: &'static str,
    fixed_effect_normalisation: &'static str,
    options: PpmlOptions,
    iterations: usize,
    deviance: f64,
    relative_change: f64,
    converged: bool,
    stop: StopReason,
    max_demean_sweeps: usize,
    rows_read: usize,
    observations: usize,
    kept: usize,
    dropped: usize,
    dropped_non_finite: usize,
    dropped_singleton: usize,
    dropped_separated: usize,
    clusters: Option<usize>,
    groups: Vec<(&'static str, usize)>,
}

const CONSTANT: &str = "ppmlhdfe's _cons: the mu-weighted mean over the kept observations of the summed fixed effects, sum mu_n (eta_n - b'x_n) / sum mu_n; its standard error is that of a column of ones beside the demeaned regressors plus their mu-weighted means (reghdfe)";
const NORMALISATION: &str = "each dimension has a zero mu-weighted mean over the kept observations, so that eta_n = b'x_n + constant + sum of the observation's fixed effects";

/// The header of `dropped.csv`, written even when nothing was dropped.
const DROPPED_HEADER: &[u8] = b"line,exporter,importer,year,reason\n";

impl Estimated {
    /// The results folder's files, as bytes: `coefficients.csv`, `fixed_effects.csv`,
    /// `dropped.csv`, `estimate.json`.
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
        let fit = &self.fit;
        let table = &self.table;
        let coefs: Vec<CoefficientRow> = fit
            .coefficients
            .iter()
            .chain(std::iter::once(&fit.constant))
            .map(|c| CoefficientRow {
                variable: &c.name,
                beta: c.beta,
                stderr: c.stderr,
            })
            .collect();
        let mut fe_rows = Vec::new();
        for ((kind, values), labels) in self
            .kinds
            .iter()
            .zip(&fit.fixed_effects)
            .zip(&table.group_labels)
        {
            for &(g, estimate) in &values.values {
                fe_rows.push(FixedEffectRow {
                    dimension: kind.name(),
                    group: &labels[g as usize],
                    estimate,
                });
            }
        }
        let dropped: Vec<DroppedRow> = fit
            .dropped
            .iter()
            .map(|d| DroppedRow {
                line: table.lines[d.index],
                exporter: &table.codes[table.exporter[d.index] as usize],
                importer: &table.codes[table.importer[d.index] as usize],
                year: table.year[d.index],
                reason: d.reason.to_string(),
            })
            .collect();
        let dropped_csv = if dropped.is_empty() {
            DROPPED_HEADER.to_vec()
        } else {
            csv_bytes(&dropped, "dropped.csv")?
        };
        Ok(vec![
            ("coefficients.csv", csv_bytes(&coefs, "coefficients.csv")?),
            (
                "fixed_effects.csv",
                csv_bytes(&fe_rows, "fixed_effects.csv")?,
            ),
            ("dropped.csv", dropped_csv),
            (
                "estimate.json",
                json_bytes(&self.record(), "estimate.json")?,
            ),
        ])
    }

    fn record(&self) -> Record<'_> {
        let fit = &self.fit;
        let count =
            |f: fn(&DropReason) -> bool| fit.dropped.iter().filter(|d| f(&d.reason)).count();
        Record {
            tradeflow_version: env!("CARGO_PKG_VERSION"),
            data: self.request.data.display().to_string(),
            year: self.request.year,
            dependent: &self.request.dependent,
            variables: &self.request.variables,
            fixed_effects: self.kinds.iter().map(|k| k.name()).collect(),
            standard_errors: fit.se,
            standard_error_formula: fit.se.formula(),
            constant: CONSTANT,
            fixed_effect_normalisation: NORMALISATION,
            options: self.options,
            iterations: fit.report.iterations,
            deviance: fit.report.deviance,
            relative_change: fit.report.relative_change,
            converged: fit.report.converged,
            stop: fit.report.stop,
            max_demean_sweeps: fit.report.max_demean_sweeps,
            rows_read: self.table.rows_read,
            observations: fit.report.observations,
            kept: fit.report.kept,
            dropped: fit.dropped.len(),
            dropped_non_finite: count(|r| matches!(r, DropReason::NonFinite { .. })),
            dropped_singleton: count(|r| matches!(r, DropReason::Singleton { .. })),
            dropped_separated: count(|r| matches!(r, DropReason::Separated { .. })),
            clusters: fit.report.clusters,
            groups: self
                .kinds
                .iter()
                .zip(&fit.fixed_effects)
                .map(|(k, v)| (k.name(), v.values.len()))
                .collect(),
        }
    }

    /// The console table: counts, convergence and the coefficients with their standard
    /// errors (the kind named in the header).
    pub fn summary(&self) -> String {
        let fit = &self.fit;
        let groups: Vec<String> = self
            .kinds
            .iter()
            .zip(&fit.fixed_effects)
            .map(|(k, v)| format!("{k} ({} groups)", v.values.len()))
            .collect();
        let mut s = format!(
            "PPML: {} observations ({} rows read), {} kept, {} dropped; fixed effects: {}\n",
            fit.report.observations,
            self.table.rows_read,
            fit.report.kept,
            fit.dropped.len(),
            if groups.is_empty() {
                "none".to_owned()
            } else {
                groups.join(", ")
            }
        );
        s.push_str(&format!(
            "{} in {} iterations, deviance {:.6e}\n",
            fit.report.stop, fit.report.iterations, fit.report.deviance
        ));
        let se = match fit.se {
            StdErrKind::Robust => "stderr (robust HC0)",
            StdErrKind::ClusterPair => "stderr (clustered by pair)",
        };
        let width = fit
            .coefficients
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0)
            .max(8);
        s.push_str(&format!("{:<width$}  {:>14}  {se}\n", "variable", "beta"));
        for c in fit
            .coefficients
            .iter()
            .chain(std::iter::once(&fit.constant))
        {
            s.push_str(&format!(
                "{:<width$}  {:>14.7}  {:>14.7}\n",
                c.name, c.beta, c.stderr
            ));
        }
        s
    }

    /// The data file the estimate was read from.
    pub fn data(&self) -> &Path {
        &self.request.data
    }
}
