#!/usr/bin/env bash
# Side-by-side timing of tradeflow and gegravity 0.3 on gegravity's own example experiment
# (CAN and JPN sign a PTA, 30-country sample data, 2006, sigma 5, reference importer DEU).
#
# Usage, from the repository root:
#     benches/compare_gegravity.sh [--bench]
#
#   --bench   also run the two CAN-JPN criterion benches first
#             (cargo bench --bench gravity -- 'solver_only_can_jpn|run_scenario_can_jpn');
#             without it, their last results under target/criterion are used if present.
#
# Environment:
#   GEGRAVITY_VENV   Python virtual environment with gegravity 0.3 (default .venv-gegravity;
#                    created with python3 -m venv + pip install -r
#                    tests/reference/requirements.txt when it does not exist)
#   RUNS             runs of the tradeflow process (default 50)
#   GEGRAVITY_RUNS   runs of gegravity's build + simulate (default 10)
#   CARGO_TARGET_DIR cargo's target directory (default target)
#   HYPERFINE        set to 0 to use the date +%s%N loop even when hyperfine is installed
#
# What is timed:
#   * tradeflow process: the whole `target/release/tradeflow gravity ... --ge-mode gegravity
#     --quiet` process (start, CSV reading, costs, baseline, counterfactual, writing the
#     results folder), with hyperfine when installed (--export-json), else a loop timed with
#     `date +%s%N`.
#   * gegravity: tests/reference/gegravity_reference.py --time N --no-write, which reports the
#     in-process wall time of simulate() alone and of build (BaselineData, OneSectorGE,
#     build_baseline, define_experiment) + simulate; CSV reading and interpreter start are
#     not included.
#   * tradeflow solver alone: the criterion bench solver_only_can_jpn (baseline +
#     counterfactual in gegravity mode, in process).
#
# Targets checked: tradeflow process >= 100x faster than gegravity's simulate(); solver alone
# >= 1000x faster.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_BENCH=0
for arg in "$@"; do
    case "$arg" in
        --bench) RUN_BENCH=1 ;;
        -h | --help)
            sed -n '2,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

RUNS="${RUNS:-50}"
GEGRAVITY_RUNS="${GEGRAVITY_RUNS:-10}"
VENV="${GEGRAVITY_VENV:-.venv-gegravity}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
DATA=tests/data/gegravity_sample/sample_data_set.dlm
BIN="$TARGET_DIR/release/tradeflow"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { printf '==> %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------
# tradeflow: build and time the whole process
# ------------------------------------------------------------------------------------------
say "cargo build --release"
cargo build --release --quiet

TF_CMD=("$BIN" gravity
    --data "$DATA" --year 2006
    --coefficients tests/data/gegravity_sample/coefficients.csv
    --sigma 5 --reference-importer DEU
    --experiment tests/data/gegravity_sample/can_jpn_experiment.csv
    --ge-mode gegravity --out "$WORK/out" --quiet)

# One checked run first: a failing command must not be timed.
"${TF_CMD[@]}"

if [ "${HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null 2>&1; then
    say "timing the tradeflow process with hyperfine ($RUNS runs)"
    # -N: no intermediate shell, so nothing has to be subtracted.
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/hyperfine.json" \
        --style basic "${TF_CMD[*]}" >&2
    read -r TF_MEAN TF_MIN < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["min"])' "$WORK/hyperfine.json")
    TF_METHOD="hyperfine, $RUNS runs"
else
    say "timing the tradeflow process with date +%s%N ($RUNS runs; hyperfine not installed)"
    for _ in 1 2 3; do "${TF_CMD[@]}"; done
    : >"$WORK/times"
    for _ in $(seq "$RUNS"); do
        s=$(date +%s%N)
        "${TF_CMD[@]}"
        e=$(date +%s%N)
        echo $((e - s)) >>"$WORK/times"
    done
    read -r TF_MEAN TF_MIN < <(awk '
        NR == 1 || $1 < min { min = $1 }
        { sum += $1 }
        END { printf "%.9f %.9f\n", sum / NR / 1e9, min / 1e9 }' "$WORK/times")
    TF_METHOD="date +%s%N loop, $RUNS runs"
fi

# ------------------------------------------------------------------------------------------
# tradeflow solver alone: criterion
# ------------------------------------------------------------------------------------------
if [ "$RUN_BENCH" = 1 ]; then
    say "cargo bench --bench gravity -- 'solver_only_can_jpn|run_scenario_can_jpn'"
    cargo bench --quiet --bench gravity -- 'solver_only_can_jpn|run_scenario_can_jpn' >&2
fi

# Mean point estimate of a criterion bench, in seconds; empty when it has not been run.
criterion_mean() {
    local f
    f=$(find "$TARGET_DIR/criterion/$1" -path '*/new/estimates.json' 2>/dev/null | head -n 1) || true
    [ -n "$f" ] || return 0
    python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["mean"]["point_estimate"] / 1e9)' "$f"
}
SOLVER_MEAN=$(criterion_mean solver_only_can_jpn)
PIPELINE_MEAN=$(criterion_mean run_scenario_can_jpn)

# ------------------------------------------------------------------------------------------
# gegravity
# ------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV (python3 -m venv + pip install -r tests/reference/requirements.txt)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r tests/reference/requirements.txt
fi

say "timing gegravity ($GEGRAVITY_RUNS runs of build + simulate)"
"$VENV/bin/python" tests/reference/gegravity_reference.py "$DATA" \
    --time "$GEGRAVITY_RUNS" --no-write >"$WORK/gegravity.txt" 2>&1 || {
    cat "$WORK/gegravity.txt" >&2
    exit 1
}
# Lines like "  simulate() alone       : mean 0.8123 s (sd 0.0100, min 0.8000, max 0.8300)".
gg_field() {
    awk -v key="$1" -v field="$2" 'index($0, key) {
        for (i = 1; i <= NF; i++) if ($i == field) { v = $(i + 1); gsub(/[^0-9.eE+-]/, "", v); print v; exit }
    }' "$WORK/gegravity.txt"
}
GG_SIM_MEAN=$(gg_field "simulate() alone" mean)
GG_SIM_MIN=$(gg_field "simulate() alone" "min")
GG_FULL_MEAN=$(gg_field "build model + simulate" mean)
GG_FULL_MIN=$(gg_field "build model + simulate" "min")
if [ -z "$GG_SIM_MEAN" ] || [ -z "$GG_FULL_MEAN" ]; then
    echo "could not read gegravity's timing output:" >&2
    cat "$WORK/gegravity.txt" >&2
    exit 1
fi

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
echo
echo "CAN-JPN PTA, gegravity sample data (30 countries, 2006), sigma 5, reference DEU"
echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
awk -v tf_mean="$TF_MEAN" -v tf_min="$TF_MIN" -v tf_method="$TF_METHOD" \
    -v solver="$SOLVER_MEAN" -v pipeline="$PIPELINE_MEAN" \
    -v gs_mean="$GG_SIM_MEAN" -v gs_min="$GG_SIM_MIN" \
    -v gf_mean="$GG_FULL_MEAN" -v gf_min="$GG_FULL_MIN" -v gruns="$GEGRAVITY_RUNS" '
function t(s) {
    if (s == "") return "n/a"
    if (s < 1e-3) return sprintf("%.1f us", s * 1e6)
    if (s < 1) return sprintf("%.3f ms", s * 1e3)
    return sprintf("%.3f s", s)
}
function row(name, mean, min) { printf "| %-62s | %12s | %12s |\n", name, t(mean), t(min) }
function ratio(name, a, b, target,   r, verdict) {
    if (a == "" || b == "") { printf "| %-62s | %12s | %-12s |\n", name, "n/a", "n/a"; return }
    r = a / b
    verdict = target == "" ? "" : (r >= target ? sprintf("MET (>=%d)", target) : sprintf("NOT MET (<%d)", target))
    printf "| %-62s | %11.0fx | %-12s |\n", name, r, verdict
}
BEGIN {
    printf "| %-62s | %12s | %12s |\n", "timing", "mean", "min"
    printf "|%s|%s|%s|\n", "----------------------------------------------------------------", "--------------", "--------------"
    row("tradeflow gravity process (" tf_method ")", tf_mean, tf_min)
    row("tradeflow solver alone (criterion solver_only_can_jpn)", solver, "")
    row("tradeflow in-process pipeline (criterion run_scenario_can_jpn)", pipeline, "")
    row("gegravity simulate() (" gruns " runs)", gs_mean, gs_min)
    row("gegravity build + simulate (" gruns " runs)", gf_mean, gf_min)
    print ""
    printf "| %-62s | %12s | %-12s |\n", "ratio (means)", "ratio", "target"
    printf "|%s|%s|%s|\n", "----------------------------------------------------------------", "--------------", "--------------"
    ratio("gegravity simulate / tradeflow process", gs_mean, tf_mean, 100)
    ratio("gegravity build+simulate / tradeflow process", gf_mean, tf_mean, "")
    ratio("gegravity simulate / tradeflow solver alone", gs_mean, solver, 1000)
    ratio("gegravity build+simulate / tradeflow in-process pipeline", gf_mean, pipeline, "")
    if (solver == "")
        print "\n(no criterion results: run `cargo bench --bench gravity` or pass --bench for the solver-alone figures)"
}'
