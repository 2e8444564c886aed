//! `tradeflow plot DIR`: re-draw the charts of a results folder from its files, and the
//! helpers `run` and `compare` use to write their results with charts in one piece.

use std::path::PathBuf;

use anyhow::{bail, Result};
use tradeflow::output::{Claim, Part, Results};
use tradeflow::plot::{
    calibration_charts, chart_files, compare_charts, montecarlo_charts, sweep_charts,
    year_run_charts, CompareOptions, Folder, FolderKind, MonteCarloOptions, RunOptions, CHARTS_DIR,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A results folder: a yearly run's (`tradeflow run`), a comparison's (`tradeflow
    /// compare`), a Monte Carlo folder (`tradeflow run --draws`: `<results>/montecarlo`), a
    /// calibration folder (`tradeflow calibrate`) or a sweep folder (`tradeflow sweep`:
    /// `<results>/sweep`), told apart by their files. The charts are written to
    /// DIR/charts, replacing the charts tradeflow wrote there and nothing else.
    dir: PathBuf,
    /// Year of the route diagram and end year of the heatmap (yearly run), or year of the
    /// bar chart and heatmaps (comparison) [default: the last year].
    #[arg(long)]
    year: Option<i32>,
    /// Start year of the heatmap of a yearly run [default: the first year].
    #[arg(long)]
    from_year: Option<i32>,
    /// A series of compare.csv (`KGZ.reexports.RUS`; `tradeflow series FILE` lists them)
    /// to draw across scenarios (repeat for several) [default:
    /// re-exports via the largest intermediary, the largest recorded flow into it, the
    /// target's imports]. In a Monte Carlo folder: a series of montecarlo.csv to draw a fan
    /// chart of [default: re-exports via each intermediary, the largest recorded flow into
    /// the largest one, the target's imports], or for a single counterfactual a measure
    /// drawn per country [default: welfare_change_pct].
    #[arg(long)]
    series: Vec<String>,
    /// The scenario a comparison's heatmaps compare the others with [default: the reference
    /// `compare` measured against (differences.csv), else the first].
    #[arg(long)]
    reference: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    if !args.dir.is_dir() {
        bail!("{}: no such results folder", args.dir.display());
    }
    // The charts folder is claimed first: a `charts` that is not tradeflow's is refused
    // before anything is drawn. (The results folder itself may be anyone's: `plot` adds
    // `charts/` to it and changes nothing else.)
    let mut claim = Claim::new(&args.dir.join(CHARTS_DIR), "tradeflow plot", &[], &[])?;
    let folder = Folder::read(&args.dir)?;
    let kind = folder.kind()?;
    // Options that do not apply to the kind of folder are an error, not silently ignored.
    let given: Vec<&str> = [
        ("--year", args.year.is_some()),
        ("--from-year", args.from_year.is_some()),
        ("--series", !args.series.is_empty()),
        ("--reference", args.reference.is_some()),
    ]
    .into_iter()
    .filter_map(|(o, set)| set.then_some(o))
    .collect();
    let (what, allowed): (&str, &[&str]) = match kind {
        FolderKind::YearRun => ("a yearly run's folder", &["--year", "--from-year"]),
        FolderKind::Compare => (
            "a comparison folder",
            &["--year", "--series", "--reference"],
        ),
        FolderKind::MonteCarlo => ("a Monte Carlo folder", &["--series"]),
        FolderKind::Calibration => ("a calibration folder", &[]),
        FolderKind::Sweep => ("a sweep folder", &[]),
    };
    if let Some(o) = given.iter().find(|o| !allowed.contains(o)) {
        let for_whom = match *o {
            "--year" => "a yearly run's or a comparison folder",
            "--from-year" => "a yearly run's folder",
            "--series" => "a comparison or a Monte Carlo folder",
            _ => "a comparison folder",
        };
        bail!(
            "{}: this is {what}, and {o} applies to {for_whom}{}",
            args.dir.display(),
            if allowed.is_empty() {
                format!("; {what} takes no options")
            } else {
                format!("; {what} takes {}", allowed.join(", "))
            }
        );
    }
    let charts = match kind {
        FolderKind::YearRun => year_run_charts(
            &folder,
            &RunOptions {
                year: args.year,
                from_year: args.from_year,
            },
        )?,
        FolderKind::Compare => compare_charts(
            &folder,
            &CompareOptions {
                series: args.series.clone(),
                year: args.year,
                reference: args.reference.clone(),
            },
        )?,
        FolderKind::MonteCarlo => montecarlo_charts(
            &folder,
            &MonteCarloOptions {
                series: args.series.clone(),
            },
        )?,
        FolderKind::Calibration => calibration_charts(&folder)?,
        FolderKind::Sweep => sweep_charts(&folder)?,
    };
    let files = chart_files(&charts)?;
    let out = args.dir.join(CHARTS_DIR);
    claim.write(&[Part::new("", Results::Charts, files)])?;
    if !args.quiet {
        super::print_stdout(&format!(
            "wrote {}\n",
            tradeflow::plot::describe(&out, &charts)
        ))?;
    }
    Ok(())
}
