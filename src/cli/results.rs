//! A run's results before they are written: the parts of its folder and what to print
//! ([`Outcome`]), for a single counterfactual ([`solve`]) and a yearly scenario
//! ([`simulate`]); shared by `run`, `gravity` and the Monte Carlo path.

use super::print_stdout;

/// Solves a single counterfactual built from command-line files (`tradeflow gravity`) and
/// writes its folder, which may not hold any of `inputs`.
pub(super) fn solve_and_write(
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
pub(super) fn solve(
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
pub(super) struct Outcome {
    pub(super) parts: Vec<tradeflow::output::Part>,
    pub(super) text: String,
    pub(super) wrote: String,
}

/// An empty `charts/` part: written by `--no-charts`, it removes charts an earlier run left.
pub(super) fn no_charts() -> tradeflow::output::Part {
    let none: [(String, Vec<u8>); 0] = [];
    tradeflow::output::Part::new(
        tradeflow::plot::CHARTS_DIR,
        tradeflow::output::Results::Charts,
        none,
    )
}

/// Runs a scenario with `[years]`: the parts of its results folder (data, and charts unless
/// `charts` is false) and the key series as a table.
pub(super) fn simulate(
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
    let run = std::sync::Arc::new(run);
    // The CSV files are written row by row into the new folder; only `run.json` and, for
    // the charts, the totals are made in memory (see `plot::year_run_parts`).
    let (drawn, parts) =
        tradeflow::plot::year_run_parts(out, scenario, std::sync::Arc::clone(&run), charts)?;
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
