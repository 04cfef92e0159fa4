//! [`Sink`]: appends FlexBuffers items (strings, blobs, keys, vectors, maps, the root) to a
//! byte buffer, laying each out exactly as the flexbuffers 2.0.0 builder does.
//!
//! Addresses are relative to where this FlexBuffer starts in the buffer, so a FlexBuffer
//! appended after other content is the same bytes as one written alone (alignment padding
//! included).

use super::value::{lwidth, ty, Val};

/// The output of one FlexBuffer.
pub(crate) struct Sink<'a> {
    buf: &'a mut Vec<u8>,
    /// Where this FlexBuffer starts in `buf`.
    base: usize,
}

impl<'a> Sink<'a> {
    /// Starts a FlexBuffer at the end of `buf`, reserving `estimate` more bytes.
    pub(crate) fn new(buf: &'a mut Vec<u8>, estimate: usize) -> Self {
        buf.reserve(estimate);
        let base = buf.len();
        Sink { buf, base }
    }

    /// The current address (relative to the start of this FlexBuffer).
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.buf.len() - self.base
    }

    /// The bytes written so far into this FlexBuffer.
    #[inline]
    pub(crate) fn written(&self) -> &[u8] {
        self.buf.get(self.base..).unwrap_or_default()
    }

    /// Pads with zeros to a multiple of `1 << w`.
    #[inline]
    fn align(&mut self, w: u8) {
        let mask = (1usize << w) - 1;
        let pad = self.pos().wrapping_neg() & mask;
        if pad != 0 {
            self.buf.resize(self.buf.len() + pad, 0);
        }
    }

    /// Writes the low `1 << w` bytes of `x`, little-endian.
    #[inline]
    fn put(&mut self, x: u64, w: u8) {
        let bytes = x.to_le_bytes();
        self.buf
            .extend_from_slice(bytes.get(..1 << w).unwrap_or(&bytes));
    }

    /// Writes `v` into a slot of width `w` at the current address.
    #[inline]
    fn put_slot(&mut self, v: Val, w: u8) {
        let at = self.pos();
        self.put(v.slot_bits(at), w);
    }

    /// Writes a map key (NUL-terminated) and returns its address.
    #[inline]
    pub(crate) fn key(&mut self, name: &str) -> usize {
        let addr = self.pos();
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        addr
    }

    /// Writes length-prefixed bytes (the length slot as wide as the length needs) and returns
    /// the address of the first byte and that width.
    #[inline]
    fn sized(&mut self, bytes: &[u8]) -> (usize, u8) {
        let w = lwidth(bytes.len());
        self.align(w);
        self.put(bytes.len() as u64, w);
        let addr = self.pos();
        self.buf.extend_from_slice(bytes);
        (addr, w)
    }

    /// Writes a string (length-prefixed, NUL-terminated).
    #[inline]
    pub(crate) fn string(&mut self, s: &str) -> Val {
        let (addr, w) = self.sized(s.as_bytes());
        self.buf.push(0);
        Val::reference(ty::STRING, addr, w)
    }

    /// Writes a blob (length-prefixed bytes).
    #[inline]
    pub(crate) fn blob(&mut self, bytes: &[u8]) -> Val {
        let (addr, w) = self.sized(bytes);
        Val::reference(ty::BLOB, addr, w)
    }

    /// Writes bytes as the builder writes a sequence of `u8`: an empty untyped vector, a
    /// fixed-length typed vector of 2, 3 or 4, or a typed vector of unsigned integers whose
    /// slots are as wide as the length needs.
    pub(crate) fn byte_vector(&mut self, data: &[u8]) -> Val {
        let fixed = match data.len() {
            0 => {
                self.buf.push(0);
                return Val::reference(ty::VECTOR, self.pos(), 0);
            }
            2 => ty::VECTOR_UINT2,
            3 => ty::VECTOR_UINT3,
            4 => ty::VECTOR_UINT4,
            _ => ty::VECTOR_UINT,
        };
        if fixed != ty::VECTOR_UINT {
            let addr = self.pos();
            self.buf.extend_from_slice(data);
            return Val::reference(fixed, addr, 0);
        }
        let w = lwidth(data.len());
        self.align(w);
        self.put(data.len() as u64, w);
        let addr = self.pos();
        let start = self.buf.len();
        match w {
            0 => self.buf.extend_from_slice(data),
            1 => widen::<2>(self.buf, start, data),
            2 => widen::<4>(self.buf, start, data),
            _ => widen::<8>(self.buf, start, data),
        }
        Val::reference(ty::VECTOR_UINT, addr, w)
    }

    /// Writes the keys vector of a map: a typed vector of offsets to the keys at `keys`.
    pub(crate) fn keys_vector(&mut self, keys: &[usize]) -> Val {
        let start = self.pos();
        let mut w = lwidth(keys.len());
        for (i, &k) in keys.iter().enumerate() {
            w = w.max(super::value::ref_width(k, start, i + 1));
        }
        self.align(w);
        self.put(keys.len() as u64, w);
        let addr = self.pos();
        for &k in keys {
            let at = self.pos();
            self.put(at.wrapping_sub(k) as u64, w);
        }
        Val::reference(ty::VECTOR_KEY, addr, w)
    }

    /// The slot width a map of `vals` written now would need, not counting its keys vector.
    #[inline]
    pub(crate) fn map_width_without_keys(&self, vals: &[Val]) -> u8 {
        let start = self.pos();
        let mut w = lwidth(vals.len());
        for (i, v) in vals.iter().enumerate() {
            w = w.max(v.width_at(start, i + 3));
        }
        w
    }

    /// The slot width a map written now would need to refer to the keys vector `keys`.
    #[inline]
    pub(crate) fn keys_ref_width(&self, keys: Val) -> u8 {
        keys.width_at(self.pos(), 0)
    }

    /// Writes a map of `vals` (sorted by key) whose keys vector is `keys`.
    pub(crate) fn map(&mut self, keys: Val, vals: &[Val]) -> Val {
        let w = self
            .map_width_without_keys(vals)
            .max(self.keys_ref_width(keys));
        self.align(w);
        self.put_slot(keys, w);
        self.put(1u64 << keys.w, w);
        self.put(vals.len() as u64, w);
        self.elements(vals, w, ty::MAP)
    }

    /// Writes an untyped vector of `vals`.
    pub(crate) fn vector(&mut self, vals: &[Val]) -> Val {
        let start = self.pos();
        let mut w = lwidth(vals.len());
        for (i, v) in vals.iter().enumerate() {
            w = w.max(v.width_at(start, i + 1));
        }
        self.align(w);
        self.put(vals.len() as u64, w);
        self.elements(vals, w, ty::VECTOR)
    }

    /// Writes the slots and then the type bytes of a map's or untyped vector's elements.
    #[inline]
    fn elements(&mut self, vals: &[Val], w: u8, of: u8) -> Val {
        let addr = self.pos();
        for &v in vals {
            self.put_slot(v, w);
        }
        for &v in vals {
            self.buf.push(v.packed_type(w));
        }
        Val::reference(of, addr, w)
    }

    /// Ends the FlexBuffer with `root`: its slot, packed type and width.
    pub(crate) fn root(&mut self, root: Val) {
        let w = root.width_at(self.pos(), 0);
        self.align(w);
        self.put_slot(root, w);
        self.buf.push(root.packed_type(w));
        self.buf.push(1 << w);
    }
}

/// Appends `data` with every byte zero-extended to `N` bytes (little-endian).
#[inline]
fn widen<const N: usize>(buf: &mut Vec<u8>, start: usize, data: &[u8]) {
    buf.resize(start + data.len() * N, 0);
    if let Some(out) = buf.get_mut(start..) {
        for (slot, &b) in out.chunks_exact_mut(N).zip(data) {
            let mut wide = [0u8; N];
            if let Some(first) = wide.first_mut() {
                *first = b;
            }
            slot.copy_from_slice(&wide);
        }
    }
}
