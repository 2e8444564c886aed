//! Charts (DESIGN section 7): what a reader of a report or briefing sees of a run.
//!
//! Data flow, one way only (plotting is a leaf: nothing here feeds back into a run):
//! a results folder's files, read from disk or taken from the bytes a run is about to write
//! ([`Folder`]) -> [`year_run_charts`] / [`compare_charts`] pick what each chart shows
//! (target, intermediaries, major origins, sanction years, default series) into one plain
//! struct per chart ([`Chart`]) -> the chart's wording (title, subtitle, footnote) as a pure
//! function of that struct -> a `draw_*` function opens the shared page (`page.rs`: title
//! block, footnote, value frame with a legend column or a key row) and draws on any plotters
//! backend what is particular to the chart ->
//! [`chart_files`] renders every chart as PNG and SVG, with the CSV it was drawn from, in
//! memory, for the caller to write as one piece (nothing half-written on error).
//!
//! Charts of a yearly run (stems of `charts/<stem>.png|svg|csv`):
//! - `flows_into_<T>`: flows into the route target `T` over years, stacked by route (direct
//!   from each major origin, from other origins, via each intermediary), sanctions and
//!   frictions marked where they take effect (`draw_flows_by_route`);
//! - `reexports_to_<T>`: re-exports through each intermediary, final destination (solid)
//!   against what the intermediary's customs records (dashed) (`draw_reexports`);
//! - `routes_<T>_<year>`: a Sankey-style route diagram for one year (`draw_route_diagram`);
//! - `flow_change_<from>_<to>`: percent change of every bilateral final-destination flow
//!   between two years (`draw_change_heatmap`), and `recorded_change_<from>_<to>` beside it
//!   for the exporters' records;
//! - `observed_vs_model_<T>` (a run on a built world whose `[data]` names its `panel`): each
//!   panel figure on the links into `T` and into and out of the intermediaries against the
//!   model's recorded flow for the same link, reporter and year, on log axes
//!   (`draw_observed`).
//!
//! With more than six intermediaries the route charts show the five largest (by what the
//! run routes through them) and group the rest as "other hubs", named in the footnote.
//!
//! Charts of a comparison: `compare_<series>` (a series across scenarios over years,
//! `draw_scenario_lines`), `compare_bars_<year>` (a year's values of a few series,
//! `draw_scenario_bars`) and `change_<scenario>_vs_<reference>_<year>` (bilateral change
//! between two scenarios).
//!
//! Charts of the tuning commands, drawn from the folders they write ([`montecarlo_charts`],
//! [`calibration_charts`], [`sweep_charts`]):
//! - `fan_<series>` (Monte Carlo folder of a yearly scenario): the median of the draws over
//!   years with 50% and 90% bands, draws and failed draws in the footnote
//!   (`draw_fan_chart`);
//! - `intervals_<measure>` (Monte Carlo folder of a single counterfactual): median, 50% and
//!   90% ranges of a measure such as `welfare_change_pct`, one row per country
//!   (`draw_intervals`);
//! - `calibration_fit` (calibration folder): each observed target against the model at the
//!   starting values and after the fit, with the fitted parameters
//!   (`draw_calibration_fit`);
//! - `tornado_<output>_<year>` (sweep folder): each parameter moved alone to the ends of its
//!   range, bars around the scenario's value, largest swing first (`draw_tornado`).
//!
//! Text is drawn with plotters' pure-Rust `ab_glyph` path and the bundled DejaVu Sans
//! (`fonts/`, licence beside it): no system font library, no C library.

pub mod backtest;
mod build;
mod compare;
mod fan;
mod fit;
mod flows;
mod heatmap;
mod input;
pub mod names;
mod observed;
mod page;
mod parts;
mod sankey;
pub(crate) mod style;
mod tornado;
mod tuning;

use std::path::PathBuf;

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

pub use build::{compare_charts, year_run_charts, CompareOptions, RunOptions};
pub use compare::{scenario_label, Departure, PolicyYear, ScenarioBars, ScenarioLines, Unit};
pub use fan::{Draws, FanChart, FanObserved, FanPoint, IntervalChart, Quantiles};
pub use fit::{CalibrationFit, FitParameter, FitTarget};
pub use flows::{Band, Event, FlowsByRoute, HubSeries, Reexports, Role};
pub use heatmap::{ChangeHeatmap, Comparing, Measure};
pub use input::{Folder, FolderKind};
pub use observed::{observed_points, ObservedPoint, ObservedVsModelled};
pub use parts::{describe, parts_of, parts_with_charts, year_run_parts};
pub use sankey::{RouteDiagram, RouteFlow};
pub use tornado::{Tornado, TornadoBar};
pub use tuning::{calibration_charts, montecarlo_charts, sweep_charts, MonteCarloOptions};

/// Pixel size of the PNG and SVG charts.
pub const SIZE: (u32, u32) = (1600, 1000);

/// The folder, inside a results folder, that holds the charts.
pub const CHARTS_DIR: &str = "charts";

/// A problem reading a results folder or drawing a chart.
#[derive(Debug, Error)]
pub enum PlotError {
    #[error("{path}: no such results folder")]
    MissingFolder { path: PathBuf },
    #[error("{path}: not a results folder (expected run.json with flows.csv, routes.csv and reexports.csv from `tradeflow run`, compare.csv from `tradeflow compare`, montecarlo.csv from `tradeflow run --draws`, fit.csv from `tradeflow calibrate` or tornado.csv from `tradeflow sweep`)")]
    NotResults { path: PathBuf },
    #[error("{path}: missing ({why})")]
    MissingFile { path: PathBuf, why: String },
    #[error("{path}: cannot read: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: empty file (expected a header line and rows)")]
    Empty { path: PathBuf },
    #[error("{path}: no column `{column}` (the header is `{header}`)")]
    MissingColumn {
        path: PathBuf,
        column: String,
        header: String,
    },
    #[error("{path}, line {line}: {message}")]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Content { path: PathBuf, message: String },
    #[error("{0}")]
    Option(String),
    #[error("cannot draw: {0}")]
    Draw(String),
    #[error("cannot encode {what}: {message}")]
    Encode { what: String, message: String },
    #[error("bundled font {0} cannot be read")]
    Font(String),
    /// A results file could not be made (a number that is not finite, say).
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// One chart and the data it is drawn from.
#[derive(Debug, Clone)]
pub enum Chart {
    FlowsByRoute(FlowsByRoute),
    Reexports(Reexports),
    RouteDiagram(RouteDiagram),
    ObservedVsModelled(ObservedVsModelled),
    ScenarioLines(ScenarioLines),
    ScenarioBars(ScenarioBars),
    ChangeHeatmap(ChangeHeatmap),
    FanChart(FanChart),
    Intervals(IntervalChart),
    CalibrationFit(CalibrationFit),
    Tornado(Tornado),
}

impl Chart {
    /// File name without extension.
    pub fn stem(&self) -> String {
        match self {
            Chart::FlowsByRoute(c) => format!("flows_into_{}", slug(&c.target)),
            Chart::Reexports(c) => format!("reexports_to_{}", slug(&c.target)),
            Chart::RouteDiagram(c) => format!("routes_{}_{}", slug(&c.target), c.year),
            Chart::ObservedVsModelled(c) => format!("observed_vs_model_{}", slug(&c.target)),
            Chart::ScenarioLines(c) => format!("compare_{}", slug(&words(&c.series))),
            Chart::ScenarioBars(c) => format!("compare_bars_{}", c.year),
            Chart::ChangeHeatmap(c) => match &c.comparing {
                Comparing::Years { .. } => match c.measure {
                    Measure::FinalDestination => format!("flow_change_{}_{}", c.from, c.to),
                    Measure::RecordedByExporter => {
                        format!("recorded_change_{}_{}", c.from, c.to)
                    }
                },
                Comparing::Scenarios { year } => match c.measure {
                    Measure::FinalDestination => {
                        format!("change_{}_vs_{}_{year}", slug(&c.to), slug(&c.from))
                    }
                    Measure::RecordedByExporter => format!(
                        "recorded_change_{}_vs_{}_{year}",
                        slug(&c.to),
                        slug(&c.from)
                    ),
                },
            },
            Chart::FanChart(c) => format!("fan_{}", slug(&words(&c.series))),
            Chart::Intervals(c) => format!("intervals_{}", slug(&c.measure)),
            Chart::CalibrationFit(_) => "calibration_fit".to_owned(),
            Chart::Tornado(c) => match c.year {
                Some(y) => format!("tornado_{}_{y}", slug(&words(&c.output))),
                None => format!("tornado_{}", slug(&words(&c.output))),
            },
        }
    }

    /// The CSV the chart is drawn from.
    pub fn csv(&self) -> Result<Vec<u8>, PlotError> {
        match self {
            Chart::FlowsByRoute(c) => c.csv(),
            Chart::Reexports(c) => c.csv(),
            Chart::RouteDiagram(c) => c.csv(),
            Chart::ObservedVsModelled(c) => c.csv(),
            Chart::ScenarioLines(c) => c.csv(),
            Chart::ScenarioBars(c) => c.csv(),
            Chart::ChangeHeatmap(c) => c.csv(),
            Chart::FanChart(c) => c.csv(),
            Chart::Intervals(c) => c.csv(),
            Chart::CalibrationFit(c) => c.csv(),
            Chart::Tornado(c) => c.csv(),
        }
    }

    /// Draws the chart on `area`.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        match self {
            Chart::FlowsByRoute(c) => flows::draw_flows_by_route(area, c),
            Chart::Reexports(c) => flows::draw_reexports(area, c),
            Chart::RouteDiagram(c) => sankey::draw_route_diagram(area, c),
            Chart::ObservedVsModelled(c) => observed::draw_observed(area, c),
            Chart::ScenarioLines(c) => compare::draw_scenario_lines(area, c),
            Chart::ScenarioBars(c) => compare::draw_scenario_bars(area, c),
            Chart::ChangeHeatmap(c) => heatmap::draw_change_heatmap(area, c),
            Chart::FanChart(c) => fan::draw_fan_chart(area, c),
            Chart::Intervals(c) => fan::draw_intervals(area, c),
            Chart::CalibrationFit(c) => fit::draw_calibration_fit(area, c),
            Chart::Tornado(c) => tornado::draw_tornado(area, c),
        }
    }
}

/// The chart as an SVG document.
pub fn render_svg(chart: &Chart, size: (u32, u32)) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(style::draw_err)?;
        chart.draw(&root)?;
        root.present().map_err(style::draw_err)?;
    }
    Ok(svg)
}

/// The chart as raw RGB pixels, row by row (3 bytes a pixel).
pub fn render_rgb(chart: &Chart, size: (u32, u32)) -> Result<Vec<u8>, PlotError> {
    let mut buf = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(style::draw_err)?;
        chart.draw(&root)?;
        root.present().map_err(style::draw_err)?;
    }
    Ok(buf)
}

/// The chart as a PNG file's bytes.
pub fn render_png(chart: &Chart, size: (u32, u32)) -> Result<Vec<u8>, PlotError> {
    let rgb = render_rgb(chart, size)?;
    let err = |e: png::EncodingError| PlotError::Encode {
        what: format!("{}.png", chart.stem()),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size.0, size.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Charts are mostly flat colour: per-row filter choice and deflate keep the files
        // small enough to commit (see `style::PNG_COMPRESSION`).
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        enc.set_compression(style::PNG_COMPRESSION);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&rgb).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

/// A file name and its bytes.
pub type NamedBytes = (String, Vec<u8>);

/// Every chart as `<stem>.png`, `<stem>.svg` and `<stem>.csv`, rendered in parallel.
pub fn chart_files(charts: &[Chart]) -> Result<Vec<NamedBytes>, PlotError> {
    let rendered: Vec<Result<Vec<NamedBytes>, PlotError>> = std::thread::scope(|s| {
        let handles: Vec<_> = charts
            .iter()
            .map(|c| {
                s.spawn(move || -> Result<Vec<NamedBytes>, PlotError> {
                    let stem = c.stem();
                    Ok(vec![
                        (format!("{stem}.png"), render_png(c, SIZE)?),
                        (format!("{stem}.svg"), render_svg(c, SIZE)?.into_bytes()),
                        (format!("{stem}.csv"), c.csv()?),
                    ])
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(PlotError::Draw("a chart thread panicked".into())))
            })
            .collect()
    });
    let mut files = Vec::new();
    for r in rendered {
        files.extend(r?);
    }
    Ok(files)
}

/// A name safe in a file name: letters, digits, `-` and `_` kept; the rest runs of `_`.
// Chart files are named after the words of their series (`re-exports via KGZ to RUS`), so
// their names stay those of the phrases series had before the dotted names.
use crate::simulate::series::words;

pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').replace("-_", "_").replace("_-", "_");
    out.replace("re-exports", "reexports")
}

/// Rows as CSV bytes, by [`crate::output::csv_bytes`]: a number that is not finite is an
/// error naming the row and field, never `NaN` in a chart's CSV.
pub(crate) fn csv_of<T: serde::Serialize>(rows: &[T], what: &str) -> Result<Vec<u8>, PlotError> {
    crate::output::csv_bytes(rows, what).map_err(|e| PlotError::Encode {
        what: what.to_owned(),
        message: match e {
            crate::output::OutputError::Serialise { message, .. } => message,
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("re-exports via KGZ to RUS"),
            "reexports_via_KGZ_to_RUS"
        );
        assert_eq!(slug("CHN->KGZ recorded by CHN"), "CHN_KGZ_recorded_by_CHN");
        assert_eq!(
            slug("imports of RUS, final destination"),
            "imports_of_RUS_final_destination"
        );
    }
}
