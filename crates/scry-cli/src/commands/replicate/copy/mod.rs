//! The initial copy of `scry replicate SOURCE TARGET`: every table read in a snapshot the
//! slot (or, resuming, a temporary slot) exported and written into the target with COPY in
//! PostgreSQL's binary format (no value is decoded or re-encoded on the way), by `--jobs`
//! pairs of connections working through a queue, largest first. A table larger than
//! `--split-larger-than` is split (see [`plan()`]) into ranges of its integer key when it has one
//! (see `super::ranges`), else of its pages (`ctid` ranges, which PostgreSQL 14 and later
//! scan directly), copied side by side so that one large table does not leave the other
//! connections idle.
//!
//! A whole table is one transaction on the target: emptied (TRUNCATE, so the COPY can write
//! frozen rows, or DELETE when a foreign key refers to it), the COPY, and the record in
//! `scry.snapshot_tables` that the stream's snapshot of it is loaded. A range of a key is
//! one transaction too, recorded in `scry.snapshot_ranges`. A table split in pages is
//! emptied first and each range is a transaction of its own. The last range to finish
//! records the table. A copy cut short leaves tables (and key ranges) unrecorded, and the
//! next run copies them in a snapshot of its own (see `super::clone`), keeping those
//! recorded. Once a table's rows are in, the job that finished them makes its keys and
//! indexes (with a larger `maintenance_work_mem`) while the others go on copying. Memory
//! stays bounded: a COPY goes through in pieces of 256 KiB, its rows' messages copied
//! straight from one connection's buffer to the other's (`scry_conn::pipe`). The progress
//! line ([`report()`]) says how far the copy is and when it should end.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use scry_conn::Conn;
use scry_source::catalog::{column_list, qualified, Table};
use scry_source::setup::ExportedSlot;

mod plan;
mod report;

use plan::{plan, Piece, Work};
use report::{report, Done};

use super::ranges::Range;
use crate::commands::CliError;
use crate::pg;

/// The memory each job's index builds may take on the target.
const MAINTENANCE_WORK_MEM: &str = "256MB";

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

/// A table to copy, the size of its rows on the source (its heap, all partitions'), and
/// the statements to run once its rows are in (its keys and indexes).
#[derive(Debug, Clone)]
pub struct Sized {
    /// The table.
    pub table: Table,
    /// Its heap's size in bytes.
    pub bytes: u64,
    /// Run on the target once the table's rows are there, by the job that finished them,
    /// while the other jobs go on copying.
    pub after: Vec<String>,
    /// The ranges of its key left to copy, when it is copied in ranges of its key.
    pub ranges: Option<Vec<Range>>,
}
/// How far each table is: ranges left, rows and bytes so far, when it started.
#[derive(Debug, Clone, Copy)]
struct Tally {
    left: usize,
    rows: u64,
    bytes: u64,
    started: Option<Instant>,
}
/// What the jobs share.
struct Shared<'a> {
    tables: &'a [Sized],
    work: &'a [Work],
    next: AtomicUsize,
    bytes: AtomicU64,
    /// The COPY bytes of each table so far.
    streamed: Vec<AtomicU64>,
    tallies: Mutex<Vec<Tally>>,
    snapshot: Snapshot<'a>,
    /// The slot's exporting connection, closed once every job has imported its snapshot
    /// (its walsender then lets the slot go while the copy goes on).
    exported: Mutex<Option<ExportedSlot>>,
    /// Jobs yet to import the snapshot.
    importing: AtomicUsize,
}
/// Copies `tables` from `source` to `target` over `jobs` connection pairs, splitting those
/// larger than `split` bytes; returns the rows copied.
///
/// # Errors
/// The first failure of any job (the others stop at their next piece); an interruption
/// (Ctrl-C, SIGTERM) as [`CliError::Interrupted`].
pub fn copy_tables(
    source: &str,
    target: &str,
    tables: &[Sized],
    snapshot: Snapshot<'_>,
    exported: ExportedSlot,
    jobs: usize,
    split: u64,
) -> Result<u64, CliError> {
    let mut tgt = target_conn(target)?;
    let page = page_size(&mut tgt)?;
    let work = plan(tables, split, page);
    let mut tallies = vec![
        Tally {
            left: 0,
            rows: 0,
            bytes: 0,
            started: None,
        };
        tables.len()
    ];
    for w in &work {
        tallies[w.table].left += 1;
    }
    // A table split in pages is emptied once, before its ranges, and recorded as being
    // copied (at `0/0`), so that a run after an interruption knows the rows there are its
    // own. (One split by key was recorded so when its ranges were.)
    for (i, t) in tables.iter().enumerate() {
        if work
            .iter()
            .any(|w| w.table == i && matches!(w.piece, Piece::Pages(..)))
        {
            let rel = &t.table.relation;
            let name = qualified(rel);
            let empty = empty_sql(&mut tgt, &name)?.0;
            let record =
                scry_apply::record_loaded_sql(snapshot.stream, &rel.schema, &rel.table, 0, 0);
            tgt.simple(&format!("BEGIN; {empty}; {record}; COMMIT"))
                .map_err(|e| {
                    CliError::on(
                        "target",
                        pg::server_error(format!("cannot empty {name}"), &e),
                    )
                })?;
        }
    }
    drop(tgt);
    let jobs = jobs.clamp(1, work.len().max(1));
    let shared = Shared {
        tables,
        work: &work,
        next: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
        streamed: tables.iter().map(|_| AtomicU64::new(0)).collect(),
        tallies: Mutex::new(tallies),
        snapshot,
        exported: Mutex::new(Some(exported)),
        importing: AtomicUsize::new(jobs),
    };
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let done_tx = done_tx.clone();
                let shared = &shared;
                scope.spawn(move || worker(source, target, shared, &done_tx))
            })
            .collect();
        drop(done_tx);
        let rows = report(&done_rx, &shared, started);
        let mut first_error = None;
        for worker in workers {
            let outcome = worker
                .join()
                .unwrap_or_else(|_| Err(CliError::Usage("a copy job stopped unexpectedly".into())));
            if let Err(e) = outcome {
                // An interruption says less than a failure.
                let better = match &first_error {
                    None => true,
                    Some(CliError::Interrupted(_)) => !matches!(e, CliError::Interrupted(_)),
                    Some(_) => false,
                };
                if better {
                    first_error = Some(e);
                }
            }
        }
        first_error.map_or(Ok(rows), Err)
    })
}
/// A connection to the target as the copy's jobs (and the index builds) use it.
pub(super) fn target_conn(target: &str) -> Result<Conn, CliError> {
    let mut tgt = pg::connect(target).map_err(|e| CliError::on("target", e))?;
    // As the applier does: the target's triggers, foreign keys among them, stay quiet for
    // rows that come from the source. A table's commit need not wait for the disk: one
    // lost in a crash of the target is unrecorded, and copied again.
    tgt.simple(&format!(
        "SET session_replication_role = replica; SET synchronous_commit = off; \
         SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'"
    ))
    .map_err(|e| {
        CliError::on(
            "target",
            pg::server_error("cannot set the session up for the copy", &e),
        )
    })?;
    Ok(tgt)
}

fn page_size(tgt: &mut Conn) -> Result<u64, CliError> {
    let row = pg::first_row(
        tgt,
        "SELECT current_setting('block_size')::int8",
        &[],
        "cannot read the block size",
    )?;
    Ok(u64::try_from(pg::number(&row, 0)).unwrap_or(8192))
}

/// How to empty `name` on the target, and whether its COPY may then write frozen rows:
/// TRUNCATE, unless a foreign key refers to it (DELETE then).
fn empty_sql(tgt: &mut Conn, name: &str) -> Result<(String, bool), CliError> {
    let row = pg::first_row(
        tgt,
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' \
                        AND confrelid = $1::regclass), \
                (SELECT relkind = 'p' FROM pg_class WHERE oid = $1::regclass)",
        &[Some(name)],
        &format!("target: cannot read what refers to {name}"),
    )?;
    Ok(if pg::flag(&row, 0) {
        (format!("DELETE FROM {name}"), false)
    } else {
        (format!("TRUNCATE {name}"), !pg::flag(&row, 1))
    })
}

/// One job: a source connection in the snapshot, a target connection, and the pieces it
/// takes from the shared queue until none is left.
fn worker(
    source: &str,
    target: &str,
    shared: &Shared<'_>,
    done: &mpsc::Sender<Done>,
) -> Result<(), CliError> {
    let mut src = pg::connect(source).map_err(|e| CliError::on("source", e))?;
    src.simple(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
        scry_pg::text::quote_literal(shared.snapshot.name)
    ))
    .map_err(|e| {
        CliError::on(
            "source",
            pg::server_error("cannot read in the slot's exported snapshot", &e),
        )
    })?;
    if shared.importing.fetch_sub(1, Ordering::AcqRel) == 1 {
        drop(
            shared
                .exported
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
    let mut tgt = target_conn(target)?;
    loop {
        if crate::interrupt::requested() {
            return Err(CliError::Interrupted(
                "the copy was stopped; run the same command again to go on (the tables copied are kept)".into(),
            ));
        }
        let Some(work) = shared.work.get(shared.next.fetch_add(1, Ordering::Relaxed)) else {
            return Ok(());
        };
        let table = &shared.tables[work.table].table;
        let started = Instant::now();
        {
            let mut tallies = shared.tallies.lock().unwrap_or_else(|p| p.into_inner());
            tallies[work.table].started.get_or_insert(started);
        }
        let (rows, bytes) = copy_piece(&mut src, &mut tgt, work, shared)?;
        let finished = {
            let mut tallies = shared.tallies.lock().unwrap_or_else(|p| p.into_inner());
            let tally = &mut tallies[work.table];
            tally.left -= 1;
            tally.rows += rows;
            tally.bytes += bytes;
            (tally.left == 0).then_some(*tally)
        };
        if let Some(tally) = finished {
            if work.piece != Piece::Whole {
                // The last range of a split table records it.
                let rel = &table.relation;
                let record = scry_apply::record_loaded_sql(
                    shared.snapshot.stream,
                    &rel.schema,
                    &rel.table,
                    shared.snapshot.position,
                    tally.rows,
                );
                tgt.simple(&record).map_err(|e| {
                    CliError::on(
                        "target",
                        pg::server_error(
                            format!("cannot record the copy of {}", qualified(rel)),
                            &e,
                        ),
                    )
                })?;
            }
            // The receiver is gone only when the copy is over anyway.
            let _ = done.send(Done::Copied {
                name: table.relation.qualified_name(),
                rows: tally.rows,
                bytes: tally.bytes,
                took: tally.started.map_or(Duration::ZERO, |s| s.elapsed()),
            });
            let after = &shared.tables[work.table].after;
            let indexing = Instant::now();
            super::clone::run_all(&mut tgt, after, &qualified(&table.relation))?;
            if !after.is_empty() {
                let _ = done.send(Done::Indexed {
                    name: table.relation.qualified_name(),
                    statements: after.len(),
                    took: indexing.elapsed(),
                });
            }
        }
    }
}

/// One piece in one target transaction; its rows and bytes.
fn copy_piece(
    src: &mut Conn,
    tgt: &mut Conn,
    work: &Work,
    shared: &Shared<'_>,
) -> Result<(u64, u64), CliError> {
    let (table, piece) = (&shared.tables[work.table].table, &work.piece);
    let rel = &table.relation;
    let name = qualified(rel);
    let on_target =
        |what: String, e: &scry_conn::WireError| CliError::on("target", pg::server_error(what, e));
    let (begin, freeze) = match piece {
        Piece::Pages(..) => ("BEGIN".to_owned(), false),
        Piece::Keys(range) if range.recopy => (
            format!("BEGIN; DELETE FROM ONLY {name} WHERE {}", range.condition()),
            false,
        ),
        Piece::Keys(_) => ("BEGIN".to_owned(), false),
        Piece::Whole => {
            let (empty, freeze) = empty_sql(tgt, &name)?;
            (format!("BEGIN; {empty}"), freeze)
        }
    };
    tgt.simple(&begin)
        .map_err(|e| on_target(format!("cannot empty {name}"), &e))?;
    let mut writer = tgt
        .copy_in_writer(&format!(
            "COPY {name} ({}) FROM STDIN (FORMAT binary{})",
            column_list(rel),
            if freeze { ", FREEZE" } else { "" }
        ))
        .map_err(|e| on_target(format!("cannot COPY into {name}"), &e))?;
    let read = match piece {
        Piece::Whole => table.copy_out_sql(),
        Piece::Pages(from, to) => format!(
            "COPY (SELECT {} FROM ONLY {name} WHERE ctid >= '({from},0)'::tid{}) TO STDOUT \
             (FORMAT binary)",
            column_list(rel),
            to.map_or_else(String::new, |to| format!(" AND ctid < '({to},0)'::tid"))
        ),
        Piece::Keys(range) => format!(
            "COPY (SELECT {} FROM ONLY {name} WHERE {}) TO STDOUT (FORMAT binary)",
            column_list(rel),
            range.condition()
        ),
    };
    let mut reader = src.copy_out(&read).map_err(|e| {
        CliError::on(
            "source",
            pg::server_error(format!("cannot COPY {name}"), &e),
        )
    })?;
    let copied = scry_conn::pipe(&mut reader, &mut writer, |n| {
        if crate::interrupt::requested() {
            return Err(io::Error::other("stopped (Ctrl-C or SIGTERM)"));
        }
        shared.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(streamed) = shared.streamed.get(work.table) {
            streamed.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(())
    });
    let total = *copied.as_ref().unwrap_or(&0);
    if let Err(e) = copied {
        drop(writer);
        let _ = reader.finish();
        let _ = tgt.simple("ROLLBACK");
        return Err(if crate::interrupt::requested() {
            CliError::Interrupted(format!(
                "while copying {name}; run the same command again to go on (the tables copied are kept)"
            ))
        } else {
            CliError::Server {
                what: format!("copying {name}"),
                message: e.to_string(),
            }
        });
    }
    reader.finish().map_err(|e| CliError::Server {
        what: format!("source: COPY of {name}"),
        message: e.to_string(),
    })?;
    let rows = writer
        .finish()
        .map_err(|e| on_target(format!("COPY into {name} failed"), &e))?;
    let commit = match piece {
        Piece::Pages(..) => "COMMIT".to_owned(),
        Piece::Keys(range) => format!(
            "{}; COMMIT",
            super::ranges::record_sql(
                shared.snapshot.stream,
                table,
                range.n,
                shared.snapshot.position,
                rows
            )
        ),
        Piece::Whole => format!(
            "{}; COMMIT",
            scry_apply::record_loaded_sql(
                shared.snapshot.stream,
                &rel.schema,
                &rel.table,
                shared.snapshot.position,
                rows,
            )
        ),
    };
    tgt.simple(&commit)
        .map_err(|e| on_target(format!("cannot commit the copy of {name}"), &e))?;
    Ok((rows, total))
}
