//! The output series of one run, by name: what Monte Carlo draws summarise, calibration
//! fits to targets and sweeps report, all read through this one function.

use super::series::{Series, COUNTRY_MEASURES};
use super::{key_series, run, run_years};
use crate::scenario::Scenario;

/// The output series of one run, named as [`super::series`] says: key series by year for a
/// yearly scenario; welfare, real GDP and foreign exports change of every economy for a
/// single counterfactual. The names are those of [`super::series::catalog`].
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
            let values = [
                c.welfare_change_pct,
                c.real_gdp_change_pct,
                c.foreign_exports_change_pct,
            ];
            for (measure, value) in COUNTRY_MEASURES.iter().zip(values) {
                let name = Series::Country {
                    country: c.country.clone(),
                    measure: (*measure).to_owned(),
                };
                out.push((name.name(), None, value));
            }
        }
        Ok(out)
    }
}
