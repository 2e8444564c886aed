//! The trade-cost variables of a world builder: distance between capitals, contiguity,
//! common language and shared trade agreements, from four shipped tables
//! (`scenarios/data/capitals.csv`, `contiguity.csv`, `languages.csv`, `agreements.csv`,
//! documented in `scenarios/data/README.md`), each row with its source.
//!
//! A model economy stands for the codes of a table that the economies map sends to it in
//! the year (`EU` for the EU-27 member states, `ROW` for every other code). For each table,
//! an economy that the table lists under its own code (`EU` in `capitals.csv`: Brussels) is
//! that row alone; otherwise it is its members' rows. So:
//!
//! - `lndist`: ln of the mean great-circle distance (km) between the economies' points, over
//!   every pair of points (one point for an economy with its own row, its members' capitals
//!   otherwise: `ROW` is the mean over the capitals the table lists for it). An economy with
//!   no point at all is an error;
//! - `contiguity`: 1 if some member of one shares a land border with some member of the other;
//! - `common_language`: 1 if some member of one shares an official language with some member
//!   of the other (an economy without any language row is an error);
//! - `pta`: 1 if both are covered by one agreement in force in the year (a trade agreement,
//!   customs union or economic union); a party covers an economy if it is the economy or one
//!   of its members.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::economies::{Economies, Resolved};
use super::source::{self, MAX_TABLE_BYTES};
use super::{DataError, Location};

/// The names of the variables, in the order of [`PairVariables::values`].
pub const VARIABLES: [&str; 4] = ["lndist", "contiguity", "common_language", "pta"];

/// The file names of the four tables in a geography folder.
pub const TABLES: [&str; 4] = [
    "capitals.csv",
    "contiguity.csv",
    "languages.csv",
    "agreements.csv",
];

/// Mean Earth radius (km), IUGG.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// One party to an agreement, in force from `from` to `until` inclusive.
#[derive(Debug, Clone)]
struct Party {
    agreement: String,
    party: String,
    from: i32,
    until: i32,
}

/// The four tables, read and checked.
#[derive(Debug, Clone)]
pub struct Geography {
    /// The folder the tables were read from.
    pub dir: PathBuf,
    /// code -> (latitude, longitude) in degrees.
    capitals: HashMap<String, (f64, f64)>,
    /// Unordered pairs sharing a land border (stored both ways).
    borders: HashSet<(String, String)>,
    /// code -> official languages.
    languages: HashMap<String, BTreeSet<String>>,
    agreements: Vec<Party>,
}

/// The variables of every ordered pair of a map's economies in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct PairVariables {
    /// The economies, in the map's order.
    pub codes: Vec<String>,
    /// Row-major `i * n + j`, one value per [`VARIABLES`]; the diagonal is all zeros (the
    /// tables describe pairs of distinct economies).
    pub values: Vec<[f64; 4]>,
    /// What each economy's point is, for the output's notes (`own row`, `mean of 23
    /// capitals`).
    pub points: Vec<String>,
}

impl PairVariables {
    /// The variables of `i -> j`.
    pub fn get(&self, i: usize, j: usize) -> [f64; 4] {
        self.values[i * self.codes.len() + j]
    }
}

/// Great-circle distance in km between two points given in degrees (haversine formula,
/// Sinnott 1984, "Virtues of the Haversine", Sky and Telescope 68(2)).
pub fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Reads `path`'s rows as text fields of `columns` (each required), with their lines; an
/// empty `source` is an error at its column.
fn read_table(
    path: &Path,
    columns: &[&str],
    what: &'static str,
) -> Result<Vec<(u64, Vec<String>)>, DataError> {
    let mut rdr = source::csv_reader(path, MAX_TABLE_BYTES, what)?;
    let header = source::header(&mut rdr, path)?;
    let cols = source::columns(&header, columns, path, "")?;
    let src = columns.iter().position(|c| *c == "source");
    let mut rows = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| source::csv_error(path, e))?
    {
        let line = rec.position().map_or(0, |p| p.line());
        let mut fields = Vec::with_capacity(columns.len());
        for (k, name) in columns.iter().enumerate() {
            fields.push(source::text(&rec, cols[k], path, line, name)?.to_owned());
        }
        if let Some(s) = src {
            if fields[s].is_empty() {
                return Err(DataError::at(
                    Location::field(path, line, cols[s] + 1, "source"),
                    "every row needs its source",
                ));
            }
        }
        rows.push((line, fields));
    }
    Ok(rows)
}

fn field_at(path: &Path, line: u64, header: &[&str], name: &str) -> Location {
    // The tables are read by name; the column number is the name's place in the
    // documented layout, which is how the shipped files are written.
    let col = header.iter().position(|c| *c == name).map_or(0, |c| c + 1);
    Location::field(path, line, col, name)
}

impl Geography {
    /// Reads the four tables of `dir` ([`TABLES`]).
    pub fn read(dir: &Path) -> Result<Geography, DataError> {
        let p = |name: &str| dir.join(name);

        let cap_cols = ["code", "lat", "lon", "source"];
        let path = p(TABLES[0]);
        let mut capitals = HashMap::new();
        let mut cap_lines: HashMap<String, u64> = HashMap::new();
        for (line, f) in read_table(&path, &cap_cols, "a capitals table")? {
            let num = |k: usize, lo: f64, hi: f64| -> Result<f64, DataError> {
                f[k].parse::<f64>()
                    .ok()
                    .filter(|v| (lo..=hi).contains(v))
                    .ok_or_else(|| {
                        DataError::at(
                            field_at(&path, line, &cap_cols, cap_cols[k]),
                            format!("`{}` is not a number between {lo} and {hi} (degrees)", f[k]),
                        )
                    })
            };
            let (lat, lon) = (num(1, -90.0, 90.0)?, num(2, -180.0, 180.0)?);
            if let Some(first) = cap_lines.insert(f[0].clone(), line) {
                return Err(DataError::at(
                    field_at(&path, line, &cap_cols, "code"),
                    format!("`{}` is also given at line {first}", f[0]),
                ));
            }
            capitals.insert(f[0].clone(), (lat, lon));
        }

        let mut borders = HashSet::new();
        for (_, f) in read_table(&p(TABLES[1]), &["a", "b", "source"], "a contiguity table")? {
            borders.insert((f[0].clone(), f[1].clone()));
            borders.insert((f[1].clone(), f[0].clone()));
        }

        let mut languages: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (_, f) in read_table(
            &p(TABLES[2]),
            &["code", "language", "source"],
            "a languages table",
        )? {
            languages
                .entry(f[0].clone())
                .or_default()
                .insert(f[1].clone());
        }

        let ag_cols = ["agreement", "party", "from", "until", "source"];
        let path = p(TABLES[3]);
        let mut agreements = Vec::new();
        for (line, f) in read_table(&path, &ag_cols, "an agreements table")? {
            let year = |k: usize, none: i32| -> Result<i32, DataError> {
                if f[k].is_empty() && k == 3 {
                    return Ok(none);
                }
                f[k].parse::<i32>().map_err(|_| {
                    DataError::at(
                        field_at(&path, line, &ag_cols, ag_cols[k]),
                        format!("`{}` is not a year", f[k]),
                    )
                })
            };
            let (from, until) = (year(2, i32::MIN)?, year(3, i32::MAX)?);
            if from > until {
                return Err(DataError::at(
                    field_at(&path, line, &ag_cols, "until"),
                    format!("{until} is before `from` {from}"),
                ));
            }
            agreements.push(Party {
                agreement: f[0].clone(),
                party: f[1].clone(),
                from,
                until,
            });
        }
        Ok(Geography {
            dir: dir.to_owned(),
            capitals,
            borders,
            languages,
            agreements,
        })
    }

    /// The codes of a table (`listed`) that stand for economy `e` of `map` in `year`: `e`
    /// itself if listed, else the listed codes the map sends to `e`, sorted.
    fn codes_of<'a>(
        listed: impl Iterator<Item = &'a String>,
        e: usize,
        map: &Economies,
        year: i32,
    ) -> Vec<String> {
        let code = &map.codes[e];
        let mut members = Vec::new();
        for c in listed {
            if c == code {
                return vec![c.clone()];
            }
            // A table row of an aggregate of its own (XOC) stands for that economy only;
            // in a map without it, its members' rows are what counts.
            if is_user_assigned(c) {
                continue;
            }
            if map.resolve(c, year) == Resolved::Economy(e as u16) {
                members.push(c.clone());
            }
        }
        members.sort_unstable();
        members.dedup();
        members
    }

    /// The variables of every pair of `map`'s economies in `year`. An economy without a
    /// point (`capitals.csv`) or without a language (`languages.csv`) is an error naming the
    /// table.
    pub fn variables(&self, map: &Economies, year: i32) -> Result<PairVariables, DataError> {
        let n = map.codes.len();
        let parties: HashSet<&String> = self.agreements.iter().map(|a| &a.party).collect();
        let mut points = Vec::with_capacity(n);
        let mut langs = Vec::with_capacity(n);
        let mut border_codes = Vec::with_capacity(n);
        let mut party_codes = Vec::with_capacity(n);
        let border_listed: HashSet<&String> = self.borders.iter().map(|(a, _)| a).collect();
        let mut missing = Vec::new();
        for e in 0..n {
            let code = &map.codes[e];
            let pts = Self::codes_of(self.capitals.keys(), e, map, year);
            let lg = Self::codes_of(self.languages.keys(), e, map, year);
            if pts.is_empty() {
                missing.push(format!(
                    "`{code}` has no capital in {} (add a row for {code}, an aggregate's chosen capital, or rows for its members)",
                    self.dir.join(TABLES[0]).display()
                ));
            }
            if lg.is_empty() {
                missing.push(format!(
                    "`{code}` has no language in {}",
                    self.dir.join(TABLES[2]).display()
                ));
            }
            points.push(pts);
            langs.push(lg);
            border_codes.push(Self::codes_of(border_listed.iter().copied(), e, map, year));
            party_codes.push(Self::codes_of(parties.iter().copied(), e, map, year));
        }
        if !missing.is_empty() {
            return Err(DataError::File {
                path: self.dir.clone(),
                message: format!(
                    "geography for the map {} in {year}: {}",
                    map.path.display(),
                    missing.join("; ")
                ),
            });
        }
        // The agreements in force each economy takes part in.
        let in_force: Vec<HashSet<&str>> = party_codes
            .iter()
            .map(|codes| {
                self.agreements
                    .iter()
                    .filter(|a| a.from <= year && year <= a.until && codes.contains(&a.party))
                    .map(|a| a.agreement.as_str())
                    .collect()
            })
            .collect();
        let mut values = vec![[0.0; 4]; n * n];
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let mut sum = 0.0;
                let mut count = 0usize;
                for a in &points[i] {
                    for b in &points[j] {
                        sum += great_circle_km(self.capitals[a], self.capitals[b]);
                        count += 1;
                    }
                }
                // Two economies at one point (a capital shared by a table's rows) would
                // give ln 0; a floor of 1 km keeps the variable finite.
                let lndist = (sum / count as f64).max(1.0).ln();
                let contiguity = border_codes[i].iter().any(|a| {
                    border_codes[j]
                        .iter()
                        .any(|b| self.borders.contains(&(a.clone(), b.clone())))
                });
                let language = langs[i].iter().any(|a| {
                    langs[j]
                        .iter()
                        .any(|b| !self.languages[a].is_disjoint(&self.languages[b]))
                });
                let pta = !in_force[i].is_disjoint(&in_force[j]);
                values[i * n + j] = [
                    lndist,
                    f64::from(u8::from(contiguity)),
                    f64::from(u8::from(language)),
                    f64::from(u8::from(pta)),
                ];
            }
        }
        let points = points
            .iter()
            .enumerate()
            .map(|(e, p)| {
                if p.len() == 1 && p[0] == map.codes[e] {
                    format!("{}: own row", map.codes[e])
                } else {
                    format!("{}: mean over {} capitals", map.codes[e], p.len())
                }
            })
            .collect();
        Ok(PairVariables {
            codes: map.codes.clone(),
            values,
            points,
        })
    }

    /// The paths of the four tables, for a command's list of inputs.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        TABLES.iter().map(|t| dir.join(t)).collect()
    }
}

/// Whether `code` is in a range ISO 3166-1 leaves to users (AAA-AAZ, QMA-QZZ, XAA-XZZ,
/// ZZA-ZZZ): never a country, the codes analysts give their own aggregates (`XOC`).
fn is_user_assigned(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    matches!(
        (b[0], b[1]),
        (b'A', b'A') | (b'Q', b'M'..=b'Z') | (b'X', _) | (b'Z', b'Z')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_assigned_codes_are_aggregates_not_countries() {
        for c in ["XOC", "AAA", "QMA", "QZZ", "ZZZ"] {
            assert!(is_user_assigned(c), "{c}");
        }
        for c in ["RUS", "QAT", "ZWE", "ABW", "EU", "xoc", "XO"] {
            assert!(!is_user_assigned(c), "{c}");
        }
    }

    #[test]
    fn great_circle_distance_of_known_pairs() {
        // A quarter of a meridian: pi/2 * R.
        let q = great_circle_km((0.0, 0.0), (90.0, 0.0));
        assert!((q - std::f64::consts::FRAC_PI_2 * EARTH_RADIUS_KM).abs() < 1e-9);
        assert_eq!(great_circle_km((10.0, 20.0), (10.0, 20.0)), 0.0);
        // Moscow-Beijing is about 5 800 km.
        let d = great_circle_km((55.75, 37.62), (39.92, 116.38));
        assert!((5700.0..5900.0).contains(&d), "{d}");
    }

    #[test]
    fn shipped_tables_give_the_roundabout_world_its_variables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data");
        let geo = Geography::read(&root).unwrap();
        let map = Economies::read(&root.join("economies.toml")).unwrap();
        let v = geo.variables(&map, 2021).unwrap();
        let at = |a: &str, b: &str| {
            let i = map.codes.iter().position(|c| c == a).unwrap();
            let j = map.codes.iter().position(|c| c == b).unwrap();
            v.get(i, j)
        };
        assert_eq!(at("RUS", "KAZ")[1..], [1.0, 1.0, 1.0]);
        assert_eq!(at("KAZ", "KGZ")[3], 1.0);
        assert_eq!(at("CHN", "KGZ")[1..], [1.0, 0.0, 0.0]);
        // The EU is Brussels: EU-RUS borders through Finland and the Baltics.
        assert_eq!(at("EU", "RUS")[1], 1.0);
        assert_eq!(at("EU", "TUR")[3], 1.0);
        assert_eq!(at("EU", "TUR")[3], at("TUR", "EU")[3]);
        // ROW is the mean over the capitals the map sends to it.
        let row = v.points.iter().find(|p| p.starts_with("ROW")).unwrap();
        assert!(row.contains("mean over"), "{row}");
        assert!(v.values.iter().all(|x| x.iter().all(|v| v.is_finite())));
    }
}
