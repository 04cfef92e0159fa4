//! Bounds-checked access to FlexBuffers bytes.
//!
//! Every read goes through `get`, every position is computed with checked arithmetic, and
//! every offset must point strictly backwards (FlexBuffers writes children before their
//! parents), so no input can make a read panic, wrap around or loop. Claimed lengths are
//! checked against the input before anyone may allocate or iterate for them.

use crate::flex::FlexType;
use crate::{DecodeError, DecodeErrorKind};

/// A result whose error has an empty path (the view layer adds it).
pub(crate) type Res<T> = Result<T, DecodeError>;

/// How many bytes of a key are looked at to recognise it: longer keys are no field's.
pub(crate) const KEY_PREFIX: usize = 24;

/// One value slot: where it is, its slot width (the parent's byte width) and its packed type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// Position of the slot.
    pub pos: usize,
    /// Byte width of the slot (1, 2, 4 or 8).
    pub width: u8,
    /// The value's type.
    pub ty: FlexType,
    /// The packed bit width, in bytes: the inline value's width or the pointed-to object's.
    pub child: u8,
}

/// A validated vector: its elements fit inside the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vector {
    /// Position of the first element.
    pub pos: u32,
    /// Number of elements.
    pub len: u32,
    /// Byte width of each element.
    pub width: u8,
    /// Element type of a typed vector; `None` for an untyped vector (type bytes follow).
    pub elem: Option<FlexType>,
}

/// A validated map: values (an untyped vector) and a keys vector of the same length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Map {
    /// The values.
    pub values: Vector,
    /// Position of the keys vector's first element.
    pub keys_pos: u32,
    /// Byte width of the keys vector's elements (offsets to keys).
    pub keys_width: u8,
}

impl Map {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.values.len as usize
    }
}

/// The input, with checked readers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

#[cold]
fn err(kind: DecodeErrorKind, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

impl<'a> Reader<'a> {
    /// A reader of `buf`. Callers ensure `buf.len() <= u32::MAX`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The whole input.
    #[inline(always)]
    pub(crate) fn buf(&self) -> &'a [u8] {
        self.buf
    }

    #[cold]
    fn out_of_bounds(&self, end: u64, at: usize) -> DecodeError {
        err(
            DecodeErrorKind::OutOfBounds {
                end,
                input_len: self.buf.len(),
            },
            at,
        )
    }

    /// `len` bytes from `start`.
    #[inline(always)]
    pub(crate) fn range(&self, start: usize, len: usize) -> Res<&'a [u8]> {
        start
            .checked_add(len)
            .and_then(|end| self.buf.get(start..end))
            .ok_or_else(|| {
                let end = (start as u64).saturating_add(len as u64);
                self.out_of_bounds(end, start)
            })
    }

    /// The unsigned little-endian integer of `width` bytes at `pos`.
    #[inline(always)]
    pub(crate) fn uint_at(&self, pos: usize, width: u8) -> Res<u64> {
        let b = self.buf;
        let v = match width {
            1 => b.get(pos).map(|&x| u64::from(x)),
            2 => Self::array::<2>(b, pos).map(|a| u64::from(u16::from_le_bytes(a))),
            4 => Self::array::<4>(b, pos).map(|a| u64::from(u32::from_le_bytes(a))),
            _ => Self::array::<8>(b, pos).map(u64::from_le_bytes),
        };
        v.ok_or_else(|| {
            let end = (pos as u64).saturating_add(u64::from(width));
            self.out_of_bounds(end, pos)
        })
    }

    /// The signed little-endian integer of `width` bytes at `pos`.
    #[inline]
    pub(crate) fn int_at(&self, pos: usize, width: u8) -> Res<i64> {
        let u = self.uint_at(pos, width)?;
        Ok(match width {
            1 => i64::from(u as u8 as i8),
            2 => i64::from(u as u16 as i16),
            4 => i64::from(u as u32 as i32),
            _ => u as i64,
        })
    }

    #[inline]
    fn array<const N: usize>(b: &[u8], pos: usize) -> Option<[u8; N]> {
        let end = pos.checked_add(N)?;
        b.get(pos..end)?.try_into().ok()
    }

    /// Follows the offset stored in the slot of `width` bytes at `pos`: offsets point
    /// strictly backwards.
    #[inline(always)]
    pub(crate) fn deref(&self, pos: usize, width: u8) -> Res<usize> {
        let off = self.uint_at(pos, width)?;
        if off == 0 || off > pos as u64 {
            return Err(err(DecodeErrorKind::BadOffset { offset: off }, pos));
        }
        Ok(pos - off as usize)
    }

    /// The slot at `pos` of width `width` with packed type byte `packed`.
    #[inline(always)]
    pub(crate) fn slot(&self, pos: usize, width: u8, packed: u8) -> Res<Slot> {
        let ty = FlexType::from_u8(packed >> 2)
            .ok_or_else(|| err(DecodeErrorKind::UnknownType { packed }, pos))?;
        Ok(Slot {
            pos,
            width,
            ty,
            child: 1 << (packed & 3),
        })
    }

    /// The root slot: the last byte is the root's width, the one before its packed type.
    pub(crate) fn root(&self) -> Res<Slot> {
        let n = self.buf.len();
        let (width, packed) = match self.buf {
            [.., packed, width] if n >= 3 => (*width, *packed),
            _ => return Err(err(DecodeErrorKind::Truncated { len: n }, 0)),
        };
        if !matches!(width, 1 | 2 | 4 | 8) {
            return Err(err(
                DecodeErrorKind::BadWidth {
                    width: u64::from(width),
                },
                n - 1,
            ));
        }
        let pos = (n - 2)
            .checked_sub(usize::from(width))
            .ok_or_else(|| err(DecodeErrorKind::Truncated { len: n }, 0))?;
        self.slot(pos, width, packed)
    }

    /// An integer of any FlexBuffers integer type (inline or indirect).
    #[inline]
    pub(crate) fn integer(&self, s: Slot, expected: &'static str) -> Res<i128> {
        match s.ty {
            FlexType::UInt => Ok(i128::from(self.uint_at(s.pos, s.width)?)),
            FlexType::Int => Ok(i128::from(self.int_at(s.pos, s.width)?)),
            FlexType::IndirectUInt => {
                let t = self.deref(s.pos, s.width)?;
                Ok(i128::from(self.uint_at(t, s.child)?))
            }
            FlexType::IndirectInt => {
                let t = self.deref(s.pos, s.width)?;
                Ok(i128::from(self.int_at(t, s.child)?))
            }
            _ => Err(wrong_type(expected, s)),
        }
    }

    /// A boolean (type Bool; any non-zero value is true).
    pub(crate) fn boolean(&self, s: Slot) -> Res<bool> {
        match s.ty {
            FlexType::Bool => Ok(self.uint_at(s.pos, s.width)? != 0),
            _ => Err(wrong_type("a Bool", s)),
        }
    }

    /// Start and length of a String's or a Key's bytes (not yet checked to be UTF-8).
    #[inline]
    pub(crate) fn string(&self, s: Slot) -> Res<(usize, usize)> {
        match s.ty {
            FlexType::String => self.prefixed(s),
            FlexType::Key => {
                let t = self.deref(s.pos, s.width)?;
                let rest = self.buf.get(t..).unwrap_or_default();
                match rest.iter().position(|&b| b == 0) {
                    Some(len) => Ok((t, len)),
                    None => Err(self.out_of_bounds(self.buf.len() as u64 + 1, t)),
                }
            }
            _ => Err(wrong_type("a String", s)),
        }
    }

    /// Start and length of a Blob's bytes.
    #[inline]
    pub(crate) fn blob(&self, s: Slot) -> Res<(usize, usize)> {
        match s.ty {
            FlexType::Blob => self.prefixed(s),
            _ => Err(wrong_type("a Blob", s)),
        }
    }

    /// A length-prefixed byte run (String or Blob): the prefix has the packed width.
    #[inline]
    fn prefixed(&self, s: Slot) -> Res<(usize, usize)> {
        let t = self.deref(s.pos, s.width)?;
        let len = self.length_before(t, s.child)?;
        self.range(t, len)?;
        Ok((t, len))
    }

    /// The length stored in the `width` bytes before `pos`.
    #[inline(always)]
    fn length_before(&self, pos: usize, width: u8) -> Res<usize> {
        let at = pos
            .checked_sub(usize::from(width))
            .ok_or_else(|| err(DecodeErrorKind::BadOffset { offset: pos as u64 }, pos))?;
        let len = self.uint_at(at, width)?;
        // A length beyond the input cannot be valid; rejecting it here keeps `usize` casts exact.
        if len > self.buf.len() as u64 {
            return Err(self.out_of_bounds(len.saturating_add(pos as u64), at));
        }
        Ok(len as usize)
    }

    /// A vector of any kind (untyped, typed, fixed typed), checked to fit in the input.
    #[inline]
    pub(crate) fn vector(&self, s: Slot, expected: &'static str) -> Res<Vector> {
        let (elem, fixed) = s.ty.vector_shape().map_err(|()| wrong_type(expected, s))?;
        let t = self.deref(s.pos, s.width)?;
        let width = s.child;
        let len = match fixed {
            Some(n) => usize::from(n),
            None => self.length_before(t, width)?,
        };
        self.vector_at(t, len, width, elem)
    }

    fn vector_at(&self, pos: usize, len: usize, width: u8, elem: Option<FlexType>) -> Res<Vector> {
        let per = usize::from(width) + usize::from(elem.is_none());
        let bytes = len
            .checked_mul(per)
            .ok_or_else(|| self.out_of_bounds(u64::MAX, pos))?;
        self.range(pos, bytes)?;
        Ok(Vector {
            pos: pos as u32,
            len: len as u32,
            width,
            elem,
        })
    }

    /// Element `i` of a validated vector.
    #[inline(always)]
    pub(crate) fn element(&self, v: &Vector, i: usize) -> Res<Slot> {
        let w = usize::from(v.width);
        let pos = (v.pos as usize).saturating_add(i.saturating_mul(w));
        match v.elem {
            Some(ty) => Ok(Slot {
                pos,
                width: v.width,
                ty,
                child: v.width,
            }),
            None => {
                let types = (v.pos as usize).saturating_add((v.len as usize).saturating_mul(w));
                let at = types.saturating_add(i);
                let packed = *self
                    .buf
                    .get(at)
                    .ok_or_else(|| self.out_of_bounds(at as u64 + 1, at))?;
                self.slot(pos, v.width, packed)
            }
        }
    }

    /// A map, with its keys vector checked to be as long as its values and to fit.
    #[inline]
    pub(crate) fn map(&self, s: Slot, expected: &'static str) -> Res<Map> {
        let values = self.map_values(s, expected)?;
        let (keys, keys_width) = self.map_keys(&values)?;
        let len = values.len as usize;
        let keys_len = self.length_before(keys, keys_width)?;
        if keys_len != len {
            return Err(err(
                DecodeErrorKind::KeysMismatch {
                    keys: keys_len as u64,
                    values: len as u64,
                },
                values.pos as usize,
            ));
        }
        let keys_vec = self.vector_at(keys, len, keys_width, Some(FlexType::Key))?;
        Ok(Map {
            values,
            keys_pos: keys_vec.pos,
            keys_width,
        })
    }

    /// The values vector of a map, without looking at its keys (for views of maps the
    /// parse validated; [`Reader::map_keys`] finds the keys when needed).
    #[inline]
    pub(crate) fn map_values(&self, s: Slot, expected: &'static str) -> Res<Vector> {
        if s.ty != FlexType::Map {
            return Err(wrong_type(expected, s));
        }
        let t = self.deref(s.pos, s.width)?;
        let len = self.length_before(t, s.child)?;
        self.vector_at(t, len, s.child, None)
    }

    /// Position and element width of the keys vector of the map whose values are `values`.
    #[inline]
    pub(crate) fn map_keys(&self, values: &Vector) -> Res<(usize, u8)> {
        let t = values.pos as usize;
        let w = values.width;
        let wu = usize::from(w);
        let prefix = t
            .checked_sub(3 * wu)
            .ok_or_else(|| err(DecodeErrorKind::BadOffset { offset: t as u64 }, t))?;
        let keys_width = self.uint_at(prefix + wu, w)?;
        let keys_width = match keys_width {
            1 | 2 | 4 | 8 => keys_width as u8,
            _ => {
                return Err(err(
                    DecodeErrorKind::BadWidth { width: keys_width },
                    prefix + wu,
                ))
            }
        };
        Ok((self.deref(prefix, w)?, keys_width))
    }

    /// The first bytes (up to [`KEY_PREFIX`], fewer at the end of the input) of key `i` of a
    /// keys vector at `keys_pos` with elements of `keys_width` bytes, and the key's position.
    #[inline]
    pub(crate) fn key_prefix(
        &self,
        keys_pos: usize,
        keys_width: u8,
        i: usize,
    ) -> Res<(usize, &'a [u8])> {
        let slot = keys_pos.saturating_add(i.saturating_mul(usize::from(keys_width)));
        let t = self.deref(slot, keys_width)?;
        let end = t.saturating_add(KEY_PREFIX).min(self.buf.len());
        Ok((t, self.buf.get(t..end).unwrap_or_default()))
    }
}

/// The error for a slot of the wrong type.
#[cold]
pub(crate) fn wrong_type(expected: &'static str, s: Slot) -> DecodeError {
    err(
        DecodeErrorKind::WrongType {
            expected,
            found: s.ty.name(),
        },
        s.pos,
    )
}

/// The name in a key prefix: the bytes before its NUL, or `None` when no NUL lies within
/// the prefix (a key too long to be any field's, or unterminated).
#[inline]
pub(crate) fn key_name(prefix: &[u8]) -> Option<&[u8]> {
    let n = prefix.iter().position(|&b| b == 0)?;
    prefix.get(..n)
}
