//! What every chart shares: the bundled font, the colour-blind-safe palette, number formats,
//! and a small frame (axes, ticks, legend, title block) drawn in pixels.
//!
//! The frame is drawn by hand rather than with plotters' mesh so that the layout is the same
//! on every backend and under our control: the unit sits above the value axis (no rotated
//! text), the legend lives outside the plotting area, tick labels never use exponents.
//! Sizes are given for a 1600 x 1000 canvas and scaled to the area actually drawn on.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::PlotError;

/// Deflate level of the PNG charts. zlib level 6 (`Default`) with the filter chosen row by
/// row gives files the size level 9 (`Best`) gives (within 0.3% on the `as_happened`
/// charts) in about 40% of its time; `Fast` takes under a tenth of the time but doubles the
/// files, which are committed. Measured in `benches/README.md` ("PNG encoding").
pub(crate) const PNG_COMPRESSION: png::Compression = png::Compression::Default;

/// The family every text uses; the bundled DejaVu Sans is registered under it.
pub(crate) const FONT: &str = "sans-serif";

static REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");

/// Registers the bundled fonts with plotters' pure-Rust text path (once per process).
pub(crate) fn register_fonts() -> Result<(), PlotError> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, REGULAR)
            .map_err(|_| "fonts/DejaVuSans.ttf".to_owned())?;
        register_font(FONT, FontStyle::Bold, BOLD)
            .map_err(|_| "fonts/DejaVuSans-Bold.ttf".to_owned())
    })
    .clone()
    .map_err(PlotError::Font)
}

/// Okabe and Ito's palette, safe for the common colour-vision deficiencies.
pub(crate) const BLACK_: RGBColor = RGBColor(0, 0, 0);
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(crate) const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
pub(crate) const BLUISH_GREEN: RGBColor = RGBColor(0, 158, 115);
pub(crate) const YELLOW_: RGBColor = RGBColor(240, 228, 66);
pub(crate) const BLUE_: RGBColor = RGBColor(0, 114, 178);
pub(crate) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub(crate) const PURPLE: RGBColor = RGBColor(204, 121, 167);
/// Neutral grey for "other" groups and missing cells.
pub(crate) const GREY: RGBColor = RGBColor(170, 170, 170);
pub(crate) const DARK_GREY: RGBColor = RGBColor(90, 90, 90);
pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(crate) const MUTED: RGBColor = RGBColor(100, 100, 100);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);

/// Direct flows from each named origin: cool colours (and then Paul Tol's indigo and teal).
pub(crate) fn origin_colour(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        BLUE_,
        SKY_BLUE,
        BLUISH_GREEN,
        YELLOW_,
        RGBColor(51, 34, 136),
        RGBColor(68, 170, 153),
    ];
    C[i % C.len()]
}

/// Flows via each intermediary: warm colours, the same hub always the same colour.
pub(crate) fn hub_colour(i: usize) -> RGBColor {
    const C: [RGBColor; 5] = [
        VERMILLION,
        ORANGE,
        PURPLE,
        RGBColor(136, 34, 85),
        RGBColor(153, 153, 51),
    ];
    C[i % C.len()]
}

/// One colour per scenario: Okabe-Ito without its yellow (too light for a line on white),
/// then a brown and a slate blue, so that ten scenarios need no line pattern. Dashes on a
/// comparison mean only "same as an earlier scenario"; past ten scenarios the colours
/// repeat with open points instead ([`scenario_open`]).
pub(crate) const SCENARIO_COLOURS: [RGBColor; 9] = [
    BLACK_,
    ORANGE,
    SKY_BLUE,
    BLUISH_GREEN,
    BLUE_,
    VERMILLION,
    PURPLE,
    RGBColor(140, 81, 10),
    RGBColor(117, 112, 179),
];

pub(crate) fn scenario_colour(i: usize) -> RGBColor {
    SCENARIO_COLOURS[i % SCENARIO_COLOURS.len()]
}

/// Whether a scenario's points are drawn open (its colour is a repeat).
pub(crate) fn scenario_open(i: usize) -> bool {
    (i / SCENARIO_COLOURS.len()) % 2 == 1
}

/// Sizes for an area of the given pixel size (designed for 1600 x 1000).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub(crate) w: i32,
    pub(crate) h: i32,
    s: f64,
}

impl Theme {
    pub(crate) fn of<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Self {
        let (w, h) = area.dim_in_pixel();
        let s = (f64::from(w) / 1600.0).min(f64::from(h) / 1000.0);
        Self {
            w: i32::try_from(w).unwrap_or(i32::MAX),
            h: i32::try_from(h).unwrap_or(i32::MAX),
            s: s.max(0.05),
        }
    }

    /// A pixel length of this area in the units sizes are designed in (1600 x 1000).
    pub(crate) fn design(&self, px: i32) -> f64 {
        f64::from(px) / self.s
    }

    /// A length designed for 1600 x 1000, scaled to this area (at least 1 pixel).
    pub(crate) fn px(&self, v: f64) -> i32 {
        ((v * self.s).round() as i32).max(1)
    }

    pub(crate) fn text(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        let size = (size * self.s).max(6.0);
        with_colour(TextStyle::from((FONT, size).into_font()), colour)
    }

    pub(crate) fn bold(&self, size: f64, colour: RGBColor) -> TextStyle<'static> {
        let size = (size * self.s).max(6.0);
        with_colour(
            TextStyle::from((FONT, size, FontStyle::Bold).into_font()),
            colour,
        )
    }

    pub(crate) fn title(&self) -> TextStyle<'static> {
        self.bold(34.0, TEXT)
    }
    pub(crate) fn subtitle(&self) -> TextStyle<'static> {
        self.text(22.0, MUTED)
    }
    pub(crate) fn tick(&self) -> TextStyle<'static> {
        self.text(21.0, TEXT)
    }
    pub(crate) fn axis(&self) -> TextStyle<'static> {
        self.text(22.0, TEXT)
    }
    pub(crate) fn legend(&self) -> TextStyle<'static> {
        self.text(21.0, TEXT)
    }
    pub(crate) fn note(&self) -> TextStyle<'static> {
        self.text(17.0, MUTED)
    }
}

/// The style in another colour (plotters' `color` would borrow the colour).
pub(crate) fn with_colour(mut style: TextStyle<'static>, colour: RGBColor) -> TextStyle<'static> {
    style.color = colour.to_backend_color();
    style
}

pub(crate) fn anchored(style: &TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Maps a plotters drawing error to ours.
pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Width and height of `text` in pixels.
pub(crate) fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'static>,
) -> Result<(i32, i32), PlotError> {
    let (w, h) = area.estimate_text_size(text, style).map_err(draw_err)?;
    Ok((
        i32::try_from(w).unwrap_or(i32::MAX),
        i32::try_from(h).unwrap_or(i32::MAX),
    ))
}

/// Draws `text` with its anchor at `(x, y)`.
pub(crate) fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (i32, i32),
    style: &TextStyle<'static>,
) -> Result<(), PlotError> {
    area.draw(&Text::new(s.to_owned(), (x, y), style.clone()))
        .map_err(draw_err)
}

/// Splits `s` into lines no wider than `max_w` pixels, at spaces (a word longer than the
/// line is shortened with an ellipsis).
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'static>,
    max_w: i32,
) -> Result<Vec<String>, PlotError> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_size(area, &candidate, style)?.0 <= max_w || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| ellipsize(area, &l, style, max_w))
        .collect()
}

/// `s`, shortened with an ellipsis to fit `max_w` pixels.
pub(crate) fn ellipsize<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'static>,
    max_w: i32,
) -> Result<String, PlotError> {
    if text_size(area, s, style)?.0 <= max_w {
        return Ok(s.to_owned());
    }
    let chars: Vec<char> = s.chars().collect();
    for n in (0..chars.len()).rev() {
        let t: String = chars[..n].iter().collect::<String>().trim_end().to_owned() + "…";
        if text_size(area, &t, style)?.0 <= max_w {
            return Ok(t);
        }
    }
    Ok("…".to_owned())
}

/// A number with thousands separators and `decimals` decimals; a true minus sign.
pub(crate) fn fmt_num(v: f64, decimals: usize) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let negative = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push('.');
        out.push_str(&f);
    }
    out
}

/// A value in USD bn for labels: one decimal, "<0.1" for tiny positive values.
pub(crate) fn fmt_bn(v: f64) -> String {
    if v > 0.0 && v < 0.05 {
        "<0.1".to_owned()
    } else {
        fmt_num(v, 1)
    }
}

/// A signed percentage for labels.
pub(crate) fn fmt_pct(v: f64) -> String {
    let d = if v.abs() < 9.95 { 1 } else { 0 };
    let s = fmt_num(v, d);
    if v > 0.0
        && s.chars()
            .any(|c| c.is_ascii_digit() && c != '0' && c != '.')
    {
        format!("+{s}%")
    } else {
        format!("{s}%")
    }
}

/// A 1-2-5 step near `span / n`.
pub(crate) fn nice_step(span: f64, n: usize) -> f64 {
    let raw = (span / n.max(1) as f64).abs();
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Decimals needed to print multiples of `step` exactly.
pub(crate) fn decimals_for(step: f64) -> usize {
    let mut d = 0;
    while d < 6
        && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-9
    {
        d += 1;
    }
    d
}

/// A value axis from 0 (or below, for negative data) to a round number above `hi`.
#[derive(Debug, Clone)]
pub(crate) struct ValueAxis {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<f64>,
    pub(crate) decimals: usize,
}

impl ValueAxis {
    /// Ticks for data in `[lo, hi]` (0 always included); all-zero or empty data give 0..1.
    pub(crate) fn new(lo: f64, hi: f64, n: usize) -> Self {
        let lo = lo.min(0.0);
        let hi = hi.max(0.0);
        let (lo, hi) = if !(hi - lo).is_finite() || hi - lo <= 0.0 {
            (0.0, 1.0)
        } else {
            (lo, hi)
        };
        let step = nice_step(hi - lo, n);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step).ceil() * step;
        let count = ((hi - lo) / step).round() as i64;
        let ticks = (0..=count).map(|k| lo + k as f64 * step).collect();
        Self {
            lo,
            hi,
            ticks,
            decimals: decimals_for(step),
        }
    }

    /// Ticks for data in `[lo, hi]` without forcing zero in (for lines far from zero).
    pub(crate) fn zoomed(lo: f64, hi: f64, n: usize) -> Self {
        if !(hi - lo).is_finite() || hi - lo <= 0.0 {
            return Self::new(lo, hi, n);
        }
        let step = nice_step(hi - lo, n);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step).ceil() * step;
        let count = ((hi - lo) / step).round() as i64;
        Self {
            lo,
            hi,
            ticks: (0..=count).map(|k| lo + k as f64 * step).collect(),
            decimals: decimals_for(step),
        }
    }

    pub(crate) fn label(&self, v: f64) -> String {
        fmt_num(v, self.decimals)
    }
}

/// Year ticks: every year, or every 2nd, 5th, 10th... so that at most about 12 show.
pub(crate) fn year_ticks(first: i32, last: i32) -> Vec<i32> {
    let span = (last - first).max(0);
    let step = [1, 2, 5, 10, 20, 50, 100]
        .into_iter()
        .find(|s| span / s <= 11)
        .unwrap_or(100);
    (first..=last).filter(|y| (y - first) % step == 0).collect()
}

/// A plotting rectangle in pixels and the data range it shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) l: i32,
    pub(crate) t: i32,
    pub(crate) r: i32,
    pub(crate) b: i32,
    pub(crate) x0: f64,
    pub(crate) x1: f64,
    pub(crate) y0: f64,
    pub(crate) y1: f64,
}

impl Frame {
    pub(crate) fn x(&self, v: f64) -> i32 {
        let span = if self.x1 > self.x0 {
            self.x1 - self.x0
        } else {
            1.0
        };
        self.l + ((v - self.x0) / span * f64::from(self.r - self.l)).round() as i32
    }
    pub(crate) fn y(&self, v: f64) -> i32 {
        let span = if self.y1 > self.y0 {
            self.y1 - self.y0
        } else {
            1.0
        };
        self.b - ((v - self.y0) / span * f64::from(self.b - self.t)).round() as i32
    }
}

/// Title and subtitle at the top left; returns the y below them.
pub(crate) fn title_block<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    title: &str,
    subtitle: &str,
) -> Result<i32, PlotError> {
    let x = th.px(40.0);
    let max_w = th.w - 2 * x;
    let mut y = th.px(28.0);
    let ts = anchored(&th.title(), HPos::Left, VPos::Top);
    for line in wrap(area, title, &ts, max_w)? {
        text(area, &line, (x, y), &ts)?;
        y += th.px(44.0);
    }
    if !subtitle.is_empty() {
        let ss = anchored(&th.subtitle(), HPos::Left, VPos::Top);
        y += th.px(2.0);
        for line in wrap(area, subtitle, &ss, max_w)? {
            text(area, &line, (x, y), &ss)?;
            y += th.px(30.0);
        }
    }
    Ok(y + th.px(14.0))
}

/// Gridlines, value ticks with the unit above them, year ticks and the year axis title.
pub(crate) fn draw_axes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    f: &Frame,
    axis: &ValueAxis,
    unit: &str,
    x_ticks: &[(f64, String)],
    x_title: &str,
) -> Result<(), PlotError> {
    let tick = th.tick();
    let grid = ShapeStyle::from(&GRID).stroke_width(th.px(1.5) as u32);
    for &v in &axis.ticks {
        let y = f.y(v);
        area.draw(&PathElement::new(vec![(f.l, y), (f.r, y)], grid))
            .map_err(draw_err)?;
        let ts = anchored(&tick, HPos::Right, VPos::Center);
        text(area, &axis.label(v), (f.l - th.px(12.0), y), &ts)?;
    }
    // The zero line (or the bottom) darker.
    let base = if axis.lo < 0.0 && axis.hi > 0.0 {
        0.0
    } else {
        axis.lo
    };
    let axis_style = ShapeStyle::from(&DARK_GREY).stroke_width(th.px(2.0) as u32);
    area.draw(&PathElement::new(
        vec![(f.l, f.y(base)), (f.r, f.y(base))],
        axis_style,
    ))
    .map_err(draw_err)?;
    // The unit above the value axis, right-aligned with the tick labels: no rotated text.
    let us = anchored(&th.axis(), HPos::Right, VPos::Bottom);
    text(area, unit, (f.l - th.px(12.0), f.t - th.px(18.0)), &us)?;
    let xs = anchored(&tick, HPos::Center, VPos::Top);
    for (v, label) in x_ticks {
        let x = f.x(*v);
        area.draw(&PathElement::new(
            vec![(x, f.b), (x, f.b + th.px(8.0))],
            axis_style,
        ))
        .map_err(draw_err)?;
        text(area, label, (x, f.b + th.px(12.0)), &xs)?;
    }
    if !x_title.is_empty() {
        let xt = anchored(&th.axis(), HPos::Center, VPos::Top);
        text(area, x_title, ((f.l + f.r) / 2, f.b + th.px(46.0)), &xt)?;
    }
    Ok(())
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    Fill(RGBColor),
    Line { colour: RGBColor, dashed: bool },
    Marker(Marker),
}

/// A legend as a column of entries starting at `(x, y)`, each label wrapped to `w` pixels.
/// Returns the y below the last entry.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    (x, y): (i32, i32),
    w: i32,
    heading: &str,
    entries: &[(Swatch, String)],
) -> Result<i32, PlotError> {
    let mut y = y;
    if !heading.is_empty() {
        let hs = anchored(&th.bold(21.0, TEXT), HPos::Left, VPos::Top);
        for line in wrap(area, heading, &hs, w)? {
            text(area, &line, (x, y), &hs)?;
            y += th.px(28.0);
        }
        y += th.px(6.0);
    }
    let ls = anchored(&th.legend(), HPos::Left, VPos::Center);
    let sw = th.px(34.0);
    let line_h = th.px(27.0);
    for (swatch, label) in entries {
        let lines = wrap(area, label, &ls, w - sw - th.px(12.0))?;
        let cy = y + line_h / 2;
        swatch_at(area, th, swatch, (x, cy), sw)?;
        for (k, line) in lines.iter().enumerate() {
            text(
                area,
                line,
                (x + sw + th.px(12.0), cy + k as i32 * line_h),
                &ls,
            )?;
        }
        y += line_h * lines.len().max(1) as i32 + th.px(10.0);
    }
    Ok(y)
}

/// Splits a polyline into dashes of `on` pixels with gaps of `off` pixels.
pub(crate) fn dashes(points: &[(i32, i32)], on: i32, off: i32) -> Vec<Vec<(i32, i32)>> {
    let mut out = Vec::new();
    let (on, off) = (f64::from(on.max(1)), f64::from(off.max(1)));
    let mut drawing = true;
    let mut left = on;
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (
            (f64::from(w[0].0), f64::from(w[0].1)),
            (f64::from(w[1].0), f64::from(w[1].1)),
        );
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut pos = 0.0;
        if drawing && current.is_empty() {
            current.push(a);
        }
        while len - pos > left {
            pos += left;
            let p = (a.0 + (b.0 - a.0) * pos / len, a.1 + (b.1 - a.1) * pos / len);
            if drawing {
                current.push(p);
                out.push(std::mem::take(&mut current));
                left = off;
            } else {
                current.push(p);
                left = on;
            }
            drawing = !drawing;
        }
        left -= len - pos;
        if drawing {
            current.push(b);
        }
    }
    if drawing && current.len() > 1 {
        out.push(current);
    }
    out.into_iter()
        .map(|seg| {
            seg.into_iter()
                .map(|(x, y)| (x.round() as i32, y.round() as i32))
                .collect()
        })
        .collect()
}

/// Draws a polyline, dashed or solid.
pub(crate) fn polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    points: Vec<(i32, i32)>,
    colour: RGBColor,
    width: f64,
    dashed: bool,
) -> Result<(), PlotError> {
    let style = ShapeStyle::from(&colour).stroke_width(th.px(width) as u32);
    if dashed {
        for seg in dashes(&points, th.px(14.0), th.px(9.0)) {
            area.draw(&PathElement::new(seg, style)).map_err(draw_err)?;
        }
        Ok(())
    } else {
        area.draw(&PathElement::new(points, style))
            .map_err(draw_err)
    }
}

/// `c` blended with white: `t` = 1 is `c`, 0 is white (light bands of one hue).
pub(crate) fn tint(c: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |v: u8| (f64::from(v) * t + 255.0 * (1.0 - t)).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// A horizontal value axis for a frame whose x range is `axis`: vertical gridlines, tick
/// labels under the frame and `title` (with its unit) under them. The zero line, where it
/// is inside the range, is darker.
pub(crate) fn draw_x_axis<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    f: &Frame,
    axis: &ValueAxis,
    title: &str,
) -> Result<(), PlotError> {
    let grid = ShapeStyle::from(&GRID).stroke_width(th.px(1.5) as u32);
    let axis_style = ShapeStyle::from(&DARK_GREY).stroke_width(th.px(2.0) as u32);
    let ts = anchored(&th.tick(), HPos::Center, VPos::Top);
    for &v in &axis.ticks {
        let x = f.x(v);
        area.draw(&PathElement::new(vec![(x, f.t), (x, f.b)], grid))
            .map_err(draw_err)?;
        area.draw(&PathElement::new(
            vec![(x, f.b), (x, f.b + th.px(8.0))],
            axis_style,
        ))
        .map_err(draw_err)?;
        text(area, &axis.label(v), (x, f.b + th.px(12.0)), &ts)?;
    }
    area.draw(&PathElement::new(vec![(f.l, f.b), (f.r, f.b)], axis_style))
        .map_err(draw_err)?;
    if axis.lo < 0.0 && axis.hi > 0.0 {
        let x = f.x(0.0);
        area.draw(&PathElement::new(vec![(x, f.t), (x, f.b)], axis_style))
            .map_err(draw_err)?;
    }
    if !title.is_empty() {
        let xt = anchored(&th.axis(), HPos::Center, VPos::Top);
        text(area, title, ((f.l + f.r) / 2, f.b + th.px(46.0)), &xt)?;
    }
    Ok(())
}

/// A legend as one row of entries starting at `(x, y)` (its vertical centre); returns the
/// x after the last entry.
pub(crate) fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    (x, y): (i32, i32),
    entries: &[(Swatch, String)],
) -> Result<i32, PlotError> {
    let ls = anchored(&th.legend(), HPos::Left, VPos::Center);
    let sw = th.px(34.0);
    let mut x = x;
    for (swatch, label) in entries {
        swatch_at(area, th, swatch, (x, y), sw)?;
        text(area, label, (x + sw + th.px(10.0), y), &ls)?;
        x += sw + th.px(10.0) + text_size(area, label, &ls)?.0 + th.px(36.0);
    }
    Ok(x)
}

/// Draws a legend swatch `sw` pixels wide, left end at `x`, centred on `cy`.
fn swatch_at<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    swatch: &Swatch,
    (x, cy): (i32, i32),
    sw: i32,
) -> Result<(), PlotError> {
    match swatch {
        Swatch::Fill(c) => area
            .draw(&Rectangle::new(
                [(x, cy - th.px(10.0)), (x + sw, cy + th.px(10.0))],
                c.filled(),
            ))
            .map_err(draw_err),
        Swatch::Line { colour, dashed } => {
            let style = ShapeStyle::from(colour).stroke_width(th.px(4.0) as u32);
            if *dashed {
                for seg in dashes(&[(x, cy), (x + sw, cy)], th.px(9.0), th.px(6.0)) {
                    area.draw(&PathElement::new(seg, style)).map_err(draw_err)?;
                }
                Ok(())
            } else {
                area.draw(&PathElement::new(vec![(x, cy), (x + sw, cy)], style))
                    .map_err(draw_err)
            }
        }
        Swatch::Marker(m) => m.draw(area, th, (x + sw / 2, cy), 1.0),
    }
}

/// A point marker of a dot plot.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    /// A filled circle.
    Dot(RGBColor),
    /// An open circle.
    Ring(RGBColor),
    /// A vertical bar across the row, taller than the other markers so that it shows
    /// above and below a dot drawn on it.
    Bar(RGBColor),
    /// A filled triangle, point up, with a white rim (it reads apart from a dot).
    Triangle(RGBColor),
}

impl Marker {
    /// Draws the marker centred on `(x, y)`, `scale` times its usual size.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        th: &Theme,
        (x, y): (i32, i32),
        scale: f64,
    ) -> Result<(), PlotError> {
        let r = th.px(9.0 * scale);
        match *self {
            Marker::Dot(c) => area
                .draw(&Circle::new((x, y), r, c.filled()))
                .map_err(draw_err),
            Marker::Ring(c) => {
                // A little larger than a dot, so that a dot on it leaves a halo.
                let r = th.px(12.0 * scale);
                area.draw(&Circle::new((x, y), r, WHITE.filled()))
                    .map_err(draw_err)?;
                area.draw(&Circle::new(
                    (x, y),
                    r,
                    ShapeStyle::from(&c).stroke_width(th.px(3.5 * scale) as u32),
                ))
                .map_err(draw_err)
            }
            Marker::Triangle(c) => {
                let r = th.px(11.0 * scale);
                let pts = vec![
                    (x, y - r),
                    (x - (f64::from(r) * 0.87) as i32, y + r / 2),
                    (x + (f64::from(r) * 0.87) as i32, y + r / 2),
                ];
                area.draw(&Polygon::new(pts.clone(), c.filled()))
                    .map_err(draw_err)?;
                let mut rim = pts;
                rim.push((x, y - r));
                area.draw(&PathElement::new(
                    rim,
                    ShapeStyle::from(&WHITE).stroke_width(th.px(1.0).max(1) as u32),
                ))
                .map_err(draw_err)
            }
            Marker::Bar(c) => {
                let (w, h) = (th.px(2.5 * scale), th.px(20.0 * scale));
                area.draw(&Rectangle::new(
                    [(x - w, y - h), (x + w, y + h)],
                    c.filled(),
                ))
                .map_err(draw_err)
            }
        }
    }
}

/// A footnote of up to `max_lines` lines at the bottom left (the last one ellipsized when
/// the text is longer); returns the y of the top of the first line.
pub(crate) fn footnote_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    note: &str,
    max_lines: usize,
) -> Result<i32, PlotError> {
    let ns = anchored(&th.note(), HPos::Left, VPos::Bottom);
    let w = th.w - th.px(80.0);
    let mut lines = wrap(area, note, &ns, w)?;
    if lines.len() > max_lines.max(1) {
        let rest = lines[max_lines.max(1) - 1..].join(" ");
        lines.truncate(max_lines.max(1) - 1);
        lines.push(ellipsize(area, &rest, &ns, w)?);
    }
    let line_h = th.px(23.0);
    let bottom = th.h - th.px(18.0);
    let n = lines.len() as i32;
    for (k, line) in lines.iter().enumerate() {
        let y = bottom - (n - 1 - k as i32) * line_h;
        text(area, line, (th.px(40.0), y), &ns)?;
    }
    Ok(bottom - n * line_h)
}

/// A parameter path (`instruments.evasion_china_kgz.premium`) on lines no wider than
/// `max_w`, broken after dots; a segment longer than a line is ellipsized.
pub(crate) fn wrap_path<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    path: &str,
    style: &TextStyle<'static>,
    max_w: i32,
) -> Result<Vec<String>, PlotError> {
    let mut parts: Vec<String> = Vec::new();
    let segments: Vec<&str> = path.split_inclusive('.').collect();
    let mut line = String::new();
    for seg in segments {
        let candidate = format!("{line}{seg}");
        if line.is_empty() || text_size(area, &candidate, style)?.0 <= max_w {
            line = candidate;
        } else {
            parts.push(std::mem::take(&mut line));
            line = seg.to_owned();
        }
    }
    if !line.is_empty() {
        parts.push(line);
    }
    parts
        .into_iter()
        .map(|l| ellipsize(area, &l, style, max_w))
        .collect()
}

/// A number with `decimals` decimals and a sign (`+1.5`, `−0.3`, `0.0`).
pub(crate) fn fmt_signed(v: f64, decimals: usize) -> String {
    let s = fmt_num(v, decimals);
    if v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// Decimals that show `v` with about `digits` significant digits (at most 6), and at
/// least `min`.
pub(crate) fn decimals_for_value(v: f64, digits: i32, min: usize) -> usize {
    if !v.is_finite() || v == 0.0 {
        return min;
    }
    let mag = v.abs().log10().floor() as i32;
    let d = (digits - 1 - mag).clamp(0, 6) as usize;
    d.max(min)
}

/// Moves label centres `ys` (sorted by wish) apart so that neighbours are at least `gap`
/// pixels apart, staying within `[lo, hi]` where possible; keeps the order.
pub(crate) fn spread(wish: &[i32], gap: i32, lo: i32, hi: i32) -> Vec<i32> {
    let n = wish.len();
    if n == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| wish[i]);
    let mut ys: Vec<i32> = order.iter().map(|&i| wish[i]).collect();
    for k in 1..n {
        ys[k] = ys[k].max(ys[k - 1] + gap);
    }
    // Push back up if the last one overflows.
    if ys[n - 1] > hi {
        ys[n - 1] = hi;
        for k in (0..n - 1).rev() {
            ys[k] = ys[k].min(ys[k + 1] - gap);
        }
    }
    if ys[0] < lo {
        ys[0] = lo;
        for k in 1..n {
            ys[k] = ys[k].max(ys[k - 1] + gap);
        }
    }
    let mut out = vec![0; n];
    for (k, &i) in order.iter().enumerate() {
        out[i] = ys[k];
    }
    out
}

/// A year range as titles show it: `2021` for one year, `2021–2030` for several.
pub(crate) fn years_text(first: i32, last: i32) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}–{last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_separators_and_no_exponents() {
        assert_eq!(fmt_num(1234567.891, 1), "1,234,567.9");
        assert_eq!(fmt_num(-0.0001, 2), "0.00");
        assert_eq!(fmt_num(-12.5, 1), "−12.5");
        assert_eq!(fmt_num(1e10, 0), "10,000,000,000");
        assert_eq!(fmt_bn(0.01), "<0.1");
        assert_eq!(fmt_pct(12.34), "+12%");
        assert_eq!(fmt_pct(-3.21), "−3.2%");
        assert_eq!(fmt_pct(0.0), "0.0%");
    }

    #[test]
    fn value_axes_are_round() {
        let a = ValueAxis::new(0.0, 307.0, 7);
        assert_eq!(a.lo, 0.0);
        assert_eq!(a.hi, 350.0);
        assert_eq!(a.decimals, 0);
        let z = ValueAxis::new(0.0, 0.0, 6);
        assert_eq!((z.lo, z.hi), (0.0, 1.0));
        let s = ValueAxis::new(0.0, 0.27, 5);
        assert!(s.hi >= 0.27 && s.ticks.len() >= 3);
        assert_eq!(s.label(s.ticks[1]), fmt_num(s.ticks[1], s.decimals));
        assert!(s.ticks.iter().all(|t| s.label(*t).parse::<f64>().is_ok()));
        let z = ValueAxis::zoomed(288.0, 346.0, 6);
        assert_eq!((z.lo, z.hi), (280.0, 350.0));
        let n = ValueAxis::new(-64.0, 12.0, 6);
        assert!(n.lo <= -64.0 && n.ticks.contains(&0.0));
    }

    #[test]
    fn year_ticks_thin_out() {
        assert_eq!(year_ticks(2021, 2030).len(), 10);
        assert_eq!(year_ticks(2021, 2021), vec![2021]);
        assert!(year_ticks(2000, 2100).len() <= 12);
    }

    #[test]
    fn spread_keeps_order_and_gap() {
        let ys = spread(&[100, 101, 102, 500], 20, 0, 1000);
        assert_eq!(ys, vec![100, 120, 140, 500]);
        let ys = spread(&[990, 995], 20, 0, 1000);
        assert_eq!(ys, vec![980, 1000]);
    }

    #[test]
    fn dashes_cover_the_line() {
        let d = dashes(&[(0, 0), (100, 0)], 10, 5);
        assert_eq!(d.len(), 7);
        assert_eq!(d[0], vec![(0, 0), (10, 0)]);
    }
}
