//! `tradeflow gravity`: a gegravity-style experiment from CSV files, no scenario file.
//!
//! The flags are the library's [`Experiment`]: the same raw scenario a TOML file would
//! give, validated the same way, so both commands share every check and every output column.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::scenario::experiment::Experiment;

use super::run::CliGeMode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gravity data in the gegravity layout: exporter,importer,year,trade,Y,E,<cost variables>.
    #[arg(long)]
    data: PathBuf,
    /// Year of the data to use (required when the file holds several).
    #[arg(long)]
    year: Option<i64>,
    /// Cost coefficients: a CSV `variable,beta[,stderr]`; `constant` multiplies 1.
    #[arg(long)]
    coefficients: PathBuf,
    /// Elasticity of substitution (> 1).
    #[arg(long)]
    sigma: f64,
    /// The importer whose inward resistance is normalised to 1.
    #[arg(long)]
    reference_importer: String,
    /// Counterfactual: a CSV `exporter,importer,variable,value` setting that cost variable
    /// for that pair.
    #[arg(long)]
    experiment: PathBuf,
    /// Results folder.
    #[arg(long, default_value = "plots/gravity")]
    out: PathBuf,
    /// Full-GE convention.
    #[arg(long, value_enum, default_value = "complete")]
    ge_mode: CliGeMode,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let experiment = Experiment {
        data: args.data,
        year: args.year,
        coefficients: args.coefficients,
        sigma: args.sigma,
        reference_importer: args.reference_importer,
        experiment: args.experiment,
        ge_mode: args.ge_mode.into(),
    };
    let scenario = experiment.scenario()?;
    super::solve_and_write(&scenario, &args.out, &experiment.inputs(), args.quiet)
}
