//! `tradeflow data report PANEL`: reporters, mirror ratios, re-exports, conflicts and
//! coverage, and the chart of mirror gaps into one economy.

use std::path::PathBuf;

use anyhow::Result;
use tradeflow::data::report::{self, ReportOptions};
use tradeflow::data::report_chart::MirrorGaps;
use tradeflow::data::settings::{parse_unit, read_rates};
use tradeflow::output::{Claim, Part, Results};

#[derive(Debug, clap::Args)]
pub(super) struct ReportArgs {
    /// The panel (CSV: year,exporter,importer,reporter,flow,product,value,unit,source,kind,note).
    panel: PathBuf,
    /// Draw the mirror gaps of the links into this economy (charts/mirror_gaps_into_<T>).
    #[arg(long)]
    into: Option<String>,
    /// The year of the chart [default: the year in which the most links into --into have both records]
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

pub(super) fn run(a: ReportArgs) -> Result<()> {
    let mut inputs = vec![a.panel.clone()];
    inputs.extend(a.rates.clone());
    let subfolders: &[&str] = if a.into.is_some() {
        &[tradeflow::plot::CHARTS_DIR]
    } else {
        &[]
    };
    let mut claim = Claim::new(&a.out, "tradeflow data report", &inputs, subfolders)?;
    let opt = ReportOptions {
        unit: parse_unit(a.unit.as_deref(), "--unit")?,
        rates: read_rates(a.rates.as_deref())?,
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
        super::super::print_stdout(&format!(
            "{}\nwrote {} (report.csv, coverage.csv)\n{chart_note}",
            rep.table(a.top),
            a.out.display()
        ))?;
    }
    Ok(())
}
