//! Product groups: an HS6 -> group concordance (`hs6, group, tier, hs_vintage, source,
//! note`), such as the Common High Priority List shipped as `scenarios/data/chpl.csv`.
//!
//! A code not in the concordance falls into a named default group. A code listed in two
//! groups for the same HS vintage is a located error naming both lines. HS vintages matter:
//! subheadings change every five years (HS2022 created 8548.00 and 8807.30, which HS2017
//! files code as 8548.90 and 8803.30), so each row says which vintages it holds for
//! (`HS2017;HS2022`, or empty for all). A file's code that the concordance lists only for
//! another vintage is still classified by that row, and counted so that the import says so.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::source::{self, MAX_TABLE_BYTES};
use super::{DataError, Location};

/// An edition of the Harmonized System, by its year (1992, 1996, 2002, 2007, 2012, 2017,
/// 2022).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsVintage(pub u16);

impl HsVintage {
    const YEARS: [u16; 7] = [1992, 1996, 2002, 2007, 2012, 2017, 2022];

    /// `HS2017`, `HS17` (BACI's file names), `H5` (Comtrade's `classificationCode`).
    pub fn parse(s: &str) -> Option<HsVintage> {
        let s = s.trim();
        if let Some(d) = s.strip_prefix("HS") {
            let y: u16 = d.parse().ok()?;
            let y = match y {
                92 => 1992,
                96 => 1996,
                0..=30 => 2000 + y,
                y => y,
            };
            return Self::YEARS.contains(&y).then_some(HsVintage(y));
        }
        if let Some(d) = s.strip_prefix('H') {
            let n: usize = d.parse().ok()?;
            return Self::YEARS.get(n).map(|y| HsVintage(*y));
        }
        None
    }

    /// The vintage named in a BACI file name (`BACI_HS17_Y2022_V202401.csv`).
    pub fn of_baci_name(name: &str) -> Option<HsVintage> {
        let i = name.find("_HS")?;
        let rest = &name[i + 1..];
        let end = rest.find('_').unwrap_or(rest.len());
        HsVintage::parse(&rest[..end])
    }
}

impl fmt::Display for HsVintage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HS{}", self.0)
    }
}

/// A group of the concordance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// The tier of the first row of the group (`1`, `3.A`), or empty.
    pub tier: String,
}

/// One row's claim: group index, vintages (empty for all) and line.
#[derive(Debug, Clone)]
struct Entry {
    group: u16,
    vintages: Vec<HsVintage>,
    line: u64,
}

/// How a code was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// Index into [`Products::groups`].
    pub group: u16,
    /// The code is listed only for another vintage than the file's.
    pub other_vintage: bool,
    /// The code is not in the concordance (it is in the default group).
    pub default: bool,
}

/// A validated concordance.
#[derive(Debug, Clone)]
pub struct Products {
    pub path: Option<PathBuf>,
    /// The groups in order of first appearance, the default group last.
    pub groups: Vec<Group>,
    default: u16,
    codes: HashMap<String, Vec<Entry>>,
}

impl Products {
    /// No concordance: every code in one group, named `default` (`total`).
    pub fn single(default: &str) -> Products {
        Products {
            path: None,
            groups: vec![Group {
                name: default.to_owned(),
                tier: String::new(),
            }],
            default: 0,
            codes: HashMap::new(),
        }
    }

    /// Reads a concordance CSV; codes not in it go to group `default`.
    pub fn read(path: &Path, default: &str) -> Result<Products, DataError> {
        const COLS: [&str; 6] = ["hs6", "group", "tier", "hs_vintage", "source", "note"];
        let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, "a concordance")?;
        let header = source::header(&mut rdr, path)?;
        let cols = source::columns(&header, &COLS, path, "")?;
        let mut groups: Vec<Group> = Vec::new();
        let mut codes: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut rec = csv::ByteRecord::new();
        while rdr
            .read_byte_record(&mut rec)
            .map_err(|e| source::csv_error(path, e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            let at = |k: usize| Location::field(path, line, cols[k] + 1, COLS[k]);
            let f = |k: usize| source::text(&rec, cols[k], path, line, COLS[k]);
            let hs6 = f(0)?;
            if hs6.len() != 6 || !hs6.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(DataError::at(
                    at(0),
                    format!("`{hs6}` is not a six-character HS code (write 854231, not 8542.31; keep leading zeros)"),
                ));
            }
            let group = f(1)?;
            if group.is_empty() {
                return Err(DataError::at(at(1), "empty group"));
            }
            if group == super::panel::TOTAL {
                return Err(DataError::at(
                    at(1),
                    "`total` is the product of all goods, not a group name",
                ));
            }
            let mut vintages = Vec::new();
            for v in f(3)?.split(';').map(str::trim).filter(|v| !v.is_empty()) {
                vintages.push(HsVintage::parse(v).ok_or_else(|| {
                    DataError::at(
                        at(3),
                        format!("`{v}` is not an HS vintage (HS1992 ... HS2022)"),
                    )
                })?);
            }
            if f(4)?.is_empty() {
                return Err(DataError::at(at(4), "every row needs its source"));
            }
            let g = match groups.iter().position(|x| x.name == group) {
                Some(g) => g as u16,
                None => {
                    groups.push(Group {
                        name: group.to_owned(),
                        tier: f(2)?.to_owned(),
                    });
                    groups.len() as u16 - 1
                }
            };
            let entries = codes.entry(hs6.to_owned()).or_default();
            for e in entries.iter() {
                let overlap = e.vintages.is_empty()
                    || vintages.is_empty()
                    || e.vintages.iter().any(|v| vintages.contains(v));
                if overlap && e.group != g {
                    return Err(DataError::at(
                        at(0),
                        format!(
                            "{hs6} is in group `{group}` here and in group `{}` at line {}; a code belongs to one group",
                            groups[e.group as usize].name, e.line
                        ),
                    ));
                }
            }
            entries.push(Entry {
                group: g,
                vintages,
                line,
            });
        }
        if groups.iter().any(|g| g.name == default) {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!("the default group `{default}` is also a group of the concordance; choose another name with --default-group"),
            });
        }
        groups.push(Group {
            name: default.to_owned(),
            tier: String::new(),
        });
        Ok(Products {
            path: Some(path.to_owned()),
            default: groups.len() as u16 - 1,
            groups,
            codes,
        })
    }

    /// The group of `code` in a file of vintage `vintage` (`None`: not known, any row).
    pub fn classify(&self, code: &str, vintage: Option<HsVintage>) -> Classified {
        let Some(entries) = self.codes.get(code) else {
            return Classified {
                group: self.default,
                other_vintage: false,
                default: true,
            };
        };
        let fits = |e: &&Entry| match vintage {
            None => true,
            Some(v) => e.vintages.is_empty() || e.vintages.contains(&v),
        };
        match entries.iter().find(fits) {
            Some(e) => Classified {
                group: e.group,
                other_vintage: false,
                default: false,
            },
            None => Classified {
                group: entries[0].group,
                other_vintage: true,
                default: false,
            },
        }
    }

    /// The name of group `g`.
    pub fn name(&self, g: u16) -> &str {
        &self.groups[g as usize].name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vintages_parse_from_every_spelling() {
        assert_eq!(HsVintage::parse("HS2017"), Some(HsVintage(2017)));
        assert_eq!(HsVintage::parse("HS17"), Some(HsVintage(2017)));
        assert_eq!(HsVintage::parse("H6"), Some(HsVintage(2022)));
        assert_eq!(HsVintage::parse("HS92"), Some(HsVintage(1992)));
        assert_eq!(HsVintage::parse("HS2018"), None);
        assert_eq!(
            HsVintage::of_baci_name("BACI_HS17_Y2022_V202401.csv"),
            Some(HsVintage(2017))
        );
    }
}
