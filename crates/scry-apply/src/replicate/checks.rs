//! What [`Replication::connect`] and [`Replication::start`] check on the source before
//! anything streams: the slot (a pgoutput slot of this database, not lost, not in use) and
//! the publication.

use std::time::{Duration, Instant};

use super::Replication;
use crate::ApplyError;

impl Replication {
    /// Checks the slot: a pgoutput slot of this database, not in use by another process
    /// (one held by the walsender of a process that died is waited for, [`IN_USE_WAIT`] at
    /// most).
    ///
    /// [`IN_USE_WAIT`]: crate::IN_USE_WAIT
    pub(super) fn check_slot(&mut self) -> Result<(), ApplyError> {
        let deadline = Instant::now() + crate::IN_USE_WAIT;
        loop {
            let rows = self
                .conn
                .simple(&format!(
                    "SELECT plugin, database = current_database(), active_pid, wal_status \
                     FROM pg_replication_slots WHERE slot_name = {}",
                    scry_pg::text::quote_literal(&self.slot)
                ))
                .map_err(|e| self.error("cannot read pg_replication_slots", &e))?;
            let fail = |message: String| ApplyError::Source {
                slot: self.slot.clone(),
                message,
            };
            let Some(row) = rows.into_iter().next() else {
                return Err(fail(format!(
                    "no such replication slot on the source: leave out --slot and \
                     --publication (`scry replicate SOURCE TARGET` makes its own and copies \
                     the tables), or make it with `scry capture SOURCE --slot {slot} \
                     --publication P --create --snapshot FILE` (or \
                     pg_create_logical_replication_slot('{slot}', 'pgoutput'))",
                    slot = self.slot
                )));
            };
            let field = |i: usize| row.get(i).cloned().flatten();
            match field(0).as_deref() {
                Some("pgoutput") => {}
                Some(other) => {
                    return Err(fail(format!("the slot's plugin is {other}, not pgoutput")))
                }
                None => return Err(fail("a physical slot, not a logical one".to_owned())),
            }
            if field(1).as_deref() != Some("t") {
                return Err(fail("the slot belongs to another database".to_owned()));
            }
            if field(3).as_deref() == Some("lost") {
                return Err(fail(scry_source::slots::lost_slot_advice(&self.slot)));
            }
            match field(2) {
                None => return Ok(()),
                Some(pid) if Instant::now() >= deadline => {
                    return Err(fail(format!(
                        "in use by the walsender of PID {pid}: another scry replicate or scry \
                         capture is reading this slot"
                    )))
                }
                Some(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Checks that the publication exists: the server itself finds a missing one only when
    /// a change comes.
    pub(super) fn check_publication(&mut self, publication: &str) -> Result<(), ApplyError> {
        let rows = self
            .conn
            .simple(&format!(
                "SELECT 1 FROM pg_publication WHERE pubname = {}",
                scry_pg::text::quote_literal(publication)
            ))
            .map_err(|e| self.error("cannot read pg_publication", &e))?;
        if rows.is_empty() {
            return Err(ApplyError::Source {
                slot: self.slot.clone(),
                message: format!("the source has no publication {publication}"),
            });
        }
        Ok(())
    }
}
