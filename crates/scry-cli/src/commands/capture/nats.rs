//! `scry capture --out nats://...`: the framed batches as messages of a JetStream stream,
//! resumed from what the stream holds.
//!
//! A message holds one frame or several ([`MESSAGE_BYTES`]): the frames made while the
//! source had more at hand, published when the source has nothing more at hand, when the
//! output is made durable (before the slot is confirmed), or once it holds that many bytes.
//!
//! Every change has a key: the commit position of its transaction (which the decoder hands
//! on before the transaction's first change) and its index in the transaction. The stream
//! delivers transactions in commit order, so keys only grow, and batches never hold two
//! transactions. A message's headers give its first and last keys, the Commit it ends (if
//! it ends one) and the last Commit held by it or any message before it.
//!
//! A capture that starts again reads the subject's last message: the slot is read from that
//! last Commit on (whole transactions up to it are in the stream), and the changes of the
//! next transaction up to the message's last key are passed over, so a transaction cut
//! short mid-way is continued, not published twice. Batches are cut at the same events as
//! long as `--batch-events` stays the same, and the batch numbers go on from the last one.
//!
//! `capture --snapshot nats://...` ([`SnapshotOut`]) first empties the subject (its slot is
//! new: what an older slot of the name published is superseded), then publishes the
//! snapshot's frames, a message each, and a last message holding a BackfillComplete event
//! at the snapshot's position ([`end_snapshot`]); the changes follow. A subject whose last
//! message is inside a snapshot holds one cut short: a capture refuses to go on after it.

use std::io;

use bytes::BytesMut;
use scry_codec::frame::{FRAME_OVERHEAD, HEADER_LEN};
use scry_codec::{BatchView, Encoding};
use scry_nats::{Address, Publisher, Stored};
use scry_pg::capture::Frame;
use scry_pg::pgoutput::Change;

use crate::commands::CliError;

/// A change's place in the stream: its transaction's commit position and its index there.
pub type Key = (u64, u32);

/// A message holds the frames made while the source had more at hand, up to about this
/// many bytes: one message (and one wait for its storage) per transaction would hold a
/// capture of small transactions to a few thousand a second.
pub const MESSAGE_BYTES: usize = 256 * 1024;

/// The frames of the message being gathered.
#[derive(Default)]
struct Gathered {
    bytes: BytesMut,
    frames: u32,
    first: Key,
    last: Key,
    /// The number of its last batch.
    batch_seq: u64,
    /// The commit position of the last transaction it ends.
    commit: Option<u64>,
}

/// The NATS side of a capture's output.
pub struct NatsOut {
    gathered: Gathered,
    publisher: Publisher,
    encoding: &'static str,
    /// The transaction under way: its commit position and the index its next change takes.
    commit: u64,
    index: u32,
    /// The first and last keys of the batch being built.
    first: Option<Key>,
    last: Key,
    /// Changes up to this key are in the stream already.
    skip_through: Option<Key>,
    /// The Commit position of the last whole transaction the stream holds (this run's or
    /// an earlier one's).
    resume: Option<u64>,
    /// The number of the next batch: one past the last the stream held at start.
    pub next_batch_seq: u64,
}

/// The `Scry-Encoding` header's value for `encoding`.
fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Compat => "compat",
        _ => "compact",
    }
}

/// The publisher of the capture `stream` (`SOURCE/SLOT`, the source's identity and the
/// slot) on the stream of `address`.
fn publisher(address: &Address, stream: &str) -> Result<Publisher, CliError> {
    let (source, slot) = stream.rsplit_once('/').unwrap_or(("", stream));
    Publisher::open(address, crate::nats::options(), source, slot).map_err(crate::nats::error)
}

/// `address` parsed; a mistake in it is a usage error.
pub(super) fn parse(address: &str) -> Result<Address, CliError> {
    Address::parse(address).map_err(|e| CliError::Usage(e.to_string()))
}

/// The last key before `key`: every change before it has a key up to this one.
fn before((commit, index): Key) -> Key {
    match index {
        0 => (commit.saturating_sub(1), u32::MAX),
        i => (commit, i - 1),
    }
}

/// The keys of a snapshot's messages: below every change's.
const SNAPSHOT_KEY: Key = (0, 0);

/// The snapshot of `capture --snapshot nats://...` as messages: written to as a file is,
/// it publishes each frame once it has it whole.
pub struct SnapshotOut {
    publisher: Publisher,
    encoding: &'static str,
    /// The snapshot's position.
    position: u64,
    /// Bytes written and not published yet (the start of the next frame).
    pending: BytesMut,
}

impl SnapshotOut {
    /// Connects to the stream of `address` and empties the subject of the capture
    /// `stream`, whose slot was just made, for the snapshot at `position`.
    pub fn open(
        address: &str,
        stream: &str,
        position: u64,
        encoding: Encoding,
    ) -> Result<Self, CliError> {
        let address = parse(address)?;
        let mut publisher = publisher(&address, stream)?;
        let purged = publisher.purge_subject().map_err(crate::nats::error)?;
        if purged > 0 {
            crate::log::Event::new(
                crate::log::Level::Info,
                "snapshot",
                format!(
                    "{address}: removed the {purged} messages an earlier slot of this name \
                     published on {}: the new snapshot replaces them",
                    publisher.subject()
                ),
            )
            .emit();
        }
        Ok(Self {
            publisher,
            encoding: encoding_name(encoding),
            position,
            pending: BytesMut::new(),
        })
    }

    /// Publishes every whole frame pending.
    fn publish_whole(&mut self) -> io::Result<()> {
        while self.pending.len() >= HEADER_LEN {
            let len = u32::from_le_bytes([
                self.pending[8],
                self.pending[9],
                self.pending[10],
                self.pending[11],
            ]) as usize;
            let whole = len + FRAME_OVERHEAD;
            if self.pending.len() < whole {
                break;
            }
            let frame = self.pending.split_to(whole).freeze();
            let batch_seq = BatchView::parse(&frame[HEADER_LEN..HEADER_LEN + len])
                .map_err(|e| io::Error::other(format!("a snapshot batch does not read: {e}")))?
                .batch_seq();
            let stored = Stored {
                batch_seq,
                frames: 1,
                encoding: self.encoding,
                first: SNAPSHOT_KEY,
                last: SNAPSHOT_KEY,
                commit: None,
                resume: None,
                snapshot: Some(self.position),
            };
            self.publisher
                .publish(frame, &stored)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        Ok(())
    }
}

impl io::Write for SnapshotOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.publish_whole()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.publish_whole()
    }
}

/// Publishes the message that ends the snapshot at `position` of the capture `stream`: a
/// BackfillComplete event at that position, which a target records as its progress.
pub fn end_snapshot(
    address: &str,
    stream: &str,
    position: u64,
    encoding: Encoding,
) -> Result<(), CliError> {
    let address = parse(address)?;
    let mut publisher = publisher(&address, stream)?;
    let last = publisher.last().map_err(crate::nats::error)?;
    let batch_seq = last.map_or(0, |l| l.stored.batch_seq.wrapping_add(1));
    let mut event =
        scry_types::DatabaseEvent::new(scry_types::OperationType::BackfillComplete, "", "");
    event.position = position;
    event.timestamp_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let batch = scry_types::DatabaseEventBatch::with_events(vec![event])
        .with_source_id(stream)
        .with_batch_seq(batch_seq);
    let frame = crate::schema::framed(&batch, encoding, "the snapshot's end")?;
    let stored = Stored {
        batch_seq,
        frames: 1,
        encoding: encoding_name(encoding),
        first: SNAPSHOT_KEY,
        last: SNAPSHOT_KEY,
        commit: Some(position),
        resume: None,
        snapshot: Some(position),
    };
    publisher
        .publish(frame.into(), &stored)
        .map_err(crate::nats::error)
}

impl NatsOut {
    /// Connects to the stream of `address` and reads where this capture (`stream`, the
    /// source's identity and slot) left off.
    pub fn open(address: &str, stream: &str, encoding: Encoding) -> Result<Self, CliError> {
        let address = parse(address)?;
        let mut publisher = publisher(&address, stream)?;
        let last = publisher.last().map_err(crate::nats::error)?;
        let encoding = encoding_name(encoding);
        if let Some(l) = last.filter(|l| l.stored.inside_snapshot()) {
            let slot = stream.rsplit_once('/').map_or(stream, |(_, slot)| slot);
            return Err(CliError::Usage(format!(
                "{address}: subject {} ends inside a snapshot (message {}, batch {}): the \
                 capture that published it stopped before its end, and no target can be \
                 built from it. Start again: remove the slot with `scry drop SOURCE --slot \
                 {slot}`, then run capture with --snapshot {address}",
                publisher.subject(),
                l.sequence,
                l.stored.batch_seq
            )));
        }
        let (skip_through, resume, next_batch_seq) = match last {
            Some(l) if l.whole => (
                Some(l.stored.last),
                l.stored.resume,
                l.stored.batch_seq.wrapping_add(1),
            ),
            // Stopped between the parts of a message: its frames go again from the first,
            // under their numbers; readers drop the parts the stream holds of it.
            Some(l) => (
                Some(before(l.stored.first)),
                l.stored.resume,
                l.stored
                    .batch_seq
                    .wrapping_sub(u64::from(l.stored.frames.saturating_sub(1))),
            ),
            None => (None, None, 0),
        };
        Ok(Self {
            gathered: Gathered::default(),
            publisher,
            encoding,
            commit: 0,
            index: 0,
            first: None,
            last: (0, 0),
            skip_through,
            resume,
            next_batch_seq,
        })
    }

    /// The Commit position of the last whole transaction the stream holds.
    pub fn last_commit(&self) -> Option<u64> {
        self.resume
    }

    /// Notes `change` (before the batcher gets it); false when the stream already holds it,
    /// and it is to be passed over.
    pub fn take(&mut self, change: &Change) -> bool {
        if let Change::Commits { commit_lsn } = change {
            self.commit = *commit_lsn;
            self.index = 0;
            return true;
        }
        let key = (self.commit, self.index);
        self.index = self.index.saturating_add(1);
        if self.skip_through.is_some_and(|s| key <= s) {
            return false;
        }
        self.first.get_or_insert(key);
        self.last = key;
        true
    }

    /// Adds a frame the batcher completed to the message being gathered, and publishes
    /// the message once it holds [`MESSAGE_BYTES`].
    pub fn add(&mut self, frame: &Frame<'_>) -> Result<(), CliError> {
        if let Some(c) = frame.commit_position {
            self.resume = Some(c);
            self.gathered.commit = Some(c);
        }
        let first = self.first.take().unwrap_or(self.last);
        let g = &mut self.gathered;
        if g.frames == 0 {
            g.first = first;
        }
        g.last = self.last;
        g.batch_seq = frame.batch_seq;
        g.frames += 1;
        g.bytes.extend_from_slice(frame.bytes);
        if g.bytes.len() >= MESSAGE_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Publishes the frames gathered, if any, as one message, and waits until it is stored.
    pub fn flush(&mut self) -> Result<(), CliError> {
        let g = &mut self.gathered;
        if g.frames == 0 {
            return Ok(());
        }
        let stored = Stored {
            batch_seq: g.batch_seq,
            frames: g.frames,
            encoding: self.encoding,
            first: g.first,
            last: g.last,
            commit: g.commit.take(),
            resume: self.resume,
            snapshot: None,
        };
        g.frames = 0;
        let payload = g.bytes.split().freeze();
        self.publisher
            .publish(payload, &stored)
            .map_err(crate::nats::error)
    }
}
