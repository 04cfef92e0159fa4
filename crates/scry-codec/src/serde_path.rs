//! The serde path: the types' serde impls driven through the flexbuffers crate.

use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::CodecError;

fn encode<T: serde::Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, CodecError> {
    let mut serializer = flexbuffers::FlexbufferSerializer::new();
    value
        .serialize(&mut serializer)
        .map_err(|e| CodecError::Encode {
            what,
            reason: e.to_string(),
        })?;
    Ok(serializer.take_buffer())
}

fn decode<T: serde::de::DeserializeOwned>(
    data: &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    let err = |reason: String| CodecError::Serde { what, reason };
    let reader = flexbuffers::Reader::get_root(data).map_err(|e| err(e.to_string()))?;
    T::deserialize(reader).map_err(|e| err(e.to_string()))
}

/// Serializes a batch to FlexBuffers, byte for byte as scry-protocol 0.1.1 does.
pub fn serialize_batch(batch: &DatabaseEventBatch) -> Result<Vec<u8>, CodecError> {
    encode(batch, "batch")
}

/// Serializes one event to FlexBuffers, byte for byte as scry-protocol 0.1.1 does.
pub fn serialize_event(event: &DatabaseEvent) -> Result<Vec<u8>, CodecError> {
    encode(event, "event")
}

/// Reads a batch from FlexBuffers.
pub fn read_batch(data: &[u8]) -> Result<DatabaseEventBatch, CodecError> {
    decode(data, "batch")
}

/// Reads one event from FlexBuffers.
pub fn read_event(data: &[u8]) -> Result<DatabaseEvent, CodecError> {
    decode(data, "event")
}
