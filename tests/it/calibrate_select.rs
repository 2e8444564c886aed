//! Targets chosen from the observed panel by `[[calibration.select]]`, on a small built
//! world: the selector recovers the parameters that made the figures, names the field of
//! each mistake (an unknown link, a figure whose series the model lacks, no `sd`, a figure
//! targeted twice, an exclusion without a reason), and `--until` backtests write
//! `backtest.csv`, its chart and their own folder and fitted file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tradeflow::calibrate::calibrate;
use tradeflow::montecarlo::outputs;
use tradeflow::scenario::Scenario;

use crate::calibrate::SMALL;
use crate::common::read_csv;

/// The four economies' flows as a world file (each cell the exporter's record).
fn world() -> String {
    let flows = [
        ("ORG", "ORG", 100.0),
        ("ORG", "HUB", 4.0),
        ("ORG", "TGT", 12.0),
        ("ORG", "OTH", 10.0),
        ("HUB", "ORG", 2.0),
        ("HUB", "HUB", 30.0),
        ("HUB", "TGT", 3.0),
        ("HUB", "OTH", 1.0),
        ("TGT", "ORG", 8.0),
        ("TGT", "HUB", 2.0),
        ("TGT", "TGT", 80.0),
        ("TGT", "OTH", 6.0),
        ("OTH", "ORG", 9.0),
        ("OTH", "HUB", 1.0),
        ("OTH", "TGT", 5.0),
        ("OTH", "OTH", 150.0),
    ];
    let mut s = String::from(
        "year,exporter,importer,reporter,flow,product,value,unit,stderr,source,kind,note\n",
    );
    for (e, i, v) in flows {
        s.push_str(&format!(
            "2022,{e},{i},{e},export,total,{v},USD bn,,test world,reported,\n"
        ));
    }
    s
}

/// `SMALL` on the world file and its panel, with the instruments at (percent, premium).
fn built(percent: f64, premium: f64) -> String {
    let start = SMALL.find("[data]").unwrap();
    let end = SMALL.find("[costs]").unwrap();
    let text = format!(
        "{}[data]\nworld = \"world.csv\"\nyear = 2022\npanel = \"panel.csv\"\nunit = \"USD bn\"\n[groups]\nSOURCES = [\"ORG\", \"OTH\"]\n{}",
        &SMALL[..start].replace("economies = [\"ORG\", \"HUB\", \"TGT\", \"OTH\"]\n", ""),
        &SMALL[end..]
    );
    text.replace("PERCENT", &percent.to_string())
        .replace("PREMIUM", &premium.to_string())
}

/// A folder with the world, a panel made by the model at (60, 1.6) and the scenario at
/// (20, 2.5) with `calibration` appended.
fn folder(calibration: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("world.csv"), world()).unwrap();
    // The base year's figures (the panel must hold the world's year), at the end of the
    // panel so that the lines of the later figures stay 2 to 9.
    let base = "2022,ORG,TGT,ORG,export,total,12.0,USD bn,source base,reported,\n2022,HUB,TGT,HUB,export,total,3.0,USD bn,source base,reported,\n";
    std::fs::write(
        dir.path().join("panel.csv"),
        format!("year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n{base}"),
    )
    .unwrap();
    let truth = dir.path().join("truth.toml");
    std::fs::write(&truth, built(60.0, 1.6)).unwrap();
    let out = outputs(&Scenario::from_file(&truth).unwrap()).unwrap();
    let v = |series: &str, year: i32| {
        out.iter()
            .find(|(n, y, _)| n == series && *y == Some(year))
            .unwrap()
            .2
    };
    let mut panel =
        String::from("year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n");
    // Lines 2-7: the exporters' records on three links in 2023 and 2024.
    for (e, i) in [("ORG", "TGT"), ("ORG", "HUB"), ("HUB", "TGT")] {
        for year in [2023, 2024] {
            panel.push_str(&format!(
                "{year},{e},{i},{e},export,total,{},USD bn,source {e}-{i} {year},reported,\n",
                v(&format!("{e}-{i}.recorded.{e}"), year)
            ));
        }
    }
    // Line 8: a product group the model has no series of; line 9: an estimate.
    panel.push_str("2023,ORG,TGT,ORG,export,chpl,1.0,USD bn,source chpl,reported,\n");
    panel.push_str("2023,OTH,TGT,OTH,export,total,4.0,USD bn,source estimate,estimated,\n");
    panel.push_str(base);
    std::fs::write(dir.path().join("panel.csv"), panel).unwrap();
    let path = dir.path().join("cal.toml");
    std::fs::write(&path, format!("{}{calibration}", built(20.0, 2.5))).unwrap();
    (dir, path)
}

const FREE: &str = "[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\n[[calibration.free]]\npath = \"instruments.channel.premium\"\nlower = 1.0\nupper = 5.0\n";

const SELECT: &str = "[[calibration.select]]\nlinks = [\"ORG-TGT\", \"ORG-HUB\", \"HUB-TGT\"]\nreporters = [\"exporter\"]\nyears = [2023, 2024]\nsd = 0.05\n";

#[test]
fn selected_panel_figures_recover_the_parameters_that_made_them() {
    let (_dir, path) = folder(&format!("{FREE}{SELECT}"));
    let fit = calibrate(&path).unwrap();
    assert!(fit.converged, "{}", fit.stop);
    assert_eq!(fit.targets.len(), 6);
    assert!(
        (fit.parameters[0].fitted - 60.0).abs() < 1e-2,
        "{:?}",
        fit.parameters
    );
    assert!(
        (fit.parameters[1].fitted - 1.6).abs() < 1e-4,
        "{:?}",
        fit.parameters
    );
    let t = &fit.targets[0];
    assert_eq!(t.series, "ORG-TGT.recorded.ORG");
    assert_eq!(t.reporter, "ORG");
    assert_eq!(t.sd, Some(0.05));
    assert!((t.weight - 400.0).abs() < 1e-9);
    assert!(
        t.source.contains("source ORG-TGT 2023, panel.csv line 2"),
        "{}",
        t.source
    );
    assert_eq!(fit.uncertainty, "stated");
}

#[test]
fn groups_and_wildcards_pick_links_and_kinds_filter_rows() {
    let (_dir, path) = folder(&format!(
        "{FREE}[[calibration.select]]\nlinks = [\"SOURCES-*\"]\nyears = [2023]\nsd = 0.1\n[[calibration.select]]\nlinks = [\"HUB-TGT\"]\nyears = [2023, 2024]\nsd = 0.1\nexclude = [\"HUB-TGT.HUB.2024\"]\nexclude_reason = \"a test of exclusions\"\n"
    ));
    let fit = calibrate(&path).unwrap();
    let got: Vec<(&str, Option<i32>)> = fit
        .targets
        .iter()
        .map(|t| (t.series.as_str(), t.year))
        .collect();
    // ORG's two links in 2023 (OTH's figure is an estimate), then HUB-TGT 2023.
    assert_eq!(
        got,
        [
            ("ORG-TGT.recorded.ORG", Some(2023)),
            ("ORG-HUB.recorded.ORG", Some(2023)),
            ("HUB-TGT.recorded.HUB", Some(2023))
        ]
    );
    assert!(
        fit.left_out
            .iter()
            .any(|l| l.contains("line 7") && l.contains("a test of exclusions")),
        "{:?}",
        fit.left_out
    );
}

fn fails(calibration: &str, needles: &[&str]) {
    let (_dir, path) = folder(calibration);
    let e = calibrate(&path).unwrap_err().to_string();
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
    assert!(e.contains("cal.toml"), "{e}");
}

#[test]
fn selector_errors_name_the_field() {
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-XYZ\"]\nyears = [2023]\nsd = 0.1\n"),
        &[
            "calibration.select[0].links[0]",
            "`XYZ`",
            "not an economy, a group",
        ],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2023]\nproducts = [\"chpl\"]\nsd = 0.1\n"),
        &["calibration.select[0].links", "panel.csv line 8", "no series `ORG-TGT.recorded.ORG.chpl`"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2023]\n"),
        &["calibration.select[0].sd", "needs `sd`"],
    );
    fails(
        &format!("{FREE}{SELECT}[[calibration.targets]]\nseries = \"ORG-HUB.recorded.ORG\"\nyear = 2024\nvalue = 3.0\nsd = 0.1\n"),
        &["calibration.select[0] (panel.csv line 5)", "already a target of calibration.targets[0]"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2023]\nsd = 0.1\nexclude = [2]\n"),
        &["calibration.select[0].exclude_reason"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2023]\nsd = 0.1\nexclude = [5]\nexclude_reason = \"r\"\n"),
        &["calibration.select[0].exclude[0]", "excludes no figure"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2030]\nsd = 0.1\n"),
        &["calibration.select[0]", "selects no row of panel.csv"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\"]\nyears = [2023]\nsd = 0.1\nkinds = [\"guessed\"]\n"),
        &["calibration.select[0].kinds[0]", "guessed"],
    );
    fails(
        &format!("{FREE}[[calibration.select]]\nlink = [\"ORG-TGT\"]\nyears = [2023]\nsd = 0.1\n"),
        &["calibration.select[0]", "link"],
    );
}

#[test]
fn missing_series_are_listed_when_the_selector_says_skip_missing() {
    let (_dir, path) = folder(&format!(
        "{FREE}[[calibration.select]]\nlinks = [\"ORG-TGT\", \"HUB-TGT\"]\nyears = [2023]\nproducts = [\"total\", \"chpl\"]\nsd = 0.1\nskip_missing = true\n"
    ));
    let fit = calibrate(&path).unwrap();
    assert_eq!(fit.targets.len(), 2);
    assert!(
        fit.left_out
            .iter()
            .any(|l| l.contains("panel.csv line 8") && l.contains("ORG-TGT.recorded.ORG.chpl")),
        "{:?}",
        fit.left_out
    );
}

fn tradeflow(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(dir);
    c
}

#[test]
fn a_backtest_fits_the_early_years_and_predicts_the_later_ones() {
    let (dir, path) = folder(&format!("{FREE}{SELECT}"));
    let out = tradeflow(dir.path())
        .args(["calibrate", "cal.toml", "--until", "2023"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backtest: fitted 3 targets of 2023 or before, predicted 3 later ones: 100% within a factor 1.25"), "{stdout}");
    assert!(stdout.contains("worst predictions:"), "{stdout}");
    // Its own folder and fitted file: a full fit's are untouched.
    let folder = dir.path().join("plots/t/backtest_2023");
    assert!(dir.path().join("cal.fitted_until_2023.toml").is_file());
    assert!(!dir.path().join("cal.fitted.toml").exists());
    let rows = read_csv(&folder.join("backtest.csv"));
    assert_eq!(rows.len(), 6);
    for r in &rows {
        let early = r["year"] == "2023";
        assert_eq!(
            r["in_sample"],
            if early { "true" } else { "false" },
            "{r:?}"
        );
        assert!(r["source"].contains("panel.csv line"), "{r:?}");
        assert_eq!(r["reporter"], r["exporter"], "{r:?}");
    }
    let fit_rows = read_csv(&folder.join("fit.csv"));
    assert_eq!(fit_rows.len(), 3);
    for ext in ["png", "svg", "csv"] {
        let f = folder.join(format!("charts/backtest_until_2023.{ext}"));
        assert!(
            std::fs::metadata(&f).map(|m| m.len() > 0).unwrap_or(false),
            "{}",
            f.display()
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("calibration.json")).unwrap())
            .unwrap();
    assert_eq!(json["until"], 2023);
    assert_eq!(json["backtest"]["out_of_sample"], 3);
    assert_eq!(json["backtest"]["within_1_25"], 1.0);
    // The full fit afterwards: its folder and fitted file beside the backtest's.
    let out = tradeflow(dir.path())
        .args(["calibrate", "cal.toml", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cal.fitted.toml").is_file());
    let full = read_csv(&dir.path().join("plots/t/calibration/backtest.csv"));
    assert!(full.iter().all(|r| r["in_sample"] == "true"));
    assert!(!dir
        .path()
        .join("plots/t/calibration/charts/backtest_until_2023.png")
        .exists());
    drop(path);
    // Nothing to predict, or nothing to fit: an error naming --until.
    for (year, words) in [(2024, "nothing to predict"), (2022, "nothing to fit")] {
        let out = tradeflow(dir.path())
            .args(["calibrate", "cal.toml", "--until", &year.to_string()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("--until") && stderr.contains(words),
            "{stderr}"
        );
    }
}

/// The example in `scenarios/README.md`'s `[calibration]` section uses the keys the file
/// format has (unknown keys are refused there).
#[test]
fn the_readme_example_has_the_keys_of_the_format() {
    let text = std::fs::read_to_string(crate::common::root().join("scenarios/README.md")).unwrap();
    let section = &text[text.find("## `[calibration]`").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + section[start..].find("```").unwrap();
    let table: toml::Table = toml::from_str(&section[start..end]).unwrap();
    let raw: tradeflow::calibrate::RawCalibration =
        table["calibration"].clone().try_into().unwrap();
    assert_eq!(raw.select.len(), 2);
    assert!(raw.free[0].prior.is_some());
    assert_eq!(raw.targets[0].sd, Some(0.1));
}

#[test]
fn aggregates_in_a_currency_are_targets_on_the_series_named() {
    let sel = "[[calibration.select]]\naggregates = [\"tgt_imports_2023\"]\nseries = \"TGT.imports.final\"\nsd = 0.2\n";
    let (dir, path) = folder(&format!("{FREE}{SELECT}{sel}"));
    std::fs::write(
        dir.path().join("aggregates.csv"),
        "id,year,value,unit,definition,source,kind,note\ntgt_imports_2023,2023,30.5,USD bn,imports of TGT,a statistical office,aggregate,\ntgt_share_2023,2023,0.4,share,a share,a study,aggregate,\n",
    )
    .unwrap();
    let fit = calibrate(&path).unwrap();
    let t = fit
        .targets
        .iter()
        .find(|t| t.series == "TGT.imports.final")
        .unwrap();
    assert_eq!((t.year, t.observed, t.sd), (Some(2023), 30.5, Some(0.2)));
    assert!(
        t.source.contains("aggregates.csv line 2 (tgt_imports_2023"),
        "{}",
        t.source
    );
    // A share has no series to match; an unknown id is named.
    for (id, needle) in [
        ("tgt_share_2023", "only figures in a currency"),
        ("nope", "no aggregate `nope`"),
    ] {
        std::fs::write(
            &path,
            std::fs::read_to_string(&path)
                .unwrap()
                .replace("tgt_imports_2023\"", &format!("{id}\"")),
        )
        .unwrap();
        let e = calibrate(&path).unwrap_err().to_string();
        assert!(
            e.contains("calibration.select[1].aggregates[0]") && e.contains(needle),
            "{e}"
        );
        std::fs::write(
            &path,
            std::fs::read_to_string(&path)
                .unwrap()
                .replace(&format!("{id}\""), "tgt_imports_2023\""),
        )
        .unwrap();
    }
}

#[test]
fn figures_in_other_currencies_are_converted_through_the_rates() {
    let sel = "[[calibration.select]]\nlinks = [\"OTH-HUB\"]\nyears = [2023]\nsd = 0.1\n[[calibration.select]]\nlinks = [\"OTH-HUB\"]\nyears = [2024]\nsd = 0.1\nrate_year = 2023\n";
    let (dir, path) = folder(&format!("{FREE}{sel}"));
    let panel = dir.path().join("panel.csv");
    let mut text = std::fs::read_to_string(&panel).unwrap();
    text.push_str("2023,OTH,HUB,OTH,export,total,2.0,EUR bn,an EUR figure,reported,\n");
    text.push_str("2024,OTH,HUB,OTH,export,total,3.0,EUR bn,an EUR figure,reported,\n");
    std::fs::write(&panel, text).unwrap();
    std::fs::write(
        dir.path().join("rates.csv"),
        "year,currency,per_usd,source\n2023,EUR,0.8,test rates\n2024,EUR,0.9,test rates\n",
    )
    .unwrap();
    let scenario = std::fs::read_to_string(&path).unwrap().replace(
        "unit = \"USD bn\"\n",
        "unit = \"USD bn\"\nrates = \"rates.csv\"\n",
    );
    std::fs::write(&path, scenario).unwrap();
    let fit = calibrate(&path).unwrap();
    let obs: Vec<f64> = fit.targets.iter().map(|t| t.observed).collect();
    // 2.0 EUR bn at 0.8 EUR per USD; 3.0 at the 2023 rate as the selector says.
    assert!(
        (obs[0] - 2.5).abs() < 1e-12 && (obs[1] - 3.75).abs() < 1e-12,
        "{obs:?}"
    );
    assert!(
        fit.targets[1]
            .source
            .contains("3 EUR bn converted at 2023 rates"),
        "{}",
        fit.targets[1].source
    );
}
