//! The files of a calibration folder as bytes: `parameters.csv` (one row per free
//! parameter: initial, fitted, standard error, bounds, identification), `fit.csv` (one row
//! per fitted target: observed, initial, fitted, log deviation, weight, source, reporter,
//! sd, in_sample), `posterior.csv` (one row per parameter: prior, mode, posterior sd and
//! what pinned it down), `posterior_covariance.csv` (one row per ordered pair of
//! parameters), `backtest.csv` (every target at the fit, fitted or predicted) and
//! `calibration.json` (the fit report with the scenario it fits). `tradeflow calibrate`
//! writes them and the Python package reads them; nothing here touches the disk. The
//! columns are documented in `scenarios/README.md` (`[calibration]`); `posterior.csv` and
//! `posterior_covariance.csv` are what `run --draws` reads to draw from the posterior, so
//! they carry every digit (a covariance rounded to 10 digits may no longer be positive
//! definite, nor its diagonal the square of the sd column).

use std::path::Path;

use serde::Serialize;

use super::Fit;
use crate::output::{csv_bytes, csv_bytes_exact, json_bytes, OutputError};

/// `calibration.json`: the fit report with the scenario it fits.
#[derive(Serialize)]
struct Report<'a> {
    /// The scenario's name.
    scenario: &'a str,
    /// The scenario file.
    file: &'a Path,
    #[serde(flatten)]
    fit: &'a Fit,
}

/// The files of the calibration folder of scenario `name`, read from `file`.
pub fn folder_files(
    name: &str,
    file: &Path,
    fit: &Fit,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let in_sample: Vec<&super::TargetFit> = fit.targets.iter().filter(|t| t.in_sample).collect();
    Ok(vec![
        (
            "parameters.csv",
            csv_bytes(&fit.parameters, "fitted parameters")?,
        ),
        ("fit.csv", csv_bytes(&in_sample, "targets against the fit")?),
        (
            "posterior.csv",
            csv_bytes_exact(&fit.posterior, "the posterior of each parameter")?,
        ),
        (
            "posterior_covariance.csv",
            csv_bytes_exact(&fit.covariance, "the posterior covariance")?,
        ),
        (
            "backtest.csv",
            csv_bytes(&fit.backtest_rows(), "targets fitted and predicted")?,
        ),
        (
            "calibration.json",
            json_bytes(
                &Report {
                    scenario: name,
                    file,
                    fit,
                },
                "calibration report",
            )?,
        ),
    ])
}
