//! Whole transactions sent together: a [`Group`] of up to [`GROUP`](crate::GROUP) goes out
//! as one pipeline while the answers of the group before it are read (see the crate's
//! documentation, "Throughput").

use std::time::Duration;

use scry_conn::{self as conn, Conn, WireError};

use crate::{pipeline, setup_error, Applier, ApplyError, Item, OnConflict, Side};

/// Whole transactions waiting to go out together.
#[derive(Default)]
pub(crate) struct Group {
    /// Every transaction's statements, each ending with its `COMMIT` (`COMMIT AND CHAIN`
    /// when another follows it, which begins that one); the first begins with `BEGIN`.
    pub(crate) items: Vec<Item>,
    pub(crate) members: Vec<Member>,
}

/// A group written to the target whose answers are not read yet.
pub(crate) struct InFlight {
    group: Group,
}

/// One transaction of a [`Group`].
pub(crate) struct Member {
    /// Its source Commit position.
    pub(crate) position: u64,
    /// Its source commit time (Unix microseconds).
    pub(crate) commit_time_us: u64,
    /// Where its items end in the group's.
    pub(crate) end: usize,
    pub(crate) changes: u64,
}

impl Applier {
    /// How many whole transactions wait to go out or for their answers.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.group.members.len() + self.in_flight.as_ref().map_or(0, |f| f.group.members.len())
    }

    /// Sends the queued transactions as one pipeline and checks their answers: call it when
    /// the input pauses or ends, so the last transactions do not wait for more.
    ///
    /// # Errors
    /// [`ApplyError`] for the first queued transaction the target refused, naming its LSN,
    /// table and key: the transactions before it are committed, it and those after it are
    /// not (the next run applies them).
    pub fn flush(&mut self) -> Result<(), ApplyError> {
        self.launch()?;
        self.land()
    }

    /// Between the messages of a stream: checks the group in flight if the target has
    /// answered it, and sends the queued one once nothing is in flight, so that the target
    /// starts on it as soon as it is idle. Never waits. Returns whether a group is in
    /// flight.
    pub(crate) fn step(&mut self) -> Result<bool, ApplyError> {
        if self.in_flight.is_some() {
            if !self.conn.answered().unwrap_or(true) {
                return Ok(true);
            }
            self.land()?;
        }
        if !self.group.members.is_empty() {
            self.launch()?;
        }
        Ok(self.in_flight.is_some())
    }

    /// Waits (`timeout` at most) for the target's answers to the group in flight, if any.
    pub(crate) fn wait_answers(&mut self, timeout: Duration) -> Result<(), ApplyError> {
        if self.in_flight.is_none() {
            return Ok(());
        }
        self.conn
            .wait_readable(timeout)
            .map(drop)
            .map_err(|e| setup_error("waiting for the target's answers", &e))
    }

    /// The connection to the target.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Sends the queued group, after checking the one sent before it: the answers of this
    /// one are read while the caller goes on (a group holding a TRUNCATE or DDL statement is
    /// run and checked at once).
    pub(crate) fn launch(&mut self) -> Result<(), ApplyError> {
        self.land()?;
        if self.group.members.is_empty() {
            return Ok(());
        }
        let group = std::mem::take(&mut self.group);
        if pipeline::has_simple(&group.items) {
            let answers =
                pipeline::run(&mut self.conn, &group.items).map_err(|e| self.lost(&group, &e))?;
            return self.check_group(group, answers);
        }
        if let Err(e) = pipeline::write(&mut self.conn, &group.items) {
            return Err(self.lost(&group, &e));
        }
        self.in_flight = Some(InFlight { group });
        Ok(())
    }

    /// Reads the answers of the group in flight and checks them; on a failure the queued
    /// group, which comes after it, is dropped. The server skipped every statement after the
    /// failed one (they were in the same pipeline), and its transaction is rolled back here.
    pub(crate) fn land(&mut self) -> Result<(), ApplyError> {
        let Some(InFlight { group }) = self.in_flight.take() else {
            return Ok(());
        };
        let answers = match self.conn.answers(group.items.len()) {
            Ok((answers, in_failed_block)) => {
                if in_failed_block {
                    if let Err(e) = self.conn.simple("ROLLBACK") {
                        self.group = Group::default();
                        return Err(self.lost(&group, &e));
                    }
                }
                answers
            }
            Err(e) => {
                self.group = Group::default();
                return Err(self.lost(&group, &e));
            }
        };
        let checked = self.check_group(group, answers);
        if checked.is_err() {
            self.group = Group::default();
        }
        checked
    }

    /// The error of a group whose answers were lost with the connection: the target has its
    /// transactions up to some point, which the origin's progress says on the next run.
    pub(crate) fn lost(&self, group: &Group, e: &WireError) -> ApplyError {
        let first = group.items.first().map(|i| &i.event);
        ApplyError::Server {
            lsn: first.map_or(0, pipeline::Context::lsn),
            table: String::new(),
            key: Vec::new(),
            message: e.to_string(),
        }
        .or_lost(Side::Target, e)
    }

    /// Counts the transactions of a group that committed, up to the first that failed.
    pub(crate) fn check_group(
        &mut self,
        group: Group,
        answers: Vec<conn::Answer>,
    ) -> Result<(), ApplyError> {
        let mut results = answers.into_iter();
        let mut start = 0;
        let tolerate = self.on_conflict != OnConflict::Stop;
        for m in group.members {
            let items = group.items.get(start..m.end).unwrap_or_default();
            let mut conflicts = Vec::new();
            pipeline::check_results(
                items,
                results.by_ref().take(m.end - start),
                tolerate,
                &mut conflicts,
            )?;
            self.committed(m.position, m.commit_time_us, m.changes, conflicts);
            start = m.end;
        }
        Ok(())
    }

    /// Counts a transaction that committed.
    pub(crate) fn committed(
        &mut self,
        position: u64,
        time_us: u64,
        changes: u64,
        conflicts: Vec<String>,
    ) {
        self.progress = position;
        self.last_commit_us = self.last_commit_us.max(time_us);
        let n = conflicts.len() as u64;
        self.totals.committed += 1;
        self.totals.changes += changes.saturating_sub(n);
        self.totals.conflicts += n;
        if self.on_conflict == OnConflict::Log {
            self.conflicts.extend(conflicts);
        }
    }
}
