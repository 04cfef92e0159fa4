//! The one validating pass over a batch or event: checks every field once and records where
//! each event's fields are, so the views can then read them without failing.
//!
//! The schema is fixed (batch → events → event → row → values → value → data, and the
//! relation / sequence / backfill side branches), so there is one function per level and no
//! recursion. Every map entry, vector element, string byte and value byte visited is charged
//! to a work budget proportional to the input's length. Events, rows, values, column lists,
//! relations, columns and sequences must each lie after the previous one of their kind
//! (`order`): no writer shares them, so each is read at most once and what the record and
//! the owned copy hold for them is bounded by the input's length. Strings and value data,
//! which may be shared, are charged their length per reference.

use scry_types::{BackfillMetadata, ControlDirective, OperationType, ReplicaIdentity, TypeTag};
use std::num::NonZeroU32;

mod compact;
mod fast;

use crate::compact::EVENTS_KEY;
mod template;

pub(crate) use compact::{
    column, field_len, inline_column, slot, slot_at, ColumnRun, PackedEvent, PackedRow,
};

pub(crate) use template::{Known, Layout, ValueAt};
mod order;

use order::{Fresh, Order};

use crate::flex::{wrong_type, FlexType, Map, Reader, Res, Slot, Vector};
use crate::schema::Field;
use crate::schema::{kind, COLUMN_META, RELATION, SEQUENCE, TABLES};
use crate::view::ctx::{Ctx, DataRef};
use crate::view::fields::{
    find_field, KeyCache, NameIndex, CONTROL_DIRECTIVES, OPERATIONS, REPLICA_IDENTITIES, TYPE_TAGS,
};
use crate::{DecodeError, DecodeErrorKind, Limit, ReadOptions};

/// Where a string the validating pass checked lies in the input.
///
/// Invariant (relied on by `Ctx::str_ref` to skip a second UTF-8 check): only the validating
/// pass makes these — the fields are private to this module and its `fast` child — and only
/// after checking that the `len` bytes at `pos` lie inside the input and are valid UTF-8.
///
/// A string's bytes follow its length, so they never start at byte 0: `pos` is non-zero,
/// which lets an `Option<StrRef>` take 8 bytes (an event record holds three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StrRef {
    pos: NonZeroU32,
    len: u32,
}

impl StrRef {
    /// The string of `len` bytes at `pos`, which its length prefix precedes (`None` for 0).
    #[inline(always)]
    fn new(pos: usize, len: usize) -> Option<Self> {
        Some(Self {
            pos: NonZeroU32::new(pos as u32)?,
            len: len as u32,
        })
    }

    /// Where the string starts and how many bytes it has.
    #[inline]
    pub(crate) fn span(self) -> (usize, usize) {
        (self.pos.get() as usize, self.len as usize)
    }
}

/// Everything an `EventView` needs, found by the validating pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventRec {
    pub operation: OperationType,
    pub timestamp_us: u64,
    pub position: u64,
    pub transaction_id: u64,
    pub event_id: Option<StrRef>,
    pub schema: StrRef,
    pub table: StrRef,
    pub columns: Vector,
    /// The row's `values` vector.
    pub new_row: Option<Vector>,
    /// The row's `values` vector.
    pub old_row: Option<Vector>,
    pub relation_meta: Option<Vector>,
    pub ddl_sql: Option<StrRef>,
    pub ddl_object_type: Option<StrRef>,
    /// Where its values lie, when a template validated it (see [`ValueAt`]).
    pub layout: Option<Layout>,
}

/// Indices of an event's first recorded column name, new-row value and old-row value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Firsts {
    pub columns: u32,
    pub new_row: u32,
    pub old_row: u32,
}

/// A value as the validating pass found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueRec {
    pub tag: TypeTag,
    pub oid: u32,
    pub data: DataRef,
}

/// What a recording pass (for the owned readers) keeps, in the order it validated them:
/// every event's column names and row values, so the owned copy need not read them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub columns: Vec<StrRef>,
    pub values: Vec<ValueRec>,
    /// For each event, in order: where its column names and row values start in `columns`
    /// and `values`.
    pub firsts: Vec<Firsts>,
}

impl Firsts {
    /// The same, with 0 for a row the event does not have (whether its field was left out
    /// or null), so that equal events have equal `Firsts` however they were validated.
    pub(super) fn settled(self, new_row: bool, old_row: bool) -> Self {
        Self {
            columns: self.columns,
            new_row: if new_row { self.new_row } else { 0 },
            old_row: if old_row { self.old_row } else { 0 },
        }
    }
}

impl Record {
    fn lens(&self) -> (usize, usize) {
        (self.columns.len(), self.values.len())
    }

    fn truncate(&mut self, (columns, values): (usize, usize)) {
        self.columns.truncate(columns);
        self.values.truncate(values);
    }
}

/// Everything a `BatchView` needs, found by the validating pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchRec {
    pub events: Vec<EventRec>,
    pub source_id: Option<StrRef>,
    pub batch_seq: u64,
    pub relations: Vector,
    pub control_directive: Option<ControlDirective>,
    pub sequence_values: Option<Vector>,
    pub backfill_metadata: Option<BackfillMetadata>,
    /// The total length of every value's data (what an owned copy needs).
    pub data_bytes: usize,
    /// Where the values of the events with a `layout` lie.
    pub layouts: Vec<ValueAt>,
    /// Whether the batch is in the compact encoding.
    pub compact: bool,
    /// The events of a compact batch (then `events` is empty).
    pub packed: Vec<PackedEvent>,
}

/// Whether every map of a struct kind has exactly the canonical keys in sorted order (for
/// `ColumnValue`: with or without the leading `data`). Then accessors index slots directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Canon {
    pub values: bool,
    pub relations: bool,
    pub columns: bool,
    pub sequences: bool,
}

impl Default for Canon {
    fn default() -> Self {
        Self {
            values: true,
            relations: true,
            columns: true,
            sequences: true,
        }
    }
}

/// The key caches the fast path reads, by struct.
const K_EVENT: usize = kind::EVENT as usize;
const K_ROW: usize = kind::ROW as usize;
const K_VALUE: usize = kind::COLUMN_VALUE as usize;

/// One validating pass over `data`: `root` reads the root (the pass recording every event's
/// column names and values when `record`, for the owned readers), and the views get the
/// pass's context. Errors come out with their paths finished.
pub(crate) fn validate<'a, T>(
    data: &'a [u8],
    options: &ReadOptions,
    record: bool,
    root: impl FnOnce(&mut Parser<'a, '_>) -> Res<T>,
) -> Result<(T, Ctx<'a>, Record), DecodeError> {
    let mut p = Parser::new(data, options).map_err(DecodeError::finish)?;
    if record {
        p.record = Some(Record::default());
    }
    let t = root(&mut p).map_err(DecodeError::finish)?;
    let ctx = Ctx {
        r: p.r,
        canon: p.canon,
    };
    Ok((t, ctx, p.record.unwrap_or_default()))
}

/// The state of one validating pass.
pub(crate) struct Parser<'a, 'o> {
    pub r: Reader<'a>,
    o: &'o ReadOptions,
    work: u64,
    budget: u64,
    keys: [KeyCache; kind::COUNT],
    pub canon: Canon,
    /// Whether events may take the fast path (tests turn it off to compare).
    use_fast: bool,
    /// How many events the fast path took.
    fast_hits: usize,
    /// The total length of all values' data seen so far.
    data_bytes: usize,
    /// What a recording pass keeps (`None`: the pass records nothing).
    pub record: Option<Record>,
    /// Whether events may be validated against the template (tests turn it off).
    use_template: bool,
    /// How many events the template validated.
    template_hits: usize,
    /// How many events in a row the template did not validate.
    template_misses: u32,
    /// Traces the fast path for the next template.
    tracer: template::Tracer,
    /// The last traced event, which later ones are compared with.
    template: template::Template,
    /// Where the values of the events templates validated lie (see [`ValueAt`]).
    layouts: Vec<ValueAt>,
    /// The column names and values of an event being replayed.
    scratch: (Vec<StrRef>, Vec<ValueRec>),
    /// The map of the event before the one being validated, in a batch.
    previous_event: Option<usize>,
    /// Where the last row, value, column list, relation, column and sequence lay.
    order: Order,
}

/// What a map's keys were: the fields seen and whether they are canonical.
struct Seen {
    mask: u32,
    canonical: bool,
}

/// The packed type byte of a slot (type and child width), as the fast path reads it.
#[inline(always)]
fn packed(s: Slot) -> u8 {
    ((s.ty as u8) << 2) | s.child.trailing_zeros() as u8
}

/// The byte width of a vector's elements.
#[inline(always)]
fn w_of(v: &Vector) -> usize {
    usize::from(v.width)
}

#[cold]
fn missing(field: &'static str, at: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::MissingField { field }, at)
}

#[cold]
fn out_of_range(value: i128, target: &'static str, at: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::OutOfRange { value, target }, at)
}

fn require<T>(v: Option<T>, field: &'static str, at: usize) -> Res<T> {
    v.ok_or_else(|| missing(field, at))
}

impl<'a, 'o> Parser<'a, 'o> {
    /// A pass over `buf`, after checking its size.
    pub(crate) fn new(buf: &'a [u8], o: &'o ReadOptions) -> Res<Self> {
        let max = o.max_input_bytes.min(u32::MAX as usize);
        if buf.len() > max {
            return Err(DecodeError::new(
                DecodeErrorKind::LimitExceeded {
                    limit: Limit::InputBytes,
                    max: max as u64,
                    actual: buf.len() as u64,
                },
                0,
            ));
        }
        Ok(Self {
            r: Reader::new(buf),
            o,
            work: 0,
            budget: o
                .work_per_input_byte
                .saturating_mul(buf.len() as u64)
                .saturating_add(4096),
            keys: Default::default(),
            canon: Canon::default(),
            use_fast: true,
            fast_hits: 0,
            data_bytes: 0,
            record: None,
            use_template: true,
            template_hits: 0,
            template_misses: 0,
            tracer: template::Tracer::default(),
            template: template::Template::default(),
            layouts: Vec::new(),
            scratch: (Vec::new(), Vec::new()),
            previous_event: None,
            order: Order::default(),
        })
    }

    #[inline]
    fn charge(&mut self, units: usize, at: usize) -> Res<()> {
        self.work = self.work.saturating_add(units as u64);
        if self.work > self.budget {
            return Err(DecodeError::new(
                DecodeErrorKind::WorkBudgetExceeded {
                    budget: self.budget,
                },
                at,
            ));
        }
        Ok(())
    }

    #[inline]
    fn limit(limit: Limit, max: usize, actual: usize, at: usize) -> Res<()> {
        if actual > max {
            return Err(DecodeError::new(
                DecodeErrorKind::LimitExceeded {
                    limit,
                    max: max as u64,
                    actual: actual as u64,
                },
                at,
            ));
        }
        Ok(())
    }

    /// Visits every known field of `m`, a map of the struct numbered `kind`, once,
    /// rejecting duplicates.
    #[inline]
    fn fields<F>(&mut self, m: &Map, kind: u8, mut f: F) -> Res<Seen>
    where
        F: FnMut(&mut Self, usize, Slot) -> Res<()>,
    {
        let names: &'static [Field] = TABLES.get(usize::from(kind)).copied().unwrap_or(&[]);
        let len = m.len();
        self.charge(len, m.values.pos as usize)?;
        let first = names.len().checked_sub(len);
        let mut canonical = first.is_some();
        let mut mask = 0u32;
        for i in 0..len {
            let r = self.r;
            let id = match self.keys.get_mut(usize::from(kind)) {
                Some(cache) => cache.field(&r, m, i, names)?,
                None => None,
            };
            let Some(id) = id else {
                canonical = false;
                continue;
            };
            let name = names.get(id).map_or("?", |f| f.name());
            if Some(id) != first.map(|f| f + i) {
                canonical = false;
            }
            let bit = 1u32 << id;
            let slot = r.element(&m.values, i)?;
            if mask & bit != 0 {
                return Err(DecodeError::new(
                    DecodeErrorKind::DuplicateField { field: name },
                    slot.pos,
                ));
            }
            mask |= bit;
            f(self, id, slot).map_err(|e| e.in_field(name))?;
        }
        Ok(Seen { mask, canonical })
    }

    fn integer(&self, s: Slot) -> Res<i128> {
        self.r.integer(s, "an integer")
    }

    fn u64(&self, s: Slot) -> Res<u64> {
        let v = self.integer(s)?;
        u64::try_from(v).map_err(|_| out_of_range(v, "u64", s.pos))
    }

    fn u32(&self, s: Slot) -> Res<u32> {
        let v = self.integer(s)?;
        u32::try_from(v).map_err(|_| out_of_range(v, "u32", s.pos))
    }

    fn i64(&self, s: Slot) -> Res<i64> {
        let v = self.integer(s)?;
        i64::try_from(v).map_err(|_| out_of_range(v, "i64", s.pos))
    }

    fn i32(&self, s: Slot) -> Res<i32> {
        let v = self.integer(s)?;
        i32::try_from(v).map_err(|_| out_of_range(v, "i32", s.pos))
    }

    /// A String (or Key): within the string limit, charged, valid UTF-8.
    fn string(&mut self, s: Slot) -> Res<StrRef> {
        let (pos, len) = self.r.string(s)?;
        Self::limit(Limit::StringBytes, self.o.max_string_bytes, len, pos)?;
        self.charge(len, pos)?;
        let bytes = self.r.range(pos, len)?;
        if let Err(e) = check_utf8(bytes) {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidUtf8 {
                    valid_up_to: e.valid_up_to(),
                },
                pos,
            ));
        }
        // `Reader::string` read the length before `pos`, so `pos` is not 0.
        StrRef::new(pos, len)
            .ok_or_else(|| DecodeError::new(DecodeErrorKind::BadOffset { offset: 0 }, s.pos))
    }

    /// `None` for a Null, else `f`.
    #[inline]
    fn opt<T>(&mut self, s: Slot, f: impl FnOnce(&mut Self, Slot) -> Res<T>) -> Res<Option<T>> {
        if s.ty == FlexType::Null {
            Ok(None)
        } else {
            f(self, s).map(Some)
        }
    }

    /// An enum, stored as its variant's name.
    fn enumeration<E: Copy, const N: usize>(
        &mut self,
        s: Slot,
        names: &NameIndex<N>,
        all: &[E],
        enum_name: &'static str,
    ) -> Res<E> {
        if !matches!(s.ty, FlexType::String | FlexType::Key) {
            return Err(wrong_type("a String (variant name)", s));
        }
        let (pos, len) = self.r.string(s)?;
        self.charge(len, pos)?;
        let bytes = self.r.range(pos, len)?;
        names
            .find_at(self.r.buf(), pos, len)
            .and_then(|i| all.get(i).copied())
            .ok_or_else(|| {
                DecodeError::new(
                    DecodeErrorKind::InvalidEnumName {
                        enum_name,
                        name: String::from_utf8_lossy(bytes).into_owned(),
                    },
                    pos,
                )
            })
    }

    /// A vector of `limit`-bounded length whose elements `f` validates.
    fn each<F>(
        &mut self,
        s: Slot,
        expected: &'static str,
        limit: Limit,
        max: usize,
        mut f: F,
    ) -> Res<Vector>
    where
        F: FnMut(&mut Self, Slot) -> Res<()>,
    {
        let v = self.r.vector(s, expected)?;
        let len = v.len as usize;
        Self::limit(limit, max, len, v.pos as usize)?;
        self.charge(len, v.pos as usize)?;
        for i in 0..len {
            let e = self.r.element(&v, i).map_err(|e| e.at_index(i))?;
            f(self, e).map_err(|e| e.at_index(i))?;
        }
        Ok(v)
    }

    /// The root batch.
    pub(crate) fn batch(&mut self) -> Res<BatchRec> {
        let root = self.r.root()?;
        let m = self.r.map(root, "a batch map")?;
        let compact = self.is_compact_root(&m);
        let mut events_blob = None;
        let mut events = None;
        let mut source_id = None;
        let mut batch_seq = None;
        let mut relations = None;
        let mut control_directive = None;
        let mut sequence_values = None;
        let mut backfill_metadata = None;
        self.fields(&m, kind::BATCH, |p, id, v| {
            match id {
                0 => backfill_metadata = p.opt(v, Self::backfill)?,
                1 => batch_seq = Some(p.u64(v)?),
                2 => {
                    control_directive = p.opt(v, |p, v| {
                        p.enumeration(
                            v,
                            &CONTROL_DIRECTIVES,
                            ControlDirective::ALL,
                            "ControlDirective",
                        )
                    })?
                }
                3 if compact => events_blob = Some(v),
                3 => events = Some(p.events(v)?),
                4 => relations = Some(p.relations(v)?),
                5 => sequence_values = p.opt(v, Self::sequences)?,
                6 => source_id = p.opt(v, Self::string)?,
                _ => {}
            }
            Ok(())
        })?;
        let at = root.pos;
        let mut packed = Vec::new();
        if compact {
            let blob = require(events_blob, "events", at)?;
            self.compact_events(&m, blob, false, relations, &mut packed)?;
            events = Some(Vec::new());
        }
        Ok(BatchRec {
            events: require(events, "events", at)?,
            source_id,
            batch_seq: require(batch_seq, "batch_seq", at)?,
            relations: require(relations, "relations", at)?,
            control_directive,
            sequence_values,
            backfill_metadata,
            data_bytes: self.data_bytes,
            layouts: std::mem::take(&mut self.layouts),
            compact,
            packed,
        })
    }

    /// A bare compact event at the root, or `None` when the root is not a compact map.
    pub(crate) fn bare_compact_event(&mut self) -> Res<Option<PackedEvent>> {
        let root = self.r.root()?;
        if root.ty != FlexType::Map {
            return Ok(None);
        }
        let m = self.r.map(root, "an event map")?;
        if !self.is_compact_root(&m) {
            return Ok(None);
        }
        if let Some(s) = find_field(&self.r, &m.values, "batch_seq") {
            return Err(wrong_type("a bare event (a batch has `batch_seq`)", s));
        }
        let events = require(
            find_field(&self.r, &m.values, EVENTS_KEY),
            EVENTS_KEY,
            root.pos,
        )?;
        let mut out = Vec::with_capacity(1);
        self.compact_events(&m, events, true, None, &mut out)?;
        Ok(out.pop())
    }

    /// A bare event at the root.
    pub(crate) fn bare_event(&mut self) -> Res<EventRec> {
        let root = self.r.root()?;
        self.any_event(root, false)
    }

    /// An event of a batch by the template, if it has one and the event is alike (see
    /// `template`): pushed to `out`. False leaves the event to
    /// [`any_event`](Self::any_event).
    #[inline]
    fn templated_event(&mut self, s: Slot, out: &mut Vec<EventRec>) -> bool {
        if self.use_fast && self.use_template && self.should_trace() {
            let (w, packed) = (usize::from(s.width), packed(s));
            if self.replay(s.pos, w, packed, out).is_some() {
                self.template_hits += 1;
                self.template_misses = 0;
                return true;
            }
        }
        self.template_misses = self.template_misses.saturating_add(1);
        false
    }

    /// An event: by the fast path when it can (tracing it for a template if `trace`), else
    /// by the general pass (which reports the exact error, if any).
    #[inline]
    fn any_event(&mut self, s: Slot, trace: bool) -> Res<EventRec> {
        self.settle_order();
        if self.use_fast {
            let (packed, w) = (packed(s), usize::from(s.width));
            let trace = trace && self.use_template && self.should_trace();
            let (work, data_bytes, order) = (self.work, self.data_bytes, self.order);
            let lens = self.record.as_ref().map(Record::lens);
            let fast = self.fast_event(s.pos, w, packed, trace);
            if let Some(rec) = fast {
                self.fast_hits += 1;
                if trace {
                    let (c0, v0) = lens.unwrap_or_default();
                    let cost = (self.work - work, self.data_bytes - data_bytes);
                    self.keep_template((w, packed), &rec, (c0 as u32, v0 as u32), cost);
                }
                return Ok(rec);
            }
            self.tracer.on = false;
            self.work = work;
            self.data_bytes = data_bytes;
            self.order = order;
            if let (Some(r), Some(lens)) = (self.record.as_mut(), lens) {
                r.truncate(lens);
            }
        }
        self.event(s)
    }

    /// Whether to try (and trace for) the template: always while it keeps working, and for
    /// one event in 32 once it has missed four in a row (unlike events).
    #[inline]
    fn should_trace(&self) -> bool {
        self.template_misses < 4 || self.template_misses.is_multiple_of(32)
    }

    fn events(&mut self, s: Slot) -> Res<Vec<EventRec>> {
        let events = self.events_inner(s);
        // Whatever happened, `order` is then up to date (see `settle_order`).
        self.settle_order();
        events
    }

    fn events_inner(&mut self, s: Slot) -> Res<Vec<EventRec>> {
        /// A lower bound of an event map's size: its length, keys offset and width, and a slot
        /// and a type byte for each of the seven fields every event has.
        const MIN_EVENT_BYTES: usize = 16;
        let v = self.r.vector(s, "a vector of events")?;
        let len = v.len as usize;
        Self::limit(Limit::Events, self.o.max_events, len, v.pos as usize)?;
        self.charge(len, v.pos as usize)?;
        // Events are not shared (checked below), each map takes at least 16 bytes, and maps lie
        // before the vector that points at them (offsets point backwards): no more events fit,
        // so a claimed length alone reserves no more.
        let mut out = Vec::with_capacity(len.min(v.pos as usize / MIN_EVENT_BYTES));
        let mut previous = Order::default();
        let mut previous_event = None;
        for i in 0..len {
            let (e, m) = match self.fast_event_slot(&v, i) {
                Some((e, m)) => (e, Some(m)),
                None => {
                    let e = self.r.element(&v, i).map_err(|e| e.at_index(i))?;
                    (e, None)
                }
            };
            if e.ty == FlexType::Map {
                // Events are never shared: each lies wholly after the one before it.
                let m = match m {
                    Some(m) => m,
                    None => self
                        .r
                        .map_values(e, "an event map")
                        .map_err(|e| e.at_index(i))?,
                };
                let target = m.pos as usize;
                if let Err(previous) =
                    previous.map_at(Fresh::Event, target, m.len as usize, usize::from(m.width))
                {
                    return Err(DecodeError::new(
                        DecodeErrorKind::SharedEvent { target, previous },
                        e.pos,
                    )
                    .at_index(i));
                }
                self.previous_event = previous_event;
                previous_event = Some(target);
            }
            if self.templated_event(e, &mut out) {
                continue;
            }
            // Only an event that others follow is worth making the template.
            let trace = i + 1 < len;
            out.push(self.any_event(e, trace).map_err(|e| e.at_index(i))?);
        }
        Ok(out)
    }

    /// Element `i` of the events vector `v` and its map's values, when it is a map that fits
    /// in the input (else the general reader reads it, and reports why not).
    #[inline(always)]
    fn fast_event_slot(&self, v: &Vector, i: usize) -> Option<(Slot, Vector)> {
        if v.elem.is_some() {
            return None;
        }
        let b = self.r.buf();
        let w = usize::from(v.width);
        let types = (v.pos as usize).checked_add((v.len as usize).checked_mul(w)?)?;
        let packed = *b.get(types.checked_add(i)?)?;
        if !crate::flex::fast::is(packed, FlexType::Map) {
            return None;
        }
        let slot = Slot {
            pos: (v.pos as usize).checked_add(i.checked_mul(w)?)?,
            width: v.width,
            ty: FlexType::Map,
            child: 1 << (packed & 3),
        };
        let m = crate::flex::fast::map_values(b, slot)?;
        // As the general reader: the values and their type bytes fit in the input.
        let end = (m.pos as usize).checked_add((m.len as usize).checked_mul(w_of(&m) + 1)?)?;
        if end > b.len() {
            return None;
        }
        Some((slot, m))
    }

    fn event(&mut self, s: Slot) -> Res<EventRec> {
        let m = self.r.map(s, "an event map")?;
        let mut columns = None;
        let mut ddl_object_type = None;
        let mut ddl_sql = None;
        let mut event_id = None;
        let mut new_row = None;
        let mut old_row = None;
        let mut operation = None;
        let mut position = None;
        let mut relation_meta = None;
        let mut schema = None;
        let mut table = None;
        let mut timestamp_us = None;
        let mut transaction_id = None;
        let mut firsts = Firsts::default();
        self.fields(&m, kind::EVENT, |p, id, v| {
            let (columns_len, values_len) = p.record_lens();
            match id {
                0 => {
                    firsts.columns = columns_len;
                    columns = Some(p.columns(v)?);
                }
                1 => ddl_object_type = p.opt(v, Self::string)?,
                2 => ddl_sql = p.opt(v, Self::string)?,
                3 => event_id = p.opt(v, Self::string)?,
                4 => {
                    firsts.new_row = values_len;
                    new_row = p.opt(v, Self::row)?;
                }
                5 => {
                    firsts.old_row = values_len;
                    old_row = p.opt(v, Self::row)?;
                }
                6 => {
                    operation =
                        Some(p.enumeration(v, &OPERATIONS, OperationType::ALL, "OperationType")?)
                }
                7 => position = Some(p.u64(v)?),
                8 => relation_meta = p.opt(v, Self::relation)?,
                9 => schema = Some(p.string(v)?),
                10 => table = Some(p.string(v)?),
                11 => timestamp_us = Some(p.u64(v)?),
                12 => transaction_id = Some(p.u64(v)?),
                _ => {}
            }
            Ok(())
        })?;
        let at = s.pos;
        let rec = EventRec {
            operation: require(operation, "operation", at)?,
            timestamp_us: require(timestamp_us, "timestamp_us", at)?,
            position: require(position, "position", at)?,
            transaction_id: require(transaction_id, "transaction_id", at)?,
            event_id,
            schema: require(schema, "schema", at)?,
            table: require(table, "table", at)?,
            columns: require(columns, "columns", at)?,
            new_row,
            old_row,
            relation_meta,
            ddl_sql,
            ddl_object_type,
            layout: None,
        };
        self.record_firsts(firsts, new_row.is_some(), old_row.is_some());
        Ok(rec)
    }

    /// Records where the event just validated starts in the record (when recording):
    /// `firsts`, settled for the rows it has.
    #[inline]
    fn record_firsts(&mut self, firsts: Firsts, new_row: bool, old_row: bool) {
        if let Some(r) = self.record.as_mut() {
            r.firsts.push(firsts.settled(new_row, old_row));
        }
    }

    /// How many column names and values the record holds (0 when not recording).
    #[inline]
    fn record_lens(&self) -> (u32, u32) {
        self.record
            .as_ref()
            .map_or((0, 0), |r| (r.columns.len() as u32, r.values.len() as u32))
    }

    fn columns(&mut self, s: Slot) -> Res<Vector> {
        let v = self.r.vector(s, "a vector of strings")?;
        self.fresh_vector(Fresh::Columns, &v)?;
        let max = self.o.max_columns;
        self.each(s, "a vector of strings", Limit::Columns, max, |p, e| {
            let name = p.string(e)?;
            if let Some(r) = p.record.as_mut() {
                r.columns.push(name);
            }
            Ok(())
        })
    }

    /// A row map; returns its `values` vector.
    fn row(&mut self, s: Slot) -> Res<Vector> {
        let m = self.r.map(s, "a row map")?;
        self.fresh_map(Fresh::Row, &m)?;
        let mut values = None;
        self.fields(&m, kind::ROW, |p, _, v| {
            let max = p.o.max_columns;
            values = Some(p.each(
                v,
                "a vector of column values",
                Limit::Columns,
                max,
                Self::value,
            )?);
            Ok(())
        })?;
        require(values, "values", s.pos)
    }

    fn value(&mut self, s: Slot) -> Res<()> {
        let m = self.r.map(s, "a column value map")?;
        self.fresh_map(Fresh::Value, &m)?;
        let mut type_oid = None;
        let mut type_tag = None;
        let mut data = DataRef::Absent;
        let seen = self.fields(&m, kind::COLUMN_VALUE, |p, id, v| {
            match id {
                0 => {
                    p.data(v)?;
                    data = Ctx {
                        r: p.r,
                        canon: p.canon,
                    }
                    .data_ref(Some(v));
                }
                1 => type_oid = Some(p.u32(v)?),
                2 => {
                    type_tag = Some(p.enumeration(v, &TYPE_TAGS, TypeTag::ALL, "TypeTag")?);
                }
                _ => {}
            }
            Ok(())
        })?;
        let oid = require(type_oid, "type_oid", s.pos)?;
        let tag = require(type_tag, "type_tag", s.pos)?;
        if let Some(r) = self.record.as_mut() {
            r.values.push(ValueRec { tag, oid, data });
        }
        self.canon.values &= seen.canonical;
        Ok(())
    }

    /// `ColumnValue.data`: Null, or a vector of UInt bytes of any width and shape.
    fn data(&mut self, s: Slot) -> Res<()> {
        let max = self.o.max_value_bytes;
        match s.ty {
            FlexType::Null => Ok(()),
            FlexType::VectorUInt
            | FlexType::VectorUInt2
            | FlexType::VectorUInt3
            | FlexType::VectorUInt4 => {
                let v = self.r.vector(s, "value bytes")?;
                let (pos, len) = (v.pos as usize, v.len as usize);
                Self::limit(Limit::ValueBytes, max, len, pos)?;
                self.data_bytes = self.data_bytes.saturating_add(len);
                self.charge(len, pos)?;
                if v.width > 1 {
                    check_wide_bytes(&self.r, &v)?;
                }
                Ok(())
            }
            FlexType::Vector => {
                let v = self.r.vector(s, "value bytes")?;
                let (pos, len) = (v.pos as usize, v.len as usize);
                Self::limit(Limit::ValueBytes, max, len, pos)?;
                self.data_bytes = self.data_bytes.saturating_add(len);
                self.charge(len, pos)?;
                for i in 0..len {
                    let e = self.r.element(&v, i)?;
                    if e.ty != FlexType::UInt {
                        return Err(wrong_type("a UInt byte", e));
                    }
                    let b = self.r.uint_at(e.pos, e.width)?;
                    if b > 255 {
                        return Err(byte_out_of_range(b, e.pos));
                    }
                }
                Ok(())
            }
            _ => Err(wrong_type("a vector of UInt bytes or Null", s)),
        }
    }

    fn relations(&mut self, s: Slot) -> Res<Vector> {
        let max = self.o.max_relations;
        self.each(s, "a vector of relations", Limit::Relations, max, |p, e| {
            p.relation(e).map(drop)
        })
    }

    fn relation(&mut self, s: Slot) -> Res<Vector> {
        let m = self.r.map(s, "a relation map")?;
        self.fresh_map(Fresh::Relation, &m)?;
        let seen = self.fields(&m, kind::RELATION, |p, id, v| {
            match id {
                0 => {
                    let max = p.o.max_columns;
                    p.each(
                        v,
                        "a vector of column maps",
                        Limit::Columns,
                        max,
                        Self::column,
                    )?;
                }
                1 => {
                    p.u32(v)?;
                }
                2 => {
                    p.enumeration(
                        v,
                        &REPLICA_IDENTITIES,
                        ReplicaIdentity::ALL,
                        "ReplicaIdentity",
                    )?;
                }
                3 | 4 => {
                    p.string(v)?;
                }
                _ => {}
            }
            Ok(())
        })?;
        all_present(seen.mask, &RELATION, s.pos)?;
        self.canon.relations &= seen.canonical;
        Ok(m.values)
    }

    fn column(&mut self, s: Slot) -> Res<()> {
        let m = self.r.map(s, "a column map")?;
        self.fresh_map(Fresh::Column, &m)?;
        let seen = self.fields(&m, kind::COLUMN_META, |p, id, v| {
            match id {
                0 => {
                    p.r.boolean(v)?;
                }
                1 => {
                    p.string(v)?;
                }
                2 => {
                    p.i32(v)?;
                }
                3 => {
                    p.u32(v)?;
                }
                _ => {}
            }
            Ok(())
        })?;
        all_present(seen.mask, &COLUMN_META, s.pos)?;
        self.canon.columns &= seen.canonical;
        Ok(())
    }

    fn sequences(&mut self, s: Slot) -> Res<Vector> {
        let max = self.o.max_sequence_values;
        self.each(
            s,
            "a vector of sequence values",
            Limit::SequenceValues,
            max,
            Self::sequence,
        )
    }

    fn sequence(&mut self, s: Slot) -> Res<()> {
        let m = self.r.map(s, "a sequence value map")?;
        self.fresh_map(Fresh::Sequence, &m)?;
        let seen = self.fields(&m, kind::SEQUENCE, |p, id, v| {
            match id {
                0 | 2 | 3 | 4 => {
                    p.i64(v)?;
                }
                1 => {
                    p.r.boolean(v)?;
                }
                5 | 6 => {
                    p.string(v)?;
                }
                _ => {}
            }
            Ok(())
        })?;
        all_present(seen.mask, &SEQUENCE, s.pos)?;
        self.canon.sequences &= seen.canonical;
        Ok(())
    }

    fn backfill(&mut self, s: Slot) -> Res<BackfillMetadata> {
        let m = self.r.map(s, "a backfill metadata map")?;
        let mut rows = None;
        let mut tables = None;
        self.fields(&m, kind::BACKFILL, |p, id, v| {
            match id {
                0 => rows = Some(p.u64(v)?),
                1 => tables = Some(p.u32(v)?),
                _ => {}
            }
            Ok(())
        })?;
        Ok(BackfillMetadata {
            estimated_total_rows: require(rows, "estimated_total_rows", s.pos)?,
            table_count: require(tables, "table_count", s.pos)?,
        })
    }
}

/// Fails with the first of `names` whose bit is not in `mask`.
fn all_present(mask: u32, names: &'static [Field], at: usize) -> Res<()> {
    match names.iter().enumerate().find(|(i, _)| mask & (1 << i) == 0) {
        Some((_, field)) => Err(missing(field.name(), at)),
        None => Ok(()),
    }
}

/// UTF-8 validation with a fast path for the short ASCII names most strings are.
#[inline]
fn check_utf8(b: &[u8]) -> Result<(), std::str::Utf8Error> {
    if b.len() <= 64 {
        let words = b.chunks_exact(8);
        let tail = words.remainder().iter().fold(0u8, |a, &x| a | x);
        let high = words.fold(0u64, |a, c| {
            a | c.try_into().map_or(u64::MAX, u64::from_le_bytes)
        });
        if high & 0x8080_8080_8080_8080 == 0 && tail < 0x80 {
            return Ok(());
        }
    }
    std::str::from_utf8(b).map(drop)
}

#[cold]
fn byte_out_of_range(value: u64, at: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::DataByteOutOfRange { value }, at)
}

/// Checks that every element of a typed UInt vector wider than a byte is below 256.
fn check_wide_bytes(r: &Reader<'_>, v: &Vector) -> Res<()> {
    let w = usize::from(v.width);
    let raw = r.range(v.pos as usize, (v.len as usize).saturating_mul(w))?;
    if crate::flex::fast::wide_are_bytes(raw, w) {
        return Ok(());
    }
    for (i, c) in raw.chunks_exact(w).enumerate() {
        let value = c
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if value > 255 {
            return Err(byte_out_of_range(value, v.pos as usize + i * w));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "../../../tests/common/mod.rs"]
mod common;

#[cfg(any(test, fuzzing))]
pub(crate) mod differential;

#[cfg(test)]
mod tests {
    use super::*;
    use scry_testkit::{workloads, Gen};

    use differential::{run_with, Mode, Outcome};

    fn run(bytes: &[u8], fast: bool) -> (Outcome, usize) {
        let mode = if fast { Mode::Fast } else { Mode::General };
        let (o, hits, _) = run_with(bytes, mode, true).unwrap();
        (o, hits)
    }

    fn same(bytes: &[u8]) -> usize {
        let (a, hits) = run(bytes, true);
        let (b, _) = run(bytes, false);
        assert_eq!(a.0, b.0);
        if a.0.is_ok() {
            assert_eq!(a, b);
        }
        hits
    }

    fn same_with_template(bytes: &[u8]) -> usize {
        differential::template_agrees(bytes).unwrap()
    }

    #[test]
    fn template_takes_alike_events() {
        let small = workloads::small_rows(100);
        let large = workloads::large_rows(10);
        for (batch, n) in [(&small, 100), (&large, 10)] {
            let compat = crate::serialize_batch(batch).unwrap();
            // The first event teaches the key caches, the second makes the template; the
            // rest match it except where a width changes.
            let hits = same_with_template(&compat);
            assert!(hits >= n - 4, "compat {hits} of {n}");
        }
    }

    #[test]
    fn template_agrees_on_every_single_byte_change() {
        // Every byte of a batch of alike events, changed to a few values: whatever the
        // template accepts, the general pass accepts with the same result.
        let batch = workloads::small_rows(6);
        let mut m = Gen::new(7);
        {
            let bytes = crate::serialize_batch(&batch).unwrap();
            for at in 0..bytes.len() {
                for v in [
                    bytes[at] ^ 1,
                    bytes[at].wrapping_add(1),
                    0,
                    0xFF,
                    m.next_u64() as u8,
                ] {
                    let mut bad = bytes.clone();
                    bad[at] = v;
                    same_with_template(&bad);
                }
            }
        }
    }

    #[test]
    fn template_agrees_on_generated_alike_events() {
        // Batches of events that share a shape but differ in their leaves: lengths kept,
        // strings, integers and data bytes changed.
        let mut hits = 0;
        for seed in 0..300u64 {
            let mut g = Gen::new(seed);
            g.allow_huge_values = false;
            let first = g.event();
            let mut batch = g.batch(0);
            for k in 0..6u64 {
                let mut e = first.clone();
                e.position = e.position.wrapping_add(k * 977);
                e.transaction_id ^= k << 40;
                e.timestamp_us = e.timestamp_us.wrapping_mul(k + 1);
                for row in [e.new_row.as_mut(), e.old_row.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    for v in &mut row.values {
                        if let Some(d) = v.data.as_mut() {
                            let flipped: Vec<u8> = d.iter().map(|x| x ^ (k as u8)).collect();
                            *d = flipped.into();
                        }
                        if k % 3 == 1 {
                            v.type_oid = v.type_oid.wrapping_add(k as u32);
                        }
                    }
                }
                if seed % 2 == 0 {
                    // Relations are left to the fast path: half the batches have none.
                    e.relation_meta = None;
                }
                if seed % 3 == 0 {
                    // Ids differ from event to event (same length, some not ASCII).
                    e.event_id = Some(format!("ev-{k:03}-{}", ["ab", "é"][(k % 2) as usize]));
                }
                if seed % 5 == 0 && k == 4 && !e.schema.is_empty() {
                    // A name that differs: that event is validated afresh.
                    e.schema = e.schema.chars().rev().collect();
                }
                batch.events.push(e);
            }
            hits += same_with_template(&crate::serialize_batch(&batch).unwrap());
        }
        // About 540 of the 1200 events after each batch's first two.
        assert!(hits > 500, "{hits}");
    }

    #[test]
    fn fast_path_agrees_with_the_general_pass() {
        let mut m = Gen::new(99);
        let mut hits = 0;
        for seed in 0..1500u64 {
            let mut g = Gen::new(seed);
            g.allow_huge_values = false;
            let batch = g.batch(4);
            {
                let bytes = crate::serialize_batch(&batch).unwrap();
                hits += same(&bytes);
                for _ in 0..4 {
                    let mut bad = bytes.clone();
                    let at = m.below(bad.len());
                    bad[at] = m.next_u64() as u8;
                    same(&bad);
                }
            }
        }
        assert!(hits > 1000, "{hits}");
    }
}
