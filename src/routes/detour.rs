//! The detour form: a direct route and routes through named intermediaries, priced
//! relative to the direct trade cost.
//!
//! ```text
//! c_0 = t_ij * w_ij            direct: base cost times the policy wedge (>= 1, +inf closed)
//! c_k = t_ij * m_ikj           via hub k: m = lambda_ik * e_ikj (detour premium x evasion
//!                              cost), defined for i != k, j != k, i != j; +inf = not offered
//! ```
//!
//! Every route of a pair shares the factor `t_ij`, so route choice only sees the
//! multipliers (`w` and the `m`s), and `frechet_choice` works on those. Domestic pairs
//! (`i == j`) are direct-only.

use super::{check_flows, check_shape, check_theta, RouteError};
use crate::world::Matrix;

/// Routes from origins to final destinations through one intermediary (hub) `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Via {
    /// Position of the hub `k` among the economies.
    pub hub: usize,
    /// `multiplier[(i, j)] = m_ikj`: the cost of the route `i -> k -> j` relative to the
    /// base cost `t_ij`; `+inf` where the route is not offered. Entries with `i == k`,
    /// `j == k` or `i == j` name no route and are ignored (they must still not be NaN).
    pub multiplier: Matrix,
}

impl Via {
    /// Routes through `hub` with the given multipliers.
    pub fn new(hub: usize, multiplier: Matrix) -> Self {
        Via { hub, multiplier }
    }

    /// Routes through `hub` for `n` economies, every pair with the same multiplier `m`.
    pub fn uniform(n: usize, hub: usize, m: f64) -> Self {
        Via {
            hub,
            multiplier: Matrix::from_element(n, n, m),
        }
    }
}

/// Effective costs and route shares of the detour form, from [`detour`].
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// Effective cost `tau_ij = (sum_r c_r^-theta)^(-1/theta)`; `+inf` where every route
    /// is closed.
    pub tau: Matrix,
    /// Share of the direct route in the flow `i -> j`.
    pub direct_share: Matrix,
    /// `via_share[v][(i, j)]`: share of the route through `hubs[v]`, in the order of the
    /// [`Via`] list given to [`detour`].
    pub via_share: Vec<Matrix>,
    /// The hub of each entry of `via_share`.
    pub hubs: Vec<usize>,
}

impl Routing {
    /// Number of economies.
    pub fn len(&self) -> usize {
        self.tau.nrows()
    }

    /// True when there is no economy.
    pub fn is_empty(&self) -> bool {
        self.tau.nrows() == 0
    }
}

/// Frechet route choice over routes whose costs are `scale * m_r` for a common `scale`:
/// writes `share_r = m_r^-theta / sum_r' m_r'^-theta` into `shares` and returns the
/// effective multiplier `(sum_r m_r^-theta)^(-1/theta)`, so that the effective cost is
/// `scale` times it (Frechet route choice: Eaton and Kortum 2002, Allen and Arkolakis 2022).
///
/// Computed with the cheapest route factored out, `m_min * (sum_r (m_r / m_min)^-theta)^(-1/theta)`,
/// so that each term lies in `[0, 1]` and the sum in `[1, R]` whatever the magnitudes and
/// theta: nothing overflows and no term is lost to underflow unless its share is below
/// the smallest double. With a single open route the sum is exactly 1 and the effective
/// multiplier is exactly `m_min`. When every route is closed (`m_r = +inf` for all r), all
/// shares are 0 and the result is `+inf`.
///
/// Multipliers must be positive or `+inf` (checked by the caller).
fn frechet_choice(m: &[f64], theta: f64, shares: &mut [f64]) -> f64 {
    let m_min = m.iter().copied().fold(f64::INFINITY, f64::min);
    if m_min == f64::INFINITY {
        shares.fill(0.0);
        return f64::INFINITY;
    }
    let mut sum = 0.0;
    for (s, &mr) in shares.iter_mut().zip(m) {
        // (m_r / m_min)^-theta; a ratio of +inf (closed route) gives exactly 0. The
        // cheapest route's ratio is exactly 1 and a closed route's exactly +inf, where
        // `powf` gives exactly 1 and 0: those are written without the call (most pairs
        // have one open route), bit for bit what it would return.
        *s = if mr == m_min {
            1.0
        } else if mr == f64::INFINITY {
            0.0
        } else {
            (mr / m_min).powf(-theta)
        };
        sum += *s;
    }
    for s in shares.iter_mut() {
        *s /= sum;
    }
    // `1^y` is exactly 1: a pair with one open route costs exactly `m_min`.
    if sum == 1.0 {
        m_min
    } else {
        m_min * sum.powf(-1.0 / theta)
    }
}

/// Route choice in the detour form for every pair (DESIGN layer 3).
///
/// For origin `i` and final destination `j != i` the routes are the direct one, cost
/// `c_0 = t_ij * w_ij`, and one through each hub `k` of `vias` with `k != i, j`, cost
/// `c_k = t_ij * m_ikj`. Shares are `c_r^-theta / sum_r' c_r'^-theta` and the effective cost
/// is `tau_ij = (sum_r c_r^-theta)^(-1/theta)` (see `frechet_choice`). Domestic pairs are
/// direct-only: `tau_ii = t_ii * w_ii`. Without vias (or with every multiplier `+inf`)
/// `tau = t * w` exactly and every open direct route has share 1.
///
/// Checks: `theta > 0` finite; every matrix `n x n` with `n = t.nrows()`; `t` positive and
/// finite; `w >= 1` or `+inf`; each hub in `0..n`; multipliers positive or `+inf` (a zero
/// multiplier would make a route free and the effective cost 0, which no gravity system
/// can use). NaN is rejected everywhere.
pub fn detour(t: &Matrix, wedge: &Matrix, vias: &[Via], theta: f64) -> Result<Routing, RouteError> {
    check_theta(theta)?;
    let n = t.nrows();
    check_shape(|| "base trade costs t".to_owned(), t, n)?;
    check_shape(|| "policy wedge w".to_owned(), wedge, n)?;
    for (v, via) in vias.iter().enumerate() {
        if via.hub >= n {
            return Err(RouteError::Hub {
                via: v,
                hub: via.hub,
                n,
            });
        }
        check_shape(
            || format!("multiplier of via entry {v} (hub {})", via.hub),
            &via.multiplier,
            n,
        )?;
    }
    // Storage order (column-major, `k = i + j n`) on the plain slices: the pairs in the
    // order `(i, j)` loops with `j` outer would visit them, the first bad value reported.
    let (ts, ws) = (t.as_slice(), wedge.as_slice());
    // The pair of storage index `k`, worked out only for an error.
    let pair = |k: usize| (k % n, k / n);
    for (k, (&value, &w)) in ts.iter().zip(ws).enumerate() {
        if !(value > 0.0 && value.is_finite()) {
            let (i, j) = pair(k);
            return Err(RouteError::Cost { i, j, value });
        }
        if w.is_nan() || w < 1.0 {
            let (i, j) = pair(k);
            return Err(RouteError::Wedge { i, j, value: w });
        }
        for (v, via) in vias.iter().enumerate() {
            let value = via.multiplier.as_slice()[k];
            if value.is_nan() || value <= 0.0 {
                let (i, j) = pair(k);
                return Err(RouteError::Multiplier {
                    via: v,
                    hub: via.hub,
                    i,
                    j,
                    value,
                });
            }
        }
    }

    let mut tau = Matrix::zeros(n, n);
    let mut direct_share = Matrix::zeros(n, n);
    let mut via_share = vec![Matrix::zeros(n, n); vias.len()];
    // Route 0 is direct, route 1 + v goes through vias[v].
    let mut m = vec![0.0; vias.len() + 1];
    let mut shares = vec![0.0; vias.len() + 1];
    for j in 0..n {
        for i in 0..n {
            let k = i + j * n;
            m[0] = ws[k];
            for (mv, via) in m[1..].iter_mut().zip(vias) {
                let defined = i != j && via.hub != i && via.hub != j;
                *mv = if defined {
                    via.multiplier.as_slice()[k]
                } else {
                    f64::INFINITY
                };
            }
            let effective = frechet_choice(&m, theta, &mut shares);
            tau.as_mut_slice()[k] = ts[k] * effective;
            direct_share.as_mut_slice()[k] = shares[0];
            for (vs, &s) in via_share.iter_mut().zip(&shares[1..]) {
                vs.as_mut_slice()[k] = s;
            }
        }
    }
    Ok(Routing {
        tau,
        direct_share,
        via_share,
        hubs: vias.iter().map(|v| v.hub).collect(),
    })
}

/// Final-destination flows split over routes, from [`route_flows`].
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFlows {
    /// `X_ij * direct share`: shipped straight from `i` to `j`.
    pub direct: Matrix,
    /// `via[v][(i, j)] = X_ij * via share`: bought by `j` from `i` through `hubs[v]`.
    pub via: Vec<Matrix>,
    /// The hub of each entry of `via`.
    pub hubs: Vec<usize>,
}

/// Splits final-destination flows `X_ij` (origin `i` to final buyer `j`) over the routes
/// of `routing`: `direct_ij = X_ij * share_direct_ij`, `via_k,ij = X_ij * share_k,ij`.
/// They add up: `direct_ij + sum_k via_k,ij = X_ij` (to rounding).
///
/// Checks: `x` is `n x n`, finite and non-negative, and no pair with a positive flow has
/// every route closed (that flow could not travel; the error names the pair).
pub fn route_flows(x: &Matrix, routing: &Routing) -> Result<RouteFlows, RouteError> {
    let n = routing.len();
    check_flows(x, n)?;
    let (xs, ds) = (x.as_slice(), routing.direct_share.as_slice());
    for j in 0..n {
        for i in 0..n {
            let k = j * n + i;
            let value = xs[k];
            // The open share matters only where something is to be routed.
            if value > 0.0 {
                let open = ds[k]
                    + routing
                        .via_share
                        .iter()
                        .map(|s| s.as_slice()[k])
                        .sum::<f64>();
                if open == 0.0 {
                    return Err(RouteError::NoRoute { i, j, value });
                }
            }
        }
    }
    // `x` times each share, entry by entry on the plain slices.
    let times = |share: &Matrix| {
        let v = xs
            .iter()
            .zip(share.as_slice())
            .map(|(a, b)| a * b)
            .collect();
        Matrix::from_vec(n, n, v)
    };
    Ok(RouteFlows {
        direct: times(&routing.direct_share),
        via: routing.via_share.iter().map(times).collect(),
        hubs: routing.hubs.clone(),
    })
}

impl RouteFlows {
    /// Number of economies.
    pub fn len(&self) -> usize {
        self.direct.nrows()
    }

    /// True when there is no economy.
    pub fn is_empty(&self) -> bool {
        self.direct.nrows() == 0
    }

    /// Flows routed through `hub`, by origin `i` and final destination `j` (summed over
    /// every via entry with that hub; zero if none).
    pub fn through(&self, hub: usize) -> Matrix {
        let n = self.len();
        let mut out = Matrix::zeros(n, n);
        for (flows, _) in self.via.iter().zip(&self.hubs).filter(|(_, &h)| h == hub) {
            out += flows;
        }
        out
    }

    /// First legs: `transit[(i, k)] = sum_j via_k,ij`, what origin `i` ships to hub `k` for
    /// buyers elsewhere. The origin's customs records it as exports to `k`.
    pub fn transit(&self) -> Matrix {
        let n = self.len();
        let mut out = Matrix::zeros(n, n);
        let mut sums = vec![0.0; n];
        for (flows, &k) in self.via.iter().zip(&self.hubs) {
            row_sums(flows, &mut sums);
            for (o, s) in out.column_mut(k).iter_mut().zip(&sums) {
                *o += s;
            }
        }
        out
    }

    /// Second legs: `reexports[(k, j)] = sum_i via_k,ij`, what hub `k` ships on to final
    /// buyer `j`. (The hub's customs may record only part of it: layer 3's recorded
    /// versus final-destination flows.)
    pub fn reexports(&self) -> Matrix {
        let n = self.len();
        let mut out = Matrix::zeros(n, n);
        for (flows, &k) in self.via.iter().zip(&self.hubs) {
            for (j, column) in flows.as_slice().chunks_exact(n.max(1)).enumerate() {
                out[(k, j)] += column.iter().fold(0.0, |sum, v| sum + v);
            }
        }
        out
    }

    /// Final-destination flows again: `direct + sum_k via_k` (the inverse of
    /// [`route_flows`], for route flows that were adjusted route by route).
    pub fn final_flows(&self) -> Matrix {
        self.via.iter().fold(self.direct.clone(), |acc, v| acc + v)
    }

    /// Physical shipments on each link `i -> l`: direct flows plus the first legs
    /// ([`RouteFlows::transit`]) and second legs ([`RouteFlows::reexports`]) of routed
    /// flows. Each routed unit crosses two links, so the total is
    /// `sum X + sum of routed flows`. Domestic sales stay on the diagonal.
    pub fn link_flows(&self) -> Matrix {
        &self.direct + self.transit() + self.reexports()
    }
}

/// The sum of each row of `m` into `out`, bit for bit nalgebra's `m.row(i).sum()` (from 0,
/// the entries in column order), with the matrix read once, column by column.
pub(crate) fn row_sums(m: &Matrix, out: &mut [f64]) {
    let n = m.nrows();
    let out = &mut out[..n];
    out.fill(0.0);
    for column in m.as_slice().chunks_exact(n.max(1)) {
        for (o, v) in out.iter_mut().zip(column) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `row_sums` and the column sums of `reexports` are nalgebra's sums bit for bit
    /// (from 0, in column order), whatever the magnitudes and signs.
    #[test]
    fn row_and_column_sums_are_nalgebra_s_bit_for_bit() {
        for n in [0usize, 1, 2, 7, 21] {
            let m = Matrix::from_fn(n, n, |i, j| {
                let k = (i * 7 + j * 13) % 11;
                (k as f64 - 5.0) * 10f64.powi((i + j) as i32 % 7 - 3) + 1e-17 * j as f64
            });
            let mut sums = vec![f64::NAN; n];
            row_sums(&m, &mut sums);
            for (i, s) in sums.iter().enumerate() {
                assert_eq!(s.to_bits(), m.row(i).sum().to_bits(), "n {n}, row {i}");
            }
        }
    }
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    /// Three economies: 0 = origin, 1 = hub, 2 = target.
    fn costs3() -> Matrix {
        Matrix::from_row_slice(3, 3, &[1.0, 2.0, 3.0, 2.5, 1.0, 1.5, 4.0, 2.0, 1.0])
    }

    fn assert_shares_sum_to_one(r: &Routing) {
        for j in 0..r.len() {
            for i in 0..r.len() {
                let sum: f64 =
                    r.direct_share[(i, j)] + r.via_share.iter().map(|s| s[(i, j)]).sum::<f64>();
                assert!((sum - 1.0).abs() < 1e-14, "shares of {i}->{j} sum to {sum}");
            }
        }
    }

    /// The shortcuts for the cheapest and closed routes and for one open route give, bit for
    /// bit, what `powf` gives.
    #[test]
    fn frechet_choice_shortcuts_equal_powf() {
        let reference = |m: &[f64], theta: f64| {
            let m_min = m.iter().copied().fold(f64::INFINITY, f64::min);
            let terms: Vec<f64> = m.iter().map(|&r| (r / m_min).powf(-theta)).collect();
            let sum: f64 = terms.iter().sum();
            let shares: Vec<u64> = terms.iter().map(|t| (t / sum).to_bits()).collect();
            (shares, (m_min * sum.powf(-1.0 / theta)).to_bits())
        };
        let inf = f64::INFINITY;
        for m in [
            vec![1.37, inf, inf, inf],
            vec![inf, 2.9, inf],
            vec![1.37, 1.37, 2.2, inf],
            vec![3.1, 1.9, 1.9, 7.0],
            vec![0.42],
        ] {
            for theta in [0.7, 3.62, 4.0, 11.3] {
                let mut shares = vec![0.0; m.len()];
                let effective = frechet_choice(&m, theta, &mut shares).to_bits();
                let got = (shares.iter().map(|s| s.to_bits()).collect(), effective);
                assert_eq!(got, reference(&m, theta), "{m:?} theta {theta}");
            }
        }
    }

    #[test]
    fn direct_only_is_t_times_w_exactly() {
        let t = costs3();
        let w = Matrix::from_row_slice(3, 3, &[1.0, 1.3, 7.0, 1.0, 1.0, 2.2, 1.0, 1e6, 1.0]);
        let closed = [Via::uniform(3, 1, INF), Via::uniform(3, 0, INF)];
        for vias in [&[][..], &closed[..]] {
            for theta in [0.5, 4.0, 300.0] {
                let r = detour(&t, &w, vias, theta).unwrap();
                assert_eq!(r.tau, t.component_mul(&w));
                assert_eq!(r.direct_share, Matrix::from_element(3, 3, 1.0));
                for s in &r.via_share {
                    assert_eq!(*s, Matrix::zeros(3, 3));
                }
            }
        }
    }

    #[test]
    fn shares_sum_to_one_and_tau_below_every_route() {
        let t = costs3();
        let w = Matrix::from_element(3, 3, 1.5);
        let vias = [
            Via::uniform(3, 1, 1.2),
            Via::uniform(3, 0, 2.0),
            Via::uniform(3, 1, 3.0),
        ];
        let r = detour(&t, &w, &vias, 4.0).unwrap();
        assert_shares_sum_to_one(&r);
        // 0 -> 2: direct 1.5, via 1 at 1.2 and 3.0 (hub 0 is the origin: no route).
        assert_eq!(r.via_share[1][(0, 2)], 0.0);
        let terms: f64 = [1.5f64, 1.2, 3.0].iter().map(|m| m.powf(-4.0)).sum();
        let expected = 3.0 * terms.powf(-0.25);
        assert!((r.tau[(0, 2)] - expected).abs() < 1e-14 * expected);
        assert!(r.tau[(0, 2)] < 3.0 * 1.2);
        let d = 1.5f64.powf(-4.0) / terms;
        assert!((r.direct_share[(0, 2)] - d).abs() < 1e-15);
    }

    #[test]
    fn routes_that_pass_through_an_end_or_stay_home_are_ignored() {
        let t = costs3();
        let w = Matrix::from_element(3, 3, 2.0);
        let r = detour(&t, &w, &[Via::uniform(3, 1, 1.0)], 3.0).unwrap();
        for (i, j) in [(1, 0), (1, 2), (0, 1), (2, 1), (0, 0), (1, 1), (2, 2)] {
            assert_eq!(r.via_share[0][(i, j)], 0.0, "{i}->{j}");
            assert_eq!(r.direct_share[(i, j)], 1.0, "{i}->{j}");
            assert_eq!(r.tau[(i, j)], t[(i, j)] * 2.0);
        }
        assert!(r.via_share[0][(0, 2)] > 0.5);
        assert!(r.via_share[0][(2, 0)] > 0.5);
    }

    #[test]
    fn prohibitive_wedge_sends_everything_through_routes() {
        let t = costs3();
        let mut w = Matrix::from_element(3, 3, 1.0);
        w[(0, 2)] = INF;
        let r = detour(&t, &w, &[Via::uniform(3, 1, 1.7)], 5.0).unwrap();
        assert_eq!(r.direct_share[(0, 2)], 0.0);
        assert_eq!(r.via_share[0][(0, 2)], 1.0);
        assert_eq!(r.tau[(0, 2)], t[(0, 2)] * 1.7);
        // Two routes left share as the closed form says.
        let r = detour(
            &t,
            &w,
            &[Via::uniform(3, 1, 1.7), Via::uniform(3, 1, 2.0)],
            5.0,
        )
        .unwrap();
        assert_eq!(r.direct_share[(0, 2)], 0.0);
        let s = 1.0 / (1.0 + (2.0f64 / 1.7).powf(-5.0));
        assert!((r.via_share[0][(0, 2)] - s).abs() < 1e-15);
        assert_shares_sum_to_one(&r);
    }

    #[test]
    fn all_routes_closed_gives_infinite_cost_and_zero_shares() {
        let t = costs3();
        let mut w = Matrix::from_element(3, 3, 1.0);
        w[(0, 2)] = INF;
        w[(1, 1)] = INF;
        let mut via = Via::uniform(3, 1, 2.0);
        via.multiplier[(0, 2)] = INF;
        let r = detour(&t, &w, &[via], 4.0).unwrap();
        for (i, j) in [(0, 2), (1, 1)] {
            assert_eq!(r.tau[(i, j)], INF);
            assert_eq!(r.direct_share[(i, j)], 0.0);
            assert_eq!(r.via_share[0][(i, j)], 0.0);
        }
        assert!(r
            .tau
            .iter()
            .chain(r.direct_share.iter())
            .all(|v| !v.is_nan()));
        assert!(r.via_share[0].iter().all(|v| !v.is_nan()));
        // No flow may use a closed pair; a zero flow is fine.
        let mut x = Matrix::from_element(3, 3, 1.0);
        x[(0, 2)] = 0.0;
        x[(1, 1)] = 0.0;
        assert!(route_flows(&x, &r).is_ok());
        x[(0, 2)] = 3.5;
        assert_eq!(
            route_flows(&x, &r),
            Err(RouteError::NoRoute {
                i: 0,
                j: 2,
                value: 3.5
            })
        );
    }

    #[test]
    fn equal_costs_split_evenly() {
        let t = costs3();
        let w = Matrix::from_element(3, 3, 1.4);
        let r = detour(&t, &w, &[Via::uniform(3, 1, 1.4)], 3.0).unwrap();
        assert_eq!(r.direct_share[(0, 2)], 0.5);
        assert_eq!(r.via_share[0][(0, 2)], 0.5);
        // tau = c (2 c^-theta)^(-1/theta) = c 2^(-1/theta)
        let expected = 3.0 * 1.4 * 2f64.powf(-1.0 / 3.0);
        assert!((r.tau[(0, 2)] - expected).abs() < 1e-14 * expected);
    }

    #[test]
    fn large_theta_picks_the_cheapest_route() {
        let t = costs3();
        let w = Matrix::from_element(3, 3, 1.30);
        let vias = [Via::uniform(3, 1, 1.31), Via::uniform(3, 1, 1.25)];
        let r = detour(&t, &w, &vias, 2_000.0).unwrap();
        assert!(r.via_share[1][(0, 2)] > 1.0 - 1e-15);
        assert!(r.via_share[0][(0, 2)] < 1e-30);
        assert!(r.direct_share[(0, 2)] < 1e-30);
        assert!((r.tau[(0, 2)] / (3.0 * 1.25) - 1.0).abs() < 1e-12);
        // Extreme theta still gives clean numbers.
        let r = detour(&t, &w, &vias, 1e300).unwrap();
        assert_eq!(r.via_share[1][(0, 2)], 1.0);
        assert_eq!(r.direct_share[(0, 2)], 0.0);
    }

    #[test]
    fn very_different_magnitudes_stay_finite() {
        let t = Matrix::from_element(3, 3, 1e-100);
        let w = Matrix::from_element(3, 3, 1e250);
        let vias = [Via::uniform(3, 1, 1e-200), Via::uniform(3, 1, 1e300)];
        let r = detour(&t, &w, &vias, 8.0).unwrap();
        assert_shares_sum_to_one(&r);
        assert_eq!(r.via_share[0][(0, 2)], 1.0);
        assert_eq!(r.tau[(0, 2)], 1e-100 * 1e-200);
        assert_eq!(r.tau[(1, 2)], 1e-100 * 1e250);
        assert!(r.tau.iter().all(|v| v.is_finite() && *v > 0.0));
    }

    #[test]
    fn bad_inputs_are_named() {
        let t = costs3();
        let w = Matrix::from_element(3, 3, 1.0);
        let ok = Via::uniform(3, 1, 2.0);
        assert_eq!(
            detour(&t, &w, &[], 0.0).unwrap_err(),
            RouteError::Theta { theta: 0.0 }
        );
        assert!(matches!(
            detour(&t, &w, &[], f64::NAN),
            Err(RouteError::Theta { .. })
        ));
        let mut bad_t = t.clone();
        bad_t[(2, 1)] = 0.0;
        assert_eq!(
            detour(&bad_t, &w, &[], 4.0).unwrap_err(),
            RouteError::Cost {
                i: 2,
                j: 1,
                value: 0.0
            }
        );
        let mut bad_w = w.clone();
        bad_w[(1, 0)] = 0.9;
        assert_eq!(
            detour(&t, &bad_w, &[], 4.0).unwrap_err(),
            RouteError::Wedge {
                i: 1,
                j: 0,
                value: 0.9
            }
        );
        bad_w[(1, 0)] = f64::NAN;
        assert!(matches!(
            detour(&t, &bad_w, &[], 4.0),
            Err(RouteError::Wedge { i: 1, j: 0, .. })
        ));
        let err = detour(&t, &w, &[ok.clone(), Via::uniform(3, 3, 2.0)], 4.0).unwrap_err();
        assert_eq!(
            err,
            RouteError::Hub {
                via: 1,
                hub: 3,
                n: 3
            }
        );
        assert!(err.to_string().contains("via entry 1 names hub 3"));
        for value in [0.0, -1.0, f64::NAN] {
            let mut bad = ok.clone();
            bad.multiplier[(0, 2)] = value;
            let err = detour(&t, &w, &[ok.clone(), bad], 4.0).unwrap_err();
            assert!(
                matches!(
                    err,
                    RouteError::Multiplier {
                        via: 1,
                        hub: 1,
                        i: 0,
                        j: 2,
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains("0->2 via hub 1 (via entry 1)"));
        }
        let err = detour(&t, &Matrix::from_element(3, 2, 1.0), &[], 4.0).unwrap_err();
        assert_eq!(err.to_string(), "policy wedge w must be 3x3, got 3x2");
        let err = detour(&t, &w, &[Via::uniform(2, 1, 2.0)], 4.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "multiplier of via entry 0 (hub 1) must be 3x3, got 2x2"
        );
    }

    #[test]
    fn route_flows_add_up_and_links_count_two_legs() {
        let t = Matrix::from_fn(4, 4, |i, j| 1.0 + (i as f64 - j as f64).abs());
        let mut w = Matrix::from_element(4, 4, 1.2);
        w[(0, 3)] = INF;
        w[(2, 3)] = 3.0;
        let vias = [
            Via::uniform(4, 1, 1.5),
            Via::uniform(4, 2, 1.8),
            Via::uniform(4, 1, 2.5),
        ];
        let r = detour(&t, &w, &vias, 4.0).unwrap();
        let x = Matrix::from_fn(4, 4, |i, j| 10.0 * (i + 1) as f64 + (j * j) as f64);
        let f = route_flows(&x, &r).unwrap();
        let mut sum = f.direct.clone();
        for v in &f.via {
            sum += v;
        }
        assert!((sum - &x).abs().max() < 1e-12 * x.max());

        let routed: f64 = f.via.iter().map(|v| v.sum()).sum();
        let links = f.link_flows();
        assert!((links.sum() - (x.sum() + routed)).abs() < 1e-12 * x.sum());
        // Every routed unit enters its hub once and leaves it once.
        assert!((f.transit().sum() - routed).abs() < 1e-12 * routed);
        assert!((f.reexports().sum() - routed).abs() < 1e-12 * routed);
        // Re-exports of hub 1 to 3 are the routed 0->3 and 2->3 flows through it.
        let through1 = f.through(1);
        assert_eq!(through1, &f.via[0] + &f.via[2]);
        let expected = through1[(0, 3)] + through1[(2, 3)];
        assert!((f.reexports()[(1, 3)] - expected).abs() < 1e-12 * expected);
        assert_eq!(f.reexports().row(0).sum(), 0.0); // 0 is no hub
        assert_eq!(f.through(3), Matrix::zeros(4, 4));
        // Domestic sales stay home, on the diagonal.
        for i in 0..4 {
            assert_eq!(links[(i, i)], x[(i, i)]);
        }
    }

    #[test]
    fn route_flows_reject_bad_flows() {
        let r = detour(&costs3(), &Matrix::from_element(3, 3, 1.0), &[], 4.0).unwrap();
        let mut x = Matrix::from_element(3, 3, 1.0);
        x[(1, 2)] = -1.0;
        assert_eq!(
            route_flows(&x, &r),
            Err(RouteError::Flow {
                i: 1,
                j: 2,
                value: -1.0
            })
        );
        assert!(matches!(
            route_flows(&Matrix::zeros(2, 3), &r),
            Err(RouteError::Shape { .. })
        ));
    }

    fn multiplier() -> impl Strategy<Value = f64> {
        prop_oneof![4 => 1.0..20.0f64, 1 => Just(INF)]
    }

    proptest! {
        /// Raising one route's multiplier never raises its share, and never lowers the
        /// effective cost; shares always sum to 1 on open pairs.
        #[test]
        fn dearer_route_never_gains_share(
            n in 3usize..6,
            seed in prop::collection::vec(multiplier(), 3 * 36),
            wedge in prop::collection::vec(prop_oneof![3 => 1.0..5.0f64, 1 => Just(INF)], 36),
            theta in 0.1..30.0f64,
            raise in 1.0..10.0f64,
            pick in 0usize..3,
            pair in (0usize..6, 0usize..6),
        ) {
            let t = Matrix::from_fn(n, n, |i, j| 1.0 + ((i * 7 + j * 3) % 5) as f64);
            let w = Matrix::from_fn(n, n, |i, j| wedge[i * 6 + j]);
            let vias: Vec<Via> = (0..3)
                .map(|v| Via::new(v, Matrix::from_fn(n, n, |i, j| seed[v * 36 + i * 6 + j])))
                .collect();
            let (i, j) = (pair.0 % n, pair.1 % n);
            let before = detour(&t, &w, &vias, theta).unwrap();
            let mut raised = vias.clone();
            raised[pick].multiplier[(i, j)] *= raise;
            let after = detour(&t, &w, &raised, theta).unwrap();
            prop_assert!(after.via_share[pick][(i, j)] <= before.via_share[pick][(i, j)] + 1e-15);
            prop_assert!(after.tau[(i, j)] >= before.tau[(i, j)] * (1.0 - 1e-15));
            // Raising the wedge does the same to the direct share.
            let mut w2 = w.clone();
            w2[(i, j)] *= raise;
            let after = detour(&t, &w2, &vias, theta).unwrap();
            prop_assert!(after.direct_share[(i, j)] <= before.direct_share[(i, j)] + 1e-15);
            for r in [&before, &after] {
                for q in 0..n {
                    for p in 0..n {
                        let sum: f64 = r.direct_share[(p, q)]
                            + r.via_share.iter().map(|s| s[(p, q)]).sum::<f64>();
                        if r.tau[(p, q)].is_finite() {
                            prop_assert!((sum - 1.0).abs() < 1e-14);
                        } else {
                            prop_assert_eq!(sum, 0.0);
                        }
                    }
                }
            }
        }
    }
}
