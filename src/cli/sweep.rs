//! `tradeflow sweep FILE --param PATH=LOW:HIGH:COUNT ...`: a grid or Latin hypercube over
//! named parameters, one row per point and output, and tornado data.
//!
//! Writes `<results>/sweep/` (or `sweep-shard-K-of-N/` with `--shard`): `sweep.csv` (point,
//! one column per parameter, series, year, value), `failed_points.csv` (point, reason),
//! `tornado.csv` (each parameter alone at its low and high bound; unsharded runs only) and
//! `sweep.json`, with the tornado chart in `charts/` (unsharded runs only). `tradeflow merge`
//! joins shards into the rows, tornado and chart one run would write.

use std::path::PathBuf;

use anyhow::{bail, Result};
use tradeflow::output::{Claim, Results};
use tradeflow::scenario::Scenario;
use tradeflow::sweep::files::parse_output;
use tradeflow::sweep::{grid, latin_hypercube, Axis, Sweep};

use super::montecarlo::Shard;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    file: PathBuf,
    /// A swept parameter, `PATH=LOW:HIGH:COUNT` (repeat for several).
    #[arg(long = "param", required = true)]
    params: Vec<Axis>,
    /// Draw N points from a Latin hypercube within the bounds instead of the full grid.
    #[arg(long)]
    lhs: Option<usize>,
    /// Seed of the Latin hypercube.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Outputs to keep, `SERIES@YEAR` (`KGZ.reexports.RUS@2030`; `SERIES` alone for a single
    /// counterfactual; `tradeflow series FILE` lists them); default all.
    /// The first one is the tornado's.
    #[arg(long = "output")]
    outputs: Vec<String>,
    /// Results folder [default: plots/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only slice K of N of the points; join with `merge`.
    #[arg(long)]
    shard: Option<Shard>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let sweep = Sweep::new(&args.file, &args.params)?;
    let scenario = Scenario::from_file(&args.file)?;
    let results_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("plots").join(scenario.name()));
    let sub = match args.shard {
        None => "sweep".to_owned(),
        Some(s) => format!("sweep-shard-{}-of-{}", s.k, s.n),
    };
    let folder = results_dir.join(&sub);
    // Claimed before any point runs: a folder tradeflow may not write is refused at once.
    let mut claim = Claim::new_in(
        &results_dir,
        &sub,
        "tradeflow sweep",
        &super::scenario_inputs(&args.file, &scenario),
        &[tradeflow::plot::CHARTS_DIR],
    )?;
    let points = match args.lhs {
        Some(n) if n > 0 => latin_hypercube(&args.params, n, args.seed)?,
        Some(_) => bail!("--lhs needs at least one point"),
        None => grid(&args.params)?,
    };
    let range = args
        .shard
        .map_or(0..points.len() as u64, |s| s.range(points.len() as u64));
    let (first, last) = (range.start as usize, range.end as usize);
    let wanted: Vec<(String, Option<i32>)> = args.outputs.iter().map(|o| parse_output(o)).collect();
    let bar = super::montecarlo::progress_bar((last - first) as u64, args.quiet);
    let results = sweep.run(&points[first..last], &|| bar.inc(1));
    bar.finish_and_clear();
    let files = tradeflow::sweep::files::folder_files(
        &sweep,
        &tradeflow::sweep::files::Ran {
            file: &args.file,
            axes: &args.params,
            points: &points,
            first,
            results: &results,
            wanted: &wanted,
            shard: args.shard,
        },
    )?;
    // The tornado chart comes with the tornado data (not with a shard, which has none).
    let (parts, charts) =
        super::montecarlo::parts_with_charts(&folder, files, args.shard.is_none(), Results::Sweep)?;
    claim.write(&parts)?;
    if !args.quiet {
        let n_failed = results.iter().filter(|r| r.is_err()).count();
        println!(
            "{} points ({} failed): wrote {}{charts}",
            last - first,
            n_failed,
            folder.display()
        );
    }
    Ok(())
}
