//! [`DatabaseEventBuilder`].

use std::time::{SystemTime, UNIX_EPOCH};

use scry_types::{DatabaseEvent, OperationType, RelationMeta, Row};

/// Builds one [`DatabaseEvent`]. The timestamp defaults to the current time in microseconds;
/// every other field starts empty or zero.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct DatabaseEventBuilder {
    event: DatabaseEvent,
}

impl DatabaseEventBuilder {
    /// An event of `operation` on `schema.table`.
    pub fn new(
        operation: OperationType,
        schema: impl Into<String>,
        table: impl Into<String>,
    ) -> Self {
        let mut event = DatabaseEvent::new(operation, schema, table);
        event.timestamp_us = systemtime_to_us(SystemTime::now());
        Self { event }
    }

    /// An INSERT on `schema.table`.
    pub fn insert(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::Insert, schema, table)
    }

    /// An UPDATE on `schema.table`.
    pub fn update(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::Update, schema, table)
    }

    /// A DELETE on `schema.table`.
    pub fn delete(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::Delete, schema, table)
    }

    /// A TRUNCATE of `schema.table`.
    pub fn truncate(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::Truncate, schema, table)
    }

    /// One row of a COPY snapshot of `schema.table`.
    pub fn snapshot_row(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::SnapshotRow, schema, table)
    }

    /// The start of a COPY snapshot of `schema.table`.
    pub fn snapshot_begin(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::SnapshotBegin, schema, table)
    }

    /// The end of a COPY snapshot of `schema.table`.
    pub fn snapshot_end(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(OperationType::SnapshotEnd, schema, table)
    }

    /// A transaction BEGIN (empty schema and table).
    pub fn begin() -> Self {
        Self::new(OperationType::Begin, "", "")
    }

    /// A transaction COMMIT (empty schema and table).
    pub fn commit() -> Self {
        Self::new(OperationType::Commit, "", "")
    }

    /// A transaction ROLLBACK (empty schema and table).
    pub fn rollback() -> Self {
        Self::new(OperationType::Rollback, "", "")
    }

    /// A DDL event carrying `sql` and its object type (`"table"`, `"index"`, ...).
    pub fn ddl(sql: impl Into<String>, object_type: impl Into<String>) -> Self {
        let mut builder = Self::new(OperationType::Ddl, "", "");
        builder.event.ddl_sql = Some(sql.into());
        builder.event.ddl_object_type = Some(object_type.into());
        builder
    }

    /// The control event: the DDL phase completed.
    pub fn ddl_complete() -> Self {
        Self::new(OperationType::DdlComplete, "", "")
    }

    /// The control event: sequences are being synchronized.
    pub fn sequence_sync() -> Self {
        Self::new(OperationType::SequenceSync, "", "")
    }

    /// The control event: disable foreign keys on the target.
    pub fn disable_foreign_keys() -> Self {
        Self::new(OperationType::DisableForeignKeys, "", "")
    }

    /// The control event: enable foreign keys on the target.
    pub fn enable_foreign_keys() -> Self {
        Self::new(OperationType::EnableForeignKeys, "", "")
    }

    /// The control event: the backfill starts.
    pub fn backfill_start() -> Self {
        Self::new(OperationType::BackfillStart, "", "")
    }

    /// The control event: the backfill completed.
    pub fn backfill_complete() -> Self {
        Self::new(OperationType::BackfillComplete, "", "")
    }

    /// Sets the event ID.
    pub fn event_id(mut self, id: impl Into<String>) -> Self {
        self.event.event_id = Some(id.into());
        self
    }

    /// Sets the timestamp, in microseconds since the Unix epoch.
    pub fn timestamp_us(mut self, ts: u64) -> Self {
        self.event.timestamp_us = ts;
        self
    }

    /// Sets the timestamp from a [`SystemTime`] (a time before the epoch gives 0).
    pub fn timestamp(mut self, ts: SystemTime) -> Self {
        self.event.timestamp_us = systemtime_to_us(ts);
        self
    }

    /// Sets the replication position (LSN).
    pub fn position(mut self, pos: u64) -> Self {
        self.event.position = pos;
        self
    }

    /// Sets the transaction ID.
    pub fn transaction_id(mut self, xid: u64) -> Self {
        self.event.transaction_id = xid;
        self
    }

    /// Sets the new row.
    pub fn new_row(mut self, row: Row) -> Self {
        self.event.new_row = Some(row);
        self
    }

    /// Sets the old row.
    pub fn old_row(mut self, row: Row) -> Self {
        self.event.old_row = Some(row);
        self
    }

    /// Sets the column names.
    pub fn columns(mut self, columns: Vec<String>) -> Self {
        self.event.columns = columns;
        self
    }

    /// Sets the column names from the columns of `meta`.
    pub fn columns_from(mut self, meta: &RelationMeta) -> Self {
        self.event.columns = meta.columns.iter().map(|c| c.name.clone()).collect();
        self
    }

    /// Sets the relation metadata.
    pub fn relation_meta(mut self, meta: RelationMeta) -> Self {
        self.event.relation_meta = Some(meta);
        self
    }

    /// Sets the DDL statement and object type.
    pub fn ddl_sql(mut self, sql: impl Into<String>, object_type: impl Into<String>) -> Self {
        self.event.ddl_sql = Some(sql.into());
        self.event.ddl_object_type = Some(object_type.into());
        self
    }

    /// The event.
    #[must_use]
    pub fn build(self) -> DatabaseEvent {
        self.event
    }
}

fn systemtime_to_us(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::{ColumnMeta, ColumnValue, TypeTag};
    use std::time::Duration;

    #[test]
    fn fields_are_set() {
        let e = DatabaseEventBuilder::update("s", "t")
            .event_id("id-1")
            .timestamp_us(7)
            .position(8)
            .transaction_id(9)
            .new_row(Row::new(vec![ColumnValue::null()]))
            .old_row(Row::empty())
            .columns(vec!["a".into()])
            .build();
        assert_eq!(e.operation, OperationType::Update);
        assert_eq!((e.schema.as_str(), e.table.as_str()), ("s", "t"));
        assert_eq!(e.event_id.as_deref(), Some("id-1"));
        assert_eq!((e.timestamp_us, e.position, e.transaction_id), (7, 8, 9));
        assert_eq!(e.new_row, Some(Row::new(vec![ColumnValue::null()])));
        assert_eq!(e.old_row, Some(Row::empty()));
        assert_eq!(e.columns, ["a"]);
        assert_eq!(e.relation_meta, None);
        assert_eq!(e.ddl_sql, None);
    }

    #[test]
    fn constructors_pick_the_operation() {
        let cases = [
            (
                DatabaseEventBuilder::insert("s", "t"),
                OperationType::Insert,
            ),
            (
                DatabaseEventBuilder::delete("s", "t"),
                OperationType::Delete,
            ),
            (
                DatabaseEventBuilder::truncate("s", "t"),
                OperationType::Truncate,
            ),
            (
                DatabaseEventBuilder::snapshot_row("s", "t"),
                OperationType::SnapshotRow,
            ),
            (
                DatabaseEventBuilder::snapshot_begin("s", "t"),
                OperationType::SnapshotBegin,
            ),
            (
                DatabaseEventBuilder::snapshot_end("s", "t"),
                OperationType::SnapshotEnd,
            ),
            (DatabaseEventBuilder::begin(), OperationType::Begin),
            (DatabaseEventBuilder::commit(), OperationType::Commit),
            (DatabaseEventBuilder::rollback(), OperationType::Rollback),
            (
                DatabaseEventBuilder::ddl_complete(),
                OperationType::DdlComplete,
            ),
            (
                DatabaseEventBuilder::sequence_sync(),
                OperationType::SequenceSync,
            ),
            (
                DatabaseEventBuilder::disable_foreign_keys(),
                OperationType::DisableForeignKeys,
            ),
            (
                DatabaseEventBuilder::enable_foreign_keys(),
                OperationType::EnableForeignKeys,
            ),
            (
                DatabaseEventBuilder::backfill_start(),
                OperationType::BackfillStart,
            ),
            (
                DatabaseEventBuilder::backfill_complete(),
                OperationType::BackfillComplete,
            ),
        ];
        for (builder, op) in cases {
            assert_eq!(builder.build().operation, op);
        }
        let ddl = DatabaseEventBuilder::ddl("CREATE TABLE t ()", "table").build();
        assert_eq!(ddl.operation, OperationType::Ddl);
        assert_eq!(ddl.ddl_sql.as_deref(), Some("CREATE TABLE t ()"));
        assert_eq!(ddl.ddl_object_type.as_deref(), Some("table"));
        assert_eq!((ddl.schema.as_str(), ddl.table.as_str()), ("", ""));
    }

    #[test]
    fn timestamp_defaults_to_now_and_converts_system_time() {
        let before = systemtime_to_us(SystemTime::now());
        let e = DatabaseEventBuilder::begin().build();
        let after = systemtime_to_us(SystemTime::now());
        assert!(before <= e.timestamp_us && e.timestamp_us <= after);

        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(
            DatabaseEventBuilder::begin()
                .timestamp(t)
                .build()
                .timestamp_us,
            1_700_000_000_123_456
        );
        let before_epoch = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            DatabaseEventBuilder::begin()
                .timestamp(before_epoch)
                .build()
                .timestamp_us,
            0
        );
    }

    #[test]
    fn columns_from_relation() {
        let meta = RelationMeta::new(
            1,
            "s",
            "t",
            vec![ColumnMeta::new("a", 23), ColumnMeta::new("b", 25)],
        );
        let e = DatabaseEventBuilder::snapshot_begin("s", "t")
            .columns_from(&meta)
            .relation_meta(meta.clone())
            .build();
        assert_eq!(e.columns, ["a", "b"]);
        assert_eq!(e.relation_meta, Some(meta));
        let v = ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]);
        assert_eq!(v.size_bytes(), 9);
    }
}
