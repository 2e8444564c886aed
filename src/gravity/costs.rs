//! Trade costs as the gravity equations use them, `T_ij = t_ij^(1-sigma)`, built either from
//! cost variables and coefficients or backed out of observed flows.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::world::{GravityData, Matrix};

/// A problem building trade costs.
#[derive(Debug, Error)]
pub enum CostError {
    #[error("coefficient `{name}` names no cost variable in the data (variables: {available})")]
    UnknownVariable { name: String, available: String },
    #[error("coefficient `{name}` must be a finite number, got {value}")]
    NonFinite { name: String, value: f64 },
    #[error("domestic sales of {code} are zero: costs backed out of flows need a positive domestic flow for every economy")]
    NoDomesticFlow { code: String },
    /// `exp(sum_k b_k z_k)` is not a positive finite number for a pair (or is zero for
    /// domestic sales): the coefficients and variables are out of the range of `f64`.
    #[error("t^(1-sigma) = exp(sum_k b_k z_k) for {pair} is {value}: the exponent {exponent:e} is out of range (the largest term is coefficient `{name}` = {} times {term}); check `costs.coefficients.{name}`", number_text(*.beta))]
    OutOfRange {
        /// `exporter->importer`.
        pair: String,
        value: f64,
        exponent: f64,
        name: String,
        beta: f64,
        /// The variable and its value for the pair (`lndist = 7.07`, or `1` for a constant).
        term: String,
    },
}

/// A number for a message: as written for ordinary magnitudes, in scientific notation for
/// extreme ones (`1e308`, not 309 digits).
pub(crate) fn number_text(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// The name of the coefficient that multiplies 1 when the data have no such column.
pub const CONSTANT: &str = "constant";

/// `t_ij^(1-sigma) = exp(sum_k b_k z_ijk)` (Yotov et al. 2016, eq. 1-5 with estimated
/// coefficients). A coefficient named `constant` that is not a column of the data multiplies
/// 1. A coefficient that names no variable is an error.
pub fn costs_from_coefficients(
    data: &GravityData,
    coefficients: &BTreeMap<String, f64>,
) -> Result<Matrix, CostError> {
    let n = data.economies.len();
    let mut log_t = Matrix::zeros(n, n);
    for (name, &beta) in coefficients {
        if !beta.is_finite() {
            return Err(CostError::NonFinite {
                name: name.clone(),
                value: beta,
            });
        }
        match data.variables.get(name) {
            Some(z) => log_t.zip_apply(z, |acc, z| *acc += beta * z),
            None if name == CONSTANT => log_t.add_scalar_mut(beta),
            None => {
                return Err(CostError::UnknownVariable {
                    name: name.clone(),
                    available: data.variable_names(),
                })
            }
        }
    }
    let t = log_t.map(f64::exp);
    // Overflow (or a domestic term that underflows to zero) is named by the coefficient
    // that drives it: `inf` alone names no input.
    for i in 0..n {
        for j in 0..n {
            let v = t[(i, j)];
            if v.is_finite() && (v > 0.0 || i != j) {
                continue;
            }
            let (name, beta, variable, z) = coefficients
                .iter()
                .map(|(name, &beta)| match data.variables.get(name) {
                    Some(m) => (name, beta, name.as_str(), m[(i, j)]),
                    None => (name, beta, "1", 1.0),
                })
                .max_by(|a, b| (a.1 * a.3).abs().total_cmp(&(b.1 * b.3).abs()))
                .expect("a non-finite cost has a coefficient");
            return Err(CostError::OutOfRange {
                pair: format!("{}->{}", data.economies.code(i), data.economies.code(j)),
                value: v,
                exponent: log_t[(i, j)],
                name: name.clone(),
                beta,
                term: if variable == "1" {
                    "1".to_owned()
                } else {
                    format!("{variable} = {}", number_text(z))
                },
            });
        }
    }
    Ok(t)
}

/// Costs backed out of observed flows so that the baseline reproduces them exactly:
/// `t_ij^(1-sigma) = X_ij Y / (Y_i E_j)` with `Y_i` and `E_j` the row and column sums of the
/// flows. With these costs every resistance power equals 1 and the modeled flows are the
/// observed ones (substitute into the resistance equations). Zero flows give zero terms,
/// i.e. prohibitive costs, and stay zero in every counterfactual.
pub fn costs_from_flows(data: &GravityData) -> Result<Matrix, CostError> {
    let x = &data.trade;
    let n = x.nrows();
    for i in 0..n {
        if x[(i, i)].is_nan() || x[(i, i)] <= 0.0 {
            return Err(CostError::NoDomesticFlow {
                code: data.economies.code(i).to_owned(),
            });
        }
    }
    let rows: Vec<f64> = (0..n).map(|i| x.row(i).sum()).collect();
    let cols: Vec<f64> = (0..n).map(|j| x.column(j).sum()).collect();
    let world: f64 = rows.iter().sum();
    Ok(Matrix::from_fn(n, n, |i, j| {
        x[(i, j)] * world / (rows[i] * cols[j])
    }))
}
