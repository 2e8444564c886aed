//! The robust path for the resistance equations: Newton's method on their convex potential.
//!
//! With `u_i = -ln Pi_i^(1-sigma)`, `v_j = -ln P_j^(1-sigma)` and `K_ij = t_ij^(1-sigma) y_i e_j`
//! (`y`, `e` output and expenditure shares), the two resistance equations are exactly the
//! first-order conditions of the convex function
//!
//! ```text
//! phi(u, v) = sum_ij K_ij exp(u_i + v_j) - sum_i y_i u_i - sum_j e_j v_j
//! ```
//!
//! (the dual of matrix balancing; Sinkhorn's iteration is coordinate descent on it). Damped
//! Newton on a smooth strictly convex function converges from any start, quadratically near
//! the solution, whenever a solution exists, however weakly the economies are connected.
//! `v_ref = 0` pins `P_ref = 1` and removes the one flat direction.
//!
//! It costs a dense `(2N-1)`-square Cholesky per step, so it is the fallback: the Anderson
//! fixed point solves ordinary economies in tens of `O(N^2)` steps.

use nalgebra::{DMatrix, DVector};

use super::fixed_point::{SolverOptions, PRECISION_LIMIT};
use crate::solver::{SolveReport, StopReason};
use crate::world::{Matrix, Vector};

/// Largest move of one step in any log unknown.
const MAX_MOVE: f64 = 5.0;

/// The Newton direction `-H^-1 g`, with the Hessian shifted by a growing multiple of the
/// identity where rounding has made it numerically singular (weak links whose terms
/// underflow against strong ones), so the direction is always one of descent.
fn descent_direction(h: DMatrix<f64>, g: &DVector<f64>) -> Option<DVector<f64>> {
    let scale = h.diagonal().amax();
    if !(scale > 0.0 && scale.is_finite()) {
        return None;
    }
    let mut shift = 0.0;
    for _ in 0..20 {
        let mut hs = h.clone();
        for k in 0..hs.nrows() {
            hs[(k, k)] += shift;
        }
        if let Some(ch) = hs.cholesky() {
            let d = ch.solve(&(-g));
            if d.iter().all(|v| v.is_finite()) && g.dot(&d) < 0.0 {
                return Some(d);
            }
        }
        shift = if shift == 0.0 {
            1e-12 * scale
        } else {
            shift * 100.0
        };
    }
    None
}

/// Solves the resistance equations from a start `b0 = P^(1-sigma)` (reference entry 1).
/// Returns `b` and the number of Newton steps and the final residual (largest relative
/// adding-up error), with the stop reason.
pub(crate) fn newton_resistances(
    t: &Matrix,
    ys: &Vector,
    es: &Vector,
    reference: usize,
    b0: &Vector,
    options: &SolverOptions,
) -> (Vector, usize, f64, StopReason) {
    let n = ys.len();
    let k = DMatrix::from_fn(n, n, |i, j| t[(i, j)] * ys[i] * es[j]);
    // Start with the row equations exact: u_i = -ln sum_j t_ij e_j / b_j.
    let mut v = b0.map(|b| -b.ln());
    v[reference] = 0.0;
    let mut u = DVector::from_fn(n, |i, _| {
        let a: f64 = (0..n).map(|j| t[(i, j)] * es[j] * v[j].exp()).sum();
        -a.ln()
    });
    let potential = |u: &DVector<f64>, v: &DVector<f64>| -> f64 {
        let mut s = 0.0;
        for i in 0..n {
            for j in 0..n {
                if k[(i, j)] > 0.0 {
                    s += k[(i, j)] * (u[i] + v[j]).exp();
                }
            }
        }
        s - ys.dot(u) - es.dot(v)
    };
    // Unknowns: all u, then v without the reference.
    let free: Vec<usize> = (0..n).filter(|&j| j != reference).collect();
    let dim = n + free.len();
    let mut phi = potential(&u, &v);
    let mut residual = f64::INFINITY;
    for step in 1..=options.newton_max_steps.min(options.max_iterations) {
        let m = DMatrix::from_fn(n, n, |i, j| {
            if k[(i, j)] > 0.0 {
                k[(i, j)] * (u[i] + v[j]).exp()
            } else {
                0.0
            }
        });
        let rows = DVector::from_fn(n, |i, _| m.row(i).sum());
        let cols = DVector::from_fn(n, |j, _| m.column(j).sum());
        let mut g = DVector::zeros(dim);
        residual = 0.0f64;
        for i in 0..n {
            g[i] = rows[i] - ys[i];
            residual = residual.max((g[i] / ys[i]).abs());
        }
        for (c, &j) in free.iter().enumerate() {
            g[n + c] = cols[j] - es[j];
            residual = residual.max((g[n + c] / es[j]).abs());
        }
        // The reference's equation is implied by the others, but its error is theirs scaled
        // by one over its share: measure it too, so a small reference is cleared as well.
        residual = residual.max(((cols[reference] - es[reference]) / es[reference]).abs());
        if !residual.is_finite() {
            return (v.map(|x| (-x).exp()), step, residual, StopReason::NonFinite);
        }
        if residual <= options.tolerance {
            return (v.map(|x| (-x).exp()), step, residual, StopReason::Converged);
        }
        let mut h = DMatrix::zeros(dim, dim);
        for i in 0..n {
            h[(i, i)] = rows[i];
        }
        for (c, &j) in free.iter().enumerate() {
            h[(n + c, n + c)] = cols[j];
            for i in 0..n {
                h[(i, n + c)] = m[(i, j)];
                h[(n + c, i)] = m[(i, j)];
            }
        }
        let Some(mut d) = descent_direction(h, &g) else {
            return (v.map(|x| (-x).exp()), step, residual, StopReason::NonFinite);
        };
        // Moves are in logs: cap one at a factor e^MAX_MOVE per unknown. Far from the
        // solution the potential is nearly flat in some directions and the raw Newton step
        // can be absurdly long; the line search then takes it from there.
        let longest = d.amax();
        if longest > MAX_MOVE {
            d *= MAX_MOVE / longest;
        }
        let slope = g.dot(&d);
        // Close to the solution the decrease Newton promises is below the rounding of
        // phi, so the line search can no longer judge a step: take full steps, which
        // converge quadratically there.
        let near = -slope < 1e-10 * phi.abs().max(1.0);
        let mut alpha = 1.0;
        loop {
            let mut u1 = u.clone();
            let mut v1 = v.clone();
            for i in 0..n {
                u1[i] += alpha * d[i];
            }
            for (c, &j) in free.iter().enumerate() {
                v1[j] += alpha * d[n + c];
            }
            let phi1 = potential(&u1, &v1);
            if phi1.is_finite() && (near || phi1 <= phi + 1e-4 * alpha * slope) {
                (u, v, phi) = (u1, v1, phi1);
                break;
            }
            alpha *= 0.5;
            if alpha < 1e-12 {
                let reason = if residual <= PRECISION_LIMIT {
                    StopReason::PrecisionLimit
                } else {
                    StopReason::NonFinite
                };
                return (v.map(|x| (-x).exp()), step, residual, reason);
            }
        }
    }
    (
        v.map(|x| (-x).exp()),
        options.newton_max_steps.min(options.max_iterations),
        residual,
        StopReason::MaxIterations,
    )
}

/// Appends the Newton phase to the report of the Anderson phase that preceded it.
pub(crate) fn combine(
    anderson: SolveReport,
    steps: usize,
    residual: f64,
    reason: StopReason,
) -> SolveReport {
    SolveReport {
        iterations: anderson.iterations + steps,
        newton_steps: steps,
        residual,
        stop_reason: reason,
        ..anderson
    }
}
