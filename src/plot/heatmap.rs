//! Bilateral change heatmap: the percent change of every exporter-importer final-destination
//! flow between two years of a run or between two scenarios, on a diverging colour scale
//! (red for falls, blue for rises: ColorBrewer's RdBu, readable with the common colour-vision
//! deficiencies), with a colour legend.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::style::{
    anchored, draw_err, fmt_pct, footnote, nice_step, register_fonts, text, text_size, title_block,
    with_colour, Theme, MUTED, TEXT,
};
use super::{csv_of, PlotError};

/// What the two sides of a heatmap are.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparing {
    /// Two years of one scenario (`from` and `to` are the years).
    Years { scenario: String },
    /// Two scenarios in one year (`from` is the reference scenario).
    Scenarios { year: i32 },
}

/// Flows on both sides of a comparison, `[exporter][importer]` in the order of
/// `economies`; `None` where there is no flow (domestic sales).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeHeatmap {
    pub comparing: Comparing,
    pub from: String,
    pub to: String,
    pub economies: Vec<String>,
    pub from_values: Vec<Vec<Option<f64>>>,
    pub to_values: Vec<Vec<Option<f64>>>,
}

#[derive(Serialize)]
struct Row<'a> {
    exporter: &'a str,
    importer: &'a str,
    from: &'a str,
    to: &'a str,
    from_value: Option<f64>,
    to_value: Option<f64>,
    change_pct: Option<f64>,
}

impl ChangeHeatmap {
    fn value(m: &[Vec<Option<f64>>], i: usize, j: usize) -> Option<f64> {
        m.get(i).and_then(|r| r.get(j)).copied().flatten()
    }

    /// Percent change of the flow from `i` to `j`; `None` without a positive base.
    pub fn change(&self, i: usize, j: usize) -> Option<f64> {
        let a = Self::value(&self.from_values, i, j)?;
        let b = Self::value(&self.to_values, i, j)?;
        (a > 0.0).then(|| 100.0 * (b - a) / a)
    }

    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let mut rows = Vec::new();
        for (i, e) in self.economies.iter().enumerate() {
            for (j, m) in self.economies.iter().enumerate() {
                if i == j {
                    continue;
                }
                rows.push(Row {
                    exporter: e,
                    importer: m,
                    from: &self.from,
                    to: &self.to,
                    from_value: Self::value(&self.from_values, i, j),
                    to_value: Self::value(&self.to_values, i, j),
                    change_pct: self.change(i, j),
                });
            }
        }
        csv_of(&rows, "bilateral change")
    }
}

/// ColorBrewer RdBu (11 classes), from strong fall to strong rise.
const RDBU: [(u8, u8, u8); 11] = [
    (103, 0, 31),
    (178, 24, 43),
    (214, 96, 77),
    (244, 165, 130),
    (253, 219, 199),
    (247, 247, 247),
    (209, 229, 240),
    (146, 197, 222),
    (67, 147, 195),
    (33, 102, 172),
    (5, 48, 97),
];

/// Colour of `t` in [-1, 1] (clamped), interpolated on RdBu.
fn diverging(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    // Skip the darkest ends so that cell text stays readable.
    let pos = 1.0 + (t + 1.0) / 2.0 * 8.0;
    let k = (pos.floor() as usize).min(9);
    let u = pos - k as f64;
    let (a, b) = (RDBU[k], RDBU[(k + 1).min(10)]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The change at which colours saturate: a round number at or above the 90th percentile of
/// the absolute changes, between 5% (small changes stay pale, not exaggerated) and 100%.
/// A few large changes then do not wash out all the others; every cell prints its number.
fn colour_limit(changes: &[Vec<Option<f64>>]) -> f64 {
    let mut abs: Vec<f64> = changes
        .iter()
        .flatten()
        .flatten()
        .map(|v| v.abs())
        .collect();
    if abs.is_empty() {
        return 5.0;
    }
    abs.sort_by(f64::total_cmp);
    let p90 = abs[(0.9 * (abs.len() - 1) as f64).round() as usize];
    nice_step(p90.clamp(5.0, 100.0), 1).min(100.0)
}

fn dark(c: RGBColor) -> bool {
    0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2) < 120.0
}

const NO_DATA: RGBColor = RGBColor(200, 200, 200);
const DOMESTIC: RGBColor = RGBColor(250, 250, 250);

/// Draws the heatmap: rows exporters, columns importers, a cell per pair.
pub fn draw_change_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ChangeHeatmap,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let (title, sub) = match &c.comparing {
        Comparing::Years { scenario } => (
            format!(
                "Change in final-destination flows, {} to {} ({scenario})",
                c.from, c.to
            ),
            format!(
                "Percent change of each exporter's sales to final buyers in each importer, {} to {}. Rows: exporter; columns: importer.",
                c.from, c.to
            ),
        ),
        Comparing::Scenarios { year } => (
            format!(
                "Final-destination flows in {year}: {} against {}",
                c.to, c.from
            ),
            format!(
                "Percent difference of each exporter's sales to final buyers in each importer, scenario {} against {} in {year}. Rows: exporter; columns: importer.",
                c.to, c.from
            ),
        ),
    };
    let top = title_block(area, &th, &title, &sub)?;
    let n = c.economies.len();
    let changes: Vec<Vec<Option<f64>>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (i != j).then(|| c.change(i, j)).flatten())
                .collect()
        })
        .collect();
    let cap = colour_limit(&changes);
    let max = changes
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let saturated = max > cap;
    // Grid geometry: square cells, codes on top and left, colour bar on the right.
    let tick = th.tick();
    let mut code_w = 0;
    for e in &c.economies {
        code_w = code_w.max(text_size(area, e, &tick)?.0);
    }
    let legend_w = th.px(300.0);
    let left = th.px(40.0) + code_w + th.px(16.0);
    let grid_top = top + th.px(70.0);
    let avail_w = th.w - left - legend_w - th.px(80.0);
    let avail_h = th.h - grid_top - th.px(60.0);
    // Square cells, no larger than needed for their labels (a few economies would
    // otherwise give giant cells).
    let cell = if n > 0 {
        (avail_w.min(avail_h) / n as i32).clamp(2, th.px(120.0).max(2))
    } else {
        1
    };
    let cell_style = th.text(if cell >= th.px(60.0) { 18.0 } else { 14.0 }, TEXT);
    let axis_title = th.text(20.0, MUTED);
    text(
        area,
        "importer (final buyer) →",
        (left + n as i32 * cell / 2, grid_top - th.px(40.0)),
        &anchored(&axis_title, HPos::Center, VPos::Bottom),
    )?;
    text(
        area,
        "exporter ↓",
        (th.px(40.0), grid_top - th.px(40.0)),
        &anchored(&axis_title, HPos::Left, VPos::Bottom),
    )?;
    for (j, e) in c.economies.iter().enumerate() {
        let x = left + j as i32 * cell + cell / 2;
        text(
            area,
            e,
            (x, grid_top - th.px(8.0)),
            &anchored(&tick, HPos::Center, VPos::Bottom),
        )?;
    }
    for (i, (e, row)) in c.economies.iter().zip(&changes).enumerate() {
        let y = grid_top + i as i32 * cell + cell / 2;
        text(
            area,
            e,
            (left - th.px(10.0), y),
            &anchored(&tick, HPos::Right, VPos::Center),
        )?;
        for (j, &value) in row.iter().enumerate() {
            let x0 = left + j as i32 * cell;
            let y0 = grid_top + i as i32 * cell;
            let colour = if i == j {
                DOMESTIC
            } else {
                value.map_or(NO_DATA, |v| diverging(v / cap))
            };
            area.draw(&Rectangle::new(
                [(x0 + 1, y0 + 1), (x0 + cell - 1, y0 + cell - 1)],
                colour.filled(),
            ))
            .map_err(draw_err)?;
            if i == j {
                area.draw(&PathElement::new(
                    vec![(x0 + 1, y0 + cell - 1), (x0 + cell - 1, y0 + 1)],
                    ShapeStyle::from(&NO_DATA).stroke_width(th.px(2.0) as u32),
                ))
                .map_err(draw_err)?;
            }
            let label = match value {
                Some(v) => fmt_pct(v),
                None if i == j => String::new(),
                None => match ChangeHeatmap::value(&c.to_values, i, j) {
                    Some(b) if b > 0.0 => "new".to_owned(),
                    _ => "–".to_owned(),
                },
            };
            if label.is_empty() {
                continue;
            }
            let (w, h) = text_size(area, &label, &cell_style)?;
            if w <= cell - 6 && h <= cell - 4 {
                let tc = if dark(colour) { WHITE } else { TEXT };
                text(
                    area,
                    &label,
                    (x0 + cell / 2, y0 + cell / 2),
                    &anchored(
                        &with_colour(cell_style.clone(), tc),
                        HPos::Center,
                        VPos::Center,
                    ),
                )?;
            }
        }
    }
    // Colour legend: a vertical bar from -cap (bottom) to +cap (top).
    let lx = left + n as i32 * cell + th.px(60.0);
    let ly0 = grid_top;
    let bar_h = (n as i32 * cell).clamp(th.px(200.0), th.px(560.0));
    let bar_w = th.px(30.0);
    text(
        area,
        "change, %",
        (lx, ly0 - th.px(12.0)),
        &anchored(&th.bold(20.0, TEXT), HPos::Left, VPos::Bottom),
    )?;
    for k in 0..bar_h {
        let t = 1.0 - 2.0 * f64::from(k) / f64::from(bar_h.max(1) - 1).max(1.0);
        area.draw(&Rectangle::new(
            [(lx, ly0 + k), (lx + bar_w, ly0 + k + 1)],
            diverging(t).filled(),
        ))
        .map_err(draw_err)?;
    }
    for (frac, v) in [
        (0.0, cap),
        (0.25, cap / 2.0),
        (0.5, 0.0),
        (0.75, -cap / 2.0),
        (1.0, -cap),
    ] {
        let y = ly0 + (frac * f64::from(bar_h - 1)).round() as i32;
        area.draw(&PathElement::new(
            vec![(lx + bar_w, y), (lx + bar_w + th.px(8.0), y)],
            ShapeStyle::from(&TEXT).stroke_width(th.px(2.0) as u32),
        ))
        .map_err(draw_err)?;
        let mut label = if v == 0.0 {
            "0%".to_owned()
        } else {
            fmt_pct(v)
        };
        if saturated && frac == 0.0 {
            label = format!("≥ {label}");
        } else if saturated && frac == 1.0 {
            label = format!("≤ {label}");
        }
        text(
            area,
            &label,
            (lx + bar_w + th.px(14.0), y),
            &anchored(&tick, HPos::Left, VPos::Center),
        )?;
    }
    // Swatches for cells without a change.
    let ls = anchored(&th.text(18.0, TEXT), HPos::Left, VPos::Center);
    let mut sy = ly0 + bar_h + th.px(34.0);
    let sw = th.px(30.0);
    let room = th.w - lx - bar_w - th.px(50.0);
    for (domestic, label) in [
        (
            false,
            format!("no flow in {} (\"new\": one in {})", c.from, c.to),
        ),
        (true, "domestic sales (not shown)".to_owned()),
    ] {
        let fill = if domestic { DOMESTIC } else { NO_DATA };
        area.draw(&Rectangle::new(
            [(lx, sy), (lx + sw, sy + sw)],
            fill.filled(),
        ))
        .map_err(draw_err)?;
        area.draw(&Rectangle::new(
            [(lx, sy), (lx + sw, sy + sw)],
            ShapeStyle::from(&NO_DATA).stroke_width(1),
        ))
        .map_err(draw_err)?;
        if domestic {
            area.draw(&PathElement::new(
                vec![(lx, sy + sw), (lx + sw, sy)],
                ShapeStyle::from(&NO_DATA).stroke_width(th.px(2.0) as u32),
            ))
            .map_err(draw_err)?;
        }
        let lines = super::style::wrap(area, &label, &ls, room)?;
        for (k, line) in lines.iter().enumerate() {
            text(
                area,
                line,
                (lx + sw + th.px(12.0), sy + sw / 2 + k as i32 * th.px(24.0)),
                &ls,
            )?;
        }
        sy += sw.max(th.px(24.0) * lines.len() as i32) + th.px(16.0);
    }
    footnote(
        area,
        &th,
        "Values: final-destination flows (goods bought by final buyers in the importer, by any route), all sectors.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_scale_is_white_at_zero_and_saturates() {
        let w = diverging(0.0);
        assert!(w.0 > 240 && w.1 > 240 && w.2 > 240);
        assert_eq!(diverging(5.0), diverging(1.0));
        let red = diverging(-1.0);
        let blue = diverging(1.0);
        assert!(red.0 > red.2 && blue.2 > blue.0);
        assert_eq!(diverging(f64::NAN), diverging(0.0));
    }
}
