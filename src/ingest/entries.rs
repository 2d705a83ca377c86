//! The entries of an export document: each counts as one line, at the line and byte where it
//! starts, and is built into a record by its format's parser.

use super::build::LineCtx;
use super::results::LineOutcome;
use crate::record::SourceRef;
use crate::text::Text;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// Where an entry of the document starts: 1-based line and byte offset.
pub struct Locator<'d> {
    text: &'d str,
    file: Text,
}

impl<'d> Locator<'d> {
    pub fn new(file: &Text, text: &'d str) -> Locator<'d> {
        Locator {
            text,
            file: file.clone(),
        }
    }

    /// `raw` must be a part of the document text.
    pub fn source(&self, raw: &RawValue) -> SourceRef {
        let at = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let at = at.min(self.text.len());
        let line = memchr::memchr_iter(b'\n', &self.text.as_bytes()[..at]).count() as u64 + 1;
        SourceRef {
            file: self.file.clone(),
            line,
            byte: at as u64,
        }
    }
}

/// An entry's outcome with the text it was read from.
pub type Entry<'d> = (SourceRef, &'d str, LineOutcome);

/// The context an entry's record is built with.
pub fn ctx(source: &SourceRef) -> LineCtx<'_> {
    LineCtx {
        source,
        project: None,
        batch_job: None,
    }
}

/// A bucket's time range, which every result in it shares.
pub struct Span {
    pub start: DateTime<Utc>,
    /// The range as the export wrote it, for ids: the same bucket read from two pages gives
    /// the same text.
    pub key: String,
}
