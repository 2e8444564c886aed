//! Known-answer tests of PPML estimation (`tradeflow::estimate`, `tradeflow estimate`) on
//! gegravity's sample data, against numbers printed by `benches/reference_ppml.py`
//! (statsmodels 0.15.0 GLM Poisson with exporter and importer dummies, `cov_type="HC0"`;
//! pyfixest 0.60.0 `fepois` agrees to 12 digits) and against the ppmlhdfe estimates
//! gegravity ships (`tests/data/gegravity_sample/coefficients.csv`).

use std::path::Path;

use assert_cmd::Command;
use tradeflow::estimate::table::{read_table, FixedEffectKind, TableSpec};
use tradeflow::estimate::{ppml, PpmlFit, PpmlOptions, StdErrKind};

const DATA: &str = "tests/data/gegravity_sample/sample_data_set.dlm";
const VARS: [&str; 5] = [
    "lndist",
    "contiguity",
    "common_language",
    "pta",
    "international",
];

/// `benches/reference_ppml.py`: variable, beta, HC0 stderr, pair-clustered stderr
/// (G/(G-1) factor). The last row is ppmlhdfe's constant as defined in `estimate`'s docs.
const REFERENCE: [(&str, f64, f64, f64); 6] = [
    ("lndist", -0.389862313097, 0.0729509660921, 0.0729915282116),
    ("contiguity", 0.891576898152, 0.132661627046, 0.132735389424),
    (
        "common_language",
        0.0326249667333,
        0.0840234552126,
        0.0840701738458,
    ),
    ("pta", 0.471138302694, 0.10759801004, 0.107657836573),
    (
        "international",
        -3.41258441192,
        0.215003941771,
        0.215123488037,
    ),
    ("constant", 16.3243386274, 0.484144482727, 0.484413676233),
];
/// The reference's deviance.
const DEVIANCE: f64 = 3288638.61293;

/// ppmlhdfe, as gegravity ships it: Stata's display, 7 significant digits or fewer.
const PPMLHDFE: [(&str, &str, &str); 6] = [
    ("lndist", "-0.3898623", "0.0729915"),
    ("contiguity", "0.891577", "0.1327354"),
    ("common_language", "0.0326249", "0.0840702"),
    ("pta", "0.4711383", "0.1076578"),
    ("international", "-3.412584", "0.2151235"),
    ("constant", "16.32434", "0.4844137"),
];

/// One unit in the last digit `printed` shows (`0.891577` -> `1e-6`).
fn last_digit(printed: &str) -> f64 {
    let decimals = printed.split('.').nth(1).map_or(0, str::len);
    10f64.powi(-(decimals as i32))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn sample_fit(se: StdErrKind) -> PpmlFit {
    let spec = TableSpec {
        dependent: "trade".into(),
        variables: VARS.iter().map(|s| s.to_string()).collect(),
        fixed_effects: vec![FixedEffectKind::Exporter, FixedEffectKind::Importer],
        cluster_pair: true,
        year: Some(2006),
    };
    let table = read_table(Path::new(DATA), &spec).unwrap();
    let options = PpmlOptions {
        se,
        ..PpmlOptions::default()
    };
    ppml(&table.design, &options).unwrap()
}

fn all(fit: &PpmlFit) -> Vec<&tradeflow::estimate::Coefficient> {
    fit.coefficients
        .iter()
        .chain(std::iter::once(&fit.constant))
        .collect()
}

#[test]
fn reproduces_the_reference_coefficients_and_hc0_standard_errors() {
    let fit = sample_fit(StdErrKind::Robust);
    assert!(fit.report.converged, "{:?}", fit.report);
    assert_eq!((fit.report.kept, fit.dropped.len()), (900, 0));
    assert!(rel(fit.report.deviance, DEVIANCE) < 1e-9);
    for (c, (name, beta, hc0, _)) in all(&fit).into_iter().zip(REFERENCE) {
        assert_eq!(c.name, name);
        assert!(rel(c.beta, beta) < 1e-9, "{name}: {} vs {beta}", c.beta);
        assert!(rel(c.stderr, hc0) < 1e-6, "{name}: {} vs {hc0}", c.stderr);
    }
}

#[test]
fn pair_clustered_standard_errors_match_the_reference() {
    let fit = sample_fit(StdErrKind::ClusterPair);
    assert_eq!(fit.report.clusters, Some(900));
    for (c, (name, _, _, cluster)) in all(&fit).into_iter().zip(REFERENCE) {
        assert!(
            rel(c.stderr, cluster) < 1e-6,
            "{name}: {} vs {cluster}",
            c.stderr
        );
    }
}

/// ppmlhdfe's numbers as gegravity prints them: every coefficient within 1.5 units of the
/// last digit shown (contiguity's `0.891577` is 1.02e-6 from the full-precision estimate,
/// common_language's `0.0326249` 6.7e-8, 2.0e-6 relative: the printing, and ppmlhdfe's
/// default tolerance, not the estimate). Its `vce(robust)` standard errors are HC0 times
/// `sqrt(N / (N - 1))`, N = 900 (the reference's pair-clustered errors, one observation per
/// pair, are the same thing), within half a unit of the last digit.
#[test]
fn agrees_with_the_ppmlhdfe_estimates_gegravity_ships() {
    let fit = sample_fit(StdErrKind::Robust);
    let factor = (900.0_f64 / 899.0).sqrt();
    for (c, (name, beta, se)) in all(&fit).into_iter().zip(PPMLHDFE) {
        let (b, s): (f64, f64) = (beta.parse().unwrap(), se.parse().unwrap());
        assert!(
            (c.beta - b).abs() <= 1.5 * last_digit(beta),
            "{name}: {} vs {beta}",
            c.beta
        );
        assert!(
            (c.stderr * factor - s).abs() <= 0.5 * last_digit(se),
            "{name}: {} vs {se}",
            c.stderr * factor
        );
    }
}

fn tradeflow() -> Command {
    Command::cargo_bin("tradeflow").unwrap()
}

#[test]
fn the_command_writes_coefficients_that_tradeflow_gravity_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("est");
    let assert = tradeflow()
        .args(["estimate", "--data", DATA, "--year", "2006", "--variables"])
        .arg(VARS.join(","))
        .args(["--fixed-effects", "exporter,importer", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("900 kept, 0 dropped"), "{stdout}");
    assert!(stdout.contains("lndist"), "{stdout}");
    let coefs = std::fs::read_to_string(out.join("coefficients.csv")).unwrap();
    let mut lines = coefs.lines();
    assert_eq!(lines.next(), Some("variable,beta,stderr"));
    for (line, (name, beta, hc0, _)) in lines.zip(REFERENCE) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0], name);
        assert!(rel(f[1].parse().unwrap(), beta) < 1e-9, "{line}");
        assert!(rel(f[2].parse().unwrap(), hc0) < 1e-6, "{line}");
    }
    let fe = std::fs::read_to_string(out.join("fixed_effects.csv")).unwrap();
    assert!(
        fe.starts_with("dimension,group,estimate\nexporter,"),
        "{fe}"
    );
    assert_eq!(fe.lines().count(), 1 + 60);
    assert_eq!(
        std::fs::read_to_string(out.join("dropped.csv")).unwrap(),
        "line,exporter,importer,year,reason\n"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("estimate.json")).unwrap()).unwrap();
    assert_eq!(json["converged"], true);
    assert_eq!(json["standard_errors"], "robust");
    assert_eq!(json["kept"], 900);

    // The coefficients drive the gegravity CAN-JPN experiment unchanged.
    let gravity_out = dir.path().join("ge");
    tradeflow()
        .args([
            "gravity",
            "--data",
            DATA,
            "--year",
            "2006",
            "--coefficients",
        ])
        .arg(out.join("coefficients.csv"))
        .args([
            "--sigma",
            "5",
            "--reference-importer",
            "DEU",
            "--experiment",
            "tests/data/gegravity_sample/can_jpn_experiment.csv",
            "--quiet",
            "--out",
        ])
        .arg(&gravity_out)
        .assert()
        .success();
}

#[test]
fn dropped_rows_are_listed_with_their_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("panel.csv");
    // Four economies with every pair, then D: two zero flows into D (separated) and a
    // missing flow out of it.
    let mut text = String::from("exporter,importer,year,trade,lndist\n");
    let codes = ["A", "B", "C", "E"];
    for (i, e) in codes.iter().enumerate() {
        for (j, m) in codes.iter().enumerate() {
            let lndist = if i == j {
                0.5
            } else {
                1.0 + ((3 * i + 5 * j) % 7) as f64 / 4.0
            };
            let trade = 100.0 * (-lndist).exp() * (1.0 + ((i + 2 * j) % 3) as f64 / 5.0);
            text.push_str(&format!("{e},{m},2006,{trade:.3},{lndist}\n"));
        }
    }
    text.push_str("A,D,2006,0,3.0\nB,D,2006,0,2.5\nD,A,2006,,3.0\n");
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("est");
    tradeflow()
        .args(["estimate", "--data"])
        .arg(&data)
        .args(["--variables", "lndist", "--out"])
        .arg(&out)
        .assert()
        .success();
    let dropped = std::fs::read_to_string(out.join("dropped.csv")).unwrap();
    assert_eq!(
        dropped,
        "line,exporter,importer,year,reason\n\
         18,A,D,2006,separated: its `importer` group has zero trade in every observation\n\
         19,B,D,2006,separated: its `importer` group has zero trade in every observation\n\
         20,D,A,2006,missing or non-finite value in `dependent variable`\n"
    );
}

#[test]
fn bad_input_is_located_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("est");
    let run = |vars: &str, fe: &str| {
        tradeflow()
            .args([
                "estimate",
                "--data",
                DATA,
                "--year",
                "2006",
                "--variables",
                vars,
            ])
            .args(["--fixed-effects", fe, "--out"])
            .arg(&out)
            .assert()
            .failure()
            .code(1)
    };
    let a = run("lndist,distance,tariff", "exporter,importer");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("line 1: variables `distance`, `tariff` are not in the header"),
        "{err}"
    );
    let a = run("lndist", "exporter,origin");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("unknown fixed effect `origin`"), "{err}");
    // A regressor that does not vary within pairs is absorbed by pair fixed effects.
    let a = run("lndist", "pair");
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("singleton") || err.contains("absorbed") || err.contains("too few"),
        "{err}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "exporter,importer,year,trade,lndist\nA,B,2006,3,1\nB,A,2006,x,1\n",
    )
    .unwrap();
    let a = tradeflow()
        .args(["estimate", "--data"])
        .arg(&bad)
        .args(["--variables", "lndist", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("bad.csv, line 3, column 4 (`trade`): not a number (found `x`)"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
}
