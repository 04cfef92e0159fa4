//! `scry capture`: a logical replication slot's committed transactions, decoded from pgoutput,
//! as a framed stream of CDC batches, a batch per transaction; the slot's confirmed position
//! moves only past what is durably written (flushed, and `fsync`ed for a file).
//!
//! Two sources read the slot:
//! - [`sql`] (`--source sql`, the default): rounds of `pg_logical_slot_peek_binary_changes`
//!   (whole transactions, nothing consumed), each followed by `pg_replication_slot_advance`
//!   to the last Commit written, once it is on disk.
//! - [`stream`] (`--source stream`): `START_REPLICATION ... LOGICAL` over a replication
//!   connection of `scry_conn`; the position acknowledged in the
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

mod nats;
pub mod reader;
pub mod setup;
mod sink;
pub mod sql;
pub mod stream;

use std::time::{Duration, Instant};

use scry_codec::Encoding;
use scry_conn::Conn;
use scry_pg::capture::{ChangeBatcher, DDL_PREFIX};
use scry_pg::pgoutput::ChangeDecoder;
use scry_types::Lsn;

use super::CliError;
use crate::log::{Event, Level};
use crate::pg;
use crate::progress::Progress;
use setup::{
    check_slot, create_ddl_trigger, create_publication, create_slot, current_lsn, slot_exists,
};
pub use setup::{query_lsn, sequences};
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
    /// The output file (appended to, resumed), `-` for standard output, or a NATS stream.
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
    /// How long to keep trying again after a server restart or a dropped connection.
    pub retry: crate::retry::Retry,
    /// The heartbeat and the slot's health checks of the stream source (see
    /// `crate::watch`).
    pub rails: crate::watch::Rails,
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
            self.sink.write(&frame)?;
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
        Event::new(Level::Info, "summary", line).emit();
        Ok(())
    }

    /// Writes every user sequence of the source, as it stands now, as a SyncSequences batch
    /// (after the last transaction written).
    fn sequences(&mut self, conn: &mut Conn) -> Result<(), CliError> {
        let values = sequences(conn)?;
        let frame = self.batcher.sequence_sync(values).map_err(capture_error)?;
        let bytes = frame.bytes.len() as u64;
        self.sink.write(&frame)?;
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

/// Runs the capture; see the module's documentation.
pub fn run(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    check_snapshot_output(&options)?;
    let mut client = pg::connect(conninfo)?;
    // The stream's identity, every batch's source_id: what a target's origin is bound to.
    let (system, database) = pg::identity(&mut client)?;
    let stream = scry_apply::stream_identity(&system, &database, options.slot);
    setup::preflight(&mut client, &options)?;
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
    let until = match options.until {
        None => None,
        Some(Until::Lsn(lsn)) => Some(lsn),
        Some(Until::Now) => Some(current_lsn(&mut client)?),
    };
    drop(client);
    // From here on a run again goes on from the file and the slot: the retries start here.
    crate::interrupt::install();
    options.retry.run(|| {
        let client = pg::connect(conninfo)?;
        capture_once(conninfo, client, &options, &stream, until)
    })
}

/// One run of the capture proper, from the slot's confirmed position and what the output
/// holds, up to `until`, Ctrl-C or a failure.
fn capture_once(
    conninfo: &str,
    mut client: Conn,
    options: &Options<'_>,
    stream: &str,
    until: Option<u64>,
) -> Result<(), CliError> {
    let confirmed = check_slot(&mut client, options.slot)?;
    let sink = Sink::open(options.out, stream, options.encoding)?;
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
        Some(target) => Some(reader::Reader::connect(target, options.origin, stream)?),
        None => None,
    };
    let mut batcher = ChangeBatcher::new(options.encoding)
        .max_events(options.batch_events)
        .source_id(stream)
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
        Source::Sql => sql::run(client, capture, options, until),
        Source::Stream => stream::run(conninfo, client, capture, options, until, confirmed),
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

/// `--snapshot`: creates the slot over a replication connection with its snapshot exported,
/// and writes the publication's tables as of that snapshot to `out`: the snapshot holds
/// exactly what committed before the slot's consistent point, the slot exactly what
/// committed after it, so the two meet with no gap and no overlap.
fn initial_snapshot(
    conninfo: &str,
    client: &mut Conn,
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
            &[Some(options.publication)],
        )
        .map_err(|e| pg::server_error("cannot read the publication's tables", &e))?
        .iter()
        // Quoted: the snapshot resolves each name as SQL does (`"Mixed Case"` keeps its case
        // and its space).
        .map(|r| {
            format!(
                "{}.{}",
                pg::quote(&pg::text(r, 0)),
                pg::quote(&pg::text(r, 1))
            )
        })
        .collect();
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "publication {} has no tables to snapshot",
            options.publication
        )));
    }
    let slot = scry_source::setup::create_slot_exporting(conninfo, options.slot)
        .map_err(|e| CliError::on("source", e.into()))?;
    let snapshot = super::snapshot::Options {
        tables: &tables,
        out,
        encoding: options.encoding,
        jobs: 1,
        imported: Some(super::snapshot::Imported {
            name: &slot.snapshot,
            lsn: slot.consistent_point,
        }),
        stream: Some(stream),
    };
    let (position, encoding) = (slot.consistent_point, options.encoding);
    let written = if scry_nats::Address::is_nats(out) {
        // Into the stream the changes go to, ahead of them, then the message ending it.
        super::snapshot::run_into(conninfo, snapshot, || {
            let messages = nats::SnapshotOut::open(out, stream, position, encoding)?;
            Ok(super::Output::from_writer(
                nats_name(out),
                Box::new(messages),
            ))
        })
        .and_then(|()| nats::end_snapshot(out, stream, position, encoding))
    } else {
        super::snapshot::run(conninfo, snapshot)
    };
    drop(slot);
    if written.is_err() {
        // Its exported snapshot is gone with its connection: the slot could only give the
        // changes after a snapshot that was not written whole, while holding WAL.
        match super::drop::slot(client, options.slot) {
            Ok(_) => Event::new(
                Level::Warn,
                "slot",
                format!(
                    "dropped slot {}: the snapshot was not written whole, and the slot's \
                     snapshot cannot be read again; run the same command again to start over",
                    options.slot
                ),
            )
            .field("slot", options.slot)
            .emit(),
            Err(e) => Event::new(
                Level::Warn,
                "slot",
                format!(
                    "the snapshot was not written whole; slot {} could not be dropped ({e}): \
                     remove it with `scry drop SOURCE --slot {}`",
                    options.slot, options.slot
                ),
            )
            .field("slot", options.slot)
            .emit(),
        }
    }
    written
}

/// A snapshot into a NATS stream goes into the stream the changes go to, ahead of them: a
/// target is built from that one subject.
fn check_snapshot_output(options: &Options<'_>) -> Result<(), CliError> {
    let Some(snapshot) = options.snapshot.filter(|s| scry_nats::Address::is_nats(s)) else {
        return Ok(());
    };
    let into = nats::parse(snapshot)?;
    let same = scry_nats::Address::is_nats(options.out) && nats::parse(options.out)? == into;
    if same {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "--snapshot {into} publishes the snapshot ahead of the changes, into the stream \
         --out names: give --out {into} too (or --snapshot FILE to write it to a file)"
    )))
}

/// A NATS address as messages name it (its password, if any, hidden).
fn nats_name(address: &str) -> String {
    scry_nats::Address::parse(address).map_or_else(|_| address.to_owned(), |a| a.to_string())
}
