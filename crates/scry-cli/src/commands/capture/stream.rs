//! The streaming source of `scry capture`: `START_REPLICATION SLOT ... LOGICAL` over a
//! replication connection of `scry_conn` (the newest pgoutput protocol the server speaks,
//! in-progress transactions streamed, binary values, messages); each XLogData message goes
//! to the decoder as it comes, which holds a streamed transaction until it commits.
//!
//! The position confirmed to the server is raised only to the last Commit whose frames are
//! on disk: after each transaction once 100 ms have passed since the last `fsync`, and
//! whenever the stream goes quiet. With no transaction open and everything written durable,
//! a keepalive's position is confirmed too, so an idle slot does not hold the server's WAL
//! and a server shutting down (which waits for that) is not held up. The stream starts at
//! the slot's confirmed position, or at the output's last Commit when that is further, so a
//! transaction already written is not sent again.
//!
//! `--until` is met once the server has sent the WAL past it (a keepalive's position, asked
//! for when the stream goes quiet) and no transaction is open, or at the first transaction
//! that commits after it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use scry_conn::{Conn, CopyBoth, WireError};

use super::{Capture, Options};
use crate::commands::CliError;
use crate::pg;

/// How long the stream may be quiet before the output is made durable and `--until` checked.
const QUIET: Duration = Duration::from_millis(150);
/// The longest a written transaction waits for its `fsync` while the stream is busy.
const SYNC_EVERY: Duration = Duration::from_millis(100);
/// How often a quiet stream asks the server how far it has read.
const ASK_EVERY: Duration = Duration::from_secs(5);
/// The longest the server waits for a status update.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Captures until `until` (or Ctrl-C); `start` is where the slot's confirmed position is.
pub fn run(
    conninfo: &str,
    client: Conn,
    capture: Capture,
    options: &Options<'_>,
    until: Option<u64>,
    start: u64,
) -> Result<(), CliError> {
    let start = start.max(capture.resume_after.unwrap_or(0));
    let mut repl = Conn::connect_replication(conninfo)
        .map_err(|e| wire_error("cannot connect for replication", &e))?;
    let version = repl
        .server_version_num()
        .map_err(|e| wire_error("cannot read the server's version", &e))?;
    let sql = scry_pg::pgoutput::start_replication(
        options.slot,
        start,
        options.publication,
        version,
        scry_pg::pgoutput::protocol_for(version),
    );
    scry_conn::while_in_use(scry_apply::IN_USE_WAIT, || repl.start_copy_both(&sql))
        .map_err(|e| wire_error("cannot start replication", &e))?;
    let mut session = Session {
        capture,
        client,
        repl,
        slot: options.slot.to_owned(),
        until,
        open: false,
        received: start,
        acked: start,
        last_sync: Instant::now(),
        last_status: Instant::now(),
        watch: crate::watch::Watch::new(conninfo, options.slot, options.rails),
    };
    let result = session.receive();
    // What is written is durable and confirmed before the connection closes.
    let synced = session.sync();
    if result.is_ok() && synced.is_ok() {
        session.await_confirmed()?;
    }
    result.and(synced)?;
    session.capture.totals.confirmed = session.acked;
    if options.sequences && until.is_some() {
        session.capture.sequences(&mut session.client)?;
    }
    session.capture.finish()
}

struct Session {
    capture: Capture,
    /// An ordinary connection, for the slot's state and the sequences.
    client: Conn,
    repl: Conn,
    slot: String,
    until: Option<u64>,
    /// Between a Begin and its Commit.
    open: bool,
    /// How far the server has sent.
    received: u64,
    /// The position confirmed so far.
    acked: u64,
    last_sync: Instant,
    last_status: Instant,
    /// The heartbeat and the slot's health.
    watch: crate::watch::Watch,
}

impl Session {
    fn receive(&mut self) -> Result<(), CliError> {
        let mut asked = Instant::now();
        loop {
            if crate::interrupt::requested() {
                self.sync()?;
                return Err(self.capture.interrupted());
            }
            // A message already received is taken at once; when none is, the transactions
            // written so far go on to a pipe's reader before the wait.
            let message = match self.next(Duration::ZERO)? {
                Some(m) => Some(m),
                None => {
                    self.capture.flush_pipe()?;
                    self.next(QUIET)?
                }
            };
            let Some(message) = message else {
                self.sync()?;
                if let Some(until) = self.until {
                    if !self.open && self.received >= until {
                        return Ok(());
                    }
                }
                // The server says how far it has read when asked: soon when `--until` waits
                // for it, every few seconds otherwise, so that an idle slot is confirmed
                // past the WAL of other tables and databases.
                let every = if self.until.is_some() {
                    QUIET
                } else {
                    ASK_EVERY
                };
                if asked.elapsed() >= every {
                    self.status(true)?;
                    asked = Instant::now();
                }
                self.watch.turn()?;
                continue;
            };
            match message {
                CopyBoth::XLogData { start, data } => {
                    if self.message(start, &data)? {
                        return Ok(());
                    }
                }
                CopyBoth::Keepalive { end, reply } => {
                    self.received = self.received.max(end);
                    if reply {
                        self.sync()?;
                    }
                }
                CopyBoth::End => {
                    return Err(CliError::Lost {
                        what: "source".to_owned(),
                        message: format!(
                            "the server ended the replication stream of slot {} (shutting \
                             down, or its walsender was stopped)",
                            self.slot
                        ),
                    })
                }
            }
            if self.last_status.elapsed() >= STATUS_EVERY {
                self.status(false)?;
                self.watch.turn()?;
            }
        }
    }

    fn next(&mut self, wait: Duration) -> Result<Option<CopyBoth>, CliError> {
        self.repl
            .copy_both(wait)
            .map_err(|e| wire_error("replication stream", &e))
    }

    /// Decodes one message; true when `--until` is met (a transaction that commits after
    /// it begins).
    fn message(&mut self, lsn: u64, data: &Bytes) -> Result<bool, CliError> {
        self.received = self.received.max(lsn);
        match data.first() {
            Some(b'B') => {
                let final_lsn = data
                    .get(1..9)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes);
                if let (Some(until), Some(end)) = (self.until, final_lsn) {
                    if end > until {
                        return Ok(true);
                    }
                }
                self.open = true;
            }
            Some(b'C') => self.open = false,
            _ => {}
        }
        self.capture.decode(lsn, data, &self.slot)?;
        // After a Commit (or a streamed transaction's Stream Commit) the output may be synced.
        let committed = matches!(data.first(), Some(b'C' | b'c'));
        if !self.open && committed && self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(false)
    }

    /// Makes the output durable and confirms its last Commit; with nothing open and
    /// everything durable (and, on a pipe, committed by the reader), what the server has
    /// sent.
    fn sync(&mut self) -> Result<(), CliError> {
        self.last_sync = Instant::now();
        if let Some(position) = self.capture.durable()? {
            // Never past the first message of a transaction still held (streamed, not yet
            // committed): the server must send it again after a restart.
            let held = self.capture.decoder.oldest_held_lsn().unwrap_or(u64::MAX);
            self.acked = self.acked.max(position.min(held));
        }
        if !self.open && self.capture.settled() {
            self.acked = self.acked.max(self.received);
        }
        self.status(false)
    }

    /// A standby status update: received up to `received`, durable up to `acked`.
    fn status(&mut self, reply: bool) -> Result<(), CliError> {
        self.last_status = Instant::now();
        self.repl
            .standby_status(self.received.max(self.acked), self.acked, reply)
            .map_err(|e| wire_error("cannot send a status update", &e))
    }

    /// Waits (2 s at most) until the slot's confirmed position reaches what was confirmed,
    /// so that the slot does not hold back WAL the output already has.
    fn await_confirmed(&mut self) -> Result<(), CliError> {
        for _ in 0..40 {
            let confirmed = super::query_lsn(
                &mut self.client,
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                Some(&self.slot),
                "cannot read the replication state",
            )?;
            if confirmed >= self.acked {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

fn wire_error(what: &str, e: &WireError) -> CliError {
    pg::server_error(format!("source: {what}"), e)
}
