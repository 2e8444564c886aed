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

/// Rows taken together: eight rows of 1000 economies are 64 KB, which stay in the
/// second-level cache between the two products.
const PANEL: usize = 8;

/// The four rows a panel adds at a time (and the last group of four before the single rows).
const HALF: usize = 4;

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
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { self.mul_avx2(w, out) };
        }
        self.mul_with::<Portable>(w, out)
    }

    /// [`CostRows::mul`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn mul_avx2(&self, w: &[f64], out: &mut [f64]) {
        self.mul_with::<avx::Avx2>(w, out)
    }

    #[inline(always)]
    fn mul_with<D: Dots>(&self, w: &[f64], out: &mut [f64]) {
        let n = self.n;
        let (w, out) = (&w[..n], &mut out[..n]);
        let mut i0 = 0;
        while i0 + HALF <= n {
            let r = |k: usize| &self.rows[(i0 + k) * n..(i0 + k + 1) * n];
            out[i0..i0 + HALF].copy_from_slice(&D::dots4([r(0), r(1), r(2), r(3)], w));
            i0 += HALF;
        }
        for (i, o) in out.iter_mut().enumerate().skip(i0) {
            *o = dot(&self.rows[i * n..(i + 1) * n], w);
        }
    }

    /// One resistance step in one pass over `T`: `a = T w`, then
    /// `b = T' v` with `v_i = y_i / a_i` (Yotov et al. 2016, eq. 1-3 and 1-4).
    pub(crate) fn step(&self, w: &[f64], y: &[f64], a: &mut [f64], b: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the processor has AVX2, checked just above.
            return unsafe { self.step_avx2(w, y, a, b) };
        }
        self.step_with::<Portable>(w, y, a, b)
    }

    /// [`CostRows::step`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn step_avx2(&self, w: &[f64], y: &[f64], a: &mut [f64], b: &mut [f64]) {
        self.step_with::<avx::Avx2>(w, y, a, b)
    }

    /// Rows go [`PANEL`] at a time: their `a_i` (four rows in one sweep over `w`), their
    /// `v_i`, then one sweep over `b` that adds both groups of four,
    /// `b_j = (b_j + g_j) + g'_j`, bit for bit two sweeps of four rows each at half the
    /// reads and writes of `b`.
    #[inline(always)]
    fn step_with<D: Dots>(&self, w: &[f64], y: &[f64], a: &mut [f64], b: &mut [f64]) {
        let n = self.n;
        let (w, y, a, b) = (&w[..n], &y[..n], &mut a[..n], &mut b[..n]);
        b.fill(0.0);
        let row = |i: usize| &self.rows[i * n..(i + 1) * n];
        let mut i0 = 0;
        while i0 + PANEL <= n {
            let rows: [&[f64]; PANEL] = std::array::from_fn(|k| row(i0 + k));
            let lo = D::dots4([rows[0], rows[1], rows[2], rows[3]], w);
            let hi = D::dots4([rows[4], rows[5], rows[6], rows[7]], w);
            a[i0..i0 + HALF].copy_from_slice(&lo);
            a[i0 + HALF..i0 + PANEL].copy_from_slice(&hi);
            let v: [f64; PANEL] = std::array::from_fn(|k| y[i0 + k] / a[i0 + k]);
            let [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
            let (r0, r1, r2, r3) = (&r0[..n], &r1[..n], &r2[..n], &r3[..n]);
            let (r4, r5, r6, r7) = (&r4[..n], &r5[..n], &r6[..n], &r7[..n]);
            for (j, bj) in b.iter_mut().enumerate() {
                let g = (r0[j] * v[0] + r1[j] * v[1]) + (r2[j] * v[2] + r3[j] * v[3]);
                let h = (r4[j] * v[4] + r5[j] * v[5]) + (r6[j] * v[6] + r7[j] * v[7]);
                *bj = (*bj + g) + h;
            }
            i0 += PANEL;
        }
        if i0 + HALF <= n {
            let rows: [&[f64]; HALF] = std::array::from_fn(|k| row(i0 + k));
            a[i0..i0 + HALF].copy_from_slice(&D::dots4(rows, w));
            let v: [f64; HALF] = std::array::from_fn(|k| y[i0 + k] / a[i0 + k]);
            let [r0, r1, r2, r3] = rows;
            let (r0, r1, r2, r3) = (&r0[..n], &r1[..n], &r2[..n], &r3[..n]);
            for (j, bj) in b.iter_mut().enumerate() {
                *bj += (r0[j] * v[0] + r1[j] * v[1]) + (r2[j] * v[2] + r3[j] * v[3]);
            }
            i0 += HALF;
        }
        for i in i0..n {
            let row = row(i);
            a[i] = dot(row, w);
            let v = y[i] / a[i];
            for (bj, t) in b.iter_mut().zip(row) {
                *bj += t * v;
            }
        }
    }
}

/// Whether this processor has AVX2 (asked once; the standard library remembers the answer).
#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Four dot products with one vector: [`dot`] of each row, bit for bit.
trait Dots {
    fn dots4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4];
}

/// Row by row, in the code the compiler makes for any processor.
struct Portable;

impl Dots for Portable {
    #[inline(always)]
    fn dots4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4] {
        rows.map(|row| dot(row, w))
    }
}

/// `a . b` with eight independent partial sums (lane `l` takes the elements `l, l + 8, ...`),
/// added pairwise at the end, then the elements after the last full eight.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest = tail_dot(ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    lanes_sum(&acc) + rest
}

/// The pairwise sum of [`dot`]'s eight partial sums.
#[inline(always)]
fn lanes_sum(acc: &[f64; 8]) -> f64 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// The elements after the last full eight, in order.
#[inline(always)]
fn tail_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The AVX2 kernel: [`dot`]'s eight partial sums are two 4-lane registers, and four rows
/// share one sweep over `w`, so that eight independent sums are in flight instead of one
/// row's chain of additions. Each lane does the same multiplications and additions in the
/// same order as [`dot`] (no fused multiply-add), so the results are the portable ones bit
/// for bit (unit test `avx2_and_portable_kernels_agree_bit_for_bit`).
#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::{
        __m256d, _mm256_add_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_setzero_pd, _mm256_storeu_pd,
    };

    use super::{lanes_sum, tail_dot, Dots};

    pub(super) struct Avx2;

    impl Dots for Avx2 {
        #[inline(always)]
        fn dots4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4] {
            // SAFETY: only called from functions compiled with `target_feature(enable =
            // "avx2")`, which run only where AVX2 was detected.
            unsafe { dots4(rows, w) }
        }
    }

    #[inline(always)]
    unsafe fn dots4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4] {
        let n = w.len();
        let rows = rows.map(|r| &r[..n]);
        let full = n / 8 * 8;
        let mut lo: [__m256d; 4] = [_mm256_setzero_pd(); 4];
        let mut hi: [__m256d; 4] = [_mm256_setzero_pd(); 4];
        let mut j = 0;
        while j < full {
            // SAFETY: j + 8 <= full <= n, the length of `w` and of every row.
            unsafe {
                let wl = _mm256_loadu_pd(w.as_ptr().add(j));
                let wh = _mm256_loadu_pd(w.as_ptr().add(j + 4));
                for k in 0..4 {
                    let p = rows[k].as_ptr().add(j);
                    lo[k] = _mm256_add_pd(lo[k], _mm256_mul_pd(_mm256_loadu_pd(p), wl));
                    hi[k] = _mm256_add_pd(hi[k], _mm256_mul_pd(_mm256_loadu_pd(p.add(4)), wh));
                }
            }
            j += 8;
        }
        let mut out = [0.0; 4];
        for k in 0..4 {
            let mut acc = [0.0f64; 8];
            // SAFETY: `acc` has room for the two 4-lane stores.
            unsafe {
                _mm256_storeu_pd(acc.as_mut_ptr(), lo[k]);
                _mm256_storeu_pd(acc.as_mut_ptr().add(4), hi[k]);
            }
            out[k] = lanes_sum(&acc) + tail_dot(&rows[k][full..], &w[full..]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_step_equals_the_two_products() {
        for n in [1usize, 3, 4, 9, 12, 17, 29] {
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

    #[test]
    fn the_rows_are_the_transpose() {
        for n in [0usize, 1, 5, 8, 9, 16, 23] {
            let t = Matrix::from_fn(n, n, |i, j| (i * 100 + j) as f64);
            let rows = CostRows::new(&t);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(rows.rows[i * n + j], t[(i, j)], "n {n}, ({i}, {j})");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_and_portable_kernels_agree_bit_for_bit() {
        if !avx2() {
            return;
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [1usize, 4, 7, 8, 11, 16, 21, 33, 64, 101] {
            // Values over many orders of magnitude, so that any change of order would show.
            let t = Matrix::from_fn(n, n, |i, j| {
                let k = (i * 31 + j * 17) % 23;
                (1.0 + k as f64).powi(5) * 10f64.powi((i + 2 * j) as i32 % 9 - 4)
            });
            let w: Vec<f64> = (0..n)
                .map(|j| 0.3 + (j % 5) as f64 * 1e3f64.powi(j as i32 % 3))
                .collect();
            let y: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + i as f64)).collect();
            let rows = CostRows::new(&t);
            let (mut a1, mut b1, mut a2, mut b2) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            rows.step_with::<Portable>(&w, &y, &mut a1, &mut b1);
            // SAFETY: AVX2 was detected above.
            unsafe { rows.step_avx2(&w, &y, &mut a2, &mut b2) };
            assert_eq!(bits(&a1), bits(&a2), "n {n}");
            assert_eq!(bits(&b1), bits(&b2), "n {n}");
            rows.mul_with::<Portable>(&w, &mut a1);
            // SAFETY: as above.
            unsafe { rows.mul_avx2(&w, &mut a2) };
            assert_eq!(bits(&a1), bits(&a2), "n {n}");
        }
    }
}
