"""tradeflow from Python: run scenarios and get their results as pandas DataFrames.

Every command runs in tradeflow's Rust library, exactly as the command line runs it, and
returns a :class:`Results` whose DataFrames are read from the very bytes the command line
writes: ``res.flows`` has the columns of ``flows.csv``, ``res.routes`` those of
``routes.csv``, and so on, with each column's unit in ``df.attrs["units"]``.
``res.save(folder)`` writes the same folder as the command line (data, ``run.json`` and
charts), through tradeflow's folder claim: a folder holding files tradeflow did not write
is refused and nothing is written.

>>> import tradeflow
>>> res = tradeflow.run("scenarios/roundabout/as_happened.toml")
>>> res.flows.head()                                         # doctest: +SKIP
>>> s = tradeflow.Scenario.from_file("scenarios/roundabout/as_happened.toml")
>>> s.set("routes.theta", 6.0)
>>> tradeflow.run(s).reexports                              # doctest: +SKIP

Errors are exceptions derived from :class:`TradeflowError` carrying the command line's
message (file, key path, line):  :class:`ScenarioError`, :class:`DataError`,
:class:`SolveError`, :class:`EstimateError`, :class:`OutputError`; a bad argument (a
malformed sweep axis, zero draws, a limit exceeded) is a ``ValueError``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from . import _tradeflow
from ._tradeflow import (
    DataError,
    EstimateError,
    OutputError,
    Scenario,
    ScenarioError,
    SolveError,
    TradeflowError,
)

__version__: str = _tradeflow.__version__

__all__ = [
    "Scenario",
    "Results",
    "run",
    "montecarlo",
    "compare",
    "sweep",
    "calibrate",
    "estimate",
    "series",
    "read_csv",
    "TradeflowError",
    "ScenarioError",
    "DataError",
    "SolveError",
    "EstimateError",
    "OutputError",
]

ScenarioLike = Union[Scenario, str, "os.PathLike[str]"]


def read_csv(data: Union[bytes, str, "os.PathLike[str]"]) -> pd.DataFrame:
    """Reads a tradeflow CSV (bytes or a path) the way :class:`Results` does: only an empty
    cell is missing (a code such as ``NA``, Namibia, stays a string), so a DataFrame read
    from a results folder equals the one a command returned."""
    if isinstance(data, bytes):
        if not data.strip():
            # A file of no rows written without its header (see the report of
            # failed_draws.csv): no rows, no columns.
            return pd.DataFrame()
        return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])
    if not Path(data).read_bytes().strip():
        return pd.DataFrame()
    return pd.read_csv(data, keep_default_na=False, na_values=[""])


def _column_docs(record: Any, file: str) -> Dict[str, Dict[str, Any]]:
    """What a record (``run.json`` and its kind) documents of the columns of ``file``:
    ``{column: {"unit": ..., "description": ..., ...}}``, or nothing. Accepts a ``files``
    entry that is a table by file name, or a list of entries with a ``name`` (or ``file``)
    and their ``columns`` as a table or a list of entries with a ``name``."""
    if not isinstance(record, dict):
        return {}
    files = record.get("files")
    entry: Any = None
    if isinstance(files, dict):
        entry = files.get(file)
    elif isinstance(files, list):
        for f in files:
            if isinstance(f, dict) and file in (f.get("name"), f.get("file"), f.get("path")):
                entry = f
                break
    if not isinstance(entry, dict):
        return {}
    columns = entry.get("columns")
    out: Dict[str, Dict[str, Any]] = {}
    if isinstance(columns, dict):
        for name, doc in columns.items():
            out[str(name)] = dict(doc) if isinstance(doc, dict) else {"description": doc}
    elif isinstance(columns, list):
        for doc in columns:
            if isinstance(doc, dict) and "name" in doc:
                out[str(doc["name"])] = {k: v for k, v in doc.items() if k != "name"}
    for doc in out.values():
        if "unit" not in doc and "units" in doc:
            doc["unit"] = doc["units"]
    return out


def _file_doc(record: Any, file: str) -> Dict[str, Any]:
    """The record's documentation of ``file`` besides its columns (keys, description)."""
    if not isinstance(record, dict):
        return {}
    files = record.get("files")
    entry: Any = None
    if isinstance(files, dict):
        entry = files.get(file)
    elif isinstance(files, list):
        for f in files:
            if isinstance(f, dict) and file in (f.get("name"), f.get("file"), f.get("path")):
                entry = f
                break
    if not isinstance(entry, dict):
        return {}
    return {k: v for k, v in entry.items() if k not in ("columns", "name", "file", "path")}


class Results:
    """The results of one command: its files as the command line writes them, each CSV
    readable as a DataFrame named as the file (``res.flows`` for ``flows.csv``,
    ``res.table("montecarlo/montecarlo.csv")``), each JSON record as a dict
    (``res.record("run.json")``).

    Every DataFrame carries in ``df.attrs``: ``file`` (its name in the folder), ``units``
    (column -> unit, where one is documented or stated), ``columns`` (the record's
    documentation of each column, where it has one) and ``kind`` (``year-run``, ...).
    """

    def __init__(self, files: _tradeflow.Files) -> None:
        self._files = files
        self._names: List[str] = list(files.names())
        self._tables: Dict[str, pd.DataFrame] = {}

    @property
    def kind(self) -> str:
        """``run`` (a single counterfactual), ``year-run``, ``compare``, ``montecarlo``,
        ``calibration``, ``sweep`` or ``estimate``."""
        return self._files.kind

    @property
    def files(self) -> List[str]:
        """Every file, by its path inside the results folder."""
        return list(self._names)

    @property
    def tables(self) -> Dict[str, pd.DataFrame]:
        """Every CSV file as a DataFrame, by file name."""
        return {n: self.table(n) for n in self._names if n.endswith(".csv")}

    @property
    def summary(self) -> str:
        """What the command line prints for these results (key series, fit, coefficients)."""
        return self._files.summary

    @property
    def fitted_toml(self) -> Optional[str]:
        """A calibration's fitted scenario file (the text ``tradeflow calibrate`` writes
        next to the scenario, without its first line)."""
        return self._files.fitted_toml

    def fitted_scenario(self) -> Scenario:
        """A calibration's scenario with its fitted values set (checked as any value set
        by path): ready for :func:`run`, :func:`montecarlo` or :func:`sweep`."""
        fitted = self._files.fitted_scenario
        if fitted is None:
            raise TypeError(f"{self.kind} results have no fitted scenario")
        return fitted

    def bytes(self, name: str) -> bytes:
        """The bytes of one file, exactly as the command line writes it."""
        return bytes(self._files.read(self._resolve(name)))

    def record(self, name: Optional[str] = None) -> Dict[str, Any]:
        """A JSON file as a dict; by default the record of the results (``run.json``,
        ``montecarlo.json``, ``sweep.json``, ``calibration.json``, ``estimate.json``)."""
        if name is None:
            records = [n for n in self._names if n.endswith(".json")]
            if not records:
                raise KeyError(f"these {self.kind} results have no JSON record")
            name = records[0]
        return json.loads(self.bytes(name))

    def table(self, name: str) -> pd.DataFrame:
        """One CSV file as a DataFrame: ``"flows"``, ``"flows.csv"`` or
        ``"montecarlo/montecarlo.csv"``. Each call returns a new copy."""
        file = self._resolve(name)
        if not file.endswith(".csv"):
            raise KeyError(f"`{file}` is not a CSV file")
        if file not in self._tables:
            df = read_csv(self.bytes(file))
            base = file.rsplit("/", 1)[-1]
            folder = file[: -len(base)]
            # The library's table of files (the one run.json holds), else the record's.
            native = self._files.doc(file)
            record: Any = (
                {"files": [json.loads(native)]} if native else self._record_of(folder)
            )
            docs = _column_docs(record, base)
            units = {
                col: str(docs[col]["unit"])
                for col in df.columns
                if col in docs and docs[col].get("unit") is not None
            }
            df.attrs["file"] = file
            df.attrs["kind"] = self.kind
            df.attrs["units"] = units
            # A table of series (compare, Monte Carlo, sweep, fit) holds values in each
            # series' own unit: the unit of every series it names.
            named = next((c for c in ("series", "output") if c in df.columns), None)
            if named is not None:
                wanted = set(df[named].astype(str))
                df.attrs["series_units"] = {
                    name: unit for name, unit in self._series_units().items() if name in wanted
                }
            if docs:
                df.attrs["columns"] = docs
            doc = _file_doc(record, base)
            if doc:
                df.attrs["doc"] = doc
            self._tables[file] = df
        return self._tables[file].copy(deep=True)

    def save(self, folder: Union[str, "os.PathLike[str]"], charts: bool = True) -> Path:
        """Writes the results into ``folder`` (created if needed) as the command line
        would, with their charts in ``charts/`` (``charts=False`` writes none and removes
        those an earlier save left, as ``--no-charts`` does). The folder must be
        new, empty or one tradeflow wrote, and may hold no input of the run: otherwise an
        :class:`OutputError` says why and nothing is written."""
        self._files.save(os.fspath(folder), charts)
        return Path(folder)

    def _series_units(self) -> Dict[str, str]:
        return {e["name"]: e["unit"] for e in json.loads(self._files.series_catalog())}

    def _record_of(self, folder: str) -> Any:
        for candidate in ("run.json", "montecarlo.json", "sweep.json", "calibration.json",
                          "estimate.json", "compare.json"):
            if folder + candidate in self._names:
                try:
                    return json.loads(self._files.read(folder + candidate))
                except ValueError:
                    return None
        return None

    def _resolve(self, name: str) -> str:
        if name in self._names:
            return name
        for candidate in (name + ".csv", name + ".json"):
            if candidate in self._names:
                return candidate
        matches = [n for n in self._names
                   if n.rsplit("/", 1)[-1] in (name, name + ".csv", name + ".json")]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(
            f"no file `{name}` in these {self.kind} results; they hold {', '.join(self._names)}"
        )

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.table(name)
        except KeyError as e:
            raise AttributeError(str(e.args[0]) if e.args else name) from None

    def __dir__(self) -> List[str]:
        stems = {n.rsplit("/", 1)[-1][:-4] for n in self._names if n.endswith(".csv")}
        return sorted(set(super().__dir__()) | stems)

    def __repr__(self) -> str:
        return f"<tradeflow.Results {self.kind}: {', '.join(self._names)}>"


def series(scenario: ScenarioLike) -> pd.DataFrame:
    """Every output series of a scenario, without running it (``tradeflow series FILE``):
    the names ``sweep(outputs=...)``, calibration targets and the ``series`` columns use,
    with each one's definition, unit and years."""
    s = scenario if isinstance(scenario, Scenario) else Scenario.from_file(_scenario_arg(scenario))
    rows = json.loads(s.series_catalog())
    for r in rows:
        years = r.pop("years", None)
        r["first_year"], r["last_year"] = (years[0], years[1]) if years else (None, None)
    return pd.DataFrame(rows, columns=["name", "definition", "unit", "first_year", "last_year"])


def run(scenario: ScenarioLike, draws: Optional[int] = None, seed: int = 0) -> Results:
    """Runs a scenario (a :class:`Scenario` or a scenario file's path), as
    ``tradeflow run FILE``: with ``[years]``, ``flows``, ``routes``, ``reexports`` and
    ``countries`` and ``run.json``; without, a single counterfactual's ``countries`` and
    ``bilateral``. With ``draws``, also that many Monte Carlo draws of the scenario's
    ``[uncertainty]`` (``res.montecarlo``, ``res.failed_draws``, as
    ``tradeflow run FILE --draws N --seed S``)."""
    return Results(_tradeflow.run(_scenario_arg(scenario), draws, seed))


def montecarlo(scenario: ScenarioLike, draws: int, seed: int = 0) -> Results:
    """Monte Carlo draws of a scenario's ``[uncertainty]``: quantile bands per series and
    year (``res.montecarlo``), the failed draws and ``montecarlo.json``. Results depend only
    on the seed, not on the number of threads."""
    return Results(_tradeflow.montecarlo(_scenario_arg(scenario), draws, seed))


def compare(scenarios: Iterable[ScenarioLike], reference: Optional[str] = None) -> Results:
    """Runs scenarios with ``[years]`` and lines up their key series (``res.compare``),
    their differences from the reference scenario (``reference``, by name; by default the
    one the command line picks) and their flows, as
    ``tradeflow compare FILE... [--reference NAME]``; scenarios that are only bases
    (``abstract = true``) are skipped, as the command line skips them."""
    return Results(_tradeflow.compare([_scenario_arg(s) for s in scenarios], reference))




def sweep(
    scenario: ScenarioLike,
    params: Union[Mapping[str, Tuple[float, float, int]], Sequence[str]],
    lhs: Optional[int] = None,
    seed: int = 0,
    outputs: Optional[Sequence[str]] = None,
) -> Results:
    """Runs a scenario over a grid of parameters, or a Latin hypercube of ``lhs`` points,
    as ``tradeflow sweep``: ``res.sweep`` (point, one column per parameter, series, year,
    value), ``res.failed_points`` and ``res.tornado``. ``params`` is a mapping
    ``{path: (low, high, count)}`` or a list of ``"PATH=LOW:HIGH:COUNT"``; ``outputs``
    keeps only those outputs (``"SERIES@YEAR"``), the first being the tornado's."""
    if isinstance(params, Mapping):
        axes = []
        for path, spec in params.items():
            if isinstance(spec, str):
                axes.append(f"{path}={spec}")
            else:
                try:
                    low, high, count = spec
                except (TypeError, ValueError):
                    raise ValueError(
                        f"params[{path!r}]: expected (low, high, count), got {spec!r}"
                    ) from None
                axes.append(f"{path}={float(low)!r}:{float(high)!r}:{int(count)}")
    elif isinstance(params, str):
        axes = [params]
    else:
        axes = [str(p) for p in params]
    return Results(_tradeflow.sweep(
        _scenario_arg(scenario), axes, lhs, seed, list(outputs) if outputs else None
    ))


def calibrate(scenario: ScenarioLike, until: Optional[int] = None) -> Results:
    """Finds the posterior mode of the free parameters of a scenario's ``[calibration]``
    given its targets and priors, as ``tradeflow calibrate``: ``res.parameters``,
    ``res.fit``, ``res.posterior``, ``res.posterior_covariance``, ``res.backtest`` and
    ``calibration.json``; ``res.fitted_toml`` is the fitted scenario file and
    :meth:`Results.fitted_scenario` the fitted scenario. With ``until`` (a year), only the
    targets up to it are fitted and the later ones are predicted, as ``--until``
    (``res.backtest``'s ``in_sample``). Nothing is written next to the scenario file."""
    return Results(_tradeflow.calibrate(_scenario_arg(scenario), until))


def estimate(
    data: Union[str, "os.PathLike[str]"],
    variables: Sequence[str],
    fixed_effects: Sequence[str] = ("exporter", "importer"),
    cluster: Optional[str] = None,
    dependent: str = "trade",
    year: Optional[int] = None,
) -> Results:
    """PPML with high-dimensional fixed effects on a gegravity-layout CSV, as
    ``tradeflow estimate``: ``res.coefficients`` (variable, beta, stderr),
    ``res.fixed_effects``, ``res.dropped`` and ``estimate.json``. ``fixed_effects`` from
    ``exporter``, ``importer``, ``year``, ``exporter-year``, ``importer-year``, ``pair``;
    ``cluster="pair"`` clusters the standard errors by ordered pair (else robust HC0)."""
    if isinstance(variables, str):
        variables = [v for v in variables.split(",") if v]
    return Results(_tradeflow.estimate(
        os.fspath(data), list(variables), list(fixed_effects), cluster, dependent, year
    ))


def _scenario_arg(scenario: ScenarioLike) -> Union[Scenario, str]:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        return os.fspath(scenario)
    raise TypeError(
        f"expected a tradeflow.Scenario or the path of a scenario file, got {type(scenario).__name__}"
    )
