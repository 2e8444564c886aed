//! The serde mirror of a scenario file: exactly what the user wrote, unchecked.
//! [`super::validate`] turns it into a [`super::Scenario`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gravity::GeMode;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub sigma: f64,
    pub reference_importer: String,
    #[serde(default)]
    pub ge_mode: GeMode,
    /// Codes of the economies; optional with file data (then every economy in the file).
    #[serde(default)]
    pub economies: Option<Vec<String>>,
    /// Named sets of economies usable wherever a shock takes a set (`EU = ["DEU", ...]`).
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    pub data: RawData,
    pub costs: RawCosts,
    #[serde(default)]
    pub shocks: Vec<RawShock>,
    /// Solver settings; the defaults need no tuning.
    #[serde(default)]
    pub solver: RawSolver,
}

/// `[solver]`: optional overrides of the fixed-point solver's settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSolver {
    pub tolerance: Option<f64>,
    pub max_iterations: Option<usize>,
    pub memory: Option<usize>,
}

/// `[data]`: a file in the gegravity layout, or flows written inline.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Path to a gegravity-layout CSV, relative to the scenario file.
    #[serde(default)]
    pub path: Option<String>,
    /// Which year of the file to use.
    #[serde(default)]
    pub year: Option<i64>,
    /// Inline flows.
    #[serde(default)]
    pub flows: Option<Vec<RawFlow>>,
}

/// One inline flow.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    pub exporter: String,
    pub importer: String,
    pub value: f64,
    /// Cost variables of this pair.
    #[serde(default)]
    pub variables: BTreeMap<String, f64>,
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

/// `[costs]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCosts {
    pub method: CostMethod,
    /// Coefficients `b_k` by variable name; `constant` multiplies 1.
    #[serde(default)]
    pub coefficients: BTreeMap<String, f64>,
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

/// One `[[shocks]]` entry. Which fields are required depends on `kind`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    pub kind: ShockKind,
    /// Optional free text, carried into `run.json`.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub variable: Option<String>,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub percent: Option<f64>,
    /// Explicit `[exporter, importer]` pairs.
    #[serde(default)]
    pub pairs: Option<Vec<[String; 2]>>,
    /// Exporters (codes or group names); with `importers`, every pair between distinct
    /// economies of the two sets.
    #[serde(default)]
    pub exporters: Option<Vec<String>>,
    #[serde(default)]
    pub importers: Option<Vec<String>>,
}
