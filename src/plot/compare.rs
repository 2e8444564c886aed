//! Scenarios side by side: one series across scenarios over years (lines), and one year's
//! values of a few series across scenarios (grouped bars). A scenario keeps its colour in
//! every comparison chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::style::{
    anchored, draw_axes, draw_err, fmt_num, footnote, legend, polyline, register_fonts,
    scenario_colour, scenario_dashed, text, text_size, title_block, wrap, year_ticks, Frame,
    Swatch, Theme, ValueAxis,
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
}

/// A year's values of a few series across scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioBars {
    pub year: i32,
    pub unit: Unit,
    pub series: Vec<String>,
    pub scenarios: Vec<String>,
    /// `values[series][scenario]`.
    pub values: Vec<Vec<Option<f64>>>,
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

/// Series names for display: arrows instead of `->`.
pub(crate) fn display(name: &str) -> String {
    name.replace("->", "→")
}

/// One series across scenarios over years; scenarios identical to an earlier one are drawn
/// dashed on top and say so in the legend, so no line hides another unannounced.
pub fn draw_scenario_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioLines,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let mut order: Vec<usize> = (0..c.years.len()).collect();
    order.sort_by_key(|&i| c.years[i]);
    let (first, last) = match (order.first(), order.last()) {
        (Some(&a), Some(&b)) => (c.years[a], c.years[b]),
        _ => (0, 0),
    };
    let years_text = super::style::years_text(first, last);
    let k = c.unit.scale();
    let all = c
        .scenarios
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().map(|x| x * k));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    // Levels far from zero (imports of a whole economy) are compared on an axis that does
    // not start at zero, and the subtitle says so.
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
        &format!(
            "{}: scenarios compared, {years_text}",
            sentence(&display(&c.series))
        ),
        &format!(
            "{} by year, one line per scenario; the legend lists scenarios by their {last} value, highest first.{}",
            c.unit.label(),
            if zoom { " The axis does not start at zero." } else { "" }
        ),
    )?;
    let mut widest = 0;
    for &v in &axis.ticks {
        widest = widest.max(text_size(area, &axis.label(v), &th.tick())?.0);
    }
    let legend_w = th.px(400.0);
    let f = Frame {
        l: th.px(40.0) + widest.max(th.px(70.0)) + th.px(14.0),
        t: top + th.px(36.0),
        r: th.w - th.px(40.0) - legend_w - th.px(50.0),
        b: th.h - th.px(120.0),
        x0: if first == last {
            f64::from(first) - 0.5
        } else {
            f64::from(first)
        },
        x1: if first == last {
            f64::from(last) + 0.5
        } else {
            f64::from(last)
        },
        y0: axis.lo,
        y1: axis.hi,
    };
    let ticks: Vec<(f64, String)> = year_ticks(first, last)
        .into_iter()
        .map(|y| (f64::from(y), y.to_string()))
        .collect();
    draw_axes(area, &th, &f, &axis, c.unit.label(), &ticks, "year")?;
    // A scenario equal to an earlier one (or within half a percent of the axis everywhere)
    // is drawn dashed on top and named as such; the others are drawn last-first so that the
    // first scenario (the reference) shows where all share a path.
    let tol = 0.005 * (axis.hi - axis.lo) / k;
    let twins: Vec<Option<(String, bool)>> = (0..c.scenarios.len())
        .map(|s| {
            let values = &c.scenarios[s].1;
            c.scenarios[..s].iter().find_map(|(n, other)| {
                if close(other, values, 0.0) {
                    Some((n.clone(), true))
                } else if close(other, values, tol) {
                    Some((n.clone(), false))
                } else {
                    None
                }
            })
        })
        .collect();
    let mut draw_order: Vec<usize> = (0..c.scenarios.len())
        .rev()
        .filter(|&s| twins[s].is_none())
        .collect();
    draw_order.extend((0..c.scenarios.len()).filter(|&s| twins[s].is_some()));
    let mut entries = Vec::new();
    for s in draw_order {
        let (name, values) = &c.scenarios[s];
        let twin = &twins[s];
        let colour = scenario_colour(s);
        let dashed = scenario_dashed(s) || twin.is_some();
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
                polyline(area, &th, run.clone(), colour, 4.0, dashed)?;
            }
            if c.years.len() <= 20 {
                for p in run {
                    let r = if c.years.len() == 1 { 9.0 } else { 5.0 };
                    area.draw(&Circle::new(p, th.px(r), colour.filled()))
                        .map_err(draw_err)?;
                }
            }
        }
        let end = order
            .iter()
            .rev()
            .find_map(|&i| values.get(i).copied().flatten());
        let label = match twin {
            Some((t, true)) => format!("{name} (same as {t})"),
            Some((t, false)) => format!("{name} (≈ {t})"),
            None => name.clone(),
        };
        entries.push((end, s, Swatch::Line { colour, dashed }, label));
    }
    entries.sort_by(|a, b| {
        b.0.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.0.unwrap_or(f64::NEG_INFINITY))
            .then(a.1.cmp(&b.1))
    });
    let entries: Vec<(Swatch, String)> = entries.into_iter().map(|(_, _, s, l)| (s, l)).collect();
    legend(
        area,
        &th,
        (f.r + th.px(50.0), f.t),
        legend_w,
        "Scenario",
        &entries,
    )?;
    footnote(
        area,
        &th,
        &format!("Series `{}` from compare.csv.", c.series),
    )
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
        if w <= max_w && best.as_ref().map_or(true, |(bw, _)| w < *bw) {
            best = Some((w, vec![a, b]));
        }
    }
    match best {
        Some((_, lines)) => Ok(lines),
        None => wrap(area, s, style, max_w),
    }
}

/// A year's values of a few series across scenarios: one group of bars per series.
pub fn draw_scenario_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioBars,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let top = title_block(
        area,
        &th,
        &format!("Scenarios compared in {}", c.year),
        &format!(
            "{} in {}; one bar per scenario in each group.",
            c.unit.label(),
            c.year
        ),
    )?;
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
    let mut widest = 0;
    for &v in &axis.ticks {
        widest = widest.max(text_size(area, &axis.label(v), &th.tick())?.0);
    }
    let legend_w = th.px(400.0);
    let groups = c.series.len().max(1);
    let f = Frame {
        l: th.px(40.0) + widest.max(th.px(70.0)) + th.px(14.0),
        t: top + th.px(36.0),
        r: th.w - th.px(40.0) - legend_w - th.px(50.0),
        b: th.h - th.px(150.0),
        x0: 0.0,
        x1: groups as f64,
        y0: axis.lo,
        y1: axis.hi,
    };
    draw_axes(area, &th, &f, &axis, c.unit.label(), &[], "")?;
    let n = c.scenarios.len().max(1);
    let group_w = f64::from(f.r - f.l) / groups as f64;
    let bar_w = group_w * 0.8 / n as f64;
    let value_style = th.text(16.0, super::style::TEXT);
    let cat_style = anchored(&th.axis(), HPos::Center, VPos::Top);
    for (g, series) in c.series.iter().enumerate() {
        let x_group = f64::from(f.l) + group_w * g as f64 + group_w * 0.1;
        for (s, _) in c.scenarios.iter().enumerate() {
            let Some(v) = c.values.get(g).and_then(|r| r.get(s)).copied().flatten() else {
                continue;
            };
            let x0 = x_group + bar_w * s as f64;
            let (y_a, y_b) = (f.y(0.0), f.y(v * k));
            area.draw(&Rectangle::new(
                [
                    (x0.round() as i32 + 1, y_a.min(y_b)),
                    ((x0 + bar_w).round() as i32 - 1, y_a.max(y_b)),
                ],
                scenario_colour(s).filled(),
            ))
            .map_err(draw_err)?;
            let label = fmt_num(v * k, if (v * k).abs() < 10.0 { 1 } else { 0 });
            let (w, _) = text_size(area, &label, &value_style)?;
            if f64::from(w) <= bar_w + f64::from(th.px(2.0)) {
                let (vpos, y) = if v >= 0.0 {
                    (VPos::Bottom, y_b - th.px(4.0))
                } else {
                    (VPos::Top, y_b + th.px(4.0))
                };
                text(
                    area,
                    &label,
                    ((x0 + bar_w / 2.0).round() as i32, y),
                    &anchored(&value_style, HPos::Center, vpos),
                )?;
            }
        }
        let cx = (f64::from(f.l) + group_w * (g as f64 + 0.5)).round() as i32;
        let lines = balanced_wrap(area, &display(series), &cat_style, (group_w * 0.95) as i32)?;
        for (j, line) in lines.iter().take(3).enumerate() {
            text(
                area,
                line,
                (cx, f.b + th.px(12.0) + j as i32 * th.px(28.0)),
                &cat_style,
            )?;
        }
    }
    let entries: Vec<(Swatch, String)> = c
        .scenarios
        .iter()
        .enumerate()
        .map(|(s, name)| (Swatch::Fill(scenario_colour(s)), name.clone()))
        .collect();
    legend(
        area,
        &th,
        (f.r + th.px(50.0), f.t),
        legend_w,
        "Scenario",
        &entries,
    )?;
    footnote(area, &th, "Series from compare.csv.")
}
