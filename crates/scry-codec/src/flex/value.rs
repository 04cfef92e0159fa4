//! FlexBuffers type codes, bit widths and [`Val`], a value waiting to be stored in its parent.
//!
//! A FlexBuffers vector or map stores every element in a slot of one width (1, 2, 4 or 8
//! bytes), the smallest that holds every element: inline scalars by their own size, references
//! by the backward offset from the slot to the referred data. Widths here are log2 of the byte
//! count (`0` = 1 byte ... `3` = 8 bytes), the same numbers the packed type byte carries.

/// FlexBuffers type codes (the high six bits of a packed type byte).
pub(crate) mod ty {
    pub(crate) const NULL: u8 = 0;
    pub(crate) const INT: u8 = 1;
    pub(crate) const UINT: u8 = 2;
    pub(crate) const STRING: u8 = 5;
    pub(crate) const MAP: u8 = 9;
    pub(crate) const VECTOR: u8 = 10;
    pub(crate) const VECTOR_UINT: u8 = 12;
    pub(crate) const VECTOR_KEY: u8 = 14;
    pub(crate) const VECTOR_UINT2: u8 = 17;
    pub(crate) const VECTOR_UINT3: u8 = 20;
    pub(crate) const VECTOR_UINT4: u8 = 23;
    pub(crate) const BLOB: u8 = 25;
    pub(crate) const BOOL: u8 = 26;
}

/// The width (log2 of bytes) an unsigned value needs.
#[inline]
pub(crate) const fn uwidth(x: u64) -> u8 {
    if x <= u8::MAX as u64 {
        0
    } else if x <= u16::MAX as u64 {
        1
    } else if x <= u32::MAX as u64 {
        2
    } else {
        3
    }
}

/// The width (log2 of bytes) a signed value needs.
#[inline]
pub(crate) const fn iwidth(x: i64) -> u8 {
    if x >= i8::MIN as i64 && x <= i8::MAX as i64 {
        0
    } else if x >= i16::MIN as i64 && x <= i16::MAX as i64 {
        1
    } else if x >= i32::MIN as i64 && x <= i32::MAX as i64 {
        2
    } else {
        3
    }
}

/// The width a count or length needs (`usize` always fits in `u64` on supported targets).
#[inline]
pub(crate) const fn lwidth(n: usize) -> u8 {
    uwidth(n as u64)
}

/// `x` rounded up to a multiple of `1 << w`.
#[inline]
pub(crate) const fn align_up(x: usize, w: u8) -> usize {
    let mask = (1usize << w) - 1;
    (x + mask) & !mask
}

/// The smallest width at which a slot for a reference to `addr` can be stored, when the slot
/// is element `idx` (counting the prefix) of a vector whose data starts at `start` after
/// alignment to that width. The offset grows with the width, so the first width that holds
/// its own offset is the one every FlexBuffers builder picks.
#[inline]
pub(crate) fn ref_width(addr: usize, start: usize, idx: usize) -> u8 {
    // Offsets only grow with the width, so the first width whose offset fits is the answer.
    let fits = |w: u8| {
        let at = align_up(start, w) + (idx << w);
        at.wrapping_sub(addr) as u64 <= LIMIT[w as usize]
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

/// The largest unsigned value of each width.
pub(crate) const LIMIT: [u64; 4] = [u8::MAX as u64, u16::MAX as u64, u32::MAX as u64, u64::MAX];

/// A value as its parent vector or map stores it: an inline scalar or a reference to data
/// already written at an address (relative to the start of the FlexBuffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Val {
    /// The scalar's bits (two's complement for `Int`), or the referred address.
    pub(crate) bits: u64,
    /// The FlexBuffers type code.
    pub(crate) ty: u8,
    /// Inline: the width the scalar needs. Reference: the width of the referred data's slots.
    pub(crate) w: u8,
    /// True for the types stored in the slot itself (null, integers, booleans).
    inline: bool,
}

impl Val {
    /// A null.
    pub(crate) const NULL: Val = Val {
        bits: 0,
        ty: ty::NULL,
        w: 0,
        inline: true,
    };

    /// An unsigned integer.
    #[inline]
    pub(crate) const fn uint(x: u64) -> Val {
        Val {
            bits: x,
            ty: ty::UINT,
            w: uwidth(x),
            inline: true,
        }
    }

    /// A signed integer.
    #[inline]
    pub(crate) const fn int(x: i64) -> Val {
        Val {
            bits: x as u64,
            ty: ty::INT,
            w: iwidth(x),
            inline: true,
        }
    }

    /// A boolean.
    #[inline]
    pub(crate) const fn boolean(b: bool) -> Val {
        Val {
            bits: b as u64,
            ty: ty::BOOL,
            w: 0,
            inline: true,
        }
    }

    /// A reference of type `ty` (not an inline type) to data at `addr` whose slots are `w`
    /// wide.
    #[inline]
    pub(crate) const fn reference(ty: u8, addr: usize, w: u8) -> Val {
        Val {
            bits: addr as u64,
            ty,
            w,
            inline: false,
        }
    }

    /// True for the types stored in the slot itself (null, integers, booleans).
    #[inline]
    pub(crate) const fn is_inline(self) -> bool {
        self.inline
    }

    /// The referred address (meaningful for references only).
    #[inline]
    pub(crate) const fn addr(self) -> usize {
        self.bits as usize
    }

    /// The width this value needs as element `idx` of a vector starting at `start`.
    #[inline]
    pub(crate) fn width_at(self, start: usize, idx: usize) -> u8 {
        if self.is_inline() {
            self.w
        } else {
            ref_width(self.addr(), start, idx)
        }
    }

    /// The slot's content when written at address `at`: the scalar, or the backward offset.
    #[inline]
    pub(crate) const fn slot_bits(self, at: usize) -> u64 {
        if self.is_inline() {
            self.bits
        } else {
            at.wrapping_sub(self.addr()) as u64
        }
    }

    /// The packed type byte of this value inside a parent whose slots are `parent_w` wide.
    #[inline]
    pub(crate) const fn packed_type(self, parent_w: u8) -> u8 {
        let w = if self.is_inline() && parent_w > self.w {
            parent_w
        } else {
            self.w
        };
        (self.ty << 2) | w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_of_integers() {
        assert_eq!(
            [
                0,
                255,
                256,
                65_535,
                65_536,
                u32::MAX as u64,
                u32::MAX as u64 + 1
            ]
            .map(uwidth),
            [0, 0, 1, 1, 2, 2, 3]
        );
        assert_eq!(
            [
                0,
                -128,
                127,
                128,
                -129,
                32_767,
                -32_769,
                i32::MIN as i64,
                i64::MIN
            ]
            .map(iwidth),
            [0, 0, 0, 1, 1, 1, 2, 2, 3]
        );
    }

    #[test]
    fn reference_width_accounts_for_alignment_and_index() {
        // 255 bytes back at 1-byte slots fits; one more needs 2-byte slots.
        assert_eq!(ref_width(0, 255, 0), 0);
        assert_eq!(ref_width(0, 255, 1), 1);
        // At 2 bytes, 65,533 aligns to 65,534 and index 1 lands at 65,536.
        assert_eq!(ref_width(0, 65_532, 1), 1);
        assert_eq!(ref_width(0, 65_533, 1), 2);
    }

    #[test]
    fn packed_types() {
        assert_eq!(Val::uint(300).packed_type(0), (ty::UINT << 2) | 1);
        assert_eq!(Val::uint(3).packed_type(3), (ty::UINT << 2) | 3);
        assert_eq!(Val::NULL.packed_type(2), 2);
        assert_eq!(Val::boolean(true).packed_type(1), (ty::BOOL << 2) | 1);
        assert_eq!(
            Val::reference(ty::MAP, 10, 1).packed_type(3),
            (ty::MAP << 2) | 1
        );
        assert_eq!(Val::int(-1).slot_bits(99), u64::MAX);
        assert_eq!(Val::reference(ty::STRING, 10, 0).slot_bits(14), 4);
    }
}
