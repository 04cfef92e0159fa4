//! The snapshot pipeline end to end: COPY BINARY → SnapshotBegin/SnapshotRow/SnapshotEnd
//! events → batches → FlexBuffers bytes (compat and compact) → batches read back → COPY
//! BINARY again, checking that every value comes back byte for byte, and printing a summary
//! with each column's rendered text.
//!
//! ```text
//! cargo run -p scry-pg --example snapshot                       # the committed fixture
//! cargo run -p scry-pg --example snapshot -- --live "host=127.0.0.1 port=54329 user=postgres dbname=scry" [--table all_types]
//! ```
//!
//! With `--live`, the table (default `all_types`, created from `fixtures/all_types.sql` with
//! 200 rows when missing) is read with `COPY ... TO STDOUT (FORMAT binary)`, and the stream
//! written back is loaded into a temporary copy of it with `COPY ... FROM STDIN (FORMAT
//! binary)` and read out again, which must give the same bytes.

use std::error::Error;
use std::io::{Read, Write};

use bytes::Bytes;
use scry_builder::BatchBuilder;
use scry_codec::Encoding;
use scry_pg::snapshot::{snapshot_rows_to_copy, SnapshotAdapter};
use scry_types::{ColumnMeta, DatabaseEvent, OperationType, RelationMeta};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The committed fixture: a COPY BINARY stream of the `all_types` table as the server wrote
/// it, and its layout (a `rel_id schema table` line, then `name type_oid type_modifier key`
/// lines, tab-separated).
const FIXTURE_COPY: &[u8] = include_bytes!("../fixtures/all_types.copy");
const FIXTURE_RELATION: &str = include_str!("../fixtures/all_types.relation");

/// Reads the fixture's layout file.
fn fixture_relation() -> Result<RelationMeta> {
    let mut lines = FIXTURE_RELATION.lines();
    let head = lines.next().ok_or("empty relation file")?;
    let [rel_id, schema, table] = head.split('\t').collect::<Vec<_>>()[..] else {
        return Err(format!("bad relation line {head:?}").into());
    };
    let columns = lines
        .map(|line| -> Result<ColumnMeta> {
            let [name, oid, typmod, key] = line.split('\t').collect::<Vec<_>>()[..] else {
                return Err(format!("bad column line {line:?}").into());
            };
            let column = ColumnMeta::new(name, oid.parse()?).type_modifier(typmod.parse()?);
            Ok(if key == "1" { column.key() } else { column })
        })
        .collect::<Result<_>>()?;
    Ok(RelationMeta::new(rel_id.parse()?, schema, table, columns))
}

/// What [`pipeline`] produced.
struct Output {
    /// Serialized sizes of the batches: 0.1.1's encoding, then the compact one.
    compat_bytes: usize,
    compact_bytes: usize,
    batches: usize,
    /// The events read back.
    events: Vec<DatabaseEvent>,
    /// The COPY BINARY stream rebuilt from them.
    copy_out: Bytes,
}

/// COPY BINARY → snapshot events → batches → bytes in both encodings → batches read back
/// (each checked equal to the one written) → COPY BINARY again.
fn pipeline(rel: &RelationMeta, copy: Bytes) -> Result<Output> {
    let mut builder = BatchBuilder::new().source_id("snapshot-example");
    let adapter = SnapshotAdapter::new(rel.clone());
    let mut batches = adapter.run(copy, &mut builder)?;
    batches.extend(builder.finish());
    let mut out = Output {
        compat_bytes: 0,
        compact_bytes: 0,
        batches: batches.len(),
        events: Vec::new(),
        copy_out: Bytes::new(),
    };
    for batch in batches {
        let compat = scry_codec::serialize_batch(&batch)?;
        if scry_codec::read_batch(&compat)? != batch {
            return Err("a batch changed through 0.1.1's encoding".into());
        }
        out.compat_bytes += compat.len();
        // The compact bytes are read without copying values: they share the buffer.
        let compact = Bytes::from(scry_codec::serialize_batch_with(&batch, Encoding::Compact)?);
        let back = scry_codec::read_batch_bytes(&compact)?;
        if back != batch {
            return Err("a batch changed through the compact encoding".into());
        }
        out.compact_bytes += compact.len();
        out.events.extend(back.events);
    }
    out.copy_out = snapshot_rows_to_copy(&out.events)?;
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--live") {
        None => {
            let rel = fixture_relation()?;
            println!("source: committed fixture fixtures/all_types.copy");
            let back = run(&rel, Bytes::from_static(FIXTURE_COPY))?;
            if back != FIXTURE_COPY {
                return Err("the COPY stream written back differs from the fixture".into());
            }
            println!("COPY stream written back: byte-identical to the fixture");
            Ok(())
        }
        Some(i) => {
            let url = args.get(i + 1).ok_or("--live needs a conninfo")?;
            let table = args
                .iter()
                .position(|a| a == "--table")
                .and_then(|t| args.get(t + 1))
                .map_or("all_types", String::as_str);
            live(url, table)
        }
    }
}

/// Runs the pipeline, prints the summary and returns the COPY stream written back.
fn run(rel: &RelationMeta, copy: Bytes) -> Result<Bytes> {
    let out = pipeline(rel, copy.clone())?;
    let rows: Vec<_> = out
        .events
        .iter()
        .filter(|e| e.operation == OperationType::SnapshotRow)
        .filter_map(|e| e.new_row.as_ref())
        .collect();
    // Every value decodes, re-encodes to the same bytes, and is the byte slice it was.
    let mut values = 0usize;
    let mut samples: Vec<Option<String>> = vec![None; rel.columns.len()];
    for row in &rows {
        for (i, cv) in row.values.iter().enumerate() {
            let Some(data) = &cv.data else { continue };
            let v = scry_pg::decode_column(cv)?;
            if v.to_binary().as_deref() != Some(&data[..]) {
                return Err(
                    format!("{}: re-encoding changed the bytes", rel.columns[i].name).into(),
                );
            }
            values += 1;
            if let (Some(slot @ None), Some(text)) = (samples.get_mut(i), v.to_text()) {
                *slot = Some(text);
            }
        }
    }
    println!(
        "{}.{}: {} columns, {} rows, {} values",
        rel.schema,
        rel.table,
        rel.columns.len(),
        rows.len(),
        values
    );
    println!(
        "COPY BINARY in: {} bytes; {} events in {} batches; serialized: {} bytes compat \
         (0.1.1's FlexBuffers), {} bytes compact; both read back equal",
        copy.len(),
        out.events.len(),
        out.batches,
        out.compat_bytes,
        out.compact_bytes
    );
    println!("every value decoded and re-encoded to the same bytes");
    println!("\nfirst non-NULL value of each column, as PostgreSQL would print it:");
    for (c, sample) in rel.columns.iter().zip(&samples) {
        let type_name = scry_pg::oid::type_name(c.type_oid).unwrap_or("custom");
        let text = sample.as_deref().unwrap_or("(no text form / all NULL)");
        let shown: String = text.chars().take(70).collect();
        let more = if text.chars().count() > 70 { "…" } else { "" };
        println!("  {:<18} {:<14} {shown}{more}", c.name, type_name);
    }
    Ok(out.copy_out)
}

fn live(url: &str, table: &str) -> Result<()> {
    use postgres::{Client, NoTls};
    let mut client = Client::connect(url, NoTls)?;
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])?
        .get(0);
    if !exists {
        if table != "all_types" {
            return Err(format!("table {table} does not exist").into());
        }
        println!("creating all_types (200 rows) from fixtures/all_types.sql");
        client.batch_execute(&include_str!("../fixtures/all_types.sql").replace(":ROWS", "200"))?;
    }
    let rel_id: u32 = client
        .query_one("SELECT $1::text::regclass::oid", &[&table])?
        .get(0);
    let schema: String = client
        .query_one(
            "SELECT nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            &[&rel_id],
        )?
        .get(0);
    let columns = client
        .query(
            "SELECT attname::text, atttypid, atttypmod FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&rel_id],
        )?
        .iter()
        .map(|r| {
            scry_types::ColumnMeta::new(r.get::<_, String>(0), r.get(1)).type_modifier(r.get(2))
        })
        .collect();
    let rel = RelationMeta::new(rel_id, schema, table, columns);
    let mut copy = Vec::new();
    client
        .copy_out(&format!("COPY {table} TO STDOUT (FORMAT binary)"))?
        .read_to_end(&mut copy)?;
    println!("source: live table {table}");
    let back = run(&rel, Bytes::from(copy.clone()))?;

    client.batch_execute(&format!(
        "CREATE TEMP TABLE scry_snapshot_back (LIKE {table})"
    ))?;
    let mut w = client.copy_in("COPY scry_snapshot_back FROM STDIN (FORMAT binary)")?;
    w.write_all(&back)?;
    let loaded = w.finish()?;
    let mut again = Vec::new();
    client
        .copy_out("COPY scry_snapshot_back TO STDOUT (FORMAT binary)")?
        .read_to_end(&mut again)?;
    if again != copy {
        return Err("the table loaded from the written-back stream reads back differently".into());
    }
    println!("loaded {loaded} rows back into a temporary table: it reads back byte-identical");
    Ok(())
}
