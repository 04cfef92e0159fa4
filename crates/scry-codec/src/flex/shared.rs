//! The Compat writer's cache of key sets: the shape of each struct's keys vector (with a
//! given set of present fields), which decides its slot width without probing every key.

use super::value::{align_up, lwidth, LIMIT};

/// Entries in each cache (direct-mapped).
const ENTRIES: usize = 64;

/// What is known of one key set (a struct with a given set of present fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySet {
    /// The shape of its keys vectors (the keys' addresses never change once written).
    pub(crate) shape: KeyShape,
}

/// The per-width bounds that decide a keys vector's slot width without probing every key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyShape {
    /// For each width `w`: the largest `(i + 1) << w` minus the address of key `i`, so that
    /// the largest offset in a keys vector starting (after alignment) at `s` is `s + m[w]`.
    m: [i64; 4],
    /// The width the length needs.
    len_w: u8,
}

impl KeyShape {
    /// The shape of a keys vector of keys at these addresses.
    pub(crate) fn new(keys: &[usize]) -> Self {
        let mut m = [i64::MIN; 4];
        for (w, m) in m.iter_mut().enumerate() {
            for (i, &k) in keys.iter().enumerate() {
                *m = (*m).max((((i + 1) << w) as i64).wrapping_sub(k as i64));
            }
        }
        KeyShape {
            m,
            len_w: lwidth(keys.len()),
        }
    }

    /// The slot width of the keys vector written at `start` (before alignment): the first
    /// width at which every offset fits.
    #[inline]
    pub(crate) fn width_at(&self, start: usize) -> u8 {
        let fits = |w: u8| {
            let m = self.m.get(w as usize).copied().unwrap_or(i64::MIN);
            let largest = (align_up(start, w) as i64).wrapping_add(m);
            w >= self.len_w && largest as u64 <= LIMIT[w as usize]
        };
        if fits(0) {
            0
        } else if fits(1) {
            1
        } else if fits(2) {
            2
        } else {
            3
        }
    }
}

/// The key sets met so far, by struct and set of present fields.
pub(crate) struct KeySets {
    /// `(tag, key set)`; tag 0 is an empty entry.
    entries: [(u32, KeySet); ENTRIES],
}

impl KeySets {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        const EMPTY: KeySet = KeySet {
            shape: KeyShape {
                m: [0; 4],
                len_w: 0,
            },
        };
        KeySets {
            entries: [(0, EMPTY); ENTRIES],
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

    /// The key set of `tag`, made from the keys at `keys` if it is not cached.
    #[inline]
    pub(crate) fn get(&mut self, tag: u32, keys: &[usize]) -> &mut KeySet {
        let i = Self::index(tag);
        let entry = &mut self.entries[i];
        if entry.0 != tag {
            *entry = (
                tag,
                KeySet {
                    shape: KeyShape::new(keys),
                },
            );
        }
        &mut entry.1
    }
}

/// The first and last (up to) 8 bytes of `s` as integers, read with fixed-size loads; for
/// strings of up to 16 bytes together they cover every byte (and the length disambiguates).
#[inline(always)]
pub(crate) fn head_tail(s: &[u8]) -> (u64, u64) {
    let n = s.len();
    if let (Some(h), Some(t)) = (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        (u64::from_le_bytes(*h), u64::from_le_bytes(*t))
    } else if let (Some(h), Some(t)) = (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        (u32::from_le_bytes(*h).into(), u32::from_le_bytes(*t).into())
    } else {
        // 0 to 3 bytes: first, middle and last.
        let byte = |i: usize| u64::from(s.get(i).copied().unwrap_or(0));
        (
            byte(0) | byte(n / 2) << 8 | byte(n.wrapping_sub(1)) << 16,
            0,
        )
    }
}
