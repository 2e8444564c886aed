//! Observed against modelled recorded flows: for a run on a built world whose `[data]`
//! names the panel it came from, each figure of the panel on a link into the route target
//! or into or out of an intermediary, as its reporter recorded it, set against the model's
//! recorded flow for the same link, reporter and year (`recorded_total.csv`). One point per
//! link, reporter and year on log axes, model against observed, with the 45-degree line
//! where they agree; the largest misses after the base year are numbered and listed.
//!
//! Data flow: `run.json` (the panel's path, the rates table, the unit) -> the panel read by
//! [`crate::data::panel::Panel`], figures converted to the run's unit by
//! [`crate::data::panel::Rates`] -> matched with `recorded_total.csv` ([`observed_points`])
//! -> [`ObservedVsModelled`] -> [`draw_observed`].

use std::collections::BTreeSet;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::names::name;
use super::page::{Page, Words, BOTTOM_LEFT, TOP_LEFT};
use super::style::{
    dashes, draw_axes, fmt_num, Frame, Marker, Swatch, ValueAxis, BLUE_, BLUISH_GREEN, DARK_GREY,
    GREY, MUTED, TEXT, VERMILLION,
};
use super::{csv_of, PlotError};
use crate::data::panel::{Flow, Panel, Rates, Unit as PanelUnit, WORLD_CODE};
use crate::simulate::RecordedTotalRow;

/// One panel figure and the model's recorded flow for the same link, reporter and year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedPoint {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    /// Whose customs recorded the figure: the exporter or the importer (a code).
    pub reporter: String,
    /// The panel's figure, converted to the run's unit.
    pub observed: f64,
    /// The model's recorded flow (`recorded_total.csv`), in the run's unit.
    pub modelled: f64,
    /// The panel's line and source.
    pub panel_line: u64,
    pub source: String,
}

impl ObservedPoint {
    /// Recorded by the exporter (its export record), else by the importer.
    pub fn by_exporter(&self) -> bool {
        self.reporter == self.exporter
    }

    /// `ln(modelled / observed)`; `None` where either is not positive.
    pub fn log_miss(&self) -> Option<f64> {
        (self.observed > 0.0 && self.modelled > 0.0).then(|| (self.modelled / self.observed).ln())
    }
}

/// The chart of observed against modelled recorded flows.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedVsModelled {
    pub target: String,
    pub hubs: Vec<String>,
    /// The run's base year (its points are the data the world was built from).
    pub base_year: Option<i32>,
    pub unit: String,
    pub points: Vec<ObservedPoint>,
    /// Panel figures on these links that could not be set against the model, and why
    /// (counts in words, for the footnote).
    pub left_out: Vec<String>,
    /// The panel file's name.
    pub panel: String,
    /// The run's source line.
    pub source: String,
}

/// The model's recorded flows by (year, exporter, importer, reporter).
type Recorded<'a> = std::collections::HashMap<(i32, &'a str, &'a str, &'a str), f64>;

/// The panel's figures on the links into `target` and into or out of `hubs` (both
/// reporters, product `total`, years of the run) matched with the model's recorded flows,
/// converted to `unit` with `rates`; and what was left out, counted with its reason.
pub fn observed_points(
    panel: &Panel,
    rates: &Rates,
    unit: &str,
    (target, hubs): (&str, &[String]),
    years: &[i32],
    economies: &[String],
    recorded: &[RecordedTotalRow],
) -> Result<(Vec<ObservedPoint>, Vec<String>), String> {
    let to: PanelUnit = unit
        .parse()
        .map_err(|e| format!("the run's unit cannot take the panel's figures: {e}"))?;
    let model: Recorded = recorded
        .iter()
        .map(|r| {
            (
                (
                    r.year,
                    r.exporter.as_str(),
                    r.importer.as_str(),
                    r.reporter.as_str(),
                ),
                r.recorded,
            )
        })
        .collect();
    let on_links = |e: &str, i: &str| {
        e != i
            && e != WORLD_CODE
            && i != WORLD_CODE
            && (i == target || hubs.iter().any(|h| h == e || h == i))
    };
    let mut points: Vec<ObservedPoint> = Vec::new();
    let mut no_rate: BTreeSet<String> = BTreeSet::new();
    let (mut n_rate, mut n_economy, mut n_model) = (0usize, BTreeSet::new(), 0usize);
    for (line, row) in &panel.rows {
        if row.product != "total" || !years.contains(&row.year) {
            continue;
        }
        if !on_links(&row.exporter, &row.importer) {
            continue;
        }
        // Only the link's own trade as one side's customs record it.
        let recorded_by = match row.flow {
            Flow::Export if row.reporter == row.exporter => &row.exporter,
            Flow::Import if row.reporter == row.importer => &row.importer,
            _ => continue,
        };
        for c in [&row.exporter, &row.importer] {
            if !economies.contains(c) {
                n_economy.insert(c.clone());
            }
        }
        if !economies.contains(&row.exporter) || !economies.contains(&row.importer) {
            continue;
        }
        let observed = match rates.convert(row.value, &row.unit, &to, row.year) {
            Ok(v) => v,
            Err(_) => {
                n_rate += 1;
                no_rate.insert(row.unit.currency.clone());
                continue;
            }
        };
        let key = (
            row.year,
            row.exporter.as_str(),
            row.importer.as_str(),
            recorded_by.as_str(),
        );
        let Some(&modelled) = model.get(&key) else {
            n_model += 1;
            continue;
        };
        // The panel holds one figure per link, reporter and flow (conflicts are refused);
        // the same figure from two sources is one point.
        if points.iter().any(|p| {
            (
                p.year,
                p.exporter.as_str(),
                p.importer.as_str(),
                p.reporter.as_str(),
            ) == key
        }) {
            continue;
        }
        points.push(ObservedPoint {
            year: row.year,
            exporter: row.exporter.clone(),
            importer: row.importer.clone(),
            reporter: recorded_by.clone(),
            observed,
            modelled,
            panel_line: *line,
            source: row.source.clone(),
        });
    }
    points.sort_by(|a, b| {
        (a.year, &a.exporter, &a.importer, &a.reporter).cmp(&(
            b.year,
            &b.exporter,
            &b.importer,
            &b.reporter,
        ))
    });
    let mut left_out = Vec::new();
    if n_rate > 0 {
        left_out.push(format!(
            "{n_rate} figures in {} (no exchange rate: name the table the world was built with in `[data] rates`)",
            no_rate.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !n_economy.is_empty() {
        left_out.push(format!(
            "figures of {} (not economies of the run)",
            n_economy.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if n_model > 0 {
        left_out.push(format!(
            "{n_model} figures with no recorded flow in the run"
        ));
    }
    Ok((points, left_out))
}

#[derive(Serialize)]
struct Row<'a> {
    year: i32,
    exporter: &'a str,
    importer: &'a str,
    reporter: &'a str,
    record: &'a str,
    observed: f64,
    modelled: f64,
    /// `modelled / observed`; empty where the observed figure is 0.
    ratio: Option<f64>,
    unit: &'a str,
    panel_line: u64,
    source: &'a str,
}

/// How many of the largest misses are numbered on the chart and listed.
const MISSES: usize = 8;

/// Points far enough apart on the log axes to show; values below this share of the
/// largest are drawn at the axis' floor.
const FLOOR_SHARE: f64 = 1e-4;

impl ObservedVsModelled {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<Row> = self
            .points
            .iter()
            .map(|p| Row {
                year: p.year,
                exporter: &p.exporter,
                importer: &p.importer,
                reporter: &p.reporter,
                record: if p.by_exporter() {
                    "exporter"
                } else {
                    "importer"
                },
                observed: p.observed,
                modelled: p.modelled,
                ratio: (p.observed > 0.0).then(|| p.modelled / p.observed),
                unit: &self.unit,
                panel_line: p.panel_line,
                source: &p.source,
            })
            .collect();
        csv_of(&rows, "observed against modelled recorded flows")
    }

    fn years(&self) -> Vec<i32> {
        let mut y: Vec<i32> = self.points.iter().map(|p| p.year).collect();
        y.sort_unstable();
        y.dedup();
        y
    }

    /// The points after the base year, largest miss (in logs) first: the numbered ones.
    pub(crate) fn misses(&self) -> Vec<&ObservedPoint> {
        let mut m: Vec<&ObservedPoint> = self
            .points
            .iter()
            .filter(|p| self.base_year.is_none_or(|b| p.year > b))
            .filter(|p| p.log_miss().is_some())
            .collect();
        m.sort_by(|a, b| {
            let (x, y) = (a.log_miss().unwrap_or(0.0), b.log_miss().unwrap_or(0.0));
            y.abs().total_cmp(&x.abs())
        });
        m.truncate(MISSES);
        m
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let years = self.years();
        let span = match (years.first(), years.last()) {
            (Some(a), Some(b)) if a != b => format!(", {a}–{b}"),
            (Some(a), _) => format!(", {a}"),
            _ => String::new(),
        };
        let within = |f: f64| {
            self.points
                .iter()
                .filter(|p| self.base_year.is_none_or(|b| p.year > b))
                .filter(|p| p.log_miss().is_some_and(|m| m.abs() <= f.ln()))
                .count()
        };
        let after: usize = self
            .points
            .iter()
            .filter(|p| self.base_year.is_none_or(|b| p.year > b))
            .count();
        let fit = if after > 0 {
            format!(
                " After the base year, {} of {after} model figures are within a factor of 2 of the observed one.",
                within(2.0)
            )
        } else {
            String::new()
        };
        let mut note = format!(
            "Observed: {} (each figure as its reporter recorded it, converted to {}). Modelled: recorded_total.csv of the run.",
            self.panel, self.unit
        );
        if !self.left_out.is_empty() {
            note.push_str(&format!(" Left out: {}.", self.left_out.join("; ")));
        }
        note.push(' ');
        note.push_str(&self.source);
        Words {
            title: format!(
                "Recorded flows, observed against the model{span}"
            ),
            subtitle: format!(
                "Links into {} and into and out of the intermediaries, as the exporter's or the importer's customs record them, {}, log scales. On the diagonal the model matches the record; numbered: the largest misses after the base year.{fit}",
                name(&self.target),
                self.unit
            ),
            note,
            note_lines: 3,
        }
    }
}

/// The colour of a year's points: the base year grey (the data the world was built from),
/// later years in turn.
fn year_colour(year: i32, base_year: Option<i32>, later: &[i32]) -> RGBColor {
    const C: [RGBColor; 4] = [VERMILLION, BLUE_, BLUISH_GREEN, RGBColor(204, 121, 167)];
    if base_year.is_some_and(|b| year <= b) {
        return DARK_GREY;
    }
    let k = later.iter().position(|y| *y == year).unwrap_or(0);
    C[k % C.len()]
}

/// Log-axis ticks from `10^lo` to `10^hi` (whole decades), with 2 and 5 between them when
/// the axis spans at most three decades (the backtest chart's too).
pub(super) fn log_ticks(lo: i32, hi: i32) -> Vec<f64> {
    let mut t = Vec::new();
    for d in lo..=hi {
        t.push(f64::from(d));
        if hi - lo <= 3 && d < hi {
            t.push(f64::from(d) + 2f64.log10());
            t.push(f64::from(d) + 5f64.log10());
        }
    }
    t
}

/// A tick's label: `10^v` in plain digits (`0.01`, `5`, `200`).
pub(super) fn log_label(v: f64) -> String {
    let x = 10f64.powf(v);
    let d = if x >= 1.0 {
        0
    } else {
        (-x.log10()).ceil() as usize
    };
    fmt_num(x, d)
}

/// Observed against modelled recorded flows on log axes.
pub(crate) fn draw_observed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ObservedVsModelled,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let values: Vec<f64> = c
        .points
        .iter()
        .flat_map(|p| [p.observed, p.modelled])
        .filter(|v| *v > 0.0)
        .collect();
    let Some(max) = values.iter().copied().reduce(f64::max) else {
        return p.no_data("no panel figure on these links to set against the model");
    };
    let floor = max * FLOOR_SHARE;
    let min = values
        .iter()
        .copied()
        .filter(|v| *v >= floor)
        .fold(max, f64::min);
    let (lo, hi) = (min.log10().floor() as i32, max.log10().ceil() as i32);
    let hi = hi.max(lo + 1);
    let ticks = log_ticks(lo, hi);
    let axis = ValueAxis {
        lo: f64::from(lo),
        hi: f64::from(hi),
        ticks: ticks.clone(),
        decimals: 0,
    };
    let th = &p.th;
    // A square plot: as tall as the page allows, the legend column to its right.
    let t = p.top + th.px(40.0);
    let b = p.bottom - th.px(80.0);
    let side = (b - t).max(10);
    let l = th.px(130.0);
    let f = Frame {
        l,
        t,
        r: l + side,
        b: t + side,
        x0: f64::from(lo),
        x1: f64::from(hi),
        y0: f64::from(lo),
        y1: f64::from(hi),
    };
    // Draw the grid and y labels through the shared axes, then relabel: the labels are
    // powers of ten, not the logs.
    let x_ticks: Vec<(f64, String)> = ticks.iter().map(|&v| (v, log_label(v))).collect();
    draw_log_axes(&p, &f, &axis, &x_ticks, &c.unit)?;
    // Agreement and a factor of 2 either way.
    let at = |o: f64, m: f64| (f.x(o.max(floor).log10()), f.y(m.max(floor).log10()));
    let (a, z) = (f64::from(lo), f64::from(hi));
    let diag = vec![(f.x(a), f.y(a)), (f.x(z), f.y(z))];
    p.line(diag, DARK_GREY, 2.0)?;
    let two = 2f64.log10();
    for (d0, d1) in [((a, a + two), (z - two, z)), ((a + two, a), (z, z - two))] {
        let pts = vec![(f.x(d0.0), f.y(d0.1)), (f.x(d1.0), f.y(d1.1))];
        for seg in dashes(&pts, th.px(10.0), th.px(8.0)) {
            p.line(seg, GREY, 1.5)?;
        }
    }
    let later: Vec<i32> = c
        .years()
        .into_iter()
        .filter(|y| c.base_year.is_none_or(|b| *y > b))
        .collect();
    // Base-year points first, so that later years draw on top.
    let mut order: Vec<&ObservedPoint> = c.points.iter().collect();
    order.sort_by_key(|p| (c.base_year.is_none_or(|b| p.year > b), p.year));
    for pt in order {
        let colour = year_colour(pt.year, c.base_year, &later);
        let marker = if pt.by_exporter() {
            Marker::Dot(colour)
        } else {
            Marker::Triangle(colour)
        };
        marker.draw(area, th, at(pt.observed, pt.modelled), 0.8)?;
    }
    let misses = c.misses();
    let ns = th.bold(17.0, TEXT);
    // Numbers beside their points: up right, else down right, up left or down left of it,
    // whichever overlaps no number placed before.
    let mut placed: Vec<[(i32, i32); 2]> = Vec::new();
    for (k, pt) in misses.iter().enumerate() {
        let (x, y) = at(pt.observed, pt.modelled);
        let label = (k + 1).to_string();
        let (w, h) = p.size(&label, &ns)?;
        let (dx, dy) = (th.px(9.0), th.px(6.0));
        let spots = [
            (x + dx, y - dy - h),
            (x + dx, y + dy),
            (x - dx - w, y - dy - h),
            (x - dx - w, y + dy),
        ];
        let free = |(sx, sy): (i32, i32)| {
            placed
                .iter()
                .all(|[(a, b), (c, d)]| sx + w < *a || sx > *c || sy + h < *b || sy > *d)
        };
        let (sx, sy) = spots.iter().copied().find(|s| free(*s)).unwrap_or(spots[0]);
        placed.push([(sx, sy), (sx + w, sy + h)]);
        p.text(&label, (sx, sy), &ns, TOP_LEFT)?;
    }
    // Legend column.
    let col = super::page::Column {
        x: f.r + th.px(60.0),
        w: th.w - f.r - th.px(100.0),
    };
    let mut years_key: Vec<(Swatch, String)> = c
        .years()
        .into_iter()
        .map(|y| {
            let colour = year_colour(y, c.base_year, &later);
            let what = if c.base_year.is_some_and(|b| y <= b) {
                format!("{y} (base year: the data the world was built from)")
            } else {
                y.to_string()
            };
            (Swatch::Marker(Marker::Dot(colour)), what)
        })
        .collect();
    years_key.push((
        Swatch::Marker(Marker::Dot(GREY)),
        "circle: the exporter's record".to_owned(),
    ));
    years_key.push((
        Swatch::Marker(Marker::Triangle(GREY)),
        "triangle: the importer's record".to_owned(),
    ));
    years_key.push((
        Swatch::Line {
            colour: DARK_GREY,
            dashed: false,
        },
        "model = observed".to_owned(),
    ));
    years_key.push((
        Swatch::Line {
            colour: GREY,
            dashed: true,
        },
        "a factor of 2 either way".to_owned(),
    ));
    let y = p.legend(col, f.t, "Year and reporter", &years_key)?;
    if !misses.is_empty() {
        let hs = th.bold(21.0, TEXT);
        let mut y = y + th.px(16.0);
        p.text("Largest misses", (col.x, y), &hs, TOP_LEFT)?;
        y += th.px(32.0);
        let ls = th.text(18.0, TEXT);
        let line_h = th.px(25.0);
        for (k, pt) in misses.iter().enumerate() {
            if y + line_h > p.bottom - th.px(10.0) {
                break;
            }
            let text = format!(
                "{}. {}→{} {} ({}'s record): model {}, observed {}",
                k + 1,
                pt.exporter,
                pt.importer,
                pt.year,
                pt.reporter,
                fmt_value(pt.modelled),
                fmt_value(pt.observed)
            );
            let text = super::style::ellipsize(area, &text, &ls, col.w)?;
            p.text(&text, (col.x, y), &ls, TOP_LEFT)?;
            y += line_h;
        }
        let codes: Vec<String> = {
            let mut seen: Vec<&str> = Vec::new();
            for pt in &misses {
                for c in [&pt.exporter, &pt.importer] {
                    if !seen.contains(&c.as_str()) {
                        seen.push(c);
                    }
                }
            }
            seen.iter().map(|c| format!("{c} {}", name(c))).collect()
        };
        let ms = th.text(16.0, MUTED);
        for line in super::style::wrap(area, &format!("Codes: {}.", codes.join(", ")), &ms, col.w)?
        {
            if y + line_h > p.bottom - th.px(10.0) {
                break;
            }
            y += th.px(4.0);
            p.text(&line, (col.x, y), &ms, TOP_LEFT)?;
            y += th.px(20.0);
        }
    }
    Ok(())
}

/// A value with three significant digits at most (`24.1`, `0.482`, `305`).
fn fmt_value(v: f64) -> String {
    let d = super::style::decimals_for_value(v, 3, 0).min(4);
    fmt_num(v, d)
}

/// The frame, its grid and both log axes with their labels.
fn draw_log_axes<DB: DrawingBackend>(
    p: &Page<DB>,
    f: &Frame,
    axis: &ValueAxis,
    x_ticks: &[(f64, String)],
    unit: &str,
) -> Result<(), PlotError> {
    let th = &p.th;
    // The shared axes label the value axis with the logs: draw them with empty labels by
    // drawing the grid and x ticks, then write the y labels as powers of ten.
    draw_axes(
        p.area,
        th,
        f,
        &ValueAxis {
            ticks: Vec::new(),
            ..axis.clone()
        },
        "",
        x_ticks,
        &format!("observed ({unit}, as recorded)"),
    )?;
    let grid = ShapeStyle::from(&super::style::GRID).stroke_width(th.px(1.5) as u32);
    let ts = th.tick();
    for &v in &axis.ticks {
        let y = f.y(v);
        p.draw(&PathElement::new(vec![(f.l, y), (f.r, y)], grid))?;
        let x = f.x(v);
        p.draw(&PathElement::new(vec![(x, f.t), (x, f.b)], grid))?;
        p.text(
            &log_label(v),
            (f.l - th.px(12.0), y),
            &ts,
            super::page::RIGHT,
        )?;
    }
    let us = th.axis();
    p.text(
        &format!("model ({unit})"),
        (f.l, f.t - th.px(14.0)),
        &us,
        BOTTOM_LEFT,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(year: i32, e: &str, i: &str, r: &str, o: f64, m: f64) -> ObservedPoint {
        ObservedPoint {
            year,
            exporter: e.into(),
            importer: i.into(),
            reporter: r.into(),
            observed: o,
            modelled: m,
            panel_line: 2,
            source: "s".into(),
        }
    }

    #[test]
    fn misses_are_after_the_base_year_largest_first() {
        let c = ObservedVsModelled {
            target: "RUS".into(),
            hubs: vec!["KGZ".into()],
            base_year: Some(2021),
            unit: "USD bn".into(),
            points: vec![
                point(2021, "CHN", "RUS", "CHN", 1.0, 10.0),
                point(2022, "CHN", "KGZ", "CHN", 10.0, 11.0),
                point(2022, "KGZ", "RUS", "RUS", 4.0, 1.0),
                point(2023, "JPN", "RUS", "JPN", 5.0, 24.0),
                point(2023, "EU", "RUS", "EU", 0.0, 3.0),
            ],
            left_out: vec!["3 figures in EUR (no exchange rate)".into()],
            panel: "panel.csv".into(),
            source: "Model: x.".into(),
        };
        let m: Vec<(i32, &str)> = c
            .misses()
            .iter()
            .map(|p| (p.year, p.exporter.as_str()))
            .collect();
        assert_eq!(m, [(2023, "JPN"), (2022, "KGZ"), (2022, "CHN")]);
        let w = c.words();
        assert_eq!(
            w.title,
            "Recorded flows, observed against the model, 2021–2023"
        );
        assert!(
            w.subtitle
                .contains("1 of 4 model figures are within a factor of 2"),
            "{}",
            w.subtitle
        );
        assert!(w.note.contains("Left out: 3 figures in EUR"), "{}", w.note);
        let csv = String::from_utf8(c.csv().unwrap()).unwrap();
        assert!(csv.starts_with("year,exporter,importer,reporter,record,observed,modelled,ratio,unit,panel_line,source\n"), "{csv}");
        assert!(
            csv.contains("2022,KGZ,RUS,RUS,importer,4.0,1.0,0.25,USD bn,2,s\n"),
            "{csv}"
        );
        assert!(
            csv.contains("2023,EU,RUS,EU,exporter,0.0,3.0,,USD bn,2,s\n"),
            "{csv}"
        );
    }

    #[test]
    fn log_axis_ticks_and_labels() {
        assert_eq!(log_ticks(0, 3).len(), 10);
        assert_eq!(log_ticks(-1, 4).len(), 6);
        assert_eq!(log_label(0.0), "1");
        assert_eq!(log_label(-2.0), "0.01");
        assert_eq!(log_label(2f64.log10() + 1.0), "20");
    }
}
