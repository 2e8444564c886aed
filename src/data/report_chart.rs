//! The chart of `tradeflow data report --into T`: for each link into `T`, what the exporter
//! records as exports to `T` against what `T` records as imports from it, one pair of bars
//! per origin, the mirror ratio beside them. Drawn as PNG and SVG, with its CSV.
//!
//! It follows the look of the charts in [`crate::plot`] (1600 x 1000, the bundled DejaVu
//! Sans, the Okabe-Ito palette, the unit stated above the value axis, a footnote naming the
//! source) but draws with plotters directly: the shared frame helpers of `plot::style` are
//! private to that module.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use super::panel::Unit;
use super::report::DataReport;
use super::DataError;
use crate::plot::PlotError;

static REGULAR: &[u8] = include_bytes!("../plot/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../plot/fonts/DejaVuSans-Bold.ttf");
/// The family the bundled font is registered under here (its own name, so that it never
/// replaces what `plot` registers).
const FONT: &str = "tradeflow-data-sans";

const ORANGE: RGBColor = RGBColor(230, 159, 0);
const BLUE: RGBColor = RGBColor(0, 114, 178);
const TEXT: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(225, 225, 225);

fn register_fonts() -> Result<(), PlotError> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, REGULAR)
            .map_err(|_| "fonts/DejaVuSans.ttf".to_owned())?;
        plotters::style::register_font(FONT, FontStyle::Bold, BOLD)
            .map_err(|_| "fonts/DejaVuSans-Bold.ttf".to_owned())
    })
    .clone()
    .map_err(PlotError::Font)
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// One origin's two records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapBar {
    pub exporter: String,
    pub importer: String,
    pub year: i32,
    pub product: String,
    pub exporter_record: Option<f64>,
    pub importer_record: Option<f64>,
    pub mirror_ratio: Option<f64>,
    pub unit: String,
}

/// The mirror gaps of the links into `target` in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorGaps {
    pub target: String,
    pub year: i32,
    pub product: String,
    pub unit: String,
    pub source: String,
    /// Largest record first.
    pub bars: Vec<GapBar>,
}

impl MirrorGaps {
    /// The links into `target` in `year` [default: [`default_year`]], for
    /// `product` [default: `total` if present, else the first].
    pub fn of(
        report: &DataReport,
        target: &str,
        year: Option<i32>,
        product: Option<&str>,
    ) -> Result<MirrorGaps, DataError> {
        let into: Vec<_> = report
            .links
            .iter()
            // Totals (partner `WLD`) are not a link: they would dwarf every bar.
            .filter(|l| l.importer == target && l.exporter != target)
            .filter(|l| l.exporter != super::panel::WORLD_CODE)
            .filter(|l| l.exporter_record.is_some() || l.importer_record.is_some())
            .collect();
        let none = |why: String| DataError::File {
            path: report.path.clone(),
            message: why,
        };
        if into.is_empty() {
            return Err(none(format!(
                "no exporter's or importer's record of a flow into `{target}` (--into)"
            )));
        }
        let year = year.unwrap_or_else(|| default_year(&into));
        let product = match product {
            Some(p) => p.to_owned(),
            None if into.iter().any(|l| l.product == super::panel::TOTAL) => {
                super::panel::TOTAL.to_owned()
            }
            None => into[0].product.clone(),
        };
        let mut bars: Vec<GapBar> = into
            .iter()
            .filter(|l| l.year == year && l.product == product)
            .map(|l| GapBar {
                exporter: l.exporter.clone(),
                importer: l.importer.clone(),
                year,
                product: product.clone(),
                exporter_record: l.exporter_record,
                importer_record: l.importer_record,
                mirror_ratio: l.mirror_ratio,
                unit: l.unit.clone(),
            })
            .collect();
        if bars.is_empty() {
            return Err(none(format!(
                "no record of a flow into `{target}` in {year} for product `{product}`"
            )));
        }
        let size = |b: &GapBar| {
            b.exporter_record
                .unwrap_or(0.0)
                .max(b.importer_record.unwrap_or(0.0))
        };
        bars.sort_by(|a, b| {
            size(b)
                .total_cmp(&size(a))
                .then(a.exporter.cmp(&b.exporter))
        });
        // Values in a fine unit (USD, USD thousand) are drawn in the largest scale that
        // keeps the biggest record at 1 or more, so that the axis reads `USD bn` and 2.5,
        // not 2500000000; the CSV holds what the chart draws.
        let largest = bars.iter().map(size).fold(0.0f64, f64::max) * report.unit.scale;
        let shown = display_unit(&report.unit, largest);
        let k = report.unit.scale / shown.scale;
        for b in &mut bars {
            b.exporter_record = b.exporter_record.map(|v| v * k);
            b.importer_record = b.importer_record.map(|v| v * k);
            b.unit = shown.to_string();
        }
        Ok(MirrorGaps {
            target: target.to_owned(),
            year,
            product,
            unit: shown.to_string(),
            source: report.path.file_name().map_or_else(
                || report.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            bars,
        })
    }

    /// File name without extension.
    pub fn stem(&self) -> String {
        let clean: String = self
            .target
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("mirror_gaps_into_{clean}")
    }

    /// The CSV the chart is drawn from.
    pub fn csv(&self) -> Result<Vec<u8>, DataError> {
        crate::output::csv_bytes(&self.bars, "mirror gaps").map_err(|e| DataError::File {
            path: self.stem().into(),
            message: e.to_string(),
        })
    }

    /// `<stem>.png`, `<stem>.svg` and `<stem>.csv`.
    pub fn files(&self) -> Result<Vec<(String, Vec<u8>)>, DataError> {
        let stem = self.stem();
        let size = crate::plot::SIZE;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            draw_mirror_gaps(&root, self)?;
            root.present().map_err(draw_err)?;
        }
        let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            draw_mirror_gaps(&root, self)?;
            root.present().map_err(draw_err)?;
        }
        let mut png_bytes = Vec::new();
        {
            let err = |e: png::EncodingError| PlotError::Encode {
                what: format!("{stem}.png"),
                message: e.to_string(),
            };
            let mut enc = png::Encoder::new(&mut png_bytes, size.0, size.1);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(crate::plot::style::PNG_COMPRESSION);
            let mut w = enc.write_header().map_err(err)?;
            w.write_image_data(&rgb).map_err(err)?;
            w.finish().map_err(err)?;
        }
        Ok(vec![
            (format!("{stem}.png"), png_bytes),
            (format!("{stem}.svg"), svg.into_bytes()),
            (format!("{stem}.csv"), self.csv()?),
        ])
    }
}

/// The unit a chart shows values of `unit` in, the largest (in currency units) being
/// `largest`: the unit itself if its scale is already a billion or more, else the largest of
/// bn, million and thousand in which `largest` is at least 1 (the unit itself if none is).
fn display_unit(unit: &Unit, largest: f64) -> Unit {
    if unit.scale >= 1e9 {
        return unit.clone();
    }
    let scale = [1e9, 1e6, 1e3]
        .into_iter()
        .find(|s| *s > unit.scale && largest >= *s)
        .unwrap_or(unit.scale);
    Unit {
        currency: unit.currency.clone(),
        scale,
    }
}

/// An axis tick at `v` on a grid of `step`: as many decimals as the step needs, and zero
/// as `0`.
fn fmt_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// A number with a sensible count of decimals for a label.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A step of 1, 2 or 5 times a power of ten giving about `n` ticks over `span`.
fn nice_step(span: f64, n: usize) -> f64 {
    let raw = (span / n.max(1) as f64).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// Draws the chart on `area` (any plotters backend).
pub fn draw_mirror_gaps<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &MirrorGaps,
) -> Result<(), PlotError> {
    register_fonts()?;
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let k = w as f64 / 1600.0;
    let px = |v: f64| (v * k).round() as i32;
    let font = |size: f64, colour: RGBColor| -> TextStyle<'static> {
        let mut st = TextStyle::from((FONT, (size * k).max(6.0)).into_font());
        st.color = colour.to_backend_color();
        st
    };
    let bold = |size: f64| -> TextStyle<'static> {
        let mut st = TextStyle::from((FONT, (size * k).max(6.0), FontStyle::Bold).into_font());
        st.color = TEXT.to_backend_color();
        st
    };
    let text = |s: &str, x: i32, y: i32, st: &TextStyle, h: HPos, v: VPos| {
        area.draw(&Text::new(s.to_owned(), (x, y), st.pos(Pos::new(h, v))))
            .map_err(draw_err)
    };
    text(
        &format!("Mirror gaps: recorded flows into {}, {}", c.target, c.year),
        px(60.0),
        px(40.0),
        &bold(34.0),
        HPos::Left,
        VPos::Top,
    )?;
    text(
        &format!(
            "Each origin's record of its exports to {t} (orange) against {t}'s record of its imports from it (blue); product `{p}`, {u}. Ratio = exporter's record / importer's record.",
            t = c.target,
            p = c.product,
            u = c.unit
        ),
        px(60.0),
        px(90.0),
        &font(20.0, MUTED),
        HPos::Left,
        VPos::Top,
    )?;
    // Plot frame.
    let (l, r, t, b) = (px(220.0), w - px(200.0), px(170.0), h - px(110.0));
    let max = c
        .bars
        .iter()
        .flat_map(|b| [b.exporter_record, b.importer_record])
        .flatten()
        .fold(0.0f64, f64::max);
    let step = nice_step(if max > 0.0 { max } else { 1.0 }, 6);
    let hi = (max / step).ceil().max(1.0) * step;
    let x_of = |v: f64| l + ((v / hi) * (r - l) as f64).round() as i32;
    text(
        &c.unit,
        l,
        t - px(30.0),
        &font(20.0, MUTED),
        HPos::Left,
        VPos::Bottom,
    )?;
    // Ticks as multiples of the step (not a running sum, which drifts to 0.30000000000000004).
    let ticks = (hi / step).round() as u32;
    for tick in 0..=ticks {
        let v = f64::from(tick) * step;
        let x = x_of(v);
        area.draw(&PathElement::new(
            vec![(x, t), (x, b)],
            GRID.stroke_width(1),
        ))
        .map_err(draw_err)?;
        text(
            &fmt_tick(v, step),
            x,
            b + px(10.0),
            &font(18.0, MUTED),
            HPos::Center,
            VPos::Top,
        )?;
    }
    let n = c.bars.len().max(1) as i32;
    let band = (b - t) / n;
    let bar_h = (band as f64 * 0.36).max(1.0) as i32;
    for (i, g) in c.bars.iter().enumerate() {
        let y0 = t + band * i as i32 + (band - 2 * bar_h) / 2;
        text(
            &g.exporter,
            l - px(14.0),
            y0 + bar_h,
            &font(20.0, TEXT),
            HPos::Right,
            VPos::Center,
        )?;
        for (j, (val, colour)) in [(g.exporter_record, ORANGE), (g.importer_record, BLUE)]
            .into_iter()
            .enumerate()
        {
            let y = y0 + j as i32 * bar_h;
            match val {
                Some(v) => {
                    area.draw(&Rectangle::new(
                        [(l, y), (x_of(v).max(l + 1), y + bar_h - 1)],
                        colour.filled(),
                    ))
                    .map_err(draw_err)?;
                    text(
                        &fmt_num(v),
                        x_of(v) + px(6.0),
                        y + bar_h / 2,
                        &font(15.0, MUTED),
                        HPos::Left,
                        VPos::Center,
                    )?;
                }
                None => text(
                    "no record",
                    l + px(6.0),
                    y + bar_h / 2,
                    &font(15.0, MUTED),
                    HPos::Left,
                    VPos::Center,
                )?,
            }
        }
        let ratio = g
            .mirror_ratio
            .map_or_else(|| "ratio -".to_owned(), |r| format!("ratio {r:.2}"));
        text(
            &ratio,
            r + px(20.0),
            y0 + bar_h,
            &font(19.0, TEXT),
            HPos::Left,
            VPos::Center,
        )?;
    }
    area.draw(&PathElement::new(
        vec![(l, t), (l, b)],
        TEXT.stroke_width(1),
    ))
    .map_err(draw_err)?;
    text(
        &format!(
            "Source: {} (tradeflow data report). A ratio below 1: {} records more than the exporter declares (transit, CIF valuation, origin rules).",
            c.source, c.target
        ),
        px(60.0),
        h - px(40.0),
        &font(17.0, MUTED),
        HPos::Left,
        VPos::Bottom,
    )?;
    Ok(())
}

/// The year a mirror-gap chart shows by default: the one in which the most links have both
/// records (a gap needs both; later years win ties), or, where no link has both, the last
/// year with any record.
fn default_year(into: &[&super::report::LinkRow]) -> i32 {
    let mut both: std::collections::BTreeMap<i32, usize> = Default::default();
    for l in into {
        let n = both.entry(l.year).or_default();
        if l.exporter_record.is_some() && l.importer_record.is_some() {
            *n += 1;
        }
    }
    match both.iter().max_by_key(|(y, n)| (**n, **y)) {
        Some((y, n)) if *n > 0 => *y,
        _ => into.iter().map(|l| l.year).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_dollars_are_shown_in_bn_and_zero_reads_zero() {
        let usd = Unit::usd(1.0);
        assert_eq!(display_unit(&usd, 2.5e9).to_string(), "USD bn");
        assert_eq!(display_unit(&usd, 3.7e8).to_string(), "USD million");
        assert_eq!(display_unit(&usd, 12.0).to_string(), "USD");
        let thousand = Unit::usd(1e3);
        assert_eq!(display_unit(&thousand, 2.0e12).to_string(), "USD bn");
        assert_eq!(display_unit(&Unit::usd(1e9), 2.0e12).to_string(), "USD bn");
        assert_eq!(fmt_tick(0.0, 0.5), "0");
        assert_eq!(fmt_tick(2.5, 0.5), "2.5");
        assert_eq!(fmt_tick(20.0, 5.0), "20");
        assert_eq!(fmt_tick(0.02, 0.01), "0.02");
        assert_eq!(fmt_num(0.0), "0");
    }
}
