//! `tradeflow run FILE`: run a scenario file.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::gravity::GeMode;
use tradeflow::output::Claim;
use tradeflow::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file (TOML).
    file: PathBuf,
    /// Results folder [default: plots/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the scenario's `ge_mode`.
    #[arg(long, value_enum)]
    ge_mode: Option<CliGeMode>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Also run N Monte Carlo draws of the scenario's `[uncertainty]`.
    #[arg(long)]
    draws: Option<u64>,
    /// Seed of the Monte Carlo draws (written into montecarlo.json).
    #[arg(long, default_value_t = 0, requires = "draws")]
    seed: u64,
    /// Draw the parameters of the fitted posterior in DIR too (a calibration folder with
    /// posterior.csv and posterior_covariance.csv), in place of `[uncertainty] posterior`.
    #[arg(long, value_name = "DIR", requires = "draws")]
    posterior: Option<PathBuf>,
    /// Run only slice K of N of the draws (for cluster job arrays); join with `merge`.
    #[arg(long, requires = "draws")]
    shard: Option<super::montecarlo::Shard>,
    /// Write the data files only, no charts (job arrays; `tradeflow plot` draws them later).
    /// Charts an earlier run left in the folder are removed with the rest of its results.
    #[arg(long)]
    no_charts: bool,
}

/// The full-GE conventions, as the command line spells them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CliGeMode {
    /// The complete endowment GE (default).
    Complete,
    /// gegravity 0.3's one-step convention.
    Gegravity,
}

impl From<CliGeMode> for GeMode {
    fn from(m: CliGeMode) -> Self {
        match m {
            CliGeMode::Complete => GeMode::Complete,
            CliGeMode::Gegravity => GeMode::Gegravity,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut scenario = Scenario::from_file(&args.file)?;
    if let Some(mode) = args.ge_mode {
        scenario = scenario.with_ge_mode(mode.into())?;
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("plots").join(scenario.name()));
    let mc_folder = args.draws.map(|_| match args.shard {
        None => "montecarlo".to_owned(),
        Some(s) => format!("montecarlo-shard-{}-of-{}", s.k, s.n),
    });
    if let Some(draws) = args.draws {
        if draws == 0 {
            anyhow::bail!("--draws 0: a Monte Carlo needs at least one draw; nothing was written");
        }
        // The draw count and `[uncertainty]` are checked before anything runs.
        tradeflow::montecarlo::MonteCarlo::check_with(
            &args.file,
            draws,
            args.posterior.as_deref(),
        )?;
    }
    let mut subfolders = vec![tradeflow::plot::CHARTS_DIR];
    subfolders.extend(mc_folder.as_deref());
    // Claimed before any work: a folder tradeflow may not write is refused at once.
    let mut claim = Claim::new(
        &out,
        "tradeflow run",
        &super::scenario_inputs(&args.file, &scenario),
        &subfolders,
    )?;
    let mut outcome = if scenario.dynamics().is_some() {
        super::simulate(&scenario, &out, !args.no_charts)?
    } else {
        super::solve(&scenario, &out)?
    };
    if let (Some(draws), Some(dir)) = (args.draws, &mc_folder) {
        let mc = super::montecarlo::run(
            &args.file,
            &out.join(dir),
            &super::montecarlo::What {
                draws,
                seed: args.seed,
                posterior: args.posterior.as_deref(),
                shard: args.shard,
            },
            args.quiet,
            !args.no_charts,
        )?;
        outcome
            .parts
            .extend(mc.parts.into_iter().map(|p| p.under(dir)));
        outcome.wrote.push_str(&mc.wrote);
    }
    // Everything is computed: the folder is written in one piece.
    claim.write(&outcome.parts)?;
    if !args.quiet {
        super::print_stdout(&format!("{}{}", outcome.text, outcome.wrote))?;
    }
    Ok(())
}
