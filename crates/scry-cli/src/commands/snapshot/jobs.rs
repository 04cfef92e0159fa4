//! `scry snapshot --jobs N`: `N` connections read tables at once, all at the snapshot the
//! leading transaction exported (`pg_export_snapshot`, imported with `SET TRANSACTION
//! SNAPSHOT`), so the tables are as consistent as over one connection.
//!
//! Each worker takes the next table from the list, encodes its COPY stream into frames and
//! hands them, a few hundred KiB at a time, to the writer (this thread) over a bounded
//! channel of its own. The writer writes the tables whole, one after the other in the
//! list's order (a worker announces a table as it takes it, under the lock that hands the
//! tables out): a table's frames stay contiguous, so a loader needs one COPY at a time.
//! While the writer is on one table, the others' workers read ahead until their channel is
//! full ([`CHUNKS_AHEAD`] chunks of [`CHUNK_BYTES`]) and then wait: memory is bounded by
//! `jobs` such channels whatever the tables' sizes. Many small and middling tables are
//! read in parallel; one huge table is still read by one connection.
//!
//! Batches are numbered per table from its position in the list times 2^32, so that the
//! numbers still rise through the stream (a worker cannot know how many batches the tables
//! before its own will have).

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use scry_codec::Encoding;
use scry_conn::Conn as Client;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder, TableSummary};

use super::report::Report;
use crate::commands::{CliError, Output};
use crate::pg::{self, Table};

/// A worker hands its frames to the writer in chunks of about this many bytes (whole
/// frames: a chunk is sent once it reaches this size, or at the table's end).
pub const CHUNK_BYTES: usize = 512 * 1024;
/// How many chunks a worker may have waiting for the writer before it waits itself.
pub const CHUNKS_AHEAD: usize = 16;

/// A parallel snapshot's settings.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// The server.
    pub conninfo: &'a str,
    /// The exported snapshot's identifier.
    pub snapshot: &'a str,
    /// The snapshot's LSN: every event's position.
    pub lsn: u64,
    /// The encoding of the batches.
    pub encoding: Encoding,
    /// How many connections read tables.
    pub jobs: usize,
    /// The batches' `source_id`: the stream's identity.
    pub stream: &'a str,
}

/// What a worker tells the writer about the table it announced last.
enum Message {
    /// Whole frames, and the table's rows so far.
    Frames { bytes: Vec<u8>, rows: u64 },
    /// The table is written whole.
    Done {
        summary: TableSummary,
        took: Duration,
    },
    /// The table (or the worker) failed: the snapshot stops.
    Failed(CliError),
}

/// The tables not taken yet, and where announcements go: one lock, so tables are
/// announced in the order they are taken.
struct Queue {
    tables: Vec<Table>,
    next: usize,
    announce: Sender<(usize, usize)>,
}

impl Plan<'_> {
    /// Reads `tables` over `self.jobs` connections into `output`.
    pub fn run(
        &self,
        tables: Vec<Table>,
        output: &mut Output,
        report: &mut Report,
    ) -> Result<(), CliError> {
        let names: Vec<String> = tables.iter().map(|t| t.relation.qualified_name()).collect();
        // Every worker imports the snapshot before any starts, while the exporting
        // transaction is sure to be open.
        let clients = (0..self.jobs)
            .map(|_| self.worker_connection())
            .collect::<Result<Vec<_>, _>>()?;
        let (announce, announced) = mpsc::channel();
        let queue = Arc::new(Mutex::new(Queue {
            tables,
            next: 0,
            announce,
        }));
        let mut inboxes = Vec::with_capacity(self.jobs);
        let mut workers = Vec::with_capacity(self.jobs);
        for (id, client) in clients.into_iter().enumerate() {
            let (to_writer, inbox) = mpsc::sync_channel(CHUNKS_AHEAD);
            inboxes.push(inbox);
            let (queue, plan) = (Arc::clone(&queue), Worker::from(self));
            workers.push(thread::spawn(move || {
                plan.run(id, client, &queue, &to_writer)
            }));
        }
        // Only the queue holds the announcing end now: the channel ends with the workers.
        drop(queue);
        let written = write_tables(&names, &announced, &inboxes, output, report);
        // Workers still at work see their channel close and stop.
        drop(inboxes);
        written?;
        for worker in workers {
            worker
                .join()
                .map_err(|_| CliError::Load("a snapshot worker failed".to_owned()))??;
        }
        Ok(())
    }

    /// A connection in a `REPEATABLE READ READ ONLY` transaction at the exported snapshot.
    fn worker_connection(&self) -> Result<Client, CliError> {
        let mut client = pg::connect(self.conninfo)?;
        let quoted = scry_pg::text::quote_literal(self.snapshot);
        client
            .simple(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET TRANSACTION SNAPSHOT {quoted}"
            ))
            .map_err(|e| pg::server_error("cannot import the exported snapshot", &e))?;
        Ok(client)
    }
}

/// Writes each table as its worker sends it, in the order they were announced.
fn write_tables(
    names: &[String],
    announced: &Receiver<(usize, usize)>,
    inboxes: &[Receiver<Message>],
    output: &mut Output,
    report: &mut Report,
) -> Result<(), CliError> {
    let lost = || CliError::Load("a snapshot worker stopped without a word".to_owned());
    for _ in names {
        let (worker, table) = announced.recv().map_err(|_| lost())?;
        let name = names.get(table).map_or("?", String::as_str);
        let inbox = inboxes.get(worker).ok_or_else(lost)?;
        let mut bytes = 0u64;
        loop {
            match inbox.recv().map_err(|_| lost())? {
                Message::Frames { bytes: chunk, rows } => {
                    if crate::interrupt::requested() {
                        return Err(report.interrupted(name));
                    }
                    output
                        .writer()
                        .write_all(&chunk)
                        .map_err(|e| output.error(e))?;
                    bytes += chunk.len() as u64;
                    report.at_work(name, rows, bytes);
                }
                Message::Done { summary, took } => {
                    report.table_done(name, &summary, took);
                    break;
                }
                Message::Failed(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// What a worker needs of the plan.
#[derive(Debug, Clone)]
struct Worker {
    lsn: u64,
    encoding: Encoding,
    stream: Arc<str>,
}

impl From<&Plan<'_>> for Worker {
    fn from(plan: &Plan<'_>) -> Self {
        Self {
            lsn: plan.lsn,
            encoding: plan.encoding,
            stream: Arc::from(plan.stream),
        }
    }
}

impl Worker {
    /// Takes tables until none is left, sending each one's frames to the writer; ends its
    /// transaction at the end.
    fn run(
        self,
        id: usize,
        mut client: Client,
        queue: &Mutex<Queue>,
        to_writer: &SyncSender<Message>,
    ) -> Result<(), CliError> {
        let mut encoder = SnapshotEncoder::new(self.encoding).source_id(&*self.stream);
        while let Some((index, table)) = take(queue, id) {
            let message = match self.table(&mut client, &table, index, &mut encoder, to_writer) {
                Ok(done) => done,
                Err(e) => Message::Failed(e),
            };
            let failed = matches!(message, Message::Failed(_));
            if to_writer.send(message).is_err() || failed {
                // The writer stopped (it said why), or has heard why this worker stops.
                return Ok(());
            }
        }
        client
            .simple("COMMIT")
            .map(drop)
            .map_err(|e| pg::server_error("cannot end a worker's transaction", &e))
    }

    /// One table, its frames sent as they are made; its `Done` returned.
    fn table(
        &self,
        client: &mut Client,
        table: &Table,
        index: usize,
        encoder: &mut SnapshotEncoder,
        to_writer: &SyncSender<Message>,
    ) -> Result<Message, CliError> {
        let name = table.relation.qualified_name();
        let adapter = SnapshotAdapter::new(table.relation.clone()).position(self.lsn);
        encoder.set_next_batch_seq((index as u64) << 32);
        let started = Instant::now();
        let schema = crate::schema::schema_frame(client, table, self.lsn, encoder, &self.stream)?;
        let source = client
            .copy_out(&table.copy_out_sql())
            .map_err(|e| pg::server_error(format!("cannot COPY {name}"), &e))?;
        let rows = Cell::new(0);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        chunk.extend_from_slice(&schema);
        let mut sink = ChunkSink {
            chunk,
            rows: &rows,
            to_writer,
        };
        let summary = encoder
            .write_table_with_progress(&adapter, source, &mut sink, &mut |s| rows.set(s.rows))
            .map_err(|e| CliError::Snapshot(Box::new(e)))?;
        rows.set(summary.rows);
        // Fails only when the writer has stopped, and then it says why.
        sink.send()
            .map_err(|e| CliError::Load(format!("{name}: {e}")))?;
        Ok(Message::Done {
            summary,
            took: started.elapsed(),
        })
    }
}

/// The next table and its position, announced to the writer as it is taken.
fn take(queue: &Mutex<Queue>, worker: usize) -> Option<(usize, Table)> {
    let mut queue = queue.lock().ok()?;
    let index = queue.next;
    let table = queue.tables.get(index)?.clone();
    queue.next += 1;
    queue.announce.send((worker, index)).ok()?;
    Some((index, table))
}

/// Collects whole frames (the encoder writes each with one `write_all`) into chunks for
/// the writer.
struct ChunkSink<'a> {
    chunk: Vec<u8>,
    rows: &'a Cell<u64>,
    to_writer: &'a SyncSender<Message>,
}

impl ChunkSink<'_> {
    /// Sends what is collected, if anything.
    fn send(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_BYTES));
        self.to_writer
            .send(Message::Frames {
                bytes,
                rows: self.rows.get(),
            })
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the writer stopped"))
    }
}

impl Write for ChunkSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, frame: &[u8]) -> io::Result<()> {
        if crate::interrupt::requested() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "stopped on Ctrl-C",
            ));
        }
        self.chunk.extend_from_slice(frame);
        if self.chunk.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
