//! [`Replication`]: a source's logical replication slot streamed straight into an
//! [`Applier`], in one process and on one thread: no file, no pipe, no second process.
//!
//! The stream is `START_REPLICATION SLOT ... LOGICAL` over a replication connection
//! (pgoutput in the newest protocol the server speaks, in-progress transactions streamed,
//! binary values, logical messages; see `scry_pg::pgoutput::start_replication`), decoded by
//! [`ChangeDecoder`] into the protocol's events and applied as they come. It starts at the
//! target's progress, so a transaction the target has is not sent again (and one sent anyway
//! is skipped by the applier).
//!
//! **Exactly once, and nothing confirmed early.** The slot is confirmed only as far as the
//! target's replication origin says is *durable* ([`Applier::durable_progress`]), never as
//! far as was received or committed: a crash of this process or of the target at any
//! instant leaves the slot at or before what the target keeps, and the target's origin
//! decides what is applied again. A status update goes to the source at least every
//! [`STATUS_EVERY`], and at once when the source asks for one.

use std::time::{Duration, Instant};

use bytes::Bytes;
use scry_pg::pgoutput::{Change, ChangeDecoder};

use copied::Admit;
use scry_types::{DatabaseEvent, Lsn, OperationType};

use crate::{Applier, ApplyError};
use scry_conn::{self as conn, Conn, CopyBoth, WireError};

mod checks;
mod confirm;
mod copied;
mod pause;

pub use copied::{CopyPositions, KeyRange, KeyRanges, Recopy};
pub use pause::Pause;

/// The longest the source waits for a status update (what the target has durably), while
/// the stream is busy or quiet.
pub const STATUS_EVERY: Duration = Duration::from_secs(1);

/// How often a quiet stream asks the server how far it has read (its keepalive's answer),
/// so that an idle slot is confirmed past the WAL of other tables and databases.
const ASK_EVERY: Duration = Duration::from_secs(5);

/// How long the stream may pause before the queued transactions are sent and answered
/// (see [`Applier::flush`]).
const PAUSE: Duration = Duration::from_millis(2);

/// How long a quiet stream is waited on before the caller's `idle` check runs again, and
/// how often a busy one gives it a turn.
const QUIET: Duration = Duration::from_millis(100);

/// Why [`Replication::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The source had sent everything up to the `until` position and every transaction in
    /// it is applied.
    Until,
    /// The caller's `idle` check said to stop.
    Asked,
    /// The source ended the stream.
    Ended,
    /// Ranges of a table copied in ranges of its key must be copied again before a change
    /// can be applied ([`Replication::recopy`] says which); the change's transaction is not
    /// applied, and streams again next time.
    Recopy,
    /// The stream reached the position [`Replication::pause_handle`] asked for: everything
    /// before it is applied, nothing after it. `run` again goes on.
    Paused,
}

/// A logical replication slot on the source, applied as it streams; see the module's
/// documentation.
pub struct Replication {
    conn: Conn,
    slot: String,
    decoder: ChangeDecoder,
    /// Carry logical messages with this prefix as DDL events.
    ddl_prefix: Option<String>,
    /// How far the source has sent: the last message's position or keepalive's end.
    received: u64,
    /// How far the slot is confirmed.
    confirmed: u64,
    /// The bytes of pgoutput messages received.
    bytes: u64,
    last_status: Instant,
    /// The source's identity, `SYSTEM/DATABASE/SLOT` (see [`crate::stream_identity`]).
    stream: String,
    /// The pgoutput protocol asked for, when not the newest the server speaks.
    protocol: Option<u32>,
    /// Tables copied at later snapshots than the stream starts from.
    copied: copied::Copied,
    /// Ranges to copy again before the stream can go on.
    recopy: Option<Recopy>,
    /// Where to pause (see [`Replication::pause_handle`]).
    pause: Pause,
    /// The message a pause stopped before, applied first by the next run.
    held: Option<(u64, Bytes)>,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication")
            .field("slot", &self.slot)
            .field("received", &Lsn(self.received))
            .field("confirmed", &Lsn(self.confirmed))
            .finish_non_exhaustive()
    }
}

impl Replication {
    /// Opens a replication connection (`replication=database`) to the source at
    /// `conninfo`, for the logical slot `slot`, reads the source's identity
    /// (`IDENTIFY_SYSTEM`) and checks the slot. Nothing streams before
    /// [`start`](Self::start).
    ///
    /// # Errors
    /// [`ApplyError::Source`] when the source cannot be connected to, or the slot is
    /// missing, not a pgoutput slot of this database, or in use by another process (after
    /// [`IN_USE_WAIT`](crate::IN_USE_WAIT)).
    pub fn connect(conninfo: &str, slot: &str) -> Result<Self, ApplyError> {
        let slot = slot.to_owned();
        let mut conn = Conn::connect_replication(conninfo).map_err(|e| {
            ApplyError::Source {
                slot: slot.clone(),
                message: format!("cannot connect: {e}"),
            }
            .or_lost(crate::Side::Source, &e)
        })?;
        let facts = conn.simple(crate::preflight::SOURCE_FACTS).map_err(|e| {
            ApplyError::Source {
                slot: slot.clone(),
                message: format!("cannot read the server's settings: {e}"),
            }
            .or_lost(crate::Side::Source, &e)
        })?;
        let needs = crate::preflight::SourceNeeds {
            new_slot: false,
            new_sender: false,
        };
        let problems =
            crate::preflight::source_problems(facts.first().map_or(&[][..], |r| &r[..]), needs);
        if !problems.is_empty() {
            return Err(ApplyError::Source {
                slot,
                message: crate::preflight::report(&problems),
            });
        }
        // IDENTIFY_SYSTEM: the system identifier (1st column) and the database (4th).
        let identity = conn
            .simple("IDENTIFY_SYSTEM")
            .map_err(|e| {
                ApplyError::Source {
                    slot: slot.clone(),
                    message: format!("IDENTIFY_SYSTEM failed: {e}"),
                }
                .or_lost(crate::Side::Source, &e)
            })?
            .into_iter()
            .next()
            .unwrap_or_default();
        let field = |i: usize| identity.get(i).cloned().flatten().unwrap_or_default();
        let stream = crate::stream_identity(&field(0), &field(3), &slot);
        let mut replication = Self {
            conn,
            slot,
            decoder: ChangeDecoder::new(),
            ddl_prefix: None,
            received: 0,
            confirmed: 0,
            bytes: 0,
            last_status: Instant::now(),
            stream,
            protocol: None,
            copied: copied::Copied::default(),
            recopy: None,
            pause: Pause::default(),
            held: None,
        };
        replication.check_slot()?;
        Ok(replication)
    }

    /// Asks for pgoutput `protocol` instead of the newest the server speaks (1: no
    /// in-progress transactions streamed; to compare, or for a server that misbehaves).
    #[must_use]
    pub fn protocol(mut self, protocol: u32) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The stream's identity, `SYSTEM/DATABASE/SLOT`: what [`Applier::connect`] binds the
    /// target's origin to, and what `scry capture` writes as its batches' `source_id`.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Applies the DDL statements an event trigger emits as transactional logical messages
    /// under `prefix` (as `scry capture --ddl` carries them).
    #[must_use]
    pub fn ddl_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.ddl_prefix = Some(prefix.into());
        self
    }

    /// The source's current WAL position (`pg_current_wal_lsn()`), for an `until` of "what
    /// is committed now". Only before [`start`](Self::start).
    ///
    /// # Errors
    /// [`ApplyError::Source`] when the query fails.
    pub fn current_position(&mut self) -> Result<u64, ApplyError> {
        self.conn
            .query_lsn("SELECT pg_current_wal_lsn()::text")
            .map_err(|e| self.error("cannot read the WAL position", &e))?
            .ok_or_else(|| ApplyError::Source {
                slot: self.slot.clone(),
                message: "pg_current_wal_lsn() gave no position".into(),
            })
    }

    /// Starts the stream of the slot's changes to the tables of `publication`, from `from`
    /// (the target's [`Applier::progress`]; the server starts at the slot's confirmed
    /// position when that is further).
    ///
    /// A slot in use by another connection is waited for, [`IN_USE_WAIT`](crate::IN_USE_WAIT)
    /// at most: the walsender of a process that died holds it until it notices.
    ///
    /// # Errors
    /// [`ApplyError::Source`] when the server refuses (no such slot, the slot still in use,
    /// no such publication).
    pub fn start(&mut self, publication: &str, from: u64) -> Result<(), ApplyError> {
        self.check_publication(publication)?;
        let version = self
            .conn
            .server_version_num()
            .map_err(|e| self.error("cannot read the server's version", &e))?;
        let protocol = self
            .protocol
            .unwrap_or_else(|| scry_pg::pgoutput::protocol_for(version));
        let sql =
            scry_pg::pgoutput::start_replication(&self.slot, from, publication, version, protocol);
        let conn = &mut self.conn;
        conn::while_in_use(crate::IN_USE_WAIT, || conn.start_copy_both(&sql)).map_err(|e| {
            if e.code() == Some("55006") {
                ApplyError::Source {
                    slot: self.slot.clone(),
                    message: format!(
                        "in use by another process ({e}): is another scry replicate or \
                         capture reading this slot?"
                    ),
                }
            } else {
                self.error("cannot start replication", &e)
            }
        })?;
        self.received = from;
        self.confirmed = from;
        self.last_status = Instant::now();
        Ok(())
    }

    /// How far the slot is confirmed: the target has everything before it durably.
    #[must_use]
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// How far the source has sent the stream.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The bytes of pgoutput messages received from the source so far.
    #[must_use]
    pub fn bytes_received(&self) -> u64 {
        self.bytes
    }

    /// How far the target is behind, in bytes of the source's WAL: what the source has sent
    /// past what the target has committed; 0 when nothing is open, queued or held and the
    /// target has everything (whatever WAL of other tables the source has read past).
    #[must_use]
    pub fn lag_bytes(&self, applier: &Applier) -> u64 {
        if self.settled(applier) {
            0
        } else {
            self.received.saturating_sub(applier.progress())
        }
    }

    /// True when every transaction received is committed on the target, none is open or
    /// held, and nothing waits to be sent.
    fn settled(&self, applier: &Applier) -> bool {
        !applier.in_transaction()
            && applier.queued() == 0
            && self.decoder.oldest_held_lsn().is_none()
    }

    /// Receives and applies the stream until it has passed `until` (every transaction that
    /// committed before it applied), the source ends it, or `idle` returns false. `idle` is
    /// the place for progress reports and interruption checks (it gets the applier and the
    /// stream, for the lag): it is called whenever the
    /// stream pauses and every 100 ms while it is quiet (after the queued transactions went
    /// out and were answered), and while it is busy after a transaction's Commit at least
    /// every 100 ms. Before returning, the queued transactions are applied and the slot is
    /// confirmed as far as the target has flushed (see [`settle`](Self::settle) to wait for
    /// the last ones).
    ///
    /// # Errors
    /// [`ApplyError::Source`] for the stream; the applier's errors as they come (the
    /// transactions before the failing one stay applied, and the slot confirmed no further
    /// than the target has them).
    pub fn run(
        &mut self,
        applier: &mut Applier,
        until: Option<u64>,
        mut idle: impl FnMut(&mut Applier, &Self) -> bool,
    ) -> Result<Stopped, ApplyError> {
        // The first quiet moment asks the server at once how far it has read: a stream with
        // nothing to send then ends at `until` without waiting.
        let mut asked = Instant::now()
            .checked_sub(ASK_EVERY)
            .unwrap_or_else(Instant::now);
        let mut turn = Instant::now();
        if let Some(stopped) = self.resume(applier)? {
            return self.stop(applier, stopped);
        }
        loop {
            let message = match self.pause(applier)? {
                Some(message) => message,
                None => {
                    // Nothing more for now: the queued transactions go out. While the target
                    // works on them (or waits on a lock) the caller still gets its turn.
                    loop {
                        applier.step()?;
                        if applier.queued() == 0 {
                            break;
                        }
                        if turn.elapsed() >= QUIET {
                            turn = Instant::now();
                            if !idle(applier, self) {
                                return self.stop(applier, Stopped::Asked);
                            }
                        }
                        applier.wait_answers(QUIET)?;
                    }
                    turn = Instant::now();
                    if !idle(applier, self) {
                        return self.stop(applier, Stopped::Asked);
                    }
                    let pending = until.filter(|&u| self.received < u || applier.in_transaction());
                    if until.is_some() && pending.is_none() {
                        return self.stop(applier, Stopped::Until);
                    }
                    if self.reached_pause(applier) {
                        return self.stop(applier, Stopped::Paused);
                    }
                    let pending = pending.or(self.pause.get());
                    if self.last_status.elapsed() >= STATUS_EVERY {
                        self.confirm(applier, false)?;
                    } else if (pending.is_some() && asked.elapsed() >= QUIET)
                        || asked.elapsed() >= ASK_EVERY
                    {
                        // The server says how far it has read when asked: a source with
                        // nothing to send still shows it has passed `until`, and a slot whose
                        // tables are idle is confirmed past the rest of the server's WAL.
                        self.status(true)?;
                        asked = Instant::now();
                    }
                    match self.receive(QUIET)? {
                        Some(message) => message,
                        None => continue,
                    }
                }
            };
            match message {
                CopyBoth::XLogData { start, data } => {
                    self.received = self.received.max(start);
                    self.bytes += data.len() as u64;
                    if self.holds(start, &data) {
                        return self.stop(applier, Stopped::Paused);
                    }
                    let committed = self.decode(start, &data, applier)?;
                    if self.recopy.is_some() {
                        return self.stop(applier, Stopped::Recopy);
                    }
                    if !committed {
                        continue;
                    }
                    // Between transactions of a busy stream: the caller's turn, the status.
                    if turn.elapsed() >= QUIET {
                        turn = Instant::now();
                        if !idle(applier, self) {
                            return self.stop(applier, Stopped::Asked);
                        }
                    }
                    if self.last_status.elapsed() >= STATUS_EVERY {
                        self.confirm(applier, false)?;
                    }
                }
                CopyBoth::Keepalive { end, reply } => {
                    self.received = self.received.max(end);
                    if reply {
                        // A server shutting down asks until the slot is confirmed as far as
                        // it has sent: with nothing open, that is what the target holds.
                        self.confirm(applier, false)?;
                    }
                    if turn.elapsed() >= QUIET {
                        turn = Instant::now();
                        if !idle(applier, self) {
                            return self.stop(applier, Stopped::Asked);
                        }
                    }
                }
                CopyBoth::End => return self.stop(applier, Stopped::Ended),
            }
        }
    }

    /// The next message, waiting [`PAUSE`] at most. Meanwhile the target works on what it
    /// has: the transactions queued while it was busy go out as soon as it has answered
    /// (together, in one group), and those arriving later join the next group.
    fn pause(&mut self, applier: &mut Applier) -> Result<Option<CopyBoth>, ApplyError> {
        let deadline = Instant::now() + PAUSE;
        loop {
            if let Some(message) = self.receive(Duration::ZERO)? {
                return Ok(Some(message));
            }
            let busy = applier.step()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if busy {
                // Woken by the stream or by the target's answers, whichever comes first.
                self.conn
                    .wait_either(applier.conn(), left)
                    .map_err(|e| self.error("replication stream", &e))?;
            } else if let Some(message) = self.receive(left)? {
                return Ok(Some(message));
            }
        }
    }

    /// The next message, waiting `wait` at most.
    fn receive(&mut self, wait: Duration) -> Result<Option<CopyBoth>, ApplyError> {
        self.conn
            .copy_both(wait)
            .map_err(|e| self.error("replication stream", &e))
    }

    /// Decodes one message and applies its events; true when a transaction committed.
    ///
    /// Each event goes to the applier as the decoder hands it over: a streamed transaction
    /// replayed at its commit is applied as it is read back, never held whole as events.
    fn decode(
        &mut self,
        lsn: u64,
        data: &Bytes,
        applier: &mut Applier,
    ) -> Result<bool, ApplyError> {
        let ddl_prefix = self.ddl_prefix.as_deref();
        let (mut committed, mut failed) = (false, None);
        let (copied, recopy) = (&mut self.copied, &mut self.recopy);
        let decoded = self.decoder.decode(lsn, data, &mut |change| {
            if failed.is_some() || recopy.is_some() {
                return;
            }
            let change = match copied.admit(&change) {
                Admit::Apply => change,
                Admit::Skip => {
                    if let Change::Event(DatabaseEvent {
                        relation_meta: Some(meta),
                        ..
                    }) = &change
                    {
                        applier.relation(meta);
                    }
                    return;
                }
                Admit::OldRowOnly => match change {
                    Change::Event(mut e) => {
                        e.operation = OperationType::Delete;
                        e.new_row = None;
                        Change::Event(e)
                    }
                    other => other,
                },
                Admit::Recopy(ranges) => {
                    // Nothing of this transaction is applied: it streams again after the copy.
                    applier.abandon();
                    *recopy = Some(ranges);
                    return;
                }
            };
            let Some(event) = event_of(ddl_prefix, change) else {
                return;
            };
            committed |= matches!(
                event.operation,
                OperationType::Commit | OperationType::Rollback
            );
            if let Err(e) = applier.apply(&event) {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        decoded.map_err(|e| ApplyError::Source {
            slot: self.slot.clone(),
            message: e.to_string(),
        })?;
        Ok(committed)
    }

    fn error(&self, what: &str, e: &WireError) -> ApplyError {
        ApplyError::Source {
            slot: self.slot.clone(),
            message: format!("{what}: {e}"),
        }
        .or_lost(crate::Side::Source, e)
    }
}

/// The event a change comes to: logical messages are for the application, not the database,
/// except DDL statements under `ddl_prefix`.
fn event_of(ddl_prefix: Option<&str>, change: Change) -> Option<DatabaseEvent> {
    match change {
        Change::Event(e) => Some(e),
        Change::Commits { .. } => None,
        Change::Message {
            lsn,
            transaction_id,
            timestamp_us,
            prefix,
            content,
            ..
        } => (ddl_prefix == Some(prefix.as_str()))
            .then(|| scry_pg::capture::ddl_event(lsn, transaction_id, timestamp_us, &content)),
    }
}
