#!/usr/bin/env bash
# Side-by-side timing of a tradeflow Monte Carlo and gegravity 0.3's MonteCarloGE on
# gegravity's own MonteCarloGE example: CAN and JPN sign a PTA on the 30-country sample data
# (2006), sigma 7, reference importer DEU, the six cost coefficients drawn jointly from the
# estimates' multivariate normal (the example's covariance matrix), one-step full GE.
#
# Usage, from anywhere in the repository:
#     benches/compare_montecarloge.sh
#
# Environment:
#   GEGRAVITY_VENV   Python virtual environment with gegravity 0.3 (default .venv-gegravity;
#                    created with python3 -m venv + pip install -r
#                    tests/reference/requirements.txt when it does not exist)
#   DRAWS            draws of the tradeflow run and trials of MonteCarloGE (default 100)
#   RUNS             timed runs of the tradeflow process (default 20)
#   CARGO_TARGET_DIR cargo's target directory (default target)
#   HYPERFINE        set to 0 to use the date +%s%N loop even when hyperfine is installed
#   SKIP_BUILD       set to 1 to use the existing release binary without `cargo build`
#   PER_TRIAL        if set, a file to keep gegravity's per-trial draws and results in
#
# What is timed:
#   * tradeflow: the whole `tradeflow run scenarios/can_jpn_pta_montecarlo.toml --draws N
#     --seed 1 -q --out <tmp>` process (start, reading the TOML and CSV, the central run, N
#     draws in parallel on all cores, writing the results and the montecarlo/ folder), with
#     hyperfine -N (--export-json) when installed, else a `date +%s%N` loop; RUNS runs on all
#     cores, then RUNS runs with RAYON_NUM_THREADS=1 (one core, like gegravity).
#   * gegravity: tests/reference/montecarloge_timing.py --trials N, once (about 2 minutes for
#     100 trials): perf_counter wall time of MonteCarloGE's construction and of the whole
#     run_trials call, and process_time (CPU time) of run_trials, in process (interpreter
#     start and imports not included).
#
# Target checked: tradeflow's N draws (whole process) >= 1000x faster than MonteCarloGE's
# run_trials with N trials.
#
# Welfare: tradeflow's `CAN welfare_change_pct` / `JPN welfare_change_pct` rows of
# montecarlo.csv, against gegravity's welfare statistic (E/P)_base / (E/P)_exp converted per
# trial to 100 (1/statistic - 1). The two use different random number generators (tradeflow
# ChaCha8 + Cholesky, gegravity scipy multivariate_normal), so only the distributions are
# compared: the difference of the means in standard errors (z) and the ratio of the sds, over
# all trials gegravity kept and over the trials whose three solves converged. Then, draw for
# draw, `tradeflow gravity` is run at each of gegravity's own coefficient draws (sigma 7,
# --ge-mode gegravity) and the CAN and JPN welfare changes are compared trial by trial.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for arg in "$@"; do
    case "$arg" in
        -h | --help)
            sed -n '2,42p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

DRAWS="${DRAWS:-100}"
RUNS="${RUNS:-20}"
VENV="${GEGRAVITY_VENV:-.venv-gegravity}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
SCENARIO=scenarios/can_jpn_pta_montecarlo.toml
BIN="$TARGET_DIR/release/tradeflow"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { printf '==> %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------------
# tradeflow
# ------------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "cargo build --release"
    cargo build --release --quiet
fi

TF_CMD=("$BIN" run "$SCENARIO" --draws "$DRAWS" --seed 1 -q --out "$WORK/out")

# One checked run first: a failing command must not be timed. Its results are compared below.
"${TF_CMD[@]}"
cp "$WORK/out/montecarlo/montecarlo.csv" "$WORK/tradeflow_montecarlo.csv"

# time_tf LABEL THREADS -> prints "mean min" in seconds; THREADS empty = rayon's default.
time_tf() {
    local label="$1" threads="$2"
    local -a envp=()
    [ -n "$threads" ] && envp=(env "RAYON_NUM_THREADS=$threads")
    if [ "${HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null 2>&1; then
        say "timing tradeflow ($label) with hyperfine ($RUNS runs)"
        "${envp[@]}" hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/hf-$label.json" \
            --style basic "${TF_CMD[*]}" >&2
        python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["min"])' "$WORK/hf-$label.json"
    else
        say "timing tradeflow ($label) with date +%s%N ($RUNS runs; hyperfine not installed)"
        for _ in 1 2 3; do "${envp[@]}" "${TF_CMD[@]}"; done
        : >"$WORK/times-$label"
        for _ in $(seq "$RUNS"); do
            s=$(date +%s%N)
            "${envp[@]}" "${TF_CMD[@]}"
            e=$(date +%s%N)
            echo $((e - s)) >>"$WORK/times-$label"
        done
        awk 'NR == 1 || $1 < min { min = $1 }
            { sum += $1 }
            END { printf "%.9f %.9f\n", sum / NR / 1e9, min / 1e9 }' "$WORK/times-$label"
    fi
}
read -r TF_MEAN TF_MIN < <(time_tf all-cores "")
read -r TF1_MEAN TF1_MIN < <(time_tf one-core 1)
if [ "${HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null 2>&1; then
    TF_METHOD="hyperfine, $RUNS runs"
else
    TF_METHOD="date loop, $RUNS runs"
fi

# ------------------------------------------------------------------------------------------
# gegravity MonteCarloGE
# ------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV (python3 -m venv + pip install -r tests/reference/requirements.txt)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r tests/reference/requirements.txt
fi

LOAD_BEFORE_GG=$(cut -d' ' -f1-3 /proc/loadavg)
say "timing gegravity MonteCarloGE ($DRAWS trials, one run; about 1.8-2 s per trial)"
"$VENV/bin/python" tests/reference/montecarloge_timing.py --trials "$DRAWS" \
    --per-trial "$WORK/gegravity_trials.csv" \
    >"$WORK/gegravity.csv" 2>"$WORK/gegravity.txt" || {
    cat "$WORK/gegravity.txt" >&2
    exit 1
}
LOAD_AFTER_GG=$(cut -d' ' -f1-3 /proc/loadavg)
[ -z "${PER_TRIAL:-}" ] || cp "$WORK/gegravity_trials.csv" "$PER_TRIAL"
gg_value() { # first word after "KEY...: "
    awk -v key="$1" 'index($0, key) == 1 { sub(/^[^:]*: */, ""); split($0, a, " "); print a[1]; exit }' \
        "$WORK/gegravity.txt"
}
GG_RUN=$(gg_value run_trials_seconds:)
GG_CPU=$(gg_value run_trials_cpu_seconds:)
GG_CONSTRUCT=$(gg_value construction_seconds)
GG_TOTAL=$(gg_value total_seconds)
GG_FAILED=$(gg_value failed_trials:)
GG_UNCONVERGED=$(gg_value trials_with_unconverged_solver)
GG_UNCONVERGED_LINE=$(sed -n 's/^trials_with_unconverged_solver[^:]*: *//p' "$WORK/gegravity.txt")
if [ -z "$GG_RUN" ] || [ -z "$GG_TOTAL" ]; then
    echo "could not read the gegravity timing output:" >&2
    cat "$WORK/gegravity.txt" >&2
    exit 1
fi
TF_FAILED=$(awk -F, '$1 == "CAN welfare_change_pct" { print $4 }' "$WORK/tradeflow_montecarlo.csv")

# ------------------------------------------------------------------------------------------
# Draw for draw: tradeflow at gegravity's own coefficient draws
# ------------------------------------------------------------------------------------------
# For every trial gegravity solved, `tradeflow gravity` with that trial's six coefficients
# (sigma 7, --ge-mode gegravity): the two should agree to solver precision wherever
# gegravity's three solves converged.
say "tradeflow gravity at each of gegravity's $DRAWS coefficient draws"
: >"$WORK/draw_for_draw.csv"
tail -n +2 "$WORK/gegravity_trials.csv" | while IFS=, read -r trial b1 b2 b3 b4 b5 b6 s1 s2 s3 gcs gcp gjs gjp; do
    printf 'variable,beta\nlndist,%s\ncontiguity,%s\ncommon_language,%s\npta,%s\ninternational,%s\nconstant,%s\n' \
        "$b1" "$b2" "$b3" "$b4" "$b5" "$b6" >"$WORK/coef.csv"
    "$BIN" gravity --data tests/data/gegravity_sample/sample_data_set.dlm --year 2006 \
        --coefficients "$WORK/coef.csv" --sigma 7 --reference-importer DEU \
        --experiment tests/data/gegravity_sample/can_jpn_experiment.csv \
        --ge-mode gegravity --out "$WORK/g" --quiet
    conv=$([ "$s1$s2$s3" = truetruetrue ] && echo 1 || echo 0)
    awk -F, -v t="$trial" -v conv="$conv" -v gc="$gcp" -v gj="$gjp" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "welfare_change_pct") w = i; next }
        $1 == "CAN" { tc = $w } $1 == "JPN" { tj = $w }
        END { print t "," conv "," tc "," gc "," tj "," gj }' "$WORK/g/countries.csv" >>"$WORK/draw_for_draw.csv"
done

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
echo
echo "MonteCarloGE example: CAN-JPN PTA, gegravity sample data (30 countries, 2006), sigma 7,"
echo "reference DEU, six coefficients drawn jointly, $DRAWS draws/trials"
echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average (1, 5, 15 min) before gegravity: $LOAD_BEFORE_GG; after: $LOAD_AFTER_GG"
echo
awk -v tf_mean="$TF_MEAN" -v tf_min="$TF_MIN" -v tf1_mean="$TF1_MEAN" -v tf1_min="$TF1_MIN" \
    -v method="$TF_METHOD" -v n="$DRAWS" -v gg_run="$GG_RUN" -v gg_cpu="$GG_CPU" -v gg_con="$GG_CONSTRUCT" \
    -v gg_total="$GG_TOTAL" -v tf_failed="$TF_FAILED" -v gg_failed="$GG_FAILED" \
    -v gg_unconv="$GG_UNCONVERGED" -v gg_unconv_line="$GG_UNCONVERGED_LINE" '
function t(s) {
    if (s == "") return "n/a"
    if (s < 1e-3) return sprintf("%.1f us", s * 1e6)
    if (s < 1) return sprintf("%.1f ms", s * 1e3)
    return sprintf("%.2f s", s)
}
function row(name, mean, min) { printf "| %-72s | %10s | %10s |\n", name, t(mean), (min == "" ? "" : t(min)) }
function ratio(name, a, b, target,   r, verdict) {
    r = a / b
    verdict = target == "" ? "" : (r >= target ? sprintf("MET (>=%d)", target) : sprintf("NOT MET (<%d)", target))
    printf "| %-72s | %9.0fx | %-14s |\n", name, r, verdict
}
BEGIN {
    printf "| %-72s | %10s | %10s |\n", "timing", "mean", "min"
    print "|--------------------------------------------------------------------------|------------|------------|"
    row("tradeflow run --draws " n ", whole process, all cores (" method ")", tf_mean, tf_min)
    row("tradeflow run --draws " n ", whole process, RAYON_NUM_THREADS=1", tf1_mean, tf1_min)
    row("gegravity MonteCarloGE(...) construction (draws the sample)", gg_con, "")
    row("gegravity run_trials, " n " trials (one run), wall", gg_run, "")
    row("gegravity run_trials, " n " trials (one run), CPU time of the process", gg_cpu, "")
    row("gegravity setup + construction + run_trials, wall", gg_total, "")
    print ""
    printf "| %-72s | %10s | %-14s |\n", "ratio", "ratio", "target"
    print "|--------------------------------------------------------------------------|------------|----------------|"
    ratio("gegravity run_trials (wall) / tradeflow process (mean, all cores)", gg_run, tf_mean, 1000)
    ratio("gegravity run_trials (CPU time) / tradeflow process (mean, all cores)", gg_cpu, tf_mean, 1000)
    ratio("gegravity run_trials (wall) / tradeflow process (mean, one core)", gg_run, tf1_mean, "")
    ratio("gegravity setup + construction + run_trials / tradeflow (all cores)", gg_total, tf_mean, "")
    print ""
    printf "failed draws: tradeflow %s of %s; gegravity %s of %s\n", tf_failed, n, gg_failed, n
    printf "gegravity trials kept although a solve did not converge: %s\n", gg_unconv_line
}'

echo
echo "Welfare change, percent (gegravity: 100 (1/statistic - 1) per trial; statistic = (E/P)_base/(E/P)_exp)"
echo "Different random draws (tradeflow ChaCha8 + Cholesky, gegravity scipy): distributions compared."
echo
awk -F, '
FNR == 1 { file++ }
file == 1 && ($1 == "CAN welfare_change_pct" || $1 == "JPN welfare_change_pct") {
    c = substr($1, 1, 3); tn[c] = $3; tm[c] = $5; ts[c] = $6
}
file == 2 && $2 == "welfare_change_pct" { gn[$1] = $3; gm[$1] = $4; gs[$1] = $5 }
file == 2 && $2 == "welfare_change_pct_converged" { cn[$1] = $3; cm[$1] = $4; cs_[$1] = $5 }
file == 2 && $2 == "welfare_statistic" { sn[$1] = $3; sm[$1] = $4; ss[$1] = $5 }
function line(c, source, n, m, s, compare,   se, z, r, lse, ok) {
    if (compare) {
        se = sqrt(ts[c]^2 / tn[c] + s^2 / n)
        z = (tm[c] - m) / se
        r = ts[c] / s
        # log sd ratio: approximate standard error sqrt(1/(2(n1-1)) + 1/(2(n2-1)))
        lse = sqrt(1 / (2 * (tn[c] - 1)) + 1 / (2 * (n - 1)))
        ok = (z < 3 && z > -3 && log(r) < 3 * lse && log(r) > -3 * lse) ? "consistent" : "DIFFERENT"
        printf "| %-3s | %-46s | %6d | %10.6f | %10.6f | %6.2f | %8.3f | %-12s |\n", c, source, n, m, s, z, r, ok
    } else {
        printf "| %-3s | %-46s | %6d | %10.6f | %10.6f | %6s | %8s | %-12s |\n", c, source, n, m, s, "", "", ""
    }
}
END {
    printf "| %-3s | %-46s | %6s | %10s | %10s | %6s | %8s | %-12s |\n", "", "source", "draws", "mean", "sd", \
        "z mean", "sd ratio", "vs tradeflow"
    print "|-----|------------------------------------------------|--------|------------|------------|--------|----------|--------------|"
    split("CAN JPN", cs, " ")
    for (k = 1; k <= 2; k++) {
        c = cs[k]
        if (!(c in tm) || !(c in gm)) { printf "| %-3s | missing results |\n", c; continue }
        line(c, "tradeflow welfare_change_pct", tn[c], tm[c], ts[c], 0)
        line(c, "gegravity, all solved trials (its convention)", gn[c], gm[c], gs[c], 1)
        line(c, "gegravity, trials whose three solves converged", cn[c], cm[c], cs_[c], 1)
        line(c, "gegravity welfare statistic (own units)", sn[c], sm[c], ss[c], 0)
    }
    print ""
    print "z mean: (tradeflow mean - gegravity mean) / sqrt(sd1^2/n1 + sd2^2/n2); sd ratio: tradeflow / gegravity;"
    print "\"consistent\": |z| < 3 and |ln(sd ratio)| < 3 approximate standard errors."
}' "$WORK/tradeflow_montecarlo.csv" "$WORK/gegravity.csv"

echo
echo "Draw for draw: tradeflow gravity (sigma 7, --ge-mode gegravity) at each of gegravity's coefficient draws"
echo
awk -F, '
function abs(x) { return x < 0 ? -x : x }
function rel(a, b) { return abs(a - b) / (abs(b) > 0 ? abs(b) : 1) }
{
    if ($2 == 1) {
        nc++
        if (rel($3, $4) > mc) mc = rel($3, $4)
        if (rel($5, $6) > mj) mj = rel($5, $6)
    } else {
        printf "trial %s (a gegravity solve did not converge): CAN tradeflow %.6f, gegravity %.6f; JPN tradeflow %.6f, gegravity %.6f\n", $1, $3, $4, $5, $6
    }
}
END {
    printf "%d converged trials: max relative difference in welfare_change_pct CAN %.2g, JPN %.2g\n", nc, mc, mj
}' "$WORK/draw_for_draw.csv"
