//! The parts of a results folder that carries charts: the data files, and the charts drawn
//! from those very bytes in `charts/`, so that the two are written in one piece
//! ([`crate::output::Claim::write`]) and a folder never holds data without its charts.

use std::path::Path;
use std::sync::Arc;

use super::{
    calibration_charts, chart_files, compare_charts, montecarlo_charts, sweep_charts,
    year_run_charts, Chart, CompareOptions, Folder, FolderKind, MonteCarloOptions, PlotError,
    RunOptions, CHARTS_DIR,
};
use crate::output::{year_run_contents, Content, Part, Results};
use crate::scenario::Scenario;
use crate::simulate::YearRun;

/// The parts of a yearly run's results folder, for [`crate::output::Claim::write`]: every
/// CSV file written row by row into the new folder, so that the files are never held in
/// memory, and `run.json`; with `charts`, the charts in `charts/`, drawn before anything is
/// written from the bytes of the files they read (`run.json` and the totals, a twentieth of
/// the rows at most), which are made in memory and written as they are. Without `charts`,
/// an empty `charts/`, which removes the charts an earlier run left.
pub fn year_run_parts(
    folder: &Path,
    scenario: &Scenario,
    run: Arc<YearRun>,
    charts: bool,
) -> Result<(Vec<Chart>, Vec<Part>), PlotError> {
    let mut files = year_run_contents(scenario, run)?;
    if !charts {
        let none: [(String, Vec<u8>); 0] = [];
        let data = Part::new("", Results::Run, files);
        return Ok((
            Vec::new(),
            vec![data, Part::new(CHARTS_DIR, Results::Charts, none)],
        ));
    }
    let mut read = Vec::new();
    for (name, content) in &mut files {
        if charts_read(name) {
            let bytes = content.to_bytes()?;
            read.push((*name, bytes.clone()));
            *content = Content::Bytes(bytes);
        }
    }
    let (drawn, mut parts) = parts_with_charts(folder, read, FolderKind::YearRun, Results::Run)?;
    parts[0] = Part::new("", Results::Run, files);
    Ok((drawn, parts))
}

/// Whether the charts of a yearly run read this file of its folder.
fn charts_read(name: &str) -> bool {
    name == "run.json" || name.ends_with("_total.csv")
}

/// Draws the default charts of the results `files` about to be written into `folder` (of
/// kind `kind`), and returns them with the folder's parts: `files` at the top as `results`,
/// the charts in `charts/`.
pub fn parts_with_charts<N: AsRef<str>>(
    folder: &Path,
    files: Vec<(N, Vec<u8>)>,
    kind: FolderKind,
    results: Results,
) -> Result<(Vec<Chart>, Vec<Part>), PlotError> {
    let borrowed: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(n, b)| (n.as_ref(), b.clone())).collect();
    let view = Folder::from_files(folder, &borrowed);
    let charts = match kind {
        FolderKind::YearRun => year_run_charts(&view, &RunOptions::default())?,
        FolderKind::Compare => compare_charts(&view, &CompareOptions::default())?,
        FolderKind::MonteCarlo => montecarlo_charts(&view, &MonteCarloOptions::default())?,
        FolderKind::Calibration => calibration_charts(&view)?,
        FolderKind::Sweep => sweep_charts(&view)?,
    };
    let rendered = chart_files(&charts)?;
    let data = Part::new(
        "",
        results,
        files.into_iter().map(|(n, b)| (n.as_ref().to_owned(), b)),
    );
    let drawn = Part::new(CHARTS_DIR, Results::Charts, rendered);
    Ok((charts, vec![data, drawn]))
}

/// [`parts_with_charts`] for a folder whose kind its files tell (Monte Carlo, calibration,
/// sweep), or the data alone when `charts` is false (a shard: its bands or tornado need all
/// the draws or points).
pub fn parts_of<N: AsRef<str>>(
    folder: &Path,
    files: Vec<(N, Vec<u8>)>,
    charts: bool,
    results: Results,
) -> Result<(Vec<Chart>, Vec<Part>), PlotError> {
    if !charts {
        let files = files.into_iter().map(|(n, b)| (n.as_ref().to_owned(), b));
        return Ok((Vec::new(), vec![Part::new("", results, files)]));
    }
    let borrowed: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(n, b)| (n.as_ref(), b.clone())).collect();
    let kind = Folder::from_files(folder, &borrowed).kind()?;
    parts_with_charts(folder, files, kind, results)
}

/// "DIR (N charts as PNG, SVG and CSV: a, b, c)", with the charts' stems.
pub fn describe(dir: &Path, charts: &[Chart]) -> String {
    format!(
        "{} ({} chart{} as PNG, SVG and CSV: {})",
        dir.display(),
        charts.len(),
        if charts.len() == 1 { "" } else { "s" },
        charts
            .iter()
            .map(Chart::stem)
            .collect::<Vec<_>>()
            .join(", ")
    )
}
