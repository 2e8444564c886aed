//! The CSV files of a yearly run, written row by row into any writer: a file in the staging
//! folder through a buffer ([`super::year_run_contents`]), or bytes in memory
//! ([`super::year_run_files`]), the same bytes either way.
//!
//! The detail files have millions of rows at scale (150 economies, 20 sectors and 10 years
//! make 13 million), so their rows hold economy and sector indices
//! ([`crate::simulate::Code`]) and each row is formatted straight into one reused line
//! buffer: the names' CSV text once per run, numbers by [`super::cells::push_number`]. The
//! text is what [`super::csv_bytes`] writes for the same rows (a header of the field names,
//! the csv crate's quoting, ten significant digits, nothing at all for no rows).

use std::io::Write;

use super::cells::{push_int, push_number};
use super::OutputError;
use crate::simulate::{Code, YearRun, DIRECT};

/// Writes one CSV file a line at a time: a header before the first row, fields separated
/// by commas, numbers checked and formatted as [`super::csv_bytes`] does.
struct Lines<'w> {
    out: &'w mut dyn Write,
    what: &'static str,
    header: &'static [&'static str],
    line: Vec<u8>,
    /// Rows written so far.
    rows: usize,
    /// Fields of the current row so far.
    field: usize,
}

impl<'w> Lines<'w> {
    fn new(out: &'w mut dyn Write, what: &'static str, header: &'static [&'static str]) -> Self {
        Lines {
            out,
            what,
            header,
            line: Vec::with_capacity(256),
            rows: 0,
            field: 0,
        }
    }

    fn separate(&mut self) {
        if self.field > 0 {
            self.line.push(b',');
        }
        self.field += 1;
    }

    /// A field already in its CSV form (see [`Names`]).
    fn text(&mut self, csv: &[u8]) {
        self.separate();
        self.line.extend_from_slice(csv);
    }

    fn year(&mut self, year: i32) {
        self.separate();
        push_int(&mut self.line, year);
    }

    /// A number to ten significant digits; one that is not finite is an error naming the
    /// row and the field, as [`super::csv_bytes`] reports it.
    fn number(&mut self, v: f64) -> Result<(), OutputError> {
        if !v.is_finite() {
            let field = self.header.get(self.field).copied().unwrap_or("?");
            return Err(OutputError::Serialise {
                what: self.what.to_owned(),
                message: format!(
                    "row {} (after the header), field `{field}`: {v} is not a finite number",
                    self.rows + 1
                ),
            });
        }
        self.separate();
        push_number(&mut self.line, v);
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), OutputError> {
        if self.rows == 0 {
            let mut head = self.header.join(",").into_bytes();
            head.push(b'\n');
            self.out.write_all(&head).map_err(unplaced)?;
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line).map_err(unplaced)?;
        self.line.clear();
        self.rows += 1;
        self.field = 0;
        Ok(())
    }
}

/// An I/O error of a writer that does not know its file: the folder code names it.
fn unplaced(cause: std::io::Error) -> OutputError {
    OutputError::Io {
        path: Default::default(),
        cause,
    }
}

/// The CSV text of every economy and sector name of a run, made once.
struct Names {
    economies: Vec<Vec<u8>>,
    sectors: Vec<Vec<u8>>,
    direct: Vec<u8>,
}

impl Names {
    fn of(run: &YearRun) -> Self {
        Names {
            economies: run.economies.codes().iter().map(|c| csv_field(c)).collect(),
            sectors: run.sectors.iter().map(|c| csv_field(c)).collect(),
            direct: csv_field(DIRECT),
        }
    }

    fn economy(&self, c: Code) -> &[u8] {
        &self.economies[usize::from(c)]
    }

    fn sector(&self, c: Code) -> &[u8] {
        &self.sectors[usize::from(c)]
    }
}

/// A text field as the csv crate writes it inside a record of several fields (quoted only
/// where it holds a comma, a quote or a line break).
fn csv_field(text: &str) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // A record of two fields, the second empty: `FIELD,\n`.
    let bytes = w
        .write_record([text, ""])
        .ok()
        .and_then(|()| w.into_inner().ok())
        .unwrap_or_default();
    bytes
        .strip_suffix(b",\n")
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| text.as_bytes().to_vec())
}

/// `flows.csv`.
pub(super) fn flows(run: &YearRun, out: &mut dyn Write) -> Result<(), OutputError> {
    const HEADER: &[&str] = &[
        "year",
        "sector",
        "exporter",
        "importer",
        "shipped",
        "final_destination",
    ];
    let names = Names::of(run);
    let mut w = Lines::new(out, "link flows", HEADER);
    for r in &run.flows {
        w.year(r.year);
        w.text(names.sector(r.sector));
        w.text(names.economy(r.exporter));
        w.text(names.economy(r.importer));
        w.number(r.shipped)?;
        w.number(r.final_destination)?;
        w.end_row()?;
    }
    Ok(())
}

/// `recorded.csv`.
pub(super) fn recorded(run: &YearRun, out: &mut dyn Write) -> Result<(), OutputError> {
    const HEADER: &[&str] = &[
        "year", "sector", "exporter", "importer", "reporter", "recorded",
    ];
    let names = Names::of(run);
    let mut w = Lines::new(out, "recorded flows", HEADER);
    for r in &run.recorded {
        w.year(r.year);
        w.text(names.sector(r.sector));
        w.text(names.economy(r.exporter));
        w.text(names.economy(r.importer));
        w.text(names.economy(r.reporter));
        w.number(r.recorded)?;
        w.end_row()?;
    }
    Ok(())
}

/// `routes.csv`.
pub(super) fn routes(run: &YearRun, out: &mut dyn Write) -> Result<(), OutputError> {
    const HEADER: &[&str] = &[
        "year",
        "sector",
        "origin",
        "via",
        "destination",
        "value",
        "pair_fraction",
        "target_imports_fraction",
    ];
    let names = Names::of(run);
    let mut w = Lines::new(out, "route flows", HEADER);
    for r in &run.routes {
        w.year(r.year);
        w.text(names.sector(r.sector));
        w.text(names.economy(r.origin));
        match r.via {
            Some(k) => w.text(names.economy(k)),
            None => w.text(&names.direct),
        }
        w.text(names.economy(r.destination));
        w.number(r.value)?;
        w.number(r.pair_fraction)?;
        w.number(r.target_imports_fraction)?;
        w.end_row()?;
    }
    Ok(())
}

/// `reexports.csv`.
pub(super) fn reexports(run: &YearRun, out: &mut dyn Write) -> Result<(), OutputError> {
    const HEADER: &[&str] = &[
        "year",
        "sector",
        "intermediary",
        "origin",
        "imports_from_origin",
        "reexports_to_target",
        "reexport_fraction",
        "recorded_by_intermediary",
        "margin_income",
    ];
    let names = Names::of(run);
    let mut w = Lines::new(out, "re-exports", HEADER);
    for r in &run.reexports {
        w.year(r.year);
        w.text(names.sector(r.sector));
        w.text(names.economy(r.intermediary));
        w.text(names.economy(r.origin));
        w.number(r.imports_from_origin)?;
        w.number(r.reexports_to_target)?;
        w.number(r.reexport_fraction)?;
        w.number(r.recorded_by_intermediary)?;
        w.number(r.margin_income)?;
        w.end_row()?;
    }
    Ok(())
}

/// The yearly `countries.csv`.
pub(super) fn countries(run: &YearRun, out: &mut dyn Write) -> Result<(), OutputError> {
    const HEADER: &[&str] = &[
        "year",
        "sector",
        "country",
        "welfare_change_pct",
        "real_gdp_change_pct",
        "factory_gate_price_change_pct",
        "output_change_pct",
        "foreign_exports_change_pct",
        "foreign_imports_change_pct",
    ];
    let names = Names::of(run);
    let mut w = Lines::new(out, "country results", HEADER);
    for r in &run.countries {
        w.year(r.year);
        w.text(names.sector(r.sector));
        w.text(names.economy(r.country));
        for v in [
            r.welfare_change_pct,
            r.real_gdp_change_pct,
            r.factory_gate_price_change_pct,
            r.output_change_pct,
            r.foreign_exports_change_pct,
            r.foreign_imports_change_pct,
        ] {
            w.number(v)?;
        }
        w.end_row()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_as_the_csv_crate_quotes_them() {
        assert_eq!(csv_field("KGZ"), b"KGZ");
        assert_eq!(csv_field("a, b"), b"\"a, b\"");
        assert_eq!(csv_field("say \"x\""), b"\"say \"\"x\"\"\"");
        assert_eq!(csv_field(""), b"");
    }

    #[test]
    fn a_number_that_is_not_finite_names_its_row_and_field() {
        let mut out = Vec::new();
        let mut w = Lines::new(&mut out, "link flows", &["year", "shipped"]);
        w.year(2022);
        w.number(1.0).unwrap();
        w.end_row().unwrap();
        w.year(2023);
        let e = w.number(f64::INFINITY).unwrap_err().to_string();
        assert_eq!(
            e,
            "cannot serialise link flows: row 2 (after the header), field `shipped`: inf is not a finite number"
        );
        assert_eq!(out, b"year,shipped\n2022,1.0\n");
    }
}
