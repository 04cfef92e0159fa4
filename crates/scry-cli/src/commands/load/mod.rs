//! `scry load`: a framed snapshot stream (as `scry snapshot` writes it) into a live server,
//! each table with `COPY ... FROM STDIN (FORMAT binary)`, a batch at a time.

mod cursor;
mod report;

use std::io::Read;
use std::time::Instant;

use scry_conn::Conn as Client;
use scry_pg::snapshot::SnapshotLoader;
use scry_types::{OperationType, RelationMeta};

use super::CliError;
use crate::input::InputError;
use crate::pg;
use cursor::{Cursor, Stop};
use report::Report;

/// `name` for reading: a file, or standard input for `-`; and its size when known.
fn open_reader(name: &str) -> Result<(Box<dyn Read>, Option<u64>), CliError> {
    if name == "-" {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file = std::fs::File::open(name).map_err(|source| InputError::Io {
        name: name.to_owned(),
        source,
    })?;
    let size = file.metadata().map(|m| m.len()).ok();
    Ok((
        Box::new(std::io::BufReader::with_capacity(256 * 1024, file)),
        size,
    ))
}

/// Loads the snapshot in `input` (a file, `-` for standard input) into the server at
/// `conninfo`: at each `SnapshotBegin` a `COPY <table> (<columns>) FROM STDIN` starts, its
/// rows are written straight from the batches' bytes, and the `SnapshotEnd` ends it (each
/// table commits on its own). With `create`, a missing table (and schema) is created from
/// the stream's relation metadata first.
///
/// A damaged frame inside a table's snapshot rolls that table back: without `resync` the
/// load stops there with the error (the tables before it stay loaded); with `resync` it
/// goes on at the next good frame, with the next table whose `SnapshotBegin` it finds,
/// and ends with an error listing what was skipped. Shows progress on a terminal, prints
/// a line per table and a summary on standard error.
pub fn run(conninfo: &str, input: &str, create: bool, resync: bool) -> Result<(), CliError> {
    let mut client = pg::connect(conninfo)?;
    let (reader, total) = open_reader(input)?;
    // What the target loaded from which snapshot is kept there, in the schema scry.
    client
        .simple(scry_apply::create_sql())
        .map_err(|e| pg::server_error("cannot create scry's state (schema scry)", &e))?;
    let mut cursor = Cursor::new(reader, resync);
    let mut report = Report::new(total);
    crate::interrupt::install();
    loop {
        // The next table's SnapshotBegin.
        let mut begin: Option<(RelationMeta, u64)> = None;
        let mut stray = 0;
        // The statements that make the table, when the stream carries them before it.
        let mut schema: Option<(String, String, String)> = None;
        let found = cursor.each(|event, at| {
            if event.operation() == OperationType::Ddl
                && event.ddl_object_type() == Some(scry_pg::snapshot::TABLE_SCHEMA)
            {
                schema = Some((
                    event.schema().to_owned(),
                    event.table().to_owned(),
                    event.ddl_sql().unwrap_or_default().to_owned(),
                ));
                return Ok(true);
            }
            if event.operation() != OperationType::SnapshotBegin {
                stray += 1;
                return Ok(true);
            }
            let Some(rel) = event.relation_meta() else {
                return Err(CliError::Load(format!(
                    "frame {}: a SnapshotBegin of {}.{} without its relation",
                    at.frame,
                    event.schema(),
                    event.table()
                )));
            };
            begin = Some((rel.to_owned_relation(), event.position()));
            Ok(false)
        })?;
        report.stray_events += stray;
        let (rel, position) = match (found, begin) {
            (Stop::Paused, Some(begin)) => begin,
            (Stop::Damaged(what), _) if resync => {
                report.damaged(None, &what);
                continue;
            }
            (Stop::Damaged(what), _) => {
                return Err(CliError::Load(format!(
                    "{what} (between tables; {} tables loaded before it)",
                    report.done
                )));
            }
            _ => break,
        };
        // Past the begin event.
        cursor.next += 1;
        let name = rel.qualified_name();
        let started = Instant::now();
        report.tables_seen += 1;
        let table = Table {
            rel: &rel,
            stream: cursor.source_id().to_owned(),
            position,
            schema: schema
                .filter(|(s, t, _)| *s == rel.schema && *t == rel.table)
                .map(|(_, _, sql)| sql),
        };
        if table.loaded(&mut client)? {
            report.table_skipped(&name, position);
            skip_table(&mut cursor, &rel)?;
            continue;
        }
        match load_table(&mut client, &mut cursor, &table, create, &mut report) {
            Ok(Loaded::Whole(rows)) => report.table_done(&name, rows, started.elapsed()),
            Ok(Loaded::Damaged(what)) if resync => report.damaged(Some(&name), &what),
            Ok(Loaded::Damaged(what)) => {
                return Err(CliError::Load(format!(
                    "{name}: {what}; nothing of {name} was committed ({} tables loaded before it)",
                    report.done
                )));
            }
            Err(_) if crate::interrupt::requested() => {
                return Err(CliError::Interrupted(format!(
                    "{} tables ({} rows) loaded; {name} rolled back, the rest not started",
                    report.done, report.rows
                )));
            }
            Err(e) => return Err(e),
        }
    }
    if report.tables_seen == 0 && report.damaged.is_empty() {
        return Err(CliError::Load(format!(
            "{input} holds no snapshot table (no SnapshotBegin): nothing loaded"
        )));
    }
    report.summary(cursor.bytes_skipped());
    if report.damaged.is_empty() {
        Ok(())
    } else {
        Err(CliError::Load(format!(
            "{} skipped ({} bytes); {} not loaded: {}",
            report::count(report.damaged.len(), "damaged frame"),
            cursor.bytes_skipped(),
            report::count(report.not_loaded.len(), "table"),
            report.not_loaded.join(", ")
        )))
    }
}

/// How a table's snapshot ended.
enum Loaded {
    /// Every row up to its `SnapshotEnd`, committed.
    Whole(u64),
    /// A frame of it was damaged: its COPY was abandoned, nothing of it committed.
    Damaged(String),
}

/// A table's snapshot in the stream: its relation, the stream it comes from and the
/// snapshot's position.
struct Table<'a> {
    rel: &'a RelationMeta,
    stream: String,
    position: u64,
    /// The statements that make it (and the types it needs), when the stream carries them.
    schema: Option<String>,
}

impl Table<'_> {
    /// True when the target records that this stream's snapshot of the table at this
    /// position was loaded (a load run again after one cut short goes on where it stopped).
    fn loaded(&self, client: &mut Client) -> Result<bool, CliError> {
        let condition = scry_apply::loaded_condition(
            &self.stream,
            &self.rel.schema,
            &self.rel.table,
            self.position,
        );
        let row = pg::first_row(
            client,
            &format!("SELECT EXISTS (SELECT 1 FROM scry.snapshot_tables l WHERE {condition})"),
            &[],
            "cannot read scry.snapshot_tables",
        )?;
        Ok(pg::flag(&row, 0))
    }
}

/// Passes over a table's events up to its SnapshotEnd.
fn skip_table<R: Read>(cursor: &mut Cursor<R>, rel: &RelationMeta) -> Result<(), CliError> {
    let stop = cursor.each(|event, _| {
        let same = event.schema() == rel.schema && event.table() == rel.table;
        Ok(!(same && event.operation() == OperationType::SnapshotEnd))
    })?;
    match stop {
        Stop::Paused => {
            cursor.next += 1;
            Ok(())
        }
        Stop::End => Err(CliError::Load(format!(
            "the stream ends inside the snapshot of {}: no SnapshotEnd",
            rel.qualified_name()
        ))),
        Stop::Damaged(what) => Err(CliError::Load(what)),
    }
}

/// One table: its rows up to its SnapshotEnd, through one COPY, in one transaction that
/// first deletes what the table holds (a load cut short and run again reloads it whole)
/// and last records the load in `scry.snapshot_tables`.
fn load_table<R: Read>(
    client: &mut Client,
    cursor: &mut Cursor<R>,
    table: &Table<'_>,
    create: bool,
    report: &mut Report,
) -> Result<Loaded, CliError> {
    let rel = table.rel;
    let name = rel.qualified_name();
    if create {
        match &table.schema {
            Some(sql) => client
                .simple(sql)
                .map(drop)
                .map_err(|e| pg::server_error(format!("cannot create {name}"), &e))?,
            None => create_table(client, rel)?,
        }
    }
    client
        .simple("BEGIN")
        .map_err(|e| pg::server_error(format!("cannot begin the load of {name}"), &e))?;
    match copy_table(client, cursor, table, report) {
        Ok(Loaded::Whole(rows)) => {
            client
                .simple("COMMIT")
                .map_err(|e| pg::server_error(format!("cannot commit the load of {name}"), &e))?;
            Ok(Loaded::Whole(rows))
        }
        other => {
            // Nothing of the table is committed.
            let _ = client.simple("ROLLBACK");
            other
        }
    }
}

/// Inside the table's transaction: the DELETE, the COPY and the record of the load.
fn copy_table<R: Read>(
    client: &mut Client,
    cursor: &mut Cursor<R>,
    table: &Table<'_>,
    report: &mut Report,
) -> Result<Loaded, CliError> {
    let rel = table.rel;
    let name = rel.qualified_name();
    client
        .simple(&format!("DELETE FROM ONLY {}", pg::qualified(rel)))
        .map_err(|e| pg::server_error(format!("cannot empty {name} before loading it"), &e))?;
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        pg::qualified(rel),
        pg::column_list(rel)
    );
    let writer = client
        .copy_in_writer(&sql)
        .map_err(|e| pg::server_error(format!("cannot COPY into {name}"), &e))?;
    let mut loader = SnapshotLoader::new(rel, writer);
    let stop = cursor.each(|event, at| {
        if crate::interrupt::requested() {
            return Err(CliError::Interrupted(String::new()));
        }
        let same = event.schema() == rel.schema && event.table() == rel.table;
        if same && event.operation() == OperationType::SnapshotEnd {
            return Ok(false);
        }
        if loader
            .load_event(event)
            .map_err(|e| CliError::Snapshot(Box::new(e)))?
            && loader.rows_written() % 64 == 0
        {
            report.at_work(&name, loader.rows_written(), at.offset);
        }
        Ok(true)
    })?;
    match stop {
        // Past the SnapshotEnd.
        Stop::Paused => cursor.next += 1,
        // Dropping the loader's COPY writer unfinished aborts the COPY.
        Stop::Damaged(what) => return Ok(Loaded::Damaged(what)),
        Stop::End => {
            return Err(CliError::Load(format!(
                "the stream ends inside the snapshot of {name}: no SnapshotEnd (nothing of \
                 it committed)"
            )))
        }
    }
    let rows = loader.rows_written();
    loader
        .finish()
        .map_err(|e| CliError::Snapshot(Box::new(e)))?
        .finish()
        .map_err(|e| pg::server_error(format!("COPY into {name} failed"), &e))?;
    client
        .simple(&scry_apply::record_loaded_sql(
            &table.stream,
            &rel.schema,
            &rel.table,
            table.position,
            rows,
        ))
        .map_err(|e| pg::server_error(format!("cannot record the load of {name}"), &e))?;
    Ok(Loaded::Whole(rows))
}

/// Creates `rel`'s schema and table unless they exist, its column types named by the
/// server from their OIDs and modifiers (`format_type`): for a stream that does not carry
/// the table's schema (one written before scry wrote it, or by another producer), where
/// only built-in types can be named.
fn create_table(client: &mut Client, rel: &RelationMeta) -> Result<(), CliError> {
    let name = rel.qualified_name();
    let mut columns = Vec::new();
    for c in &rel.columns {
        let row = pg::first_row(
            client,
            "SELECT format_type($1::oid, $2::int4)",
            &[
                Some(&c.type_oid.to_string()),
                Some(&c.type_modifier.to_string()),
            ],
            &format!("cannot name the types of {name}"),
        )?;
        let ty = row.first().cloned().flatten().ok_or_else(|| {
            CliError::Load(format!(
                "{name}.{}: no type {} on the server",
                c.name, c.type_oid
            ))
        })?;
        columns.push(format!("{} {ty}", pg::quote(&c.name)));
    }
    columns.extend(pg::primary_key(rel));
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {} ({})",
        pg::quote(&rel.schema),
        pg::qualified(rel),
        columns.join(", ")
    );
    client
        .simple(&sql)
        .map(drop)
        .map_err(|e| pg::server_error(format!("cannot create {name}"), &e))
}
