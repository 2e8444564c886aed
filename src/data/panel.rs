//! The panel: one tidy CSV of observed trade figures, one row per reported figure.
//!
//! Columns (documented for users in `scenarios/data/README.md`): `year, exporter, importer,
//! reporter, flow, product, value, unit, source, kind, note`. The exporter and importer are
//! the link (goods go from exporter to importer); the reporter is who recorded the figure
//! (the exporter's customs, the importer's customs, or `BACI` for CEPII's reconciled
//! figure), and the flow is as the reporter reports it. Both reporters of one link may
//! appear: that is the point. Two rows with the same (year, exporter, importer, reporter,
//! flow, product) and different values are a conflict, an error naming both lines.
//!
//! Reading streams rows ([`PanelReader`]) from a file opened by type and size checks
//! ([`super::source`]); validation turns each raw row (strings, as written) into a typed
//! [`PanelRow`] once, with the line and column of any bad field. Writing ([`write_panel`])
//! goes to a temporary file in the target's folder, renamed over the target at the end; a
//! target that exists and was not written by tradeflow (its first line is not the
//! [`MARKER`] comment) is refused before any work.
//!
//! Values are converted between units and currencies through a [`Rates`] table (`year,
//! currency, per_usd, source`); a currency without a rate for the year is a located error.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::source::{self, MAX_TABLE_BYTES};
use super::{DataError, Location};

/// The first line of every panel tradeflow writes: a comment (CSV readers skip it with
/// `comment = '#'`) that marks the file as tradeflow's, so that it may be replaced.
pub const MARKER: &str = "# tradeflow panel";

/// The first line of every world `tradeflow data build` writes ([`super::world_file`]).
pub const WORLD_MARKER: &str = "# tradeflow world";

/// The columns of a panel, in the order they are written.
pub const COLUMNS: [&str; 11] = [
    "year", "exporter", "importer", "reporter", "flow", "product", "value", "unit", "source",
    "kind", "note",
];

/// The product of a row that covers all goods.
pub const TOTAL: &str = "total";

/// The reporter of a figure reconciled by CEPII in BACI.
pub const BACI_REPORTER: &str = "BACI";

/// The partner code of a total: a row with exporter `WLD` is an economy's imports from the
/// whole world, one with importer `WLD` its exports to the whole world (`WLD -> WLD`: world
/// trade). Totals are figures of their own, not cells of a link: a world builder leaves
/// them out and says how many (they are targets and checks, not inputs).
pub const WORLD_CODE: &str = "WLD";

/// A flow as the reporter reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// The exporter's exports to the importer (or BACI's reconciled figure for the link).
    Export,
    /// The importer's imports from the exporter.
    Import,
    /// Re-exports: the exporter (the reporter) sends on goods it imported.
    ReExport,
    /// Re-imports: the importer (the reporter) takes back its own goods.
    ReImport,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Export => "export",
            Flow::Import => "import",
            Flow::ReExport => "re-export",
            Flow::ReImport => "re-import",
        }
    }
}

impl FromStr for Flow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "export" => Ok(Flow::Export),
            "import" => Ok(Flow::Import),
            "re-export" => Ok(Flow::ReExport),
            "re-import" => Ok(Flow::ReImport),
            _ => Err(format!(
                "flow `{s}` is not one of export, import, re-export, re-import"
            )),
        }
    }
}

/// How a figure came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// As a statistical office (or BACI) published it, possibly summed over codes.
    Reported,
    /// Computed from reported figures (a difference, a share of a total).
    Derived,
    /// From a model or a study's estimate.
    Estimated,
    /// Filled in for a missing figure (by a gravity model, with its standard error).
    Imputed,
    /// Set by the analyst.
    Assumption,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reported => "reported",
            Kind::Derived => "derived",
            Kind::Estimated => "estimated",
            Kind::Imputed => "imputed",
            Kind::Assumption => "assumption",
        }
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reported" => Ok(Kind::Reported),
            "derived" => Ok(Kind::Derived),
            "estimated" => Ok(Kind::Estimated),
            "imputed" => Ok(Kind::Imputed),
            "assumption" => Ok(Kind::Assumption),
            _ => Err(format!(
                "kind `{s}` is not one of reported, derived, estimated, imputed, assumption"
            )),
        }
    }
}

/// A unit of value: a currency (ISO 4217, `USD`, `EUR`) and a scale (`USD bn` is 1e9 USD).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub currency: String,
    /// How many currency units one unit is: 1, 1e3, 1e6 or 1e9.
    pub scale: f64,
}

impl Unit {
    pub fn usd(scale: f64) -> Unit {
        Unit {
            currency: "USD".into(),
            scale,
        }
    }

    /// The scale word written after the currency.
    fn scale_word(scale: f64) -> Option<&'static str> {
        [(1.0, ""), (1e3, "thousand"), (1e6, "million"), (1e9, "bn")]
            .into_iter()
            .find(|(s, _)| *s == scale)
            .map(|(_, w)| w)
    }
}

impl FromStr for Unit {
    type Err = String;
    /// `USD`, `USD thousand`, `USD million`, `USD bn` (and `k`, `th`, `mn`, `m`, `billion`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut words = s.split_whitespace();
        let currency = words.next().unwrap_or("");
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "unit `{s}` does not start with a currency code such as USD or EUR"
            ));
        }
        let scale = match words.next() {
            None => 1.0,
            Some("thousand" | "th" | "k") => 1e3,
            Some("million" | "mn" | "m") => 1e6,
            Some("bn" | "billion") => 1e9,
            Some(w) => {
                return Err(format!(
                    "unit `{s}`: scale `{w}` is not one of thousand, million, bn"
                ))
            }
        };
        if let Some(w) = words.next() {
            return Err(format!("unit `{s}`: unexpected `{w}`"));
        }
        Ok(Unit {
            currency: currency.to_owned(),
            scale,
        })
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Unit::scale_word(self.scale) {
            Some("") => write!(f, "{}", self.currency),
            Some(w) => write!(f, "{} {w}", self.currency),
            None => write!(f, "{} x{}", self.currency, self.scale),
        }
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One reported figure, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelRow {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub reporter: String,
    pub flow: Flow,
    /// A product group, or [`TOTAL`].
    pub product: String,
    /// At least zero, finite.
    pub value: f64,
    pub unit: Unit,
    pub source: String,
    pub kind: Kind,
    pub note: String,
}

impl PanelRow {
    /// The identity two rows may not share with different values.
    pub fn key(&self) -> PanelKey {
        PanelKey {
            year: self.year,
            exporter: self.exporter.clone(),
            importer: self.importer.clone(),
            reporter: self.reporter.clone(),
            flow: self.flow,
            product: self.product.clone(),
        }
    }

    /// Whether the reporter is the exporter of the link reporting its exports (the
    /// "exporter's record"), or the importer reporting its imports (the "importer's record").
    pub fn is_exporter_record(&self) -> bool {
        self.reporter == self.exporter && self.flow == Flow::Export
    }
    pub fn is_importer_record(&self) -> bool {
        self.reporter == self.importer && self.flow == Flow::Import
    }
}

/// (year, exporter, importer, reporter, flow, product).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PanelKey {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub reporter: String,
    pub flow: Flow,
    pub product: String,
}

impl fmt::Display for PanelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}->{} {} reported by {} ({})",
            self.year,
            self.exporter,
            self.importer,
            self.flow.as_str(),
            self.reporter,
            self.product
        )
    }
}

/// A panel row as written: every field a string, before validation.
#[derive(Debug, Deserialize)]
struct RawRow {
    year: String,
    exporter: String,
    importer: String,
    reporter: String,
    flow: String,
    product: String,
    value: String,
    unit: String,
    source: String,
    kind: String,
    #[serde(default)]
    note: String,
}

/// Streams the rows of a panel file, each validated, with its line.
pub struct PanelReader {
    path: PathBuf,
    rdr: csv::Reader<source::Capped<std::io::BufReader<std::fs::File>>>,
    header: csv::StringRecord,
    cols: Vec<usize>,
    rec: csv::StringRecord,
}

impl PanelReader {
    /// Opens a panel (a regular file of at most 4 GiB) and checks its header: every column of
    /// [`COLUMNS`] (`note` may be missing), in any order; other columns are an error.
    pub fn open(path: &Path) -> Result<PanelReader, DataError> {
        let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a panel")?;
        let names = source::header(&mut rdr, path)?;
        for n in &names {
            if !COLUMNS.contains(&n.as_str()) {
                return Err(DataError::File {
                    path: path.to_owned(),
                    message: format!(
                        "line 1: unknown column `{n}` (a panel has the columns {})",
                        COLUMNS.join(", ")
                    ),
                });
            }
        }
        let cols = source::columns(
            &names,
            &COLUMNS[..10],
            path,
            " (a panel has the columns year, exporter, importer, reporter, flow, product, value, unit, source, kind, note)",
        )?;
        let header = csv::StringRecord::from(names);
        Ok(PanelReader {
            path: path.to_owned(),
            rdr,
            header,
            cols,
            rec: csv::StringRecord::new(),
        })
    }

    fn validate(&self, line: u64) -> Result<PanelRow, DataError> {
        let at = |name: &str| {
            let i = COLUMNS.iter().position(|c| *c == name).unwrap_or(0);
            Location::field(
                &self.path,
                line,
                self.cols.get(i).map_or(0, |c| c + 1),
                name,
            )
        };
        if self.rec.len() != self.header.len() {
            return Err(DataError::at(
                Location::line(&self.path, line),
                format!(
                    "{} fields where the header has {}",
                    self.rec.len(),
                    self.header.len()
                ),
            ));
        }
        let raw: RawRow = self
            .rec
            .deserialize(Some(&self.header))
            .map_err(|e| DataError::at(Location::line(&self.path, line), e.to_string()))?;
        let code = |s: &str, name: &str| -> Result<String, DataError> {
            let s = s.trim();
            if s.is_empty() {
                return Err(DataError::at(at(name), format!("empty `{name}`")));
            }
            Ok(s.to_owned())
        };
        let year: i32 =
            raw.year.trim().parse().map_err(|_| {
                DataError::at(at("year"), format!("year `{}` is not a year", raw.year))
            })?;
        let value: f64 = raw.value.trim().parse().map_err(|_| {
            DataError::at(
                at("value"),
                format!("value `{}` is not a number", raw.value),
            )
        })?;
        if !value.is_finite() || value < 0.0 {
            return Err(DataError::at(
                at("value"),
                format!(
                    "value {} is negative or not finite (a trade figure is at least 0)",
                    raw.value.trim()
                ),
            ));
        }
        Ok(PanelRow {
            year,
            exporter: code(&raw.exporter, "exporter")?,
            importer: code(&raw.importer, "importer")?,
            reporter: code(&raw.reporter, "reporter")?,
            flow: raw
                .flow
                .trim()
                .parse()
                .map_err(|m: String| DataError::at(at("flow"), m))?,
            product: code(&raw.product, "product")?,
            value,
            unit: raw
                .unit
                .trim()
                .parse()
                .map_err(|m: String| DataError::at(at("unit"), m))?,
            source: code(&raw.source, "source")?,
            kind: raw
                .kind
                .trim()
                .parse()
                .map_err(|m: String| DataError::at(at("kind"), m))?,
            note: raw.note.trim().to_owned(),
        })
    }

    /// The path being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The location of a column on a line, for callers' messages.
    pub fn location(&self, line: u64, column: &str) -> Location {
        let i = COLUMNS.iter().position(|c| *c == column).unwrap_or(0);
        Location::field(
            &self.path,
            line,
            self.cols.get(i).map_or(0, |c| c + 1),
            column,
        )
    }
}

impl Iterator for PanelReader {
    type Item = Result<(u64, PanelRow), DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.rdr.read_record(&mut self.rec) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.rec.position().map_or(0, |p| p.line());
                Some(self.validate(line).map(|r| (line, r)))
            }
            Err(e) => Some(Err(source::csv_error(&self.path, e))),
        }
    }
}

/// Two rows for the same key with different values.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub key: PanelKey,
    pub first_line: u64,
    pub first_value: String,
    pub second_line: u64,
    pub second_value: String,
}

/// Remembers each key's first line and value; memory grows with the number of distinct
/// keys (cells), not with the file.
#[derive(Debug, Default)]
pub struct ConflictCheck {
    seen: HashMap<PanelKey, (u64, f64, Unit)>,
}

impl ConflictCheck {
    /// Records `row` at `line`: a conflict if an earlier row has its key and another value.
    /// The same figure twice (same value and unit, a duplicate) is not a conflict.
    pub fn add(&mut self, row: &PanelRow, line: u64) -> Result<(), Box<Conflict>> {
        match self.seen.entry(row.key()) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((line, row.value, row.unit.clone()));
                Ok(())
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                let (first_line, v, u) = o.get();
                let same = if u.currency == row.unit.currency {
                    let a = v * u.scale;
                    let b = row.value * row.unit.scale;
                    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
                } else {
                    false
                };
                if same {
                    return Ok(());
                }
                Err(Box::new(Conflict {
                    key: o.key().clone(),
                    first_line: *first_line,
                    first_value: format!("{v} {u}"),
                    second_line: line,
                    second_value: format!("{} {}", row.value, row.unit),
                }))
            }
        }
    }
}

/// A panel held in memory, rows in file order with their lines, checked for conflicts.
#[derive(Debug, Clone)]
pub struct Panel {
    pub path: PathBuf,
    pub rows: Vec<(u64, PanelRow)>,
    /// The 1-based column of `unit` in the file, for messages.
    pub unit_column: usize,
}

/// Which figure a builder takes for a cell, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preference {
    /// The exporter's own export record.
    ExporterRecord,
    /// The importer's own import record.
    ImporterRecord,
    /// A named reporter's figure (`BACI`), with flow `export` or `import`.
    Reporter(String),
}

/// A reporter precedence for selecting one observed figure per link: the rules in order, and
/// exporters whose own export record comes first whatever the rules say (hubs, whose import
/// partners record transit as their own imports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precedence {
    pub rules: Vec<Preference>,
    pub exporter_first: Vec<String>,
}

impl Default for Precedence {
    /// The importer's record, then the exporter's, then BACI (importers' customs value
    /// goods on arrival and follow origin rules; see the README).
    fn default() -> Self {
        Precedence {
            rules: vec![
                Preference::ImporterRecord,
                Preference::ExporterRecord,
                Preference::Reporter(BACI_REPORTER.into()),
            ],
            exporter_first: Vec::new(),
        }
    }
}

impl FromStr for Preference {
    type Err = String;
    /// `importer` (the importer's record), `exporter` (the exporter's record), or a
    /// reporter's name (`BACI`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" => Err(
                "an empty reporter rule (give importer, exporter or a reporter such as BACI)"
                    .into(),
            ),
            "importer" => Ok(Preference::ImporterRecord),
            "exporter" => Ok(Preference::ExporterRecord),
            name => Ok(Preference::Reporter(name.to_owned())),
        }
    }
}

impl fmt::Display for Preference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preference::ExporterRecord => f.write_str("the exporter's export record"),
            Preference::ImporterRecord => f.write_str("the importer's import record"),
            Preference::Reporter(r) => write!(f, "{r}'s figure"),
        }
    }
}

impl fmt::Display for Precedence {
    /// `the importer's import record, then the exporter's export record, then BACI's
    /// figure; the exporter's export record first for flows out of HKG, ARE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<String> = self.rules.iter().map(|r| r.to_string()).collect();
        f.write_str(&rules.join(", then "))?;
        if !self.exporter_first.is_empty() {
            write!(
                f,
                "; the exporter's export record first for flows out of {}",
                self.exporter_first.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One observed cell chosen by a [`Precedence`]: the row and its line in the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected<'a> {
    pub line: u64,
    pub row: &'a PanelRow,
    /// Which rule chose it (its position in the rules, or `None` for `exporter_first`).
    pub rule: Option<usize>,
}

impl Panel {
    /// Reads a whole panel, checking every row and refusing conflicts (an error naming both
    /// lines). The rows are held in memory: a panel is the aggregated cells of a model's
    /// economies, not a raw customs file.
    pub fn read(path: &Path) -> Result<Panel, DataError> {
        let mut check = ConflictCheck::default();
        let mut rows = Vec::new();
        let reader = PanelReader::open(path)?;
        let unit_column = reader.location(1, "unit").column.map_or(0, |c| c.0);
        for r in reader {
            let (line, row) = r?;
            check
                .add(&row, line)
                .map_err(|c| conflict_error(path, *c))?;
            rows.push((line, row));
        }
        Ok(Panel {
            path: path.to_owned(),
            rows,
            unit_column,
        })
    }

    /// The years present, sorted.
    pub fn years(&self) -> Vec<i32> {
        let mut y: Vec<i32> = self.rows.iter().map(|(_, r)| r.year).collect();
        y.sort_unstable();
        y.dedup();
        y
    }

    /// For `year` and `product`, one figure per (exporter, importer) link with any figure
    /// that `precedence` accepts, sorted by exporter then importer. Re-export and re-import
    /// rows are never chosen (they are not the link's trade).
    pub fn select(&self, year: i32, product: &str, precedence: &Precedence) -> Vec<Selected<'_>> {
        let mut links: std::collections::BTreeMap<(&str, &str), Vec<(u64, &PanelRow)>> =
            Default::default();
        for (line, r) in &self.rows {
            if r.year == year && r.product == product {
                links
                    .entry((r.exporter.as_str(), r.importer.as_str()))
                    .or_default()
                    .push((*line, r));
            }
        }
        let mut out = Vec::new();
        for ((exporter, _), rows) in links {
            let pick = |p: &Preference| {
                rows.iter().find(|(_, r)| match p {
                    Preference::ExporterRecord => r.is_exporter_record(),
                    Preference::ImporterRecord => r.is_importer_record(),
                    Preference::Reporter(name) => {
                        &r.reporter == name && matches!(r.flow, Flow::Export | Flow::Import)
                    }
                })
            };
            if precedence.exporter_first.iter().any(|e| e == exporter) {
                if let Some((line, row)) = pick(&Preference::ExporterRecord) {
                    out.push(Selected {
                        line: *line,
                        row,
                        rule: None,
                    });
                    continue;
                }
            }
            if let Some((k, (line, row))) = precedence
                .rules
                .iter()
                .enumerate()
                .find_map(|(k, p)| pick(p).map(|x| (k, x)))
            {
                out.push(Selected {
                    line: *line,
                    row,
                    rule: Some(k),
                });
            }
        }
        out
    }
}

/// A conflict as an error of `path`.
pub(crate) fn conflict_error(path: &Path, c: Conflict) -> DataError {
    DataError::Conflict {
        key: c.key.to_string(),
        first_line: c.first_line,
        first_value: c.first_value,
        second: Box::new(Location::line(path, c.second_line)),
        second_value: c.second_value,
    }
}

/// Exchange rates: units of a currency per US dollar, by year, each with its source.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    pub path: Option<PathBuf>,
    /// (year, currency) -> (per_usd, source).
    rates: HashMap<(i32, String), (f64, String)>,
}

impl Rates {
    /// No rates: only USD figures (and other scales of the same currency) convert.
    pub fn none() -> Rates {
        Rates::default()
    }

    /// Reads a rates table (`year, currency, per_usd, source`): per_usd is how many units of
    /// the currency one US dollar buys (an annual average, as the source states it); a
    /// currency listed twice for a year is an error naming both lines.
    pub fn read(path: &Path) -> Result<Rates, DataError> {
        let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a rates table")?;
        let header = source::header(&mut rdr, path)?;
        let cols = source::columns(
            &header,
            &["year", "currency", "per_usd", "source"],
            path,
            "",
        )?;
        let mut rates = HashMap::new();
        let mut lines: HashMap<(i32, String), u64> = HashMap::new();
        let mut rec = csv::ByteRecord::new();
        while rdr
            .read_byte_record(&mut rec)
            .map_err(|e| source::csv_error(path, e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            let f = |k: usize| {
                source::text(
                    &rec,
                    cols[k],
                    path,
                    line,
                    ["year", "currency", "per_usd", "source"][k],
                )
            };
            let at = |k: usize| {
                Location::field(
                    path,
                    line,
                    cols[k] + 1,
                    ["year", "currency", "per_usd", "source"][k],
                )
            };
            let year: i32 = f(0)?
                .parse()
                .map_err(|_| DataError::at(at(0), "not a year"))?;
            let currency = f(1)?.to_owned();
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(DataError::at(
                    at(1),
                    format!("currency `{currency}` is not a three-letter code such as EUR"),
                ));
            }
            let per_usd: f64 = f(2)?
                .parse()
                .map_err(|_| DataError::at(at(2), "not a number"))?;
            if !(per_usd.is_finite() && per_usd > 0.0) {
                return Err(DataError::at(at(2), "a rate must be positive"));
            }
            let src = f(3)?.to_owned();
            if src.is_empty() {
                return Err(DataError::at(at(3), "every rate needs its source"));
            }
            if let Some(first) = lines.insert((year, currency.clone()), line) {
                return Err(DataError::at(
                    Location::line(path, line),
                    format!("{currency} in {year} is also given at line {first}"),
                ));
            }
            rates.insert((year, currency), (per_usd, src));
        }
        Ok(Rates {
            path: Some(path.to_owned()),
            rates,
        })
    }

    /// Units of `currency` per USD in `year`, with its source (`USD` is 1).
    pub fn per_usd(&self, year: i32, currency: &str) -> Option<(f64, &str)> {
        if currency == "USD" {
            return Some((1.0, "identity"));
        }
        self.rates
            .get(&(year, currency.to_owned()))
            .map(|(r, s)| (*r, s.as_str()))
    }

    /// `value` in `from` as a value in `to`, for a figure of `year`; `Err` names the
    /// currency without a rate.
    ///
    /// `v_to = v_from * scale_from / per_usd(from) * per_usd(to) / scale_to`.
    pub fn convert(&self, value: f64, from: &Unit, to: &Unit, year: i32) -> Result<f64, RateError> {
        if from.currency == to.currency {
            return Ok(value * from.scale / to.scale);
        }
        let missing = |c: &str| RateError::Missing {
            currency: c.to_owned(),
            year,
            table: self.path.clone(),
        };
        let (rf, _) = self
            .per_usd(year, &from.currency)
            .ok_or_else(|| missing(&from.currency))?;
        let (rt, _) = self
            .per_usd(year, &to.currency)
            .ok_or_else(|| missing(&to.currency))?;
        Ok(value * from.scale / rf * rt / to.scale)
    }
}

/// Why a value cannot be converted between currencies ([`Rates::convert`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RateError {
    /// The rates table (`table`, or none given) has no rate for `currency` in `year`.
    #[error("no exchange rate for {currency} in {year}{}", match table {
        Some(p) => format!(" in {}", p.display()),
        None => " (give a rates table with --rates: year, currency, per_usd, source)".into(),
    })]
    Missing {
        currency: String,
        year: i32,
        table: Option<PathBuf>,
    },
}

impl Panel {
    /// Converts every row to `to` through `rates`, in place; a row whose currency has no
    /// rate for its year is an error at its `unit` column, and nothing is changed.
    pub fn convert(&mut self, to: &Unit, rates: &Rates) -> Result<(), DataError> {
        let mut values = Vec::with_capacity(self.rows.len());
        for (line, r) in &self.rows {
            values.push(rates.convert(r.value, &r.unit, to, r.year).map_err(|m| {
                DataError::at(
                    Location::field(&self.path, *line, self.unit_column, "unit"),
                    m.to_string(),
                )
            })?);
        }
        for ((_, r), v) in self.rows.iter_mut().zip(values) {
            r.value = v;
            r.unit = to.clone();
        }
        Ok(())
    }
}

/// Refuses `out` if it is one of `inputs` (the same file by another name included), then
/// checks it as [`check_output`] does. Call before any work.
pub fn check_output_of(out: &Path, inputs: &[&Path]) -> Result<(), DataError> {
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(o) = canon(out) {
        if inputs.iter().any(|i| canon(i).as_ref() == Some(&o)) {
            return Err(DataError::Refused {
                path: out.to_owned(),
                reason: "it is an input of this command".into(),
            });
        }
    }
    check_output(out)
}

/// Refuses `path` as an output unless it does not exist or is a regular file whose first line
/// is the [`MARKER`] or the [`WORLD_MARKER`] (a panel or a world tradeflow wrote). Call before
/// any work.
pub fn check_output(path: &Path) -> Result<(), DataError> {
    let refused = |reason: String| DataError::Refused {
        path: path.to_owned(),
        reason,
    };
    let Some(name) = path.file_name() else {
        return Err(refused("the path names no file".into()));
    };
    if name.to_string_lossy().starts_with('.') && name.to_string_lossy().contains(".tradeflow-tmp-")
    {
        return Err(refused(
            "the name is one of tradeflow's temporary files".into(),
        ));
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(refused(e.to_string())),
        Ok(m) if m.file_type().is_symlink() => Err(refused("it is a symbolic link".into())),
        Ok(m) if !m.is_file() => Err(refused("it exists and is not a regular file".into())),
        Ok(_) => {
            use std::io::Read;
            let mut first = Vec::with_capacity(MARKER.len());
            let ok = std::fs::File::open(path)
                .and_then(|f| f.take(MARKER.len() as u64).read_to_end(&mut first))
                .is_ok()
                && (first == MARKER.as_bytes() || first.starts_with(WORLD_MARKER.as_bytes()));
            if ok {
                Ok(())
            } else {
                Err(refused(format!(
                    "it exists and was not written by tradeflow (its first line is not `{MARKER} ...`); remove it or choose another name"
                )))
            }
        }
    }
}

/// Writes `rows` as a panel to `path`, all or nothing: to a temporary file in the same
/// folder, renamed over `path` once complete. `command` goes into the marker line.
/// The target is checked again ([`check_output`]) just before the rename.
pub fn write_panel<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a PanelRow>,
    command: &str,
) -> Result<(), DataError> {
    let first = format!(
        "{MARKER} (format 1), written by tradeflow {} `{command}`; columns: scenarios/data/README.md",
        env!("CARGO_PKG_VERSION")
    );
    write_marked(path, &first, |w| {
        for r in rows {
            if !r.value.is_finite() {
                return Err(DataError::Write {
                    path: path.to_owned(),
                    cause: std::io::Error::other(format!("{} is not finite", r.key())),
                });
            }
            w.serialize(r).map_err(|e| DataError::Write {
                path: path.to_owned(),
                cause: std::io::Error::other(e.to_string()),
            })?;
        }
        Ok(())
    })
}

/// The CSV writer [`write_marked`] hands to its caller.
pub(crate) type MarkedWriter = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// Writes a CSV file tradeflow owns, all or nothing: `first_line` (which must start with
/// [`MARKER`] or [`WORLD_MARKER`]), then what `body` writes, to a temporary file in the same
/// folder renamed over `path` once complete. The target is checked ([`check_output`]) before
/// any work and again just before the rename; on any error the temporary file is removed.
pub(crate) fn write_marked(
    path: &Path,
    first_line: &str,
    body: impl FnOnce(&mut MarkedWriter) -> Result<(), DataError>,
) -> Result<(), DataError> {
    check_output(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tradeflow-tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let werr = |cause| DataError::Write {
        path: path.to_owned(),
        cause,
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(werr)?;
    let result = (|| -> Result<(), DataError> {
        let mut buf = std::io::BufWriter::with_capacity(1 << 20, file);
        writeln!(buf, "{first_line}").map_err(werr)?;
        let mut w = csv::Writer::from_writer(buf);
        body(&mut w)?;
        let buf = w.into_inner().map_err(|e| werr(e.into_error()))?;
        let file = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        check_output(path)?;
        std::fs::rename(&tmp, path).map_err(werr)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reporter: &str, flow: Flow, value: f64) -> PanelRow {
        PanelRow {
            year: 2021,
            exporter: "CHN".into(),
            importer: "KGZ".into(),
            reporter: reporter.into(),
            flow,
            product: TOTAL.into(),
            value,
            unit: Unit::usd(1e9),
            source: "test".into(),
            kind: Kind::Reported,
            note: String::new(),
        }
    }

    #[test]
    fn units_parse_and_print() {
        for s in ["USD", "USD thousand", "USD million", "USD bn", "EUR bn"] {
            assert_eq!(s.parse::<Unit>().unwrap().to_string(), s);
        }
        assert_eq!("USD k".parse::<Unit>().unwrap().scale, 1e3);
        assert!("usd".parse::<Unit>().is_err());
        assert!("USD lots".parse::<Unit>().is_err());
    }

    #[test]
    fn both_reporters_of_a_link_are_not_a_conflict_but_two_values_of_one_are() {
        let mut c = ConflictCheck::default();
        c.add(&row("CHN", Flow::Export, 15.0), 2).unwrap();
        c.add(&row("KGZ", Flow::Import, 3.7), 3).unwrap();
        // The same figure in another scale is a duplicate, not a conflict.
        let mut same = row("CHN", Flow::Export, 15_000.0);
        same.unit = Unit::usd(1e6);
        c.add(&same, 4).unwrap();
        let e = c.add(&row("CHN", Flow::Export, 16.0), 5).unwrap_err();
        assert_eq!((e.first_line, e.second_line), (2, 5));
    }

    #[test]
    fn conversion_goes_through_the_dollar() {
        let mut r = Rates::none();
        r.rates.insert((2021, "EUR".into()), (0.845, "ECB".into()));
        let eur: Unit = "EUR bn".parse().unwrap();
        let usd: Unit = "USD million".parse().unwrap();
        let v = r.convert(0.845, &eur, &usd, 2021).unwrap();
        assert!((v - 1000.0).abs() < 1e-9, "{v}");
        let e = r.convert(1.0, &eur, &usd, 2020).unwrap_err();
        assert!(
            matches!(&e, RateError::Missing { currency, year: 2020, table: None } if currency == "EUR"),
            "{e:?}"
        );
        assert!(e.to_string().contains("EUR in 2020"), "{e}");
    }

    #[test]
    fn precedence_picks_the_first_rule_that_has_a_figure() {
        let panel = Panel {
            path: "p.csv".into(),
            unit_column: 8,
            rows: vec![
                (2, row("CHN", Flow::Export, 15.0)),
                (3, row("KGZ", Flow::Import, 3.7)),
                (4, row("KGZ", Flow::ReExport, 1.0)),
            ],
        };
        let s = panel.select(2021, TOTAL, &Precedence::default());
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].line, s[0].rule), (3, Some(0)));
        let hub_first = Precedence {
            exporter_first: vec!["CHN".into()],
            ..Precedence::default()
        };
        assert_eq!(panel.select(2021, TOTAL, &hub_first)[0].line, 2);
    }
}
