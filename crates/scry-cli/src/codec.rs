//! The calls into scry-codec that decode and encode payloads, in one place.

use scry_codec::frame::FrameEncoding;
use scry_codec::{BatchView, CodecError, DecodeError, Encoding, EventView};
use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::input::Payload;

/// Decodes one serialized batch; also tells which encoding it is in, as far as it shows (a
/// compact batch with no enum, no value and no absent option reads as compat).
pub fn decode_batch(bytes: &[u8]) -> Result<(DatabaseEventBatch, FrameEncoding), DecodeError> {
    let view = BatchView::parse(bytes)?;
    let encoding = match view.encoding() {
        Encoding::Compat => FrameEncoding::Compat,
        Encoding::Compact => FrameEncoding::Compact,
    };
    Ok((view.to_owned(), encoding))
}

/// Decodes one serialized event; also tells which encoding it is in when re-encoding it
/// gives the same bytes (`None` when neither encoding does: another writer's layout).
pub fn decode_event(bytes: &[u8]) -> Result<(DatabaseEvent, Option<FrameEncoding>), DecodeError> {
    let event = EventView::parse(bytes)?.to_owned_event();
    let encoding = [FrameEncoding::Compat, FrameEncoding::Compact]
        .into_iter()
        .find(|&e| encode_event(&event, e).is_ok_and(|b| b == bytes));
    Ok((event, encoding))
}

/// Serializes a payload in `encoding`.
pub fn encode(payload: &Payload, encoding: FrameEncoding) -> Result<Vec<u8>, CodecError> {
    match payload {
        Payload::Batch(b) => encode_batch(b, encoding),
        Payload::Event(e) => encode_event(e, encoding),
    }
}

/// The codec's name for a frame's encoding.
const fn codec_encoding(encoding: FrameEncoding) -> Encoding {
    match encoding {
        FrameEncoding::Compat => Encoding::Compat,
        FrameEncoding::Compact => Encoding::Compact,
    }
}

fn encode_batch(
    batch: &DatabaseEventBatch,
    encoding: FrameEncoding,
) -> Result<Vec<u8>, CodecError> {
    scry_codec::serialize_batch_with(batch, codec_encoding(encoding))
}

fn encode_event(event: &DatabaseEvent, encoding: FrameEncoding) -> Result<Vec<u8>, CodecError> {
    scry_codec::serialize_event_with(event, codec_encoding(encoding))
}
