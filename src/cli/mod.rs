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
mod results;
mod run;
mod series;
mod sweep;

use std::process::ExitCode;

use results::{no_charts, simulate, solve, solve_and_write};

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

/// Writes to standard output; a closed pipe (`tradeflow run ... | head`) is not an error.
fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
