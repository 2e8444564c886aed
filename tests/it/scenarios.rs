//! Every file in `scenarios/` loads and runs, and the closed-form example gives its answer.

use crate::common::root;
use tradeflow::scenario::Scenario;
use tradeflow::simulate::run;

fn scenario_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = walk(&root().join("scenarios"));
    files.sort();
    assert!(
        files.len() >= 3,
        "expected the bundled scenarios, found {files:?}"
    );
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // `data/` folders hold fragments that scenarios extend, not scenarios.
        if path.is_dir() && path.file_name().is_some_and(|n| n != "data") {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_scenario_loads_and_runs() {
    for file in scenario_files() {
        let s = Scenario::from_file(&file).unwrap_or_else(|e| panic!("{e}"));
        if s.dynamics().is_some() {
            let r = tradeflow::simulate::run_years(&s)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                r.reports.iter().all(|rep| rep.converged()),
                "{}",
                file.display()
            );
            assert!(!r.flows.is_empty() && !r.routes.is_empty());
            let files = tradeflow::output::year_run_files(&s, &r).unwrap();
            // Five detail files, five totals and run.json.
            assert_eq!(files.len(), 11);
            continue;
        }
        let r = run(&s).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            r.reports.iter().all(|rep| rep.converged()),
            "{}",
            file.display()
        );
        assert_eq!(r.countries.len(), s.economies().len());
        let files = tradeflow::output::run_files(&s, &r).unwrap();
        assert_eq!(files.len(), 3);
    }
}

#[test]
fn two_country_example_matches_its_closed_form() {
    let s = Scenario::from_file(&root().join("scenarios/two_country_symmetric.toml")).unwrap();
    let r = run(&s).unwrap();
    let expected = 100.0 * (((1.0 + 0.25 * 0.8f64.powf(-4.0)) / 1.25).powf(0.25) - 1.0);
    assert!((expected - 6.54).abs() < 0.01);
    for c in &r.countries {
        assert!((c.welfare_change_pct - expected).abs() < 1e-9, "{c:?}");
    }
    // The baseline reproduces the observed flows.
    assert!((r.bilateral[1].baseline_trade - 20.0).abs() < 1e-10);
}

#[test]
fn tariff_on_a_group_hits_each_member() {
    let s = Scenario::from_file(&root().join("scenarios/eu_tariff_on_china_2006.toml")).unwrap();
    assert_eq!(s.shocks()[0].pairs.len(), 13);
    let r = run(&s).unwrap();
    let chn_deu = r
        .bilateral
        .iter()
        .find(|b| b.exporter == "CHN" && b.importer == "DEU")
        .unwrap();
    assert!(chn_deu.trade_change_pct < -50.0, "{chn_deu:?}");
    let chn = r.countries.iter().find(|c| c.country == "CHN").unwrap();
    assert!(chn.welfare_change_pct < 0.0);
}
