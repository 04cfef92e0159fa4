//! Snapshot tables loaded with `COPY ... FROM STDIN (FORMAT binary)`: the rows of a
//! `SnapshotBegin` ... `SnapshotEnd` run written as COPY BINARY tuples, straight from the
//! values' bytes.

use bytes::{BufMut, BytesMut};
use scry_types::{DatabaseEvent, RelationMeta};

use crate::sql::quote;
use scry_conn::{Conn, WireError};

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
