//! Parameter paths: a number of a scenario, addressed by a dotted path, for calibration,
//! Monte Carlo and sweeps.
//!
//! `sigma`, `routes.theta`, `years.adjustment`, `costs.coefficients.pta`,
//! `routes.recorded_share.KGZ`: table keys. In an array of tables, a segment picks the
//! entry whose `id` (instruments) or `name` (sectors) it equals, or an index in brackets:
//! `instruments.turn_to_china.percent`, `sectors.controlled.sigma`, `instruments[3].share`,
//! `shocks[0].factor`.
//!
//! A path is resolved once, against the validated scenario ([`Scenario::param`]), into a
//! [`Param`]: the number exists and its bounds are known. Values are then set through
//! [`Scenario::with_params`], which re-checks only what each parameter touches (a sigma
//! above 1, a share in [0, 1], a premium of at least 1) and returns a new scenario or an
//! error naming the path and the value: a draw, a sweep point or a calibration step never
//! re-reads or re-validates the file. [`ParamPath::get`] and [`ParamPath::set`] address the
//! merged TOML table instead, for writing a fitted value back into a file.

use std::fmt;

use thiserror::Error;
use toml::{Table, Value};

use super::resolve::check;
use super::{CostChange, Problem, Scenario, ScenarioError, Shock};
use crate::gravity::SolverOptions;
use crate::policy::Field;

/// Why a path names no number that can be read, set, drawn, swept or fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    /// Empty, or with an empty segment.
    #[error("`{text}` is not a parameter path (keys joined by dots)")]
    Syntax { text: String },
    /// The walk along the path found nothing at some step.
    #[error("`{path}` names no parameter: {missing}")]
    Missing { path: ParamPath, missing: Missing },
    /// The path names a value that is not a number (a table, a string).
    #[error("`{path}` is not a number (found {found})")]
    NotANumber { path: ParamPath, found: String },
    /// A year or a count: `what` names it (``a year (`years.base`)``).
    #[error("`{path}` is {what}, a whole number: it cannot be drawn, swept or fitted")]
    WholeNumber { path: ParamPath, what: String },
    /// A path of no settable kind; the message lists what can be set.
    #[error("`{path}` names no parameter of this scenario that can be drawn, swept or fitted ({SETTABLE})")]
    NotSettable { path: ParamPath },
}

/// What the walk along a path did not find ([`ParamError::Missing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No key or index: the path up to it (`routes.thetaa`, `shocks[4]`).
    Key(String),
    /// No entry of the array `within` whose `id` or `name` is `key`.
    Entry { key: String, within: String },
    /// `at` holds `found`, not a table to walk into.
    NotATable { at: String, found: String },
    /// The table `key` to add a value under is something else.
    KeyNotATable(String),
    /// `sigma` in a scenario with `[[sectors]]`, where each sector has its own.
    SectorSigmas,
    /// A sector's field other than `sigma`.
    SectorField,
    /// `routes.recorded_share.<code>` with a code that is not an intermediary.
    NotAHub(String),
    /// No instrument with this id (or index).
    Instrument(String),
    /// `data.cells.<pair>` with a pair that is not an imputed foreign cell of the world.
    NotImputed(String),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Key(here) => write!(f, "no `{here}`"),
            Missing::Entry { key, within } => {
                write!(f, "no entry with id or name `{key}` in `{within}`")
            }
            Missing::NotATable { at, found } => write!(f, "`{at}` is {found}, not a table"),
            Missing::KeyNotATable(key) => write!(f, "`{key}` is not a table"),
            Missing::SectorSigmas => {
                f.write_str("each of `[[sectors]]` has its own (`sectors.<name>.sigma`)")
            }
            Missing::SectorField => f.write_str("a sector's number is its `sigma`"),
            Missing::NotAHub(code) => write!(f, "`{code}` is not one of `routes.intermediaries`"),
            Missing::NotImputed(pair) => write!(
                f,
                "`{pair}` is not an imputed cell of the world (`EXPORTER-IMPORTER`, two codes of the data; reported cells are data, not parameters)"
            ),
            Missing::Instrument(id) => {
                write!(
                    f,
                    "no instrument with id `{id}` (or index) in `instruments`"
                )
            }
        }
    }
}

/// A validated path (syntax only; whether it names a number is checked against a table).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ParamPath(String);

impl fmt::Display for ParamPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ParamPath {
    /// Parses a path; an empty path or an empty segment is an error.
    pub fn parse(text: &str) -> Result<ParamPath, ParamError> {
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(ParamError::Syntax {
                text: text.to_owned(),
            });
        }
        Ok(ParamPath(text.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn segments(&self) -> Vec<(String, Option<usize>)> {
        self.0
            .split('.')
            .map(|seg| match seg.find('[') {
                Some(k) if seg.ends_with(']') => {
                    (seg[..k].to_owned(), seg[k + 1..seg.len() - 1].parse().ok())
                }
                _ => (seg.to_owned(), None),
            })
            .collect()
    }

    /// The number at this path in `table`.
    pub fn get(&self, table: &Table) -> Result<f64, ParamError> {
        let mut root = Value::Table(table.clone());
        let v = self.locate(&mut root)?;
        number(v).ok_or_else(|| self.not_a_number(v))
    }

    fn not_a_number(&self, found: &Value) -> ParamError {
        ParamError::NotANumber {
            path: self.clone(),
            found: found.to_string(),
        }
    }

    fn missing(&self, missing: Missing) -> ParamError {
        ParamError::Missing {
            path: self.clone(),
            missing,
        }
    }

    /// Sets the number at this path in `table`; the field must exist and be a number.
    pub fn set(&self, table: &mut Table, value: f64) -> Result<(), ParamError> {
        let mut root = Value::Table(std::mem::take(table));
        let result = (|| {
            let v = self.locate(&mut root)?;
            if number(v).is_none() {
                return Err(self.not_a_number(v));
            }
            *v = Value::Float(value);
            Ok(())
        })();
        if let Value::Table(t) = root {
            *table = t;
        }
        result
    }

    /// As [`ParamPath::set`], adding the key when a path of plain table keys
    /// (`years.adjustment`, `routes.recorded_share.KGZ`) names a number the file leaves at
    /// its default: what writing a fitted value back needs.
    pub fn set_or_insert(&self, table: &mut Table, value: f64) -> Result<(), ParamError> {
        let segs = self.segments();
        if self.set(table, value).is_ok() || segs.iter().any(|(_, i)| i.is_some()) {
            return self.set(table, value);
        }
        let mut node = table;
        for (key, _) in &segs[..segs.len() - 1] {
            node = node
                .entry(key.clone())
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .ok_or_else(|| self.missing(Missing::KeyNotATable(key.clone())))?;
        }
        let last = &segs[segs.len() - 1].0;
        match node.get(last) {
            Some(v) if number(v).is_none() => Err(self.not_a_number(v)),
            _ => {
                node.insert(last.clone(), Value::Float(value));
                Ok(())
            }
        }
    }

    fn locate<'a>(&self, root: &'a mut Value) -> Result<&'a mut Value, ParamError> {
        let mut node = root;
        let mut walked = String::new();
        for (key, index) in self.segments() {
            let here = if walked.is_empty() {
                key.clone()
            } else {
                format!("{walked}.{key}")
            };
            node = match node {
                Value::Table(t) => t
                    .get_mut(&key)
                    .ok_or_else(|| self.missing(Missing::Key(here.clone())))?,
                Value::Array(items) => {
                    let pos = items.iter().position(|item| {
                        ["id", "name"]
                            .iter()
                            .any(|k| item.get(k).and_then(Value::as_str) == Some(key.as_str()))
                    });
                    let pos = pos.ok_or_else(|| {
                        self.missing(Missing::Entry {
                            key: key.clone(),
                            within: walked.clone(),
                        })
                    })?;
                    &mut items[pos]
                }
                other => {
                    return Err(self.missing(Missing::NotATable {
                        at: walked.clone(),
                        found: other.to_string(),
                    }))
                }
            };
            if let Some(i) = index {
                node = match node {
                    Value::Array(items) if i < items.len() => &mut items[i],
                    _ => return Err(self.missing(Missing::Key(format!("{here}[{i}]")))),
                };
            }
            walked = here;
        }
        Ok(node)
    }
}

/// A parameter of a validated scenario: a path resolved once (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    path: ParamPath,
    target: Target,
}

/// Which number a [`Param`] is.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// The top-level sigma (with `[years]`, also the sector `all`'s).
    Sigma,
    /// `sectors.<name>.sigma`.
    SectorSigma(usize),
    Adjustment,
    ClosingSpeed,
    Theta,
    Premium,
    LinkFactor,
    /// `routes.recorded_share.<code>`: position among the hubs.
    RecordedShare(usize),
    /// `routes.geography.<distance|no_border|outside_union>`: 0, 1, 2.
    Geography(usize),
    /// `routes.margin.<code>`: position among the hubs.
    Margin(usize),
    /// `data.cells.<EXP-IMP>`: an imputed cell of the world (exporter, importer).
    Cell(usize, usize),
    Coefficient(String),
    Tolerance,
    /// A shock's `value`, `factor` (cost factors) or `percent` (tariffs).
    ShockNumber(usize),
    /// A number of an instrument.
    Instrument(usize, Field),
}

impl Param {
    /// The path as written.
    pub fn path(&self) -> &ParamPath {
        &self.path
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)
    }
}

/// The coefficients of `[routes.geography]`, in [`Target::Geography`]'s order.
const GEOGRAPHY: [&str; 3] = ["distance", "no_border", "outside_union"];

/// What can be set, for the message of a path that names nothing settable.
const SETTABLE: &str = "sigma, sectors.<name>.sigma, years.adjustment, years.closing_speed, routes.theta, routes.premium, routes.link_factor, routes.recorded_share.<code>, routes.geography.<distance|no_border|outside_union>, routes.margin.<code>, data.cells.<EXP-IMP> (an imputed cell), costs.coefficients.<name>, solver.tolerance, shocks[<k>].<value|factor|percent>, instruments.<id>.<number>";

impl Scenario {
    /// Resolves `path` against this scenario: an error unless it names a number that can
    /// be drawn, swept or fitted.
    pub fn param(&self, path: &ParamPath) -> Result<Param, ParamError> {
        let segs = path.segments();
        let no = |here: &str| path.missing(Missing::Key(here.to_owned()));
        let whole = |what: &str| ParamError::WholeNumber {
            path: path.clone(),
            what: what.to_owned(),
        };
        let keys: Vec<(&str, Option<usize>)> = segs.iter().map(|(k, i)| (k.as_str(), *i)).collect();
        let d = self.dynamics.as_ref();
        let routes = d.and_then(|d| d.routes.as_ref());
        let target = match keys.as_slice() {
            [("sigma", None)] if self.top_sigma => Target::Sigma,
            [("sigma", None)] => return Err(path.missing(Missing::SectorSigmas)),
            [("sectors", index), rest @ ..] if !self.top_sigma => {
                let sectors = d.map(|d| d.sectors.as_slice()).unwrap_or_default();
                let (k, here) = match (index, rest) {
                    (Some(i), _) => (
                        Some(*i).filter(|&i| i < sectors.len()),
                        format!("sectors[{i}]"),
                    ),
                    (None, [(name, _), ..]) => (
                        sectors.iter().position(|s| s.name == *name),
                        format!("sectors.{name}"),
                    ),
                    (None, []) => (None, "sectors".to_owned()),
                };
                let Some(k) = k else { return Err(no(&here)) };
                let field = if index.is_some() { rest } else { &rest[1..] };
                match field {
                    [("sigma", None)] => Target::SectorSigma(k),
                    _ => return Err(path.missing(Missing::SectorField)),
                }
            }
            [("years", None), ("adjustment", None)] if d.is_some() => Target::Adjustment,
            [("years", None), ("closing_speed", None)] if d.is_some() => Target::ClosingSpeed,
            [("routes", None), ("geography", None), (name, None)]
                if routes.is_some_and(|r| r.layout.geography.is_some()) =>
            {
                match GEOGRAPHY.iter().position(|g| g == name) {
                    Some(k) => Target::Geography(k),
                    None => return Err(no(path.as_str())),
                }
            }
            [("data", None), ("cells", None), (pair, None)] => {
                let n = self.data.economies.len();
                let cell = pair.split_once('-').and_then(|(a, b)| {
                    Some((
                        self.data.economies.position(a)?,
                        self.data.economies.position(b)?,
                    ))
                });
                match cell {
                    Some((i, j)) if i != j && self.imputed.get(i * n + j) == Some(&true) => {
                        Target::Cell(i, j)
                    }
                    _ => return Err(path.missing(Missing::NotImputed((*pair).to_owned()))),
                }
            }
            [("routes", None), ("margin", None), (code, None)] if routes.is_some() => {
                let r = routes.map(|r| &r.layout);
                let h = r.and_then(|r| {
                    let i = self.economies.iter().position(|c| c == code)?;
                    r.hubs.iter().position(|&k| k == i)
                });
                match h {
                    Some(h) => Target::Margin(h),
                    None => return Err(path.missing(Missing::NotAHub((*code).to_owned()))),
                }
            }
            [("years", None), (y @ ("base" | "horizon"), None)] if d.is_some() => {
                return Err(whole(&format!("a year (`years.{y}`)")))
            }
            [("routes", None), ("theta", None)] if routes.is_some_and(|r| r.theta.is_some()) => {
                Target::Theta
            }
            [("routes", None), ("premium", None)] if routes.is_some() => Target::Premium,
            [("routes", None), ("link_factor", None)]
                if routes.is_some_and(|r| r.form == super::RouteForm::Network) =>
            {
                Target::LinkFactor
            }
            [("routes", None), ("recorded_share", None), (code, None)] if routes.is_some() => {
                let r = routes.map(|r| &r.layout);
                let h = r.and_then(|r| {
                    let i = self.economies.iter().position(|c| c == code)?;
                    r.hubs.iter().position(|&k| k == i)
                });
                match h {
                    Some(h) => Target::RecordedShare(h),
                    None => return Err(path.missing(Missing::NotAHub((*code).to_owned()))),
                }
            }
            [("costs", None), ("coefficients", None), (name, None)]
                if self.coefficients.contains_key(*name) =>
            {
                Target::Coefficient((*name).to_owned())
            }
            [("solver", None), ("tolerance", None)] => Target::Tolerance,
            [("solver", None), (w @ ("max_iterations" | "memory"), None)] => {
                return Err(whole(&format!("a count (`solver.{w}`)")))
            }
            [("shocks", Some(k)), (field, None)] => {
                let Some(shock) = self.shocks.get(*k) else {
                    return Err(no(&format!("shocks[{k}]")));
                };
                let has = match (&shock.change, shock.percent) {
                    (CostChange::SetVariable { .. }, _) => *field == "value",
                    (CostChange::Factor { .. }, Some(_)) => *field == "percent",
                    (CostChange::Factor { .. }, None) => *field == "factor",
                };
                if !has {
                    return Err(no(&format!("shocks[{k}].{field}")));
                }
                Target::ShockNumber(*k)
            }
            [("instruments", index), rest @ ..] if d.is_some() => {
                let instruments = d.map(|d| d.instruments.as_slice()).unwrap_or_default();
                let (k, here, field) = match (index, rest) {
                    (Some(i), [(f, None)]) => (
                        Some(*i).filter(|&i| i < instruments.len()),
                        format!("instruments[{i}]"),
                        *f,
                    ),
                    (None, [(id, None), (f, None)]) => (
                        instruments
                            .iter()
                            .position(|s| s.id.as_deref() == Some(*id)),
                        format!("instruments.{id}"),
                        *f,
                    ),
                    _ => return Err(no(path.as_str())),
                };
                let Some(k) = k else {
                    return Err(path.missing(Missing::Instrument(
                        here.trim_start_matches("instruments.").to_owned(),
                    )));
                };
                if matches!(field, "start" | "end" | "phase_in") {
                    return Err(whole(&format!("a year or a count (`{here}.{field}`)")));
                }
                match Field::parse(field) {
                    Some(f) if instruments[k].effect.get(f).is_some() => Target::Instrument(k, f),
                    _ => return Err(no(&format!("{here}.{field}"))),
                }
            }
            _ => return Err(ParamError::NotSettable { path: path.clone() }),
        };
        Ok(Param {
            path: path.clone(),
            target,
        })
    }

    /// The value of a parameter, as written (or as last set).
    pub fn value(&self, p: &Param) -> f64 {
        let d = self.dynamics.as_ref();
        let routes = d.and_then(|d| d.routes.as_ref());
        // A `Param` comes from `param` on a scenario with the same shape (setting values
        // never changes it), so each lookup finds its number; NaN only for a `Param` of
        // another scenario.
        let found = match &p.target {
            Target::Sigma => Some(self.sigma),
            Target::SectorSigma(k) => d.and_then(|d| d.sectors.get(*k)).map(|s| s.sigma),
            Target::Adjustment => d.map(|d| d.adjustment),
            Target::ClosingSpeed => d.map(|d| d.closing()),
            Target::Geography(k) => routes
                .and_then(|r| r.layout.geography.as_ref())
                .map(|g| [g.distance, g.no_border, g.outside_union][*k]),
            Target::Margin(h) => routes.and_then(|r| r.layout.margin.get(*h).copied()),
            Target::Cell(i, j) => Some(self.data.trade[(*i, *j)]),
            Target::Theta => routes.and_then(|r| r.theta),
            Target::Premium => routes.map(|r| r.layout.premium),
            Target::LinkFactor => routes.map(|r| r.link_factor),
            Target::RecordedShare(h) => {
                routes.and_then(|r| r.layout.recorded_share.get(*h).copied())
            }
            Target::Coefficient(name) => self.coefficients.get(name).copied(),
            Target::Tolerance => Some(self.solver.tolerance),
            Target::ShockNumber(k) => self.shocks.get(*k).map(|s| match (&s.change, s.percent) {
                (CostChange::SetVariable { value, .. }, _) => *value,
                (CostChange::Factor { .. }, Some(p)) => p,
                (CostChange::Factor { factor }, None) => *factor,
            }),
            Target::Instrument(k, f) => d
                .and_then(|d| d.instruments.get(*k))
                .and_then(|i| i.effect.get(*f)),
        };
        found.unwrap_or(f64::NAN)
    }

    /// This scenario with each parameter set to its value, each checked as validation
    /// checks it; every value out of bounds is reported, naming its path and value.
    pub fn with_params(&self, values: &[(&Param, f64)]) -> Result<Scenario, ScenarioError> {
        let mut s = self.clone();
        let mut problems = Vec::new();
        for &(p, v) in values {
            if let Err(messages) = s.set(p, v) {
                problems.extend(messages.into_iter().map(|m| Problem {
                    field: p.path.to_string(),
                    message: if m.contains(&format!("got {v}")) {
                        m
                    } else {
                        format!("{m} (got {v})")
                    },
                }));
            }
        }
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(ScenarioError::Invalid {
                path: self.origin(),
                problems,
            })
        }
    }

    /// Sets one parameter, checked; the scenario is unchanged on an error.
    fn set(&mut self, p: &Param, v: f64) -> Result<(), Vec<String>> {
        let one = |m: Option<String>| m.map_or(Ok(()), |m| Err(vec![m]));
        let gone = || vec![format!("`{}` is not a parameter of this scenario", p.path)];
        let d = self.dynamics.as_mut();
        match &p.target {
            Target::Sigma => {
                one(check::sigma(v))?;
                self.sigma = v;
                // Without `[[sectors]]` the yearly loop's one sector `all` has this sigma.
                if let Some(all) = d.and_then(|d| d.sectors.first_mut()) {
                    all.sigma = v;
                }
            }
            Target::SectorSigma(k) => {
                one(check::sigma(v))?;
                let sector = d.and_then(|d| d.sectors.get_mut(*k)).ok_or_else(gone)?;
                sector.sigma = v;
                if *k == 0 {
                    self.sigma = v;
                }
            }
            Target::Adjustment => {
                one(check::adjustment(v))?;
                d.ok_or_else(gone)?.adjustment = v;
            }
            Target::ClosingSpeed => {
                one(check::adjustment(v))?;
                d.ok_or_else(gone)?.closing_speed = Some(v);
            }
            Target::Geography(k) => {
                one(check::geography(v))?;
                let g = d
                    .and_then(|d| d.routes.as_mut())
                    .and_then(|r| r.layout.geography.as_mut())
                    .ok_or_else(gone)?;
                *[&mut g.distance, &mut g.no_border, &mut g.outside_union][*k] = v;
            }
            Target::Cell(i, j) => {
                one(check::cell(v))?;
                let (i, j) = (*i, *j);
                let old = self.data.trade[(i, j)];
                self.data.trade[(i, j)] = v;
                // Output and expenditure are the flows' sums, as for the world itself (the
                // same sums, to the last bit, as reading the cell from the file).
                self.data.output[i] = self.data.trade.row(i).sum();
                self.data.expenditure[j] = self.data.trade.column(j).sum();
                let code = format!(
                    "{}-{}",
                    self.data.economies.code(i),
                    self.data.economies.code(j)
                );
                match self.cells.iter_mut().find(|c| c.code == code) {
                    Some(c) => c.value = v,
                    None => self.cells.push(super::CellOverride {
                        exporter: i,
                        importer: j,
                        code,
                        imputed: old,
                        value: v,
                    }),
                }
            }
            Target::Margin(h) => {
                one(check::margin(v))?;
                let r = d.and_then(|d| d.routes.as_mut()).ok_or_else(gone)?;
                *r.layout.margin.get_mut(*h).ok_or_else(gone)? = v;
            }
            Target::Theta => {
                one(check::theta(v))?;
                d.and_then(|d| d.routes.as_mut()).ok_or_else(gone)?.theta = Some(v);
            }
            Target::Premium => {
                one(check::premium(v))?;
                d.and_then(|d| d.routes.as_mut())
                    .ok_or_else(gone)?
                    .layout
                    .premium = v;
            }
            Target::LinkFactor => {
                one(check::link_factor(v))?;
                d.and_then(|d| d.routes.as_mut())
                    .ok_or_else(gone)?
                    .link_factor = v;
            }
            Target::RecordedShare(h) => {
                one(check::share(v))?;
                let r = d.and_then(|d| d.routes.as_mut()).ok_or_else(gone)?;
                *r.layout.recorded_share.get_mut(*h).ok_or_else(gone)? = v;
            }
            Target::Coefficient(name) => {
                one(check::coefficient(v))?;
                *self.coefficients.get_mut(name).ok_or_else(gone)? = v;
            }
            Target::Tolerance => {
                let s = self.solver;
                self.solver = SolverOptions::new(v, s.max_iterations, s.memory)
                    .map_err(|wrong| wrong.into_iter().map(|w| w.message).collect::<Vec<_>>())?;
            }
            Target::ShockNumber(k) => {
                let shock = self.shocks.get_mut(*k).ok_or_else(gone)?;
                match (&mut shock.change, &mut shock.percent) {
                    (CostChange::SetVariable { value, .. }, _) => {
                        one(check::shock_value(v))?;
                        *value = v;
                    }
                    (CostChange::Factor { factor }, Some(percent)) => {
                        one(check::tariff_percent(v))?;
                        *percent = v;
                        *factor = 1.0 + v / 100.0;
                    }
                    (CostChange::Factor { factor }, None) => {
                        one(check::shock_factor(v))?;
                        *factor = v;
                    }
                }
                if !shock.label_given {
                    shock.label = Shock::default_label(&shock.change, shock.percent);
                }
            }
            Target::Instrument(k, f) => {
                let ins = d.and_then(|d| d.instruments.get_mut(*k)).ok_or_else(gone)?;
                ins.effect.set(*f, v)?;
            }
        }
        Ok(())
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        r#"
        [routes]
        theta = 4
        recorded_share = { KGZ = 0.25 }
        [[sectors]]
        name = "controlled"
        sigma = 4.0
        [[instruments]]
        id = "shift"
        percent = 128
        [[instruments]]
        share = 0.5
        "#
        .parse()
        .unwrap()
    }

    #[test]
    fn gets_and_sets_by_key_id_name_and_index() {
        let mut t = table();
        for (path, value) in [
            ("routes.theta", 4.0),
            ("routes.recorded_share.KGZ", 0.25),
            ("sectors.controlled.sigma", 4.0),
            ("instruments.shift.percent", 128.0),
            ("instruments[1].share", 0.5),
        ] {
            let p = ParamPath::parse(path).unwrap();
            assert_eq!(p.get(&t).unwrap(), value, "{path}");
            p.set(&mut t, value * 2.0).unwrap();
            assert_eq!(p.get(&t).unwrap(), value * 2.0, "{path}");
        }
    }

    fn scenario(file: &str) -> (std::path::PathBuf, Scenario) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let s = Scenario::from_file(&path).unwrap();
        (path, s)
    }

    /// Setting values on the validated scenario gives what editing the file's table and
    /// validating it again gives: the numbers of a draw are the same either way.
    #[test]
    fn handles_set_what_the_table_would() {
        for (file, values) in [
            (
                "scenarios/roundabout/as_happened.toml",
                &[
                    ("routes.theta", 3.3),
                    ("routes.premium", 2.5),
                    ("routes.recorded_share.KGZ", 0.2),
                    ("years.adjustment", 0.7),
                    ("sectors.controlled.sigma", 4.5),
                    ("sectors[2].sigma", 6.5),
                    ("instruments.evasion_china_kgz.premium", 1.9),
                    ("instruments.turn_to_china.percent", 100.0),
                    ("instruments.sanctions_other_eu.percent", 22.0),
                    ("instruments.payment_frictions.percent", 3.0),
                    ("instruments.bri_kaz.eta", 0.07),
                    ("instruments.bri_kaz.annual", 1.1),
                    ("instruments.kaz_growth_2022.percent", 9.0),
                    ("data.cells.UZB-KGZ", 0.5),
                    ("years.closing_speed", 0.9),
                ][..],
            ),
            (
                "scenarios/roundabout/secondary_sanctions.toml",
                &[
                    ("instruments.secondary_cca.probability", 0.45),
                    ("instruments.secondary_cca.penalty_percent", 80.0),
                ][..],
            ),
            (
                "scenarios/roundabout/intermediaries_comply.toml",
                &[("instruments.hubs_comply.share", 0.4)][..],
            ),
            (
                "scenarios/two_country_symmetric.toml",
                &[("sigma", 3.5), ("shocks[0].factor", 0.7)][..],
            ),
            (
                "scenarios/can_jpn_pta.toml",
                &[("costs.coefficients.pta", 0.6)][..],
            ),
        ] {
            let (path, s) = scenario(file);
            let mut table = Scenario::load_table(&path).unwrap();
            let params: Vec<Param> = values
                .iter()
                .map(|(p, _)| s.param(&ParamPath::parse(p).unwrap()).unwrap())
                .collect();
            for (p, v) in values {
                ParamPath::parse(p)
                    .unwrap()
                    .set_or_insert(&mut table, *v)
                    .unwrap();
            }
            let set: Vec<(&Param, f64)> = params.iter().zip(values.iter().map(|x| x.1)).collect();
            let by_handle = s.with_params(&set).unwrap();
            let by_table = Scenario::from_table(table, &path).unwrap();
            assert_eq!(by_handle.dynamics, by_table.dynamics, "{file}");
            assert_eq!(by_handle.sigma, by_table.sigma, "{file}");
            assert_eq!(by_handle.coefficients, by_table.coefficients, "{file}");
            assert_eq!(by_handle.shocks, by_table.shocks, "{file}");
            assert_eq!(by_handle.data.trade, by_table.data.trade, "{file}");
            assert_eq!(by_handle.data.output, by_table.data.output, "{file}");
            assert_eq!(
                by_handle.data.expenditure, by_table.data.expenditure,
                "{file}"
            );
            assert_eq!(by_handle.cells, by_table.cells, "{file}");
            for (p, (_, v)) in params.iter().zip(values.iter()) {
                assert_eq!(by_handle.value(p), *v, "{file} {p}");
            }
        }
    }

    #[test]
    fn values_out_of_bounds_are_errors_naming_path_and_value() {
        let (_, s) = scenario("scenarios/roundabout/as_happened.toml");
        let param = |p: &str| s.param(&ParamPath::parse(p).unwrap()).unwrap();
        for (path, v, needle) in [
            ("years.adjustment", 1.5, "must be in (0, 1], got 1.5"),
            (
                "routes.recorded_share.KGZ",
                -0.1,
                "a share must be in [0, 1], got -0.1",
            ),
            ("instruments.evasion_china_kgz.premium", 0.5, "got 0.5"),
            (
                "instruments.sanctions_other_eu.percent",
                -10.0,
                "a wedge raises costs",
            ),
            (
                "sectors.controlled.sigma",
                0.9,
                "must be greater than 1, got 0.9",
            ),
        ] {
            let p = param(path);
            let e = s.with_params(&[(&p, v)]).unwrap_err().to_string();
            assert!(e.contains("as_happened.toml") && e.contains(path), "{e}");
            assert!(e.contains(needle) && e.contains(&v.to_string()), "{e}");
        }
        // Both values wrong: both reported.
        let (a, b) = (param("years.adjustment"), param("routes.theta"));
        let e = s
            .with_params(&[(&a, 0.0), (&b, -1.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 problems"), "{e}");
    }

    #[test]
    fn paths_resolve_only_to_numbers_that_can_be_set() {
        let (_, s) = scenario("scenarios/roundabout/as_happened.toml");
        for (path, needle) in [
            ("routes.thetaa", "routes.thetaa"),
            ("sigma", "sectors.<name>.sigma"),
            ("instruments.nope.percent", "no instrument with id `nope`"),
            (
                "instruments.evasion_china_kgz.percent",
                "no `instruments.evasion_china_kgz.percent`",
            ),
            (
                "instruments.controls_eu.percent",
                "no `instruments.controls_eu.percent`",
            ),
            ("instruments.eaeu.start", "whole number"),
            ("years.horizon", "whole number"),
            (
                "routes.recorded_share.IND",
                "not one of `routes.intermediaries`",
            ),
            ("data.flows[0].value", "that can be drawn, swept or fitted"),
        ] {
            let e = s.param(&ParamPath::parse(path).unwrap()).unwrap_err();
            assert!(e.to_string().contains(needle), "{path}: {e}");
        }
        // Callers can tell the kinds apart without reading the message.
        let kind = |path: &str| s.param(&ParamPath::parse(path).unwrap()).unwrap_err();
        assert!(matches!(
            kind("routes.recorded_share.IND"),
            ParamError::Missing { missing: Missing::NotAHub(c), .. } if c == "IND"
        ));
        assert!(matches!(
            kind("years.horizon"),
            ParamError::WholeNumber { .. }
        ));
        assert!(matches!(
            kind("data.flows[0].value"),
            ParamError::NotSettable { .. }
        ));
        assert!(matches!(
            ParamPath::parse("a..b"),
            Err(ParamError::Syntax { text }) if text == "a..b"
        ));
    }

    #[test]
    fn a_path_that_names_nothing_is_an_error() {
        let mut t = table();
        for path in [
            "routes.thetaa",
            "instruments.nope.percent",
            "sectors",
            "routes.theta.x",
        ] {
            let p = ParamPath::parse(path).unwrap();
            assert!(p.set(&mut t, 1.0).is_err(), "{path}");
        }
        assert!(ParamPath::parse("a..b").is_err());
    }

    /// `data.cells` sets imputed cells only: a reported cell, a pair of unknown codes and a
    /// value that is not positive are refused, naming the key; the world's imputed value is
    /// kept next to the value used.
    #[test]
    fn only_imputed_cells_of_the_world_can_be_set() {
        let (path, s) = scenario("scenarios/roundabout/as_happened.toml");
        let mut table = Scenario::load_table(&path).unwrap();
        ParamPath::parse("data.cells.IND-KGZ")
            .unwrap()
            .set_or_insert(&mut table, 0.9)
            .unwrap();
        let set = Scenario::from_table(table.clone(), &path).unwrap();
        let (i, j) = (
            s.data.economies.position("IND").unwrap(),
            s.data.economies.position("KGZ").unwrap(),
        );
        assert_eq!(set.data.trade[(i, j)], 0.9);
        // base.toml sets 18 imputed cells; this one is the 19th.
        assert_eq!(set.cells.len(), s.cells.len() + 1);
        let cell = set.cells.iter().find(|c| c.code == "IND-KGZ").unwrap();
        assert_eq!(cell.imputed, s.data.trade[(i, j)]);
        assert!(
            (set.data.output[i] - s.data.output[i] - (0.9 - s.data.trade[(i, j)])).abs() < 1e-12
        );
        for (key, v, says) in [
            ("CHN-KGZ", 9.0, "is not an imputed cell"),
            ("UZB-XXX", 1.0, "names no foreign cell"),
            ("UZB-KGZ", -1.0, "must be a positive number"),
        ] {
            let mut t = Scenario::load_table(&path).unwrap();
            ParamPath::parse(&format!("data.cells.{key}"))
                .unwrap()
                .set_or_insert(&mut t, v)
                .unwrap();
            let e = Scenario::from_table(t, &path).unwrap_err().to_string();
            assert!(
                e.contains(&format!("data.cells.{key}")) && e.contains(says),
                "{e}"
            );
        }
        let e = s
            .param(&ParamPath::parse("data.cells.CHN-KGZ").unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("not an imputed cell"), "{e}");
    }
}
