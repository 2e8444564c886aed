//! The output series of one run, by name: what Monte Carlo draws summarise, calibration
//! fits to targets and sweeps report, all read through this one function.

use super::{key_series, run, run_years};
use crate::scenario::Scenario;

/// The output series of one run: key series by year for a yearly scenario; welfare, real
/// GDP and foreign exports change of every economy for a single counterfactual.
pub fn outputs(s: &Scenario) -> Result<Vec<(String, Option<i32>, f64)>, String> {
    if s.dynamics().is_some() {
        let r = run_years(s).map_err(|e| e.to_string())?;
        Ok(key_series(&r, s)
            .into_iter()
            .map(|p| (p.series, Some(p.year), p.value))
            .collect())
    } else {
        let r = run(s).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for c in &r.countries {
            out.push((
                format!("{} welfare_change_pct", c.country),
                None,
                c.welfare_change_pct,
            ));
            out.push((
                format!("{} real_gdp_change_pct", c.country),
                None,
                c.real_gdp_change_pct,
            ));
            out.push((
                format!("{} foreign_exports_change_pct", c.country),
                None,
                c.foreign_exports_change_pct,
            ));
        }
        Ok(out)
    }
}
