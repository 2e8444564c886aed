//! Reader for tidy gravity data in the gegravity layout:
//! `exporter,importer,year,trade,Y,E,<cost variables...>`, one row per pair and year.
//!
//! Every error names the file and, where there is one, the line and column that caused it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{Economies, GravityData, Matrix, Vector};

/// Columns every gegravity-layout file must have; all other columns are cost variables.
const REQUIRED: [&str; 6] = ["exporter", "importer", "year", "trade", "Y", "E"];

/// Something wrong with a data file.
#[derive(Debug, Error)]
pub enum DataError {
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("{path}: the rows name {count} economies, more than the limit of {limit}")]
    TooManyEconomies {
        path: PathBuf,
        count: usize,
        limit: usize,
    },
    #[error("{path}, line {line}: malformed CSV: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: the header has no column `{column}` (a gegravity-layout file needs exporter, importer, year, trade, Y, E)")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}, line {line}, column `{column}`: {reason} (found `{value}`)")]
    BadValue {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
        reason: &'static str,
    },
    #[error("{path}: no rows for year {year}")]
    NoRows { path: PathBuf, year: String },
    #[error("{path}: the file holds several years ({years}); choose one with --year or `year =`")]
    SeveralYears { path: PathBuf, years: String },
    #[error("{path}, line {line}: pair {exporter}->{importer} appears twice (first on line {first_line})")]
    Duplicate {
        path: PathBuf,
        line: u64,
        exporter: String,
        importer: String,
        first_line: u64,
    },
    #[error("{path}: the data are not square: no row for {exporter}->{importer} (every exporter needs a row for every importer, its own domestic sales included)")]
    MissingPair {
        path: PathBuf,
        exporter: String,
        importer: String,
    },
    #[error("{path}, line {line}, column `{column}`: {code} has {column} = {value} here but {first} on line {first_line}; it must be the same on every row")]
    Inconsistent {
        path: PathBuf,
        line: u64,
        column: &'static str,
        code: String,
        value: f64,
        first: f64,
        first_line: u64,
    },
}

/// Reads a gegravity-layout CSV. With `year`, only that year's rows are kept; without it the
/// file must hold a single year.
pub fn load_gegravity_csv(path: &Path, year: Option<&str>) -> Result<GravityData, DataError> {
    let text = crate::input::read_text(path, crate::input::InputKind::Data)?;
    parse_gegravity_csv(&text, path, year)
}

/// One row as read, before the matrix is assembled.
struct Row {
    line: u64,
    exporter: String,
    importer: String,
    trade: f64,
    output: f64,
    expenditure: f64,
    variables: Vec<f64>,
}

pub(crate) fn parse_gegravity_csv(
    text: &str,
    path: &Path,
    year: Option<&str>,
) -> Result<GravityData, DataError> {
    let csv_err = |e: csv::Error| DataError::Csv {
        path: path.to_owned(),
        line: e.position().map_or(1, |p| p.line()),
        message: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(csv_err)?.clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut required = [0usize; 6];
    for (slot, name) in required.iter_mut().zip(REQUIRED) {
        *slot = col(name).ok_or_else(|| DataError::MissingColumn {
            path: path.to_owned(),
            column: name.to_owned(),
        })?;
    }
    let [c_exp, c_imp, c_year, c_trade, c_y, c_e] = required;
    let var_cols: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !REQUIRED.contains(h))
        .map(|(k, h)| (k, h.to_owned()))
        .collect();

    let mut rows = Vec::new();
    let mut years_seen: Vec<String> = Vec::new();
    // One record reused for every row: the file is read without a per-row allocation.
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| record.get(k).unwrap_or("").trim();
        let row_year = field(c_year).to_owned();
        if let Some(want) = year {
            if row_year != want {
                continue;
            }
        } else if !years_seen.contains(&row_year) {
            years_seen.push(row_year.clone());
        }
        let number = |k: usize, name: &str, nonneg: bool| -> Result<f64, DataError> {
            let raw = field(k);
            let bad = |reason| DataError::BadValue {
                path: path.to_owned(),
                line,
                column: name.to_owned(),
                value: raw.to_owned(),
                reason,
            };
            let v: f64 = raw.parse().map_err(|_| bad("not a number"))?;
            if !v.is_finite() {
                return Err(bad("not a finite number"));
            }
            if nonneg && v < 0.0 {
                return Err(bad("must not be negative"));
            }
            Ok(v)
        };
        let code = |k: usize, name: &str| -> Result<String, DataError> {
            let raw = field(k);
            if raw.is_empty() {
                return Err(DataError::BadValue {
                    path: path.to_owned(),
                    line,
                    column: name.to_owned(),
                    value: String::new(),
                    reason: "empty country code",
                });
            }
            Ok(raw.to_owned())
        };
        let mut variables = Vec::with_capacity(var_cols.len());
        for (k, name) in &var_cols {
            variables.push(number(*k, name, false)?);
        }
        rows.push(Row {
            line,
            exporter: code(c_exp, "exporter")?,
            importer: code(c_imp, "importer")?,
            trade: number(c_trade, "trade", true)?,
            output: number(c_y, "Y", true)?,
            expenditure: number(c_e, "E", true)?,
            variables,
        });
    }
    if year.is_none() && years_seen.len() > 1 {
        return Err(DataError::SeveralYears {
            path: path.to_owned(),
            years: years_seen.join(", "),
        });
    }
    if rows.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_owned(),
            year: year.unwrap_or("any").to_owned(),
        });
    }
    assemble(rows, &var_cols, path)
}

fn assemble(
    rows: Vec<Row>,
    var_cols: &[(usize, String)],
    path: &Path,
) -> Result<GravityData, DataError> {
    // Economies in code order (the file's row order carries no meaning), every code that
    // appears as exporter or importer: square data make both lists the same set.
    let mut codes: Vec<&str> = rows
        .iter()
        .flat_map(|r| [r.exporter.as_str(), r.importer.as_str()])
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    codes.sort_unstable();
    let seen: HashMap<&str, usize> = codes.iter().enumerate().map(|(k, &c)| (c, k)).collect();
    let n = codes.len();
    // Before the n x n matrices are allocated: a file of distinct codes on every row would
    // otherwise ask for a matrix of its row count squared.
    if n > crate::limits::MAX_ECONOMIES {
        return Err(DataError::TooManyEconomies {
            path: path.to_owned(),
            count: n,
            limit: crate::limits::MAX_ECONOMIES,
        });
    }
    let mut trade = Matrix::zeros(n, n);
    let mut vars: Vec<Matrix> = vec![Matrix::zeros(n, n); var_cols.len()];
    let mut line_of = vec![0u64; n * n];
    let mut output: Vec<Option<(f64, u64)>> = vec![None; n];
    let mut expenditure: Vec<Option<(f64, u64)>> = vec![None; n];
    for r in &rows {
        let (i, j) = (seen[r.exporter.as_str()], seen[r.importer.as_str()]);
        let slot = &mut line_of[i * n + j];
        if *slot != 0 {
            return Err(DataError::Duplicate {
                path: path.to_owned(),
                line: r.line,
                exporter: r.exporter.clone(),
                importer: r.importer.clone(),
                first_line: *slot,
            });
        }
        *slot = r.line;
        trade[(i, j)] = r.trade;
        for (m, v) in vars.iter_mut().zip(&r.variables) {
            m[(i, j)] = *v;
        }
        for (store, k, value, column, code) in [
            (&mut output, i, r.output, "Y", &r.exporter),
            (&mut expenditure, j, r.expenditure, "E", &r.importer),
        ] {
            match store[k] {
                None => store[k] = Some((value, r.line)),
                Some((first, first_line)) if first != value => {
                    return Err(DataError::Inconsistent {
                        path: path.to_owned(),
                        line: r.line,
                        column,
                        code: code.clone(),
                        value,
                        first,
                        first_line,
                    })
                }
                Some(_) => {}
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if line_of[i * n + j] == 0 {
                return Err(DataError::MissingPair {
                    path: path.to_owned(),
                    exporter: codes[i].to_owned(),
                    importer: codes[j].to_owned(),
                });
            }
        }
    }
    // Square data give every economy a row as exporter and as importer, so both are set.
    let output = Vector::from_iterator(n, output.iter().map(|v| v.map_or(0.0, |(x, _)| x)));
    let expenditure =
        Vector::from_iterator(n, expenditure.iter().map(|v| v.map_or(0.0, |(x, _)| x)));
    let economies = Economies::new(codes).expect("codes were deduplicated above");
    Ok(GravityData {
        economies,
        trade,
        output,
        expenditure,
        variables: var_cols
            .iter()
            .map(|(_, name)| name.clone())
            .zip(vars)
            .collect::<BTreeMap<_, _>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GravityData, DataError> {
        parse_gegravity_csv(text, Path::new("t.csv"), None)
    }

    const OK: &str = "exporter,importer,year,trade,Y,E,dist\n\
        A,A,2000,5,8,7,0\nA,B,2000,3,8,9,1\nB,A,2000,2,6,7,1\nB,B,2000,4,6,9,0\n";

    #[test]
    fn reads_a_square_file() {
        let d = parse(OK).unwrap();
        assert_eq!(d.economies.codes(), ["A", "B"]);
        assert_eq!(d.trade[(0, 1)], 3.0);
        assert_eq!(d.output.as_slice(), [8.0, 6.0]);
        assert_eq!(d.expenditure.as_slice(), [7.0, 9.0]);
        assert_eq!(d.variables["dist"][(1, 0)], 1.0);
    }

    #[test]
    fn missing_pair_is_named() {
        let text = OK.replace("B,A,2000,2,6,7,1\n", "");
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("B->A"), "{e}");
    }

    #[test]
    fn negative_flow_names_line_and_column() {
        let text = OK.replace("A,B,2000,3", "A,B,2000,-3");
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("`trade`"), "{e}");
    }

    #[test]
    fn inconsistent_output_is_named() {
        let text = OK.replace("A,B,2000,3,8", "A,B,2000,3,9");
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("Y"), "{e}");
    }
}
