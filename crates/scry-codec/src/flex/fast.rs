//! Minimal `Option`-returning readers for the fast paths: the same bounds checks as
//! [`Reader`](crate::flex::Reader), without building errors.

use crate::flex::FlexType;

/// Masks keeping the low `w` bytes of a word, by `w` (0 for widths FlexBuffers never uses).
const MASKS: [u64; 9] = [0, 0xFF, 0xFFFF, 0, 0xFFFF_FFFF, 0, 0, 0, u64::MAX];

/// The little-endian unsigned integer of `w` bytes at `pos` (`w` is 1, 2, 4 or 8). Reads a
/// whole word and masks it when 8 bytes are available, which is nearly always.
#[inline(always)]
pub(crate) fn rd(b: &[u8], pos: usize, w: usize) -> Option<u64> {
    let mask = *MASKS.get(w)?;
    if mask == 0 {
        return None;
    }
    if let Some(word) = pos.checked_add(8).and_then(|end| b.get(pos..end)) {
        let word: [u8; 8] = word.try_into().ok()?;
        return Some(u64::from_le_bytes(word) & mask);
    }
    rd_near_end(b, pos, w)
}

/// [`rd`] within 8 bytes of the end of the input.
#[cold]
fn rd_near_end(b: &[u8], pos: usize, w: usize) -> Option<u64> {
    let bytes = b.get(pos..pos.checked_add(w)?)?;
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// Follows the offset in the `w`-byte slot at `pos` (strictly backwards).
#[inline(always)]
pub(crate) fn deref(b: &[u8], pos: usize, w: usize) -> Option<usize> {
    let off = rd(b, pos, w)?;
    if off == 0 || off > pos as u64 {
        return None;
    }
    Some(pos - off as usize)
}

/// The byte width of a packed type.
#[inline(always)]
pub(crate) fn width(packed: u8) -> usize {
    1 << (packed & 3)
}

#[inline(always)]
pub(crate) fn is(packed: u8, ty: FlexType) -> bool {
    packed >> 2 == ty as u8
}

/// The values vector of the map in slot `s` (length read, not re-validated: for views of
/// maps the parse validated).
#[inline(always)]
pub(crate) fn map_values(b: &[u8], s: crate::flex::Slot) -> Option<crate::flex::Vector> {
    if s.ty != FlexType::Map {
        return None;
    }
    let t = deref(b, s.pos, usize::from(s.width))?;
    let w = usize::from(s.child);
    let len = rd(b, t.checked_sub(w)?, w)?;
    Some(crate::flex::Vector {
        pos: u32::try_from(t).ok()?,
        len: u32::try_from(len).ok()?,
        width: s.child,
        elem: None,
    })
}

/// Are all bytes above each element's low byte zero (`w`-byte little-endian elements)?
#[inline]
pub(crate) fn wide_are_bytes(raw: &[u8], w: usize) -> bool {
    let mask: u64 = match w {
        2 => 0xFF00_FF00_FF00_FF00,
        4 => 0xFFFF_FF00_FFFF_FF00,
        _ => 0xFFFF_FFFF_FFFF_FF00,
    };
    let words = raw.chunks_exact(8);
    let tail = words.remainder();
    let high = words.fold(0u64, |a, c| {
        a | (c.try_into().map_or(u64::MAX, u64::from_le_bytes) & mask)
    });
    let mut last = [0u8; 8];
    if let Some(dst) = last.get_mut(..tail.len()) {
        dst.copy_from_slice(tail);
    }
    high == 0 && u64::from_le_bytes(last) & mask == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_width_anywhere() {
        let b: Vec<u8> = (1..=20).collect();
        for w in [1usize, 2, 4, 8] {
            for pos in 0..=b.len() {
                let expected = (pos + w <= b.len()).then(|| {
                    b[pos..pos + w]
                        .iter()
                        .rev()
                        .fold(0u64, |a, &x| (a << 8) | u64::from(x))
                });
                assert_eq!(rd(&b, pos, w), expected, "w {w} pos {pos}");
            }
        }
        assert_eq!(rd(&b, 0, 3), None);
        assert_eq!(rd(&b, 0, 0), None);
        assert_eq!(rd(&b, usize::MAX, 1), None);
    }

    #[test]
    fn wide_elements_are_checked_at_every_width_and_tail() {
        for w in [2usize, 4, 8] {
            for n in 0..20 {
                let mut raw = vec![0u8; n * w];
                for i in 0..n {
                    raw[i * w] = 0xFF;
                }
                assert!(wide_are_bytes(&raw, w), "w {w} n {n}");
                for i in 0..n {
                    for k in 1..w {
                        let mut bad = raw.clone();
                        bad[i * w + k] = 1;
                        assert!(!wide_are_bytes(&bad, w), "w {w} n {n} i {i} k {k}");
                    }
                }
            }
        }
    }
}
