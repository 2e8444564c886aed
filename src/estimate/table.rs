//! Reading an estimation [`Design`] from a tidy CSV in the gegravity layout
//! (`exporter,importer,year,trade,<variables...>`, one row per pair and year; `Y` and `E`
//! may be there and are not needed), for `tradeflow estimate`.
//!
//! Unlike the simulation reader ([`crate::world`]) the panel need not be square, may hold
//! several years and may have missing cells: an empty cell, `NA`, `NaN` or `.` is missing,
//! and the row is dropped by the estimation with that reason (listed, not silent). Every
//! error names the file, the line and the column.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{Design, FixedEffect};

/// A fixed-effect dimension built from the `exporter`, `importer` and `year` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedEffectKind {
    Exporter,
    Importer,
    Year,
    ExporterYear,
    ImporterYear,
    /// The ordered (directional) pair: `A|B` and `B|A` are two groups.
    Pair,
}

impl FixedEffectKind {
    /// Every kind, by the name it is given on the command line.
    pub const ALL: [(FixedEffectKind, &'static str); 6] = [
        (FixedEffectKind::Exporter, "exporter"),
        (FixedEffectKind::Importer, "importer"),
        (FixedEffectKind::Year, "year"),
        (FixedEffectKind::ExporterYear, "exporter-year"),
        (FixedEffectKind::ImporterYear, "importer-year"),
        (FixedEffectKind::Pair, "pair"),
    ];

    /// The kind named `name` (`exporter_year` is accepted for `exporter-year`).
    pub fn parse(name: &str) -> Option<FixedEffectKind> {
        let name = name.trim().replace('_', "-");
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, n)| n)
    }

    fn needs_year(self) -> bool {
        matches!(
            self,
            FixedEffectKind::Year | FixedEffectKind::ExporterYear | FixedEffectKind::ImporterYear
        )
    }

    /// The group key of a row from its economy numbers and year (labels are made once per
    /// group, not per row).
    fn key(self, exporter: u32, importer: u32, year: Option<i64>) -> (u32, u32, i64) {
        let y = year.unwrap_or(0);
        match self {
            FixedEffectKind::Exporter => (exporter, 0, 0),
            FixedEffectKind::Importer => (importer, 0, 0),
            FixedEffectKind::Year => (0, 0, y),
            FixedEffectKind::ExporterYear => (exporter, 0, y),
            FixedEffectKind::ImporterYear => (importer, 0, y),
            FixedEffectKind::Pair => (exporter, importer, 0),
        }
    }

    /// The group label of a row: `AUS`, `2006`, `AUS|2006`, `AUS|CAN`.
    fn label(self, exporter: &str, importer: &str, year: Option<i64>) -> String {
        let y = year.map_or_else(String::new, |y| y.to_string());
        match self {
            FixedEffectKind::Exporter => exporter.to_owned(),
            FixedEffectKind::Importer => importer.to_owned(),
            FixedEffectKind::Year => y,
            FixedEffectKind::ExporterYear => format!("{exporter}|{y}"),
            FixedEffectKind::ImporterYear => format!("{importer}|{y}"),
            FixedEffectKind::Pair => format!("{exporter}|{importer}"),
        }
    }
}

impl fmt::Display for FixedEffectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// The dependent variable's column (`trade`).
    pub dependent: String,
    /// The regressors' columns.
    pub variables: Vec<String>,
    pub fixed_effects: Vec<FixedEffectKind>,
    /// Cluster by the ordered pair (for pair-clustered standard errors).
    pub cluster_pair: bool,
    /// Keep only this year's rows (all rows without it).
    pub year: Option<i64>,
}

/// A design read from a file, with what traces each observation to its row.
#[derive(Debug, Clone)]
pub struct Table {
    pub design: Design,
    /// The line of each observation in the file (the header is line 1).
    pub lines: Vec<u64>,
    /// The economy codes, numbered in order of appearance.
    pub codes: Vec<String>,
    /// Each observation's exporter and importer, as numbers into `codes`.
    pub exporter: Vec<u32>,
    pub importer: Vec<u32>,
    pub year: Vec<Option<i64>>,
    /// For each fixed-effect dimension, the label of each group id (`AUS`, `AUS|2006`).
    pub group_labels: Vec<Vec<String>>,
    /// Data rows in the file, of any year.
    pub rows_read: usize,
}

/// Something wrong with an estimation data file.
#[derive(Debug, Error)]
pub enum TableError {
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("{path}, line {line}: malformed CSV: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}, line 1: the header has no column `{column}` ({why})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        why: &'static str,
    },
    #[error("{path}, line 1: {} not in the header (its columns: {})", unknown_list(.unknown), .columns.join(", "))]
    UnknownVariables {
        path: PathBuf,
        unknown: Vec<String>,
        columns: Vec<String>,
    },
    #[error("unknown fixed effect{} {} (known: exporter, importer, year, exporter-year, importer-year, pair)", if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))]
    UnknownFixedEffects(Vec<String>),
    #[error("`{0}` is named twice")]
    Repeated(String),
    #[error("{path}, line {line}, column {column} (`{name}`): {reason} (found `{value}`)")]
    BadValue {
        path: PathBuf,
        line: u64,
        column: usize,
        name: String,
        value: String,
        reason: &'static str,
    },
    #[error("{path}, line {line}: {exporter}->{importer} in year {year} appears twice (first on line {first})")]
    Duplicate {
        path: PathBuf,
        line: u64,
        exporter: String,
        importer: String,
        year: String,
        first: u64,
    },
    #[error("{path}: no rows{}", .year.map_or_else(String::new, |y| format!(" for year {y}")))]
    NoRows { path: PathBuf, year: Option<i64> },
}

fn unknown_list(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    if q.len() == 1 {
        format!("variable {} is", q[0])
    } else {
        format!("variables {} are", q.join(", "))
    }
}

/// Cells read as missing (the observation is dropped, with the column named).
const MISSING: [&str; 5] = ["", "NA", "NaN", "nan", "."];

/// Reads `path` (bounded, through [`crate::input::read_bytes`]) into a design.
pub fn read_table(path: &Path, spec: &TableSpec) -> Result<Table, TableError> {
    let bytes = crate::input::read_bytes(path, crate::input::InputKind::Data)?;
    parse_table(&bytes, path, spec)
}

/// Parses CSV bytes into a design (see [`read_table`]).
pub fn parse_table(bytes: &[u8], path: &Path, spec: &TableSpec) -> Result<Table, TableError> {
    for (a, name) in spec.variables.iter().enumerate() {
        if spec.variables[..a].contains(name) || *name == spec.dependent {
            return Err(TableError::Repeated(name.clone()));
        }
    }
    for (a, fe) in spec.fixed_effects.iter().enumerate() {
        if spec.fixed_effects[..a].contains(fe) {
            return Err(TableError::Repeated(fe.name().to_owned()));
        }
    }
    let csv_err = |e: csv::Error| TableError::Csv {
        path: path.to_owned(),
        line: e.position().map_or(1, |p| p.line()),
        message: e.to_string(),
    };
    // A byte-order mark (spreadsheet exports) is not part of the first column's name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str, why: &'static str| {
        col(name).ok_or_else(|| TableError::MissingColumn {
            path: path.to_owned(),
            column: name.to_owned(),
            why,
        })
    };
    let c_exp = need("exporter", "every row names its exporter")?;
    let c_imp = need("importer", "every row names its importer")?;
    let year_needed = spec.year.is_some() || spec.fixed_effects.iter().any(|f| f.needs_year());
    let c_year = if year_needed {
        Some(need(
            "year",
            "needed for --year and for year fixed effects",
        )?)
    } else {
        col("year")
    };
    let unknown: Vec<String> = std::iter::once(&spec.dependent)
        .chain(&spec.variables)
        .filter(|v| col(v).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(TableError::UnknownVariables {
            path: path.to_owned(),
            unknown,
            columns: header.clone(),
        });
    }
    let c_y = col(&spec.dependent).unwrap_or(0);
    let c_x: Vec<usize> = spec.variables.iter().filter_map(|v| col(v)).collect();

    let mut t = Table {
        design: Design {
            y: Vec::new(),
            x: vec![Vec::new(); c_x.len()],
            names: spec.variables.clone(),
            fixed_effects: spec
                .fixed_effects
                .iter()
                .map(|f| FixedEffect {
                    name: f.name().to_owned(),
                    groups: Vec::new(),
                })
                .collect(),
            cluster: spec.cluster_pair.then(Vec::new),
        },
        lines: Vec::new(),
        codes: Vec::new(),
        exporter: Vec::new(),
        importer: Vec::new(),
        year: Vec::new(),
        group_labels: vec![Vec::new(); spec.fixed_effects.len()],
        rows_read: 0,
    };
    let mut code_ids: HashMap<String, u32> = HashMap::new();
    let mut group_ids: Vec<HashMap<(u32, u32, i64), u32>> =
        vec![HashMap::new(); spec.fixed_effects.len()];
    let mut pair_ids: HashMap<(u32, u32), u32> = HashMap::new();
    let mut seen: HashMap<(u32, u32, Option<i64>), u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        t.rows_read += 1;
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| record.get(k).unwrap_or("");
        let bad = |k: usize, reason: &'static str| TableError::BadValue {
            path: path.to_owned(),
            line,
            column: k + 1,
            name: header[k].clone(),
            value: field(k).to_owned(),
            reason,
        };
        let year = match c_year {
            Some(k) if !field(k).is_empty() || year_needed => Some(
                field(k)
                    .parse::<i64>()
                    .map_err(|_| bad(k, "a year must be a whole number"))?,
            ),
            _ => None,
        };
        if spec.year.is_some() && year != spec.year {
            continue;
        }
        let exporter = field(c_exp);
        let importer = field(c_imp);
        for (k, code) in [(c_exp, exporter), (c_imp, importer)] {
            if code.is_empty() {
                return Err(bad(k, "an economy code must not be empty"));
            }
        }
        let number = |k: usize| -> Result<f64, TableError> {
            let raw = field(k);
            if MISSING.contains(&raw) {
                return Ok(f64::NAN);
            }
            raw.parse::<f64>().map_err(|_| bad(k, "not a number"))
        };
        let y = number(c_y)?;
        if y < 0.0 {
            return Err(bad(c_y, "trade must not be negative"));
        }
        let mut number_of = |code: &str| -> u32 {
            if let Some(&k) = code_ids.get(code) {
                return k;
            }
            let k = t.codes.len() as u32;
            t.codes.push(code.to_owned());
            code_ids.insert(code.to_owned(), k);
            k
        };
        let (e, m) = (number_of(exporter), number_of(importer));
        if let Some(&first) = seen.get(&(e, m, year)) {
            return Err(TableError::Duplicate {
                path: path.to_owned(),
                line,
                exporter: exporter.to_owned(),
                importer: importer.to_owned(),
                year: year.map_or_else(|| "(none)".to_owned(), |y| y.to_string()),
                first,
            });
        }
        seen.insert((e, m, year), line);
        t.design.y.push(y);
        for (xs, &k) in t.design.x.iter_mut().zip(&c_x) {
            xs.push(number(k)?);
        }
        for (d, kind) in spec.fixed_effects.iter().enumerate() {
            let next = group_ids[d].len() as u32;
            let id = *group_ids[d].entry(kind.key(e, m, year)).or_insert_with(|| {
                t.group_labels[d].push(kind.label(exporter, importer, year));
                next
            });
            t.design.fixed_effects[d].groups.push(id);
        }
        if let Some(c) = &mut t.design.cluster {
            let next = pair_ids.len() as u32;
            c.push(*pair_ids.entry((e, m)).or_insert(next));
        }
        t.lines.push(line);
        t.exporter.push(e);
        t.importer.push(m);
        t.year.push(year);
    }
    if t.design.y.is_empty() {
        return Err(TableError::NoRows {
            path: path.to_owned(),
            year: spec.year,
        });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(vars: &[&str]) -> TableSpec {
        TableSpec {
            dependent: "trade".into(),
            variables: vars.iter().map(|s| s.to_string()).collect(),
            fixed_effects: vec![FixedEffectKind::Exporter, FixedEffectKind::Importer],
            cluster_pair: true,
            year: Some(2006),
        }
    }

    #[test]
    fn reads_rows_of_the_year_with_missing_cells_as_nan() {
        let text = "\u{feff}exporter,importer,year,trade,lndist\nA,B,2006,3,1.5\nA,B,2007,4,1.5\nB,A,2006,NA,2\n";
        let t = parse_table(text.as_bytes(), Path::new("d.csv"), &spec(&["lndist"])).unwrap();
        assert_eq!(t.rows_read, 3);
        assert_eq!(t.lines, vec![2, 4]);
        assert!(t.design.y[1].is_nan());
        assert_eq!(t.group_labels[0], vec!["A", "B"]);
        assert_eq!(t.design.fixed_effects[1].groups, vec![0, 1]);
        assert_eq!(t.design.cluster, Some(vec![0, 1]));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "exporter,importer,year,trade,lndist\nA,B,2006,3,far\n";
        let e = parse_table(text.as_bytes(), Path::new("d.csv"), &spec(&["lndist"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv, line 2, column 5 (`lndist`): not a number (found `far`)"
        );
        let e = parse_table(
            text.as_bytes(),
            Path::new("d.csv"),
            &spec(&["lndst", "pta"]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv, line 1: variables `lndst`, `pta` are not in the header (its columns: exporter, importer, year, trade, lndist)"
        );
        let text = "exporter,importer,year,trade,lndist\nA,B,2006,3,1\nA,B,2006,-3,1\n";
        let e = parse_table(text.as_bytes(), Path::new("d.csv"), &spec(&["lndist"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("d.csv, line 3, column 4 (`trade`): trade must not be negative"),
            "{e}"
        );
        let text = "exporter,importer,year,trade,lndist\nA,B,2006,3,1\nA,B,2006,3,1\n";
        let e = parse_table(text.as_bytes(), Path::new("d.csv"), &spec(&["lndist"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 3: A->B in year 2006 appears twice (first on line 2)"),
            "{e}"
        );
    }
}
