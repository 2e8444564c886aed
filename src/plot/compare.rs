//! Scenarios side by side: one series across scenarios over years (lines), and one year's
//! values of a few series across scenarios (grouped bars). A scenario keeps its colour in
//! every comparison chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::page::{
    min_max, span, value_axis, year_order, year_range, zoomed_text, Page, Words, BOTTOM, TOP,
};
use super::style::{
    fmt_num, polyline, scenario_colour, scenario_open, text_size, wrap, years_text, Swatch,
    ValueAxis, TEXT,
};
use super::{csv_of, PlotError};

/// The unit of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Values in USD bn.
    UsdBn,
    /// A share in [0, 1], shown in percent.
    Share,
    /// Already a percentage (a counterfactual's `welfare_change_pct`).
    Percent,
}

impl Unit {
    /// The unit of a series (`compare.csv`, `montecarlo.csv`, a target or a sweep
    /// output), from its name.
    pub fn of_series(name: &str) -> Self {
        if name.ends_with("_pct") {
            Unit::Percent
        } else if name.contains("share") {
            Unit::Share
        } else {
            Unit::UsdBn
        }
    }
    pub(crate) fn label(self) -> &'static str {
        match self {
            Unit::UsdBn => "USD bn",
            Unit::Share | Unit::Percent => "%",
        }
    }
    /// The unit at the start of a sentence ("USD bn by year", "Percent by year").
    pub(crate) fn words(self) -> &'static str {
        match self {
            Unit::UsdBn => "USD bn",
            Unit::Share | Unit::Percent => "Percent",
        }
    }
    /// Factor from the series' values to the values shown.
    pub(crate) fn scale(self) -> f64 {
        match self {
            Unit::UsdBn | Unit::Percent => 1.0,
            Unit::Share => 100.0,
        }
    }
}

/// One series across scenarios over years.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioLines {
    pub series: String,
    pub unit: Unit,
    pub years: Vec<i32>,
    /// Each scenario's values, one per year (`None` where it has no value that year).
    /// The position decides the colour.
    pub scenarios: Vec<(String, Vec<Option<f64>>)>,
    /// Each scenario's description (`scenarios.csv`) for the table under the chart, in the
    /// order of `scenarios`; a scenario without one is named by its id.
    pub labels: Vec<String>,
    /// The scenario the others are measured against, if any.
    pub reference: Option<String>,
    /// Policy years: the years instruments the reference lacks start or end, in year order.
    pub policy_years: Vec<PolicyYear>,
    /// The policy years were inferred from where the paths part (a comparison folder written
    /// before `scenario_instruments.csv` was), not read from the instruments.
    pub policy_inferred: bool,
}

/// A policy year and what happens in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyYear {
    pub year: i32,
    /// What starts or ends, in words (`Export controls of the EU-27 …, and 22 more`).
    pub what: String,
}

/// A policy year inferred from the paths: the year `scenarios` part from the path of
/// scenario `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub year: i32,
    pub from: String,
    pub scenarios: Vec<String>,
}

impl Departure {
    /// As a policy year: which scenarios part from which.
    pub fn policy_year(&self) -> PolicyYear {
        PolicyYear {
            year: self.year,
            what: format!("{} from {}", self.scenarios.join(", "), self.from),
        }
    }
}

/// The legend label of a scenario: its description cut at a word before `max` characters
/// (with `…`), or its id when it has no description.
pub fn scenario_label(id: &str, description: &str, max: usize) -> String {
    let d = description.trim().trim_end_matches('.');
    if d.is_empty() {
        return id.to_owned();
    }
    shorten(d, max)
}

/// `s` cut at a word boundary to at most `max` characters, `…` marking the cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    for w in s.split_whitespace() {
        let n = out.chars().count() + usize::from(!out.is_empty()) + w.chars().count();
        if n + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        out = s.chars().take(max.saturating_sub(1)).collect();
    }
    format!("{}…", out.trim_end_matches([',', ':', ' ']))
}

/// A year's values of a few series across scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioBars {
    pub year: i32,
    pub unit: Unit,
    pub series: Vec<String>,
    pub scenarios: Vec<String>,
    /// Each scenario's legend label, as [`ScenarioLines::labels`].
    pub labels: Vec<String>,
    /// `values[series][scenario]`.
    pub values: Vec<Vec<Option<f64>>>,
    /// Series of the same kind without a bar (the smaller hubs' re-exports), named in the
    /// footnote.
    pub left_out: Vec<String>,
}

/// The label of scenario `k`: its entry in `labels`, else its id.
fn label_of<'a>(labels: &'a [String], ids: &'a [String], k: usize) -> &'a str {
    labels
        .get(k)
        .filter(|l| !l.is_empty())
        .or_else(|| ids.get(k))
        .map_or("", String::as_str)
}

#[derive(Serialize)]
struct Row<'a> {
    scenario: &'a str,
    series: &'a str,
    year: i32,
    value: Option<f64>,
}

impl ScenarioLines {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let mut rows = Vec::new();
        for (name, values) in &self.scenarios {
            for (i, &year) in self.years.iter().enumerate() {
                rows.push(Row {
                    scenario: name,
                    series: &self.series,
                    year,
                    value: values.get(i).copied().flatten(),
                });
            }
        }
        csv_of(&rows, "scenario lines")
    }
}

impl ScenarioBars {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let mut rows = Vec::new();
        for (s, series) in self.series.iter().enumerate() {
            for (k, scenario) in self.scenarios.iter().enumerate() {
                rows.push(Row {
                    scenario,
                    series,
                    year: self.year,
                    value: self.values.get(s).and_then(|v| v.get(k)).copied().flatten(),
                });
            }
        }
        csv_of(&rows, "scenario bars")
    }
}

/// Capitalises the first letter (series names start in lower case).
pub(crate) fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Whether two series are equal (`tol` 0) or within `tol` of each other everywhere.
fn close(a: &[Option<f64>], b: &[Option<f64>], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= tol.max(1e-9 * x.abs().max(y.abs()).max(1.0)),
            (None, None) => true,
            _ => false,
        })
}

/// Series names for the comparison charts' titles and labels: in words, economies by name
/// (`re-exports via Kyrgyzstan to Russia`).
pub(crate) fn display_named(name: &str) -> String {
    super::names::named_text(&crate::simulate::series::words(name))
}

/// Series names where room is short (row labels): in words, economies by short name
/// (`China→Kyrgyzstan recorded by China`, `re-exports via UAE to Russia`).
pub(crate) fn display_short(name: &str) -> String {
    super::names::short_text(&crate::simulate::series::words(name))
}

impl ScenarioLines {
    /// The value axis (in the values shown) and whether it is zoomed.
    fn axis(&self) -> (ValueAxis, bool) {
        let k = self.unit.scale();
        let values = self.scenarios.iter().flat_map(|(_, v)| v.iter().flatten());
        let (lo, hi) = min_max(values.map(|x| x * k));
        value_axis(lo, hi)
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (first, last) = span(&self.years).unwrap_or((0, 0));
        Words {
            title: format!(
                "{}: scenarios compared, {}",
                sentence(&display_named(&self.series)),
                years_text(first, last)
            ),
            subtitle: format!(
                "{} by year, one line per scenario; the table under the chart lists them by their {last} value, highest first. Shaded: the base year {first} (data); later years are the model's projection.{}{}",
                self.unit.label(),
                match (self.policy_years.is_empty(), self.policy_inferred) {
                    (true, _) => "",
                    (false, false) => " Grey vertical lines: policy years, where instruments the reference lacks start or end.",
                    (false, true) => " Grey vertical lines: policy years, where a scenario's path parts from another's (inferred: this comparison folder lists no instruments).",
                },
                zoomed_text(self.axis().1)
            ),
            note: format!(
                "Model: tradeflow {}, scenarios compared by tradeflow compare{}. Data: as each scenario's run (its run.json). Series `{}`; scenarios.csv and scenario_instruments.csv list the scenarios and their instruments.",
                env!("CARGO_PKG_VERSION"),
                self.reference.as_ref().map_or(String::new(), |r| format!(" against {r}")),
                self.series,
            ),
            note_lines: 2,
        }
    }

    /// The legend label of scenario `k`.
    fn label(&self, k: usize) -> String {
        let ids: Vec<String> = self.scenarios.iter().map(|(n, _)| n.clone()).collect();
        label_of(&self.labels, &ids, k).to_owned()
    }

    /// For each scenario, the label of an earlier one it equals (`true`) or is within `tol`
    /// of everywhere (`false`).
    fn twins(&self, tol: f64) -> Vec<Option<(String, bool)>> {
        (0..self.scenarios.len())
            .map(|s| {
                let values = &self.scenarios[s].1;
                self.scenarios[..s]
                    .iter()
                    .enumerate()
                    .find_map(|(k, (_, other))| {
                        if close(other, values, 0.0) {
                            Some((self.scenarios[k].0.clone(), true))
                        } else if close(other, values, tol) {
                            Some((self.scenarios[k].0.clone(), false))
                        } else {
                            None
                        }
                    })
            })
            .collect()
    }
}

/// A scenario's legend label, naming the earlier scenario it coincides with.
fn twin_label(name: &str, twin: &Option<(String, bool)>) -> String {
    match twin {
        Some((t, true)) => format!("{name}, dashed: the same line as {t}"),
        Some((t, false)) => format!("{name}, dashed: within 0.5% of the axis of {t}"),
        None => name.to_owned(),
    }
}

/// One series across scenarios over years; scenarios identical to an earlier one are drawn
/// dashed on top and say so in the legend, so no line hides another unannounced.
pub(crate) fn draw_scenario_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioLines,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let order = year_order(&c.years);
    let years = span(&c.years).unwrap_or((0, 0));
    let k = c.unit.scale();
    let (axis, _) = c.axis();
    // Under the frame: the year axis, then the table of scenarios (one row each, two columns
    // from seven scenarios on), then the footnote.
    let columns = if c.scenarios.len() > 6 { 2 } else { 1 };
    let table_rows = c.scenarios.len().div_ceil(columns);
    let row_h = 27.0;
    let bottom = p.th.design(p.th.h - p.bottom) + 92.0 + row_h * table_rows as f64;
    let (f, legend) = p.value_frame(&axis, year_range(years.0, years.1), 400.0, bottom)?;
    // The first year of a comparison is the scenarios' base year (years start there).
    super::flows::shade_history(&p, &f, Some(years.0), years)?;
    p.year_axes(&f, &axis, c.unit.label(), years)?;
    let ms = p.th.bold(17.0, super::style::DARK_GREY);
    let mut marked: Vec<i32> = c.policy_years.iter().map(|d| d.year).collect();
    marked.dedup();
    for year in marked.iter().filter(|y| **y > years.0 && **y <= years.1) {
        let x = f.x(f64::from(*year));
        polyline(
            p.area,
            &p.th,
            vec![(x, f.b), (x, f.t)],
            super::style::GREY,
            2.0,
            false,
        )?;
        p.text(
            &year.to_string(),
            (x, f.t - p.px(4.0)),
            &ms,
            super::page::BOTTOM,
        )?;
    }
    // A scenario equal to an earlier one (or within half a percent of the axis everywhere)
    // is drawn dashed on top and named as such; the others are drawn last-first so that the
    // first scenario (the reference) shows where all share a path.
    let twins = c.twins(0.005 * (axis.hi - axis.lo) / k);
    let mut draw_order: Vec<usize> = (0..c.scenarios.len())
        .rev()
        .filter(|&s| twins[s].is_none())
        .collect();
    draw_order.extend((0..c.scenarios.len()).filter(|&s| twins[s].is_some()));
    let mut entries = Vec::new();
    for s in draw_order {
        let (_, values) = &c.scenarios[s];
        let name = &c.label(s);
        let colour = scenario_colour(s);
        let dashed = twins[s].is_some();
        let open = scenario_open(s);
        // Split at missing values.
        let mut runs: Vec<Vec<(i32, i32)>> = vec![Vec::new()];
        for &i in &order {
            match values.get(i).copied().flatten() {
                Some(v) => runs
                    .last_mut()
                    .map(|r| r.push((f.x(f64::from(c.years[i])), f.y(v * k))))
                    .unwrap_or(()),
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            if run.len() > 1 {
                polyline(p.area, &p.th, run.clone(), colour, 4.0, dashed)?;
            }
            if c.years.len() <= 20 {
                let r = p.px(if c.years.len() == 1 { 9.0 } else { 5.0 });
                for pt in run {
                    if open {
                        p.draw(&Circle::new(pt, r, WHITE.filled()))?;
                        let ring = ShapeStyle::from(&colour).stroke_width(p.px(2.0) as u32);
                        p.draw(&Circle::new(pt, r, ring))?;
                    } else {
                        p.draw(&Circle::new(pt, r, colour.filled()))?;
                    }
                }
            }
        }
        let end = order
            .iter()
            .rev()
            .find_map(|&i| values.get(i).copied().flatten());
        let id = &c.scenarios[s].0;
        // The description may be cut to the row's width; the id and the twin never are.
        let (label, suffix) = if name == id {
            (id.clone(), twin_label("", &twins[s]))
        } else {
            (name.clone(), twin_label(&format!(" ({id})"), &twins[s]))
        };
        entries.push((end, s, Swatch::Line { colour, dashed }, (label, suffix)));
    }
    entries.sort_by(|a, b| {
        b.0.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.0.unwrap_or(f64::NEG_INFINITY))
            .then(a.1.cmp(&b.1))
    });
    let entries: Vec<(Swatch, (String, String))> =
        entries.into_iter().map(|(_, _, s, l)| (s, l)).collect();
    scenario_table(&p, &f, &entries, columns, row_h)?;
    let y = f.t;
    if !c.policy_years.is_empty() {
        let heading = match (&c.reference, c.policy_inferred) {
            (Some(r), true) => format!("Policy years (where paths part; reference {r})"),
            (None, true) => "Policy years (where paths part)".to_owned(),
            (Some(r), false) => format!("Policy years (instruments {r} lacks)"),
            (None, false) => "Policy years".to_owned(),
        };
        // As many years as fit beside the frame, then how many more.
        let ls = p.th.legend();
        let text_w = legend.w - p.px(46.0);
        let mut marks: Vec<(Swatch, String)> = Vec::new();
        let mut h = p.px(40.0) * i32::from(!heading.is_empty());
        let grey = Swatch::Line {
            colour: super::style::GREY,
            dashed: false,
        };
        for (k, d) in c.policy_years.iter().enumerate() {
            let text = format!("{}: {}", d.year, d.what);
            let lines = wrap(p.area, &text, &ls, text_w)?.len().max(1) as i32;
            let need = p.px(27.0) * lines + p.px(10.0);
            if y + h + need + p.px(37.0) > f.b && k + 1 < c.policy_years.len() {
                let rest: Vec<String> = c.policy_years[k..]
                    .iter()
                    .map(|d| d.year.to_string())
                    .collect();
                marks.push((grey, format!("and {}", rest.join(", "))));
                break;
            }
            h += need;
            marks.push((grey, text));
        }
        p.legend(legend, y, &heading, &marks)?;
    }
    Ok(())
}

/// The scenarios under the chart, one row each (`columns` side by side), each with its
/// line's swatch and its description (cut to the row's width) and id.
fn scenario_table<DB: DrawingBackend>(
    p: &Page<DB>,
    f: &super::style::Frame,
    entries: &[(Swatch, (String, String))],
    columns: usize,
    row_h: f64,
) -> Result<(), PlotError> {
    let th = &p.th;
    let top = f.b + th.px(84.0);
    let x0 = th.px(40.0);
    let col_w = (th.w - th.px(80.0)) / columns.max(1) as i32;
    let rows = entries.len().div_ceil(columns.max(1));
    let ls = th.text(19.0, TEXT);
    for (k, (swatch, (label, suffix))) in entries.iter().enumerate() {
        let (col, row) = (k / rows.max(1), k % rows.max(1));
        let x = x0 + col as i32 * col_w;
        let y = top + (row as f64 * f64::from(th.px(row_h))) as i32;
        super::style::legend(
            p.area,
            th,
            (x, y),
            col_w - th.px(20.0),
            "",
            &[(*swatch, String::new())],
        )?;
        let room = col_w - th.px(70.0) - p.size(suffix, &ls)?.0;
        let text = format!(
            "{}{suffix}",
            super::style::ellipsize(p.area, label, &ls, room.max(th.px(60.0)))?
        );
        p.text(
            &text,
            (x + th.px(46.0), y + th.px(27.0) / 2),
            &ls,
            super::page::LEFT,
        )?;
    }
    Ok(())
}

/// A bar group's label: a hub's re-exports by the hub's short name first (`Kyrgyzstan:
/// re-exports to Russia`), other series in words with short names.
pub(crate) fn bar_label(series: &str) -> String {
    use super::names::short;
    use crate::simulate::series::Series;
    match Series::parse(series) {
        Some(Series::Reexports { hub, target }) => {
            format!("{}: re-exports to {}", short(&hub), short(&target))
        }
        Some(Series::Recorded {
            exporter,
            importer,
            reporter,
        }) => format!(
            "{} → {}, as {} records it",
            short(&exporter),
            short(&importer),
            short(&reporter)
        ),
        _ => display_short(series),
    }
}

/// `s` on one line if it fits, else on two lines of about equal width, else wrapped.
fn balanced_wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &plotters::style::TextStyle<'static>,
    max_w: i32,
) -> Result<Vec<String>, PlotError> {
    if text_size(area, s, style)?.0 <= max_w {
        return Ok(vec![s.to_owned()]);
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut best: Option<(i32, Vec<String>)> = None;
    for k in 1..words.len() {
        let (a, b) = (words[..k].join(" "), words[k..].join(" "));
        let w = text_size(area, &a, style)?
            .0
            .max(text_size(area, &b, style)?.0);
        if w <= max_w && best.as_ref().is_none_or(|(bw, _)| w < *bw) {
            best = Some((w, vec![a, b]));
        }
    }
    match best {
        Some((_, lines)) => Ok(lines),
        None => wrap(area, s, style, max_w),
    }
}

impl ScenarioBars {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        Words {
            title: format!("Scenarios compared in {}", self.year),
            subtitle: format!(
                "{} in {}; one bar per scenario in each group.",
                self.unit.label(),
                self.year
            ),
            note: if self.left_out.is_empty() {
                "Series from compare.csv.".to_owned()
            } else {
                use crate::simulate::series::Series;
                let hubs: Vec<String> = self
                    .left_out
                    .iter()
                    .map(|s| match Series::parse(s) {
                        Some(Series::Reexports { hub, .. }) => super::names::name(&hub),
                        _ => display_short(s),
                    })
                    .collect();
                format!(
                    "Series from compare.csv. Re-exports through the smaller hubs have no bar here and are in compare.csv too: {}.",
                    hubs.join(", ")
                )
            },
            note_lines: 2,
        }
    }
}

/// A year's values of a few series across scenarios: one group of bars per series.
pub(crate) fn draw_scenario_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioBars,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
    let k = c.unit.scale();
    let (lo, hi) = c
        .values
        .iter()
        .flatten()
        .flatten()
        .fold((0.0f64, 0.0f64), |(lo, hi), v| {
            (lo.min(v * k), hi.max(v * k))
        });
    let axis = ValueAxis::new(lo, hi, 7);
    let groups = c.series.len().max(1);
    let (f, legend) = p.value_frame(&axis, (0.0, groups as f64), 400.0, 150.0)?;
    super::style::draw_axes(p.area, th, &f, &axis, c.unit.label(), &[], "")?;
    let n = c.scenarios.len().max(1);
    let group_w = f64::from(f.r - f.l) / groups as f64;
    let bar_w = group_w * 0.8 / n as f64;
    let value_style = th.text(16.0, TEXT);
    let cat_style = th.axis();
    for (g, series) in c.series.iter().enumerate() {
        let x_group = f64::from(f.l) + group_w * g as f64 + group_w * 0.1;
        for s in 0..c.scenarios.len() {
            let Some(v) = c.values.get(g).and_then(|r| r.get(s)).copied().flatten() else {
                continue;
            };
            let x0 = x_group + bar_w * s as f64;
            let (y_a, y_b) = (f.y(0.0), f.y(v * k));
            let (xa, xb) = (x0.round() as i32 + 1, (x0 + bar_w).round() as i32 - 1);
            p.rect([(xa, y_a.min(y_b)), (xb, y_a.max(y_b))], scenario_colour(s))?;
            let label = fmt_num(v * k, if (v * k).abs() < 10.0 { 1 } else { 0 });
            let (w, _) = p.size(&label, &value_style)?;
            if f64::from(w) <= bar_w + f64::from(th.px(2.0)) {
                let (anchor, y) = if v >= 0.0 {
                    (BOTTOM, y_b - th.px(4.0))
                } else {
                    (TOP, y_b + th.px(4.0))
                };
                let x = (x0 + bar_w / 2.0).round() as i32;
                p.text(&label, (x, y), &value_style, anchor)?;
            }
        }
        let cx = (f64::from(f.l) + group_w * (g as f64 + 0.5)).round() as i32;
        let cat = cat_style.pos(TOP);
        let lines = balanced_wrap(area, &bar_label(series), &cat, (group_w * 0.95) as i32)?;
        for (j, line) in lines.iter().take(3).enumerate() {
            let y = f.b + th.px(12.0) + j as i32 * th.px(28.0);
            p.text(line, (cx, y), &cat_style, TOP)?;
        }
    }
    let entries: Vec<(Swatch, String)> = c
        .scenarios
        .iter()
        .enumerate()
        .map(|(s, _)| {
            (
                Swatch::Fill(scenario_colour(s)),
                label_of(&c.labels, &c.scenarios, s).to_owned(),
            )
        })
        .collect();
    p.legend(legend, f.t, "Scenario", &entries)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_of_lines_and_bars() {
        let c = ScenarioLines {
            series: "CHN->KGZ recorded by CHN".into(),
            unit: Unit::UsdBn,
            years: vec![2021, 2030],
            scenarios: vec![
                ("a".into(), vec![Some(300.0), Some(310.0)]),
                ("b".into(), vec![Some(300.0), Some(310.0)]),
            ],
            labels: Vec::new(),
            reference: None,
            policy_years: Vec::new(),
            policy_inferred: false,
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "China→Kyrgyzstan recorded by China: scenarios compared, 2021–2030"
        );
        assert!(
            w.subtitle.ends_with("The axis does not start at zero."),
            "{}",
            w.subtitle
        );
        assert!(w.note.starts_with("Model: tradeflow "), "{}", w.note);
        assert!(
            w.note.contains("Series `CHN->KGZ recorded by CHN`;"),
            "{}",
            w.note
        );
        assert!(!w.subtitle.contains("policy years"));
        let mut d = c.clone();
        d.reference = Some("a".into());
        d.policy_years = vec![PolicyYear {
            year: 2030,
            what: "b's controls".into(),
        }];
        assert!(d
            .words()
            .subtitle
            .contains("instruments the reference lacks"));
        assert!(d.words().note.contains("against a"));
        d.policy_inferred = true;
        assert!(d.words().subtitle.contains("inferred"));
        let twins = c.twins(0.0);
        assert_eq!(twin_label("b", &twins[1]), "b, dashed: the same line as a");
        assert_eq!(twin_label("a", &twins[0]), "a");
        let mut e = c.clone();
        e.labels = vec!["No sanctions".into(), String::new()];
        assert_eq!(e.twins(0.0)[1], Some(("a".into(), true)));
        assert_eq!(e.label(1), "b");
        let inferred = Departure {
            year: 2026,
            from: "a".into(),
            scenarios: vec!["b".into(), "c".into()],
        };
        assert_eq!(inferred.policy_year().what, "b, c from a");
        let b = ScenarioBars {
            year: 2030,
            unit: Unit::UsdBn,
            series: vec![],
            scenarios: vec![],
            labels: vec![],
            values: vec![],
            left_out: vec![],
        };
        assert_eq!(
            b.words().subtitle,
            "USD bn in 2030; one bar per scenario in each group."
        );
    }

    #[test]
    fn scenario_labels_are_short_descriptions() {
        assert_eq!(scenario_label("x", "", 50), "x");
        assert_eq!(
            scenario_label("a", "As happened, plus secondary sanctions; more.", 60),
            "As happened, plus secondary sanctions; more"
        );
        assert_eq!(
            scenario_label(
                "a",
                "2022 coalition export controls and sanctions by member and product group; demand",
                50
            ),
            "2022 coalition export controls and sanctions by…"
        );
        assert!(
            scenario_label("a", "word ".repeat(30).as_str(), 20)
                .chars()
                .count()
                <= 20
        );
        assert_eq!(shorten("abcdefghijklmnop", 5), "abcd…");
    }
}
