//! `tradeflow compare FILE...`: run scenarios with `[years]`, line up their key series and
//! measure them against a reference scenario. Bases (`abstract = true`) are skipped with a
//! note, so `tradeflow compare scenarios/roundabout/*.toml` compares the scenarios only.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::output::{Claim, Results};
use tradeflow::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files (each with `[years]`); bases marked `abstract = true` are skipped.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The scenario (by `name`) the others are measured against in differences.csv,
    /// countries_vs_reference.csv and the heatmaps [default: the scenario with the fewest
    /// instruments, the first given among equals].
    #[arg(long, value_name = "NAME")]
    reference: Option<String>,
    /// Results folder.
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
    let reference = tradeflow::compare::reference(&scenarios, args.reference.as_deref())?
        .name()
        .to_owned();
    let mut claim = Claim::new(
        &args.out,
        "tradeflow compare",
        &inputs,
        &[tradeflow::plot::CHARTS_DIR],
    )?;
    let comparison = tradeflow::compare::compare(&scenarios, Some(&reference))?;
    let (charts, parts) = tradeflow::plot::parts_with_charts(
        &args.out,
        comparison.files()?,
        tradeflow::plot::FolderKind::Compare,
        Results::Compare,
    )?;
    claim.write(&parts)?;
    if !args.quiet {
        let mut text =
            tradeflow::report::compare_note(&scenarios, &reference, args.reference.is_some());
        text.push_str(&tradeflow::report::comparison_tables(
            &comparison.series,
            &comparison.years,
            &reference,
            comparison.data_unit(),
        ));
        text.push_str(&format!(
            "wrote {} ({})\nwrote {}\n",
            args.out.display(),
            parts[0]
                .files
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            tradeflow::plot::describe(&args.out.join(tradeflow::plot::CHARTS_DIR), &charts)
        ));
        super::print_stdout(&text)?;
    }
    Ok(())
}
