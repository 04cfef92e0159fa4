//! [`Templates`]: the Compat bytes of recent column values, patched and copied instead of
//! encoded again.
//!
//! A Compat column value is its type tag's name, its data, a keys vector and a map. Given
//! the tag, the OID, the data length and the address modulo 8 (which fixes every alignment
//! padding), all of it is the same bytes wherever it lies except the data and the keys
//! vector's offsets back to the three keys, which grow with the address: the map's and the
//! vector's slots refer to items inside the column value, so their offsets are relative. The
//! slot widths are the same too, provided the keys vector's width is (checked by the caller
//! for the new address). So a column value of a shape met before is the last one's bytes
//! with the data replaced and the key offsets moved by the distance between the two.

use super::value::Val;

/// Data longer than this is always encoded afresh.
pub(crate) const MAX_DATA: usize = 32;
const _: () = assert!(MAX_DATA <= 32, "copy_small moves at most 32 bytes");
/// The most bytes a template holds (a tag name, data of [`MAX_DATA`] bytes, a keys vector
/// and a map of 8-byte slots with their padding fit in well under this).
const CAP: usize = 160;
/// Templates kept (two-way set-associative by shape: a shape lies in one of two entries).
const ENTRIES: usize = 64;

/// What decides a column value's bytes apart from its data and its key offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    tag: u8,
    oid: u32,
    /// The data length plus one; 0 for no data.
    data: u8,
    /// The address modulo 8.
    phase: u8,
}

impl Shape {
    /// The shape of a column value written at `at`, or `None` if its data is too long.
    #[inline]
    pub(crate) fn of(tag: u8, oid: u32, data: Option<&[u8]>, at: usize) -> Option<Shape> {
        let data = match data {
            None => 0,
            Some(d) if d.len() <= MAX_DATA => d.len() as u8 + 1,
            Some(_) => return None,
        };
        Some(Shape {
            tag,
            oid,
            data,
            phase: (at & 7) as u8,
        })
    }

    #[inline]
    fn index(self) -> usize {
        let x = u64::from(self.tag)
            | u64::from(self.data) << 8
            | u64::from(self.phase) << 16
            | u64::from(self.oid) << 24;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % ENTRIES
    }
}

/// The bytes of the last column value of one shape, and where its parts lie in them.
#[derive(Clone, Copy)]
pub(crate) struct Template {
    shape: Option<Shape>,
    /// The address the bytes were last written at.
    at: usize,
    bytes: [u8; CAP],
    len: usize,
    /// Where the keys vector starts, before its padding (from the first byte).
    pub(crate) keys_start: usize,
    /// The keys vector's slot width.
    pub(crate) keys_w: u8,
    /// The first of the three key slots.
    keys_first: usize,
    /// The first data byte.
    data_first: usize,
    /// The map's first slot and its width.
    map_first: usize,
    map_w: u8,
}

/// Where the parts of a column value just written lie, relative to its first byte.
pub(crate) struct Layout {
    /// Where the keys vector starts, before its padding.
    pub(crate) keys_start: usize,
    /// The keys vector.
    pub(crate) keys: Val,
    /// The data, if any.
    pub(crate) data: Option<Val>,
    /// The map.
    pub(crate) map: Val,
}

impl Template {
    const EMPTY: Template = Template {
        shape: None,
        at: 0,
        bytes: [0; CAP],
        len: 0,
        keys_start: 0,
        keys_w: 0,
        keys_first: 0,
        data_first: 0,
        map_first: 0,
        map_w: 0,
    };

    /// Turns the bytes into those of the same shape at `at` holding `data` (of the shape's
    /// length) and returns them with the map; `None` leaves the template unusable.
    #[inline]
    pub(crate) fn moved_to(&mut self, at: usize, data: &[u8]) -> Option<(&[u8], Val)> {
        let delta = at.wrapping_sub(self.at) as u64;
        let slots = self.bytes.get_mut(self.keys_first..)?;
        match self.keys_w {
            0 => move_slots::<1>(slots, delta)?,
            1 => move_slots::<2>(slots, delta)?,
            2 => move_slots::<4>(slots, delta)?,
            _ => move_slots::<8>(slots, delta)?,
        }
        copy_small(self.bytes.get_mut(self.data_first..)?, data)?;
        self.at = at;
        let map = Val::reference(super::value::ty::MAP, at + self.map_first, self.map_w);
        Some((self.bytes.get(..self.len)?, map))
    }
}

/// Adds `delta` to each of the three `N`-byte little-endian slots at the start of `slots`
/// (wrapping at `N` bytes); `None` if they do not fit.
#[inline(always)]
fn move_slots<const N: usize>(slots: &mut [u8], delta: u64) -> Option<()> {
    for i in 0..3 {
        let slot = slots.get_mut(i * N..)?.first_chunk_mut::<N>()?;
        let mut word = [0u8; 8];
        word.first_chunk_mut::<N>()?.copy_from_slice(slot);
        let moved = u64::from_le_bytes(word).wrapping_add(delta).to_le_bytes();
        slot.copy_from_slice(moved.first_chunk::<N>()?);
    }
    Some(())
}

/// Copies `src` (at most [`MAX_DATA`] bytes) to the start of `dst` with fixed-size moves
/// where it can; `None` if it does not fit.
#[inline(always)]
fn copy_small(dst: &mut [u8], src: &[u8]) -> Option<()> {
    let n = src.len();
    let dst = dst.get_mut(..n)?;
    if let (Some(h), Some(t)) = (src.first_chunk::<16>(), src.last_chunk::<16>()) {
        // 16 to 32 bytes: two overlapping moves.
        dst.first_chunk_mut::<16>()?.copy_from_slice(h);
        dst.last_chunk_mut::<16>()?.copy_from_slice(t);
    } else if let (Some(h), Some(t)) = (src.first_chunk::<8>(), src.last_chunk::<8>()) {
        dst.first_chunk_mut::<8>()?.copy_from_slice(h);
        dst.last_chunk_mut::<8>()?.copy_from_slice(t);
    } else if let (Some(h), Some(t)) = (src.first_chunk::<4>(), src.last_chunk::<4>()) {
        dst.first_chunk_mut::<4>()?.copy_from_slice(h);
        dst.last_chunk_mut::<4>()?.copy_from_slice(t);
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
    Some(())
}

/// The templates met so far in one FlexBuffer.
#[derive(Default)]
pub(crate) struct Templates {
    /// Allocated on first use.
    entries: Vec<Template>,
    /// Which of a full pair the last replacement took.
    turn: bool,
}

impl Templates {
    /// The template of `shape`, if one was kept.
    #[inline]
    pub(crate) fn get(&mut self, shape: Shape) -> Option<&mut Template> {
        let i = shape.index();
        let j = match self.entries.get(i) {
            Some(t) if t.shape == Some(shape) => i,
            Some(_) => i ^ 1,
            None => return None,
        };
        self.entries.get_mut(j).filter(|t| t.shape == Some(shape))
    }

    /// Keeps `bytes`, a column value of `shape` written at `at` laid out as `layout`.
    pub(crate) fn put(&mut self, shape: Shape, at: usize, bytes: &[u8], layout: &Layout) {
        if bytes.len() > CAP {
            return;
        }
        if self.entries.is_empty() {
            self.entries = vec![Template::EMPTY; ENTRIES];
        }
        // The entry of the same shape or an empty one, else the other of the pair than the
        // one replaced last time.
        let i = shape.index();
        let free =
            |t: Option<&Template>| t.is_some_and(|t| t.shape.is_none() || t.shape == Some(shape));
        let j = if free(self.entries.get(i)) {
            i
        } else if free(self.entries.get(i ^ 1)) {
            i ^ 1
        } else {
            self.turn = !self.turn;
            i ^ usize::from(self.turn)
        };
        let Some(t) = self.entries.get_mut(j) else {
            return;
        };
        let rel = |v: Val| v.addr().wrapping_sub(at);
        t.shape = None;
        let Some(dst) = t.bytes.get_mut(..bytes.len()) else {
            return;
        };
        dst.copy_from_slice(bytes);
        t.at = at;
        t.len = bytes.len();
        t.keys_start = layout.keys_start;
        t.keys_w = layout.keys.w;
        t.keys_first = rel(layout.keys);
        t.data_first = layout.data.map_or(0, rel);
        t.map_first = rel(layout.map);
        t.map_w = layout.map.w;
        t.shape = Some(shape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_short_length() {
        let src: Vec<u8> = (1..=MAX_DATA as u8).collect();
        for n in 0..=MAX_DATA {
            let mut dst = [0xEEu8; MAX_DATA + 1];
            assert_eq!(copy_small(&mut dst, &src[..n]), Some(()));
            assert_eq!(&dst[..n], &src[..n], "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xEE), "length {n}");
        }
        assert_eq!(copy_small(&mut [0u8; 2], &[1, 2, 3]), None);
    }

    #[test]
    fn moves_three_slots_of_each_width() {
        let mut one = [1u8, 2, 255, 9];
        assert_eq!(move_slots::<1>(&mut one, 3), Some(()));
        assert_eq!(one, [4, 5, 2, 9]);
        let mut four = [0u8; 12];
        four[..4].copy_from_slice(&70_000u32.to_le_bytes());
        assert_eq!(move_slots::<4>(&mut four, 10), Some(()));
        assert_eq!(&four[..4], &70_010u32.to_le_bytes());
        assert_eq!(&four[4..8], &10u32.to_le_bytes());
        assert_eq!(move_slots::<2>(&mut [0u8; 5], 1), None);
    }

    #[test]
    fn a_template_is_found_by_its_shape_and_moved() {
        let mut t = Templates::default();
        let shape = Shape::of(3, 23, Some(&[1, 2, 3, 4, 5]), 16).unwrap();
        assert_eq!(Shape::of(3, 23, Some(&[0; MAX_DATA + 1]), 16), None);
        assert!(t.get(shape).is_none());
        // Bytes: 2 of tag, 5 data bytes from 2, 3 key slots from 7, map slots from 10.
        let bytes = [9, 9, 1, 2, 3, 4, 5, 20, 21, 22, 0, 0, 0];
        let layout = Layout {
            keys_start: 7,
            keys: Val::reference(super::super::value::ty::VECTOR_KEY, 16 + 7, 0),
            data: Some(Val::reference(
                super::super::value::ty::VECTOR_UINT,
                16 + 2,
                0,
            )),
            map: Val::reference(super::super::value::ty::MAP, 16 + 10, 0),
        };
        t.put(shape, 16, &bytes, &layout);
        let found = t.get(shape).unwrap();
        assert_eq!(found.keys_start, 7);
        let (moved, map) = found.moved_to(24, &[6, 7, 8, 9, 10]).unwrap();
        assert_eq!(moved, [9, 9, 6, 7, 8, 9, 10, 28, 29, 30, 0, 0, 0]);
        assert_eq!(map.addr(), 34);
        // Another phase is another shape.
        assert!(t
            .get(Shape::of(3, 23, Some(&[0; 5]), 17).unwrap())
            .is_none());
    }
}
