//! `export_controls` and `link_friction`: a wedge on the direct route of some pairs.

use serde::Serialize;

use super::{percent_above, scaled, Act, Effect, Entry, Field, Instrument, Layers};

/// Multiply the direct-route wedge on `pairs` by `factor` (infinite: prohibitive). Pairs
/// inside an active customs union are exempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wedge {
    pub(crate) pairs: Vec<(usize, usize)>,
    #[serde(serialize_with = "super::factor_or_prohibitive")]
    pub(crate) factor: f64,
    /// `percent` as written; `None` for `prohibitive = true`.
    #[serde(skip)]
    pub(crate) percent: Option<f64>,
}

/// What is wrong with `percent = v`.
fn check_percent(v: f64) -> Vec<String> {
    let mut out = percent_above(v);
    if v < 0.0 {
        out.push(
            "a wedge raises costs: use demand_shift or a negative tariff shock for a cut".into(),
        );
    }
    out
}

/// Validates an `export_controls` or `link_friction` entry.
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let pairs = e.pairs();
    let percent = if e.flag(Field::Prohibitive) == Some(true) {
        if e.number(Field::Percent).is_some() {
            e.problem(
                Field::Percent,
                "give `percent` or `prohibitive = true`, not both".into(),
            );
        }
        None
    } else {
        Some(e.checked(Field::Percent, &check_percent)?)
    };
    Some(Effect::Wedge(Wedge {
        pairs,
        factor: percent.map_or(f64::INFINITY, |v| 1.0 + v / 100.0),
        percent,
    }))
}

impl Act for Wedge {
    fn get(&self, field: Field) -> Option<f64> {
        (field == Field::Percent).then_some(self.percent).flatten()
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check_percent(v))?;
        self.percent = Some(v);
        self.factor = 1.0 + v / 100.0;
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        if s == 0.0 {
            return;
        }
        for &(i, j) in &self.pairs {
            if l.union[(i, j)] == 0.0 {
                l.wedge[(i, j)] *= scaled(self.factor, s);
            }
        }
    }
}
