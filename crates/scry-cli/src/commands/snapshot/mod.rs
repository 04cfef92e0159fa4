//! `scry snapshot`: one, several or all tables of a live server, in one consistent
//! snapshot, as a framed stream of snapshot batches; read over one connection, or over
//! several sharing an exported snapshot (`--jobs`).

mod jobs;
mod report;

use std::io::Write;

use scry_codec::Encoding;
use scry_conn::Conn;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder};

use super::{CliError, Output};
use crate::interrupt::StopAtFrame;
use crate::pg;
use report::Report;

/// What `scry snapshot` reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The tables (`schema.table` or `table`); every user table when empty.
    pub tables: &'a [String],
    /// The output file, `-` for standard output.
    pub out: &'a str,
    /// The encoding of the batches.
    pub encoding: Encoding,
    /// Connections reading tables at once (1: the snapshot's own connection).
    pub jobs: usize,
    /// A snapshot another session exported, and the LSN it stands for, to read the tables
    /// in (a replication slot's, for `capture --snapshot`) instead of a new one.
    pub imported: Option<Imported<'a>>,
    /// The batches' `source_id`, the stream's identity (`capture --snapshot`: the slot's
    /// stream); by default `SYSTEM/DATABASE`, the source's (see [`pg::identity`]).
    pub stream: Option<&'a str>,
}

/// An exported snapshot to read in: its name and its LSN.
#[derive(Debug, Clone, Copy)]
pub struct Imported<'a> {
    /// The name `pg_export_snapshot()` or `CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export')`
    /// returned.
    pub name: &'a str,
    /// The WAL position the snapshot stands for (a slot's consistent point).
    pub lsn: u64,
}

/// Reads the tables of the server at `conninfo` at one snapshot, a `REPEATABLE READ READ
/// ONLY` transaction's, each with `COPY ... TO STDOUT (FORMAT binary)` straight into framed
/// batches on `out`; the snapshot's LSN is every event's position. With more than one job,
/// that transaction exports its snapshot and `jobs` connections import it and read a table
/// each at a time (see [`jobs`]). Each table's frames are contiguous in the output, so a
/// loader needs one COPY at a time. Shows progress on a terminal, prints a line per table
/// and a summary on standard error.
pub fn run(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    run_into(conninfo, options, || Output::create(options.out))
}

/// As [`run`], into the output `open` makes once the snapshot is taken and its tables
/// are known (for `capture --snapshot` into a NATS stream, see `capture::nats`).
pub fn run_into(
    conninfo: &str,
    options: Options<'_>,
    open: impl FnOnce() -> Result<Output, CliError>,
) -> Result<(), CliError> {
    let mut tx = pg::connect(conninfo)?;
    tx.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .map_err(|e| pg::server_error("cannot start the snapshot transaction", &e))?;
    let lsn = match options.imported {
        Some(imported) => {
            tx.simple(&format!(
                "SET TRANSACTION SNAPSHOT {}",
                scry_pg::text::quote_literal(imported.name)
            ))
            .map_err(|e| pg::server_error("cannot import the snapshot", &e))?;
            imported.lsn
        }
        None => {
            let head = pg::first_row(
                &mut tx,
                "SELECT (pg_current_wal_lsn() - '0/0')::int8",
                &[],
                "cannot read the snapshot's LSN",
            )?;
            u64::try_from(pg::number(&head, 0)).unwrap_or(0)
        }
    };
    let stream = match options.stream {
        Some(stream) => stream.to_owned(),
        None => {
            let (system, database) = pg::identity(&mut tx)?;
            format!("{system}/{database}")
        }
    };
    let list = pg::tables(&mut tx, options.tables)?;
    let jobs = options.jobs.clamp(1, list.len().max(1));
    crate::interrupt::install();
    let mut output = open()?;
    let mut report = Report::new(list.len());
    let written = if jobs == 1 {
        one_connection(
            &mut tx,
            &list,
            lsn,
            SnapshotEncoder::new(options.encoding).source_id(stream.as_str()),
            &stream,
            &mut output,
            &mut report,
        )
    } else {
        let exported = pg::first_row(
            &mut tx,
            "SELECT pg_export_snapshot()",
            &[],
            "cannot export the snapshot",
        )?;
        let snapshot = pg::text(&exported, 0);
        let plan = jobs::Plan {
            conninfo,
            snapshot: &snapshot,
            lsn,
            encoding: options.encoding,
            jobs,
            stream: &stream,
        };
        plan.run(list, &mut output, &mut report)
    };
    if let Err(e) = written {
        // The whole frames written so far stay (after a stop on Ctrl-C, every table but
        // the last is whole).
        output.finish()?;
        return Err(e);
    }
    output.finish()?;
    tx.simple("COMMIT")
        .map_err(|e| pg::server_error("cannot end the snapshot transaction", &e))?;
    report.summary(lsn, jobs);
    Ok(())
}

/// Every table over the snapshot transaction's own connection, one after the other.
fn one_connection(
    tx: &mut Conn,
    list: &[pg::Table],
    lsn: u64,
    mut encoder: SnapshotEncoder,
    stream: &str,
    output: &mut Output,
    report: &mut Report,
) -> Result<(), CliError> {
    for table in list {
        let adapter = SnapshotAdapter::new(table.relation.clone()).position(lsn);
        let name = table.relation.qualified_name();
        let schema = crate::schema::schema_frame(tx, table, lsn, &mut encoder, stream)?;
        output
            .writer()
            .write_all(&schema)
            .map_err(|e| output.error(e))?;
        let source = tx
            .copy_out(&table.copy_out_sql())
            .map_err(|e| pg::server_error(format!("cannot COPY {name}"), &e))?;
        let started = std::time::Instant::now();
        let mut sink = StopAtFrame(output.writer());
        let written = encoder.write_table_with_progress(&adapter, source, &mut sink, &mut |s| {
            report.at_work(&name, s.rows, s.encoded_bytes);
        });
        match written {
            Ok(summary) => report.table_done(&name, &summary, started.elapsed()),
            Err(_) if crate::interrupt::requested() => return Err(report.interrupted(&name)),
            Err(e) => return Err(CliError::Snapshot(Box::new(e))),
        }
    }
    Ok(())
}
