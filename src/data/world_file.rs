//! The world file `tradeflow data build` writes and scenarios read through `[data] world`.
//!
//! A tidy CSV, one row per cell (domestic cells included), in the panel's columns with a
//! `stderr` column after `unit`, then one column per cost variable:
//! `year, exporter, importer, reporter, flow, product, value, unit, stderr, source, kind,
//! note, lndist, contiguity, common_language, pta` (documented in
//! `scenarios/data/README.md`). The first line is the [`WORLD_MARKER`] comment. `stderr` is
//! empty for figures taken as recorded; the cost variables are empty on domestic rows.
//!
//! [`read_world`] turns one year of such a file into [`GravityData`] (output and expenditure
//! the flows' row and column sums), with who recorded each cell: the exporter (its export
//! record), the importer (its import record) or neither (BACI's figure, an imputed or
//! derived cell), which is how inline scenario flows carry their reporter.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::build::World;
use super::panel::{write_marked, Flow, Kind, Unit, WORLD_MARKER};
use super::source::{self, MAX_TABLE_BYTES};
use super::{DataError, Location};
use crate::world::{Economies, GravityData, Matrix};

/// The columns before the cost variables.
pub const COLUMNS: [&str; 12] = [
    "year", "exporter", "importer", "reporter", "flow", "product", "value", "unit", "stderr",
    "source", "kind", "note",
];

/// Writes `world` to `path`, all or nothing; an existing file is replaced only if tradeflow
/// wrote it. `command` goes into the first line.
pub fn write_world(path: &Path, world: &World, command: &str) -> Result<(), DataError> {
    let first = format!(
        "{WORLD_MARKER} (format 1), written by tradeflow {} `{command}`; {} economies, {}, unit {}; columns: scenarios/data/README.md",
        env!("CARGO_PKG_VERSION"),
        world.codes.len(),
        world.year,
        world.unit
    );
    let werr = |m: String| DataError::Write {
        path: path.to_owned(),
        cause: std::io::Error::other(m),
    };
    write_marked(path, &first, |w| {
        let mut header: Vec<&str> = COLUMNS.to_vec();
        header.extend(super::geography::VARIABLES);
        w.write_record(&header).map_err(|e| werr(e.to_string()))?;
        for c in &world.cells {
            let finite = c.value.is_finite() && c.stderr.is_none_or(f64::is_finite);
            if !finite {
                return Err(werr(format!(
                    "{}->{}: a value or standard error is not finite",
                    c.exporter, c.importer
                )));
            }
            let mut rec = vec![
                c.year.to_string(),
                c.exporter.clone(),
                c.importer.clone(),
                c.reporter.clone(),
                c.flow.as_str().to_owned(),
                c.product.clone(),
                c.value.to_string(),
                c.unit.to_string(),
                c.stderr.map_or_else(String::new, |s| s.to_string()),
                c.source.clone(),
                c.kind.as_str().to_owned(),
                c.note.clone(),
            ];
            match c.variables {
                Some(v) => rec.extend(v.iter().map(|x| x.to_string())),
                None => rec.extend(std::iter::repeat_n(String::new(), 4)),
            }
            w.write_record(&rec).map_err(|e| werr(e.to_string()))?;
        }
        Ok(())
    })
}

/// Who recorded a cell of a world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorder {
    /// The exporter's export record.
    Exporter,
    /// The importer's import record.
    Importer,
    /// Neither customs record: BACI, imputed, derived.
    Neither,
}

/// One year of a world file.
#[derive(Debug, Clone)]
pub struct LoadedWorld {
    pub data: GravityData,
    /// Row-major `i * n + j`.
    pub recorders: Vec<Recorder>,
    /// Whether each cell is imputed (`kind = imputed`), row-major `i * n + j`.
    pub imputed: Vec<bool>,
    pub unit: Unit,
    pub year: i32,
}

/// Reads `year` of the world file `path` [`year` may be `None` when the file holds one
/// year]. Every cell of the economies the file names must be given exactly once; a problem
/// is an error at its line and column.
pub fn read_world(path: &Path, year: Option<i32>) -> Result<LoadedWorld, DataError> {
    let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a world file")?;
    let header = source::header(&mut rdr, path)?;
    let cols = source::columns(
        &header,
        &COLUMNS,
        path,
        " (a world file, as `tradeflow data build` writes it)",
    )?;
    let var_cols: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !COLUMNS.contains(&h.as_str()))
        .map(|(i, h)| (i, h.clone()))
        .collect();
    struct Row {
        line: u64,
        exporter: String,
        importer: String,
        value: f64,
        recorder: Recorder,
        imputed: bool,
        vars: Vec<Option<f64>>,
    }
    let mut rows_by_year: BTreeMap<i32, Vec<Row>> = BTreeMap::new();
    let mut unit: Option<(Unit, u64)> = None;
    let mut rec = csv::ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| source::csv_error(path, e))?
    {
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != header.len() {
            return Err(DataError::at(
                Location::line(path, line),
                format!("{} fields where the header has {}", rec.len(), header.len()),
            ));
        }
        let at = |k: usize| Location::field(path, line, cols[k] + 1, COLUMNS[k]);
        let f = |k: usize| source::text(&rec, cols[k], path, line, COLUMNS[k]);
        let y: i32 = f(0)?
            .parse()
            .map_err(|_| DataError::at(at(0), "not a year"))?;
        let exporter = f(1)?.to_owned();
        let importer = f(2)?.to_owned();
        let reporter = f(3)?;
        for (k, v) in [(1, &exporter), (2, &importer)] {
            if v.is_empty() {
                return Err(DataError::at(at(k), format!("empty `{}`", COLUMNS[k])));
            }
        }
        if reporter.is_empty() {
            return Err(DataError::at(at(3), "every cell needs its reporter"));
        }
        let flow: Flow = f(4)?.parse().map_err(|m: String| DataError::at(at(4), m))?;
        let value: f64 = f(6)?
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| DataError::at(at(6), "not a finite number at least 0"))?;
        let u: Unit = f(7)?.parse().map_err(|m: String| DataError::at(at(7), m))?;
        match &unit {
            None => unit = Some((u, line)),
            Some((first, first_line)) if *first != u => {
                return Err(DataError::at(
                    at(7),
                    format!("unit {u} where line {first_line} has {first}: a world is in one unit"),
                ))
            }
            Some(_) => {}
        }
        let imputed = f(10)? == "imputed";
        let se = f(8)?;
        if !se.is_empty() && !se.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0) {
            return Err(DataError::at(
                at(8),
                "a standard error is empty or a finite number at least 0",
            ));
        }
        if f(9)?.is_empty() {
            return Err(DataError::at(at(9), "every cell needs its source"));
        }
        let _: Kind = f(10)?
            .parse()
            .map_err(|m: String| DataError::at(at(10), m))?;
        let mut vars = Vec::with_capacity(var_cols.len());
        for (c, name) in &var_cols {
            let t = source::text(&rec, *c, path, line, name)?;
            if t.is_empty() {
                vars.push(None);
            } else {
                vars.push(Some(
                    t.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            DataError::at(
                                Location::field(path, line, c + 1, name.as_str()),
                                format!("cost variable `{name}`: `{t}` is not a finite number"),
                            )
                        })?,
                ));
            }
        }
        let recorder = if reporter == exporter && flow == Flow::Export {
            Recorder::Exporter
        } else if reporter == importer && flow == Flow::Import {
            Recorder::Importer
        } else {
            Recorder::Neither
        };
        rows_by_year.entry(y).or_default().push(Row {
            line,
            exporter,
            importer,
            value,
            recorder,
            imputed,
            vars,
        });
    }
    let years: Vec<i32> = rows_by_year.keys().copied().collect();
    let year = match (year, years.as_slice()) {
        (_, []) => {
            return Err(DataError::File {
                path: path.to_owned(),
                message: "no cell (the file has a header only)".into(),
            })
        }
        (None, [only]) => *only,
        (None, _) => {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!(
                    "holds the years {}: say which with `year`",
                    years
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        (Some(y), _) if !years.contains(&y) => {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!(
                    "no cell in {y}; the file holds {}",
                    years
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        (Some(y), _) => y,
    };
    let rows = rows_by_year.remove(&year).unwrap_or_default();
    // The economies in the order they first appear as exporters.
    let mut codes: Vec<String> = Vec::new();
    for r in &rows {
        if !codes.contains(&r.exporter) {
            codes.push(r.exporter.clone());
        }
    }
    let economies = Economies::new(codes.iter().cloned()).map_err(|dup| DataError::File {
        path: path.to_owned(),
        message: format!("economy `{}` twice", dup.0),
    })?;
    let n = economies.len();
    let mut trade = Matrix::zeros(n, n);
    let mut recorders = vec![Recorder::Neither; n * n];
    let mut imputed = vec![false; n * n];
    let mut vars: Vec<Matrix> = vec![Matrix::zeros(n, n); var_cols.len()];
    let mut seen: HashMap<(usize, usize), u64> = HashMap::new();
    for r in &rows {
        let i = economies.position(&r.exporter).unwrap_or(0);
        let Some(j) = economies.position(&r.importer) else {
            return Err(DataError::at(
                Location::field(path, r.line, cols[2] + 1, "importer"),
                format!(
                    "`{}` is never an exporter in {year}: a world holds every cell of its economies",
                    r.importer
                ),
            ));
        };
        if let Some(first) = seen.insert((i, j), r.line) {
            return Err(DataError::at(
                Location::line(path, r.line),
                format!(
                    "{}->{} in {year} is also at line {first}: one row per cell",
                    r.exporter, r.importer
                ),
            ));
        }
        trade[(i, j)] = r.value;
        recorders[i * n + j] = r.recorder;
        imputed[i * n + j] = r.imputed;
        for (k, v) in r.vars.iter().enumerate() {
            match v {
                Some(v) => vars[k][(i, j)] = *v,
                // A domestic cell has no cost variables (the tables describe pairs of
                // economies); they are zero, which only a shock that names the domestic
                // pair would read.
                None if i == j => {}
                None => {
                    return Err(DataError::at(
                        Location::field(path, r.line, var_cols[k].0 + 1, var_cols[k].1.as_str()),
                        format!(
                            "cost variable `{}` is empty on a foreign cell",
                            var_cols[k].1
                        ),
                    ))
                }
            }
        }
    }
    let mut missing = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if !seen.contains_key(&(i, j)) {
                missing.push(format!("{}->{}", economies.code(i), economies.code(j)));
            }
        }
    }
    if !missing.is_empty() {
        return Err(DataError::File {
            path: path.to_owned(),
            message: format!(
                "{year}: no row for {} (a world gives every cell, domestic sales included)",
                missing.join(", ")
            ),
        });
    }
    let mut data = GravityData::from_flows(economies, trade);
    data.variables = var_cols
        .iter()
        .map(|(_, name)| name.clone())
        .zip(vars)
        .collect();
    Ok(LoadedWorld {
        data,
        recorders,
        imputed,
        unit: unit.map(|(u, _)| u).unwrap_or_else(|| Unit::usd(1e9)),
        year,
    })
}
