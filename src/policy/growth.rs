//! `growth`: output and expenditure of some economies grow while the instrument is active.

use serde::Serialize;

use super::{percent_above, Act, Effect, Entry, Field, Instrument, Layers};

/// Output and expenditure of the economies grow by `rate` a year while the instrument is
/// active; the level reached stays after it ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Growth {
    pub(crate) economies: Vec<usize>,
    pub(crate) rate: f64,
    /// `percent` as written.
    #[serde(skip)]
    pub(crate) percent: f64,
}

/// Validates a `growth` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let economies = e.economies(Field::Economies);
    let percent = e.checked(Field::Percent, &percent_above)?;
    Some(Effect::Growth(Growth {
        economies,
        rate: percent / 100.0,
        percent,
    }))
}

impl Act for Growth {
    fn get(&self, field: Field) -> Option<f64> {
        (field == Field::Percent).then_some(self.percent)
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(percent_above(v))?;
        self.percent = v;
        self.rate = v / 100.0;
        Ok(())
    }

    fn apply(&self, ins: &Instrument, _: f64, l: &mut Layers) {
        // Compounds over the years after the base year in which it is active; the level it
        // reached stays after `end`.
        let years = (l.base_year + 1..=l.year)
            .filter(|&y| ins.intensity(y) > 0.0)
            .count();
        let years = i32::try_from(years).unwrap_or(i32::MAX);
        for &i in &self.economies {
            l.growth[i] *= (1.0 + self.rate).powi(years);
        }
    }
}
