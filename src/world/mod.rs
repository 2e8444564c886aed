//! World data: the economies of a model, bilateral matrices and the observed data a
//! gravity system is built from.
//!
//! Orientation, everywhere in tradeflow: a [`Matrix`] has one row per exporter `i` and one
//! column per importer `j`, so `m[(i, j)]` is the flow (or cost) from `i` to `j`, and the
//! diagonal holds domestic sales. Indices are positions in [`Economies`].

mod gegravity_csv;
mod synthetic;

use std::collections::{BTreeMap, HashMap};

use nalgebra::{DMatrix, DVector};

pub use gegravity_csv::{load_gegravity_csv, DataError};
pub use synthetic::synthetic_economy;

/// A dense bilateral matrix: rows are exporters, columns importers.
pub type Matrix = DMatrix<f64>;
/// One value per economy, in the order of [`Economies`].
pub type Vector = DVector<f64>;

/// An economy code given twice where codes must be distinct ([`Economies::new`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is listed twice")]
pub struct DuplicateCode(pub String);

/// The ordered set of economies in a model, with a lookup from code to position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Economies {
    codes: Vec<String>,
    index: HashMap<String, usize>,
}

impl Economies {
    /// Builds the set from codes in the order given; the first repeated code is the error.
    pub fn new<I, S>(codes: I) -> Result<Self, DuplicateCode>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Economies {
            codes: Vec::new(),
            index: HashMap::new(),
        };
        for code in codes {
            let code = code.into();
            if out.index.contains_key(&code) {
                return Err(DuplicateCode(code));
            }
            out.index.insert(code.clone(), out.codes.len());
            out.codes.push(code);
        }
        Ok(out)
    }

    /// Number of economies.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when there is no economy.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Position of a code, if it is one of the economies.
    pub fn position(&self, code: &str) -> Option<usize> {
        self.index.get(code).copied()
    }

    /// The code at a position.
    pub fn code(&self, i: usize) -> &str {
        &self.codes[i]
    }

    /// All codes in order.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }
}

/// Observed data for one year: flows, output, expenditure and trade-cost variables.
#[derive(Debug, Clone)]
pub struct GravityData {
    /// The economies, in matrix order.
    pub economies: Economies,
    /// Observed flows `X_ij`, including domestic sales on the diagonal.
    pub trade: Matrix,
    /// Output `Y_i` of each exporter.
    pub output: Vector,
    /// Expenditure `E_j` of each importer.
    pub expenditure: Vector,
    /// Trade-cost variables `z_ijk` by name (distance, contiguity, agreements, ...).
    pub variables: BTreeMap<String, Matrix>,
}

impl GravityData {
    /// The names of the cost variables, comma-separated, or `none`, for messages.
    pub fn variable_names(&self) -> String {
        if self.variables.is_empty() {
            "none".to_owned()
        } else {
            self.variables
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// Data from a flow matrix alone: output and expenditure are its row and column sums,
    /// so the data add up exactly.
    pub fn from_flows(economies: Economies, trade: Matrix) -> Self {
        let n = economies.len();
        let output = Vector::from_fn(n, |i, _| trade.row(i).sum());
        let expenditure = Vector::from_fn(n, |j, _| trade.column(j).sum());
        GravityData {
            economies,
            trade,
            output,
            expenditure,
            variables: BTreeMap::new(),
        }
    }
}
