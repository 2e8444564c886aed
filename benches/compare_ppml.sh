#!/usr/bin/env bash
# Times PPML with exporter-year, importer-year and pair fixed effects on the synthetic
# panel of benches/estimate.rs (200 economies x 10 years, seed 20240601, 400 000 rows):
# the whole `tradeflow estimate` process against pyfixest `fepois`, side by side, and
# prints the ratio. See benches/README.md.
#
# Environment: PPML_VENV, a venv with pyfixest (default /tmp/venv-ppml; created with
# `pip install statsmodels pandas pyfixest` if missing); RUNS, timed runs of each (default
# 3); CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PPML_VENV:-/tmp/venv-ppml}
RUNS=${RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q statsmodels pandas pyfixest
fi

echo "== building (release) and writing the panel"
cargo build --release --quiet
PPML_PANEL_CSV="$TMP/panel.csv" cargo bench --quiet --bench estimate
BIN="$TARGET/release/tradeflow"

echo "== tradeflow estimate (whole process: CSV read, estimate, folder written), $RUNS runs"
best=""
for k in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    "$BIN" estimate --data "$TMP/panel.csv" --variables pta,ln_tariff \
        --fixed-effects exporter-year,importer-year,pair --out "$TMP/est" --quiet
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    echo "run $k: ${ms} ms"
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
echo "tradeflow best: ${best} ms"
cat "$TMP/est/coefficients.csv"

echo "== pyfixest fepois (in process, after a warm-up run that compiles numba), $RUNS runs"
"$VENV/bin/python" - "$TMP/panel.csv" "$RUNS" "$best" <<'PY'
import sys, time
import pandas as pd
path, runs, tf_ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.perf_counter()
df = pd.read_csv(path)
read = time.perf_counter() - t0
df["ey"] = df["exporter"] + "|" + df["year"].astype(str)
df["iy"] = df["importer"] + "|" + df["year"].astype(str)
df["pair"] = df["exporter"] + "|" + df["importer"]
try:
    import pyfixest as pf
except ImportError:
    print("pyfixest is not installed: no comparison (statsmodels cannot hold 44 000 dummies)")
    sys.exit(0)
fml = "trade ~ pta + ln_tariff | ey + iy + pair"
pf.fepois(fml, data=df, vcov="hetero")  # warm-up (numba compilation)
times = []
for k in range(runs):
    t0 = time.perf_counter()
    r = pf.fepois(fml, data=df, vcov="hetero")
    times.append(time.perf_counter() - t0)
    print(f"run {k + 1}: {times[-1] * 1000:.0f} ms")
best = min(times) * 1000
print(f"pyfixest {pf.__version__} best: {best:.0f} ms (CSV read by pandas: {read * 1000:.0f} ms more)")
print(r.coef().to_string())
print(f"ratio pyfixest fit / tradeflow whole process: {best / tf_ms:.2f}")
print(f"ratio pyfixest read+fit / tradeflow whole process: {(best + read * 1000) / tf_ms:.2f}")
PY
