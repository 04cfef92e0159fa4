//! The plain serde path: the types' serde impls driven through the flexbuffers crate, as
//! scry-protocol 0.1.1 does it. Slow, and exact: the codec's own writers are tested against
//! [`serialize_batch`] and [`serialize_event`] byte for byte, and [`read_batch`] is the
//! flexbuffers crate's own reading of a batch.

use scry_types::{DatabaseEvent, DatabaseEventBatch};

pub use flexbuffers::{DeserializationError, SerializationError};

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, SerializationError> {
    let mut serializer = flexbuffers::FlexbufferSerializer::new();
    value.serialize(&mut serializer)?;
    Ok(serializer.take_buffer())
}

/// A batch in FlexBuffers, byte for byte as scry-protocol 0.1.1 writes it.
pub fn serialize_batch(batch: &DatabaseEventBatch) -> Result<Vec<u8>, SerializationError> {
    encode(batch)
}

/// One event in FlexBuffers, byte for byte as scry-protocol 0.1.1 writes it.
pub fn serialize_event(event: &DatabaseEvent) -> Result<Vec<u8>, SerializationError> {
    encode(event)
}

/// A batch read by the flexbuffers crate's serde deserializer.
pub fn read_batch(data: &[u8]) -> Result<DatabaseEventBatch, DeserializationError> {
    let reader = flexbuffers::Reader::get_root(data)?;
    serde::Deserialize::deserialize(reader)
}

/// One event read by the flexbuffers crate's serde deserializer.
pub fn read_event(data: &[u8]) -> Result<DatabaseEvent, DeserializationError> {
    let reader = flexbuffers::Reader::get_root(data)?;
    serde::Deserialize::deserialize(reader)
}
