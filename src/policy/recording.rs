//! `recording`: what a hub's customs record of the goods that pass through it, by origin
//! and direction, and what they never see ("lost in transit").

use serde::Serialize;

use super::{in_range, Act, Effect, Entry, Field, Instrument, Layers};

/// For transit from `origins` through `hubs`: the hub records `import_share` of it as
/// imports from the origin and `export_share` as exports to the final buyer, of the part
/// that is not lost in transit; `lost_share` never enters the hub's records at all (the
/// origin records it as exports to the hub, the hub neither as imports nor as exports).
/// `own_share` is the share of the hub's own purchases from the origins (their direct
/// shipments to it) that its customs record as imports: below 1 where imports are
/// under-declared or informal, a mirror gap that exists without any transit (it must be
/// positive: a base-year figure the hub recorded is divided by it).
/// A share not given keeps its value from before (the routes' `recorded_share`, 1 for
/// `own_share`, or an earlier instrument). Each share ramps linearly from its value before
/// to the new one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recording {
    pub(crate) hubs: Vec<usize>,
    pub(crate) origins: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) import_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) export_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lost_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) own_share: Option<f64>,
}

const FIELDS: [Field; 4] = [
    Field::ImportShare,
    Field::ExportShare,
    Field::LostShare,
    Field::OwnShare,
];

/// A share in [0, 1]; `own_share` in (0, 1].
fn check(field: Field, v: f64) -> Vec<String> {
    if field == Field::OwnShare && v == 0.0 {
        return vec![
            "must be above 0 (the hub's record of its own purchases is divided by it), got 0"
                .to_owned(),
        ];
    }
    in_range(v, 0.0, 1.0)
}

/// Validates a `recording` entry: at least one of the three shares, each in [0, 1].
pub(super) fn validate(e: &mut dyn Entry) -> Option<Effect> {
    let hubs = e.hubs();
    let origins = e.origins();
    let mut shares = [None; 4];
    for (slot, field) in shares.iter_mut().zip(FIELDS) {
        if let Some(v) = e.number(field) {
            for m in check(field, v) {
                e.problem(field, m);
            }
            *slot = Some(v);
        }
    }
    if shares.iter().all(Option::is_none) {
        e.problem(
            Field::ImportShare,
            "kind = \"recording\" needs at least one of `import_share`, `export_share`, `lost_share`, `own_share`"
                .to_owned(),
        );
        return None;
    }
    let [import_share, export_share, lost_share, own_share] = shares;
    Some(Effect::Recording(Recording {
        hubs,
        origins,
        import_share,
        export_share,
        lost_share,
        own_share,
    }))
}

impl Recording {
    fn slot(&mut self, field: Field) -> Option<&mut Option<f64>> {
        match field {
            Field::ImportShare => Some(&mut self.import_share),
            Field::ExportShare => Some(&mut self.export_share),
            Field::LostShare => Some(&mut self.lost_share),
            Field::OwnShare => Some(&mut self.own_share),
            _ => None,
        }
    }
}

impl Act for Recording {
    fn get(&self, field: Field) -> Option<f64> {
        match field {
            Field::ImportShare => self.import_share,
            Field::ExportShare => self.export_share,
            Field::LostShare => self.lost_share,
            Field::OwnShare => self.own_share,
            _ => None,
        }
    }

    fn set(&mut self, field: Field, v: f64) -> Result<(), Vec<String>> {
        super::refuse_unless(self.get(field).is_some(), field)?;
        super::fail_on(check(field, v))?;
        if let Some(slot) = self.slot(field) {
            *slot = Some(v);
        }
        Ok(())
    }

    fn apply(&self, _: &Instrument, s: f64, l: &mut Layers) {
        if s == 0.0 {
            return;
        }
        let ramp =
            |before: f64, new: Option<f64>| new.map_or(before, |v| before + (v - before) * s);
        for &k in &self.hubs {
            let Some(h) = l.hub_pos(k) else { continue };
            let rec = &mut l.recording[h];
            for &i in &self.origins {
                rec.imports[i] = ramp(rec.imports[i], self.import_share);
                rec.exports[i] = ramp(rec.exports[i], self.export_share);
                rec.lost[i] = ramp(rec.lost[i], self.lost_share);
                rec.own[i] = ramp(rec.own[i], self.own_share);
            }
        }
    }
}
