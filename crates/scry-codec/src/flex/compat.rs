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
use super::keys::{kind, slot, Field, KEY_COUNT};
use super::shared::KeySets;
use super::sink::Sink;
use super::value::Val;

/// Not yet written.
const NO_KEY: usize = usize::MAX;

/// Writes one Compat FlexBuffer.
pub(crate) struct Compat<'a> {
    sink: Sink<'a>,
    /// The address of each key once written.
    keys: [usize; KEY_COUNT],
    /// Elements of the vectors being written, innermost last.
    stack: Vec<Val>,
    key_sets: KeySets,
}

impl<'a> Compat<'a> {
    /// A writer appending to `sink`.
    pub(crate) fn new(sink: Sink<'a>) -> Self {
        Compat {
            sink,
            keys: [NO_KEY; KEY_COUNT],
            stack: Vec::new(),
            key_sets: KeySets::new(),
        }
    }

    /// Writes `batch` as the root.
    pub(crate) fn batch_root(mut self, batch: &DatabaseEventBatch) {
        self.stack.reserve(batch.events.len().max(8));
        let root = self.batch(batch);
        self.sink.root(root);
    }

    /// Writes `event` as the root.
    pub(crate) fn event_root(mut self, event: &DatabaseEvent) {
        self.stack.reserve(8);
        let root = self.event(event);
        self.sink.root(root);
    }

    /// The address of `key`, writing it first if this FlexBuffer does not hold it yet.
    #[inline]
    fn key(&mut self, key: Field) -> usize {
        let slot = &mut self.keys[key as usize];
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
        let sets = &mut self.key_sets;
        fields
            .with_present(|keys, vals| sink.keys_and_map(keys, &sets.get(tag, keys).shape, vals).1)
    }

    /// Writes an untyped vector of the values pushed since `mark`.
    #[inline]
    fn end_vector(&mut self, mark: usize) -> Val {
        let v = self.sink.vector(self.stack.get(mark..).unwrap_or_default());
        self.stack.truncate(mark);
        v
    }

    fn string_or_null(&mut self, s: Option<&str>) -> Val {
        match s {
            Some(s) => self.sink.string(s),
            None => Val::NULL,
        }
    }

    fn batch(&mut self, b: &DatabaseEventBatch) -> Val {
        let mut f = Fields::<7>::new();
        let k = self.key(Field::Events);
        let mark = self.stack.len();
        for e in &b.events {
            let v = self.event(e);
            self.stack.push(v);
        }
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
            let mark = self.stack.len();
            for s in seqs {
                let v = self.sequence(s);
                self.stack.push(v);
            }
            let v = self.end_vector(mark);
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
        let mut f = Fields::<13>::new();
        let k = self.key(Field::EventId);
        let v = self.string_or_null(e.event_id.as_deref());
        f.set(slot!(EVENT, EventId), k, v);
        let k = self.key(Field::TimestampUs);
        f.set(slot!(EVENT, TimestampUs), k, Val::uint(e.timestamp_us));
        let k = self.key(Field::Operation);
        let v = self.sink.short_string(e.operation.name());
        f.set(slot!(EVENT, Operation), k, v);
        let k = self.key(Field::Schema);
        let v = self.sink.string(&e.schema);
        f.set(slot!(EVENT, Schema), k, v);
        let k = self.key(Field::Table);
        let v = self.sink.string(&e.table);
        f.set(slot!(EVENT, Table), k, v);
        let k = self.key(Field::Position);
        f.set(slot!(EVENT, Position), k, Val::uint(e.position));
        let k = self.key(Field::TransactionId);
        f.set(slot!(EVENT, TransactionId), k, Val::uint(e.transaction_id));
        let k = self.key(Field::NewRow);
        let v = self.row_or_null(e.new_row.as_ref());
        f.set(slot!(EVENT, NewRow), k, v);
        let k = self.key(Field::OldRow);
        let v = self.row_or_null(e.old_row.as_ref());
        f.set(slot!(EVENT, OldRow), k, v);
        let k = self.key(Field::Columns);
        let mark = self.stack.len();
        for c in &e.columns {
            let v = self.sink.string(c);
            self.stack.push(v);
        }
        let v = self.end_vector(mark);
        f.set(slot!(EVENT, Columns), k, v);
        let k = self.key(Field::RelationMeta);
        let v = match &e.relation_meta {
            Some(r) => self.relation(r),
            None => Val::NULL,
        };
        f.set(slot!(EVENT, RelationMeta), k, v);
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
        let mut f = Fields::<1>::new();
        let k = self.key(Field::Values);
        let mark = self.stack.len();
        for value in &row.values {
            let v = self.column_value(value);
            self.stack.push(v);
        }
        let v = self.end_vector(mark);
        f.set(slot!(ROW, Values), k, v);
        self.map(kind::ROW, &f)
    }

    fn column_value(&mut self, c: &ColumnValue) -> Val {
        let mut f = Fields::<3>::new();
        let k = self.key(Field::TypeTag);
        let v = self.sink.short_string(c.type_tag.name());
        f.set(slot!(COLUMN_VALUE, TypeTag), k, v);
        let k = self.key(Field::TypeOid);
        f.set(
            slot!(COLUMN_VALUE, TypeOid),
            k,
            Val::uint(c.type_oid.into()),
        );
        let k = self.key(Field::Data);
        let v = match &c.data {
            Some(d) => self.sink.byte_vector(d),
            None => Val::NULL,
        };
        f.set(slot!(COLUMN_VALUE, Data), k, v);
        self.map(kind::COLUMN_VALUE, &f)
    }

    fn relations(&mut self, relations: &[RelationMeta]) -> Val {
        let mark = self.stack.len();
        for r in relations {
            let v = self.relation(r);
            self.stack.push(v);
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
        let mark = self.stack.len();
        for c in &r.columns {
            let v = self.column_meta(c);
            self.stack.push(v);
        }
        let v = self.end_vector(mark);
        f.set(slot!(RELATION, Columns), k, v);
        let k = self.key(Field::ReplicaIdentity);
        let v = self.sink.short_string(r.replica_identity.name());
        f.set(slot!(RELATION, ReplicaIdentity), k, v);
        self.map(kind::RELATION, &f)
    }

    fn column_meta(&mut self, c: &ColumnMeta) -> Val {
        let mut f = Fields::<4>::new();
        let k = self.key(Field::Name);
        let v = self.sink.string(&c.name);
        f.set(slot!(COLUMN_META, Name), k, v);
        let k = self.key(Field::TypeOid);
        f.set(slot!(COLUMN_META, TypeOid), k, Val::uint(c.type_oid.into()));
        let k = self.key(Field::TypeModifier);
        f.set(
            slot!(COLUMN_META, TypeModifier),
            k,
            Val::int(c.type_modifier.into()),
        );
        let k = self.key(Field::IsKey);
        f.set(slot!(COLUMN_META, IsKey), k, Val::boolean(c.is_key));
        self.map(kind::COLUMN_META, &f)
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

    fn backfill(&mut self, m: &BackfillMetadata) -> Val {
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
