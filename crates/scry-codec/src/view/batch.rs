//! [`BatchView`]: a validated batch, read in place.

use scry_types::{BackfillMetadata, ControlDirective, DatabaseEventBatch};

use crate::view::ctx::{CopySink, Sink};
use crate::view::parse::{validate, BatchRec, EventRec, PackedEvent, Record, ValueAt};
use crate::view::{
    Ctx, EventView, RelationView, Relations, SequenceValueView, SequenceValues, ViewIter,
};
use crate::{DecodeError, Encoding, ReadOptions};

/// A batch validated in one pass ([`BatchView::parse`]) and then read in place: every
/// accessor is O(1), cannot fail, and allocates nothing. Parsing allocates a bounded number
/// of times, however many events the batch holds: the table of where each event's fields
/// are, and the buffers of the event template (see the README) with the table of where the
/// values of the events it validated lie.
///
/// ```
/// use scry_codec::{serialize_batch, BatchView};
/// use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row, TypeTag};
///
/// let mut event = DatabaseEvent::new(OperationType::Insert, "public", "users");
/// event.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 7])]));
/// let bytes = serialize_batch(&DatabaseEventBatch::with_events(vec![event]))?;
///
/// let view = BatchView::parse(&bytes)?;
/// let event = view.events().next().unwrap();
/// assert_eq!(event.table(), "users");
/// let value = event.new_row().unwrap().values().next().unwrap();
/// assert_eq!(value.type_tag(), TypeTag::Int32);
/// assert_eq!(value.data().as_deref(), Some(&[0u8, 0, 0, 7][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchView<'a> {
    ctx: Ctx<'a>,
    rec: BatchRec,
    encoding: Encoding,
}

/// The events of a batch, in order.
#[derive(Debug, Clone)]
pub struct Events<'v> {
    ctx: Ctx<'v>,
    recs: std::slice::Iter<'v, EventRec>,
    layouts: &'v [ValueAt],
    /// The events of a compact batch (then `recs` is empty, and otherwise this).
    packed: std::slice::Iter<'v, PackedEvent>,
}

impl<'v> Events<'v> {
    #[inline(always)]
    fn flex(&self, r: Option<&EventRec>) -> Option<EventView<'v>> {
        r.map(|r| EventView::in_batch(self.ctx, *r, self.layouts))
    }

    #[inline(always)]
    fn packed(&self, p: Option<&PackedEvent>) -> Option<EventView<'v>> {
        p.map(|p| EventView::packed(self.ctx, *p))
    }
}

impl<'v> Iterator for Events<'v> {
    type Item = EventView<'v>;

    #[inline]
    fn next(&mut self) -> Option<EventView<'v>> {
        if self.recs.len() == 0 {
            let p = self.packed.next();
            return self.packed(p);
        }
        let r = self.recs.next();
        self.flex(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.recs.len() + self.packed.len();
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<EventView<'v>> {
        if self.recs.len() == 0 {
            let p = self.packed.nth(n);
            return self.packed(p);
        }
        let r = self.recs.nth(n);
        self.flex(r)
    }
}

impl DoubleEndedIterator for Events<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.recs.len() == 0 {
            let p = self.packed.next_back();
            return self.packed(p);
        }
        let r = self.recs.next_back();
        self.flex(r)
    }
}

impl ExactSizeIterator for Events<'_> {}

impl std::iter::FusedIterator for Events<'_> {}

impl<'a> BatchView<'a> {
    /// Validates `data` as a batch with the default [`ReadOptions`].
    pub fn parse(data: &'a [u8]) -> Result<Self, DecodeError> {
        Self::parse_with(data, &ReadOptions::DEFAULT)
    }

    /// Validates `data` as a batch with these limits.
    pub fn parse_with(data: &'a [u8], options: &ReadOptions) -> Result<Self, DecodeError> {
        Self::parse_inner(data, options, false).map(|(view, _)| view)
    }

    /// Validates `data` as a batch, also recording every event's column names and values
    /// (for the owned readers).
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
        let (rec, ctx, record) = validate(data, options, record, |p| p.batch())?;
        let encoding = if rec.compact {
            Encoding::Compact
        } else {
            Encoding::Compat
        };
        Ok((Self { ctx, rec, encoding }, record))
    }

    /// The encoding the batch was written in: `Compact` when its root map says so (its
    /// `compact` key holds the layout version), otherwise `Compat`.
    #[must_use]
    #[inline]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The events, in order.
    #[must_use]
    #[inline]
    pub fn events(&self) -> Events<'_> {
        Events {
            ctx: self.ctx,
            recs: self.rec.events.iter(),
            layouts: &self.rec.layouts,
            packed: self.rec.packed.iter(),
        }
    }

    /// Event `i`, if the batch has that many.
    #[must_use]
    #[inline]
    pub fn event(&self, i: usize) -> Option<EventView<'_>> {
        if let Some(p) = self.rec.packed.get(i) {
            return Some(EventView::packed(self.ctx, *p));
        }
        self.rec
            .events
            .get(i)
            .map(|r| EventView::in_batch(self.ctx, *r, &self.rec.layouts))
    }

    /// The number of events.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.rec.events.len() + self.rec.packed.len()
    }

    /// True when the batch has no events.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source ID, if set.
    #[must_use]
    #[inline]
    pub fn source_id(&self) -> Option<&'a str> {
        self.rec.source_id.map(|s| self.ctx.str_ref(s))
    }

    /// The batch sequence number.
    #[must_use]
    #[inline]
    pub fn batch_seq(&self) -> u64 {
        self.rec.batch_seq
    }

    /// The batch's relation metadata.
    #[must_use]
    #[inline]
    pub fn relations(&self) -> Relations<'a> {
        ViewIter::new(self.ctx, self.rec.relations, RelationView::from_slot)
    }

    /// The control directive, if this is a control batch.
    #[must_use]
    #[inline]
    pub fn control_directive(&self) -> Option<ControlDirective> {
        self.rec.control_directive
    }

    /// The sequence values, if the batch carries them (`Some` of an empty iterator when it
    /// carries an empty list).
    #[must_use]
    #[inline]
    pub fn sequence_values(&self) -> Option<SequenceValues<'a>> {
        self.rec
            .sequence_values
            .map(|v| ViewIter::new(self.ctx, v, SequenceValueView::from_slot))
    }

    /// The backfill metadata, if any.
    #[must_use]
    #[inline]
    pub fn backfill_metadata(&self) -> Option<BackfillMetadata> {
        self.rec.backfill_metadata
    }

    /// The owned batch (strings and value bytes copied).
    #[must_use]
    pub fn to_owned(&self) -> DatabaseEventBatch {
        self.owned_with(&CopySink)
    }

    /// The total length of every value's bytes.
    pub(crate) fn data_bytes(&self) -> usize {
        self.rec.data_bytes
    }

    /// The owned batch, built from what a recording parse kept.
    pub(crate) fn owned_from_record(
        &self,
        record: &Record,
        sink: &impl Sink,
    ) -> DatabaseEventBatch {
        if !self.rec.packed.is_empty() {
            // Compact events are read straight from the views: nothing was recorded.
            return self.owned_with(sink);
        }
        DatabaseEventBatch {
            events: self
                .events()
                .enumerate()
                .map(|(i, e)| {
                    let firsts = record.firsts.get(i).copied().unwrap_or_default();
                    e.owned_from_firsts(record, firsts, sink)
                })
                .collect(),
            ..self.owned_without_events()
        }
    }

    fn owned_without_events(&self) -> DatabaseEventBatch {
        DatabaseEventBatch {
            events: Vec::new(),
            source_id: self.source_id().map(str::to_owned),
            batch_seq: self.batch_seq(),
            relations: self.relations().map(|r| r.to_owned_relation()).collect(),
            control_directive: self.control_directive(),
            sequence_values: self
                .sequence_values()
                .map(|s| s.map(|v| v.to_owned_sequence()).collect()),
            backfill_metadata: self.backfill_metadata(),
        }
    }

    pub(crate) fn owned_with(&self, sink: &impl Sink) -> DatabaseEventBatch {
        DatabaseEventBatch {
            events: self.events().map(|e| e.owned_with(sink)).collect(),
            ..self.owned_without_events()
        }
    }
}

impl From<&BatchView<'_>> for DatabaseEventBatch {
    fn from(view: &BatchView<'_>) -> Self {
        view.to_owned()
    }
}

impl From<BatchView<'_>> for DatabaseEventBatch {
    fn from(view: BatchView<'_>) -> Self {
        view.to_owned()
    }
}
