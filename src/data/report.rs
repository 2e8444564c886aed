//! `tradeflow data report`: what a panel holds, per link and year.
//!
//! For each (year, exporter, importer, product): which reporters cover it, the exporter's
//! record (its declared exports), the importer's record (its declared imports), the mirror
//! ratio `exporter's record / importer's record` (1 when the two customs agree; below 1 when
//! the importer records more, as for goods that transit the exporter or are valued CIF on
//! arrival), the re-exports the exporter records to the importer, other reporters' figures
//! (BACI) and conflicts. Coverage, per year and product: of the links between the panel's
//! economies (`n (n - 1)` ordered foreign pairs), how many have a figure, both records, one
//! of them, or another reporter's only.
//!
//! Reading is lenient about conflicts (the report lists them rather than stopping); every
//! other problem is an error at its line and column. Values are converted to one unit (the
//! first row's, or the one asked for) through the rates table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::panel::{Conflict, ConflictCheck, Flow, PanelReader, PanelRow, Rates, Unit};
use super::DataError;

/// How to report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The unit of every value in the report [default: the first row's].
    pub unit: Option<Unit>,
    pub rates: Rates,
}

/// One link in one year for one product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkRow {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub product: String,
    /// The reporters with any figure for the link, `;`-separated, sorted.
    pub reporters: String,
    pub exporter_record: Option<f64>,
    pub importer_record: Option<f64>,
    /// `exporter_record / importer_record`, where both are present and the importer's is
    /// above zero.
    pub mirror_ratio: Option<f64>,
    /// Re-exports recorded by the exporter to the importer.
    pub reexports: Option<f64>,
    /// Re-imports recorded by the importer from the exporter.
    pub reimports: Option<f64>,
    /// Other reporters' figures, `BACI=12.3;...`.
    pub other: String,
    /// Conflicting lines, `line 12 vs line 40;...`.
    pub conflicts: String,
    pub unit: String,
}

/// Coverage of one year and product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    pub year: i32,
    pub product: String,
    /// Economies that appear as exporter or importer.
    pub economies: usize,
    /// Ordered foreign pairs among them: `n (n - 1)`.
    pub links: usize,
    /// Links with any figure.
    pub covered: usize,
    pub both_records: usize,
    pub exporter_record_only: usize,
    pub importer_record_only: usize,
    /// Links with neither customs record, only another reporter's (BACI).
    pub other_only: usize,
    /// `covered / links`, in percent.
    pub coverage_pct: f64,
}

/// A panel's report.
#[derive(Debug, Clone)]
pub struct DataReport {
    pub path: PathBuf,
    pub unit: Unit,
    pub links: Vec<LinkRow>,
    pub coverage: Vec<CoverageRow>,
    pub conflicts: Vec<Conflict>,
    /// Rows read.
    pub rows: usize,
}

#[derive(Default)]
struct LinkAcc {
    reporters: std::collections::BTreeSet<String>,
    exporter: Option<f64>,
    importer: Option<f64>,
    reexports: Option<f64>,
    reimports: Option<f64>,
    other: BTreeMap<String, f64>,
    conflicts: Vec<String>,
}

/// Reads the panel at `path` and reports on it.
pub fn report(path: &Path, opt: &ReportOptions) -> Result<DataReport, DataError> {
    let reader = PanelReader::open(path)?;
    let unit_col = reader.location(1, "unit");
    let mut check = ConflictCheck::default();
    let mut conflicts = Vec::new();
    let mut unit: Option<Unit> = opt.unit.clone();
    let mut links: Links = BTreeMap::new();
    let mut rows = 0;
    for r in reader {
        let (line, row) = r?;
        rows += 1;
        let to = unit.get_or_insert_with(|| row.unit.clone()).clone();
        let value = opt
            .rates
            .convert(row.value, &row.unit, &to, row.year)
            .map_err(|m| {
                let mut at = unit_col.clone();
                at.line = line;
                DataError::at(at, m.to_string())
            })?;
        let key = (
            row.year,
            row.exporter.clone(),
            row.importer.clone(),
            row.product.clone(),
        );
        let acc = links.entry(key).or_default();
        if let Err(c) = check.add(&row, line) {
            acc.conflicts
                .push(format!("line {} vs line {}", c.first_line, c.second_line));
            conflicts.push(*c);
            // The first figure stands; the conflict is listed.
            continue;
        }
        add(acc, &row, value);
    }
    let unit = unit.unwrap_or_else(|| Unit::usd(1e9));
    let mut out = Vec::new();
    for ((year, exporter, importer, product), a) in &links {
        out.push(LinkRow {
            year: *year,
            exporter: exporter.clone(),
            importer: importer.clone(),
            product: product.clone(),
            reporters: a.reporters.iter().cloned().collect::<Vec<_>>().join(";"),
            exporter_record: a.exporter,
            importer_record: a.importer,
            mirror_ratio: match (a.exporter, a.importer) {
                (Some(x), Some(m)) if m > 0.0 => Some(x / m),
                _ => None,
            },
            reexports: a.reexports,
            reimports: a.reimports,
            other: a
                .other
                .iter()
                .map(|(r, v)| format!("{r}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
            conflicts: a.conflicts.join(";"),
            unit: unit.to_string(),
        });
    }
    let coverage = coverage(&links);
    Ok(DataReport {
        path: path.to_owned(),
        unit,
        links: out,
        coverage,
        conflicts,
        rows,
    })
}

fn add(acc: &mut LinkAcc, row: &PanelRow, value: f64) {
    acc.reporters.insert(row.reporter.clone());
    if row.is_exporter_record() {
        acc.exporter = Some(value);
    } else if row.is_importer_record() {
        acc.importer = Some(value);
    } else if row.flow == Flow::ReExport && row.reporter == row.exporter {
        acc.reexports = Some(value);
    } else if row.flow == Flow::ReImport && row.reporter == row.importer {
        acc.reimports = Some(value);
    } else {
        *acc.other
            .entry(format!("{} {}", row.reporter, row.flow.as_str()))
            .or_default() += value;
    }
}

/// (year, exporter, importer, product) -> what the panel holds for it.
type Links = BTreeMap<(i32, String, String, String), LinkAcc>;

fn coverage(links: &Links) -> Vec<CoverageRow> {
    type Group<'a> = Vec<(&'a str, &'a str, &'a LinkAcc)>;
    let mut groups: BTreeMap<(i32, &str), Group<'_>> = BTreeMap::new();
    for ((y, e, m, p), a) in links {
        groups.entry((*y, p)).or_default().push((e, m, a));
    }
    let mut out = Vec::new();
    for ((year, product), ls) in groups {
        let mut econ: std::collections::BTreeSet<&str> = Default::default();
        for (e, m, _) in &ls {
            econ.insert(e);
            econ.insert(m);
        }
        let n = econ.len();
        let mut row = CoverageRow {
            year,
            product: product.to_owned(),
            economies: n,
            links: n * n.saturating_sub(1),
            covered: 0,
            both_records: 0,
            exporter_record_only: 0,
            importer_record_only: 0,
            other_only: 0,
            coverage_pct: 0.0,
        };
        for (e, m, a) in ls {
            if e == m {
                continue;
            }
            let any = a.exporter.is_some() || a.importer.is_some() || !a.other.is_empty();
            if !any {
                continue;
            }
            row.covered += 1;
            match (a.exporter.is_some(), a.importer.is_some()) {
                (true, true) => row.both_records += 1,
                (true, false) => row.exporter_record_only += 1,
                (false, true) => row.importer_record_only += 1,
                (false, false) => row.other_only += 1,
            }
        }
        row.coverage_pct = if row.links == 0 {
            0.0
        } else {
            100.0 * row.covered as f64 / row.links as f64
        };
        out.push(row);
    }
    out
}

impl DataReport {
    /// `report.csv` (one row per link, year and product) and `coverage.csv`.
    pub fn files(&self) -> Result<Vec<(String, Vec<u8>)>, crate::output::OutputError> {
        Ok(vec![
            (
                "report.csv".to_owned(),
                crate::output::csv_bytes(&self.links, "report.csv")?,
            ),
            (
                "coverage.csv".to_owned(),
                crate::output::csv_bytes(&self.coverage, "coverage.csv")?,
            ),
        ])
    }

    /// A short console table: coverage per year and product, the conflicts, and the links
    /// with the largest mirror gaps (at most `n`).
    pub fn table(&self, n: usize) -> String {
        let mut s = format!(
            "{}: {} rows, {} links x years x products, values in {}\n\n",
            self.path.display(),
            self.rows,
            self.links.len(),
            self.unit
        );
        s.push_str(&format!(
            "{:<6} {:<14} {:>5} {:>7} {:>8} {:>6} {:>9} {:>9} {:>7}\n",
            "year", "product", "econ", "links", "covered", "both", "exp only", "imp only", "other"
        ));
        for c in &self.coverage {
            s.push_str(&format!(
                "{:<6} {:<14} {:>5} {:>7} {:>7.0}% {:>6} {:>9} {:>9} {:>7}\n",
                c.year,
                truncate(&c.product, 14),
                c.economies,
                c.links,
                c.coverage_pct,
                c.both_records,
                c.exporter_record_only,
                c.importer_record_only,
                c.other_only
            ));
        }
        if !self.conflicts.is_empty() {
            s.push_str(&format!("\n{} conflicts:\n", self.conflicts.len()));
            for c in self.conflicts.iter().take(n) {
                s.push_str(&format!(
                    "  {}: line {} ({}) vs line {} ({})\n",
                    c.key, c.first_line, c.first_value, c.second_line, c.second_value
                ));
            }
        }
        let mut gaps: Vec<&LinkRow> = self
            .links
            .iter()
            .filter(|l| l.mirror_ratio.is_some())
            .collect();
        gaps.sort_by(|a, b| {
            let g = |l: &LinkRow| l.mirror_ratio.map_or(0.0, |r| r.ln().abs());
            g(b).total_cmp(&g(a))
        });
        if !gaps.is_empty() {
            s.push_str(&format!(
                "\nlargest mirror gaps (exporter's record / importer's record, {}):\n",
                self.unit
            ));
            s.push_str(&format!(
                "{:<6} {:<16} {:<14} {:>12} {:>12} {:>8}\n",
                "year", "link", "product", "exporter's", "importer's", "ratio"
            ));
            for l in gaps.into_iter().take(n) {
                s.push_str(&format!(
                    "{:<6} {:<16} {:<14} {:>12} {:>12} {:>8.2}\n",
                    l.year,
                    truncate(&format!("{}->{}", l.exporter, l.importer), 16),
                    truncate(&l.product, 14),
                    fmt_value(l.exporter_record),
                    fmt_value(l.importer_record),
                    l.mirror_ratio.unwrap_or(f64::NAN)
                ));
            }
        }
        s
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
    }
}
