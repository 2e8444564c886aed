//! The network form (Allen and Arkolakis 2022, "The Welfare Effects of Transportation
//! Infrastructure Improvements", Review of Economic Studies 89(6)): goods travel over a
//! graph of links with costs `kappa_kl`, every walk from `i` to `j` is a route whose cost is
//! the product of its link costs, and Frechet route choice of shape `theta` over all walks
//! sums to a matrix inverse:
//!
//! ```text
//! A_kl = kappa_kl^-theta                         (0 on the diagonal and where no link)
//! B    = sum_{n>=0} A^n = (I - A)^-1             (converges iff rho(A) < 1)
//! tau_ij^-theta = B_ij
//! ```
//!
//! The empty walk makes `B_ii >= 1`, so `tau_ii = B_ii^(-1/theta) <= 1`: staying home costs
//! 1, and round trips out and back only add routes. A pair with no walk has `B_ij = 0` and
//! `tau_ij = +inf`.

use nalgebra::DVector;

use super::{check_flows, check_shape, check_theta, RouteError};
use crate::world::Matrix;

/// Effective costs of the network form, from [`network`].
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRouting {
    /// Route-choice shape.
    pub theta: f64,
    /// `A_kl = kappa_kl^-theta`, 0 on the diagonal and where there is no link.
    pub a: Matrix,
    /// `B = (I - A)^-1`, the sum over walks: `B_ij = tau_ij^-theta`.
    pub b: Matrix,
    /// Effective cost `tau_ij = B_ij^(-1/theta)`; `+inf` where no walk leads from `i` to
    /// `j`; `tau_ii <= 1`.
    pub tau: Matrix,
    /// Spectral radius of `A` (its Perron root), below 1: how close the network is to
    /// diverging. A Collatz-Wielandt upper bound from power iteration on each strongly
    /// connected component, tight to about `1e-12` relative (0 for an acyclic network).
    pub spectral_radius: f64,
}

/// Power-iteration steps before [`perron_bracket`] settles for the bracket it has.
const PERRON_MAX_ITERATIONS: usize = 1_000;
/// Relative width of the bracket at which [`perron_bracket`] stops.
const PERRON_TOLERANCE: f64 = 1e-12;
/// Rounding may leave entries of `(I - A)^-1` that are zero in exact arithmetic (pairs with
/// no walk) slightly negative; negatives within this fraction of the largest entry are
/// read as 0.
const INVERSE_ROUNDING: f64 = 1e-10;

/// Strongly connected components of the graph with a link `k -> l` wherever `a_kl > 0`,
/// each a list of nodes in increasing order. Reachability comes from Warshall's transitive
/// closure, `O(N^3)` like the inverse that follows it.
fn strong_components(a: &Matrix) -> Vec<Vec<usize>> {
    let n = a.nrows();
    // reach[k][l]: a walk of one link or more leads from k to l.
    let mut reach: Vec<Vec<bool>> = (0..n)
        .map(|k| (0..n).map(|l| a[(k, l)] > 0.0).collect())
        .collect();
    for m in 0..n {
        let via = reach[m].clone();
        for row in reach.iter_mut().filter(|row| row[m]) {
            for (r, &v) in row.iter_mut().zip(&via) {
                *r |= v;
            }
        }
    }
    let mut assigned = vec![false; n];
    let mut components = Vec::new();
    for k in 0..n {
        if assigned[k] {
            continue;
        }
        let component: Vec<usize> = (k..n)
            .filter(|&l| l == k || (reach[k][l] && reach[l][k]))
            .collect();
        for &l in &component {
            assigned[l] = true;
        }
        components.push(component);
    }
    components
}

/// Brackets the spectral radius of a non-negative matrix: `(lo, hi)` with
/// `lo <= rho(a) <= hi` (to rounding).
///
/// The spectral radius of a non-negative matrix is the largest of those of its strongly
/// connected components (the diagonal blocks of its Frobenius normal form), and each
/// component is irreducible, where [`perron_bracket`] converges. Acyclic parts (single
/// nodes without a self-link) contribute 0 exactly; power iteration on them would converge
/// only like `1/k`.
fn spectral_bracket(a: &Matrix) -> (f64, f64) {
    strong_components(a)
        .iter()
        .map(|c| perron_bracket(&a.select_rows(c).select_columns(c)))
        .fold((0.0, 0.0), |(lo, hi), (l, h)| (lo.max(l), hi.max(h)))
}

/// Brackets the Perron root of an irreducible non-negative matrix: `(lo, hi)` with
/// `lo <= rho(a) <= hi` (to rounding; the bounds hold for any non-negative matrix, but
/// converge only for irreducible ones).
///
/// Power iteration on `M = a / s + I` (`s` the largest entry): the shift by `I` makes `M`
/// primitive, so the iteration converges on periodic networks too (a two-way link alone
/// has eigenvalues `+-r`), and `rho(M) = rho(a) / s + 1` because the Perron root of a
/// non-negative matrix is its largest eigenvalue in modulus. Bounds (Collatz-Wielandt;
/// Horn and Johnson, *Matrix Analysis*, 2nd ed., Theorem 8.1.26): for `x > 0`,
/// `min_i (Mx)_i / x_i <= rho(M) <= max_i (Mx)_i / x_i`.
fn perron_bracket(a: &Matrix) -> (f64, f64) {
    let n = a.nrows();
    let s = a.iter().copied().fold(0.0, f64::max);
    if n == 0 || s == 0.0 {
        return (0.0, 0.0);
    }
    if !s.is_finite() {
        return (f64::INFINITY, f64::INFINITY);
    }
    let mut m = a / s;
    for k in 0..n {
        m[(k, k)] += 1.0;
    }
    let mut x = DVector::from_element(n, 1.0);
    // M >= I, so rho(M) >= 1.
    let (mut lo, mut hi) = (1.0f64, f64::INFINITY);
    for _ in 0..PERRON_MAX_ITERATIONS {
        let y = &m * &x;
        let (lower, upper) = y
            .iter()
            .zip(&x)
            .map(|(y, x)| y / x)
            .fold((f64::INFINITY, 0.0f64), |(l, u), r| (l.min(r), u.max(r)));
        lo = lo.max(lower);
        hi = hi.min(upper);
        if hi - lo <= PERRON_TOLERANCE * hi {
            break;
        }
        // M x >= x > 0, so the iterate stays positive; the floor only guards against
        // components that underflow before the iteration settles.
        let top = y.max();
        x = y.map(|v| (v / top).max(f64::MIN_POSITIVE));
    }
    ((lo - 1.0).max(0.0) * s, (hi - 1.0).max(0.0) * s)
}

/// Effective costs of the network form (Allen and Arkolakis 2022, eq. 9-10):
/// `A_kl = kappa_kl^-theta`, `B = (I - A)^-1`, `tau_ij = B_ij^(-1/theta)`.
///
/// `kappa` is `N x N` with `kappa_kl > 0` or `+inf` (no link); its diagonal is ignored (no
/// self-links). The sum over walks converges only if the spectral radius of `A` is below
/// 1; otherwise this returns [`RouteError::SpectralRadius`]. The test is the power
/// iteration's bracket (`spectral_bracket`) and, decisively, the sign of the inverse: for a
/// non-negative `A`, `I - A` has a non-negative inverse if and only if `rho(A) < 1` (it is
/// then a nonsingular M-matrix; Berman and Plemmons 1994, ch. 6, Theorem 2.3).
pub fn network(kappa: &Matrix, theta: f64) -> Result<NetworkRouting, RouteError> {
    check_theta(theta)?;
    let n = kappa.nrows();
    check_shape(|| "link costs kappa".to_owned(), kappa, n)?;
    for l in 0..n {
        for k in (0..n).filter(|&k| k != l) {
            let value = kappa[(k, l)];
            if value.is_nan() || value <= 0.0 {
                return Err(RouteError::LinkCost { k, l, value });
            }
        }
    }
    let a = Matrix::from_fn(n, n, |k, l| {
        if k == l {
            0.0
        } else {
            kappa[(k, l)].powf(-theta)
        }
    });
    let (lo, hi) = spectral_bracket(&a);
    if lo >= 1.0 {
        return Err(RouteError::SpectralRadius { rho: hi });
    }
    let diverges = || RouteError::SpectralRadius { rho: hi };
    let mut b = (Matrix::identity(n, n) - &a)
        .lu()
        .try_inverse()
        .ok_or_else(diverges)?;
    let top = b.iter().copied().fold(0.0, f64::max);
    for v in b.iter_mut() {
        if !v.is_finite() || *v < -INVERSE_ROUNDING * top {
            return Err(diverges());
        }
        *v = v.max(0.0);
    }
    let tau = b.map(|v| {
        if v > 0.0 {
            v.powf(-1.0 / theta)
        } else {
            f64::INFINITY
        }
    });
    Ok(NetworkRouting {
        theta,
        a,
        b,
        tau,
        // A non-negative inverse proves rho < 1 even where the bracket had not closed.
        spectral_radius: hi.min(1.0 - f64::EPSILON),
    })
}

impl NetworkRouting {
    /// Number of economies (nodes).
    pub fn len(&self) -> usize {
        self.b.nrows()
    }

    /// True when there is no node.
    pub fn is_empty(&self) -> bool {
        self.b.nrows() == 0
    }

    /// Expected traffic on each link `k -> l` of final flows `X_ij` (origin `i` to final
    /// buyer `j`; Allen and Arkolakis 2022, eq. 11):
    ///
    /// ```text
    /// L_kl = sum_ij X_ij (tau_ik kappa_kl tau_lj / tau_ij)^-theta
    ///      = sum_ij X_ij B_ik A_kl B_lj / B_ij
    ///      = A_kl [B^T Z B^T]_kl,     Z_ij = X_ij / B_ij
    /// ```
    ///
    /// an `O(N^3)` product instead of the `O(N^4)` sum. A unit that crosses a link twice
    /// counts twice. The diagonal is 0 (domestic sales travel the empty walk), and at every
    /// node outgoing minus incoming traffic equals what it sells abroad minus what it buys
    /// from abroad.
    ///
    /// Checks: `x` is `N x N`, finite and non-negative, and no pair with a positive flow has
    /// no walk (`tau_ij = +inf`).
    pub fn link_flows(&self, x: &Matrix) -> Result<Matrix, RouteError> {
        let n = self.len();
        check_flows(x, n)?;
        let mut z = Matrix::zeros(n, n);
        for j in 0..n {
            for i in 0..n {
                let value = x[(i, j)];
                if value > 0.0 {
                    if self.b[(i, j)] <= 0.0 {
                        return Err(RouteError::NoRoute { i, j, value });
                    }
                    z[(i, j)] = value / self.b[(i, j)];
                }
            }
        }
        let paths = self.b.tr_mul(&z) * self.b.transpose();
        Ok(self.a.component_mul(&paths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    /// Four nodes, some one-way links, costs high enough for convergence.
    fn kappa4() -> Matrix {
        Matrix::from_row_slice(
            4,
            4,
            &[
                1.0, 1.6, 2.5, INF, //
                1.7, 1.0, 1.4, 2.2, //
                3.0, 1.5, 1.0, 1.3, //
                INF, 2.1, INF, 1.0,
            ],
        )
    }

    #[test]
    fn line_graph_matches_the_hand_computed_path_sum() {
        // 0 - 1 - 2, two-way links. With alpha = a^-theta, beta = b^-theta,
        // (I - A)^-1 = [[1-b2, al, al*be], [al, 1, be], [al*be, be, 1-a2]] / (1 - a2 - b2).
        let (ka, kb, theta) = (1.8, 2.4, 3.0);
        let kappa = Matrix::from_row_slice(3, 3, &[1.0, ka, INF, ka, 1.0, kb, INF, kb, 1.0]);
        let r = network(&kappa, theta).unwrap();
        let (al, be) = (ka.powf(-theta), kb.powf(-theta));
        let det = 1.0 - al * al - be * be;
        let expected = Matrix::from_row_slice(
            3,
            3,
            &[
                1.0 - be * be,
                al,
                al * be,
                al,
                1.0,
                be,
                al * be,
                be,
                1.0 - al * al,
            ],
        ) / det;
        for (got, want) in r.b.iter().zip(expected.iter()) {
            assert!(close(*got, *want, 1e-14), "{got} vs {want}");
        }
        assert!(close(
            r.tau[(0, 2)],
            (al * be / det).powf(-1.0 / theta),
            1e-14
        ));
        // Walks 0 -> 2 all pass 1, so tau_02 < ka * kb only through the extra walks.
        assert!(r.tau[(0, 2)] < ka * kb);
        for i in 0..3 {
            assert!(r.tau[(i, i)] <= 1.0);
        }
        // Path graph: eigenvalues 0 and +-sqrt(al^2 + be^2).
        assert!(close(r.spectral_radius, (al * al + be * be).sqrt(), 1e-10));
    }

    #[test]
    fn inverse_equals_the_sum_over_walks() {
        let r = network(&kappa4(), 2.5).unwrap();
        let mut sum = Matrix::identity(4, 4);
        let mut power = Matrix::identity(4, 4);
        for _ in 0..400 {
            power = &power * &r.a;
            sum += &power;
        }
        assert!((&sum - &r.b).abs().max() < 1e-12 * sum.max());
    }

    #[test]
    fn spectral_radius_at_or_above_one_is_an_error() {
        // Two-way link of cost 1: A = [[0, 1], [1, 0]], rho = 1.
        let kappa = Matrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let err = network(&kappa, 4.0).unwrap_err();
        assert!(matches!(err, RouteError::SpectralRadius { rho } if close(rho, 1.0, 1e-9)));
        assert!(err.to_string().contains("diverges"), "{err}");
        // Cheaper than free: kappa = 0.5, theta = 1 gives A = 2 (J - I), rho = 2 (n = 2).
        let kappa = Matrix::from_element(2, 2, 0.5);
        let err = network(&kappa, 1.0).unwrap_err();
        assert!(matches!(err, RouteError::SpectralRadius { rho } if close(rho, 2.0, 1e-9)));
        // A diverging cycle beside a node with no outgoing link.
        let kappa = Matrix::from_row_slice(3, 3, &[1.0, 0.9, INF, 0.9, 1.0, INF, 1.0, INF, 1.0]);
        let err = network(&kappa, 2.0).unwrap_err();
        let want = 0.9f64.powf(-2.0);
        assert!(matches!(err, RouteError::SpectralRadius { rho } if close(rho, want, 1e-9)));
        // Overflowing link terms.
        let kappa = Matrix::from_element(2, 2, 1e-20);
        assert!(matches!(
            network(&kappa, 40.0),
            Err(RouteError::SpectralRadius { .. })
        ));
    }

    #[test]
    fn spectral_bracket_matches_the_largest_eigenvalue() {
        let a = Matrix::from_row_slice(3, 3, &[0.0, 0.3, 0.1, 0.2, 0.0, 0.4, 0.5, 0.1, 0.0]);
        let rho = a
            .clone()
            .complex_eigenvalues()
            .iter()
            .map(|z| z.norm())
            .fold(0.0, f64::max);
        for (lo, hi) in [perron_bracket(&a), spectral_bracket(&a)] {
            assert!(lo <= hi && close(lo, rho, 1e-10) && close(hi, rho, 1e-10));
        }
        // Acyclic: rho = 0 exactly, where power iteration alone converges like 1/k.
        let a = Matrix::from_row_slice(3, 3, &[0.0, 5e4, 2.0, 0.0, 0.0, 7e4, 0.0, 0.0, 0.0]);
        assert_eq!(spectral_bracket(&a), (0.0, 0.0));
        assert_eq!(spectral_bracket(&Matrix::zeros(3, 3)), (0.0, 0.0));
        // Reducible: a 2-cycle (rho = sqrt(0.3 * 0.6)) feeding a 3-cycle (rho = 0.2), and
        // a sink.
        let mut a = Matrix::zeros(6, 6);
        a[(0, 1)] = 0.3;
        a[(1, 0)] = 0.6;
        a[(1, 2)] = 5.0;
        a[(2, 3)] = 0.2;
        a[(3, 4)] = 0.2;
        a[(4, 2)] = 0.2;
        a[(4, 5)] = 9.0;
        assert_eq!(
            strong_components(&a),
            vec![vec![0, 1], vec![2, 3, 4], vec![5]]
        );
        let (lo, hi) = spectral_bracket(&a);
        let rho = 0.18f64.sqrt();
        assert!(close(lo, rho, 1e-10) && close(hi, rho, 1e-10), "{lo} {hi}");
    }

    #[test]
    fn costly_paths_leave_tau_close_to_kappa() {
        // Every link costs much more than 1 and theta is large, so walks of two or more
        // links add little: tau_ij ~ kappa_ij (1 - O(A)).
        let kappa = Matrix::from_fn(4, 4, |k, l| 3.0 + (k * 4 + l) as f64 / 5.0);
        let r = network(&kappa, 6.0).unwrap();
        for l in 0..4 {
            for k in (0..4).filter(|&k| k != l) {
                assert!(r.tau[(k, l)] < kappa[(k, l)]);
                assert!(close(r.tau[(k, l)], kappa[(k, l)], 1e-3), "{k}->{l}");
            }
            assert!(r.tau[(l, l)] <= 1.0 && r.tau[(l, l)] > 1.0 - 1e-6);
        }
    }

    #[test]
    fn unreachable_pairs_cost_infinity() {
        // 0 -> 1 only.
        let kappa = Matrix::from_row_slice(2, 2, &[1.0, 1.2, INF, 1.0]);
        let r = network(&kappa, 4.0).unwrap();
        assert_eq!(r.tau[(1, 0)], INF);
        assert!(close(r.tau[(0, 1)], 1.2, 1e-15));
        assert_eq!(r.tau[(0, 0)], 1.0);
        let x = Matrix::from_row_slice(2, 2, &[5.0, 2.0, 0.0, 3.0]);
        let links = r.link_flows(&x).unwrap();
        // Only 0 -> 1 crosses a link; domestic sales cross none.
        assert!(close(links[(0, 1)], 2.0, 1e-15));
        assert_eq!(
            (links[(0, 0)], links[(1, 0)], links[(1, 1)]),
            (0.0, 0.0, 0.0)
        );
        let x = Matrix::from_row_slice(2, 2, &[5.0, 2.0, 1.0, 3.0]);
        assert_eq!(
            r.link_flows(&x),
            Err(RouteError::NoRoute {
                i: 1,
                j: 0,
                value: 1.0
            })
        );
    }

    #[test]
    fn link_flows_match_the_naive_sum_and_conserve_flow() {
        let r = network(&kappa4(), 2.5).unwrap();
        let x = Matrix::from_fn(4, 4, |i, j| 1.0 + (3 * i + 5 * j) as f64 % 7.0);
        let links = r.link_flows(&x).unwrap();
        let kappa = kappa4();
        let theta = r.theta;
        for l in 0..4 {
            for k in 0..4 {
                let mut naive = 0.0;
                if k != l {
                    for j in 0..4 {
                        for i in 0..4 {
                            let ratio =
                                r.tau[(i, k)] * kappa[(k, l)] * r.tau[(l, j)] / r.tau[(i, j)];
                            naive += x[(i, j)] * ratio.powf(-theta);
                        }
                    }
                }
                assert!(close(links[(k, l)], naive, 1e-12), "{k}->{l}");
            }
        }
        // Conservation: out - in = sales abroad - purchases from abroad.
        for k in 0..4 {
            let net = links.row(k).sum() - links.column(k).sum();
            let trade = x.row(k).sum() - x.column(k).sum();
            assert!((net - trade).abs() < 1e-10 * x.sum(), "node {k}");
        }
    }

    #[test]
    fn bad_inputs_are_named() {
        let mut kappa = kappa4();
        kappa[(0, 0)] = f64::NAN; // the diagonal is ignored
        assert!(network(&kappa, 2.0).is_ok());
        kappa[(2, 1)] = 0.0;
        assert_eq!(
            network(&kappa, 2.0).unwrap_err(),
            RouteError::LinkCost {
                k: 2,
                l: 1,
                value: 0.0
            }
        );
        kappa[(2, 1)] = f64::NAN;
        assert!(matches!(
            network(&kappa, 2.0),
            Err(RouteError::LinkCost { k: 2, l: 1, .. })
        ));
        assert!(matches!(
            network(&Matrix::from_element(2, 3, 2.0), 2.0),
            Err(RouteError::Shape { .. })
        ));
        assert!(matches!(
            network(&kappa4(), -1.0),
            Err(RouteError::Theta { .. })
        ));
        let r = network(&kappa4(), 2.0).unwrap();
        assert!(matches!(
            r.link_flows(&Matrix::from_element(4, 4, f64::INFINITY)),
            Err(RouteError::Flow { i: 0, j: 0, .. })
        ));
    }
}
