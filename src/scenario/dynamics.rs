//! Validation of the time dimension of a scenario: `[years]`, `[[sectors]]`, `[routes]` and
//! `[[instruments]]`, into [`Dynamics`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::raw::{RawGeography, RawInstrument, RawRoutes, RawScenario};
use super::resolve::{check, resolve_set, Problems};
use super::RouteForm;
use crate::limits::{check_sectors, check_years};
use crate::policy::{Entry, Field, Instrument, RouteGeography, RouteLayout};
use crate::world::{Economies, Matrix, Vector};

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
    /// The same for direct flows on a link closed by a prohibitive wedge (`None`:
    /// `adjustment`): contracts on a legally closed route wind down at their own speed.
    pub closing_speed: Option<f64>,
    pub sectors: Vec<Sector>,
    pub routes: Option<Routes>,
    pub instruments: Vec<Instrument>,
    /// Who reported each base-year flow, row-major (`i * n + j`).
    #[serde(skip)]
    pub reporters: Vec<Reporter>,
}

impl Dynamics {
    /// The closing speed of direct flows on closed links (`adjustment` unless set).
    pub fn closing(&self) -> f64 {
        self.closing_speed.unwrap_or(self.adjustment)
    }
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
    variables: &BTreeMap<String, Matrix>,
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
    if let Some(m) = check::adjustment(years.adjustment) {
        p.add("years.adjustment", m);
    }
    if let Some(m) = years.closing_speed.and_then(check::adjustment) {
        p.add("years.closing_speed", m);
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
        if let Some(m) = r.theta.and_then(check::theta) {
            p.add("routes.theta", m);
        }
        if let Some(m) = check::premium(r.premium) {
            p.add("routes.premium", m);
        }
        let mut recorded_share = vec![1.0; hubs.len()];
        for (code, &share) in &r.recorded_share {
            let key = format!("routes.recorded_share.{code}");
            match economies.position(code).and_then(|k| hubs.iter().position(|&h| h == k)) {
                Some(h) => recorded_share[h] = share,
                None => p.add(&key, format!("`{code}` is not one of `routes.intermediaries`")),
            }
            if let Some(m) = check::share(share) {
                p.add(&key, m);
            }
        }
        let margin = hub_margins(r, &hubs, economies, groups, p);
        let by_origin = resolve_set(
            &r.imports_by_origin,
            "routes.imports_by_origin",
            economies,
            groups,
            p,
        );
        let imports_by_origin = (0..n).map(|i| by_origin.contains(&i)).collect();
        let geography = r.geography.as_ref().and_then(|g| {
            let t = target?;
            route_geography(g, r.form, &hubs, t, variables, p)
        });
        let link_factor = r.link_factor.unwrap_or(1.0);
        if r.link_factor.is_some() && r.form != RouteForm::Network {
            p.add("routes.link_factor", "applies to form = \"network\" only");
        }
        if let Some(m) = check::link_factor(link_factor) {
            p.add("routes.link_factor", m);
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
                geography,
                margin,
                imports_by_origin,
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
        closing_speed: years.closing_speed,
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
        if let Some(m) = check::sigma(s.sigma) {
            p.add(format!("{field}.sigma"), m);
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

/// An `[[instruments]]` entry as the instruments read it ([`Entry`]): codes resolved
/// against the economies and groups, problems recorded under `instruments[k]`.
struct EntryOf<'a> {
    ins: &'a RawInstrument,
    field: String,
    kind_name: &'static str,
    routes: Option<&'a Routes>,
    economies: &'a Economies,
    groups: &'a BTreeMap<String, Vec<usize>>,
    p: &'a mut Problems,
}

impl EntryOf<'_> {
    fn key(&self, field: Field) -> String {
        format!("{}.{}", self.field, field.name())
    }
}

impl Entry for EntryOf<'_> {
    fn kind_name(&self) -> &'static str {
        self.kind_name
    }

    fn problem(&mut self, field: Field, message: String) {
        let key = self.key(field);
        self.p.add(key, message);
    }

    fn number(&self, field: Field) -> Option<f64> {
        self.ins.number(field)
    }

    fn flag(&self, field: Field) -> Option<bool> {
        self.ins.flag(field)
    }

    fn economies(&mut self, field: Field) -> Vec<usize> {
        let key = self.key(field);
        match self.ins.codes(field) {
            Some(codes) => resolve_set(codes, &key, self.economies, self.groups, self.p),
            None => {
                let message = format!("required for kind = \"{}\"", self.kind_name);
                self.p.add(key, message);
                Vec::new()
            }
        }
    }

    fn hubs(&mut self) -> Vec<usize> {
        let Some(r) = self.routes else {
            let message = format!(
                "kind = \"{}\" acts on routes: the scenario needs `[routes]`",
                self.kind_name
            );
            self.p.add(self.field.clone(), message);
            return Vec::new();
        };
        let hubs = self.economies(Field::Via);
        for (m, &h) in hubs.iter().enumerate() {
            if !r.layout.hubs.contains(&h) {
                let message = format!(
                    "`{}` is not one of `routes.intermediaries` (entry {m})",
                    self.economies.code(h)
                );
                self.problem(Field::Via, message);
            }
        }
        hubs
    }

    fn origins(&mut self) -> Vec<usize> {
        let key = self.key(Field::Origins);
        match self.ins.codes(Field::Origins) {
            Some(codes) => resolve_set(codes, &key, self.economies, self.groups, self.p),
            None => self
                .routes
                .map(|r| r.layout.origins.clone())
                .unwrap_or_default(),
        }
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
    let about = ins.kind.about();
    for (name, present) in ins.given() {
        if present && !about.takes.contains(&name) {
            p.add(
                format!("{field}.{}", name.name()),
                format!(
                    "does not apply to kind = \"{}\" (it takes {})",
                    about.name,
                    about
                        .takes
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", ")
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
    let effect = (about.validate)(&mut EntryOf {
        ins,
        field: field.clone(),
        kind_name: about.name,
        routes,
        economies,
        groups,
        p,
    });
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
        label: ins.label.clone().unwrap_or_else(|| about.name.to_owned()),
        source: ins.source.clone(),
        start: ins.start,
        end: ins.end,
        phase_in,
        sectors,
        effect: effect?,
    })
}

/// `[routes] margin`: by hub code or group, `default` for the rest (0); each in [0, 1).
fn hub_margins(
    r: &RawRoutes,
    hubs: &[usize],
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    p: &mut Problems,
) -> Vec<f64> {
    let default = r.margin.get("default").copied().unwrap_or(0.0);
    let mut margin = vec![default; hubs.len()];
    for (code, &m) in r.margin.iter().filter(|(c, _)| c.as_str() != "default") {
        let key = format!("routes.margin.{code}");
        let members: Vec<usize> = match groups.get(code) {
            Some(g) => g.clone(),
            None => economies.position(code).into_iter().collect(),
        };
        if members.is_empty() {
            p.add(&key, format!("`{code}` is neither an economy nor a group"));
        }
        for k in members {
            match hubs.iter().position(|&h| h == k) {
                Some(h) => margin[h] = m,
                None => p.add(
                    &key,
                    format!(
                        "`{}` is not one of `routes.intermediaries`",
                        economies.code(k)
                    ),
                ),
            }
        }
    }
    for (code, m) in &r.margin {
        if let Some(message) = check::margin(*m) {
            p.add(format!("routes.margin.{code}"), message);
        }
    }
    margin
}

/// `[routes.geography]`: the coefficients, and each route's detour ratio and each hub's
/// border with the target from the world's `lndist` and `contiguity` columns.
fn route_geography(
    g: &RawGeography,
    form: RouteForm,
    hubs: &[usize],
    target: usize,
    variables: &BTreeMap<String, Matrix>,
    p: &mut Problems,
) -> Option<RouteGeography> {
    let key = "routes.geography";
    if form != RouteForm::Detour {
        p.add(key, "applies to form = \"detour\" only");
        return None;
    }
    for (name, v) in [
        ("distance", g.distance),
        ("no_border", g.no_border),
        ("outside_union", g.outside_union),
    ] {
        if let Some(m) = check::geography(v) {
            p.add(format!("{key}.{name}"), m);
        }
    }
    let (Some(lndist), Some(contiguity)) = (variables.get("lndist"), variables.get("contiguity"))
    else {
        p.add(
            key,
            "needs the cost variables `lndist` and `contiguity` in the data (a world built by `tradeflow data build` has them)",
        );
        return None;
    };
    let n = lndist.nrows();
    let d = |a: usize, b: usize| lndist[(a, b)].exp();
    let ln_detour = hubs
        .iter()
        .map(|&k| {
            Vector::from_fn(n, |i, _| {
                if i == k || i == target || k == target {
                    0.0
                } else {
                    ((d(i, k) + d(k, target)) / d(i, target)).ln()
                }
            })
        })
        .collect::<Vec<Vector>>();
    if ln_detour.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
        p.add(
            key,
            "a distance in the data is not a positive finite number",
        );
        return None;
    }
    Some(RouteGeography {
        distance: g.distance,
        no_border: g.no_border,
        outside_union: g.outside_union,
        ln_detour,
        border: hubs
            .iter()
            .map(|&k| contiguity[(k, target)] > 0.0)
            .collect(),
    })
}
