//! `tradeflow data import baci|comtrade FILE ... --out panel.csv` and `tradeflow data report
//! PANEL`: real data in, as a panel of reported figures, and what a panel covers.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tradeflow::data::baci::{self, BaciOptions, Countries};
use tradeflow::data::comtrade::{self, ComtradeOptions};
use tradeflow::data::panel::{self, Rates, Unit, TOTAL};
use tradeflow::data::report::{self, ReportOptions};
use tradeflow::data::report_chart::MirrorGaps;
use tradeflow::data::{Economies, HsVintage, Products};
use tradeflow::output::{Claim, Part, Results};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// Import a BACI or UN Comtrade file as a panel of reported figures.
    #[command(subcommand)]
    Import(Import),
    /// Report on a panel: reporters, mirror ratios, re-exports, conflicts and coverage per
    /// link and year.
    Report(ReportArgs),
}

#[derive(Debug, clap::Subcommand)]
enum Import {
    /// A BACI (CEPII) file: columns t,i,j,k,v,q, numeric country codes.
    Baci(BaciArgs),
    /// A UN Comtrade+ CSV (data API or bulk download).
    Comtrade(ComtradeArgs),
}

/// What both importers take.
#[derive(Debug, clap::Args)]
struct Common {
    /// The economies map (economies.toml): codes -> model economies, by year.
    #[arg(long)]
    economies: PathBuf,
    /// An HS6 -> product-group concordance (hs6,group,tier,hs_vintage,source,note), such
    /// as scenarios/data/chpl.csv [default: every product in one group, `total`].
    #[arg(long)]
    products: Option<PathBuf>,
    /// The group of codes not in the concordance.
    #[arg(long, default_value = "other")]
    default_group: String,
    /// The HS vintage of the file (HS2017, HS17, H5) [default: from the file].
    #[arg(long)]
    hs: Option<String>,
    /// The years the file holds, `2022` or `2019-2022`: a row outside is an error
    /// [default: BACI's from its file name; Comtrade's unchecked].
    #[arg(long)]
    years: Option<String>,
    /// The unit of the panel's values (`USD bn`, `USD thousand`, `EUR bn`) [default: the
    /// file's: USD thousand for BACI, USD for Comtrade].
    #[arg(long)]
    unit: Option<String>,
    /// Exchange rates (year,currency,per_usd,source), for a --unit in another currency.
    #[arg(long)]
    rates: Option<PathBuf>,
    /// The panel to write (CSV). An existing file is replaced only if tradeflow wrote it.
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct BaciArgs {
    /// The BACI file (BACI_HS17_Y2022_V202401.csv).
    file: PathBuf,
    /// BACI's country table (country_codes_V202401.csv).
    #[arg(long)]
    countries: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct ComtradeArgs {
    /// The Comtrade CSV.
    file: PathBuf,
    /// Keep every row, not only the totals rows (partner2Code 0, customsCode C00, motCode 0,
    /// mosCode 0): for a file that holds one breakdown only.
    #[arg(long)]
    all_rows: bool,
    /// Flow codes to keep, comma-separated (X, M, RX, RM; DX or FM instead of X or M).
    #[arg(long, value_delimiter = ',', default_values_t = comtrade::DEFAULT_FLOWS.map(String::from))]
    flows: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// The panel (CSV: year,exporter,importer,reporter,flow,product,value,unit,source,kind,note).
    panel: PathBuf,
    /// Draw the mirror gaps of the links into this economy (charts/mirror_gaps_into_<T>).
    #[arg(long)]
    into: Option<String>,
    /// The year of the chart [default: the last year with a flow into --into].
    #[arg(long)]
    year: Option<i32>,
    /// The product of the chart [default: total, if present].
    #[arg(long)]
    product: Option<String>,
    /// The unit of the report's values [default: the first row's].
    #[arg(long)]
    unit: Option<String>,
    /// Exchange rates (year,currency,per_usd,source), for panels in several currencies.
    #[arg(long)]
    rates: Option<PathBuf>,
    /// Results folder.
    #[arg(long, default_value = "plots/data_report")]
    out: PathBuf,
    /// Rows of the console table of mirror gaps.
    #[arg(long, default_value_t = 12)]
    top: usize,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Import(Import::Baci(a)) => import_baci(a),
        DataCommand::Import(Import::Comtrade(a)) => import_comtrade(a),
        DataCommand::Report(a) => run_report(a),
    }
}

/// `2022` or `2019-2022`.
fn parse_years(s: &str) -> Result<(i32, i32)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let y = |t: &str| {
        t.trim()
            .parse::<i32>()
            .with_context(|| format!("--years `{s}`: `{t}` is not a year"))
    };
    let (a, b) = (y(a)?, y(b)?);
    if a > b {
        bail!("--years `{s}`: {a} is after {b}");
    }
    Ok((a, b))
}

fn parse_unit(s: &Option<String>, flag: &str) -> Result<Option<Unit>> {
    s.as_deref()
        .map(|u| {
            u.parse::<Unit>()
                .map_err(|m| anyhow::anyhow!("{flag}: {m}"))
        })
        .transpose()
}

fn read_rates(p: &Option<PathBuf>) -> Result<Rates> {
    Ok(match p {
        Some(p) => Rates::read(p)?,
        None => Rates::none(),
    })
}

/// Refuses an output that is one of the inputs, or a file tradeflow did not write.
fn check_out(out: &Path, inputs: &[&Path]) -> Result<()> {
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(o) = canon(out) {
        for i in inputs {
            if canon(i).as_ref() == Some(&o) {
                bail!(
                    "refusing to write {}: it is an input of this command; nothing was written",
                    out.display()
                );
            }
        }
    }
    panel::check_output(out)?;
    Ok(())
}

/// The map, the concordance, the vintage, the years, the unit and the rates.
struct Loaded {
    economies: Economies,
    products: Products,
    vintage: Option<HsVintage>,
    years: Option<(i32, i32)>,
    unit: Option<Unit>,
    rates: Rates,
}

fn load(c: &Common) -> Result<Loaded> {
    let economies = Economies::read(&c.economies)?;
    let products = match &c.products {
        Some(p) => Products::read(p, &c.default_group)?,
        None => Products::single(TOTAL),
    };
    let vintage =
        c.hs.as_deref()
            .map(|h| {
                HsVintage::parse(h)
                    .with_context(|| format!("--hs `{h}` is not an HS vintage (HS2017, HS17, H5)"))
            })
            .transpose()?;
    Ok(Loaded {
        economies,
        products,
        vintage,
        years: c.years.as_deref().map(parse_years).transpose()?,
        unit: parse_unit(&c.unit, "--unit")?,
        rates: read_rates(&c.rates)?,
    })
}

fn finish(
    c: &Common,
    rows: &[tradeflow::data::PanelRow],
    summary: &tradeflow::data::ImportSummary,
    command: &str,
) -> Result<()> {
    panel::write_panel(&c.out, rows, command)?;
    if !c.quiet {
        super::print_stdout(&format!(
            "{}wrote {}\n",
            summary.describe(),
            c.out.display()
        ))?;
    }
    Ok(())
}

fn import_baci(a: BaciArgs) -> Result<()> {
    let c = &a.common;
    let mut inputs = vec![
        a.file.as_path(),
        a.countries.as_path(),
        c.economies.as_path(),
    ];
    inputs.extend(c.products.as_deref());
    inputs.extend(c.rates.as_deref());
    check_out(&c.out, &inputs)?;
    let l = load(c)?;
    let countries = Countries::read(&a.countries)?;
    let (rows, summary) = baci::import(
        &a.file,
        &BaciOptions {
            economies: &l.economies,
            countries: &countries,
            products: &l.products,
            vintage: l.vintage,
            years: l.years,
            unit: l.unit.clone(),
            rates: &l.rates,
        },
    )?;
    finish(c, &rows, &summary, "tradeflow data import baci")
}

fn import_comtrade(a: ComtradeArgs) -> Result<()> {
    let c = &a.common;
    let mut inputs = vec![a.file.as_path(), c.economies.as_path()];
    inputs.extend(c.products.as_deref());
    inputs.extend(c.rates.as_deref());
    check_out(&c.out, &inputs)?;
    let l = load(c)?;
    let (rows, summary) = comtrade::import(
        &a.file,
        &ComtradeOptions {
            economies: &l.economies,
            products: &l.products,
            flows: a.flows.iter().map(|f| f.trim().to_owned()).collect(),
            all_rows: a.all_rows,
            vintage: l.vintage,
            years: l.years,
            unit: l.unit.clone(),
            rates: &l.rates,
        },
    )?;
    finish(c, &rows, &summary, "tradeflow data import comtrade")
}

fn run_report(a: ReportArgs) -> Result<()> {
    let mut inputs = vec![a.panel.clone()];
    inputs.extend(a.rates.clone());
    let subfolders: &[&str] = if a.into.is_some() {
        &[tradeflow::plot::CHARTS_DIR]
    } else {
        &[]
    };
    let mut claim = Claim::new(&a.out, "tradeflow data report", &inputs, subfolders)?;
    let opt = ReportOptions {
        unit: parse_unit(&a.unit, "--unit")?,
        rates: read_rates(&a.rates)?,
    };
    let rep = report::report(&a.panel, &opt)?;
    let mut parts = vec![Part::new("", Results::DataReport, rep.files()?)];
    let mut chart_note = String::new();
    if let Some(t) = &a.into {
        let gaps = MirrorGaps::of(&rep, t, a.year, a.product.as_deref())?;
        chart_note = format!(
            "wrote {} ({}.png, .svg, .csv)\n",
            a.out.join(tradeflow::plot::CHARTS_DIR).display(),
            gaps.stem()
        );
        parts.push(Part::new(
            tradeflow::plot::CHARTS_DIR,
            Results::Charts,
            gaps.files()?,
        ));
    }
    claim.write(&parts)?;
    if !a.quiet {
        super::print_stdout(&format!(
            "{}\nwrote {} (report.csv, coverage.csv)\n{chart_note}",
            rep.table(a.top),
            a.out.display()
        ))?;
    }
    Ok(())
}
