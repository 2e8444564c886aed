"""The Python package against the command line: the same scenario run both ways gives the
same files, byte for byte, and DataFrames equal to the CSV files the binary writes; errors
carry the binary's messages; parameters set from Python are checked as the file's are."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest

import tradeflow
from conftest import csv_files

AS_HAPPENED = "scenarios/roundabout/as_happened.toml"
NO_WAR = "scenarios/roundabout/no_war.toml"
SINGLE = "scenarios/can_jpn_pta.toml"
MONTECARLO = "scenarios/can_jpn_pta_montecarlo.toml"


def assert_same_as_folder(res: tradeflow.Results, folder: Path) -> None:
    """Every file of `res` is in `folder` with the same bytes, every CSV of the folder is in
    `res`, and each DataFrame equals the CSV read from the folder."""
    on_disk = csv_files(folder)
    in_results = sorted(n for n in res.files if n.endswith(".csv"))
    assert in_results == on_disk
    for name in res.files:
        assert res.bytes(name) == (folder / name).read_bytes(), name
    for name in in_results:
        df = res.table(name)
        expected = tradeflow.read_csv(folder / name)
        pd.testing.assert_frame_equal(df, expected, check_exact=True)
        header = (folder / name).read_text().splitlines()[0].split(",")
        assert list(df.columns) == header, name


def test_version_is_the_library_s(root: Path) -> None:
    cargo = (root / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert tradeflow.__version__ == version


def test_a_yearly_run_gives_the_files_of_the_command_line(cli, tmp_path: Path) -> None:
    res = tradeflow.run(AS_HAPPENED)
    assert res.kind == "year-run"
    cli("run", AS_HAPPENED, "--out", str(tmp_path / "cli"), "--quiet")
    assert_same_as_folder(res, tmp_path / "cli")
    # A file's rows by its documented name, and the headline numbers of the README.
    compare = res.flows
    assert {"year", "exporter", "importer"} <= set(compare.columns)
    assert "run.json" in res.files and res.record()["scenario"]["name"] == "as_happened"
    assert "2021" in res.summary and "2030" in res.summary


def test_units_and_keys_are_in_attrs(tmp_path: Path) -> None:
    res = tradeflow.run(AS_HAPPENED)
    documented = {f["file"]: f for f in res.record("run.json")["files"]}
    for name in (n for n in res.files if n.endswith(".csv")):
        df = res.table(name)
        assert df.attrs["file"] == name
        doc = documented[name]
        units = {c["name"]: c["unit"] for c in doc["columns"]}
        # Every column of the file has its documented unit, and nothing else is claimed.
        assert df.attrs["units"] == {c: units[c] for c in df.columns}, name
        assert df.attrs["doc"]["key"] == doc["key"]
    # A copy: changing one DataFrame's attrs leaves the next one as documented.
    a = res.flows
    a.attrs["units"].clear()
    assert res.flows.attrs["units"]


def test_a_single_counterfactual_gives_the_files_of_the_command_line(cli, tmp_path: Path) -> None:
    res = tradeflow.run(SINGLE)
    assert res.kind == "run"
    cli("run", SINGLE, "--out", str(tmp_path / "cli"), "--quiet")
    assert_same_as_folder(res, tmp_path / "cli")
    assert res.countries.attrs["units"], "countries.csv documents its units"


def test_save_writes_the_command_line_s_folder_and_never_overwrites(cli, tmp_path: Path) -> None:
    res = tradeflow.run(AS_HAPPENED)
    cli("run", AS_HAPPENED, "--out", str(tmp_path / "cli"), "--quiet")
    res.save(tmp_path / "py")
    ours = sorted(str(p.relative_to(tmp_path / "py")) for p in (tmp_path / "py").rglob("*")
                  if p.is_file() and not p.name.startswith("."))
    theirs = sorted(str(p.relative_to(tmp_path / "cli")) for p in (tmp_path / "cli").rglob("*")
                    if p.is_file() and not p.name.startswith("."))
    assert ours == theirs and any(n.startswith("charts/") for n in ours)
    for name in ours:
        if not name.startswith("charts/") or name.endswith(".csv"):
            assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    # Saving again replaces tradeflow's own folder; without charts, the earlier charts go.
    res.save(tmp_path / "py", charts=False)
    assert not list((tmp_path / "py").glob("charts/*.png"))
    assert (tmp_path / "py" / "flows.csv").read_bytes() == res.bytes("flows.csv")
    # A folder with a file of the user's is refused, and nothing is written.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(tradeflow.OutputError) as e:
        res.save(mine)
    assert "nothing was written" in str(e.value)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"
    # ... as is a folder holding the run's inputs.
    with pytest.raises(tradeflow.OutputError):
        res.save("scenarios/roundabout")


def test_set_parameters_by_path() -> None:
    s = tradeflow.Scenario.from_file(AS_HAPPENED)
    assert s.name == "as_happened" and s.has_years
    theta = s.get("routes.theta")
    s.set("routes.theta", theta + 2.0)
    assert s.get("routes.theta") == theta + 2.0
    moved = tradeflow.run(s).reexports
    base = tradeflow.run(AS_HAPPENED).reexports
    assert list(moved.columns) == list(base.columns)
    value = [c for c in base.columns if base[c].dtype.kind == "f"][0]
    assert not moved[value].equals(base[value])
    # A copy with several values, every bad one reported at once, naming path and value.
    with pytest.raises(tradeflow.ScenarioError) as e:
        s.with_params([("routes.theta", -1.0), ("years.adjustment", 7.0)])
    assert "routes.theta" in str(e.value) and "-1" in str(e.value)
    assert "years.adjustment" in str(e.value)
    assert s.get("routes.theta") == theta + 2.0, "a failed change leaves the scenario as it was"
    with pytest.raises(tradeflow.ScenarioError) as e:
        s.set("routes.nonsense", 1.0)
    assert "routes.nonsense" in str(e.value) and "as_happened.toml" in str(e.value)
    with pytest.raises(tradeflow.ScenarioError):
        s.set("routes.theta", float("nan"))


def test_a_parameter_set_from_python_equals_the_same_value_in_the_file(root: Path, tmp_path: Path) -> None:
    s = tradeflow.Scenario.from_file(SINGLE)
    sigma = s.get("sigma")
    s.set("sigma", sigma + 1.0)
    # The same scenario with the value written into the file (and its data path absolute,
    # as the copy lives elsewhere).
    text = Path(SINGLE).read_text()
    data = root / "tests" / "data" / "gegravity_sample" / "sample_data_set.dlm"
    edited = re.sub(r"(?m)^sigma\s*=.*$", f"sigma = {sigma + 1.0}", text)
    edited = edited.replace('"../tests/data/gegravity_sample/sample_data_set.dlm"', json.dumps(str(data)))
    assert edited.count(str(data)) == 1 and f"sigma = {sigma + 1.0}" in edited
    path = tmp_path / "edited.toml"
    path.write_text(edited)
    from_file = tradeflow.run(str(path))
    from_python = tradeflow.run(s)
    for name in ("countries.csv", "bilateral.csv"):
        assert from_python.bytes(name) == from_file.bytes(name), name
    assert not from_python.countries.equals(tradeflow.run(SINGLE).countries)


def test_compare_gives_the_files_of_the_command_line(cli, tmp_path: Path) -> None:
    res = tradeflow.compare([AS_HAPPENED, NO_WAR], reference="no_war")
    assert res.kind == "compare"
    cli("compare", AS_HAPPENED, NO_WAR, "--reference", "no_war", "--out", str(tmp_path / "cli"), "--quiet")
    assert_same_as_folder(res, tmp_path / "cli")
    table = res.compare
    assert set(table["scenario"]) >= {"as_happened", "no_war"}
    # Values of a series table carry each series' unit.
    assert set(table["series"]) <= set(table.attrs["series_units"])


def test_montecarlo_gives_the_files_of_the_command_line(cli, tmp_path: Path) -> None:
    res = tradeflow.run(MONTECARLO, draws=12, seed=5)
    cli("run", MONTECARLO, "--draws", "12", "--seed", "5", "--out", str(tmp_path / "cli"), "--quiet")
    for name in ("montecarlo/montecarlo.csv", "montecarlo/failed_draws.csv"):
        assert res.bytes(name) == (tmp_path / "cli" / name).read_bytes(), name
        pd.testing.assert_frame_equal(res.table(name), tradeflow.read_csv(tmp_path / "cli" / name))
    bands = tradeflow.montecarlo(MONTECARLO, draws=12, seed=5)
    assert bands.bytes("montecarlo.csv") == res.bytes("montecarlo/montecarlo.csv")
    assert bands.record()["seed"] == 5 and bands.record()["draws"] == 12
    with pytest.raises(ValueError):
        tradeflow.montecarlo(MONTECARLO, draws=0)
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.run(SINGLE, draws=3)
    assert e.value.args[0] == cli.error("run", SINGLE, "--draws", "3", "--out", str(tmp_path / "x"))


def test_posterior_montecarlo_gives_the_files_of_the_command_line(cli, root: Path, tmp_path: Path) -> None:
    # as_happened draws its estimated parameters from estimation/fit (`[uncertainty] posterior`).
    res = tradeflow.montecarlo(AS_HAPPENED, draws=6, seed=3)
    cli("run", AS_HAPPENED, "--draws", "6", "--seed", "3", "--no-charts", "--out", str(tmp_path / "cli"), "--quiet")
    for name in ("montecarlo.csv", "posterior.json", "observed.csv"):
        assert res.bytes(name) == (tmp_path / "cli" / "montecarlo" / name).read_bytes(), name
    record = json.loads(res.bytes("posterior.json"))
    fitted = tradeflow.read_csv(root / "scenarios" / "roundabout" / "estimation" / "fit" / "posterior.csv")
    assert record["folder"].endswith("estimation/fit")
    assert [p["path"] for p in record["parameters"]] == list(fitted["parameter"])
    assert set(res.observed["in_sample"].astype(str).str.lower()) == {"true"}


def test_sweep_gives_the_files_of_the_command_line(cli, tmp_path: Path) -> None:
    axis = "sigma=4:8:3"
    res = tradeflow.sweep(SINGLE, {"sigma": (4, 8, 3)})
    assert res.kind == "sweep"
    cli("sweep", SINGLE, "--param", axis, "--out", str(tmp_path / "cli"), "--quiet")
    folder = tmp_path / "cli" / "sweep"
    for name in ("sweep.csv", "failed_points.csv", "tornado.csv"):
        assert res.bytes(name) == (folder / name).read_bytes(), name
        pd.testing.assert_frame_equal(res.table(name), tradeflow.read_csv(folder / name))
    assert list(res.sweep.columns[:2]) == ["point", "sigma"]
    assert sorted(res.sweep["sigma"].unique()) == [4.0, 6.0, 8.0]
    with pytest.raises(ValueError):
        tradeflow.sweep(SINGLE, ["sigma=8:4:3"])
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.sweep(SINGLE, [axis], outputs=["no such series"])
    assert e.value.args[0] == cli.error(
        "sweep", SINGLE, "--param", axis, "--output", "no such series", "--out", str(tmp_path / "y")
    )


def test_calibrate_gives_the_files_of_the_command_line(cli, root: Path, tmp_path: Path) -> None:
    # The command line writes the fitted scenario next to the original: run it on a copy.
    copy = tmp_path / "roundabout"
    shutil.copytree(root / "scenarios" / "roundabout", copy)
    scenario = copy / "as_happened.toml"
    res = tradeflow.calibrate(str(scenario))
    assert res.kind == "calibration"
    cli("calibrate", str(scenario), "--out", str(tmp_path / "cli"), "--quiet")
    for name in ("parameters.csv", "fit.csv", "calibration.json"):
        assert res.bytes(name) == (tmp_path / "cli" / name).read_bytes(), name
    pd.testing.assert_frame_equal(res.parameters, tradeflow.read_csv(tmp_path / "cli" / "parameters.csv"))
    fitted_file = (copy / "as_happened.fitted.toml").read_text()
    assert fitted_file.endswith(res.fitted_toml)
    fitted = res.fitted_scenario()
    for _, row in res.parameters.iterrows():
        # parameters.csv holds 10 significant digits (run.json `significant_digits`).
        assert fitted.get(row["path"]) == pytest.approx(row["fitted"], rel=1e-9)


TINY_CALIBRATION = """name = "tiny_backtest"
reference_importer = "OTH"
sigma = 5.0
economies = ["ORG", "HUB", "TGT", "OTH"]
[years]
base = 2022
horizon = 2024
adjustment = 0.5
[data]
flows = [
    { exporter = "ORG", importer = "ORG", value = 100.0 },
    { exporter = "ORG", importer = "HUB", value = 4.0 },
    { exporter = "ORG", importer = "TGT", value = 12.0, reporter = "ORG" },
    { exporter = "ORG", importer = "OTH", value = 10.0 },
    { exporter = "HUB", importer = "ORG", value = 2.0 },
    { exporter = "HUB", importer = "HUB", value = 30.0 },
    { exporter = "HUB", importer = "TGT", value = 3.0, reporter = "HUB" },
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
[costs]
method = "observed"
[routes]
theta = 4.0
target = "TGT"
intermediaries = ["HUB"]
origins = ["ORG", "OTH"]
premium = 3.0
[[instruments]]
id = "controls"
kind = "export_controls"
start = 2023
exporters = ["ORG"]
importers = ["TGT"]
percent = 40
[[calibration.free]]
path = "instruments.controls.percent"
lower = 0.1
upper = 500.0
prior = { dist = "lognormal", median = 30, sd = 1.0, reason = "a test prior" }
[[calibration.targets]]
series = "ORG-TGT.recorded.ORG"
year = 2023
value = 9.0
sd = 0.1
[[calibration.targets]]
series = "ORG-TGT.recorded.ORG"
year = 2024
value = 8.0
sd = 0.1
"""


def test_calibrate_until_gives_the_backtest_of_the_command_line(cli, tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY_CALIBRATION)
    res = tradeflow.calibrate(str(scenario), until=2023)
    cli("calibrate", str(scenario), "--until", "2023", "--out", str(tmp_path / "cli"), "--quiet")
    for name in ("backtest.csv", "posterior.csv", "posterior_covariance.csv", "fit.csv"):
        assert res.bytes(name) == (tmp_path / "cli" / name).read_bytes(), name
    backtest = res.backtest.set_index("year")
    assert bool(backtest.loc[2023, "in_sample"]) and not bool(backtest.loc[2024, "in_sample"])
    assert list(res.fit["year"]) == [2023]


def test_estimate_on_the_gegravity_sample(cli, root: Path, tmp_path: Path) -> None:
    shared = root.parent / "shared" / "data" / "gegravity_sample" / "sample_data_set.dlm"
    data = shared if shared.is_file() else root / "tests" / "data" / "gegravity_sample" / "sample_data_set.dlm"
    variables = ["lndist", "contiguity", "common_language", "pta", "international"]
    res = tradeflow.estimate(data, variables, year=2006)
    assert res.kind == "estimate"
    cli("estimate", "--data", str(data), "--year", "2006", "--variables", ",".join(variables),
        "--out", str(tmp_path / "cli"), "--quiet")
    assert_same_as_folder(res, tmp_path / "cli")
    coefs = res.coefficients.set_index("variable")
    assert list(coefs.index) == variables + ["constant"]
    # gegravity ships ppmlhdfe's coefficients for this sample (README, "Estimating trade
    # costs"); the sign of distance is what any gravity fit gives.
    assert coefs.loc["lndist", "beta"] < 0
    clustered = tradeflow.estimate(data, variables, year=2006, cluster="pair")
    assert clustered.record()["standard_errors"] != res.record()["standard_errors"]
    with pytest.raises(ValueError):
        tradeflow.estimate(data, variables, cluster="country")
    with pytest.raises(tradeflow.DataError) as e:
        tradeflow.estimate(data, ["no_such_column"])
    assert e.value.args[0] == cli.error(
        "estimate", "--data", str(data), "--variables", "no_such_column", "--out", str(tmp_path / "z")
    )


def bad_country(root: Path) -> str:
    """The two-country example with an undefined economy in its shock."""
    text = (root / "scenarios" / "two_country_symmetric.toml").read_text()
    bad = text.replace('exporters = ["ALP", "BET"]', 'exporters = ["ALP", "KGZZ"]')
    assert bad != text
    return bad


def test_errors_carry_the_command_line_s_message(cli, root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(bad_country(root))
    expected = cli.error("run", str(bad), "--out", str(tmp_path / "out"))
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.run(str(bad))
    assert e.value.args[0] == expected
    assert str(bad) in expected and "KGZZ" in expected
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.Scenario.from_file(str(bad))
    assert e.value.args[0] == expected
    assert isinstance(e.value, tradeflow.TradeflowError)
    # Syntax errors keep their line and column.
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\nsigma = = 5\n')
    expected = cli.error("run", str(broken), "--out", str(tmp_path / "out"))
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.run(str(broken))
    assert e.value.args[0] == expected and "line 2" in expected
    missing = tmp_path / "missing.toml"
    expected = cli.error("run", str(missing), "--out", str(tmp_path / "out"))
    with pytest.raises(tradeflow.ScenarioError) as e:
        tradeflow.run(str(missing))
    assert e.value.args[0] == expected
    with pytest.raises(TypeError):
        tradeflow.run(42)  # type: ignore[arg-type]


def test_series_lists_what_can_be_asked_for() -> None:
    table = tradeflow.series(AS_HAPPENED)
    assert list(table.columns) == ["name", "definition", "unit", "first_year", "last_year"]
    res = tradeflow.compare([AS_HAPPENED])
    assert set(res.compare["series"]) <= set(table["name"])


def test_runs_in_threads_agree() -> None:
    # Runs release the GIL (src/python/src/lib.rs: `py.detach`); two at once in two
    # threads give what one run gives.
    out = {}

    def work(k: int) -> None:
        out[k] = tradeflow.run(AS_HAPPENED).bytes("flows.csv")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out[0] == out[1] == tradeflow.run(AS_HAPPENED).bytes("flows.csv")


def test_results_name_their_files() -> None:
    res = tradeflow.run(AS_HAPPENED)
    assert "flows" in dir(res)
    with pytest.raises(AttributeError) as e:
        res.no_such_file
    assert "flows.csv" in str(e.value)
    assert isinstance(json.loads(res.bytes("run.json")), dict)


def test_ctrl_c_stops_a_monte_carlo() -> None:
    # A Monte Carlo far too long to finish: SIGINT raises KeyboardInterrupt once the draws
    # under way end (the draws check a stop flag). The signal is sent every half second
    # until the call returns, and only the first one raises: under load a single signal
    # sent 0.5 s in was sometimes never seen, and the run went on for good.
    raised = threading.Event()
    done = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if not raised.is_set():
            raised.set()
            raise KeyboardInterrupt

    def send() -> None:
        while not done.wait(0.5):
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            tradeflow.montecarlo(MONTECARLO, draws=5_000_000, seed=1)
    finally:
        done.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)


def test_the_type_stubs_name_what_the_native_module_has() -> None:
    import ast

    from tradeflow import _tradeflow

    stub = Path(_tradeflow.__file__).with_name("_tradeflow.pyi")
    tree = ast.parse(stub.read_text())
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in dir(_tradeflow) if not n.startswith("_")}
    assert top - {"_ScenarioArg"} == public
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        methods = {m.name for m in cls.body if isinstance(m, ast.FunctionDef)}
        native = getattr(_tradeflow, cls.name)
        assert all(hasattr(native, m) for m in methods), cls.name
        if cls.name in ("Scenario", "Files"):
            assert {m for m in dir(native) if not m.startswith("_")} == methods, cls.name


def test_the_readme_s_notebook_example_prints_its_table(root: Path) -> None:
    text = (root / "README.md").read_text()
    section = text[text.index("\n## Python\n"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]
    shown = section[section.index("\n```\n") + 5:].lstrip("\n").split("\n\n")[0]
    *body, last = code.strip().splitlines()
    scope: dict = {}
    exec("\n".join(body) + f"\n_table = {last.split('#')[0].strip()}", scope)
    printed = scope["_table"].to_string()
    words = lambda t: [line.split() for line in t.splitlines() if line.strip()]
    assert words(printed) == words(shown)
