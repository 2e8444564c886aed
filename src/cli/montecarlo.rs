//! `tradeflow run --draws N --seed S [--shard K/N]` and `tradeflow merge`: Monte Carlo on
//! the command line, with a progress bar, clean Ctrl-C and sharding for job arrays.
//!
//! A run writes `<results>/montecarlo/`: `montecarlo.csv` (one row per series and year:
//! draws, failed, mean, sd, q05, q25, q50, q75, q95), `failed_draws.csv` (draw, reason) and
//! `montecarlo.json` (scenario, seed, draws, shard, series), and its charts in `charts/`
//! (fan charts, or interval charts of a single counterfactual). A shard writes
//! `<results>/montecarlo-shard-K-of-N/` with the same files plus `draws.csv` (every value of
//! its draws) and no charts; `tradeflow merge` joins the shards into exactly what one run
//! would write, charts included.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tradeflow::montecarlo::{bands, DrawResult, MonteCarlo};
use tradeflow::output::{Claim, Part, Results};

/// `K/N`: the K-th of N slices (1-based), as a cluster job array index gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or("a shard is K/N, e.g. 3/10")?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` is not a whole number"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a whole number"))?;
        tradeflow::limits::check_shard(k, n).map_err(|e| e.to_string())?;
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// The draws of this shard: contiguous slices, the first ones one longer when N does
    /// not divide the draws.
    pub fn range(self, draws: u64) -> std::ops::Range<u64> {
        let (base, extra) = (draws / self.n, draws % self.n);
        let i = self.k - 1;
        let start = i * base + i.min(extra);
        let len = base + u64::from(i < extra);
        start..start + len
    }
}

/// `montecarlo.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    tradeflow_version: String,
    scenario: PathBuf,
    seed: u64,
    draws: u64,
    shard: Option<Shard>,
    first_draw: u64,
    last_draw: u64,
    failed: usize,
    series: Vec<(String, Option<i32>)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct DrawRow {
    draw: u64,
    series: String,
    year: Option<i32>,
    value: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct FailedRow {
    draw: u64,
    reason: String,
}

/// What the draws of a run computed: the parts of the Monte Carlo folder (relative to that
/// folder) and the line to print once they are written.
pub struct Draws {
    pub parts: Vec<Part>,
    pub wrote: String,
}

/// Runs the draws of `file` for the Monte Carlo folder `folder` (its name is used in the
/// messages only: nothing is written here). Zero draws, a bad `[uncertainty]`, Ctrl-C and
/// every draw failing are errors.
pub fn run(
    file: &Path,
    folder: &Path,
    draws: u64,
    seed: u64,
    shard: Option<Shard>,
    quiet: bool,
) -> Result<Draws> {
    if draws == 0 {
        bail!("--draws 0: a Monte Carlo needs at least one draw");
    }
    let mc = MonteCarlo::from_file(file)?;
    let range = shard.map_or(0..draws, |s| s.range(draws));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be set in one process (tests call this once per process).
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let bar = progress_bar(range.end - range.start, quiet);
    let results_of = mc.run(seed, range.clone(), &|| bar.inc(1), &|| {
        stop.load(Ordering::SeqCst)
    });
    bar.finish_and_clear();
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted (Ctrl-C): nothing was written, earlier results are as they were");
    }
    let record = Record {
        tradeflow_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: file.to_owned(),
        seed,
        draws,
        shard,
        first_draw: range.start,
        last_draw: range.end,
        failed: results_of.iter().filter(|d| d.outcome.is_err()).count(),
        series: mc.series().to_vec(),
    };
    let files = folder_files(&record, &results_of, shard.is_some())?;
    // A shard's bands cover only its draws: charts come with the merged folder.
    let (parts, charts) = parts_with_charts(folder, files, shard.is_none(), Results::MonteCarlo)?;
    Ok(Draws {
        parts,
        wrote: format!(
            "{} draws ({} failed), seed {seed}: wrote {}{charts}\n",
            range.end - range.start,
            record.failed,
            folder.display()
        ),
    })
}

/// The parts of a Monte Carlo, calibration or sweep folder: `files`, and their charts in
/// `charts/` when `charts` is set (drawn from the very bytes about to be written); also a
/// line saying which charts there are, or nothing.
pub(crate) fn parts_with_charts<N: AsRef<str>>(
    folder: &Path,
    files: Vec<(N, Vec<u8>)>,
    charts: bool,
    results: Results,
) -> Result<(Vec<Part>, String)> {
    if !charts {
        let files = files.into_iter().map(|(n, b)| (n.as_ref().to_owned(), b));
        return Ok((vec![Part::new("", results, files)], String::new()));
    }
    let borrowed: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_ref(), b.clone())).collect();
    let kind = tradeflow::plot::Folder::from_files(folder, &borrowed).kind()?;
    let (charts, parts) = super::plot::parts_with_charts(folder, files, kind, results)?;
    Ok((
        parts,
        format!(
            "\nwrote {}",
            super::plot::describe(&folder.join(tradeflow::plot::CHARTS_DIR), &charts)
        ),
    ))
}

/// Writes a Monte Carlo or sweep folder of `tradeflow merge`, with its charts in `charts/`
/// when `charts` is set, in one piece; returns a line saying which charts were written, or
/// nothing. The folder may not hold any of `inputs` (the shards).
pub(crate) fn write_with_charts(
    folder: &Path,
    files: &[(&str, Vec<u8>)],
    charts: bool,
) -> Result<String> {
    write_merged(folder, files, charts, &[])
}

/// [`write_with_charts`], refusing a folder that holds any of `inputs`.
pub(crate) fn write_merged(
    folder: &Path,
    files: &[(&str, Vec<u8>)],
    charts: bool,
    inputs: &[PathBuf],
) -> Result<String> {
    let results = if files.iter().any(|(n, _)| *n == "sweep.json") {
        Results::Sweep
    } else {
        Results::MonteCarlo
    };
    let mut claim = Claim::new(folder, "tradeflow merge", inputs, &[tradeflow::plot::CHARTS_DIR])?;
    let owned: Vec<(&str, Vec<u8>)> = files.to_vec();
    let (parts, line) = parts_with_charts(folder, owned, charts, results)?;
    claim.write(&parts)?;
    Ok(line)
}

fn folder_files(
    record: &Record,
    draws: &[DrawResult],
    with_draws: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let ok = draws.iter().filter(|d| d.outcome.is_ok()).count();
    if ok == 0 {
        bail!(
            "every draw failed (first reason: {}); nothing written",
            draws
                .iter()
                .find_map(|d| d.outcome.as_ref().err().cloned())
                .unwrap_or_else(|| "no draws".into())
        );
    }
    let failed: Vec<FailedRow> = draws
        .iter()
        .filter_map(|d| {
            d.outcome.as_ref().err().map(|r| FailedRow {
                draw: d.index,
                reason: r.clone(),
            })
        })
        .collect();
    let mut files = vec![
        (
            "montecarlo.csv",
            tradeflow::output::csv_bytes(&bands(&record.series, draws), "Monte Carlo bands")?,
        ),
        (
            "failed_draws.csv",
            tradeflow::output::csv_bytes(&failed, "failed draws")?,
        ),
        (
            "montecarlo.json",
            tradeflow::output::json_bytes(record, "Monte Carlo record")?,
        ),
    ];
    if with_draws {
        let rows: Vec<DrawRow> = draws
            .iter()
            .filter_map(|d| d.outcome.as_ref().ok().map(|v| (d.index, v)))
            .flat_map(|(draw, values)| {
                record
                    .series
                    .iter()
                    .zip(values)
                    .map(move |((series, year), value)| DrawRow {
                        draw,
                        series: series.clone(),
                        year: *year,
                        value: *value,
                    })
            })
            .collect();
        files.push(("draws.csv", tradeflow::output::csv_bytes(&rows, "draws")?));
    }
    Ok(files)
}

pub(crate) fn progress_bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} draws  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard folders written by `run --draws N --shard K/N` (all N of them).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Where to write the merged Monte Carlo folder.
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// `tradeflow merge`: joins shard folders into the folder one unsharded run writes.
pub fn merge(args: MergeArgs) -> Result<()> {
    if args.shards[0].join("sweep.json").exists() {
        return merge_sweep(args);
    }
    let mut records = Vec::new();
    let mut all: Vec<DrawResult> = Vec::new();
    for dir in &args.shards {
        let path = dir.join("montecarlo.json");
        let record: Record = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?,
        )
        .with_context(|| format!("{}: not a Monte Carlo record", path.display()))?;
        if record.shard.is_none() {
            bail!("{}: not a shard (no `shard`)", path.display());
        }
        let csv_path = dir.join("draws.csv");
        let mut reader = csv::Reader::from_path(&csv_path)
            .with_context(|| format!("{}: cannot read", csv_path.display()))?;
        let mut values: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
        for row in reader.deserialize::<DrawRow>() {
            let row = row.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                anyhow::anyhow!("{}, line {line}: {e}", csv_path.display())
            })?;
            values.entry(row.draw).or_default().push(row.value);
        }
        let failed_path = dir.join("failed_draws.csv");
        let mut failed_reader = csv::Reader::from_path(&failed_path)
            .with_context(|| format!("{}: cannot read", failed_path.display()))?;
        for row in failed_reader.deserialize::<FailedRow>() {
            let row = row.with_context(|| format!("{}: malformed", failed_path.display()))?;
            all.push(DrawResult {
                index: row.draw,
                outcome: Err(row.reason),
            });
        }
        for (draw, v) in values {
            if v.len() != record.series.len() {
                bail!(
                    "{}: draw {draw} has {} values, expected {}",
                    csv_path.display(),
                    v.len(),
                    record.series.len()
                );
            }
            all.push(DrawResult {
                index: draw,
                outcome: Ok(v),
            });
        }
        records.push(record);
    }
    let first = &records[0];
    for r in &records[1..] {
        if r.seed != first.seed
            || r.draws != first.draws
            || r.series != first.series
            || r.scenario != first.scenario
            || r.shard.map(|s| s.n) != first.shard.map(|s| s.n)
        {
            bail!(
                "the shards come from different runs (scenario, seed, draws, series or N differ)"
            );
        }
    }
    all.sort_by_key(|d| d.index);
    let covered: Vec<u64> = all.iter().map(|d| d.index).collect();
    if covered != (0..first.draws).collect::<Vec<_>>() {
        bail!(
            "the shards do not cover draws 0..{} exactly once (have {} draws)",
            first.draws,
            covered.len()
        );
    }
    let record = Record {
        shard: None,
        first_draw: 0,
        last_draw: first.draws,
        failed: all.iter().filter(|d| d.outcome.is_err()).count(),
        tradeflow_version: first.tradeflow_version.clone(),
        scenario: first.scenario.clone(),
        seed: first.seed,
        draws: first.draws,
        series: first.series.clone(),
    };
    let files = folder_files(&record, &all, false)?;
    let charts = write_with_charts(&args.out, &files, true)?;
    if !args.quiet {
        println!(
            "merged {} shards, {} draws: wrote {}{charts}",
            records.len(),
            first.draws,
            args.out.display()
        );
    }
    Ok(())
}

/// Joins sweep shards: rows in point order, and the tornado computed as one run would.
fn merge_sweep(args: MergeArgs) -> Result<()> {
    use super::sweep::Record as SweepRecord;
    let mut records: Vec<SweepRecord> = Vec::new();
    let mut header: Option<csv::StringRecord> = None;
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    let mut failed: Vec<(usize, csv::StringRecord)> = Vec::new();
    for dir in &args.shards {
        let path = dir.join("sweep.json");
        let record: SweepRecord = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?,
        )
        .with_context(|| format!("{}: not a sweep record", path.display()))?;
        for (file, out) in [("sweep.csv", &mut rows), ("failed_points.csv", &mut failed)] {
            let csv_path = dir.join(file);
            let mut reader = csv::Reader::from_path(&csv_path)
                .with_context(|| format!("{}: cannot read", csv_path.display()))?;
            if file == "sweep.csv" {
                let h = reader.headers()?.clone();
                if header.as_ref().is_some_and(|x| *x != h) {
                    bail!(
                        "{}: columns differ from the other shards",
                        csv_path.display()
                    );
                }
                header = Some(h);
            }
            for rec in reader.records() {
                let rec = rec.with_context(|| format!("{}: malformed", csv_path.display()))?;
                let point: usize = rec
                    .get(0)
                    .and_then(|p| p.parse().ok())
                    .with_context(|| format!("{}: bad point index", csv_path.display()))?;
                out.push((point, rec));
            }
        }
        records.push(record);
    }
    let first = &records[0];
    if records.iter().any(|r| {
        r.scenario != first.scenario
            || r.axes != first.axes
            || r.points != first.points
            || r.shard.map(|s| s.n) != first.shard.map(|s| s.n)
            || r.shard.is_none()
    }) {
        bail!("the shards come from different sweeps (scenario, parameters, points or N differ)");
    }
    let mut ranges: Vec<(usize, usize)> = records
        .iter()
        .map(|r| (r.first_point, r.last_point))
        .collect();
    ranges.sort_unstable();
    let mut next = 0;
    for (a, b) in &ranges {
        if *a != next {
            bail!(
                "the shards do not cover points 0..{} exactly once",
                first.points
            );
        }
        next = *b;
    }
    if next != first.points {
        bail!(
            "the shards do not cover points 0..{} exactly once",
            first.points
        );
    }
    rows.sort_by_key(|(p, _)| *p);
    failed.sort_by_key(|(p, _)| *p);
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = &header {
        w.write_record(h)?;
    }
    for (_, r) in &rows {
        w.write_record(r)?;
    }
    let mut fw = csv::Writer::from_writer(Vec::new());
    fw.write_record(["point", "reason"])?;
    for (_, r) in &failed {
        fw.write_record(r)?;
    }
    let axes: Vec<tradeflow::sweep::Axis> = first
        .axes
        .iter()
        .map(|a| a.parse().map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let sweep = tradeflow::sweep::Sweep::new(&first.scenario, &axes)?;
    let record = SweepRecord {
        scenario: first.scenario.clone(),
        parameters: first.parameters.clone(),
        axes: first.axes.clone(),
        tornado_output: first.tornado_output.clone(),
        points: first.points,
        shard: None,
        first_point: 0,
        last_point: first.points,
    };
    let files = vec![
        ("sweep.csv", w.into_inner()?),
        ("failed_points.csv", fw.into_inner()?),
        (
            "sweep.json",
            tradeflow::output::json_bytes(&record, "sweep record")?,
        ),
        (
            "tornado.csv",
            super::sweep::tornado_csv(&sweep, &axes, &record.tornado_output)?,
        ),
    ];
    let charts = write_with_charts(&args.out, &files, true)?;
    if !args.quiet {
        println!(
            "merged {} shards, {} points: wrote {}{charts}",
            records.len(),
            first.points,
            args.out.display()
        );
    }
    Ok(())
}
