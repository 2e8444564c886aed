#!/usr/bin/env python3
"""The gravity solver of tradeflow, vectorised in numpy, timed on the worlds that
`benches/gravity.rs` writes (SOLVER_WORLDS=DIR), side by side with tradeflow's criterion
figures (group `solver`).

The same equations and the same iteration as `src/gravity/mod.rs` and
`src/gravity/fixed_point.rs`: unknowns ln P_j^(1-sigma) normalised to P_ref = 1, one step
`a = T (e / b)` then `b' = T' (y / a)`; Anderson acceleration (type II) with memory 6 over
the residuals f = G(x) - x, least squares by SVD dropping singular values below 1e-10 of the
largest (numpy's lstsq), the plain step where the update is not finite, a restart after 20
steps without a new best step or on a step ten times worse than the best, a stall after 50;
stop when the largest change is below 1e-12 max(1, max |G(x)|). The complete GE iterates on
(ln P^(1-sigma), ln p) jointly, as `GravityModel::solve_complete` does. One timed unit is
the baseline resistances, the conditional resistances and the complete GE, from scratch,
with each state's N x N modeled flows: what criterion's `solver/N` times.

Usage: solver_numpy.py WORLDS_DIR [CRITERION_DIR] [--runs R]
Prints per N: iterations (numpy and tradeflow), the largest relative difference of the
solution from tradeflow's, numpy's time (median and best of R runs, 1 BLAS thread is the
caller's to set), tradeflow's criterion mean, and the ratio numpy / tradeflow.
"""

import json
import os
import sys
import time

import numpy as np

TOL = 1e-12
MEMORY = 6
STALL = 50
RESTART = 20


def fixed_point(g, x0, max_iter=300):
    """Anderson-accelerated fixed point of g from x0; returns (x, iterations)."""
    n = x0.size
    m = min(MEMORY, max(n, 1))
    x = x0.copy()
    f_hist, g_hist = [], []
    best, best_res, since = x.copy(), np.inf, 0
    for it in range(1, max_iter + 1):
        gx = g(x)
        res = np.max(np.abs(gx - x))
        if not np.isfinite(res) or not np.all(np.isfinite(gx)):
            if np.isfinite(best_res) and f_hist:
                x = best.copy()
                f_hist, g_hist = [], []
                continue
            raise RuntimeError("non-finite step")
        scale = max(np.max(np.abs(gx)), 1.0)
        if res <= TOL * scale:
            return gx, it
        if res < best_res:
            best_res, since = res, 0
            best = x.copy()
        else:
            since += 1
            if since >= STALL:
                return best, it
            if since % RESTART == 0 or res > 10.0 * best_res:
                f_hist, g_hist = [], []
        f_hist.append(gx - x)
        g_hist.append(gx)
        if len(f_hist) > m + 1:
            f_hist.pop(0)
            g_hist.pop(0)
        if len(f_hist) < 2:
            x = gx
            continue
        F = np.array(f_hist).T
        G = np.array(g_hist).T
        dF = F[:, 1:] - F[:, :-1]
        dG = G[:, 1:] - G[:, :-1]
        gamma = np.linalg.lstsq(dF, F[:, -1], rcond=1e-10)[0]
        nxt = G[:, -1] - dG @ gamma
        x = nxt if np.all(np.isfinite(nxt)) else gx
    return best, max_iter


def resistances(T, ys, es, r, warm=None):
    """Powers (a, b) = (Pi^(1-sigma), P^(1-sigma)) and iterations."""
    def step(x):
        a = T @ (es / np.exp(x))
        b = T.T @ (ys / a)
        return np.log(b) - np.log(b[r])

    x0 = np.zeros(ys.size) if warm is None else np.log(warm)
    x, its = fixed_point(step, x0)
    b = np.exp(x)
    return T @ (es / b), b, its


def flows(T, y, e, a, b):
    """Modeled flows X_ij = E_j (Y_i / Y) T_ij / (a_i b_j): each solved state's bilateral
    flows, which tradeflow's unit computes too (baseline, conditional, experiment)."""
    return (y / a)[:, None] * T * (e / (y.sum() * b))[None, :]


def solve(T0, T1, y, e, sigma, r):
    """Baseline, conditional and complete GE with their flows: (prices, inward
    resistances, iterations)."""
    n = y.size
    ys, es = y / y.sum(), e / e.sum()
    a0, b0, i0 = resistances(T0, ys, es, r)
    flows(T0, y, e, a0, b0)
    ac, bc, i1 = resistances(T1, ys, es, r, b0)
    flows(T1, y, e, ac, bc)
    world0 = y.sum()

    def shares(lp):
        p = np.exp(lp)
        yy, ee = y * p, e * p
        return yy / yy.sum(), ee / ee.sum(), yy.sum()

    def joint(x):
        ysp, esp, world = shares(x[n:])
        a = T1 @ (esp / np.exp(x[:n]))
        b = T1.T @ (ysp / a)
        b = b / (b[r] / b0[r])
        a = T1 @ (esp / b)
        return np.concatenate(
            [np.log(b), (np.log(world / world0) + np.log(a / a0)) / sigma])

    x0 = np.concatenate([np.log(bc), np.log(ac / a0) / (sigma - 1.0)])
    x, i2 = fixed_point(joint, x0)
    ysp, esp, _ = shares(x[n:])
    a, b, _ = resistances(T1, ysp, esp, r, np.exp(x[:n]))
    p = np.exp(x[n:])
    flows(T1, y * p, e * p, a, b)
    return p, b ** (1.0 / (1.0 - sigma)), (i0, i1, i2)


def load(d, n):
    def raw(name, shape):
        path = os.path.join(d, f"{n}_{name}.f64")
        return np.fromfile(path, "<f8").reshape(shape) if os.path.exists(path) else None

    info = json.load(open(os.path.join(d, f"{n}.json")))
    return (raw("costs", (n, n)), raw("new_costs", (n, n)), raw("output", n),
            raw("expenditure", n), raw("price", n), raw("imr", n), info)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = 10
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
        args.remove(str(runs))
    worlds = args[0]
    crit = args[1] if len(args) > 1 else None
    sizes = sorted(int(f[:-5]) for f in os.listdir(worlds) if f.endswith(".json"))
    print(f"numpy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"{runs} runs per size")
    print(f"{'N':>5} {'numpy its':>13} {'tradeflow its':>13} {'max rel diff':>12} "
          f"{'numpy median':>12} {'numpy best':>10} {'tradeflow':>10} {'numpy/tradeflow':>15}")
    for n in sizes:
        T0, T1, y, e, price, imr, info = load(worlds, n)
        p, P, its = solve(T0, T1, y, e, info["sigma"], info["reference"])
        diff = (max(np.max(np.abs(p / price - 1)), np.max(np.abs(P / imr - 1)))
                if price is not None else float("nan"))
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            solve(T0, T1, y, e, info["sigma"], info["reference"])
            times.append(time.perf_counter() - t)
        med, best = float(np.median(times)), min(times)
        tf = None
        if crit:
            est = os.path.join(crit, "solver", str(n), "new", "estimates.json")
            if os.path.exists(est):
                tf = json.load(open(est))["mean"]["point_estimate"] * 1e-9
        tf_its = "+".join(str(i) for i in info["iterations"])
        ratio = f"{med / tf:.2f}x" if tf else "-"
        tf_text = f"{tf * 1e3:.3f} ms" if tf else "-"
        print(f"{n:>5} {'+'.join(map(str, its)):>13} {tf_its:>13} {diff:>12.1e} "
              f"{med * 1e3:>9.3f} ms {best * 1e3:>7.3f} ms {tf_text:>10} {ratio:>15}")


if __name__ == "__main__":
    main()
