//! Which observations a PPML with fixed effects cannot use, and why.
//!
//! Three rules, applied until none drops anything more (dropping one observation can make
//! another a singleton), as ppmlhdfe does (Correia, Guimaraes and Zylkin 2020, sections 2-3):
//!
//! 1. an observation with a non-finite dependent variable or regressor is dropped;
//! 2. a **singleton**, the only kept observation of its group in some fixed-effect
//!    dimension, is dropped: its fixed effect fits it exactly, so it carries no information
//!    about the coefficients but would understate the standard errors;
//! 3. an observation whose group has `y = 0` in every kept observation is **separated**:
//!    the maximum-likelihood fixed effect of that group is minus infinity, and the group's
//!    observations are dropped (their fitted mean is zero).

use std::fmt;

use serde::Serialize;

/// Why an observation was left out of the estimation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DropReason {
    /// The dependent variable or a regressor is not a finite number (`column` names it).
    NonFinite { column: String },
    /// The only observation of its group in fixed-effect dimension `dimension`.
    Singleton { dimension: String },
    /// Its group in dimension `dimension` has zero trade in every kept observation.
    Separated { dimension: String },
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::NonFinite { column } => {
                write!(f, "missing or non-finite value in `{column}`")
            }
            DropReason::Singleton { dimension } => {
                write!(
                    f,
                    "singleton: the only observation of its `{dimension}` group"
                )
            }
            DropReason::Separated { dimension } => write!(
                f,
                "separated: its `{dimension}` group has zero trade in every observation"
            ),
        }
    }
}

/// One observation left out, by its index in the [`Design`](super::Design).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub index: usize,
    pub reason: DropReason,
}

/// Marks every observation to drop (rules 1-3 of the module docs), returning the dropped
/// ones in index order. `groups[d][n]` is the group of observation `n` in dimension `d`,
/// numbered densely in `0..counts[d]`.
pub(crate) fn find_dropped(
    y: &[f64],
    x: &[Vec<f64>],
    names: &[String],
    dim_names: &[String],
    groups: &[Vec<u32>],
    counts: &[usize],
) -> Vec<Dropped> {
    let n = y.len();
    let mut reason: Vec<Option<DropReason>> = vec![None; n];
    for (i, r) in reason.iter_mut().enumerate() {
        if !y[i].is_finite() {
            *r = Some(DropReason::NonFinite {
                column: "dependent variable".to_owned(),
            });
        } else if let Some(k) = x.iter().position(|col| !col[i].is_finite()) {
            *r = Some(DropReason::NonFinite {
                column: names[k].clone(),
            });
        }
    }
    loop {
        let mut changed = false;
        for (d, (ids, &count)) in groups.iter().zip(counts).enumerate() {
            let mut obs = vec![0usize; count];
            let mut total = vec![0.0_f64; count];
            for i in 0..n {
                if reason[i].is_none() {
                    obs[ids[i] as usize] += 1;
                    total[ids[i] as usize] += y[i];
                }
            }
            for i in 0..n {
                if reason[i].is_some() {
                    continue;
                }
                let g = ids[i] as usize;
                if obs[g] == 1 {
                    reason[i] = Some(DropReason::Singleton {
                        dimension: dim_names[d].clone(),
                    });
                    changed = true;
                } else if total[g] == 0.0 {
                    reason[i] = Some(DropReason::Separated {
                        dimension: dim_names[d].clone(),
                    });
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    reason
        .into_iter()
        .enumerate()
        .filter_map(|(index, r)| r.map(|reason| Dropped { index, reason }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_non_finite_then_singletons_and_separated_groups_until_stable() {
        // Exporter groups: 0 = {0, 1}, 1 = {2, 3}, 2 = {4, 5}, 3 = {6}.
        // Observation 1 is non-finite, which makes 0 a singleton; group 1 is all zero;
        // observation 6 is a singleton from the start.
        let y = vec![1.0, f64::NAN, 0.0, 0.0, 2.0, 3.0, 4.0];
        let x = vec![vec![0.5; 7]];
        let names = vec!["lndist".to_owned()];
        let dims = vec!["exporter".to_owned()];
        let groups = vec![vec![0, 0, 1, 1, 2, 2, 3]];
        let dropped = find_dropped(&y, &x, &names, &dims, &groups, &[4]);
        let got: Vec<(usize, String)> = dropped
            .iter()
            .map(|d| (d.index, d.reason.to_string()))
            .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0].0, 0);
        assert!(got[0].1.starts_with("singleton"));
        assert!(got[1].1.contains("non-finite"));
        assert!(got[2].1.starts_with("separated") && got[3].1.starts_with("separated"));
        assert_eq!(got[4].0, 6);
        assert!(got[4].1.starts_with("singleton"));
    }
}
