//! Weighted demeaning by alternating projections: the kernel that sweeps the fixed effects
//! out of a column without ever building a dummy matrix.
//!
//! For weights `w_n > 0` and fixed-effect dimensions `d = 1..G` with group `g_d(n)` of
//! observation `n`, demeaning a column `v` finds coefficients `alpha_d[k]` minimising
//!
//! ```text
//! sum_n w_n (v_n - sum_d alpha_d[g_d(n)])^2
//! ```
//!
//! and returns the residual `v~ = v - sum_d alpha_d[g_d(n)]`, the projection of `v` on the
//! orthogonal complement (in the `w` inner product) of the span of the dummies. The method
//! is the Gauss-Seidel form of the method of alternating projections (Guimaraes and
//! Portugal 2010; Gaure 2013, the `lfe` R package; Correia 2016, `reghdfe`): sweep the
//! dimensions in turn, each time replacing `alpha_d` by the weighted group means of the
//! current residual plus the old `alpha_d`,
//!
//! ```text
//! alpha_d[k] <- alpha_d[k] + sum_{n: g_d(n)=k} w_n r_n / sum_{n: g_d(n)=k} w_n,
//! r_n        <- v_n - sum_d alpha_d[g_d(n)].
//! ```
//!
//! The coefficients `alpha` are kept between calls, so that the IRLS loop, which demeans
//! columns that change little from one iteration to the next, starts each demeaning from
//! the previous solution (as fixest does).

/// One fixed-effect dimension over the kept observations, with dense group numbers.
#[derive(Debug, Clone)]
pub(crate) struct Dimension {
    /// Group of each kept observation, in `0..groups`.
    pub ids: Vec<u32>,
    /// Number of groups.
    pub groups: usize,
}

/// What one demeaning did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DemeanReport {
    /// Full sweeps over every dimension.
    pub sweeps: usize,
    /// Whether the last sweep moved no coefficient by more than the tolerance.
    pub converged: bool,
}

/// The weights of one IRLS iteration and their group totals, shared by every column.
#[derive(Debug)]
pub(crate) struct Weights<'a> {
    pub dims: &'a [Dimension],
    pub w: &'a [f64],
    /// `sum_{n in k} w_n` for each dimension and group.
    totals: Vec<Vec<f64>>,
}

impl<'a> Weights<'a> {
    /// Group totals of `w` in each dimension. Every group holds at least one kept
    /// observation with a positive weight, so no total is zero.
    pub fn new(dims: &'a [Dimension], w: &'a [f64]) -> Weights<'a> {
        let totals = dims
            .iter()
            .map(|d| {
                let mut t = vec![0.0; d.groups];
                for (&g, &wn) in d.ids.iter().zip(w) {
                    t[g as usize] += wn;
                }
                t
            })
            .collect();
        Weights { dims, w, totals }
    }

    /// Demeans `v` into `r` (`r = v - sum_d alpha_d[g_d(n)]`), updating `alpha` (one vector
    /// per dimension, warm start) until no sweep moves a coefficient by more than
    /// `tol * (1 + max_n |v_n|)`, or `max_sweeps` sweeps.
    ///
    /// Sweeps come in pairs accelerated by Irons and Tuck's (1969) extrapolation, as in
    /// fixest (Berge 2018, section 3): with `F` one sweep, `X` the coefficients,
    /// `d1 = F(F(X)) - F(X)` and `d2 = F(F(X)) - 2 F(X) + X`, the next point is
    /// `F(F(X)) - (d1'd2 / d2'd2) d1`. It turns the slow linear convergence of alternating
    /// projections between nearly parallel subspaces (pair against exporter-year effects)
    /// into a few dozen sweeps.
    pub fn demean(
        &self,
        v: &[f64],
        alpha: &mut [Vec<f64>],
        r: &mut [f64],
        tol: f64,
        max_sweeps: usize,
    ) -> DemeanReport {
        self.residual(v, alpha, r);
        if self.dims.is_empty() {
            return DemeanReport {
                sweeps: 0,
                converged: true,
            };
        }
        let limit = tol * (1.0 + v.iter().fold(0.0_f64, |m, x| m.max(x.abs())));
        let mut sums: Vec<f64> = Vec::new();
        let mut x0: Vec<f64> = Vec::new();
        let mut x1: Vec<f64> = Vec::new();
        let mut sweeps = 0;
        while sweeps < max_sweeps {
            flatten(alpha, &mut x0);
            sweeps += 1;
            // One dimension is solved exactly by its first sweep.
            if self.sweep(alpha, r, &mut sums) <= limit || self.dims.len() == 1 {
                return DemeanReport {
                    sweeps,
                    converged: true,
                };
            }
            if sweeps == max_sweeps {
                break;
            }
            flatten(alpha, &mut x1);
            sweeps += 1;
            if self.sweep(alpha, r, &mut sums) <= limit {
                return DemeanReport {
                    sweeps,
                    converged: true,
                };
            }
            // Irons-Tuck: x0 = X, x1 = F(X), alpha = F(F(X)).
            let (mut num, mut den) = (0.0, 0.0);
            for (a, (&p, &q)) in alpha.iter().flatten().zip(x0.iter().zip(&x1)) {
                let d1 = a - q;
                let d2 = a - 2.0 * q + p;
                num += d1 * d2;
                den += d2 * d2;
            }
            if den > 0.0 && num.is_finite() {
                let step = num / den;
                for (a, &q) in alpha.iter_mut().flatten().zip(&x1) {
                    *a -= step * (*a - q);
                }
                self.residual(v, alpha, r);
            }
        }
        DemeanReport {
            sweeps,
            converged: false,
        }
    }

    /// `r = v - sum_d alpha_d[g_d(n)]`.
    fn residual(&self, v: &[f64], alpha: &[Vec<f64>], r: &mut [f64]) {
        r.copy_from_slice(v);
        for (d, a) in self.dims.iter().zip(alpha) {
            for (rn, &g) in r.iter_mut().zip(&d.ids) {
                *rn -= a[g as usize];
            }
        }
    }

    /// One Gauss-Seidel sweep over the dimensions, keeping `r` the residual: the largest
    /// change of a coefficient.
    fn sweep(&self, alpha: &mut [Vec<f64>], r: &mut [f64], sums: &mut Vec<f64>) -> f64 {
        let mut largest = 0.0_f64;
        for ((d, a), total) in self.dims.iter().zip(alpha.iter_mut()).zip(&self.totals) {
            sums.clear();
            sums.resize(d.groups, 0.0);
            for ((&g, &wn), &rn) in d.ids.iter().zip(self.w).zip(r.iter()) {
                sums[g as usize] += wn * rn;
            }
            for ((s, t), ak) in sums.iter_mut().zip(total).zip(a.iter_mut()) {
                *s /= t;
                *ak += *s;
                largest = largest.max(s.abs());
            }
            for (rn, &g) in r.iter_mut().zip(&d.ids) {
                *rn -= sums[g as usize];
            }
        }
        largest
    }
}

/// All dimensions' coefficients in one vector.
fn flatten(alpha: &[Vec<f64>], out: &mut Vec<f64>) {
    out.clear();
    for a in alpha {
        out.extend_from_slice(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dimension_subtracts_weighted_group_means() {
        let dims = [Dimension {
            ids: vec![0, 0, 1, 1, 1],
            groups: 2,
        }];
        let w = [1.0, 3.0, 1.0, 1.0, 2.0];
        let v = [1.0, 2.0, 0.0, 4.0, 2.0];
        let weights = Weights::new(&dims, &w);
        let mut alpha = vec![vec![0.0; 2]];
        let mut r = [0.0; 5];
        let rep = weights.demean(&v, &mut alpha, &mut r, 1e-14, 100);
        assert!(rep.converged);
        // Group 0: (1 + 6) / 4 = 1.75; group 1: (0 + 4 + 4) / 4 = 2.
        assert!((alpha[0][0] - 1.75).abs() < 1e-15);
        assert!((alpha[0][1] - 2.0).abs() < 1e-15);
        assert!((r[0] + 0.75).abs() < 1e-15 && (r[4] - 0.0).abs() < 1e-15);
    }

    #[test]
    fn two_way_residual_is_orthogonal_to_every_dummy() {
        // A 4 x 3 two-way layout, weights and values irregular.
        let (ni, nj) = (4, 3);
        let mut ei = Vec::new();
        let mut ej = Vec::new();
        let mut v = Vec::new();
        let mut w = Vec::new();
        for i in 0..ni {
            for j in 0..nj {
                ei.push(i as u32);
                ej.push(j as u32);
                v.push(((i * 7 + j * 3) % 5) as f64 + 0.1 * i as f64);
                w.push(1.0 + ((i + 2 * j) % 3) as f64);
            }
        }
        let dims = [
            Dimension {
                ids: ei,
                groups: ni,
            },
            Dimension {
                ids: ej,
                groups: nj,
            },
        ];
        let weights = Weights::new(&dims, &w);
        let mut alpha = vec![vec![0.0; ni], vec![0.0; nj]];
        let mut r = vec![0.0; v.len()];
        let rep = weights.demean(&v, &mut alpha, &mut r, 1e-15, 10_000);
        assert!(rep.converged, "{rep:?}");
        for d in &dims {
            for k in 0..d.groups {
                let s: f64 = (0..v.len())
                    .filter(|&n| d.ids[n] as usize == k)
                    .map(|n| w[n] * r[n])
                    .sum();
                assert!(s.abs() < 1e-12, "group {k}: {s}");
            }
        }
        // A warm start from the solution needs one sweep.
        let rep = weights.demean(&v, &mut alpha, &mut r, 1e-12, 10_000);
        assert_eq!(rep.sweeps, 1);
    }
}
