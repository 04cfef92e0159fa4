//! The protocol's types as the peer formats want them: [`proto`] for prost (protobuf), and
//! [`mirror`] for the serde formats (bincode, postcard, MessagePack, JSON). Each holds every
//! field of `DatabaseEventBatch`, `DatabaseEvent`, `Row` and `ColumnValue` and of the metadata
//! around them, and converts both ways, so the benchmark can check that nothing is left out:
//! `DatabaseEventBatch -> mirror -> DatabaseEventBatch` must give back the batch.
//!
//! Enums travel as their discriminants (the compact encoding stores them the same way), value
//! data as bytes: `bytes::Bytes` in protobuf, `serde_bytes::ByteBuf` for serde, so a binary
//! format writes one length and the bytes rather than a sequence of integers.

use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

/// The discriminant as `u8`, from a wider wire integer.
fn byte(v: u32) -> u8 {
    u8::try_from(v).expect("enum discriminant fits a byte")
}

fn type_tag(b: u8) -> TypeTag {
    TypeTag::from_byte(b).expect("TypeTag discriminant")
}

fn operation(b: u8) -> OperationType {
    OperationType::from_byte(b).expect("OperationType discriminant")
}

fn replica_identity(b: u8) -> ReplicaIdentity {
    ReplicaIdentity::from_byte(b).expect("ReplicaIdentity discriminant")
}

fn control_directive(b: u8) -> ControlDirective {
    ControlDirective::from_byte(b).expect("ControlDirective discriminant")
}

/// Protobuf messages, derived with `prost::Message` by hand (what `prost-build` would generate
/// from the equivalent `.proto`, without a build script). Optional scalars and strings are
/// proto3 `optional`; `sequence_values` is wrapped in a message of its own, since a repeated
/// field cannot tell an absent list from an empty one.
pub mod proto {
    use bytes::Bytes;

    use super::{byte, control_directive, operation, replica_identity, type_tag};
    use super::{
        BackfillMetadata as Backfill, ColumnMeta as Meta, ColumnValue, DatabaseEvent,
        DatabaseEventBatch, RelationMeta as Relation, Row as TypesRow, SequenceValue as Seq,
    };

    /// A `ColumnValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Value {
        /// `TypeTag` discriminant.
        #[prost(uint32, tag = "1")]
        pub type_tag: u32,
        /// PostgreSQL type OID.
        #[prost(uint32, tag = "2")]
        pub type_oid: u32,
        /// The value's bytes; absent for NULL and unchanged TOAST.
        #[prost(bytes = "bytes", optional, tag = "3")]
        pub data: Option<Bytes>,
    }

    /// A `Row`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Row {
        /// The values, in column order.
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<Value>,
    }

    /// A `ColumnMeta`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ColumnMeta {
        /// Column name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Type OID.
        #[prost(uint32, tag = "2")]
        pub type_oid: u32,
        /// Type modifier.
        #[prost(int32, tag = "3")]
        pub type_modifier: i32,
        /// Part of the replica identity key.
        #[prost(bool, tag = "4")]
        pub is_key: bool,
    }

    /// A `RelationMeta`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RelationMeta {
        /// Relation OID.
        #[prost(uint32, tag = "1")]
        pub rel_id: u32,
        /// Schema name.
        #[prost(string, tag = "2")]
        pub schema: String,
        /// Table name.
        #[prost(string, tag = "3")]
        pub table: String,
        /// The columns.
        #[prost(message, repeated, tag = "4")]
        pub columns: Vec<ColumnMeta>,
        /// `ReplicaIdentity` discriminant.
        #[prost(uint32, tag = "5")]
        pub replica_identity: u32,
    }

    /// A `DatabaseEvent`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Event {
        /// Event ID.
        #[prost(string, optional, tag = "1")]
        pub event_id: Option<String>,
        /// Microseconds since the Unix epoch.
        #[prost(uint64, tag = "2")]
        pub timestamp_us: u64,
        /// `OperationType` discriminant.
        #[prost(uint32, tag = "3")]
        pub operation: u32,
        /// Schema name.
        #[prost(string, tag = "4")]
        pub schema: String,
        /// Table name.
        #[prost(string, tag = "5")]
        pub table: String,
        /// LSN.
        #[prost(uint64, tag = "6")]
        pub position: u64,
        /// Transaction ID.
        #[prost(uint64, tag = "7")]
        pub transaction_id: u64,
        /// New row.
        #[prost(message, optional, tag = "8")]
        pub new_row: Option<Row>,
        /// Old row or key.
        #[prost(message, optional, tag = "9")]
        pub old_row: Option<Row>,
        /// Column names.
        #[prost(string, repeated, tag = "10")]
        pub columns: Vec<String>,
        /// Relation metadata.
        #[prost(message, optional, tag = "11")]
        pub relation_meta: Option<RelationMeta>,
        /// DDL statement.
        #[prost(string, optional, tag = "12")]
        pub ddl_sql: Option<String>,
        /// DDL object type.
        #[prost(string, optional, tag = "13")]
        pub ddl_object_type: Option<String>,
    }

    /// A `SequenceValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SequenceValue {
        /// Schema name.
        #[prost(string, tag = "1")]
        pub schema: String,
        /// Sequence name.
        #[prost(string, tag = "2")]
        pub name: String,
        /// `last_value`.
        #[prost(int64, tag = "3")]
        pub last_value: i64,
        /// `is_called`.
        #[prost(bool, tag = "4")]
        pub is_called: bool,
        /// `increment_by`.
        #[prost(int64, tag = "5")]
        pub increment_by: i64,
        /// `min_value`.
        #[prost(int64, tag = "6")]
        pub min_value: i64,
        /// `max_value`.
        #[prost(int64, tag = "7")]
        pub max_value: i64,
    }

    /// The batch's sequence values, present (possibly empty) or absent as a whole.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SequenceValues {
        /// The values.
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<SequenceValue>,
    }

    /// A `BackfillMetadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BackfillMetadata {
        /// Tables to backfill.
        #[prost(uint32, tag = "1")]
        pub table_count: u32,
        /// Estimated rows.
        #[prost(uint64, tag = "2")]
        pub estimated_total_rows: u64,
    }

    /// A `DatabaseEventBatch`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Batch {
        /// The events.
        #[prost(message, repeated, tag = "1")]
        pub events: Vec<Event>,
        /// Source ID.
        #[prost(string, optional, tag = "2")]
        pub source_id: Option<String>,
        /// Batch sequence number.
        #[prost(uint64, tag = "3")]
        pub batch_seq: u64,
        /// Relation metadata.
        #[prost(message, repeated, tag = "4")]
        pub relations: Vec<RelationMeta>,
        /// `ControlDirective` discriminant.
        #[prost(uint32, optional, tag = "5")]
        pub control_directive: Option<u32>,
        /// Sequence values.
        #[prost(message, optional, tag = "6")]
        pub sequence_values: Option<SequenceValues>,
        /// Backfill metadata.
        #[prost(message, optional, tag = "7")]
        pub backfill_metadata: Option<BackfillMetadata>,
    }

    impl Batch {
        /// Every value's data (new rows, then old rows, event by event).
        pub fn value_data(&self) -> impl Iterator<Item = &[u8]> {
            self.events
                .iter()
                .flat_map(|e| e.new_row.iter().chain(e.old_row.iter()))
                .flat_map(|r| r.values.iter())
                .filter_map(|v| v.data.as_deref())
        }
    }

    fn row(r: &TypesRow) -> Row {
        Row {
            values: r
                .values
                .iter()
                .map(|v| Value {
                    type_tag: v.type_tag.as_u8().into(),
                    type_oid: v.type_oid,
                    data: v.data.clone(),
                })
                .collect(),
        }
    }

    fn relation(r: &Relation) -> RelationMeta {
        RelationMeta {
            rel_id: r.rel_id,
            schema: r.schema.clone(),
            table: r.table.clone(),
            columns: r
                .columns
                .iter()
                .map(|c| ColumnMeta {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: r.replica_identity.as_u8().into(),
        }
    }

    fn sequence(s: &Seq) -> SequenceValue {
        SequenceValue {
            schema: s.schema.clone(),
            name: s.name.clone(),
            last_value: s.last_value,
            is_called: s.is_called,
            increment_by: s.increment_by,
            min_value: s.min_value,
            max_value: s.max_value,
        }
    }

    impl From<&DatabaseEventBatch> for Batch {
        fn from(b: &DatabaseEventBatch) -> Self {
            Self {
                events: b
                    .events
                    .iter()
                    .map(|e| Event {
                        event_id: e.event_id.clone(),
                        timestamp_us: e.timestamp_us,
                        operation: e.operation.as_u8().into(),
                        schema: e.schema.clone(),
                        table: e.table.clone(),
                        position: e.position,
                        transaction_id: e.transaction_id,
                        new_row: e.new_row.as_ref().map(row),
                        old_row: e.old_row.as_ref().map(row),
                        columns: e.columns.clone(),
                        relation_meta: e.relation_meta.as_ref().map(relation),
                        ddl_sql: e.ddl_sql.clone(),
                        ddl_object_type: e.ddl_object_type.clone(),
                    })
                    .collect(),
                source_id: b.source_id.clone(),
                batch_seq: b.batch_seq,
                relations: b.relations.iter().map(relation).collect(),
                control_directive: b.control_directive.map(|d| d.as_u8().into()),
                sequence_values: b.sequence_values.as_ref().map(|s| SequenceValues {
                    values: s.iter().map(sequence).collect(),
                }),
                backfill_metadata: b.backfill_metadata.map(|m| BackfillMetadata {
                    table_count: m.table_count,
                    estimated_total_rows: m.estimated_total_rows,
                }),
            }
        }
    }

    fn back_row(r: &Row) -> TypesRow {
        TypesRow::new(
            r.values
                .iter()
                .map(|v| ColumnValue {
                    type_tag: type_tag(byte(v.type_tag)),
                    type_oid: v.type_oid,
                    data: v.data.clone(),
                })
                .collect(),
        )
    }

    fn back_relation(r: &RelationMeta) -> Relation {
        Relation {
            rel_id: r.rel_id,
            schema: r.schema.clone(),
            table: r.table.clone(),
            columns: r
                .columns
                .iter()
                .map(|c| Meta {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: replica_identity(byte(r.replica_identity)),
        }
    }

    impl From<&Batch> for DatabaseEventBatch {
        fn from(b: &Batch) -> Self {
            Self {
                events: b
                    .events
                    .iter()
                    .map(|e| DatabaseEvent {
                        event_id: e.event_id.clone(),
                        timestamp_us: e.timestamp_us,
                        operation: operation(byte(e.operation)),
                        schema: e.schema.clone(),
                        table: e.table.clone(),
                        position: e.position,
                        transaction_id: e.transaction_id,
                        new_row: e.new_row.as_ref().map(back_row),
                        old_row: e.old_row.as_ref().map(back_row),
                        columns: e.columns.clone(),
                        relation_meta: e.relation_meta.as_ref().map(back_relation),
                        ddl_sql: e.ddl_sql.clone(),
                        ddl_object_type: e.ddl_object_type.clone(),
                    })
                    .collect(),
                source_id: b.source_id.clone(),
                batch_seq: b.batch_seq,
                relations: b.relations.iter().map(back_relation).collect(),
                control_directive: b.control_directive.map(|d| control_directive(byte(d))),
                sequence_values: b.sequence_values.as_ref().map(|s| {
                    s.values
                        .iter()
                        .map(|s| Seq {
                            schema: s.schema.clone(),
                            name: s.name.clone(),
                            last_value: s.last_value,
                            is_called: s.is_called,
                            increment_by: s.increment_by,
                            min_value: s.min_value,
                            max_value: s.max_value,
                        })
                        .collect()
                }),
                backfill_metadata: b
                    .backfill_metadata
                    .as_ref()
                    .map(|m| Backfill::new(m.table_count, m.estimated_total_rows)),
            }
        }
    }
}

/// Plain structs deriving serde's traits, shared by bincode, postcard, MessagePack and JSON.
/// No field is skipped when absent: bincode and postcard are not self-describing, so every
/// field is written, `None` included.
pub mod mirror {
    use serde::{Deserialize, Serialize};
    use serde_bytes::ByteBuf;

    use super::{control_directive, operation, replica_identity, type_tag};
    use super::{
        BackfillMetadata as Backfill, ColumnMeta as Meta, ColumnValue, DatabaseEvent,
        DatabaseEventBatch, RelationMeta as Relation, Row as TypesRow, SequenceValue as Seq,
    };

    /// A `ColumnValue`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Value {
        /// `TypeTag` discriminant.
        pub type_tag: u8,
        /// PostgreSQL type OID.
        pub type_oid: u32,
        /// The value's bytes; `None` for NULL and unchanged TOAST.
        pub data: Option<ByteBuf>,
    }

    /// A `Row`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Row {
        /// The values, in column order.
        pub values: Vec<Value>,
    }

    /// A `ColumnMeta`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ColumnMeta {
        /// Column name.
        pub name: String,
        /// Type OID.
        pub type_oid: u32,
        /// Type modifier.
        pub type_modifier: i32,
        /// Part of the replica identity key.
        pub is_key: bool,
    }

    /// A `RelationMeta`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RelationMeta {
        /// Relation OID.
        pub rel_id: u32,
        /// Schema name.
        pub schema: String,
        /// Table name.
        pub table: String,
        /// The columns.
        pub columns: Vec<ColumnMeta>,
        /// `ReplicaIdentity` discriminant.
        pub replica_identity: u8,
    }

    /// A `DatabaseEvent`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Event {
        /// Event ID.
        pub event_id: Option<String>,
        /// Microseconds since the Unix epoch.
        pub timestamp_us: u64,
        /// `OperationType` discriminant.
        pub operation: u8,
        /// Schema name.
        pub schema: String,
        /// Table name.
        pub table: String,
        /// LSN.
        pub position: u64,
        /// Transaction ID.
        pub transaction_id: u64,
        /// New row.
        pub new_row: Option<Row>,
        /// Old row or key.
        pub old_row: Option<Row>,
        /// Column names.
        pub columns: Vec<String>,
        /// Relation metadata.
        pub relation_meta: Option<RelationMeta>,
        /// DDL statement.
        pub ddl_sql: Option<String>,
        /// DDL object type.
        pub ddl_object_type: Option<String>,
    }

    /// A `SequenceValue`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SequenceValue {
        /// Schema name.
        pub schema: String,
        /// Sequence name.
        pub name: String,
        /// `last_value`.
        pub last_value: i64,
        /// `is_called`.
        pub is_called: bool,
        /// `increment_by`.
        pub increment_by: i64,
        /// `min_value`.
        pub min_value: i64,
        /// `max_value`.
        pub max_value: i64,
    }

    /// A `BackfillMetadata`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct BackfillMetadata {
        /// Tables to backfill.
        pub table_count: u32,
        /// Estimated rows.
        pub estimated_total_rows: u64,
    }

    /// A `DatabaseEventBatch`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Batch {
        /// The events.
        pub events: Vec<Event>,
        /// Source ID.
        pub source_id: Option<String>,
        /// Batch sequence number.
        pub batch_seq: u64,
        /// Relation metadata.
        pub relations: Vec<RelationMeta>,
        /// `ControlDirective` discriminant.
        pub control_directive: Option<u8>,
        /// Sequence values.
        pub sequence_values: Option<Vec<SequenceValue>>,
        /// Backfill metadata.
        pub backfill_metadata: Option<BackfillMetadata>,
    }

    impl Batch {
        /// Every value's data (new rows, then old rows, event by event).
        pub fn value_data(&self) -> impl Iterator<Item = &[u8]> {
            self.events
                .iter()
                .flat_map(|e| e.new_row.iter().chain(e.old_row.iter()))
                .flat_map(|r| r.values.iter())
                .filter_map(|v| v.data.as_deref().map(|d| &d[..]))
        }
    }

    fn row(r: &TypesRow) -> Row {
        Row {
            values: r
                .values
                .iter()
                .map(|v| Value {
                    type_tag: v.type_tag.as_u8(),
                    type_oid: v.type_oid,
                    data: v.data.as_deref().map(|d| ByteBuf::from(d.to_vec())),
                })
                .collect(),
        }
    }

    fn relation(r: &Relation) -> RelationMeta {
        RelationMeta {
            rel_id: r.rel_id,
            schema: r.schema.clone(),
            table: r.table.clone(),
            columns: r
                .columns
                .iter()
                .map(|c| ColumnMeta {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: r.replica_identity.as_u8(),
        }
    }

    fn sequence(s: &Seq) -> SequenceValue {
        SequenceValue {
            schema: s.schema.clone(),
            name: s.name.clone(),
            last_value: s.last_value,
            is_called: s.is_called,
            increment_by: s.increment_by,
            min_value: s.min_value,
            max_value: s.max_value,
        }
    }

    impl From<&DatabaseEventBatch> for Batch {
        fn from(b: &DatabaseEventBatch) -> Self {
            Self {
                events: b
                    .events
                    .iter()
                    .map(|e| Event {
                        event_id: e.event_id.clone(),
                        timestamp_us: e.timestamp_us,
                        operation: e.operation.as_u8(),
                        schema: e.schema.clone(),
                        table: e.table.clone(),
                        position: e.position,
                        transaction_id: e.transaction_id,
                        new_row: e.new_row.as_ref().map(row),
                        old_row: e.old_row.as_ref().map(row),
                        columns: e.columns.clone(),
                        relation_meta: e.relation_meta.as_ref().map(relation),
                        ddl_sql: e.ddl_sql.clone(),
                        ddl_object_type: e.ddl_object_type.clone(),
                    })
                    .collect(),
                source_id: b.source_id.clone(),
                batch_seq: b.batch_seq,
                relations: b.relations.iter().map(relation).collect(),
                control_directive: b.control_directive.map(|d| d.as_u8()),
                sequence_values: b
                    .sequence_values
                    .as_ref()
                    .map(|s| s.iter().map(sequence).collect()),
                backfill_metadata: b.backfill_metadata.map(|m| BackfillMetadata {
                    table_count: m.table_count,
                    estimated_total_rows: m.estimated_total_rows,
                }),
            }
        }
    }

    fn back_row(r: &Row) -> TypesRow {
        TypesRow::new(
            r.values
                .iter()
                .map(|v| ColumnValue {
                    type_tag: type_tag(v.type_tag),
                    type_oid: v.type_oid,
                    data: v.data.as_deref().map(|d| d.to_vec().into()),
                })
                .collect(),
        )
    }

    fn back_relation(r: &RelationMeta) -> Relation {
        Relation {
            rel_id: r.rel_id,
            schema: r.schema.clone(),
            table: r.table.clone(),
            columns: r
                .columns
                .iter()
                .map(|c| Meta {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: replica_identity(r.replica_identity),
        }
    }

    impl From<&Batch> for DatabaseEventBatch {
        fn from(b: &Batch) -> Self {
            Self {
                events: b
                    .events
                    .iter()
                    .map(|e| DatabaseEvent {
                        event_id: e.event_id.clone(),
                        timestamp_us: e.timestamp_us,
                        operation: operation(e.operation),
                        schema: e.schema.clone(),
                        table: e.table.clone(),
                        position: e.position,
                        transaction_id: e.transaction_id,
                        new_row: e.new_row.as_ref().map(back_row),
                        old_row: e.old_row.as_ref().map(back_row),
                        columns: e.columns.clone(),
                        relation_meta: e.relation_meta.as_ref().map(back_relation),
                        ddl_sql: e.ddl_sql.clone(),
                        ddl_object_type: e.ddl_object_type.clone(),
                    })
                    .collect(),
                source_id: b.source_id.clone(),
                batch_seq: b.batch_seq,
                relations: b.relations.iter().map(back_relation).collect(),
                control_directive: b.control_directive.map(control_directive),
                sequence_values: b.sequence_values.as_ref().map(|s| {
                    s.iter()
                        .map(|s| Seq {
                            schema: s.schema.clone(),
                            name: s.name.clone(),
                            last_value: s.last_value,
                            is_called: s.is_called,
                            increment_by: s.increment_by,
                            min_value: s.min_value,
                            max_value: s.max_value,
                        })
                        .collect()
                }),
                backfill_metadata: b
                    .backfill_metadata
                    .as_ref()
                    .map(|m| Backfill::new(m.table_count, m.estimated_total_rows)),
            }
        }
    }
}
