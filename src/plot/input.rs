//! Reading a results folder back: the CSV and JSON files a yearly run or a comparison wrote,
//! parsed into plain rows with every problem located (file, line, column).
//!
//! The charts are always drawn from these files, whether they come from disk (`tradeflow
//! plot DIR`) or straight from the bytes a run is about to write, so a re-drawn chart is the
//! chart the run made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::PlotError;

/// The files of one results folder, by name.
#[derive(Debug, Clone)]
pub struct Folder {
    dir: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
}

/// What a results folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// `tradeflow run` on a scenario with `[years]`.
    YearRun,
    /// `tradeflow compare`.
    Compare,
    /// The `montecarlo/` folder of `tradeflow run --draws N` (or of `tradeflow merge`).
    MonteCarlo,
    /// The folder `tradeflow calibrate` writes its fit report into.
    Calibration,
    /// The `sweep/` folder of `tradeflow sweep` (or of `tradeflow merge`).
    Sweep,
}

/// The files charts are drawn from.
const KNOWN: [&str; 20] = [
    "run.json",
    "flows_total.csv",
    "recorded_total.csv",
    "routes_total.csv",
    "reexports_total.csv",
    "compare.csv",
    "differences.csv",
    "final_flows.csv",
    "recorded_flows.csv",
    "scenarios.csv",
    "scenario_instruments.csv",
    "montecarlo.csv",
    "montecarlo.json",
    "posterior.json",
    "observed.csv",
    "fit.csv",
    "parameters.csv",
    "calibration.json",
    "tornado.csv",
    "sweep.json",
];

impl Folder {
    /// Reads the chart inputs of the folder `dir` from disk.
    pub fn read(dir: &Path) -> Result<Self, PlotError> {
        if !dir.is_dir() {
            return Err(PlotError::MissingFolder {
                path: dir.to_owned(),
            });
        }
        let mut files = BTreeMap::new();
        for name in KNOWN {
            let path = dir.join(name);
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| PlotError::Read {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                files.insert(name.to_owned(), bytes);
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            files,
        })
    }

    /// A folder made of files held in memory (what a run is about to write into `dir`).
    pub fn from_files(dir: &Path, files: &[(&str, Vec<u8>)]) -> Self {
        Self {
            dir: dir.to_owned(),
            files: files
                .iter()
                .filter(|(n, _)| KNOWN.contains(n))
                .map(|(n, b)| ((*n).to_owned(), b.clone()))
                .collect(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Whether the CSV file `name` is present and its header names `column`.
    pub(crate) fn header_has(&self, name: &str, column: &str) -> bool {
        self.files.get(name).is_some_and(|b| {
            csv::Reader::from_reader(b.as_slice())
                .headers()
                .is_ok_and(|h| h.iter().any(|c| c == column))
        })
    }

    /// Which kind of results folder this is, from the files present.
    pub fn kind(&self) -> Result<FolderKind, PlotError> {
        if self.has("compare.csv") {
            return Ok(FolderKind::Compare);
        }
        if self.has("run.json") {
            return Ok(FolderKind::YearRun);
        }
        if self.has("montecarlo.csv") || self.has("montecarlo.json") {
            return Ok(FolderKind::MonteCarlo);
        }
        if self.has("fit.csv") || self.has("calibration.json") {
            return Ok(FolderKind::Calibration);
        }
        if self.has("tornado.csv") || self.has("sweep.json") {
            return Ok(FolderKind::Sweep);
        }
        Err(PlotError::NotResults {
            path: self.dir.clone(),
        })
    }

    fn bytes(&self, name: &str, why: &str) -> Result<&[u8], PlotError> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| PlotError::MissingFile {
                path: self.path(name),
                why: why.to_owned(),
            })
    }

    /// Rows of a CSV file, checked: the header must name every column in `columns`, every
    /// row must parse, numbers must be finite (and, in `non_negative`, not below zero).
    pub(crate) fn csv<T: DeserializeOwned>(
        &self,
        name: &str,
        why: &str,
        columns: &[&str],
        numbers: &[&str],
        non_negative: &[&str],
    ) -> Result<Vec<T>, PlotError> {
        let path = self.path(name);
        let bytes = self.bytes(name, why)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(PlotError::Empty { path });
        }
        let mut reader = csv::Reader::from_reader(bytes);
        let header = reader
            .headers()
            .map_err(|e| row_error(&path, &e, None))?
            .clone();
        for c in columns {
            if !header.iter().any(|h| h == *c) {
                return Err(PlotError::MissingColumn {
                    path,
                    column: (*c).to_owned(),
                    header: header.iter().collect::<Vec<_>>().join(","),
                });
            }
        }
        let index: Vec<(usize, &str)> = numbers
            .iter()
            .filter_map(|c| header.iter().position(|h| h == *c).map(|i| (i, *c)))
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| row_error(&path, &e, Some(&header)))?;
            let line = record.position().map_or(0, csv::Position::line);
            for &(i, c) in &index {
                // An empty cell is a missing value: the row's type decides whether that is
                // allowed (an `Option`) or a located error when it is deserialised.
                let Some(field) = record.get(i).filter(|f| !f.trim().is_empty()) else {
                    continue;
                };
                let bad = |message: String| PlotError::Row {
                    path: path.clone(),
                    line,
                    message: format!("column `{c}`: {message}"),
                };
                match field.trim().parse::<f64>() {
                    Ok(v) if !v.is_finite() => {
                        return Err(bad(format!("`{field}` is not a finite number")))
                    }
                    Ok(v) if v < 0.0 && non_negative.contains(&c) => {
                        return Err(bad(format!("`{field}` is negative")))
                    }
                    Ok(_) => {}
                    Err(_) => return Err(bad(format!("`{field}` is not a number"))),
                }
            }
            let row: T = record
                .deserialize(Some(&header))
                .map_err(|e| row_error(&path, &e, Some(&header)))?;
            rows.push(row);
        }
        Ok(rows)
    }

    /// The `run.json` of a yearly run.
    pub(crate) fn run_json(&self) -> Result<RunJson, PlotError> {
        self.json(
            "run.json",
            "a yearly run's folder holds run.json (the resolved scenario)",
        )
    }

    /// A JSON file, its problems located by line, column and field path.
    pub(crate) fn json<T: DeserializeOwned>(&self, name: &str, why: &str) -> Result<T, PlotError> {
        let path = self.path(name);
        let bytes = self.bytes(name, why)?;
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            PlotError::Json {
                path,
                message: format!(
                    "line {}, column {}, at `{}`: {}",
                    inner.line(),
                    inner.column(),
                    e.path(),
                    inner
                ),
            }
        })
    }
}

/// A CSV error as ours, with the line and, for a field that does not parse, its column.
fn row_error(path: &Path, e: &csv::Error, header: Option<&csv::StringRecord>) -> PlotError {
    let line = e.position().map_or(0, csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err
                .field()
                .and_then(|f| header.and_then(|h| h.get(usize::try_from(f).ok()?)))
                .map(|c| format!("column `{c}`: "))
                .unwrap_or_default();
            format!("{column}{}", err.kind())
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    };
    PlotError::Row {
        path: path.to_owned(),
        line,
        message,
    }
}

/// What charts need from `run.json`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RunJson {
    pub(crate) scenario: ScenarioJson,
    pub(crate) years: Option<Vec<i32>>,
    /// The version that wrote the run (absent in hand-written test folders).
    #[serde(default)]
    pub(crate) tradeflow_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ScenarioJson {
    pub(crate) name: String,
    pub(crate) economies: Vec<String>,
    pub(crate) dynamics: Option<DynamicsJson>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// `"inline"`, or `{"file": {"path": ..}}` / `{"world": {"path": ..}}`.
    #[serde(default)]
    pub(crate) data_source: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) data_unit: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DynamicsJson {
    #[serde(default)]
    pub(crate) base_year: Option<i32>,
    pub(crate) sectors: Vec<SectorJson>,
    pub(crate) routes: Option<RoutesJson>,
    #[serde(default)]
    pub(crate) instruments: Vec<InstrumentJson>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SectorJson {
    pub(crate) name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RoutesJson {
    pub(crate) layout: LayoutJson,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LayoutJson {
    pub(crate) target: usize,
    pub(crate) hubs: Vec<usize>,
    pub(crate) recorded_share: Vec<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InstrumentJson {
    pub(crate) label: String,
    pub(crate) start: i32,
    pub(crate) end: Option<i32>,
    pub(crate) effect: EffectJson,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EffectJson {
    pub(crate) effect: String,
    /// [`crate::policy::Effect::is_sanction`]; `None` in `run.json` files written before
    /// it was recorded.
    #[serde(default)]
    pub(crate) sanction: Option<bool>,
}

/// What charts need from `montecarlo.json`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MonteCarloJson {
    pub(crate) scenario: String,
    pub(crate) seed: u64,
    pub(crate) draws: u64,
    pub(crate) failed: usize,
    pub(crate) shard: Option<ShardJson>,
    pub(crate) first_draw: u64,
    pub(crate) last_draw: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ShardJson {
    pub(crate) k: u64,
    pub(crate) n: u64,
}

/// What charts need from `calibration.json` (non-finite numbers are written as `null`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CalibrationJson {
    /// The scenario's name (reports written before it was recorded lack it).
    pub(crate) scenario: Option<String>,
    pub(crate) objective_initial: Option<f64>,
    pub(crate) objective: Option<f64>,
    pub(crate) steps: usize,
    pub(crate) evaluations: usize,
    pub(crate) stop: String,
    pub(crate) converged: bool,
}

/// A row of `tornado.csv` as sweeps wrote it before they recorded each parameter's
/// `base_value`: read only for such files (the current rows are
/// [`crate::sweep::TornadoRow`] itself).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TornadoRowBefore {
    parameter: String,
    low: f64,
    high: f64,
    output: String,
    year: Option<i32>,
    output_at_base: Option<f64>,
    output_at_low: Option<f64>,
    output_at_high: Option<f64>,
    #[serde(default)]
    swing: Option<f64>,
    failed: String,
}

impl TornadoRowBefore {
    /// As a current row; `base_value` unknown (0, and the caller says it is unknown).
    pub(crate) fn into_row(self) -> crate::sweep::TornadoRow {
        crate::sweep::TornadoRow {
            parameter: self.parameter,
            low: self.low,
            high: self.high,
            base_value: 0.0,
            output: self.output,
            year: self.year,
            output_at_base: self.output_at_base,
            output_at_low: self.output_at_low,
            output_at_high: self.output_at_high,
            swing: self.swing,
            failed: self.failed,
        }
    }
}

/// What charts need from `sweep.json`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SweepJson {
    pub(crate) scenario: String,
    pub(crate) points: usize,
    pub(crate) shard: Option<ShardJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, text: &str) -> Folder {
        Folder::from_files(Path::new("out"), &[(name, text.as_bytes().to_vec())])
    }

    fn routes(f: &Folder) -> Result<Vec<crate::simulate::RouteTotalRow>, PlotError> {
        f.csv(
            "routes_total.csv",
            "",
            &[
                "year",
                "origin",
                "via",
                "destination",
                "value",
                "pair_fraction",
                "target_imports_fraction",
            ],
            &["value"],
            &["value"],
        )
    }

    #[test]
    fn located_errors() {
        let ok = "year,origin,via,destination,value,pair_fraction,target_imports_fraction\n2021,CHN,direct,RUS,1.5,1,1\n";
        assert_eq!(routes(&folder("routes_total.csv", ok)).unwrap().len(), 1);
        let e = routes(&folder("routes_total.csv", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("routes_total.csv") && e.contains("empty"), "{e}");
        let e = routes(&folder("routes_total.csv", "year,origin,via,value\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `destination`"), "{e}");
        let bad = "year,origin,via,destination,value,pair_fraction,target_imports_fraction\n2021,CHN,direct,RUS,1,1,1\n2022,CHN,direct,RUS,abc,1,1\n";
        let e = routes(&folder("routes_total.csv", bad))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("column `value`"), "{e}");
        let neg = "year,origin,via,destination,value,pair_fraction,target_imports_fraction\n2021,CHN,direct,RUS,-1,1,1\n";
        let e = routes(&folder("routes_total.csv", neg))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("negative"), "{e}");
        let year = "year,origin,via,destination,value,pair_fraction,target_imports_fraction\n20x1,CHN,direct,RUS,1,1,1\n";
        let e = routes(&folder("routes_total.csv", year))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("column `year`"), "{e}");
        let e = routes(&folder("flows.csv", ok)).unwrap_err().to_string();
        assert!(
            e.contains("routes_total.csv") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn bad_run_json_is_located() {
        let e = folder("run.json", "{\"scenario\": {\"name\": 3}}")
            .run_json()
            .unwrap_err()
            .to_string();
        assert!(e.contains("run.json") && e.contains("scenario.name"), "{e}");
    }
}
