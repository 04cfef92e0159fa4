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

/// The data of every value of `batch` that has data: new rows, then old rows, event by event.
fn value_data(batch: &DatabaseEventBatch) -> impl Iterator<Item = &[u8]> {
    batch
        .events
        .iter()
        .flat_map(|e| e.new_row.iter().chain(e.old_row.iter()))
        .flat_map(|r| r.values.iter())
        .filter_map(|v| v.data.as_deref())
}

/// The total number of value bytes (the payload) in a batch.
#[must_use]
pub fn payload_bytes(batch: &DatabaseEventBatch) -> usize {
    value_data(batch).map(<[u8]>::len).sum()
}

/// The sum of every value byte of `batch` (each byte counted as a number): what a scan that
/// reads every value's bytes computes, to check that it read them all.
#[must_use]
pub fn payload_sum(batch: &DatabaseEventBatch) -> u64 {
    value_data(batch).map(byte_sum).sum()
}

/// The sum of `bytes`, each counted as a number: how the benchmarks read every byte of a
/// value. Eight bytes at a time in a register: a short value folds each word at once; a
/// longer one adds each word's bytes in pairs to four 16-bit sums, which 128 words cannot
/// overflow (128 x 510 < 65,536), and folds them once per 128 words. A 4-byte value costs a
/// few instructions, a 4 KiB one under one instruction a byte.
#[inline]
pub fn byte_sum(bytes: &[u8]) -> u64 {
    // Four 16-bit lanes, each the sum of two of the word's bytes.
    fn pairs(w: &[u8; 8]) -> u64 {
        const BYTE_PAIRS: u64 = 0x00FF_00FF_00FF_00FF;
        let w = u64::from_le_bytes(*w);
        (w & BYTE_PAIRS) + ((w >> 8) & BYTE_PAIRS)
    }
    let (words, tail) = bytes.as_chunks::<8>();
    let words_sum: u64 = if words.len() < 8 {
        // Short (most column values): fold each word's four lanes at once.
        words
            .iter()
            .map(|w| pairs(w).wrapping_mul(0x0001_0001_0001_0001) >> 48)
            .sum()
    } else {
        words
            .chunks(128)
            .map(|block| {
                let lanes: u64 = block.iter().map(pairs).sum();
                (lanes & 0xFFFF)
                    + ((lanes >> 16) & 0xFFFF)
                    + ((lanes >> 32) & 0xFFFF)
                    + (lanes >> 48)
            })
            .sum()
    };
    words_sum + tail.iter().map(|&b| u64::from(b)).sum::<u64>()
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

    #[test]
    fn workloads_are_valid_replication() {
        for batch in [
            small_rows(0),
            small_rows(1000),
            large_rows(0),
            large_rows(100),
        ] {
            assert_eq!(batch.validate(), Ok(()), "{:?}", batch.source_id);
        }
    }

    #[test]
    fn byte_sum_adds_every_byte_of_any_length() {
        for len in 0..200usize {
            let bytes: Vec<u8> = (0..len).map(|k| (k * 37 + 255) as u8).collect();
            let naive: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
            assert_eq!(byte_sum(&bytes), naive, "{len} bytes");
        }
        assert_eq!(byte_sum(&[0xFF; 63]), 63 * 255);
        // The largest sums: every byte 0xFF, over several 128-word blocks.
        assert_eq!(byte_sum(&[0xFF; 4096 + 7]), 4103 * 255);
    }
}
