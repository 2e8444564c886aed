//! Console text: pure functions from results to the tables the commands print, so that the
//! binary only prints and every table can be tested without running a command.
//!
//! Each function states what it shows; none prints, reads files or fails.

use crate::calibrate::Fit;
use crate::gravity::CountryResult;
use crate::simulate::SeriesPoint;

/// A table of series (rows) by year (columns), for the series `keep` accepts, in the order
/// they first appear. Values in USD bn with two decimals; a `direct share ...` series as a
/// percentage; an empty cell where a series has no value for a year.
pub fn series_table(series: &[SeriesPoint], years: &[i32], keep: impl Fn(&str) -> bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in series {
        if keep(&p.series) && !names.contains(&p.series.as_str()) {
            names.push(&p.series);
        }
    }
    let width = names.iter().map(|n| n.len()).max().unwrap_or(6).max(6);
    let mut s = format!("{:<width$}", "USD bn");
    for y in years {
        s.push_str(&format!(" {y:>7}"));
    }
    s.push('\n');
    for name in names {
        s.push_str(&format!("{name:<width$}"));
        for y in years {
            match series.iter().find(|p| p.series == name && p.year == *y) {
                Some(p) if name.starts_with("direct share") => {
                    s.push_str(&format!(" {:>6.1}%", 100.0 * p.value))
                }
                Some(p) => s.push_str(&format!(" {:>7.2}", p.value)),
                None => s.push_str(&format!(" {:>7}", "")),
            }
        }
        s.push('\n');
    }
    s
}

/// The headline series of a yearly run: everything but the recorded flows, except China's
/// recorded exports to Kyrgyzstan and the EU's to Russia (the article's figures).
pub fn is_headline_series(name: &str) -> bool {
    !name.contains("recorded by") || name.starts_with("CHN->KGZ") || name.starts_with("EU->RUS")
}

/// The series a comparison prints, one table each: imports of the target, re-exports via
/// each hub and the article's two recorded flows, in the order they first appear.
pub fn comparison_headlines(series: &[SeriesPoint]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in series {
        let n = &p.series;
        let wanted = n.starts_with("imports of")
            || n.starts_with("re-exports via")
            || n.starts_with("CHN->KGZ")
            || n.starts_with("EU->RUS");
        if wanted && !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// One table per headline series of a comparison: scenarios (rows) by year (columns).
pub fn comparison_tables(scenarios: &[(String, Vec<SeriesPoint>)], years: &[i32]) -> String {
    let first = scenarios
        .first()
        .map(|(_, s)| s.as_slice())
        .unwrap_or_default();
    let mut text = String::new();
    for name in comparison_headlines(first) {
        text.push_str(&format!("{name} (USD bn)\n"));
        let points: Vec<SeriesPoint> = scenarios
            .iter()
            .flat_map(|(scenario, series)| {
                series
                    .iter()
                    .filter(|p| p.series == name)
                    .map(move |p| SeriesPoint {
                        series: scenario.clone(),
                        year: p.year,
                        value: p.value,
                    })
            })
            .collect();
        text.push_str(&series_table(&points, years, |_| true));
        text.push('\n');
    }
    text
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
        "{} after {} steps ({} model runs); objective {:.4e} -> {:.4e}\n\n",
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
        "\n{:<45} {:>6} {:>10} {:>10} {:>10}\n",
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
                point("imports of RUS", 2021, 293.7151),
                point("direct share of imports of RUS", 2021, 0.998),
                point("imports of RUS", 2022, 288.76),
            ],
            &[2021, 2022],
            |_| true,
        );
        assert_eq!(
            s,
            "USD bn                            2021    2022\n\
             imports of RUS                  293.72  288.76\n\
             direct share of imports of RUS   99.8%        \n"
        );
    }

    #[test]
    fn headlines_keep_the_article_flows_only() {
        assert!(is_headline_series("re-exports via KGZ to RUS"));
        assert!(is_headline_series("CHN->KGZ recorded by CHN"));
        assert!(!is_headline_series("CHN->KAZ recorded by CHN"));
        let names = comparison_headlines(&[
            point("imports of RUS", 2021, 1.0),
            point("direct share of imports of RUS", 2021, 1.0),
            point("imports of RUS", 2022, 1.0),
            point("EU->RUS recorded by EU", 2021, 1.0),
        ]);
        assert_eq!(names, ["imports of RUS", "EU->RUS recorded by EU"]);
    }
}
