//! Criterion benchmark of PPML with high-dimensional fixed effects (see `benches/README.md`).
//!
//! Group `ppml_hdfe/EXxYEARS`: [`tradeflow::estimate::ppml`] on the synthetic panel of
//! [`tradeflow::estimate::synthetic::synthetic_panel`] (seed [`SEED`]) with exporter-year,
//! importer-year and pair fixed effects and robust HC0 standard errors; `50x10` and
//! `200x10` (the size, 400 000 observations, 4 000 + 40 000 groups).
//!
//! Before timing, each case's report (iterations, demeaning sweeps, drops, coefficients) is
//! printed once to stderr. With `PPML_PANEL_CSV=FILE` the bench writes the 200 x 10 panel
//! to FILE as CSV and exits, for `benches/compare_ppml.sh`.

use std::time::{Duration, Instant};

use criterion::{black_box, BenchmarkId, Criterion};
use tradeflow::estimate::synthetic::synthetic_panel;
use tradeflow::estimate::{ppml, PpmlOptions};

/// Seed of every synthetic panel.
const SEED: u64 = 20_240_601;
/// Years in every panel.
const YEARS: usize = 10;
/// Economies.
const SIZES: [usize; 2] = [50, 200];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ppml_hdfe");
    group.sample_size(10);
    for n in SIZES {
        let design = synthetic_panel(n, YEARS, SEED).design();
        let options = PpmlOptions::default();
        let start = Instant::now();
        let fit = ppml(&design, &options).expect("the synthetic panel is estimable");
        eprintln!(
            "ppml_hdfe/{n}x{YEARS}: {} obs, {} kept, {} dropped, {} ({} iterations, most sweeps \
             in one demeaning {}), deviance {:.6e}, {:.2} s; {}",
            fit.report.observations,
            fit.report.kept,
            fit.dropped.len(),
            fit.report.stop,
            fit.report.iterations,
            fit.report.max_demean_sweeps,
            fit.report.deviance,
            start.elapsed().as_secs_f64(),
            fit.coefficients
                .iter()
                .map(|c| format!("{} {:.6} ({:.6})", c.name, c.beta, c.stderr))
                .collect::<Vec<_>>()
                .join(", ")
        );
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{n}x{YEARS}")),
            &design,
            |b, d| b.iter(|| ppml(black_box(d), &options).expect("estimable")),
        );
    }
    group.finish();
}

fn main() {
    if let Some(path) = std::env::var_os("PPML_PANEL_CSV") {
        let panel = synthetic_panel(200, YEARS, SEED);
        std::fs::write(&path, panel.to_csv()).expect("the panel CSV can be written");
        eprintln!(
            "wrote {} ({} rows)",
            path.to_string_lossy(),
            panel.trade.len()
        );
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
}
