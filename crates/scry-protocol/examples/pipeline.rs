//! A producer and a receiver of the `database_event` protocol, end to end.
//!
//! The producer captures a small table twice over: a COPY snapshot (SNAPSHOT_BEGIN with the
//! table's metadata, its rows, SNAPSHOT_END), then a logical-replication CDC transaction
//! (BEGIN, INSERTs, an UPDATE carrying the old row under REPLICA IDENTITY FULL and an
//! unchanged TOAST value, a DELETE, COMMIT). Values are PostgreSQL binary bytes: int4, text,
//! timestamptz, bool and NULL. A `BatchBuilder` cuts the events into batches, which are
//! serialized to the wire format; the receiver decodes each batch and prints what it got.
//!
//! Run it with `cargo run --release -p scry-protocol@0.2.0 --example pipeline`.

use std::error::Error;

use scry_protocol::database_event::{
    read_batch, serialize_batch, BatchBuilder, ColumnMeta, ColumnValue, DatabaseEvent,
    DatabaseEventBatch, DatabaseEventBuilder, Lsn, OperationType, RelationMeta, ReplicaIdentity,
    Row, TypeTag,
};

// PostgreSQL type OIDs of the table's columns.
const INT4: u32 = 23;
const TEXT: u32 = 25;
const TIMESTAMPTZ: u32 = 1184;
const BOOL: u32 = 16;

/// Seconds from the Unix epoch to PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
const PG_EPOCH_UNIX_SECONDS: i64 = 946_684_800;

/// The first event's wall-clock time, 2024-03-01 12:00:00 UTC, in µs since the Unix epoch.
const START_US: u64 = 1_709_294_400_000_000;

// --- PostgreSQL binary values ------------------------------------------------------------

fn int4(v: i32) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int32, INT4, v.to_be_bytes().to_vec())
}

fn text(v: &str) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Text, TEXT, v.as_bytes().to_vec())
}

fn boolean(v: bool) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Bool, BOOL, vec![u8::from(v)])
}

/// A `timestamptz` from Unix seconds: PostgreSQL sends µs since 2000-01-01 as a big-endian i64.
fn timestamptz(unix_seconds: i64) -> ColumnValue {
    let pg_us = (unix_seconds - PG_EPOCH_UNIX_SECONDS) * 1_000_000;
    ColumnValue::from_pg_binary(
        TypeTag::TimestampTz,
        TIMESTAMPTZ,
        pg_us.to_be_bytes().to_vec(),
    )
}

// --- The table -----------------------------------------------------------------------------

fn accounts() -> RelationMeta {
    RelationMeta::new(
        16_401,
        "public",
        "accounts",
        vec![
            ColumnMeta::new("id", INT4).key(),
            ColumnMeta::new("name", TEXT),
            ColumnMeta::new("created_at", TIMESTAMPTZ),
            ColumnMeta::new("active", BOOL),
            ColumnMeta::new("note", TEXT),
        ],
    )
    .with_replica_identity(ReplicaIdentity::Full)
}

fn account(id: i32, name: &str, created: i64, active: bool, note: Option<&str>) -> Row {
    Row::new(vec![
        int4(id),
        text(name),
        timestamptz(created),
        boolean(active),
        note.map_or_else(ColumnValue::null, text),
    ])
}

// --- The producer ----------------------------------------------------------------------------

/// The COPY snapshot of `public.accounts`, then one CDC transaction on it.
fn capture() -> Vec<DatabaseEvent> {
    let meta = accounts();
    let mut clock = START_US;
    let mut tick = || {
        clock += 250;
        clock
    };
    let mut events = Vec::new();

    // COPY snapshot at LSN 0/3000060, before streaming starts.
    let snapshot_lsn = 0x0300_0060;
    events.push(
        DatabaseEventBuilder::snapshot_begin("public", "accounts")
            .timestamp_us(tick())
            .position(snapshot_lsn)
            .columns_from(&meta)
            .relation_meta(meta.clone())
            .build(),
    );
    let rows = [
        account(1, "Ada Lovelace", 1_700_000_000, true, Some("founder")),
        account(2, "Grace Hopper", 1_700_086_400, true, None),
        account(
            3,
            "Émile Borel",
            1_700_172_800,
            false,
            Some("dormant since 2023"),
        ),
    ];
    for row in rows {
        events.push(
            DatabaseEventBuilder::snapshot_row("public", "accounts")
                .timestamp_us(tick())
                .position(snapshot_lsn)
                .columns_from(&meta)
                .new_row(row)
                .build(),
        );
    }
    events.push(
        DatabaseEventBuilder::snapshot_end("public", "accounts")
            .timestamp_us(tick())
            .position(snapshot_lsn)
            .build(),
    );

    // One CDC transaction, xid 7421, streamed from LSN 0/3000148 on.
    let xid = 7421;
    let mut lsn = 0x0300_0148;
    let mut next_lsn = || {
        lsn += 0x58;
        lsn
    };
    events.push(
        DatabaseEventBuilder::begin()
            .timestamp_us(tick())
            .position(next_lsn())
            .transaction_id(xid)
            .build(),
    );
    for row in [
        account(4, "Alan Turing", 1_709_294_400, true, None),
        account(5, "Kurt Gödel", 1_709_294_401, true, Some("invited by Ada")),
    ] {
        events.push(
            DatabaseEventBuilder::insert("public", "accounts")
                .timestamp_us(tick())
                .position(next_lsn())
                .transaction_id(xid)
                .columns_from(&meta)
                .new_row(row)
                .build(),
        );
    }
    // Deactivate account 1; its long `note` was not modified, so PostgreSQL sends the TOAST
    // marker in its place. REPLICA IDENTITY FULL puts the whole old row in the event.
    let mut updated = account(1, "Ada Lovelace", 1_700_000_000, false, None);
    updated.values[4] = ColumnValue::unchanged(TEXT);
    events.push(
        DatabaseEventBuilder::update("public", "accounts")
            .timestamp_us(tick())
            .position(next_lsn())
            .transaction_id(xid)
            .columns_from(&meta)
            .old_row(account(
                1,
                "Ada Lovelace",
                1_700_000_000,
                true,
                Some("founder"),
            ))
            .new_row(updated)
            .build(),
    );
    events.push(
        DatabaseEventBuilder::delete("public", "accounts")
            .timestamp_us(tick())
            .position(next_lsn())
            .transaction_id(xid)
            .columns_from(&meta)
            .old_row(account(
                3,
                "Émile Borel",
                1_700_172_800,
                false,
                Some("dormant since 2023"),
            ))
            .build(),
    );
    events.push(
        DatabaseEventBuilder::commit()
            .timestamp_us(tick())
            .position(next_lsn())
            .transaction_id(xid)
            .build(),
    );
    events
}

/// Cuts the events into batches of at most `max_events`, closing a batch at the end of the
/// snapshot so the CDC stream starts in a batch of its own. The table's metadata goes with
/// the first batch.
fn batch(events: Vec<DatabaseEvent>, max_events: usize) -> Vec<DatabaseEventBatch> {
    let mut builder = BatchBuilder::new()
        .source_id("pg-main/accounts")
        .max_events(max_events);
    builder.add_relation(accounts());
    let mut batches = Vec::new();
    for event in events {
        let snapshot_end = event.operation == OperationType::SnapshotEnd;
        batches.extend(builder.add_event(event));
        if snapshot_end {
            batches.push(builder.flush());
        }
    }
    batches.extend(builder.finish());
    batches
}

// --- The receiver ----------------------------------------------------------------------------

/// A value as PostgreSQL's text output would show it (or a hex dump for other types).
fn show_value(value: &ColumnValue) -> String {
    if value.is_null() {
        return "NULL".to_owned();
    }
    if value.is_unchanged() {
        return "(unchanged TOAST)".to_owned();
    }
    let Some(bytes) = value.as_bytes() else {
        return format!("({} without data)", value.type_tag);
    };
    let shown = match value.type_tag {
        TypeTag::Int32 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| i32::from_be_bytes(b).to_string()),
        TypeTag::Text => std::str::from_utf8(bytes).ok().map(|s| format!("{s:?}")),
        TypeTag::Bool => match bytes {
            [0] => Some("f".to_owned()),
            [1] => Some("t".to_owned()),
            _ => None,
        },
        TypeTag::TimestampTz => <[u8; 8]>::try_from(bytes)
            .ok()
            .map(|b| format_timestamptz(i64::from_be_bytes(b))),
        _ => None,
    };
    shown.unwrap_or_else(|| {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}(\\x{hex})", value.type_tag)
    })
}

/// PostgreSQL's binary `timestamptz` (µs since 2000-01-01 UTC) as `YYYY-MM-DD hh:mm:ss+00`.
fn format_timestamptz(pg_us: i64) -> String {
    let unix_seconds = pg_us.div_euclid(1_000_000) + PG_EPOCH_UNIX_SECONDS;
    let (days, secs) = (
        unix_seconds.div_euclid(86_400),
        unix_seconds.rem_euclid(86_400),
    );
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}+00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn show_row(label: &str, row: Option<&Row>, columns: &[String]) {
    let Some(row) = row else { return };
    let values: Vec<String> = row
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| match columns.get(i) {
            Some(name) => format!("{name}={}", show_value(v)),
            None => show_value(v),
        })
        .collect();
    println!("        {label}: {}", values.join(", "));
}

fn receive(batch: &DatabaseEventBatch, wire_len: usize) {
    println!(
        "batch #{} from {} — {} event(s), {} relation(s), {wire_len} bytes on the wire",
        batch.batch_seq,
        batch.source_id.as_deref().unwrap_or("?"),
        batch.events.len(),
        batch.relations.len(),
    );
    for rel in &batch.relations {
        println!(
            "    relation {} (oid {}, replica identity {:?}): {}",
            rel.qualified_name(),
            rel.rel_id,
            rel.replica_identity,
            rel.column_names().join(", ")
        );
    }
    for event in &batch.events {
        let table = if event.table.is_empty() {
            String::new()
        } else {
            event.qualified_name()
        };
        let mut line = format!(
            "    {:<14} {table:<16} LSN {}",
            event.operation.to_string(),
            Lsn(event.position)
        );
        if event.transaction_id != 0 {
            line = format!("{line:<46} xid {}", event.transaction_id);
        }
        println!("{line}");
        if let Some(meta) = &event.relation_meta {
            println!("        relation_meta: {} columns", meta.columns.len());
        }
        show_row("old", event.old_row.as_ref(), &event.columns);
        show_row("new", event.new_row.as_ref(), &event.columns);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let events = capture();
    let sent = batch(events, 4);
    let mut total_events = 0;
    let mut total_bytes = 0;
    for batch in &sent {
        // Producer side: the bytes that go on the wire.
        let wire = serialize_batch(batch)?;
        // Receiver side: decode and apply (here: print).
        let received = read_batch(&wire)?;
        if received != *batch {
            return Err(format!("batch #{} changed on the wire", batch.batch_seq).into());
        }
        receive(&received, wire.len());
        total_events += received.events.len();
        total_bytes += wire.len();
    }
    println!(
        "{} batches, {total_events} events, {total_bytes} bytes: every batch decoded to what was sent",
        sent.len()
    );
    Ok(())
}
