//! Console text: pure functions from results to the tables the commands print, so that the
//! binary only prints and every table can be tested without running a command.
//!
//! Each function states what it shows; none prints, reads files or fails.

use crate::calibrate::Fit;
use crate::gravity::CountryResult;
use crate::scenario::Scenario;
use crate::simulate::series::Series;
use crate::simulate::SeriesPoint;
use crate::solver::SolveReport;

/// A table of series (rows, by name) by year (columns), for the series `keep` accepts, in
/// the order they first appear, under a line saying what the values are. Values in the
/// data's unit with two decimals; a `direct_share` series (a fraction) as a percentage; an
/// empty cell where a series has no value for a year.
pub fn series_table(series: &[SeriesPoint], years: &[i32], keep: impl Fn(&str) -> bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in series {
        if keep(&p.series) && !names.contains(&p.series.as_str()) {
            names.push(&p.series);
        }
    }
    let width = names.iter().map(|n| n.len()).max().unwrap_or(6).max(6);
    let mut s = format!("{:<width$}", "series");
    for y in years {
        s.push_str(&format!(" {y:>7}"));
    }
    s.push('\n');
    for name in names {
        let share = matches!(Series::parse(name), Some(Series::DirectShare { .. }));
        s.push_str(&format!("{name:<width$}"));
        for y in years {
            match series.iter().find(|p| p.series == name && p.year == *y) {
                Some(p) if share => s.push_str(&format!(" {:>6.1}%", 100.0 * p.value)),
                Some(p) => s.push_str(&format!(" {:>7.2}", p.value)),
                None => s.push_str(&format!(" {:>7}", "")),
            }
        }
        s.push('\n');
    }
    s
}

/// The lines above a table of key series: what the rows and numbers are (`unit`: the
/// scenario's, [`Scenario::unit`]).
pub fn series_legend(unit: &str) -> String {
    format!(
        "Key series, all sectors, in {unit}; direct_share in percent.\n\
         Row names are what --series, --output and calibration targets take; `tradeflow series FILE` defines each.\n"
    )
}

/// The headline series of a yearly run: everything but the recorded flows, except China's
/// recorded exports to Kyrgyzstan and the EU's to Russia (the article's figures).
pub fn is_headline_series(name: &str) -> bool {
    match Series::parse(name) {
        Some(Series::Recorded {
            exporter, importer, ..
        }) => (exporter == "CHN" && importer == "KGZ") || (exporter == "EU" && importer == "RUS"),
        _ => true,
    }
}

/// The series a comparison prints, one table each: imports of the target, re-exports via
/// each hub and the article's two recorded flows, in the order they first appear.
pub fn comparison_headlines(series: &[SeriesPoint]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in series {
        let wanted = match Series::parse(&p.series) {
            Some(Series::ImportsFinal { .. } | Series::Reexports { .. }) => true,
            Some(Series::Recorded { .. }) => is_headline_series(&p.series),
            _ => false,
        };
        if wanted && !names.contains(&p.series) {
            names.push(p.series.clone());
        }
    }
    names
}

/// One table per headline series of a comparison: scenarios (rows) by year (columns), the
/// reference marked, and under each table the last year's difference of every other
/// scenario from the reference.
pub fn comparison_tables(
    scenarios: &[(String, Vec<SeriesPoint>)],
    years: &[i32],
    reference: &str,
    unit: &str,
) -> String {
    let first = scenarios
        .first()
        .map(|(_, s)| s.as_slice())
        .unwrap_or_default();
    let last = years.iter().max().copied();
    let mut text = String::new();
    for name in comparison_headlines(first) {
        let words = Series::parse(&name).map_or_else(|| name.clone(), |s| s.words());
        let unit = Series::parse(&name).map_or_else(|| unit.to_owned(), |s| s.unit(unit));
        text.push_str(&format!("{name}: {words}, {unit}\n"));
        let label = |scenario: &str| {
            if scenario == reference {
                format!("{scenario} (reference)")
            } else {
                scenario.to_owned()
            }
        };
        let value = |scenario: &str, year: i32| {
            scenarios
                .iter()
                .find(|(n, _)| n == scenario)
                .and_then(|(_, s)| s.iter().find(|p| p.series == name && p.year == year))
                .map(|p| p.value)
        };
        let points: Vec<SeriesPoint> = scenarios
            .iter()
            .flat_map(|(scenario, series)| {
                let label = label(scenario);
                series
                    .iter()
                    .filter(|p| p.series == name)
                    .map(move |p| SeriesPoint {
                        series: label.clone(),
                        year: p.year,
                        value: p.value,
                    })
            })
            .collect();
        let table = series_table(&points, years, |_| true);
        // The first line of the table heads the scenario column.
        text.push_str(&table.replacen("series", "scenario", 1));
        if let (Some(y), Some(r)) = (last, last.and_then(|y| value(reference, y))) {
            let others: Vec<String> = scenarios
                .iter()
                .filter(|(n, _)| n != reference)
                .filter_map(|(n, _)| {
                    let v = value(n, y)?;
                    Some(format!("{n} {:+.2}", v - r))
                })
                .collect();
            if !others.is_empty() {
                text.push_str(&format!(
                    "{y} against {reference}: {} (differences.csv has every year)\n",
                    others.join(", ")
                ));
            }
        }
        text.push('\n');
    }
    text
}

/// What `compare` says before its tables: the bases it skipped and which scenario is the
/// reference, and why.
pub fn compare_note(scenarios: &[Scenario], reference: &str, requested: bool) -> String {
    let mut s = String::new();
    for b in scenarios.iter().filter(|s| s.is_abstract()) {
        s.push_str(&format!(
            "skipped {}: scenario `{}` is a base (`abstract = true`), not a scenario of its own\n",
            b.source()
                .map_or_else(|| b.name().to_owned(), |p| p.display().to_string()),
            b.name()
        ));
    }
    s.push_str(&format!(
        "reference: {reference} ({})\n\n",
        if requested {
            "--reference"
        } else {
            "the scenario with the fewest instruments; choose another with --reference NAME"
        }
    ));
    s
}

/// What the solves of a yearly run were, in words: how many, of what, and how well they
/// converged. `sectors` and `later_years` (the years after the base) say where the count
/// comes from: one baseline per sector, and each later year's counterfactual per sector
/// (the conditional, then the full GE). `tolerance` is the solver's.
pub fn solve_summary(
    reports: &[SolveReport],
    sectors: usize,
    later_years: usize,
    tolerance: f64,
) -> String {
    let solves = reports.len();
    let newton = reports.iter().filter(|r| r.newton_steps > 0).count();
    let worst = reports.iter().map(|r| r.residual).fold(0.0, f64::max);
    let counterfactual = solves.saturating_sub(sectors);
    let per = counterfactual
        .checked_div(sectors * later_years)
        .unwrap_or(0);
    let breakdown = if per * sectors * later_years == counterfactual && per > 0 {
        format!(
            "{sectors} baseline{} (one per sector) and {counterfactual} for the {later_years} years after the base ({sectors} sector{} x {later_years} years x {per}{})",
            if sectors == 1 { "" } else { "s" },
            if sectors == 1 { "" } else { "s" },
            if per == 2 { ": the conditional, then the full GE" } else { " solves" }
        )
    } else {
        format!("{sectors} baselines and {counterfactual} counterfactual solves")
    };
    format!(
        "Solver: {solves} gravity solves converged: {breakdown}.\n\
         Largest residual {worst:.1e} (tolerance {tolerance:.0e}); {newton} needed Newton steps (the fallback when the fixed point stalls). Each solve's report is in run.json.\n\n"
    )
}

/// The list `tradeflow series FILE` prints: one block per series (name, unit, years, what
/// it measures), under a line on where the names are used.
pub fn series_list(catalog: &[crate::simulate::series::SeriesInfo], file: &str) -> String {
    let mut s = format!(
        "{} output series of {file} (names as --series, --output NAME[@YEAR] and calibration targets take them):\n\n",
        catalog.len()
    );
    let width = catalog
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for c in catalog {
        let years = c
            .years
            .map_or_else(|| "one value".to_owned(), |(a, b)| format!("{a}-{b}"));
        s.push_str(&format!(
            "{:<width$}  {}; {years}\n{:<width$}  {}\n",
            c.name, c.unit, "", c.definition
        ));
    }
    s
}

/// The economies whose welfare moves most, largest change first: at most `shown` rows, and a
/// line saying how many more are in `countries.csv`.
pub fn country_summary(countries: &[CountryResult], shown: usize) -> String {
    let mut rows: Vec<_> = countries.iter().collect();
    rows.sort_by(|a, b| {
        b.welfare_change_pct
            .abs()
            .total_cmp(&a.welfare_change_pct.abs())
    });
    let mut s = format!(
        "{:<8} {:>12} {:>14} {:>16}\n",
        "country", "welfare %", "real GDP %", "factory price %"
    );
    for r in rows.iter().take(shown) {
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.4} {:>16.4}\n",
            r.country, r.welfare_change_pct, r.real_gdp_change_pct, r.factory_gate_price_change_pct
        ));
    }
    if rows.len() > shown {
        s.push_str(&format!(
            "... {} more in countries.csv\n",
            rows.len() - shown
        ));
    }
    s
}

/// The fit of a calibration: how it stopped, each parameter (initial, fitted, standard error
/// or `n/a`, at a bound, poorly identified), each target (observed, initial, fitted) and the
/// Jacobian's singular values with its condition number.
pub fn fit_table(fit: &Fit) -> String {
    let mut s = format!(
        "{} after {} Levenberg-Marquardt steps ({} model runs); objective (weighted sum of squared log deviations from the targets) {:.4e} at the start -> {:.4e} fitted\n\n",
        fit.stop, fit.steps, fit.evaluations, fit.objective_initial, fit.objective
    );
    s.push_str(&format!(
        "{:<45} {:>10} {:>10} {:>10}  {}\n",
        "parameter", "initial", "fitted", "std.err", "note"
    ));
    for p in &fit.parameters {
        let mut note = Vec::new();
        if p.at_bound {
            note.push("at a bound");
        }
        if p.poorly_identified {
            note.push("poorly identified");
        }
        s.push_str(&format!(
            "{:<45} {:>10.4} {:>10.4} {:>10}  {}\n",
            p.path,
            p.initial,
            p.fitted,
            p.stderr
                .map_or_else(|| "n/a".into(), |se| format!("{se:.4}")),
            note.join(", ")
        ));
    }
    s.push_str(&format!(
        "\n{:<45} {:>6} {:>10} {:>10} {:>10}  (in each series' unit)\n",
        "target", "year", "observed", "initial", "fitted"
    ));
    for t in &fit.targets {
        s.push_str(&format!(
            "{:<45} {:>6} {:>10.4} {:>10.4} {:>10.4}\n",
            t.series,
            t.year.map_or(String::new(), |y| y.to_string()),
            t.observed,
            t.initial,
            t.fitted
        ));
    }
    s.push_str(&format!(
        "\nJacobian singular values {:?}, condition number {:.3e}{}\n",
        fit.singular_values
            .iter()
            .map(|v| format!("{v:.3e}"))
            .collect::<Vec<_>>(),
        fit.condition_number,
        if fit.condition_number > 1e6 {
            " (near-singular)"
        } else {
            ""
        }
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(series: &str, year: i32, value: f64) -> SeriesPoint {
        SeriesPoint {
            series: series.into(),
            year,
            value,
        }
    }

    #[test]
    fn series_table_has_a_row_per_series_and_a_cell_per_year() {
        let s = series_table(
            &[
                point("RUS.imports.final", 2021, 293.7151),
                point("RUS.imports.direct_share", 2021, 0.998),
                point("RUS.imports.final", 2022, 288.76),
            ],
            &[2021, 2022],
            |_| true,
        );
        assert_eq!(
            s,
            "series                      2021    2022\n\
             RUS.imports.final         293.72  288.76\n\
             RUS.imports.direct_share   99.8%        \n"
        );
    }

    #[test]
    fn headlines_keep_the_article_flows_only() {
        assert!(is_headline_series("KGZ.reexports.RUS"));
        assert!(is_headline_series("CHN-KGZ.recorded.CHN"));
        assert!(!is_headline_series("CHN-KAZ.recorded.CHN"));
        let names = comparison_headlines(&[
            point("RUS.imports.final", 2021, 1.0),
            point("RUS.imports.direct_share", 2021, 1.0),
            point("RUS.imports.final", 2022, 1.0),
            point("EU-RUS.recorded.EU", 2021, 1.0),
        ]);
        assert_eq!(names, ["RUS.imports.final", "EU-RUS.recorded.EU"]);
    }

    #[test]
    fn the_solve_count_is_explained() {
        let r = SolveReport::new("s", 10, 1e-13, crate::solver::StopReason::Converged);
        let text = solve_summary(&vec![r; 38], 2, 9, 1e-12);
        assert!(
            text.starts_with("Solver: 38 gravity solves converged: 2 baselines (one per sector) and 36 for the 9 years after the base (2 sectors x 9 years x 2: the conditional, then the full GE)."),
            "{text}"
        );
        assert!(text.contains("tolerance 1e-12"), "{text}");
    }
}
