//! [`FrameEncoder`] and [`encode_frame`]: frames into a [`BytesMut`].

use bytes::{BufMut, BytesMut};

use super::header::{FrameHeader, DEFAULT_MAX_PAYLOAD_LEN, FRAME_OVERHEAD};
use super::{FrameEncoding, FrameError, PayloadKind};

/// Checks a payload's length against `max` and makes its header.
pub(crate) fn header_for(
    kind: PayloadKind,
    encoding: FrameEncoding,
    payload: &[u8],
    max: u32,
    index: u64,
    offset: u64,
) -> Result<FrameHeader, FrameError> {
    match u32::try_from(payload.len()) {
        Ok(payload_len) if payload_len <= max => Ok(FrameHeader {
            encoding,
            kind,
            payload_len,
        }),
        _ => Err(FrameError::PayloadTooLong {
            index,
            offset,
            len: payload.len() as u64,
            max,
        }),
    }
}

/// Appends frames to a [`BytesMut`], counting them so that errors name the frame's index and
/// stream offset: the encoding half of [`FrameDecoder`](super::FrameDecoder).
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    max_payload_len: u32,
    next_index: u64,
    offset: u64,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    /// An encoder that refuses payloads longer than [`DEFAULT_MAX_PAYLOAD_LEN`].
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
            next_index: 0,
            offset: 0,
        }
    }

    /// Sets the largest payload written; a longer one is a [`FrameError::PayloadTooLong`].
    #[must_use]
    pub const fn with_max_payload_len(mut self, max_payload_len: u32) -> Self {
        self.max_payload_len = max_payload_len;
        self
    }

    /// The number of frames encoded so far.
    #[must_use]
    pub const fn frames_encoded(&self) -> u64 {
        self.next_index
    }

    /// The number of bytes encoded so far.
    #[must_use]
    pub const fn bytes_encoded(&self) -> u64 {
        self.offset
    }

    /// Counts a frame carrying `payload` as encoded and returns its header, for a caller
    /// that lays the frame out itself (the payload follows the header, then its CRC-32C,
    /// little-endian). A payload over the maximum is refused and not counted.
    pub(crate) fn count(
        &mut self,
        kind: PayloadKind,
        encoding: FrameEncoding,
        payload: &[u8],
    ) -> Result<[u8; super::HEADER_LEN], FrameError> {
        let header = header_for(
            kind,
            encoding,
            payload,
            self.max_payload_len,
            self.next_index,
            self.offset,
        )?;
        self.next_index += 1;
        self.offset += (FRAME_OVERHEAD + payload.len()) as u64;
        Ok(header.to_bytes())
    }

    /// Appends one frame carrying `payload` to `dst`. A payload over the maximum is refused
    /// and nothing is appended.
    pub fn encode(
        &mut self,
        kind: PayloadKind,
        encoding: FrameEncoding,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        let header = self.count(kind, encoding, payload)?;
        dst.reserve(FRAME_OVERHEAD + payload.len());
        dst.put_slice(&header);
        dst.put_slice(payload);
        dst.put_u32_le(super::crc32c(payload));
        Ok(())
    }
}

/// Appends one frame carrying `payload` to `dst`, refusing a payload longer than
/// [`DEFAULT_MAX_PAYLOAD_LEN`]. Its errors name index 0 and offset 0; a [`FrameEncoder`]
/// keeps count of the stream's position instead.
pub fn encode_frame(
    kind: PayloadKind,
    encoding: FrameEncoding,
    payload: &[u8],
    dst: &mut BytesMut,
) -> Result<(), FrameError> {
    FrameEncoder::new().encode(kind, encoding, payload, dst)
}
