//! The sums an importer builds while it streams a file: one accumulator per panel cell,
//! stored densely per (year, reporter, flow) block, so that memory grows with the model's
//! economies and product groups, never with the rows of the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::panel::{Flow, Kind, PanelRow, Rates, Unit};
use super::{DataError, Location, UnknownCode};

/// The reporter index of BACI's reconciled figures.
pub(crate) const BACI: u16 = u16::MAX;

/// One cell's sum.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Acc {
    pub value: f64,
    pub rows: u64,
    pub other_vintage: bool,
    /// A line of a `TOTAL` row summed here, and of a detailed (HS6) row: both in one cell
    /// would count the goods twice.
    pub total_line: u64,
    pub detail_line: u64,
}

/// (year, reporter, flow).
pub(crate) type BlockKey = (i32, u16, Flow);

/// All blocks of an import.
pub(crate) struct Cells {
    pub size: usize,
    index: HashMap<BlockKey, usize>,
    blocks: Vec<(BlockKey, Vec<Acc>)>,
    last: Option<(BlockKey, usize)>,
}

impl Cells {
    /// Blocks of `size` cells each.
    pub fn new(size: usize) -> Cells {
        Cells {
            size,
            index: HashMap::new(),
            blocks: Vec::new(),
            last: None,
        }
    }

    /// The accumulator of cell `cell` of block `key`.
    #[inline]
    pub fn at(&mut self, key: BlockKey, cell: usize) -> &mut Acc {
        let b = match self.last {
            Some((k, b)) if k == key => b,
            _ => {
                let b = match self.index.get(&key) {
                    Some(b) => *b,
                    None => {
                        self.blocks.push((key, vec![Acc::default(); self.size]));
                        self.index.insert(key, self.blocks.len() - 1);
                        self.blocks.len() - 1
                    }
                };
                self.last = Some((key, b));
                b
            }
        };
        &mut self.blocks[b].1[cell]
    }

    /// Every cell with rows, with its block key and cell index.
    pub fn filled(&self) -> impl Iterator<Item = (BlockKey, usize, &Acc)> {
        self.blocks.iter().flat_map(|(k, v)| {
            v.iter()
                .enumerate()
                .filter(|(_, a)| a.rows > 0)
                .map(move |(i, a)| (*k, i, a))
        })
    }
}

/// Unknown codes met while streaming, with counts and first places.
#[derive(Debug, Default)]
pub(crate) struct Unknowns {
    codes: HashMap<String, UnknownCode>,
}

impl Unknowns {
    pub fn add(&mut self, code: &str, path: &Path, line: u64, column: usize, name: &str) {
        match self.codes.get_mut(code) {
            Some(u) => u.rows += 1,
            None => {
                self.codes.insert(
                    code.to_owned(),
                    UnknownCode {
                        code: code.to_owned(),
                        rows: 1,
                        first: Location::field(path, line, column, name),
                    },
                );
            }
        }
    }

    /// An error listing every unknown code (most rows first), or `Ok` if there were none.
    pub fn check(self, path: &Path, map: &Path) -> Result<(), DataError> {
        if self.codes.is_empty() {
            return Ok(());
        }
        let mut codes: Vec<UnknownCode> = self.codes.into_values().collect();
        codes.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.code.cmp(&b.code)));
        Err(DataError::UnknownCodes {
            path: path.to_owned(),
            map: map.to_owned(),
            codes,
        })
    }
}

/// What a panel row built from a cell says about its origin.
pub(crate) struct Origin<'a> {
    pub source: String,
    pub file: &'a Path,
    pub unit_in: Unit,
    pub unit_out: &'a Unit,
    pub rates: &'a Rates,
    pub vintage: Option<super::HsVintage>,
}

/// One panel row of a cell: the value converted to the output unit, the note saying how
/// many file rows were summed and anything unusual about them.
#[expect(
    clippy::too_many_arguments,
    reason = "one cell's coordinates and what it came from"
)]
pub(crate) fn row(
    origin: &Origin<'_>,
    year: i32,
    exporter: &str,
    importer: &str,
    reporter: &str,
    flow: Flow,
    product: &str,
    acc: &Acc,
    extra_note: &str,
) -> Result<PanelRow, DataError> {
    let value = origin
        .rates
        .convert(acc.value, &origin.unit_in, origin.unit_out, year)
        .map_err(|m| DataError::File {
            path: PathBuf::from(origin.file),
            message: format!("{year} {exporter}->{importer}: {m}"),
        })?;
    let mut note = format!(
        "sum of {} row{} of {}",
        acc.rows,
        if acc.rows == 1 { "" } else { "s" },
        origin.file.file_name().map_or_else(
            || origin.file.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        )
    );
    if exporter == importer {
        note.push_str(&format!("; trade between members of {exporter}"));
    }
    if acc.other_vintage {
        note.push_str(&format!(
            "; includes codes listed in the concordance only for another HS vintage than the file's {}",
            origin.vintage.map_or_else(|| "?".to_owned(), |v| v.to_string())
        ));
    }
    if !extra_note.is_empty() {
        note.push_str("; ");
        note.push_str(extra_note);
    }
    Ok(PanelRow {
        year,
        exporter: exporter.to_owned(),
        importer: importer.to_owned(),
        reporter: reporter.to_owned(),
        flow,
        product: product.to_owned(),
        value,
        unit: origin.unit_out.clone(),
        source: origin.source.clone(),
        kind: Kind::Reported,
        note,
    })
}

/// Parses an unsigned integer field (trimmed), fast.
#[inline]
pub(crate) fn parse_u32(b: &[u8]) -> Option<u32> {
    let b = trim(b);
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u32;
    }
    Some(n)
}

/// Trims ASCII spaces and tabs.
#[inline]
pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [c, rest @ ..] = b {
        if *c == b' ' || *c == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., c] = b {
        if *c == b' ' || *c == b'\t' || *c == b'\r' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Parses a value field: finite and at least zero, or a message.
#[inline]
pub(crate) fn parse_value(b: &[u8]) -> Result<f64, String> {
    let t = trim(b);
    let s = std::str::from_utf8(t).map_err(|_| "not UTF-8 text".to_owned())?;
    let v: f64 = s
        .parse()
        .map_err(|_| format!("value `{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("value `{s}` is not finite"));
    }
    if v < 0.0 {
        return Err(format!(
            "value {s} is negative (a trade figure is at least 0)"
        ));
    }
    Ok(v)
}
