//! Real data in: the BACI and Comtrade importers on small files in the exact layouts
//! (tests/data/baci, tests/data/comtrade), the panel format, the economies map, the product
//! concordance, `tradeflow data import` and `tradeflow data report`, and their errors.

use std::path::{Path, PathBuf};

use crate::common::root;
use assert_cmd::Command;
use tradeflow::data::baci::{self, BaciOptions, Countries};
use tradeflow::data::comtrade::{self, ComtradeOptions};
use tradeflow::data::panel::{self, Flow, Kind, Panel, PanelRow, Rates, Unit, TOTAL};
use tradeflow::data::{DataError, Economies, HsVintage, Products};

fn baci_dir() -> PathBuf {
    root().join("tests/data/baci")
}
fn comtrade_dir() -> PathBuf {
    root().join("tests/data/comtrade")
}
fn chpl() -> Products {
    Products::read(&root().join("scenarios/data/chpl.csv"), "other").unwrap()
}

fn baci_import(
    file: &str,
    products: &Products,
) -> Result<(Vec<PanelRow>, tradeflow::data::ImportSummary), DataError> {
    let economies = Economies::read(&baci_dir().join("economies.toml")).unwrap();
    let countries = Countries::read(&baci_dir().join("country_codes_V202401.csv")).unwrap();
    let rates = Rates::none();
    baci::import(
        &baci_dir().join(file),
        &BaciOptions {
            economies: &economies,
            countries: &countries,
            products,
            vintage: None,
            years: None,
            unit: None,
            rates: &rates,
        },
    )
}

fn find<'a>(
    rows: &'a [PanelRow],
    e: &str,
    m: &str,
    reporter: &str,
    flow: Flow,
    product: &str,
) -> &'a PanelRow {
    rows.iter()
        .find(|r| {
            r.exporter == e
                && r.importer == m
                && r.reporter == reporter
                && r.flow == flow
                && r.product == product
        })
        .unwrap_or_else(|| panic!("no {e}->{m} {reporter} {flow:?} {product} in {rows:#?}"))
}

#[test]
fn baci_sums_rows_into_economies_and_product_groups() {
    let (rows, summary) = baci_import("BACI_HS17_Y2022_V202401.csv", &chpl()).unwrap();
    assert_eq!(summary.rows, 11);
    assert_eq!(summary.used, 11);
    // Tier 1 is the four integrated-circuit codes: 854231 only here.
    let t1 = find(&rows, "CHN", "KGZ", "BACI", Flow::Export, "chpl_tier1");
    assert!((t1.value - 1500.5).abs() < 1e-9, "{t1:?}");
    // Tier 2: 854890 (HS2017 counterpart of 854800) + 854800 (an HS2022 code in an HS2017 file).
    let r = find(&rows, "CHN", "KGZ", "BACI", Flow::Export, "chpl_tier2");
    assert!((r.value - 250.0).abs() < 1e-9, "{r:?}");
    assert_eq!(r.unit.to_string(), "USD thousand");
    assert_eq!(r.kind, Kind::Reported);
    assert_eq!(r.source, "BACI (CEPII) BACI_HS17_Y2022_V202401.csv");
    assert!(r.note.contains("sum of 2 rows"), "{}", r.note);
    assert!(
        r.note.contains("another HS vintage than the file's HS2017"),
        "{}",
        r.note
    );
    assert_eq!(summary.other_vintage, vec![("854800".to_owned(), 1)]);
    // Codes not in the concordance, 9999AA included, fall into the default group.
    assert_eq!(
        find(&rows, "CHN", "KGZ", "BACI", Flow::Export, "other").value,
        1000.0
    );
    assert_eq!(
        find(&rows, "CHN", "RUS", "BACI", Flow::Export, "other").value,
        700.25
    );
    // DEU and FRA are the EU; GBR is its own economy in 2022; USA falls to `rest`.
    assert_eq!(
        find(&rows, "EU", "RUS", "BACI", Flow::Export, "chpl_tier1").value,
        400.0
    );
    let intra = find(&rows, "EU", "EU", "BACI", Flow::Export, "chpl_tier1");
    assert!(
        intra.note.contains("between members of EU"),
        "{}",
        intra.note
    );
    assert_eq!(
        find(&rows, "GBR", "RUS", "BACI", Flow::Export, "chpl_tier1").value,
        10.0
    );
    assert_eq!(
        find(&rows, "ROW", "RUS", "BACI", Flow::Export, "chpl_tier1").value,
        5.0
    );
}

#[test]
fn baci_membership_follows_the_year() {
    let (rows, _) = baci_import("BACI_HS17_Y2020_V202401.csv", &Products::single(TOTAL)).unwrap();
    // GBR is in the EU until 2020.
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        find(&rows, "EU", "RUS", "BACI", Flow::Export, TOTAL).value,
        310.0
    );
}

#[test]
fn baci_codes_that_do_not_map_are_listed_together_with_their_counts() {
    let e = baci_import("BACI_HS17_Y2022_unknown.csv", &Products::single(TOTAL))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("BACI_HS17_Y2022_unknown.csv: 2 codes are neither mapped nor dropped"),
        "{e}"
    );
    assert!(
        e.contains("`490 (S19)` (2 rows, first at line 3, column 2 `i`)"),
        "{e}"
    );
    assert!(
        e.contains(
            "`999 (not in country_codes_V202401.csv)` (1 row, first at line 5, column 3 `j`)"
        ),
        "{e}"
    );
}

#[test]
fn baci_bad_values_and_years_are_located() {
    let e = baci_import("BACI_HS17_Y2022_negative.csv", &Products::single(TOTAL))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("BACI_HS17_Y2022_negative.csv, line 3, column 5 (`v`): value -3 is negative"),
        "{e}"
    );
    let e = baci_import("BACI_HS17_Y2022_wrong_year.csv", &Products::single(TOTAL))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 3, column 1 (`t`): year 2021 is outside the file's 2022"),
        "{e}"
    );
}

fn comtrade_import(
    file: &str,
    products: &Products,
    all_rows: bool,
) -> Result<(Vec<PanelRow>, tradeflow::data::ImportSummary), DataError> {
    let economies = Economies::read(&comtrade_dir().join("economies.toml")).unwrap();
    let rates = Rates::none();
    comtrade::import(
        &comtrade_dir().join(file),
        &ComtradeOptions {
            economies: &economies,
            products,
            flows: comtrade::DEFAULT_FLOWS.map(String::from).to_vec(),
            all_rows,
            vintage: None,
            years: Some((2022, 2022)),
            unit: Some("USD bn".parse().unwrap()),
            rates: &rates,
        },
    )
}

#[test]
fn comtrade_keeps_reporter_and_flow_so_mirror_figures_come_for_free() {
    // The file starts with a UTF-8 byte-order mark, ends lines with CRLF and quotes fields.
    let (rows, summary) =
        comtrade_import("comtrade_2022_totals.csv", &Products::single(TOTAL), false).unwrap();
    assert_eq!(summary.rows, 10);
    assert_eq!(summary.used, 7, "{summary:#?}");
    let x = find(&rows, "CHN", "KGZ", "CHN", Flow::Export, TOTAL);
    let m = find(&rows, "CHN", "KGZ", "KGZ", Flow::Import, TOTAL);
    assert_eq!((x.value, m.value), (15.0, 3.7));
    assert_eq!(x.unit.to_string(), "USD bn");
    assert_eq!(
        find(&rows, "KGZ", "RUS", "KGZ", Flow::ReExport, TOTAL).value,
        0.1
    );
    assert_eq!(
        find(&rows, "KGZ", "RUS", "RUS", Flow::Import, TOTAL).value,
        1.25
    );
    // Two EU members' reports are the EU's, summed.
    let eu = find(&rows, "EU", "RUS", "EU", Flow::Export, TOTAL);
    assert!((eu.value - 17.0).abs() < 1e-12);
    assert!(eu.note.contains("sum of 2 rows"), "{}", eu.note);
    let skipped: Vec<&str> = summary.skipped.iter().map(|(r, _)| r.as_str()).collect();
    assert!(
        skipped.iter().any(|r| r.starts_with("not a totals row")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|r| r.starts_with("flowCode DX")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|r| r.starts_with("partner dropped")),
        "{skipped:?}"
    );
    // Without the totals filter the road breakdown is summed in too.
    let (rows, _) =
        comtrade_import("comtrade_2022_totals.csv", &Products::single(TOTAL), true).unwrap();
    assert_eq!(
        find(&rows, "CHN", "KGZ", "CHN", Flow::Export, TOTAL).value,
        24.0
    );
}

#[test]
fn comtrade_hs6_rows_take_product_groups_and_an_hs2022_code_in_an_hs2017_file_is_flagged() {
    let (rows, summary) = comtrade_import("comtrade_2022_hs6_h5.csv", &chpl(), false).unwrap();
    let t1 = find(&rows, "CHN", "KGZ", "CHN", Flow::Export, "chpl_tier1");
    assert!((t1.value - 0.002).abs() < 1e-15, "{t1:?}");
    let t2 = find(&rows, "CHN", "KGZ", "CHN", Flow::Export, "chpl_tier2");
    assert!((t2.value - 0.0005).abs() < 1e-15, "{t2:?}");
    assert!(t2.note.contains("another HS vintage"), "{}", t2.note);
    assert_eq!(summary.other_vintage, vec![("854800".to_owned(), 1)]);
    assert!((find(&rows, "CHN", "KGZ", "CHN", Flow::Export, "other").value - 0.0007).abs() < 1e-15);
    assert!(summary
        .skipped
        .iter()
        .any(|(r, n)| r.starts_with("cmdCode at the 2- or 4-digit") && *n == 1));
}

#[test]
fn comtrade_unknown_codes_are_listed_with_counts() {
    let e = comtrade_import("comtrade_2022_unknown.csv", &Products::single(TOTAL), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 codes are neither mapped nor dropped"), "{e}");
    assert!(
        e.contains("`S19` (2 rows, first at line 2, column 13 `partnerISO`)"),
        "{e}"
    );
    assert!(e.contains("`_X` (1 row, first at line 3"), "{e}");
}

#[test]
fn comtrade_without_the_filter_columns_says_how_to_turn_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.csv");
    std::fs::write(
        &f,
        "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n2022,CHN,KGZ,X,TOTAL,5\n",
    )
    .unwrap();
    let economies = Economies::read(&comtrade_dir().join("economies.toml")).unwrap();
    let rates = Rates::none();
    let p = Products::single(TOTAL);
    let mut opt = ComtradeOptions {
        economies: &economies,
        products: &p,
        flows: vec!["X".into()],
        all_rows: false,
        vintage: None,
        years: None,
        unit: None,
        rates: &rates,
    };
    let e = comtrade::import(&f, &opt).unwrap_err().to_string();
    assert!(e.contains("line 1: no column `partner2Code`"), "{e}");
    assert!(e.contains("--all-rows"), "{e}");
    opt.all_rows = true;
    let (rows, _) = comtrade::import(&f, &opt).unwrap();
    assert_eq!(rows[0].value, 5.0);
}

fn sample_rows() -> Vec<PanelRow> {
    let row = |reporter: &str, flow, value| PanelRow {
        year: 2021,
        exporter: "CHN".into(),
        importer: "KGZ".into(),
        reporter: reporter.into(),
        flow,
        product: TOTAL.into(),
        value,
        unit: Unit::usd(1e9),
        source: "UN Comtrade, \"final\" data".into(),
        kind: Kind::Reported,
        note: "a note, with a comma".into(),
    };
    vec![
        row("CHN", Flow::Export, 15.0),
        row("KGZ", Flow::Import, 3.7),
    ]
}

#[test]
fn a_panel_round_trips_and_never_overwrites_a_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("panel.csv");
    let rows = sample_rows();
    panel::write_panel(&out, &rows, "test").unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(panel::MARKER), "{text}");
    let back = Panel::read(&out).unwrap();
    assert_eq!(
        back.rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        rows
    );
    assert_eq!(
        back.rows[0].0, 3,
        "line numbers count the marker and the header"
    );
    // A file of tradeflow's is replaced; a user's file is not, and nothing is left behind.
    panel::write_panel(&out, &rows[..1], "test").unwrap();
    let mine = dir.path().join("mine.csv");
    std::fs::write(&mine, "year,exporter\n").unwrap();
    let e = panel::write_panel(&mine, &rows, "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("was not written by tradeflow"), "{e}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "year,exporter\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn conflicting_rows_name_both_lines_and_a_currency_without_a_rate_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.csv");
    std::fs::write(
        &p,
        "year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n\
         2021,CHN,KGZ,CHN,export,total,15,USD bn,a,reported,\n\
         2021,CHN,KGZ,KGZ,import,total,3.7,USD bn,a,reported,\n\
         2021,CHN,KGZ,CHN,export,total,16,USD bn,b,reported,\n",
    )
    .unwrap();
    let e = Panel::read(&p).unwrap_err().to_string();
    assert!(e.contains("p.csv, line 4: conflicts with line 2"), "{e}");
    let q = dir.path().join("q.csv");
    std::fs::write(
        &q,
        "year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n\
         2021,CHN,KGZ,CHN,export,total,15,USD bn,a,reported,\n\
         2021,CHN,KGZ,KGZ,import,total,3.7,EUR bn,a,reported,\n",
    )
    .unwrap();
    let mut panel = Panel::read(&q).unwrap();
    let e = panel
        .convert(&Unit::usd(1e9), &Rates::none())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("q.csv, line 3, column 8 (`unit`): no exchange rate for EUR in 2021"),
        "{e}"
    );
    let rates = dir.path().join("rates.csv");
    std::fs::write(
        &rates,
        "year,currency,per_usd,source\n2021,EUR,0.845,ECB annual average\n",
    )
    .unwrap();
    panel
        .convert(&Unit::usd(1e9), &Rates::read(&rates).unwrap())
        .unwrap();
    assert!((panel.rows[1].1.value - 3.7 / 0.845).abs() < 1e-12);
    // A negative value is located too.
    std::fs::write(
        &q,
        "year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n\
         2021,CHN,KGZ,CHN,export,total,-1,USD bn,a,reported,\n",
    )
    .unwrap();
    let e = Panel::read(&q).unwrap_err().to_string();
    assert!(
        e.contains("line 2, column 7 (`value`): value -1 is negative"),
        "{e}"
    );
}

#[test]
fn a_concordance_code_in_two_groups_and_a_code_in_two_economies_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.csv");
    std::fs::write(
        &c,
        "hs6,group,tier,hs_vintage,source,note\n854231,a,1,,s,\n854232,a,1,,s,\n854231,b,2,HS2017,s,\n",
    )
    .unwrap();
    let e = Products::read(&c, "other").unwrap_err().to_string();
    assert!(e.contains("c.csv, line 4, column 1 (`hs6`): 854231 is in group `b` here and in group `a` at line 2"), "{e}");
    let m = dir.path().join("e.toml");
    std::fs::write(
        &m,
        "[[economy]]\ncode = \"EU\"\nmembers = [\"DEU\", \"FRA\"]\n\n[[economy]]\ncode = \"FRA\"\n",
    )
    .unwrap();
    let e = Economies::read(&m).unwrap_err().to_string();
    assert!(e.contains("e.toml, line 6, column 8: `FRA` (all years) is mapped to `FRA` and to `EU` (line 3, column 19"), "{e}");
}

#[test]
fn the_shipped_economies_map_and_chpl_load() {
    let m = Economies::read(&root().join("scenarios/data/economies.toml")).unwrap();
    assert_eq!(
        m.codes,
        [
            "RUS", "CHN", "EU", "USA", "GBR", "JPN", "KOR", "CHE", "KAZ", "KGZ", "ARM", "GEO",
            "UZB", "TUR", "ARE", "HKG", "TJK", "BLR", "IND", "XOC", "ROW"
        ]
    );
    assert_eq!(m.members_of("EU", 2022).len(), 27);
    assert_eq!(m.members_of("EU", 2012).len(), 26, "HRV joined in 2013");
    let p = chpl();
    let tiers: Vec<(&str, &str)> = p
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.tier.as_str()))
        .collect();
    assert_eq!(
        tiers,
        [
            ("chpl_tier1", "1"),
            ("chpl_tier2", "2"),
            ("chpl_tier3a", "3.A"),
            ("chpl_tier3b", "3.B"),
            ("chpl_tier4a", "4.A"),
            ("chpl_tier4b", "4.B"),
            ("other", "")
        ]
    );
    // The 50 CHPL codes (HS2022) by tier, read from the file: 4, 5, 16, 9, 11, 5.
    let text = std::fs::read_to_string(root().join("scenarios/data/chpl.csv")).unwrap();
    let mut per_tier = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let code = &line[..6];
        let c = p.classify(code, HsVintage::parse("HS2022"));
        if !c.other_vintage {
            *per_tier.entry(p.name(c.group).to_owned()).or_insert(0) += 1;
        }
    }
    let n: Vec<usize> = per_tier.values().copied().collect();
    assert_eq!(n, [4, 5, 16, 9, 11, 5], "{per_tier:?}");
    // An HS2017 file's counterpart codes take the tier of their HS2022 codes.
    let c = p.classify("880330", HsVintage::parse("HS2017"));
    assert!(!c.other_vintage && p.name(c.group) == "chpl_tier3b");
}

fn tradeflow() -> Command {
    Command::cargo_bin("tradeflow").unwrap()
}

#[test]
fn cli_imports_then_reports_with_a_chart_of_mirror_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let panel = dir.path().join("panel.csv");
    tradeflow()
        .args(["data", "import", "comtrade"])
        .arg(comtrade_dir().join("comtrade_2022_totals.csv"))
        .arg("--economies")
        .arg(comtrade_dir().join("economies.toml"))
        .args(["--unit", "USD bn", "--out"])
        .arg(&panel)
        .assert()
        .success()
        .stdout(predicates::str::contains("read 10 rows, used 7"));
    let out = dir.path().join("report");
    tradeflow()
        .args(["data", "report"])
        .arg(&panel)
        .args(["--into", "KGZ", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("CHN->KGZ"));
    let rows = crate::common::read_csv(&out.join("report.csv"));
    let l = rows
        .iter()
        .find(|r| r["exporter"] == "CHN" && r["importer"] == "KGZ")
        .unwrap();
    assert_eq!(l["reporters"], "CHN;KGZ");
    assert!((crate::common::num(l, "mirror_ratio") - 15.0 / 3.7).abs() < 1e-9);
    let k = rows
        .iter()
        .find(|r| r["exporter"] == "KGZ" && r["importer"] == "RUS")
        .unwrap();
    assert_eq!(crate::common::num(k, "reexports"), 0.1);
    for ext in ["png", "svg", "csv"] {
        assert!(out
            .join(format!("charts/mirror_gaps_into_KGZ.{ext}"))
            .is_file());
    }
    assert!(out.join("coverage.csv").is_file());
}

#[test]
fn cli_import_refuses_a_users_file_and_writes_nothing_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("panel.csv");
    std::fs::write(&mine, "my notes\n").unwrap();
    let args = |out: &Path| {
        let mut c = tradeflow();
        c.args(["data", "import", "baci"])
            .arg(baci_dir().join("BACI_HS17_Y2022_unknown.csv"))
            .arg("--countries")
            .arg(baci_dir().join("country_codes_V202401.csv"))
            .arg("--economies")
            .arg(baci_dir().join("economies.toml"))
            .arg("--out")
            .arg(out);
        c
    };
    args(&mine)
        .assert()
        .failure()
        .stderr(predicates::str::contains("was not written by tradeflow"));
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes\n");
    let fresh = dir.path().join("fresh.csv");
    args(&fresh)
        .assert()
        .failure()
        .stderr(predicates::str::contains("`490 (S19)` (2 rows"));
    assert!(!fresh.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Writes a synthetic BACI year (`TRADEFLOW_BACI_ROWS` rows, default 11 million) to
/// `TRADEFLOW_BACI_OUT` for the import benchmark (benches/README.md); run with
/// `cargo test --release --test data_import -- --ignored generate_baci_year`.
#[test]
#[ignore]
fn generate_baci_year() {
    use std::io::Write;
    let out = std::env::var("TRADEFLOW_BACI_OUT")
        .unwrap_or_else(|_| "/tmp/BACI_HS17_Y2022_V202401.csv".into());
    let n: u64 = std::env::var("TRADEFLOW_BACI_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11_000_000);
    let countries = [
        156u32, 251, 276, 398, 417, 643, 826, 842, 4, 8, 12, 20, 24, 28, 31, 32, 36, 40, 44, 48,
    ];
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    writeln!(w, "t,i,j,k,v,q").unwrap();
    // A fixed linear congruential sequence: the same file every time.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = countries[(x >> 33) as usize % countries.len()];
        let j = countries[(x >> 41) as usize % countries.len()];
        let k = 10_000 + (x >> 20) % 960_000;
        let v = ((x >> 8) % 10_000_000) as f64 / 1000.0;
        writeln!(w, "2022,{i},{j},{k:06},{v:.3},{:.3}", v / 7.0).unwrap();
    }
    let table = Path::new(&out).with_file_name("country_codes_bench.csv");
    let iso = [
        "CHN", "FRA", "DEU", "KAZ", "KGZ", "RUS", "GBR", "USA", "AFG", "ALB", "DZA", "AND", "AGO",
        "ATG", "AZE", "ARG", "AUS", "AUT", "BHS", "BHR",
    ];
    let mut t = String::from("country_code,country_name,country_iso2,country_iso3\n");
    for (c, i) in countries.iter().zip(iso) {
        t.push_str(&format!("{c},{i},,{i}\n"));
    }
    std::fs::write(&table, t).unwrap();
    eprintln!("wrote {n} rows to {out} and {}", table.display());
}
