//! [`Sink`]: appends FlexBuffers items (strings, blobs, keys, vectors, maps, the root) to a
//! byte buffer, laying each out exactly as the flexbuffers 2.0.0 builder does.
//!
//! Addresses are relative to where this FlexBuffer starts in the buffer, so a FlexBuffer
//! appended after other content is the same bytes as one written alone (alignment padding
//! included). Each item is written through one [`WriteCursor`]: reserved once, then filled.

use super::cursor::WriteCursor;
use super::shared::KeyShape;
use super::value::{align_up, lwidth, ty, Val};

/// Calls `$body::<N>($args)` with `N` the byte count of width `$w`.
macro_rules! by_width {
    ($w:expr, $body:ident($($args:expr),*)) => {
        match $w {
            0 => $body::<1>($($args),*),
            1 => $body::<2>($($args),*),
            2 => $body::<4>($($args),*),
            _ => $body::<8>($($args),*),
        }
    };
}

/// The output of one FlexBuffer.
pub(crate) struct Sink<'a> {
    buf: &'a mut Vec<u8>,
    /// Where this FlexBuffer starts in `buf`.
    base: usize,
}

impl<'a> Sink<'a> {
    /// Starts a FlexBuffer at the end of `buf`, reserving `estimate` more bytes if it can
    /// (a hint: every item reserves what it writes).
    pub(crate) fn new(buf: &'a mut Vec<u8>, estimate: usize) -> Self {
        // Failing to reserve the hint is not an error: the items grow the buffer as needed.
        let _ = buf.try_reserve(estimate);
        let base = buf.len();
        Sink { buf, base }
    }

    /// Goes on with the FlexBuffer that starts at `base` in `buf` (whatever `buf` holds
    /// after `base` is part of it).
    pub(crate) fn resume(buf: &'a mut Vec<u8>, base: usize) -> Self {
        Sink { buf, base }
    }

    /// The current address (relative to the start of this FlexBuffer).
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.buf.len() - self.base
    }

    /// The bytes written so far into this FlexBuffer.
    #[inline]
    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(self.base..).unwrap_or_default()
    }

    /// Appends `bytes` as they are.
    #[inline]
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        WriteCursor::new(self.buf, bytes.len()).bytes(bytes);
    }

    /// Appends a copy of the `len` bytes written at `start`; false (and nothing written) if
    /// they are not all written yet.
    #[inline]
    pub(crate) fn copy_written(&mut self, start: usize, len: usize) -> bool {
        let from = self.base + start;
        match from.checked_add(len) {
            Some(to) if to <= self.buf.len() => {
                self.buf.extend_from_within(from..to);
                true
            }
            _ => false,
        }
    }

    /// The padding that aligns the current address to `1 << w`.
    #[inline(always)]
    fn pad(&self, w: u8) -> usize {
        self.pos().wrapping_neg() & ((1usize << w) - 1)
    }

    /// Writes a map key (NUL-terminated) and returns its address.
    #[inline]
    pub(crate) fn key(&mut self, name: &str) -> usize {
        let addr = self.pos();
        let mut f = WriteCursor::new(self.buf, name.len() + 1);
        f.bytes(name.as_bytes());
        f.byte(0);
        addr
    }

    /// Writes length-prefixed bytes (the length slot as wide as the length needs, aligned to
    /// it), NUL-terminated if `nul`; returns the address of the first byte and that width.
    #[inline(always)]
    fn sized(&mut self, bytes: &[u8], nul: bool) -> (usize, u8) {
        let w = lwidth(bytes.len());
        let pad = self.pad(w);
        let addr = self.pos() + pad + (1 << w);
        WriteCursor::new(self.buf, pad + (1 << w) + bytes.len() + usize::from(nul))
            .sized(pad, w, bytes, nul);
        (addr, w)
    }

    /// Writes a string (length-prefixed, NUL-terminated).
    #[inline]
    pub(crate) fn string(&mut self, s: &str) -> Val {
        let (addr, w) = self.sized(s.as_bytes(), true);
        Val::reference(ty::STRING, addr, w)
    }

    /// Writes a string shorter than 256 bytes (an enum's variant name): a 1-byte length
    /// slot, which needs no alignment.
    #[inline]
    pub(crate) fn short_string(&mut self, s: &'static str) -> Val {
        if s.len() > u8::MAX as usize {
            return self.string(s);
        }
        let addr = self.pos() + 1;
        WriteCursor::new(self.buf, s.len() + 2).sized(0, 0, s.as_bytes(), true);
        Val::reference(ty::STRING, addr, 0)
    }

    /// Writes a blob whose bytes `write` appends to the buffer, behind an 8-byte length slot
    /// (so any length fits, and nothing is moved once written); returns it, or `write`'s
    /// error with the buffer as it was before.
    pub(crate) fn blob_with<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Val, E> {
        let before = self.buf.len();
        let pad = self.pad(3);
        self.buf.resize(before + pad + 8, 0);
        let addr = self.pos();
        if let Err(e) = write(self.buf) {
            self.buf.truncate(before);
            return Err(e);
        }
        Ok(self.blob_written(addr))
    }

    /// Ends the blob whose bytes start at address `addr` (8-aligned, behind an 8-byte
    /// length slot already in place) and run to the current address: fills in its length.
    pub(crate) fn blob_written(&mut self, addr: usize) -> Val {
        let len = (self.pos() - addr) as u64;
        let len_at = self.base + addr - 8;
        if let Some(slot) = self.buf.get_mut(len_at..len_at + 8) {
            slot.copy_from_slice(&len.to_le_bytes());
        }
        Val::reference(ty::BLOB, addr, 3)
    }

    /// Writes bytes as the builder writes a sequence of `u8`: an empty untyped vector, a
    /// fixed-length typed vector of 2, 3 or 4, or a typed vector of unsigned integers whose
    /// slots are as wide as the length needs.
    #[inline]
    pub(crate) fn byte_vector(&mut self, data: &[u8]) -> Val {
        let fixed = match data.len() {
            0 => {
                WriteCursor::new(self.buf, 1).byte(0);
                return Val::reference(ty::VECTOR, self.pos(), 0);
            }
            2 => ty::VECTOR_UINT2,
            3 => ty::VECTOR_UINT3,
            4 => ty::VECTOR_UINT4,
            _ => ty::VECTOR_UINT,
        };
        let addr = self.pos();
        if fixed != ty::VECTOR_UINT {
            WriteCursor::new(self.buf, data.len()).bytes(data);
            return Val::reference(fixed, addr, 0);
        }
        let w = lwidth(data.len());
        let pad = self.pad(w);
        let mut f = WriteCursor::new(self.buf, pad + ((data.len() + 1) << w));
        f.zeros(pad);
        by_width!(w, widened(&mut f, data));
        Val::reference(ty::VECTOR_UINT, addr + pad + (1 << w), w)
    }

    /// The slot width a map of `vals` written now would need, not counting its keys vector.
    #[cfg(test)]
    #[inline(always)]
    pub(crate) fn map_width_without_keys(&self, vals: &[Val]) -> u8 {
        slots_width(vals, self.pos(), 3, lwidth(vals.len()))
    }

    /// The slot width a map written now would need to refer to the keys vector `keys`.
    #[cfg(test)]
    #[inline(always)]
    pub(crate) fn keys_ref_width(&self, keys: Val) -> u8 {
        keys.width_at(self.pos(), 0)
    }

    /// Writes a keys vector of the keys at `keys` (whose shape is `shape`) and right after
    /// it a map of `vals` (sorted by key) using it, reserved at once. Returns both.
    #[inline(always)]
    pub(crate) fn keys_and_map(
        &mut self,
        keys: &[usize],
        shape: &KeyShape,
        vals: &[Val],
    ) -> (Val, Val) {
        let start = self.pos();
        let kw = shape.width_at(start);
        let kpad = start.wrapping_neg() & ((1usize << kw) - 1);
        let kfirst = start + kpad + (1 << kw);
        let kv = Val::reference(ty::VECTOR_KEY, kfirst, kw);
        let mstart = kfirst + (keys.len() << kw);
        let w = slots_width(vals, mstart, 3, lwidth(vals.len())).max(kv.width_at(mstart, 0));
        let mpad = mstart.wrapping_neg() & ((1usize << w) - 1);
        let at = mstart + mpad;
        let prefix = [
            at.wrapping_sub(kfirst) as u64,
            1u64 << kw,
            vals.len() as u64,
        ];
        let first = at + (3 << w);
        let mut f = WriteCursor::new(
            self.buf,
            (mstart - start) + mpad + ((vals.len() + 3) << w) + vals.len(),
        );
        f.zeros(kpad);
        by_width!(kw, key_slots(&mut f, kfirst, keys));
        f.zeros(mpad);
        by_width!(w, value_slots(&mut f, &prefix, first, vals, w));
        (kv, Val::reference(ty::MAP, first, w))
    }

    /// Writes a map of `vals` (sorted by key) whose keys vector is `keys`.
    #[cfg(test)]
    pub(crate) fn map(&mut self, keys: Val, vals: &[Val]) -> Val {
        let w = self
            .map_width_without_keys(vals)
            .max(self.keys_ref_width(keys));
        self.map_with_width(keys, vals, w)
    }

    /// Writes a map of `vals` whose keys vector is `keys`, in slots of width `w`, which
    /// must be `map_width_without_keys(vals).max(keys_ref_width(keys))`.
    #[cfg(test)]
    #[inline(always)]
    pub(crate) fn map_with_width(&mut self, keys: Val, vals: &[Val], w: u8) -> Val {
        let pad = self.pad(w);
        let at = self.pos() + pad;
        let prefix = [
            at.wrapping_sub(keys.addr()) as u64,
            1u64 << keys.w,
            vals.len() as u64,
        ];
        let first = at + (3 << w);
        let mut f = WriteCursor::new(self.buf, pad + ((vals.len() + 3) << w) + vals.len());
        f.zeros(pad);
        by_width!(w, value_slots(&mut f, &prefix, first, vals, w));
        Val::reference(ty::MAP, first, w)
    }

    /// Writes an untyped vector of `vals`.
    #[inline(always)]
    pub(crate) fn vector(&mut self, vals: &[Val]) -> Val {
        let start = self.pos();
        let w = slots_width(vals, start, 1, lwidth(vals.len()));
        let pad = self.pad(w);
        let first = start + pad + (1 << w);
        let mut f = WriteCursor::new(self.buf, pad + ((vals.len() + 1) << w) + vals.len());
        f.zeros(pad);
        by_width!(w, value_slots(&mut f, &[vals.len() as u64], first, vals, w));
        Val::reference(ty::VECTOR, first, w)
    }

    /// Ends the FlexBuffer with `root`: its slot, packed type and width.
    pub(crate) fn root(&mut self, root: Val) {
        let w = root.width_at(self.pos(), 0);
        let pad = self.pad(w);
        let at = self.pos() + pad;
        let mut f = WriteCursor::new(self.buf, pad + (1 << w) + 2);
        f.zeros(pad);
        put(&mut f, root.slot_bits(at), w);
        f.byte(root.packed_type(w));
        f.byte(1 << w);
    }
}

/// The slot width of a vector (or map) starting at `start` (before alignment) whose element
/// `first_idx + i` (counting the prefix) is `vals[i]`: the widest any value needs, and at
/// least `floor`. Equal to the largest [`Val::width_at`], found in one pass: reference `i`
/// fits 1-byte slots when `start + idx - addr <= 255` and 2-byte slots when
/// `align_up(start, 1) + 2 idx - addr <= 65535`, so the largest `idx - addr` and
/// `2 idx - addr` decide both widths; wider ones probe each reference.
#[inline(always)]
fn slots_width(vals: &[Val], start: usize, first_idx: usize, floor: u8) -> u8 {
    let mut w = floor;
    let mut any_ref = false;
    let (mut m0, mut m1) = (isize::MIN, isize::MIN);
    for (i, v) in vals.iter().enumerate() {
        if v.is_inline() {
            w = w.max(v.w);
        } else {
            any_ref = true;
            let idx = (first_idx + i) as isize;
            let addr = v.addr() as isize;
            m0 = m0.max(idx - addr);
            m1 = m1.max(2 * idx - addr);
        }
    }
    if !any_ref {
        return w;
    }
    // Every reference fits 1-byte slots: the widest is the scalars' (or the floor).
    if (start as isize).wrapping_add(m0) <= u8::MAX as isize {
        return w;
    }
    // Some reference needs 2 bytes and every one fits them.
    if (align_up(start, 1) as isize).wrapping_add(m1) <= u16::MAX as isize {
        return w.max(1);
    }
    for (i, v) in vals.iter().enumerate() {
        w = w.max(v.width_at(start, first_idx + i));
    }
    w
}

/// Writes the low `1 << w` bytes of `x`.
#[inline(always)]
fn put(f: &mut WriteCursor<'_>, x: u64, w: u8) {
    match w {
        0 => f.put::<1>(x),
        1 => f.put::<2>(x),
        2 => f.put::<4>(x),
        _ => f.put::<8>(x),
    }
}

/// Writes a keys vector's length and the offsets from each slot (the first at `first`) to
/// its key, in `N`-byte slots.
#[inline(always)]
fn key_slots<const N: usize>(f: &mut WriteCursor<'_>, first: usize, keys: &[usize]) {
    f.key_run::<N>(keys, first);
}

/// Writes `prefix`, then `vals` (the first at `first`) in `N`-byte slots, then their type
/// bytes inside a parent of width `w` (`N == 1 << w`).
#[inline(always)]
fn value_slots<const N: usize>(
    f: &mut WriteCursor<'_>,
    prefix: &[u64],
    first: usize,
    vals: &[Val],
    w: u8,
) {
    f.value_run::<N>(prefix, vals, first, w);
}

/// Writes the length of `data` and then every byte zero-extended to `N` bytes.
#[inline(always)]
fn widened<const N: usize>(f: &mut WriteCursor<'_>, data: &[u8]) {
    f.put::<N>(data.len() as u64);
    match N {
        1 => f.bytes(data),
        2 => f.widened_u16(data),
        4 => f.widened_u32(data),
        _ => f.widened_u64(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_written_blobs_are_length_prefixed_and_aligned() {
        let mut buf = vec![0xEE];
        let mut sink = Sink::new(&mut buf, 0);
        assert_eq!(sink.pos(), 0);
        assert_eq!(sink.string("ab"), Val::reference(ty::STRING, 1, 0));
        // At 4: padding to 8, the 8-byte length at 8, the bytes from 16.
        let blob = sink.blob_with(|out| {
            out.extend_from_slice(&[7, 7, 7]);
            Ok::<(), ()>(())
        });
        assert_eq!(blob, Ok(Val::reference(ty::BLOB, 16, 3)));
        // A failed write leaves nothing behind, padding included.
        let failed = sink.blob_with(|out| {
            out.push(9);
            Err::<(), _>("no")
        });
        assert_eq!(failed, Err("no"));
        assert_eq!(sink.string(""), Val::reference(ty::STRING, 20, 0));
        let expected = [
            0xEE, 2, b'a', b'b', 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7, 7, 7, 0, 0,
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn byte_vectors_take_every_compat_shape() {
        let mut buf = Vec::new();
        let mut sink = Sink::new(&mut buf, 0);
        assert_eq!(sink.byte_vector(&[]), Val::reference(ty::VECTOR, 1, 0));
        assert_eq!(
            sink.byte_vector(&[9]),
            Val::reference(ty::VECTOR_UINT, 2, 0)
        );
        assert_eq!(
            sink.byte_vector(&[1, 2, 3]),
            Val::reference(ty::VECTOR_UINT3, 3, 0)
        );
        // 256 bytes: pad 6 to 2-byte alignment, 2-byte length at 6, slots from 8.
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(
            sink.byte_vector(&data),
            Val::reference(ty::VECTOR_UINT, 8, 1)
        );
        assert_eq!(&buf[..8], &[0, 1, 9, 1, 2, 3, 0, 1]);
        assert_eq!(&buf[8..14], &[0, 0, 1, 0, 2, 0]);
        assert_eq!(&buf[8 + 510..], &[255, 0]);
    }

    #[test]
    fn a_map_with_its_keys_vector_and_root() {
        let mut buf = Vec::new();
        let mut sink = Sink::new(&mut buf, 0);
        let a = sink.key("a");
        let b = sink.key("b");
        let keys = [a, b];
        let (kv, map) = sink.keys_and_map(
            &keys,
            &KeyShape::new(&keys),
            &[Val::uint(300), Val::int(-1)],
        );
        assert_eq!(kv, Val::reference(ty::VECTOR_KEY, 5, 0));
        // 300 needs 2-byte slots: pad to 8, prefix at 8, 10, 12, values at 14 and 16.
        assert_eq!(map, Val::reference(ty::MAP, 14, 1));
        // A second map sharing the keys vector (as Compact does): at 20 the keys vector is
        // 15 bytes back, so 1-byte slots; values at 23 and 24.
        assert_eq!(
            sink.map(kv, &[Val::uint(1), Val::boolean(true)]),
            Val::reference(ty::MAP, 23, 0)
        );
        sink.root(map);
        #[rustfmt::skip]
        let expected = [
            b'a', 0, b'b', 0, // keys at 0 and 2
            2, 5, 4, // keys vector: length, offsets 5 - 0 and 6 - 2
            0, // padding
            3, 0, 1, 0, 2, 0, // keys offset 8 - 5, keys' slot width 1 byte, length 2
            44, 1, 255, 255, // 300, -1
            (2 << 2) | 1, (1 << 2) | 1, // UInt and Int, both 2 bytes wide
            20 - 5, 1, 2, 1, 1, // second map: keys offset, key width, length, 1, true
            2 << 2, 26 << 2, // UInt and Bool, 1 byte wide
            27 - 14, (9 << 2) | 1, 1, // root: offset to the first map, Map of 2-byte slots
        ];
        assert_eq!(buf, expected);
    }
}
