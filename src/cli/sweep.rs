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
    /// Outputs to keep, `SERIES@YEAR` (or `SERIES` for a single counterfactual); default all.
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

/// `sweep.json`.
pub(crate) use tradeflow::sweep::merge::Record;

fn parse_output(s: &str) -> (String, Option<i32>) {
    match s.rsplit_once('@') {
        Some((name, year)) => match year.trim().parse() {
            Ok(y) => (name.to_owned(), Some(y)),
            Err(_) => (s.to_owned(), None),
        },
        None => (s.to_owned(), None),
    }
}

/// Tornado rows for `target` as CSV bytes (a failed run leaves its cells empty and says
/// why in `failed`).
pub(crate) fn tornado_csv(
    sweep: &Sweep,
    axes: &[Axis],
    target: &(String, Option<i32>),
) -> Result<Vec<u8>> {
    Ok(tradeflow::sweep::merge::tornado_csv(sweep, axes, target)?)
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
    // Check the wanted outputs against the first point that ran.
    if let Some(Ok(out)) = results.iter().find(|r| r.is_ok()) {
        for (name, year) in &wanted {
            if !out.iter().any(|(n, y, _)| n == name && y == year) {
                bail!(
                    "{}: --output `{name}`{}: no such output (series are named as in compare.csv)",
                    args.file.display(),
                    year.map_or(String::new(), |y| format!("@{y}"))
                );
            }
        }
    } else {
        bail!(
            "{}: no point of the sweep ran (first reason: {})",
            args.file.display(),
            results
                .iter()
                .find_map(|r| r.as_ref().err().cloned())
                .unwrap_or_else(|| "no points".into())
        );
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_owned()];
    header.extend(args.params.iter().map(|a| a.path.to_string()));
    header.extend(["series", "year", "value"].map(String::from));
    w.write_record(&header)?;
    let mut failed = csv::Writer::from_writer(Vec::new());
    failed.write_record(["point", "reason"])?;
    for (k, (point, result)) in points[first..last].iter().zip(&results).enumerate() {
        let index = (first + k).to_string();
        match result {
            Err(reason) => failed.write_record([index.as_str(), reason.as_str()])?,
            Ok(out) => {
                // Never a NaN on disk: a point with an output that is not a number failed.
                if let Some((name, year, v)) = out.iter().find(|(.., v)| !v.is_finite()) {
                    let at = year.map_or(String::new(), |y| format!(" in {y}"));
                    let reason = format!("output `{name}`{at} is {v}, not a finite number");
                    failed.write_record([index.as_str(), reason.as_str()])?;
                    continue;
                }
                for (name, year, value) in out {
                    if !wanted.is_empty() && !wanted.iter().any(|(n, y)| n == name && y == year) {
                        continue;
                    }
                    let mut row = vec![index.clone()];
                    row.extend(point.iter().map(|v| v.to_string()));
                    row.push(name.clone());
                    row.push(year.map_or(String::new(), |y| y.to_string()));
                    row.push(value.to_string());
                    w.write_record(&row)?;
                }
            }
        }
    }
    let target = match wanted.first() {
        Some(t) => t.clone(),
        None => {
            let out = results
                .iter()
                .find_map(|r| r.as_ref().ok())
                .expect("checked above");
            let first = out[0].0.clone();
            let last_year = out
                .iter()
                .filter(|(n, _, _)| *n == first)
                .filter_map(|(_, y, _)| *y)
                .max();
            (first, last_year)
        }
    };
    let series: Vec<(String, Option<i32>)> = results
        .iter()
        .find_map(|r| r.as_ref().ok())
        .into_iter()
        .flatten()
        .filter(|(n, y, _)| wanted.is_empty() || wanted.iter().any(|(a, b)| a == n && b == y))
        .map(|(n, y, _)| (n.clone(), *y))
        .collect();
    let record = Record {
        scenario: args.file.clone(),
        scenario_file: Some(tradeflow::shard::absolute(&args.file)),
        series,
        parameters: args.params.iter().map(|a| a.path.to_string()).collect(),
        axes: args.params.iter().map(|a| a.to_string()).collect(),
        tornado_output: target.clone(),
        points: points.len(),
        shard: args.shard,
        first_point: first,
        last_point: last,
    };
    let mut files = vec![
        ("sweep.csv", w.into_inner()?),
        ("failed_points.csv", failed.into_inner()?),
        (
            "sweep.json",
            tradeflow::output::json_bytes(&record, "sweep record")?,
        ),
    ];
    if args.shard.is_none() {
        files.push(("tornado.csv", tornado_csv(&sweep, &args.params, &target)?));
    }
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
