//! `tradeflow compare FILE...`: run scenarios with `[years]` and line up their key series.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;
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

/// One row of `final_flows.csv`: the bilateral final-destination flows of every scenario
/// (all sectors), from which the comparison heatmaps are drawn.
#[derive(Debug, Serialize)]
struct FinalRow<'a> {
    scenario: &'a str,
    year: i32,
    exporter: &'a str,
    importer: &'a str,
    final_destination: f64,
}

/// One row of `compare.csv`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    scenario: &'a str,
    series: &'a str,
    year: i32,
    value: f64,
}

pub fn run(args: Args) -> Result<()> {
    // Every scenario is read and checked, and the folder claimed, before any is run.
    let mut scenarios = Vec::new();
    let mut inputs = Vec::new();
    for file in &args.files {
        let scenario = Scenario::from_file(file)?;
        if scenario.dynamics.is_none() {
            bail!(
                "{}: scenario `{}` has no `[years]`; compare lines up yearly series",
                file.display(),
                scenario.name
            );
        }
        if let Some((other, _)) = scenarios
            .iter()
            .find(|(_, s): &&(&PathBuf, Scenario)| s.name == scenario.name)
        {
            bail!(
                "{}: scenario name `{}` is also the name of {}; compare tells scenarios apart by name, so each needs its own",
                file.display(),
                scenario.name,
                other.display()
            );
        }
        inputs.extend(super::scenario_inputs(file, &scenario));
        scenarios.push((file, scenario));
    }
    let mut claim = Claim::new(
        &args.out,
        "tradeflow compare",
        &inputs,
        &[tradeflow::plot::CHARTS_DIR],
    )?;
    let mut all = Vec::new();
    let mut finals: Vec<(String, Vec<tradeflow::simulate::FlowRow>)> = Vec::new();
    let mut years: Vec<i32> = Vec::new();
    for (file, scenario) in &scenarios {
        let run = tradeflow::simulate::run_years(scenario)
            .with_context(|| format!("{}: scenario `{}`", file.display(), scenario.name))?;
        for y in &run.years {
            if !years.contains(y) {
                years.push(*y);
            }
        }
        let series = tradeflow::simulate::key_series(&run, scenario);
        let sector = match scenario.dynamics.as_ref().map(|d| d.sectors.as_slice()) {
            Some([one]) => one.name.clone(),
            _ => tradeflow::simulate::ALL_SECTORS.to_owned(),
        };
        let flows = run
            .flows
            .into_iter()
            .filter(|f| f.sector == sector && f.reporter == f.exporter)
            .collect();
        finals.push((scenario.name.clone(), flows));
        all.push((scenario.name.clone(), series));
    }
    years.sort_unstable();
    let rows: Vec<Row> = all
        .iter()
        .flat_map(|(name, series)| {
            series.iter().map(move |p| Row {
                scenario: name,
                series: &p.series,
                year: p.year,
                value: p.value,
            })
        })
        .collect();
    let final_rows: Vec<FinalRow> = finals
        .iter()
        .flat_map(|(name, flows)| {
            flows.iter().map(move |f| FinalRow {
                scenario: name,
                year: f.year,
                exporter: &f.exporter,
                importer: &f.importer,
                final_destination: f.final_destination,
            })
        })
        .collect();
    let files = vec![
        (
            "compare.csv",
            tradeflow::output::csv_bytes(&rows, "comparison")?,
        ),
        (
            "final_flows.csv",
            tradeflow::output::csv_bytes(&final_rows, "final-destination flows")?,
        ),
    ];
    let (charts, parts) = super::plot::parts_with_charts(
        &args.out,
        files,
        tradeflow::plot::FolderKind::Compare,
        Results::Compare,
    )?;
    claim.write(&parts)?;
    if !args.quiet {
        let mut text = String::new();
        let first = all.first().map(|(_, s)| s.as_slice()).unwrap_or_default();
        let headline: Vec<String> = first
            .iter()
            .map(|p| p.series.clone())
            .filter(|n| {
                n.starts_with("imports of")
                    || n.starts_with("re-exports via")
                    || n.starts_with("CHN->KGZ")
                    || n.starts_with("EU->RUS")
            })
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        for name in headline {
            text.push_str(&format!("{name} (USD bn)\n"));
            let points: Vec<_> = all
                .iter()
                .flat_map(|(scenario, series)| {
                    series.iter().filter(|p| p.series == name).map(move |p| {
                        tradeflow::simulate::SeriesPoint {
                            series: scenario.clone(),
                            year: p.year,
                            value: p.value,
                        }
                    })
                })
                .collect();
            text.push_str(&super::series_table(&points, &years, |_| true));
            text.push('\n');
        }
        text.push_str(&format!(
            "wrote {} and {}\nwrote {}\n",
            args.out.join("compare.csv").display(),
            args.out.join("final_flows.csv").display(),
            super::plot::describe(&args.out.join(tradeflow::plot::CHARTS_DIR), &charts)
        ));
        super::print_stdout(&text)?;
    }
    Ok(())
}
