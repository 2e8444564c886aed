//! Calibration fit: each observed target against the model at the starting parameter values
//! and after the fit (a dot plot, one row per target), with how far the model is from each
//! figure and the fitted parameters in a table underneath.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::compare::{display_short, sentence, Unit};
use super::page::{min_max, Page, Words, BOTTOM_LEFT, LEFT, TOP_LEFT, TOP_RIGHT};
use super::style::{
    decimals_for_value, draw_x_axis, ellipsize, fmt_num, fmt_pct, wrap, Frame, Marker, Swatch,
    ValueAxis, BLACK_, BLUE_, GREY, MUTED, ORANGE, TEXT, VERMILLION,
};
use super::{csv_of, PlotError};

/// One target of a calibration (a row of the calibration's `fit.csv`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// One free parameter of a calibration (a row of its `parameters.csv`: `stderr` is empty
/// when it cannot be computed; files of earlier versions hold `NaN` there, read as not
/// computed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
        Some(y) => format!("{}, {y}", display_short(&t.series)),
        None => display_short(&t.series),
    }
}

/// Where a target's figure comes from, with its weight when it is not 1.
fn source_text(t: &FitTarget) -> String {
    if t.weight != 1.0 {
        format!("{} (weight {})", t.source, fmt_num(t.weight, 2))
    } else {
        t.source.clone()
    }
}

/// The heading of the right column.
const RIGHT_HEAD: &str = "after the fit vs observed";

impl CalibrationFit {
    /// The value axis' title: the targets' unit, or percent of the observed figure.
    fn unit_text(&self) -> String {
        match self.unit() {
            Some(u) => u.label().to_owned(),
            None => "% of the observed figure".to_owned(),
        }
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let units = match self.unit() {
            Some(_) => self.unit_text(),
            None => "The targets mix units, so each is shown as a percentage of its observed figure (observed = 100)".to_owned(),
        };
        let objective = match (self.objective_initial, self.objective) {
            (Some(a), Some(b)) => format!(
                "; weighted sum of squared log deviations {} → {}",
                fmt_num(a, decimals_for_value(a, 3, 0).min(6)),
                fmt_num(b, decimals_for_value(b, 3, 0).min(6))
            ),
            _ => String::new(),
        };
        let stop = if self.converged {
            sentence(&self.stop)
        } else {
            format!("Did not converge ({})", self.stop)
        };
        Words {
            title: format!(
                "Calibration of {}: observed figures against the model",
                self.scenario
            ),
            subtitle: format!(
                "{units}. Each row is a target the fit aims at: the observed figure, the model at the starting parameter values, and the model after the fit (the arrow shows how the fit moved it). Right: the model after the fit against the observed figure."
            ),
            note: format!(
                "{stop} after {} steps ({} model runs){objective}. From fit.csv, parameters.csv and calibration.json.",
                self.steps, self.evaluations
            ),
            note_lines: 2,
        }
    }

    /// A value of target `t` as shown: in the targets' unit, or as % of observed.
    fn shown(&self, t: &FitTarget, v: f64) -> f64 {
        match self.unit() {
            Some(u) => v * u.scale(),
            None if t.observed != 0.0 => 100.0 * v / t.observed,
            None => 0.0,
        }
    }

    /// The right column of each target: the fit against the observed figure, and where
    /// the start was; each in the target's own unit (a share in percent).
    fn comparisons(&self) -> Vec<(String, String)> {
        // At least one decimal (USD bn below 1,000 read as 99.5, not 100).
        let decimals = |v: f64| decimals_for_value(v, 3, usize::from(v.abs() < 1000.0)).min(3);
        self.targets
            .iter()
            .map(|tg| {
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
                let off = |v: f64| off_pct(v, tg.observed).map(|p| format!(" ({})", fmt_pct(p)));
                let main = format!(
                    "{} vs {}{}",
                    n(tg.fitted),
                    n(tg.observed),
                    off(tg.fitted).unwrap_or_default()
                );
                let start = format!(
                    "at the start {}{}",
                    n(tg.initial),
                    off(tg.initial).unwrap_or_default()
                );
                (main, start)
            })
            .collect()
    }

    /// The parameter table's cells after the path: start, fitted, standard error, notes.
    fn parameter_cells(&self) -> Vec<[String; 4]> {
        self.parameters
            .iter()
            .map(|p| {
                let d = decimals_for_value(p.fitted.abs().max(p.initial.abs()), 3, 0).min(4);
                let se = match p.stderr {
                    Some(s) if s.is_finite() => {
                        fmt_num(s, d.max(decimals_for_value(s, 2, 0).min(4)))
                    }
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
            .collect()
    }
}

/// The rows of the dot plot: the frame (one row per target), label and number columns.
struct Rows {
    f: Frame,
    row_h: i32,
    two_lines: bool,
    label_w: i32,
    /// The right column's left edge and width.
    rx: i32,
    right_w: i32,
    ls: TextStyle<'static>,
    ss: TextStyle<'static>,
}

/// Observed targets against the model before and after the fit.
pub(crate) fn draw_calibration_fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &CalibrationFit,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
    let key_y = p.key_row(&[
        (
            Swatch::Marker(OBSERVED),
            "observed figure (the target)".to_owned(),
        ),
        (
            Swatch::Marker(INITIAL),
            "model at the starting values".to_owned(),
        ),
        (Swatch::Marker(FITTED), "model after the fit".to_owned()),
    ])?;
    // The parameter table at the bottom, above the footnote.
    let table_top = parameter_table(&p, c, p.bottom - th.px(12.0))?;
    if c.targets.is_empty() {
        return p.no_data("no targets to show");
    }
    let values = c
        .targets
        .iter()
        .flat_map(|t| [t.observed, t.initial, t.fitted].map(|v| c.shown(t, v)));
    let (lo, hi) = min_max(values);
    let axis = ValueAxis::new(lo, hi, 7);
    let t = key_y + th.px(40.0);
    let b = (table_top - th.px(100.0)).max(t + 10);
    let n = c.targets.len() as i32;
    let row_h = ((b - t) / n).min(th.px(150.0));
    let label_size = (th.design(row_h) * 0.5).clamp(9.0, 21.0);
    let ls = th.text(label_size, TEXT);
    let ss = th.text((label_size * 0.82).max(8.0), MUTED);
    let label_w = p.widest(c.targets.iter().map(target_label), &ls)?;
    let label_w = label_w.clamp(th.px(200.0), th.px(440.0));
    let right = c.comparisons();
    let hs = th.bold(label_size.min(19.0), TEXT);
    let mut right_w = p.size(RIGHT_HEAD, &hs)?.0;
    for (a, s) in &right {
        right_w = right_w.max(p.size(a, &ls)?.0).max(p.size(s, &ss)?.0);
    }
    let right_w = right_w.min(th.px(340.0));
    let l = th.px(40.0) + label_w + th.px(30.0);
    let r = (th.w - th.px(40.0) - right_w - th.px(36.0)).max(l + 10);
    let (x0, x1, b) = (axis.lo, axis.hi, t + row_h * n);
    let f = Frame {
        l,
        t,
        r,
        b,
        x0,
        x1,
        y0: 0.0,
        y1: 1.0,
    };
    draw_x_axis(area, th, &f, &axis, &c.unit_text())?;
    if c.unit().is_none() {
        let x = f.x(100.0);
        p.line(vec![(x, f.t), (x, f.b)], GREY, 2.0)?;
    }
    let rx = f.r + th.px(36.0);
    let head = ellipsize(area, RIGHT_HEAD, &hs, right_w)?;
    p.text(&head, (rx, f.t - th.px(6.0)), &hs, BOTTOM_LEFT)?;
    let rows = Rows {
        f,
        row_h,
        two_lines: row_h >= th.px(52.0),
        label_w,
        rx,
        right_w,
        ls,
        ss,
    };
    for (i, (tg, numbers)) in c.targets.iter().zip(&right).enumerate() {
        draw_target(&p, c, &rows, i, tg, numbers)?;
    }
    Ok(())
}

/// Row `i`: the target and its source on the left, the markers, the numbers on the right.
fn draw_target<DB: DrawingBackend>(
    p: &Page<DB>,
    c: &CalibrationFit,
    rows: &Rows,
    i: usize,
    tg: &FitTarget,
    (main, start): &(String, String),
) -> Result<(), PlotError> {
    let (th, f, row_h, w) = (&p.th, &rows.f, rows.row_h, rows.label_w);
    let (ls, ss) = (&rows.ls, &rows.ss);
    let cy = f.t + row_h * i as i32 + row_h / 2;
    // Light separators between rows.
    if i > 0 {
        let y = f.t + row_h * i as i32;
        let style = ShapeStyle::from(&RGBColor(238, 238, 238)).stroke_width(1);
        p.draw(&PathElement::new(
            vec![(th.px(40.0), y), (th.w - th.px(40.0), y)],
            style,
        ))?;
    }
    // Label: the target, and under it where the figure comes from.
    let label = ellipsize(p.area, &target_label(tg), ls, w)?;
    let source = source_text(tg);
    let source_lines = if rows.two_lines && !source.is_empty() {
        let max = ((row_h - th.px(30.0)) / th.px(22.0)).clamp(1, 3) as usize;
        let mut lines = wrap(p.area, &source, ss, w)?;
        if lines.len() > max {
            let rest = lines[max - 1..].join(" ");
            lines.truncate(max - 1);
            lines.push(ellipsize(p.area, &rest, ss, w)?);
        }
        lines
    } else {
        Vec::new()
    };
    let block = th.px(26.0) + source_lines.len() as i32 * th.px(21.0);
    let mut y = cy - block / 2;
    p.text(&label, (th.px(40.0), y), ls, TOP_LEFT)?;
    y += th.px(27.0);
    for line in &source_lines {
        p.text(line, (th.px(40.0), y), ss, TOP_LEFT)?;
        y += th.px(21.0);
    }
    // The points: an arrow from the start to the fit, then the markers.
    let x = |v: f64| f.x(c.shown(tg, v));
    let (xo, xi, xf) = (x(tg.observed), x(tg.initial), x(tg.fitted));
    p.line(vec![(f.l, cy), (f.r, cy)], RGBColor(232, 232, 232), 1.5)?;
    if (xf - xi).abs() > th.px(26.0) {
        arrow(p, (xi, cy), (xf, cy))?;
    }
    // The start under the target's bar, the fit on top: each shows where they meet.
    let scale = (f64::from(row_h) / f64::from(th.px(60.0))).clamp(0.45, 1.0);
    INITIAL.draw(p.area, th, (xi, cy), scale)?;
    OBSERVED.draw(p.area, th, (xo, cy), scale)?;
    FITTED.draw(p.area, th, (xf, cy), scale)?;
    let (rx, rw) = (rows.rx, rows.right_w);
    if rows.two_lines {
        let main = ellipsize(p.area, main, ls, rw)?;
        p.text(&main, (rx, cy - th.px(2.0)), ls, BOTTOM_LEFT)?;
        let start = ellipsize(p.area, start, ss, rw)?;
        p.text(&start, (rx, cy + th.px(2.0)), ss, TOP_LEFT)
    } else {
        p.text(&ellipsize(p.area, main, ls, rw)?, (rx, cy), ls, LEFT)
    }
}

/// A grey arrow from `a` to `b` (horizontal), its head short of `b`'s marker.
fn arrow<DB: DrawingBackend>(
    p: &Page<DB>,
    (xa, y): (i32, i32),
    (xb, _): (i32, i32),
) -> Result<(), PlotError> {
    let dir = if xb > xa { 1 } else { -1 };
    let gap = p.px(12.0);
    let (x0, x1) = (xa + dir * gap, xb - dir * gap);
    let colour = RGBColor(120, 120, 120);
    p.line(vec![(x0, y), (x1, y)], colour, 2.5)?;
    let head = p.px(9.0);
    let tip = vec![
        (x1, y),
        (x1 - dir * head, y - head / 2 - 1),
        (x1 - dir * head, y + head / 2 + 1),
    ];
    p.draw(&Polygon::new(tip, colour.filled()))
}

/// The fitted parameters as a small table ending at `bottom`; returns its top.
fn parameter_table<DB: DrawingBackend>(
    p: &Page<DB>,
    c: &CalibrationFit,
    bottom: i32,
) -> Result<i32, PlotError> {
    if c.parameters.is_empty() {
        return Ok(bottom);
    }
    let th = &p.th;
    let line_h = th.px(27.0);
    let shown = c.parameters.len().min(6);
    let more = c.parameters.len() - shown;
    let rows = shown + usize::from(more > 0);
    let top = bottom - line_h * (rows as i32 + 2);
    let x = th.px(40.0);
    let cs = th.bold(18.0, MUTED);
    let ls = th.text(19.0, TEXT);
    p.text(
        "Fitted parameters",
        (x, top),
        &th.bold(20.0, TEXT),
        TOP_LEFT,
    )?;
    let mut values = c.parameter_cells();
    values.truncate(shown);
    let heads = ["parameter", "start", "fitted", "std. error", ""];
    // Column x positions from the widest entry of each.
    let mut widths = [0i32; 4];
    for (k, h) in heads.iter().take(4).enumerate() {
        widths[k] = p.size(h, &cs)?.0;
    }
    let paths = c.parameters.iter().take(shown).map(|p| &p.path);
    widths[0] = widths[0].max(p.widest(paths, &ls)?).min(th.px(620.0));
    for v in &values {
        for k in 0..3 {
            widths[k + 1] = widths[k + 1].max(p.size(&v[k], &ls)?.0);
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
    for (k, h) in heads.iter().enumerate() {
        if (1..4).contains(&k) {
            p.text(h, (right(k), y), &cs, TOP_RIGHT)?;
        } else {
            p.text(h, (xs[k], y), &cs, TOP_LEFT)?;
        }
    }
    let note_w = th.w - th.px(40.0) - xs[4];
    let warn = th.text(19.0, VERMILLION);
    for (i, (par, v)) in c.parameters.iter().zip(&values).enumerate() {
        let y = y + line_h * (i as i32 + 1);
        let path = ellipsize(p.area, &par.path, &ls, widths[0])?;
        p.text(&path, (xs[0], y), &ls, TOP_LEFT)?;
        for (k, value) in v.iter().take(3).enumerate() {
            p.text(value, (right(k + 1), y), &ls, TOP_RIGHT)?;
        }
        if !v[3].is_empty() && note_w > th.px(40.0) {
            let note = ellipsize(p.area, &v[3], &warn, note_w)?;
            p.text(&note, (xs[4], y), &warn, TOP_LEFT)?;
        }
    }
    if more > 0 {
        let y = y + line_h * (shown as i32 + 1);
        let more = format!("… and {more} more in parameters.csv");
        p.text(&more, (xs[0], y), &ls, TOP_LEFT)?;
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(series: &str, observed: f64, initial: f64, fitted: f64) -> FitTarget {
        FitTarget {
            series: series.into(),
            year: Some(2022),
            observed,
            initial,
            fitted,
            weight: 2.0,
            source: "UN Comtrade".into(),
        }
    }

    #[test]
    fn fit_wording() {
        let c = CalibrationFit {
            scenario: "as_happened".into(),
            targets: vec![
                target("CHN->KGZ recorded by CHN", 15.0, 10.0, 15.3),
                target("KGZ import share", 0.5, 0.4, 0.5),
            ],
            parameters: vec![FitParameter {
                path: "years.adjustment".into(),
                initial: 0.5,
                fitted: 0.61234,
                stderr: None,
                at_bound: true,
                poorly_identified: false,
            }],
            converged: false,
            stop: "step limit".into(),
            steps: 50,
            evaluations: 120,
            objective_initial: Some(1.5),
            objective: Some(0.01234),
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "Calibration of as_happened: observed figures against the model"
        );
        assert!(
            w.subtitle.starts_with("The targets mix units"),
            "{}",
            w.subtitle
        );
        assert_eq!(
            w.note,
            "Did not converge (step limit) after 50 steps (120 model runs); weighted sum of squared log deviations 1.50 → 0.0123. From fit.csv, parameters.csv and calibration.json."
        );
        assert_eq!(c.unit_text(), "% of the observed figure");
        let right = c.comparisons();
        assert_eq!(right[0].0, "15.3 vs 15.0 (+2.0%)");
        assert_eq!(right[0].1, "at the start 10.0 (−33%)");
        assert_eq!(right[1].0, "50.0% vs 50.0% (0.0%)");
        assert_eq!(source_text(&c.targets[0]), "UN Comtrade (weight 2.00)");
        assert_eq!(
            c.parameter_cells()[0],
            ["0.500", "0.612", "n/a", "at a bound"].map(String::from)
        );
        assert_eq!(c.shown(&c.targets[0], 7.5), 50.0);
    }
}
