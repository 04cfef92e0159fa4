//! A table's COPY BINARY stream to snapshot events and batches, and back.
//!
//! [`SnapshotAdapter::run`] turns `COPY table TO STDOUT (FORMAT binary)` output plus the
//! table's [`RelationMeta`] into a `SnapshotBegin` event (carrying the relation), one
//! `SnapshotRow` per tuple (values are slices of the COPY buffer, not copies) and a
//! `SnapshotEnd`, fed through a [`BatchBuilder`]. [`snapshot_rows_to_copy`] writes the rows of
//! such events back into a COPY BINARY stream for `COPY ... FROM STDIN (FORMAT binary)`.

use bytes::Bytes;
use scry_builder::BatchBuilder;
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, RelationMeta, TypeTag};

use std::io::{self, Read};

use crate::copy::{CopyError, CopyIoError, CopyReader, CopyRow, CopyStream, CopyWriter};
use crate::oid::type_tag_from_oid;

mod encoder;
mod loader;

pub use encoder::{SnapshotEncoder, TableSummary};
pub use loader::SnapshotLoader;

/// The `ddl_object_type` of a Ddl event that carries, in a snapshot stream before a table's
/// `SnapshotBegin`, the statements that make the table (and the types it needs) on a target:
/// what `scry load --create` runs. An applier of changes passes such an event over.
pub const TABLE_SCHEMA: &str = "snapshot table schema";

/// The snapshot stream is malformed or does not fit its relation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The COPY BINARY stream is malformed.
    #[error("{table}: {source}")]
    Copy {
        /// `schema.table`.
        table: String,
        /// The stream error.
        source: CopyError,
    },
    /// Reading the COPY stream, or writing the batches, failed.
    #[error("{table}: {kind}: {message}")]
    Io {
        /// `schema.table`.
        table: String,
        /// What kind of failure.
        kind: io::ErrorKind,
        /// The error's text.
        message: String,
    },
    /// A batch could not be serialized (a value of 2 GiB or more in the compact encoding).
    #[error("{table}: {source}")]
    Encode {
        /// `schema.table`.
        table: String,
        /// The encoder's error.
        source: scry_codec::CodecError,
    },
    /// A batch could not be framed (longer than a frame may be).
    #[error("{table}: {source}")]
    Frame {
        /// `schema.table`.
        table: String,
        /// The framing error.
        source: scry_codec::frame::FrameError,
    },
    /// A tuple has a different number of fields than the relation has columns.
    #[error("{table}: row {row} has {actual} fields, the relation has {expected} columns")]
    FieldCount {
        /// `schema.table`.
        table: String,
        /// The row's index.
        row: u64,
        /// The relation's column count.
        expected: usize,
        /// The tuple's field count.
        actual: usize,
    },
}

/// Makes the snapshot events of one table.
#[derive(Debug, Clone)]
pub struct SnapshotAdapter {
    relation: RelationMeta,
    /// Each column's type tag and OID, found once.
    types: Vec<(TypeTag, u32)>,
    column_names: Vec<String>,
    timestamp_us: Option<u64>,
    position: u64,
    transaction_id: u64,
    names_on_rows: bool,
}

impl SnapshotAdapter {
    /// An adapter for `relation`. Row events carry the column names, and the current time.
    #[must_use]
    pub fn new(relation: RelationMeta) -> Self {
        let types = relation
            .columns
            .iter()
            .map(|c| (type_tag_from_oid(c.type_oid), c.type_oid))
            .collect();
        let column_names = relation.columns.iter().map(|c| c.name.clone()).collect();
        Self {
            relation,
            types,
            column_names,
            timestamp_us: None,
            position: 0,
            transaction_id: 0,
            names_on_rows: true,
        }
    }

    /// Stamps every event with this time instead of the current time.
    #[must_use]
    pub fn timestamp_us(mut self, ts: u64) -> Self {
        self.timestamp_us = Some(ts);
        self
    }

    /// The snapshot's LSN, carried as every event's `position`.
    #[must_use]
    pub fn position(mut self, lsn: u64) -> Self {
        self.position = lsn;
        self
    }

    /// The snapshot transaction's ID, carried by every event.
    #[must_use]
    pub fn transaction_id(mut self, xid: u64) -> Self {
        self.transaction_id = xid;
        self
    }

    /// Whether every `SnapshotRow` carries the column names (default true); the
    /// `SnapshotBegin` event always does.
    #[must_use]
    pub fn column_names_on_rows(mut self, on: bool) -> Self {
        self.names_on_rows = on;
        self
    }

    /// The relation.
    #[must_use]
    pub fn relation(&self) -> &RelationMeta {
        &self.relation
    }

    /// This table's event of `op` (see [`fill_event`](Self::fill_event)), stamped now
    /// unless the adapter sets a time.
    fn event(&self, op: OperationType, columns: bool, relation: bool) -> DatabaseEvent {
        let mut e = DatabaseEvent::new(op, String::new(), String::new());
        self.fill_event(&mut e, op, now_us(), columns, relation);
        e
    }

    /// The `SnapshotBegin` event: the relation metadata and the column names.
    #[must_use]
    pub fn begin_event(&self) -> DatabaseEvent {
        self.event(OperationType::SnapshotBegin, true, true)
    }

    /// Makes `e` this table's event of `op` (every snapshot event is made here): `columns`
    /// with the column names, `relation` with the relation, copied into the strings `e`
    /// holds; stamped `now` unless the adapter sets a time.
    pub(crate) fn fill_event(
        &self,
        e: &mut DatabaseEvent,
        op: OperationType,
        now: u64,
        columns: bool,
        relation: bool,
    ) {
        e.event_id = None;
        e.timestamp_us = self.timestamp_us.unwrap_or(now);
        e.operation = op;
        e.schema.clone_from(&self.relation.schema);
        e.table.clone_from(&self.relation.table);
        e.position = self.position;
        e.transaction_id = self.transaction_id;
        e.new_row = None;
        e.old_row = None;
        if columns {
            e.columns.clone_from(&self.column_names);
        } else {
            e.columns.clear();
        }
        match (&mut e.relation_meta, relation) {
            (Some(held), true) => held.clone_from(&self.relation),
            (slot, true) => *slot = Some(self.relation.clone()),
            (slot, false) => *slot = None,
        }
        e.ddl_sql = None;
        e.ddl_object_type = None;
    }

    /// The `SnapshotEnd` event.
    #[must_use]
    pub fn end_event(&self) -> DatabaseEvent {
        self.event(OperationType::SnapshotEnd, false, false)
    }

    /// The `SnapshotRow` event of one tuple (row number `index`, for errors).
    pub fn row_event(&self, row: CopyRow, index: u64) -> Result<DatabaseEvent, SnapshotError> {
        if row.len() != self.types.len() {
            return Err(SnapshotError::FieldCount {
                table: self.relation.qualified_name(),
                row: index,
                expected: self.types.len(),
                actual: row.len(),
            });
        }
        let mut e = self.event(OperationType::SnapshotRow, self.names_on_rows, false);
        let types = &self.types;
        e.new_row =
            Some(row.into_row_of(|i| types.get(i).copied().unwrap_or((type_tag_from_oid(0), 0))));
        Ok(e)
    }

    fn copy_error(&self, source: CopyError) -> SnapshotError {
        SnapshotError::Copy {
            table: self.relation.qualified_name(),
            source,
        }
    }

    fn encode_error(&self, source: scry_codec::CodecError) -> SnapshotError {
        SnapshotError::Encode {
            table: self.relation.qualified_name(),
            source,
        }
    }

    fn frame_error(&self, source: scry_codec::frame::FrameError) -> SnapshotError {
        SnapshotError::Frame {
            table: self.relation.qualified_name(),
            source,
        }
    }

    fn io_error(&self, e: &io::Error) -> SnapshotError {
        SnapshotError::Io {
            table: self.relation.qualified_name(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    /// Begin, one row event per tuple of `rows`, end; stops after the first error.
    fn events_of<'s>(
        &'s self,
        rows: impl Iterator<Item = Result<CopyRow, SnapshotError>> + 's,
    ) -> impl Iterator<Item = Result<DatabaseEvent, SnapshotError>> + 's {
        let rows = rows.enumerate().map(move |(i, row)| {
            row.and_then(|row| self.row_event(row, u64::try_from(i).unwrap_or(u64::MAX)))
        });
        let begin = std::iter::once(Ok(self.begin_event()));
        let end = std::iter::once_with(|| Ok(self.end_event()));
        begin.chain(SnapshotTail {
            rows,
            end: Some(end),
            failed: false,
        })
    }

    /// Every event of the snapshot of `copy`, in order: begin, one row per tuple, end.
    /// The iterator stops after the first error.
    pub fn events(
        &self,
        copy: Bytes,
    ) -> Result<impl Iterator<Item = Result<DatabaseEvent, SnapshotError>> + '_, SnapshotError>
    {
        let reader = CopyReader::new(copy).map_err(|e| self.copy_error(e))?;
        Ok(self.events_of(reader.map(|row| row.map_err(|e| self.copy_error(e)))))
    }

    /// The same, the COPY stream read from `source` a chunk at a time ([`CopyStream`]):
    /// memory bounded by the largest tuple plus a chunk, and by the events the caller keeps.
    /// A bad header is the error after the begin event.
    pub fn stream_events<'s, R: Read + 's>(
        &'s self,
        source: R,
    ) -> impl Iterator<Item = Result<DatabaseEvent, SnapshotError>> + 's {
        let rows = CopyStream::new(source).map(|row| {
            row.map_err(|e| match e {
                CopyIoError::Copy(e) => self.copy_error(e),
                CopyIoError::Io(e) => self.io_error(&e),
            })
        });
        self.events_of(rows)
    }

    /// Feeds the snapshot of `copy` through `batches` (the relation is added first) and
    /// returns the batches that filled up; the last, partial batch stays in `batches` for
    /// [`BatchBuilder::finish`]. On error nothing after the bad tuple is added.
    pub fn run(
        &self,
        copy: Bytes,
        batches: &mut BatchBuilder,
    ) -> Result<Vec<DatabaseEventBatch>, SnapshotError> {
        batches.add_relation(self.relation.clone());
        let mut full = Vec::new();
        for event in self.events(copy)? {
            if let Some(batch) = batches.add_event(event?) {
                full.push(batch);
            }
        }
        Ok(full)
    }

    /// As [`run`](Self::run), the COPY stream read from `source` a chunk at a time and each
    /// batch handed to `emit` as soon as it fills up (for example to write it as a frame),
    /// so that no more than one batch is held, whatever the table's size. The last, partial
    /// batch stays in `batches`. An `emit` error stops the run.
    pub fn run_stream<R: Read>(
        &self,
        source: R,
        batches: &mut BatchBuilder,
        mut emit: impl FnMut(DatabaseEventBatch) -> io::Result<()>,
    ) -> Result<(), SnapshotError> {
        batches.add_relation(self.relation.clone());
        for event in self.stream_events(source) {
            if let Some(batch) = batches.add_event(event?) {
                emit(batch).map_err(|e| self.io_error(&e))?;
            }
        }
        Ok(())
    }
}

/// The time now, in microseconds since the Unix epoch (0 before it).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Rows, then the end event unless a row failed.
struct SnapshotTail<R, E> {
    rows: R,
    end: Option<E>,
    failed: bool,
}

impl<R, E> Iterator for SnapshotTail<R, E>
where
    R: Iterator<Item = Result<DatabaseEvent, SnapshotError>>,
    E: Iterator<Item = Result<DatabaseEvent, SnapshotError>>,
{
    type Item = Result<DatabaseEvent, SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(row) = self.rows.next() {
            self.failed = row.is_err();
            return Some(row);
        }
        self.end.as_mut().and_then(Iterator::next)
    }
}

/// The whole snapshot of `copy` as batches, with a fresh `batches` builder's limits and
/// numbering, the last partial batch included.
pub fn snapshot_batches(
    relation: RelationMeta,
    copy: Bytes,
    mut batches: BatchBuilder,
) -> Result<Vec<DatabaseEventBatch>, SnapshotError> {
    let mut out = SnapshotAdapter::new(relation).run(copy, &mut batches)?;
    out.extend(batches.finish());
    Ok(out)
}

/// Writes the new rows of the `SnapshotRow` events among `events` (other events are
/// skipped) as a COPY BINARY stream.
pub fn snapshot_rows_to_copy<'a>(
    events: impl IntoIterator<Item = &'a DatabaseEvent>,
) -> Result<Bytes, CopyError> {
    let mut w = CopyWriter::new();
    for event in events {
        if event.operation == OperationType::SnapshotRow {
            if let Some(row) = &event.new_row {
                w.write_protocol_row(row)?;
            }
        }
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid;
    use scry_types::{ColumnMeta, ColumnValue, TypeTag};

    fn relation() -> RelationMeta {
        RelationMeta::new(
            16_384,
            "public",
            "t",
            vec![
                ColumnMeta::new("id", oid::INT4).key(),
                ColumnMeta::new("name", oid::TEXT),
            ],
        )
    }

    fn copy(rows: usize) -> Bytes {
        let mut w = CopyWriter::new();
        for i in 0..rows {
            let id = i32::try_from(i).unwrap().to_be_bytes();
            let name = (i % 2 == 0).then_some(&b"x"[..]);
            w.write_row(&[Some(&id[..]), name]).unwrap();
        }
        w.finish()
    }

    #[test]
    fn begin_rows_end_in_batches() {
        let batches =
            snapshot_batches(relation(), copy(5), BatchBuilder::new().max_events(3)).unwrap();
        let ops: Vec<Vec<OperationType>> = batches
            .iter()
            .map(|b| b.events.iter().map(|e| e.operation).collect())
            .collect();
        use OperationType::{SnapshotBegin as B, SnapshotEnd as E, SnapshotRow as R};
        assert_eq!(ops, [vec![B, R, R], vec![R, R, R], vec![E]]);
        assert_eq!(batches[0].relations, [relation()]);
        assert_eq!(batches[0].events[0].relation_meta, Some(relation()));
        let row = batches[0].events[2].new_row.as_ref().unwrap();
        assert_eq!(
            row.values,
            [
                ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]),
                ColumnValue::null()
            ]
        );
        assert_eq!(batches[0].events[1].columns, ["id", "name"]);
        assert_eq!(
            batches.iter().map(|b| b.batch_seq).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn rows_go_back_to_the_same_copy_bytes() {
        let input = copy(7);
        let batches = snapshot_batches(relation(), input.clone(), BatchBuilder::new()).unwrap();
        let out = snapshot_rows_to_copy(batches.iter().flat_map(|b| &b.events)).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn stamps_and_options() {
        let a = SnapshotAdapter::new(relation())
            .timestamp_us(5)
            .position(9)
            .transaction_id(3)
            .column_names_on_rows(false);
        let events: Vec<_> = a.events(copy(1)).unwrap().map(Result::unwrap).collect();
        assert_eq!(events.len(), 3);
        assert!(events
            .iter()
            .all(|e| e.timestamp_us == 5 && e.position == 9 && e.transaction_id == 3));
        assert!(events[1].columns.is_empty());
        assert_eq!(events[0].columns, ["id", "name"]);
    }

    #[test]
    fn errors_stop_the_stream() {
        let mut w = CopyWriter::new();
        w.write_row(&[None]).unwrap();
        let r = snapshot_batches(relation(), w.finish(), BatchBuilder::new());
        assert_eq!(
            r.unwrap_err().to_string(),
            "public.t: row 0 has 1 fields, the relation has 2 columns"
        );
        let good = copy(2);
        let cut = good.slice(..good.len() - 3);
        let events: Vec<_> = SnapshotAdapter::new(relation())
            .events(cut)
            .unwrap()
            .collect();
        assert_eq!(events.len(), 3);
        assert!(matches!(
            events[2],
            Err(SnapshotError::Copy {
                source: CopyError::Truncated { .. },
                ..
            })
        ));
        assert!(matches!(
            snapshot_batches(relation(), Bytes::from_static(b"nope"), BatchBuilder::new()),
            Err(SnapshotError::Copy {
                source: CopyError::BadSignature,
                ..
            })
        ));
    }
}
