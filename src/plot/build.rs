//! From a results folder's tables to the charts: which economy is the target, which origins
//! are large enough to show on their own, which years sanctions take effect, which series a
//! comparison shows by default.

use std::collections::BTreeMap;

use super::compare::{
    scenario_label, shorten, Departure, PolicyYear, ScenarioBars, ScenarioLines, Unit,
};
use super::flows::{Band, Event, FlowsByRoute, HubSeries, Reexports, Role};
use super::heatmap::{ChangeHeatmap, Comparing, Measure};
use super::input::{Folder, RunJson};
use super::names::short;
use super::page::{data_words, source_line};
use super::sankey::{RouteDiagram, RouteFlow};
use super::tuning::key_series;
use super::{Chart, PlotError};
use crate::compare::{
    CompareRow, DifferenceRow, FinalFlowRow, InstrumentRow, RecordedFlowRow, ScenarioRow,
};
use crate::simulate::{FlowTotalRow, RecordedTotalRow, ReexportTotalRow, RouteTotalRow, DIRECT};

/// Choices for the charts of a yearly run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Year of the route diagram and end year of the heatmap (default: the last year).
    pub year: Option<i32>,
    /// Start year of the heatmap (default: the first year).
    pub from_year: Option<i32>,
}

/// Choices for the charts of a comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Series drawn across scenarios over years (default: re-exports via the largest
    /// intermediary, the largest recorded flow into it, and the target's imports).
    pub series: Vec<String>,
    /// Year of the bar chart and the heatmaps (default: the last year).
    pub year: Option<i32>,
    /// The scenario the heatmaps compare the others with (default: the reference of
    /// `differences.csv`, else the first one).
    pub reference: Option<String>,
}

/// Effects shown as events in a `run.json` written before each effect recorded whether it
/// is a sanction (`sanction`, from [`crate::policy::Effect::is_sanction`]): the kinds that
/// were sanctions then. Newer files carry the answer and never consult this list.
const SANCTIONS_BEFORE_RECORDED: [&str; 3] = ["wedge", "route_cost", "compliance"];

/// A direct origin is shown on its own if it supplies at least this share of the target's
/// imports in some year; the others are grouped.
const MAJOR_SHARE: f64 = 0.05;
const MAX_MAJOR: usize = 5;

/// What the yearly charts share, read from `run.json`.
struct RunSetup {
    name: String,
    economies: Vec<String>,
    years: Vec<i32>,
    sector: String,
    /// Target and hubs with their recorded shares, when the run has routes.
    routes: Option<(String, Vec<(String, f64)>)>,
    events: Vec<Event>,
    /// The base year of the data (history on the charts over years).
    base_year: Option<i32>,
    /// The source line every chart of the run ends with ([`source_line`]).
    source: String,
    /// The panel the world was built from and the rates table for its figures, when the
    /// scenario's `[data]` names them (`run.json`'s `data_source.world`).
    panel: Option<(std::path::PathBuf, Option<std::path::PathBuf>)>,
    /// The unit of the run's flows (`[data] unit`).
    unit: Option<String>,
}

fn setup(folder: &Folder, run: RunJson) -> Result<RunSetup, PlotError> {
    let path = folder.path("run.json");
    let content = |message: String| PlotError::Content {
        path: path.clone(),
        message,
    };
    let (Some(years), Some(d)) = (run.years, run.scenario.dynamics) else {
        return Err(content(
            "a single counterfactual (no `years`): charts are drawn for yearly runs and comparisons".into(),
        ));
    };
    if years.is_empty() {
        return Err(content("`years` is empty".into()));
    }
    let economies = run.scenario.economies;
    let code = |i: usize, what: &str| -> Result<String, PlotError> {
        economies.get(i).cloned().ok_or_else(|| {
            content(format!(
                "{what} is economy {i}, but `scenario.economies` has {}",
                economies.len()
            ))
        })
    };
    let sector = match d.sectors.as_slice() {
        [] => return Err(content("`scenario.dynamics.sectors` is empty".into())),
        [one] => one.name.clone(),
        _ => crate::simulate::ALL_SECTORS.to_owned(),
    };
    let routes = match &d.routes {
        Some(r) => {
            let target = code(r.layout.target, "`routes.layout.target`")?;
            let mut hubs = Vec::new();
            for (k, &h) in r.layout.hubs.iter().enumerate() {
                let share = r.layout.recorded_share.get(k).copied().unwrap_or(1.0);
                hubs.push((code(h, "`routes.layout.hubs`")?, share));
            }
            Some((target, hubs))
        }
        None => None,
    };
    let mut events = Vec::new();
    for ins in d.instruments.iter().filter(|i| {
        i.effect
            .sanction
            .unwrap_or_else(|| SANCTIONS_BEFORE_RECORDED.contains(&i.effect.effect.as_str()))
    }) {
        events.push(Event {
            year: ins.start,
            label: ins.label.clone(),
        });
        if let Some(end) = ins.end {
            events.push(Event {
                year: end,
                label: format!("End: {}", ins.label),
            });
        }
    }
    let version = run
        .tradeflow_version
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let source = source_line(
        &version,
        &run.scenario.name,
        run.scenario.description.as_deref(),
        &data_words(
            run.scenario.data_source.as_ref(),
            run.scenario.data_unit.as_deref(),
        ),
    );
    let world_path = |key: &str| {
        run.scenario
            .data_source
            .as_ref()
            .and_then(|d| d.get("world"))
            .and_then(|w| w.get(key))
            .and_then(|p| p.as_str())
            .map(std::path::PathBuf::from)
    };
    let panel = world_path("panel").map(|p| (p, world_path("rates")));
    Ok(RunSetup {
        base_year: d.base_year,
        panel,
        unit: run.scenario.data_unit.clone(),
        source,
        name: run.scenario.name,
        economies,
        years,
        sector,
        routes,
        events,
    })
}

fn pick_year(opt: Option<i32>, years: &[i32], what: &str) -> Result<i32, PlotError> {
    let (first, last) = match (years.iter().min(), years.iter().max()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => return Err(PlotError::Option(format!("{what}: there are no years"))),
    };
    match opt {
        None => Ok(last),
        Some(y) if years.contains(&y) => Ok(y),
        Some(y) => Err(PlotError::Option(format!(
            "{what} {y} is not a year of the results ({first} to {last})"
        ))),
    }
}

/// The charts of a yearly run's folder.
pub fn year_run_charts(folder: &Folder, opts: &RunOptions) -> Result<Vec<Chart>, PlotError> {
    let s = setup(folder, folder.run_json()?)?;
    let year = pick_year(opts.year, &s.years, "--year")?;
    let from_year = match opts.from_year {
        None => s.years.iter().copied().min().unwrap_or(year),
        Some(y) => pick_year(Some(y), &s.years, "--from-year")?,
    };
    // The charts show all sectors: the totals files.
    let flows: Vec<FlowTotalRow> = folder.csv(
        "flows_total.csv",
        "a yearly run's folder holds flows_total.csv",
        &[
            "year",
            "exporter",
            "importer",
            "shipped",
            "final_destination",
        ],
        &["final_destination"],
        &["final_destination"],
    )?;
    if flows.is_empty() {
        return Err(PlotError::Content {
            path: folder.path("flows_total.csv"),
            message: "no rows".into(),
        });
    }
    let mut charts = Vec::new();
    let mut observed = None;
    if let Some((target, hubs)) = &s.routes {
        let routes: Vec<RouteTotalRow> = folder.csv(
            "routes_total.csv",
            "a yearly run with routes holds routes_total.csv",
            &[
                "year",
                "origin",
                "via",
                "destination",
                "value",
                "pair_fraction",
                "target_imports_fraction",
            ],
            &["value"],
            &["value"],
        )?;
        let routes: Vec<RouteTotalRow> = routes
            .into_iter()
            .filter(|r| &r.destination == target)
            .collect();
        if routes.is_empty() {
            return Err(PlotError::Content {
                path: folder.path("routes_total.csv"),
                message: format!("no rows into `{target}`"),
            });
        }
        let reexports: Vec<ReexportTotalRow> = folder.csv(
            "reexports_total.csv",
            "a yearly run with routes holds reexports_total.csv",
            &[
                "year",
                "intermediary",
                "imports_from_origins",
                "reexports_to_target",
                "reexport_fraction",
            ],
            &["reexports_to_target"],
            &["reexports_to_target"],
        )?;
        if reexports.is_empty() && !hubs.is_empty() {
            return Err(PlotError::Content {
                path: folder.path("reexports_total.csv"),
                message: "no rows".into(),
            });
        }
        let hubs = rank_hubs(hubs, &routes);
        let (stack, origins) = flows_by_route(&s, target, &hubs, &routes);
        charts.push(Chart::FlowsByRoute(stack));
        charts.push(Chart::Reexports(reexports_chart(
            &s, target, &hubs, &reexports,
        )));
        charts.push(Chart::RouteDiagram(route_diagram(
            &s, target, &hubs, &routes, &origins, year,
        )));
        if s.panel.is_some() && folder.has("recorded_total.csv") {
            observed = Some(observed_chart(folder, &s, target, &hubs)?);
        }
    }
    let finals: Vec<Cell> = flows
        .iter()
        .map(|f| {
            (
                f.year,
                f.exporter.as_str(),
                f.importer.as_str(),
                f.final_destination,
            )
        })
        .collect();
    charts.push(Chart::ChangeHeatmap(year_heatmap(
        folder,
        "flows_total.csv",
        &s,
        &finals,
        Measure::FinalDestination,
        (from_year, year),
    )?));
    // Beside it, exports as each exporter's customs record them: goods shipped to an
    // intermediary for re-export count there, which is what trade statistics show.
    // Without routes nothing is re-exported and the recorded flows are the final ones.
    if s.routes.is_some() && folder.has("recorded_total.csv") {
        let recorded: Vec<RecordedTotalRow> = folder.csv(
            "recorded_total.csv",
            "",
            &["year", "exporter", "importer", "reporter", "recorded"],
            &["recorded"],
            &["recorded"],
        )?;
        let cells: Vec<Cell> = recorded
            .iter()
            .filter(|r| r.reporter == r.exporter)
            .map(|r| (r.year, r.exporter.as_str(), r.importer.as_str(), r.recorded))
            .collect();
        if !cells.is_empty() {
            charts.push(Chart::ChangeHeatmap(year_heatmap(
                folder,
                "recorded_total.csv",
                &s,
                &cells,
                Measure::RecordedByExporter,
                (from_year, year),
            )?));
        }
    }
    charts.extend(observed.map(Chart::ObservedVsModelled));
    Ok(charts)
}

/// The chart of the panel's figures against the model's recorded flows: the panel and its
/// rates read from where `run.json` says, every problem located in them.
fn observed_chart(
    folder: &Folder,
    s: &RunSetup,
    target: &str,
    hubs: &Hubs,
) -> Result<super::observed::ObservedVsModelled, PlotError> {
    let Some((panel_path, rates_path)) = &s.panel else {
        return Err(PlotError::Content {
            path: folder.path("run.json"),
            message: "no panel".into(),
        });
    };
    let data_err = |e: crate::data::DataError| PlotError::Content {
        path: folder.path("run.json"),
        message: format!("the panel named in `scenario.data_source.world` cannot be read: {e}"),
    };
    let panel = crate::data::panel::Panel::read(panel_path).map_err(data_err)?;
    let rates = match rates_path {
        Some(p) => crate::data::panel::Rates::read(p).map_err(data_err)?,
        None => crate::data::panel::Rates::none(),
    };
    let recorded: Vec<RecordedTotalRow> = folder.csv(
        "recorded_total.csv",
        "",
        &["year", "exporter", "importer", "reporter", "recorded"],
        &["recorded"],
        &["recorded"],
    )?;
    let unit = s.unit.clone().unwrap_or_else(|| "USD bn".to_owned());
    let all_hubs: Vec<String> = hubs
        .shown
        .iter()
        .chain(&hubs.other)
        .map(|(h, _)| h.clone())
        .collect();
    let (points, left_out) = super::observed::observed_points(
        &panel,
        &rates,
        &unit,
        (target, &all_hubs),
        &s.years,
        &s.economies,
        &recorded,
    )
    .map_err(|message| PlotError::Content {
        path: folder.path("run.json"),
        message,
    })?;
    Ok(super::observed::ObservedVsModelled {
        target: target.to_owned(),
        hubs: all_hubs,
        base_year: s.base_year,
        unit,
        points,
        left_out,
        panel: panel_path.file_name().map_or_else(
            || panel_path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        ),
        source: s.source.clone(),
    })
}

/// Origins shown on their own (in stack order) and the grouped rest.
struct Origins {
    major: Vec<String>,
    other: Vec<String>,
}

impl Origins {
    fn role(&self, origin: &str) -> Role {
        match self.major.iter().position(|m| m == origin) {
            Some(i) => Role::Direct(i),
            None => Role::OtherOrigins,
        }
    }
    fn other_name(&self) -> String {
        format!("{} other origins", self.other.len())
    }
}

/// A run with more intermediaries than this shows the largest `MAX_HUBS - 1` on their own
/// and groups the rest as "other hubs" (a chart of 11 hubs has no colours or room for
/// each); with this many or fewer every hub is shown, in the order the scenario lists them.
pub(crate) const MAX_HUBS: usize = 6;

/// Intermediaries shown on their own (each with its recorded share) and the grouped rest.
pub(crate) struct Hubs {
    pub(crate) shown: Vec<(String, f64)>,
    pub(crate) other: Vec<(String, f64)>,
}

impl Hubs {
    /// The colour role of a hub's flows: its place among those shown, or the group.
    fn role(&self, hub: &str) -> Option<Role> {
        if let Some(k) = self.shown.iter().position(|(h, _)| h == hub) {
            return Some(Role::Via(k));
        }
        self.other
            .iter()
            .any(|(h, _)| h == hub)
            .then_some(Role::OtherHubs)
    }

    fn other_name(&self) -> String {
        format!("{} other hubs", self.other.len())
    }

    /// The footnote's list of the grouped hubs, by name (empty without a group).
    fn other_note(&self) -> String {
        if self.other.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self.other.iter().map(|(h, _)| short(h)).collect();
        format!(
            " {}: {}.",
            sentence_case(&self.other_name()),
            names.join(", ")
        )
    }
}

fn sentence_case(s: &str) -> String {
    super::compare::sentence(s)
}

/// Ranks the intermediaries by what the run routes through them into the target over all
/// years (its own numbers, largest first, ties by code) and groups all but the largest
/// `MAX_HUBS - 1` when there are more than [`MAX_HUBS`].
pub(crate) fn rank_hubs(hubs: &[(String, f64)], routes: &[RouteTotalRow]) -> Hubs {
    if hubs.len() <= MAX_HUBS {
        return Hubs {
            shown: hubs.to_vec(),
            other: Vec::new(),
        };
    }
    let through = |h: &str| -> f64 { routes.iter().filter(|r| r.via == h).map(|r| r.value).sum() };
    let mut ranked: Vec<(String, f64)> = hubs.to_vec();
    ranked.sort_by(|a, b| through(&b.0).total_cmp(&through(&a.0)).then(a.0.cmp(&b.0)));
    let other = ranked.split_off(MAX_HUBS - 1);
    Hubs {
        shown: ranked,
        other,
    }
}

fn year_index(years: &[i32]) -> BTreeMap<i32, usize> {
    years.iter().enumerate().map(|(i, y)| (*y, i)).collect()
}

fn flows_by_route(
    s: &RunSetup,
    target: &str,
    hubs: &Hubs,
    routes: &[RouteTotalRow],
) -> (FlowsByRoute, Origins) {
    let idx = year_index(&s.years);
    let ny = s.years.len();
    let mut direct: Vec<(String, Vec<f64>)> = Vec::new();
    let mut total = vec![0.0; ny];
    for r in routes {
        let Some(&i) = idx.get(&r.year) else { continue };
        total[i] += r.value;
        // Every origin is listed, also one that only ships through intermediaries.
        let at = match direct.iter().position(|(o, _)| *o == r.origin) {
            Some(k) => k,
            None => {
                direct.push((r.origin.clone(), vec![0.0; ny]));
                direct.len() - 1
            }
        };
        if r.via == DIRECT {
            direct[at].1[i] += r.value;
        }
    }
    let share = |v: &[f64]| {
        v.iter()
            .zip(&total)
            .map(|(x, t)| if *t > 0.0 { x / t } else { 0.0 })
            .fold(0.0, f64::max)
    };
    let first = |v: &[f64]| v.first().copied().unwrap_or(0.0);
    let mut ranked: Vec<&(String, Vec<f64>)> = direct.iter().collect();
    ranked.sort_by(|a, b| first(&b.1).total_cmp(&first(&a.1)).then(a.0.cmp(&b.0)));
    let mut major: Vec<String> = ranked
        .iter()
        .filter(|(_, v)| share(v) >= MAJOR_SHARE)
        .take(MAX_MAJOR)
        .map(|(o, _)| o.clone())
        .collect();
    let mut other: Vec<String> = ranked
        .iter()
        .map(|(o, _)| o.clone())
        .filter(|o| !major.contains(o))
        .collect();
    if other.len() == 1 && major.len() < MAX_MAJOR + 1 {
        // Grouping a single origin would hide its name for nothing.
        major.append(&mut other);
    }
    let origins = Origins { major, other };
    let mut bands: Vec<Band> = Vec::new();
    for (i, o) in origins.major.iter().enumerate() {
        let values = direct
            .iter()
            .find(|(d, _)| d == o)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![0.0; ny]);
        bands.push(Band {
            name: format!("direct from {o}"),
            role: Role::Direct(i),
            values,
        });
    }
    if !origins.other.is_empty() {
        let mut values = vec![0.0; ny];
        for (o, v) in &direct {
            if origins.other.contains(o) {
                for (a, b) in values.iter_mut().zip(v) {
                    *a += b;
                }
            }
        }
        bands.push(Band {
            name: format!("direct from {}", origins.other_name()),
            role: Role::OtherOrigins,
            values,
        });
    }
    let through = |pick: &dyn Fn(&str) -> bool| {
        let mut values = vec![0.0; ny];
        for r in routes.iter().filter(|r| pick(&r.via)) {
            if let Some(&i) = idx.get(&r.year) {
                values[i] += r.value;
            }
        }
        values
    };
    for (k, (hub, _)) in hubs.shown.iter().enumerate() {
        bands.push(Band {
            name: format!("via {hub} (re-exports)"),
            role: Role::Via(k),
            values: through(&|v| v == hub),
        });
    }
    if !hubs.other.is_empty() {
        bands.push(Band {
            name: format!("via {} (re-exports)", hubs.other_name()),
            role: Role::OtherHubs,
            values: through(&|v| hubs.other.iter().any(|(h, _)| h == v)),
        });
    }
    let mut note = String::new();
    if !origins.other.is_empty() {
        let names: Vec<String> = origins.other.iter().map(|o| short(o)).collect();
        note.push_str(&format!("Other origins: {}. ", names.join(", ")));
    }
    if !hubs.other.is_empty() {
        note.push_str(hubs.other_note().trim_start());
        note.push(' ');
    }
    note.push_str(&format!(
        "{} Sector {}; final-destination values.",
        s.source, s.sector
    ));
    (
        FlowsByRoute {
            target: target.to_owned(),
            years: s.years.clone(),
            bands,
            events: s.events.clone(),
            base_year: s.base_year,
            note,
        },
        origins,
    )
}

fn reexports_chart(
    s: &RunSetup,
    target: &str,
    hubs: &Hubs,
    rows: &[ReexportTotalRow],
) -> Reexports {
    let idx = year_index(&s.years);
    // Re-exports by final destination and as the hub records them: the run's
    // `recorded_by_intermediary` (by origin and year, after goods lost in transit), or for a
    // folder written before that column, the re-exports times the hub's recorded share.
    let values = |hub: &str, share: f64| {
        let mut v = vec![0.0; s.years.len()];
        let mut rec = vec![0.0; s.years.len()];
        for r in rows.iter().filter(|r| r.intermediary == hub) {
            if let Some(&i) = idx.get(&r.year) {
                v[i] += r.reexports_to_target;
                rec[i] += if r.recorded_by_intermediary.is_finite() {
                    r.recorded_by_intermediary
                } else {
                    r.reexports_to_target * share
                };
            }
        }
        (v, rec)
    };
    let mut series: Vec<HubSeries> = hubs
        .shown
        .iter()
        .map(|(hub, share)| {
            let (v, rec) = values(hub, *share);
            HubSeries::single_recorded(hub, v, rec, *share)
        })
        .collect();
    if !hubs.other.is_empty() {
        let mut final_destination = vec![0.0; s.years.len()];
        let mut recorded = vec![0.0; s.years.len()];
        for (hub, share) in &hubs.other {
            let (v, rec) = values(hub, *share);
            for i in 0..v.len() {
                final_destination[i] += v[i];
                recorded[i] += rec[i];
            }
        }
        series.push(HubSeries {
            hub: hubs.other_name(),
            final_destination,
            recorded,
            shares: hubs.other.clone(),
            grouped: true,
        });
    }
    let hubs_note = hubs.other_note();
    let hubs = series;
    Reexports {
        target: target.to_owned(),
        years: s.years.clone(),
        hubs,
        events: s.events.clone(),
        base_year: s.base_year,
        note: format!(
            "{}{hubs_note} Sector {}; the recorded share of transit is the scenario's assumption for each intermediary's customs; the dashed lines are the run's recorded_by_intermediary (reexports_total.csv), net of goods lost in transit.",
            s.source, s.sector
        ),
    }
}

fn route_diagram(
    s: &RunSetup,
    target: &str,
    hubs: &Hubs,
    routes: &[RouteTotalRow],
    origins: &Origins,
    year: i32,
) -> RouteDiagram {
    // Nodes: named origins by their value this year, then the grouped ones.
    let value_of = |o: &str| -> f64 {
        routes
            .iter()
            .filter(|r| r.year == year && r.origin == o)
            .map(|r| r.value)
            .sum()
    };
    let mut named: Vec<&String> = origins.major.iter().collect();
    named.sort_by(|a, b| value_of(b).total_cmp(&value_of(a)));
    let mut nodes: Vec<(String, Role)> = named
        .iter()
        .map(|o| ((*o).clone(), origins.role(o)))
        .collect();
    if !origins.other.is_empty() {
        nodes.push((origins.other_name(), Role::OtherOrigins));
    }
    let mut flows: Vec<RouteFlow> = Vec::new();
    for r in routes.iter().filter(|r| r.year == year) {
        let origin = match named.iter().position(|o| **o == r.origin) {
            Some(i) => i,
            None if !origins.other.is_empty() => named.len(),
            None => continue,
        };
        let via = match hubs.role(&r.via) {
            Some(Role::Via(k)) => Some(k),
            Some(_) => Some(hubs.shown.len()),
            None => None,
        };
        if r.via != DIRECT && via.is_none() {
            continue;
        }
        match flows
            .iter_mut()
            .find(|f| f.origin == origin && f.via == via)
        {
            Some(f) => f.value += r.value,
            None => flows.push(RouteFlow {
                origin,
                via,
                value: r.value,
            }),
        }
    }
    let mut note = String::new();
    if !origins.other.is_empty() {
        let names: Vec<String> = origins.other.iter().map(|o| short(o)).collect();
        note.push_str(&format!(
            "{}: {}. ",
            sentence_case(&origins.other_name()),
            names.join(", ")
        ));
    }
    if !hubs.other.is_empty() {
        note.push_str(hubs.other_note().trim_start());
        note.push(' ');
    }
    note.push_str(&format!("{} Sector {}.", s.source, s.sector));
    let mut hub_nodes: Vec<(String, Role)> = hubs
        .shown
        .iter()
        .enumerate()
        .map(|(k, (h, _))| (h.clone(), Role::Via(k)))
        .collect();
    if !hubs.other.is_empty() {
        hub_nodes.push((hubs.other_name(), Role::OtherHubs));
    }
    RouteDiagram {
        target: target.to_owned(),
        year,
        origins: nodes,
        hubs: hub_nodes,
        flows,
        note,
    }
}

/// One flow of a heatmap: year, exporter, importer, value.
type Cell<'a> = (i32, &'a str, &'a str, f64);

fn year_heatmap(
    folder: &Folder,
    file: &str,
    s: &RunSetup,
    flows: &[Cell],
    measure: Measure,
    (from, to): (i32, i32),
) -> Result<ChangeHeatmap, PlotError> {
    let n = s.economies.len();
    let pos = |c: &str| s.economies.iter().position(|e| e == c);
    let mut a = vec![vec![None; n]; n];
    let mut b = vec![vec![None; n]; n];
    for &(year, exporter, importer, value) in flows.iter().filter(|f| f.0 == from || f.0 == to) {
        let (Some(i), Some(j)) = (pos(exporter), pos(importer)) else {
            return Err(PlotError::Content {
                path: folder.path(file),
                message: format!(
                    "{exporter}->{importer} is not a pair of economies of run.json ({})",
                    s.economies.join(", ")
                ),
            });
        };
        if year == from {
            a[i][j] = Some(value);
        }
        if year == to {
            b[i][j] = Some(value);
        }
    }
    Ok(ChangeHeatmap {
        measure,
        source: s.source.clone(),
        comparing: Comparing::Years {
            scenario: s.name.clone(),
        },
        from: from.to_string(),
        to: to.to_string(),
        economies: s.economies.clone(),
        from_values: a,
        to_values: b,
    })
}

/// The charts of a comparison folder.
pub fn compare_charts(folder: &Folder, opts: &CompareOptions) -> Result<Vec<Chart>, PlotError> {
    let rows: Vec<CompareRow> = folder.csv(
        "compare.csv",
        "a comparison folder holds compare.csv",
        &["scenario", "series", "year", "value", "unit"],
        &["value"],
        &[],
    )?;
    if rows.is_empty() {
        return Err(PlotError::Content {
            path: folder.path("compare.csv"),
            message: "no rows".into(),
        });
    }
    let mut scenarios: Vec<String> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    let mut years: Vec<i32> = Vec::new();
    let mut values: BTreeMap<(&str, &str, i32), f64> = BTreeMap::new();
    for r in &rows {
        if !scenarios.contains(&r.scenario) {
            scenarios.push(r.scenario.clone());
        }
        if !series.contains(&r.series) {
            series.push(r.series.clone());
        }
        if !years.contains(&r.year) {
            years.push(r.year);
        }
        values.insert((&r.scenario, &r.series, r.year), r.value);
    }
    years.sort_unstable();
    let year = pick_year(opts.year, &years, "--year")?;
    let last_value = |name: &str| -> f64 {
        scenarios
            .iter()
            .filter_map(|sc| values.get(&(sc.as_str(), name, year)).copied())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    // Defaults: re-exports via the largest hub, the largest recorded flow into that hub,
    // the target's imports.
    let names: Vec<&str> = series.iter().map(String::as_str).collect();
    let key = key_series(&names, &last_value);
    let into_hub = key.into_hub.map(str::to_owned);
    let chosen: Vec<String> = if opts.series.is_empty() {
        let mut d: Vec<String> = key
            .vias
            .first()
            .copied()
            .into_iter()
            .chain(key.into_hub)
            .chain(key.imports)
            .map(str::to_owned)
            .collect();
        if d.is_empty() {
            d.extend(series.first().cloned());
        }
        d
    } else {
        for s in &opts.series {
            if !series.contains(s) {
                let valid: Vec<&str> = series.iter().map(String::as_str).collect();
                return Err(PlotError::Option(format!(
                    "--series: {} ({})",
                    crate::simulate::series::unknown_series(s, &valid),
                    folder.path("compare.csv").display(),
                )));
            }
        }
        opts.series.clone()
    };
    // The heatmaps and the policy years compare with `--reference`, else with the reference
    // `tradeflow compare` measured against (`differences.csv`), else with the first scenario.
    let reference = match &opts.reference {
        Some(r) => Some(r.clone()),
        None => compare_reference(folder)?,
    };
    let line_reference = reference
        .clone()
        .filter(|r| scenarios.contains(r))
        .or_else(|| scenarios.first().cloned());
    let about = compare_about(folder)?;
    let description = |sc: &String| -> String {
        about
            .as_ref()
            .and_then(|(rows, _)| rows.iter().find(|r| &r.scenario == sc))
            .map_or_else(String::new, |r| r.description.trim().to_owned())
    };
    // The lines' table has the room for whole descriptions; the bars' legend column not.
    let descriptions: Vec<String> = scenarios
        .iter()
        .map(|sc| {
            let d = description(sc);
            if d.is_empty() {
                sc.clone()
            } else {
                d
            }
        })
        .collect();
    let labels: Vec<String> = scenarios
        .iter()
        .map(|sc| scenario_label(sc, &description(sc), LABEL_CHARS))
        .collect();
    // Policy years from the instruments the reference lacks; a folder written before
    // `scenario_instruments.csv` existed falls back to where the paths part.
    let (policy_years, policy_inferred) = match &about {
        Some((_, instruments)) => (policy_years(instruments), false),
        None => match &line_reference {
            Some(r) => (
                departures(&scenarios, &series, &years, &values, r)
                    .iter()
                    .map(Departure::policy_year)
                    .collect(),
                true,
            ),
            None => (Vec::new(), true),
        },
    };
    let mut charts = Vec::new();
    for name in &chosen {
        charts.push(Chart::ScenarioLines(ScenarioLines {
            reference: line_reference.clone(),
            policy_years: policy_years.clone(),
            policy_inferred,
            labels: descriptions.clone(),
            series: name.clone(),
            unit: Unit::of_series(name),
            years: years.clone(),
            scenarios: scenarios
                .iter()
                .map(|sc| {
                    (
                        sc.clone(),
                        years
                            .iter()
                            .map(|y| values.get(&(sc.as_str(), name.as_str(), *y)).copied())
                            .collect(),
                    )
                })
                .collect(),
        }));
    }
    // Bars: re-exports via every hub and the recorded flow into the largest hub (all USD bn
    // and of one magnitude); without routes, the chosen series in USD bn.
    let mut bar_series: Vec<String> = series
        .iter()
        .filter(|n| {
            matches!(
                crate::simulate::series::Series::parse(n),
                Some(crate::simulate::series::Series::Reexports { .. })
            )
        })
        .cloned()
        .collect();
    // Many hubs: the largest this year (in any scenario) get bars, the rest are named in
    // the footnote.
    let mut bars_left_out = Vec::new();
    if bar_series.len() > MAX_HUBS {
        let top = |n: &String| last_value(n);
        bar_series.sort_by(|a, b| top(b).total_cmp(&top(a)).then(a.cmp(b)));
        bars_left_out = bar_series.split_off(MAX_HUBS - 1);
    }
    bar_series.extend(into_hub);
    if bar_series.is_empty() {
        bar_series = chosen
            .iter()
            .filter(|n| Unit::of_series(n) == Unit::UsdBn)
            .cloned()
            .collect();
    }
    if !bar_series.is_empty() {
        charts.push(Chart::ScenarioBars(ScenarioBars {
            year,
            unit: Unit::UsdBn,
            values: bar_series
                .iter()
                .map(|n| {
                    scenarios
                        .iter()
                        .map(|sc| values.get(&(sc.as_str(), n.as_str(), year)).copied())
                        .collect()
                })
                .collect(),
            series: bar_series,
            left_out: bars_left_out,
            scenarios: scenarios.clone(),
            labels: labels.clone(),
        }));
    }
    if folder.has("final_flows.csv") {
        // The heatmaps' source lines say what each of the two scenarios is.
        let described = |sc: &str| {
            let d = description(&sc.to_owned());
            if d.is_empty() {
                sc.to_owned()
            } else {
                format!("{sc} ({})", d.trim_end_matches('.'))
            }
        };
        charts.extend(
            scenario_heatmaps(folder, &scenarios, year, reference.as_deref())?
                .into_iter()
                .map(|mut h| {
                    h.source = compare_source(&described(&h.to), &described(&h.from));
                    Chart::ChangeHeatmap(h)
                }),
        );
    } else if let Some(r) = &opts.reference {
        return Err(PlotError::Option(format!(
            "--reference {r}: {} is missing, so there are no bilateral flows to compare",
            folder.path("final_flows.csv").display()
        )));
    }
    Ok(charts)
}

/// Policy years: the reference first, then each other scenario in turn is set against the
/// scenarios before it; the one whose path it follows longest (it departs in the latest
/// year, by more than a millionth of the value in any series) is the path it parts from,
/// in that year. Grouped by year and path, in year order; a scenario equal to an earlier
/// one throughout has no policy year.
fn departures(
    scenarios: &[String],
    series: &[String],
    years: &[i32],
    values: &BTreeMap<(&str, &str, i32), f64>,
    reference: &str,
) -> Vec<Departure> {
    let parts = |a: &str, b: &str| -> Option<i32> {
        years.iter().copied().find(|&y| {
            series.iter().any(|n| {
                let x = values.get(&(a, n.as_str(), y));
                let z = values.get(&(b, n.as_str(), y));
                match (x, z) {
                    (Some(x), Some(z)) => (x - z).abs() > 1e-6 * x.abs().max(z.abs()).max(1e-9),
                    _ => false,
                }
            })
        })
    };
    let mut order: Vec<&str> = vec![reference];
    order.extend(
        scenarios
            .iter()
            .map(String::as_str)
            .filter(|s| *s != reference),
    );
    let mut out: Vec<Departure> = Vec::new();
    for (k, sc) in order.iter().enumerate().skip(1) {
        let mut best: Option<(i32, &str)> = None;
        let mut twin = false;
        for earlier in &order[..k] {
            match parts(sc, earlier) {
                None => twin = true,
                Some(y) if best.is_none_or(|(b, _)| y > b) => best = Some((y, earlier)),
                Some(_) => {}
            }
        }
        let Some((year, from)) = best.filter(|_| !twin) else {
            continue;
        };
        match out.iter_mut().find(|d| d.year == year && d.from == from) {
            Some(d) => d.scenarios.push((*sc).to_owned()),
            None => out.push(Departure {
                year,
                from: from.to_owned(),
                scenarios: vec![(*sc).to_owned()],
            }),
        }
    }
    out.sort_by_key(|d| d.year);
    out
}

/// The source line of a comparison's charts: the version drawing them (a comparison folder
/// keeps no run.json) and the scenarios compared.
fn compare_source(scenario: &str, reference: &str) -> String {
    format!(
        "Model: tradeflow {}, scenario {scenario} against {reference} (tradeflow compare). Data: as each scenario's run (see its run.json).",
        env!("CARGO_PKG_VERSION")
    )
}

/// Legend labels of scenarios: their descriptions cut to this many characters.
const LABEL_CHARS: usize = 90;

/// A policy year lists at most this many of the instruments that start or end in it.
const POLICY_LABELS: usize = 1;

/// The scenarios compared and their instruments.
type About = (Vec<ScenarioRow>, Vec<InstrumentRow>);

/// The scenarios compared and their instruments (`scenarios.csv`,
/// `scenario_instruments.csv`), or `None` for a folder written before they were.
fn compare_about(folder: &Folder) -> Result<Option<About>, PlotError> {
    if !folder.has("scenarios.csv") || !folder.has("scenario_instruments.csv") {
        return Ok(None);
    }
    let rows: Vec<ScenarioRow> = folder.csv(
        "scenarios.csv",
        "",
        &["scenario", "description", "reference"],
        &["base_year", "horizon", "instruments"],
        &[],
    )?;
    let instruments: Vec<InstrumentRow> = match folder.csv(
        "scenario_instruments.csv",
        "",
        &["scenario", "label", "start", "end", "in_reference"],
        &["start", "end"],
        &[],
    ) {
        Ok(rows) => rows,
        // A comparison whose scenarios have no instrument at all: header only, or nothing.
        Err(PlotError::Empty { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Some((rows, instruments)))
}

/// The years instruments the reference lacks start or end, each with what happens, in
/// year order: the instruments' labels (`End: ` before an ending), the same label once, at
/// most [`POLICY_LABELS`] of them and how many more. Output growth (`growth`: an economy's
/// reported GDP) is the world the policies act in, not a policy, and marks no year.
fn policy_years(instruments: &[InstrumentRow]) -> Vec<PolicyYear> {
    let mut by_year: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for ins in instruments
        .iter()
        .filter(|i| !i.in_reference && i.kind != "growth")
    {
        let mut add = |year: i32, label: String| {
            let labels = by_year.entry(year).or_default();
            if !labels.contains(&label) {
                labels.push(label);
            }
        };
        add(ins.start, ins.label.clone());
        if let Some(end) = ins.end {
            add(end, format!("End: {}", ins.label));
        }
    }
    by_year
        .into_iter()
        .map(|(year, labels)| {
            let shown: Vec<String> = labels
                .iter()
                .take(POLICY_LABELS)
                .map(|l| shorten(l, 64))
                .collect();
            let mut what = shown.join("; ");
            if labels.len() > POLICY_LABELS {
                what.push_str(&format!(" (and {} more)", labels.len() - POLICY_LABELS));
            }
            PolicyYear { year, what }
        })
        .collect()
}

/// The reference of a comparison folder: the `reference` of `differences.csv` (`None` when
/// the folder has no such file, or it has no rows: one scenario compared).
fn compare_reference(folder: &Folder) -> Result<Option<String>, PlotError> {
    if !folder.has("differences.csv") {
        return Ok(None);
    }
    match folder.csv::<DifferenceRow>(
        "differences.csv",
        "",
        &["reference"],
        &["value", "reference_value", "difference", "difference_pct"],
        &[],
    ) {
        Ok(rows) => Ok(rows.into_iter().next().map(|r| r.reference)),
        Err(PlotError::Empty { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One flow of a comparison: scenario, year, exporter, importer, value.
struct ScenarioCell {
    scenario: String,
    year: i32,
    exporter: String,
    importer: String,
    value: f64,
}

fn scenario_heatmaps(
    folder: &Folder,
    scenarios: &[String],
    year: i32,
    reference: Option<&str>,
) -> Result<Vec<ChangeHeatmap>, PlotError> {
    let finals: Vec<FinalFlowRow> = folder.csv(
        "final_flows.csv",
        "",
        &[
            "scenario",
            "year",
            "exporter",
            "importer",
            "final_destination",
        ],
        &["final_destination"],
        &["final_destination"],
    )?;
    let finals: Vec<ScenarioCell> = finals
        .into_iter()
        .map(|r| ScenarioCell {
            scenario: r.scenario,
            year: r.year,
            exporter: r.exporter,
            importer: r.importer,
            value: r.final_destination,
        })
        .collect();
    let mut out = scenario_heatmaps_of(
        folder,
        ("final_flows.csv", Measure::FinalDestination),
        &finals,
        scenarios,
        year,
        reference,
    )?;
    if folder.has("recorded_flows.csv") {
        let recorded: Vec<RecordedFlowRow> = folder.csv(
            "recorded_flows.csv",
            "",
            &[
                "scenario", "year", "exporter", "importer", "reporter", "recorded",
            ],
            &["recorded"],
            &["recorded"],
        )?;
        let cells: Vec<ScenarioCell> = recorded
            .into_iter()
            .filter(|r| r.reporter == r.exporter)
            .map(|r| ScenarioCell {
                scenario: r.scenario,
                year: r.year,
                exporter: r.exporter,
                importer: r.importer,
                value: r.recorded,
            })
            .collect();
        if !cells.is_empty() {
            // Beside each final-destination heatmap, its recorded one.
            let recorded = scenario_heatmaps_of(
                folder,
                ("recorded_flows.csv", Measure::RecordedByExporter),
                &cells,
                scenarios,
                year,
                reference,
            )?;
            let finals = std::mem::take(&mut out);
            for (a, b) in finals.into_iter().zip(recorded) {
                out.push(a);
                out.push(b);
            }
        }
    }
    Ok(out)
}

fn scenario_heatmaps_of(
    folder: &Folder,
    (file, measure): (&str, Measure),
    rows: &[ScenarioCell],
    scenarios: &[String],
    year: i32,
    reference: Option<&str>,
) -> Result<Vec<ChangeHeatmap>, PlotError> {
    let reference = match reference {
        Some(r) if scenarios.iter().any(|s| s == r) => r.to_owned(),
        Some(r) => {
            return Err(PlotError::Option(format!(
                "--reference {r}: not a scenario of {} (it has: {})",
                folder.path("compare.csv").display(),
                scenarios.join(", ")
            )))
        }
        None => match scenarios.first() {
            Some(s) => s.clone(),
            None => return Ok(Vec::new()),
        },
    };
    let mut economies: Vec<String> = Vec::new();
    for r in rows {
        for c in [&r.exporter, &r.importer] {
            if !economies.contains(c) {
                economies.push(c.clone());
            }
        }
    }
    let n = economies.len();
    let matrix = |scenario: &str| {
        let mut m = vec![vec![None; n]; n];
        for r in rows
            .iter()
            .filter(|r| r.scenario == scenario && r.year == year)
        {
            let i = economies.iter().position(|e| *e == r.exporter);
            let j = economies.iter().position(|e| *e == r.importer);
            if let (Some(i), Some(j)) = (i, j) {
                m[i][j] = Some(r.value);
            }
        }
        m
    };
    let base = matrix(&reference);
    if base.iter().flatten().all(Option::is_none) {
        return Err(PlotError::Content {
            path: folder.path(file),
            message: format!("no rows for scenario `{reference}` in {year}"),
        });
    }
    Ok(scenarios
        .iter()
        .filter(|s| **s != reference)
        .map(|s| ChangeHeatmap {
            measure,
            source: compare_source(s, &reference),
            comparing: Comparing::Scenarios { year },
            from: reference.clone(),
            to: s.clone(),
            economies: economies.clone(),
            from_values: base.clone(),
            to_values: matrix(s),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn events_are_the_instruments_run_json_calls_sanctions() {
        // `sanction` decides where it is written; a file from before it was recorded falls
        // back to the kinds that were sanctions then (`route_cost`).
        let run = r#"{"scenario": {"name": "s", "economies": ["A", "B"], "dynamics": {
            "sectors": [{"name": "all"}], "instruments": [
            {"label": "w", "start": 2022, "end": null, "effect": {"effect": "wedge", "sanction": false}},
            {"label": "d", "start": 2023, "end": 2025, "effect": {"effect": "demand", "sanction": true}},
            {"label": "old", "start": 2024, "end": null, "effect": {"effect": "route_cost"}}]}},
            "years": [2021, 2030]}"#;
        let folder = Folder::from_files(Path::new("out"), &[("run.json", run.into())]);
        let s = setup(&folder, folder.run_json().unwrap()).unwrap();
        let events: Vec<(i32, &str)> = s
            .events
            .iter()
            .map(|e| (e.year, e.label.as_str()))
            .collect();
        assert_eq!(events, [(2023, "d"), (2025, "End: d"), (2024, "old")]);
    }
}
