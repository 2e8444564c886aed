//! Command-line interface. One file per subcommand, each a `run(args) -> Result`.
//!
//! Exit codes: 0 success; 1 bad input, a solver that did not converge, or output that
//! could not be written (the message names the file, line or field); 2 a usage error
//! (unknown flag, missing argument), reported by clap.

mod gravity;
mod run;

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
}

/// Parses the command line, runs the subcommand and reports any error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Gravity(args) => gravity::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Solves a validated scenario, writes its folder and prints a short summary.
fn solve_and_write(
    scenario: &tradeflow::scenario::Scenario,
    out: &std::path::Path,
    quiet: bool,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let results = tradeflow::simulate::run(scenario).with_context(|| match &scenario.source {
        Some(path) => format!("{}: scenario `{}`", path.display(), scenario.name),
        None => format!("scenario `{}`", scenario.name),
    })?;
    let files = tradeflow::output::run_files(scenario, &results)?;
    tradeflow::output::write_run_folder(out, &files)?;
    if !quiet {
        let mut text = String::new();
        for r in &results.reports {
            text.push_str(&format!("{r}\n"));
        }
        text.push_str(&summary(&results));
        text.push_str(&format!(
            "wrote {} ({})\n",
            out.display(),
            files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ));
        print_stdout(&text)?;
    }
    Ok(())
}

/// Writes to standard output; a closed pipe (`tradeflow run ... | head`) is not an error.
fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The economies whose welfare moves most, largest first.
fn summary(results: &tradeflow::simulate::RunResults) -> String {
    let mut rows: Vec<_> = results.countries.iter().collect();
    rows.sort_by(|a, b| {
        b.welfare_change_pct
            .abs()
            .total_cmp(&a.welfare_change_pct.abs())
    });
    let mut s = format!(
        "{:<8} {:>12} {:>14} {:>16}\n",
        "country", "welfare %", "real GDP %", "factory price %"
    );
    for r in rows.iter().take(8) {
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.4} {:>16.4}\n",
            r.country, r.welfare_change_pct, r.real_gdp_change_pct, r.factory_gate_price_change_pct
        ));
    }
    if rows.len() > 8 {
        s.push_str(&format!("... {} more in countries.csv\n", rows.len() - 8));
    }
    s
}
