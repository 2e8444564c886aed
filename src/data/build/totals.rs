//! Reported totals as constraints on the imputed cells: iterative proportional fitting
//! (IPF, the RAS method: Deming and Stephan 1940; Bacharach 1970) of the imputed cells
//! only, observed cells held fixed, so that an economy's foreign exports (row sum) and
//! foreign imports (column sum) match its reported total where one is given.
//!
//! Each imputed cell becomes `r_i s_j m_ij` (`m` the prior). A sweep sets, for every row
//! `i` with a target `T_i`, `r_i = (T_i - O_i) / sum_j s_j m_ij` (`O_i` the row's observed
//! cells), then the same for the columns. The sweeps stop when every target that can be
//! met is met to [`TOLERANCE`] relative, or after [`MAX_SWEEPS`] sweeps (then the report
//! says so, with the largest relative gap). A target cannot be met, and is left out of the
//! fitting, when the row's observed cells alone reach it (`O_i >= T_i`: partners record more
//! trade with the economy than it records in total, a mirror-gap effect; the observed cells
//! are kept as recorded) or when the row has no imputed cell.
//!
//! An economy without a total (`ROW`, whose exports and imports are nobody's record)
//! has no constraint: its row and column take what the other economies' totals leave.

/// Relative tolerance of a met total.
pub const TOLERANCE: f64 = 1e-10;
/// At most this many sweeps (a row step and a column step each).
pub const MAX_SWEEPS: usize = 1000;

/// The state of one target after the fitting.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Met to the tolerance.
    Met,
    /// Not fitted: the observed cells alone are at or above the total.
    ObservedExceed,
    /// Not fitted: every cell of the row (column) is observed, and they miss the total.
    NoImputedCell,
    /// Fitted but not met within the sweeps (targets of rows and columns that
    /// contradict each other over the imputed cells).
    NotConverged,
}

/// The result of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The factor `r_i s_j` of every imputed cell (1 elsewhere), row-major.
    pub factors: Vec<f64>,
    /// Per economy, the status of its row (column) target, if it has one.
    pub rows: Vec<Option<Status>>,
    pub cols: Vec<Option<Status>>,
    pub sweeps: usize,
    /// The largest relative gap over the fitted targets at the end.
    pub gap: f64,
}

/// Fits the imputed cells of an `n x n` world (see the module docs). `observed[k]` is the
/// observed value of cell `k` (0 if none), `prior[k]` the imputed prior (0 if the cell is
/// not imputed); the diagonal is ignored. `rows[i]`, `cols[j]`: the targets.
pub fn fit(
    n: usize,
    observed: &[f64],
    prior: &[f64],
    rows: &[Option<f64>],
    cols: &[Option<f64>],
) -> Fitted {
    let foreign = |i: usize, j: usize| i != j;
    let obs_row = |i: usize| -> f64 {
        (0..n)
            .filter(|&j| foreign(i, j))
            .map(|j| observed[i * n + j])
            .sum()
    };
    let obs_col = |j: usize| -> f64 {
        (0..n)
            .filter(|&i| foreign(i, j))
            .map(|i| observed[i * n + j])
            .sum()
    };
    let has_row = |i: usize| (0..n).any(|j| foreign(i, j) && prior[i * n + j] > 0.0);
    let has_col = |j: usize| (0..n).any(|i| foreign(i, j) && prior[i * n + j] > 0.0);
    let status = |t: Option<f64>, o: f64, has: bool| -> Option<Status> {
        let t = t?;
        Some(if o >= t {
            Status::ObservedExceed
        } else if !has {
            Status::NoImputedCell
        } else {
            Status::Met
        })
    };
    let mut row_status: Vec<Option<Status>> = (0..n)
        .map(|i| status(rows[i], obs_row(i), has_row(i)))
        .collect();
    let mut col_status: Vec<Option<Status>> = (0..n)
        .map(|j| status(cols[j], obs_col(j), has_col(j)))
        .collect();
    let row_active: Vec<bool> = row_status.iter().map(|s| s == &Some(Status::Met)).collect();
    let col_active: Vec<bool> = col_status.iter().map(|s| s == &Some(Status::Met)).collect();
    let (mut r, mut s) = (vec![1.0; n], vec![1.0; n]);
    let row_sum = |i: usize, r: &[f64], s: &[f64]| -> f64 {
        (0..n)
            .filter(|&j| foreign(i, j))
            .map(|j| r[i] * s[j] * prior[i * n + j])
            .sum()
    };
    let col_sum = |j: usize, r: &[f64], s: &[f64]| -> f64 {
        (0..n)
            .filter(|&i| foreign(i, j))
            .map(|i| r[i] * s[j] * prior[i * n + j])
            .sum()
    };
    let gap = |r: &[f64], s: &[f64]| -> f64 {
        let mut g: f64 = 0.0;
        for i in (0..n).filter(|&i| row_active[i]) {
            let t = rows[i].unwrap_or(0.0);
            g = g.max((obs_row(i) + row_sum(i, r, s) - t).abs() / t);
        }
        for j in (0..n).filter(|&j| col_active[j]) {
            let t = cols[j].unwrap_or(0.0);
            g = g.max((obs_col(j) + col_sum(j, r, s) - t).abs() / t);
        }
        g
    };
    let mut sweeps = 0;
    let mut last = gap(&r, &s);
    while last > TOLERANCE && sweeps < MAX_SWEEPS {
        sweeps += 1;
        for i in (0..n).filter(|&i| row_active[i]) {
            let cur = row_sum(i, &r, &s);
            r[i] *= (rows[i].unwrap_or(0.0) - obs_row(i)) / cur;
        }
        for j in (0..n).filter(|&j| col_active[j]) {
            let cur = col_sum(j, &r, &s);
            s[j] *= (cols[j].unwrap_or(0.0) - obs_col(j)) / cur;
        }
        last = gap(&r, &s);
    }
    if last > TOLERANCE {
        for (st, active) in row_status
            .iter_mut()
            .zip(&row_active)
            .chain(col_status.iter_mut().zip(&col_active))
        {
            if *active {
                *st = Some(Status::NotConverged);
            }
        }
    }
    let factors = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            if foreign(i, j) && prior[k] > 0.0 {
                r[i] * s[j]
            } else {
                1.0
            }
        })
        .collect();
    Fitted {
        factors,
        rows: row_status,
        cols: col_status,
        sweeps,
        gap: last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three economies and ROW (index 3, no totals): two observed cells, the rest imputed.
    fn case() -> (usize, Vec<f64>, Vec<f64>) {
        let n = 4;
        let mut observed = vec![0.0; n * n];
        let mut prior = vec![0.0; n * n];
        observed[1] = 5.0; // 0 -> 1
        observed[2 * n] = 2.0; // 2 -> 0
        for i in 0..n {
            for j in 0..n {
                let k = i * n + j;
                if i != j && observed[k] == 0.0 {
                    prior[k] = 1.0 + (i + 2 * j) as f64;
                }
            }
        }
        (n, observed, prior)
    }

    fn sums(n: usize, observed: &[f64], prior: &[f64], f: &Fitted) -> (Vec<f64>, Vec<f64>) {
        let v = |i: usize, j: usize| observed[i * n + j] + prior[i * n + j] * f.factors[i * n + j];
        (
            (0..n)
                .map(|i| (0..n).filter(|&j| j != i).map(|j| v(i, j)).sum())
                .collect(),
            (0..n)
                .map(|j| (0..n).filter(|&i| i != j).map(|i| v(i, j)).sum())
                .collect(),
        )
    }

    #[test]
    fn ipf_meets_row_and_column_totals_with_observed_cells_fixed() {
        let (n, observed, prior) = case();
        let rows = [Some(30.0), Some(12.0), None, None];
        let cols = [Some(20.0), None, Some(25.0), None];
        let f = fit(n, &observed, &prior, &rows, &cols);
        assert!(f.gap <= TOLERANCE, "{f:?}");
        let (rs, cs) = sums(n, &observed, &prior, &f);
        let met = |got: f64, want: f64| (got / want - 1.0).abs() <= TOLERANCE;
        assert!(met(rs[0], 30.0) && met(rs[1], 12.0), "{rs:?}");
        assert!(met(cs[0], 20.0) && met(cs[2], 25.0), "{cs:?}");
        assert_eq!(f.rows[0], Some(Status::Met));
        assert_eq!(f.rows[2], None);
        // Observed cells keep their factor 1 (they are never scaled).
        assert_eq!(f.factors[1], 1.0);
        assert_eq!(f.factors[2 * n], 1.0);
    }

    #[test]
    fn a_total_below_the_observed_cells_is_reported_and_left_out() {
        let (n, observed, prior) = case();
        // Row 0 observes 5 already; a total of 4 cannot be met.
        let rows = [Some(4.0), Some(12.0), None, None];
        let f = fit(n, &observed, &prior, &rows, &[None; 4]);
        assert_eq!(f.rows[0], Some(Status::ObservedExceed));
        assert_eq!(f.rows[1], Some(Status::Met));
        // Row 0's imputed cells stay at the prior (no column target scales them).
        assert_eq!(f.factors[2], 1.0);
        let (rs, _) = sums(n, &observed, &prior, &f);
        assert!((rs[1] / 12.0 - 1.0).abs() <= TOLERANCE);
    }

    #[test]
    fn contradicting_totals_are_reported_not_met() {
        // Two economies only, each cell imputed: row 0 = 10 but column 1 = 20 over the same
        // single cell 0 -> 1.
        let n = 2;
        let observed = vec![0.0; 4];
        let prior = vec![0.0, 1.0, 1.0, 0.0];
        let f = fit(
            n,
            &observed,
            &prior,
            &[Some(10.0), None],
            &[None, Some(20.0)],
        );
        assert_eq!(f.rows[0], Some(Status::NotConverged));
        assert_eq!(f.cols[1], Some(Status::NotConverged));
        assert_eq!(f.sweeps, MAX_SWEEPS);
        assert!(f.gap > 0.1);
    }
}
