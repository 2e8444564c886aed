//! A fixed-point executor with Anderson acceleration.
//!
//! The gravity solvers are written as maps `x -> G(x)` whose fixed point is the equilibrium
//! (log resistances, log prices). The executor owns the loop, the stopping rules and the
//! report; a map only computes one step. Anderson acceleration (type II, Walker and Ni 2011,
//! "Anderson acceleration for fixed-point iterations", SIAM J. Numer. Anal. 49(4)) mixes the
//! last `m` steps so that the slow, nearly-block-diagonal gravity systems (strong home bias)
//! converge in tens of steps instead of thousands. A step that the acceleration makes worse
//! is replaced by the plain step, so the executor never does worse than the plain iteration
//! by more than one evaluation per step.

use std::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use crate::solver::{check_cap, check_tolerance};
pub use crate::solver::{InvalidOption, SolveReport, StopReason};

/// Settings of the gravity solvers (the resistance fixed point, its Newton fallback and
/// the complete GE). The defaults suit every gravity system tradeflow builds; nothing needs
/// tuning for a particular data set. Build checked settings with [`SolverOptions::new`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SolverOptions {
    /// Stop when the largest change of any unknown in one step (in logs, so a relative
    /// change) is below this times `max(1, largest |unknown|)`; Newton's method stops when
    /// the largest relative adding-up error is below it. Default `1e-12`.
    pub tolerance: f64,
    /// Give up after this many evaluations of the map (fixed-point and Newton steps
    /// together for the resistances). Default 5 000.
    pub max_iterations: usize,
    /// How many past steps Anderson acceleration mixes; 0 turns it off. Default 6.
    pub memory: usize,
    /// Steps of the accelerated fixed point on the resistances before a solve that has not
    /// met the tolerance goes on with Newton's method. Default 300.
    // Not serialized, like `newton_max_steps`: run.json's `scenario.solver` records the
    // settings `[solver]` accepts, and these two are not among them.
    #[serde(skip)]
    pub fixed_point_budget: usize,
    /// Newton steps at most, whatever the iteration budget (it converges in tens).
    /// Default 200.
    #[serde(skip)]
    pub newton_max_steps: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            tolerance: 1e-12,
            max_iterations: 5_000,
            memory: 6,
            fixed_point_budget: 300,
            newton_max_steps: 200,
        }
    }
}

impl SolverOptions {
    /// Checked settings: `tolerance` in (0, 1) (not NaN), `max_iterations` at least 1; the
    /// budgets of the two phases keep their defaults. Every setting out of range is
    /// reported.
    pub fn new(
        tolerance: f64,
        max_iterations: usize,
        memory: usize,
    ) -> Result<SolverOptions, Vec<InvalidOption>> {
        SolverOptions {
            tolerance,
            max_iterations,
            memory,
            ..SolverOptions::default()
        }
        .checked()
    }

    /// These settings if every one is in range (see [`SolverOptions::new`]; both phase
    /// budgets at least 1), otherwise every setting that is not.
    pub fn checked(self) -> Result<SolverOptions, Vec<InvalidOption>> {
        let mut wrong = Vec::new();
        check_tolerance("tolerance", self.tolerance, &mut wrong);
        check_cap("max_iterations", self.max_iterations, &mut wrong);
        check_cap("fixed_point_budget", self.fixed_point_budget, &mut wrong);
        check_cap("newton_max_steps", self.newton_max_steps, &mut wrong);
        if wrong.is_empty() {
            Ok(self)
        } else {
            Err(wrong)
        }
    }
}

/// One step of a fixed-point iteration: writes `G(x)` into `out`.
pub trait FixedPointMap {
    fn apply(&mut self, x: &DVector<f64>, out: &mut DVector<f64>);
}

impl<F: FnMut(&DVector<f64>, &mut DVector<f64>)> FixedPointMap for F {
    fn apply(&mut self, x: &DVector<f64>, out: &mut DVector<f64>) {
        self(x, out)
    }
}

/// Below this step size (relative to the unknowns' scale) a solve that has stopped improving
/// is at the limit of floating-point precision rather than stuck: rounding in sums of terms
/// that span many orders of magnitude. Far below any accuracy a trade model can claim.
pub const PRECISION_LIMIT: f64 = 1e-11;

/// Steps without a new best step after which a solve counts as stalled.
const STALL_ITERATIONS: usize = 50;

/// Iterations without a new best step after which the Anderson history is dropped.
const RESTART_ITERATIONS: usize = 20;

/// On plain slices: nalgebra's element iterators cost several times the arithmetic at the
/// sizes the Monte Carlo draws solve.
fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, |m, d| if d.is_nan() { f64::NAN } else { m.max(d) })
}

/// Anderson updates since the process started: all of them, and those solved by the SVD
/// fallback (counted once per solve, so the hot loop touches no shared memory).
static UPDATES: AtomicUsize = AtomicUsize::new(0);
static SVD_UPDATES: AtomicUsize = AtomicUsize::new(0);

/// How many Anderson updates this process has made, and how many of them fell back to the
/// SVD (ill-conditioned histories). For the benchmarks' diagnostics.
#[doc(hidden)]
pub fn anderson_updates() -> (usize, usize) {
    (
        UPDATES.load(Ordering::Relaxed),
        SVD_UPDATES.load(Ordering::Relaxed),
    )
}

/// Iterates `map` from `x0` until the step is below the tolerance. Returns the fixed point
/// when converged, otherwise the best point seen (smallest step), and the report.
///
/// A solve that stops improving for [`STALL_ITERATIONS`] steps ends with
/// [`StopReason::Stalled`]: the callers then hand the best point to a slower, more robust
/// method (see `balance`), which is needed for nearly decoupled economies where the plain
/// iteration contracts by a factor close to 1.
///
/// Every buffer is allocated once, before the first step: an iteration allocates nothing
/// (the SVD fallback of an ill-conditioned Anderson update aside, see [`Anderson::mix`]).
pub fn solve_fixed_point<M: FixedPointMap>(
    map: &mut M,
    x0: DVector<f64>,
    options: &SolverOptions,
    stage: &str,
) -> (DVector<f64>, SolveReport) {
    let n = x0.len();
    let mut history = Anderson::take(n, options.memory.min(n.max(1)));
    let out = iterate(map, x0, options, stage, &mut history);
    UPDATES.fetch_add(history.updates, Ordering::Relaxed);
    SVD_UPDATES.fetch_add(history.svd_updates, Ordering::Relaxed);
    history.give_back();
    out
}

/// Histories of finished solves on this thread, kept for the next solve of the same size:
/// a Monte Carlo draw or a yearly run solves the same few sizes hundreds of times.
const POOLED: usize = 4;

thread_local! {
    static POOL: std::cell::RefCell<Vec<Anderson>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn iterate<M: FixedPointMap>(
    map: &mut M,
    x0: DVector<f64>,
    options: &SolverOptions,
    stage: &str,
    history: &mut Anderson,
) -> (DVector<f64>, SolveReport) {
    let report = |iterations, residual, stop_reason| {
        SolveReport::new(stage, iterations, residual, stop_reason)
    };
    let (n, m) = (history.n, history.m);
    let mut x = x0;
    let mut gx = DVector::zeros(n);
    let mut best = x.clone();
    let mut best_residual = f64::INFINITY;
    let mut since_best = 0usize;
    for it in 1..=options.max_iterations {
        map.apply(&x, &mut gx);
        let residual = max_abs_diff(gx.as_slice(), x.as_slice());
        if !residual.is_finite() || gx.as_slice().iter().any(|v| !v.is_finite()) {
            if best_residual.is_finite() && !history.is_empty() {
                // An extrapolated point left the domain: restart plainly from the best
                // point seen.
                x.copy_from(&best);
                history.clear();
                continue;
            }
            return (best, report(it, best_residual, StopReason::NonFinite));
        }
        // `amax` on the slice: the largest |value|, NaN-free here (checked above).
        let scale = gx
            .as_slice()
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1.0);
        if residual <= options.tolerance * scale {
            return (gx, report(it, residual, StopReason::Converged));
        }
        if residual < best_residual {
            best_residual = residual;
            best.copy_from(&x);
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= STALL_ITERATIONS {
                let reason = if best_residual <= PRECISION_LIMIT * scale {
                    StopReason::PrecisionLimit
                } else {
                    StopReason::Stalled
                };
                return (best, report(it, best_residual, reason));
            }
            // Mixing that makes no progress for a while is cycling, and a step much worse
            // than the best means it went astray: start it afresh.
            if since_best % RESTART_ITERATIONS == 0 || residual > 10.0 * best_residual {
                history.clear();
            }
        }
        if m == 0 {
            std::mem::swap(&mut x, &mut gx);
            continue;
        }
        history.push(x.as_slice(), gx.as_slice());
        if !history.mix(gx.as_slice(), x.as_mut_slice()) {
            x.copy_from(&gx);
        }
    }
    (
        best,
        report(
            options.max_iterations,
            best_residual,
            StopReason::MaxIterations,
        ),
    )
}

/// Above this bound on the condition number of the column-scaled Gram matrix
/// (`cond(D^-1 dF' dF D^-1)`, `D` the column norms), or when the column norms themselves
/// differ by more than [`MAX_NORM_RATIO`], the Anderson update is solved by SVD instead
/// of Cholesky. Together they keep `cond(dF)` below `1e8`, far from the `1e10` at which the
/// SVD starts dropping directions: wherever Cholesky is used, the SVD would have kept every
/// direction and solved the same least-squares problem.
const MAX_SCALED_CONDITION: f64 = 1e8;

/// See [`MAX_SCALED_CONDITION`].
const MAX_NORM_RATIO: f64 = 1e4;

/// Relative cut of the SVD fallback: directions whose singular value is below this times
/// the largest are dropped.
const SVD_CUT: f64 = 1e-10;

/// The history of Anderson acceleration (type II) in preallocated ring buffers: the last
/// `m` differences of residuals `dF` (`f = G(x) - x`) and of map values `dG`, their Gram
/// matrix `dF' dF` kept up to date one column at a time, and the scratch of the small
/// least-squares solve. Nothing is allocated after [`Anderson::new`] except in the SVD
/// fallback.
#[derive(Clone)]
struct Anderson {
    n: usize,
    m: usize,
    /// Column `s` of `dF` (and `dG`) at `s * n .. (s + 1) * n`, slot order (a ring).
    df: Vec<f64>,
    dg: Vec<f64>,
    /// `gram[s * m + t] = dF_s . dF_t` for the filled slots.
    gram: Vec<f64>,
    /// Residual and map value of the previous step.
    f_prev: Vec<f64>,
    g_prev: Vec<f64>,
    has_prev: bool,
    /// Residual of the newest step.
    f: Vec<f64>,
    /// Filled slots, and the slot the next difference goes into (the oldest when full).
    len: usize,
    next: usize,
    /// Column norms `sqrt(gram[s * m + s])`, set with the slot's Gram row.
    scale: Vec<f64>,
    /// Lower triangle of the Cholesky factor `L` of the scaled Gram matrix, row-major
    /// m x m, and of `L^-1`, column-major (entry `(i, c)` at `c * m + i`). Row `i` of both depends only on the slots `0..=i`, so when a push
    /// rewrites slot `s` only rows `s..` are stale: the first `factored` rows are kept and
    /// the factorisation resumes after them, bit for bit what a fresh one would give.
    chol: Vec<f64>,
    linv: Vec<f64>,
    factored: usize,
    // Scratch of the m-square solve.
    rhs: Vec<f64>,
    gamma: Vec<f64>,
    /// Updates made, and of them solved by the SVD fallback (diagnostics).
    updates: usize,
    svd_updates: usize,
}

impl Anderson {
    fn new(n: usize, m: usize) -> Anderson {
        Anderson {
            n,
            m,
            df: vec![0.0; n * m],
            dg: vec![0.0; n * m],
            gram: vec![0.0; m * m],
            f_prev: vec![0.0; n],
            g_prev: vec![0.0; n],
            has_prev: false,
            f: vec![0.0; n],
            len: 0,
            next: 0,
            scale: vec![0.0; m],
            chol: vec![0.0; m * m],
            linv: vec![0.0; m * m],
            factored: 0,
            rhs: vec![0.0; m],
            gamma: vec![0.0; m],
            updates: 0,
            svd_updates: 0,
        }
    }

    /// A history for `n` unknowns and memory `m`: a pooled one of that size, emptied, or a
    /// new one. Everything a solve reads is written first (see [`Anderson::clear`]), so a
    /// pooled history gives the same steps, bit for bit, as a new one.
    fn take(n: usize, m: usize) -> Anderson {
        let pooled = POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let at = pool.iter().position(|h| h.n == n && h.m == m)?;
            Some(pool.swap_remove(at))
        });
        match pooled {
            Some(mut h) => {
                h.clear();
                h.updates = 0;
                h.svd_updates = 0;
                h
            }
            None => Anderson::new(n, m),
        }
    }

    /// Keeps this history for [`Anderson::take`], the oldest pooled one making room.
    fn give_back(self) {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() == POOLED {
                pool.remove(0);
            }
            pool.push(self);
        });
    }

    /// True before the first step after a restart.
    fn is_empty(&self) -> bool {
        !self.has_prev
    }

    /// Forgets every step (a restart).
    fn clear(&mut self) {
        self.has_prev = false;
        self.len = 0;
        self.next = 0;
        self.factored = 0;
    }

    /// Records the step `x -> g = G(x)`: its residual, and the differences from the
    /// previous step in the oldest slot, with that slot's row of the Gram matrix.
    fn push(&mut self, x: &[f64], g: &[f64]) {
        let n = self.n;
        let (x, g) = (&x[..n], &g[..n]);
        for ((f, &gk), &xk) in self.f.iter_mut().zip(g).zip(x) {
            *f = gk - xk;
        }
        if self.has_prev {
            let s = self.next;
            {
                let df = &mut self.df[s * n..(s + 1) * n];
                for ((d, &f), &fp) in df.iter_mut().zip(&self.f).zip(&self.f_prev) {
                    *d = f - fp;
                }
                let dg = &mut self.dg[s * n..(s + 1) * n];
                for ((d, &gk), &gp) in dg.iter_mut().zip(g).zip(&self.g_prev) {
                    *d = gk - gp;
                }
            }
            self.len = (self.len + 1).min(self.m);
            self.next = (s + 1) % self.m;
            let col = &self.df[s * n..(s + 1) * n];
            for t in 0..self.len {
                let d = dot(col, &self.df[t * n..(t + 1) * n]);
                self.gram[s * self.m + t] = d;
                self.gram[t * self.m + s] = d;
            }
            self.scale[s] = self.gram[s * self.m + s].sqrt();
            self.factored = self.factored.min(s);
        }
        self.f_prev.copy_from_slice(&self.f);
        self.g_prev.copy_from_slice(g);
        self.has_prev = true;
    }

    /// The Anderson update from the recorded steps (Walker and Ni 2011): minimise
    /// `|f_k - dF gamma|` over `gamma` and write `G(x_k) - dG gamma` into `out`. The
    /// least-squares problem is solved by Cholesky on the column-scaled normal equations
    /// (an `m`-square system whose matrix is kept up to date, `O(m n)` per step) and, when
    /// those are ill-conditioned, by SVD with tiny singular values dropped: near
    /// convergence, or with few free unknowns, the differences become nearly collinear and
    /// an exact solve would extrapolate wildly. False when there is no history or no
    /// finite update (`out` is then unspecified).
    fn mix(&mut self, g: &[f64], out: &mut [f64]) -> bool {
        let (n, k) = (self.n, self.len);
        if k == 0 {
            return false;
        }
        self.updates += 1;
        for s in 0..k {
            self.rhs[s] = dot(&self.df[s * n..(s + 1) * n], &self.f);
        }
        if !self.cholesky_gamma() && !self.svd_gamma() {
            return false;
        }
        out.copy_from_slice(g);
        for s in 0..k {
            let c = self.gamma[s];
            let dg = &self.dg[s * n..(s + 1) * n];
            for (o, d) in out.iter_mut().zip(dg) {
                *o -= c * d;
            }
        }
        out.iter().all(|v| v.is_finite())
    }

    /// `gamma` from the Gram matrix by Cholesky, if it is well-conditioned (see
    /// [`MAX_SCALED_CONDITION`]). With `D` the column norms, `G = D C D` and
    /// `C = L L'`; `cond(C) <= k * trace(C^-1) = k * |L^-1|_F^2`, since `C`'s largest
    /// eigenvalue is at most its trace `k`.
    fn cholesky_gamma(&mut self) -> bool {
        let (m, k) = (self.m, self.len);
        let (mut dmin, mut dmax) = (f64::INFINITY, 0.0f64);
        for &d in &self.scale[..k] {
            if !(d > 0.0 && d.is_finite()) {
                return false;
            }
            dmin = dmin.min(d);
            dmax = dmax.max(d);
        }
        if dmax > MAX_NORM_RATIO * dmin {
            return false;
        }
        // Rows `factored..k` of L and of L^-1 (the rows before are those of the slots no
        // push has touched since they were computed). The sums run on slices, in the
        // order of the textbook loops.
        for i in self.factored..k {
            let (done, rest) = self.chol.split_at_mut(i * m);
            let row = &mut rest[..m];
            for j in 0..=i {
                let start = self.gram[i * m + j] / (self.scale[i] * self.scale[j]);
                if i == j {
                    let v = row[..i].iter().fold(start, |v, &a| v - a * a);
                    if v.is_nan() || v <= 0.0 {
                        return false;
                    }
                    row[i] = v.sqrt();
                } else {
                    let other = &done[j * m..j * m + j];
                    let v = row[..j]
                        .iter()
                        .zip(other)
                        .fold(start, |v, (&a, &b)| v - a * b);
                    row[j] = v / done[j * m + j];
                }
            }
            // Row i of L^-1 by forward substitution on the unit vectors: entry (i, c) from
            // rows c..i of L; `linv` is stored by column, entry (i, c) at `c * m + i`.
            for c in 0..=i {
                let column = &self.linv[c * m..c * m + i];
                let start = if i == c { 1.0 } else { 0.0 };
                let v = row[c..i]
                    .iter()
                    .zip(&column[c..i])
                    .fold(start, |v, (&a, &b)| v - a * b);
                self.linv[c * m + i] = v / row[i];
            }
            self.factored = i + 1;
        }
        // |L^-1|_F^2, column by column.
        let mut frob = 0.0;
        for c in 0..k {
            for &z in &self.linv[c * m + c..c * m + k] {
                frob += z * z;
            }
        }
        let condition = k as f64 * frob;
        if condition.is_nan() || condition > MAX_SCALED_CONDITION {
            return false;
        }
        // C (D gamma) = D^-1 rhs: forward then backward substitution.
        for i in 0..k {
            let row = &self.chol[i * m..i * m + m];
            let start = self.rhs[i] / self.scale[i];
            let v = row[..i]
                .iter()
                .zip(&self.gamma[..i])
                .fold(start, |v, (&a, &b)| v - a * b);
            self.gamma[i] = v / row[i];
        }
        for i in (0..k).rev() {
            let mut v = self.gamma[i];
            for p in i + 1..k {
                v -= self.chol[p * m + i] * self.gamma[p];
            }
            self.gamma[i] = v / self.chol[i * m + i];
        }
        for s in 0..k {
            self.gamma[s] /= self.scale[s];
        }
        self.gamma[..k].iter().all(|v| v.is_finite())
    }

    /// `gamma` by SVD of `dF`, dropping singular values below [`SVD_CUT`] times the
    /// largest. The one place that allocates, and only for ill-conditioned histories.
    fn svd_gamma(&mut self) -> bool {
        let (n, k) = (self.n, self.len);
        self.svd_updates += 1;
        let df = DMatrix::from_column_slice(n, k, &self.df[..n * k]);
        let svd = df.svd(true, true);
        let largest = svd.singular_values.max();
        if largest.is_nan() || largest <= 0.0 {
            return false;
        }
        let f = DVector::from_column_slice(&self.f);
        let Ok(gamma) = svd.solve(&f, SVD_CUT * largest) else {
            return false;
        };
        self.gamma[..k].copy_from_slice(gamma.as_slice());
        self.gamma[..k].iter().all(|v| v.is_finite())
    }
}

/// `a . b` with four independent partial sums (which the compiler keeps in vector lanes).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let rest: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_fixed_point_of_a_linear_contraction() {
        // x = A x + c with a slowly contracting A; fixed point (I - A)^-1 c.
        let a = DMatrix::from_row_slice(2, 2, &[0.9, 0.05, 0.02, 0.95]);
        let c = DVector::from_vec(vec![1.0, 2.0]);
        let exact = (DMatrix::identity(2, 2) - &a).try_inverse().unwrap() * &c;
        for memory in [0, 6] {
            let mut map = |x: &DVector<f64>, out: &mut DVector<f64>| out.copy_from(&(&a * x + &c));
            let opts = SolverOptions {
                memory,
                ..SolverOptions::default()
            };
            let (x, rep) = solve_fixed_point(&mut map, DVector::zeros(2), &opts, "test");
            assert!(rep.converged(), "{rep}");
            // A step of tol * scale leaves a distance of about step / (1 - rate) = 30 steps.
            assert!((x - &exact).amax() < 1e-8 * exact.amax());
        }
    }

    /// Random-looking but fixed histories: `k` steps of `n` unknowns.
    fn history(n: usize, k: usize, collinear: bool) -> Anderson {
        let mut h = Anderson::new(n, 6);
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let base: Vec<f64> = (0..n).map(|_| next()).collect();
        for step in 0..=k {
            let x: Vec<f64> = (0..n).map(|_| next()).collect();
            // Collinear: every residual a multiple of one vector, so dF has rank one.
            let g: Vec<f64> = if collinear {
                (0..n)
                    .map(|i| x[i] + (step as f64 + 1.0) * base[i])
                    .collect()
            } else {
                (0..n).map(|_| next()).collect()
            };
            h.push(&x, &g);
        }
        h
    }

    #[test]
    fn cholesky_update_equals_the_svd_update_when_well_conditioned() {
        let mut h = history(20, 5, false);
        assert_eq!(h.len, 5);
        let g = h.g_prev.clone();
        let mut by_cholesky = vec![0.0; 20];
        assert!(h.mix(&g, &mut by_cholesky));
        assert_eq!(h.svd_updates, 0);
        let cholesky_gamma = h.gamma[..5].to_vec();
        assert!(h.svd_gamma());
        for (a, b) in cholesky_gamma.iter().zip(&h.gamma[..5]) {
            assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0), "{a} against {b}");
        }
    }

    /// Resuming the factorisation after the rows no push touched gives, bit for bit, the
    /// update a fresh factorisation gives, while the ring fills and after it wraps.
    #[test]
    fn the_kept_cholesky_rows_give_the_fresh_update() {
        let n = 9;
        let mut h = Anderson::new(n, 6);
        let mut seed = 777u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut resumed = 0;
        for step in 0..20 {
            let x: Vec<f64> = (0..n).map(|_| next()).collect();
            let g: Vec<f64> = (0..n).map(|_| next()).collect();
            h.push(&x, &g);
            let mut fresh = h.clone();
            fresh.factored = 0;
            resumed += usize::from(h.factored > 0);
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            assert_eq!(h.mix(&g, &mut a), fresh.mix(&g, &mut b), "step {step}");
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "step {step}");
            assert_eq!(h.svd_updates, 0, "step {step}");
        }
        assert!(resumed >= 10, "only {resumed} updates kept rows");
    }

    #[test]
    fn an_ill_conditioned_history_falls_back_to_the_svd() {
        let mut h = history(20, 4, true);
        let g = h.g_prev.clone();
        let mut out = vec![0.0; 20];
        assert!(h.mix(&g, &mut out));
        assert_eq!(h.svd_updates, 1);
        assert!(out.iter().all(|v| v.is_finite()));
        // The ring keeps the newest `m` = 6 differences once full: after 9 differences the
        // next one goes into slot 9 mod 6.
        let h = history(5, 9, false);
        assert_eq!((h.len, h.next), (6, 3));
    }

    #[test]
    fn reports_the_limit_instead_of_looping() {
        let mut map = |x: &DVector<f64>, out: &mut DVector<f64>| out.copy_from(&x.map(|v| v + 1.0));
        let opts = SolverOptions {
            max_iterations: 20,
            ..SolverOptions::default()
        };
        let (_, rep) = solve_fixed_point(&mut map, DVector::zeros(3), &opts, "drift");
        assert_eq!(rep.stop_reason, StopReason::MaxIterations);
        assert_eq!(rep.iterations, 20);
    }
}
