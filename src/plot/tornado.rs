//! Sensitivity tornado: one output with each swept parameter moved alone to the low and the
//! high end of its range, the others at their scenario values; one horizontal bar per
//! parameter around the scenario's own value, largest swing at the top.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::compare::{display_named, Unit};
use super::page::{
    file_stem, min_max, value_axis, zoomed_text, Page, Words, BOTTOM_RIGHT, LEFT, RIGHT, TOP_LEFT,
};
use super::style::{
    decimals_for_value, draw_x_axis, fmt_num, polyline, with_colour, wrap_path, Frame, Swatch,
    ValueAxis, BLUE_, DARK_GREY, MUTED, ORANGE, TEXT,
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
    pub(crate) fn swing(&self) -> Option<f64> {
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
        let name =
            display_named(&self.output).replace(", final destination", " (final destination)");
        match self.year {
            Some(y) => format!("{name} in {y}"),
            None => name,
        }
    }
}

const LOW: RGBColor = BLUE_;
const HIGH: RGBColor = ORANGE;

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

/// A number with its unit: `12.5 USD bn`, `3.2%`.
fn with_unit(v: String, unit: &str) -> String {
    if unit == "%" {
        format!("{v}%")
    } else {
        format!("{v} {unit}")
    }
}

impl TornadoBar {
    /// The swept range and the scenario's own value, under the parameter's path.
    fn range_text(&self) -> String {
        let range = format!("{} to {}", param_value(self.low), param_value(self.high));
        match self.base_value {
            Some(v) => format!("{range}; scenario {}", param_value(v)),
            None => range,
        }
    }

    /// Which ends failed and why, for the footnote.
    fn failure(&self) -> String {
        let ends: Vec<String> = [
            (self.at_low, "low", self.low),
            (self.at_high, "high", self.high),
        ]
        .iter()
        .filter(|(v, _, _)| v.is_none())
        .map(|(_, e, v)| format!("{e} {}", param_value(*v)))
        .collect();
        let why = if self.failed.is_empty() {
            String::new()
        } else {
            format!(": {}", self.failed)
        };
        format!("{} at {}{why}", self.parameter, ends.join(" and "))
    }

    /// What a bar too short to see says instead (`k` scales to the unit shown).
    fn flat_text(&self, k: f64, unit: &str) -> String {
        let what = match self.swing().map(|s| s * k) {
            Some(0.0) => "no change in the output".to_owned(),
            Some(s) => format!(
                "barely moves the output (swing {})",
                with_unit(fmt_num(s, decimals_for_value(s, 2, 0).min(8)), unit)
            ),
            None => "run failed at one end (see the note below)".to_owned(),
        };
        let (low, high) = (param_value(self.low), param_value(self.high));
        format!("{low} and {high}: {what}")
    }
}

impl Tornado {
    /// The value axis (in the unit shown) and whether it is zoomed.
    fn axis(&self) -> (ValueAxis, bool) {
        let k = self.unit.scale();
        let ends = self.bars.iter().flat_map(|b| [b.at_low, b.at_high]);
        let (lo, hi) = min_max(ends.chain([self.at_base]).flatten().map(|v| v * k));
        value_axis(lo, hi)
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (k, unit) = (self.unit.scale(), self.unit.label());
        let vd = |v: f64| decimals_for_value(v, 3, 0).min(4);
        let base = match self.at_base {
            Some(b) => format!(
                " Dashed line: scenario {} as given ({} {unit}).",
                file_stem(&self.scenario),
                fmt_num(b * k, vd(b * k))
            ),
            None => " The run of the scenario as given failed.".to_owned(),
        };
        let in_year = self.year.map_or(String::new(), |y| format!(" in {y}"));
        let failed: Vec<String> = self
            .sorted()
            .into_iter()
            .filter(|b| b.swing().is_none())
            .map(TornadoBar::failure)
            .collect();
        let mut note = format!(
            "Scenario {}; tornado.csv of the sweep; output `{}`{in_year}.",
            self.scenario, self.output
        );
        if !failed.is_empty() {
            note.push_str(&format!(" Runs that failed: {}.", failed.join("; ")));
        }
        Words {
            title: format!("What moves {}: one parameter at a time", self.output_text()),
            subtitle: format!(
                "{}{in_year}, with each parameter set alone to the low and to the high end of its swept range and the others at their scenario values; largest swing first.{base}{}",
                self.unit.words(),
                zoomed_text(self.axis().1)
            ),
            note,
            note_lines: 3,
        }
    }

    /// Each bar's swing with `decimals`; a tiny one as "<0.1", not "0.0".
    fn swing_texts(&self, decimals: usize) -> Vec<String> {
        let k = self.unit.scale();
        let smallest = 10f64.powi(-(decimals as i32));
        let text = |b: &TornadoBar| match b.swing() {
            Some(s) if s * k > 0.0 && s * k < smallest / 2.0 => {
                format!("<{}", fmt_num(smallest, decimals))
            }
            Some(s) => fmt_num(s * k, decimals),
            None => "failed".to_owned(),
        };
        self.sorted().into_iter().map(text).collect()
    }
}

/// The rows of the tornado: frame, row height and the styles of the labels.
struct Rows {
    f: Frame,
    row_h: i32,
    /// Half the height of a bar.
    half: i32,
    ls: TextStyle<'static>,
    muted: TextStyle<'static>,
    end_style: TextStyle<'static>,
    /// The output with every parameter at its scenario value, in the unit shown.
    base: Option<f64>,
}

/// The sensitivity tornado.
pub(crate) fn draw_tornado<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Tornado,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
    let (k, unit) = (c.unit.scale(), c.unit.label());
    let bars = c.sorted();
    let dashed = Swatch::Line {
        colour: DARK_GREY,
        dashed: true,
    };
    let key_y = p.key_row(&[
        (
            Swatch::Fill(LOW),
            "parameter at the low end of its range".to_owned(),
        ),
        (Swatch::Fill(HIGH), "at the high end".to_owned()),
        (dashed, "scenario as given".to_owned()),
    ])?;
    if bars.is_empty() {
        return p.no_data("no parameters to show");
    }
    let (axis, _) = c.axis();
    let t = key_y + th.px(48.0);
    let b = (p.bottom - th.px(96.0)).max(t + 10);
    let n = bars.len() as i32;
    let row_h = ((b - t) / n).min(th.px(160.0));
    let size = (th.design(row_h) * 0.42).clamp(9.0, 21.0);
    let ls = th.text(size, TEXT);
    let muted = th.text((size * 0.86).max(8.0), MUTED);
    let label_w = p.widest(bars.iter().map(|b| &b.parameter), &ls)?;
    let label_w = label_w.max(th.px(160.0)).min(th.px(430.0));
    // Room beside the data for the end labels.
    let end_style = th.bold((size * 0.95).max(8.0), TEXT);
    let ends = bars
        .iter()
        .flat_map(|b| [param_value(b.low), param_value(b.high)]);
    let pad = p.widest(ends, &end_style)? + th.px(14.0);
    let swing_head = format!("swing, {unit}");
    // Swings with one decimal more than the axis.
    let swings = c.swing_texts((axis.decimals + 1).min(4));
    let hs = th.bold(size.min(19.0), TEXT);
    let swing_w = p.size(&swing_head, &hs)?.0.max(p.widest(&swings, &ls)?);
    let l = th.px(40.0) + label_w + th.px(20.0) + pad;
    let r = (th.w - th.px(40.0) - swing_w - th.px(30.0) - pad).max(l + 10);
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
    let what = c.output_text();
    draw_x_axis(area, th, &f, &axis, &format!("{what}, {unit}"))?;
    let sx = th.w - th.px(40.0);
    p.text(&swing_head, (sx, f.t - th.px(8.0)), &hs, BOTTOM_RIGHT)?;
    let rows = Rows {
        f,
        row_h,
        half: (row_h * 3 / 10).clamp(2, th.px(26.0)),
        ls,
        muted,
        end_style,
        base: c.at_base.map(|v| v * k),
    };
    for (i, bar) in bars.iter().enumerate() {
        let cy = f.t + row_h * i as i32 + row_h / 2;
        draw_label(&p, &rows, bar, label_w, cy)?;
        let style = if bar.swing().is_some() {
            &rows.ls
        } else {
            &rows.muted
        };
        p.text(&swings[i], (sx, cy), style, RIGHT)?;
        draw_bar(&p, &rows, bar, c.unit, cy)?;
    }
    if let Some(x) = rows.base.map(|v| f.x(v)) {
        let line = vec![(x, f.t - th.px(10.0)), (x, f.b)];
        polyline(area, th, line, DARK_GREY, 2.5, true)?;
    }
    Ok(())
}

/// A bar's label: the path, broken after dots, and its range when there is room.
fn draw_label<DB: DrawingBackend>(
    p: &Page<DB>,
    rows: &Rows,
    bar: &TornadoBar,
    label_w: i32,
    cy: i32,
) -> Result<(), PlotError> {
    let (th, row_h) = (&p.th, rows.row_h);
    let max_lines = ((row_h - th.px(24.0)) / th.px(26.0)).clamp(1, 3) as usize;
    let mut lines = wrap_path(p.area, &bar.parameter, &rows.ls, label_w)?;
    if lines.len() > max_lines {
        // Keep the end of the path: the parameter's own name.
        lines = lines.split_off(lines.len() - max_lines);
        lines[0] = format!("…{}", lines[0]);
    }
    let with_range = row_h >= th.px(26.0) * (lines.len() as i32 + 1);
    let block = th.px(26.0) * (lines.len() as i32 + i32::from(with_range));
    let mut y = cy - block / 2;
    for line in &lines {
        p.text(line, (th.px(40.0), y), &rows.ls, TOP_LEFT)?;
        y += th.px(26.0);
    }
    if with_range {
        p.text(&bar.range_text(), (th.px(40.0), y), &rows.muted, TOP_LEFT)?;
    }
    Ok(())
}

/// One parameter's bar: from the base to the output at the low end (blue) and at the high
/// end (orange), each labelled with the parameter's value there.
fn draw_bar<DB: DrawingBackend>(
    p: &Page<DB>,
    rows: &Rows,
    bar: &TornadoBar,
    unit: Unit,
    cy: i32,
) -> Result<(), PlotError> {
    let (th, f, half) = (&p.th, &rows.f, rows.half);
    let k = unit.scale();
    let ends = [
        (bar.at_low.map(|v| v * k), bar.low, LOW),
        (bar.at_high.map(|v| v * k), bar.high, HIGH),
    ];
    if bar.at_low.is_none() && bar.at_high.is_none() {
        let x = rows.base.map_or((f.l + f.r) / 2, |b| f.x(b) + th.px(12.0));
        let why = "both runs failed (see the note below)";
        return p.text(why, (x, cy), &rows.muted, LEFT);
    }
    // Without the scenario's own value, bars start where the lower end is.
    let Some(base) = rows
        .base
        .or_else(|| ends.iter().filter_map(|e| e.0).reduce(f64::min))
    else {
        return Ok(());
    };
    let xb = f.x(base);
    let px: Vec<Option<i32>> = ends.iter().map(|e| e.0.map(|v| f.x(v))).collect();
    let visible = |x: Option<i32>| x.is_some_and(|x| (x - xb).abs() >= 2);
    if !visible(px[0]) && !visible(px[1]) {
        // Zero swing (or too small to see): a tick at the base and what it means.
        p.line(vec![(xb, cy - half), (xb, cy + half)], DARK_GREY, 3.0)?;
        let what = bar.flat_text(k, unit.label());
        return p.text(&what, (xb + th.px(12.0), cy), &rows.muted, LEFT);
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
        let corners = [(xb.min(x), cy - h), (xb.max(x).max(xb.min(x) + 1), cy + h)];
        p.rect(corners, ends[e].2)?;
    }
    // Labels: each end's parameter value beyond the end of its bar; for the inner bar of a
    // same-side pair, inside the outer bar in white if it fits, else beside the outer label.
    let gap = th.px(8.0);
    let beyond = |x: i32, right: bool| {
        if right {
            (LEFT, x + gap)
        } else {
            (RIGHT, x - gap)
        }
    };
    let mut outer_extra: Option<String> = None;
    for (rank, &e) in order.iter().enumerate().rev() {
        let Some(x) = px[e] else { continue };
        let label = param_value(ends[e].1);
        let right = x >= xb;
        let (w, _) = p.size(&label, &rows.end_style)?;
        if same_side && rank == 1 {
            let outer = px[order[0]].unwrap_or(x);
            if (outer - x).abs() >= w + 2 * gap {
                let (pos, ax) = beyond(x, right);
                let style = with_colour(rows.end_style.clone(), WHITE);
                p.text(&label, (ax, cy), &style, pos)?;
            } else {
                outer_extra = Some(label);
            }
            continue;
        }
        let (pos, ax) = beyond(x, right);
        let colour = if e == 0 {
            RGBColor(0, 80, 130)
        } else {
            RGBColor(150, 95, 0)
        };
        let style = with_colour(rows.end_style.clone(), colour);
        p.text(&label, (ax, cy), &style, pos)?;
        if let Some(extra) = outer_extra.take() {
            let ax = if right { ax + w + gap } else { ax - w - gap };
            p.text(&format!("({extra})"), (ax, cy), &rows.muted, pos)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(parameter: &str, at_low: Option<f64>, at_high: Option<f64>) -> TornadoBar {
        TornadoBar {
            parameter: parameter.into(),
            low: 1.2,
            high: 3.0,
            base_value: Some(2.0),
            at_low,
            at_high,
            failed: String::new(),
        }
    }

    #[test]
    fn tornado_wording() {
        let c = Tornado {
            output: "imports of RUS, final destination".into(),
            year: Some(2030),
            unit: Unit::UsdBn,
            at_base: Some(300.0),
            bars: vec![
                bar("years.adjustment", Some(290.0), Some(310.0)),
                bar("instruments.x.premium", Some(301.0), None),
            ],
            scenario: "scenarios/roundabout/as_happened.toml".into(),
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "What moves imports of Russia (final destination) in 2030: one parameter at a time"
        );
        assert!(w
            .subtitle
            .contains("Dashed line: scenario as_happened as given (300 USD bn)."));
        assert!(w.subtitle.ends_with("The axis does not start at zero."));
        assert!(
            w.note
                .ends_with("Runs that failed: instruments.x.premium at high 3."),
            "{}",
            w.note
        );
        assert_eq!(c.swing_texts(1), ["20.0", "failed"]);
        assert_eq!(c.bars[0].range_text(), "1.2 to 3; scenario 2");
        assert_eq!(
            c.bars[1].flat_text(1.0, "%"),
            "1.2 and 3: run failed at one end (see the note below)"
        );
        let flat = bar("a", Some(1.0), Some(1.004));
        assert_eq!(
            flat.flat_text(1.0, "USD bn"),
            "1.2 and 3: barely moves the output (swing 0.0040 USD bn)"
        );
    }
}
