//! Targets chosen from the observed data: `[[calibration.select]]` entries, each turned
//! once into explicit targets ([`Target`]) with the panel line and source of every figure.
//!
//! A panel selector picks rows of the scenario's panel (`[data] panel`, read by
//! [`crate::data::panel::Panel`]) by link, reporter, year, product and kind, converts each
//! figure to the scenario's unit through `[data] rates` ([`crate::data::panel::Rates`], as
//! the chart of observed against modelled flows does) and targets the model series of that
//! link as that reporter records it ([`panel_series`]). An aggregate selector picks rows of
//! an aggregates table (`id, year, value, unit, definition, source`) by id and targets the
//! one model series it names. Every figure carries its stated uncertainty `sd` (of its log).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::panel::{Flow, Kind, Panel, Rates, Unit, TOTAL};
use crate::scenario::{DataSource, Scenario};

/// `[[calibration.select]]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelect {
    /// `EXP-IMP` links; either side an economy, a group of `[groups]` or `*` (any economy).
    #[serde(default)]
    pub links: Option<Vec<String>>,
    /// `exporter`, `importer` or reporter codes (default both records).
    #[serde(default)]
    pub reporters: Option<Vec<String>>,
    #[serde(default)]
    pub years: Option<Vec<i32>>,
    /// Panel `product` values (default `["total"]`).
    #[serde(default)]
    pub products: Option<Vec<String>>,
    /// Panel `kind` values (default `["reported"]`).
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// The stated uncertainty of each figure's log (its weight is `1 / sd^2`).
    #[serde(default)]
    pub sd: Option<f64>,
    /// Panel lines (numbers) or `EXP-IMP.REP.YEAR` keys left out.
    #[serde(default)]
    pub exclude: Vec<toml::Value>,
    /// Why: one text for all of `exclude`, or one per entry.
    #[serde(default)]
    pub exclude_reason: Option<toml::Value>,
    /// Figures whose series the model does not have are listed, not an error.
    #[serde(default)]
    pub skip_missing: bool,
    /// Convert other currencies at this year's rates (default each figure's own year).
    #[serde(default)]
    pub rate_year: Option<i32>,
    /// Aggregate ids (of `file`, default `aggregates.csv` beside the panel).
    #[serde(default)]
    pub aggregates: Option<Vec<String>>,
    /// The model series the aggregates are figures of.
    #[serde(default)]
    pub series: Option<String>,
    /// The aggregates table, relative to the scenario file.
    #[serde(default)]
    pub file: Option<String>,
}

/// One target of the fit, explicit or selected.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub series: String,
    pub year: Option<i32>,
    /// The observed figure, in the series' unit.
    pub value: f64,
    /// `1 / sd^2`, or the weight given.
    pub weight: f64,
    /// The stated uncertainty of the log figure, when given.
    pub sd: Option<f64>,
    pub source: String,
    /// Whose record the figure is (a code), empty when the series is no recorded flow.
    pub reporter: String,
    /// Where it came from: `calibration.targets[3]` or `calibration.select[0]` with the
    /// panel's line.
    pub origin: String,
}

/// What the selectors chose, and what they left out with the reason.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub targets: Vec<Target>,
    /// `calibration.select[0]: panel.csv line 17 (...): reason`.
    pub left_out: Vec<String>,
}

/// A problem with a selector: (field, message).
pub type SelectError = (String, String);

/// The model series of a panel figure: `EXP-IMP.recorded.REP` for product `total`, and
/// `EXP-IMP.recorded.REP.PRODUCT` for a product group (a name the model gives only if it
/// has that group's series; `tradeflow series FILE` lists them).
pub fn panel_series(exporter: &str, importer: &str, reporter: &str, product: &str) -> String {
    if product == TOTAL {
        format!("{exporter}-{importer}.recorded.{reporter}")
    } else {
        format!("{exporter}-{importer}.recorded.{reporter}.{product}")
    }
}

/// The economies a side of a link names: a code, a group or `*`.
fn side(s: &Scenario, name: &str) -> Option<Vec<String>> {
    if name == "*" {
        return Some(s.economies().to_vec());
    }
    if let Some(g) = s.groups().get(name) {
        return Some(g.clone());
    }
    (s.economies().iter().any(|c| c == name) || name == crate::data::panel::WORLD_CODE)
        .then(|| vec![name.to_owned()])
}

/// An exclusion: a panel line or a `EXP-IMP.REP.YEAR` key.
#[derive(Debug, Clone, PartialEq)]
enum Exclusion {
    Line(u64),
    Key {
        exporter: String,
        importer: String,
        reporter: String,
        year: i32,
    },
}

fn parse_key(s: &str) -> Option<Exclusion> {
    let (rest, year) = s.rsplit_once('.')?;
    let (pair, reporter) = rest.rsplit_once('.')?;
    let (exporter, importer) = pair.split_once('-')?;
    Some(Exclusion::Key {
        exporter: exporter.to_owned(),
        importer: importer.to_owned(),
        reporter: reporter.to_owned(),
        year: year.parse().ok()?,
    })
}

/// The exclusions of selector `field` with their reasons.
fn exclusions(raw: &RawSelect, field: &str) -> Result<Vec<(Exclusion, String)>, SelectError> {
    let mut out = Vec::new();
    if raw.exclude.is_empty() {
        if raw.exclude_reason.is_some() {
            return Err((
                format!("{field}.exclude_reason"),
                "gives a reason but `exclude` names nothing".into(),
            ));
        }
        return Ok(out);
    }
    let reasons: Vec<String> = match &raw.exclude_reason {
        None => {
            return Err((
                format!("{field}.exclude_reason"),
                "every exclusion needs its reason: give `exclude_reason` (one text, or one per entry of `exclude`)".into(),
            ))
        }
        Some(toml::Value::String(r)) => vec![r.clone(); raw.exclude.len()],
        Some(toml::Value::Array(a)) => {
            let mut v = Vec::new();
            for (j, r) in a.iter().enumerate() {
                match r.as_str() {
                    Some(s) => v.push(s.to_owned()),
                    None => {
                        return Err((
                            format!("{field}.exclude_reason[{j}]"),
                            "must be a text".into(),
                        ))
                    }
                }
            }
            if v.len() != raw.exclude.len() {
                return Err((
                    format!("{field}.exclude_reason"),
                    format!(
                        "gives {} reasons for {} exclusions: give one text, or one per entry",
                        v.len(),
                        raw.exclude.len()
                    ),
                ));
            }
            v
        }
        Some(_) => {
            return Err((
                format!("{field}.exclude_reason"),
                "must be a text or a list of texts".into(),
            ))
        }
    };
    for (j, (e, reason)) in raw.exclude.iter().zip(reasons).enumerate() {
        let at = format!("{field}.exclude[{j}]");
        if reason.trim().is_empty() {
            return Err((
                format!("{field}.exclude_reason"),
                "a reason is empty".into(),
            ));
        }
        let x = match e {
            toml::Value::Integer(n) if *n > 0 => Exclusion::Line(*n as u64),
            toml::Value::String(s) => parse_key(s).ok_or_else(|| {
                (
                    at.clone(),
                    format!(
                        "`{s}` is not a panel line or a key `EXP-IMP.REP.YEAR` (`EU-RUS.EU.2022`)"
                    ),
                )
            })?,
            other => {
                return Err((
                    at,
                    format!("`{other}` is not a panel line or a key `EXP-IMP.REP.YEAR`"),
                ))
            }
        };
        out.push((x, reason));
    }
    Ok(out)
}

/// Every target the selectors of `select` choose on scenario `s` (read from `file`), each
/// checked against the model's `outputs` (series, year): a figure whose series the model
/// lacks is an error naming the panel line, or listed when the selector says
/// `skip_missing`.
pub fn select(
    s: &Scenario,
    file: &Path,
    select: &[RawSelect],
    outputs: &[(String, Option<i32>, f64)],
) -> Result<Selection, SelectError> {
    let mut sel = Selection::default();
    if select.is_empty() {
        return Ok(sel);
    }
    let have: BTreeSet<(&str, Option<i32>)> =
        outputs.iter().map(|(n, y, _)| (n.as_str(), *y)).collect();
    let (panel_path, rates_path) = match s.data_source() {
        DataSource::World { panel, rates, .. } => (panel.clone(), rates.clone()),
        _ => (None, None),
    };
    let to: Unit = s.unit().parse().map_err(|e| {
        (
            "calibration.select".to_owned(),
            format!("the scenario's unit (`[data] unit`) cannot take observed figures: {e}"),
        )
    })?;
    let rates = match &rates_path {
        Some(p) => Rates::read(p).map_err(|e| ("data.rates".to_owned(), e.to_string()))?,
        None => Rates::none(),
    };
    let mut panel: Option<Panel> = None;
    for (k, raw) in select.iter().enumerate() {
        let field = format!("calibration.select[{k}]");
        let sd = raw.sd.ok_or_else(|| {
            (
                format!("{field}.sd"),
                "a selector needs `sd`, the stated uncertainty of each figure's log".to_owned(),
            )
        })?;
        if !(sd.is_finite() && sd > 0.0) {
            return Err((format!("{field}.sd"), format!("must be positive, got {sd}")));
        }
        if raw.aggregates.is_some() {
            aggregates(
                s,
                file,
                raw,
                &field,
                sd,
                &panel_path,
                &rates,
                &to,
                &have,
                &mut sel,
            )?;
            continue;
        }
        if let Some(key) = [
            ("series", raw.series.is_some()),
            ("file", raw.file.is_some()),
        ]
        .iter()
        .find(|(_, given)| *given)
        {
            return Err((
                format!("{field}.{}", key.0),
                "goes with `aggregates` (a panel selector targets each figure's own series)".into(),
            ));
        }
        let Some(path) = &panel_path else {
            return Err((
                field,
                "selects from the panel, but `[data]` names no `panel`".into(),
            ));
        };
        if panel.is_none() {
            panel = Some(Panel::read(path).map_err(|e| ("data.panel".to_owned(), e.to_string()))?);
        }
        let Some(p) = panel.as_ref() else {
            continue;
        };
        panel_selector(s, p, raw, &field, sd, &rates, &to, &have, &mut sel)?;
    }
    Ok(sel)
}

/// A file's name for messages and sources.
fn short(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

#[expect(clippy::too_many_arguments)]
fn panel_selector(
    s: &Scenario,
    panel: &Panel,
    raw: &RawSelect,
    field: &str,
    sd: f64,
    rates: &Rates,
    to: &Unit,
    have: &BTreeSet<(&str, Option<i32>)>,
    sel: &mut Selection,
) -> Result<(), SelectError> {
    let links = raw.links.as_ref().ok_or_else(|| {
        (
            format!("{field}.links"),
            "a selector needs `links` (`[\"CHN-KGZ\", \"EU-RUS\"]`) or `aggregates`".to_owned(),
        )
    })?;
    if links.is_empty() {
        return Err((format!("{field}.links"), "names no link".into()));
    }
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    for (j, l) in links.iter().enumerate() {
        let at = format!("{field}.links[{j}]");
        let (a, b) = l.split_once('-').ok_or_else(|| {
            (
                at.clone(),
                format!("`{l}` is not a link `EXP-IMP` (`CHN-KGZ`, `EU-*`, `COALITION-RUS`)"),
            )
        })?;
        let unknown = |x: &str| {
            (
                at.clone(),
                format!("`{x}` in `{l}` is not an economy, a group of `[groups]` or `*`"),
            )
        };
        let ea = side(s, a).ok_or_else(|| unknown(a))?;
        let eb = side(s, b).ok_or_else(|| unknown(b))?;
        for x in &ea {
            for y in &eb {
                if x != y {
                    pairs.insert((x.clone(), y.clone()));
                }
            }
        }
    }
    let reporters = raw
        .reporters
        .clone()
        .unwrap_or_else(|| vec!["exporter".into(), "importer".into()]);
    for (j, r) in reporters.iter().enumerate() {
        let ok = r == "exporter"
            || r == "importer"
            || s.economies().contains(r)
            || !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err((
                format!("{field}.reporters[{j}]"),
                format!("`{r}` is not `exporter`, `importer` or a reporter code"),
            ));
        }
    }
    let years = raw.years.as_ref().ok_or_else(|| {
        (
            format!("{field}.years"),
            "a selector needs `years` (`[2022, 2023]`)".to_owned(),
        )
    })?;
    if years.is_empty() {
        return Err((format!("{field}.years"), "names no year".into()));
    }
    let products = raw
        .products
        .clone()
        .unwrap_or_else(|| vec![TOTAL.to_owned()]);
    let kinds: Vec<Kind> = match &raw.kinds {
        None => vec![Kind::Reported],
        Some(ks) => ks
            .iter()
            .enumerate()
            .map(|(j, k)| Kind::from_str(k).map_err(|m| (format!("{field}.kinds[{j}]"), m)))
            .collect::<Result<_, _>>()?,
    };
    let excl = exclusions(raw, field)?;
    let mut used = vec![false; excl.len()];
    let name = short(&panel.path);
    let mut chosen = 0usize;
    let mut seen: Vec<(String, i32, u64)> = Vec::new();
    for (line, row) in &panel.rows {
        if !years.contains(&row.year)
            || !products.contains(&row.product)
            || !kinds.contains(&row.kind)
            || !pairs.contains(&(row.exporter.clone(), row.importer.clone()))
        {
            continue;
        }
        let own = matches!(row.flow, Flow::Export | Flow::Import);
        let by = |r: &String| match r.as_str() {
            "exporter" => row.is_exporter_record(),
            "importer" => row.is_importer_record(),
            code => own && row.reporter == code,
        };
        if !reporters.iter().any(by) {
            continue;
        }
        chosen += 1;
        let here = format!(
            "{field}: {name} line {line} ({}->{} {} recorded by {}, {})",
            row.exporter, row.importer, row.year, row.reporter, row.product
        );
        let hit = excl.iter().position(|(x, _)| match x {
            Exclusion::Line(n) => n == line,
            Exclusion::Key {
                exporter,
                importer,
                reporter,
                year,
            } => {
                *exporter == row.exporter
                    && *importer == row.importer
                    && *reporter == row.reporter
                    && *year == row.year
            }
        });
        if let Some(j) = hit {
            used[j] = true;
            sel.left_out
                .push(format!("{here}: excluded: {}", excl[j].1));
            continue;
        }
        let series = panel_series(&row.exporter, &row.importer, &row.reporter, &row.product);
        if let Some((_, _, first)) = seen.iter().find(|(n, y, _)| *n == series && *y == row.year) {
            sel.left_out.push(format!(
                "{here}: the same figure as line {first} (another source)"
            ));
            continue;
        }
        if !have.contains(&(series.as_str(), Some(row.year))) {
            let why = format!("the model has no series `{series}` in {}", row.year);
            if raw.skip_missing {
                sel.left_out.push(format!("{here}: {why}"));
                continue;
            }
            return Err((
                format!("{field}.links"),
                format!("{name} line {line}: {why} (`tradeflow series FILE` lists them; `skip_missing = true` lists such figures instead)"),
            ));
        }
        let rate_year = raw.rate_year.unwrap_or(row.year);
        let value = rates
            .convert(row.value, &row.unit, to, rate_year)
            .map_err(|e| (format!("{field}.links"), format!("{name} line {line}: {e}")))?;
        if !(value > 0.0 && value.is_finite()) {
            let why = format!("the figure is {value}: log deviations need positive figures");
            if raw.skip_missing {
                sel.left_out.push(format!("{here}: {why}"));
                continue;
            }
            return Err((
                format!("{field}.exclude"),
                format!("{name} line {line}: {why} (exclude it, with its reason)"),
            ));
        }
        seen.push((series.clone(), row.year, *line));
        let converted = if row.unit.currency == to.currency {
            String::new()
        } else {
            format!(
                ", {} {} converted at {rate_year} rates",
                row.value, row.unit
            )
        };
        sel.targets.push(Target {
            series,
            year: Some(row.year),
            value,
            weight: 1.0 / (sd * sd),
            sd: Some(sd),
            source: format!("{}, {name} line {line}{converted}", row.source),
            reporter: row.reporter.clone(),
            origin: format!("{field} ({name} line {line})"),
        });
    }
    if chosen == 0 {
        return Err((
            field.to_owned(),
            format!("selects no row of {name} (links, reporters, years, products, kinds)"),
        ));
    }
    if let Some(j) = used.iter().position(|u| !u) {
        return Err((
            format!("{field}.exclude[{j}]"),
            "excludes no figure this selector selects".into(),
        ));
    }
    Ok(())
}

/// One aggregate: (line, year, value, unit, definition, source).
type Aggregate = (u64, i32, f64, String, String, String);

fn read_aggregates(
    path: &Path,
    ids: &[String],
    field: &str,
) -> Result<Vec<(String, Aggregate)>, SelectError> {
    let text = crate::input::read_text(path, crate::input::InputKind::Data)
        .map_err(|e| (format!("{field}.file"), e.to_string()))?;
    let cerr = |e: csv::Error| {
        (
            format!("{field}.file"),
            format!("{}: not a readable CSV table: {e}", path.display()),
        )
    };
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(cerr)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    const COLS: [&str; 6] = ["id", "year", "value", "unit", "definition", "source"];
    let mut cols = [0usize; 6];
    for (k, c) in COLS.iter().enumerate() {
        cols[k] = header.iter().position(|h| h == c).ok_or_else(|| {
            (
                format!("{field}.file"),
                format!("{}: no column `{c}` (an aggregates table has id, year, value, unit, definition, source)", path.display()),
            )
        })?;
    }
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(cerr)? {
        let line = rec.position().map_or(0, |p| p.line());
        let f = |k: usize| rec.get(cols[k]).unwrap_or("").trim().to_owned();
        let id = f(0);
        if !ids.contains(&id) {
            continue;
        }
        let bad = |what: &str| {
            (
                format!("{field}.aggregates"),
                format!("{} line {line}: `{}` is not {what}", path.display(), id),
            )
        };
        let year: i32 = f(1).parse().map_err(|_| bad("a row with a year"))?;
        let value: f64 = f(2).parse().map_err(|_| bad("a row with a number"))?;
        out.push((id, (line, year, value, f(3), f(4), f(5))));
    }
    Ok(out)
}

#[expect(clippy::too_many_arguments)]
fn aggregates(
    s: &Scenario,
    file: &Path,
    raw: &RawSelect,
    field: &str,
    sd: f64,
    panel: &Option<PathBuf>,
    rates: &Rates,
    to: &Unit,
    have: &BTreeSet<(&str, Option<i32>)>,
    sel: &mut Selection,
) -> Result<(), SelectError> {
    let _ = s;
    for (key, given) in [
        ("links", raw.links.is_some()),
        ("reporters", raw.reporters.is_some()),
        ("years", raw.years.is_some()),
        ("products", raw.products.is_some()),
        ("kinds", raw.kinds.is_some()),
        ("exclude", !raw.exclude.is_empty()),
    ] {
        if given {
            return Err((
                format!("{field}.{key}"),
                "selects panel rows: an `aggregates` selector names its ids and `series` only"
                    .into(),
            ));
        }
    }
    let ids = raw.aggregates.clone().unwrap_or_default();
    if ids.is_empty() {
        return Err((format!("{field}.aggregates"), "names no aggregate".into()));
    }
    let series = raw.series.clone().ok_or_else(|| {
        (
            format!("{field}.series"),
            "an `aggregates` selector needs the model `series` its figures are of (`RUS.imports.final`)".to_owned(),
        )
    })?;
    let path = match (&raw.file, panel) {
        (Some(f), _) => file.parent().unwrap_or(Path::new("")).join(f),
        (None, Some(p)) => p.parent().unwrap_or(Path::new("")).join("aggregates.csv"),
        (None, None) => {
            return Err((
                format!("{field}.file"),
                "`[data]` names no panel to find `aggregates.csv` beside: give `file`".into(),
            ))
        }
    };
    let rows = read_aggregates(&path, &ids, field)?;
    let name = short(&path);
    for (j, id) in ids.iter().enumerate() {
        let at = format!("{field}.aggregates[{j}]");
        let Some((_, (line, year, value, unit, definition, source))) =
            rows.iter().find(|(i, _)| i == id)
        else {
            return Err((at, format!("no aggregate `{id}` in {}", path.display())));
        };
        let here = format!("{field}: {name} line {line} ({id})");
        let u: Unit = unit.parse().map_err(|_| {
            (
                at.clone(),
                format!("{name} line {line}: `{id}` is in `{unit}` ({definition}): only figures in a currency have a model series to match"),
            )
        })?;
        if !have.contains(&(series.as_str(), Some(*year))) {
            let why = format!("the model has no series `{series}` in {year}");
            if raw.skip_missing {
                sel.left_out.push(format!("{here}: {why}"));
                continue;
            }
            return Err((
                format!("{field}.series"),
                format!("{name} line {line}: {why}"),
            ));
        }
        let rate_year = raw.rate_year.unwrap_or(*year);
        let v = rates
            .convert(*value, &u, to, rate_year)
            .map_err(|e| (at.clone(), format!("{name} line {line}: {e}")))?;
        if !(v > 0.0 && v.is_finite()) {
            return Err((
                at,
                format!(
                    "{name} line {line}: the figure is {v}: log deviations need positive figures"
                ),
            ));
        }
        sel.targets.push(Target {
            series: series.clone(),
            year: Some(*year),
            value: v,
            weight: 1.0 / (sd * sd),
            sd: Some(sd),
            source: format!("{source}, {name} line {line} ({id}: {definition})"),
            reporter: String::new(),
            origin: format!("{field} ({name} line {line})"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_of_panel_figures() {
        assert_eq!(
            panel_series("CHN", "KGZ", "KGZ", "total"),
            "CHN-KGZ.recorded.KGZ"
        );
        assert_eq!(
            panel_series("EU", "RUS", "EU", "chpl"),
            "EU-RUS.recorded.EU.chpl"
        );
    }

    #[test]
    fn exclusion_keys() {
        assert_eq!(
            parse_key("EU-RUS.EU.2022"),
            Some(Exclusion::Key {
                exporter: "EU".into(),
                importer: "RUS".into(),
                reporter: "EU".into(),
                year: 2022
            })
        );
        assert_eq!(parse_key("EU-RUS.2022"), None);
        let raw = RawSelect {
            exclude: vec![toml::Value::Integer(17)],
            ..RawSelect::default()
        };
        let e = exclusions(&raw, "calibration.select[0]").unwrap_err();
        assert_eq!(e.0, "calibration.select[0].exclude_reason");
    }
}
