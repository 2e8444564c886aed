//! The output series of one run, by name, through the full result rows: the reference the
//! direct path ([`super::key::outputs_direct`], which Monte Carlo, calibration and sweeps
//! use) is checked against bit for bit.

use super::key::country_series;
use super::{key_series, run, run_years, RunError};
use crate::scenario::Scenario;

/// The output series of one run, named as [`super::series`] says: key series by year for a
/// yearly scenario; welfare, real GDP and foreign exports change of every economy for a
/// single counterfactual. The names are those of [`super::series::catalog`].
pub fn outputs(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, RunError> {
    if s.dynamics().is_some() {
        let r = run_years(s)?;
        Ok(key_series(&r, s)
            .into_iter()
            .map(|p| (p.series, Some(p.year), p.value))
            .collect())
    } else {
        Ok(country_series(&run(s)?))
    }
}
