//! Caches of the Compact writer: keys vectors by key set, and short strings by content.
//!
//! Sharing trades bytes for offsets: an item far back needs wider slots in whatever refers to
//! it, so each cache hands back an item only while it is near enough, and the writer writes
//! a fresh copy (which then becomes the cached one) otherwise.

use super::value::{ty, Val};

/// Entries in each cache (direct-mapped).
const ENTRIES: usize = 64;

/// The keys vectors written so far, by struct and set of present fields.
pub(crate) struct KeyVectors {
    /// `(tag, keys vector)`; tag 0 is an empty entry.
    entries: [(u32, Val); ENTRIES],
}

impl KeyVectors {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        KeyVectors {
            entries: [(0, Val::NULL); ENTRIES],
        }
    }

    /// The tag of struct `kind` (below 128) with these present fields (below 2^24).
    #[inline]
    pub(crate) const fn tag(kind: u8, mask: u32) -> u32 {
        1 << 31 | (kind as u32) << 24 | mask
    }

    #[inline]
    fn index(tag: u32) -> usize {
        (tag.wrapping_mul(0x9E37_79B9) >> 26) as usize % ENTRIES
    }

    /// The cached keys vector of `tag`, if any.
    #[inline]
    pub(crate) fn get(&self, tag: u32) -> Option<Val> {
        match self.entries.get(Self::index(tag)) {
            Some(&(t, v)) if t == tag => Some(v),
            _ => None,
        }
    }

    /// Caches `keys` as the keys vector of `tag`.
    #[inline]
    pub(crate) fn put(&mut self, tag: u32, keys: Val) {
        if let Some(e) = self.entries.get_mut(Self::index(tag)) {
            *e = (tag, keys);
        }
    }
}

/// Strings written so far, by content, for strings of up to [`Strings::MAX_LEN`] bytes.
pub(crate) struct Strings {
    /// `(address, length + 1)`; 0 is an empty entry.
    entries: [(usize, usize); ENTRIES],
}

impl Strings {
    /// Longer strings are always written afresh.
    pub(crate) const MAX_LEN: usize = 64;
    /// A cached string is reused only within this many bytes, which keeps the slots that
    /// refer to it at two bytes or less.
    pub(crate) const REACH: usize = 1 << 15;

    /// An empty cache.
    pub(crate) fn new() -> Self {
        Strings {
            entries: [(0, 0); ENTRIES],
        }
    }

    /// The cache slot of `s` (1 to [`Strings::MAX_LEN`] bytes).
    #[inline]
    pub(crate) fn index(s: &[u8]) -> usize {
        let mut head = [0u8; 8];
        let mut tail = [0u8; 8];
        let n = s.len().min(8);
        if let (Some(h), Some(t), Some(sh), Some(st)) = (
            head.get_mut(..n),
            tail.get_mut(..n),
            s.get(..n),
            s.get(s.len() - n..),
        ) {
            h.copy_from_slice(sh);
            t.copy_from_slice(st);
        }
        let x = u64::from_le_bytes(head)
            ^ u64::from_le_bytes(tail).rotate_left(29)
            ^ (s.len() as u64).wrapping_mul(0xA076_1D64_78BD_642F);
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % ENTRIES
    }

    /// The string `s` written at or after `min_addr`, if cached. `written` is the FlexBuffer
    /// so far.
    #[inline]
    pub(crate) fn get(
        &self,
        slot: usize,
        s: &[u8],
        written: &[u8],
        min_addr: usize,
    ) -> Option<Val> {
        let &(addr, len1) = self.entries.get(slot)?;
        if len1 != s.len() + 1 || addr < min_addr {
            return None;
        }
        if written.get(addr..addr + s.len())? != s {
            return None;
        }
        // Written by `Sink::string`, whose length slot is as wide as the length needs.
        Some(Val::reference(
            ty::STRING,
            addr,
            super::value::lwidth(s.len()),
        ))
    }

    /// Caches the string `string` (of `len` bytes) in `slot`.
    #[inline]
    pub(crate) fn put(&mut self, slot: usize, string: Val, len: usize) {
        if let Some(e) = self.entries.get_mut(slot) {
            *e = (string.addr(), len + 1);
        }
    }
}
