//! Results folders: tradeflow writes only folders it owns, replaces only its own files, and
//! leaves a user's files and earlier results byte for byte as they were whatever fails:
//! refused folders, bad specifications, killed and concurrent runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::root;
use assert_cmd::Command;
use predicates::str::contains;

/// Every file under `dir` (relative path -> bytes), symbolic links as their target, except
/// the lock file, whose content names the last process that held it.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let t = e.file_type().unwrap();
            if t.is_dir() {
                out.insert(format!("{r}/"), Vec::new());
                walk(&e.path(), &r, out);
            } else if t.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                out.insert(r, target.to_string_lossy().as_bytes().to_vec());
            } else if name != ".tradeflow.lock" {
                out.insert(r, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

/// A project folder in a temp dir: a copy of `scenarios/` and the sample data, as the
/// scenarios' relative paths expect.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root().join("scenarios"), &dir.path().join("scenarios"));
    copy_tree(
        &root().join("tests/data/gegravity_sample"),
        &dir.path().join("tests/data/gegravity_sample"),
    );
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

fn tradeflow(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(cwd);
    c
}

/// No staging folder of tradeflow's is left anywhere under `dir`.
fn no_staging_left(dir: &Path) {
    let leftovers: Vec<String> = snapshot(dir)
        .into_keys()
        .filter(|k| k.contains(".tradeflow-staging-"))
        .collect();
    assert!(leftovers.is_empty(), "left over: {leftovers:?}");
}

/// A small yearly scenario with `[uncertainty]` and `[calibration]`, so that every command
/// runs on it in a fraction of a second.
const SMALL: &str = concat!(
    r#"
name = "small"
description = "four economies, one hub"
reference_importer = "OTH"
sigma = 5.0
economies = ["ORG", "HUB", "TGT", "OTH"]
[years]
base = 2022
horizon = 2024
adjustment = 1.0
"#,
    crate::common::four_economy_flows!(),
    r#"[costs]
method = "observed"
[routes]
theta = 4.0
target = "TGT"
intermediaries = ["HUB"]
origins = ["ORG", "OTH"]
premium = 3.0
[[instruments]]
id = "controls"
kind = "export_controls"
start = 2023
exporters = ["ORG"]
importers = ["TGT"]
percent = 100.0
[[instruments]]
id = "channel"
kind = "evasion_channel"
start = 2023
via = ["HUB"]
premium = 2.0
[[uncertainty.parameters]]
path = "routes.theta"
distribution = "uniform"
low = 3.0
high = 5.0
[[calibration.free]]
path = "instruments.channel.premium"
lower = 1.0
upper = 6.0
[[calibration.targets]]
series = "HUB.reexports.TGT"
year = 2024
value = 1.0
source = "made up for the test"
"#
);

/// Writes [`SMALL`] into the project as `scenarios/small.toml`.
fn small(cwd: &Path) -> &'static str {
    std::fs::write(cwd.join("scenarios/small.toml"), SMALL).unwrap();
    "scenarios/small.toml"
}

const NET: &str = "scenarios/network_example.toml";
const AS_HAPPENED: &str = "scenarios/roundabout/as_happened.toml";

#[test]
fn every_refused_out_leaves_the_users_files_as_they_were() {
    let p = project();
    let cwd = p.path();
    std::fs::create_dir(cwd.join("mywork")).unwrap();
    std::fs::write(cwd.join("mywork/chapter1.tex"), "my thesis").unwrap();
    std::fs::write(cwd.join("report.txt"), "my report").unwrap();
    let before = snapshot(cwd);
    let abs = cwd.display().to_string();
    let scenario_dir = cwd.join("scenarios").display().to_string();
    let cases: [(&str, &str); 7] = [
        ("mywork", "did not write (chapter1.tex)"),
        (".", "it is the working directory"),
        (&abs, "it is the working directory"),
        ("scenarios", "which this command reads"),
        (&scenario_dir, "which this command reads"),
        ("report.txt", "it is a file, not a folder"),
        ("/dev/null", "not a folder"),
    ];
    for (out, why) in cases {
        tradeflow(cwd)
            .args(["run", NET, "--out", out])
            .assert()
            .code(1)
            .stderr(contains(why))
            .stderr(contains("nothing was written"));
        assert_eq!(snapshot(cwd), before, "--out {out}");
    }
    // A folder above the working directory, and the other commands.
    let sub = cwd.join("mywork");
    tradeflow(&sub)
        .args(["run", &cwd.join(NET).display().to_string(), "--out", ".."])
        .assert()
        .code(1)
        .stderr(contains("holds the working directory"));
    for args in [
        vec!["compare", AS_HAPPENED, "--out", "mywork"],
        vec!["calibrate", AS_HAPPENED, "--out", "mywork"],
        vec![
            "sweep",
            AS_HAPPENED,
            "--param",
            "routes.theta=3:5:2",
            "--out",
            "mywork",
        ],
        vec![
            "run",
            AS_HAPPENED,
            "--draws",
            "2",
            "--out",
            "scenarios/roundabout",
        ],
    ] {
        tradeflow(cwd)
            .args(&args)
            .assert()
            .code(1)
            .stderr(contains("nothing was written"));
        assert_eq!(snapshot(cwd), before, "{args:?}");
    }
    // `plot` of a folder that holds no results says so and adds nothing.
    tradeflow(cwd)
        .args(["plot", "mywork"])
        .assert()
        .code(1)
        .stderr(contains("not a results folder"));
    assert_eq!(snapshot(cwd), before);
}

#[test]
fn each_command_replaces_only_its_own_results() {
    let p = project();
    let cwd = p.path();
    let scenario = small(cwd);
    let out = cwd.join("plots/small");
    // The README's order reversed: calibrate first, then run.
    tradeflow(cwd)
        .args(["calibrate", scenario, "-q"])
        .assert()
        .success();
    let calibration = snapshot(&out.join("calibration"));
    assert!(calibration.contains_key("fit.csv"));
    tradeflow(cwd)
        .args(["run", scenario, "-q", "--draws", "3"])
        .assert()
        .success();
    tradeflow(cwd)
        .args([
            "sweep",
            scenario,
            "--param",
            "routes.theta=3:5:2",
            "--output",
            "HUB.reexports.TGT@2024",
            "-q",
        ])
        .assert()
        .success();
    std::fs::write(out.join("notes.txt"), "my notes").unwrap();
    std::fs::create_dir(out.join("mine")).unwrap();
    std::fs::write(out.join("mine/a.csv"), "1,2").unwrap();
    let montecarlo = snapshot(&out.join("montecarlo"));
    let sweep = snapshot(&out.join("sweep"));
    assert!(montecarlo.contains_key("montecarlo.csv") && sweep.contains_key("sweep.csv"));
    // A run without draws keeps everything but its own files.
    tradeflow(cwd)
        .args(["run", scenario, "-q"])
        .assert()
        .success();
    assert_eq!(snapshot(&out.join("calibration")), calibration);
    assert_eq!(snapshot(&out.join("montecarlo")), montecarlo);
    assert_eq!(snapshot(&out.join("sweep")), sweep);
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"my notes");
    assert_eq!(std::fs::read(out.join("mine/a.csv")).unwrap(), b"1,2");
    assert!(out.join("flows.csv").exists() && out.join("charts/flows_into_TGT.png").exists());
    // Re-drawing the charts replaces the charts and nothing else.
    let data = snapshot(&out);
    tradeflow(cwd)
        .args(["plot", "plots/small", "--year", "2023", "-q"])
        .assert()
        .success();
    let after = snapshot(&out);
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| data.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.iter().all(|k| k.starts_with("charts/")),
        "{changed:?}"
    );
    assert!(changed.iter().any(|k| k.contains("routes_TGT_2023")));
    no_staging_left(cwd);
}

#[test]
fn shards_share_a_parent_and_merge_never_deletes_them() {
    let p = project();
    let cwd = p.path();
    let scenario = small(cwd);
    for shard in ["1/2", "2/2"] {
        tradeflow(cwd)
            .args([
                "run", scenario, "--draws", "4", "--seed", "3", "--shard", shard, "--out", "A",
                "-q",
            ])
            .assert()
            .success();
    }
    let shards = snapshot(&cwd.join("A"));
    assert!(shards.contains_key("montecarlo-shard-1-of-2/draws.csv"));
    assert!(shards.contains_key("montecarlo-shard-2-of-2/draws.csv"));
    tradeflow(cwd)
        .args([
            "merge",
            "A/montecarlo-shard-1-of-2",
            "A/montecarlo-shard-2-of-2",
            "--out",
            "A",
        ])
        .assert()
        .code(1)
        .stderr(contains("which this command reads"));
    assert_eq!(snapshot(&cwd.join("A")), shards);
    tradeflow(cwd)
        .args([
            "merge",
            "A/montecarlo-shard-1-of-2",
            "A/montecarlo-shard-2-of-2",
            "--out",
            "A/montecarlo",
            "-q",
        ])
        .assert()
        .success();
    let after = snapshot(&cwd.join("A"));
    for (k, v) in &shards {
        if k.starts_with("montecarlo-shard") {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    assert!(after.contains_key("montecarlo/montecarlo.csv"));
}

/// A copy of the CAN-JPN Monte Carlo scenario with `[uncertainty]` replaced by `spec`.
fn with_uncertainty(cwd: &Path, spec: &str) -> PathBuf {
    let text = std::fs::read_to_string(cwd.join("scenarios/can_jpn_pta_montecarlo.toml")).unwrap();
    let head = &text[..text.find("[uncertainty").unwrap()];
    let path = cwd.join("scenarios/variant.toml");
    std::fs::write(&path, format!("{head}{spec}")).unwrap();
    path
}

#[test]
fn failed_monte_carlo_runs_leave_earlier_results_as_they_were() {
    let p = project();
    let cwd = p.path();
    let good = "scenarios/can_jpn_pta_montecarlo.toml";
    tradeflow(cwd)
        .args(["run", good, "--draws", "5", "--out", "R", "-q"])
        .assert()
        .success();
    std::fs::write(cwd.join("R/notes.txt"), "mine").unwrap();
    let before = snapshot(&cwd.join("R"));
    let cases = [
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"normal\"\nsd = -1\n",
            "",
        ),
        (
            "[[uncertainty.parameters]]\npath = \"no.such.path\"\ndistribution = \"uniform\"\nlow = 1\nhigh = 2\n",
            "",
        ),
        // Every draw fails: an elasticity of substitution below 1.
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"uniform\"\nlow = 0.2\nhigh = 0.5\n",
            "every draw failed",
        ),
    ];
    for (spec, why) in cases {
        let file = with_uncertainty(cwd, spec);
        tradeflow(cwd)
            .args(["run"])
            .arg(&file)
            .args(["--draws", "3", "--out", "R"])
            .assert()
            .code(1)
            .stderr(contains(why));
        assert_eq!(snapshot(&cwd.join("R")), before, "{spec}");
    }
    tradeflow(cwd)
        .args(["run", good, "--draws", "0", "--out", "R"])
        .assert()
        .code(1)
        .stderr(contains("at least one draw"));
    assert_eq!(snapshot(&cwd.join("R")), before);
    no_staging_left(cwd);
}

#[test]
fn killed_runs_leave_the_old_results_or_the_new_ones_whole() {
    let p = project();
    let cwd = p.path();
    let v0 = cwd.join(NET);
    let v1 = cwd.join("scenarios/network_example_v1.toml");
    let text = std::fs::read_to_string(&v0).unwrap();
    std::fs::write(
        &v1,
        text.replace("description = \"", "description = \"(variant) "),
    )
    .unwrap();
    let out = cwd.join("R");
    let run = |file: &Path| {
        tradeflow(cwd)
            .arg("run")
            .arg(file)
            .args(["--out", "R", "-q"])
            .assert()
            .success();
    };
    run(&v1);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let ref1 = snapshot(&out);
    let started = std::time::Instant::now();
    run(&v0);
    let took = started.elapsed();
    let ref0 = snapshot(&out);
    assert_ne!(ref0, ref1);
    // Kill at moments spread over a run and a little beyond (a fixed sequence of fractions
    // of the time one run took, so that some kills come before the swap and some after).
    let bin = assert_cmd::cargo::cargo_bin("tradeflow");
    let mut outcomes = [0usize; 2];
    for k in 0..14u64 {
        let file = if k % 2 == 0 { &v1 } else { &v0 };
        let mut child = std::process::Command::new(&bin)
            .current_dir(cwd)
            .arg("run")
            .arg(file)
            .args(["--out", "R", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let fraction = ((k * 7919) % 13) as f64 / 10.0;
        std::thread::sleep(took.mul_f64(fraction));
        let _ = child.kill();
        let _ = child.wait();
        let now = snapshot(&out);
        let without_staging = |s: &BTreeMap<String, Vec<u8>>| {
            s.iter()
                .filter(|(k, _)| !k.contains(".tradeflow-staging-"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let now = without_staging(&now);
        if now == ref0 {
            // The kill came before the swap (or the run wrote the same results).
            outcomes[0] += 1;
        } else if now == ref1 {
            outcomes[1] += 1;
        } else {
            panic!("kill {k}: the folder is neither the old results nor the new ones");
        }
    }
    eprintln!(
        "kills that left the old results: {}, the new ones: {}",
        outcomes[0], outcomes[1]
    );
    // The next run folds back whatever the killed ones left.
    run(&v0);
    assert_eq!(snapshot(&out), ref0);
    no_staging_left(cwd);
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn concurrent_writers_are_told_the_folder_is_in_use() {
    let p = project();
    let cwd = p.path();
    let bin = assert_cmd::cargo::cargo_bin("tradeflow");
    let children: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(&bin)
                .current_dir(cwd)
                .args(["run", NET, "--out", "R", "-q"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ok = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        if o.status.success() {
            ok += 1;
        } else {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(err.contains("is in use by process"), "{err}");
        }
    }
    assert!(ok >= 1);
    tradeflow(cwd)
        .args(["run", NET, "--out", "R2", "-q"])
        .assert()
        .success();
    let (a, b) = (snapshot(&cwd.join("R")), snapshot(&cwd.join("R2")));
    assert_eq!(a, b, "the folder holds one complete run");
    no_staging_left(cwd);
}

/// `run` writes a yearly run's CSV files row by row into the new folder: the bytes are
/// those of the library's in-memory files, and with charts the same again.
#[test]
fn a_yearly_runs_streamed_files_are_the_librarys_bytes() {
    let p = project();
    let cwd = p.path();
    tradeflow(cwd)
        .args(["run", AS_HAPPENED, "--out", "R", "-q", "--no-charts"])
        .assert()
        .success();
    tradeflow(cwd)
        .args(["run", AS_HAPPENED, "--out", "C", "-q"])
        .assert()
        .success();
    let s = tradeflow::scenario::Scenario::from_file(&cwd.join(AS_HAPPENED)).unwrap();
    let run = tradeflow::simulate::run_years(&s).unwrap();
    let files = tradeflow::output::year_run_files(&s, &run).unwrap();
    assert_eq!(files.len(), 11);
    for (name, bytes) in files {
        if name == "run.json" {
            // It records the scenario, whose path is spelled differently here.
            continue;
        }
        assert!(!bytes.is_empty(), "{name}");
        assert_eq!(
            std::fs::read(cwd.join("R").join(name)).unwrap(),
            bytes,
            "{name}"
        );
        assert_eq!(
            std::fs::read(cwd.join("C").join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read(cwd.join("R/run.json")).unwrap(),
        std::fs::read(cwd.join("C/run.json")).unwrap()
    );
    no_staging_left(cwd);
}

#[test]
fn a_users_file_where_tradeflow_writes_a_folder_is_refused() {
    let p = project();
    let cwd = p.path();
    tradeflow(cwd)
        .args(["run", AS_HAPPENED, "--out", "R", "-q"])
        .assert()
        .success();
    std::fs::remove_dir_all(cwd.join("R/charts")).unwrap();
    std::fs::write(cwd.join("R/charts"), "a user's file called charts").unwrap();
    let before = snapshot(&cwd.join("R"));
    for args in [vec!["plot", "R"], vec!["run", AS_HAPPENED, "--out", "R"]] {
        tradeflow(cwd)
            .args(&args)
            .assert()
            .code(1)
            .stderr(contains("charts"));
        assert_eq!(snapshot(&cwd.join("R")), before, "{args:?}");
    }
}

#[test]
fn a_fitted_scenario_of_the_users_is_not_overwritten() {
    let p = project();
    let cwd = p.path();
    let scenario = small(cwd);
    let fitted = cwd.join("scenarios/small.fitted.toml");
    std::fs::write(&fitted, "# my own edits\n").unwrap();
    tradeflow(cwd)
        .args(["calibrate", scenario, "-q"])
        .assert()
        .code(1)
        .stderr(contains("was not written by tradeflow calibrate"));
    assert_eq!(std::fs::read(&fitted).unwrap(), b"# my own edits\n");
    assert!(!cwd.join("plots").exists());
    std::fs::remove_file(&fitted).unwrap();
    tradeflow(cwd)
        .args(["calibrate", scenario, "-q"])
        .assert()
        .success();
    // Its own file it replaces.
    tradeflow(cwd)
        .args(["calibrate", scenario, "-q"])
        .assert()
        .success();
    assert!(std::fs::read_to_string(&fitted)
        .unwrap()
        .starts_with("# Written by `tradeflow calibrate`"));
}

#[test]
fn interrupted_monte_carlo_runs_leave_earlier_results_as_they_were() {
    let p = project();
    let cwd = p.path();
    let scenario = small(cwd);
    tradeflow(cwd)
        .args(["run", scenario, "--draws", "3", "--out", "R", "-q"])
        .assert()
        .success();
    std::fs::write(cwd.join("R/notes.txt"), "mine").unwrap();
    let before = snapshot(&cwd.join("R"));
    let bin = assert_cmd::cargo::cargo_bin("tradeflow");
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let child = std::process::Command::new(&bin)
            .current_dir(cwd)
            .args(["run", scenario, "--draws", "200000", "--out", "R", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Late enough for the draws to have started (the Ctrl-C handler is set by then).
        std::thread::sleep(Duration::from_millis(2500));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let o = child.wait_with_output().unwrap();
        assert!(!o.status.success());
        // Handled (the draws had started: exit 1 and a message), or, on a loaded machine,
        // ended by the signal before the handler was set: either way nothing changed.
        if signal == libc::SIGINT && o.status.code() == Some(1) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("nothing was written"), "{err}");
        }
        assert_eq!(snapshot(&cwd.join("R")), before, "signal {signal}");
    }
    no_staging_left(cwd);
}
