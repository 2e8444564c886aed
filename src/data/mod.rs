//! Real data in: reported trade statistics, each figure with the economy that reported it.
//!
//! Data flow, one way:
//! - [`economies`] reads `economies.toml` (ISO3 and BACI numeric codes -> model economies and
//!   aggregates, by year of membership) and [`products`] an HS6 -> product-group
//!   concordance (such as `scenarios/data/chpl.csv`);
//! - [`baci`] and [`comtrade`] stream a BACI (CEPII) or UN Comtrade file row by row, resolve
//!   codes through the map and the concordance, and sum the figures into the cells of a
//!   panel (memory bounded by the number of cells, never by the size of the file);
//! - [`panel`] is the tidy format those cells are written in (one row per reported figure,
//!   with reporter, flow, unit, source and kind), its streaming reader, the conflict check,
//!   the rates table for currency conversion and the single-file writer that never
//!   overwrites a user's file;
//! - [`report`] reads a panel and tells, per link and year, who reported it, the mirror
//!   ratio and the conflicts; [`report_chart`] draws the mirror gaps into one economy;
//! - [`build`] makes a base-year world for a map's economies from a panel: observed cells by
//!   a stated reporter precedence, missing foreign cells imputed by a PPML gravity fit on
//!   [`geography`]'s variables (distance between capitals, contiguity, common language,
//!   trade agreements), domestic sales from a [`domestic`] table; [`world_file`] writes it
//!   and reads it back for scenarios (`[data] world`).
//!
//! Every error names the file, and where a row is at fault its line and column
//! ([`DataError`]); nothing is written unless the whole input was read and checked.

pub mod baci;
pub mod build;
mod cells;
pub mod comtrade;
pub mod domestic;
pub mod economies;
pub mod geography;
pub mod panel;
pub mod products;
pub mod report;
pub mod report_chart;
pub mod settings;
mod source;
pub mod world_file;

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

pub use economies::{Economies, Resolved};
pub use panel::{Flow, Kind, PanelRow, RateError, Rates, Unit};
pub use products::{HsVintage, Products};

/// Where in an input file something is: the file, the line (1-based, the header is line 1)
/// and, where one field is at fault, its column (1-based) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: u64,
    /// The column number and name (a CSV field), or `None` for the line as a whole.
    pub column: Option<(usize, String)>,
}

impl Location {
    /// A line of `path` as a whole.
    pub fn line(path: impl Into<PathBuf>, line: u64) -> Location {
        Location {
            path: path.into(),
            line,
            column: None,
        }
    }

    /// One field of a line.
    pub fn field(
        path: impl Into<PathBuf>,
        line: u64,
        column: usize,
        name: impl Into<String>,
    ) -> Location {
        Location {
            path: path.into(),
            line,
            column: Some((column, name.into())),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, line {}", self.path.display(), self.line)?;
        match &self.column {
            Some((col, name)) if name.is_empty() => write!(f, ", column {col}")?,
            Some((col, name)) => write!(f, ", column {col} (`{name}`)")?,
            None => {}
        }
        Ok(())
    }
}

/// A code of an imported file that the economies map neither maps nor drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    /// The code as the file writes it, with its ISO3 code where a country table gave one
    /// (`490 (S19)`).
    pub code: String,
    /// How many rows carry it (as exporter, importer, reporter or partner).
    pub rows: u64,
    /// Where it first occurs.
    pub first: Location,
}

/// Why a data file was not read, or a panel not written. Nothing is written on any error.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file is not a regular file, is too large, or cannot be opened.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// A read failed part-way.
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A field, line or key of an input file is wrong.
    #[error("{at}: {message}")]
    At { at: Location, message: String },
    /// A file as a whole is wrong (no header, a column missing).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// Two figures for the same (year, exporter, importer, reporter, flow, product).
    #[error("{second}: conflicts with line {first_line}: both are {key}, with {first_value} and {second_value}; keep one figure per reporter (another source's figure for the same reporter goes in a separate panel)")]
    Conflict {
        key: String,
        first_line: u64,
        first_value: String,
        second: Box<Location>,
        second_value: String,
    },
    /// Codes of an imported file that the economies map neither maps nor drops, all of them.
    #[error("{path}: {} neither mapped nor dropped by {map}: {}; add each to an economy's `members` or to `drop`", plural(.codes.len(), "code is", "codes are"), list_unknown(.codes))]
    UnknownCodes {
        path: PathBuf,
        map: PathBuf,
        codes: Vec<UnknownCode>,
    },
    /// An output file tradeflow will not write; nothing was written.
    #[error("refusing to write {path}: {reason}; nothing was written")]
    Refused { path: PathBuf, reason: String },
    /// Writing an output file failed; the target is untouched.
    #[error("cannot write {path}: {cause}; nothing was written")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Drawing a chart failed.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// A setting given on the command line is wrong (`--years 2022-2019`).
    #[error("{flag}: {message}")]
    Setting { flag: String, message: String },
}

impl DataError {
    /// An error at a location.
    pub fn at(at: Location, message: impl Into<String>) -> DataError {
        DataError::At {
            at,
            message: message.into(),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn list_unknown(codes: &[UnknownCode]) -> String {
    codes
        .iter()
        .map(|c| {
            format!(
                "`{}` ({} row{}, first at line {}{})",
                c.code,
                c.rows,
                if c.rows == 1 { "" } else { "s" },
                c.first.line,
                match &c.first.column {
                    Some((col, name)) => format!(", column {col} `{name}`"),
                    None => String::new(),
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an import read and did, for the console and for tests: every row counted, so that
/// nothing is dropped without saying so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows summed into a panel cell.
    pub used: u64,
    /// Rows left out, by reason (`"partner dropped by the map"`, `"flowCode DX"`, ...),
    /// with their counts, in the order first met.
    pub skipped: Vec<(String, u64)>,
    /// Product codes listed in the concordance only for another HS vintage than the
    /// file's (an HS2022 code in an HS2017 file): code, rows. They are classified by that
    /// row and the panel rows they feed say so in their note.
    pub other_vintage: Vec<(String, u64)>,
    /// Product codes not in the concordance, which fell into the default group: how many
    /// distinct codes and rows.
    pub default_group: (String, u64, u64),
    /// Panel rows produced.
    pub cells: usize,
}

impl ImportSummary {
    pub(crate) fn skip(&mut self, reason: &str) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.skipped.push((reason.to_owned(), 1)),
        }
    }

    /// A few lines for the console.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "read {} rows, used {}, wrote {} panel rows\n",
            self.rows, self.used, self.cells
        );
        for (reason, n) in &self.skipped {
            s.push_str(&format!("  left out {n} rows: {reason}\n"));
        }
        if !self.other_vintage.is_empty() {
            s.push_str(&format!(
                "  codes of another HS vintage than the file's (classified by their concordance row, noted in the panel): {}\n",
                self.other_vintage
                    .iter()
                    .map(|(c, n)| format!("{c} ({n} rows)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let (group, codes, rows) = &self.default_group;
        if *codes > 0 && group != "total" {
            s.push_str(&format!(
                "  {codes} product codes ({rows} rows) not in the concordance went to group `{group}`\n"
            ));
        }
        s
    }
}
