//! Opening an input file for streaming, bounded: the equivalent of [`crate::input::read_bytes`]
//! for files too large to hold in memory (a BACI year is about half a gigabyte).
//!
//! The path must name a regular file, checked by file type before it is opened (a named pipe
//! would block, a device never ends); a file larger than the limit is refused from its size
//! on disk, and the reader itself stops with an error one byte past the limit, so a file that
//! grows while it is read is still bounded.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::input::InputError;

use super::DataError;

/// At most this many bytes in an imported BACI or Comtrade file: 64 GiB, a hundred times a
/// full BACI year. Rows are streamed, so the limit guards against a runaway input, not memory.
pub const MAX_IMPORT_BYTES: u64 = 64 << 30;

/// At most this many bytes in a panel, a rates table, a concordance or a country table read
/// by the data commands: 4 GiB. Panels are streamed too.
pub const MAX_TABLE_BYTES: u64 = 4 << 30;

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

/// A reader that fails once more than `limit` bytes came through.
pub(crate) struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the file grew past the {} bytes tradeflow reads while it was read",
                    self.limit
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens `path` for streaming: a regular file (symbolic links followed) of at most `limit`
/// bytes, `what` naming its kind in messages ("a BACI file").
pub(crate) fn open(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Capped<BufReader<File>>, DataError> {
    if path.as_os_str().is_empty() {
        return Err(InputError::EmptyPath.into());
    }
    let io = |cause| InputError::Io {
        path: path.to_owned(),
        cause,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(kind) = non_regular(&meta) {
        return Err(InputError::NotAFile {
            path: path.to_owned(),
            what: kind,
        }
        .into());
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit,
            kind: what,
        }
        .into());
    }
    let file = File::open(path).map_err(io)?;
    Ok(Capped {
        inner: BufReader::with_capacity(1 << 20, file),
        left: limit,
        limit,
    })
}

/// A CSV reader over `path` (comment lines starting with `#` skipped, a UTF-8 byte-order mark
/// removed, rows of uneven length allowed so that the error names the line).
pub(crate) fn csv_reader(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<csv::Reader<Capped<BufReader<File>>>, DataError> {
    let file = open(path, limit, what)?;
    Ok(csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file))
}

/// The header of a CSV file, names trimmed and a byte-order mark removed.
pub(crate) fn header<R: Read>(
    rdr: &mut csv::Reader<R>,
    path: &Path,
) -> Result<Vec<String>, DataError> {
    let h = rdr.byte_headers().map_err(|e| csv_error(path, e))?.clone();
    if h.is_empty() || (h.len() == 1 && h[0].is_empty()) {
        return Err(DataError::File {
            path: path.to_owned(),
            message: "empty file (expected a header line)".into(),
        });
    }
    Ok(h.iter()
        .map(|f| {
            let s = String::from_utf8_lossy(f);
            s.trim_start_matches('\u{feff}').trim().to_owned()
        })
        .collect())
}

/// The position of each of `wanted` in `header`: an error naming every missing column.
pub(crate) fn columns(
    header: &[String],
    wanted: &[&str],
    path: &Path,
    hint: &str,
) -> Result<Vec<usize>, DataError> {
    let mut at = Vec::new();
    let mut missing = Vec::new();
    for w in wanted {
        match header.iter().position(|h| h == w) {
            Some(i) => at.push(i),
            None => missing.push(format!("`{w}`")),
        }
    }
    if !missing.is_empty() {
        return Err(DataError::File {
            path: path.to_owned(),
            message: format!(
                "line 1: no column {} (the header is `{}`){hint}",
                missing.join(", "),
                header.join(",")
            ),
        });
    }
    Ok(at)
}

/// A CSV error as a located error.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(cause) => DataError::Io {
            path: path.to_owned(),
            cause,
        },
        csv::ErrorKind::Utf8 { pos, err } => DataError::at(
            super::Location::field(
                path,
                pos.map(|p| p.line()).unwrap_or(line),
                err.field() + 1,
                "",
            ),
            "not UTF-8 text",
        ),
        other => DataError::at(
            super::Location::line(path, line),
            format!("not valid CSV: {other:?}"),
        ),
    }
}

/// A field as text, trimmed (BACI pads numbers with spaces).
pub(crate) fn text<'a>(
    rec: &'a csv::ByteRecord,
    i: usize,
    path: &Path,
    line: u64,
    name: &str,
) -> Result<&'a str, DataError> {
    let f = rec.get(i).unwrap_or(b"");
    std::str::from_utf8(f).map(str::trim).map_err(|_| {
        DataError::at(
            super::Location::field(path, line, i + 1, name),
            "not UTF-8 text",
        )
    })
}
