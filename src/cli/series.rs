//! `tradeflow series FILE`: every output series a scenario gives, with what it measures and
//! its unit: the names `--series`, `--output` and calibration targets accept.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file (TOML).
    file: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let scenario = Scenario::from_file(&args.file)?;
    let catalog = tradeflow::simulate::series::catalog(&scenario);
    super::print_stdout(&tradeflow::report::series_list(
        &catalog,
        &args.file.display().to_string(),
    ))?;
    Ok(())
}
