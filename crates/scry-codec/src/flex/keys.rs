//! The map keys of the protocol's structs: every distinct field name, and each struct's
//! fields in the order FlexBuffers stores them (sorted by key bytes).
//!
//! The sorted tables are written out by hand and checked at compile time, so the writers
//! place each field in its slot without sorting anything at run time.

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

/// The structs, to tell their key sets apart.
pub(crate) mod kind {
    pub(crate) const BATCH: u8 = 0;
    pub(crate) const EVENT: u8 = 1;
    pub(crate) const RELATION: u8 = 4;
    pub(crate) const SEQUENCE: u8 = 6;
    pub(crate) const BACKFILL: u8 = 7;
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
            let slot = $crate::flex::keys::slot_of(
                &$crate::flex::keys::$table,
                $crate::flex::keys::Field::$key,
            );
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

const _: () = {
    assert!(is_without(
        &EVENT_WITHOUT_DDL,
        &EVENT,
        Field::DdlObjectType,
        Field::DdlSql
    ));
    assert!(strictly_sorted(&BATCH));
    assert!(strictly_sorted(&EVENT));
    assert!(strictly_sorted(&ROW));
    assert!(strictly_sorted(&COLUMN_VALUE));
    assert!(strictly_sorted(&RELATION));
    assert!(strictly_sorted(&COLUMN_META));
    assert!(strictly_sorted(&SEQUENCE));
    assert!(strictly_sorted(&BACKFILL));
};

#[cfg(test)]
mod tests {
    use super::*;

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
