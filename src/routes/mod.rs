//! Routes: where re-exports come from (DESIGN layer 3). Pure math, no I/O.
//!
//! Goods from origin `i` to final buyer `j` travel over one of several routes `r`, each with
//! a cost `c_r`. Route choice is Frechet with shape `theta > 0` (Eaton and Kortum 2002;
//! Allen and Arkolakis 2022), so
//!
//! ```text
//! share_r = c_r^-theta / sum_r' c_r'^-theta
//! tau_ij  = (sum_r c_r^-theta)^(-1/theta)          (effective cost that enters gravity)
//! ```
//!
//! Two ways to price routes:
//!
//! - [`detour`] (the detour form, default for sanctions work): the direct route costs
//!   `t_ij * w_ij` (`w` the policy wedge on the direct link) and the route through an
//!   intermediary `k` costs `t_ij * m_ikj` (`m = lambda * e`, detour premium times evasion
//!   cost), one [`Via`] per intermediary. It returns a [`Routing`]: effective costs and the
//!   share of each route. [`route_flows`] then splits final-destination flows `X_ij` over
//!   those routes ([`RouteFlows`]), from which come physical shipments per link
//!   ([`RouteFlows::link_flows`]), transit into each hub and re-exports out of it.
//! - [`network`] (the network form, Allen and Arkolakis 2022): a graph of link costs
//!   `kappa_kl`; every walk through the graph is a route, and the sum over walks is
//!   `(I - A)^-1` with `A_kl = kappa_kl^-theta`. It returns a [`NetworkRouting`] whose
//!   [`NetworkRouting::link_flows`] gives the expected traffic on each link.
//!
//! Orientation as everywhere in tradeflow ([`crate::world`]): rows are origins (exporters)
//! `i`, columns destinations (importers) `j`; indices are positions in the economies.
//!
//! Effective costs are levels `tau_ij`; the gravity core ([`crate::gravity`]) takes costs
//! as `tau_ij^(1-sigma)`, so a caller passes `tau.map(|v| v.powf(1.0 - sigma))` (a closed
//! pair, `tau = +inf`, becomes 0, i.e. no trade). With no intermediaries the detour form
//! returns `tau = t * w` exactly, so direct-only routing reproduces plain gravity.

mod detour;
mod network;

use thiserror::Error;

pub(crate) use detour::row_sums;
pub use detour::{detour, route_flows, RouteFlows, Routing, Via};
pub use network::{network, NetworkRouting};

/// Bad inputs to the route kernels, or a network whose sum over paths diverges. Economies
/// are named by their position (row/column index); the caller maps them to codes.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RouteError {
    /// A matrix does not have the expected shape.
    #[error("{what} must be {expected}x{expected}, got {rows}x{cols}")]
    Shape {
        what: String,
        expected: usize,
        rows: usize,
        cols: usize,
    },
    /// The route-choice shape is not a positive finite number.
    #[error("route-choice shape theta must be positive and finite, got {theta}")]
    Theta { theta: f64 },
    /// A base trade cost is not positive and finite.
    #[error("trade cost t for {i}->{j} must be positive and finite, got {value}")]
    Cost { i: usize, j: usize, value: f64 },
    /// A policy wedge is below 1 or NaN.
    #[error(
        "policy wedge w for {i}->{j} must be at least 1, or +inf for a closed link, got {value}"
    )]
    Wedge { i: usize, j: usize, value: f64 },
    /// A via entry names a hub that is not one of the economies.
    #[error("via entry {via} names hub {hub}, but there are only {n} economies (0..{n})")]
    Hub { via: usize, hub: usize, n: usize },
    /// A route multiplier is zero, negative or NaN.
    #[error(
        "route multiplier m for {i}->{j} via hub {hub} (via entry {via}) must be positive, \
         or +inf for a route not offered, got {value}"
    )]
    Multiplier {
        via: usize,
        hub: usize,
        i: usize,
        j: usize,
        value: f64,
    },
    /// A link cost of the network form is zero, negative or NaN.
    #[error("link cost kappa for {k}->{l} must be positive, or +inf for no link, got {value}")]
    LinkCost { k: usize, l: usize, value: f64 },
    /// A final-destination flow is negative or not finite.
    #[error("final flow X for {i}->{j} must be finite and non-negative, got {value}")]
    Flow { i: usize, j: usize, value: f64 },
    /// A pair has a positive flow but every route between them is closed.
    #[error("final flow X for {i}->{j} is {value}, but every route from {i} to {j} is closed")]
    NoRoute { i: usize, j: usize, value: f64 },
    /// The spectral radius of `A = kappa^-theta` is not below 1.
    #[error(
        "the spectral radius of A = kappa^-theta is {rho}, not below 1: the sum over paths \
         (I - A)^-1 = I + A + A^2 + ... diverges; link costs kappa are too low for theta \
         (raise kappa, raise theta, or remove links)"
    )]
    SpectralRadius { rho: f64 },
}

impl RouteError {
    /// The message with economies named by their codes instead of their positions.
    pub fn named(&self, economies: &crate::world::Economies) -> String {
        let c = |i: usize| {
            if i < economies.len() {
                economies.code(i).to_owned()
            } else {
                i.to_string()
            }
        };
        match *self {
            RouteError::Cost { i, j, value } => {
                format!("trade cost t for {}->{} must be positive and finite, got {value}", c(i), c(j))
            }
            RouteError::Wedge { i, j, value } => format!(
                "policy wedge w for {}->{} must be at least 1, or +inf for a closed link, got {value}",
                c(i),
                c(j)
            ),
            RouteError::Multiplier { hub, i, j, value, .. } => format!(
                "route multiplier m for {}->{} via {} must be positive, or +inf for a route not offered, got {value}",
                c(i),
                c(j),
                c(hub)
            ),
            RouteError::LinkCost { k, l, value } => format!(
                "link cost kappa for {}->{} must be positive, or +inf for no link, got {value}",
                c(k),
                c(l)
            ),
            RouteError::Flow { i, j, value } => format!(
                "final flow X for {}->{} must be finite and non-negative, got {value}",
                c(i),
                c(j)
            ),
            RouteError::NoRoute { i, j, value } => format!(
                "final flow X for {}->{} is {value}, but every route from {} to {} is closed",
                c(i),
                c(j),
                c(i),
                c(j)
            ),
            _ => self.to_string(),
        }
    }
}

/// Checks the route-choice shape: `theta > 0` and finite.
fn check_theta(theta: f64) -> Result<(), RouteError> {
    if theta > 0.0 && theta.is_finite() {
        Ok(())
    } else {
        Err(RouteError::Theta { theta })
    }
}

/// Checks that `m` is `n x n`.
fn check_shape(
    what: impl FnOnce() -> String,
    m: &crate::world::Matrix,
    n: usize,
) -> Result<(), RouteError> {
    if m.shape() == (n, n) {
        Ok(())
    } else {
        Err(RouteError::Shape {
            what: what(),
            expected: n,
            rows: m.nrows(),
            cols: m.ncols(),
        })
    }
}

/// Checks final-destination flows: `n x n`, finite and non-negative.
fn check_flows(x: &crate::world::Matrix, n: usize) -> Result<(), RouteError> {
    check_shape(|| "final flows X".to_owned(), x, n)?;
    for j in 0..n {
        for i in 0..n {
            let value = x[(i, j)];
            if !(value.is_finite() && value >= 0.0) {
                return Err(RouteError::Flow { i, j, value });
            }
        }
    }
    Ok(())
}
