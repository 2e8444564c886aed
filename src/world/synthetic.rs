//! Synthetic square economies for benchmarks and property tests, reproducible from a seed.
//!
//! Economies sit at random points of a unit square; output is log-normal; trade costs follow
//! the gegravity sample's estimates (`ln t^(1-sigma) = -0.39 ln dist - 3.41 international`,
//! Yotov et al. 2016 data), with internal distance a tenth of the smallest external one.
//! Output equals expenditure, so the data balance.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Economies, GravityData, Matrix, Vector};

/// Distance elasticity of `t^(1-sigma)` used for synthetic costs (gegravity sample estimate).
const DIST: f64 = -0.3898623;
/// Border effect of `t^(1-sigma)` used for synthetic costs (gegravity sample estimate).
const INTERNATIONAL: f64 = -3.412584;

/// A synthetic economy of `n` countries named `C000`, `C001`, ...: the data, and trade costs
/// as `t^(1-sigma)`. Flows are the unscaled gravity prediction `Y_i E_j t / Y`
/// (not an equilibrium: the solver finds that).
pub fn synthetic_economy(n: usize, seed: u64) -> (GravityData, Matrix) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pos: Vec<(f64, f64)> = (0..n).map(|_| (rng.gen(), rng.gen())).collect();
    // Log-normal sizes with a spread like world GDP (sd of logs about 1.5).
    let size = Vector::from_fn(n, |_, _| {
        let z: f64 = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
        (1.5 * z).exp() * 1000.0
    });
    let dist = |i: usize, j: usize| {
        let (a, b) = (pos[i], pos[j]);
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt().max(1e-3)
    };
    let costs = Matrix::from_fn(n, n, |i, j| {
        if i == j {
            (DIST * (0.1 * 1e-3f64).ln()).exp()
        } else {
            (DIST * dist(i, j).ln() + INTERNATIONAL).exp()
        }
    });
    let world = size.sum();
    let trade = Matrix::from_fn(n, n, |i, j| size[i] * size[j] * costs[(i, j)] / world);
    let economies =
        Economies::new((0..n).map(|i| format!("C{i:03}"))).expect("generated codes are distinct");
    let mut variables = std::collections::BTreeMap::new();
    variables.insert(
        "international".to_owned(),
        Matrix::from_fn(n, n, |i, j| f64::from(u8::from(i != j))),
    );
    let data = GravityData {
        economies,
        trade,
        output: size.clone(),
        expenditure: size,
        variables,
    };
    (data, costs)
}
