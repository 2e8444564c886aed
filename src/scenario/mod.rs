//! Scenario files: TOML in, a validated [`Scenario`] out.
//!
//! Reading happens in two steps (as `STYLE.md` asks): `raw` mirrors what the user wrote,
//! and `validate` converts it once, resolving country codes and groups, loading the data,
//! and checking every range. Problems are collected in one pass and reported together,
//! each with the key path of the field (`shocks[1].exporters`), the file and, for syntax
//! errors, the line and column.

mod dynamics;
mod extends;
pub mod params;
pub mod raw;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::gravity::{GeMode, SolverOptions};
use crate::world::{DataError, GravityData};

pub use dynamics::{Dynamics, Reporter, Routes, Sector};
pub use raw::{CostMethod, RawScenario, ShockKind};
pub use validate::validate;

/// One thing wrong with a scenario, located by key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path of the field, e.g. `shocks[1].exporters[0]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a scenario could not be read.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {}", list_problems(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(transparent)]
    Data(#[from] DataError),
}

fn list_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems:", many.len());
            for p in many {
                s.push_str("\n  - ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

/// Where the data of a scenario came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// A gegravity-layout file (path as resolved) and the year used.
    File { path: PathBuf, year: Option<i64> },
    /// Flows written in the scenario file.
    Inline,
}

/// How a shock changes trade costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostChange {
    /// Set cost variable `variable` to `value` (its coefficient gives the cost change).
    SetVariable { variable: String, value: f64 },
    /// Multiply `t_ij` by `factor` (a tariff of `p` percent is a factor `1 + p/100`).
    Factor { factor: f64 },
}

/// A validated shock: a cost change and the pairs it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shock {
    /// The user's label, or a description of the entry.
    pub label: String,
    /// What changes.
    pub change: CostChange,
    /// `(exporter, importer)` positions in the economies.
    #[serde(skip)]
    pub pairs: Vec<(usize, usize)>,
    /// The same pairs as codes, for `run.json`.
    pub pair_codes: Vec<[String; 2]>,
}

/// A scenario, checked and ready to run.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    pub sigma: f64,
    pub reference_importer: String,
    pub ge_mode: GeMode,
    pub data_source: DataSource,
    pub economies: Vec<String>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub cost_method: CostMethod,
    pub coefficients: BTreeMap<String, f64>,
    pub shocks: Vec<Shock>,
    pub solver: SolverOptions,
    /// Years, sectors, routes and instruments, when the scenario has `[years]`.
    pub dynamics: Option<Dynamics>,
    /// The data, loaded and checked.
    #[serde(skip)]
    pub data: GravityData,
}

impl Scenario {
    /// Reads and validates a scenario file. Relative data paths are taken from the file's
    /// folder.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Io {
            path: path.to_owned(),
            cause,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if !extends::has_extends(&text) {
            return Self::from_toml_str(&text, path, base);
        }
        Self::from_table(extends::load_merged(path)?, path)
    }

    /// The scenario file as one TOML table, with everything it `extends` merged in and data
    /// paths made absolute: what parameter paths (calibration, Monte Carlo, sweeps) address.
    pub fn load_table(path: &Path) -> Result<toml::Table, ScenarioError> {
        extends::load_merged(path)
    }

    /// Validates a scenario from its merged table (see [`Scenario::load_table`]); `path`
    /// names it in messages and anchors relative paths.
    pub fn from_table(table: toml::Table, path: &Path) -> Result<Scenario, ScenarioError> {
        Self::from_table_reusing(table, path, None)
    }

    /// As [`Scenario::from_table`], reusing the loaded data of `reuse` when the table names
    /// the same data file and year: draws and sweep points change parameters, not data.
    pub fn from_table_reusing(
        table: toml::Table,
        path: &Path,
        reuse: Option<&Scenario>,
    ) -> Result<Scenario, ScenarioError> {
        let base = path.parent().unwrap_or(Path::new("."));
        // Merged from several files: serde errors carry the key path but no line.
        let raw: RawScenario = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                ScenarioError::Syntax {
                    path: path.to_owned(),
                    message: format!(
                        "{} (at `{key}`, in this file or one it extends)",
                        e.into_inner().message()
                    ),
                }
            })?;
        validate::validate_reusing(raw, Some(path), base, reuse)
    }

    /// Parses and validates scenario text; `path` names it in messages and `base_dir`
    /// anchors relative data paths.
    pub fn from_toml_str(
        text: &str,
        path: &Path,
        base_dir: &Path,
    ) -> Result<Scenario, ScenarioError> {
        let raw = parse_toml(text, path)?;
        validate(raw, Some(path), base_dir)
    }
}

/// Parses TOML into the raw mirror, keeping toml's line and column and adding the key path.
pub fn parse_toml(text: &str, path: &Path) -> Result<RawScenario, ScenarioError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let mut message = inner.message().to_owned();
        if let Some(span) = inner.span() {
            let (line, col) = line_col(text, span.start);
            message = format!("line {line}, column {col}: {message}");
        }
        if key != "." && !key.is_empty() {
            message = format!("{message} (at `{key}`)");
        }
        ScenarioError::Syntax {
            path: path.to_owned(),
            message,
        }
    })
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |k| before.len() - k - 1)
        + 1;
    (line, col)
}
