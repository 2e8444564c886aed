//! BACI (CEPII) importer: `t, i, j, k, v, q` files, streamed into panel cells.
//!
//! BACI reconciles the two customs records of each link (exporter's declared exports and
//! importer's declared imports, from UN Comtrade): import values are brought from CIF to FOB
//! with estimated transport costs, each reporter's reliability is estimated from how well
//! its records agree with its partners', and one figure per (year, exporter, importer, HS6
//! product) is published, weighting the two records by those reliabilities (Gaulier and
//! Zignago 2010, CEPII Working Paper 2010-23). So a BACI figure is neither the exporter's nor
//! the importer's record: the panel marks it with reporter `BACI`, flow `export` (the link's
//! direction), kind `reported`.
//!
//! Columns (BACI readme, versions V202301 onwards): `t` year, `i` exporter and `j` importer
//! (numeric codes of BACI's `country_codes_V*.csv`), `k` HS6 product (read as text: codes
//! such as `9999AA` occur), `v` value in thousands of current USD, `q` quantity in metric
//! tons (not used; `NA` where missing).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::cells::{self, Acc, Cells, Origin, Unknowns, BACI};
use super::economies::{Economies, Resolved};
use super::panel::{Flow, PanelRow, Rates, Unit, BACI_REPORTER};
use super::products::{HsVintage, Products};
use super::source::{self, MAX_IMPORT_BYTES, MAX_TABLE_BYTES};
use super::{DataError, ImportSummary, Location};

/// BACI's country table: numeric code -> (ISO3, name).
#[derive(Debug, Clone)]
pub struct Countries {
    pub path: PathBuf,
    codes: HashMap<u32, (String, String)>,
}

impl Countries {
    /// Reads `country_codes_V*.csv`: `country_code, country_name, country_iso2,
    /// country_iso3` (V202301 onwards); the older names `country_name_abbreviation`,
    /// `iso_2digit_alpha`, `iso_3digit_alpha` are accepted too.
    pub fn read(path: &Path) -> Result<Countries, DataError> {
        let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a BACI country table")?;
        let header = source::header(&mut rdr, path)?;
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
        let (Some(code), Some(iso3)) = (
            find(&["country_code"]),
            find(&["country_iso3", "iso_3digit_alpha"]),
        ) else {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!(
                    "line 1: expected BACI's country table with columns `country_code, country_name, country_iso2, country_iso3` (the header is `{}`)",
                    header.join(",")
                ),
            });
        };
        let name = find(&["country_name", "country_name_abbreviation"]);
        let mut codes = HashMap::new();
        let mut rec = csv::ByteRecord::new();
        while rdr
            .read_byte_record(&mut rec)
            .map_err(|e| source::csv_error(path, e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            let c = cells::parse_u32(rec.get(code).unwrap_or(b"")).ok_or_else(|| {
                DataError::at(
                    Location::field(path, line, code + 1, "country_code"),
                    "not a numeric country code",
                )
            })?;
            let iso = source::text(&rec, iso3, path, line, "country_iso3")?.to_owned();
            let nm = match name {
                Some(n) => source::text(&rec, n, path, line, "country_name")?.to_owned(),
                None => String::new(),
            };
            if codes.insert(c, (iso, nm)).is_some() {
                return Err(DataError::at(
                    Location::field(path, line, code + 1, "country_code"),
                    format!("country code {c} is listed twice"),
                ));
            }
        }
        Ok(Countries {
            path: path.to_owned(),
            codes,
        })
    }

    /// The ISO3 code of a numeric code.
    pub fn iso3(&self, code: u32) -> Option<&str> {
        self.codes.get(&code).map(|(i, _)| i.as_str())
    }
}

/// How to import a BACI file.
#[derive(Debug, Clone)]
pub struct BaciOptions<'a> {
    pub economies: &'a Economies,
    pub countries: &'a Countries,
    pub products: &'a Products,
    /// The file's HS vintage [default: from the file name, `BACI_HS17_...`].
    pub vintage: Option<HsVintage>,
    /// The years the file may hold, inclusive [default: the `_Y2022_` of the file name, if
    /// any]: a row outside is an error.
    pub years: Option<(i32, i32)>,
    /// The unit of the panel's values [default: `USD thousand`, BACI's].
    pub unit: Option<Unit>,
    pub rates: &'a Rates,
}

/// The year named in a BACI file name (`BACI_HS17_Y2022_V202401.csv`).
pub fn year_of_name(name: &str) -> Option<i32> {
    let i = name.find("_Y")?;
    let d = name.get(i + 2..i + 6)?;
    let y: i32 = d.parse().ok()?;
    let next = name.as_bytes().get(i + 6);
    matches!(next, None | Some(b'_') | Some(b'.')).then_some(y)
}

/// Column positions of a BACI file.
const COLS: [&str; 5] = ["t", "i", "j", "k", "v"];

/// Streams `path` into panel rows (sorted by year, exporter, importer, product), with what
/// was read and left out. Errors name the file, line and column; every code the map does not
/// know is listed in one error with its row count.
pub fn import(
    path: &Path,
    opt: &BaciOptions<'_>,
) -> Result<(Vec<PanelRow>, ImportSummary), DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let vintage = opt.vintage.or_else(|| HsVintage::of_baci_name(&name));
    let years = opt.years.or_else(|| year_of_name(&name).map(|y| (y, y)));
    let mut rdr = source::csv_reader(path, MAX_IMPORT_BYTES, "a BACI file")?;
    let header = source::header(&mut rdr, path)?;
    let cols = source::columns(
        &header,
        &COLS,
        path,
        " (a BACI file has the columns t,i,j,k,v,q)",
    )?;
    let ne = opt.economies.codes.len();
    let ng = opt.products.groups.len();
    let mut cells = Cells::new(ne * ne * ng);
    let mut unknown = Unknowns::default();
    let mut summary = ImportSummary::default();
    // Per year, the resolution of every numeric code below 1000 (BACI's range); other codes
    // are resolved one by one.
    let mut by_year: HashMap<i32, Vec<Resolved>> = HashMap::new();
    // Per numeric HS6 code, its classification packed: 0 = not yet, else group + 1, bit 30
    // another vintage, bit 29 the default group.
    let mut class: Vec<u32> = vec![0; 1_000_000];
    let mut class_other: HashMap<String, super::products::Classified> = HashMap::new();
    let mut other_vintage: HashMap<String, u64> = HashMap::new();
    let mut default_codes = 0u64;
    let mut default_rows = 0u64;
    let resolve = |code: u32, year: i32| -> Resolved {
        opt.economies
            .resolve_numeric(&code.to_string(), opt.countries.iso3(code), year)
    };
    let mut rec = csv::ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| source::csv_error(path, e))?
    {
        summary.rows += 1;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |k: usize| rec.get(cols[k]).unwrap_or(b"");
        let at = |k: usize| Location::field(path, line, cols[k] + 1, COLS[k]);
        let year = cells::parse_u32(field(0))
            .map(|y| y as i32)
            .ok_or_else(|| DataError::at(at(0), "`t` is not a year"))?;
        if let Some((a, b)) = years {
            if year < a || year > b {
                return Err(DataError::at(
                    at(0),
                    format!(
                        "year {year} is outside the file's {} (from its name or --years)",
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    ),
                ));
            }
        }
        let table = by_year
            .entry(year)
            .or_insert_with(|| (0..1000).map(|c| resolve(c, year)).collect::<Vec<_>>());
        let mut side = [0u16; 2];
        let mut skip = false;
        for (s, k) in [1usize, 2].into_iter().enumerate() {
            let code = cells::parse_u32(field(k)).ok_or_else(|| {
                DataError::at(
                    at(k),
                    format!(
                        "`{}` is not a numeric country code",
                        String::from_utf8_lossy(field(k)).trim()
                    ),
                )
            })?;
            let r = if (code as usize) < table.len() {
                table[code as usize]
            } else {
                resolve(code, year)
            };
            match r {
                Resolved::Economy(e) => side[s] = e,
                Resolved::Dropped => skip = true,
                Resolved::Unknown => {
                    let shown = match opt.countries.iso3(code) {
                        Some(iso) => format!("{code} ({iso})"),
                        None => format!(
                            "{code} (not in {})",
                            opt.countries.path.file_name().map_or_else(
                                || opt.countries.path.display().to_string(),
                                |n| n.to_string_lossy().into_owned()
                            )
                        ),
                    };
                    unknown.add(&shown, path, line, cols[k] + 1, COLS[k]);
                    skip = true;
                }
            }
        }
        let value = cells::parse_value(field(4)).map_err(|m| DataError::at(at(4), m))?;
        let k = cells::trim(field(3));
        let c = match cells::parse_u32(k) {
            Some(n) if k.len() == 6 && (n as usize) < class.len() => {
                let packed = class[n as usize];
                if packed != 0 {
                    unpack(packed)
                } else {
                    let code = std::str::from_utf8(k).unwrap_or("");
                    let c = opt.products.classify(code, vintage);
                    class[n as usize] = pack(c);
                    default_codes += c.default as u64;
                    c
                }
            }
            _ => {
                let code =
                    std::str::from_utf8(k).map_err(|_| DataError::at(at(3), "not UTF-8 text"))?;
                if code.is_empty() {
                    return Err(DataError::at(at(3), "empty product code"));
                }
                match class_other.get(code) {
                    Some(c) => *c,
                    None => {
                        let c = opt.products.classify(code, vintage);
                        class_other.insert(code.to_owned(), c);
                        default_codes += c.default as u64;
                        c
                    }
                }
            }
        };
        if skip {
            summary.skip("exporter or importer dropped by the economies map");
            continue;
        }
        if c.other_vintage {
            let code = String::from_utf8_lossy(k);
            *other_vintage.entry(code.into_owned()).or_default() += 1;
        }
        default_rows += c.default as u64;
        let cell = (side[0] as usize * ne + side[1] as usize) * ng + c.group as usize;
        let acc: &mut Acc = cells.at((year, BACI, Flow::Export), cell);
        acc.value += value;
        acc.rows += 1;
        acc.other_vintage |= c.other_vintage;
        acc.detail_line = line;
        summary.used += 1;
    }
    unknown.check(path, &opt.economies.path)?;
    let unit_in = Unit::usd(1e3);
    let unit_out = opt.unit.clone().unwrap_or_else(|| unit_in.clone());
    let origin = Origin {
        source: format!("BACI (CEPII) {name}"),
        file: path,
        unit_in,
        unit_out: &unit_out,
        rates: opt.rates,
        vintage,
    };
    let mut rows = Vec::new();
    for ((year, _, flow), i, acc) in cells.filled() {
        let g = i % ng;
        let m = (i / ng) % ne;
        let e = i / ng / ne;
        rows.push(cells::row(
            &origin,
            year,
            opt.economies.code(e as u16),
            opt.economies.code(m as u16),
            BACI_REPORTER,
            flow,
            opt.products.name(g as u16),
            acc,
            "",
        )?);
    }
    rows.sort_by_key(PanelRow::key);
    let mut ov: Vec<(String, u64)> = other_vintage.into_iter().collect();
    ov.sort();
    summary.other_vintage = ov;
    summary.default_group = (
        opt.products
            .name(opt.products.groups.len() as u16 - 1)
            .to_owned(),
        default_codes,
        default_rows,
    );
    summary.cells = rows.len();
    Ok((rows, summary))
}

fn pack(c: super::products::Classified) -> u32 {
    (c.group as u32 + 1) | ((c.other_vintage as u32) << 30) | ((c.default as u32) << 29)
}

fn unpack(p: u32) -> super::products::Classified {
    super::products::Classified {
        group: ((p & 0xffff) - 1) as u16,
        other_vintage: p & (1 << 30) != 0,
        default: p & (1 << 29) != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_come_from_the_file_name() {
        assert_eq!(year_of_name("BACI_HS17_Y2022_V202401.csv"), Some(2022));
        assert_eq!(year_of_name("BACI_HS17_Y2022.csv"), Some(2022));
        assert_eq!(year_of_name("baci.csv"), None);
        assert_eq!(year_of_name("BACI_HS17_Y20221.csv"), None);
    }
}
