//! `tradeflow merge` checks content: shard rows are matched by key, so reordered rows merge
//! into the unsharded run byte for byte, and a repeated row is an error naming the file and
//! line; a sweep's scenario is found from the record file, whatever the working directory.

use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn tradeflow(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(dir);
    c
}

/// Rewrites a CSV file's rows (header kept) with `f`.
fn rewrite_rows(path: &Path, f: impl Fn(&mut Vec<String>)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut rows = lines.split_off(1);
    f(&mut rows);
    lines.extend(rows);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn reordered_monte_carlo_rows_merge_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = "scenarios/can_jpn_pta_montecarlo.toml";
    let full = dir.path().join("full");
    tradeflow(&root())
        .args(["run", file, "--draws", "9", "--seed", "3", "-q", "--out"])
        .arg(&full)
        .assert()
        .success();
    let mut shards: Vec<PathBuf> = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("s{k}"));
        tradeflow(&root())
            .args(["run", file, "--draws", "9", "--seed", "3", "-q"])
            .args(["--shard", &format!("{k}/2"), "--out"])
            .arg(&out)
            .assert()
            .success();
        shards.push(out.join(format!("montecarlo-shard-{k}-of-2")));
    }
    rewrite_rows(&shards[0].join("draws.csv"), |rows| rows.reverse());
    let merged = dir.path().join("merged");
    tradeflow(dir.path())
        .arg("merge")
        .args(&shards)
        .args(["-q", "--out"])
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
    // A repeated row: an error naming the file and line, nothing written.
    rewrite_rows(&shards[1].join("draws.csv"), |rows| {
        let first = rows[0].clone();
        rows.insert(3, first);
    });
    let again = dir.path().join("again");
    tradeflow(dir.path())
        .arg("merge")
        .args(&shards)
        .args(["-q", "--out"])
        .arg(&again)
        .assert()
        .failure()
        .code(1)
        .stderr(contains("s2/montecarlo-shard-2-of-2/draws.csv, line 5").and(contains("repeated")));
    assert!(!again.exists());
}

#[test]
fn sweep_shards_merge_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut shards: Vec<PathBuf> = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("s{k}"));
        tradeflow(&root())
            .args(["sweep", "scenarios/two_country_symmetric.toml"])
            .args([
                "--param",
                "sigma=3:7:3",
                "-q",
                "--shard",
                &format!("{k}/2"),
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        shards.push(out.join(format!("sweep-shard-{k}-of-2")));
    }
    rewrite_rows(&shards[0].join("sweep.csv"), |rows| rows.reverse());
    // Not the folder the sweep ran in: the scenario is found from sweep.json.
    let merged = dir.path().join("merged");
    tradeflow(dir.path())
        .arg("merge")
        .args(&shards)
        .args(["-q", "--out"])
        .arg(&merged)
        .assert()
        .success();
    let full = dir.path().join("full");
    tradeflow(&root())
        .args(["sweep", "scenarios/two_country_symmetric.toml"])
        .args(["--param", "sigma=3:7:3", "-q", "--out"])
        .arg(&full)
        .assert()
        .success();
    for f in [
        "sweep.csv",
        "failed_points.csv",
        "tornado.csv",
        "sweep.json",
    ] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(full.join("sweep").join(f)).unwrap(),
            "{f}"
        );
    }
}
