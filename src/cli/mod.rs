//! Command-line interface. One file per subcommand, each a `run(args) -> Result`.
//!
//! Exit codes: 0 success; 1 bad input, a solver that did not converge, or output that
//! could not be written (the message names the file, line or field); 2 a usage error
//! (unknown flag, missing argument), reported by clap.

mod calibrate;
mod compare;
mod data;
mod estimate;
mod gravity;
mod montecarlo;
mod plot;
mod run;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tradeflow: structural gravity in general equilibrium, re-export routes and sanctions
/// scenarios.
#[derive(Debug, Parser)]
#[command(name = "tradeflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file and write its results folder.
    Run(run::Args),
    /// Run a gegravity-style experiment straight from CSV files, without a scenario file.
    Gravity(gravity::Args),
    /// Run several scenario files with `[years]` and line up their key series.
    Compare(compare::Args),
    /// Join Monte Carlo shards (`run --draws N --shard K/N`) into one result.
    Merge(montecarlo::MergeArgs),
    /// Fit a scenario's free parameters to its observed targets.
    Calibrate(calibrate::Args),
    /// Estimate trade-cost coefficients by PPML with fixed effects (writes coefficients.csv).
    Estimate(estimate::Args),
    /// Real data in: import BACI or UN Comtrade files as a panel, report on a panel.
    Data(data::Args),
    /// Run a scenario over a grid or Latin hypercube of parameters, with tornado data.
    Sweep(sweep::Args),
    /// Re-draw the charts of a results folder from its files.
    Plot(plot::Args),
}

/// Parses the command line, runs the subcommand and reports any error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Gravity(args) => gravity::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Merge(args) => montecarlo::merge(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Estimate(args) => estimate::run(args),
        Command::Data(args) => data::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Plot(args) => plot::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The files a command reads for a scenario file: the file as named, and every file the
/// scenario was read from ([`tradeflow::scenario::Scenario::input_files`]).
fn scenario_inputs(
    file: &std::path::Path,
    scenario: &tradeflow::scenario::Scenario,
) -> Vec<std::path::PathBuf> {
    let mut inputs = vec![file.to_owned()];
    inputs.extend(scenario.input_files());
    inputs
}

/// Solves a single counterfactual built from command-line files (`tradeflow gravity`) and
/// writes its folder, which may not hold any of `inputs`.
fn solve_and_write(
    scenario: &tradeflow::scenario::Scenario,
    out: &std::path::Path,
    inputs: &[std::path::PathBuf],
    quiet: bool,
) -> anyhow::Result<()> {
    let mut claim = tradeflow::output::Claim::new(out, "tradeflow gravity", inputs, &[])?;
    let outcome = solve(scenario, out)?;
    claim.write(&outcome.parts)?;
    if !quiet {
        print_stdout(&format!("{}{}", outcome.text, outcome.wrote))?;
    }
    Ok(())
}

/// Solves a single counterfactual: the parts of its results folder and a short summary.
fn solve(
    scenario: &tradeflow::scenario::Scenario,
    out: &std::path::Path,
) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    let results = tradeflow::simulate::run(scenario).with_context(|| match scenario.source() {
        Some(path) => format!("{}: scenario `{}`", path.display(), scenario.name()),
        None => format!("scenario `{}`", scenario.name()),
    })?;
    let files = tradeflow::output::run_files(scenario, &results)?;
    let mut text = String::new();
    for r in &results.reports {
        text.push_str(&format!("{r}\n"));
    }
    text.push_str(&tradeflow::report::country_summary(&results.countries, 8));
    let wrote = format!(
        "wrote {} ({})\n",
        out.display(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    );
    let part = tradeflow::output::Part::new("", tradeflow::output::Results::Run, files);
    Ok(Outcome {
        parts: vec![part],
        text,
        wrote,
    })
}

/// What a command computed, before anything is written: the parts of its results folder,
/// what to print, and what to print once they are written.
struct Outcome {
    parts: Vec<tradeflow::output::Part>,
    text: String,
    wrote: String,
}

/// Runs a scenario with `[years]`: the parts of its results folder (data and charts) and the
/// key series as a table.
fn simulate(
    scenario: &tradeflow::scenario::Scenario,
    out: &std::path::Path,
) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    let run =
        tradeflow::simulate::run_years(scenario).with_context(|| match scenario.source() {
            Some(path) => format!("{}: scenario `{}`", path.display(), scenario.name()),
            None => format!("scenario `{}`", scenario.name()),
        })?;
    let files = tradeflow::output::year_run_files(scenario, &run)?;
    // Charts are drawn from the very bytes about to be written, before anything is written.
    let (charts, parts) = tradeflow::plot::parts_with_charts(
        out,
        files,
        tradeflow::plot::FolderKind::YearRun,
        tradeflow::output::Results::Run,
    )?;
    let solves = run.reports.len();
    let newton = run.reports.iter().filter(|r| r.newton_steps > 0).count();
    let worst = run.reports.iter().map(|r| r.residual).fold(0.0, f64::max);
    let mut text = format!(
        "{solves} solves converged (largest residual {worst:.1e}; {newton} needed Newton steps)\n"
    );
    let series = tradeflow::simulate::key_series(&run, scenario);
    text.push_str(&tradeflow::report::series_table(
        &series,
        &run.years,
        tradeflow::report::is_headline_series,
    ));
    let wrote = format!(
        "wrote {} ({})\nwrote {}\n",
        out.display(),
        parts[0]
            .files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        tradeflow::plot::describe(&out.join(tradeflow::plot::CHARTS_DIR), &charts)
    );
    Ok(Outcome { parts, text, wrote })
}

/// Writes to standard output; a closed pipe (`tradeflow run ... | head`) is not an error.
fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
