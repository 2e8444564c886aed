//! `customs_union`: no wedge between members; re-exports between members recorded at the
//! hub's recorded share.

use serde::Serialize;

use super::{Act, Effect, Entry, Field, Instrument, Layers};
use crate::world::Matrix;

/// A customs union: no wedge between members, and re-exports crossing from a member hub to
/// a member target are recorded only at the hub's recorded share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomsUnion {
    pub(crate) members: Vec<usize>,
}

/// Validates a `customs_union` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    Some(Effect::CustomsUnion(CustomsUnion {
        members: e.economies(Field::Members),
    }))
}

impl Act for CustomsUnion {
    fn get(&self, _: Field) -> Option<f64> {
        None
    }

    fn set(&mut self, field: Field, _: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(false, field)
    }

    fn union(&self, ins: &Instrument, year: i32, union: &mut Matrix) {
        if ins.intensity(year) > 0.0 {
            for &a in &self.members {
                for &b in &self.members {
                    union[(a, b)] = 1.0;
                }
            }
        }
    }

    fn apply(&self, _: &Instrument, _: f64, _: &mut Layers) {}
}
