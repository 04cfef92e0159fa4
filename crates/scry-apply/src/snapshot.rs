//! Snapshot tables loaded with `COPY ... FROM STDIN (FORMAT binary)`: the rows of a
//! `SnapshotBegin` ... `SnapshotEnd` run written as COPY BINARY tuples, straight from the
//! values' bytes.

use std::pin::Pin;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use scry_types::{DatabaseEvent, RelationMeta};
use tokio_postgres::{Client, CopyInSink};

use crate::sql::quote;

/// COPY BINARY's signature, flags and header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Data is sent to the server in pieces of about this size.
const PIECE: usize = 256 * 1024;

/// One table being loaded.
pub(crate) struct Load {
    sink: Pin<Box<CopyInSink<Bytes>>>,
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
    pub(crate) async fn start(
        client: &Client,
        event: &DatabaseEvent,
        relation: &RelationMeta,
    ) -> Result<Self, tokio_postgres::Error> {
        let (table, sql, width) = statement(event, relation);
        // DELETE, not TRUNCATE: TRUNCATE refuses a table other tables refer to, and under
        // session_replication_role = replica no foreign-key trigger fires for the DELETE.
        client
            .batch_execute(&format!("DELETE FROM ONLY {table}"))
            .await?;
        let sink = client.copy_in::<_, Bytes>(&sql).await?;
        let mut buf = BytesMut::with_capacity(PIECE + 1024);
        buf.put_slice(HEADER);
        Ok(Self {
            sink: Box::pin(sink),
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
    pub(crate) async fn send(&mut self) -> Result<(), tokio_postgres::Error> {
        let piece = self.buf.split().freeze();
        self.sink.send(piece).await
    }

    /// Ends the COPY (the transaction stays open for the caller to commit); the rows copied.
    pub(crate) async fn finish(mut self) -> Result<u64, tokio_postgres::Error> {
        self.buf.put_i16(-1);
        self.send().await?;
        self.sink.as_mut().finish().await
    }
}
