//! Output: CSV and JSON writers that return bytes (so they can be snapshot-tested), and
//! results folders that tradeflow owns, written in one piece ([`folder`]). A yearly run's
//! CSV files, millions of rows at scale, are written row by row straight into the new
//! folder ([`year_run_contents`]); [`year_run_files`] gives the same bytes in memory.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

use crate::gravity::SolveReport;
use crate::scenario::Scenario;
use crate::simulate::{RunResults, YearRun};

mod cells;
pub mod columns;
pub mod folder;
mod year_files;

pub use cells::{number_text, round_significant, SIGNIFICANT_DIGITS};
pub use columns::{Column, FileDoc};
pub use folder::{Claim, Content, Part, Results};

/// A problem writing results.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("cannot write the output folder {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot serialise {what}: {message}")]
    Serialise { what: String, message: String },
    /// A folder tradeflow will not write into; nothing was touched.
    #[error("refusing to write results into {path}: {reason}; nothing was written")]
    Refused { path: PathBuf, reason: String },
    /// Another tradeflow process is writing the folder.
    #[error("{path} is in use by {holder}; nothing was written")]
    InUse { path: PathBuf, holder: String },
}

/// What `run.json` records besides the results: enough to reproduce the run, and what
/// each file holds (rows, key, columns with units: [`columns`]).
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    tradeflow_version: &'static str,
    scenario: &'a Scenario,
    solver_reports: &'a [SolveReport],
    /// What "data unit" in `files` is: the scenario's `[data] unit`, or `data unit`.
    data_unit: &'a str,
    /// Significant digits of the numbers in the CSV files.
    significant_digits: usize,
    files: &'static [FileDoc],
}

/// The files of a run folder: `countries.csv`, `bilateral.csv` and `run.json`.
pub fn run_files(
    scenario: &Scenario,
    results: &RunResults,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let record = RunRecord {
        tradeflow_version: env!("CARGO_PKG_VERSION"),
        scenario,
        solver_reports: &results.reports,
        data_unit: scenario.unit(),
        significant_digits: SIGNIFICANT_DIGITS,
        files: columns::RUN_FILES,
    };
    Ok(vec![
        (
            "countries.csv",
            csv_bytes(&results.countries, "country results")?,
        ),
        (
            "bilateral.csv",
            csv_bytes(&results.bilateral, "bilateral results")?,
        ),
        ("run.json", json_bytes(&record, "run record")?),
    ])
}

/// What `run.json` records for a yearly run.
#[derive(Debug, Serialize)]
struct YearRunRecord<'a> {
    tradeflow_version: &'static str,
    scenario: &'a Scenario,
    years: &'a [i32],
    solver_reports: &'a [SolveReport],
    /// What "data unit" in `files` is: the scenario's `[data] unit`, or `data unit`.
    data_unit: &'a str,
    /// Significant digits of the numbers in the CSV files.
    significant_digits: usize,
    files: &'static [FileDoc],
}

/// The files of a yearly run folder: the detail files (`flows.csv`, `recorded.csv`,
/// `routes.csv`, `reexports.csv`, `countries.csv`: one sector, one origin a row), their
/// totals (`*_total.csv`) and `run.json`; [`columns::YEAR_RUN_FILES`] says what each holds.
/// The bytes of [`year_run_contents`]' files, made in memory.
pub fn year_run_files(
    scenario: &Scenario,
    run: &YearRun,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let mut files = Vec::new();
    for (name, write) in YEAR_RUN_CSVS {
        let mut bytes = Vec::new();
        write(run, &mut bytes)?;
        files.push((name, bytes));
    }
    files.push(("run.json", year_run_record(scenario, run)?));
    Ok(files)
}

/// The files of a yearly run folder as [`year_run_files`] makes them, in the same order,
/// for [`Claim::write`]: `run.json` as bytes, and every CSV file as a [`Content::Stream`]
/// that writes it row by row into the new folder, so that no file is ever held in memory.
/// `run.json` is made here, so that a problem with it is found before anything is written.
pub fn year_run_contents(
    scenario: &Scenario,
    run: Arc<YearRun>,
) -> Result<Vec<(&'static str, Content)>, OutputError> {
    let record = year_run_record(scenario, &run)?;
    let mut files: Vec<(&'static str, Content)> = YEAR_RUN_CSVS
        .iter()
        .map(|&(name, write)| {
            let run = Arc::clone(&run);
            (name, Content::stream(move |out| write(&run, out)))
        })
        .collect();
    files.push(("run.json", Content::Bytes(record)));
    Ok(files)
}

/// Writes one CSV file of a yearly run.
type YearCsv = fn(&YearRun, &mut dyn Write) -> Result<(), OutputError>;

/// The CSV files of a yearly run folder, in the order of [`columns::YEAR_RUN_FILES`].
const YEAR_RUN_CSVS: [(&str, YearCsv); 10] = [
    ("flows.csv", year_files::flows),
    ("recorded.csv", year_files::recorded),
    ("routes.csv", year_files::routes),
    ("reexports.csv", year_files::reexports),
    ("countries.csv", year_files::countries),
    ("flows_total.csv", |r, out| {
        write_csv(&r.totals.flows, "link flows, all sectors", false, out)
    }),
    ("recorded_total.csv", |r, out| {
        write_csv(
            &r.totals.recorded,
            "recorded flows, all sectors",
            false,
            out,
        )
    }),
    ("routes_total.csv", |r, out| {
        write_csv(&r.totals.routes, "route flows, all sectors", false, out)
    }),
    ("reexports_total.csv", |r, out| {
        write_csv(
            &r.totals.reexports,
            "re-exports, all sectors and origins",
            false,
            out,
        )
    }),
    ("countries_total.csv", |r, out| {
        write_csv(
            &r.totals.countries,
            "country results, all sectors",
            false,
            out,
        )
    }),
];

/// `run.json` of a yearly run.
fn year_run_record(scenario: &Scenario, run: &YearRun) -> Result<Vec<u8>, OutputError> {
    let record = YearRunRecord {
        tradeflow_version: env!("CARGO_PKG_VERSION"),
        scenario,
        years: &run.years,
        solver_reports: &run.reports,
        data_unit: scenario.unit(),
        significant_digits: SIGNIFICANT_DIGITS,
        files: columns::YEAR_RUN_FILES,
    };
    json_bytes(&record, "run record")
}

/// Rows as CSV bytes, with a header from the row type's field names, every number to
/// [`SIGNIFICANT_DIGITS`] significant digits ([`number_text`]).
///
/// A number that is not finite is an error naming the row and field: no file holds `NaN`
/// or `inf` (an undefined statistic is an `Option`, an empty cell). A row must be a struct
/// of plain values.
pub fn csv_bytes<T: Serialize>(rows: &[T], what: &str) -> Result<Vec<u8>, OutputError> {
    let mut out = Vec::new();
    write_csv(rows, what, false, &mut out)?;
    Ok(out)
}

/// As [`csv_bytes`], with every number in its shortest form that reads back exactly: for
/// the files tradeflow reads back and computes from (a shard's `draws.csv`, which `merge`
/// turns into the bands one run would have written).
pub fn csv_bytes_exact<T: Serialize>(rows: &[T], what: &str) -> Result<Vec<u8>, OutputError> {
    let mut out = Vec::new();
    write_csv(rows, what, true, &mut out)?;
    Ok(out)
}

/// Writes the CSV text of `rows` into `out` (see [`csv_bytes`]); every row is checked
/// before the first byte is written.
fn write_csv<T: Serialize>(
    rows: &[T],
    what: &str,
    exact: bool,
    out: &mut dyn Write,
) -> Result<(), OutputError> {
    let err = |e: &dyn std::fmt::Display| OutputError::Serialise {
        what: what.to_owned(),
        message: e.to_string(),
    };
    // The writer's own failures (a full disk) are I/O errors, which the folder code places.
    let csv_err = |e: csv::Error| {
        if !e.is_io_error() {
            return err(&e);
        }
        match e.into_kind() {
            csv::ErrorKind::Io(cause) => OutputError::Io {
                path: PathBuf::new(),
                cause,
            },
            other => err(&format_args!("{other:?}")),
        }
    };
    for (k, r) in rows.iter().enumerate() {
        if let Some((field, value)) = non_finite(r) {
            return Err(err(&format_args!(
                "row {} (after the header), field `{field}`: {value} is not a finite number",
                k + 1
            )));
        }
    }
    let mut w = csv::Writer::from_writer(out);
    let mut header: Option<Vec<&'static str>> = None;
    for (k, r) in rows.iter().enumerate() {
        let cells = cells::row_cells(r, exact)
            .map_err(|e| err(&format_args!("row {} (after the header): {e}", k + 1)))?;
        let names: Vec<&'static str> = cells.iter().map(|(n, _)| *n).collect();
        match &header {
            None => {
                w.write_record(&names).map_err(csv_err)?;
                header = Some(names);
            }
            Some(h) if *h != names => {
                return Err(err(&format_args!(
                    "row {} (after the header) has the fields {names:?}, the header {h:?}",
                    k + 1
                )))
            }
            Some(_) => {}
        }
        w.write_record(cells.iter().map(|(_, v)| v.as_str()))
            .map_err(csv_err)?;
    }
    w.flush().map_err(|cause| OutputError::Io {
        path: PathBuf::new(),
        cause,
    })
}

/// A CSV's bytes, with its header alone when there is no row (`csv_bytes` of no rows is
/// empty, and an empty file reads back as no columns at all): `columns` is the header.
pub fn with_header(bytes: Vec<u8>, columns: &[&str]) -> Vec<u8> {
    if bytes.is_empty() {
        format!("{}\n", columns.join(",")).into_bytes()
    } else {
        bytes
    }
}

/// A value as pretty JSON bytes with a final newline. A number that is not finite is an
/// error naming its field (serde_json would write it as `null`, silently).
pub fn json_bytes<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, OutputError> {
    if let Some((field, v)) = non_finite(value) {
        return Err(OutputError::Serialise {
            what: what.to_owned(),
            message: format!("field `{field}`: {v} is not a finite number"),
        });
    }
    let mut v = serde_json::to_vec_pretty(value).map_err(|e| OutputError::Serialise {
        what: what.to_owned(),
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

/// The first number in `value` that is not finite, with its path (`series[2].value`, or
/// `.` for the value itself). A value that fails to serialise for another reason is left
/// for the writer to report.
fn non_finite<T: Serialize + ?Sized>(value: &T) -> Option<(String, f64)> {
    let mut walk = FiniteWalk::default();
    match value.serialize(&mut walk) {
        Err(NonFinite::At(path, v)) => Some((path, v)),
        _ => None,
    }
}

/// Why [`FiniteWalk`] stopped: a number that is not finite (path, value), or another error.
#[derive(Debug)]
enum NonFinite {
    At(String, f64),
    Other(String),
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NonFinite::At(path, v) => write!(f, "{path}: {v}"),
            NonFinite::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for NonFinite {}

impl serde::ser::Error for NonFinite {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        NonFinite::Other(msg.to_string())
    }
}

/// A serializer that writes nothing: it walks a value and stops at the first `f32` or
/// `f64` that is not finite, keeping the path of field names and indices to it.
#[derive(Default)]
struct FiniteWalk {
    path: Vec<String>,
}

impl FiniteWalk {
    fn check(&self, v: f64) -> Result<(), NonFinite> {
        if v.is_finite() {
            return Ok(());
        }
        let mut path = String::new();
        for p in &self.path {
            if !p.starts_with('[') && !path.is_empty() {
                path.push('.');
            }
            path.push_str(p);
        }
        if path.is_empty() {
            path.push('.');
        }
        Err(NonFinite::At(path, v))
    }

    fn inside<T: Serialize + ?Sized>(&mut self, part: String, value: &T) -> Result<(), NonFinite> {
        self.path.push(part);
        let r = value.serialize(&mut *self);
        self.path.pop();
        r
    }
}

/// The compound serializers of [`FiniteWalk`]: the next element's index.
struct FiniteItems<'a> {
    walk: &'a mut FiniteWalk,
    index: usize,
}

impl FiniteItems<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        let part = format!("[{}]", self.index);
        self.index += 1;
        self.walk.inside(part, value)
    }
}

impl<'a> serde::Serializer for &'a mut FiniteWalk {
    type Ok = ();
    type Error = NonFinite;
    type SerializeSeq = FiniteItems<'a>;
    type SerializeTuple = FiniteItems<'a>;
    type SerializeTupleStruct = FiniteItems<'a>;
    type SerializeTupleVariant = FiniteItems<'a>;
    type SerializeMap = FiniteItems<'a>;
    type SerializeStruct = FiniteItems<'a>;
    type SerializeStructVariant = FiniteItems<'a>;

    fn serialize_f64(self, v: f64) -> Result<(), NonFinite> {
        self.check(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), NonFinite> {
        self.check(f64::from(v))
    }
    fn serialize_bool(self, _: bool) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NonFinite> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NonFinite> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        self.inside(variant.to_owned(), value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<FiniteItems<'a>, NonFinite> {
        Ok(FiniteItems {
            walk: self,
            index: 0,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<FiniteItems<'a>, NonFinite> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<FiniteItems<'a>, NonFinite> {
        self.serialize_seq(None)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<FiniteItems<'a>, NonFinite> {
        self.path.push(variant.to_owned());
        self.serialize_seq(None)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<FiniteItems<'a>, NonFinite> {
        self.serialize_seq(None)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<FiniteItems<'a>, NonFinite> {
        self.serialize_seq(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<FiniteItems<'a>, NonFinite> {
        self.path.push(variant.to_owned());
        self.serialize_seq(None)
    }
}

impl serde::ser::SerializeSeq for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        self.item(value)
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl serde::ser::SerializeTuple for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        self.item(value)
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl serde::ser::SerializeTupleStruct for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        self.item(value)
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl serde::ser::SerializeTupleVariant for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        self.item(value)
    }
    fn end(self) -> Result<(), NonFinite> {
        self.walk.path.pop();
        Ok(())
    }
}

impl serde::ser::SerializeMap for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NonFinite> {
        // A key names the entry that follows: JSON text when it has one (keys are short).
        self.index = 0;
        let name = serde_json::to_value(key)
            .ok()
            .map(|k| match k {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_else(|| "?".into());
        self.walk.path.push(name);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NonFinite> {
        let r = value.serialize(&mut *self.walk);
        self.walk.path.pop();
        r
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl serde::ser::SerializeStruct for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        self.walk.inside(key.to_owned(), value)
    }
    fn end(self) -> Result<(), NonFinite> {
        Ok(())
    }
}

impl serde::ser::SerializeStructVariant for FiniteItems<'_> {
    type Ok = ();
    type Error = NonFinite;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NonFinite> {
        self.walk.inside(key.to_owned(), value)
    }
    fn end(self) -> Result<(), NonFinite> {
        self.walk.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        a: &'static str,
        b: f64,
    }

    #[test]
    fn no_writer_puts_a_non_finite_number_on_disk() {
        #[derive(Serialize)]
        struct Inner {
            values: Vec<f64>,
            by_name: std::collections::BTreeMap<String, f32>,
        }
        #[derive(Serialize)]
        struct Outer {
            name: &'static str,
            inner: Inner,
        }
        let bad = Outer {
            name: "x",
            inner: Inner {
                values: vec![1.0, f64::NAN],
                by_name: Default::default(),
            },
        };
        let e = json_bytes(&bad, "the record").unwrap_err().to_string();
        assert!(
            e.contains("the record") && e.contains("`inner.values[1]`: NaN"),
            "{e}"
        );
        let mut by_name = std::collections::BTreeMap::new();
        by_name.insert("KGZ".to_owned(), f32::INFINITY);
        let bad = Outer {
            name: "x",
            inner: Inner {
                values: vec![],
                by_name,
            },
        };
        let e = json_bytes(&bad, "r").unwrap_err().to_string();
        assert!(e.contains("`inner.by_name.KGZ`: inf"), "{e}");
        let rows = [
            Row { a: "x", b: 1.0 },
            Row {
                a: "y",
                b: f64::NEG_INFINITY,
            },
        ];
        let e = csv_bytes(&rows, "bands").unwrap_err().to_string();
        assert!(
            e.contains("bands") && e.contains("row 2") && e.contains("field `b`: -inf"),
            "{e}"
        );
        assert!(json_bytes(&f64::NAN, "a number").is_err());
        // Undefined statistics are `None`: empty cells and `null`, never an error.
        #[derive(Serialize)]
        struct Opt {
            sd: Option<f64>,
        }
        assert_eq!(csv_bytes(&[Opt { sd: None }], "o").unwrap(), b"sd\n\"\"\n");
        assert_eq!(
            json_bytes(&Opt { sd: Some(1.5) }, "o").unwrap(),
            b"{\n  \"sd\": 1.5\n}\n"
        );
    }

    #[test]
    fn csv_has_header_and_numbers_to_ten_digits() {
        let bytes = csv_bytes(
            &[Row {
                a: "x",
                b: 0.1 + 0.2,
            }],
            "rows",
        )
        .unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "a,b\nx,0.3\n");
        let exact = csv_bytes_exact(
            &[Row {
                a: "x",
                b: 0.1 + 0.2,
            }],
            "rows",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(exact).unwrap(),
            "a,b\nx,0.30000000000000004\n"
        );
    }
}
