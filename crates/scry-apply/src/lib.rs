//! The receiving end of the scry `database_event` protocol: CDC transactions (as `scry capture`
//! and `scry_pg::pgoutput` produce them) applied to a PostgreSQL target, each exactly once.
//!
//! [`Applier`] turns each source transaction into one target transaction, in commit order:
//! INSERT, UPDATE and DELETE as prepared statements whose parameters are the events' value
//! bytes sent in binary (no text round trip); an UPDATE carrying unchanged-TOAST markers sets
//! only the columns it carries; UPDATE and DELETE find the row by the old key when the source
//! sent one (a changed key, REPLICA IDENTITY FULL) and by the new row's key otherwise;
//! TRUNCATE and DDL events run their statement. The session runs with
//! `session_replication_role = replica`, as PostgreSQL's own subscriber does, so the target's
//! triggers and foreign-key checks do not fire again for replicated rows, and with
//! `synchronous_commit = off`, as subscriptions do by default: a target crash may lose the
//! last transactions, but each together with its recorded position, so they are applied again
//! from the stream.
//!
//! **Throughput.** The applier speaks PostgreSQL's protocol itself (see `conn`), so that
//! many statements go out as one pipeline closed by a single Sync: the server answers them
//! without a flush after each, and after an error it skips everything up to that Sync.
//!
//! Whole transactions do not wait for each other's answers: each joins a group of up to
//! [`GROUP`] that goes out as one pipeline (when the target has answered the group before
//! it, when the group is full, at [`Applier::flush`], or after a DDL statement), so the
//! target, not the round trip, sets the pace, and starts on a transaction as soon as it is
//! idle. In a group the first transaction opens with `BEGIN`, and each one's `COMMIT AND
//! CHAIN` opens the next, so a transaction costs one statement fewer; the last ends with
//! `COMMIT`. The answers of a group are read while the next is being built. A transaction
//! never commits after one before it failed: the server runs nothing of the group after the
//! failure, whose transaction is then rolled back. Under [`OnConflict::Stop`] an UPDATE or
//! DELETE that finds no row fails on the server for the same reason. [`Applier::progress`]
//! and [`Totals`] count a transaction once its group's answers are checked; one still
//! queued when the applier is dropped was never sent, and the next run applies it. A
//! transaction too large to be held whole (over [`PIPELINE`] statements) goes out in parts
//! as it comes, and its `COMMIT` only after its answers are checked; a TRUNCATE or DDL
//! statement runs on its own, after the answers before it.
//!
//! **Straight from a slot.** [`Replication`] streams a source's logical replication slot
//! into an `Applier` in the same process (what `scry replicate` runs), confirming the slot
//! only as far as the target has the transactions durably.
//!
//! **Snapshots and control events.** A table's snapshot (`SnapshotBegin`, its
//! `SnapshotRow`s, `SnapshotEnd`, as `scry snapshot` and `scry capture --snapshot` write them)
//! is loaded in one target transaction: the table's rows are deleted, then the snapshot's go
//! in with `COPY ... FROM STDIN (FORMAT binary)`, their bytes as they are. A load cut short
//! rolls back; one run again replaces what an earlier run loaded. The load's transaction also
//! records it in `scry.snapshot_tables` (the stream, the table, the snapshot's position), and
//! a table the target records as loaded from this stream's same snapshot is passed over: a
//! fresh target loads everything, whatever its origins say. `BackfillComplete` records its position as the target's progress.
//! `SequenceSync` values are set with `setval` ([`Applier::sync_sequences`]). Foreign keys
//! need no `DisableForeignKeys`/`EnableForeignKeys`: the session's replica role keeps their
//! checks off for every row it writes and on for everyone else's, so those events, like
//! `BackfillStart`, `DdlComplete` and logical messages, have nothing to do.
//!
//! **Exactly once.** Progress is a replication origin (`pg_replication_origin_*`), the
//! mechanism PostgreSQL's subscriber uses: every target transaction records its source Commit
//! position with `pg_replication_origin_xact_setup` before it commits, so the position and
//! the changes are durable together or not at all. After a crash the origin says which
//! transactions the target has, and a transaction whose Commit position is at or before it is
//! dropped unsent. One too large to be held whole is sent in parts as it comes; if it began at
//! or before the recorded position it may be one the target has, so a failure in it waits for
//! its Commit: rolled back without error if the target had it, reported if not.

mod error;
mod group;
pub mod pauses;
mod pipeline;
mod plan;
pub mod preflight;
mod replicate;
mod snapshot;
mod sql;
mod state;
mod transaction;

use group::{Group, InFlight, Member};
use transaction::{control, invalid, server, Open, RECORD_PROGRESS};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scry_types::{DatabaseEvent, Lsn, OperationType, RelationMeta, SequenceValue};

pub use error::{ApplyError, Side};
use pipeline::Item;
pub use replicate::{
    CopyPositions, KeyRange, KeyRanges, Pause, Recopy, Replication, Stopped, STATUS_EVERY,
};
use scry_conn::{self as conn, Conn, WireError};
use sql::literal;
pub use state::{
    create_sql, forget, loaded_condition, origin_name, record_loaded_sql, stream_identity,
    Forgotten, SCHEMA,
};

/// How many statements a transaction holds before they are sent without waiting for its
/// Commit.
pub const PIPELINE: usize = 1000;

/// The most rows one INSERT statement takes from a run of inserts into the same table.
pub const INSERT_RUN: usize = 64;

/// How long an origin or slot that another session holds is waited for before the command
/// says so: the backend or walsender of a process that was killed lets go within this.
pub const IN_USE_WAIT: Duration = Duration::from_secs(3);

/// The most whole transactions that wait to go out together (see the crate's documentation).
pub const GROUP: usize = 100;

/// What [`Applier::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was taken (its statement is queued or sent).
    Done,
    /// A Commit whose transaction joined the group waiting to go out, or went out with it
    /// (its answers are checked later; see [`Applier::flush`]).
    Queued,
    /// A Commit whose transaction committed on the target (with the group before it).
    Committed,
    /// A Commit of a transaction the target already had, or a snapshot table it is past:
    /// nothing changed.
    Skipped,
    /// An event there is nothing to do for (a logical message, a foreign-key directive), or
    /// one inside a transaction or table that is passed over or already failed.
    Ignored,
}

/// What to do when the target refuses a row change because of its own state: an UPDATE or
/// DELETE that finds no row, an INSERT whose key is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Stop with the error (the default): the target differs from what the stream expects.
    #[default]
    Stop,
    /// Leave the row as the target has it and go on; counted in [`Totals::conflicts`].
    Skip,
    /// As `Skip`, and keep a description of each ([`Applier::take_conflicts`]).
    Log,
}

/// Counts of what an [`Applier`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Transactions committed on the target.
    pub committed: u64,
    /// Transactions the target already had, skipped.
    pub skipped: u64,
    /// Row changes, truncates and DDL statements applied in committed transactions.
    pub changes: u64,
    /// Row changes left undone under [`OnConflict::Skip`] or [`OnConflict::Log`].
    pub conflicts: u64,
    /// Sequences set from SyncSequences batches.
    pub sequences: u64,
    /// Snapshot tables loaded (COPY).
    pub tables_loaded: u64,
    /// Rows those tables received.
    pub rows_loaded: u64,
    /// Snapshot tables passed over because the target records their load from this stream's
    /// same snapshot.
    pub tables_skipped: u64,
}

/// Applies CDC events to a target server; see the crate's documentation. Call
/// [`flush`](Self::flush) when the input pauses or ends: the last transactions wait for it.
pub struct Applier {
    conn: Conn,
    /// The names `BEGIN`, `COMMIT` and `COMMIT AND CHAIN` are prepared under.
    begin: Arc<str>,
    commit: Arc<str>,
    chain: Arc<str>,
    origin: String,
    /// The source commit time of the last transaction committed (Unix microseconds).
    last_commit_us: u64,
    /// The identity of the stream applied.
    stream: String,
    progress: u64,
    /// The last answer of [`Applier::durable_progress`].
    durable: u64,
    tables: HashMap<(String, String), Arc<RelationMeta>>,
    /// The table of the last row change: the next one is most often of the same.
    last_table: Option<Arc<RelationMeta>>,
    /// Each table's GENERATED ALWAYS identity columns on the target.
    always: HashMap<(String, String), Arc<[String]>>,
    /// Prepared statements by their SQL: their names.
    statements: HashMap<String, Arc<str>>,
    /// The statements of row changes by shape.
    plans: plan::Plans,
    /// The statements of runs of inserts, by head and number of rows.
    runs: HashMap<(Arc<str>, usize), Arc<str>>,
    open: Option<Open>,
    /// The snapshot table being loaded.
    load: Option<snapshot::Load>,
    /// Between the SnapshotBegin and SnapshotEnd of a table passed over.
    skipping_table: bool,
    group: Group,
    in_flight: Option<InFlight>,
    totals: Totals,
    on_conflict: OnConflict,
    conflicts: Vec<String>,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("origin", &self.origin)
            .field("progress", &Lsn(self.progress))
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

fn setup_error(what: &str, e: &WireError) -> ApplyError {
    ApplyError::Setup(format!("{what}: {e}")).or_lost(Side::Target, e)
}

/// The names `BEGIN`, `COMMIT` and `COMMIT AND CHAIN` are prepared under.
const BEGIN: &str = "scry_begin";
const COMMIT: &str = "scry_commit";
const CHAIN: &str = "scry_chain";

impl Applier {
    /// Connects to the target at `conninfo` (libpq's rules and TLS: see `scry_conn`) to
    /// apply the stream whose identity is `stream` (see [`stream_identity`]): creates scry's state on the target when missing
    /// (the schema `scry`, see the `state` module), binds the replication origin `origin`
    /// (by default [`origin_name`] of the stream and the target database) to the stream,
    /// creates the origin when missing, and takes it for this session. An origin still held
    /// by the backend of a process that died is waited for, [`IN_USE_WAIT`] at most.
    ///
    /// # Errors
    /// [`ApplyError::OtherStream`] when the origin follows another stream;
    /// [`ApplyError::Setup`] when the connection, the state or the origin set-up fails (an
    /// origin another session holds: which process).
    pub fn connect(conninfo: &str, stream: &str, origin: Option<&str>) -> Result<Self, ApplyError> {
        let mut conn = Conn::connect(conninfo).map_err(|e| setup_error("cannot connect", &e))?;
        let facts = conn
            .simple(preflight::TARGET_FACTS)
            .map_err(|e| setup_error("cannot read what the role may do", &e))?;
        let problems = preflight::target_problems(facts.first().map_or(&[][..], |r| &r[..]));
        if !problems.is_empty() {
            return Err(ApplyError::Setup(preflight::report(&problems)));
        }
        // Replica mode as the built-in subscriber runs; and commits that do not wait for the
        // WAL flush, as its subscriptions default to: a crash can lose the last transactions,
        // but each with its origin progress (one commit record), so they are applied again
        // from the stream, never twice.
        conn.simple("SET session_replication_role = replica; SET synchronous_commit = off")
            .map_err(|e| match e.code() {
                Some("42501") => {
                    let role = facts
                        .first()
                        .and_then(|r| r.get(3).cloned().flatten())
                        .unwrap_or_default();
                    ApplyError::Setup(format!(
                        "not ready: {e}: {}",
                        preflight::replica_role_fix(&role)
                    ))
                }
                _ => setup_error("cannot set the session up", &e),
            })?;
        let origin = state::bind(&mut conn, stream, origin)?;
        let name = literal(&origin);
        conn.simple(&format!(
            "SELECT pg_replication_origin_create({name}) \
             WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = {name})"
        ))
        .map_err(|e| setup_error("cannot create the replication origin", &e))?;
        let setup = format!("SELECT pg_replication_origin_session_setup({name})");
        conn::while_in_use(IN_USE_WAIT, || conn.simple(&setup))
            .map_err(|e| state::in_use(&origin, &e))?;
        for (statement, sql) in [
            (BEGIN, "BEGIN"),
            (COMMIT, "COMMIT"),
            (CHAIN, "COMMIT AND CHAIN"),
        ] {
            conn.prepare(statement, sql)
                .map_err(|e| setup_error("cannot prepare BEGIN and COMMIT", &e))?;
        }
        let progress = durable_progress(&mut conn, &origin)
            .map_err(|e| setup_error("cannot read the origin's progress", &e))?;
        Ok(Self {
            conn,
            begin: Arc::from(BEGIN),
            commit: Arc::from(COMMIT),
            chain: Arc::from(CHAIN),
            origin,
            last_commit_us: 0,
            stream: stream.to_owned(),
            progress,
            durable: progress,
            tables: HashMap::new(),
            last_table: None,
            always: HashMap::new(),
            statements: HashMap::new(),
            plans: plan::Plans::default(),
            runs: HashMap::new(),
            open: None,
            load: None,
            skipping_table: false,
            group: Group::default(),
            in_flight: None,
            totals: Totals::default(),
            on_conflict: OnConflict::Stop,
            conflicts: Vec::new(),
        })
    }

    /// What to do with conflicts (see [`OnConflict`]).
    #[must_use]
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = on_conflict;
        self
    }

    /// The conflicts described under [`OnConflict::Log`] since the last call.
    pub fn take_conflicts(&mut self) -> Vec<String> {
        std::mem::take(&mut self.conflicts)
    }

    /// The Commit position of the last source transaction the target has committed (queued
    /// ones count once [`flush`](Self::flush) or a full group sends them).
    #[must_use]
    pub fn progress(&self) -> u64 {
        self.progress
    }

    /// The Commit position of the last source transaction whose commit is durable on the
    /// target (its WAL flushed): how far a source may forget what it sent. Under
    /// `synchronous_commit = off` it trails [`progress`](Self::progress) by the target's
    /// WAL writer delay at most. The queued transactions go out first
    /// ([`flush`](Self::flush)); inside a transaction sent in parts or a snapshot load the
    /// target is not asked, and the last answer is returned.
    ///
    /// # Errors
    /// As [`flush`](Self::flush); [`ApplyError::Server`] when the target cannot say.
    pub fn durable_progress(&mut self) -> Result<u64, ApplyError> {
        self.flush()?;
        if self.load.is_some() || self.open.as_ref().is_some_and(|o| o.started) {
            return Ok(self.durable);
        }
        let durable = durable_progress(&mut self.conn, &self.origin).map_err(|e| {
            ApplyError::Server {
                lsn: self.progress,
                table: String::new(),
                key: Vec::new(),
                message: format!("cannot read the origin's progress: {e}"),
            }
            .or_lost(Side::Target, &e)
        })?;
        self.durable = self.durable.max(durable);
        Ok(self.durable)
    }

    /// The last answer of [`durable_progress`](Self::durable_progress), without asking.
    #[must_use]
    pub fn last_durable(&self) -> u64 {
        self.durable
    }

    /// The source commit time of the last transaction the target committed (Unix
    /// microseconds; 0 before the first): how far behind the target is in time.
    #[must_use]
    pub fn last_commit_time_us(&self) -> u64 {
        self.last_commit_us
    }

    /// What was applied and skipped so far.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The replication origin's name.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The identity of the stream this applier applies (its origin is bound to it).
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// True while a source transaction is being received.
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Sets the target's sequences to the source's (a SyncSequences batch's values): each
    /// with `setval(sequence, last_value, is_called)`, between transactions.
    ///
    /// # Errors
    /// [`ApplyError::Invalid`] inside a source transaction; [`ApplyError::Server`] naming the
    /// sequence when the target refuses it (a missing sequence, a value out of its range).
    pub fn sync_sequences(&mut self, values: &[SequenceValue]) -> Result<(), ApplyError> {
        self.flush()?;
        let at = self.progress;
        for v in values {
            let name = format!("{}.{}", sql::quote(&v.schema), sql::quote(&v.name));
            if self.open.is_some() {
                return Err(ApplyError::Invalid {
                    lsn: at,
                    table: name,
                    why: "sequence values inside a source transaction".to_owned(),
                });
            }
            let statement = format!(
                "SELECT setval({}, {}, {})",
                literal(&name),
                v.last_value,
                v.is_called
            );
            self.conn
                .simple(&statement)
                .map_err(|e| ApplyError::Server {
                    lsn: at,
                    table: name.clone(),
                    key: Vec::new(),
                    message: e.to_string(),
                })?;
            self.totals.sequences += 1;
        }
        Ok(())
    }

    /// Applies one event of a CDC stream, in stream order.
    ///
    /// # Errors
    /// [`ApplyError`] naming the source LSN, the table and the row's key; the target
    /// transaction is rolled back, and the transactions before it stay applied.
    pub fn apply(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        let applied = self.apply_event(event);
        if applied.is_err() {
            // The transactions before the failing one stay applied: the whole ones queued
            // go out (nothing of the failing one is among them).
            let _ = self.flush();
        }
        applied
    }

    /// Learns a table's columns and key as a change carrying `meta` would teach them: what
    /// a consumer that passes over such a change (see `Replication::skip_copied`) calls
    /// instead, so that the table's next changes are understood.
    pub fn relation(&mut self, meta: &RelationMeta) {
        // The table's key may have changed: its statements are built again.
        self.plans.clear();
        self.always
            .remove(&(meta.schema.clone(), meta.table.clone()));
        let meta = Arc::new(meta.clone());
        self.tables
            .insert((meta.schema.clone(), meta.table.clone()), Arc::clone(&meta));
        self.last_table = Some(meta);
    }

    fn apply_event(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if let Some(meta) = &event.relation_meta {
            self.relation(meta);
        }
        match event.operation {
            OperationType::Begin => self.begin(event),
            OperationType::Commit => self.commit(event),
            OperationType::Rollback => {
                self.abandon();
                Ok(Applied::Done)
            }
            OperationType::Insert
            | OperationType::Update
            | OperationType::Delete
            | OperationType::Truncate
            | OperationType::Ddl => self.change(event),
            OperationType::SnapshotBegin => self.snapshot_begin(event),
            OperationType::SnapshotRow => self.snapshot_row(event),
            OperationType::SnapshotEnd => self.snapshot_end(event),
            OperationType::BackfillComplete => self.backfill_complete(event),
            // A logical message is for the application reading the stream; the database has
            // nothing to do with it. Foreign-key checks never run for the rows this session
            // writes (session_replication_role = replica) and always run for everyone else's,
            // so there is nothing to disable or enable; BackfillStart only announces.
            OperationType::Message
            | OperationType::DisableForeignKeys
            | OperationType::EnableForeignKeys
            | OperationType::BackfillStart
            | OperationType::DdlComplete => Ok(Applied::Ignored),
            OperationType::SequenceSync => Ok(Applied::Ignored),
        }
    }
}

/// The flushed progress of the replication origin `origin` (0 before its first commit).
fn durable_progress(conn: &mut Conn, origin: &str) -> Result<u64, WireError> {
    Ok(conn
        .query_lsn(&format!(
            "SELECT pg_replication_origin_progress({}, true)::text",
            literal(origin)
        ))?
        .unwrap_or(0))
}
