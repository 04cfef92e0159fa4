//! Objects no writer ever shares: each lies wholly after the previous one of its kind.
//!
//! Every writer (the serde path 0.1.1 uses, our Compat and Compact writers, the flexbuffers
//! `Builder`) writes a FlexBuffer children first and in the order it serializes fields, and
//! writes every map and vector afresh: only keys, keys vectors and (Compact, `Builder` with
//! sharing) strings are ever shared. It serializes an event's `new_row` before its
//! `old_row`, a batch's `events` before its `relations`, and the elements of a vector in
//! order, which is the order the validating pass reads them in (maps keep their keys
//! sorted, and `new_row` sorts before `old_row`, `events` before `relations`). So within a
//! batch (or bare event) the rows, the column values, the events' column name lists, the
//! relations, the relations' columns and the sequence values each come one after the other:
//! every one starts at or after the byte where the previous one of its kind ends.
//!
//! Holding the input to that makes every such object visited at most once and their bytes
//! disjoint, so how many there are (and what the owned copy allocates for them) is bounded
//! by the input's length: one row or value can no longer stand for many.

use crate::flex::{Map, Vector};
use crate::{DecodeError, DecodeErrorKind};

use super::{Parser, Res};

/// The kinds of object checked to lie one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// Event maps (checked by the events vector, reported as `SharedEvent`).
    Event,
    /// `new_row` / `old_row` maps.
    Row,
    /// Column value maps (in rows).
    Value,
    /// Events' `columns` vectors.
    Columns,
    /// Relation maps (events' `relation_meta`, then the batch's `relations`).
    Relation,
    /// Column maps (in relations).
    Column,
    /// Sequence value maps.
    Sequence,
}

pub(crate) const KINDS: usize = 7;

impl Fresh {
    /// Every kind, in discriminant order.
    pub(crate) const ALL: [Self; KINDS] = [
        Self::Event,
        Self::Row,
        Self::Value,
        Self::Columns,
        Self::Relation,
        Self::Column,
        Self::Sequence,
    ];

    /// What the object is, for errors.
    const fn what(self) -> &'static str {
        match self {
            Self::Event => "event map",
            Self::Row => "row map",
            Self::Value => "column value map",
            Self::Columns => "column name list",
            Self::Relation => "relation map",
            Self::Column => "column map",
            Self::Sequence => "sequence value map",
        }
    }
}

/// Where the last object of each kind lay: the position of its first value and the end of
/// its bytes (0 before the first one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Order {
    last: [(u32, u32); KINDS],
}

/// The bytes of a map whose `len` values of `w` bytes start at `pos`: its 3-slot prefix
/// (keys offset, keys width, length), its values and their type bytes.
#[inline(always)]
pub(crate) fn map_span(pos: usize, len: usize, w: usize) -> (usize, usize) {
    (
        pos.saturating_sub(3 * w),
        pos.saturating_add(len.saturating_mul(w + 1)),
    )
}

/// The bytes of an untyped vector whose `len` elements of `w` bytes start at `pos`: its
/// length, its elements and their type bytes.
#[inline(always)]
pub(crate) fn vector_span(pos: usize, len: usize, w: usize) -> (usize, usize) {
    (
        pos.saturating_sub(w),
        pos.saturating_add(len.saturating_mul(w + 1)),
    )
}

impl Order {
    /// Records an object of `kind` whose bytes are `start..end` and whose first value is at
    /// `pos`; `Err` with the previous one's position if it starts before the previous one
    /// ends.
    #[inline(always)]
    pub(crate) fn follow(
        &mut self,
        kind: Fresh,
        pos: usize,
        (start, end): (usize, usize),
    ) -> Result<(), usize> {
        let Some(last) = self.last.get_mut(kind as usize) else {
            return Ok(());
        };
        if start < last.1 as usize {
            return Err(last.0 as usize);
        }
        // Positions fit: inputs are shorter than 4 GiB and these bytes lie inside the input.
        *last = (pos as u32, end as u32);
        Ok(())
    }

    /// Whether an object of `kind` whose bytes start at `start` lies after the last one.
    #[inline(always)]
    pub(crate) fn may_follow(&self, kind: Fresh, start: usize) -> bool {
        self.last
            .get(kind as usize)
            .is_some_and(|last| start >= last.1 as usize)
    }

    /// Records the object of `kind` at `pos` whose bytes end at `end` as the last one (for
    /// objects already known to lie in order, after [`Order::may_follow`]).
    #[inline(always)]
    pub(crate) fn set_last(&mut self, kind: Fresh, pos: usize, end: usize) {
        if let Some(last) = self.last.get_mut(kind as usize) {
            *last = (pos as u32, end as u32);
        }
    }

    /// Records a map whose `len` values of `w` bytes start at `pos` (see [`Order::follow`]).
    #[inline(always)]
    pub(crate) fn map_at(
        &mut self,
        kind: Fresh,
        pos: usize,
        len: usize,
        w: usize,
    ) -> Result<(), usize> {
        self.follow(kind, pos, map_span(pos, len, w))
    }

    /// Records an untyped vector whose `len` elements of `w` bytes start at `pos`.
    #[inline(always)]
    pub(crate) fn vector_at(
        &mut self,
        kind: Fresh,
        pos: usize,
        len: usize,
        w: usize,
    ) -> Result<(), usize> {
        self.follow(kind, pos, vector_span(pos, len, w))
    }
}

/// The error for an object of `kind` at `target` that does not lie after the previous one.
#[cold]
pub(crate) fn shared(kind: Fresh, target: usize, previous: usize) -> DecodeError {
    DecodeError::new(
        DecodeErrorKind::SharedObject {
            what: kind.what(),
            target,
            previous,
        },
        target,
    )
}

impl Parser<'_, '_> {
    /// Checks that the map `m` of `kind` lies after the previous one, and records it.
    #[inline]
    pub(super) fn fresh_map(&mut self, kind: Fresh, m: &Map) -> Res<()> {
        let (pos, len, w) = (
            m.values.pos as usize,
            m.values.len as usize,
            usize::from(m.values.width),
        );
        self.order
            .map_at(kind, pos, len, w)
            .map_err(|previous| shared(kind, pos, previous))
    }

    /// Checks that the vector `v` of `kind` lies after the previous one, and records it.
    #[inline]
    pub(super) fn fresh_vector(&mut self, kind: Fresh, v: &Vector) -> Res<()> {
        let (pos, len, w) = (v.pos as usize, v.len as usize, usize::from(v.width));
        let result = match v.elem {
            None => self.order.vector_at(kind, pos, len, w),
            // A typed vector: no type bytes (a fixed-length one has no length either; a
            // writer never writes strings in one, and the elements fail as strings).
            Some(_) => self.order.follow(
                kind,
                pos,
                (
                    pos.saturating_sub(w),
                    pos.saturating_add(len.saturating_mul(w)),
                ),
            ),
        };
        result.map_err(|previous| shared(kind, pos, previous))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_object_must_start_where_the_previous_one_of_its_kind_ends() {
        let mut o = Order::default();
        // A map of 3 one-byte values at 10: bytes 7..16.
        assert_eq!(o.map_at(Fresh::Value, 10, 3, 1), Ok(()));
        // The next may start right at 16 (values at 19), not at 15.
        let mut early = o;
        assert_eq!(early.map_at(Fresh::Value, 18, 3, 1), Err(10));
        assert_eq!(o.map_at(Fresh::Value, 19, 3, 1), Ok(()));
        // The same map again is the shared case.
        assert_eq!(o.map_at(Fresh::Value, 19, 3, 1), Err(19));
        // Kinds are independent: a row may lie anywhere before its values' end.
        assert_eq!(o.map_at(Fresh::Row, 4, 1, 1), Ok(()));
        // An empty vector still takes its length byte: two cannot share one address.
        assert_eq!(o.vector_at(Fresh::Columns, 30, 0, 1), Ok(()));
        assert_eq!(o.vector_at(Fresh::Columns, 30, 0, 1), Err(30));
        assert_eq!(o.vector_at(Fresh::Columns, 31, 0, 1), Ok(()));
        // Two-byte slots: a map of 2 values at 40 is 34..46.
        assert_eq!(o.map_at(Fresh::Sequence, 40, 2, 2), Ok(()));
        assert_eq!(o.map_at(Fresh::Sequence, 51, 1, 2), Err(40));
        assert_eq!(o.map_at(Fresh::Sequence, 52, 1, 2), Ok(()));
    }

    #[test]
    fn errors_name_the_kind_and_both_positions() {
        let e = shared(Fresh::Row, 120, 130);
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::SharedObject {
                what: "row map",
                target: 120,
                previous: 130
            }
        );
        assert_eq!(e.offset(), 120);
        assert_eq!(
            e.kind().to_string(),
            "row map at byte 120 does not lie after the previous row map (byte 130)"
        );
    }
}
