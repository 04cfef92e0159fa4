//! [`ChangeDecoder`]: pgoutput messages in, the protocol's CDC events out, committed
//! transactions only.

use std::collections::HashMap;
use std::io;

use bytes::Bytes;
use scry_types::{DatabaseEvent, OperationType, RelationMeta};

use super::message::Message;
use super::parse::Parser;
use super::rows::{known, truncate_sql};
use super::spool::Spool;
use super::PgOutputError;

/// Microseconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// What [`ChangeDecoder`] hands on, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
// Events are nearly every change: boxing them to shrink the rare message would cost an
// allocation per change.
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// A protocol event: Begin, Insert, Update, Delete, Truncate or Commit.
    Event(DatabaseEvent),
    /// Comes just before each transaction's Begin: where its commit record is in the WAL
    /// (pgoutput's final LSN), known before any of its changes. A consumer that holds some
    /// tables as they were at a snapshot's position uses it to pass over the changes that
    /// snapshot already has (those of transactions committed before it).
    Commits {
        /// The LSN of the transaction's commit record.
        commit_lsn: u64,
    },
    /// A logical decoding message (`pg_logical_emit_message`): a transactional one inside its
    /// transaction's Begin and Commit, a non-transactional one where it was decoded.
    Message {
        /// The message's LSN.
        lsn: u64,
        /// Its transaction's ID (0 for a non-transactional message outside a transaction).
        transaction_id: u64,
        /// Its transaction's commit time, Unix microseconds (0 outside a transaction).
        timestamp_us: u64,
        /// True when emitted as part of its transaction.
        transactional: bool,
        /// The prefix it was emitted with.
        prefix: String,
        /// Its content.
        content: Bytes,
    },
}

/// A pgoutput stream could not be turned into events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// A message is malformed.
    #[error("at LSN {lsn}: {source}", lsn = scry_types::Lsn(*.lsn))]
    Message {
        /// The message's WAL position.
        lsn: u64,
        /// What is wrong with it.
        source: PgOutputError,
    },
    /// A change names a relation no Relation message described.
    #[error("at LSN {lsn}: {message} of relation OID {rel_id}, which no Relation message described", lsn = scry_types::Lsn(*.lsn))]
    UnknownRelation {
        /// The message's WAL position.
        lsn: u64,
        /// The message kind (`"Insert"`).
        message: &'static str,
        /// The relation's OID.
        rel_id: u32,
    },
    /// A row's column count differs from its relation's.
    #[error("at LSN {lsn}: {message} of {table}: a row of {actual} columns, the relation has {expected}", lsn = scry_types::Lsn(*.lsn))]
    ColumnCount {
        /// The message's WAL position.
        lsn: u64,
        /// The message kind.
        message: &'static str,
        /// The relation, `schema.table`.
        table: String,
        /// The relation's column count.
        expected: usize,
        /// The row's.
        actual: usize,
    },
    /// A message came where the stream's order does not allow it (a change outside a
    /// transaction, a Commit without a Begin, a Stream Commit of an unknown transaction...).
    #[error("at LSN {lsn}: unexpected {message}: {why}", lsn = scry_types::Lsn(*.lsn))]
    Order {
        /// The message's WAL position.
        lsn: u64,
        /// The message kind.
        message: &'static str,
        /// Why it does not fit.
        why: &'static str,
    },
    /// A held transaction's spool file failed.
    #[error("transaction spool: {0}")]
    Spool(#[from] io::Error),
}

/// The transaction whose changes are being handed on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open {
    pub(super) xid: u32,
    pub(super) timestamp_us: u64,
}

/// Turns pgoutput messages (protocol versions 1 to 3, `binary 'true'` or not) into the
/// protocol's CDC events, committed transactions only and in commit order.
///
/// - Begin and Commit become [`OperationType::Begin`] and [`OperationType::Commit`] events:
///   Begin's position is the LSN the transport gave it (the transaction's first record;
///   for a held transaction, its first message's), Commit's the LSN just past the
///   transaction (the position to confirm to the server and to resume from); both carry the
///   xid and the commit time (Unix microseconds), as does every change between them.
/// - A change's position is the LSN the transport gave its message, so positions never fall
///   within a transaction, and Commit positions rise from one transaction to the next.
/// - Relation messages are kept per relation OID; the first change of a relation after its
///   Relation message carries it as `relation_meta` (so a receiver learns each new or
///   altered table in-band), and every change carries the column names.
/// - Insert → `new_row`; Update → `new_row`, and `old_row` when the replica identity sends
///   one (the key columns, others NULL, for a changed key under DEFAULT/INDEX; the whole row
///   under FULL); Delete → `old_row`. An unchanged TOASTed value becomes
///   [`ColumnValue::unchanged`](scry_types::ColumnValue::unchanged); NULL
///   [`ColumnValue::null`](scry_types::ColumnValue::null).
/// - A binary (`b`) value keeps its bytes, sliced from the message without a copy, tagged by
///   its column's OID. A text (`t`) value — a type with no binary send function, or a slot
///   without `binary 'true'` — keeps PostgreSQL's text output with tag
///   [`TypeTag::Text`](scry_types::TypeTag::Text) and its column's own OID:
///   [`is_text_format`](super::is_text_format) tells such a value from a binary one.
/// - Truncate becomes one [`OperationType::Truncate`] event per relation, whose `ddl_sql`
///   holds the equivalent statement with the options the source used (`RESTART IDENTITY`,
///   `CASCADE`).
/// - Streamed transactions (version 2, `streaming 'on'`) are held until their Stream Commit
///   and then handed on as one ordinary transaction; a Stream Abort drops the transaction
///   (or the aborted subtransaction's part of it). Two-phase transactions (version 3) are
///   held from Begin Prepare to Commit Prepared and handed on then, as a transaction with the
///   commit's LSNs; Rollback Prepared drops them. Held transactions stay in memory up to
///   [`ChangeDecoder::memory_limit`] bytes each and go to an unnamed temporary file past it.
///   [`ChangeDecoder::oldest_held_lsn`] says how far a consumer may confirm: not past the
///   first message of a transaction still held.
#[derive(Debug)]
pub struct ChangeDecoder {
    parser: Parser,
    pub(super) relations: HashMap<u32, Known>,
    open: Option<Open>,
    /// Streamed transactions by top-level xid.
    streams: HashMap<u32, Spool>,
    /// The streamed transaction whose chunk is being received.
    streaming: Option<u32>,
    /// A two-phase transaction between Begin Prepare and Prepare.
    preparing: Option<(u32, Spool)>,
    /// Prepared transactions by GID.
    prepared: HashMap<String, Spool>,
    memory_limit: usize,
}

/// A relation as its last Relation message described it.
#[derive(Debug, Clone)]
pub(super) struct Known {
    pub(super) meta: RelationMeta,
    pub(super) names: Vec<String>,
    /// True until a change has carried `meta`.
    pub(super) announce: bool,
}

impl Default for ChangeDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeDecoder {
    /// A decoder at the start of a stream, holding up to 64 MiB of each held transaction in
    /// memory.
    #[must_use]
    pub fn new() -> Self {
        Self {
            parser: Parser::new(),
            relations: HashMap::new(),
            open: None,
            streams: HashMap::new(),
            streaming: None,
            preparing: None,
            prepared: HashMap::new(),
            memory_limit: 64 << 20,
        }
    }

    /// How many bytes of messages each held (streamed or prepared) transaction keeps in
    /// memory before it goes to a temporary file.
    #[must_use]
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The relation with OID `rel_id`, as its last Relation message described it.
    #[must_use]
    pub fn relation(&self, rel_id: u32) -> Option<&RelationMeta> {
        self.relations.get(&rel_id).map(|k| &k.meta)
    }

    /// The LSN of the first message of the oldest transaction still held (streamed and not yet
    /// committed, or prepared and not yet committed): a consumer must not confirm a position
    /// past it, or the server would not send that transaction again after a restart.
    #[must_use]
    pub fn oldest_held_lsn(&self) -> Option<u64> {
        self.streams
            .values()
            .chain(self.prepared.values())
            .chain(self.preparing.as_ref().map(|(_, s)| s))
            .filter_map(Spool::first_lsn)
            .min()
    }

    /// True when some held transaction went to disk.
    #[must_use]
    pub fn spilled(&self) -> bool {
        self.streams
            .values()
            .chain(self.prepared.values())
            .any(Spool::spilled)
    }

    /// Decodes one message that the transport delivered at WAL position `lsn`, handing what
    /// it completes to `out`.
    ///
    /// # Errors
    /// [`ChangeError`] naming the LSN and what is wrong; `out` may have received the events
    /// before the failing message.
    pub fn decode(
        &mut self,
        lsn: u64,
        message: &Bytes,
        out: &mut impl FnMut(Change),
    ) -> Result<(), ChangeError> {
        let parsed = self
            .parser
            .parse(message)
            .map_err(|source| ChangeError::Message { lsn, source })?;
        self.dispatch(lsn, message, parsed, out)
    }

    fn dispatch(
        &mut self,
        lsn: u64,
        bytes: &Bytes,
        message: Message<'_>,
        out: &mut impl FnMut(Change),
    ) -> Result<(), ChangeError> {
        let order = |why| ChangeError::Order {
            lsn,
            message: message.kind().name(),
            why,
        };
        match &message {
            Message::StreamStart(s) => {
                self.streaming = Some(s.xid);
                if s.first_segment || !self.streams.contains_key(&s.xid) {
                    self.streams
                        .insert(s.xid, Spool::new(self.memory_limit, true));
                }
                return Ok(());
            }
            Message::StreamStop => {
                self.streaming = None;
                return Ok(());
            }
            Message::StreamAbort(a) => {
                if a.subxid == a.xid {
                    self.streams.remove(&a.xid);
                } else if let Some(spool) = self.streams.get_mut(&a.xid) {
                    spool.abort_subtransaction(a.subxid)?;
                }
                return Ok(());
            }
            Message::StreamCommit(c) => {
                let mut spool = self
                    .streams
                    .remove(&c.xid)
                    .ok_or_else(|| order("no streamed transaction has that xid"))?;
                let begin = Open {
                    xid: c.xid,
                    timestamp_us: unix_us(c.commit.commit_time),
                };
                return self.replay(
                    &mut spool,
                    begin,
                    (c.commit.commit_lsn, c.commit.end_lsn),
                    (true, "Stream Commit"),
                    out,
                );
            }
            Message::StreamPrepare(p) => {
                let spool = self
                    .streams
                    .remove(&p.xid)
                    .ok_or_else(|| order("no streamed transaction has that xid"))?;
                self.prepared.insert(p.gid.to_owned(), spool);
                return Ok(());
            }
            Message::BeginPrepare(p) => {
                if self.open.is_some() || self.preparing.is_some() {
                    return Err(order("inside an open transaction"));
                }
                self.preparing = Some((p.xid, Spool::new(self.memory_limit, false)));
                return Ok(());
            }
            Message::Prepare(p) => {
                let (_, spool) = self
                    .preparing
                    .take()
                    .ok_or_else(|| order("no Begin Prepare before it"))?;
                self.prepared.insert(p.gid.to_owned(), spool);
                return Ok(());
            }
            Message::CommitPrepared(p) => {
                let mut spool = self
                    .prepared
                    .remove(p.gid)
                    .ok_or_else(|| order("no prepared transaction has that GID"))?;
                // A prepared transaction that was streamed holds messages with subtransaction
                // IDs; one prepared the ordinary way does not.
                let streamed = spool.streamed();
                let begin = Open {
                    xid: p.xid,
                    timestamp_us: unix_us(p.time),
                };
                return self.replay(
                    &mut spool,
                    begin,
                    (p.lsn, p.end_lsn),
                    (streamed, "Commit Prepared"),
                    out,
                );
            }
            Message::RollbackPrepared(p) => {
                self.prepared.remove(p.gid);
                return Ok(());
            }
            _ => {}
        }
        // A Relation message inside a held transaction also describes the relation to the
        // transactions decoded before that one commits (the server does not send it again),
        // so it takes effect now, and again in order when the transaction is replayed.
        if let Message::Relation(r) = &message {
            if self.streaming.is_some() || self.preparing.is_some() {
                self.relations.insert(r.rel_id, known(r));
            }
        }
        // Inside a streamed chunk: hold the message (Relation and Type too, so that a replay
        // sees them in order).
        if let Some(xid) = self.streaming {
            let subxid = message_xid(&message).unwrap_or(xid);
            let spool = self
                .streams
                .get_mut(&xid)
                .ok_or_else(|| order("inside a stream of no transaction"))?;
            spool.push(subxid, lsn, bytes.clone())?;
            return Ok(());
        }
        if let Some((xid, spool)) = &mut self.preparing {
            if !matches!(message, Message::Begin(_) | Message::Commit(_)) {
                spool.push(*xid, lsn, bytes.clone())?;
                return Ok(());
            }
        }
        self.apply(lsn, bytes, message, out)
    }

    /// Hands on a held transaction as an ordinary one.
    fn replay(
        &mut self,
        spool: &mut Spool,
        begin: Open,
        (commit_lsn, end_lsn): (u64, u64),
        (streamed, message): (bool, &'static str),
        out: &mut impl FnMut(Change),
    ) -> Result<(), ChangeError> {
        if self.open.is_some() {
            return Err(ChangeError::Order {
                lsn: commit_lsn,
                message,
                why: "inside an open transaction",
            });
        }
        let first = spool.first_lsn().unwrap_or(commit_lsn);
        out(Change::Commits { commit_lsn });
        out(Change::Event(self.boundary(
            OperationType::Begin,
            first,
            begin,
        )));
        self.open = Some(begin);
        // The replay's Relation messages describe its own changes; the relations as the
        // stream knows them now come back after it.
        let current = self.relations.clone();
        spool.drain(|lsn, bytes| {
            let message = super::parse(&bytes, streamed)
                .map_err(|source| ChangeError::Message { lsn, source })?;
            self.apply(lsn, &bytes, message, out)
        })?;
        self.relations = current;
        self.open = None;
        out(Change::Event(self.boundary(
            OperationType::Commit,
            end_lsn,
            begin,
        )));
        Ok(())
    }

    fn boundary(&self, op: OperationType, position: u64, open: Open) -> DatabaseEvent {
        let mut e = DatabaseEvent::new(op, "", "");
        e.position = position;
        e.transaction_id = u64::from(open.xid);
        e.timestamp_us = open.timestamp_us;
        e
    }

    /// A message of the transaction being handed on (or outside any).
    fn apply(
        &mut self,
        lsn: u64,
        bytes: &Bytes,
        message: Message<'_>,
        out: &mut impl FnMut(Change),
    ) -> Result<(), ChangeError> {
        let kind = message.kind().name();
        let order = |why| ChangeError::Order {
            lsn,
            message: kind,
            why,
        };
        match message {
            Message::Begin(b) => {
                if self.open.is_some() {
                    return Err(order("inside an open transaction"));
                }
                let open = Open {
                    xid: b.xid,
                    timestamp_us: unix_us(b.commit_time),
                };
                self.open = Some(open);
                out(Change::Commits {
                    commit_lsn: b.final_lsn,
                });
                out(Change::Event(self.boundary(
                    OperationType::Begin,
                    lsn,
                    open,
                )));
            }
            Message::Commit(c) => {
                let open = self
                    .open
                    .take()
                    .ok_or_else(|| order("no Begin before it"))?;
                out(Change::Event(self.boundary(
                    OperationType::Commit,
                    c.end_lsn,
                    open,
                )));
            }
            Message::Origin(_) | Message::Type(_) => {}
            Message::Relation(r) => {
                self.relations.insert(r.rel_id, known(&r));
            }
            Message::Insert(i) => {
                let open = self.open.ok_or_else(|| order("outside a transaction"))?;
                let mut e = self.change(OperationType::Insert, lsn, open, i.rel_id, kind)?;
                e.new_row = Some(self.row(bytes, i.rel_id, &i.new, lsn, kind)?);
                out(Change::Event(e));
            }
            Message::Update(u) => {
                let open = self.open.ok_or_else(|| order("outside a transaction"))?;
                let mut e = self.change(OperationType::Update, lsn, open, u.rel_id, kind)?;
                if let Some((_, old)) = &u.old {
                    e.old_row = Some(self.row(bytes, u.rel_id, old, lsn, kind)?);
                }
                e.new_row = Some(self.row(bytes, u.rel_id, &u.new, lsn, kind)?);
                out(Change::Event(e));
            }
            Message::Delete(d) => {
                let open = self.open.ok_or_else(|| order("outside a transaction"))?;
                let mut e = self.change(OperationType::Delete, lsn, open, d.rel_id, kind)?;
                e.old_row = Some(self.row(bytes, d.rel_id, &d.old, lsn, kind)?);
                out(Change::Event(e));
            }
            Message::Truncate(t) => {
                let open = self.open.ok_or_else(|| order("outside a transaction"))?;
                for rel_id in t.rel_ids {
                    let mut e = self.change(OperationType::Truncate, lsn, open, rel_id, kind)?;
                    e.columns.clear();
                    e.ddl_sql = Some(truncate_sql(
                        &e.schema,
                        &e.table,
                        t.restart_identity,
                        t.cascade,
                    ));
                    out(Change::Event(e));
                }
            }
            Message::Message(m) => {
                let xid = self.open.map_or(0, |o| u64::from(o.xid));
                out(Change::Message {
                    lsn: m.lsn,
                    transaction_id: if m.transactional { xid } else { 0 },
                    timestamp_us: self.open.map_or(0, |o| o.timestamp_us),
                    transactional: m.transactional,
                    prefix: m.prefix.to_owned(),
                    content: bytes.slice_ref(m.content),
                });
            }
            // Handled by `dispatch`.
            Message::StreamStart(_)
            | Message::StreamStop
            | Message::StreamCommit(_)
            | Message::StreamAbort(_)
            | Message::BeginPrepare(_)
            | Message::Prepare(_)
            | Message::CommitPrepared(_)
            | Message::RollbackPrepared(_)
            | Message::StreamPrepare(_) => return Err(order("inside a held transaction")),
        }
        Ok(())
    }
}

/// The subtransaction ID a message inside a streamed chunk carries.
fn message_xid(message: &Message<'_>) -> Option<u32> {
    match message {
        Message::Relation(m) => m.xid,
        Message::Type(m) => m.xid,
        Message::Insert(m) => m.xid,
        Message::Update(m) => m.xid,
        Message::Delete(m) => m.xid,
        Message::Truncate(m) => m.xid,
        Message::Message(m) => m.xid,
        _ => None,
    }
}

fn unix_us(pg_time: i64) -> u64 {
    u64::try_from(pg_time.saturating_add(PG_EPOCH_UNIX_US)).unwrap_or(0)
}
