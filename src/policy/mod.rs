//! Policy instruments (DESIGN layer 4) and their state in a given year and sector.
//!
//! An [`Instrument`] is validated from a scenario's `[[instruments]]`; [`PolicyState::at`]
//! turns the list into what the route and gravity layers need for one year and sector:
//! wedges on direct links, cost multipliers on routes through intermediaries, demand
//! shifters, link-cost factors from investment, output growth, and which pairs share a
//! customs union. Each instrument acts with an intensity `s` in [0, 1]: 0 before `start`
//! and from `end` on, rising linearly over `phase_in` years.
//!
//! Each effect is one file: its definition (the struct, serialised into `run.json`), its
//! validation (`validate`, which reads the entry through [`Entry`], never the raw type),
//! the checks of its numbers (shared by validation and by [`Effect::set`], so a drawn,
//! swept or fitted value is held to the same bounds as a written one) and what it does to
//! one year's [`PolicyState`] ([`Act::apply`]).
//!
//! # Adding an instrument
//!
//! 1. Write `src/policy/<effect>.rs` after the model of `growth.rs`: the struct (keep the
//!    numbers as written, `#[serde(skip)]`, when the struct holds something derived from
//!    them), `validate(&mut dyn Entry) -> Option<Effect>`, the checks of each number, and
//!    `impl Act` (`get`, `set`, `apply`; `union` only for a customs union).
//! 2. In this file: `mod <effect>;`, a variant of [`Kind`] (its spelling in the file), its arm
//!    in [`Kind::about`] (name, the fields it takes, its `validate`) and a variant of
//!    [`Effect`] with its arms in `Effect::act`, `Effect::act_mut` and
//!    [`Effect::is_sanction`] (whether charts mark it as a sanction). Every one of these
//!    matches is exhaustive: the compiler names the arm you forgot.
//! 3. A field no kind has taken yet: a variant of [`Field`] and its arm in [`Field::name`]
//!    ([`Field::parse`] reads serde's spelling, so it needs nothing), and the field in
//!    `scenario::raw::RawInstrument`: `given` destructures the entry and `number`, `flag`
//!    and `codes` match every field, so the compiler asks for each.
//! 4. Its row in `scenarios/README.md`'s table of instruments, and a test of its effect
//!    next to the others at the end of this file. Parameter paths
//!    (`instruments.<id>.<field>`) reach its numbers through `get` and `set` with nothing
//!    more to write.

mod compliance;
mod customs_union;
mod demand;
mod evasion;
mod growth;
mod investment;
mod recording;
mod route_cost;
mod wedge;

use serde::{Deserialize, Serialize};

use crate::world::{Matrix, Vector};

pub use compliance::Compliance;
pub use customs_union::CustomsUnion;
pub use demand::Demand;
pub use evasion::Evasion;
pub use growth::Growth;
pub use investment::Investment;
pub use recording::Recording;
pub use route_cost::RouteCost;
pub use wedge::Wedge;

/// A wedge's factor in `run.json`: the number, or `"prohibitive"` for a closed route (an
/// infinite factor), since no result file holds `inf`.
fn factor_or_prohibitive<S: serde::Serializer>(factor: &f64, s: S) -> Result<S::Ok, S::Error> {
    if *factor == f64::INFINITY {
        s.serialize_str("prohibitive")
    } else {
        s.serialize_f64(*factor)
    }
}

/// What an instrument is, as `kind` spells it in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ExportControls,
    LinkFriction,
    SecondarySanctions,
    Compliance,
    EvasionChannel,
    DemandShift,
    CustomsUnion,
    Investment,
    Growth,
    Recording,
}

/// What a [`Kind`] is: its name, the fields it takes besides the common ones, and how its
/// entry becomes an [`Effect`].
pub(crate) struct About {
    pub(crate) name: &'static str,
    pub(crate) takes: &'static [Field],
    pub(crate) validate: fn(&mut dyn Entry) -> Option<Effect>,
}

impl Kind {
    /// The one place that says what each kind is.
    pub(crate) fn about(self) -> About {
        use Field::*;
        let about = |name, takes, validate| About {
            name,
            takes,
            validate,
        };
        match self {
            Kind::ExportControls => about(
                "export_controls",
                &[Exporters, Importers, Percent, Prohibitive],
                wedge::validate,
            ),
            Kind::LinkFriction => about(
                "link_friction",
                &[Exporters, Importers, Percent],
                wedge::validate,
            ),
            Kind::SecondarySanctions => about(
                "secondary_sanctions",
                &[Via, Origins, Probability, PenaltyPercent],
                route_cost::validate,
            ),
            Kind::Compliance => about("compliance", &[Via, Share], compliance::validate),
            Kind::EvasionChannel => about(
                "evasion_channel",
                &[Via, Origins, Premium, OpeningSpeed],
                evasion::validate,
            ),
            Kind::DemandShift => about(
                "demand_shift",
                &[Exporters, Importers, Percent],
                demand::validate,
            ),
            Kind::CustomsUnion => about("customs_union", &[Members], customs_union::validate),
            Kind::Investment => about(
                "investment",
                &[Exporters, Importers, Stock, Annual, KRef, Eta],
                investment::validate,
            ),
            Kind::Growth => about("growth", &[Economies, Percent], growth::validate),
            Kind::Recording => about(
                "recording",
                &[Via, Origins, ImportShare, ExportShare, LostShare, OwnShare],
                recording::validate,
            ),
        }
    }
}

/// A kind-specific field of an `[[instruments]]` entry (the common ones, `id`, `label`,
/// `source`, `start`, `end`, `phase_in` and `sectors`, are checked once for every kind).
/// Its spelling is serde's (`snake_case`, as [`Kind`]'s), so [`Field::parse`] knows every
/// variant without a list to keep; [`Field::name`] spells it the same (a test checks every
/// field through `RawInstrument::given`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Exporters,
    Importers,
    Via,
    Origins,
    Members,
    Economies,
    Percent,
    Prohibitive,
    Probability,
    PenaltyPercent,
    Share,
    Premium,
    Stock,
    Annual,
    KRef,
    Eta,
    OpeningSpeed,
    ImportShare,
    ExportShare,
    LostShare,
    OwnShare,
}

impl Field {
    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            Field::Exporters => "exporters",
            Field::Importers => "importers",
            Field::Via => "via",
            Field::Origins => "origins",
            Field::Members => "members",
            Field::Economies => "economies",
            Field::Percent => "percent",
            Field::Prohibitive => "prohibitive",
            Field::Probability => "probability",
            Field::PenaltyPercent => "penalty_percent",
            Field::Share => "share",
            Field::Premium => "premium",
            Field::Stock => "stock",
            Field::Annual => "annual",
            Field::KRef => "k_ref",
            Field::Eta => "eta",
            Field::OpeningSpeed => "opening_speed",
            Field::ImportShare => "import_share",
            Field::ExportShare => "export_share",
            Field::LostShare => "lost_share",
            Field::OwnShare => "own_share",
        }
    }

    /// The field of that name, if there is one.
    pub fn parse(name: &str) -> Option<Field> {
        use serde::de::IntoDeserializer;
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            name.into_deserializer();
        Field::deserialize(de).ok()
    }
}

/// An `[[instruments]]` entry as a kind reads it. The scenario validator implements it over
/// the entry as written: it resolves codes and groups, and records each problem under the
/// entry's key path (`instruments[3].percent`), so this module never sees the raw type.
pub(crate) trait Entry {
    /// The kind's name, for messages.
    fn kind_name(&self) -> &'static str;
    /// Records a problem with `field` of this entry.
    fn problem(&mut self, field: Field, message: String);
    /// The number written for `field`, if any.
    fn number(&self, field: Field) -> Option<f64>;
    /// The flag written for `field`, if any.
    fn flag(&self, field: Field) -> Option<bool>;
    /// The economies a required set names (codes or groups); a problem when it is missing
    /// or names what is neither.
    fn economies(&mut self, field: Field) -> Vec<usize>;
    /// The hubs of `via`, each one of the routes' intermediaries (a problem when the
    /// scenario has no `[routes]`).
    fn hubs(&mut self) -> Vec<usize>;
    /// `origins`, by default the routes' origins.
    fn origins(&mut self) -> Vec<usize>;

    /// A required number, held to `check` (whose messages become problems of the field).
    fn checked(&mut self, field: Field, check: &dyn Fn(f64) -> Vec<String>) -> Option<f64> {
        let Some(v) = self.number(field) else {
            let message = format!("required for kind = \"{}\"", self.kind_name());
            self.problem(field, message);
            return None;
        };
        for message in check(v) {
            self.problem(field, message);
        }
        Some(v)
    }

    /// Every pair of distinct economies of `exporters` x `importers`.
    fn pairs(&mut self) -> Vec<(usize, usize)> {
        let ex = self.economies(Field::Exporters);
        let im = self.economies(Field::Importers);
        ex.iter()
            .flat_map(|&a| im.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
            .collect()
    }
}

/// `v` in `[lo, hi]`.
fn in_range(v: f64, lo: f64, hi: f64) -> Vec<String> {
    if v >= lo && v <= hi {
        Vec::new()
    } else {
        vec![format!("must be in [{lo}, {hi}], got {v}")]
    }
}

/// A percent change: finite, above -100.
fn percent_above(v: f64) -> Vec<String> {
    if v > -100.0 && v.is_finite() {
        Vec::new()
    } else {
        vec![format!("must be a finite number above -100, got {v}")]
    }
}

/// Ok when `holds`; else the message that the effect has no number `field`.
fn refuse_unless(holds: bool, field: Field) -> Result<(), Vec<String>> {
    if holds {
        Ok(())
    } else {
        Err(vec![format!(
            "this instrument has no number `{}`",
            field.name()
        )])
    }
}

/// Ok when there are no problems.
fn fail_on(problems: Vec<String>) -> Result<(), Vec<String>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What one effect does: the numbers it has, how one is changed, and what it does to a
/// year's policy state.
pub(crate) trait Act {
    /// The number `field` as written, if this effect has it.
    fn get(&self, field: Field) -> Option<f64>;
    /// Sets `field` to `v`, held to the bounds validation holds it to; the messages of
    /// what is wrong otherwise (`self` unchanged).
    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>>;
    /// Marks pairs that share a customs union in `year` (before any effect applies).
    fn union(&self, _ins: &Instrument, _year: i32, _union: &mut Matrix) {}
    /// Applies the effect at intensity `s`.
    fn apply(&self, ins: &Instrument, s: f64, layers: &mut Layers);
}

/// What an instrument does, with codes resolved to positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Export controls and direct-link frictions.
    Wedge(Wedge),
    /// Secondary sanctions.
    RouteCost(RouteCost),
    Compliance(Compliance),
    /// Evasion channels.
    Evasion(Evasion),
    /// Demand shifts.
    Demand(Demand),
    CustomsUnion(CustomsUnion),
    Investment(Investment),
    Growth(Growth),
    /// What hubs' customs record of transit.
    Recording(Recording),
}

impl Effect {
    fn act(&self) -> &dyn Act {
        match self {
            Effect::Wedge(e) => e,
            Effect::RouteCost(e) => e,
            Effect::Compliance(e) => e,
            Effect::Evasion(e) => e,
            Effect::Demand(e) => e,
            Effect::CustomsUnion(e) => e,
            Effect::Investment(e) => e,
            Effect::Growth(e) => e,
            Effect::Recording(e) => e,
        }
    }

    fn act_mut(&mut self) -> &mut dyn Act {
        match self {
            Effect::Wedge(e) => e,
            Effect::RouteCost(e) => e,
            Effect::Compliance(e) => e,
            Effect::Evasion(e) => e,
            Effect::Demand(e) => e,
            Effect::CustomsUnion(e) => e,
            Effect::Investment(e) => e,
            Effect::Growth(e) => e,
            Effect::Recording(e) => e,
        }
    }

    /// The number `field` as written, if the effect has it.
    pub fn get(&self, field: Field) -> Option<f64> {
        self.act().get(field)
    }

    /// Sets the number `field` to `v`, checked as validation checks it; what is wrong
    /// otherwise (the effect unchanged).
    pub(crate) fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        self.act_mut().set(field, v)
    }

    /// Whether the effect makes trade with or into the route target costlier (export
    /// controls and frictions, secondary sanctions, compliance of intermediaries): charts
    /// mark the years such an instrument starts and ends. Written into `run.json` as the
    /// effect's `sanction`; the match is exhaustive, so a new effect must choose.
    pub fn is_sanction(&self) -> bool {
        match self {
            Effect::Wedge(_) | Effect::RouteCost(_) | Effect::Compliance(_) => true,
            Effect::Evasion(_)
            | Effect::Demand(_)
            | Effect::CustomsUnion(_)
            | Effect::Investment(_)
            | Effect::Growth(_)
            | Effect::Recording(_) => false,
        }
    }
}

/// An effect in `run.json`: its fields, tagged with its kind, and `sanction`
/// ([`Effect::is_sanction`]), so that readers of results need not know which kinds are
/// sanctions. (`flatten` only serialises here; nothing reads this back into an `Effect`.)
fn effect_with_sanction<S: serde::Serializer>(effect: &Effect, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Tagged<'a> {
        #[serde(flatten)]
        effect: &'a Effect,
        sanction: bool,
    }
    Tagged {
        effect,
        sanction: effect.is_sanction(),
    }
    .serialize(s)
}

/// A validated instrument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instrument {
    pub id: Option<String>,
    pub label: String,
    pub source: Option<String>,
    pub start: i32,
    pub end: Option<i32>,
    pub phase_in: i32,
    /// Sector positions it applies to; empty means all.
    pub sectors: Vec<usize>,
    #[serde(serialize_with = "effect_with_sanction")]
    pub effect: Effect,
}

impl Instrument {
    /// Intensity in `year`: 0 before `start` and from `end`, then `(year - start + 1) /
    /// phase_in` up to 1.
    pub fn intensity(&self, year: i32) -> f64 {
        if year < self.start || self.end.is_some_and(|e| year >= e) {
            return 0.0;
        }
        (f64::from(year - self.start + 1) / f64::from(self.phase_in.max(1))).min(1.0)
    }

    fn applies_to(&self, sector: usize) -> bool {
        self.sectors.is_empty() || self.sectors.contains(&sector)
    }
}

/// The route layout instruments act on: target, intermediaries and base premium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteLayout {
    pub target: usize,
    pub hubs: Vec<usize>,
    pub origins: Vec<usize>,
    pub premium: f64,
    /// Recorded share `rho_k` per hub (same order as `hubs`): the default of both
    /// directions of every origin's transit, before `recording` instruments.
    pub recorded_share: Vec<f64>,
    /// The geography term of the route premiums (detour form), if the scenario gives one.
    pub geography: Option<RouteGeography>,
    /// Intermediation margin per hub (same order as `hubs`): the share of the value of its
    /// re-exports to the target that is the hub's income.
    pub margin: Vec<f64>,
    /// Per economy: its customs record imports by country of origin (`[routes]
    /// imports_by_origin`), not by the country they were consigned from.
    pub imports_by_origin: Vec<bool>,
}

/// `[routes.geography]` with the geography of each route: the premium of the route from
/// `i` through hub `k` to the target `T` is multiplied by
/// `exp(distance ln((d_ik + d_kT) / d_iT) + no_border (1 - contig_kT) + outside_union (1 -
/// union_kT))` (see `scenarios/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteGeography {
    /// Elasticity of the premium to the detour ratio `(d_ik + d_kT) / d_iT`.
    pub distance: f64,
    /// Log premium of a hub without a land border with the target.
    pub no_border: f64,
    /// Log premium of a hub outside a customs union with the target.
    pub outside_union: f64,
    /// `ln((d_ik + d_kT) / d_iT)` per hub (layout order), by origin `i` (0 where undefined).
    #[serde(skip)]
    pub ln_detour: Vec<Vector>,
    /// Whether each hub shares a land border with the target.
    #[serde(skip)]
    pub border: Vec<bool>,
}

impl RouteGeography {
    /// The factor on the premium of the route from `i` via hub `h` (layout order), with
    /// `union` whether the hub shares a customs union with the target this year.
    pub fn factor(&self, h: usize, i: usize, union: bool) -> f64 {
        let no_border = if self.border[h] { 0.0 } else { 1.0 };
        let outside = if union { 0.0 } else { 1.0 };
        (self.distance * self.ln_detour[h][i]
            + self.no_border * no_border
            + self.outside_union * outside)
            .exp()
    }
}

/// What one hub's customs record of the transit through it, by origin (see
/// `recording.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct HubRecording {
    /// Share of the transit from each origin (not lost) recorded as imports from it.
    pub imports: Vector,
    /// Share of the transit from each origin (not lost) recorded as exports to the buyer.
    pub exports: Vector,
    /// Share of the transit from each origin that never enters the hub's records.
    pub lost: Vector,
    /// Share of the hub's own purchases from each origin (direct shipments) that its customs
    /// record as imports: below 1 where imports are under-declared or informal, a mirror gap
    /// that exists without any transit.
    pub own: Vector,
}

impl HubRecording {
    /// The share of origin `i`'s transit the hub records as imports.
    pub fn imports_of(&self, i: usize) -> f64 {
        (1.0 - self.lost[i]) * self.imports[i]
    }

    /// The share of origin `i`'s transit the hub records as exports.
    pub fn exports_of(&self, i: usize) -> f64 {
        (1.0 - self.lost[i]) * self.exports[i]
    }
}

/// Everything the lower layers need for one year and sector.
#[derive(Debug, Clone)]
pub struct PolicyState {
    /// Direct-route wedge `w_ij >= 1` (infinite: closed).
    pub wedge: Matrix,
    /// Route multiplier `lambda_ik * e_ikj` for routes through each hub (same order as the
    /// layout's hubs); infinite where no route is offered.
    pub via: Vec<Matrix>,
    /// Demand shifter on `t^(1-sigma)`.
    pub demand: Matrix,
    /// Factor on bilateral costs `t` from investment, relative to the base year.
    pub cost: Matrix,
    /// Output growth since the base year.
    pub growth: Vector,
    /// `union[(k, j)]`: k and j share an active customs union.
    pub union: Matrix,
    /// What each hub's customs record of transit (layout order).
    pub recording: Vec<HubRecording>,
    /// Per hub (layout order) and origin: the speed at which flows on the route to the
    /// target build up, where an evasion channel sets one.
    pub opening: Vec<Vec<Option<f64>>>,
}

/// The policy state of one year and sector while the effects are applied to it.
pub(crate) struct Layers<'a> {
    pub(crate) routes: Option<&'a RouteLayout>,
    pub(crate) year: i32,
    pub(crate) base_year: i32,
    /// Route-choice elasticity of the sector.
    pub(crate) theta: f64,
    pub(crate) union: Matrix,
    pub(crate) wedge: Matrix,
    pub(crate) demand: Matrix,
    pub(crate) cost: Matrix,
    pub(crate) growth: Vector,
    /// Detour premium per hub (set by evasion channels, each ramping from the premium
    /// before it).
    pub(crate) premium: Vec<Matrix>,
    /// Factors of enforcement and compliance per hub.
    pub(crate) enforcement: Vec<Matrix>,
    /// What each hub records, by origin.
    pub(crate) recording: Vec<HubRecording>,
    /// Opening speeds per hub and origin (set by evasion channels).
    pub(crate) opening: Vec<Vec<Option<f64>>>,
}

impl Layers<'_> {
    /// Position of hub `k` among the layout's hubs.
    pub(crate) fn hub_pos(&self, k: usize) -> Option<usize> {
        self.routes
            .and_then(|r| r.hubs.iter().position(|&h| h == k))
    }
}

impl PolicyState {
    /// The state in `year` for `sector`, with route-choice elasticity `theta`.
    pub fn at(
        instruments: &[Instrument],
        n: usize,
        routes: Option<&RouteLayout>,
        base_year: i32,
        year: i32,
        sector: usize,
        theta: f64,
    ) -> PolicyState {
        let mut union = Matrix::zeros(n, n);
        for ins in instruments {
            ins.effect.act().union(ins, year, &mut union);
        }
        // Route multiplier = detour premium times the factors of enforcement and compliance.
        let mut premium: Vec<Matrix> = Vec::new();
        let mut enforcement: Vec<Matrix> = Vec::new();
        let mut recording = Vec::new();
        let mut opening = Vec::new();
        if let Some(r) = routes {
            for (&k, &rho) in r.hubs.iter().zip(&r.recorded_share) {
                recording.push(HubRecording {
                    imports: Vector::from_element(n, rho),
                    exports: Vector::from_element(n, rho),
                    lost: Vector::zeros(n),
                    own: Vector::from_element(n, 1.0),
                });
                opening.push(vec![None; n]);
                let mut m = Matrix::from_element(n, n, f64::INFINITY);
                for &i in &r.origins {
                    if i != k && i != r.target && k != r.target {
                        m[(i, r.target)] = r.premium;
                    }
                }
                premium.push(m);
                enforcement.push(Matrix::from_element(n, n, 1.0));
            }
        }
        let mut l = Layers {
            routes,
            year,
            base_year,
            theta,
            union,
            wedge: Matrix::from_element(n, n, 1.0),
            demand: Matrix::from_element(n, n, 1.0),
            cost: Matrix::from_element(n, n, 1.0),
            growth: Vector::from_element(n, 1.0),
            premium,
            enforcement,
            recording,
            opening,
        };
        for ins in instruments.iter().filter(|i| i.applies_to(sector)) {
            ins.effect.act().apply(ins, ins.intensity(year), &mut l);
        }
        if let Some((r, g)) = routes.and_then(|r| r.geography.as_ref().map(|g| (r, g))) {
            for (h, &k) in r.hubs.iter().enumerate() {
                let union = l.union[(k, r.target)] > 0.0;
                for i in 0..n {
                    let v = &mut l.premium[h][(i, r.target)];
                    if v.is_finite() {
                        *v *= g.factor(h, i, union);
                    }
                }
            }
        }
        let via = l
            .premium
            .iter()
            .zip(&l.enforcement)
            .map(|(p, e)| p.component_mul(e))
            .collect();
        PolicyState {
            wedge: l.wedge,
            via,
            demand: l.demand,
            cost: l.cost,
            growth: l.growth,
            union: l.union,
            recording: l.recording,
            opening: l.opening,
        }
    }
}

/// A multiplicative factor at intensity `s`: `1 + (factor - 1) s`; an infinite factor is
/// all or nothing.
fn scaled(factor: f64, s: f64) -> f64 {
    if s == 0.0 {
        1.0
    } else if factor.is_infinite() {
        f64::INFINITY
    } else {
        1.0 + (factor - 1.0) * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument(effect: Effect, start: i32, phase_in: i32, end: Option<i32>) -> Instrument {
        Instrument {
            id: None,
            label: String::new(),
            source: None,
            start,
            end,
            phase_in,
            sectors: vec![],
            effect,
        }
    }

    /// Every field (the list `RawInstrument::given` keeps, which the compiler checks
    /// against the entry's fields) is parsed back from its name.
    #[test]
    fn every_field_parses_from_its_name() {
        let entry: crate::scenario::raw::RawInstrument =
            toml::from_str("kind = \"growth\"\nstart = 2022").unwrap();
        let fields = entry.given();
        for (f, _) in fields {
            assert_eq!(Field::parse(f.name()), Some(f), "{}", f.name());
        }
        assert_eq!(Field::parse("k_ref"), Some(Field::KRef));
        assert_eq!(Field::parse("nope"), None);
    }

    #[test]
    fn intensity_ramps_and_ends() {
        let i = instrument(
            Effect::Growth(Growth {
                economies: vec![],
                rate: 0.0,
                percent: 0.0,
            }),
            2022,
            2,
            Some(2027),
        );
        let s: Vec<f64> = (2021..=2027).map(|y| i.intensity(y)).collect();
        assert_eq!(s, [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn growth_compounds_while_active_and_keeps_its_level() {
        let ins = vec![instrument(
            Effect::Growth(Growth {
                economies: vec![0],
                rate: 0.1,
                percent: 10.0,
            }),
            2022,
            1,
            Some(2024),
        )];
        let g = |y| PolicyState::at(&ins, 1, None, 2021, y, 0, 4.0).growth[0];
        assert_eq!(g(2021), 1.0);
        assert!((g(2022) - 1.1).abs() < 1e-12);
        assert!((g(2023) - 1.21).abs() < 1e-12);
        assert!((g(2026) - 1.21).abs() < 1e-12);
    }

    #[test]
    fn customs_union_exempts_members_from_wedges() {
        let ins = vec![
            instrument(
                Effect::CustomsUnion(CustomsUnion {
                    members: vec![0, 1],
                }),
                2015,
                1,
                None,
            ),
            instrument(
                Effect::Wedge(Wedge {
                    pairs: vec![(0, 1), (2, 1)],
                    factor: 1.5,
                    percent: Some(50.0),
                }),
                2022,
                1,
                None,
            ),
        ];
        let st = PolicyState::at(&ins, 3, None, 2021, 2022, 0, 4.0);
        assert_eq!(st.wedge[(0, 1)], 1.0);
        assert_eq!(st.wedge[(2, 1)], 1.5);
    }

    #[test]
    fn full_compliance_closes_the_route() {
        let layout = RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0],
            premium: 2.0,
            recorded_share: vec![0.5],
            geography: None,
            margin: vec![0.0],
            imports_by_origin: vec![],
        };
        let ins = vec![instrument(
            Effect::Compliance(Compliance {
                hubs: vec![1],
                share: 1.0,
            }),
            2026,
            1,
            None,
        )];
        let before = PolicyState::at(&ins, 3, Some(&layout), 2021, 2025, 0, 4.0);
        let after = PolicyState::at(&ins, 3, Some(&layout), 2021, 2026, 0, 4.0);
        assert_eq!(before.via[0][(0, 2)], 2.0);
        assert!(after.via[0][(0, 2)].is_infinite());
    }

    #[test]
    fn evasion_channels_ramp_from_the_premium_before() {
        let layout = RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0],
            premium: 4.0,
            recorded_share: vec![1.0],
            geography: None,
            margin: vec![0.0],
            imports_by_origin: vec![],
        };
        let channel = |premium, start| {
            instrument(
                Effect::Evasion(Evasion {
                    hubs: vec![1],
                    origins: vec![0],
                    premium,
                    opening_speed: None,
                }),
                start,
                2,
                None,
            )
        };
        let ins = vec![channel(2.0, 2022), channel(1.0, 2025)];
        let m = |y| PolicyState::at(&ins, 3, Some(&layout), 2021, y, 0, 4.0).via[0][(0, 2)];
        assert_eq!(m(2021), 4.0);
        assert!((m(2022) - 8f64.sqrt()).abs() < 1e-12);
        assert!((m(2023) - 2.0).abs() < 1e-12);
        assert!((m(2025) - 2f64.sqrt()).abs() < 1e-12);
        assert!((m(2026) - 1.0).abs() < 1e-12);
    }
    /// A `recording` instrument ramps each share it gives from its value before, for its
    /// hubs and origins only; a share it does not give keeps the routes' `recorded_share`.
    #[test]
    fn recording_sets_shares_by_origin_and_direction() {
        let layout = RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0, 3],
            premium: 2.0,
            recorded_share: vec![0.5],
            geography: None,
            margin: vec![0.0],
            imports_by_origin: vec![],
        };
        let ins = vec![instrument(
            Effect::Recording(Recording {
                hubs: vec![1],
                origins: vec![0],
                import_share: Some(0.9),
                export_share: None,
                lost_share: Some(0.4),
                own_share: None,
            }),
            2022,
            2,
            None,
        )];
        let at = |year| PolicyState::at(&ins, 4, Some(&layout), 2021, year, 0, 4.0);
        let r = &at(2021).recording[0];
        assert_eq!((r.imports[0], r.exports[0], r.lost[0]), (0.5, 0.5, 0.0));
        let r = &at(2022).recording[0];
        assert!((r.imports[0] - 0.7).abs() < 1e-12 && (r.lost[0] - 0.2).abs() < 1e-12);
        let r = &at(2023).recording[0];
        assert!((r.imports_of(0) - 0.6 * 0.9).abs() < 1e-12);
        assert!((r.exports_of(0) - 0.6 * 0.5).abs() < 1e-12);
        assert_eq!((r.imports[3], r.exports[3], r.lost[3]), (0.5, 0.5, 0.0));
    }

    /// The geography term by hand: a detour ratio of 1.5 with elasticity 2, no border
    /// (0.3) and outside the union (0.2) multiplies the premium by `1.5^2 e^0.5`; inside
    /// the union `1.5^2 e^0.3`; zero coefficients leave the premium as it was.
    #[test]
    fn the_geography_term_multiplies_every_route_premium() {
        let geo = |distance, no_border, outside_union| RouteGeography {
            distance,
            no_border,
            outside_union,
            ln_detour: vec![Vector::from_element(3, 1.5f64.ln())],
            border: vec![false],
        };
        let layout = |g| RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0],
            premium: 4.0,
            recorded_share: vec![1.0],
            geography: Some(g),
            margin: vec![0.0],
            imports_by_origin: vec![],
        };
        let l = layout(geo(2.0, 0.3, 0.2));
        let st = PolicyState::at(&[], 3, Some(&l), 2021, 2021, 0, 4.0);
        let want = 4.0 * 1.5f64.powi(2) * 0.5f64.exp();
        assert!(
            (st.via[0][(0, 2)] - want).abs() < 1e-12,
            "{}",
            st.via[0][(0, 2)]
        );
        let union = instrument(
            Effect::CustomsUnion(CustomsUnion {
                members: vec![1, 2],
            }),
            2015,
            1,
            None,
        );
        let st = PolicyState::at(&[union], 3, Some(&l), 2021, 2021, 0, 4.0);
        let want = 4.0 * 1.5f64.powi(2) * 0.3f64.exp();
        assert!((st.via[0][(0, 2)] - want).abs() < 1e-12);
        let l = layout(geo(0.0, 0.0, 0.0));
        let st = PolicyState::at(&[], 3, Some(&l), 2021, 2021, 0, 4.0);
        assert_eq!(st.via[0][(0, 2)], 4.0);
    }
}
