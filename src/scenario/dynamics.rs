//! Validation of the time dimension of a scenario: `[years]`, `[[sectors]]`, `[routes]` and
//! `[[instruments]]`, into [`Dynamics`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::raw::{InstrumentKind, RawInstrument, RawScenario, RouteForm};
use super::validate::{resolve_set, Problems};
use crate::limits::{check_sectors, check_years};
use crate::policy::{Effect, Instrument, RouteLayout};
use crate::world::Economies;

/// Who reported a base-year figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// The exporter's customs (exports by next destination).
    Exporter,
    /// The importer's customs.
    Importer,
    /// Not a customs figure: derived, imputed or assumed; taken as the final-destination
    /// flow.
    Model,
}

/// One sector: its own gravity system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sector {
    pub name: String,
    pub sigma: f64,
    /// Share of each exporter's flows in this sector.
    pub share: Vec<f64>,
}

/// Validated routes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routes {
    pub form: RouteForm,
    /// Route-choice elasticity; `None` means `sigma - 1` of each sector.
    pub theta: Option<f64>,
    pub layout: RouteLayout,
    /// Network form: link cost relative to the bilateral cost.
    pub link_factor: f64,
}

/// The time dimension of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dynamics {
    pub base_year: i32,
    pub horizon: i32,
    /// Share of the gap to each year's equilibrium closed in that year.
    pub adjustment: f64,
    pub sectors: Vec<Sector>,
    pub routes: Option<Routes>,
    pub instruments: Vec<Instrument>,
    /// Who reported each base-year flow, row-major (`i * n + j`).
    #[serde(skip)]
    pub reporters: Vec<Reporter>,
}

impl Routes {
    /// Route-choice elasticity for a sector of elasticity `sigma`.
    pub fn theta_for(&self, sigma: f64) -> f64 {
        self.theta.unwrap_or(sigma - 1.0)
    }
}

/// Validates `[years]` and everything that goes with it. `None` when there is no `[years]`
/// (problems are recorded when sectors, routes or instruments come without it).
pub(crate) fn validate_dynamics(
    raw: &RawScenario,
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    reporters: Vec<Reporter>,
    p: &mut Problems,
) -> Option<Dynamics> {
    let Some(years) = &raw.years else {
        for (present, key) in [
            (!raw.sectors.is_empty(), "sectors"),
            (raw.routes.is_some(), "routes"),
            (!raw.instruments.is_empty(), "instruments"),
        ] {
            if present {
                p.add(
                    key,
                    "needs `[years]`: routes, sectors and instruments act year by year",
                );
            }
        }
        return None;
    };
    let before = p.0.len();
    // Sizes first: the years become one solve each, so a typo in a year must not reach
    // anything that allocates per year.
    if let Err(e) = check_years(years.base.into(), years.horizon.into()) {
        p.add(e.field, format!("{} {}", e.value, e.reason));
        return None;
    }
    if let Err(e) = check_sectors(raw.sectors.len()) {
        p.add(e.field, format!("{} {}", e.value, e.reason));
        return None;
    }
    for (k, ins) in raw.instruments.iter().enumerate() {
        let Some(id) = &ins.id else { continue };
        if let Some(first) = raw.instruments[..k]
            .iter()
            .position(|o| o.id.as_deref() == Some(id))
        {
            p.add(
                format!("instruments[{k}].id"),
                format!("`{id}` is already the id of instruments[{first}] (ids name instruments, so a file that extends this one can replace one)"),
            );
        }
    }
    if years.horizon < years.base {
        p.add(
            "years.horizon",
            format!("{} is before the base year {}", years.horizon, years.base),
        );
    }
    if !(years.adjustment > 0.0 && years.adjustment <= 1.0) {
        p.add(
            "years.adjustment",
            format!("must be in (0, 1], got {}", years.adjustment),
        );
    }
    if !raw.shocks.is_empty() {
        p.add(
            "shocks",
            "a scenario with `[years]` states its changes as `[[instruments]]`",
        );
    }
    let n = economies.len();
    let sectors = validate_sectors(raw, economies, groups, p);
    let sector_names: Vec<&str> = sectors.iter().map(|s| s.name.as_str()).collect();
    let routes = raw.routes.as_ref().and_then(|r| {
        let field = "routes";
        let target = economies.position(&r.target);
        if target.is_none() {
            p.add(
                format!("{field}.target"),
                format!("country `{}` is not one of the economies", r.target),
            );
        }
        let hubs = resolve_set(&r.intermediaries, "routes.intermediaries", economies, groups, p);
        if hubs.is_empty() {
            p.add("routes.intermediaries", "needs at least one intermediary");
        }
        if let Some(t) = target.filter(|t| hubs.contains(t)) {
            p.add(
                "routes.intermediaries",
                format!(
                    "lists the target `{}` itself: goods bound for the target cannot pass through it on the way",
                    economies.code(t)
                ),
            );
        }
        let origins = match &r.origins {
            Some(o) => resolve_set(o, "routes.origins", economies, groups, p),
            None => (0..n).collect(),
        };
        if let Some(t) = r.theta {
            if !(t > 0.0 && t.is_finite()) {
                p.add("routes.theta", format!("must be a positive number, got {t}"));
            }
        }
        if !(r.premium >= 1.0 && r.premium.is_finite()) {
            p.add(
                "routes.premium",
                format!("a detour premium is at least 1 (a route via a hub never costs less than the direct one before wedges), got {}", r.premium),
            );
        }
        let mut recorded_share = vec![1.0; hubs.len()];
        for (code, &share) in &r.recorded_share {
            let key = format!("routes.recorded_share.{code}");
            match economies.position(code).and_then(|k| hubs.iter().position(|&h| h == k)) {
                Some(h) => recorded_share[h] = share,
                None => p.add(&key, format!("`{code}` is not one of `routes.intermediaries`")),
            }
            if !(0.0..=1.0).contains(&share) {
                p.add(&key, format!("a share must be in [0, 1], got {share}"));
            }
        }
        let link_factor = r.link_factor.unwrap_or(1.0);
        if r.link_factor.is_some() && r.form != RouteForm::Network {
            p.add("routes.link_factor", "applies to form = \"network\" only");
        }
        if !(link_factor > 0.0 && link_factor.is_finite()) {
            p.add("routes.link_factor", format!("must be positive, got {link_factor}"));
        }
        Some(Routes {
            form: r.form,
            theta: r.theta,
            layout: RouteLayout {
                target: target?,
                hubs,
                origins,
                premium: r.premium,
                recorded_share,
            },
            link_factor,
        })
    });
    let instruments: Vec<Instrument> = raw
        .instruments
        .iter()
        .enumerate()
        .filter_map(|(k, ins)| {
            validate_instrument(
                k,
                ins,
                years.horizon,
                &sector_names,
                routes.as_ref(),
                economies,
                groups,
                p,
            )
        })
        .collect();
    if p.0.len() > before {
        return None;
    }
    Some(Dynamics {
        base_year: years.base,
        horizon: years.horizon,
        adjustment: years.adjustment,
        sectors,
        routes,
        instruments,
        reporters,
    })
}

fn validate_sectors(
    raw: &RawScenario,
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    p: &mut Problems,
) -> Vec<Sector> {
    let n = economies.len();
    if raw.sectors.is_empty() {
        return match raw.sigma {
            Some(sigma) => vec![Sector {
                name: "all".to_owned(),
                sigma,
                share: vec![1.0; n],
            }],
            None => Vec::new(),
        };
    }
    if raw.sigma.is_some() {
        p.add(
            "sigma",
            "with `[[sectors]]` each sector gives its own sigma",
        );
    }
    let mut out = Vec::new();
    for (k, s) in raw.sectors.iter().enumerate() {
        let field = format!("sectors[{k}]");
        if !(s.sigma > 1.0 && s.sigma.is_finite()) {
            p.add(
                format!("{field}.sigma"),
                format!("must be greater than 1, got {}", s.sigma),
            );
        }
        if raw.sectors[..k].iter().any(|o| o.name == s.name) {
            p.add(
                format!("{field}.name"),
                format!("sector `{}` is defined twice", s.name),
            );
        }
        let default = s.share.get("default").copied();
        let mut share = vec![default.unwrap_or(f64::NAN); n];
        for (code, &v) in &s.share {
            let key = format!("{field}.share.{code}");
            if !(0.0..=1.0).contains(&v) {
                p.add(&key, format!("a share must be in [0, 1], got {v}"));
            }
            if code == "default" {
                continue;
            }
            let members = resolve_set(
                std::slice::from_ref(code),
                &format!("{field}.share"),
                economies,
                groups,
                p,
            );
            for i in members {
                share[i] = v;
            }
        }
        out.push(Sector {
            name: s.name.clone(),
            sigma: s.sigma,
            share,
        });
    }
    for i in 0..n {
        let total: f64 = out.iter().map(|s| s.share[i]).sum();
        if total.is_nan() {
            p.add(
                "sectors",
                format!(
                    "no share for {} (give it, or a `default`)",
                    economies.code(i)
                ),
            );
        } else if (total - 1.0).abs() > 1e-9 {
            p.add(
                "sectors",
                format!(
                    "the shares of {} add up to {total}, not 1",
                    economies.code(i)
                ),
            );
        }
    }
    out
}

/// The fields each instrument kind takes, besides the common ones.
fn fields_of(kind: InstrumentKind) -> (&'static str, &'static [&'static str]) {
    use InstrumentKind::*;
    match kind {
        ExportControls => (
            "export_controls",
            &["exporters", "importers", "percent", "prohibitive"],
        ),
        LinkFriction => ("link_friction", &["exporters", "importers", "percent"]),
        SecondarySanctions => (
            "secondary_sanctions",
            &["via", "origins", "probability", "penalty_percent"],
        ),
        Compliance => ("compliance", &["via", "share"]),
        EvasionChannel => ("evasion_channel", &["via", "origins", "premium"]),
        DemandShift => ("demand_shift", &["exporters", "importers", "percent"]),
        CustomsUnion => ("customs_union", &["members"]),
        Investment => (
            "investment",
            &["exporters", "importers", "stock", "annual", "k_ref", "eta"],
        ),
        Growth => ("growth", &["economies", "percent"]),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the context is what it checks against"
)]
fn validate_instrument(
    k: usize,
    ins: &RawInstrument,
    horizon: i32,
    sector_names: &[&str],
    routes: Option<&Routes>,
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    p: &mut Problems,
) -> Option<Instrument> {
    let field = format!("instruments[{k}]");
    let before = p.0.len();
    let (kind_name, takes) = fields_of(ins.kind);
    let given: [(&str, bool); 14] = [
        ("exporters", ins.exporters.is_some()),
        ("importers", ins.importers.is_some()),
        ("via", ins.via.is_some()),
        ("origins", ins.origins.is_some()),
        ("members", ins.members.is_some()),
        ("economies", ins.economies.is_some()),
        ("percent", ins.percent.is_some()),
        ("prohibitive", ins.prohibitive.is_some()),
        ("probability", ins.probability.is_some()),
        ("penalty_percent", ins.penalty_percent.is_some()),
        ("share", ins.share.is_some()),
        ("premium", ins.premium.is_some()),
        ("stock", ins.stock.is_some()),
        ("annual", ins.annual.is_some()),
    ];
    for (name, present) in given
        .into_iter()
        .chain([("k_ref", ins.k_ref.is_some()), ("eta", ins.eta.is_some())])
    {
        if present && !takes.contains(&name) {
            p.add(
                format!("{field}.{name}"),
                format!(
                    "does not apply to kind = \"{kind_name}\" (it takes {})",
                    takes.join(", ")
                ),
            );
        }
    }
    if ins.start > horizon {
        p.add(
            format!("{field}.start"),
            format!(
                "{} is after the horizon {horizon}: the instrument would never act",
                ins.start
            ),
        );
    }
    if let Some(end) = ins.end {
        if end <= ins.start {
            p.add(
                format!("{field}.end"),
                format!("{end} is not after start {}", ins.start),
            );
        }
    }
    let phase_in = ins.phase_in.unwrap_or(1);
    if phase_in < 1 {
        p.add(format!("{field}.phase_in"), "must be at least 1 year");
    }
    let mut sectors = Vec::new();
    for (m, name) in ins.sectors.iter().flatten().enumerate() {
        match sector_names.iter().position(|s| s == name) {
            Some(s) => sectors.push(s),
            None => p.add(
                format!("{field}.sectors[{m}]"),
                format!(
                    "unknown sector `{name}` (sectors: {})",
                    sector_names.join(", ")
                ),
            ),
        }
    }
    let need = |p: &mut Problems, name: &str, v: Option<f64>| -> f64 {
        if v.is_none() {
            p.add(
                format!("{field}.{name}"),
                format!("required for kind = \"{kind_name}\""),
            );
        }
        v.unwrap_or(f64::NAN)
    };
    let set = |p: &mut Problems, name: &str, v: &Option<Vec<String>>| -> Vec<usize> {
        match v {
            Some(codes) => resolve_set(codes, &format!("{field}.{name}"), economies, groups, p),
            None => {
                p.add(
                    format!("{field}.{name}"),
                    format!("required for kind = \"{kind_name}\""),
                );
                Vec::new()
            }
        }
    };
    let pairs = |p: &mut Problems| -> Vec<(usize, usize)> {
        let ex = set(p, "exporters", &ins.exporters);
        let im = set(p, "importers", &ins.importers);
        ex.iter()
            .flat_map(|&a| im.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
            .collect()
    };
    let hubs = |p: &mut Problems| -> Vec<usize> {
        let Some(r) = routes else {
            p.add(
                field.clone(),
                format!("kind = \"{kind_name}\" acts on routes: the scenario needs `[routes]`"),
            );
            return Vec::new();
        };
        let hubs = set(p, "via", &ins.via);
        for (m, &h) in hubs.iter().enumerate() {
            if !r.layout.hubs.contains(&h) {
                p.add(
                    format!("{field}.via"),
                    format!(
                        "`{}` is not one of `routes.intermediaries` (entry {m})",
                        economies.code(h)
                    ),
                );
            }
        }
        hubs
    };
    let origins = |p: &mut Problems| -> Vec<usize> {
        match &ins.origins {
            Some(codes) => resolve_set(codes, &format!("{field}.origins"), economies, groups, p),
            None => routes.map(|r| r.layout.origins.clone()).unwrap_or_default(),
        }
    };
    let in_range = |p: &mut Problems, name: &str, v: f64, lo: f64, hi: f64| {
        if !(v >= lo && v <= hi) {
            p.add(
                format!("{field}.{name}"),
                format!("must be in [{lo}, {hi}], got {v}"),
            );
        }
    };
    let percent_above = |p: &mut Problems, v: f64| {
        if !(v > -100.0 && v.is_finite()) {
            p.add(
                format!("{field}.percent"),
                format!("must be a finite number above -100, got {v}"),
            );
        }
    };
    use InstrumentKind::*;
    let effect = match ins.kind {
        ExportControls | LinkFriction => {
            let pairs = pairs(p);
            let factor = if ins.prohibitive == Some(true) {
                if ins.percent.is_some() {
                    p.add(
                        format!("{field}.percent"),
                        "give `percent` or `prohibitive = true`, not both",
                    );
                }
                f64::INFINITY
            } else {
                let v = need(p, "percent", ins.percent);
                percent_above(p, v);
                if v < 0.0 {
                    p.add(format!("{field}.percent"), "a wedge raises costs: use demand_shift or a negative tariff shock for a cut");
                }
                1.0 + v / 100.0
            };
            Effect::Wedge { pairs, factor }
        }
        SecondarySanctions => {
            let hubs = hubs(p);
            let origins = origins(p);
            let prob = need(p, "probability", ins.probability);
            in_range(p, "probability", prob, 0.0, 1.0);
            let pen = need(p, "penalty_percent", ins.penalty_percent);
            in_range(p, "penalty_percent", pen, 0.0, f64::MAX);
            Effect::RouteCost {
                hubs,
                origins,
                factor: 1.0 + prob * pen / 100.0,
            }
        }
        Compliance => {
            let hubs = hubs(p);
            let share = need(p, "share", ins.share);
            in_range(p, "share", share, 0.0, 1.0);
            Effect::Compliance { hubs, share }
        }
        EvasionChannel => {
            let hubs = hubs(p);
            let origins = origins(p);
            let premium = need(p, "premium", ins.premium);
            in_range(p, "premium", premium, 1.0, f64::MAX);
            Effect::Evasion {
                hubs,
                origins,
                premium,
            }
        }
        DemandShift => {
            let pairs = pairs(p);
            let v = need(p, "percent", ins.percent);
            percent_above(p, v);
            Effect::Demand {
                pairs,
                factor: 1.0 + v / 100.0,
            }
        }
        CustomsUnion => Effect::CustomsUnion {
            members: set(p, "members", &ins.members),
        },
        Investment => {
            let pairs = pairs(p);
            let stock = need(p, "stock", ins.stock);
            in_range(p, "stock", stock, 0.0, f64::MAX);
            let annual = need(p, "annual", ins.annual);
            in_range(p, "annual", annual, 0.0, f64::MAX);
            let k_ref = need(p, "k_ref", ins.k_ref);
            if !(k_ref > 0.0 && k_ref.is_finite()) {
                p.add(
                    format!("{field}.k_ref"),
                    format!("must be positive, got {k_ref}"),
                );
            }
            let eta = need(p, "eta", ins.eta);
            in_range(p, "eta", eta, 0.0, 10.0);
            Effect::Investment {
                pairs,
                stock,
                annual,
                k_ref,
                eta,
            }
        }
        Growth => {
            let economies = set(p, "economies", &ins.economies);
            let v = need(p, "percent", ins.percent);
            percent_above(p, v);
            Effect::Growth {
                economies,
                rate: v / 100.0,
            }
        }
    };
    if p.0.len() > before {
        if let Some(id) = &ins.id {
            for problem in &mut p.0[before..] {
                problem.message.push_str(&format!(" [instrument `{id}`]"));
            }
        }
        return None;
    }
    Some(Instrument {
        id: ins.id.clone(),
        label: ins.label.clone().unwrap_or_else(|| kind_name.to_owned()),
        source: ins.source.clone(),
        start: ins.start,
        end: ins.end,
        phase_in,
        sectors,
        effect,
    })
}
