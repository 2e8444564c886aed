//! Flows over years: into the route target stacked by route, and re-exports through each
//! intermediary (final destination against what its customs records). Both mark the years
//! in which sanctions and frictions take effect.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::names::{name, named_text};
use super::page::{span, year_order, year_range, Column, Page, Words, CENTRE, TOP_LEFT};
use super::style::{
    fmt_num, hub_colour, origin_colour, polyline, wrap, years_text, Frame, Swatch, Theme,
    ValueAxis, DARK_GREY, GREY, TEXT,
};
use super::{csv_of, PlotError};

/// A year in which an instrument takes effect (or ends), with what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub year: i32,
    pub label: String,
}

/// What a band or node stands for; decides its colour, the same in every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Direct from the `i`-th named origin.
    Direct(usize),
    /// Direct from the origins grouped as "other".
    OtherOrigins,
    /// Through the `i`-th intermediary shown on its own (by size, largest first).
    Via(usize),
    /// Through the intermediaries grouped as "other hubs".
    OtherHubs,
}

impl Role {
    pub(crate) fn colour(self) -> RGBColor {
        match self {
            Role::Direct(i) => origin_colour(i),
            Role::OtherOrigins => GREY,
            Role::Via(i) => hub_colour(i),
            Role::OtherHubs => OTHER_HUBS,
        }
    }
}

/// One band of the stack: a route's values, one per year.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub name: String,
    pub role: Role,
    pub values: Vec<f64>,
}

/// Flows into the target over years, stacked by route (first band at the bottom).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowsByRoute {
    pub target: String,
    pub years: Vec<i32>,
    pub bands: Vec<Band>,
    pub events: Vec<Event>,
    /// The base year of the data: it and earlier years are shaded as history.
    pub base_year: Option<i32>,
    /// Footnote: scenario, sector, which origins are grouped.
    pub note: String,
}

/// The colour of the intermediaries grouped as "other hubs": a warm grey, apart from the
/// hubs' warm colours and the other origins' grey.
pub(crate) const OTHER_HUBS: RGBColor = RGBColor(196, 170, 140);

/// Re-exports through one intermediary, or through the small ones grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct HubSeries {
    /// The hub's code, or the group's name (`6 other hubs`).
    pub hub: String,
    /// Re-exports reaching the target's final buyers, one per year.
    pub final_destination: Vec<f64>,
    /// What the hub's customs record of them (for a group, its members' records added
    /// up), one per year.
    pub recorded: Vec<f64>,
    /// Each hub in the series with the share of transit its customs record: the hub alone,
    /// or the members of a group.
    pub shares: Vec<(String, f64)>,
    /// A group of small hubs, not a hub of its own.
    pub grouped: bool,
}

impl HubSeries {
    /// One hub whose recorded re-exports are given (they differ from `share` times the
    /// re-exports where `recording` instruments act, by origin and year).
    pub fn single_recorded(
        hub: &str,
        final_destination: Vec<f64>,
        recorded: Vec<f64>,
        share: f64,
    ) -> Self {
        Self {
            hub: hub.to_owned(),
            recorded,
            final_destination,
            shares: vec![(hub.to_owned(), share)],
            grouped: false,
        }
    }

    /// One hub: `recorded` is `share` of each final-destination figure.
    pub fn single(hub: &str, final_destination: Vec<f64>, share: f64) -> Self {
        Self {
            hub: hub.to_owned(),
            recorded: final_destination.iter().map(|v| v * share).collect(),
            final_destination,
            shares: vec![(hub.to_owned(), share)],
            grouped: false,
        }
    }

    /// The legend's name: the hub's name, or the group's.
    fn label(&self) -> String {
        if self.grouped {
            self.hub.clone()
        } else {
            name(&self.hub)
        }
    }

    /// Whether the customs record all transit (the two lines coincide).
    fn all_recorded(&self) -> bool {
        self.shares.iter().all(|(_, s)| *s >= 1.0)
    }

    /// The recorded share in words: `25%`, or for a group `50%` or `25-100%`.
    fn share_text(&self) -> String {
        let (lo, hi) = self
            .shares
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, s)| {
                (lo.min(*s), hi.max(*s))
            });
        if !lo.is_finite() {
            return String::new();
        }
        let pct = |v: f64| fmt_num(100.0 * v, 0);
        if (hi - lo).abs() < 0.005 {
            format!("{}%", pct(lo))
        } else {
            format!("{}-{}%", pct(lo), pct(hi))
        }
    }
}

/// Re-exports to the target through each intermediary over years.
#[derive(Debug, Clone, PartialEq)]
pub struct Reexports {
    pub target: String,
    pub years: Vec<i32>,
    pub hubs: Vec<HubSeries>,
    pub events: Vec<Event>,
    /// The base year of the data: it and earlier years are shaded as history.
    pub base_year: Option<i32>,
    pub note: String,
}

#[derive(Serialize)]
struct BandRow<'a> {
    year: i32,
    route: &'a str,
    value: f64,
}

impl FlowsByRoute {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let mut rows = Vec::new();
        for (i, &year) in self.years.iter().enumerate() {
            for b in &self.bands {
                rows.push(BandRow {
                    year,
                    route: &b.name,
                    value: b.values.get(i).copied().unwrap_or(0.0),
                });
            }
        }
        csv_of(&rows, "flows by route")
    }
}

#[derive(Serialize)]
struct HubRow<'a> {
    year: i32,
    intermediary: &'a str,
    reexports_final_destination: f64,
    recorded_by_intermediary: f64,
    recorded_share: f64,
}

impl Reexports {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let mut rows = Vec::new();
        for (i, &year) in self.years.iter().enumerate() {
            for h in &self.hubs {
                let v = value(&h.final_destination, i);
                let r = value(&h.recorded, i);
                rows.push(HubRow {
                    year,
                    intermediary: &h.hub,
                    reexports_final_destination: v,
                    recorded_by_intermediary: r,
                    // A group's share is what its members record together that year.
                    // What the hub records of that year's re-exports (its base share where
                    // there are none).
                    recorded_share: match h.shares.as_slice() {
                        _ if v > 0.0 => r / v,
                        [(_, s)] if !h.grouped => *s,
                        _ => 0.0,
                    },
                });
            }
        }
        csv_of(&rows, "re-exports")
    }
}

impl FlowsByRoute {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (title, subtitle) = match span(&self.years) {
            None => (format!("Goods reaching {}", name(&self.target)), String::new()),
            Some((first, last)) => (
                format!(
                    "Goods reaching {} by route, {}",
                    name(&self.target),
                    years_text(first, last)
                ),
                format!(
                    "Imports of {} by final destination (USD bn), stacked by route: direct from each origin and re-exported via each intermediary. Grey vertical lines: years in which sanctions and frictions take effect (listed on the right).{}",
                    name(&self.target),
                    history_text(self.base_year, first)
                ),
            ),
        };
        Words {
            title,
            subtitle,
            note: self.note.clone(),
            note_lines: 3,
        }
    }

    /// The stack's total in each year (negative values count as zero).
    fn totals(&self) -> Vec<f64> {
        (0..self.years.len())
            .map(|i| {
                self.bands
                    .iter()
                    .map(|b| value(&b.values, i).max(0.0))
                    .sum()
            })
            .collect()
    }
}

impl Reexports {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (title, subtitle) = match span(&self.years) {
            None => (format!("Re-exports to {}", name(&self.target)), String::new()),
            Some((first, last)) => (
                format!(
                    "Re-exports to {} through each intermediary, {}",
                    name(&self.target),
                    years_text(first, last)
                ),
                format!(
                    "Solid: goods re-exported through each intermediary to final buyers in {}. Dashed: the part the intermediary's own customs records (its recorded share of transit). Grey vertical lines: sanctions and frictions.{}",
                    name(&self.target),
                    history_text(self.base_year, first)
                ),
            ),
        };
        Words {
            title,
            subtitle,
            note: self.note.clone(),
            note_lines: 3,
        }
    }

    /// The colour of the `k`-th series: the hubs' colours in order, the group's its own.
    fn colour(&self, k: usize) -> RGBColor {
        match self.hubs.get(k) {
            Some(h) if h.grouped => OTHER_HUBS,
            _ => hub_colour(k),
        }
    }

    /// The intermediaries in the order their lines end, highest first.
    fn by_end(&self) -> Vec<(usize, &HubSeries)> {
        let last = year_order(&self.years).last().copied();
        let end = |h: &HubSeries| last.map_or(0.0, |i| value(&h.final_destination, i));
        let mut hubs: Vec<(usize, &HubSeries)> = self.hubs.iter().enumerate().collect();
        hubs.sort_by(|a, b| end(b.1).total_cmp(&end(a.1)));
        hubs
    }

    /// The key to the two line styles: final destination, and as the hubs record it.
    fn line_key(&self) -> [String; 2] {
        let shares: Vec<String> = self
            .by_end()
            .iter()
            .map(|(_, h)| format!("{} {}", short_label(h), h.share_text()))
            .collect();
        let coincide = if self.hubs.iter().any(HubSeries::all_recorded) {
            "; at 100% the lines coincide"
        } else {
            ""
        };
        [
            format!(
                "re-exports reaching {} (final destination)",
                name(&self.target)
            ),
            format!(
                "as the intermediary's customs record them (share of transit: {}; less goods lost in transit){coincide}",
                shares.join(", ")
            ),
        ]
    }
}

/// A hub's short name (`UAE`), or a group's name, for the line key.
fn short_label(h: &HubSeries) -> String {
    if h.grouped {
        h.hub.clone()
    } else {
        super::names::short(&h.hub)
    }
}

/// The `i`-th value of a series, 0 where it has none.
fn value(values: &[f64], i: usize) -> f64 {
    values.get(i).copied().unwrap_or(0.0)
}

/// The legend heading of the events.
// Solid grey, so that dashes on these charts mean only "as recorded".
const EVENTS_HEADING: &str = "Grey lines: sanctions, frictions";

/// What a subtitle says of the shaded history: the base year of the data and the years
/// before it, apart from the model's projection.
pub(crate) fn history_text(base_year: Option<i32>, first: i32) -> String {
    match base_year {
        Some(b) if b >= first => format!(
            " Shaded: {} (data the model is calibrated to); later years are the model's projection.",
            if b == first {
                format!("the base year {b}")
            } else {
                format!("history, {first}-{b}")
            }
        ),
        _ => String::new(),
    }
}

/// Shades the history (the base year and earlier) of a frame over years, half a year
/// either side of each year, and labels history and projection at the top.
pub(crate) fn shade_history<DB: DrawingBackend>(
    p: &Page<DB>,
    f: &Frame,
    base_year: Option<i32>,
    (first, last): (i32, i32),
) -> Result<(), PlotError> {
    let Some(b) = base_year.filter(|&b| b >= first) else {
        return Ok(());
    };
    let edge = f64::from(b.min(last)) + 0.5;
    let x1 = f.x(edge.min(f.x1)).min(f.r);
    p.rect([(f.l, f.t), (x1, f.b)], HISTORY)?;
    let ts = p.th.text(16.0, DARK_GREY);
    let y = f.t + p.px(4.0);
    p.text("data", (f.l + p.px(6.0), y), &ts, TOP_LEFT)?;
    if b < last {
        p.text("projection →", (x1 + p.px(8.0), y), &ts, TOP_LEFT)?;
    }
    Ok(())
}

/// The shade of history on charts over years.
pub(crate) const HISTORY: RGBColor = RGBColor(236, 236, 236);

/// The plotting frame between the title block and the legend column, with room for the
/// event years' markers at the top.
struct Layout {
    frame: Frame,
    /// Top of the event markers' rows; the data region (`frame.t`) starts below them.
    labels_top: i32,
    /// Row of each event year's marker.
    marker_rows: Vec<i32>,
    legend: Column,
}

const MARKER_ROW: f64 = 28.0;

/// A chart over years: the page, its frame and axes in USD bn, and the event years.
fn year_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    words: &Words,
    (first, last): (i32, i32),
    max: f64,
    events: &[Event],
    base_year: Option<i32>,
) -> Result<(Page<'a, DB>, Layout, Events), PlotError> {
    let p = Page::new(area, words)?;
    let axis = ValueAxis::new(0.0, max, 7);
    let events = event_lines(events, first, last);
    // Room under the frame for the year axis and however many lines the footnote took.
    let bottom = (p.th.design(p.th.h - p.bottom) + 80.0).max(120.0);
    let (mut frame, legend) = p.value_frame(&axis, year_range(first, last), 420.0, bottom)?;
    // Year markers centred on their lines, in a second row where two would touch.
    let ms = marker_style(&p.th);
    let mut marker_rows = Vec::new();
    let mut right_edge = [i32::MIN; 2];
    for (y, _) in &events {
        let w = p.size(&y.to_string(), &ms)?.0;
        let x = frame.x(f64::from(*y));
        let row = usize::from(x - w / 2 <= right_edge[0] + p.px(10.0));
        let row = if row == 1 && x - w / 2 <= right_edge[1] + p.px(10.0) {
            0
        } else {
            row
        };
        right_edge[row] = x + w / 2;
        marker_rows.push(row as i32);
    }
    let labels_top = frame.t;
    let rows = marker_rows.iter().max().map_or(0, |r| r + 1);
    frame.t += rows * p.px(MARKER_ROW) + if rows > 0 { p.px(10.0) } else { 0 };
    frame.b = frame.b.max(frame.t + 10);
    shade_history(&p, &frame, base_year, (first, last))?;
    p.year_axes(&frame, &axis, "USD bn", (first, last))?;
    let lay = Layout {
        frame,
        labels_top,
        marker_rows,
        legend,
    };
    Ok((p, lay, events))
}

fn marker_style(th: &Theme) -> TextStyle<'static> {
    th.bold(19.0, DARK_GREY)
}

/// Event years and what took effect in each.
type Events = Vec<(i32, Vec<String>)>;

/// Event years inside the chart, each with its instruments' labels.
fn event_lines(events: &[Event], first: i32, last: i32) -> Events {
    let mut years: Vec<i32> = events
        .iter()
        .map(|e| e.year)
        .filter(|&y| y > first && y <= last)
        .collect();
    years.sort_unstable();
    years.dedup();
    years
        .into_iter()
        .map(|y| {
            let mut labels: Vec<String> = Vec::new();
            for e in events.iter().filter(|e| e.year == y) {
                if !labels.contains(&e.label) {
                    labels.push(e.label.clone());
                }
            }
            (y, labels)
        })
        .collect()
}

/// Solid grey vertical lines at the event years, each with its year above the data; what
/// happened is listed in the legend column ([`event_legend`]).
fn draw_events<DB: DrawingBackend>(
    p: &Page<DB>,
    lay: &Layout,
    events: &[(i32, Vec<String>)],
) -> Result<(), PlotError> {
    let f = &lay.frame;
    let ms = marker_style(&p.th);
    let row_h = p.px(MARKER_ROW);
    for ((year, _), row) in events.iter().zip(&lay.marker_rows) {
        let x = f.x(f64::from(*year));
        let y = lay.labels_top + row * row_h + row_h / 2;
        let points = vec![(x, f.b), (x, y + row_h / 2)];
        polyline(p.area, &p.th, points, GREY, 2.0, false)?;
        p.text(&year.to_string(), (x, y), &ms, CENTRE)?;
    }
    Ok(())
}

/// The events listed under a heading in the legend column from `y`: the year in bold, then
/// what took effect, wrapped with a hanging indent. Stops above the footnote, saying how
/// many more.
fn event_legend<DB: DrawingBackend>(
    p: &Page<DB>,
    col: Column,
    y: i32,
    events: &[(i32, Vec<String>)],
) -> Result<(), PlotError> {
    if events.is_empty() {
        return Ok(());
    }
    let (x, w, th) = (col.x, col.w, &p.th);
    let max_y = p.bottom - th.px(8.0);
    let mut y = y;
    let hs = th.bold(21.0, TEXT);
    for line in wrap(p.area, EVENTS_HEADING, &hs, w)? {
        p.text(&line, (x, y), &hs, TOP_LEFT)?;
        y += th.px(28.0);
    }
    y += th.px(6.0);
    let ys = th.bold(19.0, TEXT);
    let ls = th.text(19.0, TEXT);
    let indent = p.size("0000", &ys)?.0 + th.px(10.0);
    let line_h = th.px(25.0);
    // A year with many instruments (a coalition's controls, member by member) lists the
    // first few and counts the rest, so that every year keeps a line.
    let events: Vec<(i32, Vec<String>)> = events
        .iter()
        .map(|(y, labels)| (*y, year_labels(labels)))
        .collect();
    let total: usize = events.iter().map(|(_, l)| l.len()).sum();
    let mut shown = 0;
    for (year, labels) in &events {
        for label in labels {
            let lines = wrap(p.area, label, &ls, w - indent)?;
            if y + line_h * (lines.len() as i32 + 1) > max_y && shown < total {
                let more = format!("… and {} more (run.json)", total - shown);
                return p.text(&more, (x, y), &ls, TOP_LEFT);
            }
            p.text(&year.to_string(), (x, y), &ys, TOP_LEFT)?;
            for line in &lines {
                p.text(line, (x + indent, y), &ls, TOP_LEFT)?;
                y += line_h;
            }
            y += th.px(6.0);
            shown += 1;
        }
    }
    Ok(())
}

/// A year's instruments for the legend: all when there are at most [`YEAR_LABELS`], else
/// one entry that counts them and names the first.
fn year_labels(labels: &[String]) -> Vec<String> {
    if labels.len() <= YEAR_LABELS {
        return labels.to_vec();
    }
    vec![format!(
        "{} instruments (run.json), among them: {}",
        labels.len(),
        labels[0]
    )]
}

const YEAR_LABELS: usize = 2;

/// Flows into the target over years, stacked by route, with event years marked.
pub(crate) fn draw_flows_by_route<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &FlowsByRoute,
) -> Result<(), PlotError> {
    let words = c.words();
    let Some(years) = span(&c.years) else {
        return Page::new(area, &words)?.no_data("no years to show");
    };
    let max = c.totals().into_iter().fold(0.0, f64::max);
    let (p, lay, events) = year_chart(area, &words, years, max, &c.events, c.base_year)?;
    let f = lay.frame;
    // Stack bands bottom-up; a single year is drawn as a bar.
    let x = |i: usize| f.x(f64::from(c.years[i]));
    let mut lower = vec![0.0; c.years.len()];
    let order = year_order(&c.years);
    for band in &c.bands {
        let upper: Vec<f64> = lower
            .iter()
            .enumerate()
            .map(|(i, lo)| lo + value(&band.values, i).max(0.0))
            .collect();
        let colour = band.role.colour();
        if c.years.len() == 1 {
            let x = f64::from(c.years[0]);
            let corners = [(f.x(x - 0.3), f.y(upper[0])), (f.x(x + 0.3), f.y(lower[0]))];
            p.rect(corners, colour)?;
        } else {
            let edge: Vec<(i32, i32)> = order.iter().map(|&i| (x(i), f.y(upper[i]))).collect();
            let mut poly = edge.clone();
            poly.extend(order.iter().rev().map(|&i| (x(i), f.y(lower[i]))));
            p.draw(&Polygon::new(poly, colour.filled()))?;
            p.line(edge, WHITE, 1.5)?;
        }
        lower = upper;
    }
    draw_events(&p, &lay, &events)?;
    // Legend: top band first, as the stack reads.
    let entries: Vec<(Swatch, String)> = c
        .bands
        .iter()
        .rev()
        .map(|b| (Swatch::Fill(b.role.colour()), named_text(&b.name)))
        .collect();
    let heading = "Route (top band first)";
    let y = p.legend(lay.legend, lay.labels_top, heading, &entries)?;
    event_legend(&p, lay.legend, y + p.px(20.0), &events)
}

/// Re-exports through each intermediary over years: final destination solid, what the
/// intermediary's customs records dashed.
pub(crate) fn draw_reexports<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Reexports,
) -> Result<(), PlotError> {
    let words = c.words();
    let Some(years) = span(&c.years) else {
        return Page::new(area, &words)?.no_data("no years to show");
    };
    let values = c.hubs.iter().flat_map(|h| h.final_destination.iter());
    let max = values.copied().fold(0.0, f64::max);
    let (p, lay, events) = year_chart(area, &words, years, max, &c.events, c.base_year)?;
    let (f, th) = (lay.frame, &p.th);
    let order = year_order(&c.years);
    let markers = c.years.len() <= 20;
    for (k, h) in c.hubs.iter().enumerate() {
        let colour = c.colour(k);
        let pts = |values: &[f64]| -> Vec<(i32, i32)> {
            let at = |i: usize| (f.x(f64::from(c.years[i])), f.y(value(values, i)));
            order.iter().map(|&i| at(i)).collect()
        };
        let solid = pts(&h.final_destination);
        // A hub whose customs record all transit has one line: the two coincide.
        let recorded = if h.all_recorded() {
            Vec::new()
        } else {
            pts(&h.recorded)
        };
        if recorded.len() > 1 {
            polyline(p.area, th, recorded.clone(), colour, 3.0, true)?;
        }
        polyline(p.area, th, solid.clone(), colour, 4.5, false)?;
        if markers {
            for pt in &solid {
                p.draw(&Circle::new(*pt, th.px(6.0), colour.filled()))?;
            }
            let ring = ShapeStyle::from(&colour).stroke_width(th.px(2.0) as u32);
            for pt in &recorded {
                p.draw(&Circle::new(*pt, th.px(4.0), WHITE.filled()))?;
                p.draw(&Circle::new(*pt, th.px(4.0), ring))?;
            }
        }
    }
    draw_events(&p, &lay, &events)?;
    // Legend: intermediaries in the order their lines end, highest first; then the key to
    // the two line styles; then the events.
    let line = |colour, dashed| Swatch::Line { colour, dashed };
    let entries: Vec<(Swatch, String)> = c
        .by_end()
        .into_iter()
        .map(|(k, h)| (line(c.colour(k), false), h.label()))
        .collect();
    let heading = "Intermediary (highest first)";
    let y = p.legend(lay.legend, lay.labels_top, heading, &entries)?;
    let [solid, dashed] = c.line_key();
    let key = [
        (line(DARK_GREY, false), solid),
        (line(DARK_GREY, true), dashed),
    ];
    let y = p.legend(lay.legend, y + th.px(20.0), "Line style", &key)?;
    event_legend(&p, lay.legend, y + th.px(20.0), &events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_follows_the_data() {
        let mut c = FlowsByRoute {
            target: "RUS".into(),
            years: vec![2022, 2021, 2030],
            bands: Vec::new(),
            events: Vec::new(),
            base_year: None,
            note: "Scenario x.".into(),
        };
        let w = c.words();
        assert_eq!(w.title, "Goods reaching Russia by route, 2021–2030");
        assert!(w
            .subtitle
            .starts_with("Imports of Russia by final destination"));
        assert!(!w.subtitle.contains("Shaded"));
        assert_eq!(w.note, "Scenario x.");
        c.base_year = Some(2021);
        assert!(c
            .words()
            .subtitle
            .contains("Shaded: the base year 2021 (data the model is calibrated to)"));
        c.years.clear();
        assert_eq!(c.words().title, "Goods reaching Russia");
        let r = Reexports {
            target: "RUS".into(),
            years: vec![2021, 2022],
            hubs: vec![
                HubSeries::single("KAZ", vec![1.0, 2.0], 0.5),
                HubSeries::single("KGZ", vec![1.0, 3.0], 1.0),
                HubSeries {
                    hub: "2 other hubs".into(),
                    final_destination: vec![0.5, 1.0],
                    recorded: vec![0.25, 0.75],
                    shares: vec![("ARM".into(), 0.5), ("GEO".into(), 1.0)],
                    grouped: true,
                },
            ],
            events: Vec::new(),
            base_year: None,
            note: String::new(),
        };
        assert_eq!(
            r.words().title,
            "Re-exports to Russia through each intermediary, 2021–2022"
        );
        let [solid, dashed] = r.line_key();
        assert_eq!(solid, "re-exports reaching Russia (final destination)");
        assert_eq!(
            dashed,
            "as the intermediary's customs record them (share of transit: Kyrgyzstan 100%, Kazakhstan 50%, 2 other hubs 50-100%; less goods lost in transit); at 100% the lines coincide"
        );
        let csv = String::from_utf8(r.csv().unwrap()).unwrap();
        assert!(csv.contains("2022,2 other hubs,1.0,0.75,0.75"), "{csv}");
        // Dashes mean only "as recorded": the event lines are named as grey, not dashed.
        assert!(!EVENTS_HEADING.contains("Dashed"));
        assert!(!r.words().subtitle.contains("Dashed lines"));
    }

    #[test]
    fn many_instruments_in_a_year_are_counted() {
        let labels: Vec<String> = (1..=5).map(|k| format!("controls {k}")).collect();
        assert_eq!(
            year_labels(&labels),
            ["5 instruments (run.json), among them: controls 1"]
        );
        assert_eq!(year_labels(&labels[..2]), labels[..2].to_vec());
    }

    #[test]
    fn history_wording() {
        assert_eq!(history_text(None, 2021), "");
        assert_eq!(history_text(Some(2020), 2021), "");
        assert!(history_text(Some(2023), 2021).contains("history, 2021-2023"));
    }

    #[test]
    fn events_inside_the_years_are_grouped_by_year() {
        let e = |year, label: &str| Event {
            year,
            label: label.into(),
        };
        let events = [
            e(2021, "a"),
            e(2022, "b"),
            e(2022, "c"),
            e(2022, "b"),
            e(2031, "d"),
        ];
        assert_eq!(
            event_lines(&events, 2021, 2030),
            vec![(2022, vec!["b".to_owned(), "c".to_owned()])]
        );
    }
}
