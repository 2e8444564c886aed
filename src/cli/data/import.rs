//! `tradeflow data import baci|comtrade FILE ... --out panel.csv`.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::data::baci::{self, BaciOptions, Countries};
use tradeflow::data::comtrade::{self, ComtradeOptions};
use tradeflow::data::panel;
use tradeflow::data::settings::ImportFiles;

#[derive(Debug, clap::Subcommand)]
pub(super) enum Import {
    /// A BACI (CEPII) file: columns t,i,j,k,v,q, numeric country codes.
    Baci(BaciArgs),
    /// A UN Comtrade+ CSV (data API or bulk download).
    Comtrade(ComtradeArgs),
}

/// What both importers take.
#[derive(Debug, clap::Args)]
pub(super) struct Common {
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
pub(super) struct BaciArgs {
    /// The BACI file (BACI_HS17_Y2022_V202401.csv).
    file: PathBuf,
    /// BACI's country table (country_codes_V202401.csv).
    #[arg(long)]
    countries: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub(super) struct ComtradeArgs {
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

pub(super) fn run(a: Import) -> Result<()> {
    match a {
        Import::Baci(a) => import_baci(a),
        Import::Comtrade(a) => import_comtrade(a),
    }
}

impl Common {
    fn files(&self) -> ImportFiles {
        ImportFiles {
            economies: self.economies.clone(),
            products: self.products.clone(),
            default_group: self.default_group.clone(),
            hs: self.hs.clone(),
            years: self.years.clone(),
            unit: self.unit.clone(),
            rates: self.rates.clone(),
        }
    }

    /// Refuses an output that is one of the inputs, or a file tradeflow did not write.
    fn check_out(&self, more: &[&std::path::Path]) -> Result<()> {
        let inputs = self.files().inputs();
        let mut refs: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
        refs.extend(more);
        panel::check_output_of(&self.out, &refs)?;
        Ok(())
    }

    fn finish(
        &self,
        rows: &[tradeflow::data::PanelRow],
        summary: &tradeflow::data::ImportSummary,
        command: &str,
    ) -> Result<()> {
        panel::write_panel(&self.out, rows, command)?;
        if !self.quiet {
            super::super::print_stdout(&format!(
                "{}wrote {}\n",
                summary.describe(),
                self.out.display()
            ))?;
        }
        Ok(())
    }
}

fn import_baci(a: BaciArgs) -> Result<()> {
    let c = &a.common;
    c.check_out(&[&a.file, &a.countries])?;
    let l = c.files().load()?;
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
    c.finish(&rows, &summary, "tradeflow data import baci")
}

fn import_comtrade(a: ComtradeArgs) -> Result<()> {
    let c = &a.common;
    c.check_out(&[&a.file])?;
    let l = c.files().load()?;
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
    c.finish(&rows, &summary, "tradeflow data import comtrade")
}
