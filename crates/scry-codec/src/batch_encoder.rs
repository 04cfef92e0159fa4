//! [`BatchEncoder`]: a batch serialized an event at a time, and row events made straight
//! from COPY BINARY tuples ([`CopyRows`]).
//!
//! [`serialize_batch_with`](crate::serialize_batch_with) needs the whole batch as a value.
//! A producer that makes events one by one (a COPY snapshot, a replication stream) can
//! instead push each event into a `BatchEncoder` as it comes and end the batch when it is
//! full: the bytes are the same, and no event has to be kept. A row event whose values are a
//! COPY BINARY tuple does not even have to be built: [`BatchEncoder::push_copy_row`] takes
//! the tuple's bytes, which in the compact encoding are the row's bytes as they are.
//!
//! ```
//! use bytes::Bytes;
//! use scry_codec::{serialize_batch_with, BatchEncoder, CopyRows, Encoding};
//! use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, TypeTag};
//!
//! let rows = CopyRows::new(
//!     DatabaseEvent::new(OperationType::SnapshotRow, "public", "t"),
//!     vec![(TypeTag::Int32, 23), (TypeTag::Text, 25)],
//! );
//! // A COPY tuple: 2 fields, an int4 42 and a NULL.
//! let tuple = Bytes::from_static(&[0, 2, 0, 0, 0, 4, 0, 0, 0, 42, 0xFF, 0xFF, 0xFF, 0xFF]);
//! let mut encoder = BatchEncoder::new(Encoding::Compact);
//! encoder.push_copy_row(&rows, &tuple)?;
//! let rest = DatabaseEventBatch::new().with_batch_seq(7);
//! let bytes = encoder.finish(&rest)?.to_vec();
//!
//! let batch = DatabaseEventBatch::with_events(vec![rows.to_event(&tuple)?]).with_batch_seq(7);
//! assert_eq!(bytes, serialize_batch_with(&batch, Encoding::Compact)?);
//! # Ok::<(), scry_codec::CodecError>(())
//! ```

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use bytes::Bytes;
use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, Row, TypeTag};

use crate::copy_tuple::CopyTuple;
use crate::flex::compact::{self, Events};
use crate::flex::{Compat, CompatState, Sink};
use crate::frame::{FrameEncoder, FrameError, PayloadKind, HEADER_LEN, TRAILER_LEN};
use crate::{CodecError, Encoding};

/// The longest varint: the compact events blob's count.
const MAX_VARINT: usize = 10;
/// The room in front of compact events but for their count: a frame header and the blob's
/// 8-byte length.
const COMPACT_HEAD: usize = HEADER_LEN + 8;

/// Serializes a batch an event at a time, into bytes identical to what
/// [`serialize_batch_with`](crate::serialize_batch_with) writes for the whole batch.
///
/// Push the events with [`push`](Self::push) (or [`push_copy_row`](Self::push_copy_row)),
/// then [`finish`](Self::finish) the batch with its other fields; the encoder then starts
/// the next batch, reusing its buffer. Only the batch being written is held.
#[derive(Default)]
pub struct BatchEncoder {
    encoding: Encoding,
    buf: Vec<u8>,
    /// Where the batch being written starts in `buf`: after the frames kept there
    /// ([`keep_frames`](Self::keep_frames)), else 0.
    base: usize,
    /// True while `buf` is a caller's buffer that keeps the frames ended.
    keeping: bool,
    /// The encoder's own buffer while it writes into a caller's.
    own: Vec<u8>,
    /// The length of the last compact batch's count (0 before one).
    last_count_len: usize,
    /// The compact writer of the batch before, reset, for the next batch to reuse what it
    /// allocated.
    spare: Events,
    writer: Option<Writer>,
    events: usize,
    /// The values of a COPY row, for the compat writer.
    row: Row,
}

/// The writer of the batch being written. (One per encoder, which lives long: its size does
/// not matter, and boxing the compat state would allocate for every event.)
#[allow(clippy::large_enum_variant)]
enum Writer {
    /// Its FlexBuffer starts after `HEADER_LEN` bytes; `key` is the address of the events'
    /// key and `mark` where the events' stack starts.
    Compat {
        /// Out only while an event is written.
        state: Option<CompatState>,
        key: usize,
        mark: usize,
    },
    /// Its events start at `events_at`, after room for a frame header, the blob's 8-byte
    /// length and a count: the longest, or (while frames are kept, when the room in front
    /// is not skipped but would stay behind) as long as the last batch's.
    Compact { events: Events, events_at: usize },
}

impl std::fmt::Debug for BatchEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchEncoder")
            .field("encoding", &self.encoding)
            .field("events", &self.events)
            .field("encoded_len", &self.encoded_len())
            .finish_non_exhaustive()
    }
}

impl BatchEncoder {
    /// An encoder of batches in `encoding`.
    #[must_use]
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoding,
            ..Self::default()
        }
    }

    /// The encoding it writes.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The number of events pushed into the batch being written.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events
    }

    /// True when no event has been pushed into the batch being written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The bytes written for the batch so far (about its size without its other fields).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match self.writer {
            None => 0,
            Some(Writer::Compat { .. }) => self.buf.len().saturating_sub(self.base + HEADER_LEN),
            Some(Writer::Compact { events_at, .. }) => self.buf.len().saturating_sub(events_at),
        }
    }

    /// Appends `event` to the batch. Fails only as
    /// [`serialize_batch_into`](crate::serialize_batch_into) says (a value of 2 GiB or more
    /// in the compact encoding), and then the batch is as it was.
    pub fn push(&mut self, event: &DatabaseEvent) -> Result<(), CodecError> {
        self.push_with_row(event, None)
    }

    /// `event`, with `row` in place of its new row when given.
    fn push_with_row(
        &mut self,
        event: &DatabaseEvent,
        row: Option<&Row>,
    ) -> Result<(), CodecError> {
        if self.encoding == Encoding::Compact {
            compact::check(event)?;
        }
        self.start_writer();
        let writer = self.writer.as_mut().ok_or_else(no_writer)?;
        match writer {
            Writer::Compat { state, .. } => {
                let taken = state.take().ok_or_else(no_writer)?;
                let at = self.base + HEADER_LEN;
                let mut w = Compat::resume(Sink::resume(&mut self.buf, at), taken);
                w.batch_event_with_row(event, row.or(event.new_row.as_ref()));
                *state = Some(w.into_state());
            }
            Writer::Compact { events, .. } => events.event(&mut self.buf, event)?,
        }
        self.events += 1;
        Ok(())
    }

    /// Appends the row event `rows` makes of `tuple`, a COPY BINARY tuple (an `int16` field
    /// count, then per field an `int32` length, -1 for NULL, and its bytes): in the compact
    /// encoding its fields are copied as they are; the compat encoding, whose writer takes
    /// owned values, copies the tuple once and slices it. The bytes are those of
    /// [`push`](Self::push) of [`rows.to_event(tuple)`](CopyRows::to_event).
    ///
    /// Fails with [`CodecError::Encode`] when `tuple` is not a tuple of as many fields as
    /// `rows` has columns (saying what is wrong at which byte); the batch is then as it was.
    pub fn push_copy_row(&mut self, rows: &CopyRows, tuple: &[u8]) -> Result<(), CodecError> {
        let checked = CopyTuple::new(tuple, rows.types.len())?;
        self.push_copy_tuple(rows, &checked)
    }

    /// As [`push_copy_row`](Self::push_copy_row), the tuple already checked (its fields
    /// are not looked at again). Fails only when it has not as many fields as `rows` has
    /// columns, and then the batch is as it was.
    pub fn push_copy_tuple(
        &mut self,
        rows: &CopyRows,
        tuple: &CopyTuple<'_>,
    ) -> Result<(), CodecError> {
        if tuple.fields() != rows.types.len() {
            return Err(CodecError::Encode {
                what: "COPY tuple",
                reason: format!(
                    "{} fields, the row has {} columns",
                    tuple.fields(),
                    rows.types.len()
                ),
            });
        }
        self.start_writer();
        let writer = self.writer.as_mut().ok_or_else(no_writer)?;
        if let Writer::Compact { events, .. } = writer {
            events.copy_row(&mut self.buf, rows, tuple);
            self.events += 1;
            return Ok(());
        }
        let owned = Bytes::copy_from_slice(tuple.as_bytes());
        let mut row = std::mem::take(&mut self.row);
        rows.fill(&mut row, &owned, tuple);
        let result = self.push_with_row(&rows.event, Some(&row));
        row.values.clear();
        self.row = row;
        result
    }

    /// Ends the batch: appends `batch.events` after the events pushed, then writes the
    /// batch's other fields, and returns the serialized batch. The encoder then starts the
    /// next batch. Fails only as [`push`](Self::push) does, for one of `batch.events`.
    pub fn finish(&mut self, batch: &DatabaseEventBatch) -> Result<&[u8], CodecError> {
        let start = self.end(batch)?;
        Ok(self.buf.get(start..).unwrap_or_default())
    }

    /// As [`finish`](Self::finish), the batch returned as one frame
    /// ([`PayloadKind::Batch`], this encoder's encoding) that `frames` counts, without
    /// copying the batch again. A payload longer than `frames` accepts is a
    /// [`FrameError::PayloadTooLong`] (the batch is then dropped).
    pub fn finish_frame(
        &mut self,
        batch: &DatabaseEventBatch,
        frames: &mut FrameEncoder,
    ) -> Result<&[u8], FrameError> {
        let start = self.end(batch).map_err(|source| FrameError::Encode {
            index: frames.frames_encoded(),
            offset: frames.bytes_encoded(),
            source,
        })?;
        let header_at = start - HEADER_LEN;
        let payload = self.buf.get(start..).unwrap_or_default();
        let header = frames.count(PayloadKind::Batch, self.encoding.into(), payload)?;
        let crc = crate::frame::crc32c(payload);
        self.buf.reserve(TRAILER_LEN);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        if let Some(slot) = self.buf.get_mut(header_at..start) {
            slot.copy_from_slice(&header);
        }
        if self.keeping {
            self.base = self.buf.len();
        }
        Ok(self.buf.get(header_at..).unwrap_or_default())
    }

    /// Starts a batch's writer unless one is writing.
    fn start_writer(&mut self) {
        if self.writer.is_none() {
            let room = self.count_room();
            self.writer = Some(start(
                &mut self.buf,
                self.base,
                room,
                self.encoding,
                &mut self.spare,
            ));
        }
    }

    /// The room left for the count of a compact batch's events: the longest a count can be,
    /// unless the room stays in the buffer (frames kept), when it is best as long as the
    /// count will be: as long as the last batch's, a guess that holds from one full batch
    /// to the next (else `end` moves the events).
    fn count_room(&self) -> usize {
        match (self.keeping, self.last_count_len) {
            (false, _) => MAX_VARINT,
            (true, 0) => 1,
            (true, n) => n,
        }
    }

    /// Makes `buf` the encoder's buffer, where each frame [`finish_frame`](Self::finish_frame)
    /// ends then stays, after `buf`'s bytes and the frames before it, instead of being
    /// overwritten by the next batch: a producer that gathers frames in memory gets them
    /// without copying them again. [`take_frames`](Self::take_frames) hands the buffer
    /// back. A batch being written is dropped (as is one being written into a buffer given
    /// before).
    ///
    /// ```
    /// use scry_codec::frame::{FrameEncoder, FrameReader};
    /// use scry_codec::{read_batch, BatchEncoder, Encoding};
    /// use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType};
    ///
    /// let mut encoder = BatchEncoder::new(Encoding::Compact);
    /// let mut frames = FrameEncoder::new();
    /// encoder.keep_frames(b"ahead".to_vec());
    /// for table in ["a", "b"] {
    ///     encoder.push(&DatabaseEvent::new(OperationType::Insert, "public", table))?;
    ///     encoder.finish_frame(&DatabaseEventBatch::new(), &mut frames)?;
    /// }
    /// let out = encoder.take_frames();
    /// assert_eq!(&out[..5], b"ahead");
    /// let tables: Vec<String> = FrameReader::new(&out[5..])
    ///     .map(|frame| Ok(read_batch(&frame?.payload)?.events[0].table.clone()))
    ///     .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    /// assert_eq!(tables, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keep_frames(&mut self, buf: Vec<u8>) {
        self.take_frames();
        self.own = std::mem::replace(&mut self.buf, buf);
        self.base = self.buf.len();
        self.keeping = true;
    }

    /// Hands back the buffer given to [`keep_frames`](Self::keep_frames): its bytes and
    /// every frame ended since, but not the batch being written (which is dropped). The
    /// encoder then writes into its own buffer again. Without a buffer given, an empty one.
    pub fn take_frames(&mut self) -> Vec<u8> {
        if !self.keeping {
            return Vec::new();
        }
        self.writer = None;
        self.events = 0;
        self.buf.truncate(self.base);
        self.base = 0;
        self.keeping = false;
        std::mem::replace(&mut self.buf, std::mem::take(&mut self.own))
    }

    /// Writes the end of the batch; returns where its bytes start in `buf` (with
    /// `HEADER_LEN` free bytes in front).
    fn end(&mut self, batch: &DatabaseEventBatch) -> Result<usize, CodecError> {
        for e in &batch.events {
            self.push(e)?;
        }
        let room = self.count_room();
        let writer = self.writer.take().unwrap_or_else(|| {
            start(
                &mut self.buf,
                self.base,
                room,
                self.encoding,
                &mut self.spare,
            )
        });
        self.events = 0;
        match writer {
            Writer::Compat { state, key, mark } => {
                let state = state.ok_or_else(no_writer)?;
                let at = self.base + HEADER_LEN;
                let mut w = Compat::resume(Sink::resume(&mut self.buf, at), state);
                let root = w.batch_close(key, mark, batch);
                w.finish(root);
                Ok(at)
            }
            Writer::Compact {
                events,
                mut events_at,
            } => {
                let mut count = Vec::with_capacity(MAX_VARINT);
                crate::compact::put_varint(&mut count, events.count());
                if self.keeping {
                    // The room in front stays: it must be the count's length exactly.
                    self.last_count_len = count.len();
                    let fit = self.base + COMPACT_HEAD + count.len();
                    if fit != events_at {
                        let len = self.buf.len();
                        if fit > events_at {
                            self.buf.resize(len + (fit - events_at), 0);
                        }
                        self.buf.copy_within(events_at..len, fit);
                        self.buf.truncate(fit + (len - events_at));
                        events_at = fit;
                    }
                }
                let start = events_at - count.len() - 8;
                if let Some(slot) = self.buf.get_mut(start + 8..events_at) {
                    slot.copy_from_slice(&count);
                }
                let mut sink = Sink::resume(&mut self.buf, start);
                let blob = sink.blob_written(8);
                events.finish(Compat::new(sink), blob, Some(batch));
                let mut events = events;
                events.reset();
                self.spare = events;
                Ok(start)
            }
        }
    }
}

/// Starts a batch at `base` in `buf` (cut there): its room in front (`count_room` bytes for
/// the count of compact events), and its writer.
/// `spare`, the compact writer of the batch before, is reused.
fn start(
    buf: &mut Vec<u8>,
    base: usize,
    count_room: usize,
    encoding: Encoding,
    spare: &mut Events,
) -> Writer {
    buf.truncate(base);
    match encoding {
        Encoding::Compat => {
            buf.resize(base + HEADER_LEN, 0);
            let mut w = Compat::new(Sink::new(buf, 0));
            let (key, mark) = w.batch_open();
            Writer::Compat {
                state: Some(w.into_state()),
                key,
                mark,
            }
        }
        Encoding::Compact => {
            let events_at = base + COMPACT_HEAD + count_room;
            buf.resize(events_at, 0);
            Writer::Compact {
                events: std::mem::take(spare),
                events_at,
            }
        }
    }
}

/// The compat writer's state is out only while an event is written; this is what an
/// encoder says if a write never put it back.
#[cold]
fn no_writer() -> CodecError {
    CodecError::Encode {
        what: "batch",
        reason: "the batch encoder lost its writer".to_owned(),
    }
}

/// The row events of one table made from COPY BINARY tuples: everything but the values,
/// given once.
#[derive(Debug)]
pub struct CopyRows {
    event: DatabaseEvent,
    types: Vec<(TypeTag, u32)>,
    /// Each column's likely length, for [`first_tuple`](Self::first_tuple): its type's
    /// binary length where it has one, then the length of its last value that was not
    /// NULL; -2 for none.
    guesses: Vec<AtomicI32>,
    /// [`DatabaseEvent::size_bytes`] of a row event but for its values.
    size_base: usize,
    /// Tells this apart from every other `CopyRows` (its clones but), for the compact
    /// writer's cache of what its last row found.
    pub(crate) id: u64,
    /// What the column names cost a compact reader: 0 without names, else one unit a name
    /// and a byte.
    pub(crate) names_cost: usize,
    /// The bytes of the event's event ID and DDL strings, a length byte each.
    pub(crate) strings_cost: usize,
}

/// A clone has the guesses learned so far, and is told apart from other rows as `self` is.
impl Clone for CopyRows {
    fn clone(&self) -> Self {
        Self {
            event: self.event.clone(),
            types: self.types.clone(),
            guesses: self
                .guesses
                .iter()
                .map(|w| AtomicI32::new(w.load(Ordering::Relaxed)))
                .collect(),
            size_base: self.size_base,
            id: self.id,
            names_cost: self.names_cost,
            strings_cost: self.strings_cost,
        }
    }
}

impl CopyRows {
    /// Row events like `event` (its operation, names, column names, position, time, IDs;
    /// its rows and relation metadata are dropped), whose new row is a tuple's fields, field
    /// `i` a value of type tag and OID `types[i]` (a NULL field is [`ColumnValue::null`]).
    #[must_use]
    pub fn new(mut event: DatabaseEvent, types: Vec<(TypeTag, u32)>) -> Self {
        event.new_row = None;
        event.old_row = None;
        event.relation_meta = None;
        // From 1: the compact writer's cache holds 0 before its first row.
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let size_base = event.size_bytes();
        let names_cost = if event.columns.is_empty() {
            0
        } else {
            event.columns.len() + event.columns.iter().map(String::len).sum::<usize>()
        };
        let strings_cost = [&event.event_id, &event.ddl_sql, &event.ddl_object_type]
            .into_iter()
            .flatten()
            .map(|s| 1 + s.len())
            .sum();
        // A guess only, never trusted: none yet where the type has no length of its own.
        let guesses = types
            .iter()
            .map(|&(tag, _)| {
                AtomicI32::new(
                    tag.fixed_len()
                        .and_then(|n| i32::try_from(n).ok())
                        .unwrap_or(crate::copy_tuple::NO_GUESS),
                )
            })
            .collect();
        Self {
            event,
            types,
            guesses,
            size_base,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            names_cost,
            strings_cost,
        }
    }

    /// The event and types it was made of (its rows and relation metadata dropped), for
    /// example to reuse their strings for the next table's rows.
    #[must_use]
    pub fn into_parts(self) -> (DatabaseEvent, Vec<(TypeTag, u32)>) {
        (self.event, self.types)
    }

    /// The event every row event is made from (without rows).
    #[must_use]
    pub fn event(&self) -> &DatabaseEvent {
        &self.event
    }

    /// The columns' type tags and OIDs.
    #[must_use]
    pub fn types(&self) -> &[(TypeTag, u32)] {
        &self.types
    }

    /// The tuple of these rows at the start of `buf`: [`CopyTuple::first`] with as many
    /// fields as there are columns, only faster, for it guesses each field's length and
    /// does not wait to read it where the guess holds: the length of the column's
    /// fixed-width type (an `int8` field is 8 bytes long, unless NULL), else that of the
    /// column's last value (rows of a table are much alike). The guesses only speed the
    /// walk: the result is `CopyTuple::first`'s whatever they are.
    ///
    /// ```
    /// use scry_codec::{CopyRows, CopyTuple};
    /// use scry_types::{DatabaseEvent, OperationType, TypeTag};
    ///
    /// let rows = CopyRows::new(
    ///     DatabaseEvent::new(OperationType::SnapshotRow, "public", "t"),
    ///     vec![(TypeTag::Int32, 23), (TypeTag::Text, 25)],
    /// );
    /// let stream = [0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 2, b'h', b'i', 0xFF, 0xFF];
    /// let tuple = rows.first_tuple(&stream).unwrap();
    /// assert_eq!(tuple.len(), 16);
    /// assert_eq!(Some(tuple), CopyTuple::first(&stream, 2));
    /// assert_eq!(rows.first_tuple(&stream[16..]), None); // the trailer
    /// ```
    #[inline]
    #[must_use]
    pub fn first_tuple<'t>(&self, buf: &'t [u8]) -> Option<CopyTuple<'t>> {
        CopyTuple::first_with_guesses(buf, &self.guesses)
    }

    /// [`DatabaseEvent::size_bytes`] of the event [`to_event`](Self::to_event) makes of a
    /// well-formed `tuple` (what [`BatchBuilder`]-style batching counts), without making it.
    ///
    /// [`BatchBuilder`]: https://docs.rs/scry-builder
    #[must_use]
    pub fn event_size(&self, tuple: &[u8]) -> usize {
        // Each value counts 5 + its data; the tuple holds 2 + 4 a field + the data.
        (self.size_base + tuple.len() + self.types.len()).saturating_sub(2)
    }

    /// The owned event of `tuple`, its values slices of it; the same errors as
    /// [`BatchEncoder::push_copy_row`].
    pub fn to_event(&self, tuple: &Bytes) -> Result<DatabaseEvent, CodecError> {
        let checked = CopyTuple::new(tuple, self.types.len())?;
        let mut row = Row::default();
        self.fill(&mut row, tuple, &checked);
        let mut event = self.event.clone();
        event.new_row = Some(row);
        Ok(event)
    }

    /// Sets `row`'s values to those of `tuple` (already checked as `checked`).
    fn fill(&self, row: &mut Row, tuple: &Bytes, checked: &CopyTuple<'_>) {
        row.values.clear();
        row.values.reserve(self.types.len());
        for (&(tag, oid), data) in self.types.iter().zip(checked.data()) {
            row.values.push(match data {
                Some(range) => ColumnValue {
                    type_tag: tag,
                    type_oid: oid,
                    data: Some(tuple.slice(range)),
                },
                None => ColumnValue::null(),
            });
        }
    }
}
