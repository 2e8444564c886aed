//! Benchmarks of the roundabout layer: a whole `as_happened` run (every year and sector),
//! and the route layer alone for N = 50 and 200 economies with every one-stop route open
//! (each economy a possible intermediary for every pair).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tradeflow::routes::{detour, route_flows, Via};
use tradeflow::scenario::Scenario;
use tradeflow::simulate::run_years;
use tradeflow::world::Matrix;

fn bench_as_happened(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/roundabout/as_happened.toml");
    let mut g = c.benchmark_group("roundabout");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("as_happened_full_run", |b| {
        b.iter(|| {
            let s = Scenario::from_file(&path).expect("as_happened is valid");
            black_box(run_years(&s).expect("as_happened runs"))
        })
    });
    let s = Scenario::from_file(&path).expect("as_happened is valid");
    g.bench_function("as_happened_solve_only", |b| {
        b.iter(|| black_box(run_years(&s).expect("as_happened runs")))
    });
    g.finish();
}

/// Costs, wedges and one `Via` per economy with random multipliers: every one-stop route.
fn all_one_stop(n: usize, seed: u64) -> (Matrix, Matrix, Vec<Via>, Matrix) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = Matrix::from_fn(
        n,
        n,
        |i, j| if i == j { 1.0 } else { 1.5 + rng.gen::<f64>() },
    );
    let w = Matrix::from_fn(n, n, |_, _| 1.0 + 0.5 * rng.gen::<f64>());
    let vias = (0..n)
        .map(|k| Via::new(k, Matrix::from_fn(n, n, |_, _| 1.2 + rng.gen::<f64>())))
        .collect();
    let x = Matrix::from_fn(n, n, |i, j| if i == j { 100.0 } else { rng.gen::<f64>() });
    (t, w, vias, x)
}

fn bench_routes(c: &mut Criterion) {
    let mut g = c.benchmark_group("routes_all_one_stop");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in [50usize, 200] {
        let (t, w, vias, x) = all_one_stop(n, 7);
        g.bench_with_input(BenchmarkId::new("detour", n), &n, |b, _| {
            b.iter(|| black_box(detour(&t, &w, &vias, 4.0).expect("valid routes")))
        });
        let routing = detour(&t, &w, &vias, 4.0).expect("valid routes");
        g.bench_with_input(BenchmarkId::new("route_flows", n), &n, |b, _| {
            b.iter(|| {
                let rf = route_flows(&x, &routing).expect("valid flows");
                black_box((rf.transit(), rf.reexports()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_as_happened, bench_routes);
criterion_main!(benches);
