//! Estimation with priors: the posterior mode recovers known parameters (exact and noisy
//! figures with stated sd's), a parameter the targets do not touch is pinned by its prior
//! (posterior sd equal to the prior's), more free parameters than targets is well posed
//! with priors and refused without, an unidentified parameter is flagged, and the files
//! `posterior.csv` and `posterior_covariance.csv` hold what `run --draws` reads.

use tradeflow::calibrate::{calibrate, files::folder_files};
use tradeflow::montecarlo::outputs;
use tradeflow::scenario::Scenario;

use crate::calibrate::{scenario, write};

/// A growth instrument in 2024 only: no 2023 figure depends on its `percent`.
const LATE: &str = "[[instruments]]\nid = \"late\"\nkind = \"growth\"\nstart = 2024\neconomies = [\"OTH\"]\npercent = 2.0\n";

/// The model's value of `series` in `year` at the parameters (percent, premium).
fn model(percent: f64, premium: f64, series: &str, year: i32) -> f64 {
    let (_dir, path) = write(&format!("{}{LATE}", scenario(percent, premium)));
    let out = outputs(&Scenario::from_file(&path).unwrap()).unwrap();
    out.iter()
        .find(|(n, y, _)| n == series && *y == Some(year))
        .unwrap()
        .2
}

const WANTED: [(&str, i32); 3] = [
    ("ORG-TGT.recorded.ORG", 2023),
    ("HUB.reexports.TGT", 2023),
    ("ORG-HUB.recorded.ORG", 2024),
];

/// Targets with sd `sd` made by the model at (60, 1.6), times `noise`.
fn sd_targets(wanted: &[(&str, i32)], noise: &[f64], sd: f64) -> String {
    let mut s = String::new();
    for ((series, year), f) in wanted.iter().zip(noise) {
        s.push_str(&format!(
            "[[calibration.targets]]\nseries = \"{series}\"\nyear = {year}\nvalue = {}\nsd = {sd}\nsource = \"the model at (60, 1.6)\"\n",
            model(60.0, 1.6, series, *year) * f
        ));
    }
    s
}

const PRIORS: &str = r#"[[calibration.free]]
path = "instruments.controls.percent"
lower = 0.0
upper = 200.0
prior = { dist = "normal", mean = 50.0, sd = 30.0, reason = "a wide range around published tariff equivalents" }
[[calibration.free]]
path = "instruments.channel.premium"
lower = 1.0
upper = 5.0
prior = { dist = "lognormal", median = 2.0, sd = 0.5, reason = "detours cost between a third and double the direct route" }
"#;

const LATE_FREE: &str = r#"[[calibration.free]]
path = "instruments.late.percent"
lower = -10.0
upper = 10.0
prior = { dist = "normal", mean = 2.0, sd = 1.0, reason = "trend growth" }
"#;

fn fit_of(text: &str) -> tradeflow::calibrate::Fit {
    let (_dir, path) = write(&format!("{}{LATE}{text}", scenario(20.0, 2.5)));
    calibrate(&path).unwrap()
}

#[test]
fn recovers_known_parameters_with_priors() {
    let fit = fit_of(&format!("{PRIORS}{}", sd_targets(&WANTED, &[1.0; 3], 0.01)));
    assert!(fit.converged, "{}", fit.stop);
    assert_eq!(fit.uncertainty, "stated");
    for (p, truth) in fit.posterior.iter().zip([60.0, 1.6]) {
        let sd = p.posterior_sd.expect("a posterior sd");
        // Exact figures: the mode is the truth pulled a little towards the prior.
        assert!((p.mode - truth).abs() < 0.5 * sd + 1e-3 * truth, "{p:?}");
        assert_eq!(p.verdict, "the data pinned this down", "{p:?}");
        assert!(p.sd_ratio.unwrap() < 0.5, "{p:?}");
    }
    assert_eq!(fit.posterior[1].prior, "lognormal");
    assert_eq!(fit.posterior[1].prior_location, Some(2.0));
    assert!(fit.objective_prior > 0.0 && fit.objective_targets >= 0.0);
    assert!(
        (fit.objective - fit.objective_targets - fit.objective_prior).abs() < 1e-12,
        "{fit:?}"
    );
}

#[test]
fn recovers_parameters_from_noisy_figures_within_their_posterior_sd() {
    let noise = [1.03, 0.97, 1.02];
    let fit = fit_of(&format!("{PRIORS}{}", sd_targets(&WANTED, &noise, 0.03)));
    assert!(fit.converged, "{}", fit.stop);
    for (p, truth) in fit.posterior.iter().zip([60.0, 1.6]) {
        let sd = p.posterior_sd.expect("a posterior sd");
        assert!(sd > 0.0, "{p:?}");
        assert!((p.mode - truth).abs() < 3.0 * sd, "{p:?}");
    }
    // The fit of every target is reported with its sd and reporter.
    assert_eq!(fit.targets.len(), 3);
    assert_eq!(fit.targets[0].reporter, "ORG");
    assert_eq!(fit.targets[1].reporter, "");
    assert!(fit
        .targets
        .iter()
        .all(|t| t.sd == Some(0.03) && t.in_sample));
}

#[test]
fn more_parameters_than_targets_is_well_posed_with_priors() {
    // Three free parameters, two targets: the third touches no target, so its posterior is
    // its prior.
    let two = &WANTED[..2];
    let fit = fit_of(&format!(
        "{PRIORS}{LATE_FREE}{}",
        sd_targets(two, &[1.0; 2], 0.02)
    ));
    assert!(fit.converged, "{}", fit.stop);
    let late = &fit.posterior[2];
    assert_eq!(late.parameter, "instruments.late.percent");
    assert!((late.mode - 2.0).abs() < 1e-6, "{late:?}");
    let ratio = late.sd_ratio.unwrap();
    assert!((ratio - 1.0).abs() < 1e-3, "{late:?}");
    assert_eq!(late.verdict, "the prior did");
    assert!(fit.parameters[2].poorly_identified);
    // The covariance file: every ordered pair, the diagonal the posterior variances.
    assert_eq!(fit.covariance.len(), 9);
    let diag = fit
        .covariance
        .iter()
        .find(|c| c.parameter_a == late.parameter && c.parameter_b == late.parameter)
        .unwrap();
    assert!((diag.covariance.unwrap() - late.posterior_sd.unwrap().powi(2)).abs() < 1e-9);
    assert_eq!(diag.correlation, Some(1.0));
    let files = folder_files("t", std::path::Path::new("cal.toml"), &fit).unwrap();
    let text = |name: &str| {
        String::from_utf8(files.iter().find(|(n, _)| *n == name).unwrap().1.clone()).unwrap()
    };
    let posterior = text("posterior.csv");
    assert!(
        posterior.starts_with("parameter,prior,prior_location,prior_sd,mode,posterior_sd,sd_ratio,verdict,lower,upper\n"),
        "{posterior}"
    );
    assert!(
        posterior.contains("instruments.late.percent,normal,2.0,1.0,"),
        "{posterior}"
    );
    let cov = text("posterior_covariance.csv");
    assert!(
        cov.starts_with("parameter_a,parameter_b,covariance,correlation\n"),
        "{cov}"
    );
    assert_eq!(cov.lines().count(), 10);
    let fit_csv = text("fit.csv");
    assert!(
        fit_csv.starts_with("series,year,observed,initial,fitted,log_deviation,weight,source,reporter,sd,in_sample\n"),
        "{fit_csv}"
    );
    let backtest = text("backtest.csv");
    assert!(
        backtest.starts_with("series,reporter,year,observed,fitted,in_sample,exporter,importer,log_deviation,source\n"),
        "{backtest}"
    );
    assert!(
        backtest.contains("ORG-TGT.recorded.ORG,ORG,2023,"),
        "{backtest}"
    );
}

#[test]
fn more_parameters_than_targets_without_priors_is_refused() {
    let free = "[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\n[[calibration.free]]\npath = \"instruments.channel.premium\"\nlower = 1.0\nupper = 5.0\n[[calibration.free]]\npath = \"instruments.late.percent\"\nlower = -10.0\nupper = 10.0\n";
    let (_dir, path) = write(&format!(
        "{}{LATE}{free}{}",
        scenario(20.0, 2.5),
        sd_targets(&WANTED[..2], &[1.0; 2], 0.02)
    ));
    let e = calibrate(&path).unwrap_err().to_string();
    assert!(e.contains("calibration.free"), "{e}");
    assert!(
        e.contains("3 free parameters but 2 targets and 0 priors"),
        "{e}"
    );
    assert!(e.contains("give priors"), "{e}");
}

#[test]
fn a_parameter_the_targets_do_not_touch_is_flagged_and_warned_of() {
    // Flat priors and plain weights (the older kind of file): the late growth rate moves no
    // 2023 figure, so its column of the Jacobian is zero.
    let free = "[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\n[[calibration.free]]\npath = \"instruments.late.percent\"\nlower = -10.0\nupper = 10.0\n";
    let mut targets = String::new();
    for (series, year) in [("ORG-TGT.recorded.ORG", 2023), ("HUB.reexports.TGT", 2023)] {
        targets.push_str(&format!(
            "[[calibration.targets]]\nseries = \"{series}\"\nyear = {year}\nvalue = {}\n",
            model(60.0, 2.5, series, year) * 1.01
        ));
    }
    let fit = fit_of(&format!("{free}{targets}"));
    assert_eq!(fit.uncertainty, "scaled");
    let late = &fit.parameters[1];
    assert!(late.poorly_identified, "{late:?}");
    assert!(late.weak_direction_loading > 0.99, "{late:?}");
    assert!(
        !fit.parameters[0].poorly_identified,
        "{:?}",
        fit.parameters[0]
    );
    assert!(
        fit.warnings
            .iter()
            .any(|w| w.contains("instruments.late.percent") && w.contains("flat prior")),
        "{:?}",
        fit.warnings
    );
    assert_eq!(fit.posterior[1].verdict, "data only");
    // Its files hold no non-finite number (an exactly singular Jacobian included).
    let files = folder_files("t", std::path::Path::new("cal.toml"), &fit).unwrap();
    let cov = files
        .iter()
        .find(|(n, _)| *n == "posterior_covariance.csv")
        .unwrap();
    assert!(!String::from_utf8_lossy(&cov.1).contains("NaN"));
}

#[test]
fn prior_and_target_uncertainty_errors_name_the_field() {
    let fails = |extra: &str, needles: &[&str]| {
        let (_dir, path) = write(&format!("{}{LATE}{extra}", scenario(20.0, 2.5)));
        let e = calibrate(&path).unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "`{n}` not in: {e}");
        }
    };
    let target =
        "[[calibration.targets]]\nseries = \"ORG-TGT.recorded.ORG\"\nyear = 2023\nvalue = 5.0\n";
    fails(
        &format!("{PRIORS}[[calibration.targets]]\nseries = \"ORG-TGT.recorded.ORG\"\nyear = 2023\nvalue = 5.0\nsd = 0.1\nweight = 2.0\n"),
        &["calibration.targets[0].sd", "not both"],
    );
    fails(
        &format!("{PRIORS}[[calibration.targets]]\nseries = \"ORG-TGT.recorded.ORG\"\nyear = 2023\nvalue = 5.0\nsd = 0.0\n"),
        &["calibration.targets[0].sd", "must be positive"],
    );
    fails(
        &format!("[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\nprior = {{ dist = \"normal\", mean = 50.0, sd = 30.0 }}\n{target}"),
        &["calibration.free[0].prior.reason"],
    );
    fails(
        &format!("[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\nprior = {{ dist = \"lognormal\", median = 50.0, sd = 0.3, reason = \"r\" }}\n{target}"),
        &["calibration.free[0].lower", "positive lower bound"],
    );
    fails(
        &format!("[[calibration.free]]\npath = \"instruments.controls.percent\"\nlower = 0.0\nupper = 200.0\nprior = {{ dist = \"normal\", mean = 50.0, sd = 30.0, reason = \"r\", shape = 2 }}\n{target}"),
        &["calibration.free[0].prior", "shape"],
    );
    fails(
        &format!("{PRIORS}{target}{target}"),
        &[
            "calibration.targets[1]",
            "already a target of calibration.targets[0]",
        ],
    );
}
