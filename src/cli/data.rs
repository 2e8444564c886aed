//! `tradeflow data import baci|comtrade FILE ... --out panel.csv`, `tradeflow data report
//! PANEL` and `tradeflow data build PANEL ... --out world.csv`: real data in, as a panel of
//! reported figures, what a panel covers, and a base-year world built from it. One file per
//! subcommand under `data/`; the work is the library's (`tradeflow::data`).

mod build;
mod import;
mod report;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// Import a BACI or UN Comtrade file as a panel of reported figures.
    #[command(subcommand)]
    Import(import::Import),
    /// Report on a panel: reporters, mirror ratios, re-exports, conflicts and coverage per
    /// link and year.
    Report(report::ReportArgs),
    /// Build a base-year world for a map's economies from a panel: observed cells by a
    /// reporter precedence, missing cells imputed by a PPML gravity fit, domestic sales from
    /// a GDP or gross-output table.
    Build(build::BuildArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Import(a) => import::run(a),
        DataCommand::Report(a) => report::run(a),
        DataCommand::Build(a) => build::run(a),
    }
}
