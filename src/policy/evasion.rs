//! `evasion_channel`: the detour premium of some routes moves to a new level.

use serde::Serialize;

use super::{in_range, Act, Effect, Entry, Field, Instrument, Layers};

/// Set the detour premium of routes from `origins` through `hubs` to `premium`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evasion {
    pub(crate) hubs: Vec<usize>,
    pub(crate) origins: Vec<usize>,
    pub(crate) premium: f64,
}

fn check(v: f64) -> Vec<String> {
    in_range(v, 1.0, f64::MAX)
}

/// Validates an `evasion_channel` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let hubs = e.hubs();
    let origins = e.origins();
    let premium = e.checked(Field::Premium, &check)?;
    Some(Effect::Evasion(Evasion {
        hubs,
        origins,
        premium,
    }))
}

impl Act for Evasion {
    fn get(&self, field: Field) -> Option<f64> {
        (field == Field::Premium).then_some(self.premium)
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check(v))?;
        self.premium = v;
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        if s == 0.0 {
            return;
        }
        for &k in &self.hubs {
            if let (Some(h), Some(r)) = (l.hub_pos(k), l.routes) {
                for &i in &self.origins {
                    let v = &mut l.premium[h][(i, r.target)];
                    if v.is_finite() {
                        // Geometric ramp from the premium before to the new one.
                        *v *= (self.premium / *v).powf(s);
                    }
                }
            }
        }
    }
}
