//! [`SnapshotLoader`]: the receiving end of a table's snapshot, its rows written into a COPY
//! BINARY stream (`COPY ... FROM STDIN (FORMAT binary)`) a batch at a time.

use std::borrow::Cow;
use std::io::Write;

use scry_codec::{BatchView, EventView};
use scry_types::{OperationType, RelationMeta};

use super::SnapshotError;
use crate::copy::{CopyError, CopyIoError, CopySink};

/// Writes the `SnapshotRow` events of one table, read in place from received batches, as
/// the tuples of a COPY BINARY stream onto `W` (for example the `postgres` crate's
/// `copy_in` writer). Value bytes go from the batch's buffer to the stream without an
/// owned event in between (borrowed where the encoding lays them out as they are), and the
/// stream is written on every [`DEFAULT_FLUSH_BYTES`](crate::copy::DEFAULT_FLUSH_BYTES), so
/// memory holds a batch and a flush's worth, whatever the table's size.
#[derive(Debug)]
pub struct SnapshotLoader<W: Write> {
    sink: CopySink<W>,
    schema: String,
    table: String,
    columns: usize,
}

impl<W: Write> SnapshotLoader<W> {
    /// A loader of `relation`'s rows onto `out`.
    pub fn new(relation: &RelationMeta, out: W) -> Self {
        Self::with_sink(relation, CopySink::new(out))
    }

    /// The same through `sink` (its flush size).
    pub fn with_sink(relation: &RelationMeta, sink: CopySink<W>) -> Self {
        Self {
            sink,
            schema: relation.schema.clone(),
            table: relation.table.clone(),
            columns: relation.columns.len(),
        }
    }

    /// The rows written so far.
    #[must_use]
    pub fn rows_written(&self) -> u64 {
        self.sink.rows_written()
    }

    /// Writes the rows of `batch`'s `SnapshotRow` events of this table, in order; other
    /// events (begin and end, other tables) are skipped. Returns how many rows it wrote.
    /// A row without values, of the wrong value count or holding an unchanged-TOAST marker
    /// is an error naming the table and the row's index in the table; the rows before it
    /// are written.
    pub fn load_batch(&mut self, batch: &BatchView<'_>) -> Result<u64, SnapshotError> {
        let before = self.sink.rows_written();
        for event in batch.events() {
            self.load_event(&event)?;
        }
        Ok(self.sink.rows_written() - before)
    }

    /// Writes `event`'s row if it is a `SnapshotRow` of this table (true), else does
    /// nothing (false); the errors of [`load_batch`](Self::load_batch).
    pub fn load_event(&mut self, event: &EventView<'_>) -> Result<bool, SnapshotError> {
        if event.operation() != OperationType::SnapshotRow
            || event.schema() != self.schema
            || event.table() != self.table
        {
            return Ok(false);
        }
        let row_index = self.sink.rows_written();
        let Some(row) = event.new_row() else {
            return Err(self.field_count(row_index, 0));
        };
        if row.len() != self.columns {
            return Err(self.field_count(row_index, row.len()));
        }
        let mut fields: Vec<Option<Cow<'_, [u8]>>> = Vec::with_capacity(self.columns);
        for (field, value) in row.values().enumerate() {
            if value.is_unchanged() {
                return Err(self.copy_error(CopyError::UnchangedToast { field }));
            }
            fields.push(value.data());
        }
        let refs: Vec<Option<&[u8]>> = fields.iter().map(|d| d.as_deref()).collect();
        self.sink.write_row(&refs).map_err(|e| self.io_error(e))?;
        Ok(true)
    }

    /// Writes the trailer, flushes `W` and hands it back (then end the `COPY`).
    pub fn finish(self) -> Result<W, SnapshotError> {
        let name = self.name();
        self.sink.finish().map_err(|e| io_error(name, e))
    }

    fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    fn field_count(&self, row: u64, actual: usize) -> SnapshotError {
        SnapshotError::FieldCount {
            table: self.name(),
            row,
            expected: self.columns,
            actual,
        }
    }

    fn copy_error(&self, source: CopyError) -> SnapshotError {
        SnapshotError::Copy {
            table: self.name(),
            source,
        }
    }

    fn io_error(&self, e: CopyIoError) -> SnapshotError {
        io_error(self.name(), e)
    }
}

fn io_error(table: String, e: CopyIoError) -> SnapshotError {
    match e {
        CopyIoError::Copy(source) => SnapshotError::Copy { table, source },
        CopyIoError::Io(e) => SnapshotError::Io {
            table,
            kind: e.kind(),
            message: e.to_string(),
        },
    }
}
