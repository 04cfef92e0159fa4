//! [`DeserializationError`].

/// Why [`FlexBuffersDeserializer`](crate::FlexBuffersDeserializer) could not read a
/// query-event batch. The variants are scry-protocol 0.1.1's, so code matching on them keeps
/// compiling; the messages say what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeserializationError {
    /// The bytes are not a FlexBuffers query-event batch: the message names the fault, the
    /// field path (`events[2].query`) and the byte offset, as a
    /// [`DecodeError`](crate::DecodeError) says them.
    #[error("FlexBuffers deserialization failed: {0}")]
    FlexBuffersError(String),
    /// An event's `timestamp_us` is past what `SystemTime` can hold here; the message names
    /// the event and the value.
    #[error("Invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// A required field is absent from the batch's map or from an event's map.
    #[error("Missing required field: {0}")]
    MissingField(&'static str),
}
