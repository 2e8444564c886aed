#!/usr/bin/env bash
# tradeflow's gravity solver against a vectorised numpy implementation of the same equations
# with the same Anderson mixing (benches/solver_numpy.py), side by side at N = 30, 100, 200,
# 500 and 1000 (synthetic economies, seed 20240601), one BLAS thread; prints the ratio
# numpy / tradeflow per N. See benches/README.md.
#
# Environment: NUMPY_VENV, a venv with numpy (default /tmp/venv-numpy; created with
# `pip install numpy` if missing); RUNS, timed numpy runs per size (default 10);
# SKIP_BENCH=1 reuses the worlds and criterion figures of an earlier run; CARGO_TARGET_DIR.
# cargo test needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NUMPY_VENV:-/tmp/venv-numpy}
RUNS=${RUNS:-10}
TARGET=${CARGO_TARGET_DIR:-target}
WORLDS="$TARGET/solver-worlds"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy
fi

if [ "${SKIP_BENCH:-0}" != 1 ]; then
    echo "== criterion: solver/N (baseline + complete GE), writing the worlds to $WORLDS"
    mkdir -p "$WORLDS"
    SOLVER_WORLDS="$WORLDS" cargo bench --quiet --bench gravity -- '^solver/' 2>&1 |
        grep -E 'solver: |^solver/|time:' || true
fi

echo "== numpy, one BLAS thread"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$VENV/bin/python" benches/solver_numpy.py "$WORLDS" "$TARGET/criterion" --runs "$RUNS"
