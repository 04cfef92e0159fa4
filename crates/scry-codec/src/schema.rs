//! The protocol's schema, once for the writers and the reader: every distinct field name,
//! the structs, and each struct's fields in the order FlexBuffers stores them (sorted by key
//! bytes).
//!
//! The sorted tables are written out by hand and checked at compile time, so the writers
//! place each field in its slot without sorting anything at run time, and the reader knows a
//! field by its index in the same table.

/// Every distinct field name used as a map key. The discriminant indexes the writers' table
/// of key addresses (a key is written once per FlexBuffer and shared by every map using it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Field {
    BackfillMetadata,
    BatchSeq,
    Columns,
    ControlDirective,
    Data,
    DdlObjectType,
    DdlSql,
    EstimatedTotalRows,
    EventId,
    Events,
    IncrementBy,
    IsCalled,
    IsKey,
    LastValue,
    MaxValue,
    MinValue,
    Name,
    NewRow,
    OldRow,
    Operation,
    Position,
    RelId,
    RelationMeta,
    Relations,
    ReplicaIdentity,
    Schema,
    SequenceValues,
    SourceId,
    Table,
    TableCount,
    TimestampUs,
    TransactionId,
    TypeModifier,
    TypeOid,
    TypeTag,
    Values,
}

/// The number of distinct keys.
pub(crate) const KEY_COUNT: usize = Field::Values as usize + 1;

impl Field {
    /// The field name, as stored on the wire.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Field::BackfillMetadata => "backfill_metadata",
            Field::BatchSeq => "batch_seq",
            Field::Columns => "columns",
            Field::ControlDirective => "control_directive",
            Field::Data => "data",
            Field::DdlObjectType => "ddl_object_type",
            Field::DdlSql => "ddl_sql",
            Field::EstimatedTotalRows => "estimated_total_rows",
            Field::EventId => "event_id",
            Field::Events => "events",
            Field::IncrementBy => "increment_by",
            Field::IsCalled => "is_called",
            Field::IsKey => "is_key",
            Field::LastValue => "last_value",
            Field::MaxValue => "max_value",
            Field::MinValue => "min_value",
            Field::Name => "name",
            Field::NewRow => "new_row",
            Field::OldRow => "old_row",
            Field::Operation => "operation",
            Field::Position => "position",
            Field::RelId => "rel_id",
            Field::RelationMeta => "relation_meta",
            Field::Relations => "relations",
            Field::ReplicaIdentity => "replica_identity",
            Field::Schema => "schema",
            Field::SequenceValues => "sequence_values",
            Field::SourceId => "source_id",
            Field::Table => "table",
            Field::TableCount => "table_count",
            Field::TimestampUs => "timestamp_us",
            Field::TransactionId => "transaction_id",
            Field::TypeModifier => "type_modifier",
            Field::TypeOid => "type_oid",
            Field::TypeTag => "type_tag",
            Field::Values => "values",
        }
    }
}

/// The protocol's structs, numbered: the writers tell their key sets apart by it, and the
/// reader keeps a key cache for each.
pub(crate) mod kind {
    /// `DatabaseEventBatch`.
    pub(crate) const BATCH: u8 = 0;
    /// `DatabaseEvent`.
    pub(crate) const EVENT: u8 = 1;
    /// `Row`.
    pub(crate) const ROW: u8 = 2;
    /// `ColumnValue`.
    pub(crate) const COLUMN_VALUE: u8 = 3;
    /// `RelationMeta`.
    pub(crate) const RELATION: u8 = 4;
    /// `ColumnMeta`.
    pub(crate) const COLUMN_META: u8 = 5;
    /// `SequenceValue`.
    pub(crate) const SEQUENCE: u8 = 6;
    /// `BackfillMetadata`.
    pub(crate) const BACKFILL: u8 = 7;
    /// How many there are.
    pub(crate) const COUNT: usize = 8;
}

/// `DatabaseEventBatch`'s fields, sorted.
pub(crate) const BATCH: [Field; 7] = [
    Field::BackfillMetadata,
    Field::BatchSeq,
    Field::ControlDirective,
    Field::Events,
    Field::Relations,
    Field::SequenceValues,
    Field::SourceId,
];

/// `DatabaseEvent`'s fields, sorted.
pub(crate) const EVENT: [Field; 13] = [
    Field::Columns,
    Field::DdlObjectType,
    Field::DdlSql,
    Field::EventId,
    Field::NewRow,
    Field::OldRow,
    Field::Operation,
    Field::Position,
    Field::RelationMeta,
    Field::Schema,
    Field::Table,
    Field::TimestampUs,
    Field::TransactionId,
];

/// `DatabaseEvent`'s fields without the two optional DDL fields (the common case), sorted.
pub(crate) const EVENT_WITHOUT_DDL: [Field; 11] = [
    Field::Columns,
    Field::EventId,
    Field::NewRow,
    Field::OldRow,
    Field::Operation,
    Field::Position,
    Field::RelationMeta,
    Field::Schema,
    Field::Table,
    Field::TimestampUs,
    Field::TransactionId,
];

/// `Row`'s fields.
pub(crate) const ROW: [Field; 1] = [Field::Values];

/// `ColumnValue`'s fields, sorted.
pub(crate) const COLUMN_VALUE: [Field; 3] = [Field::Data, Field::TypeOid, Field::TypeTag];

/// `RelationMeta`'s fields, sorted.
pub(crate) const RELATION: [Field; 5] = [
    Field::Columns,
    Field::RelId,
    Field::ReplicaIdentity,
    Field::Schema,
    Field::Table,
];

/// `ColumnMeta`'s fields, sorted.
pub(crate) const COLUMN_META: [Field; 4] = [
    Field::IsKey,
    Field::Name,
    Field::TypeModifier,
    Field::TypeOid,
];

/// `SequenceValue`'s fields, sorted.
pub(crate) const SEQUENCE: [Field; 7] = [
    Field::IncrementBy,
    Field::IsCalled,
    Field::LastValue,
    Field::MaxValue,
    Field::MinValue,
    Field::Name,
    Field::Schema,
];

/// `BackfillMetadata`'s fields, sorted.
pub(crate) const BACKFILL: [Field; 2] = [Field::EstimatedTotalRows, Field::TableCount];

/// The slot of `key` in the sorted table `table`, or `usize::MAX` when it is not there.
pub(crate) const fn slot_of(table: &[Field], key: Field) -> usize {
    let mut i = 0;
    while i < table.len() {
        if table[i] as u8 == key as u8 {
            return i;
        }
        i += 1;
    }
    usize::MAX
}

/// The slot of a field in a struct's sorted table, as a constant (a field missing from the
/// table fails to compile).
macro_rules! slot {
    ($table:ident, $key:ident) => {{
        const SLOT: usize = {
            let slot =
                $crate::schema::slot_of(&$crate::schema::$table, $crate::schema::Field::$key);
            assert!(
                slot != usize::MAX,
                "field missing from its struct's key table"
            );
            slot
        };
        SLOT
    }};
}
pub(crate) use slot;

const fn less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

const fn strictly_sorted(table: &[Field]) -> bool {
    let mut i = 1;
    while i < table.len() {
        if !less(table[i - 1].name(), table[i].name()) {
            return false;
        }
        i += 1;
    }
    true
}

/// True when `sub` is `table` without `a` and `b`.
const fn is_without(sub: &[Field], table: &[Field], a: Field, b: Field) -> bool {
    let (mut i, mut j) = (0, 0);
    while j < table.len() {
        if table[j] as u8 != a as u8 && table[j] as u8 != b as u8 {
            if i >= sub.len() || sub[i] as u8 != table[j] as u8 {
                return false;
            }
            i += 1;
        }
        j += 1;
    }
    i == sub.len()
}

/// Every struct's sorted fields, indexed by its number in [`kind`].
pub(crate) const TABLES: [&[Field]; kind::COUNT] = {
    let mut t: [&[Field]; kind::COUNT] = [&[]; kind::COUNT];
    t[kind::BATCH as usize] = &BATCH;
    t[kind::EVENT as usize] = &EVENT;
    t[kind::ROW as usize] = &ROW;
    t[kind::COLUMN_VALUE as usize] = &COLUMN_VALUE;
    t[kind::RELATION as usize] = &RELATION;
    t[kind::COLUMN_META as usize] = &COLUMN_META;
    t[kind::SEQUENCE as usize] = &SEQUENCE;
    t[kind::BACKFILL as usize] = &BACKFILL;
    t
};

const _: () = {
    assert!(is_without(
        &EVENT_WITHOUT_DDL,
        &EVENT,
        Field::DdlObjectType,
        Field::DdlSql
    ));
    let mut k = 0;
    while k < TABLES.len() {
        // Every struct has a table (none left empty), sorted.
        assert!(!TABLES[k].is_empty() && strictly_sorted(TABLES[k]));
        k += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    use flexbuffers::Reader;
    use scry_types::{
        BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent,
        DatabaseEventBatch, OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue,
        TypeTag,
    };

    /// A batch with every optional field of every struct present.
    fn everything() -> DatabaseEventBatch {
        let relation = RelationMeta {
            rel_id: 16384,
            schema: "public".to_owned(),
            table: "t".to_owned(),
            columns: vec![ColumnMeta {
                name: "id".to_owned(),
                type_oid: 23,
                type_modifier: -1,
                is_key: true,
            }],
            replica_identity: ReplicaIdentity::Full,
        };
        let row = Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Int32,
            23,
            7i32.to_be_bytes().to_vec(),
        )]);
        DatabaseEventBatch {
            events: vec![DatabaseEvent {
                event_id: Some("e".to_owned()),
                timestamp_us: 1,
                operation: OperationType::Update,
                schema: "public".to_owned(),
                table: "t".to_owned(),
                position: 2,
                transaction_id: 3,
                new_row: Some(row.clone()),
                old_row: Some(row),
                columns: vec!["id".to_owned()],
                relation_meta: Some(relation.clone()),
                ddl_sql: Some("ALTER TABLE t ADD c int".to_owned()),
                ddl_object_type: Some("table".to_owned()),
            }],
            source_id: Some("src".to_owned()),
            batch_seq: 4,
            relations: vec![relation],
            control_directive: Some(ControlDirective::SyncSequences),
            sequence_values: Some(vec![SequenceValue {
                schema: "public".to_owned(),
                name: "s".to_owned(),
                last_value: 5,
                is_called: true,
                increment_by: 1,
                min_value: 1,
                max_value: 9,
            }]),
            backfill_metadata: Some(BackfillMetadata {
                table_count: 1,
                estimated_total_rows: 10,
            }),
        }
    }

    /// The keys of a map, as the flexbuffers crate reads them.
    fn keys(map: &Reader<&[u8]>) -> Vec<String> {
        let map = map.as_map();
        map.iter_keys().map(str::to_owned).collect()
    }

    fn names(table: &[Field]) -> Vec<String> {
        table.iter().map(|f| f.name().to_owned()).collect()
    }

    /// The tables the writers and the reader share are the keys the types' own serde derive
    /// writes (scry-protocol 0.1.1's path), struct by struct.
    #[test]
    fn tables_are_the_keys_serde_writes() {
        let bytes = scry_testkit::reference::serialize_batch(&everything()).expect("serializes");
        let root = Reader::get_root(bytes.as_slice()).expect("a FlexBuffer");
        let batch = root.as_map();
        let event = batch.idx("events").as_vector().idx(0);
        let row = event.as_map().idx("new_row");
        let value = row.as_map().idx("values").as_vector().idx(0);
        let relation = batch.idx("relations").as_vector().idx(0);
        let column = relation.as_map().idx("columns").as_vector().idx(0);
        let sequence = batch.idx("sequence_values").as_vector().idx(0);
        let backfill = batch.idx("backfill_metadata");
        assert_eq!(keys(&root), names(&BATCH));
        assert_eq!(keys(&event), names(&EVENT));
        assert_eq!(keys(&event.as_map().idx("relation_meta")), names(&RELATION));
        assert_eq!(keys(&row), names(&ROW));
        assert_eq!(keys(&value), names(&COLUMN_VALUE));
        assert_eq!(keys(&relation), names(&RELATION));
        assert_eq!(keys(&column), names(&COLUMN_META));
        assert_eq!(keys(&sequence), names(&SEQUENCE));
        assert_eq!(keys(&backfill), names(&BACKFILL));
        let every: Vec<Field> = TABLES.concat();
        // Every distinct key is some struct's field.
        for id in 0..KEY_COUNT {
            assert!(
                every.iter().any(|f| *f as usize == id),
                "key {id} is no field"
            );
        }
    }

    #[test]
    fn slots_follow_byte_order() {
        assert_eq!(slot!(COLUMN_VALUE, TypeOid), 1);
        assert_eq!(slot!(EVENT, TransactionId), 12);
        assert_eq!(slot_of(&EVENT, Field::Columns), 0);
        assert_eq!(slot_of(&ROW, Field::Data), usize::MAX);
        assert!(less("type_oid", "type_tag"));
        assert!(less("table", "table_count"));
        assert!(!less("table", "table"));
    }
}
