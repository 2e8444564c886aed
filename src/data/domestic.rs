//! The source table of domestic sales for a world builder: one figure per economy and year
//! (GDP, gross output, or domestic sales themselves), each with its unit and source.
//!
//! Columns (`scenarios/data/README.md`): `year, economy, value, unit, source`, and optionally
//! `measure` (what the figure is: `GDP`, `gross output`, `domestic sales`), `kind` (as in a
//! panel: `reported`, `derived`, `estimated`, `assumption`; `reported` without it) and `note`. A
//! figure given twice for one economy and year is an error naming both lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::panel::{Rates, Unit};
use super::source::{self, MAX_TABLE_BYTES};
use super::{DataError, Location};

const REQUIRED: [&str; 5] = ["year", "economy", "value", "unit", "source"];
const OPTIONAL: [&str; 3] = ["measure", "note", "kind"];

/// How domestic sales `X_ii` come from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DomesticMethod {
    /// The figure is the economy's output (GDP or gross output):
    /// `X_ii = figure - sum_{j != i} X_ij`, its exports in the built world (observed and
    /// imputed), so that the world's `Y_i` is the figure. A negative result is an error.
    #[default]
    OutputLessExports,
    /// The figure is domestic sales themselves (a figure of another measure, GDP, taken as
    /// domestic sales makes the cell kind `assumption`). The fallback where exports exceed
    /// output: entrepots whose gross exports include re-exports (Hong Kong, the UAE).
    Given,
}

impl DomesticMethod {
    /// The names `--domestic` takes.
    pub const NAMES: [&'static str; 2] = ["output-less-exports", "given"];

    pub fn parse(s: &str) -> Option<DomesticMethod> {
        match s {
            "output-less-exports" => Some(DomesticMethod::OutputLessExports),
            "given" => Some(DomesticMethod::Given),
            _ => None,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct DomesticFigure {
    pub line: u64,
    pub year: i32,
    pub economy: String,
    pub value: f64,
    pub unit: Unit,
    /// `GDP` when the table has no `measure` column.
    pub measure: String,
    pub source: String,
    /// How the figure came about (`reported` when the table has no `kind` column).
    pub kind: super::panel::Kind,
    pub note: String,
}

/// The table, read and checked.
#[derive(Debug, Clone)]
pub struct DomesticTable {
    pub path: PathBuf,
    pub figures: Vec<DomesticFigure>,
    /// The 1-based columns of `economy`, `value` and `unit`, for messages.
    economy_column: usize,
    value_column: usize,
    unit_column: usize,
}

impl DomesticTable {
    /// Reads `path` (see the module docs); unknown columns are an error.
    pub fn read(path: &Path) -> Result<DomesticTable, DataError> {
        let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a domestic-sales table")?;
        let header = source::header(&mut rdr, path)?;
        for h in &header {
            if !REQUIRED.contains(&h.as_str()) && !OPTIONAL.contains(&h.as_str()) {
                return Err(DataError::File {
                    path: path.to_owned(),
                    message: format!(
                        "line 1: unknown column `{h}` (the table has the columns {}, and optionally {})",
                        REQUIRED.join(", "),
                        OPTIONAL.join(", ")
                    ),
                });
            }
        }
        let cols = source::columns(&header, &REQUIRED, path, "")?;
        let opt: Vec<Option<usize>> = OPTIONAL
            .iter()
            .map(|o| header.iter().position(|h| h == o))
            .collect();
        let mut figures = Vec::new();
        let mut seen: HashMap<(i32, String), u64> = HashMap::new();
        let mut rec = csv::ByteRecord::new();
        while rdr
            .read_byte_record(&mut rec)
            .map_err(|e| source::csv_error(path, e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            let at = |k: usize| Location::field(path, line, cols[k] + 1, REQUIRED[k]);
            let f = |k: usize| source::text(&rec, cols[k], path, line, REQUIRED[k]);
            let year: i32 = f(0)?
                .parse()
                .map_err(|_| DataError::at(at(0), "not a year"))?;
            let economy = f(1)?.to_owned();
            if economy.is_empty() {
                return Err(DataError::at(at(1), "empty `economy`"));
            }
            let value: f64 = f(2)?
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| DataError::at(at(2), "not a number at least 0"))?;
            let unit: Unit = f(3)?.parse().map_err(|m: String| DataError::at(at(3), m))?;
            let src = f(4)?.to_owned();
            if src.is_empty() {
                return Err(DataError::at(at(4), "every figure needs its source"));
            }
            let optional = |k: usize| -> Result<String, DataError> {
                match opt[k] {
                    Some(c) => Ok(source::text(&rec, c, path, line, OPTIONAL[k])?.to_owned()),
                    None => Ok(String::new()),
                }
            };
            let measure = match optional(0)? {
                m if m.is_empty() => "GDP".to_owned(),
                m => m,
            };
            let kind = match optional(2)? {
                k if k.is_empty() => super::panel::Kind::Reported,
                k => k.parse().map_err(|m: String| {
                    DataError::at(
                        Location::field(path, line, opt[2].map_or(0, |c| c + 1), "kind"),
                        m,
                    )
                })?,
            };
            if let Some(first) = seen.insert((year, economy.clone()), line) {
                return Err(DataError::at(
                    at(1),
                    format!("{economy} in {year} is also given at line {first}"),
                ));
            }
            figures.push(DomesticFigure {
                line,
                year,
                economy,
                value,
                unit,
                measure,
                source: src,
                kind,
                note: optional(1)?,
            });
        }
        Ok(DomesticTable {
            path: path.to_owned(),
            figures,
            economy_column: cols[1] + 1,
            value_column: cols[2] + 1,
            unit_column: cols[3] + 1,
        })
    }

    /// Each economy's figure in `year`, converted to `to`; an economy without one is an
    /// error naming the file, the year and the `economy` column (all of them at once), and a
    /// currency without a rate an error at the row's `unit`.
    pub fn figures_for(
        &self,
        codes: &[String],
        year: i32,
        to: &Unit,
        rates: &Rates,
    ) -> Result<Vec<(f64, &DomesticFigure)>, DataError> {
        let mut out = Vec::with_capacity(codes.len());
        let mut missing = Vec::new();
        for code in codes {
            match self
                .figures
                .iter()
                .find(|f| f.year == year && &f.economy == code)
            {
                Some(f) => {
                    let v = rates.convert(f.value, &f.unit, to, year).map_err(|m| {
                        DataError::at(
                            Location::field(&self.path, f.line, self.unit_column, "unit"),
                            m.to_string(),
                        )
                    })?;
                    out.push((v, f));
                }
                None => missing.push(code.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(DataError::File {
                path: self.path.clone(),
                message: format!(
                    "no domestic-sales figure in {year} for {} (column {} `economy`): every economy of the map needs one",
                    missing
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.economy_column
                ),
            });
        }
        Ok(out)
    }

    /// The location of a row's `value`, for messages.
    pub fn value_at(&self, f: &DomesticFigure) -> Location {
        Location::field(&self.path, f.line, self.value_column, "value")
    }
}
