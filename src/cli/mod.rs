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
mod series;
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
    /// Real data in: import BACI or UN Comtrade files as a panel, report on a panel, build a
    /// base-year world from it.
    Data(data::Args),
    /// Run a scenario over a grid or Latin hypercube of parameters, with tornado data.
    Sweep(sweep::Args),
    /// Re-draw the charts of a results folder from its files.
    Plot(plot::Args),
    /// List the output series of a scenario (for --series, --output and calibration targets).
    Series(series::Args),
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
        Command::Series(args) => series::run(args),
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

/// An empty `charts/` part: written by `--no-charts`, it removes charts an earlier run left.
fn no_charts() -> tradeflow::output::Part {
    let none: [(String, Vec<u8>); 0] = [];
    tradeflow::output::Part::new(
        tradeflow::plot::CHARTS_DIR,
        tradeflow::output::Results::Charts,
        none,
    )
}

/// Runs a scenario with `[years]`: the parts of its results folder (data, and charts unless
/// `charts` is false) and the key series as a table.
fn simulate(
    scenario: &tradeflow::scenario::Scenario,
    out: &std::path::Path,
    charts: bool,
) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    let run =
        tradeflow::simulate::run_years(scenario).with_context(|| match scenario.source() {
            Some(path) => format!("{}: scenario `{}`", path.display(), scenario.name()),
            None => format!("scenario `{}`", scenario.name()),
        })?;
    let files = tradeflow::output::year_run_files(scenario, &run)?;
    // Charts are drawn from the very bytes about to be written, before anything is written.
    let (drawn, parts) = if charts {
        tradeflow::plot::parts_with_charts(
            out,
            files,
            tradeflow::plot::FolderKind::YearRun,
            tradeflow::output::Results::Run,
        )?
    } else {
        let data = tradeflow::output::Part::new("", tradeflow::output::Results::Run, files);
        (Vec::new(), vec![data, no_charts()])
    };
    let sectors = scenario.dynamics().map_or(1, |d| d.sectors.len());
    let mut text = tradeflow::report::solve_summary(
        &run.reports,
        sectors,
        run.years.len().saturating_sub(1),
        scenario.solver().tolerance,
    );
    text.push_str(&tradeflow::report::series_legend(scenario.unit()));
    let series = tradeflow::simulate::key_series(&run, scenario);
    text.push_str(&tradeflow::report::series_table(
        &series,
        &run.years,
        tradeflow::report::is_headline_series,
    ));
    let mut wrote = format!(
        "wrote {} ({})\n",
        out.display(),
        parts[0]
            .files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    if charts {
        let dir = out.join(tradeflow::plot::CHARTS_DIR);
        wrote.push_str(&format!(
            "wrote {}\n",
            tradeflow::plot::describe(&dir, &drawn)
        ));
    }
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
