//! `extends = "base.toml"`: a scenario file that states only what differs from another.
//!
//! Files are read as TOML tables and merged before deserialising: tables merge key by key;
//! `instruments` arrays merge by `id`: an entry whose id the parent has replaces it when it
//! gives a `kind`, and amends it key by key when it does not (`id = "x"` with only `end =
//! 2027` ends the inherited instrument and keeps the rest); others are appended. Every other
//! value in the child replaces the parent's. Paths are taken
//! relative to the file that names them. A cycle of `extends` is an error naming the chain.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{line_col, Problem, ScenarioError};
use crate::input::{read_text, InputKind};
use crate::limits::MAX_EXTENDS_DEPTH;

/// Where one entry of the merged `instruments` array was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The file, as named (by the user or by the `extends` that reached it).
    pub file: PathBuf,
    /// Its position among that file's `[[instruments]]`.
    pub index: usize,
}

/// A scenario file with everything it extends, merged, and where each part came from.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    pub table: Table,
    /// Every file of the chain as read (`extends` removed, data paths absolute), the named
    /// file first.
    pub files: Vec<(PathBuf, Table)>,
    /// Where each entry of the merged `instruments` came from.
    pub instruments: Vec<Origin>,
}

impl Merged {
    /// The file that wrote the value at a key path such as `years.bogus` or
    /// `instruments[3].percent` (the last of the chain to write it), if it can be told.
    pub(crate) fn file_of(&self, key_path: &str) -> Option<&Path> {
        let (head, index) = first_segment(key_path);
        if head == "instruments" {
            return index
                .and_then(|k| self.instruments.get(k))
                .map(|o| o.file.as_path());
        }
        self.files
            .iter()
            .find(|(_, t)| lookup(t, key_path).is_some())
            .map(|(p, _)| p.as_path())
    }
}

fn first_segment(key_path: &str) -> (&str, Option<usize>) {
    let seg = key_path.split('.').next().unwrap_or("");
    match seg.find('[') {
        Some(k) => (&seg[..k], seg[k + 1..].trim_end_matches(']').parse().ok()),
        None => (seg, None),
    }
}

/// The value at a serde key path (`a.b[2].c`) in a table.
pub(crate) fn lookup<'a>(table: &'a Table, key_path: &str) -> Option<&'a Value> {
    let mut node: Option<&Value> = None;
    for seg in key_path.split('.') {
        let (key, rest) = match seg.find('[') {
            Some(k) => (&seg[..k], &seg[k..]),
            None => (seg, ""),
        };
        node = Some(match node {
            None => table.get(key)?,
            Some(Value::Table(t)) => t.get(key)?,
            Some(_) => return None,
        });
        for idx in rest.split(']').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_start_matches('[').parse().ok()?;
            node = Some(node?.as_array()?.get(i)?);
        }
    }
    node
}

/// Removes the value at a serde key path; true if there was one.
pub(crate) fn remove_at(table: &mut Table, key_path: &str) -> bool {
    let Some((parent, last)) = key_path.rsplit_once('.') else {
        return table.remove(key_path).is_some();
    };
    let mut node: &mut Table = table;
    for seg in parent.split('.') {
        let (key, rest) = match seg.find('[') {
            Some(k) => (&seg[..k], &seg[k..]),
            None => (seg, ""),
        };
        let Some(mut v) = node.get_mut(key) else {
            return false;
        };
        for idx in rest.split(']').filter(|s| !s.is_empty()) {
            let Ok(i) = idx.trim_start_matches('[').parse::<usize>() else {
                return false;
            };
            let Some(next) = v.as_array_mut().and_then(|a| a.get_mut(i)) else {
                return false;
            };
            v = next;
        }
        let Some(t) = v.as_table_mut() else {
            return false;
        };
        node = t;
    }
    node.remove(last).is_some()
}

/// Reads `path` and everything it extends, merged, with `extends` removed and `data.path`
/// made absolute.
pub(crate) fn load_merged(path: &Path) -> Result<Table, ScenarioError> {
    Ok(load_chain(path)?.table)
}

/// Reads the chain of `extends` from `path`, one file after another (a loop, not
/// recursion: the depth is bounded by [`MAX_EXTENDS_DEPTH`] before anything deeper is
/// read), then merges it from the root down.
pub(crate) fn load_chain(path: &Path) -> Result<Merged, ScenarioError> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut files: Vec<(PathBuf, Table)> = Vec::new();
    // The file to read next, and the file and text of the `extends` that named it.
    let mut next: Option<(PathBuf, Option<(PathBuf, String)>)> = Some((path.to_owned(), None));
    while let Some((path, named_by)) = next.take() {
        // A problem reading a parent is reported at the `extends` that names it.
        let at_extends = |e: ScenarioError| match &named_by {
            None => e,
            Some((child, rel)) => ScenarioError::Syntax {
                path: child.clone(),
                message: format!("`extends = \"{rel}\"`: {e}"),
            },
        };
        if files.len() >= MAX_EXTENDS_DEPTH {
            let (child, rel) = named_by
                .as_ref()
                .expect("only the first file has no parent");
            return Err(ScenarioError::Syntax {
                path: files[0].0.clone(),
                message: format!(
                    "the chain of `extends` is deeper than the limit of {MAX_EXTENDS_DEPTH} files ({} extends \"{rel}\", file {} of the chain)",
                    child.display(),
                    MAX_EXTENDS_DEPTH + 1
                ),
            });
        }
        let text = read_text(&path, InputKind::Scenario)
            .map_err(|e| at_extends(ScenarioError::Input(e)))?;
        let canonical = path.canonicalize().map_err(|cause| {
            at_extends(ScenarioError::Io {
                path: path.clone(),
                cause,
            })
        })?;
        if seen.contains(&canonical) {
            let mut names: Vec<String> = seen.iter().map(|p| p.display().to_string()).collect();
            names.push(canonical.display().to_string());
            return Err(ScenarioError::Syntax {
                path: path.clone(),
                message: format!("`extends` forms a cycle: {}", names.join(" -> ")),
            });
        }
        seen.push(canonical);
        let mut table: Table = text.parse::<Table>().map_err(|e| {
            let mut message = e.message().to_owned();
            if let Some(span) = e.span() {
                let (line, col) = line_col(&text, span.start);
                message = format!("line {line}, column {col}: {message}");
            }
            ScenarioError::Syntax {
                path: path.clone(),
                message,
            }
        })?;
        check_instrument_ids(&table, &path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // Absolute, so that the path means the same whichever file the merged table is
        // read from later.
        let abs_dir = canonical_dir(&path);
        if let Some(Value::Table(data)) = table.get_mut("data") {
            if let Some(Value::String(p)) = data.get_mut("path") {
                *p = abs_dir.join(&*p).display().to_string();
            }
        }
        match table.remove("extends") {
            None => {}
            Some(Value::String(rel)) if rel.trim().is_empty() => {
                return Err(ScenarioError::Syntax {
                    path: path.clone(),
                    message: "`extends` is empty: name the scenario file this one builds on".into(),
                })
            }
            Some(Value::String(rel)) => {
                next = Some((dir.join(&rel), Some((path.clone(), rel))));
            }
            Some(other) => {
                return Err(ScenarioError::Syntax {
                    path: path.clone(),
                    message: format!("`extends` must be a file name, got {other}"),
                })
            }
        }
        files.push((path, table));
    }
    let mut chain = files.iter().rev();
    let (root_path, root) = chain.next().expect("the named file was read");
    let mut table = root.clone();
    let mut instruments = origins_of(&table, root_path);
    for (file, child) in chain {
        let mut child = child.clone();
        // `abstract` says what one file is, not what the files extending it are.
        table.remove("abstract");
        let items = child.remove("instruments");
        merge(&mut table, child);
        match (table.get_mut("instruments"), items) {
            (_, None) => {}
            (Some(Value::Array(p)), Some(Value::Array(c))) => {
                merge_by_id(p, c, &mut instruments, file);
            }
            (_, Some(items)) => {
                table.insert("instruments".into(), items);
                instruments = origins_of(&table, file);
            }
        }
    }
    Ok(Merged {
        table,
        files,
        instruments,
    })
}

fn origins_of(table: &Table, file: &Path) -> Vec<Origin> {
    let n = table
        .get("instruments")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    (0..n)
        .map(|index| Origin {
            file: file.to_owned(),
            index,
        })
        .collect()
}

/// Two instruments with the same `id` in one file: the second would silently replace the
/// first when merged, so it is an error naming both.
fn check_instrument_ids(table: &Table, path: &Path) -> Result<(), ScenarioError> {
    let problems = duplicate_ids(table.get("instruments").and_then(Value::as_array));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }
}

pub(crate) fn duplicate_ids(items: Option<&Vec<Value>>) -> Vec<Problem> {
    let ids: Vec<Option<&str>> = items
        .map(|a| {
            a.iter()
                .map(|v| v.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let Some(id) = id else { continue };
        if let Some(first) = ids[..k].iter().position(|o| *o == Some(id)) {
            out.push(Problem {
                field: format!("instruments[{k}].id"),
                message: format!(
                    "`{id}` is already the id of instruments[{first}] in this file (ids name instruments, so a file that extends this one can replace one)"
                ),
            });
        }
    }
    out
}

fn canonical_dir(path: &Path) -> PathBuf {
    path.canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| path.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// True when the file's top level names another file to extend.
pub(crate) fn has_extends(text: &str) -> bool {
    text.parse::<Table>()
        .map(|t| t.contains_key("extends"))
        .unwrap_or(false)
}

fn merge(parent: &mut Table, child: Table) {
    for (key, value) in child {
        match (parent.get_mut(&key), value) {
            (Some(Value::Table(p)), Value::Table(c)) => merge(p, c),
            (_, value) => {
                parent.insert(key, value);
            }
        }
    }
}

fn merge_by_id(parent: &mut Vec<Value>, child: Vec<Value>, origins: &mut Vec<Origin>, file: &Path) {
    let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    for (index, item) in child.into_iter().enumerate() {
        let origin = Origin {
            file: file.to_owned(),
            index,
        };
        match id(&item).and_then(|i| parent.iter().position(|p| id(p).as_deref() == Some(&i))) {
            Some(k) => {
                match (&mut parent[k], item) {
                    (Value::Table(p), Value::Table(c)) if !c.contains_key("kind") => {
                        p.extend(c);
                    }
                    (slot, item) => *slot = item,
                }
                if let Some(o) = origins.get_mut(k) {
                    *o = origin;
                }
            }
            None => {
                parent.push(item);
                origins.push(origin);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_tables_and_instruments_by_id() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            r#"
            name = "base"
            [years]
            base = 2021
            [[instruments]]
            id = "a"
            start = 2022
            [[instruments]]
            id = "b"
            start = 2023
        "#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("child.toml"),
            r#"
            extends = "base.toml"
            name = "child"
            [years]
            horizon = 2025
            [[instruments]]
            id = "a"
            start = 2024
            [[instruments]]
            start = 2026
        "#,
        )
        .unwrap();
        let m = load_chain(&dir.path().join("child.toml")).unwrap();
        let base = &m.table;
        assert_eq!(base["name"].as_str(), Some("child"));
        assert_eq!(base["years"]["base"].as_integer(), Some(2021));
        assert_eq!(base["years"]["horizon"].as_integer(), Some(2025));
        let starts: Vec<i64> = base["instruments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["start"].as_integer().unwrap())
            .collect();
        assert_eq!(starts, [2024, 2023, 2026]);
        let files: Vec<(String, usize)> = m
            .instruments
            .iter()
            .map(|o| {
                let name = o.file.file_name().unwrap().to_string_lossy().into_owned();
                (name, o.index)
            })
            .collect();
        assert_eq!(
            files,
            [
                ("child.toml".to_owned(), 0),
                ("base.toml".to_owned(), 1),
                ("child.toml".to_owned(), 1)
            ]
        );
        assert_eq!(
            m.file_of("years.horizon").unwrap().file_name().unwrap(),
            "child.toml"
        );
        assert_eq!(
            m.file_of("years.base").unwrap().file_name().unwrap(),
            "base.toml"
        );
    }

    #[test]
    fn an_entry_without_kind_amends_the_inherited_one_and_with_kind_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let base = r#"
            name = "base"
            [[instruments]]
            id = "w"
            kind = "export_controls"
            start = 2022
            percent = 15
        "#;
        std::fs::write(dir.path().join("base.toml"), base).unwrap();
        let child = |text: &str| {
            std::fs::write(dir.path().join("child.toml"), text).unwrap();
            load_chain(&dir.path().join("child.toml")).unwrap().table["instruments"][0].clone()
        };
        let amended = child("extends = \"base.toml\"\n[[instruments]]\nid = \"w\"\nend = 2027\n");
        assert_eq!(amended["kind"].as_str(), Some("export_controls"));
        assert_eq!(amended["percent"].as_integer(), Some(15));
        assert_eq!(amended["start"].as_integer(), Some(2022));
        assert_eq!(amended["end"].as_integer(), Some(2027));
        let replaced = child(
            "extends = \"base.toml\"\n[[instruments]]\nid = \"w\"\nkind = \"link_friction\"\nstart = 2024\n",
        );
        assert_eq!(replaced["kind"].as_str(), Some("link_friction"));
        assert!(replaced.get("percent").is_none() && replaced.get("end").is_none());
    }

    #[test]
    fn a_cycle_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"b.toml\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a.toml\"\n").unwrap();
        let e = load_merged(&dir.path().join("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cycle") && e.contains("a.toml") && e.contains("b.toml"),
            "{e}"
        );
    }
}
