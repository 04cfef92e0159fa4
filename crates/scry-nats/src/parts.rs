//! A frame larger than what the server takes in one message (its `max_payload`, 1 MiB by
//! default) goes as several messages, its parts, one after another on its subject. Each part
//! has a `Scry-Part: I/N` header (0-based), a `Nats-Msg-Id` of its own (the message's, then
//! `.pI.` and a number of this publish's), and the message's headers; the parts before the
//! last say no Commit and the Resume of the message before, so that a capture killed between
//! parts goes on from the message's first change. A payload that fits is one message
//! without the header.
//!
//! Readers put the parts together again ([`Assembler`]): a part other than the one expected
//! (the start of a batch published again after a capture was killed between its parts)
//! drops what was gathered, and gathering starts again at the next first part.

use async_nats::header::HeaderMap;
use bytes::{Bytes, BytesMut};

/// The header naming a message's part of its frame.
pub(crate) const PART: &str = "Scry-Part";

/// Room left in a message for its headers and subject.
const HEADROOM: usize = 8 * 1024;

/// The most payload bytes one message carries, for a server whose `max_payload` is `max`.
pub(crate) fn part_len(max_payload: usize) -> usize {
    max_payload.saturating_sub(HEADROOM).max(1024)
}

/// `frame` cut into pieces of at most `len` bytes (sharing its buffer).
pub(crate) fn split(frame: &Bytes, len: usize) -> Vec<Bytes> {
    let len = len.max(1);
    (0..frame.len().div_ceil(len))
        .map(|i| frame.slice(i * len..((i + 1) * len).min(frame.len())))
        .collect()
}

/// The `Scry-Part` header of a message: `(index, count)`; `None` for a whole frame.
pub(crate) fn read(headers: &HeaderMap) -> Result<Option<(u32, u32)>, String> {
    let Some(value) = headers.get(PART) else {
        return Ok(None);
    };
    let v = value.as_str();
    let bad = || format!("header {PART}: {v:?} does not read");
    let (i, n) = v.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i >= n {
        return Err(bad());
    }
    Ok(Some((i, n)))
}

/// Whether a message's part is the last of its frame (a whole frame is).
pub(crate) fn is_last(part: Option<(u32, u32)>) -> bool {
    part.is_none_or(|(i, n)| i + 1 == n)
}

/// Puts frames sent in parts together again.
#[derive(Default)]
pub(crate) struct Assembler {
    gathered: BytesMut,
    /// The part expected next and the count, while gathering.
    next: Option<(u32, u32)>,
}

impl Assembler {
    /// Takes a message's payload and part; returns the whole frame once it has it.
    pub(crate) fn push(&mut self, part: Option<(u32, u32)>, payload: Bytes) -> Option<Bytes> {
        let Some((i, n)) = part else {
            self.next = None;
            self.gathered.clear();
            return Some(payload);
        };
        if i == 0 {
            self.gathered.clear();
            self.next = Some((0, n));
        }
        if self.next != Some((i, n)) {
            // Not the part expected: what was gathered is of a batch published again.
            self.next = None;
            self.gathered.clear();
            return None;
        }
        self.gathered.extend_from_slice(&payload);
        if i + 1 < n {
            self.next = Some((i + 1, n));
            return None;
        }
        self.next = None;
        Some(self.gathered.split().freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_frame_and_come_back_whole() {
        let frame = Bytes::from((0..2500u32).map(|i| i as u8).collect::<Vec<_>>());
        let parts = split(&frame, 1000);
        assert_eq!(
            parts.iter().map(Bytes::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        let mut a = Assembler::default();
        assert_eq!(a.push(Some((0, 3)), parts[0].clone()), None);
        assert_eq!(a.push(Some((1, 3)), parts[1].clone()), None);
        assert_eq!(a.push(Some((2, 3)), parts[2].clone()), Some(frame.clone()));
        // A batch published again after a kill between its parts: the parts gathered are
        // dropped at its first part, and the frame comes whole once.
        assert_eq!(a.push(Some((0, 3)), parts[0].clone()), None);
        assert_eq!(a.push(Some((0, 3)), parts[0].clone()), None);
        assert_eq!(a.push(Some((1, 3)), parts[1].clone()), None);
        assert_eq!(a.push(Some((2, 3)), parts[2].clone()), Some(frame.clone()));
        // A reader starting between parts waits for a first part.
        assert_eq!(a.push(Some((1, 3)), parts[1].clone()), None);
        assert_eq!(a.push(Some((2, 3)), parts[2].clone()), None);
        assert_eq!(a.push(None, frame.clone()), Some(frame));
    }

    #[test]
    fn the_part_header_reads_back_or_is_named() {
        let mut h = HeaderMap::new();
        assert_eq!(read(&h), Ok(None));
        h.insert(PART, "2/3");
        assert_eq!(read(&h), Ok(Some((2, 3))));
        assert!(is_last(Some((2, 3))) && is_last(None) && !is_last(Some((1, 3))));
        h.insert(PART, "3/3");
        assert_eq!(
            read(&h),
            Err("header Scry-Part: \"3/3\" does not read".to_owned())
        );
    }
}
