//! Results folders that tradeflow owns, written all or nothing.
//!
//! Every folder tradeflow writes carries a marker, `.tradeflow.json`, that lists which files
//! each kind of results put there (`run`, `montecarlo`, `charts`, ...) and which command and
//! version wrote them. A command may write into a folder that does not exist, an empty
//! folder, or a folder that is tradeflow's (it has a marker, or holds nothing but folders that
//! are tradeflow's). Anything else is refused before any work starts: a folder holding other
//! files, the working directory or a folder above it, a folder holding a file the command
//! reads, a regular file, a device, a symbolic link.
//!
//! # How a write stays all or nothing and touches only its own files
//!
//! 1. [`Claim::new`] checks the folder, creates it if needed and takes an exclusive lock on
//!    `.tradeflow.lock` inside it (`flock`, released by the kernel when the process dies, so a
//!    `kill -9` leaves no stale lock). The new folder gets a hard link of the same lock file,
//!    so the lock outlives the swap (step 4). A second writer is told which process holds it
//!    (the holder writes its id just after taking the lock: until then the second writer
//!    looks again rather than name no one). A
//!    claim of a folder inside another tradeflow folder (`plots/x/calibration`) also takes a
//!    shared lock on the outer one, so `run` on `plots/x` and `calibrate` into
//!    `plots/x/calibration` never interleave.
//! 2. Staging folders that dead processes left behind (`.NAME.tradeflow-staging-PID`) are
//!    folded back: a file that is a hard link of a live one, or that a marker in the staging
//!    folder lists as tradeflow's, is removed; anything else is moved back, never deleted.
//! 3. [`Claim::write`] builds the new folder beside the old one: every entry of the old
//!    folder is hard-linked into it (folders recreated, files linked, no bytes copied), except
//!    the files that the results being replaced wrote, which the marker lists; then the
//!    markers are written, and after them the new files: bytes made beforehand, or a
//!    [`Content::Stream`] that writes its file row by row through a buffer, so that a large
//!    file is never held in memory. A new file whose name is taken by a file that these
//!    results did not write is an error, and so is a stream's; either way the staging folder
//!    is removed and the old folder is left as it was.
//! 4. The two folders are swapped in one step (`renameat2` with `RENAME_EXCHANGE`), so a
//!    reader, a crash or a `kill -9` sees either the old folder or the new one. Where the
//!    file system cannot exchange, two renames are used instead and a crash between them
//!    can lose the previous results (never a user's file).
//! 5. The old folder, now at the staging path, is taken apart the same careful way as a dead
//!    staging folder (step 2).
//!
//! The lock file holds the process id and command of the last writer; its content is the only
//! thing a refused or killed command changes in a folder.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::OutputError;

/// The marker file of a folder tradeflow owns.
pub const MARKER: &str = ".tradeflow.json";
/// The lock file of a folder tradeflow owns.
pub const LOCK: &str = ".tradeflow.lock";
/// What a staging folder's name holds between the folder's name and the process id.
const STAGING: &str = ".tradeflow-staging-";
/// What the marker says it is, so that a `.tradeflow.json` of someone else's is not taken
/// for one.
const MARKER_KIND: &str = "tradeflow results folder";
/// The marker format this version writes and reads.
const MARKER_FORMAT: u32 = 1;
/// At most this many entries of a foreign folder are named in a refusal.
const NAMED_ENTRIES: usize = 3;
/// Folders inside a folder are looked into this deep to decide whether it is tradeflow's.
const OWNERSHIP_DEPTH: usize = 4;

/// A kind of results: each kind replaces only the files it wrote before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Results {
    /// `tradeflow run` or `tradeflow gravity`: one counterfactual or a yearly run.
    Run,
    /// `tradeflow run --draws` or `tradeflow merge` of Monte Carlo shards, or one shard.
    MonteCarlo,
    /// `tradeflow calibrate`.
    Calibration,
    /// `tradeflow sweep` or `tradeflow merge` of sweep shards, or one shard.
    Sweep,
    /// `tradeflow compare`.
    Compare,
    /// `tradeflow data report`.
    DataReport,
    /// `tradeflow estimate`: a PPML fit.
    Estimate,
    /// The charts of a results folder (`charts/`), from the command that wrote the folder
    /// or from `tradeflow plot`.
    Charts,
}

impl Results {
    fn name(self) -> &'static str {
        match self {
            Results::Run => "run",
            Results::MonteCarlo => "montecarlo",
            Results::Calibration => "calibration",
            Results::Sweep => "sweep",
            Results::Compare => "compare",
            Results::DataReport => "data-report",
            Results::Estimate => "estimate",
            Results::Charts => "charts",
        }
    }
}

/// What one file of a [`Part`] holds: bytes made before the write, or a writer that makes
/// them at write time, straight into the new folder through a buffer, so that a file of
/// millions of rows is never held in memory.
#[derive(Clone)]
pub enum Content {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// Writes the file into the writer it is given (the file in the staging folder). An
    /// error leaves the previous folder as it was: the staging folder is removed.
    Stream(Arc<StreamFn>),
}

/// The writer of a streamed file: see [`Content::Stream`].
pub type StreamFn = dyn Fn(&mut dyn Write) -> Result<(), OutputError> + Send + Sync;

impl Content {
    /// A file written at write time by `write`.
    pub fn stream(
        write: impl Fn(&mut dyn Write) -> Result<(), OutputError> + Send + Sync + 'static,
    ) -> Content {
        Content::Stream(Arc::new(write))
    }

    /// The file's bytes: made in memory for a streamed file (for tests and for readers that
    /// need the whole file, such as charts).
    pub fn to_bytes(&self) -> Result<Vec<u8>, OutputError> {
        match self {
            Content::Bytes(b) => Ok(b.clone()),
            Content::Stream(write) => {
                let mut out = Vec::new();
                write(&mut out)?;
                Ok(out)
            }
        }
    }
}

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Content {
        Content::Bytes(bytes)
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// One kind of results written into a sub-folder of a claimed folder (`""` for the folder
/// itself): file names relative to that sub-folder, and what they hold.
#[derive(Debug, Clone)]
pub struct Part {
    /// The sub-folder, `""`, `charts` or `montecarlo/charts`.
    pub dir: String,
    /// Which results these are.
    pub results: Results,
    /// File names (which may hold a sub-folder, `a/b.csv`) and their bytes or writers.
    pub files: Vec<(String, Content)>,
}

impl Part {
    /// A part from borrowed or owned names, and bytes ([`Vec<u8>`]) or [`Content`].
    pub fn new<N: Into<String>, C: Into<Content>>(
        dir: impl Into<String>,
        results: Results,
        files: impl IntoIterator<Item = (N, C)>,
    ) -> Part {
        Part {
            dir: dir.into(),
            results,
            files: files
                .into_iter()
                .map(|(n, b)| (n.into(), b.into()))
                .collect(),
        }
    }

    /// The same part placed one sub-folder deeper (`charts` inside `montecarlo`).
    pub fn under(mut self, dir: &str) -> Part {
        self.dir = join_rel(dir, &self.dir);
        self
    }
}

/// `.tradeflow.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    tradeflow: String,
    format: u32,
    parts: Vec<PartRecord>,
}

/// What one kind of results wrote into the folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartRecord {
    results: Results,
    command: String,
    version: String,
    files: Vec<String>,
}

/// A folder claimed for writing: checked, locked, and undone (if nothing was written) when
/// dropped.
#[derive(Debug)]
pub struct Claim {
    /// The folder as the user named it, for messages.
    shown: PathBuf,
    /// The same folder as an absolute path with its existing part resolved.
    abs: PathBuf,
    command: String,
    _lock: File,
    _outer_locks: Vec<File>,
    /// Folders this claim created, outermost first: removed again if nothing is written.
    created: Vec<PathBuf>,
    /// Whether this claim created the lock file (removed again if nothing is written).
    created_lock: bool,
    written: bool,
}

impl Claim {
    /// Claims `folder` for the results of `command` (e.g. `tradeflow run`), before any work:
    /// refuses a folder that is not tradeflow's to write (see the module docs), one that holds
    /// any of `inputs` (files or folders the command reads), and sub-folders in `subfolders`
    /// (`charts`, `montecarlo`) that exist and are not tradeflow's. Creates the folder if
    /// needed, locks it and folds back staging folders of dead processes.
    pub fn new(
        folder: &Path,
        command: &str,
        inputs: &[PathBuf],
        subfolders: &[&str],
    ) -> Result<Claim, OutputError> {
        let abs = resolve(folder)?;
        check_target(folder, &abs, inputs)?;
        for sub in subfolders {
            check_subfolder(folder, &abs, sub)?;
        }
        // The tradeflow folders it sits in: locked shared, innermost first.
        let mut outer_locks = Vec::new();
        let mut outer = abs.parent();
        while let Some(p) = outer {
            if !(p.join(MARKER).exists() || p.join(LOCK).exists()) {
                break;
            }
            outer_locks.push(lock(&p.join(LOCK), p, LockMode::Shared, command)?.0);
            outer = p.parent();
        }
        let created = create_dirs(&abs)?;
        let (lock_file, created_lock) =
            match lock(&abs.join(LOCK), folder, LockMode::Exclusive, command) {
                Ok(l) => l,
                Err(e) => {
                    remove_created(&created);
                    return Err(e);
                }
            };
        let mut claim = Claim {
            shown: folder.to_owned(),
            abs,
            command: command.to_owned(),
            _lock: lock_file,
            _outer_locks: outer_locks,
            created,
            created_lock,
            written: false,
        };
        // Checked again under the lock: another process may have written meanwhile.
        check_owned(folder, &claim.abs)?;
        claim.recover()?;
        Ok(claim)
    }

    /// Claims `parent/sub` (`plots/x/sweep`), where `parent` is a results folder the user
    /// named: `parent` too must be new, empty or tradeflow's, and is locked shared.
    pub fn new_in(
        parent: &Path,
        sub: &str,
        command: &str,
        inputs: &[PathBuf],
        subfolders: &[&str],
    ) -> Result<Claim, OutputError> {
        let abs_parent = resolve(parent)?;
        check_target(parent, &abs_parent, inputs)?;
        check_subfolder(parent, &abs_parent, sub)?;
        let created = create_dirs(&abs_parent)?;
        // A lock file in the parent makes it tradeflow's, so the claim below locks it shared.
        let made = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(abs_parent.join(LOCK))
            .is_ok();
        let claim = Claim::new(&parent.join(sub), command, inputs, subfolders);
        match claim {
            Ok(mut c) => {
                // Undone with the inner claim if nothing is written (innermost last).
                let mut all = created;
                if made {
                    all.push(abs_parent.join(LOCK));
                }
                all.append(&mut c.created);
                c.created = all;
                Ok(c)
            }
            Err(e) => {
                if made {
                    let _ = fs::remove_file(abs_parent.join(LOCK));
                }
                remove_created(&created);
                Err(e)
            }
        }
    }

    /// The folder as the user named it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Writes `parts` in one piece: each replaces the files its kind of results wrote before
    /// in its sub-folder, and everything else in the folder stays as it was.
    pub fn write(&mut self, parts: &[Part]) -> Result<(), OutputError> {
        let name = file_name(&self.abs);
        let parent = self.abs.parent().unwrap_or(Path::new("/")).to_owned();
        let staging = parent.join(format!(".{name}{STAGING}{}", std::process::id()));
        if staging.exists() {
            fold_back(&staging, &self.abs).map_err(io_at(&staging))?;
        }
        let built = self.build(&staging, parts);
        if let Err(e) = built {
            // Only links and files this process wrote are in it.
            let _ = make_writable_tree(&staging);
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        if let Err(cause) = exchange(&staging, &self.abs) {
            let _ = make_writable_tree(&staging);
            let _ = fs::remove_dir_all(&staging);
            return Err(OutputError::Io {
                path: self.shown.clone(),
                cause,
            });
        }
        self.written = true;
        // The old folder is now at the staging path.
        fold_back(&staging, &self.abs).map_err(io_at(&staging))?;
        Ok(())
    }

    /// Builds the new folder at `staging`.
    fn build(&self, staging: &Path, parts: &[Part]) -> Result<(), OutputError> {
        // What the replaced results wrote, relative to the folder, and the markers rewritten.
        let mut drop = BTreeSet::new();
        let mut markers: Vec<(String, Marker)> = Vec::new();
        for part in parts {
            check_rel(&self.shown, &part.dir)?;
            let live = self.abs.join(&part.dir);
            if part.dir.is_empty() {
                // The claim checked the folder itself.
            } else {
                check_subfolder(&self.shown, &self.abs, &part.dir)?;
            }
            let old = read_marker(&self.shown, &live)?;
            if let Some(old) = &old {
                for rec in old.parts.iter().filter(|r| r.results == part.results) {
                    for f in &rec.files {
                        drop.insert(join_rel(&part.dir, f));
                    }
                }
            }
            drop.insert(join_rel(&part.dir, MARKER));
            let entry = match markers.iter().position(|(d, _)| *d == part.dir) {
                Some(k) => k,
                None => {
                    markers.push((
                        part.dir.clone(),
                        old.unwrap_or_else(|| Marker {
                            tradeflow: MARKER_KIND.to_owned(),
                            format: MARKER_FORMAT,
                            parts: Vec::new(),
                        }),
                    ));
                    markers.len() - 1
                }
            };
            let marker = &mut markers[entry].1;
            marker.parts.retain(|r| r.results != part.results);
            marker.parts.push(PartRecord {
                results: part.results,
                command: self.command.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                files: part.files.iter().map(|(n, _)| n.clone()).collect(),
            });
            marker.parts.sort_by_key(|r| r.results);
        }
        mirror(&self.abs, staging, "", &drop).map_err(io_at(staging))?;
        // The markers go in before the files they list, so that a staging folder of a killed
        // process always says which of its files are tradeflow's.
        for (dir, marker) in &markers {
            let path = staging.join(dir).join(MARKER);
            if let Some(sub) = path.parent() {
                fs::create_dir_all(sub).map_err(io_at(sub))?;
            }
            let bytes = super::json_bytes(marker, "folder marker")?;
            write_new(&path, &bytes).map_err(io_at(&path))?;
        }
        for part in parts {
            for (file, bytes) in &part.files {
                check_rel(&self.shown, file)?;
                let rel = join_rel(&part.dir, file);
                let base = Path::new(file).file_name().and_then(|n| n.to_str());
                if matches!(base, Some(MARKER) | Some(LOCK)) {
                    return Err(OutputError::Refused {
                        path: self.shown.clone(),
                        reason: format!("`{rel}` is a name tradeflow keeps for itself"),
                    });
                }
                let path = staging.join(&rel);
                if fs::symlink_metadata(&path).is_ok() {
                    return Err(OutputError::Refused {
                        path: self.shown.clone(),
                        reason: format!(
                            "`{rel}` exists and was not written by the {} results of tradeflow",
                            part.results.name()
                        ),
                    });
                }
                if let Some(sub) = path.parent() {
                    fs::create_dir_all(sub).map_err(io_at(sub))?;
                }
                match bytes {
                    Content::Bytes(b) => write_new(&path, b).map_err(io_at(&path))?,
                    Content::Stream(write) => write_streamed(&path, write.as_ref())?,
                }
            }
        }
        Ok(())
    }

    /// Folds back the staging folders of dead processes: those of this folder (beside it) and
    /// those of folders inside it (the lock held here keeps every writer inside it out).
    fn recover(&mut self) -> Result<(), OutputError> {
        let name = file_name(&self.abs);
        if let Some(parent) = self.abs.parent() {
            let prefix = format!(".{name}{STAGING}");
            for entry in fs::read_dir(parent).map_err(io_at(parent))? {
                let entry = entry.map_err(io_at(parent))?;
                let n = entry.file_name().to_string_lossy().into_owned();
                if n.starts_with(&prefix) && foldable(&n) {
                    fold_back(&entry.path(), &self.abs).map_err(io_at(&entry.path()))?;
                }
            }
        }
        for entry in fs::read_dir(&self.abs).map_err(io_at(&self.abs))? {
            let entry = entry.map_err(io_at(&self.abs))?;
            let n = entry.file_name().to_string_lossy().into_owned();
            if let Some(target) = staging_target(&n) {
                let live = self.abs.join(target);
                if foldable(&n) && live.is_dir() {
                    fold_back(&entry.path(), &live).map_err(io_at(&entry.path()))?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.written {
            return;
        }
        // Nothing was written: leave no trace of the claim.
        if self.created_lock && !self.abs.join(MARKER).exists() {
            let _ = fs::remove_file(self.abs.join(LOCK));
        }
        remove_created(&self.created);
    }
}

/// The folder a staging folder's name belongs to (`.x.tradeflow-staging-12` -> `x`; the
/// old folder set aside where the file system cannot exchange ends in `-old`).
fn staging_target(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?;
    let at = rest.rfind(STAGING)?;
    staging_pid(name)?;
    Some(&rest[..at])
}

/// The process id in a staging folder's name.
fn staging_pid(name: &str) -> Option<u32> {
    let at = name.rfind(STAGING)?;
    let pid = &name[at + STAGING.len()..];
    let pid = pid.strip_suffix("-old").unwrap_or(pid);
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a staging folder is a dead process's: its process is gone, or its id is this
/// process's (which cannot have a staging folder outside a write: the id was reused).
fn foldable(name: &str) -> bool {
    staging_pid(name).is_some_and(|pid| pid == std::process::id() || !pid_alive(pid))
}

/// Whether a process with this id exists (a staging folder of a live one is left alone).
#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn pid_alive(_pid: u32) -> bool {
    true
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> OutputError + '_ {
    move |cause| OutputError::Io {
        path: path.to_owned(),
        cause,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned())
}

fn join_rel(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => dir.to_owned(),
        _ => format!("{dir}/{name}"),
    }
}

/// A name inside a results folder: relative, no `..`, no empty segments.
fn check_rel(shown: &Path, rel: &str) -> Result<(), OutputError> {
    if rel.is_empty() {
        return Ok(());
    }
    let bad = Path::new(rel)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
        || rel.split('/').any(str::is_empty);
    if bad {
        return Err(OutputError::Refused {
            path: shown.to_owned(),
            reason: format!("`{rel}` is not a plain name inside the folder"),
        });
    }
    Ok(())
}

/// An absolute path for `folder`: its longest existing ancestor canonicalised, the rest
/// appended with `.` and `..` taken lexically.
fn resolve(folder: &Path) -> Result<PathBuf, OutputError> {
    if folder.as_os_str().is_empty() {
        return Err(OutputError::Refused {
            path: folder.to_owned(),
            reason: "the folder name is empty".into(),
        });
    }
    let abs = std::path::absolute(folder).map_err(io_at(folder))?;
    let mut lexical = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while fs::symlink_metadata(&existing).is_err() {
        match (existing.file_name(), existing.parent()) {
            (Some(n), Some(p)) => {
                rest.push(n.to_owned());
                existing = p.to_owned();
            }
            _ => break,
        }
    }
    // The folder itself is not followed if it is a link: it is refused as one.
    let mut resolved = if rest.is_empty() {
        match (lexical.parent(), lexical.file_name()) {
            (Some(p), Some(n)) => p.canonicalize().map_err(io_at(p))?.join(n),
            _ => lexical.clone(),
        }
    } else {
        existing.canonicalize().map_err(io_at(&existing))?
    };
    for n in rest.iter().rev() {
        resolved.push(n);
    }
    Ok(resolved)
}

fn refuse(shown: &Path, reason: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: shown.to_owned(),
        reason: reason.into(),
    }
}

/// Refusals that need no look inside the folder: what it is, where it is, what it holds.
fn check_target(shown: &Path, abs: &Path, inputs: &[PathBuf]) -> Result<(), OutputError> {
    if abs.parent().is_none() {
        return Err(refuse(shown, "it is the root of the file system"));
    }
    // The nearest existing ancestor must be a folder.
    let mut p = abs.parent();
    while let Some(a) = p {
        if let Ok(m) = fs::symlink_metadata(a) {
            if !a.is_dir() || !m.file_type().is_dir() && !m.file_type().is_symlink() {
                return Err(refuse(shown, format!("{} is not a folder", a.display())));
            }
            break;
        }
        p = a.parent();
    }
    if let Ok(m) = fs::symlink_metadata(abs) {
        let t = m.file_type();
        if t.is_symlink() {
            return Err(refuse(
                shown,
                "it is a symbolic link; name the folder it points to",
            ));
        }
        if t.is_file() {
            return Err(refuse(shown, "it is a file, not a folder"));
        }
        if !t.is_dir() {
            return Err(refuse(
                shown,
                "it is not a folder (a device, pipe or socket)",
            ));
        }
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
        if cwd == abs {
            return Err(refuse(shown, "it is the working directory"));
        }
        if cwd.starts_with(abs) {
            return Err(refuse(
                shown,
                format!("it holds the working directory {}", cwd.display()),
            ));
        }
    }
    for input in inputs {
        let canonical = input.canonicalize().unwrap_or_else(|_| input.clone());
        if canonical.starts_with(abs) {
            return Err(refuse(
                shown,
                format!("it holds {}, which this command reads", input.display()),
            ));
        }
    }
    if abs.exists() {
        check_owned(shown, abs)?;
    }
    Ok(())
}

/// A sub-folder that results will be written into must be missing, or a folder that is
/// tradeflow's.
fn check_subfolder(shown: &Path, abs: &Path, sub: &str) -> Result<(), OutputError> {
    check_rel(shown, sub)?;
    let mut path = abs.to_owned();
    for seg in sub.split('/') {
        path.push(seg);
        match fs::symlink_metadata(&path) {
            Err(_) => return Ok(()),
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                return Err(refuse(
                    shown,
                    format!(
                        "`{sub}` inside it is a file tradeflow did not write, where tradeflow writes a folder"
                    ),
                ))
            }
        }
    }
    match ownership(&path, OWNERSHIP_DEPTH) {
        Ok(_) => Ok(()),
        Err(foreign) => Err(refuse(
            shown,
            format!(
                "its folder `{sub}` holds files tradeflow did not write ({})",
                foreign.join(", ")
            ),
        )),
    }
}

/// The folder must be empty or tradeflow's.
fn check_owned(shown: &Path, abs: &Path) -> Result<(), OutputError> {
    match ownership(abs, OWNERSHIP_DEPTH) {
        Ok(_) => {
            read_marker(shown, abs)?;
            Ok(())
        }
        Err(foreign) => Err(refuse(
            shown,
            format!(
                "it holds files tradeflow did not write ({}); name a new or empty folder, or one tradeflow wrote",
                foreign.join(", ")
            ),
        )),
    }
}

/// Whether a folder is tradeflow's: `Ok(true)` with a marker, `Ok(false)` when it holds
/// nothing but tradeflow's files and folders (or nothing), `Err` with a few of the other
/// entries' names.
fn ownership(dir: &Path, depth: usize) -> Result<bool, Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return Err(vec![format!("cannot list it: {e}")]),
    };
    let mut names = Vec::new();
    let mut marked = false;
    let mut foreign = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else {
            return Err(vec!["an entry that cannot be read".into()]);
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MARKER {
            marked = true;
        }
        names.push((name, entry.path()));
    }
    if marked {
        return Ok(true);
    }
    for (name, path) in names {
        let ours = name == LOCK
            || staging_target(&name).is_some()
            || (depth > 0
                && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir())
                && ownership(&path, depth - 1).is_ok());
        if !ours {
            let is_dir = path.is_dir();
            foreign.push(if is_dir { format!("{name}/") } else { name });
            if foreign.len() == NAMED_ENTRIES {
                foreign.push("...".into());
                break;
            }
        }
    }
    if foreign.is_empty() {
        Ok(false)
    } else {
        Err(foreign)
    }
}

/// The marker of `dir`, if it has one; an unreadable marker is an error.
fn read_marker(shown: &Path, dir: &Path) -> Result<Option<Marker>, OutputError> {
    let path = dir.join(MARKER);
    let meta = match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(&path)(e)),
        Ok(m) => m,
    };
    let bad = |why: String| {
        refuse(
            shown,
            format!(
                "{} is not a marker this version of tradeflow reads: {why}",
                path.display()
            ),
        )
    };
    if !meta.file_type().is_file() || meta.len() > 16 << 20 {
        return Err(bad("not a small regular file".into()));
    }
    let bytes = fs::read(&path).map_err(io_at(&path))?;
    let marker: Marker = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if marker.tradeflow != MARKER_KIND {
        return Err(bad(format!("`tradeflow` is `{}`", marker.tradeflow)));
    }
    if marker.format != MARKER_FORMAT {
        return Err(bad(format!(
            "format {} (this version reads {MARKER_FORMAT})",
            marker.format
        )));
    }
    Ok(Some(marker))
}

/// Creates `dir` and its missing ancestors; returns those it created, outermost first.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut missing = Vec::new();
    let mut p = Some(dir);
    while let Some(a) = p {
        if fs::symlink_metadata(a).is_ok() {
            break;
        }
        missing.push(a.to_owned());
        p = a.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        match fs::create_dir(&d) {
            Ok(()) => created.push(d),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(cause) => {
                remove_created(&created);
                return Err(OutputError::Io { path: d, cause });
            }
        }
    }
    Ok(created)
}

/// Removes what a claim created, innermost first, each only if still empty (a lock file
/// listed among them is removed as a file).
fn remove_created(created: &[PathBuf]) {
    for d in created.iter().rev() {
        if d.file_name().is_some_and(|n| n == LOCK) {
            let _ = fs::remove_file(d);
        } else {
            let _ = fs::remove_dir(d);
        }
    }
}

#[derive(Clone, Copy)]
enum LockMode {
    Shared,
    Exclusive,
}

/// Opens (creating if needed) and locks `path`; returns the file and whether it was
/// created. A lock held elsewhere is an error naming the holder.
fn lock(
    path: &Path,
    shown: &Path,
    mode: LockMode,
    command: &str,
) -> Result<(File, bool), OutputError> {
    let mut replaced = 0;
    let mut unnamed = 0;
    loop {
        let (mut file, created) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => (f, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(io_at(path))?,
                false,
            ),
            Err(e) => return Err(io_at(path)(e)),
        };
        match try_lock(&file, mode) {
            Ok(true) => {}
            Ok(false) => {
                // The holder writes its id just after it takes the lock, so for a moment the
                // file is empty (a new lock file) or names the process that held it before,
                // which is gone: look again then, a bounded number of times, rather than
                // name no one or the wrong one.
                if let Some(holder) = live_holder(&mut file) {
                    return Err(OutputError::InUse {
                        path: shown.to_owned(),
                        holder: format!("process {holder}"),
                    });
                }
                unnamed += 1;
                if unnamed >= HOLDER_LOOKS {
                    return Err(OutputError::InUse {
                        path: shown.to_owned(),
                        holder: "another process".into(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            Err(cause) => return Err(io_at(path)(cause)),
        }
        // The lock file may have been replaced between opening and locking.
        if !same_file(&file, path) {
            replaced += 1;
            if replaced >= 16 {
                return Err(OutputError::InUse {
                    path: shown.to_owned(),
                    holder: "another process (its lock file keeps changing)".into(),
                });
            }
            continue;
        }
        if let LockMode::Exclusive = mode {
            // The line goes over the old one, then the rest is cut: a reader's first line is
            // the old holder's or this one's, never an empty file (but for a new one).
            let line = format!("{} ({command})\n", std::process::id());
            file.write_all(line.as_bytes()).map_err(io_at(path))?;
            file.set_len(line.len() as u64).map_err(io_at(path))?;
        }
        return Ok((file, created));
    }
}

/// How often a held lock's file is read for its holder before it is called "another
/// process" (1 ms apart: the holder names itself microseconds after taking the lock).
const HOLDER_LOOKS: u32 = 200;

/// The holder a lock file names (`12345 (tradeflow run)`), if that process is alive; a
/// shared lock's holders write nothing, so an outer folder's holder may be unknown.
fn live_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let line = text.lines().next()?.trim();
    let pid: u32 = line.split_whitespace().next()?.parse().ok()?;
    pid_alive(pid).then(|| line.to_owned())
}

#[cfg(unix)]
fn try_lock(file: &File, mode: LockMode) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let op = match mode {
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    } | libc::LOCK_NB;
    // SAFETY: `flock` only reads the descriptor, which `file` keeps open for the call.
    let r = unsafe { libc::flock(file.as_raw_fd(), op) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File, _mode: LockMode) -> io::Result<bool> {
    Ok(true)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(bytes)
}

/// Bytes a streamed file is written through: large enough that one `write` call carries
/// thousands of rows.
const STREAM_BUFFER: usize = 1 << 20;

/// A new file written by its writer through a buffer. An I/O error is reported at `path`
/// (the writer's own errors, such as a number that is not finite, as they are).
fn write_streamed(path: &Path, write: &StreamFn) -> Result<(), OutputError> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_at(path))?;
    let mut out = BufWriter::with_capacity(STREAM_BUFFER, f);
    write(&mut out).map_err(|e| match e {
        OutputError::Io { cause, .. } => io_at(path)(cause),
        other => other,
    })?;
    out.flush().map_err(io_at(path))
}

/// Recreates `from` at `to`: folders made anew, files and other entries hard-linked,
/// symbolic links copied as links, leaving out `drop` (paths relative to the top) and
/// staging folders.
fn mirror(from: &Path, to: &Path, rel: &str, drop: &BTreeSet<String>) -> io::Result<()> {
    fs::create_dir(to)?;
    let mut names: Vec<_> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let r = join_rel(rel, &name_str);
        if drop.contains(&r) || staging_target(&name_str).is_some() {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let t = entry.file_type()?;
        if t.is_dir() {
            mirror(&src, &dst, &r, drop)?;
            fs::set_permissions(&dst, fs::metadata(&src)?.permissions())?;
        } else if t.is_symlink() {
            copy_symlink(&src, &dst)?;
        } else {
            fs::hard_link(&src, &dst).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot link {} into the new folder ({e}); tradeflow needs the results folder on one file system that supports hard links",
                        src.display()
                    ),
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_symlink(src: &Path, dst: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(fs::read_link(src)?, dst)
}

#[cfg(not(unix))]
fn copy_symlink(src: &Path, dst: &Path) -> io::Result<()> {
    fs::copy(src, dst).map(|_| ())
}

#[cfg(unix)]
fn same_inode(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_inode(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    false
}

/// Takes apart a staging folder (a dead process's, or the old folder after a swap) against
/// the live folder: removes what is tradeflow's or also in the live folder, moves anything
/// else into the live folder where its place is free, and leaves the rest.
fn fold_back(staging: &Path, live: &Path) -> io::Result<()> {
    let mut ours = BTreeSet::new();
    fold_dir(staging, live, "", &mut ours)?;
    let _ = fs::remove_dir(staging);
    Ok(())
}

fn fold_dir(dir: &Path, live: &Path, rel: &str, ours: &mut BTreeSet<String>) -> io::Result<()> {
    make_writable(dir)?;
    // The marker here names what tradeflow wrote in this folder.
    if let Ok(bytes) = fs::read(dir.join(MARKER)) {
        if let Ok(m) = serde_json::from_slice::<Marker>(&bytes) {
            if m.tradeflow == MARKER_KIND {
                for p in m.parts {
                    for f in p.files {
                        ours.insert(join_rel(rel, &f));
                    }
                }
            }
        }
    }
    let entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    for entry in entries {
        let name = entry.file_name();
        let name_str = name.to_string_lossy().into_owned();
        let r = join_rel(rel, &name_str);
        let path = entry.path();
        let there = live.join(&r);
        let t = entry.file_type()?;
        if t.is_dir() {
            fold_dir(&path, live, &r, ours)?;
            if fs::remove_dir(&path).is_err() && fs::symlink_metadata(&there).is_err() {
                // Left over entries of someone else's: the folder goes back whole.
                let _ = fs::rename(&path, &there);
            }
            continue;
        }
        let meta = fs::symlink_metadata(&path)?;
        let linked = fs::symlink_metadata(&there).is_ok_and(|m| {
            if t.is_symlink() {
                m.file_type().is_symlink()
                    && fs::read_link(&there).ok() == fs::read_link(&path).ok()
            } else {
                same_inode(&m, &meta)
            }
        });
        if name_str == MARKER || name_str == LOCK {
            // Last: while the marker is there, a killed fold can be taken up again.
            continue;
        }
        if linked || ours.contains(&r) {
            fs::remove_file(&path)?;
        } else if fs::symlink_metadata(&there).is_err() {
            if let Some(p) = there.parent() {
                fs::create_dir_all(p)?;
            }
            fs::rename(&path, &there)?;
        }
    }
    for name in [LOCK, MARKER] {
        match fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(unix)]
fn make_writable(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = fs::metadata(dir)?.permissions();
    if perm.mode() & 0o700 != 0o700 {
        perm.set_mode(perm.mode() | 0o700);
        fs::set_permissions(dir, perm)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_writable(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn make_writable_tree(dir: &Path) -> io::Result<()> {
    if !fs::symlink_metadata(dir)?.is_dir() {
        return Ok(());
    }
    make_writable(dir)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_writable_tree(&entry.path())?;
        }
    }
    Ok(())
}

/// Swaps two folders in one step where the file system can; else by two renames.
fn exchange(new: &Path, live: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = CString::new(new.as_os_str().as_bytes())?;
        let b = CString::new(live.as_os_str().as_bytes())?;
        // SAFETY: both pointers are valid NUL-terminated strings for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if !matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
        ) {
            return Err(e);
        }
    }
    let aside = new.with_file_name(format!(
        "{}-old",
        new.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    fs::rename(live, &aside)?;
    if let Err(e) = fs::rename(new, live) {
        let _ = fs::rename(&aside, live);
        return Err(e);
    }
    fs::rename(&aside, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(dir: &str, results: Results, files: &[(&str, &str)]) -> Part {
        Part::new(
            dir,
            results,
            files.iter().map(|(n, b)| (*n, b.as_bytes().to_vec())),
        )
    }

    fn claim(dir: &Path) -> Result<Claim, OutputError> {
        Claim::new(dir, "tradeflow test", &[], &[])
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn staging_names_are_recognised() {
        assert_eq!(staging_target(".run.tradeflow-staging-12"), Some("run"));
        assert_eq!(staging_target(".a.b.tradeflow-staging-7"), Some("a.b"));
        assert_eq!(staging_target(".run.tradeflow-staging-"), None);
        assert_eq!(staging_target("run.tradeflow-staging-1"), None);
        assert_eq!(staging_target(".run.tradeflow-staging-1x"), None);
        assert_eq!(staging_target(".run.tradeflow-staging-12-old"), Some("run"));
    }

    #[test]
    fn a_new_folder_gets_files_and_a_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let mut c = claim(&dir).unwrap();
        c.write(&[
            part("", Results::Run, &[("x.csv", "1")]),
            part("charts", Results::Charts, &[("c.png", "2")]),
        ])
        .unwrap();
        drop(c);
        assert_eq!(fs::read_to_string(dir.join("x.csv")).unwrap(), "1");
        assert_eq!(fs::read_to_string(dir.join("charts/c.png")).unwrap(), "2");
        assert!(dir.join(MARKER).exists() && dir.join("charts").join(MARKER).exists());
        assert_eq!(names(tmp.path()), ["a"]);
        assert_eq!(names(&tmp.path().join("a")), ["b"]);
    }

    #[test]
    fn a_rewrite_replaces_its_own_files_and_keeps_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        claim(&dir)
            .unwrap()
            .write(&[part("", Results::Run, &[("x.csv", "1"), ("y.csv", "2")])])
            .unwrap();
        claim(&dir.join("calibration"))
            .unwrap()
            .write(&[part("", Results::Calibration, &[("fit.csv", "c")])])
            .unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        claim(&dir)
            .unwrap()
            .write(&[part("", Results::Run, &[("x.csv", "3")])])
            .unwrap();
        assert_eq!(fs::read_to_string(dir.join("x.csv")).unwrap(), "3");
        assert!(
            !dir.join("y.csv").exists(),
            "a file the run no longer writes goes"
        );
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        assert_eq!(
            fs::read_to_string(dir.join("calibration/fit.csv")).unwrap(),
            "c"
        );
        assert_eq!(names(tmp.path()), ["r"], "no staging folder is left");
    }

    #[test]
    fn foreign_folders_files_and_links_are_refused_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("thesis.tex"), "x").unwrap();
        let e = claim(&mine).unwrap_err().to_string();
        assert!(
            e.contains("thesis.tex") && e.contains("did not write"),
            "{e}"
        );
        assert_eq!(names(&mine), ["thesis.tex"]);
        let file = tmp.path().join("report.txt");
        fs::write(&file, "r").unwrap();
        let e = claim(&file).unwrap_err().to_string();
        assert!(e.contains("is a file"), "{e}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "r");
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&mine, &link).unwrap();
            let e = claim(&link).unwrap_err().to_string();
            assert!(e.contains("symbolic link"), "{e}");
        }
        assert_eq!(names(tmp.path()), ["link", "mine", "report.txt"]);
    }

    #[test]
    fn a_folder_holding_an_input_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        fs::create_dir(&proj).unwrap();
        let input = proj.join("net.toml");
        fs::write(&input, "name = 1").unwrap();
        let e = Claim::new(tmp.path(), "t", std::slice::from_ref(&input), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("which this command reads"), "{e}");
    }

    /// Every file under `dir` with its bytes (the lock file aside).
    fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for n in names(dir) {
            let p = dir.join(&n);
            if p.is_dir() {
                out.extend(
                    contents(&p)
                        .into_iter()
                        .map(|(m, b)| (format!("{n}/{m}"), b)),
                );
            } else if n != LOCK {
                out.push((n, fs::read(&p).unwrap()));
            }
        }
        out
    }

    #[test]
    fn streamed_files_are_written_whole_beside_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        let rows = Content::stream(|out| {
            for k in 0..100_000 {
                writeln!(out, "{k},{}", k * 2).map_err(|cause| OutputError::Io {
                    path: PathBuf::new(),
                    cause,
                })?;
            }
            Ok(())
        });
        let expected = rows.to_bytes().unwrap();
        assert!(
            expected.len() > STREAM_BUFFER,
            "more than one buffer's worth"
        );
        claim(&dir)
            .unwrap()
            .write(&[Part::new(
                "",
                Results::Run,
                vec![("a.csv", rows), ("b.csv", Content::Bytes(b"b".to_vec()))],
            )])
            .unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), expected);
        assert_eq!(fs::read(dir.join("b.csv")).unwrap(), b"b");
        // The marker lists the streamed file like any other.
        let marker = fs::read_to_string(dir.join(MARKER)).unwrap();
        assert!(marker.contains("\"a.csv\"") && marker.contains("\"b.csv\""));
    }

    #[test]
    fn a_stream_that_fails_midway_leaves_the_old_folder_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        claim(&dir)
            .unwrap()
            .write(&[
                part("", Results::Run, &[("x.csv", "1"), ("y.csv", "2")]),
                part("charts", Results::Charts, &[("c.png", "3")]),
            ])
            .unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let before = contents(&dir);
        let failing = Content::stream(|out| {
            out.write_all(&[b'x'; 3 << 20]).unwrap();
            Err(OutputError::Serialise {
                what: "rows".into(),
                message: "row 7 (after the header), field `v`: NaN is not a finite number".into(),
            })
        });
        let mut c = claim(&dir).unwrap();
        let e = c
            .write(&[
                Part::new(
                    "",
                    Results::Run,
                    vec![
                        ("x.csv", Content::Bytes(b"new".to_vec())),
                        ("z.csv", failing),
                    ],
                ),
                part("charts", Results::Charts, &[]),
            ])
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 7") && e.contains("NaN"), "{e}");
        drop(c);
        assert_eq!(contents(&dir), before, "the old folder, byte for byte");
        assert_eq!(names(tmp.path()), ["r"], "no staging folder is left");
    }

    #[test]
    fn a_foreign_sub_folder_is_refused_before_work() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        claim(&dir)
            .unwrap()
            .write(&[part("", Results::Run, &[("x.csv", "1")])])
            .unwrap();
        fs::write(dir.join("charts"), "a user's file").unwrap();
        let e = Claim::new(&dir, "t", &[], &["charts"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`charts`"), "{e}");
        // And at write time too, if it appeared after the claim.
        let mut c = claim(&dir).unwrap();
        let e = c
            .write(&[part("charts", Results::Charts, &[("c.png", "2")])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("charts"), "{e}");
        assert_eq!(
            fs::read_to_string(dir.join("charts")).unwrap(),
            "a user's file"
        );
    }

    #[test]
    fn a_file_another_kind_wrote_is_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        claim(&dir)
            .unwrap()
            .write(&[part("", Results::Calibration, &[("fit.csv", "c")])])
            .unwrap();
        let e = claim(&dir)
            .unwrap()
            .write(&[part("", Results::Run, &[("fit.csv", "r")])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("fit.csv"), "{e}");
        assert_eq!(fs::read_to_string(dir.join("fit.csv")).unwrap(), "c");
        assert_eq!(names(tmp.path()), ["r"]);
    }

    #[test]
    fn a_second_writer_is_told_who_holds_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        let _first = claim(&dir).unwrap();
        let e = claim(&dir).unwrap_err().to_string();
        assert!(
            e.contains(&format!("in use by process {}", std::process::id())),
            "{e}"
        );
        // Inside it, too (shared lock on the outer folder).
        let e = claim(&dir.join("calibration")).unwrap_err().to_string();
        assert!(e.contains("in use"), "{e}");
    }

    /// A held lock whose file is empty or names a process that is gone is between two
    /// holders (the new one has not written its id yet): it is not reported with that name.
    #[test]
    fn a_holder_is_named_only_while_it_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(LOCK);
        let read = |text: &str| {
            fs::write(&path, text).unwrap();
            live_holder(&mut File::open(&path).unwrap())
        };
        assert_eq!(read(""), None);
        assert_eq!(read("999999999 (tradeflow run)\n"), None, "no such process");
        let me = format!("{} (tradeflow run)", std::process::id());
        assert_eq!(read(&format!("{me}\n")), Some(me.clone()));
        // A shorter id written over a longer one, before the rest is cut.
        assert_eq!(read(&format!("{me}\nun)\n")), Some(me));
        // A held lock that never names a live holder: "another process", after a while.
        let dir = tmp.path().join("r");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join(LOCK), "").unwrap();
        let held = File::open(dir.join(LOCK)).unwrap();
        assert!(try_lock(&held, LockMode::Exclusive).unwrap());
        let e = claim(&dir).unwrap_err().to_string();
        assert!(e.contains("in use by another process"), "{e}");
    }

    #[test]
    fn an_abandoned_claim_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        drop(claim(&dir).unwrap());
        assert!(names(tmp.path()).is_empty());
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        drop(claim(&empty).unwrap());
        assert!(names(&empty).is_empty());
    }

    #[test]
    fn dead_staging_folders_are_folded_back_without_loss() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        claim(&dir)
            .unwrap()
            .write(&[part("", Results::Run, &[("x.csv", "1")])])
            .unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        // A dead process's staging folder: a link of a live file, one of its own files
        // listed in its marker, and a file nobody else has.
        let dead = tmp.path().join(format!(".r{STAGING}999999999"));
        fs::create_dir(&dead).unwrap();
        fs::hard_link(dir.join("notes.txt"), dead.join("notes.txt")).unwrap();
        fs::write(dead.join("x.csv"), "new").unwrap();
        fs::write(
            dead.join(MARKER),
            serde_json::to_vec(&Marker {
                tradeflow: MARKER_KIND.into(),
                format: MARKER_FORMAT,
                parts: vec![PartRecord {
                    results: Results::Run,
                    command: "t".into(),
                    version: "0".into(),
                    files: vec!["x.csv".into()],
                }],
            })
            .unwrap(),
        )
        .unwrap();
        fs::write(dead.join("only-here.txt"), "keep").unwrap();
        drop(claim(&dir).unwrap());
        assert_eq!(names(tmp.path()), ["r"]);
        assert_eq!(fs::read_to_string(dir.join("x.csv")).unwrap(), "1");
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        assert_eq!(
            fs::read_to_string(dir.join("only-here.txt")).unwrap(),
            "keep"
        );
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = claim(&tmp.path().join("r")).unwrap();
        for bad in ["../x", "/etc/x", "a//b", ".tradeflow.json"] {
            assert!(
                c.write(&[part("", Results::Run, &[(bad, "1")])]).is_err(),
                "{bad}"
            );
        }
        assert!(c.write(&[part("..", Results::Run, &[("x", "1")])]).is_err());
    }
}
