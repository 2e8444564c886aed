//! Charts of the tuning commands: the Monte Carlo fan chart and interval chart, the
//! calibration fit and the sensitivity tornado draw small and degenerate data without
//! panicking, carry their titles, series names and axis labels, are written with the data
//! by `run --draws`, `calibrate`, `sweep` and `merge`, and are re-drawn by `tradeflow plot`
//! from their folders, with located errors for bad files.

use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;
use predicates::str::contains;
use tradeflow::plot::{
    calibration_charts, chart_files, montecarlo_charts, render_png, render_rgb, render_svg,
    sweep_charts, CalibrationFit, Chart, Draws, FanChart, FitParameter, FitTarget, Folder,
    IntervalChart, MonteCarloOptions, PlotError, Quantiles, Tornado, TornadoBar, Unit, SIZE,
};

const SMALL: (u32, u32) = (800, 500);

fn draws(ran: usize, failed: usize) -> Draws {
    Draws {
        ran,
        failed,
        seed: 7,
        scenario: "scenarios/roundabout/as_happened.toml".into(),
    }
}

/// Quantiles around `m`, `w` apart.
fn q(m: f64, w: f64) -> Quantiles {
    Quantiles {
        q05: m - 2.0 * w,
        q25: m - w,
        q50: m,
        q75: m + w,
        q95: m + 2.0 * w,
    }
}

fn fan(series: &str, years: Vec<i32>, bands: Vec<Quantiles>, d: Draws) -> Chart {
    Chart::FanChart(FanChart {
        series: series.into(),
        unit: Unit::of_series(series),
        years,
        bands,
        draws: d,
        observed: None,
    })
}

fn intervals(rows: &[(&str, Quantiles)], d: Draws) -> Chart {
    Chart::Intervals(IntervalChart {
        measure: "welfare_change_pct".into(),
        unit: Unit::Percent,
        rows: rows.iter().map(|(c, q)| ((*c).to_owned(), *q)).collect(),
        draws: d,
    })
}

fn target(series: &str, year: Option<i32>, observed: f64, initial: f64, fitted: f64) -> FitTarget {
    FitTarget {
        series: series.into(),
        year,
        observed,
        initial,
        fitted,
        weight: 1.0,
        source: "seed article: nearly 20 USD bn [art_chn_kgz_2023]".into(),
    }
}

fn parameter(path: &str, stderr: Option<f64>, poorly: bool) -> FitParameter {
    FitParameter {
        path: path.into(),
        initial: 1.62,
        fitted: 1.57,
        stderr,
        at_bound: false,
        poorly_identified: poorly,
    }
}

fn fit(targets: Vec<FitTarget>, parameters: Vec<FitParameter>, converged: bool) -> Chart {
    Chart::CalibrationFit(CalibrationFit {
        scenario: "as_happened".into(),
        targets,
        parameters,
        converged,
        stop: "converged: the objective stopped falling".into(),
        steps: 7,
        evaluations: 39,
        objective_initial: Some(0.071),
        objective: Some(0.0501),
    })
}

fn bar(parameter: &str, (low, high): (f64, f64), at: (Option<f64>, Option<f64>)) -> TornadoBar {
    TornadoBar {
        parameter: parameter.into(),
        low,
        high,
        base_value: Some((low + high) / 2.0),
        at_low: at.0,
        at_high: at.1,
        failed: if at.0.is_none() || at.1.is_none() {
            "the solver did not converge".into()
        } else {
            String::new()
        },
    }
}

fn tornado(output: &str, year: Option<i32>, base: Option<f64>, bars: Vec<TornadoBar>) -> Chart {
    Chart::Tornado(Tornado {
        output: output.into(),
        year,
        unit: Unit::of_series(output),
        at_base: base,
        bars,
        scenario: "scenarios/roundabout/as_happened.toml".into(),
    })
}

/// One chart of each kind on small, ordinary data, with what its SVG must say.
fn small_charts() -> Vec<(Chart, Vec<&'static str>)> {
    vec![
        (
            fan(
                "KGZ.reexports.RUS",
                vec![2021, 2022, 2023],
                vec![q(0.1, 0.02), q(1.5, 0.5), q(15.0, 3.0)],
                draws(197, 3),
            ),
            vec![
                "Re-exports via Kyrgyzstan to Russia: Monte Carlo range, 2021–2023",
                "USD bn",
                "year",
                "median",
                "middle 50% (25th to 75th percentile)",
                "middle 90% (5th to 95th percentile)",
                "In 2023",
                "200 draws with seed 7, 3 failed",
                "seed 7",
                "scenarios/roundabout/as_happened.toml",
            ],
        ),
        (
            intervals(
                &[
                    ("JPN", q(0.038, 0.01)),
                    ("CAN", q(0.30, 0.07)),
                    ("USA", q(-0.005, 0.001)),
                ],
                draws(200, 0),
            ),
            vec![
                "Welfare change by country: Monte Carlo median and ranges",
                "Canada",
                "Japan",
                "US",
                "welfare change, %",
                "median (90% range)",
                "+0.30 (+0.16 to +0.44)",
                "200 draws with seed 7, none failed",
            ],
        ),
        (
            fit(
                vec![
                    target("CHN-KGZ.recorded.CHN", Some(2023), 20.0, 20.1, 19.9),
                    target("CHN-RUS.recorded.CHN", Some(2022), 75.5, 98.5, 91.8),
                ],
                vec![
                    parameter("instruments.evasion_china_kgz.premium", Some(0.17), false),
                    parameter("instruments.turn_to_china.percent", Some(62.0), true),
                ],
                true,
            ),
            vec![
                "Calibration of as_happened: observed figures against the model",
                "China→Kyrgyzstan recorded by China, 2023",
                "USD bn",
                "observed figure (the target)",
                "model at the starting values",
                "model after the fit",
                "Fitted parameters",
                "instruments.evasion_china_kgz.premium",
                "poorly identified by the targets",
                "19.9 vs 20.0 (−0.5%)",
                "Converged: the objective stopped falling after 7 steps",
            ],
        ),
        (
            tornado(
                "KGZ.reexports.RUS",
                Some(2030),
                Some(24.9),
                vec![
                    bar("years.adjustment", (0.3, 1.0), (Some(23.5), Some(24.9))),
                    bar(
                        "instruments.evasion_china_kgz.premium",
                        (1.2, 3.0),
                        (Some(67.3), Some(5.5)),
                    ),
                ],
            ),
            vec![
                "What moves re-exports via Kyrgyzstan to Russia in 2030: one parameter at a time",
                "instruments.evasion_china_kgz.premium",
                "years.adjustment",
                "re-exports via Kyrgyzstan to Russia in 2030, USD bn",
                "swing, USD bn",
                "parameter at the low end of its range",
                "scenario as given",
                "1.2",
                "61.8",
            ],
        ),
    ]
}

/// A drawn SVG without NaN, infinities or numbers in exponent notation.
fn clean(svg: &str, stem: &str) {
    assert!(svg.starts_with("<svg"), "{stem}");
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{stem}");
    let b = svg.as_bytes();
    let exponent = b
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'e' && (w[2].is_ascii_digit() || w[2] == b'-'));
    assert!(!exponent, "{stem}: a number in exponent notation");
}

#[test]
fn svg_carries_titles_series_and_axis_labels() {
    for (chart, needles) in small_charts() {
        let svg = render_svg(&chart, SIZE).unwrap();
        for n in needles {
            assert!(svg.contains(n), "{}: no `{n}` in the SVG", chart.stem());
        }
        clean(&svg, &chart.stem());
    }
}

#[test]
fn tornado_bars_are_sorted_by_swing_and_failed_ones_listed() {
    let Chart::Tornado(t) = &small_charts()[3].0 else {
        panic!("tornado")
    };
    let csv = String::from_utf8(Chart::Tornado(t.clone()).csv().unwrap()).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("parameter,low,high,base_value,output,year,"));
    assert!(rows[1].starts_with("instruments.evasion_china_kgz.premium,"));
    let failed = tornado(
        "ALP.welfare_change_pct",
        None,
        Some(0.4),
        vec![
            bar("sigma", (3.0, 7.0), (Some(0.2), None)),
            bar("shocks[0].factor", (0.7, 0.9), (Some(0.5), Some(0.3))),
        ],
    );
    let svg = render_svg(&failed, SIZE).unwrap();
    for n in [
        "What moves Alpha welfare_change_pct: one parameter at a time",
        "Runs that failed: sigma at high 7: the solver did not converge",
        "swing, %",
        "failed",
    ] {
        assert!(svg.contains(n), "no `{n}`");
    }
    assert_eq!(failed.stem(), "tornado_ALP_welfare_change_pct");
}

/// One year, one draw, nothing at all, all zeros, all runs failed, zero swing...
fn degenerate_charts() -> Vec<Chart> {
    let zero = q(0.0, 0.0);
    let one = Quantiles {
        q05: 3.0,
        q25: 3.0,
        q50: 3.0,
        q75: 3.0,
        q95: 3.0,
    };
    vec![
        fan(
            "KGZ.reexports.RUS",
            vec![2030],
            vec![q(24.9, 2.0)],
            draws(200, 0),
        ),
        fan(
            "KGZ.reexports.RUS",
            vec![2021, 2022],
            vec![one, one],
            draws(1, 199),
        ),
        fan("KGZ.reexports.RUS", vec![], vec![], draws(0, 0)),
        fan(
            "RUS.imports.final",
            vec![2021, 2022, 2023],
            vec![zero, zero, zero],
            draws(5, 0),
        ),
        fan(
            "RUS.imports.direct_share",
            vec![2021, 2022, 2023],
            // Fewer bands than years: the extra years are left out.
            vec![q(0.9, 0.01)],
            draws(5, 0),
        ),
        intervals(&[], draws(3, 0)),
        intervals(&[("CAN", one)], draws(1, 0)),
        intervals(&[("CAN", zero), ("JPN", zero)], draws(2, 0)),
        intervals(
            &(0..60)
                .map(|i| (["AAA", "BBB", "CCC"][i % 3], q(i as f64 * 0.01, 0.001)))
                .collect::<Vec<_>>(),
            draws(20, 0),
        ),
        fit(vec![], vec![], false),
        fit(
            vec![target("CHN-KGZ.recorded.CHN", None, 20.0, 20.0, 20.0)],
            vec![parameter("sigma", None, false)],
            true,
        ),
        // Mixed units: shown as a percentage of the observed figure; a zero observation.
        fit(
            vec![
                target("RUS.imports.direct_share", Some(2023), 0.6, 0.7, 0.65),
                target("KGZ.reexports.RUS", Some(2023), 0.0, 1.0, 0.5),
            ],
            vec![parameter("routes.theta", Some(f64::NAN), true)],
            false,
        ),
        fit(
            (0..30)
                .map(|i| target("EU-RUS.recorded.EU", Some(2000 + i), 10.0, 12.0, 11.0))
                .collect(),
            (0..10)
                .map(|i| parameter(&format!("instruments.x{i}.percent"), Some(1.0), i % 2 == 0))
                .collect(),
            true,
        ),
        tornado(
            "KGZ.reexports.RUS",
            Some(2030),
            None,
            vec![
                bar("sigma", (3.0, 7.0), (None, None)),
                bar("routes.theta", (2.0, 6.0), (None, None)),
            ],
        ),
        tornado(
            "KGZ.reexports.RUS",
            Some(2030),
            Some(24.9),
            vec![bar(
                "routes.recorded_share.KGZ",
                (0.15, 0.35),
                (Some(24.9), Some(24.9)),
            )],
        ),
        tornado(
            "KGZ.reexports.RUS",
            Some(2030),
            Some(24.9),
            vec![
                // Both ends above the base, and one end failed.
                bar("years.adjustment", (0.3, 1.0), (Some(30.0), Some(26.0))),
                bar("sigma", (3.0, 7.0), (Some(20.0), None)),
            ],
        ),
        tornado(
            "KGZ.reexports.RUS",
            Some(2030),
            None,
            vec![bar("sigma", (3.0, 7.0), (Some(20.0), Some(22.0)))],
        ),
        tornado("KGZ.reexports.RUS", None, None, vec![]),
        tornado(
            "KGZ.reexports.RUS",
            Some(2030),
            Some(0.0),
            vec![bar(
                "a.very.long.path.that.does.not.fit.on.one.line.of.the.label.column.at.all.premium",
                (0.0, 0.0),
                (Some(0.0), Some(0.0)),
            )],
        ),
    ]
}

#[test]
fn degenerate_data_draws_without_panicking() {
    for chart in degenerate_charts() {
        let svg = render_svg(&chart, SMALL).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
        clean(&svg, &chart.stem());
        chart.csv().unwrap();
    }
    // A tiny canvas too: layout must not underflow.
    for chart in small_charts()
        .into_iter()
        .map(|(c, _)| c)
        .chain(degenerate_charts())
    {
        render_svg(&chart, (120, 80)).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
    }
}

#[test]
fn degenerate_data_draws_on_the_bitmap_backend() {
    for chart in degenerate_charts() {
        render_rgb(&chart, (400, 250)).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
    }
}

/// The text of an SVG chart, its lines joined with spaces (wrapped text reads as one).
fn svg_text(svg: &str) -> String {
    svg.lines()
        .filter(|l| !l.trim_start().starts_with('<'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn degenerate_charts_say_what_is_missing() {
    let charts = degenerate_charts();
    let svg = |i: usize| svg_text(&render_svg(&charts[i], SIZE).unwrap());
    assert!(svg(1).contains("With one draw the bands collapse onto the median"));
    assert!(svg(1).contains("200 draws with seed 7, 199 failed"));
    assert!(svg(2).contains("no years to show"));
    assert!(svg(5).contains("no countries to show"));
    assert!(svg(9).contains("no targets to show") && svg(9).contains("Did not converge"));
    assert!(svg(11).contains("% of the observed figure"));
    assert!(svg(13).contains("both runs failed"));
    assert!(svg(14).contains("0.15 and 0.35: no change in the output"));
}

#[test]
fn pngs_are_full_size_and_not_blank() {
    for (i, (chart, _)) in small_charts().into_iter().enumerate() {
        let size = if i == 0 { SIZE } else { (640, 400) };
        let png = render_png(&chart, size).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!((w, h), size, "{}", chart.stem());
        let rgb = render_rgb(&chart, size).unwrap();
        let colours: std::collections::HashSet<&[u8]> = rgb.chunks_exact(3).collect();
        assert!(colours.len() > 10, "{}: blank", chart.stem());
    }
}

#[test]
fn every_chart_comes_as_png_svg_and_csv() {
    let charts: Vec<Chart> = small_charts().into_iter().map(|(c, _)| c).collect();
    let files = chart_files(&charts).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let stems = [
        "fan_reexports_via_KGZ_to_RUS",
        "intervals_welfare_change_pct",
        "calibration_fit",
        "tornado_reexports_via_KGZ_to_RUS_2030",
    ];
    for stem in stems {
        for ext in ["png", "svg", "csv"] {
            assert!(
                names.contains(&format!("{stem}.{ext}").as_str()),
                "{names:?}"
            );
        }
    }
    let csv = |i: usize| String::from_utf8(charts[i].csv().unwrap()).unwrap();
    assert!(csv(0).starts_with("series,year,q05,q25,q50,q75,q95,draws,failed\n"));
    assert!(csv(1).starts_with("country,measure,q05,q25,q50,q75,q95,draws,failed\nCAN,"));
    assert!(csv(2).starts_with(
        "series,year,observed,initial,fitted,initial_vs_observed_pct,fitted_vs_observed_pct,weight,source\n"
    ));
}

// ---- From folders ------------------------------------------------------------------------

const BANDS: &str = "series,year,draws,failed,mean,sd,q05,q25,q50,q75,q95
\"RUS.imports.final\",2021,9,1,293,1,291,292,293,294,295
\"RUS.imports.final\",2022,9,1,288,1,286,287,288,289,290
KAZ.reexports.RUS,2021,9,1,0.1,0.01,0.08,0.09,0.1,0.11,0.12
KAZ.reexports.RUS,2022,9,1,19,1,17,18,19,20,21
KGZ.reexports.RUS,2021,9,1,0.1,0.01,0.08,0.09,0.1,0.11,0.12
KGZ.reexports.RUS,2022,9,1,25,2,21,23,25,27,29
CHN-KGZ.recorded.CHN,2022,9,1,28,2,24,26,28,30,32
RUS-KGZ.recorded.RUS,2022,9,1,40,2,36,38,40,42,44
";

fn record(shard: &str) -> String {
    format!(
        r#"{{"tradeflow_version": "0.1.0", "scenario": "s.toml", "seed": 7, "draws": 10, "shard": {shard}, "first_draw": 0, "last_draw": 10, "failed": 1, "series": []}}"#
    )
}

fn mc_folder(bands: &str, json: &str) -> Folder {
    Folder::from_files(
        Path::new("res/montecarlo"),
        &[
            ("montecarlo.csv", bands.as_bytes().to_vec()),
            ("montecarlo.json", json.as_bytes().to_vec()),
        ],
    )
}

fn err(e: PlotError) -> String {
    e.to_string()
}

#[test]
fn monte_carlo_folders_give_fan_charts_of_the_key_series() {
    let folder = mc_folder(BANDS, &record("null"));
    let charts = montecarlo_charts(&folder, &MonteCarloOptions::default()).unwrap();
    let stems: Vec<String> = charts.iter().map(Chart::stem).collect();
    assert_eq!(
        stems,
        [
            "fan_reexports_via_KGZ_to_RUS",
            "fan_reexports_via_KAZ_to_RUS",
            "fan_CHN_KGZ_recorded_by_CHN",
            "fan_imports_of_RUS_final_destination",
        ]
    );
    let Chart::FanChart(f) = &charts[0] else {
        panic!("fan")
    };
    assert_eq!(f.years, [2021, 2022]);
    assert_eq!(f.bands[1].q95, 29.0);
    assert_eq!((f.draws.ran, f.draws.failed, f.draws.seed), (9, 1, 7));
    // Chosen series; an unknown one is named with what there is.
    let opts = |s: &[&str]| MonteCarloOptions {
        series: s.iter().map(|s| (*s).to_owned()).collect(),
    };
    let charts = montecarlo_charts(&folder, &opts(&["RUS-KGZ.recorded.RUS"])).unwrap();
    assert_eq!(charts.len(), 1);
    let e = err(montecarlo_charts(&folder, &opts(&["RUS.imports.finale"])).unwrap_err());
    assert!(
        e.contains("no series `RUS.imports.finale`; nearest: `RUS.imports.final`"),
        "{e}"
    );
    // A phrase of the old names finds the name it has now.
    let e = err(montecarlo_charts(&folder, &opts(&["re-exports via KGZ to RUS"])).unwrap_err());
    assert!(e.contains("nearest: `KGZ.reexports.RUS`"), "{e}");
    // A shard is not drawn: its bands cover only its draws.
    let e = err(montecarlo_charts(
        &mc_folder(BANDS, &record(r#"{"k": 2, "n": 3}"#)),
        &opts(&[]),
    )
    .unwrap_err());
    assert!(
        e.contains("montecarlo.json") && e.contains("tradeflow merge"),
        "{e}"
    );
}

#[test]
fn monte_carlo_of_a_single_counterfactual_gives_intervals_per_country() {
    let bands = "series,year,draws,failed,mean,sd,q05,q25,q50,q75,q95
CAN.welfare_change_pct,,20,0,0.3,0.07,0.2,0.25,0.3,0.35,0.44
CAN.real_gdp_change_pct,,20,0,0.3,0.07,0.2,0.25,0.3,0.35,0.44
JPN.welfare_change_pct,,20,0,0.04,0.01,0.02,0.03,0.04,0.05,0.06
JPN.real_gdp_change_pct,,20,0,0.04,0.01,0.02,0.03,0.04,0.05,0.06
";
    let folder = mc_folder(bands, &record("null"));
    let charts = montecarlo_charts(&folder, &MonteCarloOptions::default()).unwrap();
    assert_eq!(charts.len(), 1);
    let Chart::Intervals(c) = &charts[0] else {
        panic!("intervals")
    };
    assert_eq!(c.measure, "welfare_change_pct");
    assert_eq!(c.rows.len(), 2);
    let opts = MonteCarloOptions {
        series: vec!["real_gdp_change_pct".into()],
    };
    let charts = montecarlo_charts(&folder, &opts).unwrap();
    assert_eq!(charts[0].stem(), "intervals_real_gdp_change_pct");
    let svg = render_svg(&charts[0], SIZE).unwrap();
    assert!(svg.contains("Real GDP change by country") && svg.contains("real GDP change, %"));
    let opts = MonteCarloOptions {
        series: vec!["CAN.welfare_change_pct".into()],
    };
    let e = err(montecarlo_charts(&folder, &opts).unwrap_err());
    assert!(e.contains("welfare_change_pct, real_gdp_change_pct"), "{e}");
}

#[test]
fn bad_monte_carlo_files_give_located_errors() {
    let json = record("null");
    let run = |bands: &str| {
        err(montecarlo_charts(&mc_folder(bands, &json), &Default::default()).unwrap_err())
    };
    let e = run(&BANDS.replacen(",q50,", ",median,", 1));
    assert!(
        e.contains("montecarlo.csv") && e.contains("no column `q50`"),
        "{e}"
    );
    let mut lines: Vec<String> = BANDS.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replace(",295", ",x");
    lines[2] = lines[2].replace(",290", ",x");
    let e = run(&lines.join("\n"));
    assert!(
        e.contains("montecarlo.csv, line 3")
            && e.contains("column `q95`")
            && e.contains("not a number"),
        "{e}"
    );
    let e = run("");
    assert!(e.contains("empty"), "{e}");
    let e = err(montecarlo_charts(
        &mc_folder(BANDS, "{\"seed\": \"seven\"}"),
        &Default::default(),
    )
    .unwrap_err());
    assert!(e.contains("montecarlo.json"), "{e}");
    let only_csv = Folder::from_files(
        Path::new("res/montecarlo"),
        &[("montecarlo.csv", BANDS.as_bytes().to_vec())],
    );
    let e = err(montecarlo_charts(&only_csv, &Default::default()).unwrap_err());
    assert!(
        e.contains("montecarlo.json") && e.contains("missing"),
        "{e}"
    );
}

const FIT: &str = "series,year,observed,initial,fitted,log_deviation,weight,source
CHN-KGZ.recorded.CHN,2023,20.0,20.1,19.9,-0.005,1.0,seed article
EU-RUS.recorded.EU,2022,65.05,65.8,65.4,0.006,1.0,\"Eurostat, via E. Dor\"
";
const PARAMETERS: &str =
    "path,initial,fitted,stderr,lower,upper,at_bound,weak_direction_loading,poorly_identified
instruments.evasion_china_kgz.premium,1.62,1.57,0.17,1.0,6.0,false,0.0,false
sigma,5.0,5.0,NaN,2.0,9.0,true,1.0,true
";
const REPORT: &str = r#"{"scenario": "as_happened", "objective_initial": 0.07, "objective": 0.05, "steps": 7, "evaluations": 39, "stop": "converged: the objective stopped falling", "converged": true, "condition_number": null}"#;

fn cal_folder(fit: &str, parameters: Option<&str>) -> Folder {
    let mut files = vec![
        ("fit.csv", fit.as_bytes().to_vec()),
        ("calibration.json", REPORT.as_bytes().to_vec()),
    ];
    if let Some(p) = parameters {
        files.push(("parameters.csv", p.as_bytes().to_vec()));
    }
    Folder::from_files(Path::new("plots/as_happened/calibration"), &files)
}

#[test]
fn calibration_folders_give_the_fit_chart() {
    let charts = calibration_charts(&cal_folder(FIT, Some(PARAMETERS))).unwrap();
    let Chart::CalibrationFit(c) = &charts[0] else {
        panic!("fit")
    };
    assert_eq!(c.scenario, "as_happened");
    assert_eq!(c.targets.len(), 2);
    assert_eq!(c.parameters[1].stderr, None, "NaN is no standard error");
    let svg = render_svg(&charts[0], SIZE).unwrap();
    assert!(
        svg.contains("at a bound") && svg.contains("n/a") && svg.contains("Eurostat, via E. Dor")
    );
    clean(&svg, "calibration_fit");
    let e = err(calibration_charts(&cal_folder(FIT, None)).unwrap_err());
    assert!(e.contains("parameters.csv") && e.contains("missing"), "{e}");
    let e = err(calibration_charts(&cal_folder(
        &FIT.replace(",65.4,", ",lots,"),
        Some(PARAMETERS),
    ))
    .unwrap_err());
    assert!(
        e.contains("fit.csv, line 3") && e.contains("column `fitted`"),
        "{e}"
    );
}

const TORNADO: &str = "parameter,low,high,base_value,output,year,output_at_base,output_at_low,output_at_high,swing,failed
instruments.evasion_china_kgz.premium,1.2,3.0,1.62,re-exports via KGZ to RUS,2030,24.87,67.3,5.45,61.8,
sigma,3.0,7.0,5.0,re-exports via KGZ to RUS,2030,24.87,,20.0,,did not converge
";

fn sweep_folder(tornado: &str, json: &str) -> Folder {
    Folder::from_files(
        Path::new("res/sweep"),
        &[
            ("tornado.csv", tornado.as_bytes().to_vec()),
            ("sweep.json", json.as_bytes().to_vec()),
        ],
    )
}

const SWEEP_JSON: &str = r#"{"scenario": "s.toml", "parameters": [], "axes": [], "tornado_output": ["x", 2030], "points": 135, "shard": null, "first_point": 0, "last_point": 135}"#;

#[test]
fn sweep_folders_give_the_tornado() {
    let charts = sweep_charts(&sweep_folder(TORNADO, SWEEP_JSON)).unwrap();
    let Chart::Tornado(t) = &charts[0] else {
        panic!("tornado")
    };
    assert_eq!(t.at_base, Some(24.87));
    assert_eq!(t.bars[1].at_low, None, "an empty cell is a failed run");
    assert_eq!(charts[0].stem(), "tornado_reexports_via_KGZ_to_RUS_2030");
    // Older sweeps without `base_value` are drawn too.
    let old: String = TORNADO
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(3);
            f.join(",") + "\n"
        })
        .collect();
    sweep_charts(&sweep_folder(&old, SWEEP_JSON)).unwrap();
    let e = err(sweep_charts(&sweep_folder(
        &TORNADO.replace(
            "sigma,3.0,7.0,5.0,re-exports via KGZ",
            "sigma,3.0,7.0,5.0,re-exports via KAZ",
        ),
        SWEEP_JSON,
    ))
    .unwrap_err());
    assert!(e.contains("two outputs"), "{e}");
    let e = err(sweep_charts(&sweep_folder(
        &TORNADO.replace(",67.3,", ",high,"),
        SWEEP_JSON,
    ))
    .unwrap_err());
    assert!(
        e.contains("tornado.csv, line 2") && e.contains("column `output_at_low`"),
        "{e}"
    );
    let shard = SWEEP_JSON.replace("\"shard\": null", "\"shard\": {\"k\": 1, \"n\": 2}");
    let e = err(sweep_charts(&sweep_folder(TORNADO, &shard)).unwrap_err());
    assert!(e.contains("tradeflow merge"), "{e}");
}

// ---- The commands ------------------------------------------------------------------------

fn tradeflow() -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(root());
    c
}

/// The files of a folder, without tradeflow's marker and lock (which name the command that
/// wrote the folder and the process that last held it).
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".tradeflow.json" && n != ".tradeflow.lock")
        .collect();
    v.sort();
    v
}

/// The small network example with an uncertain sigma and two calibration targets.
fn tuned_network(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/network_example.toml")).unwrap()
        + r#"
[[uncertainty.parameters]]
path = "sigma"
distribution = "normal"
sd = 0.5

[[calibration.free]]
path = "sigma"
lower = 2.0
upper = 9.0

[[calibration.targets]]
series = "HUB.reexports.TGT"
year = 2024
value = 0.9
source = "illustrative"

[[calibration.targets]]
series = "ORG-TGT.recorded.ORG"
year = 2023
value = 9.0
source = "illustrative"
"#;
    let path = dir.join("net.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file of `dir`, by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_in(dir)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

/// `tradeflow plot DIR` fails with every needle in the message and leaves no charts.
fn plot_fails(dir: &Path, args: &[&str], needles: &[&str]) {
    let a = tradeflow()
        .arg("plot")
        .arg(dir)
        .args(args)
        .assert()
        .failure()
        .code(1);
    let e = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    for n in needles {
        assert!(e.contains(n), "no `{n}` in: {e}");
    }
    assert!(!dir.join("charts").exists(), "charts written on error: {e}");
}

#[test]
fn run_with_draws_writes_fan_charts_and_plot_redraws_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = tuned_network(dir.path());
    let out = dir.path().join("res");
    tradeflow()
        .arg("run")
        .arg(&file)
        .args(["--draws", "6", "--seed", "7", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("montecarlo/charts"));
    let mc = out.join("montecarlo");
    let charts = mc.join("charts");
    let names = files_in(&charts);
    for stem in [
        "fan_reexports_via_HUB_to_TGT",
        "fan_ORG_HUB_recorded_by_ORG",
        "fan_imports_of_TGT_final_destination",
    ] {
        for ext in ["png", "svg", "csv"] {
            assert!(
                names.contains(&format!("{stem}.{ext}")),
                "{stem}.{ext}: {names:?}"
            );
        }
    }
    let svg = std::fs::read_to_string(charts.join("fan_reexports_via_HUB_to_TGT.svg")).unwrap();
    assert!(svg.contains("Re-exports via Hub to Target: Monte Carlo range, 2022–2026"));
    assert!(svg.contains("6 draws with seed 7"));
    // Re-drawn from the folder: the same bytes.
    let before = contents(&charts);
    tradeflow()
        .arg("plot")
        .arg(&mc)
        .assert()
        .success()
        .stdout(contains("3 charts"));
    assert_eq!(contents(&charts), before);
    tradeflow()
        .arg("plot")
        .arg(&mc)
        .args(["--series", "TGT.imports.direct_share"])
        .assert()
        .success();
    assert_eq!(
        files_in(&charts),
        [
            "fan_direct_share_of_imports_of_TGT.csv",
            "fan_direct_share_of_imports_of_TGT.png",
            "fan_direct_share_of_imports_of_TGT.svg"
        ]
    );
    // Options that do not apply, and bad files: located, nothing written.
    std::fs::remove_dir_all(&charts).unwrap();
    plot_fails(&mc, &["--year", "2024"], &["--year", "Monte Carlo folder"]);
    let bands = std::fs::read_to_string(mc.join("montecarlo.csv")).unwrap();
    std::fs::write(
        mc.join("montecarlo.csv"),
        bands.replacen(",q25,", ",p25,", 1),
    )
    .unwrap();
    plot_fails(&mc, &[], &["montecarlo.csv", "no column `q25`"]);
}

#[test]
fn merged_monte_carlo_shards_get_the_charts_of_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = tuned_network(dir.path());
    let full = dir.path().join("full");
    let run = |out: &Path, extra: &[&str]| {
        tradeflow()
            .arg("run")
            .arg(&file)
            .args(["-q", "--draws", "6", "--seed", "3", "--out"])
            .arg(out)
            .args(extra)
            .assert()
            .success();
    };
    run(&full, &[]);
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("s{k}"));
        run(&out, &["--shard", &format!("{k}/2")]);
        let shard = out.join(format!("montecarlo-shard-{k}-of-2"));
        assert!(!shard.join("charts").exists(), "a shard has no charts");
        shards.push(shard);
    }
    let merged = dir.path().join("merged");
    tradeflow()
        .args(["merge", "-q"])
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(
        contents(&merged.join("charts")),
        contents(&full.join("montecarlo/charts"))
    );
    // A shard's folder is not drawn.
    plot_fails(&shards[0], &[], &["montecarlo.json", "tradeflow merge"]);
}

#[test]
fn a_counterfactual_monte_carlo_gets_its_interval_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pta");
    tradeflow()
        .args([
            "run",
            "scenarios/can_jpn_pta_montecarlo.toml",
            "-q",
            "--draws",
            "4",
            "--seed",
            "7",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let charts = out.join("montecarlo/charts");
    let svg = std::fs::read_to_string(charts.join("intervals_welfare_change_pct.svg")).unwrap();
    for n in [
        "Welfare change by country",
        "Canada",
        "Japan",
        "US",
        "4 draws with seed 7",
    ] {
        assert!(svg.contains(n), "no `{n}`");
    }
}

#[test]
fn calibrate_writes_the_fit_chart_and_plot_redraws_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = tuned_network(dir.path());
    let out = dir.path().join("cal");
    tradeflow()
        .arg("calibrate")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("calibration_fit"));
    let charts = out.join("charts");
    let svg = std::fs::read_to_string(charts.join("calibration_fit.svg")).unwrap();
    for n in [
        "Calibration of network_example: observed figures against the model",
        "re-exports via Hub to Target, 2024",
        "Origin→Target recorded by Origin, 2023",
        "illustrative",
        "sigma",
        "USD bn",
    ] {
        assert!(svg.contains(n), "no `{n}`");
    }
    let report = std::fs::read_to_string(out.join("calibration.json")).unwrap();
    assert!(
        report.contains("\"scenario\": \"network_example\""),
        "{report}"
    );
    let before = contents(&charts);
    tradeflow().arg("plot").arg(&out).assert().success();
    assert_eq!(contents(&charts), before);
    std::fs::remove_dir_all(&charts).unwrap();
    std::fs::remove_file(out.join("parameters.csv")).unwrap();
    plot_fails(&out, &[], &["parameters.csv", "missing"]);
}

#[test]
fn sweep_writes_the_tornado_and_plot_redraws_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("res");
    let args = [
        "sweep",
        "scenarios/network_example.toml",
        "-q",
        "--param",
        "sigma=3:8:3",
        "--param",
        "routes.theta=3:6:2",
        "--output",
        "HUB.reexports.TGT@2026",
        "--out",
    ];
    tradeflow().args(args).arg(&out).assert().success();
    let sweep = out.join("sweep");
    let charts = sweep.join("charts");
    let svg =
        std::fs::read_to_string(charts.join("tornado_reexports_via_HUB_to_TGT_2026.svg")).unwrap();
    for n in [
        "What moves re-exports via Hub to Target in 2026: one parameter at a time",
        "sigma",
        "routes.theta",
        "3 to 8; scenario 5",
    ] {
        assert!(svg.contains(n), "no `{n}`");
    }
    let before = contents(&charts);
    tradeflow().arg("plot").arg(&sweep).assert().success();
    assert_eq!(contents(&charts), before);
    // Shards have no tornado, hence no charts; their merge has both.
    let mut shards = Vec::new();
    for k in 1..=2 {
        let o = dir.path().join(format!("s{k}"));
        tradeflow()
            .args(args)
            .arg(&o)
            .args(["--shard", &format!("{k}/2")])
            .assert()
            .success();
        let shard = o.join(format!("sweep-shard-{k}-of-2"));
        assert!(!shard.join("charts").exists());
        shards.push(shard);
    }
    let merged = dir.path().join("merged");
    tradeflow()
        .args(["merge", "-q"])
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(contents(&merged.join("charts")), before);
    plot_fails(&shards[0], &[], &["sweep.json", "tradeflow merge"]);
    // A bad tornado.csv: located, nothing written.
    std::fs::remove_dir_all(&charts).unwrap();
    let t = std::fs::read_to_string(sweep.join("tornado.csv")).unwrap();
    std::fs::write(
        sweep.join("tornado.csv"),
        t.replacen(",output,", ",series,", 1),
    )
    .unwrap();
    plot_fails(&sweep, &[], &["tornado.csv", "no column `output`"]);
    plot_fails(&sweep, &["--series", "x"], &["--series", "sweep folder"]);
}
