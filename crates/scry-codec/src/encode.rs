//! The fast encoder's public entry points.
//!
//! Encoding never fails: FlexBuffers offsets and lengths grow to 64 bits, so every value that
//! fits in memory has an encoding, and the writer holds no state that can go wrong. The
//! functions return `Result` so that the writing side's signatures match the reading side's
//! and stay stable if an encoding with limits is ever added.

use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::flex::{estimate, Compact, Compat, Sink};
use crate::{CodecError, Encoding};

/// Serializes a batch in the Compat encoding: byte for byte what scry-protocol 0.1.1 writes.
///
/// Never fails (see [`serialize_batch_into`]).
pub fn serialize_batch(batch: &DatabaseEventBatch) -> Result<Vec<u8>, CodecError> {
    serialize_batch_with(batch, Encoding::Compat)
}

/// Serializes one event in the Compat encoding: byte for byte what scry-protocol 0.1.1
/// writes.
///
/// Never fails (see [`serialize_batch_into`]).
pub fn serialize_event(event: &DatabaseEvent) -> Result<Vec<u8>, CodecError> {
    serialize_event_with(event, Encoding::Compat)
}

/// Serializes a batch in the given encoding.
///
/// Never fails (see [`serialize_batch_into`]).
pub fn serialize_batch_with(
    batch: &DatabaseEventBatch,
    encoding: Encoding,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    serialize_batch_into(batch, encoding, &mut out)?;
    Ok(out)
}

/// Serializes one event in the given encoding.
///
/// Never fails (see [`serialize_batch_into`]).
pub fn serialize_event_with(
    event: &DatabaseEvent,
    encoding: Encoding,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let sink = Sink::new(&mut out, estimate::event_size(event));
    match encoding {
        Encoding::Compat => Compat::new(sink).event_root(event),
        Encoding::Compact => Compact::new(sink).event_root(event),
    }
    Ok(out)
}

/// Appends the encoding of `batch` to `out`, after whatever `out` already holds, so a
/// producer can reuse one buffer. The appended bytes are exactly what
/// [`serialize_batch_with`] returns; to read them back, pass a reader just those bytes.
///
/// Never fails: FlexBuffers offsets and lengths grow to 64 bits, so every batch that fits in
/// memory has an encoding (the `Result` keeps the signature stable).
pub fn serialize_batch_into(
    batch: &DatabaseEventBatch,
    encoding: Encoding,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let sink = Sink::new(out, estimate::batch_size(batch));
    match encoding {
        Encoding::Compat => Compat::new(sink).batch_root(batch),
        Encoding::Compact => Compact::new(sink).batch_root(batch),
    }
    Ok(())
}
