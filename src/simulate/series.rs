//! Output series: their names, what each means and in which unit, and the list of every
//! series a scenario gives ([`catalog`]), which `--series`, `--output`, calibration targets
//! and `tradeflow series FILE` all read.
//!
//! # The grammar
//!
//! A series name is `SUBJECT.MEASURE[.ECONOMY]`, with no space and no comma, so that it can
//! be typed on a command line unquoted and used as a column name:
//!
//! | name | meaning | unit |
//! |---|---|---|
//! | `T.imports.final` | imports of the route target `T` by final destination, all origins and routes | the data's unit |
//! | `T.imports.direct_share` | share of `T.imports.final` that comes by the direct route | fraction (0 to 1) |
//! | `K.reexports.T` | goods routed through intermediary `K` that reach final buyers in `T` | the data's unit |
//! | `A-B.recorded.R` | the flow from `A` to `B` as `R`'s customs record it (`R` is `A`: exports) | the data's unit |
//! | `C.welfare_change_pct` (also `real_gdp_change_pct`, `foreign_exports_change_pct`) | a single counterfactual's change for economy `C` | percent |
//!
//! A yearly series has a value per year (`--output NAME@YEAR` picks one); a single
//! counterfactual's has one value. Every total is over all sectors.
//!
//! Before this grammar the names were phrases (`imports of RUS, final destination`,
//! `re-exports via KGZ to RUS`, `CHN->KGZ recorded by CHN`, `CAN welfare_change_pct`); they
//! are still what [`words`] gives for chart titles, and a phrase given where a name is
//! expected is answered with the name it now has ([`unknown_series`]).

use serde::Serialize;

use crate::scenario::Scenario;

/// The measures of a single counterfactual that are output series, per economy.
pub const COUNTRY_MEASURES: [&str; 3] = [
    "welfare_change_pct",
    "real_gdp_change_pct",
    "foreign_exports_change_pct",
];

/// One output series, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Series {
    /// `T.imports.final`.
    ImportsFinal { target: String },
    /// `T.imports.direct_share`.
    DirectShare { target: String },
    /// `K.reexports.T`.
    Reexports { hub: String, target: String },
    /// `A-B.recorded.R`.
    Recorded {
        exporter: String,
        importer: String,
        reporter: String,
    },
    /// `C.<measure>` of a single counterfactual.
    Country { country: String, measure: String },
}

impl Series {
    /// The series' name in the grammar of the module docs.
    pub fn name(&self) -> String {
        match self {
            Series::ImportsFinal { target } => format!("{target}.imports.final"),
            Series::DirectShare { target } => format!("{target}.imports.direct_share"),
            Series::Reexports { hub, target } => format!("{hub}.reexports.{target}"),
            Series::Recorded {
                exporter,
                importer,
                reporter,
            } => format!("{exporter}-{importer}.recorded.{reporter}"),
            Series::Country { country, measure } => format!("{country}.{measure}"),
        }
    }

    /// Reads a name back. Economy codes holding `.` or `-` can make a name ambiguous; the
    /// reading tried first wins (only chart defaults read names back; commands match names
    /// against [`catalog`] as whole strings).
    pub fn parse(name: &str) -> Option<Series> {
        if let Some(target) = name.strip_suffix(".imports.final") {
            return Some(Series::ImportsFinal {
                target: target.to_owned(),
            });
        }
        if let Some(target) = name.strip_suffix(".imports.direct_share") {
            return Some(Series::DirectShare {
                target: target.to_owned(),
            });
        }
        if let Some((hub, target)) = name.split_once(".reexports.") {
            return Some(Series::Reexports {
                hub: hub.to_owned(),
                target: target.to_owned(),
            });
        }
        if let Some((pair, reporter)) = name.split_once(".recorded.") {
            let (exporter, importer) = pair.split_once('-')?;
            return Some(Series::Recorded {
                exporter: exporter.to_owned(),
                importer: importer.to_owned(),
                reporter: reporter.to_owned(),
            });
        }
        let (country, measure) = name.rsplit_once('.')?;
        COUNTRY_MEASURES
            .contains(&measure)
            .then(|| Series::Country {
                country: country.to_owned(),
                measure: measure.to_owned(),
            })
    }

    /// The series in words, for chart titles and the console.
    pub fn words(&self) -> String {
        match self {
            Series::ImportsFinal { target } => format!("imports of {target}, final destination"),
            Series::DirectShare { target } => format!("direct share of imports of {target}"),
            Series::Reexports { hub, target } => format!("re-exports via {hub} to {target}"),
            Series::Recorded {
                exporter,
                importer,
                reporter,
            } => format!("{exporter}->{importer} recorded by {reporter}"),
            Series::Country { country, measure } => format!("{country} {measure}"),
        }
    }

    /// What the series measures, in a sentence.
    pub fn definition(&self) -> String {
        match self {
            Series::ImportsFinal { target } => format!(
                "imports of {target} by final destination: goods from every origin bought by final buyers in {target}, by any route, all sectors"
            ),
            Series::DirectShare { target } => format!(
                "share of {target}'s final-destination imports that comes by the direct route, all sectors"
            ),
            Series::Reexports { hub, target } => format!(
                "goods from every origin routed through {hub} that reach final buyers in {target} (re-exports by final destination), all sectors"
            ),
            Series::Recorded {
                exporter,
                importer,
                reporter,
            } => format!(
                "the flow {exporter}->{importer} as {reporter}'s customs record it{}, all sectors",
                if reporter == exporter {
                    " (its exports, transit through it included)"
                } else {
                    ""
                }
            ),
            Series::Country { country, measure } => format!(
                "`{measure}` of {country}: the full-GE counterfactual against the baseline (countries.csv)"
            ),
        }
    }

    /// The unit, given the data's.
    pub fn unit(&self, data_unit: &str) -> String {
        match self {
            Series::DirectShare { .. } => "fraction (0 to 1)".to_owned(),
            Series::Country { .. } => "percent".to_owned(),
            _ => data_unit.to_owned(),
        }
    }
}

/// A series name in words ([`Series::words`]); a name that does not parse as it is.
pub fn words(name: &str) -> String {
    Series::parse(name).map_or_else(|| name.to_owned(), |s| s.words())
}

/// One entry of [`catalog`]: what `tradeflow series FILE` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesInfo {
    pub name: String,
    pub definition: String,
    pub unit: String,
    /// First and last year of a yearly series; `None` for a single counterfactual's.
    pub years: Option<(i32, i32)>,
}

/// The unit of values in the data's unit when the scenario names none (`[data] unit`;
/// the roundabout scenarios say `USD bn`, gegravity's sample `USD mn`).
pub const DATA_UNIT: &str = "data unit";

/// The series of the key series a yearly run gives, in the order it gives them (for one
/// year): final imports, direct share, re-exports via each hub, then every pair into the
/// target or a hub as its exporter records it and as its importer does (exporter order,
/// then importer order, then the exporter's record before the importer's).
pub(crate) fn yearly_series(s: &Scenario) -> Vec<Series> {
    let Some(d) = &s.dynamics else {
        return Vec::new();
    };
    let Some(r) = &d.routes else {
        return Vec::new();
    };
    let eco = &s.data.economies;
    let target = eco.code(r.layout.target).to_owned();
    let mut out = vec![
        Series::ImportsFinal {
            target: target.clone(),
        },
        Series::DirectShare {
            target: target.clone(),
        },
    ];
    for &k in &r.layout.hubs {
        out.push(Series::Reexports {
            hub: eco.code(k).to_owned(),
            target: target.clone(),
        });
    }
    let mut watch = vec![r.layout.target];
    watch.extend(&r.layout.hubs);
    for a in 0..eco.len() {
        for b in 0..eco.len() {
            if a != b && watch.contains(&b) {
                // Both records of the link: the exporter's and the importer's customs see
                // different figures of one flow (transit, recorded shares, customs unions).
                for reporter in [a, b] {
                    out.push(Series::Recorded {
                        exporter: eco.code(a).to_owned(),
                        importer: eco.code(b).to_owned(),
                        reporter: eco.code(reporter).to_owned(),
                    });
                }
            }
        }
    }
    out
}

/// Every output series of a scenario, without running it: the key series of a yearly
/// scenario (each over its years), or each economy's [`COUNTRY_MEASURES`] for a single
/// counterfactual. The same names [`super::outputs`] gives values for (a test checks).
pub fn catalog(s: &Scenario) -> Vec<SeriesInfo> {
    let info = |x: &Series, years| SeriesInfo {
        name: x.name(),
        definition: x.definition(),
        unit: x.unit(s.unit()),
        years,
    };
    match &s.dynamics {
        Some(d) => yearly_series(s)
            .iter()
            .map(|x| info(x, Some((d.base_year, d.horizon))))
            .collect(),
        None => s
            .data
            .economies
            .codes()
            .iter()
            .flat_map(|c| {
                COUNTRY_MEASURES.iter().map(move |m| Series::Country {
                    country: c.clone(),
                    measure: (*m).to_owned(),
                })
            })
            .map(|x| info(&x, None))
            .collect(),
    }
}

/// Levenshtein distance between two strings, by characters, ignoring ASCII case:
/// the fewest insertions, deletions and substitutions that turn one into the other
/// (Wagner-Fischer, one row of the table at a time).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The valid names nearest to `name` (at most `k`, nearest first, ties in the given
/// order), by [`edit_distance`] to the name or to its words ([`Series::words`]), so that
/// an old-style phrase finds the name it now has.
pub fn nearest<'a>(name: &str, valid: &[&'a str], k: usize) -> Vec<&'a str> {
    let mut scored: Vec<(usize, usize, &str)> = valid
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                edit_distance(name, v).min(edit_distance(name, &words(v))),
                i,
                *v,
            )
        })
        .collect();
    scored.sort_unstable();
    let mut out: Vec<&str> = Vec::new();
    for (_, _, v) in scored {
        if out.len() == k {
            break;
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The message for a series that is not one of `valid`: the nearest names, and where the
/// list is (`tradeflow series FILE`).
pub fn unknown_series(name: &str, valid: &[&str]) -> String {
    let near = nearest(name, valid, 3);
    if near.is_empty() {
        return format!("no series `{name}`: this scenario has no output series");
    }
    format!(
        "no series `{name}`; nearest: `{}` (`tradeflow series FILE` lists every series)",
        near.join("`, `")
    )
}

/// Why `name` in `year` is not among a run's outputs (`None` when it is): a name no
/// series has (with the nearest ones), or a series that has no value in that year.
pub fn missing_output(
    outputs: &[(String, Option<i32>, f64)],
    name: &str,
    year: Option<i32>,
) -> Option<String> {
    if outputs.iter().any(|(n, y, _)| n == name && *y == year) {
        return None;
    }
    let mut valid: Vec<&str> = Vec::new();
    for (n, _, _) in outputs {
        if !valid.contains(&n.as_str()) {
            valid.push(n);
        }
    }
    Some(if valid.contains(&name) {
        match year {
            Some(y) => format!("series `{name}` has no value in {y}"),
            None => format!("series `{name}` is yearly: give NAME@YEAR"),
        }
    } else {
        unknown_series(name, &valid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_have_no_comma_or_space() {
        let all = [
            Series::ImportsFinal {
                target: "RUS".into(),
            },
            Series::DirectShare {
                target: "RUS".into(),
            },
            Series::Reexports {
                hub: "KGZ".into(),
                target: "RUS".into(),
            },
            Series::Recorded {
                exporter: "CHN".into(),
                importer: "KGZ".into(),
                reporter: "CHN".into(),
            },
            Series::Country {
                country: "CAN".into(),
                measure: "welfare_change_pct".into(),
            },
        ];
        let names: Vec<String> = all.iter().map(Series::name).collect();
        assert_eq!(
            names,
            [
                "RUS.imports.final",
                "RUS.imports.direct_share",
                "KGZ.reexports.RUS",
                "CHN-KGZ.recorded.CHN",
                "CAN.welfare_change_pct"
            ]
        );
        for (s, n) in all.iter().zip(&names) {
            assert_eq!(Series::parse(n).as_ref(), Some(s));
            assert!(!n.contains(',') && !n.contains(' '), "{n}");
        }
        assert_eq!(words("KGZ.reexports.RUS"), "re-exports via KGZ to RUS");
        assert_eq!(words("CHN-KGZ.recorded.CHN"), "CHN->KGZ recorded by CHN");
        assert_eq!(words("something else"), "something else");
        assert_eq!(Series::parse("CAN.no_such_measure"), None);
    }

    #[test]
    fn edit_distance_by_hand() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("RUS", "rus"), 0);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
    }

    #[test]
    fn suggestions_are_nearest_first_and_find_old_phrases() {
        let valid = [
            "RUS.imports.final",
            "KGZ.reexports.RUS",
            "KAZ.reexports.RUS",
            "CHN-KGZ.recorded.CHN",
        ];
        assert_eq!(
            nearest("KGZ.reexport.RUS", &valid, 2),
            ["KGZ.reexports.RUS", "KAZ.reexports.RUS"]
        );
        assert_eq!(
            nearest("re-exports via KGZ to RUS", &valid, 1),
            ["KGZ.reexports.RUS"]
        );
        assert_eq!(
            nearest("CHN->KGZ recorded by CHN", &valid, 1),
            ["CHN-KGZ.recorded.CHN"]
        );
        let m = unknown_series("RUS.imports.finall", &valid);
        assert!(
            m.starts_with("no series `RUS.imports.finall`; nearest: `RUS.imports.final`"),
            "{m}"
        );
        assert!(unknown_series("x", &[]).contains("no output series"));
    }
}
