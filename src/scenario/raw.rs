//! The serde mirror of a scenario file: exactly what the user wrote, unchecked.
//! [`super::validate`] turns it into a [`super::Scenario`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::{CostMethod, RouteForm, ShockKind};
use crate::gravity::GeMode;
use crate::policy::Field;
/// What an instrument is (defined with the instruments, in [`crate::policy`]).
pub use crate::policy::Kind as InstrumentKind;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `abstract = true`: a base that other files `extend`, not a scenario of its own;
    /// `tradeflow compare` skips it with a note. Not inherited through `extends`.
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
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

impl RawScenario {
    /// A scenario of one counterfactual with every optional part left out, for callers that
    /// build one from something other than a file (`tradeflow gravity`'s flags). Whoever
    /// adds a field to [`RawScenario`] gives it its default here.
    pub fn new(
        name: String,
        reference_importer: String,
        data: RawData,
        costs: RawCosts,
    ) -> RawScenario {
        RawScenario {
            name,
            description: String::new(),
            is_abstract: false,
            extends: None,
            sigma: None,
            reference_importer,
            ge_mode: GeMode::default(),
            economies: None,
            groups: BTreeMap::new(),
            data,
            costs,
            shocks: Vec::new(),
            solver: RawSolver::default(),
            years: None,
            sectors: Vec::new(),
            routes: None,
            instruments: Vec::new(),
            uncertainty: None,
            calibration: None,
        }
    }
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
    /// A calibration folder (relative to the scenario file's folder) whose fitted
    /// posterior (`posterior.csv`, `posterior_covariance.csv`) is drawn from too.
    #[serde(default)]
    pub posterior: Option<String>,
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
    /// Share of the gap closed each year by direct flows on a link that export controls
    /// close (a prohibitive wedge), in (0, 1]; default `adjustment`.
    #[serde(default)]
    pub closing_speed: Option<f64>,
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
    /// Detour form only: the geography term of every route's premium.
    #[serde(default)]
    pub geography: Option<RawGeography>,
    /// Economies whose customs record imports by country of origin (codes or groups): their
    /// import record of a link counts the origin's goods routed through hubs, not the hub's
    /// re-exports of others' goods.
    #[serde(default)]
    pub imports_by_origin: Vec<String>,
    /// Share of the value of a hub's re-exports to the target that is the hub's income
    /// (its intermediation margin), by hub code or group; `default` for the rest (0).
    #[serde(default)]
    pub margin: BTreeMap<String, f64>,
}

/// `[routes.geography]`: the premium of the route from `i` through hub `k` to the target
/// `T` is multiplied by `((d_ik + d_kT) / d_iT)^distance * exp(no_border (1 - contig_kT) +
/// outside_union (1 - union_kT))`, with distances and contiguity from the world's `lndist`
/// and `contiguity` columns and `union_kT` from the customs-union instruments.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeography {
    #[serde(default)]
    pub distance: f64,
    #[serde(default)]
    pub no_border: f64,
    #[serde(default)]
    pub outside_union: f64,
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
    #[serde(default)]
    pub opening_speed: Option<f64>,
    #[serde(default)]
    pub import_share: Option<f64>,
    #[serde(default)]
    pub export_share: Option<f64>,
    #[serde(default)]
    pub lost_share: Option<f64>,
    #[serde(default)]
    pub own_share: Option<f64>,
}

impl RawInstrument {
    /// Which kind-specific fields the entry gives. Destructured in full, so that a field
    /// added to the entry and not to [`Field`] does not compile.
    pub(crate) fn given(&self) -> [(Field, bool); 21] {
        let RawInstrument {
            kind: _,
            id: _,
            label: _,
            source: _,
            start: _,
            end: _,
            phase_in: _,
            sectors: _,
            exporters,
            importers,
            via,
            origins,
            members,
            economies,
            percent,
            prohibitive,
            probability,
            penalty_percent,
            share,
            premium,
            stock,
            annual,
            k_ref,
            eta,
            opening_speed,
            import_share,
            export_share,
            lost_share,
            own_share,
        } = self;
        [
            (Field::Exporters, exporters.is_some()),
            (Field::Importers, importers.is_some()),
            (Field::Via, via.is_some()),
            (Field::Origins, origins.is_some()),
            (Field::Members, members.is_some()),
            (Field::Economies, economies.is_some()),
            (Field::Percent, percent.is_some()),
            (Field::Prohibitive, prohibitive.is_some()),
            (Field::Probability, probability.is_some()),
            (Field::PenaltyPercent, penalty_percent.is_some()),
            (Field::Share, share.is_some()),
            (Field::Premium, premium.is_some()),
            (Field::Stock, stock.is_some()),
            (Field::Annual, annual.is_some()),
            (Field::KRef, k_ref.is_some()),
            (Field::Eta, eta.is_some()),
            (Field::OpeningSpeed, opening_speed.is_some()),
            (Field::ImportShare, import_share.is_some()),
            (Field::ExportShare, export_share.is_some()),
            (Field::LostShare, lost_share.is_some()),
            (Field::OwnShare, own_share.is_some()),
        ]
    }

    /// The number written for `field` (`None` for a field that is not a number).
    pub(crate) fn number(&self, field: Field) -> Option<f64> {
        match field {
            Field::Percent => self.percent,
            Field::Probability => self.probability,
            Field::PenaltyPercent => self.penalty_percent,
            Field::Share => self.share,
            Field::Premium => self.premium,
            Field::Stock => self.stock,
            Field::Annual => self.annual,
            Field::KRef => self.k_ref,
            Field::Eta => self.eta,
            Field::OpeningSpeed => self.opening_speed,
            Field::ImportShare => self.import_share,
            Field::ExportShare => self.export_share,
            Field::LostShare => self.lost_share,
            Field::OwnShare => self.own_share,
            Field::Exporters
            | Field::Importers
            | Field::Via
            | Field::Origins
            | Field::Members
            | Field::Economies
            | Field::Prohibitive => None,
        }
    }

    /// The flag written for `field`.
    pub(crate) fn flag(&self, field: Field) -> Option<bool> {
        match field {
            Field::Prohibitive => self.prohibitive,
            Field::Exporters
            | Field::Importers
            | Field::Via
            | Field::Origins
            | Field::Members
            | Field::Economies
            | Field::Percent
            | Field::Probability
            | Field::PenaltyPercent
            | Field::Share
            | Field::Premium
            | Field::Stock
            | Field::Annual
            | Field::KRef
            | Field::Eta
            | Field::OpeningSpeed
            | Field::ImportShare
            | Field::ExportShare
            | Field::LostShare
            | Field::OwnShare => None,
        }
    }

    /// The codes written for `field` (`None` for a field that is not a set).
    pub(crate) fn codes(&self, field: Field) -> Option<&[String]> {
        match field {
            Field::Exporters => self.exporters.as_deref(),
            Field::Importers => self.importers.as_deref(),
            Field::Via => self.via.as_deref(),
            Field::Origins => self.origins.as_deref(),
            Field::Members => self.members.as_deref(),
            Field::Economies => self.economies.as_deref(),
            Field::Percent
            | Field::Prohibitive
            | Field::Probability
            | Field::PenaltyPercent
            | Field::Share
            | Field::Premium
            | Field::Stock
            | Field::Annual
            | Field::KRef
            | Field::Eta
            | Field::OpeningSpeed
            | Field::ImportShare
            | Field::ExportShare
            | Field::LostShare
            | Field::OwnShare => None,
        }
    }
}

/// `[solver]`: optional overrides of the fixed-point solver's settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSolver {
    pub tolerance: Option<f64>,
    pub max_iterations: Option<usize>,
    pub memory: Option<usize>,
}

/// `[data]`: a file in the gegravity layout, a world built by `tradeflow data build`, or
/// flows written inline (one of the three).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Path to a gegravity-layout CSV, relative to the scenario file.
    #[serde(default)]
    pub path: Option<String>,
    /// Path to a world file (`tradeflow data build`), relative to the scenario file.
    #[serde(default)]
    pub world: Option<String>,
    /// Path to the panel the world was built from, relative to the scenario file: read and
    /// checked with the world, kept for calibration targets.
    #[serde(default)]
    pub panel: Option<String>,
    /// Path to the exchange-rates table the world was built with (`data build --rates`),
    /// relative to the scenario file: the panel's figures in other currencies are converted
    /// with it where results are set against the panel (the chart of observed against
    /// modelled recorded flows).
    #[serde(default)]
    pub rates: Option<String>,
    /// Which year of the file (or world) to use.
    #[serde(default)]
    pub year: Option<i64>,
    /// Inline flows.
    #[serde(default)]
    pub flows: Option<Vec<RawFlow>>,
    /// The unit of the flows (`USD bn`), written into the results' descriptions.
    #[serde(default)]
    pub unit: Option<String>,
    /// Values replacing imputed cells of the world, `"EXP-IMP" = value` (data unit).
    #[serde(default)]
    pub cells: BTreeMap<String, f64>,
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

/// `[costs]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCosts {
    pub method: CostMethod,
    /// Coefficients `b_k` by variable name; `constant` multiplies 1.
    #[serde(default)]
    pub coefficients: BTreeMap<String, f64>,
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
