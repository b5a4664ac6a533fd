//! Bytes that are not a local file: an object in storage, or anything else
//! that can name itself, say which version of its content it holds, and
//! stream that content from the start as often as a reader asks.
//!
//! The readers, fingerprints and samples take an [`super::InputFile`]; one
//! with a source reads through it, so a step needs no special case for where
//! the bytes live. The storage crate lists objects; the application adapts
//! them to this trait (the data crate builds no HTTP client).

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// A named, versioned source of bytes.
pub trait ByteSource: Send + Sync + fmt::Debug {
    /// The name findings and messages show (`s3://bucket/sales/2024.csv`).
    fn name(&self) -> &str;
    /// The size of the content in bytes.
    fn size(&self) -> u64;
    /// What changes whenever the content does (an ETag, an object version):
    /// the key of the fingerprints' stat cache. `None`: always read again.
    fn version(&self) -> Option<&str>;
    /// A fresh stream of the content from its first byte. A source whose
    /// content changed since it was listed fails here rather than mix two
    /// versions.
    fn open(&self) -> io::Result<Box<dyn Read + Send>>;
}

/// A local copy of a source, for readers that need random access (Parquet):
/// streamed to a temporary file (memory stays flat), its size checked against
/// the source's, removed when dropped.
#[derive(Debug)]
pub(crate) struct LocalCopy {
    path: tempfile::TempPath,
}

impl LocalCopy {
    pub(crate) fn of(source: &dyn ByteSource) -> io::Result<Self> {
        let mut file = tempfile::Builder::new()
            .prefix("trainyard-object-")
            .tempfile()?;
        let copied = io::copy(&mut source.open()?, file.as_file_mut())?;
        if copied != source.size() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: read {copied} bytes of {} (the object changed or the transfer broke)",
                    source.name(),
                    source.size()
                ),
            ));
        }
        Ok(Self {
            path: file.into_temp_path(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
