//! `evasion_channel`: the detour premium of some routes moves to a new level, and the flows
//! on those routes may build up at a speed of their own.

use serde::Serialize;

use super::{in_range, Act, Effect, Entry, Field, Instrument, Layers};

/// Set the detour premium of routes from `origins` through `hubs` to `premium`; with
/// `opening_speed`, the flows on those routes close that share of their gap to the year's
/// equilibrium while they grow (instead of `years.adjustment`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evasion {
    pub(crate) hubs: Vec<usize>,
    pub(crate) origins: Vec<usize>,
    pub(crate) premium: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) opening_speed: Option<f64>,
}

fn check(v: f64) -> Vec<String> {
    in_range(v, 1.0, f64::MAX)
}

/// An opening speed: a share of the gap, in (0, 1].
fn check_speed(v: f64) -> Vec<String> {
    if v > 0.0 && v <= 1.0 {
        Vec::new()
    } else {
        vec![format!("must be in (0, 1], got {v}")]
    }
}

/// Validates an `evasion_channel` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let hubs = e.hubs();
    let origins = e.origins();
    let opening_speed = e.number(Field::OpeningSpeed);
    if let Some(v) = opening_speed {
        for m in check_speed(v) {
            e.problem(Field::OpeningSpeed, m);
        }
    }
    let premium = e.checked(Field::Premium, &check)?;
    Some(Effect::Evasion(Evasion {
        hubs,
        origins,
        premium,
        opening_speed,
    }))
}

impl Act for Evasion {
    fn get(&self, field: Field) -> Option<f64> {
        match field {
            Field::Premium => Some(self.premium),
            Field::OpeningSpeed => self.opening_speed,
            _ => None,
        }
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        if field == Field::OpeningSpeed {
            super::fail_on(check_speed(v))?;
            self.opening_speed = Some(v);
        } else {
            super::fail_on(check(v))?;
            self.premium = v;
        }
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
                    if self.opening_speed.is_some() {
                        l.opening[h][i] = self.opening_speed;
                    }
                }
            }
        }
    }
}
