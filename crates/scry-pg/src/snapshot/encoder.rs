//! [`SnapshotEncoder`]: a table's COPY BINARY stream straight to serialized batches.

use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use scry_codec::frame::FrameEncoder;
use scry_codec::{BatchEncoder, CopyRows, CopyTuple, Encoding};
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType};

use super::{now_us, SnapshotAdapter, SnapshotError};
use crate::copy::{read_chunk, CopyDecoder, DEFAULT_CHUNK_BYTES};

/// Encodes table snapshots straight from their COPY BINARY streams into serialized
/// batches, without making an event per row: each tuple is handed to a [`BatchEncoder`] as
/// it is read (in the compact encoding its fields are the row's bytes as they are).
///
/// The batches are byte for byte those that [`SnapshotAdapter::run_stream`] makes through a
/// `BatchBuilder` with the same limits, source ID and numbering, serialized with
/// `serialize_batch_with`, the last partial batch of each table included — but for the
/// row events' timestamp: unless the adapter sets one
/// ([`SnapshotAdapter::timestamp_us`]), every row event of a table carries the time its
/// encoding started (the adapter stamps each event when it makes it).
///
/// Memory is bounded by the largest tuple, one read chunk and one batch, whatever the size
/// of the table.
#[derive(Debug)]
pub struct SnapshotEncoder {
    encoder: BatchEncoder,
    frames: FrameEncoder,
    batching: Batching,
    chunk_bytes: usize,
    max_tuple_bytes: usize,
    /// The buffer chunks are read into, from table to table.
    buf: BytesMut,
    /// The events and batch fields of the table being written, kept from table to table
    /// so that their strings (a wide table has many column names) are copied into, not
    /// allocated anew.
    scratch: Scratch,
}

/// See [`SnapshotEncoder::scratch`].
#[derive(Debug, Default)]
struct Scratch {
    /// The begin and end events.
    begin: Option<DatabaseEvent>,
    end: Option<DatabaseEvent>,
    /// The row events' event and column types, made into a `CopyRows` for the table.
    row_event: Option<DatabaseEvent>,
    types: Vec<(scry_types::TypeTag, u32)>,
    /// The batch fields but for the events; `relations` holds the table's in the first
    /// batch of a table, `relation` is where it waits between tables.
    rest: DatabaseEventBatch,
    relation: Option<scry_types::RelationMeta>,
}

/// An event to fill in.
fn blank() -> DatabaseEvent {
    DatabaseEvent::new(OperationType::SnapshotRow, String::new(), String::new())
}

/// `BatchBuilder`'s limits and numbering.
#[derive(Debug, Clone)]
struct Batching {
    max_events: usize,
    max_bytes: usize,
    source_id: Option<String>,
    batch_seq: u64,
}

/// What the snapshot of one table wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableSummary {
    /// Rows read (and written).
    pub rows: u64,
    /// Batches written.
    pub batches: u64,
    /// Bytes of COPY input read.
    pub copy_bytes: u64,
    /// Bytes written: serialized batches, or frames.
    pub encoded_bytes: u64,
}

impl SnapshotEncoder {
    /// An encoder writing `encoding`, with `BatchBuilder`'s default limits (1000 events,
    /// 1,000,000 estimated bytes a batch), no source ID, numbering from 0, reading
    /// [`DEFAULT_CHUNK_BYTES`] at a time.
    #[must_use]
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoder: BatchEncoder::new(encoding),
            frames: FrameEncoder::new(),
            batching: Batching {
                max_events: 1000,
                max_bytes: 1_000_000,
                source_id: None,
                batch_seq: 0,
            },
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            max_tuple_bytes: crate::copy::DEFAULT_MAX_TUPLE_BYTES,
            buf: BytesMut::new(),
            scratch: Scratch::default(),
        }
    }

    /// The most events a batch holds (as `BatchBuilder::max_events`).
    #[must_use]
    pub fn max_events(mut self, max: usize) -> Self {
        self.batching.max_events = max;
        self
    }

    /// The most estimated bytes a batch holds (as `BatchBuilder::max_bytes`).
    #[must_use]
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.batching.max_bytes = max;
        self
    }

    /// The source ID every batch carries.
    #[must_use]
    pub fn source_id(mut self, id: impl Into<String>) -> Self {
        self.batching.source_id = Some(id.into());
        self
    }

    /// The `batch_seq` of the next batch.
    #[must_use]
    pub fn batch_seq(mut self, seq: u64) -> Self {
        self.batching.batch_seq = seq;
        self
    }

    /// How many bytes to read from the COPY stream at a time (at least 1).
    #[must_use]
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// The longest tuple accepted (see [`CopyDecoder::with_max_tuple_bytes`]).
    #[must_use]
    pub fn max_tuple_bytes(mut self, max: usize) -> Self {
        self.max_tuple_bytes = max;
        self
    }

    /// The encoding written.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoder.encoding()
    }

    /// The `batch_seq` the next batch will carry.
    #[must_use]
    pub fn next_batch_seq(&self) -> u64 {
        self.batching.batch_seq
    }

    /// Numbers the batches from `seq` on (for example to give each table of a parallel
    /// snapshot its own range).
    pub fn set_next_batch_seq(&mut self, seq: u64) {
        self.batching.batch_seq = seq;
    }

    /// Encodes the snapshot of `adapter`'s table, its COPY stream read from `source`, and
    /// hands each serialized batch to `emit` as soon as it is full (the relation rides in
    /// the first). An error stops it: a malformed stream or a tuple of the wrong field count
    /// (naming the table, row and offset), a failing `source` or `emit`; the batches emitted
    /// before it hold every row before the bad one.
    pub fn encode_table<R: Read>(
        &mut self,
        adapter: &SnapshotAdapter,
        source: R,
        emit: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<TableSummary, SnapshotError> {
        let mut chunks = ReadChunks::new(source, self.chunk_bytes);
        self.run(adapter, &mut chunks, batches(adapter, emit), &mut |_| {})
    }

    /// As [`encode_table`](Self::encode_table), each batch written to `out` as one frame
    /// (`frame`'s format; frame indices and offsets count on across tables).
    pub fn write_table<R: Read, W: Write>(
        &mut self,
        adapter: &SnapshotAdapter,
        source: R,
        out: &mut W,
    ) -> Result<TableSummary, SnapshotError> {
        self.write_table_with_progress(adapter, source, out, &mut |_| {})
    }

    /// As [`write_table`](Self::write_table), calling `progress` after each frame written
    /// with the table's summary so far (its `rows`, `batches` and `encoded_bytes`;
    /// `copy_bytes` is known only in the summary returned at the end).
    pub fn write_table_with_progress<R: Read, W: Write>(
        &mut self,
        adapter: &SnapshotAdapter,
        source: R,
        out: &mut W,
        progress: &mut dyn FnMut(&TableSummary),
    ) -> Result<TableSummary, SnapshotError> {
        let mut chunks = ReadChunks::new(source, self.chunk_bytes);
        self.run(adapter, &mut chunks, frames(adapter, out), progress)
    }

    /// As [`write_table`](Self::write_table), the COPY stream given as the chunks it
    /// arrived in (any sizes; for example a `tokio-postgres` `copy_out` stream's, or one
    /// chunk holding the whole stream). Tuples wholly inside a chunk are encoded from where
    /// they lie, so nothing is copied on the way in.
    pub fn write_table_chunks<I, W>(
        &mut self,
        adapter: &SnapshotAdapter,
        chunks: I,
        out: &mut W,
    ) -> Result<TableSummary, SnapshotError>
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
        W: Write,
    {
        let mut chunks = chunks.into_iter();
        self.run(adapter, &mut chunks, frames(adapter, out), &mut |_| {})
    }

    /// As [`write_table`](Self::write_table), the frames appended to `out` itself: each
    /// batch is written where its frame ends up, so no byte is copied a second time (for a
    /// producer that gathers frames in memory, or hands them on as one buffer). On error
    /// `out` holds what it held and every whole frame written before the error, never part
    /// of one.
    pub fn append_table<R: Read>(
        &mut self,
        adapter: &SnapshotAdapter,
        source: R,
        out: &mut Vec<u8>,
    ) -> Result<TableSummary, SnapshotError> {
        let mut chunks = ReadChunks::new(source, self.chunk_bytes);
        self.append(adapter, &mut chunks, out)
    }

    /// As [`append_table`](Self::append_table), the COPY stream given as the chunks it
    /// arrived in (see [`write_table_chunks`](Self::write_table_chunks)).
    pub fn append_table_chunks<I>(
        &mut self,
        adapter: &SnapshotAdapter,
        chunks: I,
        out: &mut Vec<u8>,
    ) -> Result<TableSummary, SnapshotError>
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
    {
        let mut chunks = chunks.into_iter();
        self.append(adapter, &mut chunks, out)
    }

    /// The frames of one table left in place in `out`, which the batch encoder writes into
    /// for the while.
    fn append(
        &mut self,
        adapter: &SnapshotAdapter,
        source: &mut dyn Chunks,
        out: &mut Vec<u8>,
    ) -> Result<TableSummary, SnapshotError> {
        self.encoder.keep_frames(std::mem::take(out));
        let end = |encoder: &mut BatchEncoder, frames: &mut FrameEncoder, rest: &_| {
            let frame = encoder
                .finish_frame(rest, frames)
                .map_err(|e| adapter.frame_error(e))?;
            Ok(frame.len())
        };
        let result = self.run(adapter, source, end, &mut |_| {});
        *out = self.encoder.take_frames();
        result
    }

    /// The snapshot of one table, its COPY stream in the chunks `source` yields; `end` ends
    /// a batch given its other fields and says how many bytes it wrote; `progress` hears of
    /// each batch ended.
    fn run(
        &mut self,
        adapter: &SnapshotAdapter,
        source: &mut dyn Chunks,
        mut end: impl FnMut(
            &mut BatchEncoder,
            &mut FrameEncoder,
            &DatabaseEventBatch,
        ) -> Result<usize, SnapshotError>,
        progress: &mut dyn FnMut(&TableSummary),
    ) -> Result<TableSummary, SnapshotError> {
        let scratch = &mut self.scratch;
        let now = now_us();
        let begin = scratch.begin.get_or_insert_with(blank);
        // The relation and names the last table's events and batch held, copied into.
        if let Some(relation) = scratch.relation.take() {
            begin.relation_meta = Some(relation);
        }
        adapter.fill_event(begin, OperationType::SnapshotBegin, now, true, true);
        scratch.rest.relations.clear();
        let mut table = Table {
            progress,
            encoder: &mut self.encoder,
            frames: &mut self.frames,
            batching: &mut self.batching,
            rest: &mut scratch.rest,
            relation: &mut scratch.relation,
            current_bytes: 0,
            summary: TableSummary::default(),
        };
        table.event(begin, adapter, &mut end)?;
        // Once written, the begin event's relation is the first batch's, and its column
        // names the row events'.
        table.rest.relations.extend(begin.relation_meta.take());
        let mut row_event = scratch.row_event.take().unwrap_or_else(blank);
        adapter.fill_event(
            &mut row_event,
            OperationType::SnapshotRow,
            now,
            false,
            false,
        );
        if adapter.names_on_rows {
            row_event.columns = std::mem::take(&mut begin.columns);
        }
        let mut types = std::mem::take(&mut scratch.types);
        types.clear();
        types.extend_from_slice(&adapter.types);
        let rows = CopyRows::new(row_event, types);
        let mut decoder = CopyDecoder::new().with_max_tuple_bytes(self.max_tuple_bytes);
        let mut eof = false;
        loop {
            // The whole tuples at hand, checked once as they are written.
            if let Some(at_hand) = decoder.rows_at_hand() {
                let (mut count, mut at) = (0, 0);
                let mut result = Ok(());
                while let Some(tuple) = at_hand.get(at..).and_then(|b| rows.first_tuple(b)) {
                    count += 1;
                    at += tuple.len();
                    result = table.row_tuple(&rows, &tuple, adapter, &mut end);
                    if result.is_err() {
                        break;
                    }
                }
                decoder.skip_rows(count, at);
                result?;
            }
            // Then one tuple the general way: split across chunks, of the wrong field
            // count, malformed, or the trailer.
            let step = if eof {
                decoder.decode_tuple_eof()
            } else {
                decoder.decode_tuple()
            };
            match step {
                Ok(Some(tuple)) => table.row(&rows, &tuple, adapter, &mut end)?,
                Ok(None) if eof => break,
                Ok(None) => match source.next_chunk(&mut self.buf) {
                    Ok(Some(chunk)) => {
                        decoder.push(chunk);
                        decoder
                            .read_header_at_hand()
                            .map_err(|e| adapter.copy_error(e))?;
                    }
                    Ok(None) => eof = true,
                    Err(e) => return Err(adapter.io_error(&e)),
                },
                Err(e) => return Err(adapter.copy_error(e)),
            }
        }
        let end_event = scratch.end.get_or_insert_with(blank);
        adapter.fill_event(end_event, OperationType::SnapshotEnd, now, false, false);
        table.event(end_event, adapter, &mut end)?;
        if !table.encoder.is_empty() {
            table.flush(&mut end)?;
        }
        table.summary.copy_bytes = decoder.offset();
        let summary = table.summary;
        (scratch.row_event, scratch.types) = {
            let (mut event, types) = rows.into_parts();
            if adapter.names_on_rows {
                begin.columns = std::mem::take(&mut event.columns);
            }
            (Some(event), types)
        };
        Ok(summary)
    }
}

/// Ends a batch as [`SnapshotEncoder::encode_table`] does.
fn batches<'a>(
    adapter: &'a SnapshotAdapter,
    mut emit: impl FnMut(&[u8]) -> io::Result<()> + 'a,
) -> impl FnMut(
    &mut BatchEncoder,
    &mut FrameEncoder,
    &DatabaseEventBatch,
) -> Result<usize, SnapshotError>
       + 'a {
    move |encoder, _, rest| {
        let bytes = encoder.finish(rest).map_err(|e| adapter.encode_error(e))?;
        emit(bytes).map_err(|e| adapter.io_error(&e))?;
        Ok(bytes.len())
    }
}

/// Ends a batch as [`SnapshotEncoder::write_table`] does.
fn frames<'a, W: Write>(
    adapter: &'a SnapshotAdapter,
    out: &'a mut W,
) -> impl FnMut(
    &mut BatchEncoder,
    &mut FrameEncoder,
    &DatabaseEventBatch,
) -> Result<usize, SnapshotError>
       + 'a {
    move |encoder, frames, rest| {
        let frame = encoder
            .finish_frame(rest, frames)
            .map_err(|e| adapter.frame_error(e))?;
        out.write_all(frame).map_err(|e| adapter.io_error(&e))?;
        Ok(frame.len())
    }
}

/// Where a table's COPY stream comes from: its next chunk, `None` at its end.
trait Chunks {
    fn next_chunk(&mut self, buf: &mut BytesMut) -> io::Result<Option<Bytes>>;
}

/// Chunks given as they are.
impl<I: Iterator<Item = io::Result<Bytes>>> Chunks for I {
    fn next_chunk(&mut self, _: &mut BytesMut) -> io::Result<Option<Bytes>> {
        self.next().transpose()
    }
}

/// Chunks read from a [`Read`] into the encoder's buffer.
struct ReadChunks<R> {
    source: R,
    chunk_bytes: usize,
    ended: bool,
}

impl<R> ReadChunks<R> {
    fn new(source: R, chunk_bytes: usize) -> Self {
        Self {
            source,
            chunk_bytes,
            ended: false,
        }
    }
}

impl<R: Read> Chunks for ReadChunks<R> {
    fn next_chunk(&mut self, buf: &mut BytesMut) -> io::Result<Option<Bytes>> {
        if self.ended {
            return Ok(None);
        }
        let (chunk, ended) = read_chunk(&mut self.source, buf, self.chunk_bytes)?;
        self.ended = ended;
        Ok(chunk)
    }
}

/// One table's snapshot being written.
struct Table<'e> {
    encoder: &'e mut BatchEncoder,
    frames: &'e mut FrameEncoder,
    batching: &'e mut Batching,
    /// The next batch's fields but for its events (its relations the table's in the first
    /// batch, none after).
    rest: &'e mut DatabaseEventBatch,
    /// Where the table's relation goes once written.
    relation: &'e mut Option<scry_types::RelationMeta>,
    /// The estimated size of the batch's events (`DatabaseEvent::size_bytes`).
    current_bytes: usize,
    summary: TableSummary,
    /// Hears of each batch ended.
    progress: &'e mut dyn FnMut(&TableSummary),
}

/// Ends a batch: see [`SnapshotEncoder::run`].
type End<'f> = dyn FnMut(&mut BatchEncoder, &mut FrameEncoder, &DatabaseEventBatch) -> Result<usize, SnapshotError>
    + 'f;

impl Table<'_> {
    /// Ends the batch first if it is full for an event of `size` estimated bytes
    /// (`BatchBuilder::add_event`'s rule), then counts the event in.
    fn make_room(&mut self, size: usize, end: &mut End<'_>) -> Result<(), SnapshotError> {
        let full = !self.encoder.is_empty()
            && (self.encoder.len() >= self.batching.max_events
                || self.current_bytes.saturating_add(size) > self.batching.max_bytes);
        if full {
            self.flush(end)?;
        }
        self.current_bytes = self.current_bytes.saturating_add(size);
        Ok(())
    }

    fn event(
        &mut self,
        e: &DatabaseEvent,
        adapter: &SnapshotAdapter,
        end: &mut End<'_>,
    ) -> Result<(), SnapshotError> {
        self.make_room(e.size_bytes(), end)?;
        self.encoder.push(e).map_err(|e| adapter.encode_error(e))
    }

    /// A tuple the decoder cut: checked here.
    fn row(
        &mut self,
        rows: &CopyRows,
        tuple: &[u8],
        adapter: &SnapshotAdapter,
        end: &mut End<'_>,
    ) -> Result<(), SnapshotError> {
        let fields = tuple
            .get(..2)
            .map_or(0, |c| i16::from_be_bytes([c[0], c[1]]).max(0) as usize);
        if fields != rows.types().len() {
            return Err(SnapshotError::FieldCount {
                table: adapter.relation().qualified_name(),
                row: self.summary.rows,
                expected: rows.types().len(),
                actual: fields,
            });
        }
        let tuple = CopyTuple::new(tuple, fields).map_err(|e| adapter.encode_error(e))?;
        self.row_tuple(rows, &tuple, adapter, end)
    }

    #[inline]
    fn row_tuple(
        &mut self,
        rows: &CopyRows,
        tuple: &CopyTuple<'_>,
        adapter: &SnapshotAdapter,
        end: &mut End<'_>,
    ) -> Result<(), SnapshotError> {
        self.make_room(rows.event_size(tuple.as_bytes()), end)?;
        self.encoder
            .push_copy_tuple(rows, tuple)
            .map_err(|e| adapter.encode_error(e))?;
        self.summary.rows += 1;
        Ok(())
    }

    /// Ends the batch being written.
    fn flush(&mut self, end: &mut End<'_>) -> Result<(), SnapshotError> {
        self.rest.source_id.clone_from(&self.batching.source_id);
        self.rest.batch_seq = self.batching.batch_seq;
        let written = end(self.encoder, self.frames, self.rest)?;
        // The relation rides in the first batch only.
        if let Some(relation) = self.rest.relations.pop() {
            *self.relation = Some(relation);
        }
        self.batching.batch_seq = self.batching.batch_seq.wrapping_add(1);
        self.current_bytes = 0;
        self.summary.batches += 1;
        self.summary.encoded_bytes += written as u64;
        (self.progress)(&self.summary);
        Ok(())
    }
}
