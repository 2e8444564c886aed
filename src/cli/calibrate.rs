//! `tradeflow calibrate FILE`: fit the scenario's free parameters to its targets; writes the
//! fit report (`fit.csv`, `parameters.csv`, `calibration.json`) with its chart in `charts/`,
//! and the fitted scenario next to the original.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use tradeflow::calibrate::{calibrate, fitted_file, Fit};

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

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file, with a `[calibration]` section.
    file: PathBuf,
    /// Where to write the fit report [default: plots/<scenario name>/calibration].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let fit = calibrate(&args.file)?;
    let text = fitted_file(&args.file, &fit)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{}: writing the fitted scenario", args.file.display()))?;
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let fitted_path = args.file.with_file_name(format!("{stem}.fitted.toml"));
    let name = fit
        .table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("scenario")
        .to_owned();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("plots").join(&name).join("calibration"));
    let files = vec![
        (
            "parameters.csv",
            tradeflow::output::csv_bytes(&fit.parameters, "fitted parameters")?,
        ),
        (
            "fit.csv",
            tradeflow::output::csv_bytes(&fit.targets, "targets against the fit")?,
        ),
        (
            "calibration.json",
            tradeflow::output::json_bytes(
                &Report {
                    scenario: &name,
                    file: &args.file,
                    fit: &fit,
                },
                "calibration report",
            )?,
        ),
    ];
    // The fit chart is drawn from these very bytes and written with them, in one piece.
    let charts = super::montecarlo::write_with_charts(&out, &files, true)?;
    // The fitted scenario goes next to the original: written to a temporary name first, so
    // a failure leaves no half-written file.
    let tmp = fitted_path.with_extension("toml.partial");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &fitted_path)
        .with_context(|| format!("cannot write {}", fitted_path.display()))?;
    if !args.quiet {
        let mut s = format!(
            "{} after {} steps ({} model runs); objective {:.4e} -> {:.4e}\n\n",
            fit.stop, fit.steps, fit.evaluations, fit.objective_initial, fit.objective
        );
        s.push_str(&format!(
            "{:<45} {:>10} {:>10} {:>10}  {}\n",
            "parameter", "initial", "fitted", "std.err", "note"
        ));
        for p in &fit.parameters {
            let mut note = Vec::new();
            if p.at_bound {
                note.push("at a bound".to_owned());
            }
            if p.poorly_identified {
                note.push("poorly identified".to_owned());
            }
            s.push_str(&format!(
                "{:<45} {:>10.4} {:>10.4} {:>10}  {}\n",
                p.path,
                p.initial,
                p.fitted,
                if p.stderr.is_finite() {
                    format!("{:.4}", p.stderr)
                } else {
                    "n/a".into()
                },
                note.join(", ")
            ));
        }
        s.push_str(&format!(
            "\n{:<45} {:>6} {:>10} {:>10} {:>10}\n",
            "target", "year", "observed", "initial", "fitted"
        ));
        for t in &fit.targets {
            s.push_str(&format!(
                "{:<45} {:>6} {:>10.4} {:>10.4} {:>10.4}\n",
                t.series,
                t.year.map_or(String::new(), |y| y.to_string()),
                t.observed,
                t.initial,
                t.fitted
            ));
        }
        s.push_str(&format!(
            "\nJacobian singular values {:?}, condition number {:.3e}{}\n",
            fit.singular_values
                .iter()
                .map(|v| format!("{v:.3e}"))
                .collect::<Vec<_>>(),
            fit.condition_number,
            if fit.condition_number > 1e6 {
                " (near-singular)"
            } else {
                ""
            }
        ));
        s.push_str(&format!(
            "wrote {} and {}{charts}\n",
            fitted_path.display(),
            out.display()
        ));
        super::print_stdout(&s)?;
    }
    Ok(())
}
