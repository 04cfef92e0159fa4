//! `scry capture`: a logical replication slot's committed transactions, decoded from pgoutput,
//! as a framed stream of CDC batches, a batch per transaction; the slot is advanced only past
//! what is durably written.
//!
//! The source is the SQL interface: each round peeks at most [`ROUND_CHANGES`] changes with
//! `pg_logical_slot_peek_binary_changes` (whole transactions; nothing is consumed), writes
//! their frames, flushes them (and `fsync`s a file), and only then moves the slot's confirmed
//! position to the last Commit written with `pg_replication_slot_advance`. A crash at any
//! point leaves the slot at or before the file's last whole transaction.
//!
//! Resuming into the same file makes the output exactly once: on start the file is read,
//! everything after its last frame that ends a transaction (a torn frame, the first part of a
//! transaction cut at the event limit) is cut off, and transactions the server sends again
//! whose Commit position is not past that frame's are skipped.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use postgres::Client;
use scry_codec::frame::FrameReader;
use scry_codec::{BatchView, Encoding};
use scry_pg::capture::{ChangeBatcher, DDL_PREFIX};
use scry_pg::pgoutput::{Change, ChangeDecoder, MessageKind};
use scry_types::{Lsn, OperationType};

use super::CliError;
use crate::pg;

/// The most changes one round asks the server for.
pub const ROUND_CHANGES: i32 = 10_000;

/// Where `scry capture` stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The server's WAL position when the capture starts.
    Now,
    /// This position.
    Lsn(u64),
}

/// What `scry capture` reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The logical replication slot (plugin `pgoutput`).
    pub slot: &'a str,
    /// The publication whose tables are captured.
    pub publication: &'a str,
    /// Create the publication (`FOR ALL TABLES`) and the slot when they are missing.
    pub create: bool,
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
    /// How long to wait before asking again when the slot has nothing new.
    pub poll: Duration,
}

/// What a capture did.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    transactions: u64,
    events: u64,
    bytes: u64,
    skipped: u64,
    confirmed: u64,
}

/// Runs the capture; see the module's documentation.
pub fn run(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    let mut client = pg::connect(conninfo)?;
    if options.create {
        create(&mut client, options.slot, options.publication)?;
    }
    let confirmed = check_slot(&mut client, options.slot)?;
    let until = match options.until {
        None => None,
        Some(Until::Lsn(lsn)) => Some(lsn),
        Some(Until::Now) => Some(current_lsn(&mut client)?),
    };
    let mut sink = Sink::open(options.out)?;
    let mut batcher = ChangeBatcher::new(options.encoding)
        .max_events(options.batch_events)
        .source_id(options.slot)
        .batch_seq(sink.next_batch_seq);
    if options.ddl {
        batcher = batcher.ddl_prefix(DDL_PREFIX);
    }
    let resume_after = sink.last_commit;
    crate::interrupt::install();
    let started = Instant::now();
    let mut totals = Totals {
        confirmed,
        ..Totals::default()
    };
    let mut decoder = ChangeDecoder::new();
    loop {
        if crate::interrupt::requested() {
            sink.durable()?;
            return Err(CliError::Interrupted(summary(&totals, started)));
        }
        let rows = peek(&mut client, options.slot, options.publication, until)?;
        if rows.is_empty() {
            if until.is_some() {
                break;
            }
            std::thread::sleep(options.poll);
            continue;
        }
        let mut written_commit = None;
        let mut skip = false;
        for (lsn, message) in &rows {
            // A transaction already in the file (sent again after a crash) is skipped; its
            // Relation messages still describe the tables to what follows.
            match message.first().copied().and_then(MessageKind::from_byte) {
                Some(MessageKind::Begin) => {
                    skip = resume_after.is_some_and(|after| {
                        commit_end(&rows, *lsn).is_some_and(|end| end <= after)
                    });
                    if skip {
                        totals.skipped += 1;
                        continue;
                    }
                }
                Some(MessageKind::Relation | MessageKind::Type) => {}
                Some(MessageKind::Commit) if skip => {
                    skip = false;
                    continue;
                }
                _ if skip => continue,
                _ => {}
            }
            let mut failed = Ok(());
            decoder
                .decode(*lsn, message, &mut |change| {
                    if failed.is_ok() {
                        failed = sink.push(&mut batcher, change, &mut totals, &mut written_commit);
                    }
                })
                .map_err(|e| CliError::Load(format!("slot {}: {e}", options.slot)))?;
            failed?;
        }
        if let Some(position) = written_commit {
            sink.durable()?;
            advance(&mut client, options.slot, position)?;
            totals.confirmed = position;
        }
    }
    if let Some(frame) = batcher.finish().map_err(capture_error)? {
        sink.write(frame.bytes)?;
    }
    sink.durable()?;
    eprintln!("{}", summary(&totals, started));
    Ok(())
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

/// The end position of the transaction whose Begin came at `begin_lsn`: its Commit's.
fn commit_end(rows: &[(u64, Bytes)], begin_lsn: u64) -> Option<u64> {
    rows.iter()
        .skip_while(|(lsn, m)| !(*lsn == begin_lsn && m.first() == Some(&b'B')))
        .find(|(_, m)| m.first() == Some(&b'C'))
        .and_then(|(_, m)| match scry_pg::pgoutput::parse(m, false) {
            Ok(scry_pg::pgoutput::Message::Commit(c)) => Some(c.end_lsn),
            _ => None,
        })
}

fn create(client: &mut Client, slot: &str, publication: &str) -> Result<(), CliError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&publication],
        )
        .map_err(|e| pg::server_error("cannot read pg_publication", &e))?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!(
                "CREATE PUBLICATION {} FOR ALL TABLES",
                pg::quote(publication)
            ))
            .map_err(|e| pg::server_error("cannot create the publication", &e))?;
    }
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .map_err(|e| pg::server_error("cannot read pg_replication_slots", &e))?
        .is_some();
    if !exists {
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .map_err(|e| pg::server_error("cannot create the replication slot", &e))?;
    }
    Ok(())
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

fn parse_lsn(text: &str) -> Result<u64, CliError> {
    text.parse::<Lsn>()
        .map(|l| l.0)
        .map_err(|e| CliError::Usage(format!("not an LSN: {text} ({e})")))
}

/// The slot's next whole transactions, up to `until` (or the end of the WAL), not consumed.
fn peek(
    client: &mut Client,
    slot: &str,
    publication: &str,
    until: Option<u64>,
) -> Result<Vec<(u64, Bytes)>, CliError> {
    let upto = until.map(|l| Lsn(l).to_string());
    let rows = while_in_use(|| {
        client.query(
            "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes($1, $2::text::pg_lsn, $3, \
             'proto_version', '1', 'publication_names', $4, 'binary', 'true', 'messages', 'true')",
            &[&slot, &upto, &ROUND_CHANGES, &publication],
        )
    })
    .map_err(|e| pg::server_error(format!("cannot read the changes of slot {slot}"), &e))?;
    rows.iter()
        .map(|row| {
            let lsn = parse_lsn(&row.get::<_, String>(0))?;
            Ok((lsn, Bytes::from(row.get::<_, Vec<u8>>(1))))
        })
        .collect()
}

fn advance(client: &mut Client, slot: &str, position: u64) -> Result<(), CliError> {
    let position = Lsn(position).to_string();
    while_in_use(|| {
        client.execute(
            "SELECT pg_replication_slot_advance($1, $2::text::pg_lsn)",
            &[&slot, &position],
        )
    })
    .map_err(|e| pg::server_error(format!("cannot advance slot {slot}"), &e))?;
    Ok(())
}

/// Runs `query` again while the slot is in use by another backend (for a few seconds at
/// most): one that served a capture killed mid-call holds it until it notices.
fn while_in_use<T>(
    mut query: impl FnMut() -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match query() {
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// The output: a file resumed where its last whole transaction ends, or standard output.
struct Sink {
    name: String,
    out: BufWriter<Box<dyn Write>>,
    file: Option<File>,
    /// The Commit position of the last transaction the file holds.
    last_commit: Option<u64>,
    next_batch_seq: u64,
}

impl Sink {
    fn open(name: &str) -> Result<Self, CliError> {
        let write_error = |source| CliError::Write {
            name: name.to_owned(),
            source,
        };
        if name == "-" {
            return Ok(Self {
                name: name.to_owned(),
                out: BufWriter::with_capacity(256 * 1024, Box::new(io::stdout())),
                file: None,
                last_commit: None,
                next_batch_seq: 0,
            });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(name)
            .map_err(write_error)?;
        let resume = resume_point(&mut file).map_err(write_error)?;
        file.set_len(resume.keep).map_err(write_error)?;
        file.seek(SeekFrom::Start(resume.keep))
            .map_err(write_error)?;
        let writer = file.try_clone().map_err(write_error)?;
        Ok(Self {
            name: name.to_owned(),
            out: BufWriter::with_capacity(256 * 1024, Box::new(writer)),
            file: Some(file),
            last_commit: resume.last_commit,
            next_batch_seq: resume.next_batch_seq,
        })
    }

    fn error(&self, source: io::Error) -> CliError {
        CliError::Write {
            name: self.name.clone(),
            source,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        self.out.write_all(bytes).map_err(|e| self.error(e))
    }

    fn push(
        &mut self,
        batcher: &mut ChangeBatcher,
        change: Change,
        totals: &mut Totals,
        written_commit: &mut Option<u64>,
    ) -> Result<(), CliError> {
        if matches!(change, Change::Event(ref e) if e.operation == OperationType::Commit) {
            totals.transactions += 1;
        }
        if let Change::Event(_) = change {
            totals.events += 1;
        }
        if let Some(frame) = batcher.push(change).map_err(capture_error)? {
            totals.bytes += frame.bytes.len() as u64;
            let commit = frame.commit_position;
            self.out
                .write_all(frame.bytes)
                .map_err(|e| CliError::Write {
                    name: self.name.clone(),
                    source: e,
                })?;
            if commit.is_some() {
                *written_commit = commit;
            }
        }
        Ok(())
    }

    /// Flushes what is written and, for a file, waits until it is on disk.
    fn durable(&mut self) -> Result<(), CliError> {
        self.out.flush().map_err(|e| self.error(e))?;
        if let Some(file) = &self.file {
            file.sync_data().map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

/// Where a capture file resumes.
struct Resume {
    /// The bytes to keep: up to the end of the last frame that ends a transaction.
    keep: u64,
    last_commit: Option<u64>,
    next_batch_seq: u64,
}

fn resume_point(file: &mut File) -> io::Result<Resume> {
    let mut resume = Resume {
        keep: 0,
        last_commit: None,
        next_batch_seq: 0,
    };
    file.seek(SeekFrom::Start(0))?;
    for frame in FrameReader::new(io::BufReader::new(&mut *file)) {
        let Ok(frame) = frame else { break };
        let Ok(view) = BatchView::parse(&frame.payload) else {
            break;
        };
        resume.next_batch_seq = view.batch_seq().wrapping_add(1);
        let last = view.events().next_back();
        if let Some(e) = last.filter(|e| e.operation() == OperationType::Commit) {
            resume.keep = frame.offset + frame.wire_len();
            resume.last_commit = Some(e.position());
        }
    }
    Ok(resume)
}
