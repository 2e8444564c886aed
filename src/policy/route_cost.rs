//! `secondary_sanctions`: routes through some hubs cost more.

use serde::Serialize;

use super::{in_range, scaled, Act, Effect, Entry, Field, Instrument, Layers};

/// Multiply the cost of routes from `origins` through `hubs` into the target by `factor`
/// (`1 + probability x penalty`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteCost {
    pub(crate) hubs: Vec<usize>,
    pub(crate) origins: Vec<usize>,
    pub(crate) factor: f64,
    #[serde(skip)]
    pub(crate) probability: f64,
    #[serde(skip)]
    pub(crate) penalty_percent: f64,
}

fn check(field: Field, v: f64) -> Vec<String> {
    match field {
        Field::Probability => in_range(v, 0.0, 1.0),
        _ => in_range(v, 0.0, f64::MAX),
    }
}

impl RouteCost {
    /// `1 + probability x penalty / 100`.
    fn factor(probability: f64, penalty_percent: f64) -> f64 {
        1.0 + probability * penalty_percent / 100.0
    }
}

/// Validates a `secondary_sanctions` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let hubs = e.hubs();
    let origins = e.origins();
    let probability = e.checked(Field::Probability, &|v| check(Field::Probability, v));
    let penalty_percent = e.checked(Field::PenaltyPercent, &|v| check(Field::PenaltyPercent, v));
    let (probability, penalty_percent) = (probability?, penalty_percent?);
    Some(Effect::RouteCost(RouteCost {
        hubs,
        origins,
        factor: RouteCost::factor(probability, penalty_percent),
        probability,
        penalty_percent,
    }))
}

impl Act for RouteCost {
    fn get(&self, field: Field) -> Option<f64> {
        match field {
            Field::Probability => Some(self.probability),
            Field::PenaltyPercent => Some(self.penalty_percent),
            _ => None,
        }
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check(field, v))?;
        match field {
            Field::Probability => self.probability = v,
            _ => self.penalty_percent = v,
        }
        self.factor = RouteCost::factor(self.probability, self.penalty_percent);
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        for (&k, &i) in self
            .hubs
            .iter()
            .flat_map(|k| self.origins.iter().map(move |i| (k, i)))
        {
            if let (Some(h), Some(r)) = (l.hub_pos(k), l.routes) {
                l.enforcement[h][(i, r.target)] *= scaled(self.factor, s);
            }
        }
    }
}
