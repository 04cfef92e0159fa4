//! The Compat writer: scry-protocol 0.1.1's bytes, as its serde derive drives the flexbuffers
//! 2.0.0 serializer, without serde or the flexbuffers builder.
//!
//! The order of writes reproduces the serializer's: fields are visited in declaration order;
//! visiting a field writes its key (the first time the key occurs in the FlexBuffer), then any
//! string or nested map or vector it holds; scalars wait in their parent's slots. When a struct
//! ends, its keys vector and then its map are written with the fields sorted by key. Enums are
//! strings holding the variant name, `data` a vector of unsigned integers, and an absent
//! `Option` a null, except the five late optional fields, which are left out when absent.

use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta,
    Row, SequenceValue,
};

use super::fields::Fields;
use super::runs::{all_short, strings_end, Run};
use super::shared::{KeySets, KeyShape};
use super::sink::Sink;
use super::template::{Layout, Shape, Templates};
use super::value::{ty, Val};
use crate::schema::{kind, slot, Field, KEY_COUNT};

/// Not yet written.
const NO_KEY: usize = usize::MAX;

/// Vectors of up to this many elements gather them on the call stack, not in `stack`.
const SMALL: usize = 8;

/// The structs whose maps [`Compat::full_map`] writes with every field present, indexing
/// `Compat::full_shapes` (their keys' addresses, hence their shapes, never change once known).
const FULL_ROW: usize = 0;
const FULL_COLUMN_VALUE: usize = 1;
const FULL_EVENT_WITHOUT_DDL: usize = 2;
const FULL_COLUMN_META: usize = 3;

/// Writes one Compat FlexBuffer.
pub(crate) struct Compat<'a> {
    sink: Sink<'a>,
    state: State,
}

/// What a [`Compat`] writer knows of the FlexBuffer written so far, kept apart from its
/// sink so that a batch can be written an event at a time (see `BatchEncoder`).
pub(crate) struct State {
    /// The address of each key once written.
    keys: [usize; KEY_COUNT],
    /// Elements of the vectors being written, innermost last.
    stack: Vec<Val>,
    key_sets: KeySets,
    /// The keys shapes of the structs written through `full_map`, once known.
    full_shapes: [Option<KeyShape>; 4],
    /// The last run of an event's operation, schema and table strings, to copy when the next
    /// event repeats them (see `runs`).
    names_run: Option<Run>,
    /// The last run of an event's column names followed by their vector of 1-byte slots.
    columns_run: Option<Run>,
    /// Recent column values by shape, to patch and copy (see `template`).
    templates: Templates,
}

impl State {
    fn new() -> Self {
        State {
            keys: [NO_KEY; KEY_COUNT],
            stack: Vec::new(),
            key_sets: KeySets::new(),
            full_shapes: [None; 4],
            names_run: None,
            columns_run: None,
            templates: Templates::default(),
        }
    }
}

impl<'a> Compat<'a> {
    /// A writer appending to `sink`.
    pub(crate) fn new(sink: Sink<'a>) -> Self {
        Compat {
            sink,
            state: State::new(),
        }
    }

    /// A writer going on where the one that returned `state` ([`Compat::into_state`])
    /// stopped, with the same FlexBuffer behind `sink`.
    pub(crate) fn resume(sink: Sink<'a>, state: State) -> Self {
        Compat { sink, state }
    }

    /// What this writer knows, to [`resume`](Compat::resume) it later.
    pub(crate) fn into_state(self) -> State {
        self.state
    }

    /// Writes `batch` as the root.
    pub(crate) fn batch_root(mut self, batch: &DatabaseEventBatch) {
        self.state.stack.reserve(batch.events.len().max(8));
        let root = self.batch(batch);
        self.sink.root(root);
    }

    /// Writes `event` as the root.
    pub(crate) fn event_root(mut self, event: &DatabaseEvent) {
        self.state.stack.reserve(8);
        let root = self.event(event);
        self.sink.root(root);
    }

    /// The address of `key`, writing it first if this FlexBuffer does not hold it yet.
    #[inline]
    pub(crate) fn key(&mut self, key: Field) -> usize {
        let slot = &mut self.state.keys[key as usize];
        if *slot == NO_KEY {
            *slot = self.sink.key(key.name());
        }
        *slot
    }

    /// Writes the keys vector and the map of `fields` of struct `kind`.
    #[inline]
    fn map<const N: usize>(&mut self, kind: u8, fields: &Fields<N>) -> Val {
        let tag = KeySets::tag(kind, fields.mask());
        let sink = &mut self.sink;
        let sets = &mut self.state.key_sets;
        fields
            .with_present(|keys, vals| sink.keys_and_map(keys, &sets.get(tag, keys).shape, vals).1)
    }

    /// Writes the keys vector and the map of a struct whose `N` fields are all present,
    /// given in key order; `full` (a `FULL_*` constant) names the struct.
    #[inline(always)]
    fn full_map<const N: usize>(&mut self, full: usize, keys: &[usize; N], vals: &[Val; N]) -> Val {
        self.full_map_parts(full, keys, vals).1
    }

    /// [`Compat::full_map`], returning the keys vector too.
    #[inline(always)]
    fn full_map_parts<const N: usize>(
        &mut self,
        full: usize,
        keys: &[usize; N],
        vals: &[Val; N],
    ) -> (Val, Val) {
        match self.state.full_shapes.get_mut(full) {
            Some(slot) => {
                let shape = slot.get_or_insert_with(|| KeyShape::new(keys));
                self.sink.keys_and_map(keys, shape, vals)
            }
            None => self.sink.keys_and_map(keys, &KeyShape::new(keys), vals),
        }
    }

    /// Writes the strings `strs` one after another, or copies the previous run of them
    /// (kept in `names_run`) when it holds the same strings.
    #[inline(always)]
    fn names(&mut self, strs: [&str; 3]) -> [Val; 3] {
        let bytes = strs.map(str::as_bytes);
        if let Some(run) = self.state.names_run {
            let same = self
                .sink
                .written()
                .get(run.start..run.start + run.len)
                .and_then(|block| strings_end(block, bytes))
                == Some(run.len);
            let at = self.sink.pos();
            if same && self.sink.copy_written(run.start, run.len) {
                let mut p = at;
                return bytes.map(|s| {
                    let v = Val::reference(ty::STRING, p + 1, 0);
                    p += s.len() + 2;
                    v
                });
            }
        }
        let start = self.sink.pos();
        let vals = strs.map(|s| self.sink.string(s));
        self.state.names_run = all_short(bytes).then(|| Run {
            start,
            len: self.sink.pos() - start,
        });
        vals
    }

    /// Writes the column names and their vector, or copies the previous run of them (kept
    /// in `columns_run`) when it holds the same names.
    #[inline(always)]
    fn columns(&mut self, columns: &[String]) -> Val {
        let n = columns.len();
        if let Some(run) = self.state.columns_run {
            let block = self.sink.written().get(run.start..run.start + run.len);
            let names = columns.iter().map(String::as_bytes);
            // The names, then the vector: its length, a 1-byte slot and a type byte each.
            let vector = block
                .and_then(|block| strings_end(block, names).map(|end| (block, end)))
                .filter(|&(block, end)| {
                    n <= SMALL && block.get(end) == Some(&(n as u8)) && end + 1 + 2 * n == run.len
                })
                .map(|(_, end)| end + 1);
            let at = self.sink.pos();
            if let Some(first) = vector {
                if self.sink.copy_written(run.start, run.len) {
                    return Val::reference(ty::VECTOR, at + first, 0);
                }
            }
        }
        let start = self.sink.pos();
        let v = if n <= SMALL {
            let mut vals = [Val::NULL; SMALL];
            for (slot, c) in vals.iter_mut().zip(columns) {
                *slot = self.sink.string(c);
            }
            self.sink.vector(vals.get(..n).unwrap_or_default())
        } else {
            let mark = self.state.stack.len();
            for c in columns {
                let v = self.sink.string(c);
                self.state.stack.push(v);
            }
            self.end_vector(mark)
        };
        let shareable = n <= SMALL && v.w == 0 && all_short(columns.iter().map(String::as_bytes));
        self.state.columns_run = shareable.then(|| Run {
            start,
            len: self.sink.pos() - start,
        });
        v
    }

    /// Writes an untyped vector of the values pushed since `mark`.
    #[inline]
    fn end_vector(&mut self, mark: usize) -> Val {
        let v = self
            .sink
            .vector(self.state.stack.get(mark..).unwrap_or_default());
        self.state.stack.truncate(mark);
        v
    }

    fn string_or_null(&mut self, s: Option<&str>) -> Val {
        match s {
            Some(s) => self.sink.string(s),
            None => Val::NULL,
        }
    }

    fn batch(&mut self, b: &DatabaseEventBatch) -> Val {
        let (k, mark) = self.batch_open();
        for e in &b.events {
            self.batch_event(e);
        }
        self.batch_close(k, mark, b)
    }

    /// Starts a batch: the events' key; returns its address and the stack mark its events
    /// start at.
    pub(crate) fn batch_open(&mut self) -> (usize, usize) {
        (self.key(Field::Events), self.state.stack.len())
    }

    /// Writes one event of the batch opened by [`Compat::batch_open`].
    #[inline]
    pub(crate) fn batch_event(&mut self, e: &DatabaseEvent) {
        let v = self.event(e);
        self.state.stack.push(v);
    }

    /// Ends the batch opened by [`Compat::batch_open`] with the fields of `b` but its events
    /// (the events written since), and returns its map.
    pub(crate) fn batch_close(&mut self, k: usize, mark: usize, b: &DatabaseEventBatch) -> Val {
        let mut f = Fields::<7>::new();
        let v = self.end_vector(mark);
        f.set(slot!(BATCH, Events), k, v);
        let k = self.key(Field::SourceId);
        let v = self.string_or_null(b.source_id.as_deref());
        f.set(slot!(BATCH, SourceId), k, v);
        let k = self.key(Field::BatchSeq);
        f.set(slot!(BATCH, BatchSeq), k, Val::uint(b.batch_seq));
        let k = self.key(Field::Relations);
        let v = self.relations(&b.relations);
        f.set(slot!(BATCH, Relations), k, v);
        if let Some(d) = b.control_directive {
            let k = self.key(Field::ControlDirective);
            let v = self.sink.short_string(d.name());
            f.set(slot!(BATCH, ControlDirective), k, v);
        }
        if let Some(seqs) = &b.sequence_values {
            let k = self.key(Field::SequenceValues);
            let v = self.sequences(seqs);
            f.set(slot!(BATCH, SequenceValues), k, v);
        }
        if let Some(m) = &b.backfill_metadata {
            let k = self.key(Field::BackfillMetadata);
            let v = self.backfill(m);
            f.set(slot!(BATCH, BackfillMetadata), k, v);
        }
        self.map(kind::BATCH, &f)
    }

    fn event(&mut self, e: &DatabaseEvent) -> Val {
        self.event_with_row(e, e.new_row.as_ref())
    }

    /// Writes one event of the batch opened by [`Compat::batch_open`]: `e` with `new_row`
    /// in place of its own.
    #[inline]
    pub(crate) fn batch_event_with_row(&mut self, e: &DatabaseEvent, new_row: Option<&Row>) {
        let v = self.event_with_row(e, new_row);
        self.state.stack.push(v);
    }

    fn event_with_row(&mut self, e: &DatabaseEvent, new_row: Option<&Row>) -> Val {
        let k_id = self.key(Field::EventId);
        let id = self.string_or_null(e.event_id.as_deref());
        let k_ts = self.key(Field::TimestampUs);
        let ts = Val::uint(e.timestamp_us);
        let (op, schema, table, k_op, k_schema, k_table);
        let name_keys = [Field::Operation, Field::Schema, Field::Table];
        if name_keys
            .iter()
            .all(|&k| self.state.keys[k as usize] != NO_KEY)
        {
            // No key to write in between: the three strings lie back to back.
            [k_op, k_schema, k_table] = name_keys.map(|k| self.state.keys[k as usize]);
            [op, schema, table] = self.names([e.operation.name(), &e.schema, &e.table]);
        } else {
            k_op = self.key(Field::Operation);
            op = self.sink.short_string(e.operation.name());
            k_schema = self.key(Field::Schema);
            schema = self.sink.string(&e.schema);
            k_table = self.key(Field::Table);
            table = self.sink.string(&e.table);
        }
        let k_pos = self.key(Field::Position);
        let pos = Val::uint(e.position);
        let k_tx = self.key(Field::TransactionId);
        let tx = Val::uint(e.transaction_id);
        let k_new = self.key(Field::NewRow);
        let new_row = self.row_or_null(new_row);
        let k_old = self.key(Field::OldRow);
        let old_row = self.row_or_null(e.old_row.as_ref());
        let k_cols = self.key(Field::Columns);
        let cols = self.columns(&e.columns);
        let k_rel = self.key(Field::RelationMeta);
        let rel = match &e.relation_meta {
            Some(r) => self.relation(r),
            None => Val::NULL,
        };
        if e.ddl_sql.is_none() && e.ddl_object_type.is_none() {
            // In the order of `schema::EVENT_WITHOUT_DDL`.
            let keys = [
                k_cols, k_id, k_new, k_old, k_op, k_pos, k_rel, k_schema, k_table, k_ts, k_tx,
            ];
            let vals = [
                cols, id, new_row, old_row, op, pos, rel, schema, table, ts, tx,
            ];
            return self.full_map(FULL_EVENT_WITHOUT_DDL, &keys, &vals);
        }
        let mut f = Fields::<13>::new();
        f.set(slot!(EVENT, EventId), k_id, id);
        f.set(slot!(EVENT, TimestampUs), k_ts, ts);
        f.set(slot!(EVENT, Operation), k_op, op);
        f.set(slot!(EVENT, Schema), k_schema, schema);
        f.set(slot!(EVENT, Table), k_table, table);
        f.set(slot!(EVENT, Position), k_pos, pos);
        f.set(slot!(EVENT, TransactionId), k_tx, tx);
        f.set(slot!(EVENT, NewRow), k_new, new_row);
        f.set(slot!(EVENT, OldRow), k_old, old_row);
        f.set(slot!(EVENT, Columns), k_cols, cols);
        f.set(slot!(EVENT, RelationMeta), k_rel, rel);
        if let Some(sql) = &e.ddl_sql {
            let k = self.key(Field::DdlSql);
            let v = self.sink.string(sql);
            f.set(slot!(EVENT, DdlSql), k, v);
        }
        if let Some(t) = &e.ddl_object_type {
            let k = self.key(Field::DdlObjectType);
            let v = self.sink.string(t);
            f.set(slot!(EVENT, DdlObjectType), k, v);
        }
        self.map(kind::EVENT, &f)
    }

    fn row_or_null(&mut self, row: Option<&Row>) -> Val {
        let Some(row) = row else {
            return Val::NULL;
        };
        let k = self.key(Field::Values);
        let v = if row.values.len() <= SMALL {
            let mut vals = [Val::NULL; SMALL];
            for (slot, value) in vals.iter_mut().zip(&row.values) {
                *slot = self.column_value(value);
            }
            self.sink
                .vector(vals.get(..row.values.len()).unwrap_or_default())
        } else {
            let mark = self.state.stack.len();
            for value in &row.values {
                let v = self.column_value(value);
                self.state.stack.push(v);
            }
            self.end_vector(mark)
        };
        self.full_map(FULL_ROW, &[k], &[v])
    }

    fn column_value(&mut self, c: &ColumnValue) -> Val {
        let at = self.sink.pos();
        let keys_known = [Field::TypeTag, Field::TypeOid, Field::Data]
            .iter()
            .all(|&k| self.state.keys[k as usize] != NO_KEY);
        let data = c.data.as_deref();
        let shape = Shape::of(c.type_tag.as_u8(), c.type_oid, data, at).filter(|_| keys_known);
        if let (Some(shape), Some(Some(keys))) =
            (shape, self.state.full_shapes.get(FULL_COLUMN_VALUE))
        {
            if let Some(t) = self.state.templates.get(shape) {
                // The same bytes but for the data and the key offsets, if the keys vector
                // keeps its width here.
                if keys.width_at(at + t.keys_start) == t.keys_w {
                    if let Some((bytes, map)) = t.moved_to(at, data.unwrap_or_default()) {
                        self.sink.raw(bytes);
                        return map;
                    }
                }
            }
        }
        let k_tag = self.key(Field::TypeTag);
        let tag = self.sink.short_string(c.type_tag.name());
        let k_oid = self.key(Field::TypeOid);
        let oid = Val::uint(c.type_oid.into());
        let k_data = self.key(Field::Data);
        let data = match data {
            Some(d) => self.sink.byte_vector(d),
            None => Val::NULL,
        };
        let keys_start = self.sink.pos();
        // In the order of `schema::COLUMN_VALUE`.
        let (keys, map) = self.full_map_parts(
            FULL_COLUMN_VALUE,
            &[k_data, k_oid, k_tag],
            &[data, oid, tag],
        );
        if let Some(shape) = shape {
            let layout = Layout {
                keys_start: keys_start - at,
                keys,
                data: (!data.is_inline()).then_some(data),
                map,
            };
            let bytes = self.sink.written().get(at..).unwrap_or_default();
            self.state.templates.put(shape, at, bytes, &layout);
        }
        map
    }

    /// The sink this writer appends to (for the compact writer, which writes its blobs
    /// through it and the batch's low-volume fields through this writer).
    pub(crate) fn sink(&mut self) -> &mut Sink<'a> {
        &mut self.sink
    }

    /// Ends the FlexBuffer with `root`.
    pub(crate) fn finish(mut self, root: Val) {
        self.sink.root(root);
    }

    /// Writes a vector of relation maps.
    pub(crate) fn relations<'r>(
        &mut self,
        relations: impl IntoIterator<Item = &'r RelationMeta>,
    ) -> Val {
        let mark = self.state.stack.len();
        for r in relations {
            let v = self.relation(r);
            self.state.stack.push(v);
        }
        self.end_vector(mark)
    }

    /// Writes the compact encoding's `metas`: each relation as the index of an equal entry
    /// of the batch's `relations` that no earlier entry named (its map is not written
    /// again), or as a relation map.
    pub(crate) fn metas(&mut self, metas: &[RelationMeta], relations: &[RelationMeta]) -> Val {
        let mark = self.state.stack.len();
        // Which entries of `relations` are named already (relations past 128 are written).
        let mut named = 0u128;
        for m in metas {
            let same = relations
                .iter()
                .take(128)
                .enumerate()
                .position(|(j, r)| named & (1 << j) == 0 && r.rel_id == m.rel_id && r == m);
            let v = match same {
                Some(j) => {
                    named |= 1 << j;
                    Val::uint(j as u64)
                }
                None => self.relation(m),
            };
            self.state.stack.push(v);
        }
        self.end_vector(mark)
    }

    fn relation(&mut self, r: &RelationMeta) -> Val {
        let mut f = Fields::<5>::new();
        let k = self.key(Field::RelId);
        f.set(slot!(RELATION, RelId), k, Val::uint(r.rel_id.into()));
        let k = self.key(Field::Schema);
        let v = self.sink.string(&r.schema);
        f.set(slot!(RELATION, Schema), k, v);
        let k = self.key(Field::Table);
        let v = self.sink.string(&r.table);
        f.set(slot!(RELATION, Table), k, v);
        let k = self.key(Field::Columns);
        let mark = self.state.stack.len();
        for c in &r.columns {
            let v = self.column_meta(c);
            self.state.stack.push(v);
        }
        let v = self.end_vector(mark);
        f.set(slot!(RELATION, Columns), k, v);
        let k = self.key(Field::ReplicaIdentity);
        let v = self.sink.short_string(r.replica_identity.name());
        f.set(slot!(RELATION, ReplicaIdentity), k, v);
        self.map(kind::RELATION, &f)
    }

    fn column_meta(&mut self, c: &ColumnMeta) -> Val {
        // Keys asked for in the order 0.1.1 meets the fields (a key is written when first
        // asked for); the map, whose fields are always all there, in key order.
        let k_name = self.key(Field::Name);
        let name = self.sink.string(&c.name);
        let k_oid = self.key(Field::TypeOid);
        let k_modifier = self.key(Field::TypeModifier);
        let k_key = self.key(Field::IsKey);
        // In the order of `schema::COLUMN_META`.
        self.full_map(
            FULL_COLUMN_META,
            &[k_key, k_name, k_modifier, k_oid],
            &[
                Val::boolean(c.is_key),
                name,
                Val::int(c.type_modifier.into()),
                Val::uint(c.type_oid.into()),
            ],
        )
    }

    /// Writes a vector of sequence value maps.
    pub(crate) fn sequences(&mut self, seqs: &[SequenceValue]) -> Val {
        let mark = self.state.stack.len();
        for s in seqs {
            let v = self.sequence(s);
            self.state.stack.push(v);
        }
        self.end_vector(mark)
    }

    fn sequence(&mut self, s: &SequenceValue) -> Val {
        let mut f = Fields::<7>::new();
        let k = self.key(Field::Schema);
        let v = self.sink.string(&s.schema);
        f.set(slot!(SEQUENCE, Schema), k, v);
        let k = self.key(Field::Name);
        let v = self.sink.string(&s.name);
        f.set(slot!(SEQUENCE, Name), k, v);
        let k = self.key(Field::LastValue);
        f.set(slot!(SEQUENCE, LastValue), k, Val::int(s.last_value));
        let k = self.key(Field::IsCalled);
        f.set(slot!(SEQUENCE, IsCalled), k, Val::boolean(s.is_called));
        let k = self.key(Field::IncrementBy);
        f.set(slot!(SEQUENCE, IncrementBy), k, Val::int(s.increment_by));
        let k = self.key(Field::MinValue);
        f.set(slot!(SEQUENCE, MinValue), k, Val::int(s.min_value));
        let k = self.key(Field::MaxValue);
        f.set(slot!(SEQUENCE, MaxValue), k, Val::int(s.max_value));
        self.map(kind::SEQUENCE, &f)
    }

    /// Writes a backfill metadata map.
    pub(crate) fn backfill(&mut self, m: &BackfillMetadata) -> Val {
        let mut f = Fields::<2>::new();
        let k = self.key(Field::TableCount);
        f.set(
            slot!(BACKFILL, TableCount),
            k,
            Val::uint(m.table_count.into()),
        );
        let k = self.key(Field::EstimatedTotalRows);
        f.set(
            slot!(BACKFILL, EstimatedTotalRows),
            k,
            Val::uint(m.estimated_total_rows),
        );
        self.map(kind::BACKFILL, &f)
    }
}
