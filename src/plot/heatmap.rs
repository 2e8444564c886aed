//! Bilateral change heatmap: the percent change of every exporter-importer final-destination
//! flow between two years of a run or between two scenarios, on a diverging colour scale
//! (red for falls, blue for rises: ColorBrewer's RdBu, readable with the common colour-vision
//! deficiencies), with a colour legend.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::names::name;
use super::page::{Page, Words, BOTTOM, BOTTOM_LEFT, CENTRE, LEFT, RIGHT};
use super::style::{fmt_pct, nice_step, with_colour, wrap, MUTED, TEXT};
use super::{csv_of, PlotError};

/// What the two sides of a heatmap are.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparing {
    /// Two years of one scenario (`from` and `to` are the years).
    Years { scenario: String },
    /// Two scenarios in one year (`from` is the reference scenario).
    Scenarios { year: i32 },
}

/// Which flows a heatmap compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Goods bought by final buyers in the importer, by any route (`final_destination`).
    FinalDestination,
    /// Exports as the exporter's own customs record them (`recorded.csv`, reporter =
    /// exporter): goods shipped to an intermediary count as exports to it.
    RecordedByExporter,
}

impl Measure {
    fn noun(self) -> &'static str {
        match self {
            Measure::FinalDestination => "final-destination flows",
            Measure::RecordedByExporter => "recorded exports",
        }
    }
}

/// Flows on both sides of a comparison, `[exporter][importer]` in the order of
/// `economies`; `None` where there is no flow (domestic sales).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeHeatmap {
    pub comparing: Comparing,
    pub measure: Measure,
    /// The source line of the footnote.
    pub source: String,
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
    pub(crate) fn change(&self, i: usize, j: usize) -> Option<f64> {
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

impl ChangeHeatmap {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (from, to) = (&self.from, &self.to);
        let noun = self.measure.noun();
        let what = match self.measure {
            Measure::FinalDestination => "each exporter's sales to final buyers in each importer",
            Measure::RecordedByExporter => {
                "each exporter's exports to each partner as its own customs record them (goods for re-export count as exports to the intermediary)"
            }
        };
        let (title, subtitle) = match &self.comparing {
            Comparing::Years { scenario } => (
                format!("Change in {noun}, {from} to {to} ({scenario})"),
                format!("Percent change of {what}, {from} to {to}. Rows: exporter; columns: importer."),
            ),
            Comparing::Scenarios { year } => (
                format!("{} in {year}: {to} against {from}", super::compare::sentence(noun)),
                format!("Percent difference of {what}, scenario {to} against {from} in {year}. Rows: exporter; columns: importer."),
            ),
        };
        let codes: Vec<String> = self
            .economies
            .iter()
            .map(|c| format!("{c} {}", name(c)))
            .collect();
        // The codes first: with 20 or more economies and a long source line, the source is
        // what may be cut at the end, never the key to the grid.
        let mut note = format!("Codes: {}. All sectors.", codes.join(", "));
        if !self.source.is_empty() {
            note.push(' ');
            note.push_str(&self.source);
        }
        Words {
            title,
            subtitle,
            note,
            note_lines: 4,
        }
    }

    /// Every pair's change, `[exporter][importer]`; `None` on the diagonal.
    fn changes(&self) -> Vec<Vec<Option<f64>>> {
        let n = self.economies.len();
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (i != j).then(|| self.change(i, j)).flatten())
                    .collect()
            })
            .collect()
    }

    /// The text of a cell: its change, "new" for a flow that starts, "–" for none.
    fn cell_text(&self, i: usize, j: usize, change: Option<f64>) -> String {
        match change {
            // Past +999% a percentage no longer fits a cell (or reads well): the multiple.
            Some(v) if v >= 999.5 => format!("×{}", super::style::fmt_num(1.0 + v / 100.0, 0)),
            Some(v) => fmt_pct(v),
            None if i == j => String::new(),
            None => match Self::value(&self.to_values, i, j) {
                Some(b) if b > 0.0 => "new".to_owned(),
                _ => "–".to_owned(),
            },
        }
    }
}

/// The labels of the colour bar's ticks, top to bottom, with their position on it.
fn colour_ticks(cap: f64, saturated: bool) -> Vec<(f64, String)> {
    let ticks = [
        (0.0, cap),
        (0.25, cap / 2.0),
        (0.5, 0.0),
        (0.75, -cap / 2.0),
        (1.0, -cap),
    ];
    ticks
        .into_iter()
        .map(|(frac, v)| {
            let label = if v == 0.0 {
                "0%".to_owned()
            } else {
                fmt_pct(v)
            };
            let label = match (saturated, frac) {
                (true, 0.0) => format!("≥ {label}"),
                (true, 1.0) => format!("≤ {label}"),
                _ => label,
            };
            (frac, label)
        })
        .collect()
}

/// The grid: its top left corner and the side of a cell.
struct Grid {
    left: i32,
    top: i32,
    cell: i32,
}

/// Draws the heatmap: rows exporters, columns importers, a cell per pair.
pub(crate) fn draw_change_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ChangeHeatmap,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
    let n = c.economies.len();
    let changes = c.changes();
    let cap = colour_limit(&changes);
    let max = changes
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    // Grid geometry: square cells, codes on top and left, colour bar on the right.
    let tick = th.tick();
    let code_w = p.widest(&c.economies, &tick)?;
    let legend_w = th.px(300.0);
    let left = th.px(40.0) + code_w + th.px(16.0);
    let top = p.top + th.px(70.0);
    let avail_w = th.w - left - legend_w - th.px(80.0);
    // Down to the footnote, whose height depends on its lines.
    let avail_h = p.bottom - top - th.px(16.0);
    // Square cells, no larger than needed for their labels (a few economies would
    // otherwise give giant cells).
    let cell = if n > 0 {
        (avail_w.min(avail_h) / n as i32).clamp(2, th.px(120.0).max(2))
    } else {
        1
    };
    let grid = Grid { left, top, cell };
    let axis_title = th.text(20.0, MUTED);
    let y = top - th.px(50.0);
    let importers = match c.measure {
        Measure::FinalDestination => "importer (final buyer) →",
        Measure::RecordedByExporter => "partner (as recorded) →",
    };
    p.text(
        importers,
        (left + n as i32 * cell / 2, y),
        &axis_title,
        BOTTOM,
    )?;
    p.text("exporter ↓", (th.px(40.0), y), &axis_title, BOTTOM_LEFT)?;
    // Column codes at the largest size whose widest code fits a cell; where none does (many
    // economies), every other code one line higher, so that neighbours never touch.
    let mut head = th.text(12.0, super::style::TEXT);
    let mut stagger = true;
    for size in [18.0, 16.0, 14.0, 12.0] {
        let style = th.text(size, super::style::TEXT);
        if p.widest(&c.economies, &style)? <= cell - th.px(3.0) {
            (head, stagger) = (style, false);
            break;
        }
    }
    let head = if cell >= code_w + th.px(3.0) {
        tick.clone()
    } else {
        head
    };
    let line_h = p.size("X", &head)?.1 + th.px(4.0);
    for (j, e) in c.economies.iter().enumerate() {
        let x = left + j as i32 * cell + cell / 2;
        let lift = if stagger && j % 2 == 1 { line_h } else { 0 };
        p.text(e, (x, top - th.px(8.0) - lift), &head, BOTTOM)?;
    }
    for (i, (e, row)) in c.economies.iter().zip(&changes).enumerate() {
        let y = top + i as i32 * cell + cell / 2;
        p.text(e, (left - th.px(10.0), y), &tick, RIGHT)?;
        for (j, &value) in row.iter().enumerate() {
            draw_cell(&p, c, &grid, (i, j), value, cap)?;
        }
    }
    draw_colour_legend(&p, c, &grid, cap, max > cap)
}

/// One cell of the grid: its colour, a cross on the diagonal, its number where it fits.
fn draw_cell<DB: DrawingBackend>(
    p: &Page<DB>,
    c: &ChangeHeatmap,
    g: &Grid,
    (i, j): (usize, usize),
    value: Option<f64>,
    cap: f64,
) -> Result<(), PlotError> {
    let th = &p.th;
    let cell = g.cell;
    let (x0, y0) = (g.left + j as i32 * cell, g.top + i as i32 * cell);
    let colour = if i == j {
        DOMESTIC
    } else {
        value.map_or(NO_DATA, |v| diverging(v / cap))
    };
    p.rect([(x0 + 1, y0 + 1), (x0 + cell - 1, y0 + cell - 1)], colour)?;
    if i == j {
        let cross = vec![(x0 + 1, y0 + cell - 1), (x0 + cell - 1, y0 + 1)];
        p.line(cross, NO_DATA, 2.0)?;
    }
    let label = c.cell_text(i, j, value);
    if label.is_empty() {
        return Ok(());
    }
    // The largest size that fits the cell; a label that fits at none is left out.
    let sizes: &[f64] = if cell >= th.px(60.0) {
        &[18.0, 14.0, 12.0]
    } else {
        &[14.0, 12.0]
    };
    for &size in sizes {
        let style = th.text(size, TEXT);
        let (w, h) = p.size(&label, &style)?;
        if w <= cell - 6 && h <= cell - 4 {
            let style = with_colour(style, if dark(colour) { WHITE } else { TEXT });
            p.text(&label, (x0 + cell / 2, y0 + cell / 2), &style, CENTRE)?;
            break;
        }
    }
    Ok(())
}

/// The colour bar from -cap (bottom) to +cap (top) right of the grid, and swatches for
/// the cells without a change under it.
fn draw_colour_legend<DB: DrawingBackend>(
    p: &Page<DB>,
    c: &ChangeHeatmap,
    g: &Grid,
    cap: f64,
    saturated: bool,
) -> Result<(), PlotError> {
    let th = &p.th;
    let n = c.economies.len() as i32;
    let lx = g.left + n * g.cell + th.px(60.0);
    let ly0 = g.top;
    let bar_h = (n * g.cell).clamp(th.px(200.0), th.px(560.0));
    let bar_w = th.px(30.0);
    let heading = th.bold(20.0, TEXT);
    p.text("change, %", (lx, ly0 - th.px(12.0)), &heading, BOTTOM_LEFT)?;
    for k in 0..bar_h {
        let t = 1.0 - 2.0 * f64::from(k) / f64::from(bar_h.max(1) - 1).max(1.0);
        p.rect([(lx, ly0 + k), (lx + bar_w, ly0 + k + 1)], diverging(t))?;
    }
    for (frac, label) in colour_ticks(cap, saturated) {
        let y = ly0 + (frac * f64::from(bar_h - 1)).round() as i32;
        p.line(
            vec![(lx + bar_w, y), (lx + bar_w + th.px(8.0), y)],
            TEXT,
            2.0,
        )?;
        p.text(&label, (lx + bar_w + th.px(14.0), y), &th.tick(), LEFT)?;
    }
    // Swatches for cells without a change.
    let ls = th.text(18.0, TEXT);
    let mut sy = ly0 + bar_h + th.px(34.0);
    let sw = th.px(30.0);
    let room = th.w - lx - bar_w - th.px(50.0);
    let no_flow = format!("no flow in {} (\"new\": one in {})", c.from, c.to);
    for (domestic, label) in [
        (false, no_flow),
        (true, "domestic sales (not shown)".to_owned()),
    ] {
        let fill = if domestic { DOMESTIC } else { NO_DATA };
        p.rect([(lx, sy), (lx + sw, sy + sw)], fill)?;
        let outline = ShapeStyle::from(&NO_DATA).stroke_width(1);
        p.draw(&Rectangle::new([(lx, sy), (lx + sw, sy + sw)], outline))?;
        if domestic {
            p.line(vec![(lx, sy + sw), (lx + sw, sy)], NO_DATA, 2.0)?;
        }
        let lines = wrap(p.area, &label, &ls, room)?;
        for (k, line) in lines.iter().enumerate() {
            let y = sy + sw / 2 + k as i32 * th.px(24.0);
            p.text(line, (lx + sw + th.px(12.0), y), &ls, LEFT)?;
        }
        sy += sw.max(th.px(24.0) * lines.len() as i32) + th.px(16.0);
    }
    Ok(())
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

    #[test]
    fn heatmap_wording_and_cells() {
        let c = ChangeHeatmap {
            measure: Measure::FinalDestination,
            source: String::new(),
            comparing: Comparing::Scenarios { year: 2030 },
            from: "no_war".into(),
            to: "as_happened".into(),
            economies: vec!["CHN".into(), "RUS".into()],
            from_values: vec![vec![None, Some(10.0)], vec![None, None]],
            to_values: vec![vec![None, Some(5.0)], vec![Some(1.0), None]],
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "Final-destination flows in 2030: as_happened against no_war"
        );
        let ch = c.changes();
        assert_eq!(ch[0][1], Some(-50.0));
        assert_eq!(c.cell_text(0, 1, ch[0][1]), "−50%");
        assert_eq!(c.cell_text(1, 0, ch[1][0]), "new");
        assert_eq!(c.cell_text(0, 0, None), "");
        assert_eq!(c.cell_text(0, 1, Some(1576.7)), "×17");
        let ticks = colour_ticks(50.0, true);
        assert_eq!(ticks[0].1, "≥ +50%");
        assert_eq!(ticks[2].1, "0%");
        assert_eq!(ticks[4].1, "≤ −50%");
    }
}
