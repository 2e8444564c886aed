//! Monte Carlo draws from a fitted posterior (`posterior.csv`, `posterior_covariance.csv`):
//! a tiny covariance collapses the bands onto the mode's run; a known covariance is
//! recovered from the draws; truncation keeps every draw within the bounds and counts the
//! redraws; the posterior replaces `[uncertainty]`'s own draw of a parameter; bad files give
//! errors naming the file, the line and the parameter; one thread or two give the same
//! bytes; `run --posterior`, `[uncertainty] posterior` and `merge` write `posterior.json`
//! and `observed.csv`.

use std::path::{Path, PathBuf};

use crate::common::{read_csv, root};
use assert_cmd::Command;
use tradeflow::montecarlo::merge::{folder_files, posterior_files, Record};
use tradeflow::montecarlo::posterior::{observed_rows, MAX_REDRAWS};
use tradeflow::montecarlo::{outputs, MonteCarlo};
use tradeflow::scenario::{ParamPath, Scenario};

const ADJ: &str = "years.adjustment";
const PCT: &str = "instruments[0].percent";

/// The small yearly network scenario, with `extra` appended, in a temporary folder.
fn scenario(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("post.toml");
    let base = root().join("scenarios/network_example.toml");
    std::fs::write(&path, format!("extends = \"{}\"\n{extra}", base.display())).unwrap();
    (dir, path)
}

/// One parameter of a hand-written posterior: path, mode, sd, lower, upper.
type Row<'a> = (&'a str, f64, f64, &'a str, &'a str);

/// Writes `posterior.csv` and `posterior_covariance.csv` (every ordered pair from `cov`)
/// into `dir/name`, as `tradeflow calibrate` does.
fn posterior(dir: &Path, name: &str, rows: &[Row], cov: &[&[f64]]) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let mut p =
        "parameter,prior,prior_location,prior_sd,mode,posterior_sd,sd_ratio,verdict,lower,upper\n"
            .to_owned();
    for (path, mode, sd, lo, hi) in rows {
        p.push_str(&format!(
            "{path},normal,{mode},1,{mode},{sd},{sd},the data pinned this down,{lo},{hi}\n"
        ));
    }
    std::fs::write(folder.join("posterior.csv"), p).unwrap();
    let mut c = "parameter_a,parameter_b,covariance,correlation\n".to_owned();
    for (a, ra) in rows.iter().enumerate() {
        for (b, rb) in rows.iter().enumerate() {
            let v = cov[a][b];
            // Undefined for a zero variance: an empty cell, as the files never hold NaN.
            let r = v / (cov[a][a] * cov[b][b]).sqrt();
            let r = if r.is_finite() {
                r.to_string()
            } else {
                String::new()
            };
            c.push_str(&format!("{},{},{v},{r}\n", ra.0, rb.0));
        }
    }
    std::fs::write(folder.join("posterior_covariance.csv"), c).unwrap();
    folder
}

fn on_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn a_tiny_covariance_collapses_the_bands_onto_the_modes_run() {
    let (dir, path) = scenario("");
    let (a, p) = (0.55, 80.0);
    let folder = posterior(
        dir.path(),
        "cal",
        &[(ADJ, a, 1e-7, "0.05", "1"), (PCT, p, 1e-5, "0", "400")],
        &[&[1e-14, 0.0], &[0.0, 1e-10]],
    );
    let mc = MonteCarlo::from_file_with(&path, Some(&folder)).unwrap();
    let draws = mc.run(3, 0..6, &|| (), &|| false);
    let central = Scenario::from_file(&path).unwrap();
    let param = |t: &str| central.param(&ParamPath::parse(t).unwrap()).unwrap();
    let at_mode = central
        .with_params(&[(&param(ADJ), a), (&param(PCT), p)])
        .unwrap();
    let expected = outputs(&at_mode).unwrap();
    // The scenario's own values (adjustment 1, 50%) give other numbers: the draws are at
    // the posterior's mode, not at the file's values.
    let file_values = outputs(&central).unwrap();
    assert!(expected
        .iter()
        .zip(&file_values)
        .any(|(e, f)| (e.2 - f.2).abs() > 1e-3 * f.2.abs()));
    let bands = mc.bands(&draws);
    assert_eq!(bands.len(), expected.len());
    for (b, (name, year, v)) in bands.iter().zip(&expected) {
        assert_eq!((&b.series, &b.year), (name, year));
        assert_eq!(b.failed, 0);
        for q in [b.q05, b.q50, b.q95] {
            let q = q.unwrap();
            assert!(
                (q - v).abs() <= 1e-6 * v.abs().max(1e-9),
                "{name} {year:?}: {q} vs {v}"
            );
        }
    }
}

#[test]
fn a_known_covariance_is_recovered_from_the_draws() {
    let (dir, path) = scenario("");
    let (sa, sp, rho) = (0.05, 5.0, 0.6);
    let cov = [[sa * sa, rho * sa * sp], [rho * sa * sp, sp * sp]];
    let folder = posterior(
        dir.path(),
        "cal",
        &[(ADJ, 0.5, sa, "0.05", "1"), (PCT, 60.0, sp, "", "")],
        &[&cov[0], &cov[1]],
    );
    let mc = MonteCarlo::from_file_with(&path, Some(&folder)).unwrap();
    let n = 4000;
    let values: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let v = mc.draw_values(11, i).unwrap();
            assert_eq!(v.len(), 2);
            assert_eq!(v[0].0.to_string(), ADJ);
            [v[0].1, v[1].1]
        })
        .collect();
    let mean = |k: usize| values.iter().map(|v| v[k]).sum::<f64>() / n as f64;
    let (ma, mp) = (mean(0), mean(1));
    let c = |i: usize, j: usize, mi: f64, mj: f64| {
        values
            .iter()
            .map(|v| (v[i] - mi) * (v[j] - mj))
            .sum::<f64>()
            / (n - 1) as f64
    };
    let (vaa, vpp, vap) = (c(0, 0, ma, ma), c(1, 1, mp, mp), c(0, 1, ma, mp));
    // Standard errors with 4000 draws: about 0.08% of sd on the means, 2.2% on variances.
    assert!((ma - 0.5).abs() < 4.0 * sa / (n as f64).sqrt(), "{ma}");
    assert!((mp - 60.0).abs() < 4.0 * sp / (n as f64).sqrt(), "{mp}");
    assert!((vaa / cov[0][0] - 1.0).abs() < 0.1, "{vaa}");
    assert!((vpp / cov[1][1] - 1.0).abs() < 0.1, "{vpp}");
    assert!((vap / (vaa * vpp).sqrt() - rho).abs() < 0.05, "{vap}");
    // Far from the bounds: no draw was drawn again.
    assert_eq!(mc.tally(11, 0..n).unwrap().redraws, 0);
}

#[test]
fn truncation_keeps_every_draw_within_the_bounds_and_counts_the_redraws() {
    let (dir, path) = scenario("");
    // The mode near the upper bound of the adjustment, 1: about 31% of the normal lies
    // above it; the percent is held at its mode by a zero variance.
    let folder = posterior(
        dir.path(),
        "cal",
        &[(ADJ, 0.95, 0.1, "0.8", "1"), (PCT, 50.0, 0.0, "0", "100")],
        &[&[0.01, 0.0], &[0.0, 0.0]],
    );
    let mc = MonteCarlo::from_file_with(&path, Some(&folder)).unwrap();
    let n = 2000;
    for i in 0..n {
        let v = mc.draw_values(5, i).unwrap();
        assert!((0.8..=1.0).contains(&v[0].1), "draw {i}: {}", v[0].1);
        assert_eq!(v[1].1, 50.0);
    }
    let tally = mc.tally(5, 0..n).unwrap();
    assert_eq!(tally.truncated, 0);
    // Accepted with probability P(0.8 <= x <= 1) = Phi(0.5) - Phi(-1.5) = 0.6247: about
    // 0.6 redraws per draw.
    let per = tally.redraws as f64 / n as f64;
    assert!((0.45..0.75).contains(&per), "{per}");
    let record = mc.posterior_record(5, 0..n).unwrap();
    assert_eq!(record.redraws, tally.redraws);
    assert_eq!(record.max_redraws, MAX_REDRAWS);
    assert_eq!(record.parameters[0].upper, Some(1.0));

    // Bounds the posterior almost never reaches: the draw fails with its reason.
    let far = posterior(
        dir.path(),
        "far",
        &[(ADJ, 0.999, 1e-9, "0.99", "1")],
        &[&[0.5]],
    );
    let e = MonteCarlo::from_file_with(&path, Some(&far));
    // The sd column disagrees with the variance: both files must be of one fit.
    let e = e.unwrap_err().to_string();
    assert!(e.contains("disagrees with its posterior_sd"), "{e}");
    let far = posterior(
        dir.path(),
        "far2",
        &[(ADJ, 0.999, 100.0, "0.9989", "0.9991")],
        &[&[1e4]],
    );
    let mc = MonteCarlo::from_file_with(&path, Some(&far)).unwrap();
    let d = mc.run(1, 0..2, &|| (), &|| false);
    let reason = d[0].outcome.as_ref().unwrap_err().to_string();
    assert!(
        reason.contains("no posterior draw within the bounds") && reason.contains(ADJ),
        "{reason}"
    );
    assert_eq!(mc.tally(1, 0..2).unwrap().truncated, 2);
}

#[test]
fn the_posterior_replaces_the_independent_draw_of_a_parameter() {
    let (dir, path) = scenario(
        "[[uncertainty.parameters]]\npath = \"years.adjustment\"\ndistribution = \"uniform\"\nlow = 0.1\nhigh = 0.2\n\
         [[uncertainty.parameters]]\npath = \"routes.theta\"\ndistribution = \"normal\"\nsd = 0.1\n\
         [uncertainty]\nposterior = \"cal\"\n",
    );
    posterior(
        dir.path(),
        "cal",
        &[(ADJ, 0.7, 0.01, "0.05", "1")],
        &[&[1e-4]],
    );
    // `[uncertainty] posterior` is relative to the scenario file's folder.
    let mc = MonteCarlo::from_file(&path).unwrap();
    let (replaced, independent) = mc.sources();
    assert_eq!(replaced, [ADJ]);
    assert_eq!(independent, ["routes.theta"]);
    for i in 0..50 {
        let v = mc.draw_values(2, i).unwrap();
        let paths: Vec<String> = v.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, [ADJ, "routes.theta"]);
        // The posterior's value (around 0.7), not the uniform's (0.1 to 0.2).
        assert!((0.6..0.8).contains(&v[0].1), "{}", v[0].1);
    }
    // The flag wins over the key.
    let other = posterior(
        dir.path(),
        "other",
        &[(ADJ, 0.3, 0.01, "0.05", "1")],
        &[&[1e-4]],
    );
    let mc = MonteCarlo::from_file_with(&path, Some(&other)).unwrap();
    assert!((0.2..0.4).contains(&mc.draw_values(2, 0).unwrap()[0].1));
}

/// A change to a file's text.
type Edit = Box<dyn Fn(String) -> String>;

#[test]
fn bad_posterior_files_give_errors_naming_file_line_and_parameter() {
    let (dir, path) = scenario("");
    let good = |name: &str| {
        posterior(
            dir.path(),
            name,
            &[(ADJ, 0.5, 0.1, "0.05", "1"), (PCT, 60.0, 1.0, "0", "400")],
            &[&[0.01, 0.0], &[0.0, 1.0]],
        )
    };
    let error = |folder: &Path| {
        MonteCarlo::from_file_with(&path, Some(folder))
            .unwrap_err()
            .to_string()
    };
    let edit = |folder: &Path, file: &str, f: &dyn Fn(String) -> String| {
        let p = folder.join(file);
        std::fs::write(&p, f(std::fs::read_to_string(&p).unwrap())).unwrap();
    };
    let cases: Vec<(&str, &str, Edit, Vec<&str>)> = vec![
        (
            "missing_column",
            "posterior.csv",
            Box::new(|t: String| t.replacen(",upper", ",upper_bound", 1)),
            vec!["posterior.csv", "no column `upper`"],
        ),
        (
            "not_a_number",
            "posterior.csv",
            Box::new(|t: String| t.replacen(",60,1,1,", ",sixty,1,1,", 1)),
            vec![
                "posterior.csv, line 3",
                "column `mode`",
                "`sixty` is not a number",
            ],
        ),
        (
            "unknown_parameter",
            "posterior.csv",
            Box::new(|t: String| t.replacen("years.adjustment", "years.adjustmnt", 1)),
            vec![
                "posterior.csv, line 2",
                "`years.adjustmnt` does not resolve",
                "post.toml",
            ],
        ),
        (
            "covariance_names_another",
            "posterior_covariance.csv",
            Box::new(|t: String| {
                t.replacen("instruments[0].percent,years", "routes.theta,years", 1)
            }),
            vec![
                "posterior_covariance.csv, line 4",
                "`routes.theta` is not a parameter",
            ],
        ),
        (
            "not_positive_definite",
            "posterior_covariance.csv",
            Box::new(|t: String| t.replace(",0,0\n", ",0.5,5\n")),
            vec![
                "posterior_covariance.csv",
                "not positive definite",
                "smallest eigenvalue",
            ],
        ),
        (
            "covariance_empty",
            "posterior_covariance.csv",
            Box::new(|t: String| t.replacen(",0.01,1\n", ",,\n", 1)),
            vec![
                "posterior_covariance.csv, line 2",
                "column `covariance` is empty",
                "give the free parameters priors",
            ],
        ),
        (
            "missing_pair",
            "posterior_covariance.csv",
            Box::new(|t: String| t.lines().take(4).map(|l| format!("{l}\n")).collect()),
            vec![
                "posterior_covariance.csv",
                "no row for the pair (`instruments[0].percent`, `instruments[0].percent`)",
            ],
        ),
        (
            "asymmetric",
            "posterior_covariance.csv",
            Box::new(|t: String| {
                let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
                lines[2] = format!("{ADJ},{PCT},0.05,0.5");
                lines.join("\n") + "\n"
            }),
            vec!["posterior_covariance.csv", "not symmetric"],
        ),
        (
            "mode_outside",
            "posterior.csv",
            Box::new(|t: String| t.replacen(",0.5,0.1,", ",1.5,0.1,", 1)),
            vec![
                "posterior.csv, line 2",
                "the mode 1.5 is outside its bounds",
            ],
        ),
    ];
    for (name, file, f, needles) in cases {
        let folder = good(name);
        edit(&folder, file, &*f);
        let e = error(&folder);
        for n in needles {
            assert!(e.contains(n), "{name}: `{n}` not in: {e}");
        }
    }
    let e = error(&dir.path().join("nowhere"));
    assert!(e.contains("nowhere") && e.contains("no such folder"), "{e}");
    // Scenario validation: an empty key.
    let (_d, bad) = scenario("[uncertainty]\nposterior = \" \"\n");
    let e = Scenario::from_file(&bad).unwrap_err().to_string();
    assert!(
        e.contains("uncertainty.posterior") && e.contains("is empty"),
        "{e}"
    );
    // No `[uncertainty]` and no posterior: nothing to draw.
    let e = MonteCarlo::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("--posterior DIR"), "{e}");
}

#[test]
fn one_thread_or_two_give_the_same_bytes() {
    let (dir, path) = scenario(
        "[[uncertainty.parameters]]\npath = \"routes.theta\"\ndistribution = \"normal\"\nsd = 0.3\n",
    );
    let folder = posterior(
        dir.path(),
        "cal",
        &[(ADJ, 0.9, 0.1, "0.5", "1"), (PCT, 60.0, 10.0, "0", "400")],
        &[&[0.01, 0.3], &[0.3, 100.0]],
    );
    std::fs::write(
        folder.join("fit.csv"),
        "series,year,observed,initial,fitted,log_deviation,weight,source\n\
         HUB.reexports.TGT,2024,2.5,2,2.4,0,1,a report [x]\n\
         not.a.series,2024,1,1,1,0,1,elsewhere\n",
    )
    .unwrap();
    let mc = MonteCarlo::from_file_with(&path, Some(&folder)).unwrap();
    let files = |threads: usize| {
        on_threads(threads, || {
            let draws = mc.run(9, 0..8, &|| (), &|| false);
            let record = Record {
                tradeflow_version: "test".into(),
                scenario: path.clone(),
                scenario_file: None,
                seed: 9,
                draws: 8,
                shard: None,
                first_draw: 0,
                last_draw: 8,
                failed: draws.iter().filter(|d| d.outcome.is_err()).count(),
                series: mc.series().to_vec(),
            };
            let mut files = folder_files(&record, &draws, true).unwrap();
            let observed = observed_rows(&folder, mc.series()).unwrap();
            files.extend(
                posterior_files(&mc.posterior_record(9, 0..8).unwrap(), &observed).unwrap(),
            );
            files
        })
    };
    let one = files(1);
    assert_eq!(one, files(2));
    let text = |name: &str| {
        String::from_utf8(one.iter().find(|(n, _)| *n == name).unwrap().1.clone()).unwrap()
    };
    assert!(text("posterior.json").contains("\"redraws\""));
    // Only the fan's series; its reporter and source carried.
    assert_eq!(
        text("observed.csv"),
        "series,year,reporter,observed,in_sample,source\nHUB.reexports.TGT,2024,,2.5,true,a report [x]\n"
    );
}

fn cli(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(dir);
    c
}

#[test]
fn run_with_a_posterior_writes_its_record_the_observed_points_and_merges() {
    let (dir, path) = scenario("[uncertainty]\nposterior = \"cal\"\n");
    let folder = posterior(
        dir.path(),
        "cal",
        &[(ADJ, 0.95, 0.1, "0.5", "1"), (PCT, 60.0, 10.0, "0", "400")],
        &[&[0.01, 0.3], &[0.3, 100.0]],
    );
    std::fs::write(
        folder.join("fit.csv"),
        "series,year,observed,initial,fitted,log_deviation,weight,source\n\
         ORG-HUB.recorded.ORG,2023,9.5,9,9.4,0,1,customs [a]\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("backtest.csv"),
        "series,reporter,year,observed,fitted,in_sample\n\
         ORG-HUB.recorded.ORG,ORG,2023,9.5,9.4,true\n\
         ORG-HUB.recorded.ORG,ORG,2024,8.7,9.1,false\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = |extra: &[&str], out: &Path| {
        let mut c = cli(dir.path());
        c.args([
            "run",
            path.to_str().unwrap(),
            "--draws",
            "6",
            "--seed",
            "4",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "2 parameters from the posterior in",
        ))
    };
    run(&[], &out);
    let mc = out.join("montecarlo");
    let observed = read_csv(&mc.join("observed.csv"));
    assert_eq!(observed.len(), 2);
    assert_eq!(observed[0]["source"], "customs [a]");
    assert_eq!(observed[1]["in_sample"], "false");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mc.join("posterior.json")).unwrap()).unwrap();
    assert_eq!(record["parameters"][0]["path"], ADJ);
    assert!(record["redraws"].as_u64().unwrap() > 0, "{record}");
    // The fan chart of the series shows them: its CSV carries each year's figure.
    assert!(mc.join("charts/fan_ORG_HUB_recorded_by_ORG.png").is_file());
    let fan = read_csv(&mc.join("charts/fan_ORG_HUB_recorded_by_ORG.csv"));
    let cells: Vec<(&str, &str)> = fan
        .iter()
        .map(|r| (r["observed"].as_str(), r["in_sample"].as_str()))
        .collect();
    assert_eq!(
        cells,
        [
            ("", ""),
            ("9.5", "true"),
            ("8.7", "false"),
            ("", ""),
            ("", "")
        ]
    );

    // `--posterior` needs `--draws`.
    cli(dir.path())
        .args(["run", path.to_str().unwrap(), "--posterior", "cal"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--draws"));

    // Shards joined by merge give the files one run writes, the redraws summed.
    let shards = dir.path().join("shards");
    for k in ["1/2", "2/2"] {
        run(&["--shard", k, "--no-charts"], &shards);
    }
    let merged = dir.path().join("merged");
    cli(dir.path())
        .arg("merge")
        .arg(shards.join("montecarlo-shard-1-of-2"))
        .arg(shards.join("montecarlo-shard-2-of-2"))
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in [
        "montecarlo.csv",
        "posterior.json",
        "observed.csv",
        "failed_draws.csv",
    ] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(mc.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_calibration_folder_as_calibrate_writes_it_is_drawn_from() {
    use crate::calibrate::{scenario, targets, write};
    let free = r#"[[calibration.free]]
path = "instruments.controls.percent"
lower = 0.0
upper = 200.0
prior = { dist = "normal", mean = 50.0, sd = 30.0, reason = "a wide range" }
[[calibration.free]]
path = "instruments.channel.premium"
lower = 1.0
upper = 5.0
prior = { dist = "lognormal", median = 2.0, sd = 0.5, reason = "a wide range" }
"#;
    let (dir, path) = write(&format!(
        "{}{free}{}",
        scenario(20.0, 2.5),
        targets(60.0, 1.6, &[1.03, 0.97, 1.02])
    ));
    // Fitted through 2023: the 2024 target is predicted, out of sample.
    let fit = tradeflow::calibrate::calibrate_until(&path, Some(2023)).unwrap();
    let folder = dir.path().join("calibration");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, bytes) in tradeflow::calibrate::files::folder_files("t", &path, &fit).unwrap() {
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    let mc = MonteCarlo::from_file_with(&path, Some(&folder)).unwrap();
    let post = mc.posterior().unwrap();
    let paths: Vec<String> = post.params.iter().map(ToString::to_string).collect();
    assert_eq!(
        paths,
        [
            "instruments.controls.percent",
            "instruments.channel.premium"
        ]
    );
    for (k, p) in fit.posterior.iter().enumerate() {
        // posterior.csv keeps 10 significant digits.
        assert!(
            (post.mode[k] - p.mode).abs() <= 1e-9 * p.mode.abs(),
            "{p:?}"
        );
    }
    let draws = mc.run(1, 0..4, &|| (), &|| false);
    assert!(draws.iter().all(|d| d.outcome.is_ok()), "{draws:?}");
    let observed = observed_rows(&folder, mc.series()).unwrap();
    let flags: Vec<(&str, i32, bool)> = observed
        .iter()
        .map(|r| (r.series.as_str(), r.year, r.in_sample))
        .collect();
    assert_eq!(
        flags,
        [
            ("HUB.reexports.TGT", 2023, true),
            ("ORG-HUB.recorded.ORG", 2024, false),
            ("ORG-TGT.recorded.ORG", 2023, true),
        ]
    );
    assert!(observed.iter().all(|r| !r.source.is_empty()));
    assert_eq!(observed[1].reporter, "ORG");
}
