//! Monte Carlo uncertainty: a fan chart of one series over years (median line, 50% and 90%
//! bands of the draws) and, for a single counterfactual, the median and the 50% and 90%
//! ranges of one measure per country as horizontal intervals.
//!
//! Both say in a footnote how many draws ran, how many failed (left out, never averaged
//! in), the seed and the scenario, so the chart can be reproduced.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::compare::{display, sentence, Unit};
use super::flows::no_data;
use super::style::{
    anchored, decimals_for_value, draw_axes, draw_err, draw_x_axis, ellipsize, fmt_num, fmt_signed,
    footnote_lines, legend, legend_row, polyline, register_fonts, text, text_size, tint,
    title_block, year_ticks, Frame, Marker, Swatch, Theme, ValueAxis, BLACK_, BLUE_, TEXT,
};
use super::{csv_of, PlotError};

/// The 5th, 25th, 50th, 75th and 95th percentiles of a series over the draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    pub q05: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub q95: f64,
}

impl Quantiles {
    fn scaled(self, k: f64) -> Self {
        Self {
            q05: self.q05 * k,
            q25: self.q25 * k,
            q50: self.q50 * k,
            q75: self.q75 * k,
            q95: self.q95 * k,
        }
    }
    fn all(self) -> [f64; 5] {
        [self.q05, self.q25, self.q50, self.q75, self.q95]
    }
}

/// Where the draws come from, for the footnote.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// Draws that ran (the bands are over these).
    pub ran: usize,
    /// Draws that failed to converge or made the scenario invalid.
    pub failed: usize,
    pub seed: u64,
    /// The scenario file.
    pub scenario: String,
}

impl Draws {
    /// The scenario's file name without directory and extension.
    fn scenario_name(&self) -> String {
        std::path::Path::new(&self.scenario)
            .file_stem()
            .map_or_else(
                || self.scenario.clone(),
                |s| s.to_string_lossy().into_owned(),
            )
    }

    fn count(&self) -> String {
        if self.ran == 1 {
            "1 draw".to_owned()
        } else {
            format!("{} draws", fmt_num(self.ran as f64, 0))
        }
    }

    fn note(&self, file: &str) -> String {
        let total = self.ran + self.failed;
        let drawn = if total == 1 {
            "1 draw".to_owned()
        } else {
            format!("{} draws", fmt_num(total as f64, 0))
        };
        let failed = match self.failed {
            0 => "none failed".to_owned(),
            n => format!(
                "{} failed (failed_draws.csv says why) and {} left out: the bands are over the other {}",
                fmt_num(n as f64, 0),
                if n == 1 { "is" } else { "are" },
                fmt_num(self.ran as f64, 0)
            ),
        };
        let single = if self.ran == 1 {
            " With one draw the bands collapse onto the median."
        } else {
            ""
        };
        format!(
            "Monte Carlo: {drawn} with seed {}, {failed}. Scenario {}; from {file}.{single}",
            self.seed, self.scenario
        )
    }
}

/// One series' Monte Carlo bands over years.
#[derive(Debug, Clone, PartialEq)]
pub struct FanChart {
    /// The series, as named in `montecarlo.csv`.
    pub series: String,
    pub unit: Unit,
    pub years: Vec<i32>,
    /// One per year, in the values of the series (a share in [0, 1], USD bn...).
    pub bands: Vec<Quantiles>,
    pub draws: Draws,
}

/// One measure of a single counterfactual per country: median and ranges over the draws.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalChart {
    /// The measure, e.g. `welfare_change_pct`.
    pub measure: String,
    pub unit: Unit,
    /// Country and its quantiles, in any order (drawn by median, largest first).
    pub rows: Vec<(String, Quantiles)>,
    pub draws: Draws,
}

#[derive(Serialize)]
struct FanRow<'a> {
    series: &'a str,
    year: i32,
    q05: f64,
    q25: f64,
    q50: f64,
    q75: f64,
    q95: f64,
    draws: usize,
    failed: usize,
}

#[derive(Serialize)]
struct IntervalRow<'a> {
    country: &'a str,
    measure: &'a str,
    q05: f64,
    q25: f64,
    q50: f64,
    q75: f64,
    q95: f64,
    draws: usize,
    failed: usize,
}

impl FanChart {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<FanRow> = self
            .years
            .iter()
            .zip(&self.bands)
            .map(|(&year, q)| FanRow {
                series: &self.series,
                year,
                q05: q.q05,
                q25: q.q25,
                q50: q.q50,
                q75: q.q75,
                q95: q.q95,
                draws: self.draws.ran,
                failed: self.draws.failed,
            })
            .collect();
        csv_of(&rows, "fan chart")
    }
}

impl IntervalChart {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<IntervalRow> = self
            .sorted()
            .into_iter()
            .map(|(country, q)| IntervalRow {
                country,
                measure: &self.measure,
                q05: q.q05,
                q25: q.q25,
                q50: q.q50,
                q75: q.q75,
                q95: q.q95,
                draws: self.draws.ran,
                failed: self.draws.failed,
            })
            .collect();
        csv_of(&rows, "interval chart")
    }

    /// Rows by median, largest first (ties by name).
    fn sorted(&self) -> Vec<(&str, Quantiles)> {
        let mut rows: Vec<(&str, Quantiles)> =
            self.rows.iter().map(|(c, q)| (c.as_str(), *q)).collect();
        rows.sort_by(|a, b| b.1.q50.total_cmp(&a.1.q50).then(a.0.cmp(b.0)));
        rows
    }
}

/// The fan's colour: Okabe-Ito blue, its bands as lighter tints of it.
const FAN: RGBColor = BLUE_;
const BAND_50: f64 = 0.45;
const BAND_90: f64 = 0.2;

/// Decimals that tell the ends of a range apart and show its size with about three digits.
fn range_decimals(qs: &[f64]) -> usize {
    let max = qs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let lo = qs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = qs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let by_size = decimals_for_value(max, 3, 0);
    let by_width = if hi > lo {
        decimals_for_value(hi - lo, 2, 0)
    } else {
        0
    };
    by_size.max(by_width).min(4)
}

/// A Monte Carlo fan chart: median line, 50% and 90% bands over years.
pub fn draw_fan_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &FanChart,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let name = sentence(&display(&c.series));
    let n = c.years.len().min(c.bands.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| c.years[i]);
    let (Some(&a), Some(&b)) = (order.first(), order.last()) else {
        title_block(area, &th, &format!("{name}: Monte Carlo range"), "")?;
        footnote_lines(area, &th, &c.draws.note("montecarlo.csv"), 2)?;
        return no_data(area, &th, "no years to show");
    };
    let (first, last) = (c.years[a], c.years[b]);
    let years_text = super::style::years_text(first, last);
    let k = c.unit.scale();
    let bands: Vec<Quantiles> = c.bands.iter().map(|q| q.scaled(k)).collect();
    let (lo, hi) = order
        .iter()
        .flat_map(|&i| bands[i].all())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    // Levels far from zero (the imports of a whole economy) are shown on an axis that does
    // not start at zero, so the width of the bands can be read; the subtitle says so.
    let zoom = lo.is_finite() && lo > 0.0 && lo > 0.5 * hi;
    let axis = if zoom {
        ValueAxis::zoomed(lo, hi, 6)
    } else if lo.is_finite() {
        ValueAxis::new(lo, hi, 7)
    } else {
        ValueAxis::new(0.0, 0.0, 7)
    };
    let over = if c.draws.failed > 0 {
        format!("the {} that ran", c.draws.count())
    } else {
        c.draws.count()
    };
    let top = title_block(
        area,
        &th,
        &format!("{name}: Monte Carlo range, {years_text}"),
        &format!(
            "{} by year, scenario {}, over {over}. Line: median; darker band: middle 50% of draws (25th to 75th percentile); lighter band: middle 90% (5th to 95th).{}",
            c.unit.words(),
            c.draws.scenario_name(),
            if zoom { " The axis does not start at zero." } else { "" }
        ),
    )?;
    let mut widest = 0;
    for &v in &axis.ticks {
        widest = widest.max(text_size(area, &axis.label(v), &th.tick())?.0);
    }
    let legend_w = th.px(400.0);
    let l = th.px(40.0) + widest.max(th.px(70.0)) + th.px(14.0);
    let t = top + th.px(36.0);
    let f = Frame {
        l,
        t,
        r: (th.w - th.px(40.0) - legend_w - th.px(50.0)).max(l + 10),
        b: (th.h - th.px(145.0)).max(t + 10),
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
    let x = |i: usize| f.x(f64::from(c.years[i]));
    if order.len() == 1 {
        // One year: a box for the 50% range on a thinner bar for the 90% range.
        let i = order[0];
        let q = bands[i];
        let cx = x(i);
        let half = |yr: f64| (f64::from(f.r - f.l) * yr).round() as i32;
        for (w, (a, b), colour) in [
            (0.06, (q.q05, q.q95), tint(FAN, BAND_90)),
            (0.16, (q.q25, q.q75), tint(FAN, BAND_50)),
        ] {
            area.draw(&Rectangle::new(
                [(cx - half(w), f.y(b)), (cx + half(w), f.y(a))],
                colour.filled(),
            ))
            .map_err(draw_err)?;
        }
        polyline(
            area,
            &th,
            vec![(cx - half(0.2), f.y(q.q50)), (cx + half(0.2), f.y(q.q50))],
            FAN,
            5.0,
            false,
        )?;
    } else {
        for (colour, lower, upper) in [
            (
                tint(FAN, BAND_90),
                (|q: &Quantiles| q.q05) as fn(&Quantiles) -> f64,
                (|q: &Quantiles| q.q95) as fn(&Quantiles) -> f64,
            ),
            (tint(FAN, BAND_50), |q| q.q25, |q| q.q75),
        ] {
            let mut poly: Vec<(i32, i32)> = order
                .iter()
                .map(|&i| (x(i), f.y(upper(&bands[i]))))
                .collect();
            poly.extend(order.iter().rev().map(|&i| (x(i), f.y(lower(&bands[i])))));
            area.draw(&Polygon::new(poly, colour.filled()))
                .map_err(draw_err)?;
        }
        let median: Vec<(i32, i32)> = order.iter().map(|&i| (x(i), f.y(bands[i].q50))).collect();
        polyline(area, &th, median.clone(), FAN, 4.0, false)?;
        if order.len() <= 20 {
            for p in median {
                area.draw(&Circle::new(p, th.px(5.0), FAN.filled()))
                    .map_err(draw_err)?;
            }
        }
    }
    // Legend: the key, then the last year's numbers.
    let y = legend(
        area,
        &th,
        (f.r + th.px(50.0), f.t),
        legend_w,
        "Over the draws",
        &[
            (
                Swatch::Line {
                    colour: FAN,
                    dashed: false,
                },
                "median".to_owned(),
            ),
            (
                Swatch::Fill(tint(FAN, BAND_50)),
                "middle 50% (25th to 75th percentile)".to_owned(),
            ),
            (
                Swatch::Fill(tint(FAN, BAND_90)),
                "middle 90% (5th to 95th percentile)".to_owned(),
            ),
        ],
    )?;
    let q = bands[b];
    let d = range_decimals(&q.all());
    let unit = c.unit.label();
    let sep = if unit == "%" { "" } else { " " };
    let v = |x: f64| format!("{}{sep}{unit}", fmt_num(x, d));
    let lines = [
        format!("median {}", v(q.q50)),
        format!("50%: {} to {}", fmt_num(q.q25, d), v(q.q75)),
        format!("90%: {} to {}", fmt_num(q.q05, d), v(q.q95)),
    ];
    let x0 = f.r + th.px(50.0);
    let mut y = y + th.px(24.0);
    let hs = anchored(&th.bold(21.0, TEXT), HPos::Left, VPos::Top);
    text(area, &format!("In {last}"), (x0, y), &hs)?;
    y += th.px(34.0);
    let ls = anchored(&th.legend(), HPos::Left, VPos::Top);
    for line in lines {
        let line = ellipsize(area, &line, &ls, legend_w)?;
        text(area, &line, (x0, y), &ls)?;
        y += th.px(30.0);
    }
    footnote_lines(
        area,
        &th,
        &format!("{} Series `{}`.", c.draws.note("montecarlo.csv"), c.series),
        2,
    )?;
    Ok(())
}

/// `s` with its first letter in lower case, unless it starts an acronym ("GDP").
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), s.chars().nth(1)) {
        (Some(f), Some(n)) if !n.is_uppercase() => f.to_lowercase().chain(c).collect(),
        _ => s.to_owned(),
    }
}

/// What a counterfactual measure is, for titles.
fn measure_name(measure: &str) -> String {
    match measure {
        "welfare_change_pct" => "Welfare change".to_owned(),
        "real_gdp_change_pct" => "Real GDP change".to_owned(),
        "foreign_exports_change_pct" => "Change in exports to other countries".to_owned(),
        m => sentence(&m.trim_end_matches("_pct").replace('_', " ")),
    }
}

/// One measure per country: median and the 50% and 90% ranges as horizontal intervals,
/// countries by median, largest first, with the numbers in a column on the right.
pub fn draw_intervals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &IntervalChart,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let what = measure_name(&c.measure);
    let rows = c.sorted();
    let over = if c.draws.failed > 0 {
        format!("the {} that ran", c.draws.count())
    } else {
        c.draws.count()
    };
    // Rows whose whole range is under 2% of the data's span are too small to see: the
    // subtitle points to the numbers.
    let span = rows
        .iter()
        .flat_map(|(_, q)| q.all())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let tiny = rows
        .iter()
        .filter(|(_, q)| q.all().iter().all(|v| v.abs() < 0.02 * (span.1 - span.0)))
        .count();
    let top = title_block(
        area,
        &th,
        &format!("{what} by country: Monte Carlo median and ranges"),
        &format!(
            "{} change from the baseline, scenario {}, over {over}; countries by median, largest first.{}",
            c.unit.words(),
            c.draws.scenario_name(),
            if tiny > 1 && tiny < rows.len() {
                format!(" {tiny} countries change too little to see at this scale: their numbers are on the right.")
            } else {
                String::new()
            }
        ),
    )?;
    // The key in one row under the subtitle.
    let key_y = top + th.px(6.0);
    legend_row(
        area,
        &th,
        (th.px(40.0), key_y),
        &[
            (Swatch::Marker(Marker::Dot(BLACK_)), "median".to_owned()),
            (
                Swatch::Fill(tint(FAN, 0.75)),
                "middle 50% of draws".to_owned(),
            ),
            (
                Swatch::Fill(tint(FAN, 0.35)),
                "middle 90% of draws".to_owned(),
            ),
        ],
    )?;
    let footnote_top = footnote_lines(
        area,
        &th,
        &c.draws
            .note(&format!("montecarlo.csv (`<country> {}`)", c.measure)),
        2,
    )?;
    if rows.is_empty() {
        return no_data(area, &th, "no countries to show");
    }
    let k = c.unit.scale();
    let (lo, hi) = rows
        .iter()
        .flat_map(|(_, q)| q.scaled(k).all())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let axis = ValueAxis::new(lo, hi, 10);
    let label_size = |row_h: i32| (th.design(row_h) * 0.78).clamp(8.0, 21.0);
    let t = key_y + th.px(40.0);
    let b = (footnote_top - th.px(84.0)).max(t + 10);
    let row_h = (b - t) / rows.len() as i32;
    let ls = th.text(label_size(row_h), TEXT);
    let mut label_w = 0;
    for (country, _) in &rows {
        label_w = label_w.max(text_size(area, country, &ls)?.0);
    }
    // The numbers column: median and 90% range, each row with two significant digits of
    // its largest value (small changes stay readable next to large ones).
    let numbers: Vec<String> = rows
        .iter()
        .map(|(_, q)| {
            let q = q.scaled(k);
            let largest = q.all().iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let d = decimals_for_value(largest, 2, 0).min(6);
            format!(
                "{} ({} to {})",
                fmt_signed(q.q50, d),
                fmt_signed(q.q05, d),
                fmt_signed(q.q95, d)
            )
        })
        .collect();
    let head = "median (90% range)";
    let hs = anchored(
        &th.bold(label_size(row_h).min(19.0), TEXT),
        HPos::Left,
        VPos::Bottom,
    );
    let mut numbers_w = text_size(area, head, &hs)?.0;
    for s in &numbers {
        numbers_w = numbers_w.max(text_size(area, s, &ls)?.0);
    }
    let show_numbers = numbers_w < th.w / 3;
    let r = if show_numbers {
        th.w - th.px(40.0) - numbers_w - th.px(30.0)
    } else {
        th.w - th.px(40.0)
    };
    let l = th.px(40.0) + label_w + th.px(24.0);
    let f = Frame {
        l,
        t,
        r: r.max(l + 10),
        b: t + row_h * rows.len() as i32,
        x0: axis.lo,
        x1: axis.hi,
        y0: 0.0,
        y1: 1.0,
    };
    draw_x_axis(
        area,
        &th,
        &f,
        &axis,
        &format!("{}, {}", lower_first(&what), c.unit.label()),
    )?;
    let label_style = anchored(&ls, HPos::Right, VPos::Center);
    let number_style = anchored(&ls, HPos::Left, VPos::Center);
    if show_numbers {
        text(area, head, (f.r + th.px(30.0), f.t - th.px(4.0)), &hs)?;
    }
    let thin =
        ShapeStyle::from(&tint(FAN, 0.35)).stroke_width((row_h / 5).clamp(1, th.px(6.0)) as u32);
    for (i, (country, q)) in rows.iter().enumerate() {
        let q = q.scaled(k);
        let cy = f.t + row_h * i as i32 + row_h / 2;
        text(area, country, (f.l - th.px(12.0), cy), &label_style)?;
        area.draw(&PathElement::new(
            vec![(f.x(q.q05), cy), (f.x(q.q95), cy)],
            thin,
        ))
        .map_err(draw_err)?;
        let h = (row_h * 3 / 10).clamp(1, th.px(12.0));
        area.draw(&Rectangle::new(
            [
                (f.x(q.q25), cy - h),
                (f.x(q.q75).max(f.x(q.q25) + 1), cy + h),
            ],
            tint(FAN, 0.75).filled(),
        ))
        .map_err(draw_err)?;
        let scale = (f64::from(row_h) / f64::from(th.px(40.0))).clamp(0.3, 0.7);
        Marker::Dot(BLACK_).draw(area, &th, (f.x(q.q50), cy), scale)?;
        if show_numbers {
            text(area, &numbers[i], (f.r + th.px(30.0), cy), &number_style)?;
        }
    }
    Ok(())
}
