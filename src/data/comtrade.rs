//! UN Comtrade importer: Comtrade+ bulk or API CSV files, streamed into panel cells, each
//! figure kept with its reporter and flow.
//!
//! Columns used (exact names of the Comtrade+ data API and bulk files): `refYear`,
//! `reporterISO`, `partnerISO`, `flowCode`, `cmdCode`, `primaryValue` (current USD),
//! `partner2Code`, `customsCode`, `motCode`, `mosCode`; `classificationCode` (`H5` =
//! HS2017, `H6` = HS2022) if present gives the HS vintage.
//!
//! The flow is turned around so that every row is a link from exporter to importer: an `X`
//! (export) row of reporter CHN with partner KGZ is exporter CHN, importer KGZ, reporter CHN,
//! flow `export`; an `M` (import) row of reporter KGZ with partner CHN is exporter CHN,
//! importer KGZ, reporter KGZ, flow `import`; `RX` is `re-export` (the reporter exports),
//! `RM` `re-import` (the reporter imports). Mirror figures come for free. `DX` (domestic
//! exports) and `FM` (foreign merchandise imports) overlap `X` and `M` and are left out
//! unless asked for.
//!
//! By default only the totals rows are kept, as Comtrade's own totals are defined:
//! `partner2Code = 0` (no second partner), `customsCode = C00` (all customs procedures),
//! `motCode = 0` (all modes of transport), `mosCode = 0` (all modes of supply). Other rows
//! are breakdowns of those and would count the goods twice. `all_rows` keeps every row (for
//! a file that holds one breakdown only). Rows at the 2- or 4-digit level are left out
//! (they sum the 6-digit rows); `TOTAL` rows are product `total`.

use std::path::Path;

use super::cells::{self, Cells, Origin, Unknowns};
use super::economies::{Economies, Resolved};
use super::panel::{Flow, PanelRow, Rates, Unit, TOTAL};
use super::products::{HsVintage, Products};
use super::source::{self, MAX_IMPORT_BYTES};
use super::{DataError, ImportSummary, Location};

/// The flow codes kept by default.
pub const DEFAULT_FLOWS: [&str; 4] = ["X", "M", "RX", "RM"];

/// How to import a Comtrade file.
#[derive(Debug, Clone)]
pub struct ComtradeOptions<'a> {
    pub economies: &'a Economies,
    pub products: &'a Products,
    /// Flow codes to keep (`X`, `M`, `RX`, `RM`, and `DX`, `FM` if asked).
    pub flows: Vec<String>,
    /// Keep every row, not only the totals rows.
    pub all_rows: bool,
    /// The HS vintage [default: `classificationCode`, else unknown].
    pub vintage: Option<HsVintage>,
    /// The years the file may hold, inclusive: a row outside is an error.
    pub years: Option<(i32, i32)>,
    /// The unit of the panel's values [default: `USD`, Comtrade's].
    pub unit: Option<Unit>,
    pub rates: &'a Rates,
}

const COLS: [&str; 10] = [
    "refYear",
    "reporterISO",
    "partnerISO",
    "flowCode",
    "cmdCode",
    "primaryValue",
    "partner2Code",
    "customsCode",
    "motCode",
    "mosCode",
];

/// What a flow code becomes in the panel.
fn flow_of(code: &str) -> Option<Flow> {
    match code {
        "X" | "DX" => Some(Flow::Export),
        "M" | "FM" => Some(Flow::Import),
        "RX" => Some(Flow::ReExport),
        "RM" => Some(Flow::ReImport),
        _ => None,
    }
}

/// Whether a numeric filter field is zero (`0`, `0.0`).
fn is_zero(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(|v| v == 0.0)
}

/// Streams `path` into panel rows (sorted by year, exporter, importer, reporter, flow,
/// product), with what was read and left out.
pub fn import(
    path: &Path,
    opt: &ComtradeOptions<'_>,
) -> Result<(Vec<PanelRow>, ImportSummary), DataError> {
    for f in &opt.flows {
        if flow_of(f).is_none() {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!("flow code `{f}` is not one of X, M, RX, RM, DX, FM"),
            });
        }
    }
    // DX is part of X and FM part of M: both in one cell would count goods twice.
    for (a, b) in [("X", "DX"), ("M", "FM")] {
        if opt.flows.iter().any(|f| f == a) && opt.flows.iter().any(|f| f == b) {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!(
                    "flow codes {a} and {b} overlap ({b} is part of {a}); ask for one of them"
                ),
            });
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rdr = source::csv_reader(path, MAX_IMPORT_BYTES, "a Comtrade file")?;
    let header = source::header(&mut rdr, path)?;
    let wanted: &[&str] = if opt.all_rows { &COLS[..6] } else { &COLS };
    let mut cols = source::columns(
        &header,
        wanted,
        path,
        if opt.all_rows {
            " (a Comtrade+ CSV from the data API or bulk download)"
        } else {
            " (a Comtrade+ CSV from the data API or bulk download; the totals filter needs partner2Code, customsCode, motCode and mosCode: --all-rows turns it off)"
        },
    )?;
    cols.resize(COLS.len(), usize::MAX);
    let class_col = header.iter().position(|h| h == "classificationCode");
    let ne = opt.economies.codes.len();
    let ng = opt.products.groups.len();
    // The slot of `TOTAL` rows: the single group when there is no concordance (it is named
    // `total`), else one past the groups.
    let total_slot = if ng == 1 && opt.products.name(0) == TOTAL {
        0
    } else {
        ng
    };
    let slots = ng + usize::from(total_slot == ng);
    let mut cells = Cells::new(ne * slots);
    let mut unknown = Unknowns::default();
    let mut summary = ImportSummary::default();
    let mut other_vintage: std::collections::BTreeMap<String, u64> = Default::default();
    let mut classified: std::collections::HashMap<
        (String, Option<HsVintage>),
        super::products::Classified,
    > = Default::default();
    let mut default_rows = 0u64;
    let mut rec = csv::ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| source::csv_error(path, e))?
    {
        summary.rows += 1;
        let line = rec.position().map_or(0, |p| p.line());
        let at = |k: usize| Location::field(path, line, cols[k] + 1, COLS[k]);
        let f = |k: usize| source::text(&rec, cols[k], path, line, COLS[k]);
        let year: i32 = f(0)?
            .parse()
            .map_err(|_| DataError::at(at(0), format!("`{}` is not a year", f(0).unwrap_or(""))))?;
        if let Some((a, b)) = opt.years {
            if year < a || year > b {
                return Err(DataError::at(
                    at(0),
                    format!(
                        "year {year} is outside the file's {} (--years)",
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    ),
                ));
            }
        }
        let flow_code = f(3)?;
        let Some(flow) = flow_of(flow_code) else {
            summary.skip(&format!(
                "flowCode `{flow_code}` (not X, M, RX, RM, DX or FM)"
            ));
            continue;
        };
        if !opt.flows.iter().any(|x| x == flow_code) {
            summary.skip(&format!("flowCode {flow_code} (not asked for; --flows)"));
            continue;
        }
        if !opt.all_rows {
            let totals = is_zero(f(6)?) && f(7)? == "C00" && is_zero(f(8)?) && is_zero(f(9)?);
            if !totals {
                summary.skip("not a totals row (partner2Code 0, customsCode C00, motCode 0, mosCode 0; --all-rows keeps them)");
                continue;
            }
        }
        let value = cells::parse_value(rec.get(cols[5]).unwrap_or(b""))
            .map_err(|m| DataError::at(at(5), m))?;
        let mut side = [0u16; 2];
        let mut skip: Option<&str> = None;
        for (s, k) in [1usize, 2].into_iter().enumerate() {
            let code = f(k)?;
            match opt.economies.resolve(code, year) {
                Resolved::Economy(e) => side[s] = e,
                Resolved::Dropped => {
                    skip.get_or_insert(if k == 1 {
                        "reporter dropped by the economies map"
                    } else {
                        "partner dropped by the economies map"
                    });
                }
                Resolved::Unknown => {
                    let shown = if code.is_empty() { "(empty)" } else { code };
                    unknown.add(shown, path, line, cols[k] + 1, COLS[k]);
                    skip.get_or_insert("unknown code");
                }
            }
        }
        let cmd = f(4)?;
        let vintage = match (opt.vintage, class_col) {
            (Some(v), _) => Some(v),
            (None, Some(c)) => {
                HsVintage::parse(source::text(&rec, c, path, line, "classificationCode")?)
            }
            (None, None) => None,
        };
        let (slot, is_total, c) = if cmd.eq_ignore_ascii_case("TOTAL") {
            (total_slot, true, None)
        } else if cmd.len() == 6 {
            let key = (cmd.to_owned(), vintage);
            let c = match classified.get(&key) {
                Some(c) => *c,
                None => {
                    let c = opt.products.classify(cmd, vintage);
                    classified.insert(key, c);
                    c
                }
            };
            (c.group as usize, false, Some(c))
        } else if cmd.len() == 2 || cmd.len() == 4 {
            summary.skip("cmdCode at the 2- or 4-digit level (the HS6 rows sum to it)");
            continue;
        } else {
            return Err(DataError::at(
                at(4),
                format!("cmdCode `{cmd}` is neither TOTAL nor an HS code of 2, 4 or 6 characters"),
            ));
        };
        if let Some(reason) = skip {
            if reason != "unknown code" {
                summary.skip(reason);
            }
            continue;
        }
        if let Some(c) = c {
            if c.other_vintage {
                *other_vintage.entry(cmd.to_owned()).or_default() += 1;
            }
            default_rows += c.default as u64;
        }
        let reporter = side[0];
        let partner = side[1];
        let acc = cells.at((year, reporter, flow), partner as usize * slots + slot);
        if is_total {
            acc.total_line = line;
        } else {
            acc.detail_line = line;
        }
        if acc.total_line > 0 && acc.detail_line > 0 {
            return Err(DataError::at(
                at(4),
                format!(
                    "this {} row and the {} row at line {} both feed {year} {} {} of {} with {} (product `{}`): they would count the goods twice; give a file with either TOTAL or HS6 rows, or a concordance (--products)",
                    if is_total { "TOTAL" } else { "HS6" },
                    if is_total { "HS6" } else { "TOTAL" },
                    if is_total { acc.detail_line } else { acc.total_line },
                    opt.economies.code(reporter),
                    flow.as_str(),
                    opt.economies.code(reporter),
                    opt.economies.code(partner),
                    if slot == ng { TOTAL } else { opt.products.name(slot as u16) },
                ),
            ));
        }
        acc.value += value;
        acc.rows += 1;
        acc.other_vintage |= c.is_some_and(|c| c.other_vintage);
        summary.used += 1;
    }
    unknown.check(path, &opt.economies.path)?;
    let unit_in = Unit::usd(1.0);
    let unit_out = opt.unit.clone().unwrap_or_else(|| unit_in.clone());
    let origin = Origin {
        source: format!("UN Comtrade {name}"),
        file: path,
        unit_in,
        unit_out: &unit_out,
        rates: opt.rates,
        vintage: opt.vintage,
    };
    let mut rows = Vec::new();
    for ((year, reporter, flow), i, acc) in cells.filled() {
        let slot = i % slots;
        let partner = (i / slots) as u16;
        let (exporter, importer) = if flow_of_reporter_exports(flow) {
            (reporter, partner)
        } else {
            (partner, reporter)
        };
        let product = if slot == ng {
            TOTAL
        } else {
            opt.products.name(slot as u16)
        };
        rows.push(cells::row(
            &origin,
            year,
            opt.economies.code(exporter),
            opt.economies.code(importer),
            opt.economies.code(reporter),
            flow,
            product,
            acc,
            "",
        )?);
    }
    rows.sort_by_key(PanelRow::key);
    summary.other_vintage = other_vintage.into_iter().collect();
    summary.default_group = (
        opt.products.name(ng as u16 - 1).to_owned(),
        classified.values().filter(|c| c.default).count() as u64,
        default_rows,
    );
    summary.cells = rows.len();
    Ok((rows, summary))
}

/// Whether the reporter of a panel flow is the exporter.
fn flow_of_reporter_exports(flow: Flow) -> bool {
    matches!(flow, Flow::Export | Flow::ReExport)
}
