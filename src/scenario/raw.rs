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
    /// Another scenario file this one builds on (resolved before deserialising; kept here
    /// so that it is a known key).
    #[serde(default)]
    pub extends: Option<String>,
    /// Elasticity of substitution; with `[[sectors]]` each sector has its own.
    #[serde(default)]
    pub sigma: Option<f64>,
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
    /// Years to simulate; without it the scenario is one counterfactual.
    #[serde(default)]
    pub years: Option<RawYears>,
    /// Sectors, each its own gravity system.
    #[serde(default)]
    pub sectors: Vec<RawSector>,
    /// Re-export routes toward a target economy.
    #[serde(default)]
    pub routes: Option<RawRoutes>,
    /// Policy instruments, each from a start year.
    #[serde(default)]
    pub instruments: Vec<RawInstrument>,
    /// Distributions of uncertain parameters, for `tradeflow run --draws`.
    #[serde(default)]
    pub uncertainty: Option<RawUncertainty>,
    /// Free parameters and targets, for `tradeflow calibrate` (checked there).
    #[serde(default)]
    pub calibration: Option<toml::Value>,
}

/// `[uncertainty]`: which parameters are uncertain and how.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawUncertainty {
    #[serde(default)]
    pub parameters: Vec<RawDistribution>,
    /// Cost coefficients drawn jointly from a multivariate normal around their values.
    #[serde(default)]
    pub coefficients: Option<RawCoefficientDraws>,
}

/// One `[[uncertainty.parameters]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistribution {
    /// Parameter path (see `scenario::params`).
    pub path: String,
    /// `normal`, `lognormal`, `uniform`, `triangular` or `beta`.
    pub distribution: String,
    /// Normal: mean (default: the parameter's value). Lognormal: median (default the value).
    #[serde(default)]
    pub mean: Option<f64>,
    /// Normal: standard deviation; lognormal: standard deviation of the log.
    #[serde(default)]
    pub sd: Option<f64>,
    /// Uniform, triangular, beta: support.
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    /// Triangular: mode.
    #[serde(default)]
    pub mode: Option<f64>,
    /// Beta: shape parameters (on `[low, high]`, default `[0, 1]`).
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub beta: Option<f64>,
}

/// `[uncertainty.coefficients]`: a multivariate normal around the coefficients.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCoefficientDraws {
    /// Coefficient names, in the order of the covariance matrix.
    pub names: Vec<String>,
    /// Variance-covariance matrix of the estimates.
    pub covariance: Vec<Vec<f64>>,
}

/// `[years]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawYears {
    pub base: i32,
    #[serde(default = "default_horizon")]
    pub horizon: i32,
    /// Share of the gap to the year's equilibrium closed each year, in (0, 1].
    #[serde(default = "default_adjustment")]
    pub adjustment: f64,
}

fn default_horizon() -> i32 {
    2030
}

fn default_adjustment() -> f64 {
    1.0
}

/// One `[[sectors]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSector {
    pub name: String,
    pub sigma: f64,
    /// Share of each exporter's flows that belong to this sector, by economy or group code;
    /// `default` for the rest. The shares of all sectors must add up to 1 for every exporter.
    pub share: BTreeMap<String, f64>,
}

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

/// `[routes]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoutes {
    #[serde(default)]
    pub form: RouteForm,
    /// Route-choice elasticity; default `sigma - 1` of each sector.
    #[serde(default)]
    pub theta: Option<f64>,
    /// The economy routes lead to.
    pub target: String,
    /// Economies goods may pass through.
    pub intermediaries: Vec<String>,
    /// Origins whose goods may take a route via an intermediary (default: every other).
    #[serde(default)]
    pub origins: Option<Vec<String>>,
    /// Base detour premium `lambda` (cost of the route relative to the direct one, before
    /// the direct wedge), for every origin and intermediary unless an instrument says else.
    pub premium: f64,
    /// Share of re-exports an intermediary records (as imports from the origin and exports
    /// to the target) when it is in a customs union with the target; default 1.
    #[serde(default)]
    pub recorded_share: BTreeMap<String, f64>,
    /// Network form only: cost of a link relative to the direct bilateral cost.
    #[serde(default)]
    pub link_factor: Option<f64>,
}

/// What an instrument does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    ExportControls,
    LinkFriction,
    SecondarySanctions,
    Compliance,
    EvasionChannel,
    DemandShift,
    CustomsUnion,
    Investment,
    Growth,
}

/// One `[[instruments]]` entry. Which fields apply depends on `kind`
/// (see `scenarios/README.md`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstrument {
    pub kind: InstrumentKind,
    /// Names the instrument; a scenario that `extends` another replaces the instrument of
    /// the same id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub start: i32,
    /// First year the instrument no longer applies.
    #[serde(default)]
    pub end: Option<i32>,
    /// Years over which the effect ramps up linearly (1 = full from `start`).
    #[serde(default)]
    pub phase_in: Option<i32>,
    /// Sectors it applies to (default all).
    #[serde(default)]
    pub sectors: Option<Vec<String>>,
    #[serde(default)]
    pub exporters: Option<Vec<String>>,
    #[serde(default)]
    pub importers: Option<Vec<String>>,
    #[serde(default)]
    pub via: Option<Vec<String>>,
    #[serde(default)]
    pub origins: Option<Vec<String>>,
    #[serde(default)]
    pub members: Option<Vec<String>>,
    #[serde(default)]
    pub economies: Option<Vec<String>>,
    #[serde(default)]
    pub percent: Option<f64>,
    #[serde(default)]
    pub prohibitive: Option<bool>,
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub penalty_percent: Option<f64>,
    #[serde(default)]
    pub share: Option<f64>,
    #[serde(default)]
    pub premium: Option<f64>,
    #[serde(default)]
    pub stock: Option<f64>,
    #[serde(default)]
    pub annual: Option<f64>,
    #[serde(default)]
    pub k_ref: Option<f64>,
    #[serde(default)]
    pub eta: Option<f64>,
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
    /// Who reported the figure: the exporter's or importer's code, or `model` for a value
    /// the data file derived or imputed. Recorded flows are matched against this view.
    #[serde(default)]
    pub reporter: Option<String>,
    /// `article`, `public`, `derived`, `unverified`, `imputed` or `assumption`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Where the figure comes from.
    #[serde(default)]
    pub source: Option<String>,
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
    /// Explicit `[exporter, importer]` pairs (read as lists so that a pair of any other
    /// length is reported, not cut to two).
    #[serde(default)]
    pub pairs: Option<Vec<Vec<String>>>,
    /// Exporters (codes or group names); with `importers`, every pair between distinct
    /// economies of the two sets.
    #[serde(default)]
    pub exporters: Option<Vec<String>>,
    #[serde(default)]
    pub importers: Option<Vec<String>>,
}
