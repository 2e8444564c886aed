//! Calibration fit: each observed target against the model at the starting parameter values
//! and after the fit (a dot plot, one row per target), with how far the model is from each
//! figure and the fitted parameters in a table underneath.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::compare::{display, Unit};
use super::flows::no_data;
use super::style::{
    anchored, decimals_for_value, draw_err, draw_x_axis, ellipsize, fmt_num, fmt_pct,
    footnote_lines, legend_row, register_fonts, text, text_size, title_block, wrap, Frame, Marker,
    Swatch, Theme, ValueAxis, BLACK_, BLUE_, GREY, MUTED, ORANGE, TEXT, VERMILLION,
};
use super::{csv_of, PlotError};

/// One target of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct FitTarget {
    /// The series, as named in `compare.csv`.
    pub series: String,
    pub year: Option<i32>,
    pub observed: f64,
    /// The model at the starting parameter values.
    pub initial: f64,
    /// The model after the fit.
    pub fitted: f64,
    pub weight: f64,
    pub source: String,
}

/// One free parameter of a calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct FitParameter {
    pub path: String,
    pub initial: f64,
    pub fitted: f64,
    /// `None` when there are no more targets than parameters.
    pub stderr: Option<f64>,
    pub at_bound: bool,
    pub poorly_identified: bool,
}

/// A calibration's targets against the model, before and after the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationFit {
    pub scenario: String,
    pub targets: Vec<FitTarget>,
    pub parameters: Vec<FitParameter>,
    pub converged: bool,
    /// Why the fit stopped.
    pub stop: String,
    pub steps: usize,
    pub evaluations: usize,
    /// Weighted sum of squared log deviations at the start and at the fit.
    pub objective_initial: Option<f64>,
    pub objective: Option<f64>,
}

#[derive(Serialize)]
struct Row<'a> {
    series: &'a str,
    year: Option<i32>,
    observed: f64,
    initial: f64,
    fitted: f64,
    initial_vs_observed_pct: Option<f64>,
    fitted_vs_observed_pct: Option<f64>,
    weight: f64,
    source: &'a str,
}

/// `100 (model / observed - 1)`; `None` without a positive observed value, or where the
/// ratio overflows (an observed value near zero).
fn off_pct(model: f64, observed: f64) -> Option<f64> {
    Some(100.0 * (model / observed - 1.0)).filter(|v| observed > 0.0 && v.is_finite())
}

impl CalibrationFit {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<Row> = self
            .targets
            .iter()
            .map(|t| Row {
                series: &t.series,
                year: t.year,
                observed: t.observed,
                initial: t.initial,
                fitted: t.fitted,
                initial_vs_observed_pct: off_pct(t.initial, t.observed),
                fitted_vs_observed_pct: off_pct(t.fitted, t.observed),
                weight: t.weight,
                source: &t.source,
            })
            .collect();
        csv_of(&rows, "calibration fit")
    }

    /// The unit all targets share, or `None` when they mix units.
    fn unit(&self) -> Option<Unit> {
        let mut units = self.targets.iter().map(|t| Unit::of_series(&t.series));
        let first = units.next().unwrap_or(Unit::UsdBn);
        units.all(|u| u == first).then_some(first)
    }
}

const OBSERVED: Marker = Marker::Bar(BLACK_);
const INITIAL: Marker = Marker::Ring(ORANGE);
const FITTED: Marker = Marker::Dot(BLUE_);

fn target_label(t: &FitTarget) -> String {
    match t.year {
        Some(y) => format!("{}, {y}", display(&t.series)),
        None => display(&t.series),
    }
}

/// Observed targets against the model before and after the fit.
pub fn draw_calibration_fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &CalibrationFit,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let unit = c.unit();
    let unit_text = match unit {
        Some(u) => u.label().to_owned(),
        None => "% of the observed figure".to_owned(),
    };
    let top = title_block(
        area,
        &th,
        &format!(
            "Calibration of {}: observed figures against the model",
            c.scenario
        ),
        &format!(
            "{}. Each row is a target the fit aims at: the observed figure, the model at the starting parameter values, and the model after the fit (the arrow shows how the fit moved it). Right: the model after the fit against the observed figure.",
            match unit {
                Some(_) => unit_text.clone(),
                None => "The targets mix units, so each is shown as a percentage of its observed figure (observed = 100)".to_owned(),
            }
        ),
    )?;
    let key_y = top + th.px(6.0);
    legend_row(
        area,
        &th,
        (th.px(40.0), key_y),
        &[
            (
                Swatch::Marker(OBSERVED),
                "observed figure (the target)".to_owned(),
            ),
            (
                Swatch::Marker(INITIAL),
                "model at the starting values".to_owned(),
            ),
            (Swatch::Marker(FITTED), "model after the fit".to_owned()),
        ],
    )?;
    let objective = match (c.objective_initial, c.objective) {
        (Some(a), Some(b)) => format!(
            "; weighted sum of squared log deviations {} → {}",
            fmt_num(a, decimals_for_value(a, 3, 0).min(6)),
            fmt_num(b, decimals_for_value(b, 3, 0).min(6))
        ),
        _ => String::new(),
    };
    let footnote_top = footnote_lines(
        area,
        &th,
        &format!(
            "{} after {} steps ({} model runs){objective}. From fit.csv, parameters.csv and calibration.json.",
            if c.converged {
                sentence_case(&c.stop)
            } else {
                format!("Did not converge ({})", c.stop)
            },
            c.steps,
            c.evaluations
        ),
        2,
    )?;
    // The parameter table at the bottom, above the footnote.
    let table_bottom = footnote_top - th.px(12.0);
    let table_top = parameter_table(area, &th, c, table_bottom)?;
    if c.targets.is_empty() {
        return no_data(area, &th, "no targets to show");
    }
    // Values shown: in the targets' unit, or as % of observed.
    let shown = |t: &FitTarget, v: f64| -> f64 {
        match unit {
            Some(u) => v * u.scale(),
            None if t.observed != 0.0 => 100.0 * v / t.observed,
            None => 0.0,
        }
    };
    let (lo, hi) = c
        .targets
        .iter()
        .flat_map(|t| [t.observed, t.initial, t.fitted].map(|v| shown(t, v)))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let axis = ValueAxis::new(lo, hi, 7);
    let t = key_y + th.px(40.0);
    let b = (table_top - th.px(100.0)).max(t + 10);
    let n = c.targets.len() as i32;
    let row_h = ((b - t) / n).min(th.px(150.0));
    let b = t + row_h * n;
    let label_size = (th.design(row_h) * 0.5).clamp(9.0, 21.0);
    let ls = th.text(label_size, TEXT);
    let ss = th.text((label_size * 0.82).max(8.0), MUTED);
    let label_w_max = th.px(440.0);
    let mut label_w = 0;
    for tg in &c.targets {
        label_w = label_w.max(text_size(area, &target_label(tg), &ls)?.0);
    }
    let label_w = label_w.clamp(th.px(200.0), label_w_max);
    // The right column: fitted against observed, and where the start was.
    // At least one decimal (USD bn below 1,000 read as 99.5, not 100).
    let decimals = |v: f64| decimals_for_value(v, 3, usize::from(v.abs() < 1000.0)).min(3);
    let right: Vec<(String, String)> = c
        .targets
        .iter()
        .map(|tg| {
            // Each target in its own unit (a share in percent).
            let u = Unit::of_series(&tg.series);
            let k = u.scale();
            let n = |v: f64| {
                let s = fmt_num(v * k, decimals(tg.observed * k));
                if u == Unit::UsdBn {
                    s
                } else {
                    format!("{s}%")
                }
            };
            let main = match off_pct(tg.fitted, tg.observed) {
                Some(p) => format!("{} vs {} ({})", n(tg.fitted), n(tg.observed), fmt_pct(p)),
                None => format!("{} vs {}", n(tg.fitted), n(tg.observed)),
            };
            let start = match off_pct(tg.initial, tg.observed) {
                Some(p) => format!("at the start {} ({})", n(tg.initial), fmt_pct(p)),
                None => format!("at the start {}", n(tg.initial)),
            };
            (main, start)
        })
        .collect();
    let hs = th.bold(label_size.min(19.0), TEXT);
    let head = "after the fit vs observed";
    let mut right_w = text_size(area, head, &hs)?.0;
    for (a, s) in &right {
        right_w = right_w
            .max(text_size(area, a, &ls)?.0)
            .max(text_size(area, s, &ss)?.0);
    }
    let right_w = right_w.min(th.px(340.0));
    let l = th.px(40.0) + label_w + th.px(30.0);
    let r = (th.w - th.px(40.0) - right_w - th.px(36.0)).max(l + 10);
    let f = Frame {
        l,
        t,
        r,
        b,
        x0: axis.lo,
        x1: axis.hi,
        y0: 0.0,
        y1: 1.0,
    };
    draw_x_axis(area, &th, &f, &axis, &unit_text)?;
    if unit.is_none() {
        let x = f.x(100.0);
        area.draw(&PathElement::new(
            vec![(x, f.t), (x, f.b)],
            ShapeStyle::from(&GREY).stroke_width(th.px(2.0) as u32),
        ))
        .map_err(draw_err)?;
    }
    let rx = f.r + th.px(36.0);
    text(
        area,
        &ellipsize(area, head, &hs, right_w)?,
        (rx, f.t - th.px(6.0)),
        &anchored(&hs, HPos::Left, VPos::Bottom),
    )?;
    let two_lines = row_h >= th.px(52.0);
    let scale = (f64::from(row_h) / f64::from(th.px(60.0))).clamp(0.45, 1.0);
    for (i, tg) in c.targets.iter().enumerate() {
        let cy = f.t + row_h * i as i32 + row_h / 2;
        // Light separators between rows.
        if i > 0 {
            let y = f.t + row_h * i as i32;
            area.draw(&PathElement::new(
                vec![(th.px(40.0), y), (th.w - th.px(40.0), y)],
                ShapeStyle::from(&RGBColor(238, 238, 238)).stroke_width(1),
            ))
            .map_err(draw_err)?;
        }
        // Label: the target, and under it where the figure comes from.
        let label = ellipsize(area, &target_label(tg), &ls, label_w)?;
        let source = if tg.weight != 1.0 {
            format!("{} (weight {})", tg.source, fmt_num(tg.weight, 2))
        } else {
            tg.source.clone()
        };
        let source_lines = if two_lines && !source.is_empty() {
            let max = ((row_h - th.px(30.0)) / th.px(22.0)).clamp(1, 3) as usize;
            let mut lines = wrap(area, &source, &ss, label_w)?;
            if lines.len() > max {
                let rest = lines[max - 1..].join(" ");
                lines.truncate(max - 1);
                lines.push(ellipsize(area, &rest, &ss, label_w)?);
            }
            lines
        } else {
            Vec::new()
        };
        let block = th.px(26.0) + source_lines.len() as i32 * th.px(21.0);
        let mut y = cy - block / 2;
        text(
            area,
            &label,
            (th.px(40.0), y),
            &anchored(&ls, HPos::Left, VPos::Top),
        )?;
        y += th.px(27.0);
        for line in &source_lines {
            text(
                area,
                line,
                (th.px(40.0), y),
                &anchored(&ss, HPos::Left, VPos::Top),
            )?;
            y += th.px(21.0);
        }
        // The points: an arrow from the start to the fit, then the markers.
        let (xo, xi, xf) = (
            f.x(shown(tg, tg.observed)),
            f.x(shown(tg, tg.initial)),
            f.x(shown(tg, tg.fitted)),
        );
        area.draw(&PathElement::new(
            vec![(f.l, cy), (f.r, cy)],
            ShapeStyle::from(&RGBColor(232, 232, 232)).stroke_width(th.px(1.5) as u32),
        ))
        .map_err(draw_err)?;
        if (xf - xi).abs() > th.px(26.0) {
            arrow(area, &th, (xi, cy), (xf, cy))?;
        }
        // The start under the target's bar, the fit on top: each shows where they meet.
        INITIAL.draw(area, &th, (xi, cy), scale)?;
        OBSERVED.draw(area, &th, (xo, cy), scale)?;
        FITTED.draw(area, &th, (xf, cy), scale)?;
        let (main, start) = &right[i];
        if two_lines {
            text(
                area,
                &ellipsize(area, main, &ls, right_w)?,
                (rx, cy - th.px(2.0)),
                &anchored(&ls, HPos::Left, VPos::Bottom),
            )?;
            text(
                area,
                &ellipsize(area, start, &ss, right_w)?,
                (rx, cy + th.px(2.0)),
                &anchored(&ss, HPos::Left, VPos::Top),
            )?;
        } else {
            text(
                area,
                &ellipsize(area, main, &ls, right_w)?,
                (rx, cy),
                &anchored(&ls, HPos::Left, VPos::Center),
            )?;
        }
    }
    Ok(())
}

fn sentence_case(s: &str) -> String {
    super::compare::sentence(s)
}

/// A grey arrow from `a` to `b` (horizontal), its head short of `b`'s marker.
fn arrow<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    (xa, y): (i32, i32),
    (xb, _): (i32, i32),
) -> Result<(), PlotError> {
    let dir = if xb > xa { 1 } else { -1 };
    let gap = th.px(12.0);
    let (x0, x1) = (xa + dir * gap, xb - dir * gap);
    let colour = RGBColor(120, 120, 120);
    area.draw(&PathElement::new(
        vec![(x0, y), (x1, y)],
        ShapeStyle::from(&colour).stroke_width(th.px(2.5) as u32),
    ))
    .map_err(draw_err)?;
    let head = th.px(9.0);
    area.draw(&Polygon::new(
        vec![
            (x1, y),
            (x1 - dir * head, y - head / 2 - 1),
            (x1 - dir * head, y + head / 2 + 1),
        ],
        colour.filled(),
    ))
    .map_err(draw_err)
}

/// The fitted parameters as a small table ending at `bottom`; returns its top.
fn parameter_table<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    c: &CalibrationFit,
    bottom: i32,
) -> Result<i32, PlotError> {
    if c.parameters.is_empty() {
        return Ok(bottom);
    }
    let line_h = th.px(27.0);
    let max_rows = 6usize;
    let shown = c.parameters.len().min(max_rows);
    let more = c.parameters.len() - shown;
    let rows = shown + usize::from(more > 0);
    let top = bottom - line_h * (rows as i32 + 2);
    let x = th.px(40.0);
    let hs = anchored(&th.bold(20.0, TEXT), HPos::Left, VPos::Top);
    let cs = anchored(&th.bold(18.0, MUTED), HPos::Left, VPos::Top);
    let ls = anchored(&th.text(19.0, TEXT), HPos::Left, VPos::Top);
    let warn = anchored(&th.text(19.0, VERMILLION), HPos::Left, VPos::Top);
    text(area, "Fitted parameters", (x, top), &hs)?;
    let values: Vec<[String; 4]> = c
        .parameters
        .iter()
        .take(shown)
        .map(|p| {
            let d = decimals_for_value(p.fitted.abs().max(p.initial.abs()), 3, 0).min(4);
            let se = match p.stderr {
                Some(s) if s.is_finite() => fmt_num(s, d.max(decimals_for_value(s, 2, 0).min(4))),
                _ => "n/a".to_owned(),
            };
            let mut note = Vec::new();
            if p.poorly_identified {
                note.push("poorly identified by the targets");
            }
            if p.at_bound {
                note.push("at a bound");
            }
            [
                fmt_num(p.initial, d),
                fmt_num(p.fitted, d),
                se,
                note.join("; "),
            ]
        })
        .collect();
    let heads = ["parameter", "start", "fitted", "std. error", ""];
    // Column x positions from the widest entry of each.
    let mut widths = [0i32; 4];
    for (k, h) in heads.iter().take(4).enumerate() {
        widths[k] = text_size(area, h, &cs)?.0;
    }
    for p in c.parameters.iter().take(shown) {
        widths[0] = widths[0].max(text_size(area, &p.path, &ls)?.0);
    }
    widths[0] = widths[0].min(th.px(620.0));
    for v in &values {
        for k in 0..3 {
            widths[k + 1] = widths[k + 1].max(text_size(area, &v[k], &ls)?.0);
        }
    }
    let gap = th.px(34.0);
    let mut xs = [x; 5];
    for k in 1..5 {
        xs[k] = xs[k - 1] + widths[k - 1] + gap;
    }
    let y = top + line_h + th.px(4.0);
    // Numbers right-aligned under their headings.
    let right = |k: usize| xs[k] + widths[k];
    let cs_r = anchored(&th.bold(18.0, MUTED), HPos::Right, VPos::Top);
    let ls_r = anchored(&th.text(19.0, TEXT), HPos::Right, VPos::Top);
    for (k, h) in heads.iter().enumerate() {
        if (1..4).contains(&k) {
            text(area, h, (right(k), y), &cs_r)?;
        } else {
            text(area, h, (xs[k], y), &cs)?;
        }
    }
    let note_w = th.w - th.px(40.0) - xs[4];
    for (i, (p, v)) in c.parameters.iter().zip(&values).enumerate() {
        let y = y + line_h * (i as i32 + 1);
        text(
            area,
            &ellipsize(area, &p.path, &ls, widths[0])?,
            (xs[0], y),
            &ls,
        )?;
        for (k, value) in v.iter().take(3).enumerate() {
            text(area, value, (right(k + 1), y), &ls_r)?;
        }
        if !v[3].is_empty() && note_w > th.px(40.0) {
            text(
                area,
                &ellipsize(area, &v[3], &warn, note_w)?,
                (xs[4], y),
                &warn,
            )?;
        }
    }
    if more > 0 {
        let y = y + line_h * (shown as i32 + 1);
        text(
            area,
            &format!("… and {more} more in parameters.csv"),
            (xs[0], y),
            &ls,
        )?;
    }
    Ok(top)
}
