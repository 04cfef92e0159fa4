//! The fast encoder's public entry points.
//!
//! The Compat encoding never fails: FlexBuffers offsets and lengths grow to 64 bits, so every
//! value that fits in memory has an encoding. The Compact encoding fails only for a value of
//! 2 GiB or more, whose length a COPY field cannot state (PostgreSQL's own limit is 1 GiB);
//! then nothing is written.

use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::flex::{compact, estimate, Compat, Sink};
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
/// Fails only as [`serialize_batch_into`] says.
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
/// Fails only as [`serialize_batch_into`] says.
pub fn serialize_event_with(
    event: &DatabaseEvent,
    encoding: Encoding,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    match encoding {
        Encoding::Compat => {
            Compat::new(Sink::new(&mut out, estimate::event_size(event))).event_root(event)
        }
        Encoding::Compact => compact::event_root(&mut out, event)?,
    }
    Ok(out)
}

/// Appends the encoding of `batch` to `out`, after whatever `out` already holds, so a
/// producer can reuse one buffer. The appended bytes are exactly what
/// [`serialize_batch_with`] returns; to read them back, pass a reader just those bytes.
///
/// The Compat encoding never fails: FlexBuffers offsets and lengths grow to 64 bits, so every
/// batch that fits in memory has an encoding. The Compact encoding fails with
/// [`CodecError::Encode`] for a value of 2 GiB or more (a COPY field length is an `i32`), and
/// then leaves `out` as it was.
pub fn serialize_batch_into(
    batch: &DatabaseEventBatch,
    encoding: Encoding,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match encoding {
        Encoding::Compat => {
            Compat::new(Sink::new(out, estimate::batch_size(batch))).batch_root(batch);
            Ok(())
        }
        Encoding::Compact => compact::batch_root(out, batch),
    }
}
