//! [`DatabaseEvent`]: one replication event.

use crate::{OperationType, RelationMeta, Row};

/// One database event: a row change, a transaction boundary, a snapshot marker, a DDL
/// statement or a control event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DatabaseEvent {
    /// Unique event identifier (a UUID, when the producer sets one).
    pub event_id: Option<String>,
    /// Event time, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// What the event does.
    pub operation: OperationType,
    /// Schema name (empty for transaction boundaries and control events).
    pub schema: String,
    /// Table name (empty for transaction boundaries and control events).
    pub table: String,
    /// Replication position: the PostgreSQL LSN as a `u64` (see [`crate::Lsn`]).
    pub position: u64,
    /// Transaction ID.
    pub transaction_id: u64,
    /// The new row (Insert, Update, SnapshotRow).
    pub new_row: Option<Row>,
    /// The old row or its key (Delete; Update under REPLICA IDENTITY FULL or a key change).
    pub old_row: Option<Row>,
    /// Column names, in the order of the rows' values.
    pub columns: Vec<String>,
    /// The table's columns and key, carried by the first event of a table in a stream, so a
    /// receiver learns the layout once rather than with every row.
    pub relation_meta: Option<RelationMeta>,
    /// The DDL statement (when `operation` is [`OperationType::Ddl`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub ddl_sql: Option<String>,
    /// The DDL object type, for filtering and logging (`"table"`, `"index"`, ...).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub ddl_object_type: Option<String>,
}

impl DatabaseEvent {
    /// An event of this operation on `schema.table` with every other field empty or zero
    /// (timestamp 0). [`DatabaseEventBuilder`](../scry_builder/struct.DatabaseEventBuilder.html)
    /// is the usual way to make one.
    #[must_use]
    pub fn new(
        operation: OperationType,
        schema: impl Into<String>,
        table: impl Into<String>,
    ) -> Self {
        Self {
            event_id: None,
            timestamp_us: 0,
            operation,
            schema: schema.into(),
            table: table.into(),
            position: 0,
            transaction_id: 0,
            new_row: None,
            old_row: None,
            columns: Vec::new(),
            relation_meta: None,
            ddl_sql: None,
            ddl_object_type: None,
        }
    }

    /// `schema.table`.
    #[must_use]
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// Size estimate used for batching: 64 + schema + table + the rows' sizes + the column
    /// names' lengths (the same estimate as 0.1.1, so batches flush at the same points).
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        64 + self.schema.len()
            + self.table.len()
            + self.new_row.as_ref().map_or(0, Row::size_bytes)
            + self.old_row.as_ref().map_or(0, Row::size_bytes)
            + self.columns.iter().map(String::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnValue, TypeTag};

    #[test]
    fn size_estimate_counts_names_rows_and_columns() {
        let mut e = DatabaseEvent::new(OperationType::Update, "public", "users");
        assert_eq!(e.size_bytes(), 64 + 6 + 5);
        e.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Int32,
            23,
            vec![0; 4],
        )]));
        e.old_row = Some(Row::new(vec![ColumnValue::null()]));
        e.columns = vec!["id".into()];
        assert_eq!(e.size_bytes(), 64 + 6 + 5 + 9 + 5 + 2);
        assert_eq!(e.qualified_name(), "public.users");
    }
}
