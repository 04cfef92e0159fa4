//! `scry snapshot`: one, several or all tables of a live server, in one consistent
//! snapshot, as a framed stream of snapshot batches.

use std::time::Instant;

use scry_codec::Encoding;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder};

use super::{CliError, Output};
use crate::interrupt::StopAtFrame;
use crate::pg;

/// Reads `tables` (all user tables when empty) of the server at `conninfo` inside one
/// `REPEATABLE READ READ ONLY` transaction, so every table is read at the same snapshot,
/// each with `COPY ... TO STDOUT (FORMAT binary)` straight into framed batches on `out`. The
/// snapshot's LSN is every event's position. Prints a line per table and a summary on
/// standard error.
pub fn run(
    conninfo: &str,
    tables: &[String],
    out: &str,
    encoding: Encoding,
) -> Result<(), CliError> {
    let mut client = pg::connect(conninfo)?;
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| pg::server_error("cannot start the snapshot transaction", &e))?;
    let head = tx
        .query_one("SELECT (pg_current_wal_lsn() - '0/0')::int8", &[])
        .map_err(|e| pg::server_error("cannot read the snapshot's LSN", &e))?;
    let lsn = u64::try_from(head.get::<_, i64>(0)).unwrap_or(0);
    let list = pg::tables(&mut tx, tables)?;
    crate::interrupt::install();
    let mut output = Output::create(out)?;
    let mut encoder = SnapshotEncoder::new(encoding);
    let started = Instant::now();
    let (mut rows, mut bytes) = (0u64, 0u64);
    for table in &list {
        let adapter = SnapshotAdapter::new(table.relation.clone()).position(lsn);
        let name = table.relation.qualified_name();
        let source = tx
            .copy_out(table.copy_out_sql().as_str())
            .map_err(|e| pg::server_error(format!("cannot COPY {name}"), &e))?;
        let t0 = Instant::now();
        let mut sink = StopAtFrame(output.writer());
        let summary = match encoder.write_table(&adapter, source, &mut sink) {
            Ok(summary) => summary,
            Err(_) if crate::interrupt::requested() => {
                output.finish()?;
                return Err(CliError::Interrupted(format!(
                    "{} tables ({rows} rows) written whole, then the first batches of {name} \
                     (without its SnapshotEnd); the output ends after the last whole frame",
                    list.iter()
                        .position(|t| t.relation.qualified_name() == name)
                        .unwrap_or(0)
                )));
            }
            Err(e) => return Err(CliError::Snapshot(Box::new(e))),
        };
        rows += summary.rows;
        bytes += summary.encoded_bytes;
        eprintln!(
            "{name}: {} rows, {} batches, {} bytes of COPY → {} bytes written in {:.2} s",
            summary.rows,
            summary.batches,
            summary.copy_bytes,
            summary.encoded_bytes,
            t0.elapsed().as_secs_f64()
        );
    }
    output.finish()?;
    tx.commit()
        .map_err(|e| pg::server_error("cannot end the snapshot transaction", &e))?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "snapshot at LSN {}: {} tables, {rows} rows, {bytes} bytes in {secs:.2} s ({:.1} MB/s){}",
        scry_types::Lsn(lsn),
        list.len(),
        bytes as f64 / 1e6 / secs.max(1e-9),
        pg::peak_rss_note()
    );
    Ok(())
}
