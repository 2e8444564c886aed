//! Flows over years: into the route target stacked by route, and re-exports through each
//! intermediary (final destination against what its customs records). Both mark the years
//! in which sanctions and frictions take effect.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::style::{
    anchored, draw_axes, draw_err, footnote, hub_colour, legend, origin_colour, polyline,
    register_fonts, text, text_size, title_block, year_ticks, Frame, Swatch, Theme, ValueAxis,
    DARK_GREY, GREY, TEXT,
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
    /// Through the `i`-th intermediary.
    Via(usize),
}

impl Role {
    pub(crate) fn colour(self) -> RGBColor {
        match self {
            Role::Direct(i) => origin_colour(i),
            Role::OtherOrigins => GREY,
            Role::Via(i) => hub_colour(i),
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
    /// Footnote: scenario, sector, which origins are grouped.
    pub note: String,
}

/// Re-exports through one intermediary.
#[derive(Debug, Clone, PartialEq)]
pub struct HubSeries {
    pub hub: String,
    /// Re-exports reaching the target's final buyers, one per year.
    pub final_destination: Vec<f64>,
    /// Share of transit the hub's customs records.
    pub recorded_share: f64,
}

/// Re-exports to the target through each intermediary over years.
#[derive(Debug, Clone, PartialEq)]
pub struct Reexports {
    pub target: String,
    pub years: Vec<i32>,
    pub hubs: Vec<HubSeries>,
    pub events: Vec<Event>,
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
                let v = h.final_destination.get(i).copied().unwrap_or(0.0);
                rows.push(HubRow {
                    year,
                    intermediary: &h.hub,
                    reexports_final_destination: v,
                    recorded_by_intermediary: v * h.recorded_share,
                    recorded_share: h.recorded_share,
                });
            }
        }
        csv_of(&rows, "re-exports")
    }
}

/// The year range of a chart as `(first, last)`; `None` without years.
fn span(years: &[i32]) -> Option<(i32, i32)> {
    Some((*years.iter().min()?, *years.iter().max()?))
}

/// The plotting frame between the title block and the legend column, with room for tick
/// labels on the left and for the event years' markers at the top.
struct Layout {
    frame: Frame,
    /// Top of the event markers' rows; the data region (`frame.t`) starts below them.
    labels_top: i32,
    /// Row of each event year's marker.
    marker_rows: Vec<i32>,
    legend_x: i32,
    legend_w: i32,
}

const MARKER_ROW: f64 = 28.0;

fn layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    top: i32,
    axis: &ValueAxis,
    x_range: (f64, f64),
    event_years: &[i32],
) -> Result<Layout, PlotError> {
    let mut widest = 0;
    for &v in &axis.ticks {
        widest = widest.max(text_size(area, &axis.label(v), &th.tick())?.0);
    }
    let legend_w = th.px(420.0);
    let l = th.px(40.0) + widest.max(th.px(70.0)) + th.px(14.0);
    let r = (th.w - th.px(40.0) - legend_w - th.px(50.0)).max(l + 10);
    let t = top + th.px(36.0);
    let b = th.h - th.px(120.0);
    let mut frame = Frame {
        l,
        t,
        r,
        b: b.max(t + 10),
        x0: x_range.0,
        x1: x_range.1,
        y0: axis.lo,
        y1: axis.hi,
    };
    // Year markers centred on their lines, in a second row where two would touch.
    let ms = marker_style(th);
    let mut marker_rows = Vec::new();
    let mut right_edge = [i32::MIN; 2];
    for y in event_years {
        let w = text_size(area, &y.to_string(), &ms)?.0;
        let x = frame.x(f64::from(*y));
        let row = usize::from(x - w / 2 <= right_edge[0] + th.px(10.0));
        let row = if row == 1 && x - w / 2 <= right_edge[1] + th.px(10.0) {
            0
        } else {
            row
        };
        right_edge[row] = x + w / 2;
        marker_rows.push(row as i32);
    }
    let rows = marker_rows.iter().max().map_or(0, |r| r + 1);
    frame.t = t + rows * th.px(MARKER_ROW) + if rows > 0 { th.px(10.0) } else { 0 };
    frame.b = frame.b.max(frame.t + 10);
    Ok(Layout {
        frame,
        labels_top: t,
        marker_rows,
        legend_x: r + th.px(50.0),
        legend_w,
    })
}

fn marker_style(th: &Theme) -> TextStyle<'static> {
    th.bold(19.0, DARK_GREY)
}

/// Event years inside the chart, each with its instruments' labels.
fn event_lines(events: &[Event], first: i32, last: i32) -> Vec<(i32, Vec<String>)> {
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

/// Dashed vertical lines at the event years, each with its year above the data; what
/// happened is listed in the legend column ([`event_legend`]).
fn draw_events<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    lay: &Layout,
    events: &[(i32, Vec<String>)],
) -> Result<(), PlotError> {
    let f = &lay.frame;
    let ms = anchored(&marker_style(th), HPos::Center, VPos::Center);
    let row_h = th.px(MARKER_ROW);
    for ((year, _), row) in events.iter().zip(&lay.marker_rows) {
        let x = f.x(f64::from(*year));
        let y = lay.labels_top + row * row_h + row_h / 2;
        polyline(
            area,
            th,
            vec![(x, f.b), (x, y + row_h / 2)],
            DARK_GREY,
            2.0,
            true,
        )?;
        text(area, &year.to_string(), (x, y), &ms)?;
    }
    Ok(())
}

/// The events listed under a heading in the legend column: the year in bold, then what
/// took effect, wrapped with a hanging indent. Stops above `max_y`, saying how many more.
fn event_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    (x, y): (i32, i32),
    w: i32,
    max_y: i32,
    events: &[(i32, Vec<String>)],
) -> Result<(), PlotError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut y = y;
    let hs = anchored(&th.bold(21.0, TEXT), HPos::Left, VPos::Top);
    for line in super::style::wrap(area, "Dashed lines: sanctions and frictions", &hs, w)? {
        text(area, &line, (x, y), &hs)?;
        y += th.px(28.0);
    }
    y += th.px(6.0);
    let ys = anchored(&th.bold(19.0, TEXT), HPos::Left, VPos::Top);
    let ls = anchored(&th.text(19.0, TEXT), HPos::Left, VPos::Top);
    let indent = text_size(area, "0000", &ys)?.0 + th.px(10.0);
    let line_h = th.px(25.0);
    let total: usize = events.iter().map(|(_, l)| l.len()).sum();
    let mut shown = 0;
    for (year, labels) in events {
        for label in labels {
            let lines = super::style::wrap(area, label, &ls, w - indent)?;
            if y + line_h * (lines.len() as i32 + 1) > max_y && shown < total {
                let more = format!("… and {} more (run.json)", total - shown);
                return text(area, &more, (x, y), &ls);
            }
            text(area, &year.to_string(), (x, y), &ys)?;
            for line in &lines {
                text(area, line, (x + indent, y), &ls)?;
                y += line_h;
            }
            y += th.px(6.0);
            shown += 1;
        }
    }
    Ok(())
}

fn x_ticks(first: i32, last: i32) -> Vec<(f64, String)> {
    year_ticks(first, last)
        .into_iter()
        .map(|y| (f64::from(y), y.to_string()))
        .collect()
}

/// The x range: the years, or one year padded so that it has a width.
fn x_range(first: i32, last: i32) -> (f64, f64) {
    if first == last {
        (f64::from(first) - 0.5, f64::from(last) + 0.5)
    } else {
        (f64::from(first), f64::from(last))
    }
}

pub(crate) fn no_data<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    message: &str,
) -> Result<(), PlotError> {
    let s = anchored(&th.axis(), HPos::Center, VPos::Center);
    text(area, message, (th.w / 2, th.h / 2), &s)
}

/// Flows into the target over years, stacked by route, with event years marked.
pub fn draw_flows_by_route<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &FlowsByRoute,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let Some((first, last)) = span(&c.years) else {
        title_block(area, &th, &format!("Goods reaching {}", c.target), "")?;
        return no_data(area, &th, "no years to show");
    };
    let years_text = super::style::years_text(first, last);
    let top = title_block(
        area,
        &th,
        &format!("Goods reaching {} by route, {years_text}", c.target),
        &format!(
            "Imports of {} by final destination, stacked by route: direct from each origin and re-exported via each intermediary. Dashed lines: years in which sanctions and frictions take effect (listed on the right).",
            c.target
        ),
    )?;
    let totals: Vec<f64> = (0..c.years.len())
        .map(|i| {
            c.bands
                .iter()
                .map(|b| b.values.get(i).copied().unwrap_or(0.0).max(0.0))
                .sum()
        })
        .collect();
    let axis = ValueAxis::new(0.0, totals.iter().copied().fold(0.0, f64::max), 7);
    let events = event_lines(&c.events, first, last);
    let years: Vec<i32> = events.iter().map(|(y, _)| *y).collect();
    let lay = layout(area, &th, top, &axis, x_range(first, last), &years)?;
    let f = lay.frame;
    draw_axes(
        area,
        &th,
        &f,
        &axis,
        "USD bn",
        &x_ticks(first, last),
        "year",
    )?;
    // Stack bands bottom-up; a single year is drawn as a bar.
    let mut lower = vec![0.0; c.years.len()];
    let mut order: Vec<usize> = (0..c.years.len()).collect();
    order.sort_by_key(|&i| c.years[i]);
    for band in &c.bands {
        let upper: Vec<f64> = lower
            .iter()
            .enumerate()
            .map(|(i, lo)| lo + band.values.get(i).copied().unwrap_or(0.0).max(0.0))
            .collect();
        let colour = band.role.colour();
        if c.years.len() == 1 {
            let x = f64::from(c.years[0]);
            area.draw(&Rectangle::new(
                [(f.x(x - 0.3), f.y(upper[0])), (f.x(x + 0.3), f.y(lower[0]))],
                colour.filled(),
            ))
            .map_err(draw_err)?;
        } else {
            let mut poly: Vec<(i32, i32)> = order
                .iter()
                .map(|&i| (f.x(f64::from(c.years[i])), f.y(upper[i])))
                .collect();
            poly.extend(
                order
                    .iter()
                    .rev()
                    .map(|&i| (f.x(f64::from(c.years[i])), f.y(lower[i]))),
            );
            area.draw(&Polygon::new(poly, colour.filled()))
                .map_err(draw_err)?;
            let edge: Vec<(i32, i32)> = order
                .iter()
                .map(|&i| (f.x(f64::from(c.years[i])), f.y(upper[i])))
                .collect();
            area.draw(&PathElement::new(
                edge,
                ShapeStyle::from(&WHITE).stroke_width(th.px(1.5) as u32),
            ))
            .map_err(draw_err)?;
        }
        lower = upper;
    }
    draw_events(area, &th, &lay, &events)?;
    // Legend: top band first, as the stack reads.
    let entries: Vec<(Swatch, String)> = c
        .bands
        .iter()
        .rev()
        .map(|b| (Swatch::Fill(b.role.colour()), b.name.clone()))
        .collect();
    let y = legend(
        area,
        &th,
        (lay.legend_x, lay.labels_top),
        lay.legend_w,
        "Route (top band first)",
        &entries,
    )?;
    event_legend(
        area,
        &th,
        (lay.legend_x, y + th.px(20.0)),
        lay.legend_w,
        th.h - th.px(46.0),
        &events,
    )?;
    footnote(area, &th, &c.note)
}

/// Re-exports through each intermediary over years: final destination solid, what the
/// intermediary's customs records dashed.
pub fn draw_reexports<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Reexports,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let Some((first, last)) = span(&c.years) else {
        title_block(area, &th, &format!("Re-exports to {}", c.target), "")?;
        return no_data(area, &th, "no years to show");
    };
    let years_text = super::style::years_text(first, last);
    let top = title_block(
        area,
        &th,
        &format!(
            "Re-exports to {} through each intermediary, {years_text}",
            c.target
        ),
        &format!(
            "Solid: goods re-exported through each intermediary to final buyers in {}. Dashed: the part the intermediary's own customs records (its recorded share of transit).",
            c.target
        ),
    )?;
    let max = c
        .hubs
        .iter()
        .flat_map(|h| h.final_destination.iter().copied())
        .fold(0.0, f64::max);
    let axis = ValueAxis::new(0.0, max, 7);
    let events = event_lines(&c.events, first, last);
    let years: Vec<i32> = events.iter().map(|(y, _)| *y).collect();
    let lay = layout(area, &th, top, &axis, x_range(first, last), &years)?;
    let f = lay.frame;
    draw_axes(
        area,
        &th,
        &f,
        &axis,
        "USD bn",
        &x_ticks(first, last),
        "year",
    )?;
    let mut order: Vec<usize> = (0..c.years.len()).collect();
    order.sort_by_key(|&i| c.years[i]);
    let markers = c.years.len() <= 20;
    let mut entries: Vec<(f64, Vec<(Swatch, String)>)> = Vec::new();
    for (k, h) in c.hubs.iter().enumerate() {
        let colour = hub_colour(k);
        let pts = |scale: f64| -> Vec<(i32, i32)> {
            order
                .iter()
                .map(|&i| {
                    let v = h.final_destination.get(i).copied().unwrap_or(0.0);
                    (f.x(f64::from(c.years[i])), f.y(v * scale))
                })
                .collect()
        };
        let solid = pts(1.0);
        // A hub whose customs record all transit has one line: the two coincide.
        let recorded = if h.recorded_share < 1.0 {
            pts(h.recorded_share)
        } else {
            Vec::new()
        };
        if recorded.len() > 1 {
            polyline(area, &th, recorded.clone(), colour, 3.0, true)?;
        }
        polyline(area, &th, solid.clone(), colour, 4.5, false)?;
        if markers {
            for p in &solid {
                area.draw(&Circle::new(*p, th.px(6.0), colour.filled()))
                    .map_err(draw_err)?;
            }
            for p in &recorded {
                area.draw(&Circle::new(*p, th.px(4.0), WHITE.filled()))
                    .map_err(draw_err)?;
                area.draw(&Circle::new(
                    *p,
                    th.px(4.0),
                    ShapeStyle::from(&colour).stroke_width(th.px(2.0) as u32),
                ))
                .map_err(draw_err)?;
            }
        }
        let end = order
            .last()
            .and_then(|&i| h.final_destination.get(i).copied())
            .unwrap_or(0.0);
        entries.push((
            end,
            vec![(
                Swatch::Line {
                    colour,
                    dashed: false,
                },
                h.hub.clone(),
            )],
        ));
    }
    draw_events(area, &th, &lay, &events)?;
    // Legend: intermediaries in the order their lines end, highest first; then the key to
    // the two line styles; then the events.
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    let entries: Vec<(Swatch, String)> = entries.into_iter().flat_map(|(_, e)| e).collect();
    let y = legend(
        area,
        &th,
        (lay.legend_x, lay.labels_top),
        lay.legend_w,
        "Intermediary (highest first)",
        &entries,
    )?;
    let end_of = |h: &HubSeries| {
        order
            .last()
            .and_then(|&i| h.final_destination.get(i).copied())
            .unwrap_or(0.0)
    };
    let mut by_end: Vec<&HubSeries> = c.hubs.iter().collect();
    by_end.sort_by(|a, b| end_of(b).total_cmp(&end_of(a)));
    let shares: Vec<String> = by_end
        .iter()
        .map(|h| {
            format!(
                "{} {}%",
                h.hub,
                super::style::fmt_num(100.0 * h.recorded_share, 0)
            )
        })
        .collect();
    let y = legend(
        area,
        &th,
        (lay.legend_x, y + th.px(20.0)),
        lay.legend_w,
        "Line style",
        &[
            (
                Swatch::Line {
                    colour: DARK_GREY,
                    dashed: false,
                },
                format!("re-exports reaching {} (final destination)", c.target),
            ),
            (
                Swatch::Line {
                    colour: DARK_GREY,
                    dashed: true,
                },
                format!(
                    "as the intermediary's customs record them (share of transit: {}){}",
                    shares.join(", "),
                    if c.hubs.iter().any(|h| h.recorded_share >= 1.0) {
                        "; at 100% the lines coincide"
                    } else {
                        ""
                    }
                ),
            ),
        ],
    )?;
    event_legend(
        area,
        &th,
        (lay.legend_x, y + th.px(20.0)),
        lay.legend_w,
        th.h - th.px(46.0),
        &events,
    )?;
    footnote(area, &th, &c.note)
}
