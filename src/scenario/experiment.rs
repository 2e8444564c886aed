//! A gegravity-style experiment from CSV files, without a scenario file
//! (`tradeflow gravity`): gravity data, a coefficients table and an experiment table become
//! the same raw scenario a TOML file would give, validated the same way, so both paths share
//! every check and every output column.
//!
//! - coefficients: `variable,beta[,stderr]` (what `tradeflow estimate` writes); `constant`
//!   multiplies 1;
//! - experiment: `exporter,importer,variable,value`, setting that cost variable for that
//!   pair in the counterfactual.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use super::raw::{CostMethod, RawCosts, RawData, RawScenario, RawShock, ShockKind};
use super::{Scenario, ScenarioError};
use crate::gravity::GeMode;
use crate::input::{read_bytes, InputError, InputKind};

/// The inputs of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Gravity data in the gegravity layout: `exporter,importer,year,trade,Y,E,<variables>`.
    pub data: PathBuf,
    /// The year of the data (required when the file holds several).
    pub year: Option<i64>,
    /// The coefficients table.
    pub coefficients: PathBuf,
    /// Elasticity of substitution.
    pub sigma: f64,
    /// The importer whose inward resistance is normalised to 1.
    pub reference_importer: String,
    /// The experiment table.
    pub experiment: PathBuf,
    pub ge_mode: GeMode,
}

/// What is wrong with an experiment's inputs.
#[derive(Debug, Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}, line {line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}, line {line}: beta of `{variable}` must be a finite number")]
    NonFinite {
        path: PathBuf,
        line: u64,
        variable: String,
    },
    #[error("{path}, line {line}: coefficient `{variable}` is given twice")]
    CoefficientTwice {
        path: PathBuf,
        line: u64,
        variable: String,
    },
    #[error("{path}: the experiment has no rows")]
    Empty { path: PathBuf },
    #[error("{path}, line {line}: {exporter}->{importer} `{variable}` is set twice (first on line {first}): give each pair and variable once")]
    SetTwice {
        path: PathBuf,
        line: u64,
        exporter: String,
        importer: String,
        variable: String,
        first: u64,
    },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoefficientRow {
    variable: String,
    beta: f64,
    /// Accepted so that `tradeflow estimate`'s file reads unchanged; not used here.
    #[serde(default, rename = "stderr")]
    _stderr: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentRow {
    exporter: String,
    importer: String,
    variable: String,
    value: f64,
}

impl Experiment {
    /// The files this experiment reads (a results folder must not hold them).
    pub fn inputs(&self) -> Vec<PathBuf> {
        vec![
            self.data.clone(),
            self.coefficients.clone(),
            self.experiment.clone(),
        ]
    }

    /// Reads the tables and validates the scenario they make. Validation problems name
    /// the flag or file a field came from (`--sigma`, `coefficients.csv: coefficient
    /// `lndist``), not scenario keys the user never wrote.
    pub fn scenario(&self) -> Result<Scenario, ExperimentError> {
        let coefficients = self.read_coefficients()?;
        let shocks = self.read_shocks()?;
        let mut raw = RawScenario::new(
            "gravity".to_owned(),
            self.reference_importer.clone(),
            RawData {
                path: Some(self.data.to_string_lossy().into_owned()),
                year: self.year,
                ..RawData::default()
            },
            RawCosts {
                method: CostMethod::Coefficients,
                coefficients,
            },
        );
        raw.description = format!(
            "tradeflow gravity --data {} --experiment {}",
            self.data.display(),
            self.experiment.display()
        );
        raw.sigma = Some(self.sigma);
        raw.ge_mode = self.ge_mode;
        raw.shocks = shocks;
        super::validate(raw, None, Path::new("."))
            .map_err(|e| ExperimentError::Scenario(self.name_flags(e)))
    }

    fn read_coefficients(&self) -> Result<BTreeMap<String, f64>, ExperimentError> {
        let path = &self.coefficients;
        let mut coefficients = BTreeMap::new();
        for (line, row) in read_rows::<CoefficientRow>(path)? {
            if !row.beta.is_finite() {
                return Err(ExperimentError::NonFinite {
                    path: path.clone(),
                    line,
                    variable: row.variable,
                });
            }
            if coefficients.contains_key(&row.variable) {
                return Err(ExperimentError::CoefficientTwice {
                    path: path.clone(),
                    line,
                    variable: row.variable,
                });
            }
            coefficients.insert(row.variable, row.beta);
        }
        Ok(coefficients)
    }

    fn read_shocks(&self) -> Result<Vec<RawShock>, ExperimentError> {
        let path = &self.experiment;
        let rows = read_rows::<ExperimentRow>(path)?;
        if rows.is_empty() {
            return Err(ExperimentError::Empty { path: path.clone() });
        }
        // A second row for the same pair and variable would silently override the first.
        let mut seen: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
        for (line, r) in &rows {
            let key = (
                r.exporter.as_str(),
                r.importer.as_str(),
                r.variable.as_str(),
            );
            if let Some(first) = seen.insert(key, *line) {
                return Err(ExperimentError::SetTwice {
                    path: path.clone(),
                    line: *line,
                    exporter: r.exporter.clone(),
                    importer: r.importer.clone(),
                    variable: r.variable.clone(),
                    first,
                });
            }
        }
        let file = path.display().to_string();
        Ok(rows
            .into_iter()
            .map(|(line, r)| RawShock {
                kind: ShockKind::SetVariable,
                label: Some(format!("{file}, line {line}")),
                variable: Some(r.variable),
                value: Some(r.value),
                factor: None,
                percent: None,
                pairs: Some(vec![vec![r.exporter, r.importer]]),
                exporters: None,
                importers: None,
            })
            .collect())
    }

    /// Validation speaks of scenario fields; here they came from flags and files.
    fn name_flags(&self, e: ScenarioError) -> ScenarioError {
        let ScenarioError::Invalid { path, mut problems } = e else {
            return e;
        };
        for p in &mut problems {
            p.field = if let Some(name) = p.field.strip_prefix("costs.coefficients.") {
                format!("{}: coefficient `{name}`", self.coefficients.display())
            } else if p.field.starts_with("shocks[") {
                "--experiment".to_owned()
            } else {
                format!("--{}", p.field.replace('_', "-"))
            };
        }
        ScenarioError::Invalid { path, problems }
    }
}

/// Reads every row of a CSV (bounded, as every input), naming the file and line of the
/// first bad one, the column by number and name, and the text found there.
fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<(u64, T)>, ExperimentError> {
    let bytes = read_bytes(path, InputKind::Data)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let bad = |e: &csv::Error| ExperimentError::Csv {
        path: path.to_owned(),
        line: e.position().map_or(1, |p| p.line()),
        message: e.to_string(),
    };
    let headers = reader.headers().map_err(|e| bad(&e))?.clone();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| bad(&e))? {
        let line = record.position().map_or(0, |p| p.line());
        match record.deserialize::<T>(Some(&headers)) {
            Ok(row) => rows.push((line, row)),
            Err(e) => {
                return Err(ExperimentError::Csv {
                    path: path.to_owned(),
                    line,
                    message: csv_reason(&e, &headers, &record),
                })
            }
        }
    }
    Ok(rows)
}

/// What is wrong with a row: the column by number and name, and the text found there.
fn csv_reason(e: &csv::Error, headers: &csv::StringRecord, record: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(k) => {
                let k = k as usize;
                format!(
                    "field {} (`{}`): {} (found `{}`)",
                    k + 1,
                    headers.get(k).unwrap_or("?"),
                    err.kind(),
                    record.get(k).unwrap_or("")
                )
            }
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}
