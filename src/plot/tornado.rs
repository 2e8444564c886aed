//! Sensitivity tornado: one output with each swept parameter moved alone to the low and the
//! high end of its range, the others at their scenario values; one horizontal bar per
//! parameter around the scenario's own value, largest swing at the top.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::compare::{display, Unit};
use super::flows::no_data;
use super::style::{
    anchored, decimals_for_value, draw_err, draw_x_axis, fmt_num, footnote_lines, legend_row,
    polyline, register_fonts, text, text_size, title_block, with_colour, wrap_path, Frame, Swatch,
    Theme, ValueAxis, BLUE_, DARK_GREY, MUTED, ORANGE, TEXT,
};
use super::{csv_of, PlotError};

/// One parameter of a tornado.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoBar {
    /// The parameter's path, e.g. `instruments.evasion_china_kgz.premium`.
    pub parameter: String,
    /// The ends of its swept range.
    pub low: f64,
    pub high: f64,
    /// Its value in the scenario, when recorded.
    pub base_value: Option<f64>,
    /// The output with the parameter at its low and high end (`None`: that run failed).
    pub at_low: Option<f64>,
    pub at_high: Option<f64>,
    /// Why a run failed, if one did.
    pub failed: String,
}

impl TornadoBar {
    /// `|at_high - at_low|`, `None` where a run failed.
    pub fn swing(&self) -> Option<f64> {
        Some((self.at_high? - self.at_low?).abs())
    }
}

/// A sensitivity tornado of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct Tornado {
    /// The output series and its year (none for a single counterfactual).
    pub output: String,
    pub year: Option<i32>,
    pub unit: Unit,
    /// The output with every parameter at its scenario value (`None`: that run failed).
    pub at_base: Option<f64>,
    /// In any order: drawn by swing, largest first, failed ones last.
    pub bars: Vec<TornadoBar>,
    /// The scenario file.
    pub scenario: String,
}

#[derive(Serialize)]
struct Row<'a> {
    parameter: &'a str,
    low: f64,
    high: f64,
    base_value: Option<f64>,
    output: &'a str,
    year: Option<i32>,
    output_at_base: Option<f64>,
    output_at_low: Option<f64>,
    output_at_high: Option<f64>,
    swing: Option<f64>,
    failed: &'a str,
}

impl Tornado {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<Row> = self
            .sorted()
            .into_iter()
            .map(|b| Row {
                parameter: &b.parameter,
                low: b.low,
                high: b.high,
                base_value: b.base_value,
                output: &self.output,
                year: self.year,
                output_at_base: self.at_base,
                output_at_low: b.at_low,
                output_at_high: b.at_high,
                swing: b.swing(),
                failed: &b.failed,
            })
            .collect();
        csv_of(&rows, "tornado")
    }

    /// Bars by swing, largest first; those with a failed run last, in their given order.
    fn sorted(&self) -> Vec<&TornadoBar> {
        let mut bars: Vec<&TornadoBar> = self.bars.iter().collect();
        bars.sort_by(|a, b| {
            b.swing()
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.swing().unwrap_or(f64::NEG_INFINITY))
        });
        bars
    }

    /// The output for running text: "imports of RUS (final destination) in 2030".
    fn output_text(&self) -> String {
        let name = display(&self.output).replace(", final destination", " (final destination)");
        match self.year {
            Some(y) => format!("{name} in {y}"),
            None => name,
        }
    }
}

const LOW: RGBColor = BLUE_;
const HIGH: RGBColor = ORANGE;

/// The scenario's file name without directory and extension.
fn scenario_name(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned())
}

/// A parameter value as given on the command line: short, no trailing zeros.
fn param_value(v: f64) -> String {
    let d = decimals_for_value(v, 4, 0).min(6);
    let s = fmt_num(v, d);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The sensitivity tornado.
pub fn draw_tornado<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Tornado,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let k = c.unit.scale();
    let unit = c.unit.label();
    let bars = c.sorted();
    let what = c.output_text();
    let vd = |v: f64| decimals_for_value(v, 3, 0).min(4);
    let base_text = match c.at_base {
        Some(b) => format!(
            " Dashed line: scenario {} as given ({} {unit}).",
            scenario_name(&c.scenario),
            fmt_num(b * k, vd(b * k))
        ),
        None => " The run of the scenario as given failed.".to_owned(),
    };
    let values: Vec<f64> = bars
        .iter()
        .flat_map(|b| [b.at_low, b.at_high])
        .chain([c.at_base])
        .flatten()
        .map(|v| v * k)
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let zoom = lo.is_finite() && lo > 0.0 && lo > 0.5 * hi;
    let axis = if zoom {
        ValueAxis::zoomed(lo, hi, 6)
    } else if lo.is_finite() {
        ValueAxis::new(lo, hi, 7)
    } else {
        ValueAxis::new(0.0, 0.0, 7)
    };
    let top = title_block(
        area,
        &th,
        &format!("What moves {what}: one parameter at a time"),
        &format!(
            "{}{}, with each parameter set alone to the low and to the high end of its swept range and the others at their scenario values; largest swing first.{base_text}{}",
            c.unit.words(),
            c.year.map_or(String::new(), |y| format!(" in {y}")),
            if zoom { " The axis does not start at zero." } else { "" }
        ),
    )?;
    let key_y = top + th.px(6.0);
    legend_row(
        area,
        &th,
        (th.px(40.0), key_y),
        &[
            (
                Swatch::Fill(LOW),
                "parameter at the low end of its range".to_owned(),
            ),
            (Swatch::Fill(HIGH), "at the high end".to_owned()),
            (
                Swatch::Line {
                    colour: DARK_GREY,
                    dashed: true,
                },
                "scenario as given".to_owned(),
            ),
        ],
    )?;
    // Footnote: where the data come from and which runs failed.
    let failed: Vec<String> = bars
        .iter()
        .filter(|b| b.swing().is_none())
        .map(|b| {
            let ends: Vec<String> = [(b.at_low, "low", b.low), (b.at_high, "high", b.high)]
                .iter()
                .filter(|(v, _, _)| v.is_none())
                .map(|(_, e, v)| format!("{e} {}", param_value(*v)))
                .collect();
            let why = if b.failed.is_empty() {
                String::new()
            } else {
                format!(": {}", b.failed)
            };
            format!("{} at {}{why}", b.parameter, ends.join(" and "))
        })
        .collect();
    let mut note = format!(
        "Scenario {}; tornado.csv of the sweep; output `{}`{}.",
        c.scenario,
        c.output,
        c.year.map_or(String::new(), |y| format!(" in {y}"))
    );
    if !failed.is_empty() {
        note.push_str(&format!(" Runs that failed: {}.", failed.join("; ")));
    }
    let footnote_top = footnote_lines(area, &th, &note, 3)?;
    if bars.is_empty() {
        return no_data(area, &th, "no parameters to show");
    }
    let t = key_y + th.px(48.0);
    let b = (footnote_top - th.px(96.0)).max(t + 10);
    let n = bars.len() as i32;
    let row_h = ((b - t) / n).min(th.px(160.0));
    let size = (th.design(row_h) * 0.42).clamp(9.0, 21.0);
    let ls = th.text(size, TEXT);
    let ms = th.text((size * 0.86).max(8.0), MUTED);
    let mut label_w = th.px(160.0);
    for bar in &bars {
        label_w = label_w.max(text_size(area, &bar.parameter, &ls)?.0);
    }
    let label_w = label_w.min(th.px(430.0));
    // Room beside the data for the end labels.
    let end_style = th.bold((size * 0.95).max(8.0), TEXT);
    let mut end_w = 0;
    for bar in &bars {
        for v in [bar.low, bar.high] {
            end_w = end_w.max(text_size(area, &param_value(v), &end_style)?.0);
        }
    }
    let pad = end_w + th.px(14.0);
    let swing_head = format!("swing, {unit}");
    // Swings with one decimal more than the axis; a tiny one as "<0.1", not "0.0".
    let sd = (axis.decimals + 1).min(4);
    let swings: Vec<String> = bars
        .iter()
        .map(|bar| match bar.swing() {
            Some(s) => {
                let s = s * k;
                let smallest = 10f64.powi(-(sd as i32));
                if s > 0.0 && s < smallest / 2.0 {
                    format!("<{}", fmt_num(smallest, sd))
                } else {
                    fmt_num(s, sd)
                }
            }
            None => "failed".to_owned(),
        })
        .collect();
    let hs = th.bold(size.min(19.0), TEXT);
    let mut swing_w = text_size(area, &swing_head, &hs)?.0;
    for s in &swings {
        swing_w = swing_w.max(text_size(area, s, &ls)?.0);
    }
    let l = th.px(40.0) + label_w + th.px(20.0) + pad;
    let r = (th.w - th.px(40.0) - swing_w - th.px(30.0) - pad).max(l + 10);
    let f = Frame {
        l,
        t,
        r,
        b: t + row_h * n,
        x0: axis.lo,
        x1: axis.hi,
        y0: 0.0,
        y1: 1.0,
    };
    draw_x_axis(area, &th, &f, &axis, &format!("{what}, {unit}"))?;
    let sx = th.w - th.px(40.0);
    text(
        area,
        &swing_head,
        (sx, f.t - th.px(8.0)),
        &anchored(&hs, HPos::Right, VPos::Bottom),
    )?;
    let half = (row_h * 3 / 10).clamp(2, th.px(26.0));
    for (i, bar) in bars.iter().enumerate() {
        let cy = f.t + row_h * i as i32 + row_h / 2;
        // Label: the path, broken after dots, and its range.
        let range = match bar.base_value {
            Some(v) => format!(
                "{} to {}; scenario {}",
                param_value(bar.low),
                param_value(bar.high),
                param_value(v)
            ),
            None => format!("{} to {}", param_value(bar.low), param_value(bar.high)),
        };
        let max_lines = ((row_h - th.px(24.0)) / th.px(26.0)).clamp(1, 3) as usize;
        let mut lines = wrap_path(area, &bar.parameter, &ls, label_w)?;
        if lines.len() > max_lines {
            // Keep the end of the path: the parameter's own name.
            lines = lines.split_off(lines.len() - max_lines);
            lines[0] = format!("…{}", lines[0]);
        }
        let with_range = row_h >= th.px(26.0) * (lines.len() as i32 + 1);
        let block = th.px(26.0) * (lines.len() as i32 + i32::from(with_range));
        let mut y = cy - block / 2;
        for line in &lines {
            text(
                area,
                line,
                (th.px(40.0), y),
                &anchored(&ls, HPos::Left, VPos::Top),
            )?;
            y += th.px(26.0);
        }
        if with_range {
            text(
                area,
                &range,
                (th.px(40.0), y),
                &anchored(&ms, HPos::Left, VPos::Top),
            )?;
        }
        let swing_style = if bar.swing().is_some() { &ls } else { &ms };
        text(
            area,
            &swings[i],
            (sx, cy),
            &anchored(swing_style, HPos::Right, VPos::Center),
        )?;
        draw_bar(
            area,
            &th,
            &f,
            c.at_base.map(|v| v * k),
            bar,
            c.unit,
            cy,
            half,
            &end_style,
            &ms,
        )?;
    }
    if let Some(base) = c.at_base {
        let x = f.x(base * k);
        polyline(
            area,
            &th,
            vec![(x, f.t - th.px(10.0)), (x, f.b)],
            DARK_GREY,
            2.5,
            true,
        )?;
    }
    Ok(())
}

/// One parameter's bar: from the base to the output at the low end (blue) and at the high
/// end (orange), each labelled with the parameter's value there.
#[allow(clippy::too_many_arguments)]
fn draw_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    f: &Frame,
    base: Option<f64>,
    bar: &TornadoBar,
    unit: Unit,
    cy: i32,
    half: i32,
    end_style: &TextStyle<'static>,
    muted: &TextStyle<'static>,
) -> Result<(), PlotError> {
    let (k, unit) = (unit.scale(), unit.label());
    let ends = [
        (bar.at_low.map(|v| v * k), bar.low, LOW),
        (bar.at_high.map(|v| v * k), bar.high, HIGH),
    ];
    if bar.at_low.is_none() && bar.at_high.is_none() {
        let x = base.map_or((f.l + f.r) / 2, |b| f.x(b) + th.px(12.0));
        return text(
            area,
            "both runs failed (see the note below)",
            (x, cy),
            &anchored(muted, HPos::Left, VPos::Center),
        );
    }
    let Some(base) = base.or_else(|| {
        // Without the scenario's own value, bars start where the lower end is.
        ends.iter().filter_map(|e| e.0).reduce(f64::min)
    }) else {
        return Ok(());
    };
    let xb = f.x(base);
    let px: Vec<Option<i32>> = ends.iter().map(|e| e.0.map(|v| f.x(v))).collect();
    let visible = |x: Option<i32>| x.is_some_and(|x| (x - xb).abs() >= 2);
    if !visible(px[0]) && !visible(px[1]) {
        // Zero swing (or too small to see): a tick at the base and what it means.
        area.draw(&PathElement::new(
            vec![(xb, cy - half), (xb, cy + half)],
            ShapeStyle::from(&DARK_GREY).stroke_width(th.px(3.0) as u32),
        ))
        .map_err(draw_err)?;
        let swing = bar.swing().map(|s| s * k);
        let what = match swing {
            Some(0.0) => "no change in the output".to_owned(),
            Some(s) => format!(
                "barely moves the output (swing {}{})",
                fmt_num(s, decimals_for_value(s, 2, 0).min(8)),
                if unit == "%" {
                    "%".to_owned()
                } else {
                    format!(" {unit}")
                }
            ),
            None => "run failed at one end (see the note below)".to_owned(),
        };
        return text(
            area,
            &format!(
                "{} and {}: {what}",
                param_value(bar.low),
                param_value(bar.high)
            ),
            (xb + th.px(12.0), cy),
            &anchored(muted, HPos::Left, VPos::Center),
        );
    }
    // Both ends on the same side of the base: the longer bar first, the shorter on top and
    // a little thinner so both show.
    let mut order: Vec<usize> = (0..2).filter(|&e| px[e].is_some()).collect();
    order.sort_by_key(|&e| std::cmp::Reverse((px[e].unwrap_or(xb) - xb).abs()));
    let same_side = match (px[0], px[1]) {
        (Some(a), Some(b)) => (a - xb).signum() == (b - xb).signum(),
        _ => false,
    };
    for (rank, &e) in order.iter().enumerate() {
        let Some(x) = px[e] else { continue };
        let h = if same_side && rank == 1 {
            half * 3 / 5
        } else {
            half
        };
        area.draw(&Rectangle::new(
            [(xb.min(x), cy - h), (xb.max(x).max(xb.min(x) + 1), cy + h)],
            ends[e].2.filled(),
        ))
        .map_err(draw_err)?;
    }
    // Labels: each end's parameter value beyond the end of its bar; for the inner bar of a
    // same-side pair, inside the outer bar in white if it fits, else beside the outer label.
    let gap = th.px(8.0);
    let mut outer_extra: Option<String> = None;
    for (rank, &e) in order.iter().enumerate().rev() {
        let Some(x) = px[e] else { continue };
        let label = param_value(ends[e].1);
        let right = x >= xb;
        if same_side && rank == 1 {
            let outer = px[order[0]].unwrap_or(x);
            let (w, _) = text_size(area, &label, end_style)?;
            if (outer - x).abs() >= w + 2 * gap {
                let style = with_colour(end_style.clone(), WHITE);
                let (pos, ax) = if right {
                    (HPos::Left, x + gap)
                } else {
                    (HPos::Right, x - gap)
                };
                text(area, &label, (ax, cy), &anchored(&style, pos, VPos::Center))?;
            } else {
                outer_extra = Some(label);
            }
            continue;
        }
        let (pos, ax) = if right {
            (HPos::Left, x + gap)
        } else {
            (HPos::Right, x - gap)
        };
        let colour = if e == 0 {
            RGBColor(0, 80, 130)
        } else {
            RGBColor(150, 95, 0)
        };
        let style = with_colour(end_style.clone(), colour);
        text(area, &label, (ax, cy), &anchored(&style, pos, VPos::Center))?;
        if let Some(extra) = outer_extra.take() {
            let (w, _) = text_size(area, &label, end_style)?;
            let ax = if right { ax + w + gap } else { ax - w - gap };
            text(
                area,
                &format!("({extra})"),
                (ax, cy),
                &anchored(muted, pos, VPos::Center),
            )?;
        }
    }
    Ok(())
}
