//! `tradeflow estimate`: PPML of trade on cost variables with fixed effects, from a
//! gegravity-layout CSV (the library's `estimate::run` does the work and makes the files).
//!
//! The flags are checked and the data read before the results folder is claimed; the
//! estimate is computed before anything is written, so bad input or an estimation that does
//! not converge writes nothing (exit 1).

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::estimate::run::{self, Request};
use tradeflow::output::{Claim, Part, Results};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ClusterArg {
    /// The ordered exporter-importer pair.
    Pair,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trade data in the gegravity layout: exporter,importer,year,trade,<variables>.
    #[arg(long)]
    data: PathBuf,
    /// Use only this year's rows [default: every row].
    #[arg(long)]
    year: Option<i64>,
    /// Regressors, comma-separated columns of the data (lndist,contiguity,...).
    #[arg(long, value_delimiter = ',', required = true)]
    variables: Vec<String>,
    /// Fixed effects, comma-separated: exporter, importer, year, exporter-year,
    /// importer-year, pair.
    #[arg(long, value_delimiter = ',', default_value = "exporter,importer")]
    fixed_effects: Vec<String>,
    /// Cluster the standard errors [default: heteroskedasticity-robust HC0].
    #[arg(long, value_enum)]
    cluster: Option<ClusterArg>,
    /// The dependent variable's column.
    #[arg(long, default_value = "trade")]
    dependent: String,
    /// Results folder.
    #[arg(long, default_value = "plots/estimate")]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let request = Request {
        data: args.data.clone(),
        variables: args.variables,
        fixed_effects: args.fixed_effects,
        cluster_pair: args.cluster.is_some(),
        dependent: args.dependent,
        year: args.year,
    };
    let (kinds, table) = run::read(&request)?;
    let mut claim = Claim::new(
        &args.out,
        "tradeflow estimate",
        std::slice::from_ref(&args.data),
        &[],
    )?;
    let estimated = run::fit(request, kinds, table)?;
    let files = estimated.files()?;
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let names = names.join(", ");
    claim.write(&[Part::new("", Results::Estimate, files)])?;
    if !args.quiet {
        let mut text = estimated.summary();
        text.push_str(&format!("wrote {} ({names})\n", args.out.display()));
        super::print_stdout(&text)?;
    }
    Ok(())
}
