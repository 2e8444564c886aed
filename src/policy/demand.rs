//! `demand_shift`: buyers turn toward or away from some exporters.

use serde::Serialize;

use super::{percent_above, scaled, Act, Effect, Entry, Field, Instrument, Layers};

/// Buyers in the importers turn toward (factor > 1) or away from (< 1) the exporters,
/// beyond what prices explain: `t^(1-sigma)` of the pairs times `factor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    pub(crate) pairs: Vec<(usize, usize)>,
    pub(crate) factor: f64,
    /// `percent` as written.
    #[serde(skip)]
    pub(crate) percent: f64,
}

/// Validates a `demand_shift` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let pairs = e.pairs();
    let percent = e.checked(Field::Percent, &percent_above)?;
    Some(Effect::Demand(Demand {
        pairs,
        factor: 1.0 + percent / 100.0,
        percent,
    }))
}

impl Act for Demand {
    fn get(&self, field: Field) -> Option<f64> {
        (field == Field::Percent).then_some(self.percent)
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(percent_above(v))?;
        self.percent = v;
        self.factor = 1.0 + v / 100.0;
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        for &(i, j) in &self.pairs {
            l.demand[(i, j)] *= scaled(self.factor, s);
        }
    }
}
