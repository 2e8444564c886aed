//! Parameter paths: any numeric field of a scenario, addressed by a dotted path into its
//! merged TOML table, for calibration, Monte Carlo and sweeps.
//!
//! `routes.theta`, `years.adjustment`, `costs.coefficients.pta`,
//! `routes.recorded_share.KGZ`: table keys. In an array of tables, a segment picks the
//! entry whose `id` (instruments) or `name` (sectors) it equals, or an index in brackets:
//! `instruments.turn_to_china.percent`, `sectors.controlled.sigma`, `instruments[3].share`.

use std::fmt;

use toml::{Table, Value};

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
    pub fn parse(text: &str) -> Result<ParamPath, String> {
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(format!(
                "`{text}` is not a parameter path (keys joined by dots)"
            ));
        }
        Ok(ParamPath(text.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn segments(&self) -> Vec<(String, Option<usize>)> {
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
    pub fn get(&self, table: &Table) -> Result<f64, String> {
        let mut root = Value::Table(table.clone());
        let v = self.locate(&mut root)?;
        number(v).ok_or_else(|| format!("`{self}` is not a number (found {v})"))
    }

    /// Sets the number at this path in `table`; the field must exist and be a number.
    pub fn set(&self, table: &mut Table, value: f64) -> Result<(), String> {
        let mut root = Value::Table(std::mem::take(table));
        let result = (|| {
            let v = self.locate(&mut root)?;
            if number(v).is_none() {
                return Err(format!("`{self}` is not a number (found {v})"));
            }
            *v = Value::Float(value);
            Ok(())
        })();
        if let Value::Table(t) = root {
            *table = t;
        }
        result
    }

    fn locate<'a>(&self, root: &'a mut Value) -> Result<&'a mut Value, String> {
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
                    .ok_or_else(|| format!("`{self}` names no parameter: no `{here}`"))?,
                Value::Array(items) => {
                    let pos = items.iter().position(|item| {
                        ["id", "name"]
                            .iter()
                            .any(|k| item.get(k).and_then(Value::as_str) == Some(key.as_str()))
                    });
                    let pos = pos.ok_or_else(|| {
                        format!("`{self}` names no parameter: no entry with id or name `{key}` in `{walked}`")
                    })?;
                    &mut items[pos]
                }
                other => {
                    return Err(format!(
                        "`{self}` names no parameter: `{walked}` is {other}, not a table"
                    ))
                }
            };
            if let Some(i) = index {
                node = match node {
                    Value::Array(items) if i < items.len() => &mut items[i],
                    _ => return Err(format!("`{self}` names no parameter: no `{here}[{i}]`")),
                };
            }
            walked = here;
        }
        Ok(node)
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
}
