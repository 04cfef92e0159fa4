//! Runs of bytes the writers have already written and can copy instead of encoding again.
//!
//! A string shorter than 256 bytes is stored as its 1-byte length, its bytes and a NUL, with
//! no alignment padding, so its bytes are the same wherever it lies; a vector of 1-byte slots
//! holds offsets relative to itself, so a run of such strings followed by the vector that
//! refers to them is also the same bytes wherever it lies. Consecutive events usually repeat
//! their schema, table and column names: when a run written earlier holds exactly the same
//! strings, copying it yields the bytes the writer would write.

use super::shared::head_tail;

/// Where a run starts (relative to the FlexBuffer) and how many bytes it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The address of the run's first byte.
    pub(crate) start: usize,
    /// The run's length in bytes.
    pub(crate) len: usize,
}

/// True when `a` and `b` hold the same bytes; strings of up to 16 bytes compare with
/// fixed-size loads instead of a call.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= 16 {
            head_tail(a) == head_tail(b)
        } else {
            a == b
        }
}

/// True when every string of `strs` is shorter than 256 bytes (stored without padding).
#[inline(always)]
pub(crate) fn all_short<'s>(strs: impl IntoIterator<Item = &'s [u8]>) -> bool {
    strs.into_iter().all(|s| s.len() <= usize::from(u8::MAX))
}

/// If `block` starts with the strings `strs` stored one after another (1-byte length, bytes,
/// NUL each), the offset just past the last one.
#[inline(always)]
pub(crate) fn strings_end<'s>(
    block: &[u8],
    strs: impl IntoIterator<Item = &'s [u8]>,
) -> Option<usize> {
    let mut p = 0;
    for s in strs {
        let len = usize::from(*block.get(p)?);
        let stored = block.get(p + 1..p + 1 + len)?;
        if len != s.len() || !same_bytes(stored, s) || block.get(p + 1 + len) != Some(&0) {
            return None;
        }
        p += len + 2;
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_bytes_of_every_length() {
        let a: Vec<u8> = (0..40).collect();
        for n in 0..=40 {
            let mut b = a[..n].to_vec();
            assert!(same_bytes(&a[..n], &b), "length {n}");
            for i in 0..n {
                b[i] ^= 1;
                assert!(!same_bytes(&a[..n], &b), "length {n}, byte {i}");
                b[i] ^= 1;
            }
        }
        assert!(!same_bytes(b"ab", b"abc"));
    }

    #[test]
    fn finds_the_end_of_matching_strings_only() {
        let block = [2, b'a', b'b', 0, 0, 0, 3, b'x', b'y', b'z', 0, 9];
        let strs: [&[u8]; 3] = [b"ab", b"", b"xyz"];
        assert_eq!(strings_end(&block, strs), Some(11));
        assert_eq!(strings_end(&block, [&b"ab"[..]]), Some(4));
        assert_eq!(strings_end(&block, [&b"ac"[..]]), None);
        assert_eq!(strings_end(&block, [&b"abc"[..]]), None);
        // Past the end of the block.
        assert_eq!(strings_end(&block[..9], strs), None);
        // A missing NUL.
        assert_eq!(strings_end(&[1, b'a', 7], [&b"a"[..]]), None);
        assert!(all_short([&b"ab"[..], &[0u8; 255][..]]));
        assert!(!all_short([&[0u8; 256][..]]));
    }
}
