//! Scenarios side by side: one series across scenarios over years (lines), and one year's
//! values of a few series across scenarios (grouped bars). A scenario keeps its colour in
//! every comparison chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::page::{
    min_max, span, value_axis, year_order, year_range, zoomed_text, Page, Words, BOTTOM, TOP,
};
use super::style::{
    fmt_num, polyline, scenario_colour, scenario_open, text_size, wrap, years_text, Swatch,
    ValueAxis, TEXT,
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
    /// The scenario the others are measured against, if any.
    pub reference: Option<String>,
    /// Policy years: where scenarios part from the path of another (in any series of the
    /// comparison), in year order.
    pub departures: Vec<Departure>,
}

/// A policy year: the year `scenarios` part from the path of scenario `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub year: i32,
    pub from: String,
    pub scenarios: Vec<String>,
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

/// Series names for display: in words (`re-exports via KGZ to RUS`), arrows instead of `->`.
pub(crate) fn display(name: &str) -> String {
    crate::simulate::series::words(name).replace("->", "→")
}

/// Series names for the comparison charts' titles and labels: in words, economies by name
/// (`re-exports via Kyrgyzstan to Russia`).
pub(crate) fn display_named(name: &str) -> String {
    super::names::named_text(&crate::simulate::series::words(name))
}

impl ScenarioLines {
    /// The value axis (in the values shown) and whether it is zoomed.
    fn axis(&self) -> (ValueAxis, bool) {
        let k = self.unit.scale();
        let values = self.scenarios.iter().flat_map(|(_, v)| v.iter().flatten());
        let (lo, hi) = min_max(values.map(|x| x * k));
        value_axis(lo, hi)
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (first, last) = span(&self.years).unwrap_or((0, 0));
        Words {
            title: format!(
                "{}: scenarios compared, {}",
                sentence(&display_named(&self.series)),
                years_text(first, last)
            ),
            subtitle: format!(
                "{} by year, one line per scenario; the legend lists scenarios by their {last} value, highest first. Shaded: the base year {first} (data); later years are the model's projection.{}{}",
                self.unit.label(),
                if self.departures.is_empty() { "" } else { " Grey vertical lines: policy years, where a scenario's path parts from another's." },
                zoomed_text(self.axis().1)
            ),
            note: format!(
                "Model: tradeflow {}, scenarios compared by tradeflow compare{}. Data: as each scenario's run (its run.json). Series `{}`.",
                env!("CARGO_PKG_VERSION"),
                self.reference.as_ref().map_or(String::new(), |r| format!(" against {r}")),
                self.series
            ),
            note_lines: 2,
        }
    }

    /// For each scenario, an earlier one it equals (`true`) or is within `tol` of
    /// everywhere (`false`).
    fn twins(&self, tol: f64) -> Vec<Option<(String, bool)>> {
        (0..self.scenarios.len())
            .map(|s| {
                let values = &self.scenarios[s].1;
                self.scenarios[..s].iter().find_map(|(n, other)| {
                    if close(other, values, 0.0) {
                        Some((n.clone(), true))
                    } else if close(other, values, tol) {
                        Some((n.clone(), false))
                    } else {
                        None
                    }
                })
            })
            .collect()
    }
}

/// A scenario's legend label, naming the earlier scenario it coincides with.
fn twin_label(name: &str, twin: &Option<(String, bool)>) -> String {
    match twin {
        Some((t, true)) => format!("{name} (same as {t})"),
        Some((t, false)) => format!("{name} (≈ {t})"),
        None => name.to_owned(),
    }
}

/// One series across scenarios over years; scenarios identical to an earlier one are drawn
/// dashed on top and say so in the legend, so no line hides another unannounced.
pub(crate) fn draw_scenario_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioLines,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let order = year_order(&c.years);
    let years = span(&c.years).unwrap_or((0, 0));
    let k = c.unit.scale();
    let (axis, _) = c.axis();
    let (f, legend) = p.value_frame(&axis, year_range(years.0, years.1), 400.0, 120.0)?;
    // The first year of a comparison is the scenarios' base year (years start there).
    super::flows::shade_history(&p, &f, Some(years.0), years)?;
    p.year_axes(&f, &axis, c.unit.label(), years)?;
    let ms = p.th.bold(17.0, super::style::DARK_GREY);
    let mut marked: Vec<i32> = c.departures.iter().map(|d| d.year).collect();
    marked.dedup();
    for year in marked.iter().filter(|y| **y > years.0 && **y <= years.1) {
        let x = f.x(f64::from(*year));
        polyline(
            p.area,
            &p.th,
            vec![(x, f.b), (x, f.t)],
            super::style::GREY,
            2.0,
            false,
        )?;
        p.text(
            &year.to_string(),
            (x, f.t - p.px(4.0)),
            &ms,
            super::page::BOTTOM,
        )?;
    }
    // A scenario equal to an earlier one (or within half a percent of the axis everywhere)
    // is drawn dashed on top and named as such; the others are drawn last-first so that the
    // first scenario (the reference) shows where all share a path.
    let twins = c.twins(0.005 * (axis.hi - axis.lo) / k);
    let mut draw_order: Vec<usize> = (0..c.scenarios.len())
        .rev()
        .filter(|&s| twins[s].is_none())
        .collect();
    draw_order.extend((0..c.scenarios.len()).filter(|&s| twins[s].is_some()));
    let mut entries = Vec::new();
    for s in draw_order {
        let (name, values) = &c.scenarios[s];
        let colour = scenario_colour(s);
        let dashed = twins[s].is_some();
        let open = scenario_open(s);
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
                polyline(p.area, &p.th, run.clone(), colour, 4.0, dashed)?;
            }
            if c.years.len() <= 20 {
                let r = p.px(if c.years.len() == 1 { 9.0 } else { 5.0 });
                for pt in run {
                    if open {
                        p.draw(&Circle::new(pt, r, WHITE.filled()))?;
                        let ring = ShapeStyle::from(&colour).stroke_width(p.px(2.0) as u32);
                        p.draw(&Circle::new(pt, r, ring))?;
                    } else {
                        p.draw(&Circle::new(pt, r, colour.filled()))?;
                    }
                }
            }
        }
        let end = order
            .iter()
            .rev()
            .find_map(|&i| values.get(i).copied().flatten());
        let label = twin_label(name, &twins[s]);
        entries.push((end, s, Swatch::Line { colour, dashed }, label));
    }
    entries.sort_by(|a, b| {
        b.0.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.0.unwrap_or(f64::NEG_INFINITY))
            .then(a.1.cmp(&b.1))
    });
    let entries: Vec<(Swatch, String)> = entries.into_iter().map(|(_, _, s, l)| (s, l)).collect();
    let y = p.legend(legend, f.t, "Scenario", &entries)?;
    if !c.departures.is_empty() {
        let heading = match &c.reference {
            Some(r) => format!("Policy years (where paths part; reference {r})"),
            None => "Policy years (where paths part)".to_owned(),
        };
        let marks: Vec<(Swatch, String)> = c
            .departures
            .iter()
            .map(|d| {
                (
                    Swatch::Line {
                        colour: super::style::GREY,
                        dashed: false,
                    },
                    format!("{}: {} from {}", d.year, d.scenarios.join(", "), d.from),
                )
            })
            .collect();
        p.legend(legend, y + p.px(20.0), &heading, &marks)?;
    }
    Ok(())
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
        if w <= max_w && best.as_ref().is_none_or(|(bw, _)| w < *bw) {
            best = Some((w, vec![a, b]));
        }
    }
    match best {
        Some((_, lines)) => Ok(lines),
        None => wrap(area, s, style, max_w),
    }
}

impl ScenarioBars {
    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        Words {
            title: format!("Scenarios compared in {}", self.year),
            subtitle: format!(
                "{} in {}; one bar per scenario in each group.",
                self.unit.label(),
                self.year
            ),
            note: "Series from compare.csv.".to_owned(),
            note_lines: 1,
        }
    }
}

/// A year's values of a few series across scenarios: one group of bars per series.
pub(crate) fn draw_scenario_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &ScenarioBars,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let th = &p.th;
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
    let groups = c.series.len().max(1);
    let (f, legend) = p.value_frame(&axis, (0.0, groups as f64), 400.0, 150.0)?;
    super::style::draw_axes(p.area, th, &f, &axis, c.unit.label(), &[], "")?;
    let n = c.scenarios.len().max(1);
    let group_w = f64::from(f.r - f.l) / groups as f64;
    let bar_w = group_w * 0.8 / n as f64;
    let value_style = th.text(16.0, TEXT);
    let cat_style = th.axis();
    for (g, series) in c.series.iter().enumerate() {
        let x_group = f64::from(f.l) + group_w * g as f64 + group_w * 0.1;
        for s in 0..c.scenarios.len() {
            let Some(v) = c.values.get(g).and_then(|r| r.get(s)).copied().flatten() else {
                continue;
            };
            let x0 = x_group + bar_w * s as f64;
            let (y_a, y_b) = (f.y(0.0), f.y(v * k));
            let (xa, xb) = (x0.round() as i32 + 1, (x0 + bar_w).round() as i32 - 1);
            p.rect([(xa, y_a.min(y_b)), (xb, y_a.max(y_b))], scenario_colour(s))?;
            let label = fmt_num(v * k, if (v * k).abs() < 10.0 { 1 } else { 0 });
            let (w, _) = p.size(&label, &value_style)?;
            if f64::from(w) <= bar_w + f64::from(th.px(2.0)) {
                let (anchor, y) = if v >= 0.0 {
                    (BOTTOM, y_b - th.px(4.0))
                } else {
                    (TOP, y_b + th.px(4.0))
                };
                let x = (x0 + bar_w / 2.0).round() as i32;
                p.text(&label, (x, y), &value_style, anchor)?;
            }
        }
        let cx = (f64::from(f.l) + group_w * (g as f64 + 0.5)).round() as i32;
        let cat = cat_style.pos(TOP);
        let lines = balanced_wrap(area, &display_named(series), &cat, (group_w * 0.95) as i32)?;
        for (j, line) in lines.iter().take(3).enumerate() {
            let y = f.b + th.px(12.0) + j as i32 * th.px(28.0);
            p.text(line, (cx, y), &cat_style, TOP)?;
        }
    }
    let entries: Vec<(Swatch, String)> = c
        .scenarios
        .iter()
        .enumerate()
        .map(|(s, name)| (Swatch::Fill(scenario_colour(s)), name.clone()))
        .collect();
    p.legend(legend, f.t, "Scenario", &entries)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_of_lines_and_bars() {
        let c = ScenarioLines {
            series: "CHN->KGZ recorded by CHN".into(),
            unit: Unit::UsdBn,
            years: vec![2021, 2030],
            scenarios: vec![
                ("a".into(), vec![Some(300.0), Some(310.0)]),
                ("b".into(), vec![Some(300.0), Some(310.0)]),
            ],
            reference: None,
            departures: Vec::new(),
        };
        let w = c.words();
        assert_eq!(
            w.title,
            "China→Kyrgyzstan recorded by China: scenarios compared, 2021–2030"
        );
        assert!(
            w.subtitle.ends_with("The axis does not start at zero."),
            "{}",
            w.subtitle
        );
        assert!(w.note.starts_with("Model: tradeflow "), "{}", w.note);
        assert!(
            w.note.ends_with("Series `CHN->KGZ recorded by CHN`."),
            "{}",
            w.note
        );
        assert!(!w.subtitle.contains("policy years"));
        let mut d = c.clone();
        d.reference = Some("a".into());
        d.departures = vec![Departure {
            year: 2030,
            from: "a".into(),
            scenarios: vec!["b".into()],
        }];
        assert!(d.words().subtitle.contains("policy years"));
        assert!(d.words().note.contains("against a"));
        let twins = c.twins(0.0);
        assert_eq!(twin_label("b", &twins[1]), "b (same as a)");
        assert_eq!(twin_label("a", &twins[0]), "a");
        let b = ScenarioBars {
            year: 2030,
            unit: Unit::UsdBn,
            series: vec![],
            scenarios: vec![],
            values: vec![],
        };
        assert_eq!(
            b.words().subtitle,
            "USD bn in 2030; one bar per scenario in each group."
        );
    }
}
