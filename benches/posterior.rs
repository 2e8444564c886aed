//! Monte Carlo draws of `as_happened` from a fitted posterior
//! (`montecarlo/as_happened_posterior_draws`: 100 draws on the rayon pool, each a truncated
//! multivariate normal draw of the posterior's parameters on top of `[uncertainty]`'s own),
//! and the values alone (`montecarlo/as_happened_posterior_values`: 10,000 draws of the
//! parameters, no model run).
//!
//! Until `tradeflow calibrate` has written the roundabout's posterior, the bench writes a
//! stand-in into `<temp dir>/tradeflow_posterior_as_happened/` (its path is printed), which
//! `tradeflow run ... --posterior DIR` can read too: every `[[calibration.free]]` parameter
//! of the scenario at its value in the file, with its bounds, a posterior sd of a tenth of
//! the value (a tenth of the bound's width for a value of 0) and a correlation of 0.2
//! between every pair. Invented spreads, for timing only: the time of a draw is the model
//! run's, and it does not depend on where the values come from.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tradeflow::montecarlo::MonteCarlo;
use tradeflow::scenario::{ParamPath, Scenario};

/// Writes the stand-in posterior of the scenario at `path` into `dir` (see the module docs).
fn stand_in_posterior(path: &Path, dir: &Path) -> PathBuf {
    let table = Scenario::load_table(path).expect("as_happened reads");
    let s = Scenario::from_file(path).expect("as_happened is valid");
    let free = table
        .get("calibration")
        .and_then(|c| c.get("free"))
        .and_then(|f| f.as_array())
        .expect("as_happened has [[calibration.free]]");
    let mut rows = Vec::new();
    for entry in free {
        let text = entry["path"].as_str().expect("a path");
        let bound = |k: &str| {
            entry
                .get(k)
                .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
        };
        let (lower, upper) = (bound("lower"), bound("upper"));
        let param = s
            .param(&ParamPath::parse(text).unwrap())
            .expect("the path resolves");
        let mode = s.value(&param);
        let sd = if mode != 0.0 {
            0.1 * mode.abs()
        } else {
            0.1 * (upper.unwrap_or(1.0) - lower.unwrap_or(0.0))
        };
        rows.push((text.to_owned(), mode, sd, lower, upper));
    }
    std::fs::create_dir_all(dir).unwrap();
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut p =
        "parameter,prior,prior_location,prior_sd,mode,posterior_sd,sd_ratio,verdict,lower,upper\n"
            .to_owned();
    for (path, mode, sd, lo, hi) in &rows {
        p.push_str(&format!(
            "{path},normal,{mode},{},{mode},{sd},0.5,stand-in for timing,{},{}\n",
            2.0 * sd,
            cell(*lo),
            cell(*hi)
        ));
    }
    std::fs::write(dir.join("posterior.csv"), p).unwrap();
    let mut c = "parameter_a,parameter_b,covariance,correlation\n".to_owned();
    for (a, ra) in rows.iter().enumerate() {
        for (b, rb) in rows.iter().enumerate() {
            let rho = if a == b { 1.0 } else { 0.2 };
            c.push_str(&format!("{},{},{},{rho}\n", ra.0, rb.0, rho * ra.2 * rb.2));
        }
    }
    std::fs::write(dir.join("posterior_covariance.csv"), c).unwrap();
    dir.to_owned()
}

fn bench_posterior(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/roundabout/as_happened.toml");
    let dir = stand_in_posterior(
        &path,
        &std::env::temp_dir().join("tradeflow_posterior_as_happened"),
    );
    eprintln!("stand-in posterior of as_happened: {}", dir.display());
    let mc = MonteCarlo::from_file_with(&path, Some(&dir)).expect("as_happened posterior draws");
    let mut g = c.benchmark_group("montecarlo");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(criterion::Throughput::Elements(100));
    g.bench_function("as_happened_posterior_draws", |b| {
        b.iter(|| black_box(mc.run(7, 0..100, &|| {}, &|| false)))
    });
    // The draw of the values alone (independent draws, then the posterior's truncated
    // multivariate normal), without the model runs: what the posterior adds to a draw.
    g.throughput(criterion::Throughput::Elements(10_000));
    g.bench_function("as_happened_posterior_values", |b| {
        b.iter(|| {
            for i in 0..10_000 {
                black_box(mc.draw_values(7, i).expect("within the bounds"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_posterior);
criterion_main!(benches);
