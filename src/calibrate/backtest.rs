//! Backtests: a fit on the targets up to a year, every later target set against it as a
//! prediction. [`rows`] are `backtest.csv` (every target, fitted or predicted); [`summary`]
//! the out-of-sample accuracy `calibration.json` and the console report: the share of
//! predictions within a factor 1.25 and 1.5 of the observed figure, and the worst five.

use serde::{Deserialize, Serialize};

use super::TargetFit;
use crate::simulate::series::Series;

/// A row of `backtest.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRow {
    pub series: String,
    /// Whose record the figure is (empty for a series that is no recorded flow).
    pub reporter: String,
    pub year: Option<i32>,
    pub observed: f64,
    /// The model at the fit.
    pub fitted: f64,
    /// Fitted (`true`) or predicted (`false`).
    pub in_sample: bool,
    /// The link of a recorded flow (empty otherwise).
    pub exporter: String,
    pub importer: String,
    /// `ln fitted - ln observed`.
    pub log_deviation: f64,
    pub source: String,
}

/// One prediction far from its figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub series: String,
    pub year: Option<i32>,
    pub observed: f64,
    pub fitted: f64,
    /// `fitted / observed`.
    pub ratio: f64,
}

/// Out-of-sample accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestSummary {
    pub until: i32,
    pub in_sample: usize,
    pub out_of_sample: usize,
    /// Shares (0 to 1) of the predictions within a factor 1.25, 1.5 and 2 of the figure.
    pub within_1_25: f64,
    pub within_1_5: f64,
    pub within_2: f64,
    /// The five predictions farthest from their figures (in log distance).
    pub worst: Vec<Miss>,
    /// Predictions of a series that also has a fitted figure in an earlier year: how many,
    /// and how many change from the latest such figure in the observed direction (the
    /// model's change from its own value there against the observed change).
    pub signs_compared: usize,
    pub signs_right: usize,
}

/// Every target as a row of `backtest.csv`.
pub fn rows(targets: &[TargetFit]) -> Vec<BacktestRow> {
    targets
        .iter()
        .map(|t| {
            let (exporter, importer) = match Series::parse(&t.series) {
                Some(Series::Recorded {
                    exporter, importer, ..
                }) => (exporter, importer),
                _ => (String::new(), String::new()),
            };
            BacktestRow {
                series: t.series.clone(),
                reporter: t.reporter.clone(),
                year: t.year,
                observed: t.observed,
                fitted: t.fitted,
                in_sample: t.in_sample,
                exporter,
                importer,
                log_deviation: t.log_deviation,
                source: t.source.clone(),
            }
        })
        .collect()
}

/// The share of `devs` (log deviations) within a factor `f` either way.
fn within(devs: &[f64], f: f64) -> f64 {
    if devs.is_empty() {
        return 0.0;
    }
    // A hair of slack so that a prediction exactly a factor `f` off counts as within.
    let lim = f.ln() + 1e-12;
    devs.iter().filter(|d| d.abs() <= lim).count() as f64 / devs.len() as f64
}

/// The accuracy of the predictions among `targets` of a fit through `until`.
pub fn summary(until: i32, targets: &[TargetFit]) -> BacktestSummary {
    let out: Vec<&TargetFit> = targets.iter().filter(|t| !t.in_sample).collect();
    let devs: Vec<f64> = out.iter().map(|t| t.log_deviation).collect();
    let mut worst: Vec<&TargetFit> = out.clone();
    worst.sort_by(|a, b| b.log_deviation.abs().total_cmp(&a.log_deviation.abs()));
    worst.truncate(5);
    let (mut compared, mut right) = (0, 0);
    for t in &out {
        let Some(y) = t.year else { continue };
        let before = targets
            .iter()
            .filter(|b| b.in_sample && b.series == t.series && b.year.is_some_and(|by| by < y))
            .max_by_key(|b| b.year);
        if let Some(b) = before {
            let observed = (t.observed / b.observed).ln();
            let predicted = (t.fitted / b.fitted).ln();
            compared += 1;
            // `f64::signum` calls 0 positive: no change is a sign of its own here.
            let sign = |v: f64| {
                if v.abs() < 1e-12 {
                    0
                } else if v > 0.0 {
                    1
                } else {
                    -1
                }
            };
            if sign(observed) == sign(predicted) {
                right += 1;
            }
        }
    }
    BacktestSummary {
        signs_compared: compared,
        signs_right: right,
        until,
        in_sample: targets.len() - out.len(),
        out_of_sample: out.len(),
        within_1_25: within(&devs, 1.25),
        within_1_5: within(&devs, 1.5),
        within_2: within(&devs, 2.0),
        worst: worst
            .into_iter()
            .map(|t| Miss {
                series: t.series.clone(),
                year: t.year,
                observed: t.observed,
                fitted: t.fitted,
                ratio: t.fitted / t.observed,
            })
            .collect(),
    }
}

/// The summary in words, for the console and the fitted file's header.
pub fn summary_text(s: &BacktestSummary) -> String {
    let mut out = format!(
        "backtest: fitted {} targets of {} or before, predicted {} later ones: {:.0}% within a factor 1.25, {:.0}% within 1.5, {:.0}% within 2\n",
        s.in_sample,
        s.until,
        s.out_of_sample,
        100.0 * s.within_1_25,
        100.0 * s.within_1_5,
        100.0 * s.within_2
    );
    if s.signs_compared > 0 {
        out.push_str(&format!(
            "direction of change from the last fitted year right for {} of {}\n",
            s.signs_right, s.signs_compared
        ));
    }
    out.push_str("worst predictions:\n");
    for m in &s.worst {
        out.push_str(&format!(
            "  {:<40} {:>5} observed {:>10.4} predicted {:>10.4} (x{:.2})\n",
            m.series,
            m.year.map_or(String::new(), |y| y.to_string()),
            m.observed,
            m.fitted,
            m.ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(series: &str, year: i32, observed: f64, fitted: f64, in_sample: bool) -> TargetFit {
        TargetFit {
            series: series.into(),
            year: Some(year),
            observed,
            initial: observed,
            fitted,
            log_deviation: (fitted / observed).ln(),
            weight: 1.0,
            source: "s".into(),
            reporter: "A".into(),
            sd: Some(0.1),
            in_sample,
        }
    }

    #[test]
    fn shares_within_factors_and_the_worst() {
        let ts = [
            t("A-B.recorded.A", 2022, 10.0, 11.0, true),
            t("A-B.recorded.A", 2023, 10.0, 12.5, false),
            t("A-C.recorded.A", 2023, 10.0, 14.0, false),
            t("A-D.recorded.A", 2023, 10.0, 3.0, false),
            t("A-E.recorded.A", 2023, 10.0, 10.0, false),
        ];
        let s = summary(2022, &ts);
        assert_eq!((s.in_sample, s.out_of_sample), (1, 4));
        assert_eq!(s.within_1_25, 0.5);
        assert_eq!(s.within_1_5, 0.75);
        assert_eq!(s.worst[0].series, "A-D.recorded.A");
        assert_eq!(s.worst.len(), 4);
        // A-B: fitted 11 in 2022 against 10, predicted up to 12.5 where 10 stayed 10.
        assert_eq!((s.signs_compared, s.signs_right), (1, 0));
        let r = rows(&ts);
        assert_eq!((r[1].exporter.as_str(), r[1].importer.as_str()), ("A", "B"));
        assert!(!r[1].in_sample && r[0].in_sample);
    }
}
