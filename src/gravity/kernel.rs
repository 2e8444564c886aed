//! The matrix kernels of the resistance iteration, on trade costs `T = t^(1-sigma)` stored
//! row by row ([`CostRows`]).
//!
//! One resistance step is `a = T w` (`w_j = e_j / b_j`), then `b' = T' v` (`v_i = y_i / a_i`).
//! The second product needs every `a_i` of the first, but each `a_i` needs only row `i`: so
//! the rows are taken a few at a time, their `a_i` computed, and their contribution
//! `T_ij v_i` added to every `b'_j` while those rows are still in cache. The matrix is read
//! from memory once per step instead of twice, which is what bounds a step for large `N`.
//!
//! The sums keep a fixed number of independent partial sums in a fixed order, so the
//! compiler vectorises them and the result does not depend on the machine.

use crate::world::Matrix;

/// Rows taken together: four rows of 1000 economies are 32 KB, which stay in the first-level
/// cache between the two products.
const PANEL: usize = 4;

/// Trade costs `T = t^(1-sigma)`, row-major (`rows[i * n + j] = T_ij`).
#[derive(Debug, Clone)]
pub(crate) struct CostRows {
    n: usize,
    rows: Vec<f64>,
}

impl CostRows {
    /// `t` in row order (the matrices are column-major).
    pub(crate) fn new(t: &Matrix) -> CostRows {
        let n = t.nrows();
        let mut rows = vec![0.0; n * n];
        // Column-major in, row-major out, in tiles so that both sides stay in cache.
        const TILE: usize = 32;
        let src = t.as_slice();
        for j0 in (0..n).step_by(TILE) {
            for i0 in (0..n).step_by(TILE) {
                for j in j0..(j0 + TILE).min(n) {
                    for i in i0..(i0 + TILE).min(n) {
                        rows[i * n + j] = src[j * n + i];
                    }
                }
            }
        }
        CostRows { n, rows }
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// `out = T w`: `Pi_i^(1-sigma) = sum_j T_ij w_j` with `w_j = e_j / P_j^(1-sigma)`
    /// (Yotov et al. 2016, eq. 1-3).
    pub(crate) fn mul(&self, w: &[f64], out: &mut [f64]) {
        let n = self.n;
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(&self.rows[i * n..(i + 1) * n], w);
        }
    }

    /// One resistance step in one pass over `T`: `a = T w`, then
    /// `b = T' v` with `v_i = y_i / a_i` (Yotov et al. 2016, eq. 1-3 and 1-4).
    pub(crate) fn step(&self, w: &[f64], y: &[f64], a: &mut [f64], b: &mut [f64]) {
        let n = self.n;
        b.fill(0.0);
        let mut i0 = 0;
        while i0 + PANEL <= n {
            let r = |k: usize| &self.rows[(i0 + k) * n..(i0 + k + 1) * n];
            let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
            let mut v = [0.0; PANEL];
            for (k, row) in [r0, r1, r2, r3].into_iter().enumerate() {
                a[i0 + k] = dot(row, w);
                v[k] = y[i0 + k] / a[i0 + k];
            }
            for j in 0..n {
                b[j] += (r0[j] * v[0] + r1[j] * v[1]) + (r2[j] * v[2] + r3[j] * v[3]);
            }
            i0 += PANEL;
        }
        for i in i0..n {
            let row = &self.rows[i * n..(i + 1) * n];
            a[i] = dot(row, w);
            let v = y[i] / a[i];
            for (bj, t) in b.iter_mut().zip(row) {
                *bj += t * v;
            }
        }
    }
}

/// `a . b` with eight independent partial sums, added pairwise at the end.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_step_equals_the_two_products() {
        for n in [1usize, 3, 4, 9, 17] {
            let t = Matrix::from_fn(n, n, |i, j| 1.0 / (1.0 + i as f64 + 2.0 * j as f64));
            let w: Vec<f64> = (0..n).map(|j| 0.5 + j as f64).collect();
            let y: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
            let rows = CostRows::new(&t);
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            rows.step(&w, &y, &mut a, &mut b);
            let a_ref = &t * nalgebra::DVector::from_column_slice(&w);
            let v = nalgebra::DVector::from_fn(n, |i, _| y[i] / a_ref[i]);
            let b_ref = t.transpose() * v;
            for k in 0..n {
                assert!((a[k] - a_ref[k]).abs() <= 1e-14 * a_ref[k].abs(), "n {n}");
                assert!((b[k] - b_ref[k]).abs() <= 1e-14 * b_ref[k].abs(), "n {n}");
            }
            let mut a2 = vec![0.0; n];
            rows.mul(&w, &mut a2);
            assert_eq!(a, a2);
        }
    }
}
