//! The messages of pgoutput protocol versions 1 to 3, parsed in place from their bytes.

/// The kind of a pgoutput message, named by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `B`: a transaction begins.
    Begin,
    /// `C`: a transaction commits.
    Commit,
    /// `O`: the transaction came from another origin.
    Origin,
    /// `R`: a relation's description.
    Relation,
    /// `Y`: a type's name.
    Type,
    /// `I`: a row inserted.
    Insert,
    /// `U`: a row updated.
    Update,
    /// `D`: a row deleted.
    Delete,
    /// `T`: tables truncated.
    Truncate,
    /// `M`: a logical decoding message (`pg_logical_emit_message`).
    Message,
    /// `S`: a chunk of an in-progress transaction starts (version 2).
    StreamStart,
    /// `E`: that chunk ends (version 2).
    StreamStop,
    /// `c`: a streamed transaction commits (version 2).
    StreamCommit,
    /// `A`: a streamed (sub)transaction aborts (version 2).
    StreamAbort,
    /// `b`: a prepared transaction begins (version 3).
    BeginPrepare,
    /// `P`: a transaction is prepared (version 3).
    Prepare,
    /// `K`: a prepared transaction commits (version 3).
    CommitPrepared,
    /// `r`: a prepared transaction rolls back (version 3).
    RollbackPrepared,
    /// `p`: a streamed transaction is prepared (version 3).
    StreamPrepare,
}

impl MessageKind {
    /// The kind named by a message's first byte.
    #[must_use]
    pub fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'B' => Self::Begin,
            b'C' => Self::Commit,
            b'O' => Self::Origin,
            b'R' => Self::Relation,
            b'Y' => Self::Type,
            b'I' => Self::Insert,
            b'U' => Self::Update,
            b'D' => Self::Delete,
            b'T' => Self::Truncate,
            b'M' => Self::Message,
            b'S' => Self::StreamStart,
            b'E' => Self::StreamStop,
            b'c' => Self::StreamCommit,
            b'A' => Self::StreamAbort,
            b'b' => Self::BeginPrepare,
            b'P' => Self::Prepare,
            b'K' => Self::CommitPrepared,
            b'r' => Self::RollbackPrepared,
            b'p' => Self::StreamPrepare,
            _ => return None,
        })
    }

    /// The message's name as PostgreSQL's documentation spells it (`"Stream Commit"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Begin => "Begin",
            Self::Commit => "Commit",
            Self::Origin => "Origin",
            Self::Relation => "Relation",
            Self::Type => "Type",
            Self::Insert => "Insert",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Truncate => "Truncate",
            Self::Message => "Message",
            Self::StreamStart => "Stream Start",
            Self::StreamStop => "Stream Stop",
            Self::StreamCommit => "Stream Commit",
            Self::StreamAbort => "Stream Abort",
            Self::BeginPrepare => "Begin Prepare",
            Self::Prepare => "Prepare",
            Self::CommitPrepared => "Commit Prepared",
            Self::RollbackPrepared => "Rollback Prepared",
            Self::StreamPrepare => "Stream Prepare",
        }
    }
}

/// One pgoutput message; strings and column bytes borrow from the message's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// `B`.
    Begin(Begin),
    /// `C`.
    Commit(Commit),
    /// `O`.
    Origin(Origin<'a>),
    /// `R`.
    Relation(Relation<'a>),
    /// `Y`.
    Type(Type<'a>),
    /// `I`.
    Insert(Insert<'a>),
    /// `U`.
    Update(Update<'a>),
    /// `D`.
    Delete(Delete<'a>),
    /// `T`.
    Truncate(Truncate),
    /// `M`.
    Message(LogicalMessage<'a>),
    /// `S`.
    StreamStart(StreamStart),
    /// `E`.
    StreamStop,
    /// `c`.
    StreamCommit(StreamCommit),
    /// `A`.
    StreamAbort(StreamAbort),
    /// `b`.
    BeginPrepare(Prepared<'a>),
    /// `P`.
    Prepare(Prepared<'a>),
    /// `K`.
    CommitPrepared(Prepared<'a>),
    /// `r`.
    RollbackPrepared(RollbackPrepared<'a>),
    /// `p`.
    StreamPrepare(Prepared<'a>),
}

impl Message<'_> {
    /// The message's kind.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Begin(_) => MessageKind::Begin,
            Self::Commit(_) => MessageKind::Commit,
            Self::Origin(_) => MessageKind::Origin,
            Self::Relation(_) => MessageKind::Relation,
            Self::Type(_) => MessageKind::Type,
            Self::Insert(_) => MessageKind::Insert,
            Self::Update(_) => MessageKind::Update,
            Self::Delete(_) => MessageKind::Delete,
            Self::Truncate(_) => MessageKind::Truncate,
            Self::Message(_) => MessageKind::Message,
            Self::StreamStart(_) => MessageKind::StreamStart,
            Self::StreamStop => MessageKind::StreamStop,
            Self::StreamCommit(_) => MessageKind::StreamCommit,
            Self::StreamAbort(_) => MessageKind::StreamAbort,
            Self::BeginPrepare(_) => MessageKind::BeginPrepare,
            Self::Prepare(_) => MessageKind::Prepare,
            Self::CommitPrepared(_) => MessageKind::CommitPrepared,
            Self::RollbackPrepared(_) => MessageKind::RollbackPrepared,
            Self::StreamPrepare(_) => MessageKind::StreamPrepare,
        }
    }
}

/// `B`: a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// The LSN of the transaction's commit record.
    pub final_lsn: u64,
    /// Commit time, microseconds since 2000-01-01 00:00 UTC (PostgreSQL's epoch).
    pub commit_time: i64,
    /// The transaction ID.
    pub xid: u32,
}

impl Begin {
    /// The message's bytes, as pgoutput writes them (for a transport that hands a Begin
    /// over as fields, and for tests).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(21);
        m.push(b'B');
        m.extend(self.final_lsn.to_be_bytes());
        m.extend(self.commit_time.to_be_bytes());
        m.extend(self.xid.to_be_bytes());
        m
    }
}

/// `C` (and, with the xid, `c`): a transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// The LSN of the commit record.
    pub commit_lsn: u64,
    /// The LSN just past the transaction: where a consumer resumes after it.
    pub end_lsn: u64,
    /// Commit time, microseconds since 2000-01-01 00:00 UTC.
    pub commit_time: i64,
}

impl Commit {
    /// The `C` message's bytes, as pgoutput writes them.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(26);
        m.extend([b'C', 0]);
        m.extend(self.commit_lsn.to_be_bytes());
        m.extend(self.end_lsn.to_be_bytes());
        m.extend(self.commit_time.to_be_bytes());
        m
    }
}

/// `O`: the transaction was replayed from another origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The commit LSN on the origin server.
    pub lsn: u64,
    /// The origin's name.
    pub name: &'a str,
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// True when the column is part of the replica identity (the key).
    pub is_key: bool,
    /// The column's name.
    pub name: &'a str,
    /// The column type's OID.
    pub type_oid: u32,
    /// The type modifier (`atttypmod`), -1 for none.
    pub type_modifier: i32,
}

/// `R`: a relation's description, sent before its first change and after it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub rel_id: u32,
    /// Its schema (`pg_catalog` when the server sends the empty string).
    pub schema: &'a str,
    /// Its name.
    pub name: &'a str,
    /// `relreplident`: `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    /// Its live columns, in order (dropped and generated columns are not sent).
    pub columns: Vec<RelationColumn<'a>>,
}

/// `Y`: a type's schema and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// The type's OID.
    pub type_oid: u32,
    /// Its schema (`pg_catalog` for the empty string).
    pub schema: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// One column of a [`Tuple`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleColumn<'a> {
    /// `n`: NULL.
    Null,
    /// `u`: an unchanged TOASTed value the server did not send.
    Unchanged,
    /// `t`: the value in its type's text output format.
    Text(&'a [u8]),
    /// `b`: the value in its type's binary send format (as COPY BINARY carries it).
    Binary(&'a [u8]),
}

/// A row's columns (`TupleData`), checked when the message was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple<'a> {
    /// The number of columns (checked against the entries by the parser).
    pub(super) count: usize,
    /// The column entries after the count, exactly as long as they are.
    pub(super) bytes: &'a [u8],
}

impl<'a> Tuple<'a> {
    /// The number of columns.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the tuple has no columns.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The columns, in order.
    pub fn columns(&self) -> TupleColumns<'a> {
        TupleColumns {
            left: self.count,
            bytes: self.bytes,
        }
    }
}

/// The columns of a [`Tuple`].
#[derive(Debug, Clone)]
pub struct TupleColumns<'a> {
    left: usize,
    bytes: &'a [u8],
}

impl<'a> Iterator for TupleColumns<'a> {
    type Item = TupleColumn<'a>;

    fn next(&mut self) -> Option<TupleColumn<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The tuple was checked when parsed, so each entry is whole; an inconsistency ends
        // the walk rather than panicking.
        let (&kind, rest) = self.bytes.split_first()?;
        match kind {
            b'n' => {
                self.bytes = rest;
                Some(TupleColumn::Null)
            }
            b'u' => {
                self.bytes = rest;
                Some(TupleColumn::Unchanged)
            }
            _ => {
                let len = rest.get(..4)?;
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                let data = rest.get(4..4 + len)?;
                self.bytes = &rest[4 + len..];
                Some(if kind == b't' {
                    TupleColumn::Text(data)
                } else {
                    TupleColumn::Binary(data)
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// Which old row an UPDATE or DELETE carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldRow {
    /// `K`: the replica identity's key columns (the other columns are sent as NULL).
    Key,
    /// `O`: the whole old row (REPLICA IDENTITY FULL).
    Full,
}

/// `I`: a row inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insert<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub rel_id: u32,
    /// The new row.
    pub new: Tuple<'a>,
}

/// `U`: a row updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub rel_id: u32,
    /// The old row, when the replica identity sends one (FULL, or a changed key).
    pub old: Option<(OldRow, Tuple<'a>)>,
    /// The new row; unchanged TOASTed values are [`TupleColumn::Unchanged`].
    pub new: Tuple<'a>,
}

/// `D`: a row deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delete<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// The relation's OID.
    pub rel_id: u32,
    /// Which old row it is.
    pub kind: OldRow,
    /// The old row (its key, or all of it).
    pub old: Tuple<'a>,
}

/// `T`: tables truncated together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncate {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// `TRUNCATE ... CASCADE`.
    pub cascade: bool,
    /// `TRUNCATE ... RESTART IDENTITY`.
    pub restart_identity: bool,
    /// The truncated relations' OIDs (those reached by CASCADE included).
    pub rel_ids: Vec<u32>,
}

/// `M`: a message from `pg_logical_emit_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogicalMessage<'a> {
    /// The subtransaction's ID inside a streamed chunk, else `None`.
    pub xid: Option<u32>,
    /// True when emitted as part of its transaction (sent at commit, dropped on rollback).
    pub transactional: bool,
    /// The message's LSN.
    pub lsn: u64,
    /// The prefix it was emitted with.
    pub prefix: &'a str,
    /// Its content.
    pub content: &'a [u8],
}

impl LogicalMessage<'_> {
    /// The message's bytes, as pgoutput writes them (the xid first when it has one, as
    /// inside a streamed chunk).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(19 + self.prefix.len() + self.content.len());
        m.push(b'M');
        if let Some(xid) = self.xid {
            m.extend(xid.to_be_bytes());
        }
        m.push(u8::from(self.transactional));
        m.extend(self.lsn.to_be_bytes());
        m.extend(self.prefix.as_bytes());
        m.push(0);
        m.extend((self.content.len() as u32).to_be_bytes());
        m.extend(self.content);
        m
    }
}

/// `S`: a chunk of an in-progress transaction starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStart {
    /// The top-level transaction's ID.
    pub xid: u32,
    /// True for the transaction's first chunk.
    pub first_segment: bool,
}

/// `c`: a streamed transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommit {
    /// The transaction's ID.
    pub xid: u32,
    /// Its commit LSNs and time.
    pub commit: Commit,
}

/// `A`: a streamed transaction, or one of its subtransactions, aborts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbort {
    /// The top-level transaction's ID.
    pub xid: u32,
    /// The aborted subtransaction's ID; equal to `xid` when the whole transaction aborts.
    pub subxid: u32,
}

/// `b`, `P`, `K` and `p`: a two-phase transaction's prepare or commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared<'a> {
    /// The prepare's LSN (`b`, `P`, `p`) or the commit's (`K`).
    pub lsn: u64,
    /// The LSN just past the prepare (or commit) record.
    pub end_lsn: u64,
    /// Prepare (or commit) time, microseconds since 2000-01-01 00:00 UTC.
    pub time: i64,
    /// The transaction's ID.
    pub xid: u32,
    /// Its global identifier (`PREPARE TRANSACTION 'gid'`).
    pub gid: &'a str,
}

/// `r`: a prepared transaction rolls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackPrepared<'a> {
    /// The LSN just past the prepare record.
    pub prepare_end_lsn: u64,
    /// The LSN just past the rollback record.
    pub rollback_end_lsn: u64,
    /// Prepare time, microseconds since 2000-01-01 00:00 UTC.
    pub prepare_time: i64,
    /// Rollback time, microseconds since 2000-01-01 00:00 UTC.
    pub rollback_time: i64,
    /// The transaction's ID.
    pub xid: u32,
    /// Its global identifier.
    pub gid: &'a str,
}
