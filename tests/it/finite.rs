//! No `NaN` or `inf` on disk: every bundled scenario is run by the `tradeflow` command
//! (results, charts' CSVs, a few Monte Carlo draws for the scenarios with `[uncertainty]`,
//! a sweep with its merge) and every CSV and JSON file written is scanned for a number
//! that is not finite. An undefined statistic is an empty cell instead.

use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;

fn tradeflow() -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(root());
    c
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path
            .extension()
            .is_some_and(|e| e == "csv" || e == "json" || e == "toml")
        {
            out.push(path);
        }
    }
    out
}

/// Words of `text` that spell a number that is not finite (`NaN`, `inf`, `-Infinity`...).
fn non_finite_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+'))
        .filter(|w| {
            let w = w.trim_start_matches(['-', '+']).to_ascii_lowercase();
            w == "nan" || w == "inf" || w == "infinity"
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_scanner_sees_non_finite_numbers() {
    assert_eq!(non_finite_words("a,NaN,1\nb,-inf,2"), ["NaN", "-inf"]);
    assert!(non_finite_words("info,financial,0.5,\"\"").is_empty());
}

fn scenarios() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files_under(&root().join("scenarios"))
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p.components().any(|c| c.as_os_str() == "data")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn no_result_file_of_a_bundled_scenario_holds_nan_or_inf() {
    let tmp = tempfile::tempdir().unwrap();
    let mut written = 0;
    for (k, file) in scenarios().iter().enumerate() {
        let out = tmp.path().join(format!("r{k}"));
        tradeflow()
            .arg("run")
            .arg(file)
            .args(["-q", "--out"])
            .arg(&out)
            .assert()
            .success();
        let text = std::fs::read_to_string(file).unwrap();
        if text.contains("[uncertainty") || text.contains("uncertainty.") {
            tradeflow()
                .arg("run")
                .arg(file)
                .args(["--draws", "3", "--seed", "1", "-q", "--out"])
                .arg(&out)
                .assert()
                .success();
        }
    }
    // A sweep, sharded and merged (the merge's tornado and chart CSV included).
    let file = "scenarios/two_country_symmetric.toml";
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = tmp.path().join(format!("s{k}"));
        tradeflow()
            .args(["sweep", file, "--param", "sigma=3:7:3", "-q"])
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(&out)
            .assert()
            .success();
        shards.push(out.join(format!("sweep-shard-{k}-of-2")));
    }
    tradeflow()
        .arg("merge")
        .args(&shards)
        .arg("-q")
        .arg("--out")
        .arg(tmp.path().join("merged"))
        .assert()
        .success();
    for path in files_under(tmp.path()) {
        let text = std::fs::read_to_string(&path).unwrap();
        let bad = non_finite_words(&text);
        assert!(bad.is_empty(), "{}: {bad:?}", path.display());
        written += 1;
    }
    assert!(written > 20, "only {written} files written");
}
