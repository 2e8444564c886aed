//! A calibration's backtest: each figure the fit did not see (its year after `--until`)
//! against the model's prediction at the fit, on log axes, with the 45-degree line where
//! they agree and bands a factor 1.25, 1.5 and 2 either way; the worst predictions are
//! numbered and listed.
//!
//! Data flow: `backtest.csv` rows ([`crate::calibrate::BacktestRow`]) -> [`Backtest`] ->
//! [`backtest_chart_files`] (PNG, SVG and the CSV the chart is drawn from), which `tradeflow
//! calibrate --until` writes into the folder's `charts/`.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::observed::{log_label, log_ticks};
use super::page::{Column, Page, Words, RIGHT, TOP_LEFT};
use super::style::{
    dashes, draw_axes, fmt_num, Frame, Marker, Swatch, ValueAxis, BLUE_, DARK_GREY, GREY, MUTED,
    TEXT, VERMILLION,
};
use super::{csv_of, NamedBytes, PlotError, SIZE};
use crate::calibrate::BacktestRow;

/// The chart of a backtest's predictions against the observed figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub scenario: String,
    /// The last year fitted.
    pub until: i32,
    /// The unit of the figures (the scenario's `[data] unit`).
    pub unit: String,
    /// Every target (the fitted ones are counted in the words, not drawn).
    pub rows: Vec<BacktestRow>,
}

/// How many of the worst predictions are numbered and listed.
const WORST: usize = 5;

/// The bands drawn either side of the diagonal.
const FACTORS: [f64; 3] = [1.25, 1.5, 2.0];

#[derive(Serialize)]
struct Row<'a> {
    series: &'a str,
    reporter: &'a str,
    year: Option<i32>,
    observed: f64,
    predicted: f64,
    /// `predicted / observed`.
    ratio: f64,
    unit: &'a str,
    source: &'a str,
}

impl Backtest {
    /// The predictions (out-of-sample rows with positive figures).
    fn predictions(&self) -> Vec<&BacktestRow> {
        self.rows
            .iter()
            .filter(|r| !r.in_sample && r.observed > 0.0 && r.fitted > 0.0)
            .collect()
    }

    /// The worst predictions, farthest first.
    fn worst(&self) -> Vec<&BacktestRow> {
        let mut w = self.predictions();
        w.sort_by(|a, b| b.log_deviation.abs().total_cmp(&a.log_deviation.abs()));
        w.truncate(WORST);
        w
    }

    /// The CSV the chart is drawn from: one row per prediction.
    pub fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<Row> = self
            .predictions()
            .into_iter()
            .map(|r| Row {
                series: &r.series,
                reporter: &r.reporter,
                year: r.year,
                observed: r.observed,
                predicted: r.fitted,
                ratio: r.fitted / r.observed,
                unit: &self.unit,
                source: &r.source,
            })
            .collect();
        csv_of(&rows, "backtest predictions")
    }

    /// The share of predictions within a factor `f` either way.
    fn within(&self, f: f64) -> (usize, usize) {
        let p = self.predictions();
        let n = p
            .iter()
            .filter(|r| r.log_deviation.abs() <= f.ln() + 1e-12)
            .count();
        (n, p.len())
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let fitted = self.rows.iter().filter(|r| r.in_sample).count();
        let years: Vec<i32> = self.predictions().iter().filter_map(|r| r.year).collect();
        let span = match (years.iter().min(), years.iter().max()) {
            (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
            (Some(a), _) => a.to_string(),
            _ => "later years".to_owned(),
        };
        let shares: Vec<String> = FACTORS
            .iter()
            .map(|&f| {
                let (n, of) = self.within(f);
                format!("{n} of {of} within a factor {f}")
            })
            .collect();
        Words {
            title: format!(
                "Backtest of {}: fitted through {}, predicting {span}",
                self.scenario, self.until
            ),
            subtitle: format!(
                "Each figure the fit did not see against the model's prediction, {}, log scales; on the diagonal the prediction matches the figure. {}.",
                self.unit,
                shares.join(", ")
            ),
            note: format!(
                "Fitted to {fitted} figures of {} or before (tradeflow calibrate --until {}); predictions from backtest.csv. Observed: each figure as its reporter recorded it, with its source in backtest.csv.",
                self.until, self.until
            ),
            note_lines: 2,
        }
    }
}

/// Draws the backtest chart on `area`.
pub(crate) fn draw_backtest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Backtest,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let preds = c.predictions();
    let values: Vec<f64> = preds.iter().flat_map(|r| [r.observed, r.fitted]).collect();
    let (Some(min), Some(max)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return p.no_data("no figure after the fitted years to predict");
    };
    let (lo, hi) = (min.log10().floor() as i32, max.log10().ceil() as i32);
    let hi = hi.max(lo + 1);
    let ticks = log_ticks(lo, hi);
    let th = &p.th;
    let t = p.top + th.px(40.0);
    let b = p.bottom - th.px(80.0);
    let side = (b - t).max(10);
    let l = th.px(130.0);
    let (a, z) = (f64::from(lo), f64::from(hi));
    let f = Frame {
        l,
        t,
        r: l + side,
        b: t + side,
        x0: a,
        x1: z,
        y0: a,
        y1: z,
    };
    let x_ticks: Vec<(f64, String)> = ticks.iter().map(|&v| (v, log_label(v))).collect();
    let axis = ValueAxis {
        lo: a,
        hi: z,
        ticks: Vec::new(),
        decimals: 0,
    };
    draw_axes(
        area,
        th,
        &f,
        &axis,
        "",
        &x_ticks,
        &format!("observed ({})", c.unit),
    )?;
    let grid = ShapeStyle::from(&super::style::GRID).stroke_width(th.px(1.5) as u32);
    let ts = th.tick();
    for &v in &ticks {
        let (x, y) = (f.x(v), f.y(v));
        p.draw(&PathElement::new(vec![(f.l, y), (f.r, y)], grid))?;
        p.draw(&PathElement::new(vec![(x, f.t), (x, f.b)], grid))?;
        p.text(&log_label(v), (f.l - th.px(12.0), y), &ts, RIGHT)?;
    }
    p.text(
        &format!("predicted ({})", c.unit),
        (f.l, f.t - th.px(14.0)),
        &th.axis(),
        super::page::BOTTOM_LEFT,
    )?;
    p.line(vec![(f.x(a), f.y(a)), (f.x(z), f.y(z))], DARK_GREY, 2.0)?;
    let band = |k: usize| match k {
        0 => (BLUE_, 1.5, 6.0),
        1 => (GREY, 1.5, 10.0),
        _ => (GREY, 1.0, 4.0),
    };
    for (k, fac) in FACTORS.iter().enumerate() {
        let d = fac.log10();
        let (colour, w, on) = band(k);
        for (p0, p1) in [((a, a + d), (z - d, z)), ((a + d, a), (z, z - d))] {
            let pts = vec![(f.x(p0.0), f.y(p0.1)), (f.x(p1.0), f.y(p1.1))];
            for seg in dashes(&pts, th.px(on), th.px(8.0)) {
                p.line(seg, colour, w)?;
            }
        }
    }
    let at = |r: &BacktestRow| (f.x(r.observed.log10()), f.y(r.fitted.log10()));
    let worst = c.worst();
    for r in &preds {
        let colour = if r.log_deviation.abs() > 1.5f64.ln() {
            VERMILLION
        } else {
            BLUE_
        };
        let exporter_record = !r.reporter.is_empty() && r.reporter == r.exporter;
        let marker = if exporter_record || r.reporter.is_empty() {
            Marker::Dot(colour)
        } else {
            Marker::Triangle(colour)
        };
        marker.draw(area, th, at(r), 0.8)?;
    }
    let ns = th.bold(17.0, TEXT);
    for (k, r) in worst.iter().enumerate() {
        let (x, y) = at(r);
        p.text(
            &(k + 1).to_string(),
            (x + th.px(9.0), y - th.px(24.0)),
            &ns,
            TOP_LEFT,
        )?;
    }
    let col = Column {
        x: f.r + th.px(60.0),
        w: th.w - f.r - th.px(100.0),
    };
    let key = vec![
        (
            Swatch::Marker(Marker::Dot(BLUE_)),
            "within a factor 1.5".to_owned(),
        ),
        (
            Swatch::Marker(Marker::Dot(VERMILLION)),
            "off by more than a factor 1.5".to_owned(),
        ),
        (
            Swatch::Marker(Marker::Dot(GREY)),
            "circle: the exporter's record (or no reporter)".to_owned(),
        ),
        (
            Swatch::Marker(Marker::Triangle(GREY)),
            "triangle: the importer's record".to_owned(),
        ),
        (
            Swatch::Line {
                colour: DARK_GREY,
                dashed: false,
            },
            "predicted = observed".to_owned(),
        ),
        (
            Swatch::Line {
                colour: BLUE_,
                dashed: true,
            },
            "a factor 1.25 either way".to_owned(),
        ),
        (
            Swatch::Line {
                colour: GREY,
                dashed: true,
            },
            "a factor 1.5 and 2 either way".to_owned(),
        ),
    ];
    let y = p.legend(col, f.t, "Predictions", &key)?;
    if !worst.is_empty() {
        let mut y = y + th.px(16.0);
        p.text(
            "Worst predictions",
            (col.x, y),
            &th.bold(21.0, TEXT),
            TOP_LEFT,
        )?;
        y += th.px(32.0);
        let ls = th.text(18.0, TEXT);
        for (k, r) in worst.iter().enumerate() {
            if y + th.px(25.0) > p.bottom - th.px(10.0) {
                break;
            }
            let text = format!(
                "{}. {} {}: predicted {}, observed {} (x{})",
                k + 1,
                crate::simulate::series::words(&r.series),
                r.year.map_or(String::new(), |y| y.to_string()),
                fmt_value(r.fitted),
                fmt_value(r.observed),
                fmt_num(r.fitted / r.observed, 2)
            );
            let text = super::style::ellipsize(area, &text, &ls, col.w)?;
            p.text(&text, (col.x, y), &ls, TOP_LEFT)?;
            y += th.px(25.0);
        }
        let ms = th.text(16.0, MUTED);
        p.text(
            "x: predicted over observed",
            (col.x, y + th.px(4.0)),
            &ms,
            TOP_LEFT,
        )?;
    }
    Ok(())
}

fn fmt_value(v: f64) -> String {
    let d = if v >= 100.0 {
        0
    } else if v >= 1.0 {
        1
    } else {
        3
    };
    fmt_num(v, d)
}

/// The chart as `backtest_until_<YEAR>.png`, `.svg` and `.csv`.
pub fn backtest_chart_files(c: &Backtest) -> Result<Vec<NamedBytes>, PlotError> {
    let stem = format!("backtest_until_{}", c.until);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(super::style::draw_err)?;
        draw_backtest(&root, c)?;
        root.present().map_err(super::style::draw_err)?;
    }
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(super::style::draw_err)?;
        draw_backtest(&root, c)?;
        root.present().map_err(super::style::draw_err)?;
    }
    let err = |e: png::EncodingError| PlotError::Encode {
        what: format!("{stem}.png"),
        message: e.to_string(),
    };
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, SIZE.0, SIZE.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        enc.set_compression(super::style::PNG_COMPRESSION);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&rgb).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(vec![
        (format!("{stem}.png"), png_bytes),
        (format!("{stem}.svg"), svg.into_bytes()),
        (format!("{stem}.csv"), c.csv()?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(series: &str, year: i32, o: f64, f: f64, in_sample: bool) -> BacktestRow {
        BacktestRow {
            series: series.into(),
            reporter: "A".into(),
            year: Some(year),
            observed: o,
            fitted: f,
            in_sample,
            exporter: "A".into(),
            importer: "B".into(),
            log_deviation: (f / o).ln(),
            source: "s".into(),
        }
    }

    #[test]
    fn words_count_the_predictions_within_each_factor() {
        let c = Backtest {
            scenario: "x".into(),
            until: 2022,
            unit: "USD bn".into(),
            rows: vec![
                row("A-B.recorded.A", 2022, 1.0, 1.0, true),
                row("A-B.recorded.A", 2023, 1.0, 1.2, false),
                row("A-C.recorded.A", 2024, 1.0, 1.4, false),
                row("A-D.recorded.A", 2024, 1.0, 3.0, false),
            ],
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "Backtest of x: fitted through 2022, predicting 2023–2024"
        );
        assert!(
            w.subtitle.contains(
                "1 of 3 within a factor 1.25, 2 of 3 within a factor 1.5, 2 of 3 within a factor 2"
            ),
            "{}",
            w.subtitle
        );
        assert_eq!(c.worst()[0].series, "A-D.recorded.A");
        let csv = String::from_utf8(c.csv().unwrap()).unwrap();
        assert!(
            csv.starts_with("series,reporter,year,observed,predicted,ratio,unit,source\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 4);
        let files = backtest_chart_files(&c).unwrap();
        assert_eq!(files[0].0, "backtest_until_2022.png");
        assert!(files.iter().all(|(_, b)| !b.is_empty()));
    }
}
