//! Parsing pgoutput messages in place: [`parse`] for one message, [`Parser`] for a stream of
//! them (it knows which carry a subtransaction ID). Every field is checked whole, so what
//! parses can be walked without failing.

use super::error::{PgOutputError, PgOutputProblem};
use super::message::{
    Begin, Commit, Delete, Insert, LogicalMessage, Message, MessageKind, OldRow, Origin, Prepared,
    Relation, RelationColumn, RollbackPrepared, StreamAbort, StreamCommit, StreamStart, Truncate,
    Tuple, Type, Update,
};

/// Parses one pgoutput message. `in_stream` says whether it arrived between a Stream Start
/// and a Stream Stop, where Relation, Type, Insert, Update, Delete, Truncate and Message carry
/// the subtransaction's ID first ([`Parser`] keeps track of that).
///
/// The whole message is checked: a message that parses has every field whole and nothing
/// after its last one, so its tuples' columns can be walked without failing.
///
/// # Errors
/// [`PgOutputError`] naming the message kind, the byte offset and the problem.
pub fn parse(bytes: &[u8], in_stream: bool) -> Result<Message<'_>, PgOutputError> {
    let Some(&first) = bytes.first() else {
        return Err(PgOutputError {
            message: None,
            offset: 0,
            problem: PgOutputProblem::Empty,
        });
    };
    let Some(kind) = MessageKind::from_byte(first) else {
        return Err(PgOutputError {
            message: None,
            offset: 0,
            problem: PgOutputProblem::UnknownType(first),
        });
    };
    let mut r = Reader { bytes, at: 1, kind };
    let message = r.message(in_stream)?;
    if r.at != bytes.len() {
        return Err(r.error(PgOutputProblem::Trailing(bytes.len() - r.at)));
    }
    Ok(message)
}

/// Parses a stream of pgoutput messages in order, knowing from Stream Start and Stream Stop
/// which ones carry a subtransaction ID.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parser {
    in_stream: bool,
}

impl Parser {
    /// A parser outside any streamed chunk.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// True between a Stream Start and its Stream Stop.
    #[must_use]
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Parses the next message of the stream.
    ///
    /// # Errors
    /// As [`parse`]; the parser's state does not change on an error.
    pub fn parse<'a>(&mut self, bytes: &'a [u8]) -> Result<Message<'a>, PgOutputError> {
        let message = parse(bytes, self.in_stream)?;
        match message {
            Message::StreamStart(_) => self.in_stream = true,
            Message::StreamStop => self.in_stream = false,
            _ => {}
        }
        Ok(message)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    kind: MessageKind,
}

impl<'a> Reader<'a> {
    fn error(&self, problem: PgOutputProblem) -> PgOutputError {
        self.error_at(self.at, problem)
    }

    fn error_at(&self, offset: usize, problem: PgOutputProblem) -> PgOutputError {
        PgOutputError {
            message: Some(self.kind),
            offset,
            problem,
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PgOutputError> {
        match self.bytes.get(self.at..).and_then(|b| b.get(..n)) {
            Some(b) => {
                self.at += n;
                Ok(b)
            }
            None => Err(self.error(PgOutputProblem::Truncated {
                field,
                needed: n,
                available: self.left(),
            })),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, PgOutputError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, PgOutputError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, PgOutputError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, PgOutputError> {
        let b = self.take(8, field)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, PgOutputError> {
        Ok(self.u64(field)? as i64)
    }

    fn str(&mut self, field: &'static str) -> Result<&'a str, PgOutputError> {
        let rest = &self.bytes[self.at..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(self.error(PgOutputProblem::Unterminated { field }));
        };
        let s = std::str::from_utf8(&rest[..nul])
            .map_err(|_| self.error(PgOutputProblem::NotUtf8 { field }))?;
        self.at += nul + 1;
        Ok(s)
    }

    fn schema(&mut self, field: &'static str) -> Result<&'a str, PgOutputError> {
        let s = self.str(field)?;
        Ok(if s.is_empty() { "pg_catalog" } else { s })
    }

    fn xid_in_stream(&mut self, in_stream: bool) -> Result<Option<u32>, PgOutputError> {
        if in_stream {
            self.u32("subtransaction ID").map(Some)
        } else {
            Ok(None)
        }
    }

    fn commit(&mut self) -> Result<Commit, PgOutputError> {
        self.u8("flags")?;
        Ok(Commit {
            commit_lsn: self.u64("commit LSN")?,
            end_lsn: self.u64("end LSN")?,
            commit_time: self.i64("commit time")?,
        })
    }

    fn prepared(&mut self, flags: bool) -> Result<Prepared<'a>, PgOutputError> {
        if flags {
            self.u8("flags")?;
        }
        Ok(Prepared {
            lsn: self.u64("LSN")?,
            end_lsn: self.u64("end LSN")?,
            time: self.i64("time")?,
            xid: self.u32("transaction ID")?,
            gid: self.str("GID")?,
        })
    }

    /// A `TupleData`: a column count, then a kind byte and, for `t` and `b`, a length and
    /// the bytes per column.
    fn tuple(&mut self) -> Result<Tuple<'a>, PgOutputError> {
        let count = usize::from(self.u16("column count")?);
        let start = self.at;
        for column in 0..count {
            match self.u8("column kind")? {
                b'n' | b'u' => {}
                b't' | b'b' => {
                    let length = self.u32("column length")? as i32;
                    let Ok(len) = usize::try_from(length) else {
                        self.at -= 4;
                        return Err(self.error(PgOutputProblem::NegativeLength { column, length }));
                    };
                    self.take(len, "column value")?;
                }
                kind => {
                    self.at -= 1;
                    return Err(self.error(PgOutputProblem::ColumnKind { column, kind }));
                }
            }
        }
        Ok(Tuple {
            count,
            bytes: &self.bytes[start..self.at],
        })
    }

    fn marker(&mut self, allowed: &[u8], expected: &'static str) -> Result<u8, PgOutputError> {
        let got = self.u8("tuple marker")?;
        if allowed.contains(&got) {
            Ok(got)
        } else {
            self.at -= 1;
            Err(self.error(PgOutputProblem::TupleMarker { expected, got }))
        }
    }

    fn old_kind(marker: u8) -> OldRow {
        if marker == b'O' {
            OldRow::Full
        } else {
            OldRow::Key
        }
    }

    fn message(&mut self, in_stream: bool) -> Result<Message<'a>, PgOutputError> {
        Ok(match self.kind {
            MessageKind::Begin => Message::Begin(Begin {
                final_lsn: self.u64("final LSN")?,
                commit_time: self.i64("commit time")?,
                xid: self.u32("transaction ID")?,
            }),
            MessageKind::Commit => Message::Commit(self.commit()?),
            MessageKind::Origin => Message::Origin(Origin {
                lsn: self.u64("origin LSN")?,
                name: self.str("origin name")?,
            }),
            MessageKind::Relation => {
                let xid = self.xid_in_stream(in_stream)?;
                let rel_id = self.u32("relation OID")?;
                let schema = self.schema("schema name")?;
                let name = self.str("relation name")?;
                let replica_identity = self.u8("replica identity")?;
                let count_at = self.at;
                let count = usize::from(self.u16("column count")?);
                // Each column takes at least 10 bytes (flags, a NUL, two Int32s).
                if count > self.left() / 10 {
                    return Err(self.error_at(
                        count_at,
                        PgOutputProblem::Count {
                            field: "column count",
                            count,
                            available: self.left(),
                        },
                    ));
                }
                let mut columns = Vec::with_capacity(count);
                for _ in 0..count {
                    columns.push(RelationColumn {
                        is_key: self.u8("column flags")? & 1 != 0,
                        name: self.str("column name")?,
                        type_oid: self.u32("column type OID")?,
                        type_modifier: self.u32("column type modifier")? as i32,
                    });
                }
                Message::Relation(Relation {
                    xid,
                    rel_id,
                    schema,
                    name,
                    replica_identity,
                    columns,
                })
            }
            MessageKind::Type => Message::Type(Type {
                xid: self.xid_in_stream(in_stream)?,
                type_oid: self.u32("type OID")?,
                schema: self.schema("schema name")?,
                name: self.str("type name")?,
            }),
            MessageKind::Insert => {
                let xid = self.xid_in_stream(in_stream)?;
                let rel_id = self.u32("relation OID")?;
                self.marker(b"N", "N")?;
                Message::Insert(Insert {
                    xid,
                    rel_id,
                    new: self.tuple()?,
                })
            }
            MessageKind::Update => {
                let xid = self.xid_in_stream(in_stream)?;
                let rel_id = self.u32("relation OID")?;
                let first = self.marker(b"KON", "K, O or N")?;
                let mut old = None;
                if first != b'N' {
                    old = Some((Self::old_kind(first), self.tuple()?));
                    self.marker(b"N", "N")?;
                }
                Message::Update(Update {
                    xid,
                    rel_id,
                    old,
                    new: self.tuple()?,
                })
            }
            MessageKind::Delete => {
                let xid = self.xid_in_stream(in_stream)?;
                let rel_id = self.u32("relation OID")?;
                let kind = Self::old_kind(self.marker(b"KO", "K or O")?);
                Message::Delete(Delete {
                    xid,
                    rel_id,
                    kind,
                    old: self.tuple()?,
                })
            }
            MessageKind::Truncate => {
                let xid = self.xid_in_stream(in_stream)?;
                let count_at = self.at;
                let count = self.u32("relation count")? as usize;
                let flags = self.u8("options")?;
                if count > self.left() / 4 {
                    return Err(self.error_at(
                        count_at,
                        PgOutputProblem::Count {
                            field: "relation count",
                            count,
                            available: self.left(),
                        },
                    ));
                }
                let mut rel_ids = Vec::with_capacity(count);
                for _ in 0..count {
                    rel_ids.push(self.u32("relation OID")?);
                }
                Message::Truncate(Truncate {
                    xid,
                    cascade: flags & 1 != 0,
                    restart_identity: flags & 2 != 0,
                    rel_ids,
                })
            }
            MessageKind::Message => {
                let xid = self.xid_in_stream(in_stream)?;
                let flags = self.u8("flags")?;
                let lsn = self.u64("message LSN")?;
                let prefix = self.str("prefix")?;
                let len = self.u32("content length")? as usize;
                Message::Message(LogicalMessage {
                    xid,
                    transactional: flags & 1 != 0,
                    lsn,
                    prefix,
                    content: self.take(len, "content")?,
                })
            }
            MessageKind::StreamStart => Message::StreamStart(StreamStart {
                xid: self.u32("transaction ID")?,
                first_segment: self.u8("first segment flag")? == 1,
            }),
            MessageKind::StreamStop => Message::StreamStop,
            MessageKind::StreamCommit => Message::StreamCommit(StreamCommit {
                xid: self.u32("transaction ID")?,
                commit: self.commit()?,
            }),
            MessageKind::StreamAbort => Message::StreamAbort(StreamAbort {
                xid: self.u32("transaction ID")?,
                subxid: self.u32("subtransaction ID")?,
            }),
            MessageKind::BeginPrepare => Message::BeginPrepare(self.prepared(false)?),
            MessageKind::Prepare => Message::Prepare(self.prepared(true)?),
            MessageKind::CommitPrepared => Message::CommitPrepared(self.prepared(true)?),
            MessageKind::StreamPrepare => Message::StreamPrepare(self.prepared(true)?),
            MessageKind::RollbackPrepared => {
                self.u8("flags")?;
                Message::RollbackPrepared(RollbackPrepared {
                    prepare_end_lsn: self.u64("prepare end LSN")?,
                    rollback_end_lsn: self.u64("rollback end LSN")?,
                    prepare_time: self.i64("prepare time")?,
                    rollback_time: self.i64("rollback time")?,
                    xid: self.u32("transaction ID")?,
                    gid: self.str("GID")?,
                })
            }
        })
    }
}
