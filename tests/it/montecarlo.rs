//! Monte Carlo: degenerate distributions reproduce the deterministic run; the same seed
//! gives the same numbers on any number of threads; shards join into the full run; bad
//! specifications give located errors.

use crate::common::root;
use tradeflow::montecarlo::{outputs, MonteCarlo};
use tradeflow::scenario::Scenario;

fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mc.toml");
    let base = root().join("scenarios/two_country_symmetric.toml");
    std::fs::write(&path, format!("extends = \"{}\"\n{text}", base.display())).unwrap();
    (dir, path)
}

fn none(_: ()) {}

#[test]
fn a_degenerate_distribution_equals_the_deterministic_run() {
    let (_dir, path) = write(
        "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"normal\"\nsd = 0.0\n",
    );
    let mc = MonteCarlo::from_file(&path).unwrap();
    let draws = mc.run(7, 0..5, &|| none(()), &|| false);
    let central = outputs(&Scenario::from_file(&path).unwrap()).unwrap();
    for d in &draws {
        let values = d.outcome.as_ref().unwrap();
        for (v, (_, _, c)) in values.iter().zip(&central) {
            assert_eq!(v, c);
        }
    }
    let bands = mc.bands(&draws);
    for (b, (_, _, c)) in bands.iter().zip(&central) {
        assert_eq!(
            (b.q05, b.q50, b.q95, b.sd),
            (Some(*c), Some(*c), Some(*c), Some(0.0))
        );
    }
}

#[test]
fn same_seed_same_numbers_on_any_number_of_threads_and_shards_join() {
    let mc = MonteCarlo::from_file(&root().join("scenarios/can_jpn_pta_montecarlo.toml")).unwrap();
    let on = |threads: usize, range: std::ops::Range<u64>| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| mc.run(7, range, &|| (), &|| false))
    };
    let one = on(1, 0..12);
    let two = on(2, 0..12);
    assert_eq!(one, two);
    let mut shards = on(2, 0..5);
    shards.extend(on(2, 5..12));
    assert_eq!(one, shards);
    // A different seed gives different numbers.
    let other = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| mc.run(8, 0..12, &|| (), &|| false));
    assert_ne!(one, other);
    assert!(one.iter().all(|d| d.outcome.is_ok()));
    // CAN's welfare gain stays positive in every draw: the PTA coefficient is far from 0.
    let k = mc
        .series()
        .iter()
        .position(|(n, _)| n == "CAN.welfare_change_pct")
        .unwrap();
    assert!(one.iter().all(|d| d.outcome.as_ref().unwrap()[k] > 0.0));
}

#[test]
fn failed_draws_are_counted_not_averaged() {
    // sigma drawn around 1.2 with sd 0.5: many draws fall at or below 1 and are invalid.
    let (_dir, path) = write(
        "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"normal\"\nmean = 1.2\nsd = 0.5\n",
    );
    let mc = MonteCarlo::from_file(&path).unwrap();
    let draws = mc.run(1, 0..40, &|| (), &|| false);
    let failed = draws.iter().filter(|d| d.outcome.is_err()).count();
    assert!(failed > 0 && failed < 40, "{failed}");
    let bands = mc.bands(&draws);
    assert!(bands
        .iter()
        .all(|b| b.failed == failed && b.draws == 40 - failed));
    assert!(draws
        .iter()
        .filter_map(|d| d.outcome.as_ref().err())
        .all(|e| e.to_string().contains("sigma")));
}

#[test]
fn bad_specifications_give_located_errors() {
    for (spec, needles) in [
        (
            "[[uncertainty.parameters]]\npath = \"routes.thetaa\"\ndistribution = \"normal\"\nsd = 1.0\n",
            vec!["uncertainty.parameters[0].path", "routes.thetaa"],
        ),
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"normal\"\nsd = -1.0\n",
            vec!["uncertainty.parameters[0]", "sd must be >= 0"],
        ),
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"uniform\"\nlow = 6.0\nhigh = 4.0\n",
            vec!["uncertainty.parameters[0]", "low must be below high"],
        ),
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"gamma\"\nsd = 1.0\n",
            vec!["unknown distribution `gamma`"],
        ),
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"beta\"\nalpha = 0.0\nbeta = 2.0\nlow = 2.0\nhigh = 6.0\n",
            vec!["alpha and beta must be positive"],
        ),
        (
            "[[uncertainty.parameters]]\npath = \"sigma\"\ndistribution = \"triangular\"\nlow = 2.0\nhigh = 6.0\nmode = 7.0\n",
            vec!["low <= mode <= high"],
        ),
    ] {
        let (_dir, path) = write(spec);
        let e = MonteCarlo::from_file(&path).unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "`{n}` not in: {e}");
        }
        assert!(e.contains("mc.toml"), "{e}");
    }
}
