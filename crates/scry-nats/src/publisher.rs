//! [`Publisher`]: framed batches into a JetStream stream, stored before anyone relies on
//! them.
//!
//! Every message goes to `STREAM.<source>.<slot>` and carries, besides its frames, headers
//! that let a restarted capture find where it stopped without reading any payload:
//!
//! | header | value |
//! | --- | --- |
//! | `Nats-Msg-Id` | `<source>.<slot>.<first>`: JetStream drops a repeat within its duplicate window |
//! | `Scry-Batch-Seq` | the `batch_seq` of its (last) batch |
//! | `Scry-Frames` | how many frames (batches) it holds, when more than one: a capture gathers the frames it makes while the source has more at hand |
//! | `Scry-Encoding` | `compat` or `compact` |
//! | `Scry-First`, `Scry-Last` | the first and last change it holds, as `COMMIT_LSN:INDEX` (the commit position of the change's transaction and the change's index in it, which orders changes across transactions as the stream does) |
//! | `Scry-Commit` | the commit position of the last transaction it ends, when it ends one |
//! | `Scry-Resume` | the commit position of the last transaction it or an earlier message of its subject ends: where a capture starting again reads the slot from |
//! | `Scry-Snapshot` | on the messages of an initial snapshot (`capture --snapshot`), which come before any change: the snapshot's position, the slot's consistent point. Their keys are `0/0:0`; the last of them, which ends the snapshot, has `Scry-Commit` set to that position too |
//!
//! A snapshot message's `Nats-Msg-Id` is `<source>.<slot>.S<position>.<batch_seq>`, so that
//! the messages of a snapshot taken again are never dropped as repeats of an earlier one's.
//!
//! A publish returns once JetStream has stored the message on a quorum of the stream's
//! replicas. Each message also says which message must be its subject's last one
//! (`Nats-Expected-Last-Subject-Sequence`): JetStream refuses it otherwise. So the subject
//! never has a gap (a message lost with a leader that went away while the next one landed
//! on the new leader), and two captures of one slot at once cannot interleave: the second
//! to publish fails, and a capture run again goes on from the subject's last message.

use std::fmt::Write as _;

use async_nats::header::HeaderMap;
use async_nats::jetstream::stream::{Config, LastRawMessageErrorKind, StorageType, Stream};
use bytes::Bytes;

use crate::runtime::{ClientOptions, Connection};
use crate::{parts, Address, NatsError};

/// The header names, in one place for the publisher and the readers.
pub(crate) mod header {
    pub const BATCH_SEQ: &str = "Scry-Batch-Seq";
    pub const FRAMES: &str = "Scry-Frames";
    pub const ENCODING: &str = "Scry-Encoding";
    pub const FIRST: &str = "Scry-First";
    pub const LAST: &str = "Scry-Last";
    pub const COMMIT: &str = "Scry-Commit";
    pub const RESUME: &str = "Scry-Resume";
    pub const SNAPSHOT: &str = "Scry-Snapshot";
}

/// What a message says of the batch it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The `batch_seq` of its last batch.
    pub batch_seq: u64,
    /// How many frames it holds, one after another (their batches numbered up to
    /// `batch_seq`).
    pub frames: u32,
    /// `"compat"` or `"compact"`.
    pub encoding: &'static str,
    /// Its first change: the commit position of the change's transaction, and the change's
    /// index in that transaction.
    pub first: (u64, u32),
    /// Its last change, as `first`.
    pub last: (u64, u32),
    /// The commit position of the last transaction it ends, if it ends one.
    pub commit: Option<u64>,
    /// The commit position of the last transaction it or an earlier message of its subject
    /// ends, if any.
    pub resume: Option<u64>,
    /// On the messages of an initial snapshot: the snapshot's position (the slot's
    /// consistent point). The one that ends the snapshot has `commit` set to it too.
    pub snapshot: Option<u64>,
}

impl Stored {
    /// Whether a target whose durable progress (the end of the last source Commit it
    /// holds) is `progress` holds everything this message carries. A message of a
    /// snapshot's tables is never covered by a position: it is held once its table's load
    /// is (see `scry_apply`); the message that ends a snapshot is held once the target's
    /// progress reaches the snapshot's position, which its load records.
    #[must_use]
    pub fn covered_by(&self, progress: u64) -> bool {
        match (self.snapshot, self.commit) {
            (Some(_), Some(end)) => end <= progress,
            (Some(_), None) => false,
            (None, _) => self.last.0 < progress,
        }
    }

    /// Whether this message is inside a snapshot that it does not end: a subject whose last
    /// message this is holds a snapshot cut short.
    #[must_use]
    pub fn inside_snapshot(&self) -> bool {
        self.snapshot.is_some() && self.commit.is_none()
    }
}

/// The last message of a capture's subject, read back when the capture starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// Its sequence number in the stream.
    pub sequence: u64,
    /// What its headers say.
    pub stored: Stored,
    /// False when it is a part of a frame sent in parts other than the last (the capture
    /// stopped between them): its batch is not whole in the stream, and its headers give
    /// no Commit and the Resume of the message before the batch.
    pub whole: bool,
}

/// Publishes one capture's batches (one source, one slot) to a stream.
pub struct Publisher {
    conn: Connection,
    stream: Stream,
    name: String,
    subject: String,
    id_prefix: String,
    /// The stream sequence of the subject's last message (0: none), once known.
    expected: Option<u64>,
    /// Messages JetStream dropped as repeats (by `Nats-Msg-Id`) since the last
    /// [`take_repeats`](Publisher::take_repeats).
    repeats: u64,
    /// The most payload bytes one message carries (see `parts`).
    part_len: usize,
    /// The Resume of the subject's last whole batch: what the parts before the last of a
    /// frame sent in parts say.
    resume: Option<u64>,
}

impl Publisher {
    /// Connects, creates the stream when it is missing (file storage, the address's
    /// replicas, subjects `STREAM.>`), and publishes to `STREAM.<source>.<slot>`. `source`
    /// and `slot` are made subject tokens: characters other than letters, digits, `_` and
    /// `-` become `_`.
    pub fn open(
        address: &Address,
        client: &ClientOptions,
        source: &str,
        slot: &str,
    ) -> Result<Self, NatsError> {
        let conn = Connection::open(address, client)?;
        let name = address.stream.clone();
        let config = Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            num_replicas: address.replicas,
            storage: StorageType::File,
            ..Default::default()
        };
        let stream = conn
            .rt
            .block_on(conn.js.get_or_create_stream(config))
            .map_err(|e| NatsError::Stream {
                stream: name.clone(),
                reason: e.to_string(),
            })?;
        let (source, slot) = (token(source), token(slot));
        Ok(Self {
            part_len: parts::part_len(conn.max_payload()),
            resume: None,
            subject: format!("{name}.{source}.{slot}"),
            id_prefix: format!("{source}.{slot}."),
            conn,
            stream,
            name,
            expected: None,
            repeats: 0,
        })
    }

    /// The subject this publisher writes to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The last message of this publisher's subject, or `None` when it has none (read from
    /// the stream's leader, so it is never behind what was acknowledged).
    pub fn last(&mut self) -> Result<Option<Last>, NatsError> {
        let found = self
            .conn
            .rt
            .block_on(self.stream.get_last_raw_message_by_subject(&self.subject));
        let message = match found {
            Ok(m) => m,
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {
                self.expected = Some(0);
                return Ok(None);
            }
            Err(e) => {
                return Err(NatsError::Stream {
                    stream: self.name.clone(),
                    reason: format!("reading the last message of {}: {e}", self.subject),
                })
            }
        };
        let unreadable = |reason| NatsError::Message {
            stream: self.name.clone(),
            sequence: message.sequence,
            reason,
        };
        let stored = read_headers(&message.headers).map_err(unreadable)?;
        let part = parts::read(&message.headers).map_err(unreadable)?;
        self.expected = Some(message.sequence);
        self.resume = stored.resume;
        Ok(Some(Last {
            sequence: message.sequence,
            stored,
            whole: parts::is_last(part),
        }))
    }

    /// Publishes one framed batch and waits until JetStream has stored it, after the
    /// subject's last message (see the module's documentation); a frame larger than the
    /// server takes in a message goes in parts (see `parts`).
    pub fn publish(&mut self, frame: Bytes, stored: &Stored) -> Result<(), NatsError> {
        if self.expected.is_none() {
            self.last()?;
        }
        let mut id = self.id_prefix.clone();
        match stored.snapshot {
            Some(at) => {
                let _ = write!(id, "S{}.{}", lsn_text(at), stored.batch_seq);
            }
            None => push_key(&mut id, stored.first),
        }
        if frame.len() <= self.part_len {
            return self.send(frame, &id, stored, None);
        }
        // The parts' ids are this publish's own: a message published again after a stop
        // between its parts may gather other frames, and none of its parts may be taken
        // for one of the earlier try.
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let pieces = parts::split(&frame, self.part_len);
        let count = u32::try_from(pieces.len()).map_err(|_| {
            self.publish_error(format!("a frame of {} bytes is too large", frame.len()))
        })?;
        for (i, piece) in (0..count).zip(pieces) {
            let before_last = Stored {
                commit: None,
                resume: self.resume,
                ..*stored
            };
            let says = if i + 1 == count { stored } else { &before_last };
            self.send(
                piece,
                &format!("{id}.p{i}.{nonce:x}"),
                says,
                Some((i, count)),
            )?;
        }
        Ok(())
    }

    /// Sends one message after the subject's last and waits until it is stored.
    fn send(
        &mut self,
        payload: Bytes,
        id: &str,
        stored: &Stored,
        part: Option<(u32, u32)>,
    ) -> Result<(), NatsError> {
        let expected = self.expected.unwrap_or(0);
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
        headers.insert(
            async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            expected.to_string().as_str(),
        );
        write_headers(&mut headers, stored);
        if let Some((i, n)) = part {
            headers.insert(parts::PART, format!("{i}/{n}").as_str());
        }
        let (js, subject) = (&self.conn.js, self.subject.clone());
        let acked = self.conn.rt.block_on(async {
            let ack = js
                .publish_with_headers(subject, headers, payload)
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map_err(|e| format!("not stored: {e}"))
        });
        let ack = acked.map_err(|reason| self.publish_error(reason))?;
        if ack.duplicate {
            // A repeat of a message the stream holds: the subject's last is unchanged.
            self.repeats += 1;
        } else {
            self.expected = Some(ack.sequence);
        }
        if parts::is_last(part) {
            self.resume = stored.resume;
        }
        Ok(())
    }

    /// How many messages JetStream dropped as repeats of messages it held (by
    /// `Nats-Msg-Id`) since the last call. (Every message published is stored when
    /// [`publish`](Self::publish) returns: there is nothing left to wait for.)
    pub fn take_repeats(&mut self) -> u64 {
        std::mem::take(&mut self.repeats)
    }

    /// Removes every message of this publisher's subject from the stream; returns how many
    /// there were. For a capture that starts a snapshot with a new slot: what an earlier
    /// slot of the same name published is of no use to a target that will load the new
    /// snapshot, and a snapshot cut short would stop any target reading past it.
    pub fn purge_subject(&mut self) -> Result<u64, NatsError> {
        let (stream, subject) = (&self.stream, self.subject.clone());
        let purged = self
            .conn
            .rt
            .block_on(async { stream.purge().filter(subject).await });
        let purged = purged.map_err(|e| NatsError::Stream {
            stream: self.name.clone(),
            reason: format!("purging {}: {e}", self.subject),
        })?;
        self.expected = Some(0);
        Ok(purged.purged)
    }

    fn publish_error(&self, reason: String) -> NatsError {
        NatsError::Publish {
            subject: self.subject.clone(),
            reason,
        }
    }
}

/// `s` as one subject token: letters, digits, `_` and `-` kept, anything else `_`.
fn token(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() {
        "_".to_owned()
    } else {
        t
    }
}

/// Appends a change's key as `COMMIT_LSN:INDEX`, the LSN as PostgreSQL writes it.
fn push_key(out: &mut String, (commit, index): (u64, u32)) {
    let _ = write!(out, "{:X}/{:X}:{index}", commit >> 32, commit & 0xFFFF_FFFF);
}

fn key_text(key: (u64, u32)) -> String {
    let mut s = String::new();
    push_key(&mut s, key);
    s
}

fn write_headers(h: &mut HeaderMap, s: &Stored) {
    h.insert(header::BATCH_SEQ, s.batch_seq.to_string().as_str());
    if s.frames != 1 {
        h.insert(header::FRAMES, s.frames.to_string().as_str());
    }
    h.insert(header::ENCODING, s.encoding);
    h.insert(header::FIRST, key_text(s.first).as_str());
    h.insert(header::LAST, key_text(s.last).as_str());
    if let Some(c) = s.commit {
        h.insert(header::COMMIT, lsn_text(c).as_str());
    }
    if let Some(c) = s.resume {
        h.insert(header::RESUME, lsn_text(c).as_str());
    }
    if let Some(c) = s.snapshot {
        h.insert(header::SNAPSHOT, lsn_text(c).as_str());
    }
}

fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Reads what [`write_headers`] wrote; the error says which header is missing or bad.
pub(crate) fn read_headers(h: &HeaderMap) -> Result<Stored, String> {
    let get = |name: &str| {
        h.get(name)
            .map(|v| v.as_str().to_owned())
            .ok_or_else(|| format!("no {name} header (not published by scry?)"))
    };
    let bad = |name: &str, v: &str| format!("header {name}: {v:?} does not read");
    let batch_seq = get(header::BATCH_SEQ)?;
    let batch_seq = batch_seq
        .parse()
        .map_err(|_| bad(header::BATCH_SEQ, &batch_seq))?;
    let encoding = match get(header::ENCODING)?.as_str() {
        "compat" => "compat",
        "compact" => "compact",
        other => return Err(bad(header::ENCODING, other)),
    };
    let key = |name: &str| -> Result<(u64, u32), String> {
        let v = get(name)?;
        let (lsn, index) = v.rsplit_once(':').ok_or_else(|| bad(name, &v))?;
        Ok((
            parse_lsn(lsn).ok_or_else(|| bad(name, &v))?,
            index.parse().map_err(|_| bad(name, &v))?,
        ))
    };
    let lsn = |name: &str| match h.get(name) {
        Some(v) => parse_lsn(v.as_str())
            .map(Some)
            .ok_or_else(|| bad(name, v.as_str())),
        None => Ok(None),
    };
    let commit = lsn(header::COMMIT)?;
    let resume = lsn(header::RESUME)?;
    let snapshot = lsn(header::SNAPSHOT)?;
    let frames = match h.get(header::FRAMES) {
        Some(v) => v
            .as_str()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(header::FRAMES, v.as_str()))?,
        None => 1,
    };
    Ok(Stored {
        batch_seq,
        frames,
        encoding,
        first: key(header::FIRST)?,
        last: key(header::LAST)?,
        commit,
        resume,
        snapshot,
    })
}

/// An LSN as PostgreSQL writes it (`16/B374D848`).
fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some(u64::from(hi) << 32 | u64::from(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_back_what_was_written() {
        let s = Stored {
            batch_seq: 41,
            frames: 3,
            encoding: "compact",
            first: (0x16_B374_D848, 0),
            last: (0x17_0000_0010, 12),
            commit: Some(0x17_0000_0010),
            resume: Some(0x17_0000_0010),
            snapshot: None,
        };
        let mut h = HeaderMap::new();
        write_headers(&mut h, &s);
        assert_eq!(h.get(header::FIRST).unwrap().as_str(), "16/B374D848:0");
        assert_eq!(h.get(header::COMMIT).unwrap().as_str(), "17/10");
        assert_eq!(h.get(header::FRAMES).unwrap().as_str(), "3");
        assert_eq!(read_headers(&h), Ok(s));
        let open = Stored {
            commit: None,
            resume: None,
            ..s
        };
        let mut h = HeaderMap::new();
        write_headers(&mut h, &open);
        assert_eq!(read_headers(&h), Ok(open));
        let snapshot = Stored {
            first: (0, 0),
            last: (0, 0),
            snapshot: Some(0x16_B374_D848),
            ..open
        };
        let mut h = HeaderMap::new();
        write_headers(&mut h, &snapshot);
        assert_eq!(h.get(header::SNAPSHOT).unwrap().as_str(), "16/B374D848");
        assert_eq!(read_headers(&h), Ok(snapshot));
    }

    #[test]
    fn a_target_holds_a_message_by_its_kind() {
        let change = Stored {
            batch_seq: 3,
            frames: 1,
            encoding: "compact",
            first: (0x100, 0),
            last: (0x200, 4),
            commit: Some(0x200),
            resume: Some(0x200),
            snapshot: None,
        };
        // A change is held once the progress (a Commit's end) is past its commit's start.
        assert!(!change.covered_by(0x200));
        assert!(change.covered_by(0x201));
        let table = Stored {
            first: (0, 0),
            last: (0, 0),
            commit: None,
            resume: None,
            snapshot: Some(0x80),
            ..change
        };
        assert!(table.inside_snapshot());
        assert!(!table.covered_by(u64::MAX));
        let end = Stored {
            commit: Some(0x80),
            ..table
        };
        assert!(!end.inside_snapshot());
        assert!(!end.covered_by(0x7F));
        assert!(end.covered_by(0x80));
        assert!(!change.inside_snapshot());
    }

    #[test]
    fn a_bad_or_missing_header_is_named() {
        let mut h = HeaderMap::new();
        assert_eq!(
            read_headers(&h),
            Err("no Scry-Batch-Seq header (not published by scry?)".to_owned())
        );
        write_headers(
            &mut h,
            &Stored {
                batch_seq: 1,
                frames: 1,
                encoding: "compat",
                first: (1, 0),
                last: (1, 0),
                commit: None,
                resume: None,
                snapshot: None,
            },
        );
        h.insert(header::LAST, "1/2");
        assert_eq!(
            read_headers(&h),
            Err("header Scry-Last: \"1/2\" does not read".to_owned())
        );
    }

    #[test]
    fn tokens_keep_only_what_a_subject_token_may_hold() {
        assert_eq!(token("scry_3b6bf233"), "scry_3b6bf233");
        assert_eq!(token("db.prod>*x y"), "db_prod__x_y");
        assert_eq!(token(""), "_");
    }
}
