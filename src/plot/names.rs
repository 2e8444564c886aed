//! Economy names for chart text, from the shipped names table
//! (`scenarios/data/names.csv`: `code,name,short,source`, compiled in).
//!
//! One rule, used by every chart: titles, subtitles, legends and labels with room name an
//! economy by its `name` (`Kyrgyzstan`); places with no room (heatmap axes and cells, the
//! route diagram's nodes, the CSVs beside the charts) keep the code. A code the table
//! lacks is shown as itself, so a user's own economies still draw.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The shipped table, as text.
pub const NAMES_CSV: &str = include_str!("../../scenarios/data/names.csv");

/// One row of the names table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EconomyName {
    pub code: String,
    pub name: String,
    pub short: String,
    pub source: String,
}

/// The rows of a names table, each checked: a header `code,name,short,source`, no empty
/// field, no code twice. Errors name the line.
pub fn parse_names(text: &str) -> Result<Vec<EconomyName>, String> {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header = rd.headers().map_err(|e| e.to_string())?.clone();
    if header.iter().collect::<Vec<_>>() != ["code", "name", "short", "source"] {
        return Err(format!(
            "names table, line 1: header is `{}`, expected `code,name,short,source`",
            header.iter().collect::<Vec<_>>().join(",")
        ));
    }
    let mut out: Vec<EconomyName> = Vec::new();
    for (k, row) in rd.deserialize::<EconomyName>().enumerate() {
        let line = k + 2;
        let row = row.map_err(|e| format!("names table, line {line}: {e}"))?;
        for (field, v) in [
            ("code", &row.code),
            ("name", &row.name),
            ("short", &row.short),
            ("source", &row.source),
        ] {
            if v.trim().is_empty() {
                return Err(format!("names table, line {line}: `{field}` is empty"));
            }
        }
        if out.iter().any(|r| r.code == row.code) {
            return Err(format!(
                "names table, line {line}: code `{}` is listed twice",
                row.code
            ));
        }
        out.push(row);
    }
    Ok(out)
}

fn table() -> &'static BTreeMap<String, EconomyName> {
    static TABLE: OnceLock<BTreeMap<String, EconomyName>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The shipped table is checked by a unit test; were it ever broken, codes are shown.
        parse_names(NAMES_CSV)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.code.clone(), r))
            .collect()
    })
}

/// The economy's name (`Kyrgyzstan`), or the code itself when the table lacks it.
pub fn name(code: &str) -> String {
    table()
        .get(code)
        .map_or_else(|| code.to_owned(), |r| r.name.clone())
}

/// The economy's short name (`US`, `Rest of world`), or the code.
pub fn short(code: &str) -> String {
    table()
        .get(code)
        .map_or_else(|| code.to_owned(), |r| r.short.clone())
}

/// Every three-or-more capital-letter code in `s` that the table knows replaced by its
/// name, `->` by an arrow: for series words such as `re-exports via KGZ to RUS`.
pub fn named_text(s: &str) -> String {
    replace_codes(s, name)
}

/// As [`named_text`], with short names (`US`, `UAE`): for row labels and nodes.
pub fn short_text(s: &str) -> String {
    replace_codes(s, short)
}

fn replace_codes(s: &str, name: fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() >= 2 && table().contains_key(word.as_str()) {
            out.push_str(&name(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out.replace("->", "→")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_reads_and_names_every_bundled_code() {
        let rows = parse_names(NAMES_CSV).unwrap();
        assert!(rows.len() > 60);
        for code in [
            "CHN", "RUS", "KAZ", "KGZ", "TJK", "ARM", "BLR", "IND", "EU", "USA", "ROW", "ORG",
            "HUB", "TGT", "OTH", "ALP", "BET", "CAN", "JPN",
        ] {
            assert!(rows.iter().any(|r| r.code == code), "{code} missing");
        }
        assert_eq!(name("KGZ"), "Kyrgyzstan");
        assert_eq!(short("USA"), "US");
        assert_eq!(name("XYZ"), "XYZ");
    }

    #[test]
    fn names_replace_codes_in_words() {
        assert_eq!(
            named_text("re-exports via KGZ to RUS"),
            "re-exports via Kyrgyzstan to Russia"
        );
        assert_eq!(
            named_text("CHN->KGZ recorded by CHN"),
            "China→Kyrgyzstan recorded by China"
        );
        assert_eq!(named_text("USD bn of ROW"), "USD bn of Rest of world");
        assert_eq!(
            short_text("re-exports via ARE to RUS"),
            "re-exports via UAE to Russia"
        );
    }

    #[test]
    fn bad_tables_name_the_line() {
        let e = parse_names("code,name\nA,B\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_names("code,name,short,source\nA,B,C,D\nA,B,C,D\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("twice"), "{e}");
        let e = parse_names("code,name,short,source\nA,,C,D\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("`name`"), "{e}");
    }
}
