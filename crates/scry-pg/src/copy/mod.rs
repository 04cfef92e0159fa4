//! `COPY ... (FORMAT binary)` streams: [`CopyDecoder`] cuts rows out of a stream pushed in
//! chunks, [`CopyStream`] out of any [`std::io::Read`] (both in memory bounded by the largest
//! tuple plus one chunk), [`CopyReader`] out of a stream held in one buffer, all without
//! copying their bytes (but for a tuple split across chunks); [`CopyWriter`] writes one in
//! memory, [`CopySink`] onto any [`std::io::Write`] as it goes.
//!
//! The format: the 11-byte signature `PGCOPY\n\377\r\n\0`, an `int32` flags word (bit 16:
//! OIDs included, which PostgreSQL 12+ never sets; bits 17–31 are critical and must be zero),
//! an `int32` header-extension length and that many bytes, then tuples — an `int16` field
//! count and per field an `int32` length (-1 for NULL) and the bytes — and the trailer, an
//! `int16` -1.

mod decoder;
mod reader;
mod sink;
mod stream;
mod writer;

pub use decoder::{CopyDecoder, DEFAULT_MAX_TUPLE_BYTES};
pub use reader::{CopyHeader, CopyReader, CopyRow};
pub use sink::{CopySink, DEFAULT_FLUSH_BYTES};
#[cfg(feature = "snapshot")]
pub(crate) use stream::read_chunk;
pub use stream::{CopyIoError, CopyStream, DEFAULT_CHUNK_BYTES};
pub use writer::CopyWriter;

/// The 11-byte signature every COPY BINARY stream starts with.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A COPY BINARY stream is malformed, or a row cannot be written as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The stream does not start with [`SIGNATURE`].
    #[error("not a COPY BINARY stream: the first 11 bytes are not the PGCOPY signature")]
    BadSignature,
    /// The stream ends inside the header, a tuple or a field.
    #[error(
        "stream ends inside the {what} at offset {offset}: {needed} bytes needed, {available} left"
    )]
    Truncated {
        /// What was being read (`"header"`, `"field length"`, `"field data"`, ...).
        what: &'static str,
        /// Where it started.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// The flags word has bits this reader cannot honour (OIDs, or unknown critical bits).
    #[error("unsupported COPY BINARY flags {flags:#010x}")]
    UnsupportedFlags {
        /// The flags word.
        flags: u32,
    },
    /// The header extension length is negative.
    #[error("negative header extension length {0}")]
    BadExtensionLength(i32),
    /// A tuple's field count is negative (other than the -1 trailer).
    #[error("row {row} at offset {offset}: invalid field count {count}")]
    BadFieldCount {
        /// The row's index.
        row: u64,
        /// Where the count is.
        offset: usize,
        /// The count read.
        count: i16,
    },
    /// A field's length is negative (other than -1 for NULL).
    #[error("row {row} field {field} at offset {offset}: invalid length {len}")]
    BadFieldLength {
        /// The row's index.
        row: u64,
        /// The field's index.
        field: usize,
        /// Where the length is.
        offset: usize,
        /// The length read.
        len: i32,
    },
    /// The stream ends without the trailer.
    #[error("stream ends at offset {offset} without the -1 trailer")]
    MissingTrailer {
        /// The end of the stream.
        offset: usize,
    },
    /// Bytes follow the trailer.
    #[error("{count} bytes after the trailer at offset {offset}")]
    TrailingData {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// A tuple is longer than the decoder accepts (see
    /// [`CopyDecoder::with_max_tuple_bytes`]).
    #[error("row {row} at offset {offset}: a tuple of at least {len} bytes, more than {max}")]
    TupleTooLarge {
        /// The row's index.
        row: u64,
        /// Where the tuple starts.
        offset: usize,
        /// How long it is at least.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A row has more fields than a tuple can say (32767).
    #[error("a row of {0} fields does not fit a COPY BINARY tuple (at most 32767)")]
    TooManyFields(usize),
    /// A field is longer than a COPY BINARY field can be (2^31 - 1 bytes).
    #[error("field {field} of {len} bytes does not fit a COPY BINARY field")]
    FieldTooLong {
        /// The field's index.
        field: usize,
        /// Its length.
        len: usize,
    },
    /// A value is the unchanged-TOAST marker, which a COPY stream cannot carry.
    #[error("field {field} is an unchanged TOAST marker, which COPY cannot carry")]
    UnchangedToast {
        /// The field's index.
        field: usize,
    },
}
