//! `investment`: capital on links lowers their cost.

use serde::Serialize;

use super::{in_range, Act, Effect, Entry, Field, Instrument, Layers};

/// Investment on links: capital stock `K(y) = stock + annual * (y - start)` lowers their
/// cost as `t = t0 (1 + K / k_ref)^-eta` (relative to the base year).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Investment {
    pub(crate) pairs: Vec<(usize, usize)>,
    pub(crate) stock: f64,
    pub(crate) annual: f64,
    pub(crate) k_ref: f64,
    pub(crate) eta: f64,
}

fn check(field: Field, v: f64) -> Vec<String> {
    match field {
        Field::KRef if !(v > 0.0 && v.is_finite()) => vec![format!("must be positive, got {v}")],
        Field::KRef => Vec::new(),
        Field::Eta => in_range(v, 0.0, 10.0),
        _ => in_range(v, 0.0, f64::MAX),
    }
}

/// Validates an `investment` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let pairs = e.pairs();
    let mut value = |f: Field| e.checked(f, &|v| check(f, v));
    let stock = value(Field::Stock);
    let annual = value(Field::Annual);
    let k_ref = value(Field::KRef);
    let eta = value(Field::Eta);
    Some(Effect::Investment(Investment {
        pairs,
        stock: stock?,
        annual: annual?,
        k_ref: k_ref?,
        eta: eta?,
    }))
}

impl Investment {
    fn slot(&mut self, field: Field) -> Option<&mut f64> {
        match field {
            Field::Stock => Some(&mut self.stock),
            Field::Annual => Some(&mut self.annual),
            Field::KRef => Some(&mut self.k_ref),
            Field::Eta => Some(&mut self.eta),
            _ => None,
        }
    }
}

impl Act for Investment {
    fn get(&self, field: Field) -> Option<f64> {
        match field {
            Field::Stock => Some(self.stock),
            Field::Annual => Some(self.annual),
            Field::KRef => Some(self.k_ref),
            Field::Eta => Some(self.eta),
            _ => None,
        }
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check(field, v))?;
        if let Some(slot) = self.slot(field) {
            *slot = v;
        }
        Ok(())
    }

    fn apply(&self, ins: &Instrument, _: f64, l: &mut Layers) {
        let k_at = |y: i32| {
            if y < ins.start {
                0.0
            } else {
                self.stock + self.annual * f64::from(y - ins.start)
            }
        };
        let f = ((1.0 + k_at(l.year) / self.k_ref) / (1.0 + k_at(l.base_year) / self.k_ref))
            .powf(-self.eta);
        for &(i, j) in &self.pairs {
            l.cost[(i, j)] *= f;
        }
    }
}
