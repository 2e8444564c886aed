//! `tradeflow gravity`: a gegravity-style experiment from CSV files, no scenario file.
//!
//! The flags are turned into the same raw scenario a TOML file would give and validated
//! the same way, so both commands share every check and every output column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::Deserialize;
use tradeflow::scenario::raw::{CostMethod, RawCosts, RawData, RawScenario, RawShock, ShockKind};
use tradeflow::scenario::ScenarioError;

use super::run::CliGeMode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gravity data in the gegravity layout: exporter,importer,year,trade,Y,E,<cost variables>.
    #[arg(long)]
    data: PathBuf,
    /// Year of the data to use (required when the file holds several).
    #[arg(long)]
    year: Option<i64>,
    /// Cost coefficients: a CSV `variable,beta[,stderr]`; `constant` multiplies 1.
    #[arg(long)]
    coefficients: PathBuf,
    /// Elasticity of substitution (> 1).
    #[arg(long)]
    sigma: f64,
    /// The importer whose inward resistance is normalised to 1.
    #[arg(long)]
    reference_importer: String,
    /// Counterfactual: a CSV `exporter,importer,variable,value` setting that cost variable
    /// for that pair.
    #[arg(long)]
    experiment: PathBuf,
    /// Results folder.
    #[arg(long, default_value = "plots/gravity")]
    out: PathBuf,
    /// Full-GE convention.
    #[arg(long, value_enum, default_value = "complete")]
    ge_mode: CliGeMode,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoefficientRow {
    variable: String,
    beta: f64,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read so the column is accepted; Monte Carlo will use it"
    )]
    stderr: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentRow {
    exporter: String,
    importer: String,
    variable: String,
    value: f64,
}

/// Reads every row of a CSV (bounded, as every input: [`tradeflow::input`]), naming the
/// file and line of the first bad one, and the text it could not read.
fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<(u64, T)>> {
    let bytes = tradeflow::input::read_bytes(path, tradeflow::input::InputKind::Data)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let bad = |e: &csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        anyhow::anyhow!("{}, line {line}: {e}", path.display())
    };
    let headers = reader.headers().map_err(|e| bad(&e))?.clone();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| bad(&e))? {
        let line = record.position().map_or(0, |p| p.line());
        match record.deserialize::<T>(Some(&headers)) {
            Ok(row) => rows.push((line, row)),
            Err(e) => bail!(
                "{}, line {line}: {}",
                path.display(),
                csv_reason(&e, &headers, &record)
            ),
        }
    }
    Ok(rows)
}

/// What is wrong with a row: the column by number and name, and the text found there.
fn csv_reason(e: &csv::Error, headers: &csv::StringRecord, record: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(k) => {
                let k = k as usize;
                format!(
                    "field {} (`{}`): {} (found `{}`)",
                    k + 1,
                    headers.get(k).unwrap_or("?"),
                    err.kind(),
                    record.get(k).unwrap_or("")
                )
            }
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut coefficients = BTreeMap::new();
    for (line, row) in read_rows::<CoefficientRow>(&args.coefficients)? {
        if !row.beta.is_finite() {
            bail!(
                "{}, line {line}: beta of `{}` must be a finite number",
                args.coefficients.display(),
                row.variable
            );
        }
        if coefficients
            .insert(row.variable.clone(), row.beta)
            .is_some()
        {
            bail!(
                "{}, line {line}: coefficient `{}` is given twice",
                args.coefficients.display(),
                row.variable
            );
        }
    }
    let experiment = read_rows::<ExperimentRow>(&args.experiment)?;
    if experiment.is_empty() {
        bail!("{}: the experiment has no rows", args.experiment.display());
    }
    // A second row for the same pair and variable would silently override the first.
    let mut seen: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for (line, r) in &experiment {
        let key = (
            r.exporter.as_str(),
            r.importer.as_str(),
            r.variable.as_str(),
        );
        if let Some(first) = seen.insert(key, *line) {
            bail!(
                "{}, line {line}: {}->{} `{}` is set twice (first on line {first}): give each pair and variable once",
                args.experiment.display(),
                r.exporter,
                r.importer,
                r.variable
            );
        }
    }
    let file = args.experiment.display().to_string();
    let shocks = experiment
        .into_iter()
        .map(|(line, r)| RawShock {
            kind: ShockKind::SetVariable,
            label: Some(format!("{file}, line {line}")),
            variable: Some(r.variable),
            value: Some(r.value),
            factor: None,
            percent: None,
            pairs: Some(vec![vec![r.exporter, r.importer]]),
            exporters: None,
            importers: None,
        })
        .collect();
    let raw = RawScenario {
        name: "gravity".to_owned(),
        description: format!(
            "tradeflow gravity --data {} --experiment {}",
            args.data.display(),
            args.experiment.display()
        ),
        extends: None,
        sigma: Some(args.sigma),
        reference_importer: args.reference_importer,
        ge_mode: args.ge_mode.into(),
        economies: None,
        groups: BTreeMap::new(),
        data: RawData {
            path: Some(args.data.to_string_lossy().into_owned()),
            year: args.year,
            flows: None,
        },
        costs: RawCosts {
            method: CostMethod::Coefficients,
            coefficients,
        },
        shocks,
        solver: Default::default(),
        years: None,
        sectors: Vec::new(),
        routes: None,
        instruments: Vec::new(),
        uncertainty: None,
        calibration: None,
    };
    let scenario = tradeflow::scenario::validate(raw, None, Path::new("."))
        .map_err(|e| name_flags(e, &args.coefficients))?;
    let inputs = [
        args.data.clone(),
        args.coefficients.clone(),
        args.experiment.clone(),
    ];
    super::solve_and_write(&scenario, &args.out, &inputs, args.quiet)
}

/// Validation speaks of scenario fields; here they came from flags and files, so say so.
fn name_flags(e: ScenarioError, coefficients: &Path) -> ScenarioError {
    let ScenarioError::Invalid { path, mut problems } = e else {
        return e;
    };
    for p in &mut problems {
        p.field = if let Some(name) = p.field.strip_prefix("costs.coefficients.") {
            format!("{}: coefficient `{name}`", coefficients.display())
        } else if p.field.starts_with("shocks[") {
            "--experiment".to_owned()
        } else {
            format!("--{}", p.field.replace('_', "-"))
        };
    }
    ScenarioError::Invalid { path, problems }
}
