//! The files of a calibration folder as bytes: `parameters.csv` (one row per free
//! parameter: initial, fitted, standard error, bounds, identification), `fit.csv` (one row
//! per target: observed, initial, fitted, log deviation, weight, source) and
//! `calibration.json` (the fit report with the scenario it fits). `tradeflow calibrate`
//! writes them and the Python package reads them; nothing here touches the disk.

use std::path::Path;

use serde::Serialize;

use super::Fit;
use crate::output::{csv_bytes, json_bytes, OutputError};

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
    Ok(vec![
        (
            "parameters.csv",
            csv_bytes(&fit.parameters, "fitted parameters")?,
        ),
        (
            "fit.csv",
            csv_bytes(&fit.targets, "targets against the fit")?,
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
