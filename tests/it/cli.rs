//! End-to-end tests of the `tradeflow` command: both commands succeed on the bundled data,
//! and every kind of bad input gives one located message, exit code 1 and no output folder.

use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn tradeflow() -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(root());
    c
}

fn sample_data() -> PathBuf {
    root().join("tests/data/gegravity_sample/sample_data_set.dlm")
}

const COUNTRY_HEADER: &str = "country,factory_gate_price_change_pct,output_change_pct,expenditure_change_pct,imr_baseline,imr_experiment,omr_baseline,omr_experiment,real_gdp_change_pct,welfare_change_pct,terms_of_trade_change_pct,foreign_exports_change_pct,foreign_imports_change_pct,intranational_trade_change_pct";
const BILATERAL_HEADER: &str = "exporter,importer,baseline_trade,experiment_trade,trade_change_pct";

/// The CAN-JPN scenario with the data path made absolute, so it can live in a temp folder.
fn base_scenario() -> String {
    std::fs::read_to_string(root().join("scenarios/can_jpn_pta.toml"))
        .unwrap()
        .replace(
            "../tests/data/gegravity_sample/sample_data_set.dlm",
            &sample_data().display().to_string(),
        )
}

/// Writes a scenario into a temp folder and runs it with `--out` there. Returns the
/// folder, the output path and the assertion.
fn run_text(text: &str) -> (tempfile::TempDir, PathBuf, assert_cmd::assert::Assert) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let a = tradeflow()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert();
    (dir, out, a)
}

/// Runs a scenario that must fail: exit code 1, every `needles` in the message, the file
/// named, no output folder and no staging leftovers.
fn fails_with(text: &str, needles: &[&str]) {
    let (dir, out, a) = run_text(text);
    let mut a = a.failure().code(1).stderr(
        contains("scenario.toml")
            .or(contains(".dlm"))
            .or(contains(".csv")),
    );
    for n in needles {
        a = a.stderr(contains(*n));
    }
    assert!(!out.exists(), "an output folder was left behind");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["scenario.toml"], "leftovers: {names:?}");
}

#[test]
fn run_writes_the_results_folder() {
    let (_dir, out, a) = run_text(&base_scenario());
    a.success().stdout(contains("complete GE: converged"));
    let countries = std::fs::read_to_string(out.join("countries.csv")).unwrap();
    assert_eq!(countries.lines().next(), Some(COUNTRY_HEADER));
    assert_eq!(countries.lines().count(), 31);
    let bilateral = std::fs::read_to_string(out.join("bilateral.csv")).unwrap();
    assert_eq!(bilateral.lines().next(), Some(BILATERAL_HEADER));
    assert_eq!(bilateral.lines().count(), 901);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["scenario"]["name"], "can_jpn_pta");
    assert_eq!(run["tradeflow_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(run["solver_reports"].as_array().unwrap().len(), 3);
    assert!(!countries.contains("NaN") && !bilateral.contains("NaN"));
}

#[test]
fn gravity_command_equals_the_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let via_gravity = dir.path().join("g");
    tradeflow()
        .args(["gravity", "--data"])
        .arg(sample_data())
        .args(["--year", "2006", "--coefficients"])
        .arg(root().join("tests/data/gegravity_sample/coefficients.csv"))
        .args([
            "--sigma",
            "5",
            "--reference-importer",
            "DEU",
            "--experiment",
        ])
        .arg(root().join("tests/data/gegravity_sample/can_jpn_experiment.csv"))
        .args(["--ge-mode", "gegravity", "--quiet", "--out"])
        .arg(&via_gravity)
        .assert()
        .success()
        .stdout("");
    let via_run = dir.path().join("r");
    tradeflow()
        .args([
            "run",
            "scenarios/can_jpn_pta.toml",
            "--ge-mode",
            "gegravity",
            "-q",
            "--out",
        ])
        .arg(&via_run)
        .assert()
        .success();
    for f in ["countries.csv", "bilateral.csv"] {
        assert_eq!(
            std::fs::read(via_gravity.join(f)).unwrap(),
            std::fs::read(via_run.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn malformed_toml_names_the_line() {
    let text = base_scenario().replace("sigma = 5.0", "sigma = = 5.0");
    fails_with(&text, &["line 11"]);
}

#[test]
fn unknown_key_names_the_line_and_key() {
    let text = base_scenario().replace("sigma = 5.0", "sigma = 5.0\nsigmaa = 4");
    fails_with(&text, &["line 12", "unknown field `sigmaa`"]);
}

#[test]
fn unknown_country_in_a_shock_is_named() {
    let text = base_scenario().replace(r#"["JPN", "CAN"]"#, r#"["JPN", "KGZZ"]"#);
    fails_with(&text, &["shocks[0].pairs[1][1]", "`KGZZ`"]);
}

#[test]
fn unknown_group_or_country_in_a_set_is_named() {
    let text = format!(
        "{}\n[[shocks]]\nkind = \"tariff\"\npercent = 10\nexporters = [\"CHN\"]\nimporters = [\"EU\"]\n",
        base_scenario()
    );
    fails_with(
        &text,
        &[
            "shocks[1].importers[0]",
            "`EU` is neither an economy nor a group",
        ],
    );
}

#[test]
fn sigma_at_most_one_is_rejected() {
    fails_with(
        &base_scenario().replace("sigma = 5.0", "sigma = 1.0"),
        &["sigma: must be greater than 1"],
    );
}

#[test]
fn unknown_reference_importer_is_named() {
    let text = base_scenario().replace(
        r#"reference_importer = "DEU""#,
        r#"reference_importer = "XXX""#,
    );
    fails_with(&text, &["reference_importer", "`XXX`"]);
}

#[test]
fn unknown_cost_variable_is_named() {
    let text = base_scenario().replace("lndist = ", "log_distance = ");
    fails_with(
        &text,
        &["costs.coefficients.log_distance", "unknown cost variable"],
    );
}

#[test]
fn shock_on_a_variable_without_coefficient_is_named() {
    let text = base_scenario().replace(r#"variable = "pta""#, r#"variable = "wto""#);
    fails_with(
        &text,
        &["shocks[0].variable", "unknown cost variable `wto`"],
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = base_scenario()
        .replace("sigma = 5.0", "sigma = 0.5")
        .replace(
            r#"reference_importer = "DEU""#,
            r#"reference_importer = "XXX""#,
        );
    fails_with(&text, &["2 problems", "sigma", "reference_importer"]);
}

/// Writes a modified copy of the sample data and a scenario that uses it.
fn with_data(edit: impl Fn(&str) -> String, needles: &[&str]) {
    let data = std::fs::read_to_string(sample_data()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad_data.dlm");
    std::fs::write(&path, edit(&data)).unwrap();
    let text = base_scenario().replace(
        &sample_data().display().to_string(),
        &path.display().to_string(),
    );
    let mut all = vec!["bad_data.dlm"];
    all.extend_from_slice(needles);
    fails_with(&text, &all);
}

#[test]
fn negative_flow_names_line_and_column() {
    // Line 2 of the file is GBR->AUS with trade 4310.
    with_data(
        |d| d.replacen("GBR,AUS,2006,4310,", "GBR,AUS,2006,-4310,", 1),
        &["line 2", "`trade`", "negative"],
    );
}

#[test]
fn non_finite_flow_is_rejected() {
    with_data(
        |d| d.replacen("GBR,AUS,2006,4310,", "GBR,AUS,2006,NaN,", 1),
        &["line 2", "not a finite number"],
    );
    with_data(
        |d| d.replacen("GBR,AUS,2006,4310,", "GBR,AUS,2006,inf,", 1),
        &["line 2", "not a finite number"],
    );
}

#[test]
fn missing_pair_is_named() {
    with_data(
        |d| {
            d.lines()
                .filter(|l| !l.starts_with("GBR,AUS,"))
                .collect::<Vec<_>>()
                .join("\n")
        },
        &["not square", "GBR->AUS"],
    );
}

#[test]
fn malformed_csv_names_the_line() {
    with_data(
        |d| d.replacen("GBR,AUS,2006,4310,", "GBR,AUS,2006,4310,1,", 1),
        &["line 2", "malformed CSV"],
    );
}

#[test]
fn missing_data_file_is_named() {
    let text = base_scenario().replace(
        &sample_data().display().to_string(),
        "/nonexistent/data.dlm",
    );
    let (_dir, out, a) = run_text(&text);
    a.failure()
        .code(1)
        .stderr(contains("/nonexistent/data.dlm"));
    assert!(!out.exists());
}

#[test]
fn inline_negative_flow_names_the_field() {
    let text = std::fs::read_to_string(root().join("scenarios/two_country_symmetric.toml"))
        .unwrap()
        .replacen("value = 20.0", "value = -20.0", 1);
    fails_with(&text, &["data.flows[1].value", "non-negative"]);
}

#[test]
fn unwritable_output_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    tradeflow()
        .args(["run", "scenarios/can_jpn_pta.toml", "--out"])
        .arg(blocker.join("out"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("is not a folder"))
        .stderr(contains("nothing was written"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");
}

#[test]
fn non_convergence_is_an_error_with_the_report() {
    let text = format!("{}\n[solver]\nmax_iterations = 3\n", base_scenario());
    fails_with(
        &text,
        &[
            "did not converge",
            "baseline resistances",
            "iteration limit after 3 iterations",
        ],
    );
}

fn gravity_with_experiment(experiment: &str) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("changes.csv");
    std::fs::write(&exp, experiment).unwrap();
    let out = dir.path().join("out");
    let a = tradeflow()
        .args(["gravity", "--data"])
        .arg(sample_data())
        .args(["--coefficients"])
        .arg(root().join("tests/data/gegravity_sample/coefficients.csv"))
        .args([
            "--sigma",
            "5",
            "--reference-importer",
            "DEU",
            "--experiment",
        ])
        .arg(&exp)
        .arg("--out")
        .arg(&out)
        .assert();
    assert!(!out.exists());
    a
}

#[test]
fn gravity_experiment_errors_name_file_and_line() {
    gravity_with_experiment("exporter,importer,variable,value\nCAN,JPN,pta,1\nJPN,CAN,pta,one\n")
        .failure()
        .code(1)
        .stderr(contains("changes.csv, line 3"));
    gravity_with_experiment("exporter,importer,variable,value\nCAN,JPN,pta,1\nJPN,XYZ,pta,1\n")
        .failure()
        .code(1)
        .stderr(contains("changes.csv, line 3").and(contains("`XYZ`")));
    gravity_with_experiment("exporter,importer,variable,value\nCAN,JPN,wto,1\n")
        .failure()
        .code(1)
        .stderr(contains("unknown cost variable `wto`"));
}

#[test]
fn usage_errors_exit_with_two() {
    tradeflow().args(["run"]).assert().failure().code(2);
    tradeflow().args(["frobnicate"]).assert().failure().code(2);
}

#[test]
fn missing_scenario_file_is_named() {
    tradeflow()
        .args(["run", "no/such/file.toml"])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("no/such/file.toml"));
    let _ = Path::new("");
}

#[test]
fn run_of_a_yearly_scenario_writes_its_detail_and_total_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ah");
    tradeflow()
        .args(["run", "scenarios/roundabout/as_happened.toml", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(
            contains("CHN-KGZ.recorded.CHN")
                .and(contains("KGZ.reexports.RUS"))
                .and(contains(
                    "Solver: 57 gravity solves converged: 3 baselines (one per sector)",
                )),
        );
    for (file, header) in [
        ("flows.csv", "year,sector,exporter,importer,shipped,final_destination"),
        ("recorded.csv", "year,sector,exporter,importer,reporter,recorded"),
        ("routes.csv", "year,sector,origin,via,destination,value,pair_fraction,target_imports_fraction"),
        ("reexports.csv", "year,sector,intermediary,origin,imports_from_origin,reexports_to_target,reexport_fraction,recorded_by_intermediary,margin_income"),
        ("countries.csv", "year,sector,country,welfare_change_pct,real_gdp_change_pct,factory_gate_price_change_pct,output_change_pct,foreign_exports_change_pct,foreign_imports_change_pct"),
        ("flows_total.csv", "year,exporter,importer,shipped,final_destination"),
        ("recorded_total.csv", "year,exporter,importer,reporter,recorded"),
        ("routes_total.csv", "year,origin,via,destination,value,pair_fraction,target_imports_fraction"),
        ("reexports_total.csv", "year,intermediary,imports_from_origins,reexports_to_target,reexport_fraction,recorded_by_intermediary,margin_income"),
        ("countries_total.csv", "year,country,welfare_change_pct,real_gdp_change_pct,factory_gate_price_change_pct,output_change_pct,foreign_exports_change_pct,foreign_imports_change_pct"),
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(text.lines().next(), Some(header), "{file}");
        assert!(!text.contains("NaN") && !text.contains("inf"), "{file}");
        // Detail files hold leaf rows only: no `all` sector beside the two sectors.
        assert!(!text.contains(",all,"), "{file}");
    }
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["years"].as_array().unwrap().len(), 10);
    assert_eq!(run["significant_digits"], 10);
    assert_eq!(run["files"].as_array().unwrap().len(), 10);
    assert_eq!(run["files"][0]["file"], "flows.csv");
    assert_eq!(run["files"][0]["columns"][4]["unit"], "data unit");
    assert!(
        run["scenario"]["dynamics"]["instruments"]
            .as_array()
            .unwrap()
            .len()
            >= 9
    );
}

#[test]
fn compare_lines_up_the_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    tradeflow()
        .args([
            "compare",
            "scenarios/roundabout/no_war.toml",
            "scenarios/roundabout/as_happened.toml",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("no_war").and(contains("as_happened")));
    let text = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert_eq!(text.lines().next(), Some("scenario,series,year,value,unit"));
    assert!(text.contains("as_happened,CHN-KGZ.recorded.CHN,2023,"));
    assert!(text.contains("no_war,KAZ.reexports.RUS,2030,"));
}

#[test]
fn compare_rejects_a_scenario_without_years() {
    let dir = tempfile::tempdir().unwrap();
    tradeflow()
        .args(["compare", "scenarios/can_jpn_pta.toml", "--out"])
        .arg(dir.path().join("cmp"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("can_jpn_pta.toml").and(contains("no `[years]`")));
    assert!(!dir.path().join("cmp").exists());
}

#[test]
fn monte_carlo_shards_merge_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = "scenarios/can_jpn_pta_montecarlo.toml";
    let full = dir.path().join("full");
    tradeflow()
        .args(["run", file, "--draws", "20", "--seed", "7", "-q", "--out"])
        .arg(&full)
        .assert()
        .success();
    let mut shards = Vec::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("s{k}"));
        tradeflow()
            .args([
                "run",
                file,
                "--draws",
                "20",
                "--seed",
                "7",
                "--shard",
                &format!("{k}/3"),
                "-q",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        shards.push(out.join(format!("montecarlo-shard-{k}-of-3")));
    }
    let merged = dir.path().join("merged");
    tradeflow()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in ["montecarlo.csv", "failed_draws.csv"] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(full.join("montecarlo").join(f)).unwrap(),
            "{f}"
        );
    }
    // No draw failed: the file still has its header (an empty file has no columns).
    let failed = std::fs::read_to_string(full.join("montecarlo/failed_draws.csv")).unwrap();
    if failed.lines().count() <= 1 {
        assert_eq!(failed, "draw,reason\n");
    }
    let bands = std::fs::read_to_string(full.join("montecarlo/montecarlo.csv")).unwrap();
    assert_eq!(
        bands.lines().next(),
        Some("series,year,draws,failed,mean,sd,q05,q25,q50,q75,q95")
    );
    // A missing shard is an error, and nothing is written.
    let partial = dir.path().join("partial");
    tradeflow()
        .arg("merge")
        .args(&shards[..2])
        .arg("--out")
        .arg(&partial)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("do not cover draws 0..20"));
    assert!(!partial.exists());
}

#[test]
fn monte_carlo_needs_an_uncertainty_section() {
    let dir = tempfile::tempdir().unwrap();
    tradeflow()
        .args([
            "run",
            "scenarios/can_jpn_pta.toml",
            "--draws",
            "5",
            "-q",
            "--out",
        ])
        .arg(dir.path().join("o"))
        .assert()
        .failure()
        .code(1)
        .stderr(contains("can_jpn_pta.toml").and(contains("no `[uncertainty]`")));
    tradeflow()
        .args([
            "run",
            "scenarios/can_jpn_pta.toml",
            "--draws",
            "5",
            "--shard",
            "4/3",
        ])
        .assert()
        .failure()
        .code(2)
        .stderr(contains("1 <= K <= N"));
}

#[test]
fn sweep_shards_merge_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = "scenarios/two_country_symmetric.toml";
    let params = [
        "--param",
        "sigma=3:7:5",
        "--param",
        "shocks[0].factor=0.7:0.9:3",
    ];
    let full = dir.path().join("full");
    tradeflow()
        .args(["sweep", file])
        .args(params)
        .args(["--output", "ALP.welfare_change_pct", "-q", "--out"])
        .arg(&full)
        .assert()
        .success();
    let sweep = std::fs::read_to_string(full.join("sweep/sweep.csv")).unwrap();
    assert_eq!(
        sweep.lines().next(),
        Some("point,sigma,shocks[0].factor,series,year,value")
    );
    assert_eq!(sweep.lines().count(), 16);
    let tornado = std::fs::read_to_string(full.join("sweep/tornado.csv")).unwrap();
    assert!(
        tornado
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("shocks[0].factor,")
            || tornado.lines().nth(1).unwrap().starts_with("sigma,")
    );
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("s{k}"));
        tradeflow()
            .args(["sweep", file])
            .args(params)
            .args([
                "--output",
                "ALP.welfare_change_pct",
                "--shard",
                &format!("{k}/2"),
                "-q",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        shards.push(out.join(format!("sweep-shard-{k}-of-2")));
    }
    let merged = dir.path().join("merged");
    tradeflow()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in ["sweep.csv", "failed_points.csv", "tornado.csv"] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(full.join("sweep").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn bad_sweep_specs_give_located_errors() {
    let run = |param: &str| {
        tradeflow()
            .args([
                "sweep",
                "scenarios/two_country_symmetric.toml",
                "--param",
                param,
            ])
            .assert()
    };
    run("sigma=7:3:5")
        .failure()
        .code(2)
        .stderr(contains("bounds reversed"));
    run("routes.theta=3:7:5")
        .failure()
        .code(1)
        .stderr(contains("two_country_symmetric.toml").and(contains("routes.theta")));
}

/// `--no-charts` writes the same data files and no charts, and empties a `charts/` an
/// earlier run left (a yearly run and its Monte Carlo folder alike).
#[test]
fn no_charts_writes_the_data_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let scenario = "scenarios/roundabout/as_happened.toml";
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run", scenario, "--draws", "4", "--seed", "3", "-q", "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend(extra);
        tradeflow().args(&args).assert().success();
    };
    // Chart files (the folder's own marker, `.tradeflow.json`, is not one).
    let charts = |sub: &str| {
        std::fs::read_dir(out.join(sub)).map_or(0, |d| {
            d.filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                !name.to_string_lossy().starts_with('.')
            })
            .count()
        })
    };
    run(&[]);
    assert!(charts("charts") > 0 && charts("montecarlo/charts") > 0);
    let flows = std::fs::read(out.join("flows.csv")).unwrap();
    let bands = std::fs::read(out.join("montecarlo/montecarlo.csv")).unwrap();
    run(&["--no-charts"]);
    assert_eq!(charts("charts"), 0);
    assert_eq!(charts("montecarlo/charts"), 0);
    assert_eq!(std::fs::read(out.join("flows.csv")).unwrap(), flows);
    assert_eq!(
        std::fs::read(out.join("montecarlo/montecarlo.csv")).unwrap(),
        bands
    );
}
