//! The event template: validating an event by comparing it with one validated before.
//!
//! The events of a batch usually have one shape: the same fields, widths, string and value
//! lengths, laid out the same way, only displaced. While the fast path validates an event
//! it can trace every input byte its decisions depend on ([`Tracer`]); the trace, compiled
//! with that event's result, is a [`Template`]. A later event `delta > 0` bytes further on
//! is then validated by comparison:
//!
//! - one masked compare of the event's span with the template's (vectorized; AVX2 where
//!   the processor has it): every structural byte (headers, offsets to the event's own
//!   objects, lengths, widths, type bytes) and every name (schema, table, column names, type
//!   tags and other enum variants, by name) must be equal, so every internal
//!   offset leads to the template's object moved by `delta`;
//! - each keys-vector entry, and each offset to an object before the previous event
//!   (strings and keys vectors a writer may share), must hold the template's plus
//!   exactly `delta`, so it leads to the same key or object, which the template's event
//!   validated; consecutive ones are checked eight bytes at a time;
//! - the leaves are read or checked afresh: integers (and the operation), event ids and
//!   DDL text (UTF-8), wide data bytes;
//! - the event's objects that no writer shares must lie after the previous ones of their
//!   kind (`order`), as the fast path checks: while events of one template follow each
//!   other, that is one comparison of their distance.
//!
//! Why the result equals the fast path's: its control flow depends only on the bytes it
//! reads and on comparisons between positions. Every byte it read is equal or re-checked as
//! it checks it; positions inside the event all move by the same `delta`; positions outside
//! are the same keys and shared objects. Work, data bytes and limits depend only on lengths,
//! which are equal. A relation, an empty serde vector of data, an event of more than 65,535
//! columns or values makes the trace unusable, and any difference makes the comparison give
//! up (`None`): the event then takes the fast path (and the general pass) as before. The
//! differential tests and fuzz target (`differential`) check that all modes agree.
//!
//! The template also knows where each of its event's values lies ([`ValueAt`]): the events
//! it validated share one entry of the batch's layout table, through which the views read
//! a value with a lookup and an addition.

use std::num::NonZeroU32;

use scry_types::OperationType;

use super::order::{Fresh, KINDS};
use super::{EventRec, Firsts, Parser, StrRef, ValueRec};
use crate::flex::fast::{rd, wide_are_bytes};
use crate::flex::Vector;
use crate::view::ctx::DataRef;

/// Where a value of an event validated against a template lies, relative to the event's
/// map: its map's values vector, and its data (when it has contiguous data). The batch view
/// keeps one table of these per template, so that reading the values of the events the
/// template validated is a lookup and an addition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueAt {
    map: i32,
    len: u8,
    width: u8,
    data: Option<i32>,
    data_len: u32,
}

impl ValueAt {
    /// The value's map (values vector) in the event whose map is at `t`.
    #[inline(always)]
    pub(crate) fn map(&self, t: u32) -> Vector {
        Vector {
            pos: t.wrapping_add_signed(self.map),
            len: self.len.into(),
            width: self.width,
            elem: None,
        }
    }

    /// Where the value's data lies in the event whose map is at `t`.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn data(&self, t: u32) -> DataRef {
        match self.known(t) {
            Known::At(pos, len) => DataRef::Contiguous {
                pos: pos as usize,
                len: len as usize,
            },
            _ => DataRef::Absent,
        }
    }

    /// [`data`](Self::data), in the views' compact form.
    #[inline(always)]
    pub(crate) fn known(&self, t: u32) -> Known {
        match self.data {
            Some(rel) => Known::At(t.wrapping_add_signed(rel), self.data_len),
            None => Known::Absent,
        }
    }
}

/// Where a value's data lies, as far as the parse knows: not known (read it from the
/// wire), absent, or these bytes of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    No,
    Absent,
    At(u32, u32),
}

/// An event's place in the layout table: its first value's entry and its map's position
/// (never 0: a map's header precedes it, which lets an `Option<Layout>` take 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub first: u32,
    pub t: NonZeroU32,
}

/// Where a leaf's value goes in the replayed result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Out {
    /// Nowhere (checked only).
    None,
    Position,
    Timestamp,
    TransactionId,
    Operation,
    Schema,
    Table,
    EventId,
    DdlSql,
    DdlObjectType,
    /// The event's `i`-th column name.
    Column(u16),
    /// The OID of the event's `i`-th value (new row, then old row).
    Oid(u16),
    /// The type tag of the event's `i`-th value.
    Tag(u16),
}

/// One traced read, at `rel` bytes from the event map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// These `len` bytes equal the template's.
    Same { rel: isize, len: u32 },
    /// A `w`-byte offset to a string or keys vector that a writer may share:
    /// equal bytes (the target moved with the event: the next ops check it), or an offset
    /// to the template's very target `abs` (then skip the `skip` ops that check it).
    Ref {
        rel: isize,
        w: u8,
        abs: usize,
        skip: u32,
        out: Out,
    },
    /// A `kw`-byte keys-vector entry that must lead to the key at `addr`.
    Key { rel: isize, kw: u8, addr: usize },
    /// String bytes that may differ from the template's (then must be valid UTF-8).
    Str { rel: isize, len: u32 },
    /// A name (of a schema, table, column or enum variant) equal to the template's.
    Name { rel: isize, len: u32, out: Out },
    /// An inline unsigned integer.
    UInt { rel: isize, w: u8, out: Out },
    /// Data stored as `len` elements of `w` bytes, each of which must be a byte.
    Wide { rel: isize, len: u32, w: u8 },
}

/// Returns `counter` and counts one more; sets `spoiled` when it would overflow.
#[inline(always)]
fn count(counter: &mut u16, spoiled: &mut bool) -> u16 {
    let i = *counter;
    match i.checked_add(1) {
        Some(next) => *counter = next,
        None => *spoiled = true,
    }
    i
}

/// Records what the fast path reads while it validates one event.
#[derive(Debug, Default)]
pub(super) struct Tracer {
    /// Whether reads are being traced.
    pub on: bool,
    /// Set when the event did something the replay cannot repeat.
    spoiled: bool,
    /// The traced event's map position.
    t0: usize,
    ops: Vec<Op>,
    /// Ops before this index may not be extended (a `Ref`'s scope begins or ended here).
    floor: usize,
    /// How many column names and values the traced event has had so far.
    columns: u16,
    values: u16,
    /// Where the traced event's values lie (new row, then old row).
    values_at: Vec<ValueAt>,
    /// Set when a value's place cannot be described by a [`ValueAt`].
    no_layout: bool,
    /// The first and last object of each kind no writer shares (see `order`): position,
    /// start and end of its bytes.
    fresh: Fresh3,
}

/// The first and last object of each [`Fresh`] kind in an event: `(pos, start, end)`,
/// relative to the event's map.
type Fresh3 = [Option<[(isize, isize, isize); 2]>; KINDS];

impl Tracer {
    fn rel(&self, pos: usize) -> isize {
        (pos as isize).wrapping_sub(self.t0 as isize)
    }

    /// Starts tracing the event whose map is at `t0`.
    pub(super) fn start(&mut self, t0: usize) {
        self.on = true;
        self.spoiled = false;
        self.t0 = t0;
        self.ops.clear();
        self.floor = 0;
        self.columns = 0;
        self.values = 0;
        self.values_at.clear();
        self.no_layout = false;
        self.fresh = [None; KINDS];
        if self.ops.capacity() == 0 {
            // Room for the ops of an event of a few dozen columns, so that tracing does not
            // allocate again and again while the buffer grows.
            self.ops.reserve(256);
            self.values_at.reserve(32);
        }
    }

    /// The fast path checked that an object of `kind` at `pos` with bytes `start..end` lies
    /// after the previous one of its kind.
    #[inline(always)]
    pub(super) fn fresh(&mut self, kind: Fresh, pos: usize, (start, end): (usize, usize)) {
        if self.on {
            let at = (self.rel(pos), self.rel(start), self.rel(end));
            if let Some(f) = self.fresh.get_mut(kind as usize) {
                match f {
                    Some([_, last]) => *last = at,
                    None => *f = Some([at, at]),
                }
            }
        }
    }

    /// The fast path validated a value: its map (values vector) and data.
    #[inline(always)]
    pub(super) fn value(&mut self, map: Vector, data: DataRef) {
        if self.on {
            self.push_value(map, data);
        }
    }

    #[cold]
    fn push_value(&mut self, map: Vector, data: DataRef) {
        let rel = |pos: usize| i32::try_from(self.rel(pos)).ok();
        let (data_rel, data_len) = match data {
            DataRef::Absent => (None, 0),
            DataRef::Contiguous { pos, len } => (rel(pos), len),
            DataRef::Wide(_) | DataRef::Elements(_) => {
                self.no_layout = true;
                return;
            }
        };
        let (Some(map_rel), Ok(data_len)) = (rel(map.pos as usize), u32::try_from(data_len)) else {
            self.no_layout = true;
            return;
        };
        if matches!(data, DataRef::Contiguous { .. }) && data_rel.is_none() {
            self.no_layout = true;
            return;
        }
        self.values_at.push(ValueAt {
            map: map_rel,
            len: map.len as u8,
            width: map.width,
            data: data_rel,
            data_len,
        });
    }

    /// The index of the event's next column name (an event with more than the index can
    /// hold is not traced).
    #[inline(always)]
    pub(super) fn next_column(&mut self) -> u16 {
        count(&mut self.columns, &mut self.spoiled)
    }

    /// The index of the event's next value (as [`next_column`](Self::next_column)).
    #[inline(always)]
    pub(super) fn next_value(&mut self) -> u16 {
        count(&mut self.values, &mut self.spoiled)
    }

    /// The event did something the replay cannot repeat.
    #[inline(always)]
    pub(super) fn spoil(&mut self) {
        self.spoiled = true;
    }

    /// The fast path read the `len` bytes at `pos` as structure.
    #[inline(always)]
    pub(super) fn same(&mut self, pos: usize, len: usize) {
        if self.on {
            self.push_same(pos, len);
        }
    }

    #[inline(never)]
    fn push_same(&mut self, pos: usize, len: usize) {
        let rel = self.rel(pos);
        let (Ok(len), true) = (u32::try_from(len), len > 0) else {
            if len > 0 {
                self.spoiled = true;
            }
            return;
        };
        if self.ops.len() > self.floor {
            if let Some(Op::Same { rel: r, len: l }) = self.ops.last_mut() {
                if r.wrapping_add(*l as isize) == rel {
                    if let Some(sum) = l.checked_add(len) {
                        *l = sum;
                        return;
                    }
                }
            }
        }
        self.ops.push(Op::Same { rel, len });
    }

    /// The fast path followed the `w`-byte offset at `pos` to `target`, a string or keys
    /// vector; returns the scope to [`close`](Self::close) after the target's own reads.
    #[inline(always)]
    pub(super) fn open(&mut self, pos: usize, w: usize, target: usize, out: Out) -> usize {
        if !self.on {
            return 0;
        }
        self.ops.push(Op::Ref {
            rel: self.rel(pos),
            w: w as u8,
            abs: target,
            skip: 0,
            out,
        });
        self.floor = self.ops.len();
        self.ops.len()
    }

    /// Ends the scope [`open`](Self::open) returned.
    #[inline(always)]
    pub(super) fn close(&mut self, scope: usize) {
        if self.on {
            let n = self.ops.len();
            if let Some(Op::Ref { skip, .. }) =
                scope.checked_sub(1).and_then(|i| self.ops.get_mut(i))
            {
                *skip = (n - scope) as u32;
            }
            self.floor = n;
        }
    }

    /// Records the op `make` gives for the read at `pos` (relative to the event's map).
    #[inline(always)]
    fn push_at(&mut self, pos: usize, make: impl FnOnce(isize) -> Op) {
        if self.on {
            let rel = self.rel(pos);
            self.ops.push(make(rel));
        }
    }

    /// The `kw`-byte keys-vector entry at `pos` leads to the key at `addr`.
    #[inline(always)]
    pub(super) fn key(&mut self, pos: usize, kw: usize, addr: usize) {
        let kw = kw as u8;
        self.push_at(pos, |rel| Op::Key { rel, kw, addr });
    }

    /// The `len` bytes at `pos` are the string that goes to `out`: a name (schema, table,
    /// column), which later events must repeat, or an id or SQL text, which may differ.
    #[inline(always)]
    pub(super) fn string(&mut self, pos: usize, len: usize, out: Out) {
        let len = len as u32;
        self.push_at(pos, |rel| match out {
            Out::EventId | Out::DdlSql | Out::DdlObjectType => Op::Str { rel, len },
            _ => Op::Name { rel, len, out },
        });
    }

    /// The `len` bytes at `pos` name an enum variant.
    #[inline(always)]
    pub(super) fn name(&mut self, pos: usize, len: usize, out: Out) {
        let len = len as u32;
        self.push_at(pos, |rel| Op::Name { rel, len, out });
    }

    /// The `w` bytes at `pos` are an inline unsigned integer.
    #[inline(always)]
    pub(super) fn uint(&mut self, pos: usize, w: usize, out: Out) {
        let w = w as u8;
        self.push_at(pos, |rel| Op::UInt { rel, w, out });
    }

    /// The `len` elements of `w` bytes at `pos` are data bytes.
    #[inline(always)]
    pub(super) fn wide(&mut self, pos: usize, len: usize, w: usize) {
        let (len, w) = (len as u32, w as u8);
        self.push_at(pos, |rel| Op::Wide { rel, len, w });
    }
}

/// A traced event and its result, compiled for comparing later events with it.
///
/// The trace's structural reads, and the strings that name things (schema, table, columns,
/// enum variants), become one byte mask over the span of the event they cover: a later
/// event must have equal bytes wherever the mask is set. Offsets to objects outside the
/// event (before the previous event: strings and keys vectors a writer may share)
/// must lead to the very same object. The rest are leaves, read or checked one by one.
/// Every read lies in the template's span: `span` bytes from `lo` bytes after the map (a
/// word can be read at any offset a leaf has), so one bounds check covers them all.
///
/// Its buffers are reused from template to template, so that a batch allocates for them
/// only as often as its largest event needs more room, not per event.
#[derive(Debug, Default)]
pub(super) struct Template {
    /// The event map's position.
    t0: usize,
    /// The packed type and width of the event's slot.
    packed: u8,
    slot_w: usize,
    /// Where the span starts, relative to the map, and its length.
    lo: isize,
    span: usize,
    /// Byte masks for the span, a word per 8 bytes, of the stretches that have any (long
    /// runs of bytes nothing checks, such as large values, are left out).
    mask: Vec<u64>,
    /// The stretches: `(first word, words)`, their masks one after the other in `mask`.
    segments: Vec<(u32, u32)>,
    /// The offsets that lead out of the event (to keys, and to strings and keys vectors the
    /// compact encoding shares), up to eight bytes of consecutive ones at a time:
    /// `(offset, lanes, mask, value)`. Such an offset in an event whose map is at `t` must
    /// lead back to the template's target, so it holds the template event's offset plus the
    /// distance between the two events: the word at `offset` must equal `value` (the
    /// template event's offsets) plus `delta * lanes` (a 1 where each offset starts)
    /// wherever `mask` has a byte set: one comparison for up to eight offsets.
    offset_words: Vec<(u32, u64, u64, u64)>,
    /// The largest distance for which every such offset still fits its width (so that the
    /// addition above carries nothing from one offset into the next).
    offset_room: u64,
    /// The event's position, timestamp and transaction id, when inline: `(offset, mask of
    /// their width)`.
    event_uints: [Option<(u32, u64)>; 3],
    /// The other inline unsigned integers: `(offset, mask of their width, where they go)`.
    uints: Vec<(u32, u64, Out)>,
    /// The column names (by index) that are the template's own (shared) strings: the
    /// offsets to them are checked with `offset_words`.
    fixed_columns: Vec<u16>,
    /// Which strings moved with the event (the others are the template's own).
    moved: Moved,
    /// Strings that may differ (then they must be valid UTF-8): `(offset, len)`.
    strings: Vec<(u32, u32)>,
    /// Wide data: `(offset, len, w)`.
    wide: Vec<(u32, u32, u8)>,
    /// The traced event's result; `None` while this holds no template (only buffers).
    rec: Option<EventRec>,
    /// The event's first column / new-row value / old-row value, counted from its first
    /// recorded column name and value.
    firsts: Firsts,
    /// The event's recorded column names and values (empty when the pass records nothing).
    columns: Vec<StrRef>,
    values: Vec<ValueRec>,
    /// Where the event's values lie, if `has_layout` (else not describable, see
    /// [`ValueAt`]).
    values_at: Vec<ValueAt>,
    has_layout: bool,
    /// The first entry of `values_at` in the batch's layout table, once an event used it.
    layout: Option<u32>,
    /// For each kind of object no writer shares that the event has: where its first one's
    /// bytes start, and where its last one lies and ends.
    fresh: Vec<(Fresh, isize, isize, isize)>,
    /// The least distance between two events of this shape for the second to lie after the
    /// first in every kind of `fresh`: the longest stretch from a kind's first object's start
    /// to its last one's end.
    min_gap: isize,
    /// The map position of the last event replayed, when the parser's [`Order`] has not
    /// been told about its objects yet (see [`Parser::settle_order`]): while events of one
    /// shape follow each other, each only needs to lie `min_gap` bytes after the one before.
    pending: Option<usize>,
    work: u64,
    data_bytes: usize,
}

/// Shifts a position found in the template's event to the same place in another (inside
/// the input, so below `u32::MAX`; the positions of shared objects, which do not move, are
/// put back afterwards).
#[inline(always)]
fn shift32(pos: u32, delta: usize) -> u32 {
    pos.wrapping_add(delta as u32)
}

impl StrRef {
    #[inline(always)]
    fn shifted(self, delta: usize) -> Self {
        // A moved string lies `delta > 0` bytes after one at a non-zero position, inside
        // the input: never at 0.
        let pos = shift32(self.pos.get(), delta);
        Self {
            pos: NonZeroU32::new(pos).unwrap_or(NonZeroU32::MIN),
            len: self.len,
        }
    }
}

impl DataRef {
    #[inline(always)]
    fn shifted(self, delta: usize) -> Self {
        match self {
            Self::Absent => Self::Absent,
            Self::Contiguous { pos, len } => Self::Contiguous {
                pos: pos.wrapping_add(delta),
                len,
            },
            Self::Wide(mut v) => {
                v.pos = shift32(v.pos, delta);
                Self::Wide(v)
            }
            Self::Elements(mut v) => {
                v.pos = shift32(v.pos, delta);
                Self::Elements(v)
            }
        }
    }
}

/// Which of a replayed event's strings moved with it (the others are the template's own:
/// strings a writer may share).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Moved {
    event_id: bool,
    schema: bool,
    table: bool,
    ddl_sql: bool,
    ddl_object_type: bool,
}

impl Moved {
    /// Every string moved.
    const ALL: Self = Self {
        event_id: true,
        schema: true,
        table: true,
        ddl_sql: true,
        ddl_object_type: true,
    };
}

impl EventRec {
    /// Moves what lies in the event (rows, the column list and the `moved` strings) by
    /// `delta` bytes: a copy of the template event's record becomes the replayed event's.
    /// (A template event never has relation metadata.)
    #[inline(always)]
    fn shift(&mut self, delta: usize, moved: Moved) {
        let str_ref = |s: &mut StrRef, moved: bool| {
            if moved {
                *s = s.shifted(delta);
            }
        };
        let opt = |s: &mut Option<StrRef>, moved: bool| {
            if let Some(s) = s {
                str_ref(s, moved);
            }
        };
        opt(&mut self.event_id, moved.event_id);
        str_ref(&mut self.schema, moved.schema);
        str_ref(&mut self.table, moved.table);
        opt(&mut self.ddl_sql, moved.ddl_sql);
        opt(&mut self.ddl_object_type, moved.ddl_object_type);
        self.columns.pos = shift32(self.columns.pos, delta);
        for row in [&mut self.new_row, &mut self.old_row].into_iter().flatten() {
            row.pos = shift32(row.pos, delta);
        }
    }
}

/// Whether `s` and `s0` differ anywhere `mask` has a byte set (a mask word per 8 bytes).
/// True when either is too short. On x86-64 processors with AVX2 (nearly all in use), the
/// same loop compiled for 32-byte vectors: twice the words per instruction.
#[inline(always)]
fn masked_differ(s: &[u8], s0: &[u8], mask: &[u64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { masked_differ_avx2(s, s0, mask) };
        }
    }
    masked_differ_words(s, s0, mask)
}

/// [`masked_differ_words`] compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn masked_differ_avx2(s: &[u8], s0: &[u8], mask: &[u64]) -> bool {
    masked_differ_words(s, s0, mask)
}

/// The loop of [`masked_differ`], which the compiler turns into vector instructions.
#[inline(always)]
fn masked_differ_words(s: &[u8], s0: &[u8], mask: &[u64]) -> bool {
    let n = mask.len();
    let (x, _) = s.as_chunks::<8>();
    let (y, _) = s0.as_chunks::<8>();
    let (Some(x), Some(y)) = (x.get(..n), y.get(..n)) else {
        return true;
    };
    let mut acc = 0u64;
    for ((x, y), m) in x.iter().zip(y).zip(mask) {
        acc |= (u64::from_le_bytes(*x) ^ u64::from_le_bytes(*y)) & m;
    }
    acc != 0
}

/// The little-endian word at `off` (the span always has 8 bytes there).
#[inline(always)]
fn word(s: &[u8], off: usize) -> Option<u64> {
    let bytes = s.get(off..off.checked_add(8)?)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*bytes))
}

/// Whether the offsets of `offset_words` in the span `s` hold the template event's plus `d`
/// (see [`Template::offset_words`]); false when `d` exceeds `room` or a word is out of bounds.
/// Out of line: inlined into the events loop, its loop spilled registers.
#[inline(never)]
fn offsets_moved_by(s: &[u8], offset_words: &[(u32, u64, u64, u64)], d: u64, room: u64) -> bool {
    if d > room {
        return false;
    }
    let mut acc = 0;
    for &(off, lanes, mask, value) in offset_words {
        let Some(x) = word(s, off as usize) else {
            return false;
        };
        acc |= (x & mask) ^ value.wrapping_add(d.wrapping_mul(lanes));
    }
    acc == 0
}

/// Follows the `w`-byte offset at `p` (strictly backwards), as the fast path does.
#[inline(always)]
fn target(b: &[u8], p: usize, w: usize) -> Option<usize> {
    let off = rd(b, p, w)?;
    if off == 0 || off > p as u64 {
        return None;
    }
    Some(p - off as usize)
}

/// A read of a compiled trace, relative to the event's map.
#[derive(Clone, Copy)]
enum Leaf {
    Same(isize, u32),
    Key(isize, u8, usize),
    UInt(isize, u8, Out),
    Fixed(isize, u8, usize, Out),
    Str(isize, u32),
    Wide(isize, u32, u8),
}

impl Leaf {
    /// The bytes it reads (a word from every offset read as an integer).
    fn bytes(self) -> (isize, isize) {
        match self {
            Self::Same(rel, len) | Self::Str(rel, len) => (rel, rel + len as isize),
            Self::Key(rel, ..) | Self::UInt(rel, ..) | Self::Fixed(rel, ..) => (rel, rel + 8),
            Self::Wide(rel, len, w) => (rel, rel + len as isize * isize::from(w)),
        }
    }
}

/// Calls `f` with each leaf of the trace `ops`; the targets of offsets to objects below
/// `shared_below` are shared (only the offset is a leaf), the others moved with the event.
fn leaves(ops: &[Op], shared_below: usize, mut f: impl FnMut(Leaf)) {
    let mut i = 0;
    while let Some(&op) = ops.get(i) {
        i += 1;
        f(match op {
            Op::Same { rel, len } | Op::Name { rel, len, .. } => Leaf::Same(rel, len),
            Op::Ref {
                rel,
                w,
                abs,
                skip,
                out,
            } => {
                if abs < shared_below {
                    i += skip as usize;
                    Leaf::Fixed(rel, w, abs, out)
                } else {
                    Leaf::Same(rel, w.into())
                }
            }
            Op::Key { rel, kw, addr } => Leaf::Key(rel, kw, addr),
            Op::Str { rel, len } => Leaf::Str(rel, len),
            Op::UInt { rel, w, out } => Leaf::UInt(rel, w, out),
            Op::Wide { rel, len, w } => Leaf::Wide(rel, len, w),
        });
    }
}

impl Template {
    /// Adds to `offset_words` the `w`-byte offset `at` bytes into the span (`rel` bytes after
    /// the map at `t0`) that leads to `addr`, a key or another object that does not move
    /// with the event: the template event's offset is `t0 + rel - addr`, a later event's
    /// must be that plus the distance. False when the offset does not fit its width.
    fn moved_offset(&mut self, at: u32, w: u8, t0: usize, rel: isize, addr: usize) -> bool {
        let bits = 8 * u32::from(w);
        let width_mask = u64::MAX >> (64 - bits);
        let value = u64::try_from(t0 as i64 + rel as i64 - addr as i64).ok();
        let Some(value) = value.filter(|&v| v <= width_mask) else {
            return false;
        };
        self.offset_room = self.offset_room.min(width_mask - value);
        // It joins the previous offsets' word if it starts where they end and ends within
        // the word.
        if let Some((start, lanes, mask, v)) = self.offset_words.last_mut() {
            let end = 64 - mask.leading_zeros();
            if u64::from(at) == u64::from(*start) + u64::from(end / 8) && end + bits <= 64 {
                *lanes |= 1 << end;
                *mask |= width_mask << end;
                *v |= value << end;
                return true;
            }
        }
        self.offset_words.push((at, 1, width_mask, value));
        true
    }

    /// Compiles the trace `ops` of the event at `t0` into this template (reusing its
    /// buffers); objects below `shared_below` are taken as shared. False when the trace
    /// cannot be used.
    fn compile(&mut self, ops: &[Op], t0: usize, shared_below: usize, recording: bool) -> bool {
        self.layout = None;
        let (mut lo, mut hi) = (isize::MAX, isize::MIN);
        leaves(ops, shared_below, |l| {
            let (start, end) = l.bytes();
            lo = lo.min(start);
            hi = hi.max(end);
        });
        // Whole 8-byte words, so that the mask covers the span.
        let Some(span) = usize::try_from(hi.wrapping_sub(lo))
            .ok()
            .filter(|&s| s < 1 << 20)
            .map(|s| s.next_multiple_of(8))
        else {
            return false;
        };
        // Room up front for what a trace of this event, or of one like it with slots up to
        // four times as wide, needs: a batch's templates then reuse one set of buffers.
        let words = span / 8;
        if self.mask.capacity() < words {
            self.mask.reserve_exact(4 * words);
        }
        if self.offset_words.capacity() < ops.len() {
            self.offset_words.reserve_exact(ops.len());
        }
        self.mask.clear();
        self.mask.resize(words, 0);
        self.offset_words.clear();
        self.offset_room = u64::MAX;
        self.uints.clear();
        self.event_uints = [None; 3];
        self.fixed_columns.clear();
        self.moved = Moved::ALL;
        self.strings.clear();
        self.wide.clear();
        // Every leaf lies in the span, so its offset from the span's start fits.
        let off = |rel: isize| (rel - lo) as u32;
        let mut fits = true;
        leaves(ops, shared_below, |l| match l {
            Leaf::Same(rel, len) => {
                // Sets the mask's bytes `start..end`, a word (or part of one) at a time.
                let (mut at, end) = (off(rel) as usize, off(rel) as usize + len as usize);
                while at < end {
                    let (first, n) = (at % 8, (8 - at % 8).min(end - at));
                    let bytes = u64::MAX >> (64 - 8 * n as u32);
                    if let Some(word) = self.mask.get_mut(at / 8) {
                        *word |= bytes << (8 * first);
                    }
                    at += n;
                }
            }
            // Its offset leads `rel` bytes after the map back to `addr`.
            Leaf::Key(rel, kw, addr) => fits &= self.moved_offset(off(rel), kw, t0, rel, addr),
            // OIDs of up to 4 bytes always fit; only a recording pass reads them.
            Leaf::UInt(_, 1 | 2 | 4, Out::Oid(_)) if !recording => {}
            Leaf::UInt(rel, w, out) => {
                let at = (off(rel), u64::MAX >> (64 - 8 * u32::from(w)));
                let field = match out {
                    Out::Position => Some(0),
                    Out::Timestamp => Some(1),
                    Out::TransactionId => Some(2),
                    _ => None,
                };
                match field.and_then(|f| self.event_uints.get_mut(f)) {
                    Some(slot) => *slot = Some(at),
                    None => self.uints.push((at.0, at.1, out)),
                }
            }
            // An offset to the template's own target: like a keys-vector entry.
            Leaf::Fixed(rel, w, abs, out) => {
                fits &= self.moved_offset(off(rel), w, t0, rel, abs);
                match out {
                    Out::Schema => self.moved.schema = false,
                    Out::Table => self.moved.table = false,
                    Out::EventId => self.moved.event_id = false,
                    Out::DdlSql => self.moved.ddl_sql = false,
                    Out::DdlObjectType => self.moved.ddl_object_type = false,
                    Out::Column(c) => self.fixed_columns.push(c),
                    _ => {}
                }
            }
            Leaf::Str(rel, len) => self.strings.push((off(rel), len)),
            Leaf::Wide(rel, len, w) => self.wide.push((off(rel), len, w)),
        });
        if !fits {
            return false;
        }
        self.keep_masked_stretches();
        (self.t0, self.lo, self.span) = (t0, lo, span);
        true
    }

    /// Reduces the mask to the stretches of words that have any byte set (gaps of fewer
    /// than 32 empty words (256 bytes) are kept, so that a stretch is worth its setup).
    fn keep_masked_stretches(&mut self) {
        const GAP: usize = 32;
        self.segments.clear();
        let mut kept = 0;
        let mut i = 0;
        let n = self.mask.len();
        while i < n {
            if self.mask.get(i) == Some(&0) {
                i += 1;
                continue;
            }
            let start = i;
            let mut end = i + 1;
            let mut zeros = 0;
            while end < n && zeros < GAP {
                if self.mask.get(end) == Some(&0) {
                    zeros += 1;
                } else {
                    zeros = 0;
                }
                end += 1;
            }
            let end = end - zeros;
            self.mask.copy_within(start..end, kept);
            self.segments.push((start as u32, (end - start) as u32));
            kept += end - start;
            i = end;
        }
        self.mask.truncate(kept);
    }
}

impl Parser<'_, '_> {
    /// Makes the event just traced (map at the tracer's `t0`, result `rec`, which cost
    /// `work` and `data_bytes` and recorded from `lens` on) the template. Objects at or
    /// before the previous event's map are taken as shared.
    pub(super) fn keep_template(
        &mut self,
        slot: (usize, u8),
        rec: &EventRec,
        lens: (u32, u32),
        (work, data_bytes): (u64, usize),
    ) {
        self.tracer.on = false;
        let tpl = &mut self.template;
        tpl.rec = None;
        if self.tracer.spoiled || rec.relation_meta.is_some() {
            return;
        }
        let shared_below = self.previous_event.map_or(0, |p| p + 1);
        let recording = self.record.is_some();
        if !tpl.compile(&self.tracer.ops, self.tracer.t0, shared_below, recording) {
            return;
        }
        let (c0, v0) = lens;
        tpl.columns.clear();
        tpl.values.clear();
        if let Some(r) = self.record.as_ref() {
            tpl.columns
                .extend_from_slice(r.columns.get(c0 as usize..).unwrap_or_default());
            tpl.values
                .extend_from_slice(r.values.get(v0 as usize..).unwrap_or_default());
        }
        let rel = |f: u32, base: u32| f.saturating_sub(base);
        let firsts = self
            .record
            .as_ref()
            .and_then(|r| r.firsts.last().copied())
            .unwrap_or_default();
        tpl.firsts = Firsts {
            columns: rel(firsts.columns, c0),
            new_row: rel(firsts.new_row, v0),
            old_row: rel(firsts.old_row, v0),
        };
        tpl.values_at.clear();
        tpl.has_layout = !self.tracer.no_layout;
        if tpl.has_layout {
            tpl.values_at.extend_from_slice(&self.tracer.values_at);
        }
        tpl.fresh.clear();
        tpl.min_gap = 0;
        for (kind, f) in Fresh::ALL.iter().zip(&self.tracer.fresh) {
            if let Some([(_, start, _), (pos, _, end)]) = f {
                tpl.fresh.push((*kind, *start, *pos, *end));
                tpl.min_gap = tpl.min_gap.max(end - start);
            }
        }
        (tpl.slot_w, tpl.packed) = slot;
        tpl.rec = Some(*rec);
        (tpl.work, tpl.data_bytes) = (work, data_bytes);
    }

    /// Validates the event in the `w`-byte slot at `pos` (packed type `packed`) by comparing
    /// it with the template, and pushes its record to `out`; `None` (and nothing pushed)
    /// when there is no template or the event differs from it.
    #[inline]
    pub(super) fn replay(
        &mut self,
        pos: usize,
        w: usize,
        packed: u8,
        out: &mut Vec<EventRec>,
    ) -> Option<()> {
        let tpl = &self.template;
        let tpl_rec = tpl.rec.as_ref()?;
        if tpl.packed != packed || tpl.slot_w != w {
            return None;
        }
        let b = self.r.buf();
        let t = target(b, pos, w)?;
        let delta = t.checked_sub(tpl.t0).filter(|&d| d > 0)?;
        let base = t.checked_add_signed(tpl.lo)?;
        let s = b.get(base..base.checked_add(tpl.span)?)?;
        let base0 = tpl.t0.checked_add_signed(tpl.lo)?;
        let s0 = b.get(base0..base0.checked_add(tpl.span)?)?;
        let mut masks = tpl.mask.as_slice();
        for &(start, words) in &tpl.segments {
            let (at, words) = (start as usize * 8, words as usize);
            let (m, rest) = masks.split_at_checked(words)?;
            masks = rest;
            let (Some(x), Some(y)) = (s.get(at..), s0.get(at..)) else {
                return None;
            };
            if masked_differ(x, y, m) {
                return None;
            }
        }
        if !offsets_moved_by(s, &tpl.offset_words, delta as u64, tpl.offset_room) {
            return None;
        }
        for &(off, len) in &tpl.strings {
            let off = off as usize;
            super::check_utf8(s.get(off..off.checked_add(len as usize)?)?).ok()?;
        }
        for &(off, len, w) in &tpl.wide {
            let (off, w) = (off as usize, usize::from(w));
            let raw = s.get(off..off.checked_add((len as usize).checked_mul(w)?)?)?;
            if !wide_are_bytes(raw, w) {
                return None;
            }
        }
        let recording = self.record.is_some();
        let (columns, values) = (&mut self.scratch.0, &mut self.scratch.1);
        if recording {
            columns.clear();
            values.clear();
            columns.extend(tpl.columns.iter().map(|c| c.shifted(delta)));
            values.extend(tpl.values.iter().map(|v| ValueRec {
                data: v.data.shifted(delta),
                ..*v
            }));
            for &c in &tpl.fixed_columns {
                let c = usize::from(c);
                *columns.get_mut(c)? = *tpl.columns.get(c)?;
            }
        }
        let [position, timestamp, transaction] = tpl.event_uints;
        let read = |at: Option<(u32, u64)>, was: u64| match at {
            Some((off, mask)) => word(s, off as usize).map(|v| v & mask),
            None => Some(was),
        };
        let position = read(position, tpl_rec.position)?;
        let timestamp_us = read(timestamp, tpl_rec.timestamp_us)?;
        let transaction_id = read(transaction, tpl_rec.transaction_id)?;
        let mut operation = tpl_rec.operation;
        // (Type tags are not among them: `Tracer::uint` makes them bytes the mask compares.)
        for &(off, mask, out) in &tpl.uints {
            let v = word(s, off as usize)? & mask;
            match out {
                Out::Operation => {
                    operation = OperationType::from_byte(u8::try_from(v).ok()?)?;
                }
                Out::Oid(i) => {
                    let oid = u32::try_from(v).ok()?;
                    if recording {
                        values.get_mut(usize::from(i))?.oid = oid;
                    }
                }
                _ => return None,
            }
        }
        let work = self.work.saturating_add(tpl.work);
        if work > self.budget {
            return None;
        }
        // The objects no writer shares lie after the previous ones of their kind: the
        // event's first of each kind after the last one before it (the others follow each
        // other as in the template's event). When the event before was replayed by this
        // template too (and `Order` not told yet), that is one comparison: `t` must lie
        // `min_gap` bytes after it.
        match tpl.pending {
            Some(prev) => {
                if (t as isize).wrapping_sub(prev as isize) < tpl.min_gap {
                    return None;
                }
            }
            None => {
                let at = |rel| t.wrapping_add_signed(rel);
                for &(kind, start, _, _) in &tpl.fresh {
                    if !self.order.may_follow(kind, at(start)) {
                        return None;
                    }
                }
            }
        }
        // Accepted: from here on nothing fails.
        self.work = work;
        self.data_bytes = self.data_bytes.saturating_add(tpl.data_bytes);
        if let Some(r) = self.record.as_mut() {
            let (c0, v0) = (r.columns.len() as u32, r.values.len() as u32);
            r.columns.extend_from_slice(columns);
            r.values.extend_from_slice(values);
            r.firsts.push(
                Firsts {
                    columns: c0 + tpl.firsts.columns,
                    new_row: v0 + tpl.firsts.new_row,
                    old_row: v0 + tpl.firsts.old_row,
                }
                .settled(tpl_rec.new_row.is_some(), tpl_rec.old_row.is_some()),
            );
        }
        // A copy of the template event's record, moved to this event in place.
        out.push(*tpl_rec);
        let moved = tpl.moved;
        self.template.pending = Some(t);
        let layout = self.layout_of(t);
        if let Some(rec) = out.last_mut() {
            rec.shift(delta, moved);
            rec.position = position;
            rec.timestamp_us = timestamp_us;
            rec.transaction_id = transaction_id;
            rec.operation = operation;
            rec.layout = layout;
        }
        Some(())
    }

    /// Tells [`Order`] where the objects of the last event replayed lie, if it was not told
    /// yet. Everything but the template's replay reads `order`, so it is settled before
    /// any other pass reads an event and when the events are done.
    #[inline]
    pub(super) fn settle_order(&mut self) {
        let tpl = &mut self.template;
        if let Some(t) = tpl.pending.take() {
            let at = |rel| t.wrapping_add_signed(rel);
            for &(kind, _, pos, end) in &tpl.fresh {
                self.order.set_last(kind, at(pos), at(end));
            }
        }
    }

    /// The event at `t`'s place in the layout table: the template's values, entered in the
    /// table when the first event uses them (`None` when they cannot be described).
    #[inline(always)]
    fn layout_of(&mut self, t: usize) -> Option<Layout> {
        if !self.template.has_layout {
            return None;
        }
        let first = match self.template.layout {
            Some(first) => first,
            None => self.enter_layout()?,
        };
        Some(Layout {
            first,
            t: NonZeroU32::new(u32::try_from(t).ok()?)?,
        })
    }

    /// Enters the template's values in the layout table (once per template); their first
    /// entry.
    #[cold]
    #[inline(never)]
    fn enter_layout(&mut self) -> Option<u32> {
        let tpl = &mut self.template;
        let at = &tpl.values_at;
        let first = u32::try_from(self.layouts.len()).ok()?;
        if self.layouts.capacity() == 0 {
            self.layouts.reserve(at.len() * 4);
        }
        self.layouts.extend_from_slice(at);
        tpl.layout = Some(first);
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::offsets_moved_by;

    /// Two 2-byte keys-vector entries holding 0x0110 and 0x00F0 in the template event, in
    /// one word at offset 1 of the span: `(offset, lanes, mask, value)`.
    const WORD: (u32, u64, u64, u64) = (1, 0x0001_0001, 0xFFFF_FFFF, 0x00F0_0110);

    fn span(a: u16, b: u16) -> Vec<u8> {
        let mut s = vec![0xEE; 12];
        s[1..3].copy_from_slice(&a.to_le_bytes());
        s[3..5].copy_from_slice(&b.to_le_bytes());
        s
    }

    #[test]
    fn entries_must_each_move_by_the_distance() {
        let room = 0xFFFF - 0x0110;
        assert!(offsets_moved_by(
            &span(0x0110 + 7, 0x00F0 + 7),
            &[WORD],
            7,
            room
        ));
        // One entry moved by a different amount, or not at all.
        assert!(!offsets_moved_by(
            &span(0x0110 + 7, 0x00F0 + 8),
            &[WORD],
            7,
            room
        ));
        assert!(!offsets_moved_by(
            &span(0x0110 + 7, 0x00F0),
            &[WORD],
            7,
            room
        ));
        // Bytes outside the mask are not compared.
        let mut s = span(0x0117, 0x00F7);
        s[0] = 0;
        s[5] = 0;
        assert!(offsets_moved_by(&s, &[WORD], 7, room));
    }

    #[test]
    fn a_distance_that_would_carry_between_entries_is_refused() {
        // Entries 0xFFF0 and 0x0010 moved by 0x20: the first no longer fits 2 bytes, and
        // adding the whole word carries its overflow into the second, so a crafted word
        // (0x0010, 0x0031) equals the sum. Only the room check refuses it.
        let word = (1, 0x0001_0001, 0xFFFF_FFFF, 0x0010_FFF0);
        let d = 0x20;
        let room = 0xFFFF - 0xFFF0;
        let crafted = span(0x0010, 0x0031);
        assert!(offsets_moved_by(&crafted, &[word], d, u64::MAX));
        assert!(!offsets_moved_by(&crafted, &[word], d, room));
        // Within the room, the same entries move exactly.
        assert!(offsets_moved_by(&span(0xFFFF, 0x001F), &[word], 0xF, room));
    }

    #[test]
    fn a_word_past_the_span_fails() {
        let short = &span(0x0117, 0x00F7)[..8];
        assert!(!offsets_moved_by(short, &[WORD], 7, u64::MAX));
        assert!(offsets_moved_by(short, &[], 7, u64::MAX));
    }
}
