//! Scenario files: TOML in, a validated [`Scenario`] out.
//!
//! Reading happens in two steps (as `STYLE.md` asks): `raw` mirrors what the user wrote,
//! and `validate` converts it once, resolving country codes and groups, loading the data,
//! and checking every range. Problems are collected in one pass and reported together,
//! each with the key path of the field (`shocks[1].exporters`), the file and, for syntax
//! errors, the line and column.
//!
//! # Sealed
//!
//! A [`Scenario`] is made only by validation, and changed after it only through checked
//! methods ([`Scenario::with_ge_mode`], [`Scenario::with_params`]) that re-check what they
//! touch, so holding one means holding a valid scenario. Its fields are `pub(crate)`,
//! read from outside the crate through accessors of the same names (`sigma()`,
//! `dynamics()`, ...). `pub(crate)` rather than private because the engine inside the
//! crate (`simulate`, `gravity`, `output`) reads them in its kernels, and the fields of one
//! crate are reviewed together; nothing in the crate assigns to them outside this module
//! (`grep -rn '\.dynamics = \|\.sigma = '` finds only this module's setters). The types
//! the accessors lend ([`Dynamics`], [`Shock`], ...) keep public fields: they are lent
//! behind `&`, and a copy of one cannot be put back into a scenario.
//!
//! Validated types and the engine use the enums defined here ([`RouteForm`],
//! [`CostMethod`], [`ShockKind`]), which `raw` re-exports for the file format; nothing
//! outside this module imports `raw` except to build a scenario by validation.
//!
//! `resolve.rs` holds what both validators share (the problems found, codes and groups
//! resolved, the bounds of every settable number); `validate.rs` (the scenario) uses
//! `dynamics.rs` (its years), never the other way round.

mod dynamics;
pub mod experiment;
mod extends;
pub mod params;
pub mod raw;
mod resolve;
mod uncertainty;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::gravity::{GeMode, SolverOptions};
use crate::input::{read_text, InputError, InputKind};
use crate::world::{DataError, GravityData};

pub use dynamics::{Dynamics, Reporter, Routes, Sector};
pub use params::{Missing, Param, ParamError, ParamPath};
pub use raw::RawScenario;
pub use uncertainty::{CoefficientDraws, Distribution, Uncertainty};
pub use validate::validate;

/// How route costs are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteForm {
    /// Direct route with its wedge, or via an intermediary at a detour premium.
    #[default]
    Detour,
    /// Allen and Arkolakis (2022): every path over a network of links.
    Network,
}

/// How baseline trade costs are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostMethod {
    /// `t^(1-sigma) = exp(sum_k b_k z_k)` from cost variables and coefficients.
    Coefficients,
    /// Backed out of the observed flows, so that the baseline reproduces them.
    Observed,
}

/// What a shock does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockKind {
    /// Set a cost variable to `value` for the listed pairs.
    SetVariable,
    /// Multiply the trade cost `t_ij` by `factor`.
    CostFactor,
    /// Raise the trade cost by a tariff equivalent: `t_ij * (1 + percent / 100)`.
    Tariff,
}

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
    #[error(transparent)]
    Input(#[from] InputError),
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
    /// A world built by `tradeflow data build` (path as resolved), the year used, and the
    /// panel it was built from if the scenario names it.
    World {
        path: PathBuf,
        year: i64,
        panel: Option<PathBuf>,
        /// The exchange-rates table for the panel's figures, if the scenario names one.
        rates: Option<PathBuf>,
    },
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
    /// A tariff's `percent` as written (`None` for other kinds).
    #[serde(skip)]
    pub(crate) percent: Option<f64>,
    /// Whether the user gave the label (else it describes the change, and follows it).
    #[serde(skip)]
    pub(crate) label_given: bool,
}

impl Shock {
    /// The label of a shock the user did not label.
    pub(crate) fn default_label(change: &CostChange, percent: Option<f64>) -> String {
        match (change, percent) {
            (CostChange::SetVariable { variable, value }, _) => format!("set {variable} = {value}"),
            (CostChange::Factor { .. }, Some(p)) => format!("tariff equivalent {p}%"),
            (CostChange::Factor { factor }, None) => format!("cost factor {factor}"),
        }
    }
}

/// A scenario, checked and ready to run. Made only by validation (see the module docs);
/// read through its accessors.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) description: String,
    /// `abstract = true`: a base for other files, skipped by `compare`.
    #[serde(skip)]
    pub(crate) is_abstract: bool,
    /// The file it was read from, if any.
    pub(crate) source: Option<PathBuf>,
    /// The elasticity of substitution: the one written, or the first sector's.
    pub(crate) sigma: f64,
    /// `sigma` was written at the top level (no `[[sectors]]`): the parameter `sigma` is
    /// that one, and sets the sector `all` too.
    #[serde(skip)]
    pub(crate) top_sigma: bool,
    pub(crate) reference_importer: String,
    pub(crate) ge_mode: GeMode,
    pub(crate) data_source: DataSource,
    /// `[data] unit`: the unit of the flows, when the file names it.
    pub(crate) data_unit: Option<String>,
    pub(crate) economies: Vec<String>,
    pub(crate) groups: BTreeMap<String, Vec<String>>,
    pub(crate) cost_method: CostMethod,
    pub(crate) coefficients: BTreeMap<String, f64>,
    pub(crate) shocks: Vec<Shock>,
    pub(crate) solver: SolverOptions,
    /// Years, sectors, routes and instruments, when the scenario has `[years]`.
    pub(crate) dynamics: Option<Dynamics>,
    /// `[uncertainty]`, checked against the scenario, when it has one.
    #[serde(skip)]
    pub(crate) uncertainty: Option<Uncertainty>,
    /// The data, loaded and checked (with `[data.cells]` set).
    #[serde(skip)]
    pub(crate) data: GravityData,
    /// Whether each cell of the data is imputed, row-major (all false but for a world).
    #[serde(skip)]
    pub(crate) imputed: Vec<bool>,
    /// `[data.cells]`: imputed cells of the world the scenario sets, in `run.json` with
    /// the value imputed and the value used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) cells: Vec<CellOverride>,
}

/// An imputed cell of the world set by the scenario (`[data.cells]`, or a fitted or drawn
/// parameter `data.cells.<EXP-IMP>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellOverride {
    #[serde(skip)]
    pub(crate) exporter: usize,
    #[serde(skip)]
    pub(crate) importer: usize,
    /// `EXP-IMP`.
    pub code: String,
    /// The world's imputed value (data unit).
    pub imputed: f64,
    /// The value the scenario uses.
    pub value: f64,
}

/// Read access to the validated fields.
impl Scenario {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The unit of the flows (`[data] unit`), or `data unit` when the file names none.
    pub fn unit(&self) -> &str {
        self.data_unit
            .as_deref()
            .unwrap_or(crate::simulate::series::DATA_UNIT)
    }
    /// A base for other files (`abstract = true`), not a scenario of its own.
    pub fn is_abstract(&self) -> bool {
        self.is_abstract
    }
    /// The file it was read from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }
    /// Every file this scenario was read from: its file, the files it `extends` (the chain
    /// as [`Scenario::from_file`] followed it) and its data file. A results folder may hold
    /// none of them.
    pub fn input_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let Some(path) = &self.source {
            match extends::load_chain(path) {
                Ok(chain) => files.extend(chain.files.into_iter().map(|(p, _)| p)),
                Err(_) => files.push(path.clone()),
            }
        }
        match &self.data_source {
            DataSource::File { path, .. } => files.push(path.clone()),
            DataSource::World {
                path, panel, rates, ..
            } => {
                files.push(path.clone());
                files.extend(panel.clone());
                files.extend(rates.clone());
            }
            DataSource::Inline => {}
        }
        files
    }
    /// The elasticity of substitution (with `[[sectors]]`, the first sector's).
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
    pub fn reference_importer(&self) -> &str {
        &self.reference_importer
    }
    pub fn ge_mode(&self) -> GeMode {
        self.ge_mode
    }
    pub fn data_source(&self) -> &DataSource {
        &self.data_source
    }
    /// Codes of the economies, in the data's order.
    pub fn economies(&self) -> &[String] {
        &self.economies
    }
    pub fn groups(&self) -> &BTreeMap<String, Vec<String>> {
        &self.groups
    }
    pub fn cost_method(&self) -> CostMethod {
        self.cost_method
    }
    pub fn coefficients(&self) -> &BTreeMap<String, f64> {
        &self.coefficients
    }
    pub fn shocks(&self) -> &[Shock] {
        &self.shocks
    }
    pub fn solver(&self) -> SolverOptions {
        self.solver
    }
    /// Years, sectors, routes and instruments, when the scenario has `[years]`.
    pub fn dynamics(&self) -> Option<&Dynamics> {
        self.dynamics.as_ref()
    }
    /// The checked `[uncertainty]`, when the scenario has one.
    pub fn uncertainty(&self) -> Option<&Uncertainty> {
        self.uncertainty.as_ref()
    }
    /// The data, loaded and checked.
    pub fn data(&self) -> &GravityData {
        &self.data
    }
}

impl Scenario {
    /// Reads and validates a scenario file. Relative data paths are taken from the file's
    /// folder.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = read_text(path, InputKind::Scenario)?;
        let base = path.parent().unwrap_or(Path::new("."));
        if !extends::has_extends(&text) {
            return Self::from_toml_str(&text, path, base);
        }
        // Read again as a chain, which knows the file each part came from: problems are
        // reported against the file that holds them.
        let merged = extends::load_chain(path)?;
        let raw = deserialize_merged(merged.table.clone(), path, Some(&merged))?;
        validate::validate_reusing(raw, Some(path), base, None)
            .map_err(|e| locate_instruments(e, &merged, path))
    }

    /// The scenario file as one TOML table, with everything it `extends` merged in and data
    /// paths made absolute: what parameter paths (calibration, Monte Carlo, sweeps) address.
    pub fn load_table(path: &Path) -> Result<toml::Table, ScenarioError> {
        extends::load_merged(path)
    }

    /// Validates a scenario from its merged table (see [`Scenario::load_table`]); `path`
    /// names it in messages and anchors relative paths.
    pub fn from_table(table: toml::Table, path: &Path) -> Result<Scenario, ScenarioError> {
        let base = path.parent().unwrap_or(Path::new("."));
        let raw = deserialize_merged(table, path, None)?;
        validate::validate_reusing(raw, Some(path), base, None)
    }

    /// Where messages about this scenario point: its file, or the command line.
    pub(crate) fn origin(&self) -> PathBuf {
        self.source
            .clone()
            .unwrap_or_else(|| PathBuf::from("command line"))
    }

    /// The scenario with another full-GE convention (the command line's `--ge-mode`),
    /// checked as the file's `ge_mode` is: the yearly loop of a scenario with `[years]`
    /// always solves the complete GE, so `gegravity` is refused for one.
    pub fn with_ge_mode(mut self, mode: GeMode) -> Result<Scenario, ScenarioError> {
        if let Some(message) = ge_mode_problem(mode, self.dynamics.is_some()) {
            return Err(ScenarioError::Invalid {
                path: self.origin(),
                problems: vec![Problem {
                    field: "--ge-mode".into(),
                    message,
                }],
            });
        }
        self.ge_mode = mode;
        Ok(self)
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

/// Why `mode` cannot be used, if it cannot.
pub(crate) fn ge_mode_problem(mode: GeMode, has_years: bool) -> Option<String> {
    (mode == GeMode::Gegravity && has_years).then(|| {
        "\"gegravity\" is a one-step convention for a single counterfactual; a scenario with `[years]` always solves the complete GE each year (use \"complete\", or leave it out)".to_owned()
    })
}

/// Most unknown fields reported from one merged table (each found by deserialising again).
const MAX_UNKNOWN_REPORTED: usize = 50;

/// Deserialises a merged table. Merged from several files, serde errors carry the key path
/// but no line, so the file is named instead (when `merged` knows it). Unknown fields are
/// collected (each removed and the table read again) and reported together.
fn deserialize_merged(
    mut table: toml::Table,
    path: &Path,
    merged: Option<&extends::Merged>,
) -> Result<RawScenario, ScenarioError> {
    let mut problems: Vec<Problem> = Vec::new();
    loop {
        let e = match serde_path_to_error::deserialize(toml::Value::Table(table.clone())) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => e,
        };
        let key = e.path().to_string();
        let message = e.into_inner().message().to_owned();
        let (field, file) = match merged {
            Some(m) => localize(&key, m),
            None => (key.clone(), None),
        };
        let whereabouts = match file {
            Some(f) => format!("in {}", f.display()),
            None => "in this file or one it extends".to_owned(),
        };
        let unknown = message.starts_with("unknown field");
        if problems.is_empty() && !unknown {
            return Err(ScenarioError::Syntax {
                path: path.to_owned(),
                message: format!("{message} (at `{field}`, {whereabouts})"),
            });
        }
        problems.push(Problem {
            field,
            message: format!("{message} ({whereabouts})"),
        });
        if !unknown
            || problems.len() >= MAX_UNKNOWN_REPORTED
            || !extends::remove_at(&mut table, &key)
        {
            break;
        }
    }
    Err(ScenarioError::Invalid {
        path: path.to_owned(),
        problems,
    })
}

/// A key path of the merged table as the user would find it: an instrument by its position
/// in the file that holds it; and that file, when it can be told.
fn localize(key: &str, merged: &extends::Merged) -> (String, Option<PathBuf>) {
    let file = merged.file_of(key).map(Path::to_path_buf);
    let field = key
        .strip_prefix("instruments[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(k, rest)| {
            let origin = merged.instruments.get(k.parse::<usize>().ok()?)?;
            Some(format!("instruments[{}]{rest}", origin.index))
        })
        .unwrap_or_else(|| key.to_owned());
    (field, file)
}

/// Problems with instruments of a merged scenario, located in the file that holds each.
fn locate_instruments(e: ScenarioError, merged: &extends::Merged, path: &Path) -> ScenarioError {
    let ScenarioError::Invalid { problems, .. } = e else {
        return e;
    };
    let problems = problems
        .into_iter()
        .map(|p| {
            if !p.field.starts_with("instruments[") {
                return p;
            }
            let (field, file) = localize(&p.field, merged);
            let message = match file.filter(|f| f != path) {
                Some(f) => format!("{} (in {})", p.message, f.display()),
                None => p.message,
            };
            Problem { field, message }
        })
        .collect();
    ScenarioError::Invalid {
        path: path.to_owned(),
        problems,
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
