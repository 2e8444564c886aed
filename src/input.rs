//! Reading one input file, bounded: every file the library reads (a scenario, each file it
//! `extends`, a data CSV) comes through [`read_text`].
//!
//! A path is refused unless it names a regular file, checked by file type before the file
//! is opened: opening a named pipe blocks until a writer comes, and a device such as
//! `/dev/zero` never ends. A file larger than its kind's limit ([`InputKind::limit`]) is
//! refused from its size on disk, and the read itself stops one byte past the limit, so a
//! file that grows while it is read is still bounded.

use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// At most this many bytes in a scenario file (or a file it extends): 4 MiB, a hundred
/// times the largest scenario in `scenarios/` with its inline data.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// At most this many bytes in a data file: 256 MiB, several years of a 200-economy
/// gegravity-layout file with a dozen cost variables.
pub const MAX_DATA_BYTES: u64 = 256 << 20;

/// What a file is read as, which sets its size limit and names it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A scenario TOML, or a file one `extends`.
    Scenario,
    /// A data file (gegravity-layout CSV, coefficients, an experiment).
    Data,
}

impl InputKind {
    /// The most bytes a file of this kind may hold.
    pub fn limit(self) -> u64 {
        match self {
            InputKind::Scenario => MAX_SCENARIO_BYTES,
            InputKind::Data => MAX_DATA_BYTES,
        }
    }

    fn name(self) -> &'static str {
        match self {
            InputKind::Scenario => "a scenario file",
            InputKind::Data => "a data file",
        }
    }
}

/// Why an input file was not read.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("an empty path names no file")]
    EmptyPath,
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: is {what}, not a regular file: give the path of a file")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{path}: {size} bytes is more than the {limit} bytes (the limit for {kind}) tradeflow reads")]
    TooLarge {
        path: PathBuf,
        /// The size found (at least `limit + 1` when the file grew while read).
        size: u64,
        limit: u64,
        kind: &'static str,
    },
    #[error("{path}: is not UTF-8 text (first bad byte at offset {offset})")]
    NotText { path: PathBuf, offset: usize },
}

/// What a file type is, for messages (`None` for a regular file).
fn non_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let ft = meta.file_type();
    if ft.is_file() {
        return None;
    }
    if ft.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a named pipe");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
        if ft.is_char_device() || ft.is_block_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// Reads `path` as UTF-8 text: a regular file (symbolic links followed) of at most
/// `kind.limit()` bytes.
pub fn read_text(path: &Path, kind: InputKind) -> Result<String, InputError> {
    let bytes = read_bytes(path, kind)?;
    String::from_utf8(bytes).map_err(|e| InputError::NotText {
        path: path.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// As [`read_text`], without the UTF-8 check.
pub fn read_bytes(path: &Path, kind: InputKind) -> Result<Vec<u8>, InputError> {
    if path.as_os_str().is_empty() {
        return Err(InputError::EmptyPath);
    }
    let io = |cause| InputError::Io {
        path: path.to_owned(),
        cause,
    };
    // The type first: opening a named pipe for reading would block.
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(what) = non_regular(&meta) {
        return Err(InputError::NotAFile {
            path: path.to_owned(),
            what,
        });
    }
    let limit = kind.limit();
    let too_large = |size| InputError::TooLarge {
        path: path.to_owned(),
        size,
        limit,
        kind: kind.name(),
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_and_refuses_a_directory_and_an_empty_path() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "name = 1\n").unwrap();
        assert_eq!(read_text(&f, InputKind::Scenario).unwrap(), "name = 1\n");
        let e = read_text(dir.path(), InputKind::Scenario).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        assert!(matches!(
            read_text(Path::new(""), InputKind::Data),
            Err(InputError::EmptyPath)
        ));
    }
}
