//! Field-by-field conversions between our types and scry-protocol 0.1.1's (`upstream`).
//!
//! Every struct is destructured without `..` and every enum is matched without a wildcard, in
//! both directions, so a field or variant added on either side stops this file compiling
//! instead of being skipped silently by the interop tests.
#![allow(dead_code)] // Each test crate that includes this module uses a different part of it.

use scry_protocol::database_event as ours;
use upstream::database_event as up;

/// Converts one of our values into the equal upstream value.
pub trait ToUpstream {
    /// The upstream type.
    type Upstream;
    /// The upstream value equal to `self`.
    fn to_upstream(&self) -> Self::Upstream;
}

/// Converts an upstream value into the equal value of ours.
pub trait FromUpstream: Sized {
    /// The upstream type.
    type Upstream;
    /// Our value equal to `value`.
    fn from_upstream(value: &Self::Upstream) -> Self;
}

/// `value.to_upstream()`, as a function.
pub fn to_upstream<T: ToUpstream>(value: &T) -> T::Upstream {
    value.to_upstream()
}

/// `T::from_upstream(value)`, as a function.
pub fn from_upstream<T: FromUpstream>(value: &T::Upstream) -> T {
    T::from_upstream(value)
}

/// Maps a fieldless enum variant by variant, both ways, with exhaustive matches.
/// Variants listed after `newer` exist only here: mapping one to 0.1.1 is a test bug.
macro_rules! map_enum {
    ($name:ident { $($variant:ident),+ $(,)? } $(newer { $($new:ident),+ })?) => {
        impl ToUpstream for ours::$name {
            type Upstream = up::$name;
            fn to_upstream(&self) -> up::$name {
                match self {
                    $(ours::$name::$variant => up::$name::$variant,)+
                    $($(ours::$name::$new => panic!(
                        "{}::{} is new in 0.2: 0.1.1 has no such variant",
                        stringify!($name),
                        stringify!($new)
                    ),)+)?
                }
            }
        }

        impl FromUpstream for ours::$name {
            type Upstream = up::$name;
            fn from_upstream(value: &up::$name) -> Self {
                match value {
                    $(up::$name::$variant => ours::$name::$variant,)+
                }
            }
        }
    };
}

map_enum!(TypeTag {
    Null,
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Text,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Timestamp,
    TimestampTz,
    Date,
    Time,
    TimeTz,
    Interval,
    Numeric,
    Bit,
    Varbit,
    Point,
    Line,
    Lseg,
    Box,
    Path,
    Polygon,
    Circle,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    Int4Range,
    Int8Range,
    NumRange,
    TsRange,
    TsTzRange,
    DateRange,
    Money,
    Xml,
    Array,
    ToastUnchanged,
    Custom,
});

map_enum!(OperationType {
    Insert,
    Update,
    Delete,
    Truncate,
    Begin,
    Commit,
    Rollback,
    SnapshotRow,
    SnapshotBegin,
    SnapshotEnd,
    SequenceSync,
    DisableForeignKeys,
    EnableForeignKeys,
    Ddl,
    DdlComplete,
    BackfillComplete,
    BackfillStart,
} newer { Message });

map_enum!(ReplicaIdentity {
    Default,
    Nothing,
    Full,
    Index
});

map_enum!(ControlDirective {
    DisableForeignKeys,
    EnableForeignKeys,
    SyncSequences,
});

impl<T: ToUpstream> ToUpstream for Option<T> {
    type Upstream = Option<T::Upstream>;
    fn to_upstream(&self) -> Self::Upstream {
        self.as_ref().map(T::to_upstream)
    }
}

impl<T: FromUpstream> FromUpstream for Option<T> {
    type Upstream = Option<T::Upstream>;
    fn from_upstream(value: &Self::Upstream) -> Self {
        value.as_ref().map(T::from_upstream)
    }
}

impl<T: ToUpstream> ToUpstream for Vec<T> {
    type Upstream = Vec<T::Upstream>;
    fn to_upstream(&self) -> Self::Upstream {
        self.iter().map(T::to_upstream).collect()
    }
}

impl<T: FromUpstream> FromUpstream for Vec<T> {
    type Upstream = Vec<T::Upstream>;
    fn from_upstream(value: &Self::Upstream) -> Self {
        value.iter().map(T::from_upstream).collect()
    }
}

impl ToUpstream for ours::ColumnValue {
    type Upstream = up::ColumnValue;
    fn to_upstream(&self) -> up::ColumnValue {
        let ours::ColumnValue {
            type_tag,
            type_oid,
            data,
        } = self;
        up::ColumnValue {
            type_tag: type_tag.to_upstream(),
            type_oid: *type_oid,
            data: data.as_ref().map(|d| d.to_vec()),
        }
    }
}

impl FromUpstream for ours::ColumnValue {
    type Upstream = up::ColumnValue;
    fn from_upstream(value: &up::ColumnValue) -> Self {
        let up::ColumnValue {
            type_tag,
            type_oid,
            data,
        } = value;
        ours::ColumnValue {
            type_tag: ours::TypeTag::from_upstream(type_tag),
            type_oid: *type_oid,
            data: data.as_ref().map(|d| ours::Bytes::copy_from_slice(d)),
        }
    }
}

impl ToUpstream for ours::Row {
    type Upstream = up::Row;
    fn to_upstream(&self) -> up::Row {
        let ours::Row { values } = self;
        up::Row {
            values: values.to_upstream(),
        }
    }
}

impl FromUpstream for ours::Row {
    type Upstream = up::Row;
    fn from_upstream(value: &up::Row) -> Self {
        let up::Row { values } = value;
        ours::Row {
            values: from_upstream(values),
        }
    }
}

impl ToUpstream for ours::ColumnMeta {
    type Upstream = up::ColumnMeta;
    fn to_upstream(&self) -> up::ColumnMeta {
        let ours::ColumnMeta {
            name,
            type_oid,
            type_modifier,
            is_key,
        } = self;
        up::ColumnMeta {
            name: name.clone(),
            type_oid: *type_oid,
            type_modifier: *type_modifier,
            is_key: *is_key,
        }
    }
}

impl FromUpstream for ours::ColumnMeta {
    type Upstream = up::ColumnMeta;
    fn from_upstream(value: &up::ColumnMeta) -> Self {
        let up::ColumnMeta {
            name,
            type_oid,
            type_modifier,
            is_key,
        } = value;
        ours::ColumnMeta {
            name: name.clone(),
            type_oid: *type_oid,
            type_modifier: *type_modifier,
            is_key: *is_key,
        }
    }
}

impl ToUpstream for ours::RelationMeta {
    type Upstream = up::RelationMeta;
    fn to_upstream(&self) -> up::RelationMeta {
        let ours::RelationMeta {
            rel_id,
            schema,
            table,
            columns,
            replica_identity,
        } = self;
        up::RelationMeta {
            rel_id: *rel_id,
            schema: schema.clone(),
            table: table.clone(),
            columns: columns.to_upstream(),
            replica_identity: replica_identity.to_upstream(),
        }
    }
}

impl FromUpstream for ours::RelationMeta {
    type Upstream = up::RelationMeta;
    fn from_upstream(value: &up::RelationMeta) -> Self {
        let up::RelationMeta {
            rel_id,
            schema,
            table,
            columns,
            replica_identity,
        } = value;
        ours::RelationMeta {
            rel_id: *rel_id,
            schema: schema.clone(),
            table: table.clone(),
            columns: from_upstream(columns),
            replica_identity: from_upstream(replica_identity),
        }
    }
}

impl ToUpstream for ours::SequenceValue {
    type Upstream = up::SequenceValue;
    fn to_upstream(&self) -> up::SequenceValue {
        let ours::SequenceValue {
            schema,
            name,
            last_value,
            is_called,
            increment_by,
            min_value,
            max_value,
        } = self;
        up::SequenceValue {
            schema: schema.clone(),
            name: name.clone(),
            last_value: *last_value,
            is_called: *is_called,
            increment_by: *increment_by,
            min_value: *min_value,
            max_value: *max_value,
        }
    }
}

impl FromUpstream for ours::SequenceValue {
    type Upstream = up::SequenceValue;
    fn from_upstream(value: &up::SequenceValue) -> Self {
        let up::SequenceValue {
            schema,
            name,
            last_value,
            is_called,
            increment_by,
            min_value,
            max_value,
        } = value;
        ours::SequenceValue {
            schema: schema.clone(),
            name: name.clone(),
            last_value: *last_value,
            is_called: *is_called,
            increment_by: *increment_by,
            min_value: *min_value,
            max_value: *max_value,
        }
    }
}

impl ToUpstream for ours::BackfillMetadata {
    type Upstream = up::BackfillMetadata;
    fn to_upstream(&self) -> up::BackfillMetadata {
        let ours::BackfillMetadata {
            table_count,
            estimated_total_rows,
        } = self;
        up::BackfillMetadata {
            table_count: *table_count,
            estimated_total_rows: *estimated_total_rows,
        }
    }
}

impl FromUpstream for ours::BackfillMetadata {
    type Upstream = up::BackfillMetadata;
    fn from_upstream(value: &up::BackfillMetadata) -> Self {
        let up::BackfillMetadata {
            table_count,
            estimated_total_rows,
        } = value;
        ours::BackfillMetadata {
            table_count: *table_count,
            estimated_total_rows: *estimated_total_rows,
        }
    }
}

impl ToUpstream for ours::DatabaseEvent {
    type Upstream = up::DatabaseEvent;
    fn to_upstream(&self) -> up::DatabaseEvent {
        let ours::DatabaseEvent {
            event_id,
            timestamp_us,
            operation,
            schema,
            table,
            position,
            transaction_id,
            new_row,
            old_row,
            columns,
            relation_meta,
            ddl_sql,
            ddl_object_type,
        } = self;
        up::DatabaseEvent {
            event_id: event_id.clone(),
            timestamp_us: *timestamp_us,
            operation: operation.to_upstream(),
            schema: schema.clone(),
            table: table.clone(),
            position: *position,
            transaction_id: *transaction_id,
            new_row: new_row.to_upstream(),
            old_row: old_row.to_upstream(),
            columns: columns.clone(),
            relation_meta: relation_meta.to_upstream(),
            ddl_sql: ddl_sql.clone(),
            ddl_object_type: ddl_object_type.clone(),
        }
    }
}

impl FromUpstream for ours::DatabaseEvent {
    type Upstream = up::DatabaseEvent;
    fn from_upstream(value: &up::DatabaseEvent) -> Self {
        let up::DatabaseEvent {
            event_id,
            timestamp_us,
            operation,
            schema,
            table,
            position,
            transaction_id,
            new_row,
            old_row,
            columns,
            relation_meta,
            ddl_sql,
            ddl_object_type,
        } = value;
        ours::DatabaseEvent {
            event_id: event_id.clone(),
            timestamp_us: *timestamp_us,
            operation: from_upstream(operation),
            schema: schema.clone(),
            table: table.clone(),
            position: *position,
            transaction_id: *transaction_id,
            new_row: from_upstream(new_row),
            old_row: from_upstream(old_row),
            columns: columns.clone(),
            relation_meta: from_upstream(relation_meta),
            ddl_sql: ddl_sql.clone(),
            ddl_object_type: ddl_object_type.clone(),
        }
    }
}

impl ToUpstream for ours::DatabaseEventBatch {
    type Upstream = up::DatabaseEventBatch;
    fn to_upstream(&self) -> up::DatabaseEventBatch {
        let ours::DatabaseEventBatch {
            events,
            source_id,
            batch_seq,
            relations,
            control_directive,
            sequence_values,
            backfill_metadata,
        } = self;
        up::DatabaseEventBatch {
            events: events.to_upstream(),
            source_id: source_id.clone(),
            batch_seq: *batch_seq,
            relations: relations.to_upstream(),
            control_directive: control_directive.to_upstream(),
            sequence_values: sequence_values.to_upstream(),
            backfill_metadata: backfill_metadata.to_upstream(),
        }
    }
}

impl FromUpstream for ours::DatabaseEventBatch {
    type Upstream = up::DatabaseEventBatch;
    fn from_upstream(value: &up::DatabaseEventBatch) -> Self {
        let up::DatabaseEventBatch {
            events,
            source_id,
            batch_seq,
            relations,
            control_directive,
            sequence_values,
            backfill_metadata,
        } = value;
        ours::DatabaseEventBatch {
            events: from_upstream(events),
            source_id: source_id.clone(),
            batch_seq: *batch_seq,
            relations: from_upstream(relations),
            control_directive: from_upstream(control_directive),
            sequence_values: from_upstream(sequence_values),
            backfill_metadata: from_upstream(backfill_metadata),
        }
    }
}
