//! Tidy results: every file's header is its documented columns, no two rows share a key,
//! and summing a detail file's rows by the key of its totals file gives the totals, as a
//! plain pandas `groupby().sum()` would, on the bytes the writers produce.

use std::collections::HashMap;

use predicates::prelude::*;
use tradeflow::output::columns::{self, FileDoc};
use tradeflow::scenario::Scenario;

use crate::common::root;

/// One CSV row: column -> text.
type Row = HashMap<String, String>;
/// A CSV file: its header and rows.
type Table = (Vec<String>, Vec<Row>);

/// A CSV file's rows, each a column -> text map, and its header.
fn table(bytes: &[u8]) -> Table {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

fn number(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("`{col}` = {:?} is not a number", row[col]))
}

/// Sums of `values` over the rows, grouped by `key`, keeping the rows `keep` accepts.
fn group_sum(
    rows: &[HashMap<String, String>],
    key: &[&str],
    values: &[&str],
    keep: impl Fn(&HashMap<String, String>) -> bool,
) -> HashMap<Vec<String>, Vec<f64>> {
    let mut out: HashMap<Vec<String>, Vec<f64>> = HashMap::new();
    for r in rows.iter().filter(|r| keep(r)) {
        let k: Vec<String> = key.iter().map(|c| r[*c].clone()).collect();
        let sums = out.entry(k).or_insert_with(|| vec![0.0; values.len()]);
        for (s, v) in sums.iter_mut().zip(values) {
            *s += number(r, v);
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    // Each cell has ten significant digits: sums of rounded cells agree with the rounded
    // total to about 1e-9 of the largest cell.
    (a - b).abs() <= 1e-8 * a.abs().max(b.abs()).max(1.0)
}

/// Checks that `detail`'s rows, summed over the columns its totals file does not have,
/// equal the totals file's rows (`pairs`: detail column, total column).
fn sums_match(files: &HashMap<&str, Table>, detail: &str, total: &str, pairs: &[(&str, &str)]) {
    let doc = |f: &str| -> &FileDoc {
        columns::YEAR_RUN_FILES
            .iter()
            .find(|d| d.file == f)
            .unwrap()
    };
    let key = doc(total).key;
    let det: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let tot: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let sums = group_sum(&files[detail].1, key, &det, |_| true);
    let totals = group_sum(&files[total].1, key, &tot, |_| true);
    assert_eq!(sums.len(), totals.len(), "{detail} -> {total}: keys");
    for (k, t) in &totals {
        let s = &sums[k];
        for ((a, b), (dc, tc)) in s.iter().zip(t).zip(pairs) {
            assert!(
                close(*a, *b),
                "{detail}.{dc} summed by {key:?} = {a} but {total}.{tc} at {k:?} = {b}"
            );
        }
    }
}

#[test]
fn detail_files_sum_to_their_totals_and_columns_are_as_documented() {
    let s = Scenario::from_file(&root().join("scenarios/roundabout/as_happened.toml")).unwrap();
    let run = tradeflow::simulate::run_years(&s).unwrap();
    let bytes = tradeflow::output::year_run_files(&s, &run).unwrap();
    let files: HashMap<&str, Table> = bytes
        .iter()
        .filter(|(n, _)| n.ends_with(".csv"))
        .map(|(n, b)| (*n, table(b)))
        .collect();
    // Every file written is documented, with its columns in order, and its key is a key.
    assert_eq!(files.len(), columns::YEAR_RUN_FILES.len());
    for d in columns::YEAR_RUN_FILES {
        let (header, rows) = &files[d.file];
        let documented: Vec<&str> = d.columns.iter().map(|c| c.name).collect();
        assert_eq!(header, &documented, "{}", d.file);
        let mut seen = std::collections::HashSet::new();
        for r in rows {
            let k: Vec<&str> = d.key.iter().map(|c| r[*c].as_str()).collect();
            assert!(seen.insert(k.clone()), "{}: key {k:?} twice", d.file);
            // Detail files are leaves: three sectors, never their sum.
            if let Some(sector) = r.get("sector") {
                assert!(
                    ["chpl", "controlled", "other"].contains(&sector.as_str()),
                    "{}: {sector}",
                    d.file
                );
            }
        }
        // No float noise: every number has at most ten significant digits.
        for r in rows {
            for (c, v) in r {
                if let Ok(x) = v.parse::<f64>() {
                    let digits = v
                        .trim_start_matches('-')
                        .split('e')
                        .next()
                        .unwrap()
                        .replace('.', "")
                        .trim_start_matches('0')
                        .trim_end_matches('0')
                        .len();
                    assert!(digits <= 10, "{}.{c} = {v} ({x})", d.file);
                }
            }
        }
    }
    sums_match(
        &files,
        "flows.csv",
        "flows_total.csv",
        &[
            ("shipped", "shipped"),
            ("final_destination", "final_destination"),
        ],
    );
    sums_match(
        &files,
        "recorded.csv",
        "recorded_total.csv",
        &[("recorded", "recorded")],
    );
    sums_match(
        &files,
        "routes.csv",
        "routes_total.csv",
        &[("value", "value")],
    );
    sums_match(
        &files,
        "reexports.csv",
        "reexports_total.csv",
        &[
            ("imports_from_origin", "imports_from_origins"),
            ("reexports_to_target", "reexports_to_target"),
        ],
    );

    // The figures of the issue, by a plain sum of the detail rows.
    let flows = &files["flows.csv"].1;
    let rus_2024: f64 = flows
        .iter()
        .filter(|r| r["importer"] == "RUS" && r["year"] == "2024")
        .map(|r| number(r, "final_destination"))
        .sum();
    let kgz_2024: f64 = files["reexports.csv"]
        .1
        .iter()
        .filter(|r| r["intermediary"] == "KGZ" && r["year"] == "2024")
        .map(|r| number(r, "reexports_to_target"))
        .sum();
    println!("Russia's 2024 imports (final destination, sum of flows.csv): {rus_2024:.4}");
    println!("Kyrgyz re-exports to Russia 2024 (sum of reexports.csv): {kgz_2024:.4}");
    assert!((rus_2024 - 285.21).abs() < 0.05, "{rus_2024}");
    assert!((kgz_2024 - 12.03).abs() < 0.05, "{kgz_2024}");
    // The same from the routes and from the totals.
    let by_routes: f64 = files["routes.csv"]
        .1
        .iter()
        .filter(|r| r["year"] == "2024")
        .map(|r| number(r, "value"))
        .sum();
    assert!(close(by_routes, rus_2024), "{by_routes} {rus_2024}");
    let total_kgz = files["reexports_total.csv"]
        .1
        .iter()
        .find(|r| r["intermediary"] == "KGZ" && r["year"] == "2024")
        .map(|r| number(r, "reexports_to_target"))
        .unwrap();
    assert!(close(total_kgz, kgz_2024));
    // Fractions: the target's import shares add up to 1 per year and sector, each origin's
    // route shares to 1 where it ships anything.
    for f in ["routes.csv", "routes_total.csv"] {
        let rows = &files[f].1;
        let key: &[&str] = if f == "routes.csv" {
            &["year", "sector"]
        } else {
            &["year"]
        };
        for (k, v) in group_sum(rows, key, &["target_imports_fraction"], |_| true) {
            assert!((v[0] - 1.0).abs() < 1e-8, "{f} {k:?}: {}", v[0]);
        }
        let mut key = key.to_vec();
        key.push("origin");
        for (k, v) in group_sum(rows, &key, &["pair_fraction", "value"], |_| true) {
            assert!(
                v[1] == 0.0 || (v[0] - 1.0).abs() < 1e-8,
                "{f} {k:?}: {}",
                v[0]
            );
        }
    }
}

/// The markers around the generated table of files in `scenarios/README.md`.
const TABLE_START: &str = "<!-- table of files: generated from src/output/columns.rs -->\n";
const TABLE_END: &str = "<!-- end of the table of files -->\n";

/// The table of files in `scenarios/README.md` is the one the writers document. With
/// `TRADEFLOW_BLESS=1` the test writes it there instead (after a change to the columns).
#[test]
fn the_readme_table_of_files_is_the_documented_one() {
    let path = root().join("scenarios/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let mut table = String::new();
    for (title, docs) in [
        ("A yearly run", columns::YEAR_RUN_FILES),
        ("A single counterfactual", columns::RUN_FILES),
        ("`tradeflow compare`", columns::COMPARE_FILES),
    ] {
        table.push_str(&format!("\n{title}:\n\n{}", columns::markdown(docs)));
    }
    table.push('\n');
    let (Some(a), Some(b)) = (readme.find(TABLE_START), readme.find(TABLE_END)) else {
        panic!("scenarios/README.md has no markers `{TABLE_START}` ... `{TABLE_END}`");
    };
    let current = &readme[a + TABLE_START.len()..b];
    if current != table && std::env::var_os("TRADEFLOW_BLESS").is_some() {
        let text = format!("{}{TABLE_START}{table}{}", &readme[..a], &readme[b..]);
        std::fs::write(&path, text).unwrap();
        return;
    }
    assert!(
        current == table,
        "scenarios/README.md's table of files is not the one src/output/columns.rs documents; rerun with TRADEFLOW_BLESS=1 to write it"
    );
}

/// The series catalog names exactly the series a run gives, for a yearly scenario and a
/// single counterfactual.
#[test]
fn the_catalog_lists_every_output_series() {
    for file in [
        "scenarios/roundabout/as_happened.toml",
        "scenarios/network_example.toml",
        "scenarios/two_country_symmetric.toml",
    ] {
        let s = Scenario::from_file(&root().join(file)).unwrap();
        let catalog: Vec<String> = tradeflow::simulate::series::catalog(&s)
            .into_iter()
            .map(|c| c.name)
            .collect();
        let mut given: Vec<String> = Vec::new();
        for (name, _, _) in tradeflow::simulate::outputs(&s).unwrap() {
            if !given.contains(&name) {
                given.push(name);
            }
        }
        assert_eq!(catalog, given, "{file}");
        assert!(given.iter().all(|n| !n.contains(',') && !n.contains(' ')));
    }
}

fn tradeflow() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("tradeflow").unwrap();
    c.current_dir(root());
    c
}

#[test]
fn a_base_says_so_and_the_files_extending_it_do_not_inherit_it() {
    let base = Scenario::from_file(&root().join("scenarios/roundabout/base.toml")).unwrap();
    assert!(base.is_abstract());
    let no_war = Scenario::from_file(&root().join("scenarios/roundabout/no_war.toml")).unwrap();
    assert!(!no_war.is_abstract());
}

/// `compare scenarios/roundabout/*.toml`: the base is skipped with a note, the reference is
/// the scenario with the fewest instruments (`no_war`) unless `--reference` says otherwise,
/// and `differences.csv` holds each other scenario's series against it.
#[test]
fn compare_skips_bases_and_measures_against_the_reference() {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("scenarios/roundabout"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let a = tradeflow()
        .arg("compare")
        .args(&files)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        text.contains("base.toml: scenario `roundabout_base` is a base (`abstract = true`)"),
        "{text}"
    );
    assert!(
        text.contains("reference: no_war (the scenario with the fewest instruments"),
        "{text}"
    );
    assert!(text.contains("no_war (reference)"), "{text}");
    let read = |f: &str| table(&std::fs::read(out.join(f)).unwrap());
    let (_, compare) = read("compare.csv");
    assert!(compare.iter().all(|r| r["scenario"] != "roundabout_base"));
    let (header, diffs) = read("differences.csv");
    assert_eq!(
        header,
        columns::columns_of(columns::COMPARE_FILES, "differences.csv").unwrap()
    );
    assert!(diffs
        .iter()
        .all(|r| r["reference"] == "no_war" && r["scenario"] != "no_war"));
    let value = |scenario: &str, series: &str, year: &str| {
        compare
            .iter()
            .find(|r| r["scenario"] == scenario && r["series"] == series && r["year"] == year)
            .map(|r| number(r, "value"))
            .unwrap()
    };
    let d = diffs
        .iter()
        .find(|r| {
            r["scenario"] == "as_happened"
                && r["series"] == "KGZ.reexports.RUS"
                && r["year"] == "2030"
        })
        .unwrap();
    let expect = value("as_happened", "KGZ.reexports.RUS", "2030")
        - value("no_war", "KGZ.reexports.RUS", "2030");
    assert!(close(number(d, "difference"), expect), "{d:?}");
    // Countries against the reference: no_war is 0 against itself, so it has no rows; the
    // first year, shared by all, is 0 for every other scenario.
    let (_, countries) = read("countries_vs_reference.csv");
    assert!(countries.iter().all(|r| r["scenario"] != "no_war"));
    for r in countries.iter().filter(|r| r["year"] == "2021") {
        assert_eq!(number(r, "welfare_vs_reference_pct"), 0.0, "{r:?}");
    }
    // The heatmaps compare with the same reference.
    assert!(out
        .join("charts/change_as_happened_vs_no_war_2030.png")
        .is_file());
    // Another reference, and one that is not a scenario given.
    let out2 = dir.path().join("cmp2");
    tradeflow()
        .arg("compare")
        .args(&files[..3])
        .args(["--reference", "as_happened", "-q", "--out"])
        .arg(&out2)
        .assert()
        .success();
    let (_, diffs) = table(&std::fs::read(out2.join("differences.csv")).unwrap());
    assert!(!diffs.is_empty() && diffs.iter().all(|r| r["reference"] == "as_happened"));
    tradeflow()
        .arg("compare")
        .args(&files)
        .args(["--reference", "nope", "--out"])
        .arg(dir.path().join("cmp3"))
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains(
            "--reference `nope`: not one of the scenarios compared (as_happened, bank_sanctions, bri_acceleration, chpl_closed,",
        ));
}

#[test]
fn series_lists_every_name_and_commands_suggest_the_nearest() {
    tradeflow()
        .args(["series", "scenarios/roundabout/as_happened.toml"])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("493 output series of scenarios/roundabout/as_happened.toml")
                .and(predicates::str::contains(
                    "RUS.imports.direct_share  fraction (0 to 1); 2021-2030",
                ))
                .and(predicates::str::contains(
                    "KGZ.reexports.RUS         USD bn; 2021-2030",
                )),
        );
    let dir = tempfile::tempdir().unwrap();
    tradeflow()
        .args([
            "sweep",
            "scenarios/two_country_symmetric.toml",
            "--param",
            "sigma=4:5:2",
            "--output",
            "ALP.welfare_change_pc",
            "-q",
            "--out",
        ])
        .arg(dir.path().join("sw"))
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains(
            "--output `ALP.welfare_change_pc`: no series `ALP.welfare_change_pc`; nearest: `ALP.welfare_change_pct`",
        ));
}

#[test]
fn the_data_unit_is_named_in_every_description_and_checked() {
    let text =
        std::fs::read_to_string(root().join("scenarios/two_country_symmetric.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.toml");
    let with = |unit: &str| text.replacen("[data]\n", &format!("[data]\nunit = {unit:?}\n"), 1);
    std::fs::write(&path, with("EUR mn")).unwrap();
    let s = Scenario::from_file(&path).unwrap();
    assert_eq!(s.unit(), "EUR mn");
    assert!(tradeflow::simulate::series::catalog(&s)
        .iter()
        .all(|c| c.unit == "percent"));
    std::fs::write(&path, with("USD, bn")).unwrap();
    let e = Scenario::from_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("data.unit") && e.contains("without a comma"),
        "{e}"
    );
    let plain = Scenario::from_file(&root().join("scenarios/two_country_symmetric.toml")).unwrap();
    assert_eq!(plain.unit(), "data unit");
}

/// With one sector, the all-sector country rows are that sector's rows; with several, each
/// all-sector change lies between the sectors' (the aggregates are weighted means).
#[test]
fn country_totals_are_the_sector_rows_with_one_sector_and_between_them_with_several() {
    let s = Scenario::from_file(&root().join("scenarios/network_example.toml")).unwrap();
    let run = tradeflow::simulate::run_years(&s).unwrap();
    assert_eq!(run.countries.len(), run.totals.countries.len());
    for (c, t) in run.countries.iter().zip(&run.totals.countries) {
        assert_eq!(
            (c.year, run.economy(c.country)),
            (t.year, t.country.as_str())
        );
        for (a, b) in [
            (c.welfare_change_pct, t.welfare_change_pct),
            (c.real_gdp_change_pct, t.real_gdp_change_pct),
            (
                c.factory_gate_price_change_pct,
                t.factory_gate_price_change_pct,
            ),
            (c.output_change_pct, t.output_change_pct),
            (c.foreign_exports_change_pct, t.foreign_exports_change_pct),
            (c.foreign_imports_change_pct, t.foreign_imports_change_pct),
        ] {
            assert!((a - b).abs() < 1e-9 * a.abs().max(1.0), "{c:?} {t:?}");
        }
    }
    let s = Scenario::from_file(&root().join("scenarios/roundabout/as_happened.toml")).unwrap();
    let run = tradeflow::simulate::run_years(&s).unwrap();
    for t in &run.totals.countries {
        let sectors: Vec<_> = run
            .countries
            .iter()
            .filter(|c| c.year == t.year && run.economy(c.country) == t.country)
            .collect();
        assert_eq!(sectors.len(), 3);
        let between = |f: fn(&tradeflow::simulate::YearCountryRow) -> f64, v: f64| {
            let values = sectors.iter().map(|c| f(c));
            let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            lo - 1e-9 <= v && v <= hi + 1e-9
        };
        assert!(
            between(|c| c.output_change_pct, t.output_change_pct),
            "{t:?}"
        );
        assert!(
            between(
                |c| c.factory_gate_price_change_pct,
                t.factory_gate_price_change_pct
            ),
            "{t:?}"
        );
        assert!(
            between(
                |c| c.foreign_exports_change_pct,
                t.foreign_exports_change_pct
            ),
            "{t:?}"
        );
    }
}
