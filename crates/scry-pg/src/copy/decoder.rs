//! [`CopyDecoder`]: a COPY BINARY stream taken in pieces, cut into rows as they complete.
//!
//! The decoder holds the unread rest of the last pushed chunk (a [`Bytes`], not a copy) and,
//! when a tuple is split across chunks, a staging buffer with that one tuple's bytes. A
//! tuple wholly inside a chunk becomes a row of slices of that chunk; a split one is copied
//! once into the staging buffer (only its own bytes: the decoder reads the field lengths
//! to know where it ends) and becomes a row of slices of that. So what it keeps is bounded
//! by the largest tuple plus one chunk, whatever the stream's length.

use bytes::{Buf, Bytes, BytesMut};

use super::reader::{CopyHeader, CopyRow};
use super::{CopyError, SIGNATURE};

/// Flag bit 16: each tuple carries an OID (pre-12 servers `WITH OIDS` only).
const FLAG_OIDS: u32 = 1 << 16;
/// Bits 16–31 are critical: a reader must reject any it does not know.
const CRITICAL: u32 = 0xFFFF_0000;
/// The signature, the flags word and the extension length.
const FIXED_HEADER: usize = SIGNATURE.len() + 8;

/// The largest tuple a decoder accepts unless told otherwise: PostgreSQL's largest field
/// (1 GiB) and room for the rest of the row.
pub const DEFAULT_MAX_TUPLE_BYTES: usize = (1 << 30) + (64 << 20);

/// Where the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Rows,
    /// The trailer was read.
    Done,
    /// An error was returned; nothing more is read.
    Failed,
}

/// How much of a unit (the header or a tuple) the bytes at hand hold.
enum Scan {
    /// The whole unit: its length.
    Whole(usize),
    /// Not yet: the part being read (`what`) starts `at` bytes into the unit and needs
    /// `needed` bytes.
    Part {
        what: &'static str,
        at: usize,
        needed: usize,
        /// Where a tuple's scan can go on once more bytes are there: the field being read
        /// and the offset of its length (0, 0 before the field count).
        field: usize,
        field_at: usize,
    },
}

/// Decodes a COPY BINARY stream pushed in chunks of any size (see the module docs).
///
/// Push a chunk, then call [`decode`](Self::decode) until it returns `Ok(None)` (it needs
/// more input); at the end of the input call [`decode_eof`](Self::decode_eof) until it
/// returns `Ok(None)` (the trailer was read), which reports a stream cut short as an error.
/// Offsets in errors count from the stream's first byte; bytes after the trailer are an
/// error at the end of the input. After an error it decodes nothing more.
#[derive(Debug, Clone)]
pub struct CopyDecoder {
    /// The unread rest of the last chunk.
    chunk: Bytes,
    /// The start of a unit that the previous chunks did not complete (then it precedes
    /// `chunk`).
    staged: BytesMut,
    /// The stream offset of the first byte not yet cut (`staged`'s, else `chunk`'s).
    offset: u64,
    state: State,
    header: Option<CopyHeader>,
    rows: u64,
    max_tuple_bytes: usize,
    /// Bytes seen after the trailer.
    trailing: usize,
    /// Where the scan of a tuple being staged goes on: the field and its length's offset
    /// in the tuple (fields before it are checked; bytes staged only grow).
    resume: (usize, usize),
}

impl Default for CopyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyDecoder {
    /// A decoder at the start of a stream, accepting tuples of up to
    /// [`DEFAULT_MAX_TUPLE_BYTES`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            chunk: Bytes::new(),
            staged: BytesMut::new(),
            offset: 0,
            state: State::Header,
            header: None,
            rows: 0,
            max_tuple_bytes: DEFAULT_MAX_TUPLE_BYTES,
            trailing: 0,
            resume: (0, 0),
        }
    }

    /// The same, rejecting tuples longer than `max` bytes ([`CopyError::TupleTooLarge`])
    /// before buffering them.
    #[must_use]
    pub fn with_max_tuple_bytes(mut self, max: usize) -> Self {
        self.max_tuple_bytes = max;
        self
    }

    /// Adds the next piece of the stream. Decode the rows the previous pieces completed
    /// first: what is still unread of the previous chunk is copied to the staging buffer.
    pub fn push(&mut self, chunk: impl Into<Bytes>) {
        let chunk = chunk.into();
        if self.chunk.is_empty() && self.staged.is_empty() {
            self.chunk = chunk;
            return;
        }
        let rest = std::mem::replace(&mut self.chunk, chunk);
        self.staged.extend_from_slice(&rest);
    }

    /// The stream's header, once decoded.
    #[must_use]
    pub fn header(&self) -> Option<&CopyHeader> {
        self.header.as_ref()
    }

    /// The stream offset of the first byte not yet decoded into a row.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of rows decoded so far.
    #[must_use]
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// True once the trailer has been read.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// How many bytes the decoder holds: the unread chunk and the staging buffer.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.chunk.len() + self.staged.len()
    }

    /// The next complete row, or `Ok(None)` when the input so far holds none (push more),
    /// or after the trailer.
    pub fn decode(&mut self) -> Result<Option<CopyRow>, CopyError> {
        self.step(false)
    }

    /// As [`decode`](Self::decode), the input having ended: a stream without its trailer
    /// is an error. `Ok(None)` once the trailer was read.
    pub fn decode_eof(&mut self) -> Result<Option<CopyRow>, CopyError> {
        self.step(true)
    }

    /// As [`decode`](Self::decode), the row as the tuple's bytes, unsplit: its `int16`
    /// field count, then per field an `int32` length (-1 for NULL) and the data, checked to
    /// be well formed (a slice of the chunk it arrived in, but for a tuple split across
    /// chunks). For a consumer that copies tuples whole, such as a compact encoder.
    pub fn decode_tuple(&mut self) -> Result<Option<Bytes>, CopyError> {
        self.step_tuple(false)
    }

    /// As [`decode_eof`](Self::decode_eof), the row as [`decode_tuple`](Self::decode_tuple)
    /// returns it.
    pub fn decode_tuple_eof(&mut self) -> Result<Option<Bytes>, CopyError> {
        self.step_tuple(true)
    }

    /// The unread rest of the chunk while the decoder stands between two tuples with
    /// nothing staged: a consumer may cut the whole tuples at its start itself, then say so
    /// with [`skip_rows`](Self::skip_rows) (for the snapshot encoder, which checks each
    /// tuple once as it writes it).
    #[cfg(feature = "snapshot")]
    pub(crate) fn rows_at_hand(&self) -> Option<&[u8]> {
        (self.state == State::Rows && self.staged.is_empty()).then_some(&self.chunk[..])
    }

    /// Reads the header now if the input holds it whole, so that the first tuples are at
    /// hand too; its error if it is malformed.
    #[cfg(feature = "snapshot")]
    pub(crate) fn read_header_at_hand(&mut self) -> Result<(), CopyError> {
        let result = self.read_header(false).map(drop);
        self.fail_on(result)
    }

    /// Counts the first `bytes` bytes of [`rows_at_hand`](Self::rows_at_hand), `rows`
    /// whole tuples, as read.
    #[cfg(feature = "snapshot")]
    pub(crate) fn skip_rows(&mut self, rows: u64, bytes: usize) {
        let bytes = bytes.min(self.chunk.len());
        self.rows += rows;
        self.offset += bytes as u64;
        self.chunk.advance(bytes);
    }

    /// Decodes just the header, the input having ended where it is (for [`CopyReader`],
    /// which holds the whole stream): its error if it is not there whole.
    ///
    /// [`CopyReader`]: super::CopyReader
    pub(crate) fn header_eof(&mut self) -> Result<(), CopyError> {
        let result = self.read_header(true).map(drop);
        self.fail_on(result)
    }

    /// Reads the header if the input holds it; true once read.
    fn read_header(&mut self, eof: bool) -> Result<bool, CopyError> {
        if self.state != State::Header {
            return Ok(self.header.is_some());
        }
        let Some(unit) = self.unit(eof)? else {
            return Ok(false);
        };
        self.header = Some(parse_header(unit));
        self.state = State::Rows;
        Ok(true)
    }

    fn step(&mut self, eof: bool) -> Result<Option<CopyRow>, CopyError> {
        Ok(self.step_tuple(eof)?.as_ref().map(cut_fields))
    }

    fn step_tuple(&mut self, eof: bool) -> Result<Option<Bytes>, CopyError> {
        let result = self.step_inner(eof);
        self.fail_on(result)
    }

    /// After an error, decodes nothing more.
    fn fail_on<T>(&mut self, result: Result<T, CopyError>) -> Result<T, CopyError> {
        if result.is_err() {
            self.state = State::Failed;
            self.chunk.clear();
            self.staged.clear();
        }
        result
    }

    fn step_inner(&mut self, eof: bool) -> Result<Option<Bytes>, CopyError> {
        loop {
            match self.state {
                State::Failed => return Ok(None),
                State::Done => {
                    // Bytes after the trailer are counted (not kept) and reported at the
                    // end of the input, all of them.
                    self.trailing += self.buffered();
                    self.chunk.clear();
                    self.staged.clear();
                    if eof && self.trailing != 0 {
                        return Err(CopyError::TrailingData {
                            offset: self.offset as usize,
                            count: self.trailing,
                        });
                    }
                    return Ok(None);
                }
                State::Header => {
                    if !self.read_header(eof)? {
                        return Ok(None);
                    }
                }
                State::Rows => {
                    if eof && self.buffered() == 0 {
                        return Err(CopyError::MissingTrailer {
                            offset: self.offset as usize,
                        });
                    }
                    let Some(unit) = self.unit(eof)? else {
                        return Ok(None);
                    };
                    if unit.len() == 2 && unit[..] == [0xFF, 0xFF] {
                        self.state = State::Done;
                        continue;
                    }
                    self.rows += 1;
                    return Ok(Some(unit));
                }
            }
        }
    }

    /// Scans the unit (header or tuple) at the decoder's offset in `b`.
    fn scan(&mut self, staged: bool) -> Result<Scan, CopyError> {
        let base = self.offset as usize;
        let b = if staged {
            &self.staged[..]
        } else {
            &self.chunk[..]
        };
        match self.state {
            State::Header => scan_header(b),
            _ => {
                let from = if staged { self.resume } else { (0, 0) };
                let scan = scan_tuple(b, base, self.rows, from)?;
                self.resume = match scan {
                    Scan::Part {
                        field, field_at, ..
                    } => (field, field_at),
                    Scan::Whole(_) => (0, 0),
                };
                Ok(scan)
            }
        }
    }

    /// The next whole unit, cut from the chunk when it lies there whole, else assembled in
    /// the staging buffer; `None` when the input holds only part of it (an error at `eof`).
    fn unit(&mut self, eof: bool) -> Result<Option<Bytes>, CopyError> {
        if self.staged.is_empty() {
            match self.scan(false)? {
                Scan::Whole(len) => {
                    self.offset += len as u64;
                    let unit = self.chunk.split_to(len);
                    if self.chunk.is_empty() {
                        // Let go of the chunk's memory, which its reader may then reuse.
                        self.chunk = Bytes::new();
                    }
                    return Ok(Some(unit));
                }
                Scan::Part { at, needed, .. } => {
                    self.check_size(at, needed)?;
                    if !eof {
                        // Keep the unit's start; the next chunk completes it.
                        let rest = std::mem::take(&mut self.chunk);
                        self.staged.extend_from_slice(&rest);
                        return Ok(None);
                    }
                }
            }
        }
        // Move from the chunk just the bytes the unit still needs, a part at a time.
        loop {
            match self.scan(true)? {
                Scan::Whole(len) => {
                    self.offset += len as u64;
                    return Ok(Some(self.staged.split_to(len).freeze()));
                }
                Scan::Part {
                    what, at, needed, ..
                } => {
                    self.check_size(at, needed)?;
                    let want = at + needed - self.staged.len();
                    if self.chunk.is_empty() {
                        if !eof {
                            return Ok(None);
                        }
                        return Err(self.truncated(what, at, needed));
                    }
                    let n = want.min(self.chunk.len());
                    self.staged.extend_from_slice(&self.chunk[..n]);
                    self.chunk.advance(n);
                }
            }
        }
    }

    /// A unit that needs `needed` bytes `at` bytes in must stay within the tuple limit.
    fn check_size(&self, at: usize, needed: usize) -> Result<(), CopyError> {
        let end = at.saturating_add(needed);
        if self.state == State::Rows && end > self.max_tuple_bytes {
            return Err(CopyError::TupleTooLarge {
                row: self.rows,
                offset: self.offset as usize,
                len: end,
                max: self.max_tuple_bytes,
            });
        }
        Ok(())
    }

    fn truncated(&self, what: &'static str, at: usize, needed: usize) -> CopyError {
        if self.state == State::Header && at == 0 {
            return CopyError::BadSignature;
        }
        CopyError::Truncated {
            what,
            offset: self.offset as usize + at,
            needed,
            available: self.buffered().saturating_sub(at),
        }
    }
}

/// The signature, flags and extension length, and the extension.
fn scan_header(b: &[u8]) -> Result<Scan, CopyError> {
    let seen = b.len().min(SIGNATURE.len());
    if b[..seen] != SIGNATURE[..seen] {
        return Err(CopyError::BadSignature);
    }
    if b.len() < SIGNATURE.len() {
        return Ok(part("signature", 0, SIGNATURE.len()));
    }
    let flags = match word::<4>(b, SIGNATURE.len()) {
        Some(w) => u32::from_be_bytes(w),
        None => return Ok(part("header flags", SIGNATURE.len(), 4)),
    };
    if flags & CRITICAL != 0 || flags & FLAG_OIDS != 0 {
        return Err(CopyError::UnsupportedFlags { flags });
    }
    let ext = match word::<4>(b, SIGNATURE.len() + 4) {
        Some(w) => i32::from_be_bytes(w),
        None => return Ok(part("header extension length", SIGNATURE.len() + 4, 4)),
    };
    let ext = usize::try_from(ext).map_err(|_| CopyError::BadExtensionLength(ext))?;
    if b.len() - FIXED_HEADER < ext {
        return Ok(part("header extension", FIXED_HEADER, ext));
    }
    Ok(Scan::Whole(FIXED_HEADER + ext))
}

/// A whole header's fields (`scan_header` checked them).
fn parse_header(unit: Bytes) -> CopyHeader {
    let flags = word::<4>(&unit, SIGNATURE.len()).map_or(0, u32::from_be_bytes);
    CopyHeader {
        flags,
        extension: unit.slice(FIXED_HEADER.min(unit.len())..),
    }
}

/// A tuple (or the trailer) at stream offset `base`, the `row`th, its scan going on `from`
/// a field whose length is at a given offset (fields before it already checked).
fn scan_tuple(b: &[u8], base: usize, row: u64, from: (usize, usize)) -> Result<Scan, CopyError> {
    let Some(count) = word::<2>(b, 0).map(i16::from_be_bytes) else {
        return Ok(part("tuple field count", 0, 2));
    };
    if count == -1 {
        return Ok(Scan::Whole(2));
    }
    let count = usize::try_from(count).map_err(|_| CopyError::BadFieldCount {
        row,
        offset: base,
        count,
    })?;
    let (first, mut at) = if from.1 == 0 { (0, 2) } else { from };
    for field in first..count {
        let Some(len) = word::<4>(b, at).map(i32::from_be_bytes) else {
            return Ok(field_part("field length", at, 4, field, at));
        };
        if len == -1 {
            at += 4;
            continue;
        }
        let len = usize::try_from(len).map_err(|_| CopyError::BadFieldLength {
            row,
            field,
            offset: base + at,
            len,
        })?;
        if b.len() - (at + 4) < len {
            return Ok(field_part("field data", at + 4, len, field, at));
        }
        at += 4 + len;
    }
    Ok(Scan::Whole(at))
}

/// A whole tuple's fields, as slices of it (`scan_tuple` checked it).
fn cut_fields(unit: &Bytes) -> CopyRow {
    let count = word::<2>(unit, 0).map_or(0, |w| i16::from_be_bytes(w).max(0) as usize);
    let mut fields = Vec::with_capacity(count);
    let mut at = 2;
    for _ in 0..count {
        let len = word::<4>(unit, at).map_or(-1, i32::from_be_bytes);
        at += 4;
        match usize::try_from(len) {
            Ok(len) if at + len <= unit.len() => {
                fields.push(Some(unit.slice(at..at + len)));
                at += len;
            }
            _ => fields.push(None),
        }
    }
    CopyRow::new(fields)
}

fn part(what: &'static str, at: usize, needed: usize) -> Scan {
    field_part(what, at, needed, 0, 0)
}

fn field_part(what: &'static str, at: usize, needed: usize, field: usize, field_at: usize) -> Scan {
    Scan::Part {
        what,
        at,
        needed,
        field,
        field_at,
    }
}

fn word<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
