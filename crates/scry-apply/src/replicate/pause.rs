//! Pausing the stream at a position, for `scry verify`: [`Replication::pause_handle`] makes
//! [`Replication::run`] stop before the first transaction committed at or after a position
//! `P`, with every transaction before it applied. The target then holds exactly what a
//! snapshot of the source at `P` holds (see `copied` for why a slot's position says that),
//! and the two can be compared while the source goes on writing. The message that would
//! have been applied next is kept, and applied first when `run` is called again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use scry_pg::pgoutput::Message;

use super::{Replication, Stopped, STATUS_EVERY};
use crate::{Applier, ApplyError};

/// The commit LSN a pgoutput message gives, when it is one that starts handing on a
/// committed transaction: Begin (its final LSN), Stream Commit, Commit Prepared. Other
/// messages are told by their first byte, without being parsed.
pub(super) fn commit_lsn(data: &[u8]) -> Option<u64> {
    if !matches!(data.first(), Some(b'B' | b'c' | b'K')) {
        return None;
    }
    match scry_pg::pgoutput::parse(data, false).ok()? {
        Message::Begin(b) => Some(b.final_lsn),
        Message::StreamCommit(c) => Some(c.commit.commit_lsn),
        Message::CommitPrepared(p) => Some(p.lsn),
        _ => None,
    }
}

/// Where a [`Replication`] pauses, settable from anywhere (the `idle` check of
/// [`Replication::run`] among them): see [`Replication::pause_handle`].
#[derive(Debug, Clone, Default)]
pub struct Pause(Arc<AtomicU64>);

impl Pause {
    /// The position that pauses before the next transaction, whatever it is.
    pub const NEXT: u64 = u64::MAX;

    /// Pause before the first transaction committed at or after `at` (or once the source
    /// has sent everything before it); [`Pause::NEXT`]: before the next transaction,
    /// whatever its position (or at once when none is open); `None` lifts the pause.
    pub fn at(&self, at: Option<u64>) {
        self.0.store(at.unwrap_or(0), Ordering::Relaxed);
    }

    /// The position asked for.
    #[must_use]
    pub fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&at| at != 0)
    }
}

impl Replication {
    /// The handle that makes [`run`](Self::run) stop with [`Stopped::Paused`] before the
    /// first transaction committed at or after a position, every transaction before it
    /// applied and committed on the target.
    #[must_use]
    pub fn pause_handle(&self) -> Pause {
        self.pause.clone()
    }

    /// While paused: a status update now and then, so that the source's
    /// `wal_sender_timeout` does not end the stream.
    ///
    /// # Errors
    /// [`ApplyError::Source`] when the update cannot be sent.
    pub fn keep_alive(&mut self) -> Result<(), ApplyError> {
        if self.last_status.elapsed() >= STATUS_EVERY {
            self.status(false)?;
        }
        Ok(())
    }

    /// True when `data` hands on a transaction committed at or after the pause position:
    /// it is kept for the next run instead.
    pub(super) fn holds(&mut self, start: u64, data: &Bytes) -> bool {
        let Some(at) = self.pause.get() else {
            return false;
        };
        if commit_lsn(data).is_some_and(|lsn| lsn >= at || at == Pause::NEXT) {
            self.held = Some((start, data.clone()));
            return true;
        }
        false
    }

    /// True when the source has sent everything before the pause position and the target
    /// has it all: nothing open, queued or held.
    pub(super) fn reached_pause(&self, applier: &Applier) -> bool {
        self.pause
            .get()
            .is_some_and(|at| self.received >= at || at == Pause::NEXT)
            && !applier.in_transaction()
            && applier.queued() == 0
            && self.decoder.oldest_held_lsn().is_none()
    }

    /// The message kept by a pause, applied first by the next run.
    pub(super) fn resume(&mut self, applier: &mut Applier) -> Result<Option<Stopped>, ApplyError> {
        let Some((start, data)) = self.held.take() else {
            return Ok(None);
        };
        if self.holds(start, &data) {
            return Ok(Some(Stopped::Paused));
        }
        self.decode(start, &data, applier)?;
        Ok(self.recopy.is_some().then_some(Stopped::Recopy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_lsn_of_the_messages_that_start_a_transaction() {
        let begin = [&b"B"[..], &0x1234u64.to_be_bytes(), &[0; 12]].concat();
        assert_eq!(commit_lsn(&begin), Some(0x1234));
        // Stream Commit: xid, flags, commit LSN, end LSN, time.
        let stream_commit = [
            &b"c"[..],
            &7u32.to_be_bytes(),
            &[0],
            &0x99u64.to_be_bytes(),
            &0xA0u64.to_be_bytes(),
            &[0; 8],
        ]
        .concat();
        assert_eq!(commit_lsn(&stream_commit), Some(0x99));
        // Commit Prepared: flags, commit LSN, end LSN, time, xid, GID.
        let commit_prepared = [
            &b"K"[..],
            &[0],
            &0x55u64.to_be_bytes(),
            &0x60u64.to_be_bytes(),
            &[0; 8],
            &7u32.to_be_bytes(),
            b"gid\0",
        ]
        .concat();
        assert_eq!(commit_lsn(&commit_prepared), Some(0x55));
        assert_eq!(commit_lsn(b"I\0\0\0\x01"), None);
        assert_eq!(commit_lsn(b"B\0\0"), None);
        assert_eq!(commit_lsn(b""), None);
    }
}
