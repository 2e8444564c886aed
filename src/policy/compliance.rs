//! `compliance`: hubs intercept a share of re-exports.

use serde::Serialize;

use super::{in_range, Act, Effect, Entry, Field, Instrument, Layers};

/// Hubs intercept `share` of re-exports: the route's weight falls by `(1 - share)`, i.e.
/// its cost rises by `(1 - share)^(-1/theta)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compliance {
    pub(crate) hubs: Vec<usize>,
    pub(crate) share: f64,
}

fn check(v: f64) -> Vec<String> {
    in_range(v, 0.0, 1.0)
}

/// Validates a `compliance` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let hubs = e.hubs();
    let share = e.checked(Field::Share, &check)?;
    Some(Effect::Compliance(Compliance { hubs, share }))
}

impl Act for Compliance {
    fn get(&self, field: Field) -> Option<f64> {
        (field == Field::Share).then_some(self.share)
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check(v))?;
        self.share = v;
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        let kept = 1.0 - self.share * s;
        let factor = if kept <= 0.0 {
            f64::INFINITY
        } else {
            kept.powf(-1.0 / l.theta)
        };
        for &k in &self.hubs {
            if let Some(h) = l.hub_pos(k) {
                l.enforcement[h].apply(|v| *v *= factor);
            }
        }
    }
}
