//! `tradeflow calibrate FILE [--until YEAR]`: fit the scenario's free parameters to its
//! targets (the posterior mode with the priors); writes the fit report (`fit.csv`,
//! `parameters.csv`, `posterior.csv`, `posterior_covariance.csv`, `backtest.csv`,
//! `calibration.json`) with its charts in `charts/`, and the fitted scenario next to the
//! original. With `--until YEAR` it fits the targets of YEAR and before only and sets the
//! later ones against the fit (a backtest): the report goes to
//! `plots/<name>/backtest_<YEAR>` with the backtest chart, and the fitted scenario to
//! `<stem>.fitted_until_<YEAR>.toml`, so that a backtest never replaces a full fit's files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tradeflow::calibrate::{calibrate_until, fitted_file, posterior_table};
use tradeflow::output::{Claim, Part, Results};
use tradeflow::plot::CHARTS_DIR;

/// The first line of every fitted scenario file: it says who wrote it, and tells
/// `calibrate` that it may replace the file.
const FITTED_HEADER: &str =
    "# Written by `tradeflow calibrate`, which replaces this file on every fit: edit a copy.\n";

/// A fitted scenario file may be replaced only if tradeflow wrote it: missing, or starting
/// with [`FITTED_HEADER`].
fn check_fitted_file(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot check {}", path.display())),
        Ok(m) if !m.file_type().is_file() => anyhow::bail!(
            "refusing to write {}: it is not a regular file; nothing was written",
            path.display()
        ),
        Ok(_) => {
            let mut head = vec![0; FITTED_HEADER.len()];
            let ours = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok()
                && head == FITTED_HEADER.as_bytes();
            if ours {
                Ok(())
            } else {
                anyhow::bail!(
                    "refusing to write {}: it exists and was not written by tradeflow calibrate (it lacks the first line `{}`); move it away or rename it; nothing was written",
                    path.display(),
                    FITTED_HEADER.trim_end()
                )
            }
        }
    }
}

fn write_new(path: &Path, bytes: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes.as_bytes())
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file, with a `[calibration]` section.
    file: PathBuf,
    /// Where to write the fit report [default: plots/<scenario name>/calibration, or
    /// plots/<scenario name>/backtest_<YEAR> with --until].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fit only the targets of this year and before, and report the later ones as
    /// predictions (a backtest: `backtest.csv` and its chart).
    #[arg(long, value_name = "YEAR")]
    until: Option<i32>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    // The scenario is read, its fitted file checked and the folder claimed before the fit.
    let scenario = tradeflow::scenario::Scenario::from_file(&args.file)?;
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let fitted_path = match args.until {
        None => args.file.with_file_name(format!("{stem}.fitted.toml")),
        Some(y) => args
            .file
            .with_file_name(format!("{stem}.fitted_until_{y}.toml")),
    };
    let sub = match args.until {
        None => "calibration".to_owned(),
        Some(y) => format!("backtest_{y}"),
    };
    check_fitted_file(&fitted_path)?;
    let inputs = super::scenario_inputs(&args.file, &scenario);
    let mut claim = match &args.out {
        Some(out) => Claim::new(out, "tradeflow calibrate", &inputs, &[CHARTS_DIR])?,
        None => Claim::new_in(
            &PathBuf::from("plots").join(scenario.name()),
            &sub,
            "tradeflow calibrate",
            &inputs,
            &[CHARTS_DIR],
        )?,
    };
    let out = claim.path().to_owned();
    let fit = calibrate_until(&args.file, args.until)?;
    let text = fitted_file(&args.file, &fit)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{}: writing the fitted scenario", args.file.display()))?;
    let name = scenario.name().to_owned();
    let text = format!("{FITTED_HEADER}{text}");
    let files = tradeflow::calibrate::files::folder_files(&name, &args.file, &fit)?;
    // The fit chart is drawn from these very bytes and written with them, in one piece.
    let (mut parts, mut charts) =
        super::montecarlo::parts_with_charts(&out, files, true, Results::Calibration)?;
    if let Some(until) = args.until {
        let chart = tradeflow::plot::backtest::Backtest {
            scenario: name.clone(),
            until,
            unit: scenario.unit().to_owned(),
            rows: fit.backtest_rows(),
        };
        let drawn = tradeflow::plot::backtest::backtest_chart_files(&chart)?;
        let stem = format!("backtest_until_{until}");
        match parts.iter_mut().find(|p| p.dir == CHARTS_DIR) {
            Some(p) => p
                .files
                .extend(drawn.into_iter().map(|(n, b)| (n, b.into()))),
            None => parts.push(Part::new(CHARTS_DIR, Results::Calibration, drawn)),
        }
        charts.push_str(&format!(
            "\nwrote {} ({stem} as PNG, SVG and CSV)",
            out.join(CHARTS_DIR).display()
        ));
    }
    // The fitted scenario goes next to the original: written in full to a temporary name
    // first, so a failure leaves no half-written file, and renamed once the folder is in.
    let tmp = fitted_path.with_extension(format!("toml.partial-{}", std::process::id()));
    write_new(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Err(e) = claim.write(&parts) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    check_fitted_file(&fitted_path)?;
    std::fs::rename(&tmp, &fitted_path)
        .with_context(|| format!("cannot write {}", fitted_path.display()))?;
    if !args.quiet {
        let mut s = tradeflow::report::fit_table(&fit);
        s.push_str(&posterior_table(&fit));
        s.push_str(&format!(
            "wrote {} and {}{charts}\n",
            fitted_path.display(),
            out.display()
        ));
        super::print_stdout(&s)?;
    }
    Ok(())
}
