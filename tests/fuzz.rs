//! A mutation fuzz harness over parse, validate and run, on stable Rust.
//!
//! Every `.toml` file under `scenarios/` (extends bases and data fragments included) is a
//! seed. The harness copies `scenarios/` and `tests/data/` into a folder under the system
//! temp dir, so relative data paths and `extends` still resolve, and for case `n` it
//! mutates one seed with a ChaCha8 generator seeded by `n`: byte flips, deleted and
//! duplicated lines, numbers swapped for extreme values (0, -1, 1e308, 1e-308, nan, inf,
//! 2^63, huge counts), unknown keys, truncation, and reshuffled tables, arrays and lines.
//! One case in four mutates an `extends` base instead and runs the file that extends it.
//! Each case runs [`Scenario::from_file`] and, when the scenario validates and is small
//! enough (see [`SIM_BUDGET`]), the simulation and the result writers, all under
//! `catch_unwind`. Parse and validate run for every case, whatever its size; a debug build
//! simulates one case in [`SIM_EVERY_DEBUG`] to keep `cargo test` quick, a release build
//! every one.
//!
//! A panic is a failure: the mutated input is kept beside the seed's copy as
//! `panic-<case>.toml` (so its relative paths still resolve) and the case number printed.
//! The harness caps memory (an allocation beyond 4 GiB live aborts the process instead of
//! exhausting the machine) and time (a case that runs longer than a minute aborts it): in
//! both cases the input being run is in `current-case.toml` of the copy (and its number in
//! `case.txt`), named on stderr.
//!
//! Runs:
//! - `cargo test --test fuzz`: 2,000 cases (part of `cargo test`; about 10 s in debug).
//! - `TRADEFLOW_FUZZ_CASES=200000 cargo test --release --test fuzz -- --nocapture`: a long
//!   run; prints cases tried and panics found. `TRADEFLOW_FUZZ_START=N` starts at case
//!   `N` (to resume after an abort), `TRADEFLOW_FUZZ_SECONDS=S` stops after `S` seconds,
//!   and `TRADEFLOW_FUZZ_CASE=N` runs case `N` alone and prints its input (to reproduce a
//!   panic).

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tradeflow::scenario::Scenario;

/// Largest live heap the harness allows before it aborts (rather than exhausting a shared
/// machine): a scenario that asks for more than this is a bug of its own.
const MEMORY_CAP: usize = 4 << 30;
/// Longest a case may run before the harness aborts.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Scenarios simulated: at most this many economies and years (parse and validate run for
/// every case).
const SIM_BUDGET: (usize, i64) = (40, 40);
/// A debug build simulates the valid scenarios of one case number in this many.
const SIM_EVERY_DEBUG: u64 = 50;
/// Cases of `cargo test`.
const DEFAULT_CASES: u64 = 2_000;

struct Capped;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged, or refused with a null pointer
// (which `GlobalAlloc` allows); `LIVE` only counts bytes.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc(layout);
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !reserve(new_size - layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            if new_size > layout.size() {
                LIVE.fetch_sub(new_size - layout.size(), Ordering::Relaxed);
            }
        } else if new_size < layout.size() {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        p
    }
}

fn reserve(size: usize) -> bool {
    if size > MEMORY_CAP {
        return false;
    }
    let before = LIVE.fetch_add(size, Ordering::Relaxed);
    if before + size > MEMORY_CAP {
        LIVE.fetch_sub(size, Ordering::Relaxed);
        return false;
    }
    true
}

#[global_allocator]
static ALLOC: Capped = Capped;

/// The last panic's message and location, recorded by the hook (which prints nothing).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Milliseconds since the harness started at which the current case began (0: none).
static CASE_STARTED: AtomicU64 = AtomicU64::new(0);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a whole number"))
    })
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // `scenarios/data/` holds the data-import maps (economies.toml), not scenarios.
        let import_maps = path.ends_with("scenarios/data");
        if path.is_dir() && !import_maps {
            out.extend(toml_files(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The value of a top-level `extends = "..."` line.
fn extends_of(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("extends")?;
        let rest = rest.trim_start().strip_prefix('=')?.trim_start();
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    })
}

/// Values a number is swapped for.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.0",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "nan",
    "inf",
    "-inf",
    "9223372036854775808",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "2147483648",
    "-2147483649",
    "1000000000",
    "100000",
    "1e12",
    "0.999999999",
    "1.000000001",
    "2200",
    "1899",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "true",
];

/// Keys inserted where none is expected.
const UNKNOWN_KEYS: &[&str] = &[
    "fuzz_unknown_key = 1",
    "sigmaa = 5.0",
    "[fuzz_table]",
    "[[fuzz_array]]",
    "extends = \"\"",
    "extends = \"missing.toml\"",
    "path = \"/dev/null\"",
    "id = \"dup\"",
    "name = \"\"",
    "year = 2006",
];

/// Byte ranges of the numbers in `text` (a sign, digits, a fraction and an exponent).
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() || (b[i] == b'-' && i + 1 < b.len() && b[i + 1].is_ascii_digit());
        let inside_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if !starts || inside_word {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len()
            && (b[i].is_ascii_digit()
                || b[i] == b'.'
                || b[i] == b'_'
                || b[i] == b'e'
                || b[i] == b'E'
                || ((b[i] == b'-' || b[i] == b'+') && matches!(b[i - 1], b'e' | b'E')))
        {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// Line ranges of the `[table]` / `[[array]]` blocks (header to the next header).
fn blocks(lines: &[String]) -> Vec<(usize, usize)> {
    let heads: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with('['))
        .map(|(k, _)| k)
        .collect();
    heads
        .iter()
        .enumerate()
        .map(|(k, &h)| (h, heads.get(k + 1).copied().unwrap_or(lines.len())))
        .collect()
}

/// One random mutation of `text`.
fn mutate_once(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n_lines = lines.len().max(1);
    match rng.gen_range(0..12) {
        // A byte flipped or replaced.
        0 => {
            let mut bytes = text.as_bytes().to_vec();
            if bytes.is_empty() {
                return "x".into();
            }
            let k = rng.gen_range(0..bytes.len());
            if rng.gen_bool(0.5) {
                bytes[k] ^= 1 << rng.gen_range(0..8);
            } else {
                bytes[k] = *b" =[]{}\",.#-+0123456789eEnx\n"
                    .choose(rng)
                    .expect("not empty");
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // A line deleted.
        1 => {
            if !lines.is_empty() {
                lines.remove(rng.gen_range(0..lines.len()));
            }
            lines.join("\n")
        }
        // A line duplicated, next to itself or elsewhere.
        2 => {
            if !lines.is_empty() {
                let k = rng.gen_range(0..lines.len());
                let at = if rng.gen_bool(0.5) {
                    k
                } else {
                    rng.gen_range(0..=lines.len())
                };
                let line = lines[k].clone();
                lines.insert(at, line);
            }
            lines.join("\n")
        }
        // A number swapped for an extreme value.
        3..=5 => {
            let nums = numbers(text);
            let Some(&(a, b)) = nums.choose(rng) else {
                return text.to_owned();
            };
            let with = *EXTREMES.choose(rng).expect("not empty");
            format!("{}{with}{}", &text[..a], &text[b..])
        }
        // An unknown key inserted.
        6 => {
            let key = *UNKNOWN_KEYS.choose(rng).expect("not empty");
            lines.insert(rng.gen_range(0..=lines.len()), key.to_owned());
            lines.join("\n")
        }
        // Truncated.
        7 => {
            let mut k = rng.gen_range(0..=text.len());
            while !text.is_char_boundary(k) {
                k -= 1;
            }
            text[..k].to_owned()
        }
        // Two lines swapped.
        8 => {
            let (a, b) = (rng.gen_range(0..n_lines), rng.gen_range(0..n_lines));
            if a < lines.len() && b < lines.len() {
                lines.swap(a, b);
            }
            lines.join("\n")
        }
        // A table or array-of-tables block moved, duplicated or dropped.
        9 => {
            let bl = blocks(&lines);
            let Some(&(a, b)) = bl.choose(rng) else {
                return text.to_owned();
            };
            let block: Vec<String> = lines[a..b].to_vec();
            match rng.gen_range(0..3) {
                0 => {
                    lines.drain(a..b);
                }
                1 => {
                    let at = rng.gen_range(0..=lines.len());
                    lines.splice(at..at, block);
                }
                _ => {
                    lines.drain(a..b);
                    let at = rng.gen_range(0..=lines.len());
                    lines.splice(at..at, block);
                }
            }
            lines.join("\n")
        }
        // The elements of an inline array shuffled, dropped or repeated.
        10 => {
            let with_arrays: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains('[') && l.contains(',') && l.contains(']'))
                .map(|(k, _)| k)
                .collect();
            let Some(&k) = with_arrays.choose(rng) else {
                return text.to_owned();
            };
            let line = &lines[k];
            let (Some(open), Some(close)) = (line.rfind('['), line.find(']')) else {
                return text.to_owned();
            };
            if open >= close {
                return text.to_owned();
            }
            let mut items: Vec<String> = line[open + 1..close]
                .split(',')
                .map(str::to_owned)
                .collect();
            match rng.gen_range(0..3) {
                0 => items.shuffle(rng),
                1 => {
                    items.remove(rng.gen_range(0..items.len()));
                }
                _ => {
                    let copy = items[rng.gen_range(0..items.len())].clone();
                    let at = rng.gen_range(0..=items.len());
                    items.insert(at, copy);
                }
            }
            lines[k] = format!("{}{}{}", &line[..=open], items.join(","), &line[close..]);
            lines.join("\n")
        }
        // A string value replaced with another string of the file.
        _ => {
            let strings: Vec<(usize, usize)> = string_spans(text);
            if strings.len() < 2 {
                return text.to_owned();
            }
            let (a, b) = *strings.choose(rng).expect("not empty");
            let (c, d) = *strings.choose(rng).expect("not empty");
            format!("{}{}{}", &text[..a], &text[c..d], &text[b..])
        }
    }
}

/// Byte ranges of the double-quoted strings in `text`, quotes included.
fn string_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open = None;
    for (k, c) in text.char_indices() {
        if c == '"' {
            match open.take() {
                None => open = Some(k),
                Some(a) => out.push((a, k + 1)),
            }
        } else if c == '\n' {
            open = None;
        }
    }
    out
}

/// Files a case writes (path in the copy, text) and the file it runs.
struct Case {
    files: Vec<(PathBuf, String)>,
    run: PathBuf,
    seed: PathBuf,
}

/// Case `n`: one to three mutations of one seed (or of the base it extends).
fn case(n: u64, seeds: &[(PathBuf, String)]) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(n);
    let (path, text) = seeds.choose(&mut rng).expect("seeds");
    let dir = path.parent().expect("in a folder").to_owned();
    let mutate = |t: &str, rng: &mut ChaCha8Rng| {
        let mut t = t.to_owned();
        for _ in 0..rng.gen_range(1..=3) {
            t = mutate_once(&t, rng);
        }
        t
    };
    let run = dir.join("current-case.toml");
    if let Some(base) = extends_of(text).filter(|_| rng.gen_bool(0.25)) {
        let base_path = dir.join(&base);
        if let Ok(base_text) = std::fs::read_to_string(&base_path) {
            let mutated_base = mutate(&base_text, &mut rng);
            let fuzz_base = Path::new(&base)
                .parent()
                .unwrap_or(Path::new(""))
                .join("current-base.toml");
            let child = text.replacen(
                &format!("\"{base}\""),
                &format!("\"{}\"", fuzz_base.display()),
                1,
            );
            return Case {
                files: vec![(dir.join(&fuzz_base), mutated_base), (run.clone(), child)],
                run,
                seed: path.clone(),
            };
        }
    }
    Case {
        files: vec![(run.clone(), mutate(text, &mut rng))],
        run,
        seed: path.clone(),
    }
}

/// What one case did.
#[derive(Debug, PartialEq)]
enum Outcome {
    Invalid,
    /// Valid, but not simulated (over [`SIM_BUDGET`], or a debug build's skipped case).
    Valid,
    Simulated,
}

/// Parses, validates and (within the budget, and when `simulate`) runs and writes the
/// case's scenario.
fn exercise(file: &Path, simulate: bool) -> Outcome {
    let Ok(s) = Scenario::from_file(file) else {
        return Outcome::Invalid;
    };
    let years = s
        .dynamics()
        .map_or(1, |d| i64::from(d.horizon) - i64::from(d.base_year) + 1);
    if !simulate || s.economies().len() > SIM_BUDGET.0 || years > SIM_BUDGET.1 {
        return Outcome::Valid;
    }
    if s.dynamics().is_some() {
        if let Ok(r) = tradeflow::simulate::run_years(&s) {
            let _ = tradeflow::output::year_run_files(&s, &r);
            let _ = tradeflow::simulate::key_series(&r, &s);
        }
    } else if let Ok(r) = tradeflow::simulate::run(&s) {
        let _ = tradeflow::output::run_files(&s, &r);
    }
    Outcome::Simulated
}

/// A panic found: the case, its seed file and the message.
struct Found {
    case: u64,
    seed: PathBuf,
    kept: PathBuf,
    message: String,
}

fn harness(first: u64, cases: u64, show_input: bool) -> (u64, Vec<Found>) {
    let work = std::env::temp_dir().join(format!("tradeflow-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&root().join("scenarios"), &work.join("scenarios"));
    copy_dir(&root().join("tests/data"), &work.join("tests/data"));
    let seeds: Vec<(PathBuf, String)> = toml_files(&work.join("scenarios"))
        .into_iter()
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect();
    assert!(seeds.len() >= 5, "expected the bundled scenarios");

    panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => (*s).to_owned(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "(no message)".into()),
        };
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{at}"));
    }));
    let started = Instant::now();
    let current = std::sync::Arc::new(AtomicU64::new(first));
    {
        let current = current.clone();
        let work = work.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let at = CASE_STARTED.load(Ordering::Relaxed);
            let now = started.elapsed().as_millis() as u64;
            if at != 0 && now.saturating_sub(at) > CASE_TIMEOUT.as_millis() as u64 {
                eprintln!(
                    "fuzz: case {} ran longer than {:?}; its input is in {}/scenarios (current-case.toml, current-base.toml); reproduce with TRADEFLOW_FUZZ_CASE={}",
                    current.load(Ordering::Relaxed),
                    CASE_TIMEOUT,
                    work.display(),
                    current.load(Ordering::Relaxed)
                );
                std::process::exit(3);
            }
        });
    }
    eprintln!(
        "fuzz: cases {first}..{}; inputs in {} (an abort leaves the input being run in current-case.toml)",
        first + cases,
        work.display()
    );
    let mut found: Vec<Found> = Vec::new();
    let mut counts = [0u64; 3];
    let mut tried = 0;
    let deadline = env_u64("TRADEFLOW_FUZZ_SECONDS").map(Duration::from_secs);
    for n in first..first + cases {
        if deadline.is_some_and(|d| started.elapsed() > d) {
            break;
        }
        let c = case(n, &seeds);
        for (path, text) in &c.files {
            std::fs::write(path, text).unwrap();
        }
        if show_input {
            for (path, text) in &c.files {
                println!(
                    "--- {} (case {n}, seed {})\n{text}",
                    path.display(),
                    c.seed.display()
                );
            }
        }
        current.store(n, Ordering::Relaxed);
        CASE_STARTED.store(
            started.elapsed().as_millis().max(1) as u64,
            Ordering::Relaxed,
        );
        std::fs::write(work.join("case.txt"), format!("{n}\n")).unwrap();
        // A debug build simulates one case in SIM_EVERY_DEBUG (a debug solve takes about
        // 150 ms, a parse 6 ms); a release build, or a single case, simulates every one.
        let simulate = !cfg!(debug_assertions) || show_input || n % SIM_EVERY_DEBUG == 0;
        let result = panic::catch_unwind(AssertUnwindSafe(|| exercise(&c.run, simulate)));
        CASE_STARTED.store(0, Ordering::Relaxed);
        tried += 1;
        match result {
            Ok(o) => {
                counts[match o {
                    Outcome::Invalid => 0,
                    Outcome::Valid => 1,
                    Outcome::Simulated => 2,
                }] += 1
            }
            Err(_) => {
                let message = LAST_PANIC
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_default();
                let kept = c.run.with_file_name(format!("panic-{n}.toml"));
                let mut text = String::new();
                for (path, t) in &c.files {
                    text.push_str(&format!("# --- {}\n{t}\n", path.display()));
                }
                std::fs::write(&kept, text).unwrap();
                eprintln!(
                    "fuzz: case {n} (seed {}) panicked: {message}\n  input: {} \n  reproduce: TRADEFLOW_FUZZ_CASE={n} cargo test --test fuzz -- --nocapture",
                    c.seed.display(),
                    kept.display()
                );
                found.push(Found {
                    case: n,
                    seed: c.seed.clone(),
                    kept,
                    message,
                });
            }
        }
    }
    let _ = panic::take_hook();
    eprintln!(
        "fuzz: {tried} cases in {:.1} s: {} invalid, {} valid (not simulated), {} simulated; {} panicked",
        started.elapsed().as_secs_f64(),
        counts[0],
        counts[1],
        counts[2],
        found.len()
    );
    if found.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    (tried, found)
}

#[test]
fn mutated_scenarios_never_panic() {
    let (first, cases, show) = match env_u64("TRADEFLOW_FUZZ_CASE") {
        Some(n) => (n, 1, true),
        None => (
            env_u64("TRADEFLOW_FUZZ_START").unwrap_or(0),
            env_u64("TRADEFLOW_FUZZ_CASES").unwrap_or(DEFAULT_CASES),
            false,
        ),
    };
    let (tried, found) = harness(first, cases, show);
    println!("fuzz: {tried} cases tried, {} panics found", found.len());
    let report: Vec<String> = found
        .iter()
        .map(|f| {
            format!(
                "case {} (seed {}): {}\n  input: {}",
                f.case,
                f.seed.display(),
                f.message,
                f.kept.display()
            )
        })
        .collect();
    assert!(found.is_empty(), "panics:\n{}", report.join("\n"));
}

#[test]
fn mutations_are_reproducible_and_change_the_input() {
    let seeds = vec![(
        root().join("scenarios/two_country_symmetric.toml"),
        std::fs::read_to_string(root().join("scenarios/two_country_symmetric.toml")).unwrap(),
    )];
    let mut changed = 0;
    for n in 0..50 {
        let (a, b) = (case(n, &seeds), case(n, &seeds));
        assert_eq!(a.files, b.files);
        changed += usize::from(a.files[0].1 != seeds[0].1);
    }
    assert!(changed > 40, "{changed} of 50 cases changed their input");
    assert_eq!(numbers("a = -1.5e-3\nb2 = 7"), vec![(4, 11), (17, 18)]);
}
