//! The benchmark workloads: realistic batches of row events.

use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row, TypeTag};

/// A batch of `events` INSERTs of 5-column rows of about 50 bytes of values
/// (int8 id, int4, text of ~20 bytes, timestamptz, bool), as a CDC stream of a typical table
/// carries.
#[must_use]
pub fn small_rows(events: usize) -> DatabaseEventBatch {
    let columns: Vec<String> = ["id", "account_id", "email", "created_at", "active"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let events = (0..events)
        .map(|i| {
            let i = i as u64;
            let row = Row::new(vec![
                ColumnValue::from_pg_binary(TypeTag::Int64, 20, (i + 1).to_be_bytes().to_vec()),
                ColumnValue::from_pg_binary(
                    TypeTag::Int32,
                    23,
                    ((i % 977) as i32).to_be_bytes().to_vec(),
                ),
                ColumnValue::from_pg_binary(
                    TypeTag::Text,
                    25,
                    format!("user{i:08}@example.org").into_bytes(),
                ),
                ColumnValue::from_pg_binary(
                    TypeTag::TimestampTz,
                    1184,
                    (784_111_777_000_000i64 + i as i64 * 1_000)
                        .to_be_bytes()
                        .to_vec(),
                ),
                ColumnValue::from_pg_binary(TypeTag::Bool, 16, vec![u8::from(i.is_multiple_of(3))]),
            ]);
            DatabaseEvent {
                event_id: None,
                timestamp_us: 1_700_000_000_000_000 + i,
                operation: OperationType::Insert,
                schema: "public".to_owned(),
                table: "accounts".to_owned(),
                position: 0x16_B374_D848 + i * 64,
                transaction_id: 1000 + i / 10,
                new_row: Some(row),
                old_row: None,
                columns: columns.clone(),
                relation_meta: None,
                ddl_sql: None,
                ddl_object_type: None,
            }
        })
        .collect();
    DatabaseEventBatch::with_events(events)
        .with_source_id("bench-cdc")
        .with_batch_seq(1)
}

/// A batch of `events` snapshot rows that each carry an int8 id and one 4 KiB bytea value, as
/// a COPY snapshot of a table of documents carries.
#[must_use]
pub fn large_rows(events: usize) -> DatabaseEventBatch {
    let events = (0..events)
        .map(|i| {
            let i = i as u64;
            let payload: Vec<u8> = (0..4096u32).map(|k| (k as u64 * 31 + i) as u8).collect();
            let row = Row::new(vec![
                ColumnValue::from_pg_binary(TypeTag::Int64, 20, (i + 1).to_be_bytes().to_vec()),
                ColumnValue::from_pg_binary(TypeTag::Bytea, 17, payload),
            ]);
            DatabaseEvent {
                event_id: None,
                timestamp_us: 1_700_000_000_000_000 + i,
                operation: OperationType::SnapshotRow,
                schema: "public".to_owned(),
                table: "documents".to_owned(),
                position: 0,
                transaction_id: 0,
                new_row: Some(row),
                old_row: None,
                columns: vec!["id".to_owned(), "body".to_owned()],
                relation_meta: None,
                ddl_sql: None,
                ddl_object_type: None,
            }
        })
        .collect();
    DatabaseEventBatch::with_events(events)
        .with_source_id("bench-copy")
        .with_batch_seq(1)
}

/// The total number of value bytes (the payload) in a batch.
#[must_use]
pub fn payload_bytes(batch: &DatabaseEventBatch) -> usize {
    batch
        .events
        .iter()
        .flat_map(|e| e.new_row.iter().chain(e.old_row.iter()))
        .flat_map(|r| r.values.iter())
        .filter_map(|v| v.data.as_ref().map(|d| d.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_shapes() {
        let s = small_rows(100);
        assert_eq!(s.events.len(), 100);
        let per_row = payload_bytes(&s) / 100;
        assert!((45..=60).contains(&per_row), "{per_row}");
        let l = large_rows(10);
        assert_eq!(payload_bytes(&l), 10 * (4096 + 8));
    }
}
