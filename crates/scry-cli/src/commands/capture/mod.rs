//! `scry capture`: a logical replication slot's committed transactions, decoded from pgoutput,
//! as a framed stream of CDC batches, a batch per transaction; the slot's confirmed position
//! moves only past what is durably written (flushed, and `fsync`ed for a file).
//!
//! Two sources read the slot:
//! - [`sql`] (`--source sql`, the default): rounds of `pg_logical_slot_peek_binary_changes`
//!   (whole transactions, nothing consumed), each followed by `pg_replication_slot_advance`
//!   to the last Commit written, once it is on disk.
//! - [`stream`] (`--source stream`): `START_REPLICATION ... LOGICAL` over a replication
//!   connection, through the pgwire-replication crate; the position acknowledged in the
//!   standby status updates is raised only once the frames up to it are on disk.
//!
//! Written to standard output, a transaction is durable only once the reader has committed
//! it: the slot is then confirmed only as far as the replication origin that `scry apply`
//! advances on its target says (`--confirm-from`, [`reader`]), and not at all without it, so a
//! reader that dies loses nothing the slot would not send again. Only the stream source
//! writes to standard output: the SQL source moves on only by confirming.
//!
//! Resuming into the same file makes the output exactly once: on start the file is read, and
//! everything after its last frame that ends a transaction (a torn frame, the first part of a
//! transaction cut at the event limit) is cut off ([`sink`]); a transaction the server sends
//! again whose Commit position is not past that frame's is skipped.

pub mod reader;
pub mod sink;
pub mod sql;
pub mod stream;

use std::time::{Duration, Instant};

use postgres::Client;
use scry_codec::Encoding;
use scry_pg::capture::{ChangeBatcher, DDL_PREFIX};
use scry_pg::pgoutput::ChangeDecoder;
use scry_types::Lsn;

use super::CliError;
use crate::pg;
use crate::progress::Progress;
use sink::Sink;

/// Where `scry capture` and `scry replicate` stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The source's WAL position at start.
    Now,
    /// This position.
    Lsn(u64),
}

/// How `scry capture` reads the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Bounded pulls through the SQL functions.
    Sql,
    /// The streaming replication protocol.
    Stream,
}

/// What `scry capture` reads and writes.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The logical replication slot (plugin `pgoutput`).
    pub slot: &'a str,
    /// The publication whose tables are captured.
    pub publication: &'a str,
    /// Create the publication (for the tables that can be replicated as they are) and the
    /// slot when they are missing.
    pub create: bool,
    /// With `create`: a `FOR ALL TABLES` publication instead.
    pub all_tables: bool,
    /// The output file (appended to, resumed), `-` for standard output.
    pub out: &'a str,
    /// Stop once everything committed up to this position is written.
    pub until: Option<Until>,
    /// The encoding of the batches.
    pub encoding: Encoding,
    /// The most events in a batch (a larger transaction spans several).
    pub batch_events: usize,
    /// Carry DDL statements emitted under [`DDL_PREFIX`] as Ddl events.
    pub ddl: bool,
    /// Which other logical messages to carry as Message events.
    pub messages: scry_pg::capture::MessageFilter,
    /// How the slot is read.
    pub source: Source,
    /// How long to wait before asking again when the slot has nothing new (SQL source).
    pub poll: Duration,
    /// Create the slot with an exported snapshot and first write the publication's tables,
    /// as of that snapshot, to this file (`scry snapshot`'s format).
    pub snapshot: Option<&'a str>,
    /// At the end of an `--until` run, write the source's sequences as a SyncSequences batch.
    pub sequences: bool,
    /// With standard output: the reader's target (a connection string), whose replication
    /// origin [`origin`](Self::origin) says how far the slot may be confirmed.
    pub confirm_from: Option<&'a str>,
    /// The replication origin the reader advances on `confirm_from` (by default the one
    /// `scry apply` derives for this stream and that target).
    pub origin: Option<&'a str>,
}

/// What a capture did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    transactions: u64,
    events: u64,
    bytes: u64,
    skipped: u64,
    confirmed: u64,
    /// The position of the last event written.
    position: u64,
    /// The commit time of the last transaction written (Unix microseconds).
    last_commit_us: u64,
}

/// A capture under way: the decoder, the batcher and the output, whatever the source.
pub struct Capture {
    decoder: ChangeDecoder,
    batcher: ChangeBatcher,
    sink: Sink,
    totals: Totals,
    started: Instant,
    /// The Commit position of the last transaction the output already held at start.
    resume_after: Option<u64>,
    /// The position of the last Commit written since the output was last made durable.
    written_commit: Option<u64>,
    /// The position of the last Commit written to standard output.
    written: u64,
    /// The last position [`durable`](Self::durable) gave to confirm.
    confirmable: u64,
    /// With standard output: where the reader has committed up to.
    reader: Option<reader::Reader>,
    /// A line on a terminal: position, confirmed position, events/s, lag.
    progress: Progress,
}

impl Capture {
    /// Decodes one message delivered at `lsn` and writes the batches it completes.
    fn decode(&mut self, lsn: u64, message: &bytes::Bytes, slot: &str) -> Result<(), CliError> {
        let Self {
            decoder,
            batcher,
            sink,
            totals,
            written_commit,
            ..
        } = self;
        let mut failed = Ok(());
        decoder
            .decode(lsn, message, &mut |change| {
                if failed.is_ok() {
                    failed = sink.push(batcher, change, totals, written_commit);
                }
            })
            .map_err(|e| CliError::Load(format!("slot {slot}: {e}")))?;
        let (totals, started) = (&self.totals, self.started);
        self.progress.show(|| progress_line(totals, started));
        failed
    }

    /// Sends standard output's whole transactions on to its reader (see
    /// [`Sink::flush_pipe`]).
    fn flush_pipe(&mut self) -> Result<(), CliError> {
        self.sink.flush_pipe()
    }

    /// Makes what is written durable; returns the position the slot may now be confirmed
    /// to, if it moved since the last call: for a file, the last Commit it holds; for
    /// standard output, the last Commit written that the reader has committed too (never,
    /// without a reader).
    fn durable(&mut self) -> Result<Option<u64>, CliError> {
        self.sink.durable()?;
        let written = self.written_commit.take();
        if !self.sink.is_stdout() {
            return Ok(written);
        }
        self.written = self.written.max(written.unwrap_or(0));
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let position = reader.applied()?.min(self.written);
        if position <= self.confirmable {
            return Ok(None);
        }
        self.confirmable = position;
        Ok(Some(position))
    }

    /// True when everything decoded is written and durable where it went (after
    /// [`durable`](Self::durable)): no transaction held by the decoder, and on standard output
    /// every written transaction committed by the reader.
    fn settled(&self) -> bool {
        if self.decoder.oldest_held_lsn().is_some() {
            return false;
        }
        if !self.sink.is_stdout() {
            return self.written_commit.is_none();
        }
        self.reader.is_some() && self.confirmable >= self.written
    }

    /// Ends the capture: the last partial batch, if any, then durable; prints the summary.
    fn finish(mut self) -> Result<(), CliError> {
        if let Some(frame) = self.batcher.finish().map_err(capture_error)? {
            self.sink.write(frame.bytes)?;
        }
        self.sink.durable()?;
        self.progress.finish();
        let mut line = summary(&self.totals, self.started);
        match self.batcher.messages_skipped() {
            0 => {}
            1 => line.push_str("; 1 logical message not carried (see --messages)"),
            n => line.push_str(&format!(
                "; {n} logical messages not carried (see --messages)"
            )),
        }
        eprintln!("{line}");
        Ok(())
    }

    /// Writes every user sequence of the source, as it stands now, as a SyncSequences batch
    /// (after the last transaction written).
    fn sequences(&mut self, client: &mut Client) -> Result<(), CliError> {
        let values = sequences(client)?;
        let frame = self.batcher.sequence_sync(values).map_err(capture_error)?;
        let bytes = frame.bytes.len() as u64;
        self.sink.write(frame.bytes)?;
        self.totals.bytes += bytes;
        Ok(())
    }

    fn interrupted(&mut self) -> CliError {
        if let Err(e) = self.sink.durable() {
            return e;
        }
        CliError::Interrupted(summary(&self.totals, self.started))
    }
}

/// The values of the server's sequences (outside the system schemas), as `setval` takes
/// them.
pub fn sequences(client: &mut Client) -> Result<Vec<scry_types::SequenceValue>, CliError> {
    let rows = client
        .query(
            "SELECT schemaname::text, sequencename::text, coalesce(last_value, start_value), \
                    last_value IS NOT NULL, increment_by, min_value, max_value \
             FROM pg_sequences \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            &[],
        )
        .map_err(|e| pg::server_error("cannot read the sequences", &e))?;
    Ok(rows
        .iter()
        .map(|r| scry_types::SequenceValue {
            schema: r.get(0),
            name: r.get(1),
            last_value: r.get(2),
            is_called: r.get(3),
            increment_by: r.get(4),
            min_value: r.get(5),
            max_value: r.get(6),
        })
        .collect())
}

/// Runs the capture; see the module's documentation.
pub fn run(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    let mut client = pg::connect(conninfo)?;
    // The stream's identity, every batch's source_id: what a target's origin is bound to.
    let (system, database) = pg::identity(&mut client)?;
    let stream = scry_apply::stream_identity(&system, &database, options.slot);
    preflight(&mut client, &options)?;
    if options.create {
        create_publication(&mut client, options.publication, options.all_tables)?;
        if options.ddl {
            create_ddl_trigger(&mut client)?;
        }
    }
    if let Some(out) = options.snapshot {
        initial_snapshot(conninfo, &mut client, &options, out, &stream)?;
    } else if options.create {
        create_slot(&mut client, options.slot)?;
    }
    let confirmed = check_slot(&mut client, options.slot)?;
    let until = match options.until {
        None => None,
        Some(Until::Lsn(lsn)) => Some(lsn),
        Some(Until::Now) => Some(current_lsn(&mut client)?),
    };
    let sink = Sink::open(options.out)?;
    if sink.is_stdout() && options.source == Source::Sql {
        return Err(CliError::Usage(
            "--source sql reads past a transaction only once the slot is confirmed past it, \
             which a pipe's reader decides: use --source stream with --out -"
                .to_owned(),
        ));
    }
    let reader = match options.confirm_from {
        Some(_) if !sink.is_stdout() => {
            return Err(CliError::Usage(
                "--confirm-from is for --out - (a file confirms what is on disk)".to_owned(),
            ))
        }
        Some(target) => Some(reader::Reader::connect(target, options.origin, &stream)?),
        None => None,
    };
    let mut batcher = ChangeBatcher::new(options.encoding)
        .max_events(options.batch_events)
        .source_id(stream.as_str())
        .batch_seq(sink.next_batch_seq)
        .messages(options.messages.clone());
    if options.ddl {
        batcher = batcher.ddl_prefix(DDL_PREFIX);
    }
    crate::interrupt::install();
    let capture = Capture {
        decoder: ChangeDecoder::new(),
        batcher,
        resume_after: sink.last_commit,
        sink,
        totals: Totals {
            confirmed,
            ..Totals::default()
        },
        started: Instant::now(),
        written_commit: None,
        written: 0,
        confirmable: confirmed,
        reader,
        progress: Progress::new(),
    };
    match options.source {
        Source::Sql => sql::run(client, capture, &options, until),
        Source::Stream => stream::run(conninfo, client, capture, &options, until, confirmed),
    }
}

/// Checks, before anything is created, that the source allows what this capture needs
/// (see `scry_apply::preflight`).
fn preflight(client: &mut Client, options: &Options<'_>) -> Result<(), CliError> {
    let new_slot =
        (options.create || options.snapshot.is_some()) && !slot_exists(client, options.slot)?;
    let needs = scry_apply::preflight::SourceNeeds {
        new_slot,
        new_sender: options.source == Source::Stream || options.snapshot.is_some(),
    };
    let row: Vec<Option<String>> = client
        .simple_query(scry_apply::preflight::SOURCE_FACTS)
        .map_err(|e| pg::server_error("source: cannot read the server's settings", &e))?
        .into_iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    let problems = scry_apply::preflight::source_problems(&row, needs);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "source: {}",
            scry_apply::preflight::report(&problems)
        )))
    }
}

/// The progress line: where the capture is, what the slot has confirmed, the rate, and how
/// far the last transaction written is behind its commit.
fn progress_line(t: &Totals, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let lag = if t.last_commit_us == 0 {
        String::new()
    } else {
        format!(
            ", lag {:.1} s",
            now_us.saturating_sub(t.last_commit_us) as f64 / 1e6
        )
    };
    format!(
        "at {} (confirmed {}), {} transactions, {} events ({:.0} events/s){lag}",
        Lsn(t.position),
        Lsn(t.confirmed),
        t.transactions,
        t.events,
        t.events as f64 / secs
    )
}

fn summary(t: &Totals, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let mut s = format!(
        "captured {} transaction{}, {} events, {} bytes in {secs:.2} s; slot confirmed at {}",
        t.transactions,
        if t.transactions == 1 { "" } else { "s" },
        t.events,
        t.bytes,
        Lsn(t.confirmed)
    );
    if t.skipped > 0 {
        s.push_str(&format!(
            "; {} transactions already in the output skipped",
            t.skipped
        ));
    }
    s
}

fn capture_error(e: scry_pg::capture::CaptureError) -> CliError {
    CliError::Load(e.to_string())
}

/// The tables `--create` publishes: every user table (and partitioned table) whose rows an
/// UPDATE or DELETE can be replicated by as it is: a primary key (under the default replica
/// identity), a replica identity index, or REPLICA IDENTITY FULL. Those left out, with why:
/// published, a table without any would refuse the application's UPDATE and DELETE.
pub fn publishable(client: &mut Client) -> Result<(Vec<String>, Vec<String>), CliError> {
    let rows = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), \
                    c.relreplident = 'f' OR (c.relreplident = 'i' AND EXISTS \
                        (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)) \
                    OR (c.relreplident = 'd' AND EXISTS \
                        (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'scry') \
               AND n.nspname NOT LIKE 'pg\\_%' \
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(|e| pg::server_error("source: cannot list the tables to publish", &e))?;
    let (mut published, mut left_out) = (Vec::new(), Vec::new());
    for row in rows {
        if row.get::<_, bool>(1) {
            published.push(row.get(0));
        } else {
            left_out.push(row.get(0));
        }
    }
    Ok((published, left_out))
}

/// `--create`: the publication, when missing, for the tables that can be replicated as they
/// are ([`publishable`]), or for all tables with `all_tables`; says what it created and what
/// it left out.
fn create_publication(
    client: &mut Client,
    publication: &str,
    all_tables: bool,
) -> Result<(), CliError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&publication],
        )
        .map_err(|e| pg::server_error("source: cannot read pg_publication", &e))?
        .is_some();
    if exists {
        return Ok(());
    }
    let name = pg::quote(publication);
    if all_tables {
        client
            .batch_execute(&format!("CREATE PUBLICATION {name} FOR ALL TABLES"))
            .map_err(|e| pg::server_error("source: cannot create the publication", &e))?;
        eprintln!(
            "created publication {publication} FOR ALL TABLES (tables created later join it; \
             UPDATE and DELETE fail on a table without a primary key or replica identity)"
        );
        return Ok(());
    }
    let (tables, left_out) = publishable(client)?;
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "no table of the source has a primary key or a replica identity, so none can be \
             published without breaking the application's UPDATE and DELETE{}; give one a \
             key (or ALTER TABLE ... REPLICA IDENTITY FULL), or use --all-tables",
            list_note(&left_out)
        )));
    }
    client
        .batch_execute(&format!(
            "CREATE PUBLICATION {name} FOR TABLE {}",
            tables.join(", ")
        ))
        .map_err(|e| pg::server_error("source: cannot create the publication", &e))?;
    eprintln!(
        "created publication {publication} for {} table{}: {}",
        tables.len(),
        if tables.len() == 1 { "" } else { "s" },
        tables.join(", ")
    );
    if !left_out.is_empty() {
        eprintln!(
            "left out of it, having no primary key or replica identity (published, their \
             UPDATE and DELETE would fail on the source): {}; to replicate one, give it a key \
             or ALTER TABLE ... REPLICA IDENTITY FULL, then ALTER PUBLICATION {name} ADD \
             TABLE ...",
            left_out.join(", ")
        );
    }
    Ok(())
}

/// ` (tables: a, b)`, or nothing.
fn list_note(tables: &[String]) -> String {
    if tables.is_empty() {
        String::new()
    } else {
        format!(" (tables: {})", tables.join(", "))
    }
}

fn slot_exists(client: &mut Client, slot: &str) -> Result<bool, CliError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .map_err(|e| pg::server_error("cannot read pg_replication_slots", &e))?
        .is_some())
}

fn create_slot(client: &mut Client, slot: &str) -> Result<(), CliError> {
    if !slot_exists(client, slot)? {
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .map_err(|e| pg::server_error("cannot create the replication slot", &e))?;
    }
    Ok(())
}

/// `--snapshot`: creates the slot over a replication connection with its snapshot exported,
/// and writes the publication's tables as of that snapshot to `out`: the snapshot holds
/// exactly what committed before the slot's consistent point, the slot exactly what
/// committed after it, so the two meet with no gap and no overlap.
fn initial_snapshot(
    conninfo: &str,
    client: &mut Client,
    options: &Options<'_>,
    out: &str,
    stream: &str,
) -> Result<(), CliError> {
    if slot_exists(client, options.slot)? {
        return Err(CliError::Usage(format!(
            "--snapshot needs a new slot (its snapshot is exported when it is created), and \
             slot {slot} exists. If it is the slot of a snapshot already written whole, capture \
             its changes without --snapshot; to start over, remove it first with `scry drop \
             SOURCE --slot {slot}`",
            slot = options.slot
        )));
    }
    let tables: Vec<String> = client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_publication_tables \
             WHERE pubname = $1 ORDER BY 1, 2",
            &[&options.publication],
        )
        .map_err(|e| pg::server_error("cannot read the publication's tables", &e))?
        .iter()
        // Quoted: the snapshot resolves each name as SQL does (`"Mixed Case"` keeps its case
        // and its space).
        .map(|r| {
            format!(
                "{}.{}",
                pg::quote(&r.get::<_, String>(0)),
                pg::quote(&r.get::<_, String>(1))
            )
        })
        .collect();
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "publication {} has no tables to snapshot",
            options.publication
        )));
    }
    let slot = stream::create_slot_exporting(conninfo, options)?;
    let written = super::snapshot::run(
        conninfo,
        super::snapshot::Options {
            tables: &tables,
            out,
            encoding: options.encoding,
            jobs: 1,
            imported: Some(super::snapshot::Imported {
                name: &slot.snapshot,
                lsn: slot.consistent_point,
            }),
            stream: Some(stream),
        },
    );
    drop(slot);
    if written.is_err() {
        // Its exported snapshot is gone with its connection: the slot could only give the
        // changes after a snapshot that was not written whole, while holding WAL.
        match super::drop::slot(client, options.slot) {
            Ok(_) => eprintln!(
                "dropped slot {}: the snapshot was not written whole, and the slot's snapshot \
                 cannot be read again; run the same command again to start over",
                options.slot
            ),
            Err(e) => eprintln!(
                "the snapshot was not written whole; slot {} could not be dropped ({e}): \
                 remove it with `scry drop SOURCE --slot {}`",
                options.slot, options.slot
            ),
        }
    }
    written
}

/// The event trigger `--create --ddl` installs (when no `scry_ddl` trigger exists): every DDL
/// command's statement text goes into
/// the WAL as a transactional logical message under [`DDL_PREFIX`], so it reaches the slot in
/// its transaction, in order with the rows.
pub const DDL_TRIGGER_SQL: &str = "\
CREATE OR REPLACE FUNCTION scry_emit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_logical_emit_message(true, 'scry.ddl', current_query());
END $$;
DROP EVENT TRIGGER IF EXISTS scry_ddl;
CREATE EVENT TRIGGER scry_ddl ON ddl_command_end EXECUTE FUNCTION scry_emit_ddl();";

/// Installs the DDL event trigger unless it is there (installing it is DDL too, which the
/// trigger would capture).
fn create_ddl_trigger(client: &mut Client) -> Result<(), CliError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_event_trigger WHERE evtname = 'scry_ddl'",
            &[],
        )
        .map_err(|e| pg::server_error("cannot read pg_event_trigger", &e))?
        .is_some();
    if exists {
        return Ok(());
    }
    client
        .batch_execute(DDL_TRIGGER_SQL)
        .map_err(|e| pg::server_error("cannot create the DDL event trigger", &e))
}

/// Checks that `slot` is a pgoutput slot; returns its confirmed position.
fn check_slot(client: &mut Client, slot: &str) -> Result<u64, CliError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, confirmed_flush_lsn::text FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[&slot],
        )
        .map_err(|e| pg::server_error("cannot read pg_replication_slots", &e))?;
    let Some(row) = row else {
        return Err(CliError::Usage(format!(
            "no replication slot {slot} (--create makes it)"
        )));
    };
    match row.get::<_, Option<String>>(0) {
        Some(plugin) if plugin == "pgoutput" => row
            .get::<_, Option<String>>(1)
            .map_or(Ok(0), |l| parse_lsn(&l)),
        plugin => Err(CliError::Usage(format!(
            "slot {slot} uses the plugin {}, not pgoutput",
            plugin.unwrap_or_else(|| "none (a physical slot)".to_owned())
        ))),
    }
}

fn current_lsn(client: &mut Client) -> Result<u64, CliError> {
    let row = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .map_err(|e| pg::server_error("cannot read the WAL position", &e))?;
    parse_lsn(&row.get::<_, String>(0))
}

/// Runs `sql` with one text `parameter`, which returns one LSN as text, and gives it (0 when
/// it returns no row or NULL); `what` names the failure. It runs on a thread of its own: the
/// blocking client cannot run on the thread of the stream source's async runtime.
fn query_lsn(client: &mut Client, sql: &str, parameter: &str, what: &str) -> Result<u64, CliError> {
    let row = std::thread::scope(|s| s.spawn(|| client.query_opt(sql, &[&parameter])).join())
        .map_err(|_| CliError::Usage(format!("the query panicked: {sql}")))?
        .map_err(|e| pg::server_error(what, &e))?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .and_then(|s| s.parse::<Lsn>().ok())
        .map_or(0, |l| l.0))
}

fn parse_lsn(text: &str) -> Result<u64, CliError> {
    text.parse::<Lsn>()
        .map(|l| l.0)
        .map_err(|e| CliError::Usage(format!("not an LSN: {text} ({e})")))
}
