//! Helpers shared by the integration tests.
// Helpers are used by some modules only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A CSV file as rows of column -> text.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A numeric field of a CSV row.
pub fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .parse()
        .unwrap_or_else(|e| panic!("column {col}: {e}"))
}

/// `|a - b| / |b|`, or `|a - b|` where `b` is zero.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        (a - b).abs()
    } else {
        ((a - b) / b).abs()
    }
}

/// `[data]` with the inline flows of four economies (ORG, HUB, TGT, OTH; HUB a hub between
/// ORG and TGT) that small test scenarios share: `concat!` it into a scenario's text.
macro_rules! four_economy_flows {
    () => {
        r#"[data]
flows = [
    { exporter = "ORG", importer = "ORG", value = 100.0 },
    { exporter = "ORG", importer = "HUB", value = 4.0 },
    { exporter = "ORG", importer = "TGT", value = 12.0 },
    { exporter = "ORG", importer = "OTH", value = 10.0 },
    { exporter = "HUB", importer = "ORG", value = 2.0 },
    { exporter = "HUB", importer = "HUB", value = 30.0 },
    { exporter = "HUB", importer = "TGT", value = 3.0 },
    { exporter = "HUB", importer = "OTH", value = 1.0 },
    { exporter = "TGT", importer = "ORG", value = 8.0 },
    { exporter = "TGT", importer = "HUB", value = 2.0 },
    { exporter = "TGT", importer = "TGT", value = 80.0 },
    { exporter = "TGT", importer = "OTH", value = 6.0 },
    { exporter = "OTH", importer = "ORG", value = 9.0 },
    { exporter = "OTH", importer = "HUB", value = 1.0 },
    { exporter = "OTH", importer = "TGT", value = 5.0 },
    { exporter = "OTH", importer = "OTH", value = 150.0 },
]
"#
    };
}
pub(crate) use four_economy_flows;
