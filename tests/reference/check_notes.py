#!/usr/bin/env python3
"""Independent numpy re-implementation of GEGRAVITY_NOTES.md, checked against the fixtures.

This does NOT import gegravity or pandas: it re-derives every fixture column from the equations in
tests/reference/GEGRAVITY_NOTES.md, in two modes:

  plug-in : take gegravity's own solver outputs from countries.csv (baseline/experiment MR ratios and
            experiment factory-gate prices) and recompute every other column. This checks that the
            notes describe the post-solve formulas exactly (expected agreement ~1e-12 relative).
  exact   : solve the three systems of the notes to machine precision with Newton's method and
            recompute every column. The differences vs the fixtures are then gegravity's own solver
            error (MINPACK hybr with xtol 1e-8), i.e. the floor any other implementation can reach.

Usage: python3 tests/reference/check_notes.py [DATA_PATH] [--fixtures DIR]
Requires only numpy.
"""
import argparse
import csv
import math
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT / "tests" / "data" / "gegravity_sample" / "sample_data_set.dlm"
DEFAULT_FIX = REPO_ROOT / "tests" / "data" / "gegravity"

SIGMA = 5.0
REF = "DEU"
BETA = {"lndist": -0.3898623, "contiguity": 0.891577, "common_language": 0.0326249,
        "pta": 0.4711383, "international": -3.412584, "constant": 16.32434}
PTA = [("CAN", "JPN"), ("JPN", "CAN")]


def read_csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def load(path):
    rows = read_csv(path)
    countries = sorted({r["exporter"] for r in rows})
    # Solver order: alphabetical, but the reference importer is moved LAST (gegravity recodes it 'ZZZ_DEU').
    order = [c for c in countries if c != REF] + [REF]
    idx = {c: k for k, c in enumerate(order)}
    n = len(order)
    Y = np.full(n, np.nan)
    E = np.full(n, np.nan)
    t0 = np.full((n, n), np.nan)  # t_ij^(1-sigma), rows exporter i, columns importer j
    t1 = np.full((n, n), np.nan)
    obs = np.full((n, n), np.nan)
    for r in rows:
        i, j = idx[r["exporter"]], idx[r["importer"]]
        Y[i] = float(r["Y"])  # gegravity: mean of Y over the exporter's rows (constant here)
        E[j] = float(r["E"])  # mean of E over the importer's rows
        x = {k: float(r[k]) for k in BETA if k != "constant"}
        x["constant"] = 1.0
        lin0 = sum(BETA[k] * x[k] for k in BETA)
        x1 = dict(x)
        if (r["exporter"], r["importer"]) in PTA:
            x1["pta"] = 1.0
        lin1 = sum(BETA[k] * x1[k] for k in BETA)
        t0[i, j] = math.exp(lin0)
        t1[i, j] = math.exp(lin1)
        obs[i, j] = float(r["trade"])
    return order, Y, E, t0, t1, obs


def solve_mr(t, ys, es, tol=1e-15):
    """Solve a_j * sum_i t_ij ys_i b_i = 1 (j != ref), b_i * sum_j t_ij es_j a_j = 1 (all i), a_ref = 1.

    a = 1/P^(1-sigma) (gegravity's 'imr ratio'), b = 1/Pi^(1-sigma) ('omr ratio'). Returns (a, b).
    Fixed-point warm start, then Newton in logs."""
    n = len(ys)
    co = t * ys[:, None]  # cost_out_shr[i, j]
    ce = t * es[None, :]  # cost_exp_shr[i, j]
    a = np.ones(n)
    b = np.ones(n)
    for _ in range(200):
        b = 1.0 / (ce @ a)
        a = 1.0 / (co.T @ b)
        b *= a[-1]
        a /= a[-1]
    u = np.concatenate([np.log(a[:-1]), np.log(b)])
    for _ in range(50):
        a = np.append(np.exp(u[:n - 1]), 1.0)
        b = np.exp(u[n - 1:])
        sa = co.T @ b  # sum_i co_ij b_i, per j
        sb = ce @ a    # sum_j ce_ij a_j, per i
        res = np.concatenate([u[:n - 1] + np.log(sa[:-1]), u[n - 1:] + np.log(sb)])
        J = np.zeros((2 * n - 1, 2 * n - 1))
        J[:n - 1, :n - 1] = np.eye(n - 1)
        J[:n - 1, n - 1:] = (co[:, :-1] * b[:, None]).T / sa[:-1, None]
        J[n - 1:, n - 1:] = np.eye(n)
        J[n - 1:, :n - 1] = ce[:, :-1] * a[None, :-1] / sb[:, None]
        du = np.linalg.solve(J, -res)
        u = u + du
        if np.max(np.abs(du)) < tol:
            break
    a = np.append(np.exp(u[:n - 1]), 1.0)
    b = np.exp(u[n - 1:])
    return a, b


def compute(order, Y, E, t0, t1, obs, a0, b0, a1, b1, p):
    """All fixture columns from the solved quantities (notes sections 5-9)."""
    s = SIGMA
    n = len(order)
    Ytot, Etot = Y.sum(), E.sum()
    ys, es = Y / Ytot, E / Etot
    lvl = lambda r: 1.0 / r ** (1.0 / (1.0 - s))  # level from ratio: P = 1/(ratio^(1/(1-sigma)))
    P0, Pi0, P1, Pi1 = lvl(a0), lvl(b0), lvl(a1), lvl(b1)
    beta = ys * b0
    Y1 = p * Y
    phi = E / Y
    E1 = phi * Y1
    Y1tot = Y1.sum()
    ys1 = Y1 / Y1tot
    X0 = t0 * (E[None, :] * ys[:, None] * a0[None, :] * b0[:, None])
    X1 = t1 * (E1[None, :] * ys1[:, None] * a1[None, :] * b1[:, None])
    pct = lambda new, old: 100.0 * (new - old) / old
    off = ~np.eye(n, dtype=bool)
    c = {}
    c["baseline_output"], c["baseline_expenditure"] = Y, E
    c["baseline_output_share"], c["baseline_expenditure_share"], c["phi"] = ys, es, phi
    c["baseline_imr_ratio"], c["baseline_omr_ratio"], c["baseline_imr"], c["baseline_omr"] = a0, b0, P0, Pi0
    c["factory_gate_price_param"] = beta
    c["experiment_imr_ratio"], c["experiment_omr_ratio"], c["experiment_imr"], c["experiment_omr"] = a1, b1, P1, Pi1
    c["imr_change_pct"], c["omr_change_pct"] = pct(P1, P0), pct(Pi1, Pi0)
    c["baseline_factory_gate_price"] = np.ones(n)
    c["experiment_factory_gate_price"] = p
    c["factory_gate_price_change_pct"] = 100.0 * (p - 1.0)
    c["experiment_output"], c["output_change_pct"], c["experiment_output_share"] = Y1, pct(Y1, Y), ys1
    c["experiment_expenditure"], c["expenditure_change_pct"] = E1, pct(E1, E)
    tot0, tot1 = 1.0 / P0, p / P1
    c["baseline_terms_of_trade"], c["experiment_terms_of_trade"] = tot0, tot1
    c["terms_of_trade_change_pct"] = pct(tot1, tot0)
    g0, g1 = Y / P0, Y1 / P1
    c["baseline_real_gdp"], c["experiment_real_gdp"], c["real_gdp_change_pct"] = g0, g1, pct(g1, g0)
    c["welfare_statistic"] = (E / P0) / (E1 / P1)
    for name, ax, mask in [("shipments", 1, None), ("consumption", 0, None),
                           ("foreign_exports", 1, off), ("foreign_imports", 0, off)]:
        m0 = X0 if mask is None else np.where(mask, X0, 0.0)
        m1 = X1 if mask is None else np.where(mask, X1, 0.0)
        s0, s1 = m0.sum(axis=ax), m1.sum(axis=ax)
        c["baseline_modeled_" + name] = s0
        c["experiment_" + name] = s1
        c[name + "_change_pct"] = pct(s1, s0)
    d0, d1 = np.diag(X0), np.diag(X1)
    c["baseline_modeled_intranational_trade"], c["experiment_modeled_intranational_trade"] = d0, d1
    c["intranational_trade_change_pct"] = pct(d1, d0)
    ofx = np.where(off, obs, 0.0).sum(axis=1)
    ofm = np.where(off, obs, 0.0).sum(axis=0)
    oin = np.diag(obs)
    c["baseline_observed_foreign_exports"] = ofx
    c["experiment_observed_foreign_exports"] = ofx * (1 + c["foreign_exports_change_pct"] / 100)
    c["baseline_observed_foreign_imports"] = ofm
    c["experiment_observed_foreign_imports"] = ofm * (1 + c["foreign_imports_change_pct"] / 100)
    c["baseline_observed_intranational_trade"] = oin
    c["experiment_observed_intranational_trade"] = oin * (1 + c["intranational_trade_change_pct"] / 100)
    bil = {
        "baseline_trade_cost": t0, "experiment_trade_cost": t1, "trade_cost_change_pct": pct(t1, t0),
        "baseline_modeled_trade": X0, "experiment_trade": X1, "trade_change_pct": pct(X1, X0),
        "baseline_observed_trade": obs,
    }
    bil["experiment_observed_trade"] = obs * (1 + bil["trade_change_pct"] / 100)
    bil["trade_change_observed_level"] = bil["experiment_observed_trade"] - obs
    eco = {"baseline_total_output": Ytot, "baseline_total_expenditure": Etot,
           "experiment_total_output": Y1tot, "total_output_change_pct": pct(Y1tot, Ytot)}
    return c, bil, eco


def compare(tag, order, c, bil, eco, cond, fix_dir, abs_floor):
    idx = {k: i for i, k in enumerate(order)}
    fc = {r["country"]: r for r in read_csv(fix_dir / "countries.csv")}
    fb = read_csv(fix_dir / "bilateral.csv")
    fe = {r["name"]: float(r["value"]) for r in read_csv(fix_dir / "economy.csv")}
    fcond = {r["country"]: r for r in read_csv(fix_dir / "conditional.csv")}
    print("\n== {} ==".format(tag))
    print("{:44s} {:>12s} {:>12s}   (rel = |d|/max(|fixture|, {}))".format("column", "max rel", "max abs", abs_floor))
    worst = 0.0

    def report(name, mine, theirs):
        nonlocal worst
        mine, theirs = np.asarray(mine, float), np.asarray(theirs, float)
        d = np.abs(mine - theirs)
        rel = d / np.maximum(np.abs(theirs), abs_floor)
        worst = max(worst, rel.max())
        print("{:44s} {:12.3e} {:12.3e}".format(name, rel.max(), d.max()))

    cols = [k for k in next(iter(fc.values())).keys() if k != "country"]
    for k in cols:
        if k.startswith("conditional_"):
            continue
        theirs = [float(fc[ct][k]) for ct in order]
        report(k, c[k], theirs)
    for k in ["conditional_imr_ratio", "conditional_omr_ratio", "conditional_imr", "conditional_omr"]:
        report("conditional.csv:" + k, cond[k], [float(fcond[ct][k]) for ct in order])
    for k in [k for k in fb[0].keys() if k not in ("exporter", "importer")]:
        mine = [bil[k][idx[r["exporter"]], idx[r["importer"]]] for r in fb]
        report("bilateral.csv:" + k, mine, [float(r[k]) for r in fb])
    for k, v in eco.items():
        report("economy.csv:" + k, v, fe[k])
    print("worst relative difference: {:.3e}".format(worst))
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    ap.add_argument("--fixtures", default=str(DEFAULT_FIX))
    args = ap.parse_args()
    fix_dir = Path(args.fixtures)
    order, Y, E, t0, t1, obs = load(args.data)
    fc = {r["country"]: r for r in read_csv(fix_dir / "countries.csv")}
    g = lambda k: np.array([float(fc[ct][k]) for ct in order])
    lvl = lambda r: 1.0 / r ** (1.0 / (1.0 - SIGMA))

    # plug-in mode: gegravity's solver outputs, everything else from the notes
    c, bil, eco = compute(order, Y, E, t0, t1, obs, g("baseline_imr_ratio"), g("baseline_omr_ratio"),
                          g("experiment_imr_ratio"), g("experiment_omr_ratio"),
                          g("experiment_factory_gate_price"))
    cond = {"conditional_imr_ratio": g("conditional_imr_ratio"), "conditional_omr_ratio": g("conditional_omr_ratio")}
    cond["conditional_imr"], cond["conditional_omr"] = lvl(cond["conditional_imr_ratio"]), lvl(cond["conditional_omr_ratio"])
    worst_plugin = compare("plug-in (gegravity's solved MR ratios and prices)", order, c, bil, eco, cond,
                           fix_dir, 1e-300)

    # exact mode
    Ytot, Etot = Y.sum(), E.sum()
    a0, b0 = solve_mr(t0, Y / Ytot, E / Etot)
    a1, b1 = solve_mr(t1, Y / Ytot, E / Etot)  # conditional == full-GE MRs (same equations)
    p = (b1 / b0) ** (1.0 / (1.0 - SIGMA))     # factory-gate prices: p^(1-sigma) = b1/b0
    c, bil, eco = compute(order, Y, E, t0, t1, obs, a0, b0, a1, b1, p)
    cond = {"conditional_imr_ratio": a1, "conditional_omr_ratio": b1,
            "conditional_imr": lvl(a1), "conditional_omr": lvl(b1)}
    worst_exact = compare("exact (Newton to machine precision)", order, c, bil, eco, cond, fix_dir, 1e-300)
    print("\nsummary: plug-in worst rel {:.3e} (must be < 1e-9), exact worst rel {:.3e}".format(
        worst_plugin, worst_exact))
    if worst_plugin > 1e-9:
        raise SystemExit("plug-in check failed: the notes do not reproduce the fixtures")


if __name__ == "__main__":
    main()
