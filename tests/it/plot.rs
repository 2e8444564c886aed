//! Charts: every chart function draws small and degenerate data without panicking, SVG
//! output carries the titles, series names and axis labels, PNGs have the right size and are
//! not blank, and `tradeflow plot` re-draws a results folder or fails with a located error,
//! writing nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use tradeflow::plot::{
    chart_files, compare_charts, render_png, render_rgb, render_svg, year_run_charts, Band,
    ChangeHeatmap, Chart, CompareOptions, Comparing, Event, FlowsByRoute, Folder, HubSeries,
    Measure, Reexports, Role, RouteDiagram, RouteFlow, RunOptions, ScenarioBars, ScenarioLines,
    Unit, SIZE,
};

/// SVG is cheap: most checks draw at a small size.
const SMALL: (u32, u32) = (800, 500);

fn flows(years: Vec<i32>, bands: Vec<Band>, events: Vec<Event>) -> Chart {
    Chart::FlowsByRoute(FlowsByRoute {
        target: "RUS".into(),
        years,
        bands,
        events,
        base_year: Some(2021),
        note: "test note".into(),
    })
}

fn band(name: &str, role: Role, values: &[f64]) -> Band {
    Band {
        name: name.into(),
        role,
        values: values.to_vec(),
    }
}

fn reexports(years: Vec<i32>, values: &[&[f64]]) -> Chart {
    Chart::Reexports(Reexports {
        target: "RUS".into(),
        years,
        hubs: values
            .iter()
            .enumerate()
            .map(|(k, v)| HubSeries::single(["KGZ", "KAZ", "ARM"][k % 3], v.to_vec(), 0.25))
            .collect(),
        events: vec![Event {
            year: 2022,
            label: "export controls".into(),
        }],
        base_year: Some(2021),
        note: String::new(),
    })
}

fn diagram(flows: Vec<RouteFlow>, origins: &[&str]) -> Chart {
    Chart::RouteDiagram(RouteDiagram {
        target: "RUS".into(),
        year: 2030,
        origins: origins
            .iter()
            .enumerate()
            .map(|(i, o)| ((*o).to_owned(), Role::Direct(i)))
            .collect(),
        hubs: vec![("KGZ".into(), Role::Via(0)), ("KAZ".into(), Role::Via(1))],
        flows,
        note: String::new(),
    })
}

fn lines(years: Vec<i32>, scenarios: Vec<(&str, Vec<Option<f64>>)>, unit: Unit) -> Chart {
    Chart::ScenarioLines(ScenarioLines {
        series: "KGZ.reexports.RUS".into(),
        unit,
        years,
        scenarios: scenarios
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect(),
        labels: Vec::new(),
        reference: None,
        policy_years: vec![tradeflow::plot::PolicyYear {
            year: 2022,
            what: "export controls".into(),
        }],
        policy_inferred: false,
    })
}

fn bars(series: &[&str], scenarios: &[&str], values: Vec<Vec<Option<f64>>>) -> Chart {
    Chart::ScenarioBars(ScenarioBars {
        year: 2030,
        unit: Unit::UsdBn,
        series: series.iter().map(|s| (*s).to_owned()).collect(),
        scenarios: scenarios.iter().map(|s| (*s).to_owned()).collect(),
        labels: Vec::new(),
        values,
        left_out: Vec::new(),
    })
}

fn heatmap(economies: &[&str], from: Vec<Vec<Option<f64>>>, to: Vec<Vec<Option<f64>>>) -> Chart {
    Chart::ChangeHeatmap(ChangeHeatmap {
        measure: Measure::FinalDestination,
        source: "Model: tradeflow test, scenario as_happened. Data: test.".into(),
        comparing: Comparing::Years {
            scenario: "as_happened".into(),
        },
        from: "2021".into(),
        to: "2030".into(),
        economies: economies.iter().map(|s| (*s).to_owned()).collect(),
        from_values: from,
        to_values: to,
    })
}

fn small_charts() -> Vec<Chart> {
    let years = vec![2021, 2022, 2023];
    vec![
        flows(
            years.clone(),
            vec![
                band("direct from CHN", Role::Direct(0), &[60.0, 80.0, 100.0]),
                band(
                    "direct from 3 other origins",
                    Role::OtherOrigins,
                    &[20.0, 18.0, 17.0],
                ),
                band("via KGZ (re-exports)", Role::Via(0), &[0.5, 2.0, 15.0]),
            ],
            vec![Event {
                year: 2022,
                label: "Western export controls".into(),
            }],
        ),
        reexports(years.clone(), &[&[0.5, 2.0, 15.0], &[0.4, 1.0, 12.0]]),
        diagram(
            vec![
                RouteFlow {
                    origin: 0,
                    via: None,
                    value: 100.0,
                },
                RouteFlow {
                    origin: 0,
                    via: Some(0),
                    value: 15.0,
                },
                RouteFlow {
                    origin: 1,
                    via: Some(1),
                    value: 2.5,
                },
            ],
            &["CHN", "EU"],
        ),
        lines(
            years.clone(),
            vec![
                ("as_happened", vec![Some(0.5), Some(2.0), Some(15.0)]),
                ("no_war", vec![Some(0.5), Some(0.5), Some(0.5)]),
                ("no_war_copy", vec![Some(0.5), Some(0.5), Some(0.5)]),
            ],
            Unit::UsdBn,
        ),
        bars(
            &["KGZ.reexports.RUS", "CHN-KGZ.recorded.CHN"],
            &["as_happened", "no_war"],
            vec![vec![Some(24.9), Some(0.2)], vec![Some(28.8), Some(7.5)]],
        ),
        heatmap(
            &["CHN", "RUS", "KGZ"],
            vec![
                vec![None, Some(68.0), Some(7.5)],
                vec![Some(50.0), None, Some(1.0)],
                vec![Some(0.1), Some(0.3), None],
            ],
            vec![
                vec![None, Some(145.0), Some(7.4)],
                vec![Some(52.0), None, Some(0.0)],
                vec![Some(0.1), Some(0.29), None],
            ],
        ),
    ]
}

#[test]
fn svg_carries_titles_series_and_axis_labels() {
    let expect: [&[&str]; 6] = [
        &[
            "Goods reaching Russia by route, 2021–2023",
            "direct from China",
            "via Kyrgyzstan (re-exports)",
            "USD bn",
            "year",
            "Western export controls",
            "Grey lines: sanctions, frictions",
            "test note",
        ],
        &[
            "Re-exports to Russia through each intermediary",
            "Kyrgyzstan",
            "re-exports reaching Russia",
            "Kyrgyzstan 25%",
            "USD bn",
            "year",
        ],
        &[
            "Routes of goods into Russia, 2030",
            "China",
            "via Kyrgyzstan",
            "direct",
            "USD bn",
        ],
        &[
            "Re-exports via Kyrgyzstan to Russia: scenarios compared, 2021–2023",
            "Policy years",
            "2022: export controls",
            "as_happened",
            "no_war_copy, dashed: the same line as no_war",
            "USD bn",
            "year",
        ],
        &[
            "Scenarios compared in 2030",
            "as_happened",
            "China →",
            "USD bn",
        ],
        &[
            "Change in final-destination flows, 2021 to 2030 (as_happened)",
            "Model: tradeflow test, scenario as_happened.",
            "importer (final buyer)",
            "exporter",
            "change, %",
            "+113%",
        ],
    ];
    for (chart, needles) in small_charts().iter().zip(expect) {
        let svg = render_svg(chart, SIZE).unwrap();
        for n in needles {
            assert!(svg.contains(n), "{}: no `{n}` in the SVG", chart.stem());
        }
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{}",
            chart.stem()
        );
        // No exponent notation in tick labels.
        assert!(
            !svg.contains("e10") && !svg.contains("1e"),
            "{}",
            chart.stem()
        );
    }
}

/// One year, one route, all zeros, a single economy, nothing at all.
fn degenerate_charts() -> Vec<Chart> {
    let one = vec![2030];
    let zeros = [0.0, 0.0, 0.0];
    vec![
        flows(
            one.clone(),
            vec![band("direct from CHN", Role::Direct(0), &[5.0])],
            vec![],
        ),
        flows(
            vec![2021, 2022, 2023],
            vec![band("direct from CHN", Role::Direct(0), &zeros)],
            vec![Event {
                year: 2023,
                label: "a very long label ".repeat(20),
            }],
        ),
        flows(vec![], vec![], vec![]),
        flows(vec![2021, 2022], vec![], vec![]),
        reexports(one.clone(), &[&[3.0]]),
        reexports(vec![2021, 2022, 2023], &[&zeros]),
        reexports(vec![2021, 2022], &[]),
        reexports(vec![], &[]),
        diagram(
            vec![RouteFlow {
                origin: 0,
                via: None,
                value: 10.0,
            }],
            &["CHN"],
        ),
        diagram(
            vec![RouteFlow {
                origin: 0,
                via: Some(1),
                value: 0.0,
            }],
            &["CHN"],
        ),
        diagram(vec![], &[]),
        // A flow pointing at an origin that does not exist is ignored, not a panic.
        diagram(
            vec![RouteFlow {
                origin: 7,
                via: Some(9),
                value: 1.0,
            }],
            &["CHN"],
        ),
        lines(one.clone(), vec![("a", vec![Some(1.0)])], Unit::UsdBn),
        lines(
            vec![2021, 2022, 2023],
            vec![("a", vec![Some(0.0), None, Some(0.0)])],
            Unit::Share,
        ),
        lines(vec![], vec![], Unit::UsdBn),
        lines(vec![2021, 2022], vec![("a", vec![None, None])], Unit::UsdBn),
        bars(&["x"], &["a"], vec![vec![Some(0.0)]]),
        bars(
            &["x", "y"],
            &["a", "b"],
            vec![vec![None, Some(-3.0)], vec![]],
        ),
        bars(&[], &[], vec![]),
        heatmap(&["CHN"], vec![vec![None]], vec![vec![None]]),
        heatmap(
            &["A", "B"],
            vec![vec![None, Some(0.0)], vec![Some(0.0), None]],
            vec![vec![None, Some(1.0)], vec![Some(0.0), None]],
        ),
        heatmap(&[], vec![], vec![]),
        // Ragged matrices are read as missing cells.
        heatmap(&["A", "B", "C"], vec![vec![None, Some(2.0)]], vec![]),
    ]
}

#[test]
fn degenerate_data_draws_without_panicking() {
    for chart in degenerate_charts() {
        let svg = render_svg(&chart, SMALL).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
        assert!(svg.starts_with("<svg"), "{}", chart.stem());
        assert!(!svg.contains("NaN"), "{}", chart.stem());
        chart.csv().unwrap();
    }
    // A tiny canvas too: layout must not underflow.
    for chart in small_charts().iter().chain(degenerate_charts().iter()) {
        render_svg(chart, (120, 80)).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
    }
}

#[test]
fn degenerate_data_draws_on_the_bitmap_backend() {
    // The bitmap backend rasterises: check it copes with the same data at a small size.
    for chart in degenerate_charts() {
        render_rgb(&chart, (400, 250)).unwrap_or_else(|e| panic!("{}: {e}", chart.stem()));
    }
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    (w, h)
}

fn colours(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .map(|p| (p[0], p[1], p[2]))
        .collect::<HashSet<_>>()
        .len()
}

#[test]
fn png_is_full_size_and_not_blank() {
    assert!(SIZE.0 >= 1600 && SIZE.1 >= 1000);
    let charts = small_charts();
    // Full size for two charts (rasterising is the slow part in debug builds).
    for chart in [&charts[0], &charts[5]] {
        let png = render_png(chart, SIZE).unwrap();
        assert_eq!(png_size(&png), SIZE, "{}", chart.stem());
        let rgb = render_rgb(chart, SIZE).unwrap();
        assert_eq!(rgb.len(), (SIZE.0 * SIZE.1 * 3) as usize);
        assert!(colours(&rgb) > 10, "{}: blank", chart.stem());
    }
    // The others smaller.
    for chart in &charts[1..5] {
        let png = render_png(chart, (640, 400)).unwrap();
        assert_eq!(png_size(&png), (640, 400), "{}", chart.stem());
        assert!(colours(&render_rgb(chart, (640, 400)).unwrap()) > 10);
    }
}

#[test]
fn every_chart_comes_as_png_svg_and_csv() {
    let charts = small_charts();
    let files = chart_files(&charts[..2]).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "flows_into_RUS.png",
            "flows_into_RUS.svg",
            "flows_into_RUS.csv",
            "reexports_to_RUS.png",
            "reexports_to_RUS.svg",
            "reexports_to_RUS.csv",
        ]
    );
    let csv = String::from_utf8(files[2].1.clone()).unwrap();
    assert!(
        csv.starts_with("year,route,value\n2021,direct from CHN,60"),
        "{csv}"
    );
    let csv = String::from_utf8(charts[5].csv().unwrap()).unwrap();
    assert!(csv.starts_with("exporter,importer,from,to,from_value,to_value,change_pct\n"));
    assert!(csv.contains("CHN,RUS,2021,2030,68.0,145.0,113.2"), "{csv}");
}

// ---- From results folders ----------------------------------------------------------------

fn tradeflow() -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(root());
    c
}

/// A yearly run of the (small) network example in a temp folder, without its charts.
fn network_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    tradeflow()
        .args(["run", "-q", "scenarios/network_example.toml", "--out"])
        .arg(&out)
        .assert()
        .success();
    std::fs::remove_dir_all(out.join("charts")).unwrap();
    (dir, out)
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

#[test]
fn run_writes_charts_and_plot_redraws_them_identically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    tradeflow()
        .args(["run", "scenarios/network_example.toml", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("charts"));
    let charts = out.join("charts");
    let names = files_in(&charts);
    for stem in [
        "flows_into_TGT",
        "reexports_to_TGT",
        "routes_TGT_2026",
        "flow_change_2022_2026",
        "recorded_change_2022_2026",
    ] {
        for ext in ["png", "svg", "csv"] {
            assert!(
                names.contains(&format!("{stem}.{ext}")),
                "{stem}.{ext}: {names:?}"
            );
        }
    }
    let svg = std::fs::read_to_string(charts.join("flows_into_TGT.svg")).unwrap();
    assert!(
        svg.contains(">\n2023\n<") && svg.contains("50% tariff equivalent on ORG-&gt;TGT"),
        "the event from run.json"
    );
    let before: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(charts.join(n)).unwrap())
        .collect();
    tradeflow()
        .arg("plot")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("5 charts"));
    assert_eq!(files_in(&charts), names);
    for (n, b) in names.iter().zip(before) {
        assert_eq!(
            std::fs::read(charts.join(n)).unwrap(),
            b,
            "{n} differs when re-drawn"
        );
    }
    // Options: another year; a year outside the run is a usage problem with the range.
    tradeflow()
        .arg("plot")
        .arg(&out)
        .args(["--year", "2024", "--from-year", "2023"])
        .assert()
        .success();
    let names = files_in(&charts);
    assert!(
        names.contains(&"routes_TGT_2024.png".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"flow_change_2023_2024.csv".to_owned()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"routes_TGT_2026.png".to_owned()),
        "charts replaced whole"
    );
    tradeflow()
        .arg("plot")
        .arg(&out)
        .args(["--year", "2040"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("2040").and(contains("2022 to 2026")));
}

/// `tradeflow plot` on `dir` fails with exit code 1, every needle in the message, and
/// leaves no charts folder.
fn plot_fails(dir: &Path, needles: &[&str]) {
    let a = tradeflow().arg("plot").arg(dir).assert().failure().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    for n in needles {
        assert!(err.contains(n), "no `{n}` in: {err}");
    }
    assert!(
        !dir.join("charts").exists(),
        "charts written on error: {err}"
    );
    if dir.exists() {
        let leftovers: Vec<String> = files_in(dir.parent().unwrap())
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "staging leftovers: {leftovers:?}");
    }
}

#[test]
fn plot_errors_are_located_and_write_nothing() {
    let (_dir, out) = network_run();
    // Missing folder.
    plot_fails(&out.join("nope"), &["nope", "no such results folder"]);
    // A folder that is not a results folder.
    let empty = out.parent().unwrap().join("empty");
    std::fs::create_dir(&empty).unwrap();
    plot_fails(&empty, &["empty", "not a results folder"]);
    let routes = std::fs::read_to_string(out.join("routes_total.csv")).unwrap();
    // A column renamed.
    std::fs::write(
        out.join("routes_total.csv"),
        routes.replacen(",value,", ",amount,", 1),
    )
    .unwrap();
    plot_fails(&out, &["routes_total.csv", "no column `value`"]);
    // A bad number on line 3.
    let mut lines: Vec<String> = routes.lines().map(str::to_owned).collect();
    lines[2] = lines[2].rsplitn(4, ',').collect::<Vec<_>>()[3].to_owned() + ",x,0.5,0.5";
    std::fs::write(out.join("routes_total.csv"), lines.join("\n")).unwrap();
    plot_fails(
        &out,
        &["routes_total.csv, line 3", "column `value`", "not a number"],
    );
    // An empty file.
    std::fs::write(out.join("routes_total.csv"), "").unwrap();
    plot_fails(&out, &["routes_total.csv", "empty"]);
    std::fs::write(out.join("routes_total.csv"), &routes).unwrap();
    // A missing file.
    std::fs::remove_file(out.join("reexports_total.csv")).unwrap();
    plot_fails(&out, &["reexports_total.csv", "missing"]);
    // A broken run.json.
    std::fs::write(out.join("run.json"), "{\"scenario\": {\"name\": 1}}").unwrap();
    plot_fails(&out, &["run.json", "scenario.name"]);
    // Options that do not fit the folder.
    let (_dir2, out2) = network_run();
    let a = tradeflow()
        .arg("plot")
        .arg(&out2)
        .args(["--series", "x"])
        .assert()
        .failure()
        .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("comparison"));
}

#[test]
fn plot_of_a_single_counterfactual_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pta");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(
        out.join("run.json"),
        r#"{"scenario": {"name": "can_jpn_pta", "economies": ["CAN", "JPN"], "dynamics": null}}"#,
    )
    .unwrap();
    plot_fails(&out, &["run.json", "single counterfactual"]);
}

/// A second network scenario with a stronger wedge, for comparisons.
fn network_variant(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/network_example.toml"))
        .unwrap()
        .replace("name = \"network_example\"", "name = \"network_high\"")
        .replace("percent = 50", "percent = 120");
    let path = dir.join("network_high.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn compare_writes_charts_and_plot_redraws_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let variant = network_variant(dir.path());
    tradeflow()
        .args(["compare", "scenarios/network_example.toml"])
        .arg(&variant)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("final_flows.csv"));
    let names = files_in(&out.join("charts"));
    for stem in [
        "compare_reexports_via_HUB_to_TGT",
        "compare_imports_of_TGT_final_destination",
        "compare_bars_2026",
        "change_network_high_vs_network_example_2026",
    ] {
        assert!(names.contains(&format!("{stem}.png")), "{stem}: {names:?}");
        assert!(names.contains(&format!("{stem}.csv")), "{stem}: {names:?}");
    }
    let text = std::fs::read_to_string(out.join("final_flows.csv")).unwrap();
    assert!(text.starts_with("scenario,year,exporter,importer,final_destination\n"));
    // Re-draw with a chosen series, year and reference.
    tradeflow()
        .arg("plot")
        .arg(&out)
        .args([
            "--series",
            "TGT.imports.direct_share",
            "--year",
            "2024",
            "--reference",
            "network_high",
        ])
        .assert()
        .success();
    let names = files_in(&out.join("charts"));
    assert!(names.contains(&"compare_direct_share_of_imports_of_TGT.svg".to_owned()));
    assert!(names.contains(&"change_network_example_vs_network_high_2024.svg".to_owned()));
    let svg =
        std::fs::read_to_string(out.join("charts/compare_direct_share_of_imports_of_TGT.svg"))
            .unwrap();
    assert!(svg.contains("Direct share of imports of Target") && svg.contains(">\n%\n<"));
    // Unknown series or reference: named, with what there is.
    let a = tradeflow()
        .arg("plot")
        .arg(&out)
        .args(["--series", "TGT.imports.finall"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("no series `TGT.imports.finall`; nearest: `TGT.imports.final`"),
        "{err}"
    );
    tradeflow()
        .arg("plot")
        .arg(&out)
        .args(["--reference", "nope"])
        .assert()
        .failure()
        .stderr(contains("nope").and(contains("network_example")));
}

#[test]
fn compare_defaults_pick_the_largest_hub_and_its_recorded_inflow() {
    let csv = "scenario,series,year,value,unit\n\
        a,RUS.imports.final,2030,300,USD bn\n\
        a,KAZ.reexports.RUS,2030,19,USD bn\n\
        a,KGZ.reexports.RUS,2030,25,USD bn\n\
        a,CHN-KGZ.recorded.CHN,2030,28,USD bn\n\
        a,EU-KGZ.recorded.EU,2030,1,USD bn\n\
        a,RUS-KGZ.recorded.RUS,2030,40,USD bn\n\
        a,CHN-KAZ.recorded.CHN,2030,50,USD bn\n\
        b,KGZ.reexports.RUS,2030,10,USD bn\n";
    let folder = Folder::from_files(
        Path::new("cmp"),
        &[("compare.csv", csv.as_bytes().to_vec())],
    );
    let charts = compare_charts(&folder, &CompareOptions::default()).unwrap();
    let stems: Vec<String> = charts.iter().map(Chart::stem).collect();
    assert_eq!(
        stems,
        [
            "compare_reexports_via_KGZ_to_RUS",
            "compare_CHN_KGZ_recorded_by_CHN",
            "compare_imports_of_RUS_final_destination",
            "compare_bars_2030",
        ]
    );
    // A missing value is a gap, not a zero.
    let Chart::ScenarioLines(l) = &charts[1] else {
        panic!("lines")
    };
    assert_eq!(l.scenarios[1].1, vec![None]);
}

#[test]
fn year_run_charts_group_small_origins() {
    let (_dir, out) = network_run();
    let folder = Folder::read(&out).unwrap();
    let charts = year_run_charts(&folder, &RunOptions::default()).unwrap();
    let Chart::FlowsByRoute(f) = &charts[0] else {
        panic!("flows first")
    };
    let names: Vec<&str> = f.bands.iter().map(|b| b.name.as_str()).collect();
    assert!(names.contains(&"via HUB (re-exports)"), "{names:?}");
    assert_eq!(f.events.len(), 1);
    assert_eq!(f.events[0].year, 2023);
    // The stack adds up to the target's imports.
    let total: f64 = f.bands.iter().map(|b| b.values[0]).sum();
    assert!((total - 20.0).abs() < 1e-6, "{total}");
}

fn yearly_scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "data") {
            yearly_scenarios(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The whole path, results bytes -> charts -> SVG, on every bundled scenario with years.
#[test]
fn every_bundled_yearly_scenario_draws_its_charts() {
    let mut files = Vec::new();
    yearly_scenarios(&root().join("scenarios"), &mut files);
    files.sort();
    let mut drawn = 0;
    for file in files {
        let s = tradeflow::scenario::Scenario::from_file(&file).unwrap();
        if s.dynamics().is_none() {
            continue;
        }
        let r = tradeflow::simulate::run_years(&s).unwrap();
        let bytes = tradeflow::output::year_run_files(&s, &r).unwrap();
        let folder = Folder::from_files(Path::new("out"), &bytes);
        let charts = year_run_charts(&folder, &RunOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // The observed-against-modelled chart comes with a panel named in `[data]`.
        let panel = matches!(
            s.data_source(),
            tradeflow::scenario::DataSource::World { panel: Some(_), .. }
        );
        assert_eq!(charts.len(), 5 + usize::from(panel), "{}", file.display());
        for c in &charts {
            let svg = render_svg(c, SIZE).unwrap_or_else(|e| panic!("{}: {e}", c.stem()));
            assert!(!svg.contains("NaN"), "{}: {}", file.display(), c.stem());
        }
        drawn += 1;
    }
    assert!(drawn >= 7, "{drawn}");
}

#[test]
fn a_yearly_run_without_routes_gets_its_heatmap() {
    let text = std::fs::read_to_string(root().join("scenarios/network_example.toml")).unwrap();
    // Drop `[routes]` (and its keys) to get the plain gravity path over years.
    let start = text.find("[routes]").unwrap();
    let end = text[start..].find("[[instruments]]").unwrap() + start;
    let text = format!("{}{}", &text[..start], &text[end..]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.toml");
    std::fs::write(&file, text).unwrap();
    let s = tradeflow::scenario::Scenario::from_file(&file).unwrap();
    let r = tradeflow::simulate::run_years(&s).unwrap();
    let bytes = tradeflow::output::year_run_files(&s, &r).unwrap();
    let folder = Folder::from_files(dir.path(), &bytes);
    let charts = year_run_charts(&folder, &RunOptions::default()).unwrap();
    let stems: Vec<String> = charts.iter().map(Chart::stem).collect();
    assert_eq!(stems, ["flow_change_2022_2026"]);
}
