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
//! Before timing, the solver iteration counts of every case are printed once to stderr.

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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_sizes, bench_can_jpn
}
criterion_main!(benches);
