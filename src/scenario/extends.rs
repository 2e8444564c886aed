//! `extends = "base.toml"`: a scenario file that states only what differs from another.
//!
//! Files are read as TOML tables and merged before deserialising: tables merge key by key;
//! `instruments` arrays merge by `id` (an entry whose id the parent has replaces it, others
//! are appended); every other value in the child replaces the parent's. Paths are taken
//! relative to the file that names them. A cycle of `extends` is an error naming the chain.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{line_col, ScenarioError};

/// Reads `path` and everything it extends, merged, with `extends` removed and `data.path`
/// made absolute.
pub(crate) fn load_merged(path: &Path) -> Result<Table, ScenarioError> {
    let mut chain = Vec::new();
    load(path, &mut chain)
}

fn load(path: &Path, chain: &mut Vec<PathBuf>) -> Result<Table, ScenarioError> {
    let canonical = path.canonicalize().map_err(|cause| ScenarioError::Io {
        path: path.to_owned(),
        cause,
    })?;
    if chain.contains(&canonical) {
        let mut names: Vec<String> = chain.iter().map(|p| p.display().to_string()).collect();
        names.push(canonical.display().to_string());
        return Err(ScenarioError::Syntax {
            path: path.to_owned(),
            message: format!("`extends` forms a cycle: {}", names.join(" -> ")),
        });
    }
    chain.push(canonical);
    let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Io {
        path: path.to_owned(),
        cause,
    })?;
    let mut table: Table = text.parse::<Table>().map_err(|e| {
        let mut message = e.message().to_owned();
        if let Some(span) = e.span() {
            let (line, col) = line_col(&text, span.start);
            message = format!("line {line}, column {col}: {message}");
        }
        ScenarioError::Syntax {
            path: path.to_owned(),
            message,
        }
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    // Absolute, so that the path means the same whichever file the merged table is read
    // from later.
    let abs_dir = canonical_dir(path);
    if let Some(Value::Table(data)) = table.get_mut("data") {
        if let Some(Value::String(p)) = data.get_mut("path") {
            *p = abs_dir.join(&*p).display().to_string();
        }
    }
    let parent = match table.remove("extends") {
        None => None,
        Some(Value::String(rel)) => Some(load(&dir.join(rel), chain)?),
        Some(other) => {
            return Err(ScenarioError::Syntax {
                path: path.to_owned(),
                message: format!("`extends` must be a file name, got {other}"),
            })
        }
    };
    chain.pop();
    Ok(match parent {
        None => table,
        Some(mut base) => {
            merge(&mut base, table);
            base
        }
    })
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
            (Some(Value::Array(p)), Value::Array(c)) if key == "instruments" => merge_by_id(p, c),
            (_, value) => {
                parent.insert(key, value);
            }
        }
    }
}

fn merge_by_id(parent: &mut Vec<Value>, child: Vec<Value>) {
    let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    for item in child {
        match id(&item).and_then(|i| parent.iter().position(|p| id(p).as_deref() == Some(&i))) {
            Some(k) => parent[k] = item,
            None => parent.push(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_tables_and_instruments_by_id() {
        let mut base: Table = r#"
            name = "base"
            [years]
            base = 2021
            [[instruments]]
            id = "a"
            start = 2022
            [[instruments]]
            id = "b"
            start = 2023
        "#
        .parse()
        .unwrap();
        let child: Table = r#"
            name = "child"
            [years]
            horizon = 2025
            [[instruments]]
            id = "a"
            start = 2024
            [[instruments]]
            start = 2026
        "#
        .parse()
        .unwrap();
        merge(&mut base, child);
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
