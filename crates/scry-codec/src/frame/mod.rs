//! Checksummed framing of serialized batches and events, for streams and files.
//!
//! FlexBuffers carries no length and no checksum: a reader cannot tell where one batch ends in
//! a stream, nor whether its bytes are the ones written. A frame wraps one serialized payload
//! with both, so that truncation, garbage and every single-bit error are detected before the
//! payload is decoded, and a reader can find the next frame after damage.
//!
//! # Layout (format version 1)
//!
//! All integers are little-endian. A frame is a 16-byte header, the payload, and a 4-byte
//! trailer:
//!
//! | offset | size | field | value |
//! |-------:|-----:|-------|-------|
//! | 0 | 4 | magic | `b"SCRY"` (`53 43 52 59`) |
//! | 4 | 1 | format version | `1` |
//! | 5 | 1 | payload encoding | `0` compat (0.1.1's FlexBuffers), `1` compact |
//! | 6 | 1 | flags | reserved, `0`; a version-1 reader rejects any set bit |
//! | 7 | 1 | payload kind | `0` batch, `1` single event |
//! | 8 | 4 | payload length `n` | `u32`, at most the configured maximum |
//! | 12 | 4 | header CRC | CRC-32C of bytes 0..12 |
//! | 16 | `n` | payload | the serialized batch or event |
//! | 16 + `n` | 4 | payload CRC | CRC-32C of the payload |
//!
//! A frame takes `n + 20` bytes ([`FRAME_OVERHEAD`]); frames follow each other with nothing
//! in between. The CRC is CRC-32C (Castagnoli, as in iSCSI, ext4 and SCTP), computed with
//! the CPU's CRC instructions where there are some. Each CRC detects every error of up to 3
//! bits in what it covers (up to 2^31 bits, so in any payload of up to 256 MiB) and every
//! burst of up to 32 bits; the tests flip every single bit of a frame.
//!
//! # Reading
//!
//! A reader checks the magic, then the header CRC before it trusts any other header field:
//! a corrupt length is caught before anything is allocated for it. Then it checks the
//! version, flags, encoding and kind, the length against its maximum, and finally the
//! payload CRC; only then does it hand out the payload. Each failure is a [`FrameError`]
//! naming the frame's index and byte offset.
//!
//! After an error a reader either stops ([`Recovery::Stop`], the default), or
//! ([`Recovery::Resync`]) reports it and then scans forward, from the byte after the start of
//! the bad frame, for the next magic followed by a header whose CRC checks. It does not skip
//! a damaged frame by its length, so a frame whose writer died halfway and that the next
//! writer appended to loses nothing that was written completely. (A payload that itself
//! contains a complete frame is found by such a scan: framing a stream of frames inside
//! frames and resynchronizing after damage to the outer frame yields the inner ones.)
//!
//! [`FrameWriter`] and [`FrameReader`] work on `std::io` streams; [`FrameEncoder`] and
//! [`FrameDecoder`] work on [`bytes::BytesMut`] buffers in the manner of tokio-util's codecs,
//! usable from async code without tying this crate to a runtime.
//!
//! ```
//! use scry_codec::frame::{FrameEncoding, FrameReader, FrameWriter, PayloadKind};
//!
//! let mut writer = FrameWriter::new(Vec::new());
//! writer.write_frame(PayloadKind::Batch, FrameEncoding::Compat, b"first")?;
//! writer.write_frame(PayloadKind::Event, FrameEncoding::Compact, b"")?;
//! let bytes = writer.into_inner();
//! assert_eq!(bytes.len(), 5 + 20 + 20);
//!
//! let frames: Vec<_> = FrameReader::new(&bytes[..]).collect::<Result<_, _>>()?;
//! assert_eq!(&frames[0].payload[..], b"first");
//! assert_eq!((frames[1].index, frames[1].offset), (1, 25));
//! assert_eq!(frames[1].encoding, FrameEncoding::Compact);
//! # Ok::<(), scry_codec::frame::FrameError>(())
//! ```

mod decoder;
mod encoder;
mod error;
mod header;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use decoder::FrameDecoder;
pub use encoder::{encode_frame, FrameEncoder};
pub use error::FrameError;
pub use header::{
    FrameEncoding, FrameHeader, PayloadKind, DEFAULT_MAX_PAYLOAD_LEN, FORMAT_VERSION,
    FRAME_OVERHEAD, HEADER_LEN, MAGIC, TRAILER_LEN,
};
pub use reader::FrameReader;
pub use writer::FrameWriter;

/// What a reader does after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Recovery {
    /// Report the error and read no further.
    #[default]
    Stop,
    /// Report the error, then scan for the next frame whose header checks and go on from it.
    Resync,
}

/// One frame read and checked: its payload, its header fields and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The frame's index among the frames read from the stream (0 for the first).
    pub index: u64,
    /// The byte offset in the stream where the frame starts.
    pub offset: u64,
    /// How the payload is encoded.
    pub encoding: FrameEncoding,
    /// What the payload holds.
    pub kind: PayloadKind,
    /// The payload, shared with the buffer it was read into (not copied).
    pub payload: Bytes,
}

impl Frame {
    /// The frame's length on the wire: payload plus [`FRAME_OVERHEAD`].
    #[must_use]
    pub fn wire_len(&self) -> u64 {
        (self.payload.len() + FRAME_OVERHEAD) as u64
    }
}

/// The CRC-32C (Castagnoli) of `data`, as the frame header and trailer carry it.
#[inline]
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    // CRC-32/ISCSI is CRC-32C; the 32-bit value comes back in a u64.
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32
}
