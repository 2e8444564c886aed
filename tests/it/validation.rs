//! Sizes checked before allocating, nothing accepted silently, messages that name the input
//! (issue 8, parts 4, 5 and 8): each limit, each former silent acceptance and each
//! misleading message, asserted on the text (the file, field and value it must name).

use std::path::{Path, PathBuf};

use tradeflow::gravity::GeMode;
use tradeflow::input::{read_text, InputKind};
use tradeflow::limits;
use tradeflow::montecarlo::MonteCarlo;
use tradeflow::scenario::Scenario;
use tradeflow::simulate::{run, run_years};
use tradeflow::sweep::{grid, latin_hypercube, Axis, Sweep};

/// Two symmetric economies with inline flows, costs backed out of them, one cost factor.
const TWO: &str = r#"
name = "two"
sigma = 5.0
reference_importer = "ALP"
economies = ["ALP", "BET"]
[data]
flows = [
    { exporter = "ALP", importer = "ALP", value = 80.0 },
    { exporter = "ALP", importer = "BET", value = 20.0 },
    { exporter = "BET", importer = "ALP", value = 20.0 },
    { exporter = "BET", importer = "BET", value = 80.0 },
]
[costs]
method = "observed"
[[shocks]]
kind = "cost_factor"
label = "cut"
exporters = ["ALP", "BET"]
importers = ["ALP", "BET"]
factor = 0.8
"#;

/// Four economies over three years, with a route through HUB to TGT.
const YEARS: &str = concat!(
    r#"
name = "years"
reference_importer = "OTH"
sigma = 5.0
economies = ["ORG", "HUB", "TGT", "OTH"]
[years]
base = 2022
horizon = 2024
"#,
    crate::common::four_economy_flows!(),
    r#"[costs]
method = "observed"
[routes]
theta = 4.0
target = "TGT"
intermediaries = ["HUB"]
premium = 3.0
"#
);

const GROWTH: &str = r#"
[[instruments]]
id = "growth"
kind = "growth"
start = 2023
economies = ["HUB"]
percent = 5
"#;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// The error of reading `text` as a scenario file `s.toml`.
fn error(text: &str) -> String {
    let d = Dir::new();
    Scenario::from_file(&d.write("s.toml", text))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("no error for:\n{text}"))
}

fn assert_has(e: &str, needles: &[&str]) {
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
}

fn set(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` not in the template");
    text.replacen(from, to, 1)
}

// --- bounded input ---------------------------------------------------------------------

#[test]
fn input_refuses_directories_devices_and_pipes_by_type() {
    let d = Dir::new();
    let e = read_text(d.0.path(), InputKind::Scenario)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["is a directory"]);
    #[cfg(unix)]
    {
        let e = read_text(Path::new("/dev/zero"), InputKind::Data)
            .unwrap_err()
            .to_string();
        assert_has(&e, &["/dev/zero", "a device"]);
        let fifo = d.0.path().join("pipe.toml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Would block forever if the file were opened first.
            let e = read_text(&fifo, InputKind::Scenario)
                .unwrap_err()
                .to_string();
            assert_has(&e, &["pipe.toml", "a named pipe"]);
            let s = d.write("s.toml", "extends = \"pipe.toml\"\n");
            let e = Scenario::from_file(&s).unwrap_err().to_string();
            assert_has(&e, &["s.toml", "pipe.toml", "named pipe"]);
        }
    }
}

#[test]
fn input_refuses_a_file_beyond_its_limit() {
    let d = Dir::new();
    let big = d.0.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    // Sparse: no bytes written, the size alone is refused.
    f.set_len(limits_scenario_bytes() + 1).unwrap();
    let e = read_text(&big, InputKind::Scenario)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["big.toml", "4194305 bytes", "4194304"]);
}

fn limits_scenario_bytes() -> u64 {
    tradeflow::input::MAX_SCENARIO_BYTES
}

#[test]
fn a_data_path_at_a_device_is_refused() {
    let text = "name = \"d\"\nsigma = 5.0\nreference_importer = \"A\"\n[data]\npath = \"/dev/zero\"\n[costs]\nmethod = \"observed\"\n";
    let e = error(text);
    assert_has(&e, &["/dev/zero", "a device, not a regular file"]);
}

#[test]
fn empty_extends_is_named() {
    let e = error("extends = \"\"\nname = \"x\"\n");
    assert_has(&e, &["s.toml", "`extends` is empty"]);
}

// --- limits ------------------------------------------------------------------------------

#[test]
fn years_beyond_the_limits_are_located_errors() {
    let e = error(&set(YEARS, "horizon = 2024", "horizon = 1000000000"));
    assert_has(
        &e,
        &["s.toml", "years.horizon", "1000000000", "at most 200 years"],
    );
    let e = error(&set(YEARS, "base = 2022", "base = -5"));
    assert_has(&e, &["years.base", "-5", "1900 to 2200"]);
    assert!(limits::check_years(2022, 2221).is_ok());
    assert!(limits::check_years(2022, 2222).is_err());
}

#[test]
fn a_long_extends_chain_stops_at_the_depth_limit() {
    let d = Dir::new();
    d.write("base.toml", TWO);
    let depth = limits::MAX_EXTENDS_DEPTH + 40;
    for k in 0..depth {
        d.write(
            &format!("c{k}.toml"),
            &format!("extends = \"c{}.toml\"\n", k + 1),
        );
    }
    d.write(&format!("c{depth}.toml"), "extends = \"base.toml\"\n");
    let e = Scenario::from_file(&d.0.path().join("c0.toml"))
        .unwrap_err()
        .to_string();
    assert_has(&e, &["c0.toml", "deeper than the limit of 64 files"]);
    // 63 files and the base: 64, at the limit.
    let e = Scenario::from_file(&d.0.path().join(format!("c{}.toml", depth - 62)));
    assert!(e.is_ok(), "{:?}", e.err().map(|e| e.to_string()));
}

#[test]
fn sweep_axes_and_grids_are_bounded() {
    for count in [
        "1000000000000",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let e = format!("x=0:1:{count}")
            .parse::<Axis>()
            .unwrap_err()
            .to_string();
        assert_has(&e, &[count, "limit of 10000"]);
    }
    let a: Axis = "x=0:1:10000".parse().unwrap();
    let e = grid(&[a.clone(), a.clone()]).unwrap_err().to_string();
    assert_has(&e, &["--param", "10000 x 10000", "1000000"]);
    let huge = Axis {
        count: usize::MAX,
        ..a.clone()
    };
    // An overflowing product is an error, not a panic.
    assert!(grid(&[huge.clone(), huge]).is_err());
    let e = latin_hypercube(std::slice::from_ref(&a), 100_000_000_000, 0)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["--lhs", "100000000000", "1000000"]);
    assert!(latin_hypercube(&[a], 0, 0).is_err());
}

#[test]
fn draws_shards_economies_and_sectors_are_bounded() {
    let e = limits::check_draws(u64::MAX).unwrap_err().to_string();
    assert_has(&e, &["--draws", "18446744073709551615", "10000000"]);
    let e = limits::check_shard(1, 1_000_000).unwrap_err().to_string();
    assert_has(&e, &["--shard", "1/1000000", "100000"]);
    assert_has(
        &limits::check_shard(3, 2).unwrap_err().to_string(),
        &["1 <= K <= N"],
    );
    assert!(limits::check_economies("economies", 2001).is_err());
    assert!(limits::check_sectors(501).is_err());
    let codes: Vec<String> = (0..2001).map(|k| format!("\"E{k}\"")).collect();
    let e = error(&set(
        TWO,
        "economies = [\"ALP\", \"BET\"]",
        &format!("economies = [{}]", codes.join(", ")),
    ));
    assert_has(&e, &["economies", "2001", "limit of 2000"]);
}

#[test]
fn monte_carlo_checks_before_any_work() {
    let d = Dir::new();
    let path = d.write(
        "mc.toml",
        &format!(
            "{TWO}\n[uncertainty]\n[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"uniform\"\nlow = 4\nhigh = 6\n"
        ),
    );
    MonteCarlo::check(&path, 100).unwrap();
    let e = MonteCarlo::check(&path, u64::MAX).unwrap_err().to_string();
    assert_has(&e, &["--draws", "18446744073709551615"]);
    let bad = d.write(
        "bad.toml",
        &format!(
            "{TWO}\n[uncertainty]\n[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"uniform\"\nlow = 6\nhigh = 4\n"
        ),
    );
    let e = MonteCarlo::check(&bad, 10).unwrap_err().to_string();
    assert_has(&e, &["bad.toml", "uncertainty.parameters[0]"]);
}

// --- nothing accepted silently -------------------------------------------------------------

#[test]
fn a_pair_of_three_codes_is_an_error() {
    let text = set(
        TWO,
        "exporters = [\"ALP\", \"BET\"]\nimporters = [\"ALP\", \"BET\"]",
        "pairs = [[\"ALP\", \"BET\", \"ALP\"]]",
    );
    let e = error(&text);
    assert_has(
        &e,
        &[
            "s.toml",
            "shocks[0].pairs[0]",
            "3 codes",
            "`ALP`, `BET`, `ALP`",
        ],
    );
}

#[test]
fn an_empty_economy_code_is_an_error() {
    let e = error(&set(
        TWO,
        "[\"ALP\", \"BET\"]\n",
        "[\"ALP\", \"BET\", \"\"]\n",
    ));
    assert_has(&e, &["economies[2]", "cannot be empty"]);
}

#[test]
fn the_target_among_its_intermediaries_is_an_error() {
    let e = error(&set(
        YEARS,
        "intermediaries = [\"HUB\"]",
        "intermediaries = [\"HUB\", \"TGT\"]",
    ));
    assert_has(&e, &["routes.intermediaries", "target `TGT`"]);
}

#[test]
fn two_instruments_with_one_id_in_a_file_are_an_error() {
    let text = format!("{YEARS}{GROWTH}{}", GROWTH.replace("2023", "2024"));
    let e = error(&text);
    assert_has(&e, &["instruments[1].id", "`growth`", "instruments[0]"]);
    // And in a file that extends another, named by that file.
    let d = Dir::new();
    d.write("base.toml", YEARS);
    let child = d.write(
        "child.toml",
        &format!("extends = \"base.toml\"\n{GROWTH}{GROWTH}"),
    );
    let e = Scenario::from_file(&child).unwrap_err().to_string();
    assert_has(&e, &["child.toml", "instruments[1].id", "`growth`"]);
}

#[test]
fn duplicate_sweep_parameters_are_an_error() {
    let d = Dir::new();
    let path = d.write("s.toml", TWO);
    let a: Axis = "sigma=4:6:3".parse().unwrap();
    let e = Sweep::new(&path, &[a.clone(), a]).unwrap_err().to_string();
    assert_has(&e, &["s.toml", "--param `sigma` is given twice"]);
}

#[test]
fn duplicate_free_calibration_parameters_are_an_error() {
    let d = Dir::new();
    let path = d.write(
        "c.toml",
        &format!(
            "{TWO}\n[calibration]\nfree = [{{ path = \"sigma\", lower = 2, upper = 9 }}, {{ path = \"sigma\", lower = 3, upper = 8 }}]\ntargets = [{{ series = \"ALP.welfare_change_pct\", value = 5 }}]\n"
        ),
    );
    let e = tradeflow::calibrate::calibrate(&path)
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &[
            "c.toml",
            "calibration.free[1].path",
            "`sigma` is already free",
        ],
    );
}

#[test]
fn gegravity_mode_with_years_is_refused_with_a_reason() {
    let e = error(&format!("ge_mode = \"gegravity\"\n{YEARS}"));
    assert_has(&e, &["ge_mode", "[years]", "complete GE"]);
    let d = Dir::new();
    let s = Scenario::from_file(&d.write("y.toml", YEARS)).unwrap();
    let e = s
        .clone()
        .with_ge_mode(GeMode::Gegravity)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["y.toml", "--ge-mode", "[years]"]);
    assert!(s.with_ge_mode(GeMode::Complete).is_ok());
    let two = Scenario::from_file(&d.write("t.toml", TWO)).unwrap();
    assert_eq!(
        two.with_ge_mode(GeMode::Gegravity).unwrap().ge_mode(),
        GeMode::Gegravity
    );
}

// --- messages that name the input ----------------------------------------------------------

fn run_error(text: &str) -> String {
    let d = Dir::new();
    let s = Scenario::from_file(&d.write("s.toml", text)).unwrap();
    if s.dynamics().is_some() {
        run_years(&s).unwrap_err().to_string()
    } else {
        run(&s).unwrap_err().to_string()
    }
}

#[test]
fn cost_overflow_names_the_shock_and_the_values() {
    let e = run_error(&set(TWO, "sigma = 5.0", "sigma = 1e308"));
    assert_has(&e, &["shock \"cut\"", "factor 0.8", "sigma = 1e308"]);
    let e = run_error(&set(TWO, "factor = 0.8", "factor = 1e-308"));
    assert_has(&e, &["shock \"cut\"", "factor 1e-308", "sigma = 5"]);
}

#[test]
fn coefficient_overflow_names_the_coefficient() {
    let text = r#"
name = "c"
sigma = 5.0
reference_importer = "ALP"
economies = ["ALP", "BET"]
[data]
flows = [
    { exporter = "ALP", importer = "ALP", value = 80.0, variables = { dist = 1.0 } },
    { exporter = "ALP", importer = "BET", value = 20.0, variables = { dist = 2.0 } },
    { exporter = "BET", importer = "ALP", value = 20.0, variables = { dist = 2.0 } },
    { exporter = "BET", importer = "BET", value = 80.0, variables = { dist = 1.0 } },
]
[costs]
method = "coefficients"
coefficients = { dist = 1e300 }
"#;
    let e = run_error(text);
    assert_has(
        &e,
        &["ALP->ALP", "`dist` = 1e300", "costs.coefficients.dist"],
    );
}

#[test]
fn tiny_and_huge_units_fail_for_the_real_reason() {
    let tiny = TWO
        .replace("value = 80.0", "value = 1e-300")
        .replace("value = 20.0", "value = 1e-300");
    let e = error(&tiny);
    assert_has(&e, &["data.flows", "add up to 4e-300", "smaller units"]);
    assert!(!e.contains("cannot be zero"), "{e}");
    let huge = set(TWO, "value = 20.0", "value = 1e308");
    let e = error(&huge);
    assert_has(&e, &["data.flows", "add up to 1e308", "larger units"]);
    // Small but representable units still work, with the same answer.
    let scaled = TWO
        .replace("value = 80.0", "value = 80e-100")
        .replace("value = 20.0", "value = 20e-100");
    let d = Dir::new();
    let a = run(&Scenario::from_file(&d.write("a.toml", TWO)).unwrap()).unwrap();
    let b = run(&Scenario::from_file(&d.write("b.toml", &scaled)).unwrap()).unwrap();
    let w = |r: &tradeflow::simulate::RunResults| r.countries[0].welfare_change_pct;
    assert!((w(&a) - w(&b)).abs() < 1e-9, "{} {}", w(&a), w(&b));
}

#[test]
fn zero_domestic_sales_are_said_once() {
    let e = run_error(&TWO.replace("value = 80.0", "value = 0.0"));
    assert_eq!(
        e.matches("domestic sales of ALP are zero").count(),
        1,
        "{e}"
    );
}

#[test]
fn route_errors_name_economies_by_code() {
    let text = format!(
        "{YEARS}{}",
        GROWTH.replace("percent = 5", "percent = 1e308")
    );
    let e = run_error(&text);
    assert!(!e.contains("0->") && !e.contains("->0"), "{e}");
    assert!(
        ["ORG", "HUB", "TGT", "OTH"]
            .iter()
            .any(|c| e.contains(&format!("{c}->"))),
        "{e}"
    );
}

#[test]
fn unknown_fields_across_extends_are_reported_together_with_their_files() {
    let d = Dir::new();
    d.write(
        "base.toml",
        &format!(
            "{}{GROWTH}",
            set(YEARS, "premium = 3.0", "premium = 3.0\nbogus_base = 1")
        ),
    );
    let child = d.write(
        "child.toml",
        "extends = \"base.toml\"\nbogus_top = 1\n[years]\nbogus_years = 2\n",
    );
    let e = Scenario::from_file(&child).unwrap_err().to_string();
    assert_has(
        &e,
        &[
            "3 problems",
            "bogus_top",
            "bogus_years",
            "routes.bogus_base",
            "(in ",
            "base.toml)",
        ],
    );
}

#[test]
fn an_instrument_error_names_its_file_index_and_id() {
    let d = Dir::new();
    // The base holds one instrument; the child's bad one is its own entry 0.
    d.write("base.toml", &format!("{YEARS}{GROWTH}"));
    let child = d.write(
        "child.toml",
        "extends = \"base.toml\"\n[[instruments]]\nid = \"shift\"\nkind = \"demand_shift\"\nstart = 2023\nexporters = [\"ORG\"]\nimporters = [\"TGT\"]\npercent = -200\n",
    );
    let e = Scenario::from_file(&child).unwrap_err().to_string();
    assert_has(&e, &["child.toml", "instruments[0].percent", "`shift`"]);
    // A bad instrument of the base is named in the base.
    d.write(
        "base.toml",
        &format!("{YEARS}{}", GROWTH.replace("percent = 5", "percent = -300")),
    );
    let child = d.write("child2.toml", "extends = \"base.toml\"\nname = \"c2\"\n");
    let e = Scenario::from_file(&child).unwrap_err().to_string();
    assert_has(&e, &["instruments[0].percent", "`growth`", "base.toml"]);
}

#[test]
fn a_coefficient_that_is_not_a_number_shows_its_text() {
    // Through the data reader: a cost variable that is not a number names line, column and text.
    let d = Dir::new();
    let data = d.write(
        "d.csv",
        "exporter,importer,year,trade,Y,E,dist\nA,A,2000,5,8,7,0\nA,B,2000,3,8,9,abc\nB,A,2000,2,6,7,1\nB,B,2000,4,6,9,0\n",
    );
    let e = tradeflow::world::load_gegravity_csv(&data, None)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["d.csv", "line 3", "`dist`", "`abc`"]);
}

// --- calibration: no NaN on disk ----------------------------------------------------------

#[test]
fn an_undefined_standard_error_is_none_and_an_empty_cell() {
    let d = Dir::new();
    // One target, one parameter: no residual variance, so no standard error.
    let path = d.write(
        "c.toml",
        &format!(
            "{TWO}\n[calibration]\nmax_steps = 3\nfree = [{{ path = \"sigma\", lower = 2, upper = 9 }}]\ntargets = [{{ series = \"ALP.welfare_change_pct\", value = 5 }}]\n"
        ),
    );
    let fit = tradeflow::calibrate::calibrate(&path).unwrap();
    assert_eq!(fit.parameters[0].stderr, None);
    let csv = tradeflow::output::csv_bytes(&fit.parameters, "parameters").unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert!(!text.contains("NaN"), "{text}");
    let row = text.lines().nth(1).unwrap();
    assert!(row.split(',').nth(3) == Some(""), "{text}");
    let json = serde_json::to_string(&fit.parameters).unwrap();
    assert!(json.contains("\"stderr\":null"), "{json}");
}

// --- tradeflow gravity: the CSVs it reads ---------------------------------------------------

fn gravity(coefficients: &str, experiment: &str) -> String {
    let d = Dir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = assert_cmd::Command::cargo_bin("tradeflow")
        .unwrap()
        .args(["gravity", "--data"])
        .arg(root.join("tests/data/gegravity_sample/sample_data_set.dlm"))
        .args(["--year", "2006", "--coefficients"])
        .arg(d.write("coefficients.csv", coefficients))
        .args([
            "--sigma",
            "5",
            "--reference-importer",
            "DEU",
            "--experiment",
        ])
        .arg(d.write("changes.csv", experiment))
        .arg("--out")
        .arg(d.0.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.0.path().join("out").exists());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn gravity_csvs_show_the_text_and_refuse_duplicate_rows() {
    let exp = "exporter,importer,variable,value\nCAN,JPN,pta,1\n";
    let e = gravity("variable,beta\npta,0.5\nlndist,abc\n", exp);
    assert_has(&e, &["coefficients.csv, line 3", "`beta`", "`abc`"]);
    let e = gravity(
        "variable,beta\npta,0.5\n",
        "exporter,importer,variable,value\nCAN,JPN,pta,1\nJPN,CAN,pta,1\nCAN,JPN,pta,0\n",
    );
    assert_has(
        &e,
        &[
            "changes.csv, line 4",
            "CAN->JPN `pta` is set twice",
            "line 2",
        ],
    );
}
