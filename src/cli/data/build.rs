//! `tradeflow data build PANEL --year Y --economies ECON.toml --domestic-table GDP.csv --out
//! WORLD.csv`: a base-year world from a panel (`tradeflow::data::build`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use tradeflow::data::build::{BuildRequest, Effects};
use tradeflow::data::domestic::DomesticMethod;
use tradeflow::data::panel::{Preference, Unit};

#[derive(Debug, clap::Args)]
pub(super) struct BuildArgs {
    /// The panel (CSV: year,exporter,importer,reporter,flow,product,value,unit,source,kind,note),
    /// in the economies of --economies.
    panel: PathBuf,
    /// The base year.
    #[arg(long)]
    year: i32,
    /// The economies map (economies.toml): the world's economies, in its order.
    #[arg(long)]
    economies: PathBuf,
    /// Domestic sales: a CSV of year,economy,value,unit,source (and optionally measure, kind, note)
    /// with one figure per economy: GDP or gross output, or domestic sales with --domestic given.
    #[arg(long)]
    domestic_table: PathBuf,
    /// How domestic sales come from the table: `output-less-exports` (domestic = the figure
    /// less the economy's exports in the built world) or `given` (the figure is domestic sales).
    #[arg(long, default_value = "output-less-exports")]
    domestic: String,
    /// Which record a cell takes, in order: `importer` (the importer's import record),
    /// `exporter` (the exporter's export record), or a reporter's name (`BACI`).
    #[arg(long, value_delimiter = ',', default_value = "importer,exporter,BACI")]
    prefer: Vec<String>,
    /// Exporters whose own export record comes first, whatever --prefer says (hubs, whose
    /// partners record transit goods as imports from them), comma-separated.
    #[arg(long, value_delimiter = ',')]
    hubs: Vec<String>,
    /// The folder of capitals.csv, contiguity.csv, languages.csv and agreements.csv
    /// [default: the folder of --economies].
    #[arg(long)]
    geography: Option<PathBuf>,
    /// The unit of the world's values.
    #[arg(long, default_value = "USD bn")]
    unit: String,
    /// Exchange rates (year,currency,per_usd,source), for figures in other currencies.
    #[arg(long)]
    rates: Option<PathBuf>,
    /// The product of the world's cells.
    #[arg(long, default_value = "total")]
    product: String,
    /// The gravity prior of missing cells: `fixed` (exporter and importer fixed effects;
    /// every economy needs an observed cell on each side), `masses` (ln output of exporter
    /// and importer from --domestic-table, for thin panels), or `auto` (fixed effects when
    /// every economy with a missing cell has them, otherwise masses for every cell).
    #[arg(long, default_value = "auto")]
    effects: String,
    /// Fit the prior on these years of the panel (`2019-2021` or `2019,2020,2021`), with
    /// year fixed effects; they must include --year [default: --year alone].
    #[arg(long)]
    fit_years: Option<String>,
    /// Leave the imputed cells at the prior; by default they are scaled (iterative
    /// proportional fitting, observed cells fixed) to each economy's reported total
    /// exports and imports of --year (panel rows with partner WLD).
    #[arg(long)]
    ignore_totals: bool,
    /// The world to write (CSV). An existing file is replaced only if tradeflow wrote it.
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub(super) fn run(a: BuildArgs) -> Result<()> {
    let Some(method) = DomesticMethod::parse(&a.domestic) else {
        bail!(
            "--domestic `{}` is not one of {}",
            a.domestic,
            DomesticMethod::NAMES.join(", ")
        );
    };
    let Some(effects) = Effects::parse(&a.effects) else {
        bail!(
            "--effects `{}` is not one of {}",
            a.effects,
            Effects::NAMES.join(", ")
        );
    };
    let fit_years = match &a.fit_years {
        None => Vec::new(),
        Some(t) => parse_years(t).ok_or_else(|| {
            anyhow::anyhow!(
                "--fit-years `{t}`: give a range (2019-2021) or years separated by commas"
            )
        })?,
    };
    let prefer = a
        .prefer
        .iter()
        .map(|p| p.parse::<Preference>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| anyhow::anyhow!("--prefer: {m}"))?;
    let request = BuildRequest {
        panel: a.panel,
        year: a.year,
        economies: a.economies,
        domestic: a.domestic_table,
        method,
        geography: a.geography,
        rates: a.rates,
        unit: a
            .unit
            .parse::<Unit>()
            .map_err(|m| anyhow::anyhow!("--unit: {m}"))?,
        product: a.product,
        prefer,
        hubs: a.hubs.iter().map(|h| h.trim().to_owned()).collect(),
        effects,
        fit_years,
        use_totals: !a.ignore_totals,
        out: a.out,
    };
    let world = request.run("tradeflow data build")?;
    if !a.quiet {
        super::super::print_stdout(&format!(
            "{}wrote {}\n",
            world.describe(),
            request.out.display()
        ))?;
    }
    Ok(())
}

/// `2019-2021` or `2019,2020,2021`, in increasing order without repeats.
fn parse_years(t: &str) -> Option<Vec<i32>> {
    let mut years: Vec<i32> = if let Some((a, b)) = t.split_once('-') {
        let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if a > b {
            return None;
        }
        (a..=b).collect()
    } else {
        t.split(',')
            .map(|y| y.trim().parse().ok())
            .collect::<Option<Vec<i32>>>()?
    };
    years.sort_unstable();
    years.dedup();
    (!years.is_empty()).then_some(years)
}
