//! [`RowView`] and [`ValueView`]: a row's values, read in place.

use std::borrow::Cow;

use scry_types::{ColumnValue, Row, TypeTag};

use crate::compact::{LEN_NULL, LEN_UNCHANGED};
use crate::flex::{fast, FlexType, Slot, Vector};
use crate::schema::COLUMN_VALUE;
use crate::view::ctx::{CopySink, DataRef, Sink};
use crate::view::fields::TYPE_TAGS;
use crate::view::parse::{field_len, slot, slot_at, Known, PackedRow, ValueAt};
use crate::view::Ctx;

const DATA: usize = 0;
const TYPE_OID: usize = 1;
const TYPE_TAG: usize = 2;

/// A row (`new_row` or `old_row`) of a validated event.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    ctx: Ctx<'a>,
    values: Vector,
    /// Where each value lies, when a template validated the event: the row's entries of the
    /// batch's layout table and the event map's position they are relative to.
    layout: Option<(&'a [ValueAt], u32)>,
    /// The row, when the event is compact (then `values` is empty and `layout` `None`).
    packed: Option<PackedRow>,
}

/// The values of a row, in column order. Knows its exact length.
///
/// Its own iterator (not a [`ViewIter`](crate::view::ViewIter)) so that each step reads the
/// value's header directly, without a call through a function pointer.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    ctx: Ctx<'a>,
    cur: Cursor<'a>,
}

/// Where a [`Values`] iterator is, for each way a row can lie.
#[derive(Debug, Clone)]
enum Cursor<'a> {
    /// Laid out by a template (see `RowView::layout`): the entries still to visit, and the
    /// event map's position they are relative to.
    Laid(std::slice::Iter<'a, ValueAt>, u32),
    /// A values vector, between `front` and `back`.
    Vector { v: Vector, front: u32, back: u32 },
    /// A compact row: where value `front`'s field starts (its values lie one after another,
    /// so stepping back or skipping walks forward from here), and `back`, the end.
    Packed {
        row: PackedRow,
        at: u32,
        front: u32,
        back: u32,
    },
}

/// Value `i` of the values vector `v`.
#[inline(always)]
fn vector_at<'a>(ctx: Ctx<'a>, v: &Vector, i: u32) -> ValueView<'a> {
    let b = ctx.r.buf();
    let (len, w, i) = (v.len as usize, usize::from(v.width), i as usize);
    if v.elem.is_none() {
        let pos = v.pos as usize + i * w;
        let direct = b.get(v.pos as usize + len * w + i).and_then(|&packed| {
            if !fast::is(packed, FlexType::Map) {
                return None;
            }
            let slot = Slot {
                pos,
                width: v.width,
                ty: FlexType::Map,
                child: 1 << (packed & 3),
            };
            fast::map_values(b, slot)
        });
        if let Some(map) = direct {
            return ValueView {
                ctx,
                at: At::Map(map),
            };
        }
    }
    ValueView::from_slot(ctx, ctx.r.element(v, i).ok())
}

/// The compact value whose field starts at `at` (value `i` of `row`), and where the next
/// value's field starts.
#[inline(always)]
fn packed_at(ctx: Ctx<'_>, row: PackedRow, at: u32, i: u32) -> (ValueView<'_>, u32) {
    let len = field_len(ctx.r.buf(), at as usize);
    let view = ValueView {
        ctx,
        at: At::Packed {
            slot: slot_at(row, i),
            field: at,
        },
    };
    (view, at + 4 + len.max(0) as u32)
}

impl<'a> Iterator for Values<'a> {
    type Item = ValueView<'a>;

    #[inline]
    fn next(&mut self) -> Option<ValueView<'a>> {
        let ctx = self.ctx;
        match &mut self.cur {
            Cursor::Laid(it, t) => it.next().map(|v| ValueView::laid(ctx, v, *t)),
            Cursor::Vector { v, front, back } => {
                if *front >= *back {
                    return None;
                }
                *front += 1;
                Some(vector_at(ctx, v, *front - 1))
            }
            Cursor::Packed {
                row,
                at,
                front,
                back,
            } => {
                if *front >= *back {
                    return None;
                }
                let (value, next) = packed_at(ctx, *row, *at, *front);
                *at = next;
                *front += 1;
                Some(value)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.cur {
            Cursor::Laid(it, _) => it.len(),
            Cursor::Vector { front, back, .. } | Cursor::Packed { front, back, .. } => {
                (back - front) as usize
            }
        };
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<ValueView<'a>> {
        let skip = u32::try_from(n).unwrap_or(u32::MAX);
        match &mut self.cur {
            Cursor::Laid(it, t) => {
                let t = *t;
                return it.nth(n).map(|v| ValueView::laid(self.ctx, v, t));
            }
            Cursor::Vector { front, back, .. } => *front = front.saturating_add(skip).min(*back),
            Cursor::Packed { .. } => {
                for _ in 0..n {
                    self.next()?;
                }
            }
        }
        self.next()
    }
}

impl DoubleEndedIterator for Values<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let ctx = self.ctx;
        match &mut self.cur {
            Cursor::Laid(it, t) => it.next_back().map(|v| ValueView::laid(ctx, v, *t)),
            Cursor::Vector { v, front, back } => {
                if *front >= *back {
                    return None;
                }
                *back -= 1;
                Some(vector_at(ctx, v, *back))
            }
            Cursor::Packed { front, back, .. } if *front >= *back => None,
            Cursor::Packed { front, back, .. } => {
                // Walk a copy forward to the last value left.
                let skip = (*back - *front - 1) as usize;
                *back -= 1;
                let mut walk = self.clone();
                if let Cursor::Packed { back, .. } = &mut walk.cur {
                    *back += 1;
                }
                walk.nth(skip)
            }
        }
    }
}

impl ExactSizeIterator for Values<'_> {}

impl std::iter::FusedIterator for Values<'_> {}

impl<'a> RowView<'a> {
    #[inline]
    pub(crate) fn new(ctx: Ctx<'a>, values: Vector, layout: Option<(&'a [ValueAt], u32)>) -> Self {
        Self {
            ctx,
            values,
            layout,
            packed: None,
        }
    }

    /// A compact row.
    #[inline]
    pub(crate) fn packed(ctx: Ctx<'a>, row: PackedRow) -> Self {
        Self {
            ctx,
            values: crate::view::ctx::EMPTY,
            layout: None,
            packed: Some(row),
        }
    }

    /// The number of values.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        match self.packed {
            Some(row) => row.n as usize,
            None => self.values.len as usize,
        }
    }

    /// True when the row has no values.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, in column order.
    #[must_use]
    #[inline]
    pub fn values(&self) -> Values<'a> {
        let back = self.len() as u32;
        let cur = match (self.packed, self.layout) {
            (Some(row), _) => Cursor::Packed {
                row,
                at: row.fields,
                front: 0,
                back,
            },
            (None, Some((at, t))) => Cursor::Laid(at.iter(), t),
            (None, None) => Cursor::Vector {
                v: self.values,
                front: 0,
                back,
            },
        };
        Values { ctx: self.ctx, cur }
    }

    /// Value `i`, if the row has that many. O(1) in the compat encoding; in the compact one
    /// a row's values lie one after another, so this walks past the `i` before it.
    #[must_use]
    #[inline]
    pub fn get(&self, i: usize) -> Option<ValueView<'a>> {
        if i >= self.len() {
            return None;
        }
        if self.packed.is_some() {
            return self.values().nth(i);
        }
        if let Some((at, t)) = self.layout {
            return at.get(i).map(|v| ValueView::laid(self.ctx, v, t));
        }
        Some(ValueView::from_slot(
            self.ctx,
            self.ctx.r.element(&self.values, i).ok(),
        ))
    }

    /// The owned row (value bytes copied).
    #[must_use]
    pub fn to_owned_row(&self) -> Row {
        self.owned_with(&CopySink)
    }

    pub(crate) fn owned_with(&self, sink: &impl Sink) -> Row {
        Row::new(self.values().map(|v| v.owned_with(sink)).collect())
    }
}

/// One column value of a validated row.
#[derive(Debug, Clone, Copy)]
pub struct ValueView<'a> {
    ctx: Ctx<'a>,
    at: At<'a>,
}

/// Where a value lies.
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    /// Its map (values vector), read from the wire.
    Map(Vector),
    /// Laid out by a template (see `ValueAt`) in the event whose map is at the `u32`: its
    /// map and data are found from there when asked for, so iterating costs no more.
    Laid(&'a ValueAt, u32),
    /// A compact value: where its slot (tag and OID) and its field (length, then data) lie.
    Packed { slot: u32, field: u32 },
}

impl<'a> ValueView<'a> {
    /// The value laid out at `v` in the event whose map is at `t`.
    #[inline(always)]
    fn laid(ctx: Ctx<'a>, v: &'a ValueAt, t: u32) -> Self {
        Self {
            ctx,
            at: At::Laid(v, t),
        }
    }

    #[inline]
    fn from_slot(ctx: Ctx<'a>, s: Option<Slot>) -> Self {
        let map = s
            .and_then(|s| fast::map_values(ctx.r.buf(), s))
            .unwrap_or_else(|| ctx.map(s));
        Self {
            ctx,
            at: At::Map(map),
        }
    }

    /// The value's map (its values vector).
    #[inline(always)]
    fn map(&self) -> Vector {
        match self.at {
            At::Map(map) => map,
            At::Laid(v, t) => v.map(t),
            At::Packed { .. } => crate::view::ctx::EMPTY,
        }
    }

    /// Where its data lies, as far as the parse knows.
    #[inline(always)]
    fn known(&self) -> Known {
        match self.at {
            At::Map(_) => Known::No,
            At::Laid(v, t) => v.known(t),
            At::Packed { field, .. } => match field_len(self.ctx.r.buf(), field as usize) {
                len if len >= 0 => Known::At(field + 4, len as u32),
                _ => Known::Absent,
            },
        }
    }

    #[inline]
    fn field(&self, id: usize) -> Option<Slot> {
        self.ctx
            .field(&self.map(), self.ctx.canon.values, &COLUMN_VALUE, id)
    }

    /// Position and packed type of field `id`: by index when the batch's value maps are
    /// canonical, else by searching the keys.
    #[inline(always)]
    fn entry(&self, id: usize) -> Option<(usize, u8)> {
        if self.ctx.canon.values {
            let m = &self.map();
            let (len, w) = (m.len as usize, usize::from(m.width));
            let i = id.checked_sub(COLUMN_VALUE.len().checked_sub(len)?)?;
            if i >= len {
                return None;
            }
            let packed = *self.ctx.r.buf().get(m.pos as usize + len * w + i)?;
            Some((m.pos as usize + i * w, packed))
        } else {
            let s = self.field(id)?;
            Some((s.pos, ((s.ty as u8) << 2) | s.child.trailing_zeros() as u8))
        }
    }

    /// The type tag.
    #[must_use]
    #[inline]
    pub fn type_tag(&self) -> TypeTag {
        if let At::Packed { slot: at, field } = self.at {
            return match field_len(self.ctx.r.buf(), field as usize) {
                LEN_NULL => TypeTag::Null,
                LEN_UNCHANGED => TypeTag::ToastUnchanged,
                _ => slot(self.ctx.r.buf(), at).0,
            };
        }
        let b = self.ctx.r.buf();
        let w = usize::from(self.map().width);
        let fast = self.entry(TYPE_TAG).and_then(|(p, packed)| {
            if fast::is(packed, FlexType::String) {
                let t = fast::deref(b, p, w)?;
                let cw = fast::width(packed);
                let len = usize::try_from(fast::rd(b, t.checked_sub(cw)?, cw)?).ok()?;
                TypeTag::ALL.get(TYPE_TAGS.find_at(b, t, len)?).copied()
            } else {
                None
            }
        });
        fast.unwrap_or_else(|| {
            self.ctx.enumeration(
                self.field(TYPE_TAG),
                &TYPE_TAGS,
                TypeTag::ALL,
                TypeTag::Null,
            )
        })
    }

    /// The PostgreSQL type OID.
    #[must_use]
    #[inline]
    pub fn type_oid(&self) -> u32 {
        if let At::Packed { slot: at, field } = self.at {
            let b = self.ctx.r.buf();
            return match field_len(b, field as usize) {
                LEN_NULL => 0,
                _ => slot(b, at).1,
            };
        }
        let fast = self.entry(TYPE_OID).and_then(|(p, packed)| {
            if fast::is(packed, FlexType::UInt) {
                let w = usize::from(self.map().width);
                u32::try_from(fast::rd(self.ctx.r.buf(), p, w)?).ok()
            } else {
                None
            }
        });
        fast.unwrap_or_else(|| u32::try_from(self.ctx.int(self.field(TYPE_OID))).unwrap_or(0))
    }

    /// Where the data lies.
    #[inline(always)]
    fn data_ref(&self) -> DataRef {
        match self.known() {
            Known::No => {}
            Known::Absent => return DataRef::Absent,
            Known::At(pos, len) => {
                return DataRef::Contiguous {
                    pos: pos as usize,
                    len: len as usize,
                }
            }
        }
        let map = self.map();
        if self.ctx.canon.values && map.len == 3 && map.width <= 2 {
            let found = window_data_ref(self.ctx.r.buf(), map.pos as usize, usize::from(map.width));
            if let Some(d) = found {
                return d;
            }
        }
        match self.entry(DATA) {
            None => DataRef::Absent,
            Some((p, packed)) => fast_data_ref(self.ctx.r.buf(), p, map.width, packed)
                .unwrap_or_else(|| self.ctx.data_ref(self.field(DATA))),
        }
    }

    /// True when the value has data (even empty data).
    #[must_use]
    #[inline]
    pub fn has_data(&self) -> bool {
        if let At::Packed { field, .. } = self.at {
            return field_len(self.ctx.r.buf(), field as usize) >= 0;
        }
        self.entry(DATA)
            .is_some_and(|(_, packed)| !fast::is(packed, FlexType::Null))
    }

    /// True when this is NULL: no data and tag [`TypeTag::Null`] (as [`ColumnValue::is_null`]).
    #[must_use]
    #[inline]
    pub fn is_null(&self) -> bool {
        !self.has_data() && self.type_tag() == TypeTag::Null
    }

    /// True when this is the unchanged-TOAST marker (as [`ColumnValue::is_unchanged`]).
    #[must_use]
    #[inline]
    pub fn is_unchanged(&self) -> bool {
        self.type_tag() == TypeTag::ToastUnchanged
    }

    /// The value's bytes: borrowed from the input wherever they lie there contiguously
    /// (compact fields; compat vectors of up to 255 bytes, whose elements are single bytes),
    /// copied out of the compat encoding's 2- or 4-byte slots otherwise (256 bytes or more).
    #[must_use]
    #[inline]
    pub fn data(&self) -> Option<Cow<'a, [u8]>> {
        if let Known::At(pos, len) = self.known() {
            let (pos, len) = (pos as usize, len as usize);
            let bytes = self.ctx.r.buf().get(pos..pos + len).unwrap_or_default();
            return Some(Cow::Borrowed(bytes));
        }
        Self::data_read(*self)
    }

    /// [`data`](Self::data) when the parse did not find it: read from the wire. Out of line
    /// and taking the view by value, so that iterating laid-out values keeps their views in
    /// registers.
    #[cold]
    #[inline(never)]
    fn data_read(self) -> Option<Cow<'a, [u8]>> {
        self.ctx.data_cow(self.data_ref())
    }

    /// The owned value (bytes copied).
    #[must_use]
    pub fn to_owned_value(&self) -> ColumnValue {
        self.owned_with(&CopySink)
    }

    pub(crate) fn owned_with(&self, sink: &impl Sink) -> ColumnValue {
        ColumnValue {
            type_tag: self.type_tag(),
            type_oid: self.type_oid(),
            data: sink.bytes(&self.ctx, self.data_ref()),
        }
    }
}

/// Where the bytes of a canonical three-field value map's `data` lie, when the map's slots
/// are `w` (1 or 2) bytes wide and its data is a byte vector (what compat writes for values
/// of up to 255 bytes): the map's length, slots and type bytes are read as one
/// 16-byte window. `None` for anything else (then [`fast_data_ref`] decides).
#[inline(always)]
fn window_data_ref(b: &[u8], t: usize, w: usize) -> Option<DataRef> {
    let start = t.checked_sub(w)?;
    let bytes: [u8; 16] = b.get(start..start.checked_add(16)?)?.try_into().ok()?;
    let win = u128::from_le_bytes(bytes);
    let mask = if w == 1 { 0xFF } else { 0xFFFF };
    let off = (win >> (8 * w)) as usize & mask;
    let packed = (win >> (8 * 4 * w)) as u8;
    // A `VectorUInt` of 1-byte elements.
    if packed != (FlexType::VectorUInt as u8) << 2 {
        return None;
    }
    if off == 0 || off > t {
        return None;
    }
    let d = t - off;
    let len = usize::from(*b.get(d.checked_sub(1)?)?);
    if d.checked_add(len)? > b.len() {
        return None;
    }
    Some(DataRef::Contiguous { pos: d, len })
}

/// Where the bytes of the `data` slot at `p` (in a map of `w`-byte slots) lie, for the
/// shapes the parse accepted; `None` for anything else (then the general reader decides).
#[inline(always)]
fn fast_data_ref(b: &[u8], p: usize, w: u8, packed: u8) -> Option<DataRef> {
    let w = usize::from(w);
    let cw = fast::width(packed);
    let ty = FlexType::from_u8(packed >> 2)?;
    let fixed = match ty {
        FlexType::Null => return Some(DataRef::Absent),
        FlexType::VectorUInt2 => Some(2),
        FlexType::VectorUInt3 => Some(3),
        FlexType::VectorUInt4 => Some(4),
        FlexType::VectorUInt | FlexType::Vector => None,
        _ => return None,
    };
    let t = fast::deref(b, p, w)?;
    let len = match fixed {
        Some(n) => n,
        None => usize::try_from(fast::rd(b, t.checked_sub(cw)?, cw)?).ok()?,
    };
    let vector = |elem| Vector {
        pos: t as u32,
        len: len as u32,
        width: cw as u8,
        elem,
    };
    Some(match ty {
        FlexType::Vector if len == 0 => DataRef::Contiguous { pos: 0, len: 0 },
        FlexType::Vector => DataRef::Elements(vector(None)),
        _ if cw == 1 => DataRef::Contiguous { pos: t, len },
        _ => DataRef::Wide(vector(Some(FlexType::UInt))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{serialize_batch_with, BatchView, Encoding};
    use scry_testkit::workloads;

    /// For batches of alike events in both encodings, every value read through the layout
    /// table (the events a template validated) equals the same value read from the wire.
    #[test]
    fn values_through_the_layout_table_equal_the_wire() {
        for batch in [workloads::small_rows(300), workloads::large_rows(20)] {
            // Templates lay out compat events only.
            for encoding in [Encoding::Compat] {
                let bytes = serialize_batch_with(&batch, encoding).unwrap();
                let view = BatchView::parse(&bytes).unwrap();
                let mut laid = 0;
                for e in view.events() {
                    for row in [e.new_row(), e.old_row()].into_iter().flatten() {
                        let plain = RowView::new(row.ctx, row.values, None);
                        laid += usize::from(row.layout.is_some());
                        assert_eq!(row.values().len(), plain.len());
                        // Backwards and by skipping, too.
                        let back: Vec<_> = row.values().rev().map(|v| v.map()).collect();
                        let plain_back: Vec<_> = plain.values().rev().map(|v| v.map()).collect();
                        assert_eq!(back, plain_back);
                        for n in 0..=plain.len() {
                            let a = row.values().nth(n).map(|v| v.data());
                            assert_eq!(a, plain.values().nth(n).map(|v| v.data()));
                        }
                        for (i, (a, b)) in row.values().zip(plain.values()).enumerate() {
                            assert_eq!(a.map(), b.map());
                            assert_eq!(a.data(), b.data());
                            assert_eq!(a.type_tag(), b.type_tag());
                            assert_eq!(a.type_oid(), b.type_oid());
                            assert_eq!(a.is_null(), b.is_null());
                            assert_eq!(row.get(i).unwrap().data(), b.data());
                            assert_eq!(row.get(i).unwrap().map(), b.map());
                        }
                    }
                }
                let n = batch.events.len();
                let wide = encoding == Encoding::Compat && n == 20;
                if wide {
                    // Compat stores 4 KiB values in 2-byte elements: not laid out.
                    assert_eq!(laid, 0);
                } else {
                    assert!(laid + 8 >= n, "{encoding:?}: {laid} of {n} rows laid out");
                }
            }
        }
    }
}
