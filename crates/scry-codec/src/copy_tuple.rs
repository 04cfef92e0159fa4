//! [`CopyTuple`]: a COPY BINARY tuple checked once, to be written as a row.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::CodecError;

/// A COPY BINARY tuple (an `int16` field count, then per field an `int32` length, -1 for
/// NULL, and that many bytes of data) checked to be well formed: every field length is -1
/// or fits the bytes that follow, and the last field ends where the tuple ends.
///
/// [`BatchEncoder::push_copy_tuple`](crate::BatchEncoder::push_copy_tuple) writes it
/// without looking at its fields again, so a producer that cuts tuples out of a COPY stream
/// checks each tuple once, while cutting it:
///
/// ```
/// use scry_codec::CopyTuple;
///
/// // Two tuples of 2 fields (an int4 7, a NULL), then the trailer.
/// let stream = [
///     0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF,
///     0, 2, 0, 0, 0, 4, 0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF,
///     0xFF, 0xFF,
/// ];
/// let mut at = 0;
/// while let Some(tuple) = CopyTuple::first(&stream[at..], 2) {
///     assert_eq!(tuple.len(), 14);
///     at += tuple.len();
/// }
/// assert_eq!(&stream[at..], [0xFF, 0xFF]); // the trailer is not a tuple
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyTuple<'t> {
    /// The whole tuple: its field count and fields.
    bytes: &'t [u8],
    /// Bit `i` set when field `i` is NULL, for the first 128 fields.
    nulls: u128,
}

impl<'t> CopyTuple<'t> {
    /// The tuple of `fields` fields at the start of `buf`, if one lies there whole and well
    /// formed; `None` when `buf` holds only part of one, a tuple of another field count,
    /// the stream's trailer, or bytes that are not a tuple (a stream reader then says which).
    #[inline]
    #[must_use]
    pub fn first(buf: &'t [u8], fields: usize) -> Option<Self> {
        Self::walk(buf, std::iter::repeat_n(NoGuess, fields))
    }

    /// As [`first`](Self::first), for a tuple whose field `i` is likely `guesses[i]` bytes
    /// long (negative when no length is likely; a NULL field is always welcome): where a
    /// field has its likely length, the next field's place is known without waiting for
    /// this one's length to be read, so the walk runs ahead instead of a field at a time.
    /// A field of another length (not NULL) leaves its length in `guesses[i]`, the guess
    /// for the next tuple. The result is that of `first`, whatever `guesses` holds.
    #[inline]
    pub(crate) fn first_with_guesses(buf: &'t [u8], guesses: &[AtomicI32]) -> Option<Self> {
        Self::walk(buf, guesses.iter())
    }

    /// The tuple at the start of `buf` of as many fields as `guesses` yields guesses of
    /// their lengths (see [`first_with_guesses`](Self::first_with_guesses)).
    #[inline(always)]
    fn walk(buf: &'t [u8], guesses: impl ExactSizeIterator<Item = impl Guess>) -> Option<Self> {
        let count = i16::from_be_bytes(*buf.first_chunk::<2>()?);
        if usize::try_from(count).ok()? != guesses.len() {
            return None;
        }
        // The bytes after the fields walked: a slice, not an index into `buf`, so that each
        // length is read from where the last field ended without adding an index first.
        let mut rest = buf.get(2..)?;
        let mut nulls = 0u128;
        for (field, guess) in guesses.enumerate() {
            prefetch(rest.as_ptr().wrapping_add(PREFETCH_AHEAD));
            let width = guess.likely();
            let (head, data) = rest.split_first_chunk::<4>()?;
            let len = i32::from_be_bytes(*head);
            if len == width {
                // `width`, not `len`: known before the read, it lets the next field's
                // read start now (the branch is predicted, the read only checked).
                let width = usize::try_from(std::hint::black_box(width)).ok()?;
                rest = data.get(width..)?;
            } else if let Ok(n) = usize::try_from(len) {
                guess.learn(len);
                rest = data.get(n..)?;
            } else if len == -1 {
                nulls |= 1u128.checked_shl(field as u32).unwrap_or(0);
                rest = data;
            } else {
                return None;
            }
        }
        Some(Self {
            bytes: buf.get(..buf.len() - rest.len())?,
            nulls,
        })
    }

    /// Checks that `tuple` is one whole tuple of `fields` fields; the error says what is
    /// wrong and at which byte of the tuple.
    pub fn new(tuple: &'t [u8], fields: usize) -> Result<Self, CodecError> {
        match Self::first(tuple, fields) {
            Some(t) if t.bytes.len() == tuple.len() => Ok(t),
            _ => Err(diagnose(tuple, fields)),
        }
    }

    /// The tuple's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a tuple holds at least its field count.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The number of fields.
    #[must_use]
    pub fn fields(&self) -> usize {
        self.bytes
            .first_chunk::<2>()
            .map_or(0, |c| i16::from_be_bytes(*c).max(0) as usize)
    }

    /// The tuple's bytes, its field count first.
    #[must_use]
    pub fn as_bytes(&self) -> &'t [u8] {
        self.bytes
    }

    /// Which of the first 64 fields are NULL (bit `i` for field `i`).
    pub(crate) fn nulls(&self) -> u64 {
        self.nulls as u64
    }

    /// Which of the first 128 fields are NULL (bit `i` for field `i`).
    pub(crate) fn nulls_128(&self) -> u128 {
        self.nulls
    }

    /// The fields' bytes: every field's length and data, as a compact row holds them.
    pub(crate) fn field_bytes(&self) -> &'t [u8] {
        self.bytes.get(2..).unwrap_or_default()
    }

    /// Each field's data as a range of the tuple's bytes, `None` for NULL, in order.
    pub(crate) fn data(&self) -> Fields<'t> {
        Fields {
            bytes: self.bytes,
            at: 2,
        }
    }
}

/// Each field's data of a tuple as a range of its bytes, `None` for NULL
/// ([`CopyTuple::data`]).
#[derive(Debug, Clone)]
pub(crate) struct Fields<'t> {
    bytes: &'t [u8],
    /// Where the next field's length is.
    at: usize,
}

impl Iterator for Fields<'_> {
    type Item = Option<std::ops::Range<usize>>;

    fn next(&mut self) -> Option<Self::Item> {
        let len = i32::from_be_bytes(*self.bytes.get(self.at..)?.first_chunk::<4>()?);
        self.at += 4;
        match usize::try_from(len) {
            Ok(len) => {
                let range = self.at..self.at + len;
                self.at += len;
                Some(Some(range))
            }
            Err(_) => Some(None),
        }
    }
}

/// A guess no field length matches (a length is at least -1, for NULL).
pub(crate) const NO_GUESS: i32 = -2;

/// Where a walk finds a field's likely length, and leaves the length it found instead.
trait Guess {
    /// The likely length ([`NO_GUESS`] for none).
    fn likely(&self) -> i32;
    /// The field was `len` bytes long (not NULL), not as likely.
    fn learn(&self, len: i32);
}

/// No guess, and nothing learned ([`CopyTuple::first`]).
#[derive(Clone, Copy)]
struct NoGuess;

impl Guess for NoGuess {
    #[inline(always)]
    fn likely(&self) -> i32 {
        NO_GUESS
    }

    #[inline(always)]
    fn learn(&self, _: i32) {}
}

/// A column's guess, kept from tuple to tuple ([`CopyRows`](crate::CopyRows)): an atomic
/// only so that the rows stay shareable; relaxed loads and stores are plain moves.
impl Guess for &AtomicI32 {
    #[inline(always)]
    fn likely(&self) -> i32 {
        self.load(Ordering::Relaxed)
    }

    #[inline(always)]
    fn learn(&self, len: i32) {
        self.store(len, Ordering::Relaxed);
    }
}

/// How far ahead of the field being read [`CopyTuple::first_with_guesses`] asks for the
/// bytes to be fetched: a walk over a large stream reads one length in each of many cache
/// lines, and each would otherwise wait for its line to come from the next cache level.
const PREFETCH_AHEAD: usize = 6 * 64;

/// Asks for the cache line at `p` to be fetched into the nearest cache; nothing is read.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault, whatever the address; the
    // instruction is part of SSE, which every x86-64 processor has.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What is wrong with `tuple` as one tuple of `fields` fields.
#[cold]
#[inline(never)]
fn diagnose(tuple: &[u8], fields: usize) -> CodecError {
    let bad = |reason: String| CodecError::Encode {
        what: "COPY tuple",
        reason,
    };
    let Some(head) = tuple.first_chunk::<2>() else {
        return bad(format!(
            "{} bytes, too short for a field count",
            tuple.len()
        ));
    };
    let n = i16::from_be_bytes(*head);
    if usize::try_from(n).ok() != Some(fields) {
        return bad(format!("{n} fields, the row has {fields} columns"));
    }
    let mut at = 2usize;
    for field in 0..fields {
        let Some(len) = tuple.get(at..).and_then(|b| b.first_chunk::<4>()) else {
            return bad(format!("ends in field {field}'s length, at byte {at}"));
        };
        let len = i32::from_be_bytes(*len);
        at += 4;
        if len == -1 {
            continue;
        }
        match usize::try_from(len) {
            Ok(len) if len <= tuple.len() - at => at += len,
            _ => {
                return bad(format!(
                    "field {field}'s length {len} at byte {} does not fit the {} bytes left",
                    at - 4,
                    tuple.len() - at
                ))
            }
        }
    }
    bad(format!(
        "{} bytes after the last field, at byte {at}",
        tuple.len() - at
    ))
}
