//! Sizes taken from input, checked before anything is allocated for them.
//!
//! A scenario, a sweep or a command line can ask for work whose size is a number the user
//! typed: years to simulate, grid points, draws. Each such number is checked here against
//! a documented limit first, so that a typo (`horizon = 1000000000`) is a located error
//! rather than an allocation that aborts the process. The limits are far above any real
//! use (listed with their reasons in `scenarios/README.md`, "Limits"); raising one is a
//! one-line change here.

use thiserror::Error;

/// Earliest base year (`[years] base`).
pub const MIN_BASE_YEAR: i64 = 1900;
/// Latest base year.
pub const MAX_BASE_YEAR: i64 = 2200;
/// Most years in `[years]`, base year and horizon included.
pub const MAX_YEARS: i64 = 200;
/// Most values on one sweep axis (`COUNT` of `PATH=LOW:HIGH:COUNT`).
pub const MAX_AXIS_COUNT: u64 = 10_000;
/// Most points in a sweep grid (the product of the axes' counts).
pub const MAX_GRID_POINTS: u64 = 1_000_000;
/// Most points of a Latin hypercube (`--lhs`).
pub const MAX_LHS_POINTS: u64 = 1_000_000;
/// Most Monte Carlo draws (`--draws`, and the draws a shard's record claims).
pub const MAX_DRAWS: u64 = 10_000_000;
/// Most shards a run may be split into (`--shard K/N`).
pub const MAX_SHARDS: u64 = 100_000;
/// Deepest chain of `extends` (a file, the one it extends, and so on).
pub const MAX_EXTENDS_DEPTH: usize = 64;
/// Most economies in a scenario (a dense `n x n` matrix per variable and sector).
pub const MAX_ECONOMIES: usize = 2_000;
/// Most sectors in a scenario (each its own gravity system).
pub const MAX_SECTORS: usize = 500;

/// Smallest total of the data's flows, outputs and expenditures: the gravity equations
/// multiply an output by an expenditure, and below `1e-150` (about the square root of the
/// smallest normal `f64`) the product underflows to zero whatever the units.
pub const MIN_DATA_TOTAL: f64 = 1e-150;
/// Largest such total (about the square root of the largest `f64`).
pub const MAX_DATA_TOTAL: f64 = 1e150;

/// A number beyond its limit, naming where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {value} {reason}")]
pub struct LimitError {
    /// Where the number came from: a key path (`years.horizon`) or a flag (`--draws`).
    pub field: String,
    /// The number as given.
    pub value: String,
    /// Why it is refused, with the limit.
    pub reason: String,
}

fn over(field: &str, value: impl ToString, reason: String) -> LimitError {
    LimitError {
        field: field.to_owned(),
        value: value.to_string(),
        reason,
    }
}

/// `[years]`: the base year in `MIN_BASE_YEAR..=MAX_BASE_YEAR` and at most `MAX_YEARS`
/// years from base to horizon. A horizon before the base year is not checked here (the
/// scenario's validation names that).
pub fn check_years(base: i64, horizon: i64) -> Result<(), LimitError> {
    if !(MIN_BASE_YEAR..=MAX_BASE_YEAR).contains(&base) {
        return Err(over(
            "years.base",
            base,
            format!("is outside the supported years {MIN_BASE_YEAR} to {MAX_BASE_YEAR}"),
        ));
    }
    if horizon >= base && horizon - base + 1 > MAX_YEARS {
        return Err(over(
            "years.horizon",
            horizon,
            format!(
                "is {} years from the base year {base}: at most {MAX_YEARS} years are simulated",
                horizon - base + 1
            ),
        ));
    }
    Ok(())
}

/// One sweep axis's `COUNT`, in `1..=MAX_AXIS_COUNT`.
pub fn check_axis_count(field: &str, count: u64) -> Result<(), LimitError> {
    if count > MAX_AXIS_COUNT {
        return Err(over(
            field,
            count,
            format!("values on one axis are more than the limit of {MAX_AXIS_COUNT}"),
        ));
    }
    Ok(())
}

/// Points of the full grid over axes with these counts: their product, at most
/// `MAX_GRID_POINTS` (an overflowing product is an error too).
pub fn grid_points(counts: &[u64]) -> Result<u64, LimitError> {
    let shown = counts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" x ");
    let product = counts
        .iter()
        .try_fold(1u64, |acc, &c| acc.checked_mul(c))
        .filter(|&p| p <= MAX_GRID_POINTS);
    product.ok_or_else(|| {
        over(
            "--param",
            shown,
            format!(
                "grid points are more than the limit of {MAX_GRID_POINTS} (use --lhs N for a sample)"
            ),
        )
    })
}

/// `--lhs N`: at least 1 and at most `MAX_LHS_POINTS`.
pub fn check_lhs(n: u64) -> Result<(), LimitError> {
    if n == 0 {
        return Err(over("--lhs", n, "points: needs at least one".into()));
    }
    if n > MAX_LHS_POINTS {
        return Err(over(
            "--lhs",
            n,
            format!("points are more than the limit of {MAX_LHS_POINTS}"),
        ));
    }
    Ok(())
}

/// `--draws N`: at most `MAX_DRAWS` (zero draws is the caller's to refuse or allow).
pub fn check_draws(n: u64) -> Result<(), LimitError> {
    if n > MAX_DRAWS {
        return Err(over(
            "--draws",
            n,
            format!("draws are more than the limit of {MAX_DRAWS}"),
        ));
    }
    Ok(())
}

/// `--shard K/N`: `1 <= K <= N <= MAX_SHARDS`.
pub fn check_shard(k: u64, n: u64) -> Result<(), LimitError> {
    if n > MAX_SHARDS {
        return Err(over(
            "--shard",
            format!("{k}/{n}"),
            format!("has more shards than the limit of {MAX_SHARDS}"),
        ));
    }
    if n == 0 || k == 0 || k > n {
        return Err(over(
            "--shard",
            format!("{k}/{n}"),
            "is not a shard: need 1 <= K <= N".into(),
        ));
    }
    Ok(())
}

/// Economies in a scenario: at most `MAX_ECONOMIES`.
pub fn check_economies(field: &str, n: usize) -> Result<(), LimitError> {
    if n > MAX_ECONOMIES {
        return Err(over(
            field,
            n,
            format!("economies are more than the limit of {MAX_ECONOMIES}"),
        ));
    }
    Ok(())
}

/// Sectors in a scenario: at most `MAX_SECTORS`.
pub fn check_sectors(n: usize) -> Result<(), LimitError> {
    if n > MAX_SECTORS {
        return Err(over(
            "sectors",
            n,
            format!("sectors are more than the limit of {MAX_SECTORS}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_at_the_edges() {
        assert!(check_years(1900, 2099).is_ok());
        assert!(check_years(1900, 2100).is_err());
        assert!(check_years(1899, 1900).is_err());
        assert!(check_years(-5, 2000).is_err());
        assert_eq!(grid_points(&[1000, 1000]), Ok(1_000_000));
        assert!(grid_points(&[1000, 1001]).is_err());
        assert!(grid_points(&[u64::MAX, u64::MAX]).is_err());
        assert!(check_shard(1, MAX_SHARDS).is_ok());
        assert!(check_shard(1, MAX_SHARDS + 1).is_err());
        assert!(check_shard(3, 2).is_err());
        assert!(check_draws(MAX_DRAWS).is_ok() && check_draws(u64::MAX).is_err());
        assert!(check_lhs(0).is_err() && check_lhs(MAX_LHS_POINTS + 1).is_err());
    }
}
