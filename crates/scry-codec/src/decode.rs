//! Owned decoding: [`read_batch`], [`read_event`] and their `Bytes` and options variants.
//!
//! Each validates the input in one pass (as [`BatchView::parse`] does) that also records
//! every event's column names and values (tag, OID, where the bytes lie), then builds the
//! owned value from that record without reading the input's structure again.
//!
//! [`read_batch`] and [`read_event`] copy every value's bytes into one buffer (one allocation
//! for all the values of a batch) and give each `ColumnValue.data` a [`Bytes`] slice of it: a
//! value kept alive keeps that buffer (the batch's payload, not its input) alive. The
//! `_bytes` variants share the input buffer instead: every value whose bytes lie contiguously
//! on the wire (compact blobs, compat values of up to 255 bytes) becomes a [`Bytes::slice`]
//! of the input, and only the others are copied.

use bytes::Bytes;
use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::view::{PackSink, SliceSink};
use crate::{BatchView, DecodeError, EventView, ReadOptions};

/// Reads a batch (either encoding) with the default [`ReadOptions`]; value bytes are copied
/// into one buffer shared by the batch's values.
pub fn read_batch(data: &[u8]) -> Result<DatabaseEventBatch, DecodeError> {
    read_batch_with(data, &ReadOptions::DEFAULT)
}

/// Reads a batch (either encoding) with these limits; value bytes are copied into one buffer
/// shared by the batch's values.
pub fn read_batch_with(
    data: &[u8],
    options: &ReadOptions,
) -> Result<DatabaseEventBatch, DecodeError> {
    let (view, record) = BatchView::parse_recorded(data, options)?;
    Ok(view.owned_from_record(&record, &PackSink::new(view.data_bytes())))
}

/// Reads a batch with the default [`ReadOptions`]; value bytes that lie contiguously in
/// `data` are slices of it (no copy).
pub fn read_batch_bytes(data: &Bytes) -> Result<DatabaseEventBatch, DecodeError> {
    read_batch_bytes_with(data, &ReadOptions::DEFAULT)
}

/// Reads a batch with these limits; value bytes that lie contiguously in `data` are slices
/// of it (no copy).
pub fn read_batch_bytes_with(
    data: &Bytes,
    options: &ReadOptions,
) -> Result<DatabaseEventBatch, DecodeError> {
    let (view, record) = BatchView::parse_recorded(data, options)?;
    Ok(view.owned_from_record(&record, &SliceSink(data)))
}

/// Reads one bare event (either encoding) with the default [`ReadOptions`].
pub fn read_event(data: &[u8]) -> Result<DatabaseEvent, DecodeError> {
    read_event_with(data, &ReadOptions::DEFAULT)
}

/// Reads one bare event with these limits.
pub fn read_event_with(data: &[u8], options: &ReadOptions) -> Result<DatabaseEvent, DecodeError> {
    let (view, record) = EventView::parse_recorded(data, options)?;
    let total = record.values.iter().map(|v| v.data.len()).sum();
    Ok(view.owned_from_record(&record, &PackSink::new(total)))
}

/// Reads one bare event with the default [`ReadOptions`]; contiguous value bytes are slices
/// of `data`.
pub fn read_event_bytes(data: &Bytes) -> Result<DatabaseEvent, DecodeError> {
    read_event_bytes_with(data, &ReadOptions::DEFAULT)
}

/// Reads one bare event with these limits; contiguous value bytes are slices of `data`.
pub fn read_event_bytes_with(
    data: &Bytes,
    options: &ReadOptions,
) -> Result<DatabaseEvent, DecodeError> {
    let (view, record) = EventView::parse_recorded(data, options)?;
    Ok(view.owned_from_record(&record, &SliceSink(data)))
}
