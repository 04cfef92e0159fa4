//! The initial copy of `scry replicate SOURCE TARGET`: every table read in the slot's
//! exported snapshot and written into the target with COPY in PostgreSQL's binary format
//! (no value is decoded or re-encoded on the way), by `--jobs` pairs of connections working
//! through the tables largest first.
//!
//! Each table is one transaction on the target: its rows deleted (a copy cut short and run
//! again leaves no row twice), the COPY, and the record in `scry.snapshot_tables` that the
//! stream's snapshot of it is loaded. Memory stays bounded: a COPY goes through in pieces
//! of 256 KiB.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scry_conn::Conn;
use scry_source::catalog::{column_list, qualified, Table};

use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;
use crate::progress::{Progress, Tables};

/// What the copy works in: the stream and the snapshot its tables are read in.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// The stream's identity (`SYSTEM/DATABASE/SLOT`), for `scry.snapshot_tables`.
    pub stream: &'a str,
    /// The exported snapshot's name.
    pub name: &'a str,
    /// The slot's consistent point: the position the snapshot is at.
    pub position: u64,
}

/// A table copied: its name, rows, bytes of COPY data, and how long it took.
struct Done {
    name: String,
    rows: u64,
    bytes: u64,
    took: Duration,
}

/// Copies `tables` (largest first, as given) from `source` to `target` over `jobs`
/// connection pairs; returns the rows copied.
///
/// # Errors
/// The first failure of any job (the others stop at their next table); an interruption
/// (Ctrl-C, SIGTERM) as [`CliError::Interrupted`].
pub fn copy_tables(
    source: &str,
    target: &str,
    tables: &[Table],
    snapshot: Snapshot<'_>,
    jobs: usize,
) -> Result<u64, CliError> {
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, tables.len().max(1)))
            .map(|_| {
                let done_tx = done_tx.clone();
                let (next, bytes, failed) = (&next, &bytes, &failed);
                scope.spawn(move || {
                    let result = worker(source, target, tables, snapshot, next, bytes, &done_tx);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        drop(done_tx);
        let mut progress = Progress::new();
        let (mut count, mut rows) = (0u64, 0u64);
        loop {
            match done_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(done) => {
                    count += 1;
                    rows += done.rows;
                    progress.emit(
                        Event::new(
                            Level::Info,
                            "table",
                            format!(
                                "{}: {} rows, {} bytes copied in {:.2} s",
                                done.name,
                                done.rows,
                                done.bytes,
                                done.took.as_secs_f64()
                            ),
                        )
                        .field("table", done.name)
                        .field("rows", done.rows)
                        .field("bytes", done.bytes)
                        .field("seconds", done.took.as_secs_f64()),
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let at = Tables {
                done: count,
                total: Some(tables.len() as u64),
                rows,
                bytes: bytes.load(Ordering::Relaxed),
                total_bytes: None,
                current: None,
            };
            progress.show(|| at.line(started.elapsed()));
        }
        progress.finish();
        let mut first_error = None;
        for worker in workers {
            let outcome = worker
                .join()
                .unwrap_or_else(|_| Err(CliError::Usage("a copy job stopped unexpectedly".into())));
            if let Err(e) = outcome {
                // An interruption or a job stopped by another's failure says less than the
                // failure itself.
                let better = match (&first_error, &e) {
                    (None, _) => true,
                    (Some(CliError::Interrupted(_)), e) => !matches!(e, CliError::Interrupted(_)),
                    _ => false,
                };
                if better {
                    first_error = Some(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    })
}

/// One job: a source connection in the snapshot, a target connection, and the tables it
/// takes from the shared queue until none is left.
fn worker(
    source: &str,
    target: &str,
    tables: &[Table],
    snapshot: Snapshot<'_>,
    next: &AtomicUsize,
    bytes: &AtomicU64,
    done: &mpsc::Sender<Done>,
) -> Result<(), CliError> {
    let mut src = pg::connect(source).map_err(|e| CliError::on("source", e))?;
    src.simple(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
        scry_pg::text::quote_literal(snapshot.name)
    ))
    .map_err(|e| {
        CliError::on(
            "source",
            pg::server_error("cannot read in the slot's exported snapshot", &e),
        )
    })?;
    let mut tgt = pg::connect(target).map_err(|e| CliError::on("target", e))?;
    // As the applier does: the target's triggers, foreign keys among them, stay quiet for
    // rows that come from the source (a copy made again replaces referenced rows).
    tgt.simple("SET session_replication_role = replica")
        .map_err(|e| {
            CliError::on(
                "target",
                pg::server_error("cannot SET session_replication_role = replica", &e),
            )
        })?;
    loop {
        if crate::interrupt::requested() {
            return Err(CliError::Interrupted(
                "the copy was stopped; run the same command again to copy anew".into(),
            ));
        }
        let Some(table) = tables.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return Ok(());
        };
        let started = Instant::now();
        let (rows, copied) = copy_table(&mut src, &mut tgt, table, snapshot, bytes)?;
        // The receiver is gone only when the copy is over anyway.
        let _ = done.send(Done {
            name: qualified(&table.relation),
            rows,
            bytes: copied,
            took: started.elapsed(),
        });
    }
}

/// One table in one target transaction; its rows and bytes.
fn copy_table(
    src: &mut Conn,
    tgt: &mut Conn,
    table: &Table,
    snapshot: Snapshot<'_>,
    bytes: &AtomicU64,
) -> Result<(u64, u64), CliError> {
    let rel = &table.relation;
    let name = qualified(rel);
    let on_target =
        |what: String, e: &scry_conn::WireError| CliError::on("target", pg::server_error(what, e));
    tgt.simple(&format!("BEGIN; DELETE FROM {name}"))
        .map_err(|e| on_target(format!("cannot empty {name}"), &e))?;
    let mut writer = tgt
        .copy_in_writer(&format!(
            "COPY {name} ({}) FROM STDIN (FORMAT binary)",
            column_list(rel)
        ))
        .map_err(|e| on_target(format!("cannot COPY into {name}"), &e))?;
    let mut reader = src.copy_out(&table.copy_out_sql()).map_err(|e| {
        CliError::on(
            "source",
            pg::server_error(format!("cannot COPY {name}"), &e),
        )
    })?;
    let mut counted = Counted {
        inner: &mut writer,
        bytes,
        total: 0,
    };
    let copied = io::copy(&mut reader, &mut counted);
    let total = counted.total;
    let copied = copied.map_err(|e| match crate::interrupt::requested() {
        true => CliError::Interrupted(format!(
            "while copying {name}; run the same command again to copy anew"
        )),
        false => CliError::Server {
            what: format!("copying {name}"),
            message: e.to_string(),
        },
    });
    if let Err(e) = copied {
        drop(writer);
        let _ = reader.finish();
        let _ = tgt.simple("ROLLBACK");
        return Err(e);
    }
    reader.finish().map_err(|e| CliError::Server {
        what: format!("source: COPY of {name}"),
        message: e.to_string(),
    })?;
    let rows = writer
        .finish()
        .map_err(|e| on_target(format!("COPY into {name} failed"), &e))?;
    let record = scry_apply::record_loaded_sql(
        snapshot.stream,
        &rel.schema,
        &rel.table,
        snapshot.position,
        rows,
    );
    tgt.simple(&format!("{record}; COMMIT"))
        .map_err(|e| on_target(format!("cannot commit the copy of {name}"), &e))?;
    Ok((rows, total))
}

/// A writer that counts what goes through it, and refuses more once the command is asked
/// to stop.
struct Counted<'a, W> {
    inner: &'a mut W,
    bytes: &'a AtomicU64,
    total: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if crate::interrupt::requested() {
            return Err(io::Error::other("stopped (Ctrl-C or SIGTERM)"));
        }
        let n = self.inner.write(data)?;
        self.total += n as u64;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
