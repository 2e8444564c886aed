//! `tradeflow run --draws N --seed S [--shard K/N]` and `tradeflow merge`: Monte Carlo on
//! the command line, with a progress bar, clean Ctrl-C and sharding for job arrays.
//!
//! A run writes `<results>/montecarlo/`: `montecarlo.csv` (one row per series and year:
//! draws, failed, mean, sd, q05, q25, q50, q75, q95), `failed_draws.csv` (draw, reason) and
//! `montecarlo.json` (scenario, seed, draws, shard, series); drawn from a posterior
//! (`--posterior DIR` or `[uncertainty] posterior`), also `posterior.json` (the folder, the
//! parameters, which `[uncertainty]` draws it replaced, the redraws) and `observed.csv` (the
//! observed figures of its series, which the fan charts show); and its charts in `charts/`
//! (fan charts, or interval charts of a single counterfactual). A shard writes
//! `<results>/montecarlo-shard-K-of-N/` with the same files plus `draws.csv` (every value of
//! its draws) and no charts; `tradeflow merge` joins the shards into exactly what one run
//! would write, charts included. The files, their empty cells and the merge's checks (rows
//! matched by key) are the library's: [`tradeflow::montecarlo::merge`] and
//! [`tradeflow::sweep::merge`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Result};
use tradeflow::montecarlo::merge as mc_merge;
use tradeflow::montecarlo::MonteCarlo;
use tradeflow::output::{Claim, Part, Results};

pub use tradeflow::shard::Shard;

/// What the draws of a run computed: the parts of the Monte Carlo folder (relative to that
/// folder) and the line to print once they are written.
pub struct Draws {
    pub parts: Vec<Part>,
    pub wrote: String,
}

/// Which draws to run: how many, the seed, the posterior folder (`--posterior`) and the
/// shard.
#[derive(Debug, Clone, Copy)]
pub struct What<'a> {
    pub draws: u64,
    pub seed: u64,
    pub posterior: Option<&'a Path>,
    pub shard: Option<Shard>,
}

/// Runs the draws of `file` for the Monte Carlo folder `folder` (its name is used in the
/// messages only: nothing is written here), with its charts unless `charts` is false (an
/// empty `charts/` then replaces any earlier ones). Zero draws, a bad `[uncertainty]`,
/// Ctrl-C and every draw failing are errors.
pub fn run(file: &Path, folder: &Path, what: &What, quiet: bool, charts: bool) -> Result<Draws> {
    let What {
        draws,
        seed,
        posterior,
        shard,
    } = *what;
    if draws == 0 {
        bail!("--draws 0: a Monte Carlo needs at least one draw");
    }
    let mc = MonteCarlo::from_file_with(file, posterior)?;
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
    let record = mc_merge::Record {
        tradeflow_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: file.to_owned(),
        scenario_file: Some(tradeflow::shard::absolute(file)),
        seed,
        draws,
        shard,
        first_draw: range.start,
        last_draw: range.end,
        failed: results_of.iter().filter(|d| d.outcome.is_err()).count(),
        series: mc.series().to_vec(),
    };
    let mut files = mc_merge::folder_files(&record, &results_of, shard.is_some())?;
    let drawn_from = match mc.posterior_record(seed, range.clone()) {
        Some(p) => {
            let observed = tradeflow::montecarlo::posterior::observed_rows(&p.folder, mc.series())?;
            let line = posterior_line(&p);
            files.extend(mc_merge::posterior_files(&p, &observed)?);
            line
        }
        None => String::new(),
    };
    // A shard's bands cover only its draws: charts come with the merged folder.
    let drawn = shard.is_none() && charts;
    let (mut parts, charts) = parts_with_charts(folder, files, drawn, Results::MonteCarlo)?;
    if shard.is_none() && !drawn {
        parts.push(super::no_charts());
    }
    Ok(Draws {
        parts,
        wrote: format!(
            "{} draws ({} failed), seed {seed}{drawn_from}: wrote {}{charts}\n",
            range.end - range.start,
            record.failed,
            folder.display()
        ),
    })
}

/// What the summary line says of a posterior: where from, what it replaced, the redraws.
fn posterior_line(p: &tradeflow::montecarlo::PosteriorRecord) -> String {
    let mut line = format!(
        ", {} parameters from the posterior in {} ({} redraws outside the bounds",
        p.parameters.len(),
        p.folder.display(),
        p.redraws
    );
    if p.truncated > 0 {
        line.push_str(&format!(
            ", {} draws found none within them and failed",
            p.truncated
        ));
    }
    line.push(')');
    if !p.replaces.is_empty() {
        line.push_str(&format!(
            "; the posterior replaces the [uncertainty] draws of {}",
            p.replaces.join(", ")
        ));
    }
    line
}

/// The parts of a Monte Carlo, calibration or sweep folder (see
/// [`tradeflow::plot::parts_of`]) and a line saying which charts there are, or nothing.
pub(crate) fn parts_with_charts<N: AsRef<str>>(
    folder: &Path,
    files: Vec<(N, Vec<u8>)>,
    charts: bool,
    results: Results,
) -> Result<(Vec<Part>, String)> {
    let (drawn, parts) = tradeflow::plot::parts_of(folder, files, charts, results)?;
    let line = if charts {
        format!(
            "\nwrote {}",
            tradeflow::plot::describe(&folder.join(tradeflow::plot::CHARTS_DIR), &drawn)
        )
    } else {
        String::new()
    };
    Ok((parts, line))
}

/// Writes a Monte Carlo or sweep folder of `tradeflow merge`, with its charts in `charts/`
/// when `charts` is set, in one piece; returns a line saying which charts were written, or
/// nothing. The folder may not hold any of `inputs` (the shards).
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
    let mut claim = Claim::new(
        folder,
        "tradeflow merge",
        inputs,
        &[tradeflow::plot::CHARTS_DIR],
    )?;
    let owned: Vec<(&str, Vec<u8>)> = files.to_vec();
    let (parts, line) = parts_with_charts(folder, owned, charts, results)?;
    claim.write(&parts)?;
    Ok(line)
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

/// `tradeflow merge`: joins shard folders into the folder one unsharded run writes (the
/// checks are the library's: [`tradeflow::montecarlo::merge`], [`tradeflow::sweep::merge`]).
pub fn merge(args: MergeArgs) -> Result<()> {
    if args.shards[0].join("sweep.json").exists() {
        return merge_sweep(args);
    }
    let merged = mc_merge::merge(&args.shards)?;
    let mut files = mc_merge::folder_files(&merged.record, &merged.draws, false)?;
    if let Some((p, observed)) = &merged.posterior {
        files.extend(mc_merge::posterior_files(p, observed)?);
    }
    let charts = write_merged(&args.out, &files, true, &args.shards)?;
    if !args.quiet {
        println!(
            "merged {} shards, {} draws: wrote {}{charts}",
            merged.shards,
            merged.record.draws,
            args.out.display()
        );
    }
    Ok(())
}

/// Joins sweep shards: rows in point order, and the tornado computed as one run would.
fn merge_sweep(args: MergeArgs) -> Result<()> {
    let merged = tradeflow::sweep::merge::merge(&args.shards)?;
    let files: Vec<(&str, Vec<u8>)> = merged.files;
    let charts = write_merged(&args.out, &files, true, &args.shards)?;
    if !args.quiet {
        println!(
            "merged {} shards, {} points: wrote {}{charts}",
            merged.shards,
            merged.record.points,
            args.out.display()
        );
    }
    Ok(())
}
