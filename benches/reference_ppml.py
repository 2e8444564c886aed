#!/usr/bin/env python3
"""Reference PPML estimates for `tests/estimate.rs` (tradeflow estimate).

Fits, on gegravity's sample data (tests/data/gegravity_sample/sample_data_set.dlm, 2006),

    trade ~ lndist + contiguity + common_language + pta + international
            + exporter dummies + importer dummies

as a Poisson GLM (statsmodels, log link, dummies: 900 rows are few) and prints, to 12
significant digits:

* each coefficient and its HC0 (Eicker-White, no small-sample factor) standard error,
  `cov_type="HC0"`;
* ppmlhdfe's constant: the mu-weighted mean of the summed fixed effects,
  c = sum mu_n (eta_n - b'x_n) / sum mu_n, and its HC0 standard error from the sandwich on
  the columns (x~ + x_bar, 1), x~ the regressors with the fixed effects swept out (weights
  mu) and x_bar their mu-weighted means (reghdfe's way to report `_cons`);
* pair-clustered standard errors G/(G-1) B (sum_c s_c s_c') B (one pair = one cluster);
* if pyfixest installs, its `fepois(..., vcov="hetero")` with ssc(adj=False,
  cluster_adj=False), which is HC0 too, as a second opinion.

Run in a venv:
    python3 -m venv /tmp/venv-ppml && /tmp/venv-ppml/bin/pip install statsmodels pandas pyfixest
    /tmp/venv-ppml/bin/python benches/reference_ppml.py [DATA]
"""

import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm

VARS = ["lndist", "contiguity", "common_language", "pta", "international"]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/gegravity_sample/sample_data_set.dlm"
    df = pd.read_csv(path)
    df = df[df["year"] == 2006].reset_index(drop=True)
    ex = pd.get_dummies(df["exporter"], prefix="ex", dtype=float)
    im = pd.get_dummies(df["importer"], prefix="im", dtype=float).iloc[:, 1:]
    X = pd.concat([df[VARS].astype(float), ex, im], axis=1)
    y = df["trade"].astype(float)
    model = sm.GLM(y, X, family=sm.families.Poisson())
    fit = model.fit(cov_type="HC0", tol=1e-14, maxiter=1000)
    print(f"statsmodels {sm.__version__}, GLM Poisson with dummies, {len(df)} rows,"
          f" converged={fit.converged}, deviance={fit.deviance:.12g}")
    print("variable,beta,stderr_hc0")
    for v in VARS:
        print(f"{v},{fit.params[v]:.12g},{fit.bse[v]:.12g}")

    # ppmlhdfe's constant and its standard error.
    mu = fit.mu
    x = df[VARS].to_numpy(float)
    b = fit.params[VARS].to_numpy()
    eta = np.log(mu)
    c = np.sum(mu * (eta - x @ b)) / np.sum(mu)
    D = np.hstack([ex.to_numpy(), im.to_numpy()])
    # Sweep the fixed effects out of x with weights mu (weighted least squares on dummies).
    sw = np.sqrt(mu)[:, None]
    coef, *_ = np.linalg.lstsq(D * sw, x * sw, rcond=None)
    xt = x - D @ coef
    xbar = (mu[:, None] * x).sum(0) / mu.sum()
    A = np.hstack([xt + xbar, np.ones((len(df), 1))])
    bread = np.linalg.inv(A.T @ (mu[:, None] * A))
    e = y.to_numpy() - mu
    meat = A.T @ ((e ** 2)[:, None] * A)
    V = bread @ meat @ bread
    print(f"constant,{c:.12g},{np.sqrt(V[-1, -1]):.12g}")
    # The b block of the same sandwich is HC0 again (a check of the construction).
    hc0_again = np.sqrt(np.diag(V)[:-1])
    print("hc0 from the demeaned sandwich:", ",".join(f"{s:.12g}" for s in hc0_again))

    # Pair-clustered: every directional pair is its own cluster here, so this is
    # G/(G-1) * HC0 on one observation per cluster.
    pair = (df["exporter"] + "|" + df["importer"]).to_numpy()
    codes, inv = np.unique(pair, return_inverse=True)
    G = len(codes)
    S = np.zeros((G, A.shape[1]))
    np.add.at(S, inv, A * e[:, None])
    Vc = G / (G - 1) * bread @ (S.T @ S) @ bread
    print("variable,stderr_cluster_pair")
    for k, v in enumerate(VARS + ["constant"]):
        print(f"{v},{np.sqrt(Vc[k, k]):.12g}")

    try:
        import pyfixest as pf
    except ImportError:
        print("pyfixest not installed")
        return
    fml = "trade ~ " + " + ".join(VARS) + " | exporter + importer"
    r = pf.fepois(fml, data=df, vcov="hetero", ssc=pf.ssc(k_adj=False, G_adj=False),
                  iwls_tol=1e-12)
    print(f"pyfixest {pf.__version__} fepois, vcov=hetero, no small-sample adjustment")
    print("variable,beta,stderr")
    for v in VARS:
        print(f"{v},{r.coef()[v]:.12g},{r.se()[v]:.12g}")


if __name__ == "__main__":
    main()
