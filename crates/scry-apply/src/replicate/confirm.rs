//! How far the slot is confirmed: only as far as the target has the transactions durably
//! (see the module's documentation), and how a run ends.

use std::time::{Duration, Instant};

use super::{Replication, Stopped};
use crate::{Applier, ApplyError};

impl Replication {
    /// Confirms the slot as far as the target has flushed, and tells the source.
    ///
    /// With no transaction open or held, and every committed one durable, everything the
    /// source has sent is accounted for: the slot is confirmed up to what was received (the
    /// last keepalive's end), not only to the last Commit applied. So a slot whose tables
    /// are idle does not hold the WAL of the rest of the server, and a source shutting down
    /// (which waits until the slot is confirmed as far as it sent) is not held up.
    pub(super) fn confirm(&mut self, applier: &mut Applier, reply: bool) -> Result<(), ApplyError> {
        // A target still working on a group (or waiting on a lock) is not waited for here:
        // the last durable position it said stands until it answers.
        applier.step()?;
        let durable = if applier.queued() > 0 {
            applier.last_durable()
        } else {
            applier.durable_progress()?
        };
        // Never past the first message of a transaction still held (streamed, not yet
        // committed): the server must send it again after a restart.
        let held = self.decoder.oldest_held_lsn();
        self.confirmed = self.confirmed.max(durable.min(held.unwrap_or(u64::MAX)));
        if self.settled(applier) && durable >= applier.progress() {
            self.confirmed = self.confirmed.max(self.received);
        }
        self.status(reply)
    }

    /// A standby status update with what is received and confirmed.
    pub(super) fn status(&mut self, reply: bool) -> Result<(), ApplyError> {
        self.last_status = Instant::now();
        let (received, confirmed) = (self.received, self.confirmed);
        self.conn
            .standby_status(received, confirmed, reply)
            .map_err(|e| self.error("cannot send a status update", &e))
    }

    /// Waits (`wait` at most) until the target has flushed every transaction it committed,
    /// then confirms the slot that far: what to call after [`run`](Self::run), before the
    /// connection closes, so that the source does not keep (and send again) what the target
    /// has. Under `synchronous_commit = off` the target's WAL writer flushes within its
    /// `wal_writer_delay` (200 ms by default). Returns the confirmed position.
    ///
    /// # Errors
    /// As [`Applier::durable_progress`]; [`ApplyError::Source`] when the status update
    /// cannot be sent.
    pub fn settle(&mut self, applier: &mut Applier, wait: Duration) -> Result<u64, ApplyError> {
        let deadline = Instant::now() + wait;
        while applier.durable_progress()? < applier.progress() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.confirm(applier, false)?;
        Ok(self.confirmed)
    }

    /// Ends a run: what is queued is applied, and the slot confirmed as far as the target
    /// has flushed.
    ///
    /// Asked to stop while the target has not answered (a lock it waits on), it stops
    /// within a second without waiting for it: the transactions it has not committed are
    /// applied by the next run, those it commits later carry their origin progress with
    /// them, and the slot stays where it was confirmed.
    pub(super) fn stop(
        &mut self,
        applier: &mut Applier,
        why: Stopped,
    ) -> Result<Stopped, ApplyError> {
        if why == Stopped::Paused {
            // Paused, the target holds every transaction before the position: none waits.
            applier.flush()?;
        }
        if why == Stopped::Asked {
            let deadline = Instant::now() + Duration::from_secs(1);
            while applier.queued() > 0 && Instant::now() < deadline {
                applier.step()?;
                applier.wait_answers(Duration::from_millis(50))?;
            }
            if applier.queued() > 0 {
                let _ = self.status(false);
                return Ok(why);
            }
        }
        // `confirm` sends the queued transactions first (`Applier::durable_progress`).
        match self.confirm(applier, false) {
            // A stream the source ended takes no more status updates.
            Err(ApplyError::Source { .. }) if why == Stopped::Ended => Ok(why),
            Err(e) => Err(e),
            Ok(()) => Ok(why),
        }
    }
}
