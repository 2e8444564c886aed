//! From the folders the tuning commands write to their charts: a Monte Carlo folder
//! (`montecarlo.csv`, `montecarlo.json`) to fan charts or, for a single counterfactual,
//! interval charts; a calibration folder (`fit.csv`, `parameters.csv`, `calibration.json`)
//! to the fit chart; a sweep folder (`tornado.csv`, `sweep.json`) to the tornado.

use std::collections::BTreeMap;

use super::compare::Unit;
use super::fan::{Draws, FanChart, IntervalChart, Quantiles};
use super::fit::{CalibrationFit, FitParameter, FitTarget};
use super::input::{CalibrationJson, Folder, MonteCarloJson, SweepJson, TornadoRowBefore};
use super::tornado::{Tornado, TornadoBar};
use super::{Chart, PlotError};
use crate::montecarlo::Band;
use crate::sweep::TornadoRow;

/// Choices for the charts of a Monte Carlo folder.
#[derive(Debug, Clone, Default)]
pub struct MonteCarloOptions {
    /// Yearly scenarios: series of `montecarlo.csv` to draw a fan chart of [default: the
    /// re-exports via each intermediary, the largest recorded flow into the largest one,
    /// the target's imports]. Single counterfactuals: measures to draw per country
    /// [default: `welfare_change_pct`].
    pub series: Vec<String>,
}

/// The counterfactual measure drawn by default.
const DEFAULT_MEASURE: &str = "welfare_change_pct";

/// The charts of a Monte Carlo folder: a fan chart per key series of a yearly scenario, or
/// an interval chart per measure of a single counterfactual.
pub fn montecarlo_charts(
    folder: &Folder,
    opts: &MonteCarloOptions,
) -> Result<Vec<Chart>, PlotError> {
    let record: MonteCarloJson = folder.json(
        "montecarlo.json",
        "a Monte Carlo folder holds montecarlo.json (scenario, seed and draws)",
    )?;
    if let Some(s) = &record.shard {
        return Err(PlotError::Content {
            path: folder.path("montecarlo.json"),
            message: format!(
                "shard {} of {} (draws {} to {} of {}): join the shards with `tradeflow merge` and draw the merged folder",
                s.k,
                s.n,
                record.first_draw,
                record.last_draw.saturating_sub(1),
                record.draws
            ),
        });
    }
    let q = ["q05", "q25", "q50", "q75", "q95"];
    let mut numbers = vec!["draws", "failed"];
    numbers.extend(q);
    let mut columns = vec!["series", "year"];
    columns.extend(&numbers);
    let rows: Vec<Band> = folder.csv(
        "montecarlo.csv",
        "a Monte Carlo folder holds montecarlo.csv",
        &columns,
        &numbers,
        &["draws", "failed"],
    )?;
    if rows.is_empty() {
        return Err(PlotError::Content {
            path: folder.path("montecarlo.csv"),
            message: "no rows".into(),
        });
    }
    let draws = Draws {
        ran: rows.iter().map(|r| r.draws).max().unwrap_or(0),
        failed: rows.iter().map(|r| r.failed).max().unwrap_or(record.failed),
        seed: record.seed,
        scenario: record.scenario.clone(),
    };
    // A series no draw gave a value for has empty quantiles: it has no band to draw.
    let quantiles = |r: &Band| -> Option<Quantiles> {
        Some(Quantiles {
            q05: r.q05?,
            q25: r.q25?,
            q50: r.q50?,
            q75: r.q75?,
            q95: r.q95?,
        })
    };
    let mut names: Vec<&str> = Vec::new();
    for r in &rows {
        if !names.contains(&r.series.as_str()) {
            names.push(&r.series);
        }
    }
    if rows.iter().any(|r| r.year.is_some()) {
        // A yearly scenario: one fan chart per chosen series.
        let mut by_series: BTreeMap<&str, Vec<(i32, Quantiles)>> = BTreeMap::new();
        for r in &rows {
            if let (Some(y), Some(q)) = (r.year, quantiles(r)) {
                by_series.entry(&r.series).or_default().push((y, q));
            }
        }
        let last_median = |name: &str| -> f64 {
            by_series
                .get(name)
                .and_then(|v| v.iter().max_by_key(|(y, _)| *y))
                .map_or(f64::NEG_INFINITY, |(_, q)| q.q50)
        };
        let chosen = if opts.series.is_empty() {
            default_fans(&names, &last_median)
        } else {
            for s in &opts.series {
                if !by_series.contains_key(s.as_str()) {
                    return Err(PlotError::Option(format!(
                        "--series: {} ({})",
                        crate::simulate::series::unknown_series(s, &names),
                        folder.path("montecarlo.csv").display(),
                    )));
                }
            }
            opts.series.clone()
        };
        let observed = super::fan::observed_of(folder)?;
        return Ok(chosen
            .into_iter()
            .map(|name| {
                let mut points = by_series.get(name.as_str()).cloned().unwrap_or_default();
                points.sort_by_key(|(y, _)| *y);
                Chart::FanChart(FanChart {
                    observed: observed.as_ref().map(|o| o(&name)),
                    unit: Unit::of_series(&name),
                    series: name,
                    years: points.iter().map(|(y, _)| *y).collect(),
                    bands: points.iter().map(|(_, q)| *q).collect(),
                    draws: draws.clone(),
                })
            })
            .collect());
    }
    // A single counterfactual: series are `<country> <measure>`.
    let mut measures: Vec<String> = Vec::new();
    let mut by_measure: BTreeMap<String, Vec<(String, Quantiles)>> = BTreeMap::new();
    for r in &rows {
        let (country, measure) = match crate::simulate::series::Series::parse(&r.series) {
            Some(crate::simulate::series::Series::Country { country, measure }) => {
                (country, measure)
            }
            _ => (String::new(), r.series.clone()),
        };
        if !measures.contains(&measure) {
            measures.push(measure.clone());
        }
        if let Some(q) = quantiles(r) {
            by_measure.entry(measure).or_default().push((country, q));
        }
    }
    let chosen: Vec<String> = if opts.series.is_empty() {
        if measures.iter().any(|m| m == DEFAULT_MEASURE) {
            vec![DEFAULT_MEASURE.to_owned()]
        } else {
            measures.iter().take(1).cloned().collect()
        }
    } else {
        for s in &opts.series {
            if !measures.contains(s) {
                let valid: Vec<&str> = measures.iter().map(String::as_str).collect();
                let near = crate::simulate::series::nearest(s, &valid, 3);
                return Err(PlotError::Option(format!(
                    "--series `{s}`: {} is a single counterfactual's, drawn per country by measure; the measures are: {} (nearest: `{}`)",
                    folder.path("montecarlo.csv").display(),
                    measures.join(", "),
                    near.join("`, `")
                )));
            }
        }
        opts.series.clone()
    };
    Ok(chosen
        .into_iter()
        .map(|measure| {
            Chart::Intervals(IntervalChart {
                unit: Unit::of_series(&measure),
                rows: by_measure.get(&measure).cloned().unwrap_or_default(),
                measure,
                draws: draws.clone(),
            })
        })
        .collect())
}

/// The series charts show by default, from a yearly scenario's series names and a value of
/// each (its last year's): re-exports via each intermediary (largest first), the largest
/// recorded flow into the largest intermediary from another origin than the target, and the
/// target's imports.
pub(super) struct KeySeries<'a> {
    pub(super) vias: Vec<&'a str>,
    pub(super) into_hub: Option<&'a str>,
    pub(super) imports: Option<&'a str>,
}

pub(super) fn key_series<'a>(names: &[&'a str], value: &dyn Fn(&str) -> f64) -> KeySeries<'a> {
    use crate::simulate::series::Series;
    let parsed: Vec<(&str, Option<Series>)> =
        names.iter().map(|n| (*n, Series::parse(n))).collect();
    let target = parsed.iter().find_map(|(_, s)| match s {
        Some(Series::ImportsFinal { target }) => Some(target.clone()),
        _ => None,
    });
    let mut vias: Vec<(&str, String)> = parsed
        .iter()
        .filter_map(|(n, s)| match s {
            Some(Series::Reexports { hub, .. }) => Some((*n, hub.clone())),
            _ => None,
        })
        .collect();
    vias.sort_by(|a, b| value(b.0).total_cmp(&value(a.0)));
    let hub = vias.first().map(|(_, h)| h.clone());
    let vias: Vec<&str> = vias.into_iter().map(|(n, _)| n).collect();
    let into_hub = hub.and_then(|h| {
        parsed
            .iter()
            .filter(|(_, s)| {
                matches!(s, Some(Series::Recorded { exporter, importer, reporter })
                    if *importer == h && reporter == exporter && Some(exporter) != target.as_ref())
            })
            .map(|(n, _)| *n)
            .max_by(|a, b| value(a).total_cmp(&value(b)))
    });
    let imports = parsed.iter().find_map(|(n, s)| match s {
        Some(Series::ImportsFinal { .. }) => Some(*n),
        _ => None,
    });
    KeySeries {
        vias,
        into_hub,
        imports,
    }
}

/// Default fan charts of a yearly scenario: every key series ([`key_series`]); else the
/// first series.
fn default_fans(names: &[&str], value: &dyn Fn(&str) -> f64) -> Vec<String> {
    let key = key_series(names, value);
    let mut out: Vec<String> = key.vias.iter().map(|s| (*s).to_owned()).collect();
    out.extend(
        key.into_hub
            .into_iter()
            .chain(key.imports)
            .map(str::to_owned),
    );
    if out.is_empty() {
        out.extend(names.first().map(|s| (*s).to_owned()));
    }
    out
}

/// The chart of a calibration folder: targets against the model before and after the fit.
pub fn calibration_charts(folder: &Folder) -> Result<Vec<Chart>, PlotError> {
    let report: CalibrationJson = folder.json(
        "calibration.json",
        "a calibration folder holds calibration.json (the fit report)",
    )?;
    let targets: Vec<FitTarget> = folder.csv(
        "fit.csv",
        "a calibration folder holds fit.csv (targets against the fit)",
        &[
            "series", "year", "observed", "initial", "fitted", "weight", "source",
        ],
        &["observed", "initial", "fitted", "weight"],
        &["weight"],
    )?;
    if targets.is_empty() {
        return Err(PlotError::Content {
            path: folder.path("fit.csv"),
            message: "no targets".into(),
        });
    }
    let mut parameters: Vec<FitParameter> = folder.csv(
        "parameters.csv",
        "a calibration folder holds parameters.csv (the fitted parameters)",
        &[
            "path",
            "initial",
            "fitted",
            "stderr",
            "at_bound",
            "poorly_identified",
        ],
        &["initial", "fitted"],
        &[],
    )?;
    // Reports written before the scenario's name was recorded: the folder's parent is
    // named after the scenario (`plots/<name>/calibration`).
    for p in &mut parameters {
        p.stderr = p.stderr.filter(|v| v.is_finite());
    }
    let scenario = report.scenario.clone().unwrap_or_else(|| {
        folder
            .dir()
            .parent()
            .and_then(|p| p.file_name())
            .map_or_else(
                || "the scenario".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            )
    });
    Ok(vec![Chart::CalibrationFit(CalibrationFit {
        scenario,
        targets,
        parameters,
        converged: report.converged,
        stop: report.stop,
        steps: report.steps,
        evaluations: report.evaluations,
        objective_initial: report.objective_initial,
        objective: report.objective,
    })])
}

/// The chart of a sweep folder: the tornado of its first output.
pub fn sweep_charts(folder: &Folder) -> Result<Vec<Chart>, PlotError> {
    let record: SweepJson = folder.json(
        "sweep.json",
        "a sweep's folder holds sweep.json (scenario and parameters)",
    )?;
    if let Some(s) = &record.shard {
        return Err(PlotError::Content {
            path: folder.path("sweep.json"),
            message: format!(
                "shard {} of {} of a sweep over {} points: join the shards with `tradeflow merge` and draw the merged folder (shards have no tornado.csv)",
                s.k, s.n, record.points
            ),
        });
    }
    let columns = [
        "parameter",
        "low",
        "high",
        "output",
        "year",
        "output_at_base",
        "output_at_low",
        "output_at_high",
        "failed",
    ];
    let numbers = [
        "low",
        "high",
        "base_value",
        "output_at_base",
        "output_at_low",
        "output_at_high",
        "swing",
    ];
    // The sweep's own row type; a sweep written before `base_value` was recorded is read
    // through the row type of then, its scenario values unknown.
    let (rows, known_base): (Vec<TornadoRow>, bool) =
        if folder.header_has("tornado.csv", "base_value") {
            let rows = folder.csv::<TornadoRow>(
                "tornado.csv",
                "a sweep's folder holds tornado.csv",
                &columns,
                &numbers,
                &[],
            )?;
            (rows, true)
        } else {
            let rows = folder.csv::<TornadoRowBefore>(
                "tornado.csv",
                "a sweep's folder holds tornado.csv",
                &columns,
                &numbers,
                &[],
            )?;
            (
                rows.into_iter().map(TornadoRowBefore::into_row).collect(),
                false,
            )
        };
    let Some(first) = rows.first() else {
        return Err(PlotError::Content {
            path: folder.path("tornado.csv"),
            message: "no rows".into(),
        });
    };
    if let Some(other) = rows
        .iter()
        .find(|r| r.output != first.output || r.year != first.year)
    {
        return Err(PlotError::Content {
            path: folder.path("tornado.csv"),
            message: format!(
                "rows for two outputs (`{}` and `{}`): a tornado shows one",
                first.output, other.output
            ),
        });
    }
    Ok(vec![Chart::Tornado(Tornado {
        output: first.output.clone(),
        year: first.year,
        unit: Unit::of_series(&first.output),
        at_base: rows.iter().find_map(|r| r.output_at_base),
        scenario: record.scenario.clone(),
        bars: rows
            .iter()
            .map(|r| TornadoBar {
                parameter: r.parameter.clone(),
                low: r.low,
                high: r.high,
                base_value: known_base.then_some(r.base_value),
                at_low: r.output_at_low,
                at_high: r.output_at_high,
                failed: r.failed.clone(),
            })
            .collect(),
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fans_are_the_hubs_the_inflow_and_the_imports() {
        let names = [
            "RUS.imports.final",
            "KAZ.reexports.RUS",
            "KGZ.reexports.RUS",
            "CHN-KGZ.recorded.CHN",
            "RUS-KGZ.recorded.RUS",
            "EU-KGZ.recorded.EU",
        ];
        let value = |n: &str| match n {
            "KGZ.reexports.RUS" => 25.0,
            "KAZ.reexports.RUS" => 19.0,
            "CHN-KGZ.recorded.CHN" => 28.0,
            "RUS-KGZ.recorded.RUS" => 40.0,
            _ => 1.0,
        };
        assert_eq!(
            default_fans(&names, &value),
            [
                "KGZ.reexports.RUS",
                "KAZ.reexports.RUS",
                "CHN-KGZ.recorded.CHN",
                "RUS.imports.final"
            ]
        );
        assert_eq!(default_fans(&["x", "y"], &value), ["x"]);
    }
}
