//! Calibration recovers parameters from data the model made itself, with and without
//! noise, and rejects bad specifications with located errors.

use tradeflow::calibrate::calibrate;
use tradeflow::montecarlo::outputs;
use tradeflow::scenario::Scenario;

pub(crate) const SMALL: &str = concat!(
    r#"
name = "t"
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
percent = PERCENT
[[instruments]]
id = "channel"
kind = "evasion_channel"
start = 2023
via = ["HUB"]
premium = PREMIUM
"#
);

pub(crate) fn scenario(percent: f64, premium: f64) -> String {
    SMALL
        .replace("PERCENT", &percent.to_string())
        .replace("PREMIUM", &premium.to_string())
}

pub(crate) fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Targets made by the model at known parameters, times `noise` factors.
pub(crate) fn targets(percent: f64, premium: f64, noise: &[f64]) -> String {
    let (_dir, path) = write(&scenario(percent, premium));
    let out = outputs(&Scenario::from_file(&path).unwrap()).unwrap();
    let wanted = [
        ("ORG-TGT.recorded.ORG", 2023),
        ("HUB.reexports.TGT", 2023),
        ("ORG-HUB.recorded.ORG", 2024),
    ];
    let mut s = String::new();
    for ((series, year), f) in wanted.iter().zip(noise) {
        let v = out
            .iter()
            .find(|(n, y, _)| n == series && *y == Some(*year))
            .unwrap()
            .2;
        s.push_str(&format!(
            "[[calibration.targets]]\nseries = \"{series}\"\nyear = {year}\nvalue = {}\n",
            v * f
        ));
    }
    s
}

pub(crate) const FREE: &str = "[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\n[[calibration.free]]\npath = \"instruments.channel.premium\"\nlower = 1.0\nupper = 5.0\n";

#[test]
fn recovers_parameters_from_model_data() {
    let text = format!(
        "{}{FREE}{}",
        scenario(20.0, 2.5),
        targets(60.0, 1.6, &[1.0, 1.0, 1.0])
    );
    let (_dir, path) = write(&text);
    let fit = calibrate(&path).unwrap();
    assert!(fit.converged, "{}", fit.stop);
    assert!(
        (fit.parameters[0].fitted - 60.0).abs() < 1e-3,
        "{:?}",
        fit.parameters
    );
    assert!(
        (fit.parameters[1].fitted - 1.6).abs() < 1e-5,
        "{:?}",
        fit.parameters
    );
    assert!(fit.objective < 1e-12);
}

#[test]
fn recovers_parameters_from_noisy_data_within_their_standard_errors() {
    let text = format!(
        "{}{FREE}{}",
        scenario(20.0, 2.5),
        targets(60.0, 1.6, &[1.02, 0.98, 1.01])
    );
    let (_dir, path) = write(&text);
    let fit = calibrate(&path).unwrap();
    assert!(fit.converged, "{}", fit.stop);
    for (p, truth) in fit.parameters.iter().zip([60.0, 1.6]) {
        let se = p.stderr.expect("a standard error");
        assert!(se > 0.0, "{p:?}");
        assert!((p.fitted - truth).abs() < 3.0 * se + 0.1 * truth, "{p:?}");
    }
    assert!(fit.objective > 0.0);
}

fn fails(extra: &str, needles: &[&str]) {
    let (_dir, path) = write(&format!("{}{extra}", scenario(20.0, 2.5)));
    let e = calibrate(&path).unwrap_err().to_string();
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
    assert!(e.contains("cal.toml"), "{e}");
}

#[test]
fn bad_specifications_give_located_errors() {
    let target =
        "[[calibration.targets]]\nseries = \"ORG-TGT.recorded.ORG\"\nyear = 2023\nvalue = 5.0\n";
    fails(
        &format!("[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 50.0\nupper = 10.0\n{target}"),
        &["calibration.free[0]", "bounds reversed"],
    );
    fails(
        &format!("[[calibration.free]]\npath = \"instruments.nope.percent\"\nlower = 0.0\nupper = 10.0\n{target}"),
        &["calibration.free[0].path", "instruments.nope.percent"],
    );
    fails(
        &format!("{FREE}[[calibration.targets]]\nseries = \"ORG-XYZ.recorded.ORG\"\nyear = 2023\nvalue = 5.0\n"),
        &["calibration.targets[0].series", "no series `ORG-XYZ.recorded.ORG`; nearest: `ORG-HUB.recorded.ORG`"],
    );
    fails(
        &format!("{FREE}[[calibration.targets]]\nseries = \"ORG-TGT.recorded.ORG\"\nyear = 2023\nvalue = -5.0\n"),
        &["calibration.targets[0].value", "must be positive"],
    );
    fails(FREE, &["calibration.targets", "names no target"]);
}
