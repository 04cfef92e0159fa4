//! [`EventView`]: one event, read in place.

use scry_types::{ColumnValue, DatabaseEvent, OperationType, Row};

use crate::flex::Slot;
use crate::flex::Vector;
use crate::view::ctx::{CopySink, Sink};
use crate::view::parse::{validate, EventRec, Firsts, PackedEvent, Record, ValueAt};
use crate::view::{Ctx, RelationView, RowView, ViewIter};
use crate::{DecodeError, ReadOptions};

/// One event of a validated batch, or a validated bare event ([`EventView::parse`]).
/// Every accessor is O(1) (string accessors check UTF-8 again, in their length) and
/// allocation-free.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    ctx: Ctx<'a>,
    rec: Rec<'a>,
}

/// What the validating pass found for an event, in either encoding.
#[derive(Debug, Clone, Copy)]
enum Rec<'a> {
    /// A compat map, with the batch's layout table (see `ValueAt`; empty for a bare event).
    Flex(EventRec, &'a [ValueAt]),
    /// A compact event.
    Packed(PackedEvent),
}

/// The field `$f` of whichever record the view holds.
macro_rules! either {
    ($self:ident . $f:ident) => {
        match &$self.rec {
            Rec::Flex(r, _) => r.$f,
            Rec::Packed(p) => p.$f,
        }
    };
}

/// The column names of an event.
pub type Columns<'a> = ViewIter<'a, &'a str>;

impl<'a> EventView<'a> {
    /// An event of a batch whose layout table is `layouts`.
    #[inline]
    pub(crate) fn in_batch(ctx: Ctx<'a>, rec: EventRec, layouts: &'a [ValueAt]) -> Self {
        Self {
            ctx,
            rec: Rec::Flex(rec, layouts),
        }
    }

    /// A compact event of a batch.
    #[inline]
    pub(crate) fn packed(ctx: Ctx<'a>, rec: PackedEvent) -> Self {
        Self {
            ctx,
            rec: Rec::Packed(rec),
        }
    }

    /// Validates `data` as one bare event (what `serialize_event` writes) with the default
    /// [`ReadOptions`].
    pub fn parse(data: &'a [u8]) -> Result<Self, DecodeError> {
        Self::parse_with(data, &ReadOptions::DEFAULT)
    }

    /// Validates `data` as one bare event with these limits.
    pub fn parse_with(data: &'a [u8], options: &ReadOptions) -> Result<Self, DecodeError> {
        Self::parse_inner(data, options, false).map(|(view, _)| view)
    }

    /// Validates `data` as one bare event, also recording its column names and values.
    pub(crate) fn parse_recorded(
        data: &'a [u8],
        options: &ReadOptions,
    ) -> Result<(Self, Record), DecodeError> {
        Self::parse_inner(data, options, true)
    }

    fn parse_inner(
        data: &'a [u8],
        options: &ReadOptions,
        record: bool,
    ) -> Result<(Self, Record), DecodeError> {
        let (rec, ctx, record) = validate(data, options, record, |p| {
            Ok(match p.bare_compact_event()? {
                Some(packed) => Rec::Packed(packed),
                None => Rec::Flex(p.bare_event()?, &[]),
            })
        })?;
        Ok((Self { ctx, rec }, record))
    }

    /// What the event does.
    #[must_use]
    #[inline]
    pub fn operation(&self) -> OperationType {
        either!(self.operation)
    }

    /// The replication position (LSN).
    #[must_use]
    #[inline]
    pub fn position(&self) -> u64 {
        either!(self.position)
    }

    /// The transaction ID.
    #[must_use]
    #[inline]
    pub fn transaction_id(&self) -> u64 {
        either!(self.transaction_id)
    }

    /// Event time, microseconds since the Unix epoch.
    #[must_use]
    #[inline]
    pub fn timestamp_us(&self) -> u64 {
        either!(self.timestamp_us)
    }

    /// The event ID, if set.
    #[must_use]
    #[inline]
    pub fn event_id(&self) -> Option<&'a str> {
        either!(self.event_id).map(|s| self.ctx.str_ref(s))
    }

    /// Schema name.
    #[must_use]
    #[inline]
    pub fn schema(&self) -> &'a str {
        self.ctx.str_ref(either!(self.schema))
    }

    /// Table name.
    #[must_use]
    #[inline]
    pub fn table(&self) -> &'a str {
        self.ctx.str_ref(either!(self.table))
    }

    /// Column names, in the order of the rows' values.
    #[must_use]
    #[inline]
    pub fn columns(&self) -> Columns<'a> {
        match &self.rec {
            Rec::Flex(r, _) => ViewIter::new(self.ctx, r.columns, column_name),
            Rec::Packed(p) => ViewIter::names(self.ctx, p.columns),
        }
    }

    /// The new row.
    #[must_use]
    #[inline]
    pub fn new_row(&self) -> Option<RowView<'a>> {
        match &self.rec {
            Rec::Flex(r, layouts) => {
                let first = r.layout.map(|l| (l.first, l.t.get()));
                r.new_row
                    .map(|v| RowView::new(self.ctx, v, row_layout(layouts, first, v)))
            }
            Rec::Packed(p) => p.new_row.map(|row| RowView::packed(self.ctx, row)),
        }
    }

    /// The old row (or its key).
    #[must_use]
    #[inline]
    pub fn old_row(&self) -> Option<RowView<'a>> {
        match &self.rec {
            Rec::Flex(r, layouts) => {
                let new_len = r.new_row.map_or(0, |v| v.len);
                let first = r
                    .layout
                    .map(|l| (l.first.saturating_add(new_len), l.t.get()));
                r.old_row
                    .map(|v| RowView::new(self.ctx, v, row_layout(layouts, first, v)))
            }
            Rec::Packed(p) => p.old_row.map(|row| RowView::packed(self.ctx, row)),
        }
    }

    /// Relation metadata, if the event carries it.
    #[must_use]
    #[inline]
    pub fn relation_meta(&self) -> Option<RelationView<'a>> {
        either!(self.relation_meta).map(|m| RelationView::new(self.ctx, m))
    }

    /// The DDL statement, if any.
    #[must_use]
    #[inline]
    pub fn ddl_sql(&self) -> Option<&'a str> {
        either!(self.ddl_sql).map(|s| self.ctx.str_ref(s))
    }

    /// The DDL object type, if any.
    #[must_use]
    #[inline]
    pub fn ddl_object_type(&self) -> Option<&'a str> {
        either!(self.ddl_object_type).map(|s| self.ctx.str_ref(s))
    }

    /// The owned event (strings and value bytes copied).
    #[must_use]
    pub fn to_owned_event(&self) -> DatabaseEvent {
        self.owned_with(&CopySink)
    }

    /// The owned bare event, built from what a recording parse kept (column names and
    /// values) instead of reading them again.
    pub(crate) fn owned_from_record(&self, record: &Record, sink: &impl Sink) -> DatabaseEvent {
        let f = record.firsts.first().copied().unwrap_or_default();
        self.owned_from_firsts(record, f, sink)
    }

    /// The owned event, built from what a recording parse kept, its column names and
    /// values starting at `f` in the record.
    pub(crate) fn owned_from_firsts(
        &self,
        record: &Record,
        f: Firsts,
        sink: &impl Sink,
    ) -> DatabaseEvent {
        let Rec::Flex(rec, _) = &self.rec else {
            return self.owned_with(sink);
        };
        let row = |vector: Option<Vector>, first: u32| -> Option<Option<Row>> {
            let Some(v) = vector else {
                return Some(None);
            };
            let first = first as usize;
            let recs = record
                .values
                .get(first..first.checked_add(v.len as usize)?)?;
            Some(Some(Row::new(
                recs.iter()
                    .map(|x| ColumnValue {
                        type_tag: x.tag,
                        type_oid: x.oid,
                        data: sink.bytes(&self.ctx, x.data),
                    })
                    .collect(),
            )))
        };
        let first = f.columns as usize;
        let names = first
            .checked_add(rec.columns.len as usize)
            .and_then(|end| record.columns.get(first..end));
        let (Some(names), Some(new_row), Some(old_row)) = (
            names,
            row(rec.new_row, f.new_row),
            row(rec.old_row, f.old_row),
        ) else {
            // Never: the record holds exactly what the parse validated.
            return self.owned_with(sink);
        };
        DatabaseEvent {
            event_id: self.event_id().map(str::to_owned),
            timestamp_us: self.timestamp_us(),
            operation: self.operation(),
            schema: self.schema().to_owned(),
            table: self.table().to_owned(),
            position: self.position(),
            transaction_id: self.transaction_id(),
            new_row,
            old_row,
            columns: names
                .iter()
                .map(|s| self.ctx.str_ref(*s).to_owned())
                .collect(),
            relation_meta: self.relation_meta().map(|r| r.to_owned_relation()),
            ddl_sql: self.ddl_sql().map(str::to_owned),
            ddl_object_type: self.ddl_object_type().map(str::to_owned),
        }
    }

    pub(crate) fn owned_with(&self, sink: &impl Sink) -> DatabaseEvent {
        DatabaseEvent {
            event_id: self.event_id().map(str::to_owned),
            timestamp_us: self.timestamp_us(),
            operation: self.operation(),
            schema: self.schema().to_owned(),
            table: self.table().to_owned(),
            position: self.position(),
            transaction_id: self.transaction_id(),
            new_row: self.new_row().map(|r| r.owned_with(sink)),
            old_row: self.old_row().map(|r| r.owned_with(sink)),
            columns: self.columns().map(str::to_owned).collect(),
            relation_meta: self.relation_meta().map(|r| r.to_owned_relation()),
            ddl_sql: self.ddl_sql().map(str::to_owned),
            ddl_object_type: self.ddl_object_type().map(str::to_owned),
        }
    }
}

fn column_name<'a>(ctx: Ctx<'a>, s: Option<Slot>) -> &'a str {
    ctx.str_slot(s)
}

/// The entries of `layouts` for the row `values` whose first entry is `first` (and the
/// position of the event's map they are relative to).
#[inline]
fn row_layout(
    layouts: &[ValueAt],
    first: Option<(u32, u32)>,
    values: Vector,
) -> Option<(&[ValueAt], u32)> {
    let (first, t) = first?;
    let end = first.checked_add(values.len)?;
    Some((layouts.get(first as usize..end as usize)?, t))
}
