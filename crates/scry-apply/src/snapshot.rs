//! Snapshot tables loaded with `COPY ... FROM STDIN (FORMAT binary)`: the rows of a
//! `SnapshotBegin` ... `SnapshotEnd` run written as COPY BINARY tuples, straight from the
//! values' bytes.

use bytes::{BufMut, BytesMut};
use scry_types::{DatabaseEvent, RelationMeta};

use crate::sql::quote;
use scry_conn::{Conn, WireError};

use crate::{
    control, invalid, server, state, Applied, Applier, ApplyError, Member, RECORD_PROGRESS,
};

/// COPY BINARY's signature, flags and header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Data is sent to the server in pieces of about this size.
const PIECE: usize = 256 * 1024;

/// One table being loaded.
pub(crate) struct Load {
    buf: BytesMut,
    /// The number of values each row must have.
    width: usize,
    pub(crate) rows: u64,
}

/// The `COPY` statement of `relation` (the event's `columns` when it names them).
fn statement(event: &DatabaseEvent, relation: &RelationMeta) -> (String, String, usize) {
    let names: Vec<String> = if event.columns.is_empty() {
        relation.columns.iter().map(|c| quote(&c.name)).collect()
    } else {
        event.columns.iter().map(|c| quote(c)).collect()
    };
    let table = format!("{}.{}", quote(&event.schema), quote(&event.table));
    let sql = format!(
        "COPY {table} ({}) FROM STDIN (FORMAT binary)",
        names.join(", ")
    );
    (table, sql, names.len())
}

impl Load {
    /// Starts the table's load inside the transaction the caller began: its rows are deleted
    /// first (a load again after a crash replaces what an earlier run committed), then the
    /// COPY starts.
    pub(crate) fn start(
        conn: &mut Conn,
        event: &DatabaseEvent,
        relation: &RelationMeta,
    ) -> Result<Self, WireError> {
        let (table, sql, width) = statement(event, relation);
        // The load's commit is waited for even though the session commits asynchronously: a
        // reader that moves on once a table is recorded as loaded (a JetStream consumer
        // acknowledging its messages) must find it still there after a target crash.
        conn.simple("SET LOCAL synchronous_commit = on")?;
        // DELETE, not TRUNCATE: TRUNCATE refuses a table other tables refer to, and under
        // session_replication_role = replica no foreign-key trigger fires for the DELETE.
        conn.simple(&format!("DELETE FROM ONLY {table}"))?;
        conn.copy_in(&sql)?;
        let mut buf = BytesMut::with_capacity(PIECE + 1024);
        buf.put_slice(HEADER);
        Ok(Self {
            buf,
            width,
            rows: 0,
        })
    }

    /// Adds a row (its values' bytes as they are); `Err` with what is wrong when the row
    /// does not fit the table.
    pub(crate) fn row(&mut self, event: &DatabaseEvent) -> Result<bool, String> {
        let Some(row) = &event.new_row else {
            return Err("a SnapshotRow without a row".to_owned());
        };
        if row.values.len() != self.width {
            return Err(format!(
                "a row of {} values for {} columns",
                row.values.len(),
                self.width
            ));
        }
        // `width` came from at most 1600 columns' names, so it fits an i16.
        self.buf.put_i16(self.width as i16);
        for v in &row.values {
            if v.is_unchanged() {
                return Err("an unchanged-TOAST marker in a snapshot row".to_owned());
            }
            match &v.data {
                None => self.buf.put_i32(-1),
                Some(data) => {
                    let len = i32::try_from(data.len())
                        .map_err(|_| format!("a value of {} bytes", data.len()))?;
                    self.buf.put_i32(len);
                    self.buf.put_slice(data);
                }
            }
        }
        self.rows += 1;
        Ok(self.buf.len() >= PIECE)
    }

    /// Sends what is buffered.
    pub(crate) fn send(&mut self, conn: &mut Conn) -> Result<(), WireError> {
        conn.copy_data(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the COPY (the transaction stays open for the caller to commit); the rows copied.
    pub(crate) fn finish(mut self, conn: &mut Conn) -> Result<u64, WireError> {
        self.buf.put_i16(-1);
        self.send(conn)?;
        conn.copy_done()
    }

    /// Stops the COPY (the server refuses it, and the caller rolls back).
    pub(crate) fn abort(self, conn: &mut Conn, why: &str) -> Result<(), WireError> {
        conn.copy_fail(why)
    }
}

/// The snapshot events of a stream, as the applier takes them.
impl Applier {
    /// A table's snapshot begins: unless the target records that this stream's same
    /// snapshot of the table was loaded (`scry.snapshot_tables`), a transaction deletes the
    /// table's rows and starts a COPY of the snapshot's.
    pub(crate) fn snapshot_begin(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if self.open.is_some() {
            return Err(invalid(
                event,
                "a SnapshotBegin inside a source transaction",
            ));
        }
        if self.load.is_some() || self.skipping_table {
            return Err(invalid(
                event,
                "a SnapshotBegin before the last table's SnapshotEnd",
            ));
        }
        self.flush()?;
        let loaded = state::loaded(
            &mut self.conn,
            &self.stream,
            &event.schema,
            &event.table,
            event.position,
        )
        .map_err(|e| server(event, Vec::new(), &e))?;
        if loaded {
            self.skipping_table = true;
            self.totals.tables_skipped += 1;
            return Ok(Applied::Skipped);
        }
        let meta = self.table(event)?;
        let conn = &mut self.conn;
        let started = conn
            .simple("BEGIN")
            .and_then(|_| Load::start(conn, event, &meta));
        match started {
            Ok(load) => {
                self.load = Some(load);
                Ok(Applied::Done)
            }
            Err(e) => {
                let _ = self.simple("ROLLBACK", event);
                Err(server(event, Vec::new(), &e))
            }
        }
    }

    /// Whether the target records that this stream's snapshot of `schema.table` at
    /// `position` was loaded into the table as it is now. A load is recorded in its own
    /// transaction, committed synchronously: once recorded, it survives a target crash.
    ///
    /// # Errors
    /// [`ApplyError::Server`] (or `Connection`) when the target cannot say.
    pub fn snapshot_loaded(
        &mut self,
        schema: &str,
        table: &str,
        position: u64,
    ) -> Result<bool, ApplyError> {
        state::loaded(&mut self.conn, &self.stream, schema, table, position).map_err(|e| {
            ApplyError::Server {
                lsn: position,
                table: format!("{schema}.{table}"),
                key: Vec::new(),
                message: format!("cannot read which snapshot tables are loaded: {e}"),
            }
            .or_lost(crate::Side::Target, &e)
        })
    }

    pub(crate) fn snapshot_row(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if self.skipping_table {
            return Ok(Applied::Ignored);
        }
        let Some(load) = self.load.as_mut() else {
            return Err(invalid(event, "a SnapshotRow outside a table's snapshot"));
        };
        let full = match load.row(event) {
            Ok(full) => full,
            Err(why) => {
                self.abandon_load(event, &why);
                return Err(invalid(event, &why));
            }
        };
        if full {
            if let Err(e) = load.send(&mut self.conn) {
                // The server ended the COPY with its error.
                self.load = None;
                let _ = self.simple("ROLLBACK", event);
                return Err(server(event, Vec::new(), &e));
            }
        }
        Ok(Applied::Done)
    }

    pub(crate) fn snapshot_end(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if std::mem::take(&mut self.skipping_table) {
            return Ok(Applied::Skipped);
        }
        let Some(load) = self.load.take() else {
            return Err(invalid(event, "a SnapshotEnd without its SnapshotBegin"));
        };
        let conn = &mut self.conn;
        let stream = &self.stream;
        let done = load.finish(conn).and_then(|rows| {
            let record =
                state::record_loaded_sql(stream, &event.schema, &event.table, event.position, rows);
            conn.simple(&record)?;
            conn.simple("COMMIT").map(|_| rows)
        });
        match done {
            Ok(rows) => {
                self.totals.tables_loaded += 1;
                self.totals.rows_loaded += rows;
                Ok(Applied::Committed)
            }
            Err(e) => {
                let _ = self.simple("ROLLBACK", event);
                Err(server(event, Vec::new(), &e))
            }
        }
    }

    /// Drops the table being loaded: the COPY fails (with `why`) and its transaction rolls
    /// back.
    fn abandon_load(&mut self, event: &DatabaseEvent, why: &str) {
        if let Some(load) = self.load.take() {
            let _ = load.abort(&mut self.conn, why);
            let _ = self.simple("ROLLBACK", event);
        }
    }

    /// The backfill (a snapshot) is complete: its position becomes the target's progress, so
    /// it is not applied again.
    pub(crate) fn backfill_complete(
        &mut self,
        event: &DatabaseEvent,
    ) -> Result<Applied, ApplyError> {
        if self.open.is_some() || self.load.is_some() {
            return Err(invalid(
                event,
                "a BackfillComplete inside a transaction or a table",
            ));
        }
        self.flush()?;
        if event.position <= self.progress {
            return Ok(Applied::Skipped);
        }
        let statement = self.prepared(RECORD_PROGRESS, event)?;
        let record = self.record_item(statement, event);
        self.group.items = vec![
            control(&self.begin, event),
            record,
            control(&self.commit, event),
        ];
        self.group.members.push(Member {
            position: event.position,
            commit_time_us: event.timestamp_us,
            end: 3,
            changes: 0,
        });
        self.flush()?;
        // Not a source transaction: counted as progress only.
        self.totals.committed -= 1;
        Ok(Applied::Committed)
    }
}
