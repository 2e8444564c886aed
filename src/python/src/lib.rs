//! `tradeflow._tradeflow`: the native half of the Python package `tradeflow` (PyO3).
//!
//! Every command runs through the library exactly as the binary runs it, and hands Python
//! the bytes of the files the library's writers make (`output::run_files`,
//! `output::year_run_contents` (a yearly run keeps its compact rows and makes a file's
//! bytes when it is read; `save` writes them row by row), `Comparison::files`, `montecarlo::merge::folder_files`,
//! `sweep::files::folder_files`, `calibrate::files::folder_files`,
//! `estimate::run::Estimated::files`): the pure-Python half (`python/tradeflow/`)
//! reads those bytes into pandas DataFrames, so a DataFrame always has the columns of the
//! file of the same name. [`Files::save`] writes them through the library's folder claim
//! ([`tradeflow::output::Claim`]), with the charts drawn from the same bytes, as the
//! command line writes its folders.
//!
//! Errors become Python exceptions (`tradeflow.ScenarioError`, `DataError`, ...) whose
//! message is the command line's: the error and its causes joined by `: `, with the same
//! context (`<file>: scenario `<name>`: ...`). The GIL is released while anything runs;
//! a Monte Carlo also stops on Ctrl-C ([`interruptible`]).

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use tradeflow::montecarlo::{merge as mc_merge, MonteCarlo};
use tradeflow::output::{Claim, OutputError as LibOutputError, Part, Results};
use tradeflow::plot::{FolderKind, CHARTS_DIR};
use tradeflow::scenario::{ParamPath, Scenario, ScenarioError as LibScenarioError};
use tradeflow::simulate::series::{catalog, SeriesInfo};
use tradeflow::simulate::YearRun;

/// The version of tradeflow this package is built from (the binding crate's version is
/// kept equal to the library's; a test checks it against the root `Cargo.toml`).
const VERSION: &str = env!("CARGO_PKG_VERSION");

create_exception!(
    tradeflow,
    TradeflowError,
    PyException,
    "Base class of every error tradeflow reports; the message is the command line's."
);
create_exception!(
    tradeflow,
    ScenarioError,
    TradeflowError,
    "A scenario file, or a value set on a scenario, is not valid (file, key path, value)."
);
create_exception!(
    tradeflow,
    DataError,
    TradeflowError,
    "A data file cannot be read or holds bad figures (file, line, column)."
);
create_exception!(
    tradeflow,
    SolveError,
    TradeflowError,
    "A valid scenario did not run: a solver did not converge, routes are infeasible, ..."
);
create_exception!(
    tradeflow,
    EstimateError,
    TradeflowError,
    "A PPML estimation failed or did not converge."
);
create_exception!(
    tradeflow,
    OutputError,
    TradeflowError,
    "Results could not be written (a folder that is not tradeflow's, in use, ...)."
);

/// Which exception a library error becomes.
#[derive(Debug, Clone, Copy)]
enum Class {
    Tradeflow,
    Scenario,
    Data,
    Solve,
    Estimate,
    Output,
    /// A bad argument (a limit, a malformed axis): Python's `ValueError`.
    Value,
}

/// A library error on its way to Python: its class and the command line's message.
#[derive(Debug)]
struct Failure {
    class: Class,
    message: String,
}

impl Failure {
    fn new(class: Class, e: &(dyn StdError + 'static)) -> Failure {
        Failure {
            class,
            message: chain(e),
        }
    }

    fn text(class: Class, message: impl Into<String>) -> Failure {
        Failure {
            class,
            message: message.into(),
        }
    }

    /// The same failure under a context line, as the binary's `with_context` puts it.
    fn context(mut self, context: impl std::fmt::Display) -> Failure {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// An error and its causes joined by `: `: what the binary prints after `error: ` (anyhow's
/// alternate form).
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        match f.class {
            Class::Tradeflow => TradeflowError::new_err(f.message),
            Class::Scenario => ScenarioError::new_err(f.message),
            Class::Data => DataError::new_err(f.message),
            Class::Solve => SolveError::new_err(f.message),
            Class::Estimate => EstimateError::new_err(f.message),
            Class::Output => OutputError::new_err(f.message),
            Class::Value => PyValueError::new_err(f.message),
        }
    }
}

fn scenario_class(e: &LibScenarioError) -> Class {
    match e {
        LibScenarioError::Data(_) => Class::Data,
        _ => Class::Scenario,
    }
}

impl From<LibScenarioError> for Failure {
    fn from(e: LibScenarioError) -> Failure {
        Failure::new(scenario_class(&e), &e)
    }
}

impl From<LibOutputError> for Failure {
    fn from(e: LibOutputError) -> Failure {
        Failure::new(Class::Output, &e)
    }
}

impl From<tradeflow::plot::PlotError> for Failure {
    fn from(e: tradeflow::plot::PlotError) -> Failure {
        Failure::new(Class::Output, &e)
    }
}

impl From<tradeflow::simulate::RunError> for Failure {
    fn from(e: tradeflow::simulate::RunError) -> Failure {
        Failure::new(Class::Solve, &e)
    }
}

impl From<tradeflow::compare::CompareError> for Failure {
    fn from(e: tradeflow::compare::CompareError) -> Failure {
        use tradeflow::compare::CompareError as E;
        let class = match &e {
            E::Run { .. } => Class::Solve,
            _ => Class::Scenario,
        };
        Failure::new(class, &e)
    }
}

impl From<tradeflow::montecarlo::MonteCarloError> for Failure {
    fn from(e: tradeflow::montecarlo::MonteCarloError) -> Failure {
        use tradeflow::montecarlo::MonteCarloError as E;
        let class = match &e {
            E::Scenario(s) => scenario_class(s),
            E::Base { .. } => Class::Solve,
            E::Limit(_) => Class::Value,
            _ => Class::Scenario,
        };
        Failure::new(class, &e)
    }
}

impl From<mc_merge::MergeError> for Failure {
    fn from(e: mc_merge::MergeError) -> Failure {
        let class = match &e {
            mc_merge::MergeError::AllFailed(_) => Class::Solve,
            mc_merge::MergeError::Output(_) => Class::Output,
            _ => Class::Tradeflow,
        };
        Failure::new(class, &e)
    }
}

impl From<tradeflow::sweep::SweepError> for Failure {
    fn from(e: tradeflow::sweep::SweepError) -> Failure {
        use tradeflow::sweep::SweepError as E;
        let class = match &e {
            E::Scenario(s) => scenario_class(s),
            E::Limit(_) => Class::Value,
            _ => Class::Scenario,
        };
        Failure::new(class, &e)
    }
}

impl From<tradeflow::limits::LimitError> for Failure {
    fn from(e: tradeflow::limits::LimitError) -> Failure {
        Failure::new(Class::Value, &e)
    }
}

impl From<tradeflow::calibrate::CalibrationError> for Failure {
    fn from(e: tradeflow::calibrate::CalibrationError) -> Failure {
        use tradeflow::calibrate::CalibrationError as E;
        let class = match &e {
            E::Scenario(s) => scenario_class(s),
            E::Start { .. } => Class::Solve,
            _ => Class::Scenario,
        };
        Failure::new(class, &e)
    }
}

impl From<tradeflow::estimate::run::RunEstimateError> for Failure {
    fn from(e: tradeflow::estimate::run::RunEstimateError) -> Failure {
        use tradeflow::estimate::run::RunEstimateError as E;
        let class = match &e {
            E::Table(_) => Class::Data,
            E::Output(_) => Class::Output,
            _ => Class::Estimate,
        };
        Failure::new(class, &e)
    }
}

type Outcome<T> = Result<T, Failure>;

/// A validated scenario. Parameters are set by path (`sectors.controlled.sigma`,
/// `instruments.turn_to_china.percent`), each checked as the file's value is.
#[pyclass(name = "Scenario", module = "tradeflow")]
#[derive(Clone)]
struct PyScenario {
    inner: Scenario,
}

#[pymethods]
impl PyScenario {
    /// Reads and validates a scenario file.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyScenario> {
        let inner = py.detach(|| Scenario::from_file(&path).map_err(Failure::from))?;
        Ok(PyScenario { inner })
    }

    /// Parses and validates scenario text; `path` names it in messages and its folder
    /// anchors relative data paths.
    #[staticmethod]
    #[pyo3(signature = (text, path = None))]
    fn from_toml(py: Python<'_>, text: String, path: Option<PathBuf>) -> PyResult<PyScenario> {
        let path = path.unwrap_or_else(|| PathBuf::from("<string>.toml"));
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let inner =
            py.detach(|| Scenario::from_toml_str(&text, &path, &base).map_err(Failure::from))?;
        Ok(PyScenario { inner })
    }

    /// The value of the parameter at `path`.
    fn get(&self, path: &str) -> PyResult<f64> {
        let p = resolve(&self.inner, path)?;
        Ok(self.inner.value(&p))
    }

    /// Sets the parameter at `path` to `value`, checked as validation checks it; on an
    /// error the scenario is unchanged.
    fn set(&mut self, path: &str, value: f64) -> PyResult<()> {
        let p = resolve(&self.inner, path)?;
        self.inner = self
            .inner
            .with_params(&[(&p, value)])
            .map_err(Failure::from)?;
        Ok(())
    }

    /// A copy with every parameter of `values` set; every bad value is reported at once.
    fn with_params(&self, values: Vec<(String, f64)>) -> PyResult<PyScenario> {
        let params = values
            .iter()
            .map(|(path, _)| resolve(&self.inner, path))
            .collect::<PyResult<Vec<_>>>()?;
        let set: Vec<_> = params.iter().zip(values.iter().map(|v| v.1)).collect();
        let inner = self.inner.with_params(&set).map_err(Failure::from)?;
        Ok(PyScenario { inner })
    }

    /// Every output series of the scenario (what `tradeflow series FILE` lists, and what
    /// sweep outputs and calibration targets accept), as JSON: name, definition, unit,
    /// years.
    fn series_catalog(&self) -> PyResult<String> {
        serde_json::to_string(&catalog(&self.inner))
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// A copy of this scenario.
    fn copy(&self) -> PyScenario {
        self.clone()
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    #[getter]
    fn description(&self) -> String {
        self.inner.description().to_owned()
    }

    /// The file the scenario was read from, if any.
    #[getter]
    fn source(&self) -> Option<PathBuf> {
        self.inner.source().map(Path::to_owned)
    }

    /// The model's economies, in matrix order.
    #[getter]
    fn economies(&self) -> Vec<String> {
        self.inner.economies().to_vec()
    }

    /// Whether the scenario has `[years]` (a yearly run) or is a single counterfactual.
    #[getter]
    fn has_years(&self) -> bool {
        self.inner.dynamics().is_some()
    }

    /// Whether the scenario has an `[uncertainty]` section (for Monte Carlo draws).
    #[getter]
    fn has_uncertainty(&self) -> bool {
        self.inner.uncertainty().is_some()
    }

    fn __repr__(&self) -> String {
        match self.inner.source() {
            Some(p) => format!(
                "tradeflow.Scenario({:?} from {})",
                self.inner.name(),
                p.display()
            ),
            None => format!("tradeflow.Scenario({:?})", self.inner.name()),
        }
    }
}

/// A parameter path resolved against a scenario; an unknown path is a `ScenarioError`
/// naming the file, as the library words it.
fn resolve(s: &Scenario, path: &str) -> PyResult<tradeflow::scenario::Param> {
    let origin = s
        .source()
        .map_or_else(|| "scenario".to_owned(), |p| p.display().to_string());
    let parsed = ParamPath::parse(path)
        .map_err(|m| Failure::text(Class::Scenario, format!("{origin}: {m}")))?;
    s.param(&parsed)
        .map_err(|m| Failure::text(Class::Scenario, format!("{origin}: {m}")).into())
}

/// A scenario argument: a `Scenario`, or the path of a scenario file (read here).
struct Given {
    scenario: Scenario,
    /// The file named, for the record files and the folder claim.
    file: Option<PathBuf>,
}

impl Given {
    fn extract(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Given> {
        if let Ok(s) = obj.cast::<PyScenario>() {
            let scenario = s.borrow().inner.clone();
            let file = scenario.source().map(Path::to_owned);
            return Ok(Given { scenario, file });
        }
        let path: PathBuf = obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected a tradeflow.Scenario or the path of a scenario file, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })?;
        let scenario = py.detach(|| Scenario::from_file(&path).map_err(Failure::from))?;
        Ok(Given {
            scenario,
            file: Some(path),
        })
    }

    /// What a results folder may not hold: the scenario file and every file it was read
    /// from (the binary's `scenario_inputs`).
    fn inputs(&self) -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = self.file.iter().cloned().collect();
        inputs.extend(self.scenario.input_files());
        inputs
    }

    /// The scenario as the record files name it.
    fn record_path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| PathBuf::from(self.scenario.name()))
    }
}

/// The kind of one group of files, for drawing its charts when saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A single counterfactual (`countries.csv`, `bilateral.csv`): no charts.
    Run,
    YearRun,
    Compare,
    MonteCarlo,
    Calibration,
    Sweep,
    Estimate,
}

impl Kind {
    fn results(self) -> Results {
        match self {
            Kind::Run | Kind::YearRun => Results::Run,
            Kind::Compare => Results::Compare,
            Kind::MonteCarlo => Results::MonteCarlo,
            Kind::Calibration => Results::Calibration,
            Kind::Sweep => Results::Sweep,
            Kind::Estimate => Results::Estimate,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::YearRun => "year-run",
            Kind::Compare => "compare",
            Kind::MonteCarlo => "montecarlo",
            Kind::Calibration => "calibration",
            Kind::Sweep => "sweep",
            Kind::Estimate => "estimate",
        }
    }
}

/// Files of one kind, in a sub-folder of the results (`""` or `montecarlo`).
#[derive(Debug, Clone)]
struct Group {
    dir: String,
    kind: Kind,
    files: Vec<(String, Vec<u8>)>,
    /// A yearly run whose files are made when they are read or saved (`files` is then
    /// empty): its rows are compact, its CSV files tens of times larger, and `save` writes
    /// them row by row as the command line does.
    year_run: Option<YearRunFiles>,
}

/// A yearly run and the scenario it ran, from which its folder's files are made.
#[derive(Debug, Clone)]
struct YearRunFiles {
    scenario: Scenario,
    run: Arc<YearRun>,
    names: Vec<&'static str>,
}

impl YearRunFiles {
    /// The bytes of one file, made from the run.
    fn bytes(&self, name: &str) -> Outcome<Option<Vec<u8>>> {
        if !self.names.contains(&name) {
            return Ok(None);
        }
        let files = tradeflow::output::year_run_contents(&self.scenario, Arc::clone(&self.run))?;
        match files.into_iter().find(|(n, _)| *n == name) {
            Some((_, content)) => Ok(Some(content.to_bytes()?)),
            None => Ok(None),
        }
    }
}

impl Group {
    fn new<N: Into<String>>(
        dir: &str,
        kind: Kind,
        files: impl IntoIterator<Item = (N, Vec<u8>)>,
    ) -> Group {
        Group {
            dir: dir.to_owned(),
            kind,
            files: files.into_iter().map(|(n, b)| (n.into(), b)).collect(),
            year_run: None,
        }
    }

    /// The group of a yearly run: nothing made yet but `run.json`, which is checked here
    /// as the command line checks it before writing anything.
    fn year_run(scenario: &Scenario, run: YearRun) -> Outcome<Group> {
        let run = Arc::new(run);
        let names = tradeflow::output::year_run_contents(scenario, Arc::clone(&run))?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        Ok(Group {
            dir: String::new(),
            kind: Kind::YearRun,
            files: Vec::new(),
            year_run: Some(YearRunFiles {
                scenario: scenario.clone(),
                run,
                names,
            }),
        })
    }

    /// The names of the files, in folder order.
    fn names(&self) -> Vec<&str> {
        match &self.year_run {
            Some(y) => y.names.clone(),
            None => self.files.iter().map(|(n, _)| n.as_str()).collect(),
        }
    }

    /// The bytes of the file `name`, if the group has it.
    fn bytes(&self, name: &str) -> Outcome<Option<Vec<u8>>> {
        match &self.year_run {
            Some(y) => y.bytes(name),
            None => Ok(self
                .files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.clone())),
        }
    }
}

/// The results of a command: its files as bytes, not yet written anywhere.
#[pyclass(name = "Files", module = "tradeflow._tradeflow", frozen)]
struct Files {
    /// The command, for the folder's marker (`tradeflow run (Python)`).
    command: String,
    groups: Vec<Group>,
    /// What the folder may not hold.
    inputs: Vec<PathBuf>,
    /// What the command line prints for these results.
    summary: String,
    /// The fitted scenario file's text (calibration only).
    fitted: Option<String>,
    /// The scenario calibrated, with the fitted values set (calibration only).
    fitted_scenario: Option<Scenario>,
    /// Every series of the scenarios run (name, definition, unit, years), for the units of
    /// tables with a `series` column.
    series: Vec<SeriesInfo>,
}

#[pymethods]
impl Files {
    /// The kind of results: `run`, `year-run`, `compare`, `montecarlo`, `calibration`,
    /// `sweep` or `estimate`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.groups[0].kind.name()
    }

    /// Every file, by its path inside the results folder (`montecarlo/montecarlo.csv`).
    fn names(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.names().into_iter().map(move |n| join(&g.dir, n)))
            .collect()
    }

    /// The bytes of one file (a yearly run's files are made from its rows when read).
    fn read<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        for g in &self.groups {
            let Some(inside) = within(&g.dir, name) else {
                continue;
            };
            if let Some(bytes) = py.detach(|| g.bytes(inside))? {
                return Ok(PyBytes::new(py, &bytes));
            }
        }
        Err(pyo3::exceptions::PyKeyError::new_err(format!(
            "no file `{name}` in these results (they hold {})",
            self.names().join(", ")
        )))
    }

    /// The library's documentation of one file (rows, key, totals, each column's unit and
    /// meaning: the table `run.json` holds), as JSON; `None` for a file it does not
    /// document.
    fn doc(&self, name: &str) -> PyResult<Option<String>> {
        use tradeflow::output::columns::{COMPARE_FILES, RUN_FILES, YEAR_RUN_FILES};
        for g in &self.groups {
            for n in g.names() {
                if join(&g.dir, n) != name {
                    continue;
                }
                let docs = match g.kind {
                    Kind::Run => RUN_FILES,
                    Kind::YearRun => YEAR_RUN_FILES,
                    Kind::Compare => COMPARE_FILES,
                    _ => return Ok(None),
                };
                return match docs.iter().find(|d| d.file == n) {
                    Some(d) => serde_json::to_string(d)
                        .map(Some)
                        .map_err(|e| PyValueError::new_err(e.to_string())),
                    None => Ok(None),
                };
            }
        }
        Ok(None)
    }

    /// Every series of the scenarios these results ran, as JSON: name, definition, unit
    /// and years (what `tradeflow series FILE` lists).
    fn series_catalog(&self) -> PyResult<String> {
        serde_json::to_string(&self.series).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// What the command line prints for these results (its table of key series, fit or
    /// coefficients).
    #[getter]
    fn summary(&self) -> String {
        self.summary.clone()
    }

    /// The scenario calibrated with its fitted values set, for a calibration.
    #[getter]
    fn fitted_scenario(&self) -> Option<PyScenario> {
        self.fitted_scenario
            .clone()
            .map(|inner| PyScenario { inner })
    }

    /// The fitted scenario file's text, for a calibration.
    #[getter]
    fn fitted_toml(&self) -> Option<String> {
        self.fitted.clone()
    }

    /// Writes the results into `folder`, with their charts (`charts=True`) drawn from the
    /// same bytes, in one piece through tradeflow's folder claim: a folder that holds
    /// anything tradeflow did not write, or any input of the run, is refused and nothing
    /// is written.
    #[pyo3(signature = (folder, charts = true))]
    fn save(&self, py: Python<'_>, folder: PathBuf, charts: bool) -> PyResult<()> {
        py.detach(|| self.write(&folder, charts))?;
        Ok(())
    }
}

impl Files {
    fn write(&self, folder: &Path, charts: bool) -> Outcome<()> {
        let mut subfolders: Vec<String> = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        for g in &self.groups {
            let here = folder.join(&g.dir);
            let files = g.files.clone();
            let results = g.kind.results();
            let drawn = if let Some(y) = &g.year_run {
                // Streamed into the folder row by row, as the command line writes it.
                tradeflow::plot::year_run_parts(&here, &y.scenario, Arc::clone(&y.run), charts)?.1
            } else {
                match (g.kind, charts) {
                    (Kind::Compare, true) => {
                        tradeflow::plot::parts_with_charts(
                            &here,
                            files,
                            FolderKind::Compare,
                            results,
                        )?
                        .1
                    }
                    (Kind::MonteCarlo | Kind::Calibration | Kind::Sweep, true) => {
                        tradeflow::plot::parts_of(&here, files, true, results)?.1
                    }
                    (Kind::Run | Kind::Estimate, _) => vec![Part::new("", results, files)],
                    // As `--no-charts`: an empty `charts/` removes the charts an earlier save
                    // left, so no chart outlives the data it was drawn from. (A yearly run's
                    // group always has its run, above.)
                    (Kind::YearRun, true) | (_, false) => {
                        let none: [(String, Vec<u8>); 0] = [];
                        vec![
                            Part::new("", results, files),
                            Part::new(CHARTS_DIR, Results::Charts, none),
                        ]
                    }
                }
            };
            if g.kind != Kind::Run && g.kind != Kind::Estimate {
                subfolders.push(join(&g.dir, CHARTS_DIR));
            }
            if !g.dir.is_empty() {
                subfolders.push(g.dir.clone());
            }
            parts.extend(drawn.into_iter().map(
                |p| {
                    if g.dir.is_empty() {
                        p
                    } else {
                        p.under(&g.dir)
                    }
                },
            ));
        }
        let subs: Vec<&str> = subfolders.iter().map(String::as_str).collect();
        let mut claim = Claim::new(folder, &self.command, &self.inputs, &subs)?;
        claim.write(&parts)?;
        Ok(())
    }
}

/// `name` inside the sub-folder `dir` (`""`: the top), if it is there.
fn within<'a>(dir: &str, name: &'a str) -> Option<&'a str> {
    if dir.is_empty() {
        return Some(name);
    }
    name.strip_prefix(dir)?.strip_prefix('/')
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The context the binary puts on a run's error.
fn run_context(s: &Scenario) -> String {
    match s.source() {
        Some(path) => format!("{}: scenario `{}`", path.display(), s.name()),
        None => format!("scenario `{}`", s.name()),
    }
}

/// What a Monte Carlo stopped by Ctrl-C says (the command line's words).
const INTERRUPTED: &str =
    "interrupted (Ctrl-C): nothing was written, earlier results are as they were";

/// Runs `work` on a thread of its own, without the GIL, while this thread checks for Ctrl-C
/// every 50 ms (Python runs signal handlers on its main thread only): on an interrupt,
/// `stop` is set, the work (whose draws check `stop`) is awaited, and the
/// `KeyboardInterrupt` raised.
fn interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> PyResult<T> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| work(&stop));
        loop {
            let finished = py.detach(|| {
                let start = std::time::Instant::now();
                while !handle.is_finished() && start.elapsed() < Duration::from_millis(50) {
                    std::thread::sleep(Duration::from_millis(2));
                }
                handle.is_finished()
            });
            if finished {
                break;
            }
            if let Err(interrupt) = py.check_signals() {
                stop.store(true, Ordering::SeqCst);
                py.detach(|| {
                    while !handle.is_finished() {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                });
                return Err(interrupt);
            }
        }
        handle
            .join()
            .map_err(|_| PyRuntimeError::new_err("tradeflow: the run panicked"))
    })
}

/// A scenario's run: the yearly loop with `[years]`, else a single counterfactual, and
/// `draws` Monte Carlo draws into `montecarlo/` (`tradeflow run FILE [--draws N --seed S]`).
fn run_files(given: &Given, draws: Option<u64>, seed: u64, stop: &AtomicBool) -> Outcome<Files> {
    let s = &given.scenario;
    if let Some(n) = draws {
        if n == 0 {
            return Err(Failure::text(
                Class::Value,
                "draws=0: a Monte Carlo needs at least one draw; nothing was run",
            ));
        }
        tradeflow::limits::check_draws(n)?;
        if s.uncertainty().is_none() {
            // Checked before the run, as `tradeflow run --draws` checks it.
            MonteCarlo::new(s.clone())?;
        }
    }
    let (group, summary) = if s.dynamics().is_some() {
        let run = tradeflow::simulate::run_years(s)
            .map_err(|e| Failure::from(e).context(run_context(s)))?;
        let series = tradeflow::simulate::key_series(&run, s);
        let text = tradeflow::report::series_table(
            &series,
            &run.years,
            tradeflow::report::is_headline_series,
        );
        (Group::year_run(s, run)?, text)
    } else {
        let results =
            tradeflow::simulate::run(s).map_err(|e| Failure::from(e).context(run_context(s)))?;
        let files = tradeflow::output::run_files(s, &results)?;
        let text = tradeflow::report::country_summary(&results.countries, 8);
        (Group::new("", Kind::Run, files), text)
    };
    let mut groups = vec![group];
    let mut summary = summary;
    if let Some(n) = draws {
        let (mc, line) = montecarlo_group(given, n, seed, "montecarlo", stop)?;
        groups.push(mc);
        summary.push_str(&line);
    }
    Ok(Files {
        command: "tradeflow run (Python)".into(),
        groups,
        inputs: given.inputs(),
        summary,
        fitted: None,
        fitted_scenario: None,
        series: catalog(&given.scenario),
    })
}

/// `n` Monte Carlo draws of a scenario with `[uncertainty]`: the library's files of a
/// Monte Carlo folder, in `dir`.
fn montecarlo_group(
    given: &Given,
    n: u64,
    seed: u64,
    dir: &str,
    stop: &AtomicBool,
) -> Outcome<(Group, String)> {
    tradeflow::limits::check_draws(n)?;
    let mc = MonteCarlo::new(given.scenario.clone())?;
    let draws = mc.run(seed, 0..n, &|| {}, &|| stop.load(Ordering::SeqCst));
    if stop.load(Ordering::SeqCst) {
        return Err(Failure::text(Class::Tradeflow, INTERRUPTED));
    }
    let failed = draws.iter().filter(|d| d.outcome.is_err()).count();
    let scenario = given.record_path();
    let record = mc_merge::Record {
        tradeflow_version: VERSION.to_owned(),
        scenario_file: Some(tradeflow::shard::absolute(&scenario)),
        scenario,
        seed,
        draws: n,
        shard: None,
        first_draw: 0,
        last_draw: n,
        failed,
        series: mc.series().to_vec(),
    };
    let mut files = mc_merge::folder_files(&record, &draws, false)?;
    let mut line = format!("{n} draws ({failed} failed), seed {seed}\n");
    // Drawn from a fitted posterior: `posterior.json` and `observed.csv`, as the command
    // line writes them.
    if let Some(p) = mc.posterior_record(seed, 0..n) {
        let observed = tradeflow::montecarlo::posterior::observed_rows(&p.folder, mc.series())
            .map_err(tradeflow::montecarlo::MonteCarloError::from)?;
        files.extend(mc_merge::posterior_files(&p, &observed)?);
        line.push_str(&format!(
            "parameters drawn from the posterior in {} ({} redraws)\n",
            p.folder.display(),
            p.redraws
        ));
    }
    Ok((Group::new(dir, Kind::MonteCarlo, files), line))
}

/// Runs a scenario (a `Scenario` or a file's path): a yearly run with `[years]`, else a
/// single counterfactual; with `draws`, also that many Monte Carlo draws of its
/// `[uncertainty]` (seeded by `seed`), as `tradeflow run FILE --draws N --seed S`.
#[pyfunction]
#[pyo3(signature = (scenario, draws = None, seed = 0))]
fn run(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    draws: Option<u64>,
    seed: u64,
) -> PyResult<Files> {
    let given = Given::extract(py, scenario)?;
    Ok(interruptible(py, |stop| {
        run_files(&given, draws, seed, stop)
    })??)
}

/// Monte Carlo draws of a scenario's `[uncertainty]` alone: `montecarlo.csv`,
/// `failed_draws.csv` and `montecarlo.json`.
#[pyfunction]
#[pyo3(signature = (scenario, draws, seed = 0))]
fn montecarlo(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    draws: u64,
    seed: u64,
) -> PyResult<Files> {
    let given = Given::extract(py, scenario)?;
    let files = interruptible(py, |stop| -> Outcome<Files> {
        if draws == 0 {
            return Err(Failure::text(
                Class::Value,
                "draws=0: a Monte Carlo needs at least one draw; nothing was run",
            ));
        }
        let (group, summary) = montecarlo_group(&given, draws, seed, "", stop)?;
        Ok(Files {
            command: "tradeflow run --draws (Python)".into(),
            groups: vec![group],
            inputs: given.inputs(),
            summary,
            fitted: None,
            fitted_scenario: None,
            series: catalog(&given.scenario),
        })
    })??;
    Ok(files)
}

/// Runs scenarios with `[years]` and lines up their key series against a reference
/// scenario (`reference`, by name; by default the one the command line picks), as
/// `tradeflow compare FILE... [--reference NAME]`. Scenarios that are only bases
/// (`abstract = true`) are skipped, as the command line skips them.
#[pyfunction]
#[pyo3(signature = (scenarios, reference = None))]
fn compare(
    py: Python<'_>,
    scenarios: Vec<Bound<'_, PyAny>>,
    reference: Option<String>,
) -> PyResult<Files> {
    let given = scenarios
        .iter()
        .map(|s| Given::extract(py, s))
        .collect::<PyResult<Vec<_>>>()?;
    let files = py.detach(|| -> Outcome<Files> {
        let list: Vec<Scenario> = given.iter().map(|g| g.scenario.clone()).collect();
        tradeflow::compare::check(&list)?;
        let requested = reference.is_some();
        let reference = tradeflow::compare::reference(&list, reference.as_deref())?
            .name()
            .to_owned();
        let comparison = tradeflow::compare::compare(&list, Some(&reference))?;
        let files = comparison.files()?;
        let mut summary = tradeflow::report::compare_note(&list, &reference, requested);
        summary.push_str(&tradeflow::report::comparison_tables(
            &comparison.series,
            &comparison.years,
            &reference,
            comparison.data_unit(),
        ));
        Ok(Files {
            command: "tradeflow compare (Python)".into(),
            groups: vec![Group::new("", Kind::Compare, files)],
            inputs: given.iter().flat_map(Given::inputs).collect(),
            summary,
            fitted: None,
            fitted_scenario: None,
            series: list.iter().flat_map(catalog).collect(),
        })
    })?;
    Ok(files)
}

/// PPML with fixed effects on a gegravity-layout CSV, as `tradeflow estimate`:
/// `coefficients.csv`, `fixed_effects.csv`, `dropped.csv` and `estimate.json`.
#[pyfunction]
#[pyo3(signature = (data, variables, fixed_effects = None, cluster = None, dependent = None, year = None))]
fn estimate(
    py: Python<'_>,
    data: PathBuf,
    variables: Vec<String>,
    fixed_effects: Option<Vec<String>>,
    cluster: Option<String>,
    dependent: Option<String>,
    year: Option<i64>,
) -> PyResult<Files> {
    use tradeflow::estimate::run::Request;
    let mut request = Request::new(data, variables);
    if let Some(fe) = fixed_effects {
        request.fixed_effects = fe;
    }
    if let Some(d) = dependent {
        request.dependent = d;
    }
    request.year = year;
    request.cluster_pair = match cluster.as_deref() {
        None => false,
        Some("pair") => true,
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "cluster={other:?}: standard errors can be clustered by \"pair\" (the ordered exporter-importer pair) or not at all (None)"
            )))
        }
    };
    let files = py.detach(|| -> Outcome<Files> {
        let inputs = vec![request.data.clone()];
        let estimated = tradeflow::estimate::run::estimate(request)?;
        let files = estimated
            .files()
            .map_err(tradeflow::estimate::run::RunEstimateError::from)?;
        Ok(Files {
            command: "tradeflow estimate (Python)".into(),
            groups: vec![Group::new("", Kind::Estimate, files)],
            inputs,
            summary: estimated.summary(),
            fitted: None,
            fitted_scenario: None,
            series: Vec::new(),
        })
    })?;
    Ok(files)
}

/// Runs a scenario over a grid (`PATH=LOW:HIGH:COUNT` axes) or, with `lhs`, a Latin
/// hypercube of that many points, as `tradeflow sweep`: `sweep.csv`, `failed_points.csv`,
/// `sweep.json` and `tornado.csv`. `outputs` keeps only those outputs (`SERIES@YEAR`); the
/// first is the tornado's.
#[pyfunction]
#[pyo3(signature = (scenario, params, lhs = None, seed = 0, outputs = None))]
fn sweep(
    py: Python<'_>,
    scenario: &Bound<'_, PyAny>,
    params: Vec<String>,
    lhs: Option<usize>,
    seed: u64,
    outputs: Option<Vec<String>>,
) -> PyResult<Files> {
    use tradeflow::sweep::files::{folder_files, parse_output, Ran};
    use tradeflow::sweep::{grid, latin_hypercube, Axis, Sweep};
    let axes = params
        .iter()
        .map(|p| {
            p.parse::<Axis>()
                .map_err(|m| PyValueError::new_err(format!("params: `{p}`: {m}")))
        })
        .collect::<PyResult<Vec<Axis>>>()?;
    if axes.is_empty() {
        return Err(PyValueError::new_err(
            "params: a sweep needs at least one parameter (`PATH=LOW:HIGH:COUNT`)",
        ));
    }
    let wanted: Vec<(String, Option<i32>)> = outputs
        .unwrap_or_default()
        .iter()
        .map(|o| parse_output(o))
        .collect();
    let given = Given::extract(py, scenario)?;
    let files = py.detach(|| -> Outcome<Files> {
        let sweep = Sweep::from_scenario(given.scenario.clone(), &axes)?;
        let points = match lhs {
            Some(0) => {
                return Err(Failure::text(
                    Class::Value,
                    "lhs=0: a Latin hypercube needs at least one point",
                ))
            }
            Some(n) => latin_hypercube(&axes, n, seed)?,
            None => grid(&axes)?,
        };
        let results = sweep.run(&points, &|| {});
        let file = given.record_path();
        let files = folder_files(
            &sweep,
            &Ran {
                file: &file,
                axes: &axes,
                points: &points,
                first: 0,
                results: &results,
                wanted: &wanted,
                shard: None,
            },
        )?;
        let failed = results.iter().filter(|r| r.is_err()).count();
        Ok(Files {
            command: "tradeflow sweep (Python)".into(),
            groups: vec![Group::new("", Kind::Sweep, files)],
            inputs: given.inputs(),
            summary: format!("{} points ({failed} failed)\n", points.len()),
            fitted: None,
            fitted_scenario: None,
            series: catalog(&given.scenario),
        })
    })?;
    Ok(files)
}

/// Fits a scenario's `[calibration]` free parameters to its targets, as `tradeflow
/// calibrate [--until YEAR]`: `parameters.csv`, `fit.csv`, `posterior.csv`,
/// `posterior_covariance.csv`, `backtest.csv` and `calibration.json`, and the fitted
/// scenario file's text. A `Scenario` with parameters set is fitted from those values; the
/// `[calibration]` is read from its file. With `until`, only the targets up to that year
/// are fitted and the rest are predictions (`backtest.csv`'s `in_sample`).
#[pyfunction]
#[pyo3(signature = (scenario, until=None))]
fn calibrate(py: Python<'_>, scenario: &Bound<'_, PyAny>, until: Option<i32>) -> PyResult<Files> {
    use tradeflow::calibrate::{
        calibrate_from_until, calibration_spec, files::folder_files, fitted_file,
    };
    let given = Given::extract(py, scenario)?;
    let file = match &given.file {
        Some(f) if f.is_file() => f.clone(),
        _ => {
            return Err(ScenarioError::new_err(format!(
                "scenario `{}`: calibrate reads `[calibration]` from the scenario's file, and this scenario has none (read it with Scenario.from_file)",
                given.scenario.name()
            )))
        }
    };
    let files = py.detach(|| -> Outcome<Files> {
        let (table, raw) = calibration_spec(&file)?;
        let fit = calibrate_from_until(&file, table, &raw, given.scenario.clone(), until)?;
        let text = fitted_file(&file, &fit).map_err(|m| {
            Failure::text(
                Class::Scenario,
                format!("{}: writing the fitted scenario: {m}", file.display()),
            )
        })?;
        let files = folder_files(given.scenario.name(), &file, &fit)?;
        // The scenario given, with every fitted value set through its checked path.
        let mut params = Vec::new();
        for p in &fit.parameters {
            let path = ParamPath::parse(&p.path).and_then(|path| given.scenario.param(&path));
            let param = path
                .map_err(|m| Failure::text(Class::Scenario, format!("{}: {m}", file.display())))?;
            params.push((param, p.fitted));
        }
        let set: Vec<_> = params.iter().map(|(p, v)| (p, *v)).collect();
        let fitted_scenario = given.scenario.with_params(&set)?;
        Ok(Files {
            command: "tradeflow calibrate (Python)".into(),
            groups: vec![Group::new("", Kind::Calibration, files)],
            inputs: given.inputs(),
            summary: tradeflow::report::fit_table(&fit),
            fitted: Some(text),
            fitted_scenario: Some(fitted_scenario),
            series: catalog(&given.scenario),
        })
    })?;
    Ok(files)
}

/// The native module; `tradeflow/__init__.py` wraps it.
#[pymodule]
fn _tradeflow(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", VERSION)?;
    m.add_class::<PyScenario>()?;
    m.add_class::<Files>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(montecarlo, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate, m)?)?;
    m.add("TradeflowError", py.get_type::<TradeflowError>())?;
    m.add("ScenarioError", py.get_type::<ScenarioError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("SolveError", py.get_type::<SolveError>())?;
    m.add("EstimateError", py.get_type::<EstimateError>())?;
    m.add("OutputError", py.get_type::<OutputError>())?;
    Ok(())
}
