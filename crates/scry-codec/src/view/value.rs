//! [`RowView`] and [`ValueView`]: a row's values, read in place.

use std::borrow::Cow;

use scry_types::{ColumnValue, Row, TypeTag};

use crate::flex::{FlexType, Slot, Vector};
use crate::view::ctx::{CopySink, Sink};
use crate::view::fields::{TYPE_TAGS, VALUE};
use crate::view::{Ctx, ViewIter};

const DATA: usize = 0;
const TYPE_OID: usize = 1;
const TYPE_TAG: usize = 2;

/// A row (`new_row` or `old_row`) of a validated event.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    ctx: Ctx<'a>,
    values: Vector,
}

/// The values of a row, in column order.
pub type Values<'a> = ViewIter<'a, ValueView<'a>>;

impl<'a> RowView<'a> {
    pub(crate) fn new(ctx: Ctx<'a>, values: Vector) -> Self {
        Self { ctx, values }
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len as usize
    }

    /// True when the row has no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.len == 0
    }

    /// The values, in column order.
    #[must_use]
    pub fn values(&self) -> Values<'a> {
        ViewIter::new(self.ctx, self.values, ValueView::from_slot)
    }

    /// Value `i`, if the row has that many.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<ValueView<'a>> {
        if i >= self.len() {
            return None;
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
    map: Vector,
}

impl<'a> ValueView<'a> {
    fn from_slot(ctx: Ctx<'a>, s: Option<Slot>) -> Self {
        let map = ctx.map(s);
        Self { ctx, map }
    }

    #[inline]
    fn field(&self, id: usize) -> Option<Slot> {
        self.ctx.field(&self.map, self.ctx.canon.values, VALUE, id)
    }

    /// The type tag.
    #[must_use]
    pub fn type_tag(&self) -> TypeTag {
        self.ctx.enumeration(
            self.field(TYPE_TAG),
            &TYPE_TAGS,
            TypeTag::ALL,
            TypeTag::from_byte,
            TypeTag::Null,
        )
    }

    /// The PostgreSQL type OID.
    #[must_use]
    pub fn type_oid(&self) -> u32 {
        u32::try_from(self.ctx.int(self.field(TYPE_OID))).unwrap_or(0)
    }

    /// True when the value has data (even empty data).
    #[must_use]
    pub fn has_data(&self) -> bool {
        self.field(DATA).is_some_and(|s| s.ty != FlexType::Null)
    }

    /// True when this is NULL: no data and tag [`TypeTag::Null`] (as [`ColumnValue::is_null`]).
    #[must_use]
    pub fn is_null(&self) -> bool {
        !self.has_data() && self.type_tag() == TypeTag::Null
    }

    /// True when this is the unchanged-TOAST marker (as [`ColumnValue::is_unchanged`]).
    #[must_use]
    pub fn is_unchanged(&self) -> bool {
        self.type_tag() == TypeTag::ToastUnchanged
    }

    /// The value's bytes: borrowed from the input wherever they lie there contiguously
    /// (compact blobs; compat vectors of up to 255 bytes, whose elements are single bytes),
    /// copied out of the compat encoding's 2- or 4-byte slots otherwise (256 bytes or more).
    #[must_use]
    pub fn data(&self) -> Option<Cow<'a, [u8]>> {
        self.ctx.data_cow(self.ctx.data_ref(self.field(DATA)))
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
            data: sink.bytes(&self.ctx, self.ctx.data_ref(self.field(DATA))),
        }
    }
}
