#!/usr/bin/env python3
"""Time gegravity 0.3's MonteCarloGE on its own example (Peter Herman, USITC; MIT licence).

The model is upstream `examples/examples_MonteCarloGE.py` (gegravity commit 358cba1), unchanged
except for the number of trials:

  * data: tests/data/gegravity_sample/sample_data_set.dlm plus a column `constant` = 1,
    `BaselineData(trade, importer, exporter, year, Y, E)`
  * `CostCoeffs(estimates, identifier_col='var', coeff_col='beta', stderr_col='stderr',
    covar_matrix=var_covar)` with the coefficients, standard errors and variance-covariance
    matrix of tests/data/gegravity_sample/README.md (the upstream example's)
  * `MonteCarloGE(baseline, year='2006', trials=N, reference_importer='DEU', sigma=7,
    cost_variables=[lndist, contiguity, common_language, pta, international, constant],
    cost_coeff_values=cost_params, allow_singular_covar=True, seed=1)`
  * experiment: pta = 1 for (exporter CAN, importer JPN) and (exporter JPN, importer CAN) in a
    copy of `mc_model.baseline_data`
  * `run_trials(experiment_data=exp_data, omr_rescale=1,
    result_stats=['mean', 'std', 'sem', 'median'], all_results=True)`; every other setting at
    gegravity's defaults (hybr solvers, tolerances 1e-8, quiet=False: gegravity's per-trial
    console output is sent to /dev/null, or to stderr with --verbose).

Timed with time.perf_counter (wall) and time.process_time (CPU time of this process, which a
busy machine inflates much less), in process: the setup (CSV reading, BaselineData,
CostCoeffs), the MonteCarloGE construction (which draws the coefficient sample) and the whole
run_trials call. Interpreter start and imports are not included.

Output:
  * stderr: versions, the timings, the number of failed trials (gegravity's
    `num_failed_trials`: trials whose solve raised) and the number of trials with a solver that
    did not report convergence (gegravity only warns about those and keeps them), one
    `key: value` line each;
  * stdout: a CSV, `country,quantity,trials,mean,std`, for CAN and JPN:
      - `welfare_statistic`: gegravity's own summary (mc_model.country_results, rows
        'mean' and 'std'), in gegravity's units: (E/P)_baseline / (E/P)_experiment,
        below 1 is a gain;
      - `welfare_change_pct`: 100 * (1/statistic - 1) for every trial, then the mean and the
        sample sd over the trials (ddof = 1, like pandas' std and tradeflow's `sd`). This is
        tradeflow's `welfare_change_pct`.
      - `welfare_change_pct_converged`: the same over the trials whose three solves (baseline
        MRs, conditional MRs, full GE) all report convergence.
  * with --per-trial FILE: one CSV row per solved trial (trial number, the drawn coefficients,
    the success flag of each solve, CAN and JPN welfare statistic and percent change).

Usage (from the repository root):
    VENV/bin/python tests/reference/montecarloge_timing.py [--trials N] [--seed S] [--verbose]
        [--per-trial FILE]
"""

import argparse
import contextlib
import math
import os
import platform
import statistics
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import pandas as pd

# pandas 3 deprecates the `inplace=` keyword that gegravity 0.3 uses everywhere; the calls
# still work (see gegravity_reference.py).
warnings.filterwarnings("ignore", message="The inplace keyword")

import gegravity as ge  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT / "tests" / "data" / "gegravity_sample" / "sample_data_set.dlm"

COST_VARIABLES = ["lndist", "contiguity", "common_language", "pta", "international", "constant"]
# (var, beta, stderr): tests/data/gegravity_sample/README.md, upstream examples_MonteCarloGE.py
ESTIMATES = [
    ("lndist", -0.3898623, 0.0729915),
    ("contiguity", 0.891577, 0.1327354),
    ("common_language", 0.0326249, 0.0840702),
    ("pta", 0.4711383, 0.1076578),
    ("international", -3.412584, 0.2151235),
    ("constant", 16.32434, 0.4844137),
]
# Variance-covariance matrix of the estimates, same order (README / upstream example).
VAR_COVAR = [
    ("lndist", .00532776, .00504029, .00093778, .00473823, -.01440259, -.03476407),
    ("contiguity", .00504029, .01761868, -.00175404, -.00030881, -.01492965, -.03036031),
    ("common_language", .00093778, -.00175404, .00706779, .00249937, .00136678, -.01312498),
    ("pta", .00473823, -.00030881, .00249937, .01159021, -.01538926, -.03255428),
    ("international", -.01440259, -.01492965, .00136678, -.01538926, .04627812, .08911527),
    ("constant", -.03476407, -.03036031, -.01312498, -.03255428, .08911527, .23465662),
]
SIGMA = 7
REFERENCE_IMPORTER = "DEU"
YEAR = "2006"
PTA_PAIRS = [("CAN", "JPN"), ("JPN", "CAN")]  # (exporter, importer)
REPORT_COUNTRIES = ["CAN", "JPN"]
PACKAGES = ["gegravity", "gme", "pandas", "numpy", "scipy", "statsmodels"]


def info(key, value):
    print("{}: {}".format(key, value), file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100, help="number of Monte Carlo trials (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="MonteCarloGE seed (default 1, as upstream)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="path to sample_data_set.dlm")
    ap.add_argument("--verbose", action="store_true",
                    help="send gegravity's per-trial console output to stderr instead of /dev/null")
    ap.add_argument("--per-trial", metavar="FILE", help="write every solved trial's draws and results to FILE")
    args = ap.parse_args()
    if args.trials < 1:
        ap.error("--trials must be at least 1")

    versions = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "not installed"
    info("versions", ", ".join("{} {}".format(k, v) for k, v in versions.items()))
    info("trials", args.trials)
    info("seed", args.seed)

    sink = sys.stderr if args.verbose else open(os.devnull, "w")
    with contextlib.redirect_stdout(sink):
        t0 = time.perf_counter()
        raw_data = pd.read_csv(args.data)
        raw_data["constant"] = 1
        baseline = ge.BaselineData(raw_data, trade_var_name="trade", imp_var_name="importer",
                                   exp_var_name="exporter", year_var_name="year", output_var_name="Y",
                                   expend_var_name="E")
        ests = pd.DataFrame(ESTIMATES, columns=["var", "beta", "stderr"])
        var_covar = pd.DataFrame(VAR_COVAR, columns=["var"] + COST_VARIABLES).set_index("var")
        cost_params = ge.CostCoeffs(estimates=ests, identifier_col="var", coeff_col="beta",
                                    stderr_col="stderr", covar_matrix=var_covar)
        t1 = time.perf_counter()
        mc_model = ge.MonteCarloGE(baseline,
                                   year=YEAR,
                                   trials=args.trials,
                                   reference_importer=REFERENCE_IMPORTER,
                                   sigma=SIGMA,
                                   cost_variables=COST_VARIABLES,
                                   cost_coeff_values=cost_params,
                                   allow_singular_covar=True,
                                   seed=args.seed)
        t2 = time.perf_counter()
        exp_data = mc_model.baseline_data.copy()
        for exporter, importer in PTA_PAIRS:
            exp_data.loc[(exp_data["importer"] == importer) & (exp_data["exporter"] == exporter), "pta"] = 1
        t3 = time.perf_counter()
        c3 = time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", message="The inplace keyword")
            mc_model.run_trials(experiment_data=exp_data,
                                omr_rescale=1,
                                result_stats=["mean", "std", "sem", "median"],
                                all_results=True)
        t4 = time.perf_counter()
        c4 = time.process_time()
    if sink is not sys.stderr:
        sink.close()

    info("setup_seconds (read CSV, BaselineData, CostCoeffs)", "{:.4f}".format(t1 - t0))
    info("construction_seconds (MonteCarloGE, draws the sample)", "{:.4f}".format(t2 - t1))
    info("run_trials_seconds", "{:.4f}".format(t4 - t3))
    info("run_trials_cpu_seconds", "{:.4f}".format(c4 - c3))
    info("run_trials_seconds_per_trial", "{:.4f}".format((t4 - t3) / args.trials))
    info("total_seconds (setup + construction + experiment data + run_trials)", "{:.4f}".format(t4 - t0))
    info("failed_trials", "{} {}".format(mc_model.num_failed_trials, mc_model.failed_trials))
    # Trials that solved, in the order of gegravity's results (position k <-> trial solved[k]).
    solved = [t for t in range(args.trials) if t not in mc_model.failed_trials]
    diagnostics = [mc_model.solver_diagnostics[k] for k in range(len(solved))]
    converged = [all(bool(r.success) for r in d.values()) for d in diagnostics]
    unconverged = [
        "{} ({})".format(solved[k], ", ".join("{}: {}".format(name, " ".join(str(r.message).split()))
                                             for name, r in diagnostics[k].items() if not r.success))
        for k in range(len(solved)) if not converged[k]]
    info("trials_with_unconverged_solver (kept by gegravity)",
         "{} {}".format(len(unconverged), "; ".join(unconverged)))
    solver_warnings = sorted({str(w.message) for w in caught})
    info("solver_warnings", "; ".join(solver_warnings) if solver_warnings else "none")

    label = mc_model.labels.welfare_stat
    summary = mc_model.country_results
    allres = mc_model.all_country_results
    stat = {c: [float(allres.loc[c, (k, label)]) for k in range(len(solved))] for c in REPORT_COUNTRIES}
    pct = {c: [100.0 * (1.0 / x - 1.0) for x in stat[c]] for c in REPORT_COUNTRIES}

    def mean_sd(xs):
        if not xs:
            return float("nan"), float("nan")
        return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)

    print("country,quantity,trials,mean,std")
    for country in REPORT_COUNTRIES:
        rows = summary.loc[[country]]
        mean = float(rows.loc[rows["statistic"] == "mean", label].iloc[0])
        std = float(rows.loc[rows["statistic"] == "std", label].iloc[0])
        print("{},welfare_statistic,{},{!r},{!r}".format(country, len(solved), mean, std))
        if not all(math.isfinite(x) for x in pct[country]):
            raise SystemExit("non-finite welfare for {}".format(country))
        m, sd = mean_sd(pct[country])
        print("{},welfare_change_pct,{},{!r},{!r}".format(country, len(solved), m, sd))
        ok = [x for x, c in zip(pct[country], converged) if c]
        m, sd = mean_sd(ok)
        print("{},welfare_change_pct_converged,{},{!r},{!r}".format(country, len(ok), m, sd))

    if args.per_trial:
        sample = mc_model.coeff_sample.set_index(cost_params._identifier_col)
        with open(args.per_trial, "w") as fh:
            names = list(diagnostics[0].keys()) if diagnostics else []
            header = ["trial"] + COST_VARIABLES + ["{}_success".format(n) for n in names]
            for c in REPORT_COUNTRIES:
                header += ["{}_welfare_statistic".format(c), "{}_welfare_change_pct".format(c)]
            fh.write(",".join(header) + "\n")
            for k, t in enumerate(solved):
                row = [str(t)] + [repr(float(sample.loc[v, t])) for v in COST_VARIABLES]
                row += ["true" if diagnostics[k][n].success else "false" for n in names]
                for c in REPORT_COUNTRIES:
                    row += [repr(stat[c][k]), repr(pct[c][k])]
                fh.write(",".join(row) + "\n")
        info("per_trial_file", args.per_trial)


if __name__ == "__main__":
    main()
