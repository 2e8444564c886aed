//! `tradeflow estimate`: PPML of trade on cost variables with fixed effects, from a
//! gegravity-layout CSV; writes `coefficients.csv` (the layout `tradeflow gravity
//! --coefficients` and scenario `[costs]` read), `fixed_effects.csv`, `dropped.csv` and
//! `estimate.json`.
//!
//! The flags are checked and the data read before the results folder is claimed; the
//! estimate is computed before anything is written, so bad input or an estimation that does
//! not converge writes nothing (exit 1).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tradeflow::estimate::table::{read_table, FixedEffectKind, Table, TableSpec};
use tradeflow::estimate::{ppml, PpmlFit, PpmlOptions, StdErrKind};
use tradeflow::output::{csv_bytes, json_bytes, Claim, Part, Results};

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

#[derive(Serialize)]
struct CoefficientRow<'a> {
    variable: &'a str,
    beta: f64,
    stderr: f64,
}

#[derive(Serialize)]
struct FixedEffectRow<'a> {
    dimension: &'a str,
    group: &'a str,
    estimate: f64,
}

#[derive(Serialize)]
struct DroppedRow<'a> {
    line: u64,
    exporter: &'a str,
    importer: &'a str,
    year: Option<i64>,
    reason: String,
}

/// `estimate.json`.
#[derive(Serialize)]
struct Record<'a> {
    tradeflow_version: &'static str,
    data: String,
    year: Option<i64>,
    dependent: &'a str,
    variables: &'a [String],
    fixed_effects: Vec<&'static str>,
    standard_errors: StdErrKind,
    standard_error_formula: &'static str,
    constant: &'static str,
    fixed_effect_normalisation: &'static str,
    options: PpmlOptions,
    iterations: usize,
    deviance: f64,
    relative_change: f64,
    converged: bool,
    stop: tradeflow::estimate::StopReason,
    max_demean_sweeps: usize,
    rows_read: usize,
    observations: usize,
    kept: usize,
    dropped: usize,
    dropped_non_finite: usize,
    dropped_singleton: usize,
    dropped_separated: usize,
    clusters: Option<usize>,
    groups: Vec<(&'static str, usize)>,
}

const CONSTANT: &str = "ppmlhdfe's _cons: the mu-weighted mean over the kept observations of the summed fixed effects, sum mu_n (eta_n - b'x_n) / sum mu_n; its standard error is that of a column of ones beside the demeaned regressors plus their mu-weighted means (reghdfe)";
const NORMALISATION: &str = "each dimension has a zero mu-weighted mean over the kept observations, so that eta_n = b'x_n + constant + sum of the observation's fixed effects";

pub fn run(args: Args) -> Result<()> {
    let mut kinds = Vec::new();
    let mut unknown = Vec::new();
    for name in &args.fixed_effects {
        match FixedEffectKind::parse(name) {
            Some(k) => kinds.push(k),
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(tradeflow::estimate::table::TableError::UnknownFixedEffects(unknown).into());
    }
    let spec = TableSpec {
        dependent: args.dependent.clone(),
        variables: args.variables.clone(),
        fixed_effects: kinds.clone(),
        cluster_pair: args.cluster.is_some(),
        year: args.year,
    };
    let table = read_table(&args.data, &spec)?;
    let options = PpmlOptions {
        se: match args.cluster {
            Some(ClusterArg::Pair) => StdErrKind::ClusterPair,
            None => StdErrKind::Robust,
        },
        ..PpmlOptions::default()
    };
    let mut claim = Claim::new(
        &args.out,
        "tradeflow estimate",
        std::slice::from_ref(&args.data),
        &[],
    )?;
    let fit = ppml(&table.design, &options)
        .with_context(|| format!("{}: PPML estimation", args.data.display()))?;
    if !fit.report.converged {
        bail!(
            "{}: PPML {} after {} iterations (relative deviance change {:.2e}); nothing was written",
            args.data.display(),
            fit.report.stop,
            fit.report.iterations,
            fit.report.relative_change
        );
    }
    let files = files(&args, &kinds, &table, &fit, &options)?;
    let names: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    claim.write(&[Part::new("", Results::Estimate, files)])?;
    if !args.quiet {
        let mut text = summary(&table, &fit, &kinds);
        text.push_str(&format!(
            "wrote {} ({})\n",
            args.out.display(),
            names.join(", ")
        ));
        super::print_stdout(&text)?;
    }
    Ok(())
}

/// The folder's files, as bytes.
fn files(
    args: &Args,
    kinds: &[FixedEffectKind],
    table: &Table,
    fit: &PpmlFit,
    options: &PpmlOptions,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut coefs: Vec<CoefficientRow> = fit
        .coefficients
        .iter()
        .map(|c| CoefficientRow {
            variable: &c.name,
            beta: c.beta,
            stderr: c.stderr,
        })
        .collect();
    coefs.push(CoefficientRow {
        variable: "constant",
        beta: fit.constant.beta,
        stderr: fit.constant.stderr,
    });
    let mut fe_rows = Vec::new();
    for ((kind, values), labels) in kinds
        .iter()
        .zip(&fit.fixed_effects)
        .zip(&table.group_labels)
    {
        for &(g, estimate) in &values.values {
            fe_rows.push(FixedEffectRow {
                dimension: kind.name(),
                group: &labels[g as usize],
                estimate,
            });
        }
    }
    let dropped: Vec<DroppedRow> = fit
        .dropped
        .iter()
        .map(|d| DroppedRow {
            line: table.lines[d.index],
            exporter: &table.codes[table.exporter[d.index] as usize],
            importer: &table.codes[table.importer[d.index] as usize],
            year: table.year[d.index],
            reason: d.reason.to_string(),
        })
        .collect();
    let count = |f: fn(&tradeflow::estimate::DropReason) -> bool| {
        fit.dropped.iter().filter(|d| f(&d.reason)).count()
    };
    use tradeflow::estimate::DropReason as R;
    let record = Record {
        tradeflow_version: env!("CARGO_PKG_VERSION"),
        data: args.data.display().to_string(),
        year: args.year,
        dependent: &args.dependent,
        variables: &args.variables,
        fixed_effects: kinds.iter().map(|k| k.name()).collect(),
        standard_errors: fit.se,
        standard_error_formula: fit.se.formula(),
        constant: CONSTANT,
        fixed_effect_normalisation: NORMALISATION,
        options: *options,
        iterations: fit.report.iterations,
        deviance: fit.report.deviance,
        relative_change: fit.report.relative_change,
        converged: fit.report.converged,
        stop: fit.report.stop,
        max_demean_sweeps: fit.report.max_demean_sweeps,
        rows_read: table.rows_read,
        observations: fit.report.observations,
        kept: fit.report.kept,
        dropped: fit.dropped.len(),
        dropped_non_finite: count(|r| matches!(r, R::NonFinite { .. })),
        dropped_singleton: count(|r| matches!(r, R::Singleton { .. })),
        dropped_separated: count(|r| matches!(r, R::Separated { .. })),
        clusters: fit.report.clusters,
        groups: kinds
            .iter()
            .zip(&fit.fixed_effects)
            .map(|(k, v)| (k.name(), v.values.len()))
            .collect(),
    };
    Ok(vec![
        ("coefficients.csv", csv_bytes(&coefs, "coefficients.csv")?),
        (
            "fixed_effects.csv",
            csv_bytes(&fe_rows, "fixed_effects.csv")?,
        ),
        ("dropped.csv", dropped_csv(&dropped)?),
        ("estimate.json", json_bytes(&record, "estimate.json")?),
    ])
}

/// `dropped.csv`, with its header even when nothing was dropped.
fn dropped_csv(rows: &[DroppedRow]) -> Result<Vec<u8>> {
    if rows.is_empty() {
        return Ok(b"line,exporter,importer,year,reason\n".to_vec());
    }
    Ok(csv_bytes(rows, "dropped.csv")?)
}

/// The console table: counts, convergence and the coefficients.
fn summary(table: &Table, fit: &PpmlFit, kinds: &[FixedEffectKind]) -> String {
    let groups: Vec<String> = kinds
        .iter()
        .zip(&fit.fixed_effects)
        .map(|(k, v)| format!("{k} ({})", v.values.len()))
        .collect();
    let mut s = format!(
        "PPML: {} observations ({} rows read), {} kept, {} dropped; fixed effects: {}\n",
        fit.report.observations,
        table.rows_read,
        fit.report.kept,
        fit.dropped.len(),
        if groups.is_empty() {
            "none".to_owned()
        } else {
            groups.join(", ")
        }
    );
    s.push_str(&format!(
        "{} in {} iterations, deviance {:.6e}\n",
        fit.report.stop, fit.report.iterations, fit.report.deviance
    ));
    let se = match fit.se {
        StdErrKind::Robust => "stderr (robust HC0)",
        StdErrKind::ClusterPair => "stderr (clustered by pair)",
    };
    let width = fit
        .coefficients
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(8);
    s.push_str(&format!("{:<width$}  {:>14}  {se}\n", "variable", "beta"));
    for c in fit
        .coefficients
        .iter()
        .chain(std::iter::once(&fit.constant))
    {
        s.push_str(&format!(
            "{:<width$}  {:>14.7}  {:>14.7}\n",
            c.name, c.beta, c.stderr
        ));
    }
    s
}
