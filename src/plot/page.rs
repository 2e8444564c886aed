//! The page every chart is drawn on: the title block at the top, the footnote at the
//! bottom and, between them, either a frame with a value axis and a legend column on its
//! right (charts over years, grouped bars) or a key row with rows of labelled data under it
//! (the dot plot, the intervals, the tornado).
//!
//! A chart says what it shows in [`Words`], a pure function of its data (tested without
//! drawing); its `draw_*` opens a [`Page`] with them and draws only what is particular to
//! it. Sizes are design pixels of a 1600 x 1000 canvas, scaled by [`Theme`].

use plotters::coord::Shift;
use plotters::element::{CoordMapper, Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    draw_axes, draw_err, footnote_lines, legend, legend_row, register_fonts, text_size,
    title_block, year_ticks, Frame, Swatch, Theme, ValueAxis,
};
use super::PlotError;

/// What a chart says in words, from its data alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Words {
    pub(crate) title: String,
    pub(crate) subtitle: String,
    /// The footnote: where the data come from, what is left out.
    pub(crate) note: String,
    /// Lines the footnote may take (the last one is ellipsized when the note is longer).
    pub(crate) note_lines: usize,
}

/// Text anchors, named by where the anchor sits on the text.
pub(crate) const TOP_LEFT: Pos = at(HPos::Left, VPos::Top);
pub(crate) const TOP_RIGHT: Pos = at(HPos::Right, VPos::Top);
pub(crate) const TOP: Pos = at(HPos::Center, VPos::Top);
pub(crate) const LEFT: Pos = at(HPos::Left, VPos::Center);
pub(crate) const RIGHT: Pos = at(HPos::Right, VPos::Center);
pub(crate) const CENTRE: Pos = at(HPos::Center, VPos::Center);
pub(crate) const BOTTOM_LEFT: Pos = at(HPos::Left, VPos::Bottom);
pub(crate) const BOTTOM_RIGHT: Pos = at(HPos::Right, VPos::Bottom);
pub(crate) const BOTTOM: Pos = at(HPos::Center, VPos::Bottom);

const fn at(h_pos: HPos, v_pos: VPos) -> Pos {
    Pos { h_pos, v_pos }
}

/// Where a legend column sits: its left edge and width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) x: i32,
    pub(crate) w: i32,
}

/// A chart's drawing area with its title block and footnote drawn.
pub(crate) struct Page<'a, DB: DrawingBackend> {
    pub(crate) area: &'a DrawingArea<DB, Shift>,
    pub(crate) th: Theme,
    /// The y below the title block.
    pub(crate) top: i32,
    /// The y of the top of the footnote.
    pub(crate) bottom: i32,
}

impl<'a, DB: DrawingBackend> Page<'a, DB> {
    /// Draws the title block and the footnote of `words` on `area`.
    pub(crate) fn new(area: &'a DrawingArea<DB, Shift>, words: &Words) -> Result<Self, PlotError> {
        register_fonts()?;
        let th = Theme::of(area);
        let top = title_block(area, &th, &words.title, &words.subtitle)?;
        let bottom = footnote_lines(area, &th, &words.note, words.note_lines)?;
        Ok(Self {
            area,
            th,
            top,
            bottom,
        })
    }

    /// A design length in this page's pixels.
    pub(crate) fn px(&self, v: f64) -> i32 {
        self.th.px(v)
    }

    /// Draws any plotters element.
    pub(crate) fn draw<'e, E, B>(&self, element: &'e E) -> Result<(), PlotError>
    where
        B: CoordMapper,
        &'e E: PointCollection<'e, (i32, i32), B>,
        E: Drawable<DB, B>,
    {
        self.area.draw(element).map_err(draw_err)
    }

    /// A filled rectangle between two corners.
    pub(crate) fn rect(&self, corners: [(i32, i32); 2], colour: RGBColor) -> Result<(), PlotError> {
        self.draw(&Rectangle::new(corners, colour.filled()))
    }

    /// A solid line `width` design pixels wide.
    pub(crate) fn line(
        &self,
        points: Vec<(i32, i32)>,
        colour: RGBColor,
        w: f64,
    ) -> Result<(), PlotError> {
        let style = ShapeStyle::from(&colour).stroke_width(self.px(w) as u32);
        self.draw(&PathElement::new(points, style))
    }

    /// `s` with the `anchor` of `style` at `(x, y)`.
    pub(crate) fn text(
        &self,
        s: &str,
        xy: (i32, i32),
        style: &TextStyle<'static>,
        anchor: Pos,
    ) -> Result<(), PlotError> {
        super::style::text(self.area, s, xy, &style.pos(anchor))
    }

    /// Width and height of `s` in pixels.
    pub(crate) fn size(
        &self,
        s: &str,
        style: &TextStyle<'static>,
    ) -> Result<(i32, i32), PlotError> {
        text_size(self.area, s, style)
    }

    /// The width of the widest of `texts`.
    pub(crate) fn widest<S: AsRef<str>>(
        &self,
        texts: impl IntoIterator<Item = S>,
        style: &TextStyle<'static>,
    ) -> Result<i32, PlotError> {
        let mut w = 0;
        for s in texts {
            w = w.max(self.size(s.as_ref(), style)?.0);
        }
        Ok(w)
    }

    /// A message in the middle of an empty chart.
    pub(crate) fn no_data(&self, message: &str) -> Result<(), PlotError> {
        let xy = (self.th.w / 2, self.th.h / 2);
        self.text(message, xy, &self.th.axis(), CENTRE)
    }

    /// The key as one row under the subtitle; returns its centre line.
    pub(crate) fn key_row(&self, entries: &[(Swatch, String)]) -> Result<i32, PlotError> {
        let y = self.top + self.px(6.0);
        legend_row(self.area, &self.th, (self.px(40.0), y), entries)?;
        Ok(y)
    }

    /// The frame of a chart with a value axis on the left and a legend column `legend_w`
    /// design pixels wide on the right, ending `bottom` design pixels above the page's
    /// bottom edge (room for the x axis and the footnote).
    pub(crate) fn value_frame(
        &self,
        axis: &ValueAxis,
        (x0, x1): (f64, f64),
        legend_w: f64,
        bottom: f64,
    ) -> Result<(Frame, Column), PlotError> {
        let th = &self.th;
        let labels = axis.ticks.iter().map(|&v| axis.label(v));
        let widest = self.widest(labels, &th.tick())?;
        let w = th.px(legend_w);
        let l = th.px(40.0) + widest.max(th.px(70.0)) + th.px(14.0);
        let t = self.top + th.px(36.0);
        let r = (th.w - th.px(40.0) - w - th.px(50.0)).max(l + 10);
        let b = (th.h - th.px(bottom)).max(t + 10);
        let (y0, y1) = (axis.lo, axis.hi);
        let frame = Frame {
            l,
            t,
            r,
            b,
            x0,
            x1,
            y0,
            y1,
        };
        Ok((
            frame,
            Column {
                x: r + th.px(50.0),
                w,
            },
        ))
    }

    /// The value axis with its unit and the year axis under the frame.
    pub(crate) fn year_axes(
        &self,
        f: &Frame,
        axis: &ValueAxis,
        unit: &str,
        (first, last): (i32, i32),
    ) -> Result<(), PlotError> {
        let ticks: Vec<(f64, String)> = year_ticks(first, last)
            .into_iter()
            .map(|y| (f64::from(y), y.to_string()))
            .collect();
        draw_axes(self.area, &self.th, f, axis, unit, &ticks, "year")
    }

    /// A legend in the column from `y` down, under `heading`; returns the y below it.
    pub(crate) fn legend(
        &self,
        col: Column,
        y: i32,
        heading: &str,
        entries: &[(Swatch, String)],
    ) -> Result<i32, PlotError> {
        legend(self.area, &self.th, (col.x, y), col.w, heading, entries)
    }
}

/// The x range of a chart over years: the years, or one year padded so that it has a width.
pub(crate) fn year_range(first: i32, last: i32) -> (f64, f64) {
    if first == last {
        (f64::from(first) - 0.5, f64::from(last) + 0.5)
    } else {
        (f64::from(first), f64::from(last))
    }
}

/// A value axis for data in `[lo, hi]`, and whether it is zoomed: levels far from zero
/// (the imports of a whole economy) get an axis that does not start at zero, so that
/// differences can be read; the subtitle then says so ([`ZOOMED`]).
pub(crate) fn value_axis(lo: f64, hi: f64) -> (ValueAxis, bool) {
    let zoom = lo.is_finite() && lo > 0.0 && lo > 0.5 * hi;
    let axis = if zoom {
        ValueAxis::zoomed(lo, hi, 6)
    } else if lo.is_finite() {
        ValueAxis::new(lo, hi, 7)
    } else {
        ValueAxis::new(0.0, 0.0, 7)
    };
    (axis, zoom)
}

/// What a subtitle adds for a zoomed axis ([`value_axis`]).
pub(crate) fn zoomed_text(zoom: bool) -> &'static str {
    if zoom {
        ZOOMED
    } else {
        ""
    }
}

pub(crate) const ZOOMED: &str = " The axis does not start at zero.";

/// The smallest and largest of `values` (infinite when there are none).
pub(crate) fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// The year span of a chart as `(first, last)`; `None` without years.
pub(crate) fn span(years: &[i32]) -> Option<(i32, i32)> {
    Some((*years.iter().min()?, *years.iter().max()?))
}

/// Positions of `years` in year order.
pub(crate) fn year_order(years: &[i32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..years.len()).collect();
    order.sort_by_key(|&i| years[i]);
    order
}

/// Where a run's data came from, in words, from `run.json`'s `data_source`: the file or
/// built world it read, or flows written in the scenario files.
pub(crate) fn data_words(data_source: Option<&serde_json::Value>, unit: Option<&str>) -> String {
    let path_of = |kind: &str| {
        data_source
            .and_then(|d| d.get(kind))
            .and_then(|d| d.get("path"))
            .and_then(|p| p.as_str())
            .map(|p| {
                std::path::Path::new(p)
                    .file_name()
                    .map_or_else(|| p.to_owned(), |f| f.to_string_lossy().into_owned())
            })
    };
    let what = if let Some(p) = path_of("file") {
        format!("trade flows from {p}")
    } else if let Some(p) = path_of("world") {
        format!(
            "world built by tradeflow data build ({p}), every cell with its reporter and source"
        )
    } else {
        "flows written in the scenario files, each with its reporter and source".to_owned()
    };
    match unit {
        Some(u) => format!("{what}; {u}"),
        None => what,
    }
}

/// The source line of a chart: `Model: tradeflow <version>, scenario <name>
/// (<description>). Data: <data>.`
pub(crate) fn source_line(
    version: &str,
    scenario: &str,
    description: Option<&str>,
    data: &str,
) -> String {
    let about = match description.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!(" ({})", d.trim_end_matches('.')),
        None => String::new(),
    };
    format!("Model: tradeflow {version}, scenario {scenario}{about}. Data: {data}.")
}

/// The scenario's file name without directory and extension.
pub(crate) fn file_stem(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_zoom_only_far_from_zero() {
        let (a, zoom) = value_axis(288.0, 346.0);
        assert!(zoom && a.lo > 0.0);
        let (a, zoom) = value_axis(10.0, 346.0);
        assert!(!zoom && a.lo == 0.0);
        let (a, zoom) = value_axis(f64::INFINITY, f64::NEG_INFINITY);
        assert!(!zoom && (a.lo, a.hi) == (0.0, 1.0));
        assert_eq!(zoomed_text(false), "");
    }

    #[test]
    fn source_lines_name_model_scenario_and_data() {
        let inline = serde_json::json!("inline");
        assert_eq!(
            source_line("0.1.0", "s", Some("a test."), &data_words(Some(&inline), Some("USD bn"))),
            "Model: tradeflow 0.1.0, scenario s (a test). Data: flows written in the scenario files, each with its reporter and source; USD bn."
        );
        let file = serde_json::json!({"file": {"path": "tests/data/x.dlm", "year": 2006}});
        assert_eq!(data_words(Some(&file), None), "trade flows from x.dlm");
        assert_eq!(
            source_line("1", "s", None, "d"),
            "Model: tradeflow 1, scenario s. Data: d."
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(year_range(2021, 2021), (2020.5, 2021.5));
        assert_eq!(span(&[2023, 2021, 2022]), Some((2021, 2023)));
        assert_eq!(span(&[]), None);
        assert_eq!(year_order(&[2023, 2021, 2022]), vec![1, 2, 0]);
        assert_eq!(
            file_stem("scenarios/roundabout/as_happened.toml"),
            "as_happened"
        );
        assert_eq!(min_max([3.0, -1.0, 2.0]), (-1.0, 3.0));
    }
}
