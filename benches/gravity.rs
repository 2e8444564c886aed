//! Criterion benchmarks of the gravity solver (see `benches/README.md`).
//!
//! Groups, each parameterised by problem size (`sample30` = the gegravity sample data, 30
//! countries; `100`, `200`, `500` = synthetic economies with fixed seeds):
//!
//! * `baseline/N`: [`GravityModel::baseline`] (resistances and modeled flows).
//! * `counterfactual_complete/N`, `counterfactual_gegravity/N`:
//!   [`GravityModel::counterfactual`] given a baseline solved outside the timing loop.
//!
//! and, on the CAN-JPN PTA experiment (`scenarios/can_jpn_pta.toml`):
//!
//! * `solver_only_can_jpn`: baseline + counterfactual in gegravity mode (the solver alone,
//!   the counterpart of gegravity's `simulate()`).
//! * `run_scenario_can_jpn`: `Scenario::from_file` + `simulate::run` (the whole pipeline
//!   without process start and file writing).
//!
//! and, for the solver at N = 30, 100, 200, 500 and 1000 (synthetic economies, the sizes the
//! numpy comparison `benches/compare_numpy.sh` runs):
//!
//! * `solver/N`: baseline + complete-GE counterfactual, both solved from scratch.
//! * `resistance_step/N`: one step of the resistance iteration on its own (`T w`, then
//!   `T' (y / a)`), and `read_floor/N`: one pass summing the `N x N` matrix, the
//!   memory-bandwidth floor a step cannot beat; `cost_rows/N`: the row-major copy of the
//!   costs that each solve makes once.
//!
//! Before timing, the solver iteration counts of every case are printed once to stderr.
//! `SOLVER_WORLDS=DIR cargo bench --bench gravity -- solver` also writes each `solver` case
//! into `DIR` (raw little-endian `f64` files that `benches/solver_numpy.py` reads).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use tradeflow::gravity::{Equilibrium, GeMode, GravityModel, SolveReport};
use tradeflow::scenario::Scenario;
use tradeflow::simulate::run;
use tradeflow::world::{synthetic_economy, Matrix};

/// Elasticity of substitution of the synthetic cases (as in the sample scenario).
const SIGMA: f64 = 5.0;
/// Seed of every synthetic economy.
const SEED: u64 = 20_240_601;
/// Synthetic sizes.
const SIZES: [usize; 3] = [100, 200, 500];
/// Sizes of the `solver` group (and of the numpy comparison).
const SOLVER_SIZES: [usize; 5] = [30, 100, 200, 500, 1000];
/// Economies whose mutual trade costs the synthetic counterfactual cuts.
const SHOCKED: usize = 5;
/// Factor on `t` between the shocked economies (a 10% cut).
const CUT: f64 = 0.9;

/// One benchmark case: a model, its counterfactual costs and its solved baseline.
struct Case {
    label: String,
    model: GravityModel,
    new_costs: Matrix,
    baseline: Equilibrium,
}

fn scenario_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/can_jpn_pta.toml")
}

fn sample_scenario() -> Scenario {
    Scenario::from_file(&scenario_path()).expect("scenarios/can_jpn_pta.toml is valid")
}

/// The CAN-JPN PTA experiment on the gegravity sample data (30 countries).
fn sample_case() -> Case {
    let (model, t1) = tradeflow::simulate::model(&sample_scenario()).expect("sample model");
    let baseline = model.baseline().expect("sample baseline").0;
    Case {
        label: "sample30".into(),
        model,
        new_costs: t1,
        baseline,
    }
}

/// A synthetic economy of `n` countries; the counterfactual cuts `t` by 10% between the
/// first five economies in both directions (`t^(1-sigma)` times `0.9^(1-sigma)`).
fn synthetic_case(n: usize) -> Case {
    let (data, costs) = synthetic_economy(n, SEED);
    let reference = data.economies.code(0).to_owned();
    let model = GravityModel::new(
        data.economies,
        SIGMA,
        &reference,
        costs,
        data.output,
        data.expenditure,
    )
    .expect("synthetic model");
    let mut new_costs = model.costs().clone();
    let factor = CUT.powf(1.0 - SIGMA);
    for i in 0..SHOCKED.min(n) {
        for j in 0..SHOCKED.min(n) {
            if i != j {
                new_costs[(i, j)] *= factor;
            }
        }
    }
    let baseline = model.baseline().expect("synthetic baseline").0;
    Case {
        label: n.to_string(),
        model,
        new_costs,
        baseline,
    }
}

fn cases() -> Vec<Case> {
    let mut out = vec![sample_case()];
    out.extend(SIZES.iter().map(|&n| synthetic_case(n)));
    out
}

fn iterations(reports: &[SolveReport]) -> String {
    reports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints the solver iteration counts of every case once (not timed).
fn print_iterations(cases: &[Case]) {
    eprintln!("solver reports per case (iterations = solver steps):");
    for c in cases {
        let (_, base) = c.model.baseline().expect("baseline");
        eprintln!(
            "  {:>8} baseline                 : {}",
            c.label,
            iterations(&[base])
        );
        for mode in [GeMode::Complete, GeMode::Gegravity] {
            let cf = c
                .model
                .counterfactual(&c.baseline, &c.new_costs, mode)
                .expect("counterfactual");
            eprintln!(
                "  {:>8} counterfactual {:<9}: {}",
                c.label,
                mode.to_string(),
                iterations(&cf.reports)
            );
        }
    }
}

/// Shorter runs for the largest size, so that `cargo bench` stays within a few minutes.
fn measurement_time(label: &str) -> Duration {
    if label == "500" {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(3)
    }
}

fn bench_sizes(c: &mut Criterion) {
    let cases = cases();
    print_iterations(&cases);

    let mut group = c.benchmark_group("baseline");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    for case in &cases {
        group.measurement_time(measurement_time(&case.label));
        group.bench_with_input(BenchmarkId::from_parameter(&case.label), case, |b, case| {
            b.iter(|| case.model.baseline().expect("baseline"))
        });
    }
    group.finish();

    for (name, mode) in [
        ("counterfactual_complete", GeMode::Complete),
        ("counterfactual_gegravity", GeMode::Gegravity),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(20).warm_up_time(Duration::from_secs(1));
        for case in &cases {
            group.measurement_time(measurement_time(&case.label));
            group.bench_with_input(BenchmarkId::from_parameter(&case.label), case, |b, case| {
                b.iter(|| {
                    case.model
                        .counterfactual(black_box(&case.baseline), black_box(&case.new_costs), mode)
                        .expect("counterfactual")
                })
            });
        }
        group.finish();
    }
}

fn bench_can_jpn(c: &mut Criterion) {
    let case = sample_case();
    c.bench_function("solver_only_can_jpn", |b| {
        b.iter(|| {
            let (base, _) = case.model.baseline().expect("baseline");
            case.model
                .counterfactual(&base, black_box(&case.new_costs), GeMode::Gegravity)
                .expect("counterfactual")
        })
    });

    let path = scenario_path();
    c.bench_function("run_scenario_can_jpn", |b| {
        b.iter(|| {
            let s = Scenario::from_file(black_box(&path)).expect("scenario");
            run(&s).expect("run")
        })
    });
}

/// Writes a case for `benches/solver_numpy.py`: `N_costs.f64` and `N_new_costs.f64`
/// (row-major `t^(1-sigma)`), `N_output.f64`, `N_expenditure.f64`, tradeflow's solution
/// (`N_price.f64`, `N_imr.f64`: the complete GE's factory-gate prices and inward
/// resistances), and `N.json` with sigma, the reference position and the solver reports.
fn write_world(dir: &Path, case: &Case, solved: &Equilibrium, reports: &[SolveReport]) {
    let n = case.model.economies().len();
    let raw = |m: &Matrix| -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * n * n);
        for i in 0..n {
            for j in 0..n {
                out.extend_from_slice(&m[(i, j)].to_le_bytes());
            }
        }
        out
    };
    let vec = |v: &tradeflow::world::Vector| -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    };
    let write = |name: String, bytes: Vec<u8>| {
        std::fs::write(dir.join(&name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write(format!("{n}_costs.f64"), raw(case.model.costs()));
    write(format!("{n}_new_costs.f64"), raw(&case.new_costs));
    write(format!("{n}_output.f64"), vec(case.model.output()));
    write(
        format!("{n}_expenditure.f64"),
        vec(case.model.expenditure()),
    );
    write(format!("{n}_price.f64"), vec(&solved.factory_gate_price));
    write(format!("{n}_imr.f64"), vec(&solved.imr));
    let info = serde_json::json!({
        "n": n,
        "sigma": case.model.sigma(),
        "reference": case.model.reference(),
        "iterations": reports.iter().map(|r| r.iterations).collect::<Vec<_>>(),
        "stages": reports.iter().map(|r| r.stage.clone()).collect::<Vec<_>>(),
    });
    write(format!("{n}.json"), info.to_string().into_bytes());
}

/// Baseline + complete GE from scratch, the unit the numpy comparison times.
fn solve_both(case: &Case) -> (Equilibrium, Vec<SolveReport>) {
    let (base, rep) = case.model.baseline().expect("baseline");
    let cf = case
        .model
        .counterfactual(&base, black_box(&case.new_costs), GeMode::Complete)
        .expect("counterfactual");
    let mut reports = vec![rep];
    reports.extend(cf.reports);
    (cf.experiment, reports)
}

fn bench_solver(c: &mut Criterion) {
    let worlds = std::env::var_os("SOLVER_WORLDS").map(PathBuf::from);
    let cases: Vec<Case> = SOLVER_SIZES.iter().map(|&n| synthetic_case(n)).collect();
    let mut group = c.benchmark_group("solver");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    for case in &cases {
        let before = tradeflow::gravity::anderson_updates();
        let (solved, reports) = solve_both(case);
        let after = tradeflow::gravity::anderson_updates();
        eprintln!(
            "  {:>5} solver: {} ({} Anderson updates, {} by SVD)",
            case.label,
            iterations(&reports),
            after.0 - before.0,
            after.1 - before.1
        );
        if let Some(dir) = &worlds {
            std::fs::create_dir_all(dir).expect("SOLVER_WORLDS folder");
            write_world(dir, case, &solved, &reports);
        }
        let n = case.model.economies().len();
        group.measurement_time(Duration::from_secs(if n >= 500 { 4 } else { 3 }));
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, case| {
            b.iter(|| solve_both(case))
        });
    }
    group.finish();

    // One resistance step and the floor: a pass that only reads the matrix. Each case's
    // costs and output and expenditure shares, made once for the step and the copy.
    let steps: Vec<_> = cases
        .iter()
        .map(|case| {
            let m = &case.model;
            (
                m.economies().len(),
                m.costs().clone(),
                m.output() / m.output().sum(),
                m.expenditure() / m.expenditure().sum(),
            )
        })
        .collect();
    let mut group = c.benchmark_group("resistance_step");
    group.sample_size(30).warm_up_time(Duration::from_secs(1));
    for (n, t, y, e) in &steps {
        let b = tradeflow::world::Vector::from_element(*n, 1.0);
        let mut step = tradeflow::gravity::ResistanceStep::new(t, y, e);
        group.measurement_time(Duration::from_secs(2));
        group.bench_with_input(BenchmarkId::from_parameter(n), n, |bch, _| {
            bch.iter(|| step.step(black_box(&b)))
        });
    }
    group.finish();
    // The row-major copy of the costs a solve makes once (`ResistanceStep::new` is that copy
    // and two vectors of N).
    let mut group = c.benchmark_group("cost_rows");
    group.sample_size(30).warm_up_time(Duration::from_secs(1));
    for (n, t, y, e) in &steps {
        group.measurement_time(Duration::from_secs(2));
        group.bench_with_input(BenchmarkId::from_parameter(n), n, |bch, _| {
            bch.iter(|| tradeflow::gravity::ResistanceStep::new(black_box(t), y, e))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("read_floor");
    group.sample_size(30).warm_up_time(Duration::from_secs(1));
    for case in &cases {
        let n = case.model.economies().len();
        let t = case.model.costs().clone();
        group.measurement_time(Duration::from_secs(2));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bch, _| {
            bch.iter(|| read_pass(black_box(t.as_slice())))
        });
    }
    group.finish();
}

/// Sums every entry, eight lanes at a time so that the compiler vectorises it: the time of
/// reading the matrix once.
fn read_pass(m: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = m.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f64>() + rest
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_sizes, bench_can_jpn, bench_solver
}
criterion_main!(benches);
