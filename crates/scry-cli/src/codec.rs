//! The calls into scry-codec that decode and encode payloads, in one place.

use scry_codec::frame::FrameEncoding;
use scry_codec::CodecError;
use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::input::Payload;

/// Decodes one serialized batch; also tells which encoding it is in.
pub fn decode_batch(bytes: &[u8]) -> Result<(DatabaseEventBatch, FrameEncoding), CodecError> {
    scry_codec::read_batch(bytes).map(|b| (b, FrameEncoding::Compat))
}

/// Decodes one serialized event; also tells which encoding it is in.
pub fn decode_event(bytes: &[u8]) -> Result<(DatabaseEvent, FrameEncoding), CodecError> {
    scry_codec::read_event(bytes).map(|e| (e, FrameEncoding::Compat))
}

/// Serializes a payload in `encoding`.
pub fn encode(payload: &Payload, encoding: FrameEncoding) -> Result<Vec<u8>, CodecError> {
    match (payload, encoding) {
        (Payload::Batch(b), FrameEncoding::Compat) => scry_codec::serialize_batch(b),
        (Payload::Event(e), FrameEncoding::Compat) => scry_codec::serialize_event(e),
        (_, FrameEncoding::Compact) => Err(CodecError::Encode {
            what: "payload",
            reason: "this build writes only the compat encoding".to_owned(),
        }),
    }
}
