//! Monte Carlo uncertainty: a fan chart of one series over years (median line, 50% and 90%
//! bands of the draws) and, for a single counterfactual, the median and the 50% and 90%
//! ranges of one measure per country as horizontal intervals.
//!
//! Both say in a footnote how many draws ran, how many failed (left out, never averaged
//! in), the seed and the scenario, so the chart can be reproduced.
//!
//! A Monte Carlo drawn from a fitted posterior also shows, on its fan charts, the observed
//! figures of the series (`observed.csv`, from the posterior folder's `fit.csv` and
//! `backtest.csv`): filled dots for the figures fitted to, open rings for those a backtest
//! predicted out of sample, and a dashed line at the last observed year between "history"
//! and "projection". The figures are in the model's units, as the bands are.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::compare::{display_named, sentence, Unit};
use super::page::{
    file_stem, min_max, value_axis, year_range, zoomed_text, Page, Words, BOTTOM_LEFT, LEFT, RIGHT,
    TOP_LEFT, TOP_RIGHT,
};
use super::style::{
    decimals_for_value, draw_x_axis, ellipsize, fmt_num, fmt_signed, polyline, tint, years_text,
    Frame, Marker, Swatch, ValueAxis, BLACK_, BLUE_, DARK_GREY, MUTED, TEXT, VERMILLION,
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
    fn count(&self) -> String {
        if self.ran == 1 {
            "1 draw".to_owned()
        } else {
            format!("{} draws", fmt_num(self.ran as f64, 0))
        }
    }

    /// What the bands are over: the draws, or the draws that ran when some failed.
    fn over(&self) -> String {
        if self.failed > 0 {
            format!("the {} that ran", self.count())
        } else {
            self.count()
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
    /// The observed figures of the series, with a Monte Carlo drawn from a posterior.
    pub observed: Option<FanObserved>,
}

/// The observed figures a fan chart shows (`observed.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct FanObserved {
    /// The series' figures, in its values (years outside the fan's are not drawn).
    pub points: Vec<FanPoint>,
    /// The last year with an observed figure (of any series of the folder): history up to
    /// it, projection after it.
    pub history_end: Option<i32>,
    /// The posterior folder the figures come from, for the footnote.
    pub posterior: String,
}

/// One observed figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FanPoint {
    pub year: i32,
    pub value: f64,
    /// Fitted to, or predicted out of sample by a backtest.
    pub in_sample: bool,
}

/// The observed figures of a Monte Carlo folder drawn from a posterior (`observed.csv`
/// and `posterior.json`), for its fan charts: a function from a series to what its chart
/// shows. `None` for a folder drawn without one.
pub(super) fn observed_of(
    folder: &super::input::Folder,
) -> Result<Option<impl Fn(&str) -> FanObserved>, PlotError> {
    if !folder.has("posterior.json") {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Record {
        folder: String,
    }
    let record: Record = folder.json(
        "posterior.json",
        "a Monte Carlo folder drawn from a posterior holds posterior.json",
    )?;
    let rows: Vec<crate::montecarlo::posterior::ObservedRow> = folder.csv(
        "observed.csv",
        "a Monte Carlo folder drawn from a posterior holds observed.csv (its observed figures)",
        &[
            "series",
            "year",
            "reporter",
            "observed",
            "in_sample",
            "source",
        ],
        &["observed"],
        &[],
    )?;
    let history_end = rows.iter().map(|r| r.year).max();
    Ok(Some(move |series: &str| FanObserved {
        points: rows
            .iter()
            .filter(|r| r.series == series)
            .map(|r| FanPoint {
                year: r.year,
                value: r.observed,
                in_sample: r.in_sample,
            })
            .collect(),
        history_end,
        posterior: record.folder.clone(),
    }))
}

/// The markers of observed figures: fitted to, and out of sample.
const IN_SAMPLE: Marker = Marker::Dot(BLACK_);
const OUT_OF_SAMPLE: Marker = Marker::Ring(VERMILLION);

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

/// A fan chart's row with the observed figure of its year (empty cells where none).
#[derive(Serialize)]
struct FanObservedRow<'a> {
    series: &'a str,
    year: i32,
    q05: f64,
    q25: f64,
    q50: f64,
    q75: f64,
    q95: f64,
    draws: usize,
    failed: usize,
    observed: Option<f64>,
    in_sample: Option<bool>,
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
        let Some(obs) = &self.observed else {
            return csv_of(&rows, "fan chart");
        };
        let rows: Vec<FanObservedRow> = rows
            .into_iter()
            .map(|band| {
                let pt = obs.points.iter().find(|p| p.year == band.year);
                FanObservedRow {
                    series: band.series,
                    year: band.year,
                    q05: band.q05,
                    q25: band.q25,
                    q50: band.q50,
                    q75: band.q75,
                    q95: band.q95,
                    draws: band.draws,
                    failed: band.failed,
                    observed: pt.map(|p| p.value),
                    in_sample: pt.map(|p| p.in_sample),
                }
            })
            .collect();
        csv_of(&rows, "fan chart")
    }

    /// The observed figures within the fan's years, in the values shown.
    fn points(&self) -> Vec<FanPoint> {
        let (Some(lo), Some(hi)) = (self.years.iter().min(), self.years.iter().max()) else {
            return Vec::new();
        };
        let k = self.unit.scale();
        self.observed
            .iter()
            .flat_map(|o| &o.points)
            .filter(|p| (*lo..=*hi).contains(&p.year) && p.value.is_finite())
            .map(|p| FanPoint {
                value: p.value * k,
                ..*p
            })
            .collect()
    }

    /// The year history ends, when it falls within the fan's years.
    fn history_end(&self) -> Option<i32> {
        let y = self.observed.as_ref()?.history_end?;
        let (lo, hi) = (self.years.iter().min()?, self.years.iter().max()?);
        (*lo..=*hi).contains(&y).then_some(y)
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

    /// Whether the rows are labelled by economy names: up to [`NAMED_ROWS`] rows (more
    /// leave too little height for a name), else by their codes.
    fn named(&self) -> bool {
        self.rows.len() <= NAMED_ROWS
    }

    /// A row's label: the economy's short name, or its code.
    fn row_label(&self, code: &str) -> String {
        if self.named() {
            super::names::short(code)
        } else {
            code.to_owned()
        }
    }
}

/// Interval charts with at most this many rows name the economies; longer ones show codes.
const NAMED_ROWS: usize = 30;

/// The fan's colour: Okabe-Ito blue, its bands as lighter tints of it.
const FAN: RGBColor = BLUE_;
const BAND_50: f64 = 0.45;
const BAND_90: f64 = 0.2;

/// Decimals that tell the ends of a range apart and show its size with about three digits.
fn range_decimals(qs: &[f64]) -> usize {
    let max = qs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (lo, hi) = min_max(qs.iter().copied());
    let by_size = decimals_for_value(max, 3, 0);
    let by_width = if hi > lo {
        decimals_for_value(hi - lo, 2, 0)
    } else {
        0
    };
    by_size.max(by_width).min(4)
}

impl FanChart {
    /// Positions of the years that have bands, in year order.
    fn order(&self) -> Vec<usize> {
        let n = self.years.len().min(self.bands.len());
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.years[i]);
        order
    }

    /// The bands in the values shown (a share in percent).
    fn shown(&self) -> Vec<Quantiles> {
        let k = self.unit.scale();
        self.bands.iter().map(|q| q.scaled(k)).collect()
    }

    /// The value axis and whether it is zoomed.
    fn axis(&self) -> (ValueAxis, bool) {
        let bands = self.shown();
        let observed = self.points().into_iter().map(|p| p.value);
        let (lo, hi) = min_max(
            self.order()
                .into_iter()
                .flat_map(|i| bands[i].all())
                .chain(observed),
        );
        value_axis(lo, hi)
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let name = sentence(&display_named(&self.series));
        let mut note = format!(
            "{} Series `{}`.",
            self.draws.note("montecarlo.csv"),
            self.series
        );
        if let Some(o) = &self.observed {
            note.push_str(&format!(
                " Parameters drawn from the posterior in {}; observed figures from its fit.csv and backtest.csv (observed.csv).",
                o.posterior
            ));
        }
        let order = self.order();
        let (Some(&a), Some(&b)) = (order.first(), order.last()) else {
            let title = format!("{name}: Monte Carlo range");
            return Words {
                title,
                subtitle: String::new(),
                note,
                note_lines: 2,
            };
        };
        Words {
            title: format!(
                "{name}: Monte Carlo range, {}",
                years_text(self.years[a], self.years[b])
            ),
            subtitle: format!(
                "{} by year, scenario {}, over {}. Line: median; darker band: middle 50% of draws (25th to 75th percentile); lighter band: middle 90% (5th to 95th).{}{}",
                self.unit.words(),
                file_stem(&self.draws.scenario),
                self.draws.over(),
                self.observed_words(),
                zoomed_text(self.axis().1)
            ),
            note,
            note_lines: 2,
        }
    }

    /// What the subtitle says of the observed figures and the history line.
    fn observed_words(&self) -> String {
        if self.observed.is_none() {
            return String::new();
        }
        let points = self.points();
        let mut s = match (
            points.iter().any(|p| p.in_sample),
            points.iter().any(|p| !p.in_sample),
        ) {
            (true, true) => {
                " Dots: observed figures fitted to; rings: observed figures out of sample."
                    .to_owned()
            }
            (true, false) => " Dots: observed figures fitted to.".to_owned(),
            (false, true) => " Rings: observed figures out of sample.".to_owned(),
            (false, false) => " No observed figure of this series.".to_owned(),
        };
        if let Some(y) = self.history_end() {
            s.push_str(&format!(" Dashed line: last observed year, {y}."));
        }
        s
    }

    /// The last year's numbers for the legend column.
    fn last_year(&self) -> Option<(i32, [String; 3])> {
        let i = *self.order().last()?;
        let q = self.shown()[i];
        let d = range_decimals(&q.all());
        let unit = self.unit.label();
        let sep = if unit == "%" { "" } else { " " };
        let v = |x: f64| format!("{}{sep}{unit}", fmt_num(x, d));
        let lines = [
            format!("median {}", v(q.q50)),
            format!("50%: {} to {}", fmt_num(q.q25, d), v(q.q75)),
            format!("90%: {} to {}", fmt_num(q.q05, d), v(q.q95)),
        ];
        Some((self.years[i], lines))
    }
}

/// A Monte Carlo fan chart: median line, 50% and 90% bands over years.
pub(crate) fn draw_fan_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &FanChart,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let order = c.order();
    let (Some(&a), Some((last, numbers))) = (order.first(), c.last_year()) else {
        return p.no_data("no years to show");
    };
    let (th, first, bands) = (&p.th, c.years[a], c.shown());
    let (axis, _) = c.axis();
    let (f, legend) = p.value_frame(&axis, year_range(first, last), 400.0, 145.0)?;
    p.year_axes(&f, &axis, c.unit.label(), (first, last))?;
    let x = |i: usize| f.x(f64::from(c.years[i]));
    if order.len() == 1 {
        // One year: a box for the 50% range on a thinner bar for the 90% range.
        let q = bands[order[0]];
        let cx = x(order[0]);
        let half = |yr: f64| (f64::from(f.r - f.l) * yr).round() as i32;
        for (w, (a, b), colour) in [
            (0.06, (q.q05, q.q95), tint(FAN, BAND_90)),
            (0.16, (q.q25, q.q75), tint(FAN, BAND_50)),
        ] {
            p.rect([(cx - half(w), f.y(b)), (cx + half(w), f.y(a))], colour)?;
        }
        let median = vec![(cx - half(0.2), f.y(q.q50)), (cx + half(0.2), f.y(q.q50))];
        polyline(area, th, median, FAN, 5.0, false)?;
    } else {
        type Edge = fn(&Quantiles) -> f64;
        let edges: [(f64, Edge, Edge); 2] = [
            (BAND_90, |q| q.q05, |q| q.q95),
            (BAND_50, |q| q.q25, |q| q.q75),
        ];
        for (t, lower, upper) in edges {
            let mut poly: Vec<(i32, i32)> = order
                .iter()
                .map(|&i| (x(i), f.y(upper(&bands[i]))))
                .collect();
            poly.extend(order.iter().rev().map(|&i| (x(i), f.y(lower(&bands[i])))));
            p.draw(&Polygon::new(poly, tint(FAN, t).filled()))?;
        }
        let median: Vec<(i32, i32)> = order.iter().map(|&i| (x(i), f.y(bands[i].q50))).collect();
        polyline(area, th, median.clone(), FAN, 4.0, false)?;
        if order.len() <= 20 {
            for pt in median {
                p.draw(&Circle::new(pt, th.px(5.0), FAN.filled()))?;
            }
        }
    }
    let points = c.points();
    if let Some(y) = c.history_end() {
        // History against projection: a dashed line at the last observed year.
        let xh = f.x(f64::from(y));
        let dash = th.px(10.0).max(2);
        let mut y0 = f.t;
        while y0 < f.b {
            let y1 = (y0 + dash).min(f.b);
            p.line(vec![(xh, y0), (xh, y1)], DARK_GREY, 2.0)?;
            y0 += 2 * dash;
        }
        let ls = th.text(19.0, MUTED);
        let top = f.t + th.px(6.0);
        if xh - f.l > th.px(90.0) {
            p.text("history", (xh - th.px(10.0), top), &ls, TOP_RIGHT)?;
        }
        if f.r - xh > th.px(110.0) {
            p.text("projection", (xh + th.px(10.0), top), &ls, TOP_LEFT)?;
        }
    }
    for pt in &points {
        let at = (f.x(f64::from(pt.year)), f.y(pt.value));
        let marker = if pt.in_sample {
            IN_SAMPLE
        } else {
            OUT_OF_SAMPLE
        };
        marker.draw(area, th, at, 0.9)?;
    }
    // Legend: the key, then the last year's numbers.
    let mut key = vec![
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
    ];
    if points.iter().any(|p| p.in_sample) {
        key.push((Swatch::Marker(IN_SAMPLE), "observed, fitted to".to_owned()));
    }
    if points.iter().any(|p| !p.in_sample) {
        key.push((
            Swatch::Marker(OUT_OF_SAMPLE),
            "observed, out of sample".to_owned(),
        ));
    }
    let mut y = p.legend(legend, f.t, "Over the draws", &key)? + th.px(24.0);
    p.text(
        &format!("In {last}"),
        (legend.x, y),
        &th.bold(21.0, TEXT),
        TOP_LEFT,
    )?;
    y += th.px(34.0);
    let ls = th.legend();
    for line in numbers {
        let line = ellipsize(area, &line, &ls, legend.w)?;
        p.text(&line, (legend.x, y), &ls, TOP_LEFT)?;
        y += th.px(30.0);
    }
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

impl IntervalChart {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let rows = self.sorted();
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
        let tiny = if tiny > 1 && tiny < rows.len() {
            format!(" {tiny} countries change too little to see at this scale: their numbers are on the right.")
        } else {
            String::new()
        };
        Words {
            title: format!(
                "{} by country: Monte Carlo median and ranges",
                measure_name(&self.measure)
            ),
            subtitle: format!(
                "{} change from the baseline, scenario {}, over {}; countries by median, largest first.{tiny}",
                self.unit.words(),
                file_stem(&self.draws.scenario),
                self.draws.over(),
            ),
            note: {
                let mut note = self
                    .draws
                    .note(&format!("montecarlo.csv (`<country> {}`)", self.measure));
                if !self.named() {
                    note.push_str(" Economies by their codes (ISO 3166-1 alpha-3 where they are countries).");
                }
                note
            },
            note_lines: 2,
        }
    }

    /// The x axis' title.
    fn axis_title(&self) -> String {
        let what = lower_first(&measure_name(&self.measure));
        format!("{what}, {}", self.unit.label())
    }

    /// The numbers column: median and 90% range, each row with two significant digits of
    /// its largest value (small changes stay readable next to large ones).
    fn numbers(&self) -> Vec<String> {
        let k = self.unit.scale();
        self.sorted()
            .into_iter()
            .map(|(_, q)| {
                let q = q.scaled(k);
                let largest = q.all().iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let d = decimals_for_value(largest, 2, 0).min(6);
                let s = |v: f64| fmt_signed(v, d);
                format!("{} ({} to {})", s(q.q50), s(q.q05), s(q.q95))
            })
            .collect()
    }
}

/// One measure per country: median and the 50% and 90% ranges as horizontal intervals,
/// countries by median, largest first, with the numbers in a column on the right.
pub(crate) fn draw_intervals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &IntervalChart,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
    let rows = c.sorted();
    let key_y = p.key_row(&[
        (Swatch::Marker(Marker::Dot(BLACK_)), "median".to_owned()),
        (
            Swatch::Fill(tint(FAN, 0.75)),
            "middle 50% of draws".to_owned(),
        ),
        (
            Swatch::Fill(tint(FAN, 0.35)),
            "middle 90% of draws".to_owned(),
        ),
    ])?;
    if rows.is_empty() {
        return p.no_data("no countries to show");
    }
    let k = c.unit.scale();
    let (lo, hi) = min_max(rows.iter().flat_map(|(_, q)| q.scaled(k).all()));
    let axis = ValueAxis::new(lo, hi, 10);
    let t = key_y + th.px(40.0);
    let b = (p.bottom - th.px(84.0)).max(t + 10);
    let row_h = (b - t) / rows.len() as i32;
    let size = (th.design(row_h) * 0.78).clamp(8.0, 21.0);
    let ls = th.text(size, TEXT);
    let labels: Vec<String> = rows
        .iter()
        .map(|(country, _)| c.row_label(country))
        .collect();
    let label_w = p.widest(&labels, &ls)?;
    let numbers = c.numbers();
    let head = "median (90% range)";
    let hs = th.bold(size.min(19.0), TEXT);
    let numbers_w = p.size(head, &hs)?.0.max(p.widest(&numbers, &ls)?);
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
    draw_x_axis(area, th, &f, &axis, &c.axis_title())?;
    let nx = f.r + th.px(30.0);
    if show_numbers {
        p.text(head, (nx, f.t - th.px(4.0)), &hs, BOTTOM_LEFT)?;
    }
    let thin =
        ShapeStyle::from(&tint(FAN, 0.35)).stroke_width((row_h / 5).clamp(1, th.px(6.0)) as u32);
    for (i, ((_, q), label)) in rows.iter().zip(&labels).enumerate() {
        let q = q.scaled(k);
        let cy = f.t + row_h * i as i32 + row_h / 2;
        p.text(label, (f.l - th.px(12.0), cy), &ls, RIGHT)?;
        p.draw(&PathElement::new(
            vec![(f.x(q.q05), cy), (f.x(q.q95), cy)],
            thin,
        ))?;
        let h = (row_h * 3 / 10).clamp(1, th.px(12.0));
        let (x25, x75) = (f.x(q.q25), f.x(q.q75).max(f.x(q.q25) + 1));
        p.rect([(x25, cy - h), (x75, cy + h)], tint(FAN, 0.75))?;
        let scale = (f64::from(row_h) / f64::from(th.px(40.0))).clamp(0.3, 0.7);
        Marker::Dot(BLACK_).draw(area, th, (f.x(q.q50), cy), scale)?;
        if show_numbers {
            p.text(&numbers[i], (nx, cy), &ls, LEFT)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(m: f64) -> Quantiles {
        Quantiles {
            q05: m - 2.0,
            q25: m - 1.0,
            q50: m,
            q75: m + 1.0,
            q95: m + 2.0,
        }
    }

    fn draws(failed: usize) -> Draws {
        Draws {
            ran: 20,
            failed,
            seed: 7,
            scenario: "scenarios/roundabout/as_happened.toml".into(),
        }
    }

    #[test]
    fn fan_wording() {
        let c = FanChart {
            series: "CHN->KGZ recorded by CHN".into(),
            unit: Unit::UsdBn,
            years: vec![2022, 2021],
            bands: vec![q(300.0), q(290.0)],
            draws: draws(1),
            observed: None,
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "China→Kyrgyzstan recorded by China: Monte Carlo range, 2021–2022"
        );
        assert!(w
            .subtitle
            .starts_with("USD bn by year, scenario as_happened, over the 20 draws that ran."));
        assert!(w.subtitle.ends_with("The axis does not start at zero."));
        assert!(
            w.note.contains("21 draws with seed 7, 1 failed"),
            "{}",
            w.note
        );
        let (year, lines) = c.last_year().unwrap();
        assert_eq!(year, 2022);
        assert_eq!(lines[0], "median 300.0 USD bn");
    }

    #[test]
    fn observed_points_within_the_years_in_the_values_shown() {
        let pt = |year, value, in_sample| FanPoint {
            year,
            value,
            in_sample,
        };
        let c = FanChart {
            series: "RUS.imports.direct_share".into(),
            unit: Unit::of_series("RUS.imports.direct_share"),
            years: vec![2021, 2022, 2023],
            bands: vec![q(0.5), q(0.4), q(0.3)],
            draws: draws(0),
            observed: Some(FanObserved {
                points: vec![
                    pt(2020, 0.9, true),
                    pt(2022, 0.41, true),
                    pt(2023, 0.2, false),
                ],
                history_end: Some(2023),
                posterior: "plots/as_happened/calibration".into(),
            }),
        };
        // 2020 lies outside the fan; a share is shown in percent.
        let shown = c.points();
        assert_eq!(shown.len(), 2);
        assert!((shown[0].value - 41.0).abs() < 1e-9);
        let w = c.words();
        assert!(
            w.subtitle.contains("Dots: observed figures fitted to; rings: observed figures out of sample. Dashed line: last observed year, 2023."),
            "{}",
            w.subtitle
        );
        assert!(w
            .note
            .contains("posterior in plots/as_happened/calibration"));
        let csv = String::from_utf8(c.csv().unwrap()).unwrap();
        assert!(
            csv.lines().next().unwrap().ends_with(",observed,in_sample"),
            "{csv}"
        );
        assert!(csv.contains(",0.41,true"), "{csv}");
        // A history end outside the fan's years draws no line.
        let mut late = c.clone();
        late.observed.as_mut().unwrap().history_end = Some(2030);
        assert_eq!(late.history_end(), None);
    }

    #[test]
    fn interval_wording() {
        let c = IntervalChart {
            measure: "real_gdp_change_pct".into(),
            unit: Unit::Percent,
            rows: vec![("CAN".into(), q(1.0)), ("JPN".into(), q(3.0))],
            draws: draws(0),
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "Real GDP change by country: Monte Carlo median and ranges"
        );
        assert!(w.subtitle.contains("over 20 draws;"), "{}", w.subtitle);
        assert_eq!(c.axis_title(), "real GDP change, %");
        assert_eq!(c.numbers()[0], "+3.0 (+1.0 to +5.0)");
    }
}
