//! The Compact writer: the same maps, keys and nesting as Compat, but enums are UInt
//! discriminants, `data` is a blob, every absent `Option` is left out, maps with the same
//! key set share one keys vector, and short strings repeated nearby are shared.

use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta,
    Row, SequenceValue,
};

use super::fields::Fields;
use super::keys::{kind, slot, Field, KEY_COUNT};
use super::shared::{KeySets, Strings};
use super::sink::Sink;
use super::value::Val;

/// Not yet written.
const NO_KEY: usize = usize::MAX;

/// Vectors of up to this many elements gather them on the call stack, not in `stack`.
const SMALL: usize = 8;

/// Writes one Compact FlexBuffer.
pub(crate) struct Compact<'a> {
    sink: Sink<'a>,
    /// The address of each key once written.
    keys: [usize; KEY_COUNT],
    /// Elements of the vectors being written, innermost last.
    stack: Vec<Val>,
    key_sets: KeySets,
    strings: Strings,
}

impl<'a> Compact<'a> {
    /// A writer appending to `sink`.
    pub(crate) fn new(sink: Sink<'a>) -> Self {
        Compact {
            sink,
            keys: [NO_KEY; KEY_COUNT],
            stack: Vec::new(),
            key_sets: KeySets::new(),
            strings: Strings::new(),
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

    /// Writes the map of `fields` of struct `kind`, reusing that key set's keys vector when
    /// it is near enough not to widen the map's slots.
    #[inline(always)]
    fn map<const N: usize>(&mut self, kind: u8, fields: &Fields<N>) -> Val {
        let tag = KeySets::tag(kind, fields.mask());
        if let Some((keys, vals)) = fields.all() {
            return self.map_of(tag, keys, vals);
        }
        let (keys, vals, n) = fields.gathered();
        self.map_of(
            tag,
            keys.get(..n).unwrap_or_default(),
            vals.get(..n).unwrap_or_default(),
        )
    }

    /// Writes a map of `vals` (in key order) with keys at `keys`, of key set `tag`.
    #[inline(always)]
    fn map_of(&mut self, tag: u32, keys: &[usize], vals: &[Val]) -> Val {
        let set = self.key_sets.get(tag, keys);
        if let Some(kv) = set.shared {
            let w = self.sink.map_width_without_keys(vals);
            if self.sink.keys_ref_width(kv) <= w {
                return self.sink.map_with_width(kv, vals, w);
            }
        }
        let (kv, map) = self.sink.keys_and_map(keys, &set.shape, vals);
        set.shared = Some(kv);
        map
    }

    /// Writes an untyped vector of the values pushed since `mark`.
    #[inline]
    fn end_vector(&mut self, mark: usize) -> Val {
        let v = self.sink.vector(self.stack.get(mark..).unwrap_or_default());
        self.stack.truncate(mark);
        v
    }

    /// Writes a string, or refers to the same string written shortly before.
    #[inline]
    fn shared_string(&mut self, s: &str) -> Val {
        let bytes = s.as_bytes();
        if bytes.is_empty() || bytes.len() > Strings::MAX_LEN {
            return self.sink.string(s);
        }
        let key = Strings::key(bytes);
        let min_addr = self.sink.pos().saturating_sub(Strings::REACH);
        if let Some(v) = self.strings.get(key, bytes, self.sink.written(), min_addr) {
            return v;
        }
        let v = self.sink.string(s);
        self.strings.put(key, v);
        v
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
        if let Some(s) = &b.source_id {
            let k = self.key(Field::SourceId);
            let v = self.shared_string(s);
            f.set(slot!(BATCH, SourceId), k, v);
        }
        let k = self.key(Field::BatchSeq);
        f.set(slot!(BATCH, BatchSeq), k, Val::uint(b.batch_seq));
        let k = self.key(Field::Relations);
        let mark = self.stack.len();
        for r in &b.relations {
            let v = self.relation(r);
            self.stack.push(v);
        }
        let v = self.end_vector(mark);
        f.set(slot!(BATCH, Relations), k, v);
        if let Some(d) = b.control_directive {
            let k = self.key(Field::ControlDirective);
            f.set(
                slot!(BATCH, ControlDirective),
                k,
                Val::uint(d.as_u8().into()),
            );
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
        // An event's rows and values start their keys vectors afresh (then share them within
        // the event while near), so that alike events are laid out alike wherever they lie:
        // a reader validates such events by comparing each with the one before
        // (`view::parse::template`). It costs one small keys vector per row, where sharing
        // across events would write one per 255 bytes or so anyway.
        const ROW_ALL: u32 = 1 << slot!(ROW, Values);
        const VALUE_ALL: u32 = 1 << slot!(COLUMN_VALUE, Data)
            | 1 << slot!(COLUMN_VALUE, TypeOid)
            | 1 << slot!(COLUMN_VALUE, TypeTag);
        const VALUE_NO_DATA: u32 = VALUE_ALL & !(1 << slot!(COLUMN_VALUE, Data));
        self.key_sets.forget(KeySets::tag(kind::ROW, ROW_ALL));
        self.key_sets
            .forget(KeySets::tag(kind::COLUMN_VALUE, VALUE_ALL));
        self.key_sets
            .forget(KeySets::tag(kind::COLUMN_VALUE, VALUE_NO_DATA));
        let mut f = Fields::<13>::new();
        if let Some(id) = &e.event_id {
            let k = self.key(Field::EventId);
            let v = self.sink.string(id);
            f.set(slot!(EVENT, EventId), k, v);
        }
        let k = self.key(Field::TimestampUs);
        f.set(slot!(EVENT, TimestampUs), k, Val::uint(e.timestamp_us));
        let k = self.key(Field::Operation);
        f.set(
            slot!(EVENT, Operation),
            k,
            Val::uint(e.operation.as_u8().into()),
        );
        let k = self.key(Field::Schema);
        let v = self.shared_string(&e.schema);
        f.set(slot!(EVENT, Schema), k, v);
        let k = self.key(Field::Table);
        let v = self.shared_string(&e.table);
        f.set(slot!(EVENT, Table), k, v);
        let k = self.key(Field::Position);
        f.set(slot!(EVENT, Position), k, Val::uint(e.position));
        let k = self.key(Field::TransactionId);
        f.set(slot!(EVENT, TransactionId), k, Val::uint(e.transaction_id));
        if let Some(row) = &e.new_row {
            let k = self.key(Field::NewRow);
            let v = self.row(row);
            f.set(slot!(EVENT, NewRow), k, v);
        }
        if let Some(row) = &e.old_row {
            let k = self.key(Field::OldRow);
            let v = self.row(row);
            f.set(slot!(EVENT, OldRow), k, v);
        }
        let k = self.key(Field::Columns);
        let v = if e.columns.len() <= SMALL {
            let mut vals = [Val::NULL; SMALL];
            for (slot, c) in vals.iter_mut().zip(&e.columns) {
                *slot = self.shared_string(c);
            }
            self.sink
                .vector(vals.get(..e.columns.len()).unwrap_or_default())
        } else {
            let mark = self.stack.len();
            for c in &e.columns {
                let v = self.shared_string(c);
                self.stack.push(v);
            }
            self.end_vector(mark)
        };
        f.set(slot!(EVENT, Columns), k, v);
        if let Some(r) = &e.relation_meta {
            let k = self.key(Field::RelationMeta);
            let v = self.relation(r);
            f.set(slot!(EVENT, RelationMeta), k, v);
        }
        if let Some(sql) = &e.ddl_sql {
            let k = self.key(Field::DdlSql);
            let v = self.sink.string(sql);
            f.set(slot!(EVENT, DdlSql), k, v);
        }
        if let Some(t) = &e.ddl_object_type {
            let k = self.key(Field::DdlObjectType);
            let v = self.shared_string(t);
            f.set(slot!(EVENT, DdlObjectType), k, v);
        }
        self.map(kind::EVENT, &f)
    }

    fn row(&mut self, row: &Row) -> Val {
        let mut f = Fields::<1>::new();
        let k = self.key(Field::Values);
        let v = if row.values.len() <= SMALL {
            let mut vals = [Val::NULL; SMALL];
            for (slot, value) in vals.iter_mut().zip(&row.values) {
                *slot = self.column_value(value);
            }
            self.sink
                .vector(vals.get(..row.values.len()).unwrap_or_default())
        } else {
            let mark = self.stack.len();
            for value in &row.values {
                let v = self.column_value(value);
                self.stack.push(v);
            }
            self.end_vector(mark)
        };
        f.set(slot!(ROW, Values), k, v);
        self.map(kind::ROW, &f)
    }

    fn column_value(&mut self, c: &ColumnValue) -> Val {
        let mut f = Fields::<3>::new();
        let k = self.key(Field::TypeTag);
        f.set(
            slot!(COLUMN_VALUE, TypeTag),
            k,
            Val::uint(c.type_tag.as_u8().into()),
        );
        let k = self.key(Field::TypeOid);
        f.set(
            slot!(COLUMN_VALUE, TypeOid),
            k,
            Val::uint(c.type_oid.into()),
        );
        if let Some(d) = &c.data {
            let k = self.key(Field::Data);
            let v = self.sink.blob(d);
            f.set(slot!(COLUMN_VALUE, Data), k, v);
        }
        self.map(kind::COLUMN_VALUE, &f)
    }

    fn relation(&mut self, r: &RelationMeta) -> Val {
        let mut f = Fields::<5>::new();
        let k = self.key(Field::RelId);
        f.set(slot!(RELATION, RelId), k, Val::uint(r.rel_id.into()));
        let k = self.key(Field::Schema);
        let v = self.shared_string(&r.schema);
        f.set(slot!(RELATION, Schema), k, v);
        let k = self.key(Field::Table);
        let v = self.shared_string(&r.table);
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
        f.set(
            slot!(RELATION, ReplicaIdentity),
            k,
            Val::uint(r.replica_identity.as_u8().into()),
        );
        self.map(kind::RELATION, &f)
    }

    fn column_meta(&mut self, c: &ColumnMeta) -> Val {
        let mut f = Fields::<4>::new();
        let k = self.key(Field::Name);
        let v = self.shared_string(&c.name);
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
        let v = self.shared_string(&s.schema);
        f.set(slot!(SEQUENCE, Schema), k, v);
        let k = self.key(Field::Name);
        let v = self.shared_string(&s.name);
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

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::TypeTag;

    /// The address of the keys vector of the map `map`, read from its prefix.
    fn keys_vector_of(written: &[u8], map: Val) -> usize {
        let n = 1usize << map.w;
        let slot = map.addr() - 3 * n;
        let mut offset = [0u8; 8];
        offset[..n].copy_from_slice(&written[slot..slot + n]);
        slot - u64::from_le_bytes(offset) as usize
    }

    #[test]
    fn maps_with_the_same_keys_share_a_keys_vector_while_it_is_near() {
        let mut buf = Vec::new();
        let mut w = Compact::new(Sink::new(&mut buf, 0));
        let value = ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]);
        let first = w.column_value(&value);
        let second = w.column_value(&value);
        let written = w.sink.written();
        assert_eq!((first.w, second.w), (0, 0));
        assert_eq!(
            keys_vector_of(written, first),
            keys_vector_of(written, second)
        );
        // Another key set (no data) gets its own keys vector.
        let third = w.column_value(&ColumnValue::null());
        let written = w.sink.written();
        assert_ne!(
            keys_vector_of(written, third),
            keys_vector_of(written, first)
        );
        // 300 bytes later the shared one would need 2-byte slots: a fresh copy is written.
        w.sink.blob(&[0; 300]);
        let fourth = w.column_value(&value);
        let written = w.sink.written();
        assert_eq!(fourth.w, 0);
        assert!(keys_vector_of(written, fourth) > keys_vector_of(written, first) + 300);
        // ... and shared from then on.
        let fifth = w.column_value(&value);
        let written = w.sink.written();
        assert_eq!(
            keys_vector_of(written, fifth),
            keys_vector_of(written, fourth)
        );
    }

    #[test]
    fn short_strings_are_shared_within_reach() {
        let mut buf = Vec::new();
        let mut w = Compact::new(Sink::new(&mut buf, 0));
        let first = w.shared_string("public");
        assert_eq!(w.shared_string("public"), first);
        assert_ne!(w.shared_string("publik"), first);
        // Empty and long strings are always written afresh.
        assert_ne!(w.shared_string(""), w.shared_string(""));
        let long = "x".repeat(Strings::MAX_LEN + 1);
        assert_ne!(w.shared_string(&long), w.shared_string(&long));
        // Past the reach, a fresh copy is written and shared from then on.
        w.sink.blob(&vec![0; Strings::REACH]);
        let again = w.shared_string("public");
        assert_ne!(again, first);
        assert_eq!(w.shared_string("public"), again);
    }
}
