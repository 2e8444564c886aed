//! `tradeflow data build` on the small files of tests/data/build: observed cells as the
//! chosen reporter recorded them, imputed cells from the PPML fit, domestic sales by the
//! stated method, reporter precedence, located errors that write nothing, an aggregate split
//! (ROW -> TUR, ARE, ROW), and a scenario that reads the built world through `[data] world`;
//! the thin-panel prior (economy masses), pooled fit years, reported totals (IPF), and the
//! committed roundabout world and coverage report regenerated from the committed panel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tradeflow::data::build::{BuildRequest, Effects, World, MODEL_REPORTER};
use tradeflow::data::comtrade::{self, ComtradeOptions};
use tradeflow::data::domestic::DomesticMethod;
use tradeflow::data::geography::{Geography, VARIABLES};
use tradeflow::data::panel::{self, Kind, Panel, Preference, Rates, Unit, TOTAL};
use tradeflow::data::world_file::{read_world, Recorder};
use tradeflow::data::{Economies, Products};
use tradeflow::estimate::{self, Design, FixedEffect, PpmlOptions};

use crate::common::{read_csv, root};

fn dir() -> PathBuf {
    root().join("tests/data/build")
}

/// The request of the known-answer build, writing to `out`.
fn request(out: &Path) -> BuildRequest {
    BuildRequest {
        panel: dir().join("panel_2021.csv"),
        year: 2021,
        economies: dir().join("economies.toml"),
        domestic: dir().join("gdp_2021.csv"),
        method: DomesticMethod::OutputLessExports,
        geography: Some(root().join("scenarios/data")),
        rates: Some(dir().join("rates_2021.csv")),
        unit: Unit::usd(1e9),
        product: TOTAL.into(),
        prefer: vec![
            Preference::ImporterRecord,
            Preference::ExporterRecord,
            Preference::Reporter("BACI".into()),
        ],
        hubs: Vec::new(),
        effects: Effects::Auto,
        fit_years: Vec::new(),
        use_totals: true,
        out: out.to_owned(),
    }
}

/// The world file's rows by (exporter, importer).
fn cells(path: &Path) -> HashMap<(String, String), HashMap<String, String>> {
    // The first line is the marker comment; the CSV starts on the second.
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.split_once('\n').unwrap().1;
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), body).unwrap();
    read_csv(tmp.path())
        .into_iter()
        .map(|r| ((r["exporter"].clone(), r["importer"].clone()), r))
        .collect()
}

fn value(c: &HashMap<(String, String), HashMap<String, String>>, e: &str, i: &str) -> f64 {
    c[&(e.to_owned(), i.to_owned())]["value"].parse().unwrap()
}

#[test]
fn observed_cells_are_the_chosen_records_imputed_cells_the_fit_and_domestic_the_method() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let world = request(&out).run("test").unwrap();
    let c = cells(&out);
    assert_eq!(c.len(), 25);
    let (observed, imputed, domestic) = world.counts();
    assert_eq!((observed, imputed, domestic), (17, 3, 5));

    // Observed: every foreign cell with a record is the record the precedence picks, as
    // recorded (same unit: the same number), with its reporter, flow, source and kind.
    let panel = Panel::read(&dir().join("panel_2021.csv")).unwrap();
    for ((e, i), row) in &c {
        assert!(
            !row["reporter"].is_empty() && !row["source"].is_empty() && !row["kind"].is_empty()
        );
        if e == i || row["kind"] == "imputed" {
            continue;
        }
        let line: u64 = row["note"]
            .split("line ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let (_, rec) = panel.rows.iter().find(|(l, _)| *l == line).unwrap();
        assert_eq!((&rec.exporter, &rec.importer), (e, i));
        assert_eq!(row["reporter"], rec.reporter);
        assert_eq!(row["flow"], rec.flow.as_str());
        assert_eq!(row["source"], rec.source);
        assert_eq!(row["kind"], rec.kind.as_str());
        assert_eq!(row["stderr"], "");
        let v: f64 = row["value"].parse().unwrap();
        if rec.unit == Unit::usd(1e9) {
            assert_eq!(v, rec.value, "{e}->{i}");
        }
    }
    // The importer's record first: KAZ's 8.24 for CHN->KAZ, not CHN's 13.98.
    assert_eq!(value(&c, "CHN", "KAZ"), 8.24);
    assert_eq!(c[&("CHN".into(), "KAZ".into())]["reporter"], "KAZ");
    // Only the exporter's record: KAZ->RUS 6.84 by KAZ.
    assert_eq!(value(&c, "KAZ", "RUS"), 6.84);
    // BACI last: ROW->CHN.
    assert_eq!(c[&("ROW".into(), "CHN".into())]["reporter"], "BACI");
    // Converted: 2100 USD million, and 280 EUR bn at 0.845523 EUR per USD.
    assert!((value(&c, "CHN", "KGZ") - 2.1).abs() < 1e-12);
    assert!((value(&c, "RUS", "ROW") - 280.0 / 0.845523).abs() < 1e-9);

    // Imputed: exp(b'z + c + fe) of a PPML fitted here, independently, on the observed
    // foreign cells with the variables the build used.
    let fit = world.fit.as_ref().unwrap();
    // Every economy has its effects: `auto` keeps the fixed-effects model.
    assert!(!fit.masses && fit.fallback.is_none(), "{fit:?}");
    let used: Vec<&str> = fit
        .coefficients
        .iter()
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert_eq!(used, ["lndist", "contiguity", "common_language"]);
    assert_eq!(fit.left_out[0].0, "pta");
    let codes = &world.codes;
    let pos = |s: &str| codes.iter().position(|c| c == s).unwrap() as u32;
    let var = |row: &HashMap<String, String>, v: &str| -> f64 { row[v].parse().unwrap() };
    let mut obs: Vec<&HashMap<String, String>> = c
        .values()
        .filter(|r| r["exporter"] != r["importer"] && r["kind"] != "imputed")
        .collect();
    obs.sort_by_key(|r| (pos(&r["exporter"]), pos(&r["importer"])));
    let design = Design {
        y: obs.iter().map(|r| var(r, "value")).collect(),
        x: used
            .iter()
            .map(|v| obs.iter().map(|r| var(r, v)).collect())
            .collect(),
        names: used.iter().map(|s| s.to_string()).collect(),
        fixed_effects: vec![
            FixedEffect {
                name: "exporter".into(),
                groups: obs.iter().map(|r| pos(&r["exporter"])).collect(),
            },
            FixedEffect {
                name: "importer".into(),
                groups: obs.iter().map(|r| pos(&r["importer"])).collect(),
            },
        ],
        cluster: None,
    };
    let refit = estimate::ppml(&design, &PpmlOptions::default()).unwrap();
    for (k, (name, beta, se)) in fit.coefficients.iter().enumerate() {
        assert_eq!(name, &refit.coefficients[k].name);
        assert!((beta - refit.coefficients[k].beta).abs() < 1e-9, "{name}");
        assert!((se - refit.coefficients[k].stderr).abs() < 1e-9, "{name}");
    }
    let imputed_rows: Vec<_> = c.values().filter(|r| r["kind"] == "imputed").collect();
    assert_eq!(imputed_rows.len(), 3);
    for r in imputed_rows {
        let x: Vec<f64> = used.iter().map(|v| var(r, v)).collect();
        let want =
            estimate::predict(&refit, &x, &[pos(&r["exporter"]), pos(&r["importer"])]).unwrap();
        let got = var(r, "value");
        assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
        assert_eq!(r["reporter"], MODEL_REPORTER);
        let se = var(r, "stderr");
        assert!(se.is_finite() && se > 0.0);
        assert!(r["note"].contains("delta method"));
    }

    // Domestic: GDP less the economy's exports in this world (observed and imputed).
    let gdp: HashMap<String, f64> = read_csv(&dir().join("gdp_2021.csv"))
        .into_iter()
        .map(|r| (r["economy"].clone(), r["value"].parse().unwrap()))
        .collect();
    for e in codes {
        let exports: f64 = codes
            .iter()
            .filter(|i| *i != e)
            .map(|i| value(&c, e, i))
            .sum();
        let row = &c[&(e.clone(), e.clone())];
        assert!(
            (var(row, "value") - (gdp[e] - exports)).abs() < 1e-9 * gdp[e],
            "{e}"
        );
        assert_eq!(row["kind"], "derived");
        assert!(row["note"].starts_with("domestic = GDP"), "{}", row["note"]);
    }
    // KGZ imputes two exports: its domestic row carries their standard error.
    assert!(var(&c[&("KGZ".into(), "KGZ".into())], "stderr") > 0.0);
    assert_eq!(c[&("RUS".into(), "RUS".into())]["stderr"], "");

    // Read back as a scenario reads it: flows, who recorded them, the cost variables.
    let w = read_world(&out, Some(2021)).unwrap();
    assert_eq!(w.data.economies.codes(), codes.as_slice());
    let (k, c_) = (pos("CHN") as usize, pos("KAZ") as usize);
    assert_eq!(w.data.trade[(k, c_)], 8.24);
    assert_eq!(w.recorders[k * 5 + c_], Recorder::Importer);
    assert_eq!(
        w.recorders[pos("KAZ") as usize * 5 + pos("RUS") as usize],
        Recorder::Exporter
    );
    assert_eq!(
        w.recorders[pos("KGZ") as usize * 5 + pos("CHN") as usize],
        Recorder::Neither
    );
    assert!(VARIABLES.iter().all(|v| w.data.variables.contains_key(*v)));
    assert!((w.data.output[pos("RUS") as usize] - gdp["RUS"]).abs() < 1e-9 * gdp["RUS"]);
}

#[test]
fn reporter_precedence_is_configurable_and_hubs_come_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let mut r = request(&out);
    r.hubs = vec!["CHN".into()];
    r.run("test").unwrap();
    let c = cells(&out);
    // CHN's own export records for flows out of CHN; the importer's elsewhere.
    assert_eq!(value(&c, "CHN", "KGZ"), 7.5);
    assert_eq!(value(&c, "CHN", "KAZ"), 13.98);
    assert_eq!(value(&c, "RUS", "CHN"), 79.0);
    assert!(c[&("CHN".into(), "KGZ".into())]["note"]
        .contains("CHN exports: the exporter's export record first"));

    r.hubs.clear();
    r.prefer = vec![Preference::ExporterRecord, Preference::ImporterRecord];
    r.run("test").unwrap();
    let c = cells(&out);
    assert_eq!(value(&c, "RUS", "CHN"), 68.0);
    assert_eq!(c[&("RUS".into(), "CHN".into())]["reporter"], "RUS");
    // Without BACI in the rules ROW->CHN has no record: it is imputed.
    assert_eq!(c[&("ROW".into(), "CHN".into())]["kind"], "imputed");

    // A hub that is not an economy of the map.
    r.hubs = vec!["HKG".into()];
    let e = r.run("test").unwrap_err().to_string();
    assert!(e.contains("hub `HKG`"), "{e}");
}

/// A copy of a fixture with some lines changed, in `tmp`.
fn variant(tmp: &Path, name: &str, keep: impl Fn(&str) -> bool, add: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    let mut out: String = text
        .lines()
        .filter(|l| keep(l))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(add);
    let p = tmp.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn bad_inputs_are_located_errors_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let check = |r: BuildRequest, wants: &[&str]| {
        let e = r.run("test").unwrap_err().to_string();
        for w in wants {
            assert!(e.contains(w), "`{w}` not in: {e}");
        }
        assert!(!out.exists(), "{e}");
    };
    // An economy the map does not have.
    let mut r = request(&out);
    r.panel = variant(
        tmp.path(),
        "panel_2021.csv",
        |_| true,
        "2021,TUR,RUS,RUS,import,total,5,USD bn,test,assumption,\n",
    );
    check(
        r,
        &[
            "panel_2021.csv, line 27, column 2 (`exporter`)",
            "`TUR` is not an economy of the map",
        ],
    );
    // A currency without a rate.
    let mut r = request(&out);
    r.rates = None;
    check(
        r,
        &[
            "panel_2021.csv, line 20, column 8 (`unit`)",
            "no exchange rate for EUR in 2021",
        ],
    );
    // An economy without a domestic figure.
    let mut r = request(&out);
    r.domestic = variant(tmp.path(), "gdp_2021.csv", |l| !l.contains(",KGZ,"), "");
    check(
        r,
        &[
            "gdp_2021.csv",
            "no domestic-sales figure in 2021 for `KGZ`",
            "`economy`",
        ],
    );
    // An economy with no observed cell as an exporter: no fixed effect, no imputation
    // (with fixed effects asked for; `auto` falls back to masses).
    let mut r = request(&out);
    r.effects = Effects::Fixed;
    r.panel = variant(
        tmp.path(),
        "panel_2021.csv",
        |l| !l.starts_with("2021,KGZ,"),
        "",
    );
    check(
        r,
        &[
            "panel_2021.csv",
            "`KGZ` as exporter (no observed cell with it as exporter)",
        ],
    );
    // Domestic sales that would be negative: exports above the output figure.
    let mut r = request(&out);
    r.domestic = variant(
        tmp.path(),
        "gdp_2021.csv",
        |l| !l.contains(",KAZ,"),
        "2021,KAZ,50,USD bn,GDP,test,\n",
    );
    check(
        r,
        &[
            "gdp_2021.csv, line 7, column 3 (`value`)",
            "domestic sales of KAZ would be negative",
        ],
    );
    // A year the panel does not hold.
    let mut r = request(&out);
    r.year = 2019;
    check(r, &["no figure in 2019", "2020-2021"]);
    // An output tradeflow did not write.
    std::fs::write(&out, "mine\n").unwrap();
    let e = request(&out).run("test").unwrap_err().to_string();
    assert!(e.contains("was not written by tradeflow"), "{e}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine\n");
}

/// Imports tests/data/build/comtrade_2021.csv with `map` and builds its world.
fn import_and_build(tmp: &Path, map: &str, gdp: &str) -> World {
    let economies = Economies::read(&dir().join(map)).unwrap();
    let (rows, _) = comtrade::import(
        &dir().join("comtrade_2021.csv"),
        &ComtradeOptions {
            economies: &economies,
            products: &Products::single(TOTAL),
            flows: comtrade::DEFAULT_FLOWS.map(String::from).to_vec(),
            all_rows: false,
            vintage: None,
            years: None,
            unit: Some(Unit::usd(1e9)),
            rates: &Rates::none(),
        },
    )
    .unwrap();
    let panel_path = tmp.join(format!("panel_{map}.csv"));
    panel::write_panel(&panel_path, &rows, "test").unwrap();
    let mut r = request(&tmp.join(format!("world_{map}.csv")));
    r.panel = panel_path;
    r.economies = dir().join(map);
    r.domestic = dir().join(gdp);
    r.rates = None;
    r.run("test").unwrap()
}

#[test]
fn splitting_an_aggregate_is_the_same_build_with_more_economies() {
    let tmp = tempfile::tempdir().unwrap();
    let a = import_and_build(tmp.path(), "economies.toml", "gdp_2021.csv");
    let b = import_and_build(tmp.path(), "economies_split.toml", "gdp_2021_split.csv");
    assert_eq!(a.codes, ["RUS", "CHN", "KAZ", "KGZ", "ROW"]);
    assert_eq!(b.codes, ["RUS", "CHN", "KAZ", "KGZ", "TUR", "ARE", "ROW"]);
    let cell = |w: &World, e: &str, i: &str| {
        w.cells
            .iter()
            .find(|c| c.exporter == e && c.importer == i)
            .unwrap()
            .clone()
    };
    // Links between economies both maps keep are the same records.
    for (e, i) in [("RUS", "CHN"), ("CHN", "KGZ"), ("KAZ", "RUS")] {
        let (x, y) = (cell(&a, e, i), cell(&b, e, i));
        assert_eq!(
            (x.value, &x.reporter, x.kind),
            (y.value, &y.reporter, y.kind)
        );
    }
    // ROW's import record of CHN's goods in the first map is the sum of what its parts
    // record in the second (TUR, ARE, and IND in the smaller ROW).
    let whole = cell(&a, "CHN", "ROW");
    assert_eq!(whole.reporter, "ROW");
    let parts: f64 = ["TUR", "ARE", "ROW"]
        .iter()
        .map(|p| cell(&b, "CHN", p).value)
        .sum();
    assert!(
        (whole.value - parts).abs() < 1e-9 * parts,
        "{} vs {parts}",
        whole.value
    );
    // The links nobody reports are imputed in the split world, each with a standard error.
    for (e, i) in [("KGZ", "ARE"), ("ARE", "KGZ"), ("TUR", "KGZ")] {
        let c = cell(&b, e, i);
        assert_eq!(c.kind, Kind::Imputed, "{e}->{i}");
        assert!(c.stderr.is_some_and(|s| s > 0.0));
    }
    // The geography follows the map: ROW's point is the mean over fewer capitals.
    let geo = Geography::read(&root().join("scenarios/data")).unwrap();
    let va = geo
        .variables(
            &Economies::read(&dir().join("economies.toml")).unwrap(),
            2021,
        )
        .unwrap();
    let vb = geo
        .variables(
            &Economies::read(&dir().join("economies_split.toml")).unwrap(),
            2021,
        )
        .unwrap();
    assert_ne!(va.get(0, 4)[0], vb.get(0, 6)[0]);
}

fn tradeflow() -> Command {
    Command::cargo_bin("tradeflow").unwrap()
}

#[test]
fn a_scenario_runs_end_to_end_on_a_built_world() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir();
    let out = tradeflow()
        .current_dir(&d)
        .args(["data", "build", "panel_2021.csv", "--year", "2021"])
        .args([
            "--economies",
            "economies.toml",
            "--domestic-table",
            "gdp_2021.csv",
        ])
        .args(["--rates", "rates_2021.csv", "--hubs", "CHN"])
        .arg("--geography")
        .arg(root().join("scenarios/data"))
        .arg("--out")
        .arg(tmp.path().join("world_2021.csv"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("17 observed foreign cells, 3 imputed, 5 domestic"),
        "{stdout}"
    );
    assert!(stdout.contains("lndist"), "{stdout}");
    std::fs::copy(d.join("panel_2021.csv"), tmp.path().join("panel_2021.csv")).unwrap();
    let scenario = tmp.path().join("built.toml");
    std::fs::write(
        &scenario,
        r#"name = "built_world"
sigma = 5
reference_importer = "ROW"

[data]
world = "world_2021.csv"
year = 2021
panel = "panel_2021.csv"

[costs]
method = "observed"
coefficients = { common_language = 0.5 }

[[shocks]]
kind = "tariff"
percent = 20
exporters = ["CHN"]
importers = ["KGZ", "KAZ"]

[[shocks]]
kind = "set_variable"
variable = "common_language"
value = 1
pairs = [["CHN", "KAZ"]]
"#,
    )
    .unwrap();
    let s = tradeflow::scenario::Scenario::from_file(&scenario).unwrap();
    assert_eq!(s.economies(), ["RUS", "CHN", "KAZ", "KGZ", "ROW"]);
    assert!(s
        .input_files()
        .iter()
        .any(|p| p.ends_with("panel_2021.csv")));
    let run = tradeflow()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("results"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run_json = std::fs::read_to_string(tmp.path().join("results/run.json")).unwrap();
    assert!(run_json.contains("world_2021.csv"), "{run_json}");
    let bilateral = read_csv(&tmp.path().join("results/bilateral.csv"));
    assert_eq!(bilateral.len(), 25);

    // A world with `method = "coefficients"` is refused with the reason.
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("method = \"observed\"", "method = \"coefficients\"");
    std::fs::write(&scenario, text).unwrap();
    let e = tradeflow::scenario::Scenario::from_file(&scenario)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("costs.method") && e.contains("backed out of its flows"),
        "{e}"
    );
}

#[test]
fn a_world_file_with_a_missing_cell_is_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    request(&out).run("test").unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("2021,KGZ,CHN,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&out, cut).unwrap();
    let e = read_world(&out, None).unwrap_err().to_string();
    assert!(e.contains("no row for KGZ->CHN"), "{e}");
    let e = read_world(&out, Some(2020)).unwrap_err().to_string();
    assert!(e.contains("no cell in 2020"), "{e}");
}

#[test]
fn domestic_sales_given_as_such_are_taken_as_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let mut r = request(&out);
    r.method = DomesticMethod::Given;
    r.run("test").unwrap();
    let c = cells(&out);
    let row = &c[&("KAZ".into(), "KAZ".into())];
    assert_eq!(row["value"].parse::<f64>().unwrap(), 197.1);
    // A GDP figure taken as domestic sales is an assumption, and the note says so.
    assert_eq!(row["kind"], "assumption");
    assert!(row["note"].contains("as given"), "{}", row["note"]);
    assert!(row["note"].contains("ASSUMPTION"), "{}", row["note"]);
}

#[test]
fn the_command_line_names_the_bad_line_exits_1_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let run = tradeflow()
        .current_dir(dir())
        .args(["data", "build", "panel_2021.csv", "--year", "2021"])
        .args([
            "--economies",
            "economies.toml",
            "--domestic-table",
            "gdp_2021.csv",
        ])
        .arg("--geography")
        .arg(root().join("scenarios/data"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(
            "panel_2021.csv, line 20, column 8 (`unit`): no exchange rate for EUR in 2021"
        ),
        "{err}"
    );
    assert!(!out.exists());
    let run = tradeflow()
        .current_dir(dir())
        .args(["data", "build", "panel_2021.csv", "--year", "2021"])
        .args([
            "--economies",
            "economies.toml",
            "--domestic-table",
            "gdp_2021.csv",
        ])
        .args(["--domestic", "gdp", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--domestic `gdp` is not one of"));
    for (flag, value, want) in [
        (
            "--effects",
            "dummies",
            "--effects `dummies` is not one of auto, fixed, masses",
        ),
        (
            "--fit-years",
            "2021-2019",
            "--fit-years `2021-2019`: give a range",
        ),
        ("--fit-years", "2020", "do not include the base year 2021"),
    ] {
        let run = tradeflow()
            .current_dir(dir())
            .args(["data", "build", "panel_2021.csv", "--year", "2021"])
            .args(["--economies", "economies.toml", "--domestic-table"])
            .args(["gdp_2021.csv", "--rates", "rates_2021.csv", flag, value])
            .args(["--geography", "../../../scenarios/data", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{flag} {value}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(want), "{err}");
        assert!(!out.exists());
    }
}

/// The sum of `e`'s foreign exports (`exports`) or imports in a world file.
fn side_sum(c: &HashMap<(String, String), HashMap<String, String>>, e: &str, exports: bool) -> f64 {
    c.iter()
        .filter(|((x, m), _)| x != m && if exports { x == e } else { m == e })
        .map(|(_, r)| r["value"].parse::<f64>().unwrap())
        .sum()
}

#[test]
fn without_fixed_effects_auto_imputes_from_economy_masses() {
    // KGZ has no observed export: no exporter effect. `auto` fits the masses model for every
    // cell and says why; its cells are the masses prediction.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world.csv");
    let mut r = request(&out);
    r.panel = variant(
        tmp.path(),
        "panel_2021.csv",
        |l| !l.starts_with("2021,KGZ,"),
        "",
    );
    let world = r.run("test").unwrap();
    let fit = world.fit.as_ref().unwrap();
    assert!(fit.masses, "{fit:?}");
    assert!(fit
        .fallback
        .as_deref()
        .unwrap()
        .contains("`KGZ` as exporter"));
    assert_eq!(fit.coefficients[0].0, "ln_output_exporter");
    assert_eq!(fit.coefficients[1].0, "ln_output_importer");
    assert!(world
        .describe()
        .contains("economy masses for every imputed cell"));
    // Refit independently: plain Poisson of the observed cells on ln GDP and the variables.
    let c = cells(&out);
    let gdp: HashMap<String, f64> = read_csv(&dir().join("gdp_2021.csv"))
        .into_iter()
        .map(|r| (r["economy"].clone(), r["value"].parse().unwrap()))
        .collect();
    let names: Vec<String> = fit.coefficients.iter().map(|c| c.0.clone()).collect();
    let x_of = |row: &HashMap<String, String>| -> Vec<f64> {
        names
            .iter()
            .map(|n| match n.as_str() {
                "ln_output_exporter" => gdp[&row["exporter"]].ln(),
                "ln_output_importer" => gdp[&row["importer"]].ln(),
                v => row[v].parse().unwrap(),
            })
            .collect()
    };
    let codes = &world.codes;
    let pos = |s: &str| codes.iter().position(|c| c == s).unwrap();
    let mut obs: Vec<&HashMap<String, String>> = c
        .values()
        .filter(|r| r["exporter"] != r["importer"] && r["kind"] != "imputed")
        .collect();
    obs.sort_by_key(|r| (pos(&r["exporter"]), pos(&r["importer"])));
    let xs: Vec<Vec<f64>> = obs.iter().map(|r| x_of(r)).collect();
    let design = Design {
        y: obs.iter().map(|r| r["value"].parse().unwrap()).collect(),
        x: (0..names.len())
            .map(|k| xs.iter().map(|x| x[k]).collect())
            .collect(),
        names: names.clone(),
        fixed_effects: Vec::new(),
        cluster: None,
    };
    let refit = estimate::ppml(&design, &PpmlOptions::default()).unwrap();
    for (k, (name, beta, se)) in fit.coefficients.iter().enumerate() {
        assert!((beta - refit.coefficients[k].beta).abs() < 1e-8, "{name}");
        assert!((se - refit.coefficients[k].stderr).abs() < 1e-8, "{name}");
    }
    let kgz_chn = &c[&("KGZ".to_owned(), "CHN".to_owned())];
    assert_eq!(kgz_chn["kind"], "imputed");
    let want = estimate::predict(&refit, &x_of(kgz_chn), &[]).unwrap();
    let got: f64 = kgz_chn["value"].parse().unwrap();
    assert!((got - want).abs() < 1e-8 * want, "{got} vs {want}");
    assert!(kgz_chn["source"].contains("economy masses"));
    // `masses` asked for gives the same world.
    let out2 = tmp.path().join("world2.csv");
    let mut r2 = request(&out2);
    r2.panel = tmp.path().join("panel_2021.csv");
    r2.effects = Effects::Masses;
    r2.run("test").unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

#[test]
fn pooled_fit_years_use_the_other_years_with_year_effects() {
    // 2020 is a copy of 2021 at 90%: with year effects the pooled fit has the same
    // coefficients and the same 2021 predictions, on twice the cells.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(dir().join("panel_2021.csv")).unwrap();
    let mut out_text = String::new();
    let mut copies = String::new();
    for l in text.lines() {
        if l.starts_with("2020,") {
            continue;
        }
        out_text.push_str(l);
        out_text.push('\n');
        if let Some(rest) = l.strip_prefix("2021,") {
            let mut f: Vec<String> = rest.split(',').map(str::to_owned).collect();
            // value is the 7th column of the row, the 6th after the year.
            let v: f64 = f[5].parse().unwrap();
            f[5] = (0.9 * v).to_string();
            copies.push_str(&format!("2020,{}\n", f.join(",")));
        }
    }
    out_text.push_str(&copies);
    let panel = tmp.path().join("panel.csv");
    std::fs::write(&panel, out_text).unwrap();
    // The 2020 copy converts its EUR figure at the 2021 rate, so that it stays a copy.
    let rates = variant(
        tmp.path(),
        "rates_2021.csv",
        |_| true,
        "2020,EUR,0.845523,test fixture: the 2021 rate\n",
    );
    let one = {
        let mut r = request(&tmp.path().join("one.csv"));
        r.panel = panel.clone();
        r.rates = Some(rates.clone());
        r.run("test").unwrap()
    };
    let pooled = {
        let mut r = request(&tmp.path().join("pooled.csv"));
        r.panel = panel.clone();
        r.rates = Some(rates.clone());
        r.fit_years = vec![2020, 2021];
        r.run("test").unwrap()
    };
    let (f1, fp) = (one.fit.unwrap(), pooled.fit.unwrap());
    assert!(!fp.masses);
    assert_eq!(fp.years, [2020, 2021]);
    assert_eq!(fp.kept, 2 * f1.kept);
    assert_eq!(fp.kept_by_year, [(2020, f1.kept), (2021, f1.kept)]);
    assert!(fp.effects.contains("year fixed effects"));
    for (a, b) in f1.coefficients.iter().zip(&fp.coefficients) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-7, "{a:?} {b:?}");
    }
    for (a, b) in one.cells.iter().zip(&pooled.cells) {
        if a.kind == Kind::Imputed {
            assert!((a.value - b.value).abs() < 1e-7 * a.value, "{a:?} {b:?}");
        }
    }
    // Fit years without the base year are an error.
    let mut r = request(&tmp.path().join("bad.csv"));
    r.panel = panel;
    r.rates = Some(rates);
    r.fit_years = vec![2020];
    let e = r.run("test").unwrap_err().to_string();
    assert!(e.contains("do not include the base year 2021"), "{e}");
}

#[test]
fn reported_totals_scale_the_imputed_cells_and_an_unmet_total_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let base = request(&tmp.path().join("prior.csv")).run("test").unwrap();
    let prior = cells(&tmp.path().join("prior.csv"));
    // KGZ exports to the world 3.0 (above its observed 0.39 + 0.6 or so), KAZ imports from
    // it 10 (below the observed cells: not met).
    let kgz_obs: f64 = prior
        .iter()
        .filter(|((x, m), r)| x == "KGZ" && m != "KGZ" && r["kind"] != "imputed")
        .map(|(_, r)| r["value"].parse::<f64>().unwrap())
        .sum();
    let kaz_obs: f64 = prior
        .iter()
        .filter(|((x, m), r)| m == "KAZ" && x != "KAZ" && r["kind"] != "imputed")
        .map(|(_, r)| r["value"].parse::<f64>().unwrap())
        .sum();
    assert!(kaz_obs > 10.0 && kgz_obs < 3.0, "{kaz_obs} {kgz_obs}");
    let out = tmp.path().join("world.csv");
    let mut r = request(&out);
    r.panel = variant(
        tmp.path(),
        "panel_2021.csv",
        |_| true,
        "2021,KGZ,WLD,KGZ,export,total,3.0,USD bn,test fixture: illustrative figure,assumption,\n\
         2021,WLD,KAZ,KAZ,import,total,10,USD bn,test fixture: illustrative figure,assumption,\n",
    );
    let world = r.run("test").unwrap();
    let c = cells(&out);
    // Met exactly: KGZ's foreign exports are 3.0.
    assert!(
        (side_sum(&c, "KGZ", true) / 3.0 - 1.0).abs() <= tradeflow::data::build::totals::TOLERANCE,
        "{}",
        side_sum(&c, "KGZ", true)
    );
    let t = world.totals.as_ref().unwrap();
    let kgz = t.checks.iter().find(|k| k.economy == "KGZ").unwrap();
    assert_eq!(kgz.status, tradeflow::data::build::totals::Status::Met);
    let kaz = t.checks.iter().find(|k| k.economy == "KAZ").unwrap();
    assert_eq!(kaz.side, "imports");
    assert_eq!(
        kaz.status,
        tradeflow::data::build::totals::Status::ObservedExceed
    );
    assert!(world
        .describe()
        .contains("KAZ imports 10.0000 USD bn: not met"));
    assert!(world.describe().contains("mirror-gap"));
    // Observed cells are never scaled; imputed ones carry the factor, and their standard
    // error is scaled with them.
    for ((e, i), row) in &c {
        let p = &prior[&(e.clone(), i.clone())];
        if e == i {
            continue;
        }
        if row["kind"] != "imputed" {
            assert_eq!(row["value"], p["value"]);
            continue;
        }
        let (v, v0): (f64, f64) = (row["value"].parse().unwrap(), p["value"].parse().unwrap());
        let (s, s0): (f64, f64) = (row["stderr"].parse().unwrap(), p["stderr"].parse().unwrap());
        assert!((s / v - s0 / v0).abs() < 1e-9 * (s0 / v0), "{e}->{i}");
        if e == "KGZ" {
            assert!(row["note"].contains("scaled by"), "{}", row["note"]);
        }
    }
    // Without totals in the panel, nothing is scaled.
    assert!(base.totals.as_ref().unwrap().checks.is_empty());
    // --ignore-totals leaves the prior.
    let mut r = request(&tmp.path().join("ignored.csv"));
    r.panel = tmp.path().join("panel_2021.csv");
    r.use_totals = false;
    r.run("test").unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("ignored.csv")).unwrap(),
        std::fs::read(tmp.path().join("prior.csv")).unwrap()
    );
}

/// The command lines of scenarios/roundabout/data/README.md, section "The 2021 world from
/// the panel" (run from the repository root).
const WORLD_ARGS: [&str; 19] = [
    "data",
    "build",
    "scenarios/roundabout/data/panel.csv",
    "--year",
    "2021",
    "--fit-years",
    "2019-2021",
    "--economies",
    "scenarios/data/economies.toml",
    "--domestic-table",
    "scenarios/roundabout/data/panel/gdp.csv",
    "--domestic",
    "given",
    "--rates",
    "scenarios/roundabout/data/rates.csv",
    "--hubs",
    "KAZ,KGZ,ARM,GEO,UZB,TUR,ARE,HKG,TJK,BLR",
    "--out",
    "PLACEHOLDER",
];

#[test]
fn the_committed_roundabout_world_is_rebuilt_from_the_committed_panel() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("world_2021.csv");
    let mut args = WORLD_ARGS.map(str::to_owned).to_vec();
    *args.last_mut().unwrap() = out.display().to_string();
    tradeflow()
        .current_dir(root())
        .args(&args)
        .arg("--quiet")
        .assert()
        .success();
    let committed = root().join("scenarios/roundabout/data/world_2021.csv");
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(&committed).unwrap(),
        "{} differs from a rebuild: run the command of scenarios/roundabout/data/README.md",
        committed.display()
    );
}

#[test]
fn the_committed_coverage_report_is_regenerated_from_the_committed_panel() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    tradeflow()
        .current_dir(root())
        .args([
            "data",
            "report",
            "scenarios/roundabout/data/panel.csv",
            "--rates",
            "scenarios/roundabout/data/rates.csv",
            "--into",
            "RUS",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let committed = root().join("scenarios/roundabout/data/report");
    for f in [
        ".tradeflow.json",
        "report.csv",
        "coverage.csv",
        "charts/.tradeflow.json",
        "charts/mirror_gaps_into_RUS.csv",
        "charts/mirror_gaps_into_RUS.svg",
        "charts/mirror_gaps_into_RUS.png",
    ] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(committed.join(f)).unwrap(),
            "{f} of {} differs from a regeneration",
            committed.display()
        );
    }
}
