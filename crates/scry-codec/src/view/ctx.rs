//! [`Ctx`]: what every view carries (the validated input and its layout facts), the
//! infallible readers the accessors use, and where value bytes lie.

use std::borrow::Cow;

use bytes::Bytes;

use crate::flex::{fast, FlexType, Reader, Slot, Vector};
use crate::schema::Field;
use crate::view::fields::{find_field, NameIndex};
use crate::view::parse::{Canon, StrRef};

/// The validated input and the layout facts the parse found.
///
/// The readers here return a default (empty string, zero, `None`) where a read fails; after
/// the validating pass no read can fail, so the defaults are never seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub r: Reader<'a>,
    pub canon: Canon,
}

/// An empty vector: what a view holds if its map or vector could not be read (never, once
/// validated).
pub(crate) const EMPTY: Vector = Vector {
    pos: 0,
    len: 0,
    width: 1,
    elem: None,
};

impl<'a> Ctx<'a> {
    /// The string the validating pass found at `s` (in this context's input: views and
    /// records only ever pair a `StrRef` with the `Ctx` of the pass that made it).
    #[inline]
    pub(crate) fn str_ref(&self, s: StrRef) -> &'a str {
        let (pos, len) = s.span();
        let bytes = self.r.range(pos, len).unwrap_or_default();
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: `StrRef`s are made only by the validating pass, and only after it checked
        // that exactly these bytes of this input are valid UTF-8 (see `StrRef`); the input
        // is the same immutable slice the pass read. The empty fallback (never taken: the
        // range was checked to lie inside the input) is valid UTF-8 as well.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    pub(crate) fn str_slot(&self, s: Option<Slot>) -> &'a str {
        let b = self.r.buf();
        let fast = s.and_then(|s| {
            if s.ty != FlexType::String {
                return None;
            }
            let t = fast::deref(b, s.pos, usize::from(s.width))?;
            let cw = usize::from(s.child);
            let len = usize::try_from(fast::rd(b, t.checked_sub(cw)?, cw)?).ok()?;
            std::str::from_utf8(b.get(t..t.checked_add(len)?)?).ok()
        });
        if let Some(found) = fast {
            return found;
        }
        s.and_then(|s| self.r.string(s).ok())
            .and_then(|(pos, len)| self.r.range(pos, len).ok())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    pub(crate) fn int(&self, s: Option<Slot>) -> i128 {
        s.and_then(|s| self.r.integer(s, "").ok()).unwrap_or(0)
    }

    pub(crate) fn boolean(&self, s: Option<Slot>) -> bool {
        s.and_then(|s| self.r.boolean(s).ok()).unwrap_or(false)
    }

    pub(crate) fn enumeration<E: Copy, const N: usize>(
        &self,
        s: Option<Slot>,
        names: &NameIndex<N>,
        all: &[E],
        default: E,
    ) -> E {
        s.and_then(|s| self.r.string(s).ok())
            .and_then(|(pos, len)| names.find_at(self.r.buf(), pos, len))
            .and_then(|i| all.get(i).copied())
            .unwrap_or(default)
    }

    /// The values of the map `s` points at (validated by the parse).
    #[inline]
    pub(crate) fn map(&self, s: Option<Slot>) -> Vector {
        s.and_then(|s| self.r.map_values(s, "").ok())
            .unwrap_or(EMPTY)
    }

    /// The vector `s` points at (validated by the parse).
    pub(crate) fn vector(&self, s: Option<Slot>) -> Vector {
        s.and_then(|s| self.r.vector(s, "").ok()).unwrap_or(EMPTY)
    }

    /// The slot of field `id` of `names` in `m`: by position when every map of the kind is
    /// canonical (keys are the last `m.len()` names, in order), else by searching the keys.
    #[inline]
    pub(crate) fn field(
        &self,
        m: &Vector,
        canonical: bool,
        names: &[Field],
        id: usize,
    ) -> Option<Slot> {
        if canonical {
            let first = names.len().checked_sub(m.len as usize)?;
            let i = id.checked_sub(first)?;
            self.r.element(m, i).ok()
        } else {
            find_field(&self.r, m, names.get(id)?.name())
        }
    }

    /// Where the bytes of a `data` slot lie.
    pub(crate) fn data_ref(&self, s: Option<Slot>) -> DataRef {
        let Some(s) = s else {
            return DataRef::Absent;
        };
        match s.ty {
            FlexType::VectorUInt
            | FlexType::VectorUInt2
            | FlexType::VectorUInt3
            | FlexType::VectorUInt4 => match self.r.vector(s, "") {
                Ok(v) if v.width == 1 => DataRef::Contiguous {
                    pos: v.pos as usize,
                    len: v.len as usize,
                },
                Ok(v) => DataRef::Wide(v),
                Err(_) => DataRef::Absent,
            },
            FlexType::Vector => match self.r.vector(s, "") {
                Ok(v) if v.len == 0 => DataRef::Contiguous { pos: 0, len: 0 },
                Ok(v) => DataRef::Elements(v),
                Err(_) => DataRef::Absent,
            },
            _ => DataRef::Absent,
        }
    }

    /// The bytes of `d`, borrowed when contiguous.
    #[inline]
    pub(crate) fn data_cow(&self, d: DataRef) -> Option<Cow<'a, [u8]>> {
        match d {
            DataRef::Absent => None,
            DataRef::Contiguous { pos, len } => {
                Some(Cow::Borrowed(self.r.range(pos, len).unwrap_or_default()))
            }
            DataRef::Wide(v) => Some(Cow::Owned(self.narrow(&v))),
            DataRef::Elements(v) => Some(Cow::Owned(self.elements(&v))),
        }
    }

    /// The low bytes of a typed UInt vector wider than a byte (each element is below 256).
    pub(crate) fn narrow(&self, v: &Vector) -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len as usize);
        self.narrow_into(v, &mut out);
        out
    }

    /// Appends the low bytes of a typed UInt vector wider than a byte to `out`.
    pub(crate) fn narrow_into(&self, v: &Vector, out: &mut Vec<u8>) {
        let w = usize::from(v.width);
        let raw = self
            .r
            .range(v.pos as usize, (v.len as usize).saturating_mul(w))
            .unwrap_or_default();
        let start = out.len();
        out.resize(start + raw.len() / w.max(1), 0);
        if let Some(dst) = out.get_mut(start..) {
            narrow_block(raw, w, dst);
        }
    }

    /// Appends the low bytes of a typed UInt vector wider than a byte to `out`, a block at
    /// a time (extending `BytesMut` byte by byte is slow).
    pub(crate) fn narrow_into_bytes(&self, v: &Vector, out: &mut bytes::BytesMut) {
        let w = usize::from(v.width);
        let raw = self
            .r
            .range(v.pos as usize, (v.len as usize).saturating_mul(w))
            .unwrap_or_default();
        let mut block = [0u8; 512];
        for chunk in raw.chunks(512 * w) {
            let n = narrow_block(chunk, w, &mut block);
            out.extend_from_slice(block.get(..n).unwrap_or_default());
        }
    }

    /// The bytes of an untyped vector of UInt elements.
    fn elements(&self, v: &Vector) -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len as usize);
        self.elements_into(v, &mut out);
        out
    }

    fn elements_into(&self, v: &Vector, out: &mut Vec<u8>) {
        out.extend((0..v.len as usize).map(|i| {
            self.r
                .element(v, i)
                .and_then(|e| self.r.uint_at(e.pos, e.width))
                .map_or(0, |b| b as u8)
        }));
    }

    /// Appends the bytes of `d` to `out`.
    pub(crate) fn append_data(&self, d: DataRef, out: &mut Vec<u8>) {
        match d {
            DataRef::Absent => {}
            DataRef::Contiguous { pos, len } => {
                out.extend_from_slice(self.r.range(pos, len).unwrap_or_default());
            }
            DataRef::Wide(v) => self.narrow_into(&v, out),
            DataRef::Elements(v) => self.elements_into(&v, out),
        }
    }
}

/// Where a value's bytes lie in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataRef {
    /// No data (absent or Null).
    Absent,
    /// Contiguous bytes (a typed UInt vector of byte-wide elements, or a compact field).
    Contiguous { pos: usize, len: usize },
    /// A typed UInt vector with 2-, 4- or 8-byte elements.
    Wide(Vector),
    /// An untyped vector of UInt elements.
    Elements(Vector),
}

impl DataRef {
    /// The number of bytes (0 when absent).
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Absent => 0,
            Self::Contiguous { len, .. } => *len,
            Self::Wide(v) | Self::Elements(v) => v.len as usize,
        }
    }
}

/// Turns value bytes into the owned `Bytes` of a `ColumnValue`.
pub(crate) trait Sink {
    fn bytes(&self, ctx: &Ctx<'_>, d: DataRef) -> Option<Bytes>;
}

/// Copies every value's bytes.
pub(crate) struct CopySink;

impl Sink for CopySink {
    fn bytes(&self, ctx: &Ctx<'_>, d: DataRef) -> Option<Bytes> {
        match d {
            DataRef::Absent => None,
            DataRef::Contiguous { pos, len } => Some(Bytes::copy_from_slice(
                ctx.r.range(pos, len).unwrap_or_default(),
            )),
            DataRef::Wide(v) => Some(Bytes::from(ctx.narrow(&v))),
            DataRef::Elements(v) => Some(Bytes::from(ctx.elements(&v))),
        }
    }
}

/// Slices contiguous value bytes out of the input's `Bytes` (no copy); copies the rest.
pub(crate) struct SliceSink<'b>(pub &'b Bytes);

impl Sink for SliceSink<'_> {
    fn bytes(&self, ctx: &Ctx<'_>, d: DataRef) -> Option<Bytes> {
        match d {
            DataRef::Contiguous { pos, len } => {
                // The view was parsed from this very buffer, so the range lies inside it;
                // checked anyway because `Bytes::slice` panics otherwise.
                match pos.checked_add(len) {
                    Some(end) if len > 0 && end <= self.0.len() => Some(self.0.slice(pos..end)),
                    _ => CopySink.bytes(ctx, d),
                }
            }
            _ => CopySink.bytes(ctx, d),
        }
    }
}

/// Copies every value's bytes into one buffer, sized for all of a batch's values up front,
/// and hands out each value as a frozen slice of it (one allocation for all the values).
pub(crate) struct PackSink {
    buf: std::cell::RefCell<bytes::BytesMut>,
}

impl PackSink {
    /// A sink for values of `total` bytes in all.
    pub(crate) fn new(total: usize) -> Self {
        Self {
            buf: std::cell::RefCell::new(bytes::BytesMut::with_capacity(total)),
        }
    }
}

impl Sink for PackSink {
    fn bytes(&self, ctx: &Ctx<'_>, d: DataRef) -> Option<Bytes> {
        if matches!(d, DataRef::Absent) {
            return None;
        }
        if d.len() == 0 {
            return Some(Bytes::new());
        }
        match self.buf.try_borrow_mut() {
            Ok(mut buf) => {
                match d {
                    DataRef::Contiguous { pos, len } => {
                        buf.extend_from_slice(ctx.r.range(pos, len).unwrap_or_default());
                    }
                    DataRef::Wide(v) => ctx.narrow_into_bytes(&v, &mut buf),
                    DataRef::Elements(_) | DataRef::Absent => {
                        let mut tmp = Vec::new();
                        ctx.append_data(d, &mut tmp);
                        buf.extend_from_slice(&tmp);
                    }
                }
                Some(buf.split().freeze())
            }
            // Never: nothing else borrows the buffer.
            Err(_) => CopySink.bytes(ctx, d),
        }
    }
}

/// Writes the low byte of each `w`-byte element of `raw` into `dst` (as many as fit);
/// returns how many it wrote.
#[inline]
fn narrow_block(raw: &[u8], w: usize, dst: &mut [u8]) -> usize {
    let n = dst.len().min(raw.len() / w.max(1));
    let (Some(dst), Some(raw)) = (dst.get_mut(..n), raw.get(..n * w)) else {
        return 0;
    };
    match w {
        2 => {
            // Four 2-byte elements per word: gather their low bytes with shifts.
            let mut words = raw.chunks_exact(8);
            let mut out = dst.chunks_exact_mut(4);
            for (o, c) in (&mut out).zip(&mut words) {
                let x = c.try_into().map_or(0, u64::from_le_bytes) & 0x00FF_00FF_00FF_00FF;
                let x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
                let x = (x | (x >> 16)) as u32;
                o.copy_from_slice(&x.to_le_bytes());
            }
            for (d, c) in out
                .into_remainder()
                .iter_mut()
                .zip(words.remainder().chunks_exact(2))
            {
                *d = c[0];
            }
        }
        4 => {
            for (d, c) in dst.iter_mut().zip(raw.chunks_exact(4)) {
                *d = c[0];
            }
        }
        _ => {
            for (d, c) in dst.iter_mut().zip(raw.chunks_exact(8)) {
                *d = c[0];
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::narrow_block;

    #[test]
    fn narrowing_keeps_each_low_byte() {
        for w in [2usize, 4, 8] {
            for n in 0..40 {
                let raw: Vec<u8> = (0..n * w)
                    .map(|i| if i % w == 0 { (i / w) as u8 } else { 0 })
                    .collect();
                let mut dst = vec![0xEE; n + 3];
                assert_eq!(narrow_block(&raw, w, &mut dst), n);
                let expected: Vec<u8> = (0..n).map(|i| i as u8).collect();
                assert_eq!(&dst[..n], &expected[..], "w {w} n {n}");
                assert!(dst[n..].iter().all(|&b| b == 0xEE));
            }
        }
    }
}
