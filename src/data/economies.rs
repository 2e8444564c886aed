//! The economies map (`economies.toml`): which codes of a data file make up each model
//! economy, by year.
//!
//! ```toml
//! name = "roundabout world"
//! rest = "ROW"            # every other ISO3 code (three letters) goes here
//! drop = ["W00", "S19"]   # codes left out on purpose (world totals, areas n.e.s.)
//!
//! [[economy]]
//! code = "RUS"            # members default to [code]
//!
//! [[economy]]
//! code = "EU"
//! source = "https://european-union.europa.eu/principles-countries-history/eu-countries_en"
//! members = ["BEL", "HRV 2013-", "GBR 1973-2020"]
//! ```
//!
//! A member is an ISO3 code or a BACI numeric country code (`"490"`), optionally followed by
//! the years it belongs: `"HRV 2013-"` from 2013, `"GBR 1973-2020"` from 1973 to 2020
//! inclusive, `"XXX -1991"` until 1991. Outside those years the code falls to `rest` (if it
//! is an ISO3 code) or is unknown. `rest` takes only codes of three letters: codes such as
//! `W00` (world), `_X` or `S19` (areas not elsewhere specified) must be mapped or dropped,
//! so that a world total is never summed into `ROW` unnoticed.
//!
//! Raw then validated: the TOML is read into [`RawMap`] (keys checked, unknown keys an error
//! with their line), then [`Economies::from_toml`] resolves members and checks that no code
//! belongs to two economies in the same year (a located error naming both places).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{DataError, Location};

/// `economies.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    rest: Option<Spanned<String>>,
    #[serde(default)]
    drop: Vec<Spanned<String>>,
    #[serde(default)]
    economy: Vec<RawEconomy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEconomy {
    code: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    members: Option<Vec<Spanned<String>>>,
}

/// What a code of a data file is in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// The model economy at this index of [`Economies::codes`].
    Economy(u16),
    /// Left out on purpose (`drop`).
    Dropped,
    /// Neither mapped nor dropped.
    Unknown,
}

/// One membership: economy index and the years, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Membership {
    economy: u16,
    from: i32,
    until: i32,
}

/// A validated economies map.
#[derive(Debug, Clone)]
pub struct Economies {
    pub path: PathBuf,
    pub name: Option<String>,
    pub source: Option<String>,
    /// The model economies in the map's order (`rest` last unless listed).
    pub codes: Vec<String>,
    /// Each economy's `name` and `source`, as the map gives them (same order as `codes`).
    pub about: Vec<(Option<String>, Option<String>)>,
    rest: Option<u16>,
    members: HashMap<String, Vec<Membership>>,
    drop: HashSet<String>,
}

/// Line and column (1-based) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (u64, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A code as a map may hold it: three letters (ISO3), a few digits (BACI numeric), or
/// another statistical code (`W00`, `_X`, `S19`); no spaces.
fn valid_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `code` is an ISO3-shaped code that `rest` may take.
pub fn is_iso3(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `"GBR 1973-2020"` -> (`GBR`, 1973, 2020).
fn parse_member(s: &str) -> Result<(String, i32, i32), String> {
    let mut parts = s.split_whitespace();
    let code = parts.next().unwrap_or("").to_owned();
    if !valid_code(&code) {
        return Err(format!(
            "`{s}` is not a code (ISO3 such as `DEU`, or a BACI numeric code such as `276`), optionally followed by years such as `2013-` or `1973-2020`"
        ));
    }
    let (from, until) = match parts.next() {
        None => (i32::MIN, i32::MAX),
        Some(years) => {
            let Some((a, b)) = years.split_once('-') else {
                return Err(format!(
                    "`{s}`: years `{years}` are not `FROM-`, `FROM-UNTIL` or `-UNTIL`"
                ));
            };
            let year = |y: &str, none: i32| -> Result<i32, String> {
                if y.is_empty() {
                    Ok(none)
                } else {
                    y.parse::<i32>()
                        .ok()
                        .filter(|y| (1000..=9999).contains(y))
                        .ok_or_else(|| format!("`{s}`: `{y}` is not a year"))
                }
            };
            let (from, until) = (year(a, i32::MIN)?, year(b, i32::MAX)?);
            if from > until {
                return Err(format!("`{s}`: {from} is after {until}"));
            }
            (from, until)
        }
    };
    if let Some(extra) = parts.next() {
        return Err(format!("`{s}`: unexpected `{extra}`"));
    }
    Ok((code, from, until))
}

fn years_text(from: i32, until: i32) -> String {
    match (from, until) {
        (i32::MIN, i32::MAX) => "all years".into(),
        (i32::MIN, u) => format!("until {u}"),
        (f, i32::MAX) => format!("from {f}"),
        (f, u) => format!("{f}-{u}"),
    }
}

impl Economies {
    /// Reads and validates `path` (a regular TOML file of at most 4 MiB).
    pub fn read(path: &Path) -> Result<Economies, DataError> {
        let text = crate::input::read_text(path, crate::input::InputKind::Scenario)?;
        Economies::from_toml(&text, path)
    }

    /// Validates the text of an economies map read from `path`.
    pub fn from_toml(text: &str, path: &Path) -> Result<Economies, DataError> {
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = line_col(text, span.start);
            Location::field(path, line, col, "")
        };
        let de = toml::Deserializer::new(text);
        let raw: RawMap = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (line, col) = inner.span().map_or((1, 1), |s| line_col(text, s.start));
            DataError::at(
                Location::field(path, line, col, ""),
                format!("`{key}`: {}", inner.message()),
            )
        })?;
        let mut codes: Vec<String> = Vec::new();
        let mut about = Vec::new();
        let mut members: HashMap<String, Vec<Membership>> = HashMap::new();
        // Where each membership was written, for messages.
        let mut written: HashMap<(String, usize), Location> = HashMap::new();
        let mut problems: Vec<String> = Vec::new();
        for (k, e) in raw.economy.iter().enumerate() {
            let code = e.code.get_ref().trim().to_owned();
            if !valid_code(&code) {
                problems.push(format!(
                    "{}: `economy[{k}].code`: `{code}` is not a code",
                    at(e.code.span())
                ));
                continue;
            }
            if codes.contains(&code) {
                problems.push(format!(
                    "{}: `economy[{k}].code`: economy `{code}` is listed twice",
                    at(e.code.span())
                ));
                continue;
            }
            let idx = codes.len() as u16;
            codes.push(code.clone());
            about.push((e.name.clone(), e.source.clone()));
            let list: Vec<(String, i32, i32, std::ops::Range<usize>)> = match &e.members {
                None => vec![(code.clone(), i32::MIN, i32::MAX, e.code.span())],
                Some(ms) => {
                    let mut v = Vec::new();
                    for (m, s) in ms.iter().enumerate() {
                        match parse_member(s.get_ref()) {
                            Ok((c, f, u)) => v.push((c, f, u, s.span())),
                            Err(msg) => problems.push(format!(
                                "{}: `economy[{k}].members[{m}]`: {msg}",
                                at(s.span())
                            )),
                        }
                    }
                    v
                }
            };
            for (c, from, until, span) in list {
                let here = at(span);
                let entry = members.entry(c.clone()).or_default();
                for (n, other) in entry.iter().enumerate() {
                    if other.from <= until && from <= other.until {
                        let there = &written[&(c.clone(), n)];
                        problems.push(format!(
                            "{here}: `{c}` ({}) is mapped to `{code}` and to `{}` (line {}, column {}, {}); a code belongs to one economy in a year",
                            years_text(from, until),
                            codes[other.economy as usize],
                            there.line,
                            there.column.as_ref().map_or(0, |c| c.0),
                            years_text(other.from, other.until),
                        ));
                    }
                }
                written.insert((c.clone(), entry.len()), here);
                entry.push(Membership {
                    economy: idx,
                    from,
                    until,
                });
            }
        }
        let mut drop = HashSet::new();
        for (k, d) in raw.drop.iter().enumerate() {
            let c = d.get_ref().trim().to_owned();
            if !valid_code(&c) {
                problems.push(format!(
                    "{}: `drop[{k}]`: `{c}` is not a code",
                    at(d.span())
                ));
            } else if let Some(m) = members.get(&c) {
                problems.push(format!(
                    "{}: `drop[{k}]`: `{c}` is dropped and also mapped to `{}`",
                    at(d.span()),
                    codes[m[0].economy as usize]
                ));
            } else {
                drop.insert(c);
            }
        }
        let rest = match &raw.rest {
            None => None,
            Some(r) => {
                let c = r.get_ref().trim().to_owned();
                if !valid_code(&c) {
                    problems.push(format!("{}: `rest`: `{c}` is not a code", at(r.span())));
                    None
                } else if let Some(i) = codes.iter().position(|x| *x == c) {
                    Some(i as u16)
                } else {
                    codes.push(c);
                    about.push((Some("everyone else (`rest`)".to_owned()), None));
                    Some(codes.len() as u16 - 1)
                }
            }
        };
        if codes.is_empty() {
            problems.push(format!(
                "{}: no economies (add `[[economy]]` entries or `rest`)",
                path.display()
            ));
        }
        if codes.len() > u16::MAX as usize - 1 {
            problems.push(format!("{}: too many economies", path.display()));
        }
        if !problems.is_empty() {
            return Err(DataError::File {
                path: path.to_owned(),
                message: format!(
                    "{} problem{} in the economies map:\n  {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems.join("\n  ")
                ),
            });
        }
        Ok(Economies {
            path: path.to_owned(),
            name: raw.name,
            source: raw.source,
            codes,
            about,
            rest,
            members,
            drop,
        })
    }

    /// What `code` is in `year`.
    pub fn resolve(&self, code: &str, year: i32) -> Resolved {
        if let Some(ms) = self.members.get(code) {
            if let Some(m) = ms.iter().find(|m| m.from <= year && year <= m.until) {
                return Resolved::Economy(m.economy);
            }
        }
        if self.drop.contains(code) {
            return Resolved::Dropped;
        }
        match self.rest {
            Some(r) if is_iso3(code) => Resolved::Economy(r),
            _ => Resolved::Unknown,
        }
    }

    /// Whether the map lists `code` (as a member in some year, or dropped).
    pub fn lists(&self, code: &str) -> bool {
        self.members.contains_key(code) || self.drop.contains(code)
    }

    /// A BACI numeric code with its ISO3 code from the country table: the numeric code if the
    /// map lists it, else the ISO3 code.
    pub fn resolve_numeric(&self, numeric: &str, iso3: Option<&str>, year: i32) -> Resolved {
        if self.lists(numeric) {
            return self.resolve(numeric, year);
        }
        match iso3 {
            Some(c) => self.resolve(c, year),
            None => Resolved::Unknown,
        }
    }

    /// The model economy at `idx`.
    pub fn code(&self, idx: u16) -> &str {
        &self.codes[idx as usize]
    }

    /// The name of the `rest` economy, if any.
    pub fn rest(&self) -> Option<&str> {
        self.rest.map(|r| self.code(r))
    }

    /// The codes that make up `economy` in `year` (sorted), `rest` not expanded.
    pub fn members_of(&self, economy: &str, year: i32) -> Vec<&str> {
        let Some(idx) = self.codes.iter().position(|c| c == economy) else {
            return Vec::new();
        };
        let mut v: Vec<&str> = self
            .members
            .iter()
            .filter(|(_, ms)| {
                ms.iter()
                    .any(|m| m.economy as usize == idx && m.from <= year && year <= m.until)
            })
            .map(|(c, _)| c.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"
rest = "ROW"
drop = ["W00"]

[[economy]]
code = "EU"
members = ["DEU", "HRV 2013-", "GBR 1973-2020"]

[[economy]]
code = "GBR"
members = ["GBR 2021-"]

[[economy]]
code = "KGZ"
"#;

    #[test]
    fn members_by_year_rest_and_drop() {
        let m = Economies::from_toml(MAP, Path::new("e.toml")).unwrap();
        assert_eq!(m.codes, ["EU", "GBR", "KGZ", "ROW"]);
        assert_eq!(m.resolve("GBR", 2020), Resolved::Economy(0));
        assert_eq!(m.resolve("GBR", 2021), Resolved::Economy(1));
        assert_eq!(m.resolve("HRV", 2012), Resolved::Economy(3));
        assert_eq!(m.resolve("HRV", 2013), Resolved::Economy(0));
        assert_eq!(m.resolve("W00", 2013), Resolved::Dropped);
        assert_eq!(m.resolve("S19", 2013), Resolved::Unknown);
        assert_eq!(m.members_of("EU", 2019), ["DEU", "GBR", "HRV"]);
    }

    #[test]
    fn a_code_in_two_economies_names_both_places() {
        let text = MAP.replace("GBR 2021-", "GBR 2019-");
        let e = Economies::from_toml(&text, Path::new("e.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("e.toml, line 11, column"), "{e}");
        assert!(
            e.contains("`GBR` (from 2019) is mapped to `GBR` and to `EU` (line 7"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_located() {
        let e = Economies::from_toml(
            "[[economy]]\ncode = \"A\"\nmembres = []\n",
            Path::new("e.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("membres"), "{e}");
    }
}
