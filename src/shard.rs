//! Shards: slice `K` of `N` of a run's draws or points, as a cluster job array numbers
//! its tasks (`--shard K/N`), and the contiguous range of indices each slice runs.
//!
//! The slices are contiguous and cover `0..total` exactly once: the first `total % N` are
//! one longer than the rest. Monte Carlo ([`crate::montecarlo::merge`]) and sweep
//! ([`crate::sweep::merge`]) shards are joined back by their keys, never by position.
//!
//! Result records (`montecarlo.json`, `sweep.json`) name their scenario twice: `scenario`,
//! the path as it was given on the command line (shown in charts), and `scenario_file`, that
//! file's absolute path ([`absolute`]). A record is read back with [`stored_scenario`]:
//! `scenario_file` when the record has it; otherwise (records written before it existed,
//! or edited by hand) `scenario`, taken as is when absolute and from the folder of the
//! record file when relative, or, when no file is there, from the working directory (where
//! older versions meant it).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `K/N`: the K-th of N slices (1-based), as a cluster job array index gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

/// Why a `--shard` value is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(String);

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, ShardError> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| ShardError("a shard is K/N, e.g. 3/10".into()))?;
        let whole = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| ShardError(format!("`{t}` is not a whole number")))
        };
        let (k, n) = (whole(k)?, whole(n)?);
        if n == 0 || k == 0 || k > n {
            return Err(ShardError(format!("shard {k}/{n}: need 1 <= K <= N")));
        }
        crate::limits::check_shard(k, n).map_err(|e| ShardError(e.to_string()))?;
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// The indices of this shard among `total`: contiguous slices, the first ones one
    /// longer when N does not divide `total`.
    pub fn range(self, total: u64) -> std::ops::Range<u64> {
        let (base, extra) = (total / self.n, total % self.n);
        let i = self.k - 1;
        let start = i * base + i.min(extra);
        let len = base + u64::from(i < extra);
        start..start + len
    }

    /// Whether the shard's numbers make sense (`1 <= K <= N <= MAX_SHARDS`): a record
    /// read from disk may hold anything.
    pub fn is_valid(self) -> bool {
        crate::limits::check_shard(self.k, self.n).is_ok()
    }
}

/// `path` made absolute: resolved through symbolic links when the file exists, else
/// joined to the working directory; as given when neither works.
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
}

/// The scenario a result record names (see the module docs): `scenario_file` when given,
/// else `scenario`, absolute as is, relative from the folder of `record_file` (or, when no
/// file is there, from the working directory).
pub fn stored_scenario(
    record_file: &Path,
    scenario: &Path,
    scenario_file: Option<&Path>,
) -> PathBuf {
    if let Some(abs) = scenario_file {
        return abs.to_owned();
    }
    if scenario.is_absolute() {
        return scenario.to_owned();
    }
    let beside = record_file
        .parent()
        .unwrap_or(Path::new("."))
        .join(scenario);
    if beside.is_file() || !scenario.is_file() {
        beside
    } else {
        scenario.to_owned()
    }
}

/// What tells two shards' scenarios apart: the path their record leads to, canonical where
/// the file is there (records may store it relative to different folders), else the text
/// stored.
pub fn scenario_identity(
    record_file: &Path,
    scenario: &Path,
    scenario_file: Option<&Path>,
) -> PathBuf {
    let path = stored_scenario(record_file, scenario, scenario_file);
    std::fs::canonicalize(&path).unwrap_or_else(|_| scenario_file.unwrap_or(scenario).to_owned())
}

/// Why a shard cannot join a [`ShardSet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardSetError {
    /// Two records both say they are shard `k` of `n`.
    #[error("shard {k}/{n} is given twice: {} and {}", .first.display(), .second.display())]
    Twice {
        k: u64,
        n: u64,
        first: PathBuf,
        second: PathBuf,
    },
    /// Nothing to join.
    #[error("no shard folders given")]
    Empty,
    /// Two records of `runs` (`runs`, `sweeps`) differ in `what`: not shards of one run.
    #[error("the shards come from different {runs}: {} and {} differ in {what}", .first.display(), .other.display())]
    Differ {
        runs: &'static str,
        first: PathBuf,
        other: PathBuf,
        what: &'static str,
    },
}

/// What joining needs of one shard's record ([`join`]).
pub struct ShardOf<'a> {
    /// The record file (`montecarlo.json`, `sweep.json`).
    pub record: &'a Path,
    /// The record's `scenario` and `scenario_file` (see the module docs).
    pub scenario: &'a Path,
    pub scenario_file: Option<&'a Path>,
    pub shard: Option<Shard>,
}

/// Checks that `shards` (at least one) are slices of one run and each K is given once:
/// the same scenario, the same record fields (`differs(first, other)` names the first
/// field in which `other` differs from the first shard), the same N. `runs` words the
/// error (`runs`, `sweeps`). Returns the set, to ask which shards are missing.
pub fn join<'a, T>(
    shards: &'a [T],
    runs: &'static str,
    of: impl Fn(&'a T) -> ShardOf<'a>,
    differs: impl Fn(&T, &T) -> Option<&'static str>,
) -> Result<ShardSet<'a>, ShardSetError> {
    let identity = |o: &ShardOf| scenario_identity(o.record, o.scenario, o.scenario_file);
    let Some(first) = shards.first() else {
        return Err(ShardSetError::Empty);
    };
    let head = of(first);
    let scenario = identity(&head);
    let n = head.shard.map_or(0, |s| s.n);
    let mut set = ShardSet::new(n);
    for s in shards {
        let this = of(s);
        let what = if identity(&this) != scenario {
            Some("scenario")
        } else {
            differs(first, s).or((this.shard.map(|s| s.n) != Some(n)).then_some("N of K/N"))
        };
        if let Some(what) = what {
            return Err(ShardSetError::Differ {
                runs,
                first: head.record.to_owned(),
                other: this.record.to_owned(),
                what,
            });
        }
        set.add(this.shard.map_or(0, |s| s.k), this.record)?;
    }
    Ok(set)
}

/// The shards of one job array being joined: each K once, and which of 1..=N are missing.
#[derive(Debug)]
pub struct ShardSet<'a> {
    n: u64,
    by_k: std::collections::BTreeMap<u64, &'a Path>,
}

impl<'a> ShardSet<'a> {
    /// An empty set of a job array of `n` shards.
    pub fn new(n: u64) -> Self {
        ShardSet {
            n,
            by_k: Default::default(),
        }
    }

    /// Adds shard `k`, read from `record`; a K given twice is an error naming both files.
    pub fn add(&mut self, k: u64, record: &'a Path) -> Result<(), ShardSetError> {
        match self.by_k.insert(k, record) {
            Some(other) => Err(ShardSetError::Twice {
                k,
                n: self.n,
                first: other.to_owned(),
                second: record.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// The shards not given (`K/N`, at most ten, comma-separated), or `None` when all are.
    pub fn missing(&self) -> Option<String> {
        if self.by_k.len() as u64 == self.n {
            return None;
        }
        let n = self.n;
        let missing: Vec<String> = (1..=n)
            .filter(|k| !self.by_k.contains_key(k))
            .take(10)
            .map(|k| format!("{k}/{n}"))
            .collect();
        Some(missing.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record for [`join`]: a file, its K/N and one field that must agree.
    struct Rec {
        file: PathBuf,
        shard: Option<Shard>,
        seed: u64,
    }

    fn joined(recs: &[Rec]) -> Result<Option<String>, ShardSetError> {
        let set = join(
            recs,
            "runs",
            |r| ShardOf {
                record: &r.file,
                scenario: Path::new("/nonexistent/s.toml"),
                scenario_file: None,
                shard: r.shard,
            },
            |a, b| (a.seed != b.seed).then_some("seed"),
        )?;
        Ok(set.missing())
    }

    #[test]
    fn join_checks_one_run_and_each_shard_once() {
        let rec = |file: &str, k, n, seed| Rec {
            file: file.into(),
            shard: Some(Shard { k, n }),
            seed,
        };
        assert_eq!(joined(&[rec("a", 1, 2, 7), rec("b", 2, 2, 7)]), Ok(None));
        assert_eq!(joined(&[]), Err(ShardSetError::Empty));
        assert_eq!(joined(&[rec("a", 2, 3, 7)]), Ok(Some("1/3, 3/3".into())));
        let e = joined(&[rec("a", 1, 2, 7), rec("b", 1, 2, 7)]).unwrap_err();
        assert!(matches!(e, ShardSetError::Twice { k: 1, n: 2, .. }), "{e}");
        assert_eq!(e.to_string(), "shard 1/2 is given twice: a and b");
        let e = joined(&[rec("a", 1, 2, 7), rec("b", 2, 2, 8)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the shards come from different runs: a and b differ in seed"
        );
        let e = joined(&[rec("a", 1, 2, 7), rec("b", 2, 3, 7)]).unwrap_err();
        assert!(
            matches!(
                e,
                ShardSetError::Differ {
                    what: "N of K/N",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn shards_cover_every_index_once() {
        for total in [0u64, 1, 7, 20, 101] {
            for n in 1..=9 {
                let mut next = 0;
                for k in 1..=n {
                    let r = Shard { k, n }.range(total);
                    assert_eq!(r.start, next, "{k}/{n} of {total}");
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
        assert_eq!(Shard { k: 1, n: 3 }.range(20), 0..7);
        assert_eq!(Shard { k: 3, n: 3 }.range(20), 14..20);
    }

    #[test]
    fn stored_paths_resolve_from_the_record_file() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("results/sweep");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(tmp.path().join("s.toml"), "").unwrap();
        let record = run.join("sweep.json");
        let abs = tmp.path().join("s.toml");
        assert_eq!(
            stored_scenario(&record, Path::new("../../s.toml"), None),
            run.join("../../s.toml")
        );
        assert_eq!(stored_scenario(&record, &abs, None), abs);
        assert_eq!(
            stored_scenario(&record, Path::new("elsewhere.toml"), Some(&abs)),
            abs
        );
        assert!(absolute(Path::new("x.toml")).is_absolute());
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { k: 2, n: 5 }));
        for bad in ["4/3", "0/3", "1/0", "3", "a/3", "1/b"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("4/3"
            .parse::<Shard>()
            .unwrap_err()
            .to_string()
            .contains("1 <= K <= N"));
    }
}
