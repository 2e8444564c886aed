//! Benchmarks of the roundabout layer: a whole `as_happened` run (every year and sector),
//! the route layer alone for N = 50 and 200 economies with every one-stop route open
//! (each economy a possible intermediary for every pair), Monte Carlo draws of
//! `as_happened` (`montecarlo/as_happened_draws`: 100 draws on the rayon pool), and PNG
//! encoding of the committed `as_happened` charts at each compression setting
//! (`png_encode/<setting>`; the file sizes are printed before timing), and writing a
//! yearly run's files (`write/as_happened_year_run_files`, `write/number_text_10k`).

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

fn bench_montecarlo(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/roundabout/as_happened.toml");
    let mc = tradeflow::montecarlo::MonteCarlo::from_file(&path).expect("as_happened draws");
    let mut g = c.benchmark_group("montecarlo");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(criterion::Throughput::Elements(100));
    g.bench_function("as_happened_draws", |b| {
        b.iter(|| black_box(mc.run(7, 0..100, &|| {}, &|| false)))
    });
    g.finish();
}

/// The committed `as_happened` charts as raw RGB images (decoded from their PNGs).
fn chart_images() -> Vec<(String, u32, u32, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/as_happened");
    let mut out = Vec::new();
    for sub in ["charts", "montecarlo/charts", "sweep/charts"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        paths.sort();
        for p in paths {
            let file = std::fs::File::open(&p).expect("committed chart");
            let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).expect("a PNG frame");
            buf.truncate(info.buffer_size());
            if info.color_type == png::ColorType::Rgb {
                out.push((p.display().to_string(), info.width, info.height, buf));
            }
        }
    }
    out
}

/// Encodes one image; `filter` `None` is adaptive filtering (the filter chosen row by row).
fn encode(
    img: &(String, u32, u32, Vec<u8>),
    c: png::Compression,
    filter: Option<png::FilterType>,
) -> usize {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, img.1, img.2);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    match filter {
        None => enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive),
        Some(f) => enc.set_filter(f),
    }
    enc.set_compression(c);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&img.3).expect("image data");
    w.finish().expect("finish");
    out.len()
}

fn bench_png(c: &mut Criterion) {
    let images = chart_images();
    if images.is_empty() {
        eprintln!("no committed charts under plots/as_happened: png_encode skipped");
        return;
    }
    use png::{Compression, FilterType};
    let settings = [
        ("best_adaptive", Compression::Best, None),
        ("default_adaptive", Compression::Default, None),
        (
            "default_paeth",
            Compression::Default,
            Some(FilterType::Paeth),
        ),
        ("fast_adaptive", Compression::Fast, None),
        ("fast_paeth", Compression::Fast, Some(FilterType::Paeth)),
        ("fast_sub", Compression::Fast, Some(FilterType::Sub)),
    ];
    eprintln!("png_encode: {} charts", images.len());
    for (name, comp, filter) in settings {
        let total: usize = images.iter().map(|i| encode(i, comp, filter)).sum();
        eprintln!("  {name:>17}: {total} bytes in all");
    }
    let mut g = c.benchmark_group("png_encode");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (name, comp, filter) in settings {
        g.bench_function(name, |b| {
            b.iter(|| {
                images
                    .iter()
                    .map(|i| encode(black_box(i), comp, filter))
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

/// Writing a yearly run's files: every CSV and `run.json` of `as_happened` as bytes (the
/// writers `run` streams into the folder), and the number formatting alone.
fn bench_write(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/roundabout/as_happened.toml");
    let s = Scenario::from_file(&path).expect("as_happened is valid");
    let run = run_years(&s).expect("as_happened runs");
    let mut g = c.benchmark_group("write");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("as_happened_year_run_files", |b| {
        b.iter(|| black_box(tradeflow::output::year_run_files(&s, &run).expect("finite")))
    });
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let values: Vec<f64> = (0..10_000)
        .map(|_| rng.gen::<f64>() * 10f64.powi(rng.gen_range(-8..14)))
        .collect();
    g.bench_function("number_text_10k", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|&v| tradeflow::output::number_text(v).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_as_happened,
    bench_routes,
    bench_montecarlo,
    bench_png,
    bench_write
);
criterion_main!(benches);
