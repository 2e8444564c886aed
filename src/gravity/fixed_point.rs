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

fn max_abs_diff(a: &DVector<f64>, b: &DVector<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, |m, d| if d.is_nan() { f64::NAN } else { m.max(d) })
}

/// Iterates `map` from `x0` until the step is below the tolerance. Returns the fixed point
/// when converged, otherwise the best point seen (smallest step), and the report.
///
/// A solve that stops improving for [`STALL_ITERATIONS`] steps ends with
/// [`StopReason::Stalled`]: the callers then hand the best point to a slower, more robust
/// method (see `balance`), which is needed for nearly decoupled economies where the plain
/// iteration contracts by a factor close to 1.
pub fn solve_fixed_point<M: FixedPointMap>(
    map: &mut M,
    x0: DVector<f64>,
    options: &SolverOptions,
    stage: &str,
) -> (DVector<f64>, SolveReport) {
    let report = |iterations, residual, stop_reason| {
        SolveReport::new(stage, iterations, residual, stop_reason)
    };
    let n = x0.len();
    let m = options.memory.min(n.max(1));
    let mut x = x0;
    let mut gx = DVector::zeros(n);
    // History of residuals f = G(x) - x and of map values G(x), newest last.
    let mut f_hist: Vec<DVector<f64>> = Vec::with_capacity(m + 1);
    let mut g_hist: Vec<DVector<f64>> = Vec::with_capacity(m + 1);
    let mut best = x.clone();
    let mut best_residual = f64::INFINITY;
    let mut since_best = 0usize;
    for it in 1..=options.max_iterations {
        map.apply(&x, &mut gx);
        let residual = max_abs_diff(&gx, &x);
        if !residual.is_finite() || gx.iter().any(|v| !v.is_finite()) {
            if best_residual.is_finite() && !f_hist.is_empty() {
                // An extrapolated point left the domain: restart plainly from the best
                // point seen.
                x = best.clone();
                f_hist.clear();
                g_hist.clear();
                continue;
            }
            return (best, report(it, best_residual, StopReason::NonFinite));
        }
        let scale = gx.amax().max(1.0);
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
                f_hist.clear();
                g_hist.clear();
            }
        }
        if m == 0 {
            std::mem::swap(&mut x, &mut gx);
            continue;
        }
        f_hist.push(&gx - &x);
        g_hist.push(gx.clone());
        if f_hist.len() > m + 1 {
            f_hist.remove(0);
            g_hist.remove(0);
        }
        x = anderson_mix(&f_hist, &g_hist).unwrap_or_else(|| gx.clone());
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

/// The Anderson update from the histories (oldest first): minimise `|f_k - dF gamma|` over
/// `gamma` and return `G(x_k) - dG gamma`. `None` when there is too little history or the
/// least-squares problem is singular.
fn anderson_mix(f_hist: &[DVector<f64>], g_hist: &[DVector<f64>]) -> Option<DVector<f64>> {
    let k = f_hist.len();
    if k < 2 {
        return None;
    }
    let n = f_hist[0].len();
    let cols = k - 1;
    let mut df = DMatrix::zeros(n, cols);
    let mut dg = DMatrix::zeros(n, cols);
    for c in 0..cols {
        df.set_column(c, &(&f_hist[c + 1] - &f_hist[c]));
        dg.set_column(c, &(&g_hist[c + 1] - &g_hist[c]));
    }
    let fk = &f_hist[k - 1];
    // Least squares by SVD, dropping directions whose singular value is tiny against the
    // largest: near convergence, or with few free unknowns, the differences become nearly
    // collinear and an exact solve would extrapolate wildly.
    let svd = df.svd(true, true);
    let largest = svd.singular_values.max();
    if largest.is_nan() || largest <= 0.0 {
        return None;
    }
    let gamma = svd.solve(fk, 1e-10 * largest).ok()?;
    let out = &g_hist[k - 1] - dg * gamma;
    out.iter().all(|v| v.is_finite()).then_some(out)
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
