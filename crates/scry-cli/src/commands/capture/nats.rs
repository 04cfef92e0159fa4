//! `scry capture --out nats://...`: each framed batch one message of a JetStream stream,
//! resumed from what the stream holds.
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

use scry_codec::Encoding;
use scry_nats::{Address, Publisher, Stored};
use scry_pg::capture::Frame;
use scry_pg::pgoutput::Change;

use crate::commands::CliError;

/// A change's place in the stream: its transaction's commit position and its index there.
pub type Key = (u64, u32);

/// The NATS side of a capture's output.
pub struct NatsOut {
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

fn nats_error(e: scry_nats::NatsError) -> CliError {
    CliError::Load(e.to_string())
}

impl NatsOut {
    /// Connects to the stream of `address` and reads where this capture (`stream`, the
    /// source's identity and slot) left off.
    pub fn open(address: &str, stream: &str, encoding: Encoding) -> Result<Self, CliError> {
        let address = Address::parse(address).map_err(|e| CliError::Usage(e.to_string()))?;
        let (source, slot) = stream.rsplit_once('/').unwrap_or(("", stream));
        let mut publisher =
            Publisher::open(&address, crate::nats::creds(), source, slot).map_err(nats_error)?;
        let last = publisher.last().map_err(nats_error)?;
        let encoding = match encoding {
            Encoding::Compat => "compat",
            _ => "compact",
        };
        let (skip_through, resume, next_batch_seq) = match last {
            Some(l) => (
                Some(l.stored.last),
                l.stored.resume,
                l.stored.batch_seq.wrapping_add(1),
            ),
            None => (None, None, 0),
        };
        Ok(Self {
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

    /// Publishes a frame the batcher completed.
    pub fn publish(&mut self, frame: &Frame<'_>) -> Result<(), CliError> {
        if let Some(c) = frame.commit_position {
            self.resume = Some(c);
        }
        let first = self.first.take().unwrap_or(self.last);
        let stored = Stored {
            batch_seq: frame.batch_seq,
            encoding: self.encoding,
            first,
            last: self.last,
            commit: frame.commit_position,
            resume: self.resume,
        };
        self.publisher
            .publish(bytes::Bytes::copy_from_slice(frame.bytes), &stored)
            .map_err(nats_error)
    }
}
