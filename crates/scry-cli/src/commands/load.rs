//! `scry load`: a framed snapshot stream (as `scry snapshot` writes it) into a live server,
//! each table with `COPY ... FROM STDIN (FORMAT binary)`, a batch at a time.

use std::time::Instant;

use bytes::Bytes;
use postgres::Client;
use scry_codec::frame::FrameReader;
use scry_codec::{BatchView, EventView};
use scry_pg::snapshot::SnapshotLoader;
use scry_types::{OperationType, RelationMeta};

use super::CliError;
use crate::input::InputError;
use crate::pg;

/// `name` for reading: a file, or standard input for `-`.
fn open_reader(name: &str) -> Result<Box<dyn std::io::Read>, CliError> {
    if name == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let file = std::fs::File::open(name).map_err(|source| InputError::Io {
        name: name.to_owned(),
        source,
    })?;
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        file,
    )))
}

/// Where reading the stream is: the batch being read and its next event.
struct Cursor<R: std::io::Read> {
    frames: FrameReader<R>,
    batch: Option<Bytes>,
    next: usize,
    index: u64,
}

impl<R: std::io::Read> Cursor<R> {
    /// Calls `f` with each event from here on until it returns false (the cursor then
    /// stays on that event) or the stream ends (returns false).
    fn each(
        &mut self,
        mut f: impl FnMut(&EventView<'_>, u64) -> Result<bool, CliError>,
    ) -> Result<bool, CliError> {
        loop {
            if self.batch.is_none() {
                match self.frames.next_frame() {
                    None => return Ok(false),
                    Some(frame) => {
                        let frame = frame.map_err(|e| CliError::Load(e.to_string()))?;
                        self.index = frame.index;
                        self.batch = Some(frame.payload);
                        self.next = 0;
                    }
                }
            }
            let bytes = self.batch.clone().unwrap_or_default();
            let view = BatchView::parse(&bytes)
                .map_err(|e| CliError::Load(format!("frame {}: not a batch: {e}", self.index)))?;
            for (i, event) in view.events().enumerate().skip(self.next) {
                if !f(&event, self.index)? {
                    self.next = i;
                    return Ok(true);
                }
            }
            self.batch = None;
        }
    }
}

/// Loads the snapshot in `input` (a file, `-` for standard input) into the server at
/// `conninfo`: at each `SnapshotBegin` a `COPY <table> (<columns>) FROM STDIN` starts, its
/// rows are written straight from the batches' bytes, and the `SnapshotEnd` ends it.
/// With `create`, a missing table (and schema) is created from the stream's relation
/// metadata first. Prints a line per table and a summary on standard error.
pub fn run(conninfo: &str, input: &str, create: bool) -> Result<(), CliError> {
    let mut client = pg::connect(conninfo)?;
    let reader = open_reader(input)?;
    let mut cursor = Cursor {
        frames: FrameReader::new(reader),
        batch: None,
        next: 0,
        index: 0,
    };
    crate::interrupt::install();
    let started = Instant::now();
    let (mut tables, mut rows) = (0u64, 0u64);
    loop {
        // The next table's SnapshotBegin.
        let mut begin: Option<RelationMeta> = None;
        let found = cursor.each(|event, index| {
            if event.operation() != OperationType::SnapshotBegin {
                return Ok(true);
            }
            let Some(rel) = event.relation_meta() else {
                return Err(CliError::Load(format!(
                    "frame {index}: a SnapshotBegin of {}.{} without its relation",
                    event.schema(),
                    event.table()
                )));
            };
            begin = Some(rel.to_owned_relation());
            Ok(false)
        })?;
        let Some(rel) = begin.filter(|_| found) else {
            break;
        };
        // Past the begin event.
        cursor.next += 1;
        let t0 = Instant::now();
        let loaded = match load_table(&mut client, &mut cursor, &rel, create) {
            Err(_) if crate::interrupt::requested() => {
                return Err(CliError::Interrupted(format!(
                    "{tables} tables ({rows} rows) loaded; {} rolled back, the rest not started",
                    rel.qualified_name()
                )));
            }
            other => other?,
        };
        tables += 1;
        rows += loaded;
        eprintln!(
            "{}: {loaded} rows in {:.2} s",
            rel.qualified_name(),
            t0.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "loaded {tables} tables, {rows} rows in {:.2} s{}",
        started.elapsed().as_secs_f64(),
        pg::peak_rss_note()
    );
    Ok(())
}

/// One table: its rows up to its SnapshotEnd, through one COPY.
fn load_table<R: std::io::Read>(
    client: &mut Client,
    cursor: &mut Cursor<R>,
    rel: &RelationMeta,
    create: bool,
) -> Result<u64, CliError> {
    let name = rel.qualified_name();
    if create {
        create_table(client, rel)?;
    }
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        pg::qualified(rel),
        pg::column_list(rel)
    );
    let writer = client
        .copy_in(sql.as_str())
        .map_err(|e| pg::server_error(format!("cannot COPY into {name}"), &e))?;
    let mut loader = SnapshotLoader::new(rel, writer);
    let mut ended = false;
    cursor.each(|event, _| {
        if crate::interrupt::requested() {
            return Err(CliError::Interrupted(String::new()));
        }
        let same = event.schema() == rel.schema && event.table() == rel.table;
        if same && event.operation() == OperationType::SnapshotEnd {
            ended = true;
            return Ok(false);
        }
        loader
            .load_event(event)
            .map_err(|e| CliError::Snapshot(Box::new(e)))?;
        Ok(true)
    })?;
    if !ended {
        return Err(CliError::Load(format!(
            "the stream ends inside the snapshot of {name}: no SnapshotEnd (nothing of it committed)"
        )));
    }
    let rows = loader.rows_written();
    loader
        .finish()
        .map_err(|e| CliError::Snapshot(Box::new(e)))?
        .finish()
        .map_err(|e| pg::server_error(format!("COPY into {name} failed"), &e))?;
    Ok(rows)
}

/// Creates `rel`'s schema and table unless they exist, its column types named by the
/// server from their OIDs and modifiers (`format_type`).
fn create_table(client: &mut Client, rel: &RelationMeta) -> Result<(), CliError> {
    let name = rel.qualified_name();
    let mut columns = Vec::new();
    for c in &rel.columns {
        let ty: Option<String> = client
            .query_one(
                "SELECT format_type($1, $2)",
                &[&c.type_oid, &c.type_modifier],
            )
            .map_err(|e| pg::server_error(format!("cannot name the types of {name}"), &e))?
            .get(0);
        let ty = ty.ok_or_else(|| {
            CliError::Load(format!(
                "{name}.{}: no type {} on the server",
                c.name, c.type_oid
            ))
        })?;
        columns.push(format!("{} {ty}", pg::quote(&c.name)));
    }
    let keys: Vec<String> = rel
        .columns
        .iter()
        .filter(|c| c.is_key)
        .map(|c| pg::quote(&c.name))
        .collect();
    if !keys.is_empty() {
        columns.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {} ({})",
        pg::quote(&rel.schema),
        pg::qualified(rel),
        columns.join(", ")
    );
    client
        .batch_execute(&sql)
        .map_err(|e| pg::server_error(format!("cannot create {name}"), &e))
}
