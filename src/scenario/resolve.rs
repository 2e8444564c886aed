//! What both validators (`validate.rs` for the scenario, `dynamics.rs` for its years) share:
//! the list of problems found so far, and codes and groups resolved to positions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Problem, ScenarioError};
use crate::world::Economies;

/// Collects problems with their key paths.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// The error of a scenario with problems.
pub(crate) fn invalid(path: PathBuf, p: Problems) -> ScenarioError {
    ScenarioError::Invalid {
        path,
        problems: p.0,
    }
}

/// `[groups]` resolved to positions, recording unknown members.
pub(crate) fn resolve_groups(
    raw: &BTreeMap<String, Vec<String>>,
    economies: &Economies,
    p: &mut Problems,
) -> BTreeMap<String, Vec<usize>> {
    let mut out = BTreeMap::new();
    for (name, members) in raw {
        if economies.position(name).is_some() {
            p.add(
                format!("groups.{name}"),
                "a group cannot have the same name as an economy",
            );
        }
        let mut resolved = Vec::new();
        for (k, code) in members.iter().enumerate() {
            match economies.position(code) {
                Some(i) => resolved.push(i),
                None => p.add(
                    format!("groups.{name}[{k}]"),
                    format!("country `{code}` is not one of the economies"),
                ),
            }
        }
        out.insert(name.clone(), resolved);
    }
    out
}

/// Resolves a list of codes and group names to positions, recording unknown names.
pub(crate) fn resolve_set(
    names: &[String],
    field: &str,
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    p: &mut Problems,
) -> Vec<usize> {
    let mut out = Vec::new();
    for (k, name) in names.iter().enumerate() {
        if let Some(i) = economies.position(name) {
            out.push(i);
        } else if let Some(members) = groups.get(name) {
            out.extend(members);
        } else {
            p.add(
                format!("{field}[{k}]"),
                format!("`{name}` is neither an economy nor a group in `[groups]`"),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The bounds of the numbers a parameter path can set, shared by validation and by the
/// checked setters of [`super::Scenario`]: a drawn value is held to what a written one is.
/// Each returns what is wrong, if anything.
pub(crate) mod check {
    /// An elasticity of substitution: above 1.
    pub(crate) fn sigma(v: f64) -> Option<String> {
        (!(v > 1.0 && v.is_finite())).then(|| format!("must be greater than 1, got {v}"))
    }

    /// `[years] adjustment`: in (0, 1].
    pub(crate) fn adjustment(v: f64) -> Option<String> {
        (!(v > 0.0 && v <= 1.0)).then(|| format!("must be in (0, 1], got {v}"))
    }

    /// `routes.theta`: positive.
    pub(crate) fn theta(v: f64) -> Option<String> {
        (!(v > 0.0 && v.is_finite())).then(|| format!("must be a positive number, got {v}"))
    }

    /// `routes.premium`: at least 1.
    pub(crate) fn premium(v: f64) -> Option<String> {
        (!(v >= 1.0 && v.is_finite())).then(|| format!("a detour premium is at least 1 (a route via a hub never costs less than the direct one before wedges), got {v}"))
    }

    /// A share: in [0, 1].
    pub(crate) fn share(v: f64) -> Option<String> {
        (!(0.0..=1.0).contains(&v)).then(|| format!("a share must be in [0, 1], got {v}"))
    }

    /// `routes.margin`: a share of re-export value in [0, 1).
    pub(crate) fn margin(v: f64) -> Option<String> {
        (!(0.0..1.0).contains(&v)).then(|| format!("a margin must be in [0, 1), got {v}"))
    }

    /// A `[routes.geography]` coefficient: finite, at most 20 in size (a factor of e^20
    /// on a premium already rules a route out).
    pub(crate) fn geography(v: f64) -> Option<String> {
        if v.abs() <= 20.0 {
            None
        } else {
            Some(format!("must be a number in [-20, 20], got {v}"))
        }
    }

    /// A base-year cell's value (`data.cells`): positive and finite.
    pub(crate) fn cell(v: f64) -> Option<String> {
        (!(v > 0.0 && v.is_finite())).then(|| format!("must be a positive number, got {v}"))
    }

    /// `routes.link_factor`: positive.
    pub(crate) fn link_factor(v: f64) -> Option<String> {
        (!(v > 0.0 && v.is_finite())).then(|| format!("must be positive, got {v}"))
    }

    /// A cost coefficient: finite.
    pub(crate) fn coefficient(v: f64) -> Option<String> {
        (!v.is_finite()).then(|| format!("must be a finite number, got {v}"))
    }

    /// A shock's `value`: finite.
    pub(crate) fn shock_value(v: f64) -> Option<String> {
        (!v.is_finite()).then(|| format!("must be finite, got {v}"))
    }

    /// A shock's `factor`: positive.
    pub(crate) fn shock_factor(v: f64) -> Option<String> {
        (!(v > 0.0 && v.is_finite())).then(|| format!("must be a positive number, got {v}"))
    }

    /// A tariff's `percent`: above -100.
    pub(crate) fn tariff_percent(v: f64) -> Option<String> {
        (!(v > -100.0 && v.is_finite()))
            .then(|| format!("must be a finite number above -100, got {v}"))
    }
}
