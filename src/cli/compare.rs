//! `tradeflow compare FILE...`: run scenarios with `[years]` and line up their key series.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::output::{Claim, Results};
use tradeflow::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files (each with `[years]`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Results folder [default: plots/compare].
    #[arg(long, default_value = "plots/compare")]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    // Every scenario is read and checked, and the folder claimed, before any is run.
    let mut scenarios = Vec::new();
    let mut inputs = Vec::new();
    for file in &args.files {
        let scenario = Scenario::from_file(file)?;
        inputs.extend(super::scenario_inputs(file, &scenario));
        scenarios.push(scenario);
    }
    tradeflow::compare::check(&scenarios)?;
    let mut claim = Claim::new(
        &args.out,
        "tradeflow compare",
        &inputs,
        &[tradeflow::plot::CHARTS_DIR],
    )?;
    let comparison = tradeflow::compare::compare(&scenarios)?;
    let (charts, parts) = tradeflow::plot::parts_with_charts(
        &args.out,
        comparison.files()?,
        tradeflow::plot::FolderKind::Compare,
        Results::Compare,
    )?;
    claim.write(&parts)?;
    if !args.quiet {
        let mut text = tradeflow::report::comparison_tables(&comparison.series, &comparison.years);
        text.push_str(&format!(
            "wrote {} and {}\nwrote {}\n",
            args.out.join("compare.csv").display(),
            args.out.join("final_flows.csv").display(),
            tradeflow::plot::describe(&args.out.join(tradeflow::plot::CHARTS_DIR), &charts)
        ));
        super::print_stdout(&text)?;
    }
    Ok(())
}
