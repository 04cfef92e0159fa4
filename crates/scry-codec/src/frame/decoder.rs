//! [`FrameDecoder`]: incremental, runtime-free decoding of frames from a [`BytesMut`].

use bytes::{Buf, BytesMut};

use super::header::{
    is_plausible_header, FrameHeader, DEFAULT_MAX_PAYLOAD_LEN, FRAME_OVERHEAD, HEADER_LEN, MAGIC,
};
use super::{Frame, FrameError, Recovery};

/// The least the decoder reserves at a time for a frame whose bytes have not all arrived.
const RESERVE_STEP: usize = 64 * 1024;

/// Decodes frames from the front of a growing [`BytesMut`], the way tokio-util's `Decoder`
/// does, without depending on any async runtime.
///
/// The caller appends the bytes it receives to one buffer and calls [`decode`](Self::decode)
/// until it returns `Ok(None)`; at the end of the stream it calls
/// [`decode_eof`](Self::decode_eof) until that returns `Ok(None)`. The decoder consumes whole
/// frames (and, when resynchronizing, garbage) from the front of the buffer and leaves the
/// rest; the first byte of the buffer must always be the next byte of the stream that the
/// decoder has not consumed.
///
/// Memory stays bounded: the decoder reserves room for a frame only after its header CRC
/// has checked and its length is within [`max_payload_len`](Self::with_max_payload_len),
/// and then at most as much again as the buffer holds (at least 64 KiB) per
/// call, so a length a header claims is not allocated before its bytes arrive.
///
/// ```
/// use bytes::BytesMut;
/// use scry_codec::frame::{encode_frame, FrameDecoder, FrameEncoding, PayloadKind};
///
/// let mut wire = BytesMut::new();
/// encode_frame(PayloadKind::Event, FrameEncoding::Compat, b"payload", &mut wire)?;
/// let mut decoder = FrameDecoder::new();
/// let mut buf = BytesMut::new();
/// buf.extend_from_slice(&wire[..10]);
/// assert_eq!(decoder.decode(&mut buf)?, None); // needs more
/// buf.extend_from_slice(&wire[10..]);
/// let frame = decoder.decode(&mut buf)?.expect("a whole frame");
/// assert_eq!(&frame.payload[..], b"payload");
/// assert_eq!((frame.index, frame.offset), (0, 0));
/// # Ok::<(), scry_codec::frame::FrameError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_payload_len: u32,
    recovery: Recovery,
    next_index: u64,
    /// The stream offset of the buffer's first byte.
    offset: u64,
    /// Scanning for the next plausible header after an error.
    resyncing: bool,
    /// The error that stopped decoding ([`Recovery::Stop`]).
    stopped: Option<FrameError>,
    skipped: u64,
    /// The length of the frame the decoder waits for, once its header checked.
    awaited: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder that accepts payloads of up to [`DEFAULT_MAX_PAYLOAD_LEN`] bytes and stops at
    /// the first error.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
            recovery: Recovery::Stop,
            next_index: 0,
            offset: 0,
            resyncing: false,
            stopped: None,
            skipped: 0,
            awaited: 0,
        }
    }

    /// Sets the largest payload accepted; a longer one is a [`FrameError::PayloadTooLong`].
    #[must_use]
    pub const fn with_max_payload_len(mut self, max_payload_len: u32) -> Self {
        self.max_payload_len = max_payload_len;
        self
    }

    /// Sets what happens after an error.
    #[must_use]
    pub const fn with_recovery(mut self, recovery: Recovery) -> Self {
        self.recovery = recovery;
        self
    }

    /// What happens after an error.
    #[must_use]
    pub const fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The largest payload accepted.
    #[must_use]
    pub const fn max_payload_len(&self) -> u32 {
        self.max_payload_len
    }

    /// The number of frames decoded so far: the index the next frame gets.
    #[must_use]
    pub const fn frames_decoded(&self) -> u64 {
        self.next_index
    }

    /// The stream offset of the first byte not consumed yet.
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of bytes skipped while resynchronizing.
    #[must_use]
    pub const fn bytes_skipped(&self) -> u64 {
        self.skipped
    }

    /// Consumes one complete frame from the front of `buf` and returns it, or returns
    /// `Ok(None)` when `buf` does not hold a complete frame yet (having reserved room for
    /// more of it once its header checked).
    ///
    /// On an error, under [`Recovery::Stop`] nothing more is consumed and every later call
    /// returns the same error; under [`Recovery::Resync`] the decoder skips past the start of
    /// the bad frame and, on the next calls, scans for the next header whose magic and CRC
    /// check.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        self.step(buf, false)
    }

    fn step(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Frame>, FrameError> {
        if let Some(err) = &self.stopped {
            return Err(err.clone());
        }
        if self.resyncing && !self.scan(buf) {
            return Ok(None);
        }
        match self.try_frame(buf, eof) {
            Ok(frame) => Ok(frame),
            Err(err) => Err(self.fail(err, buf)),
        }
    }

    /// Like [`decode`](Self::decode), for when the stream has ended: bytes left that do not
    /// make a complete frame are a [`FrameError::Truncated`] (or, while resynchronizing,
    /// garbage that is dropped). Call it until it returns `Ok(None)`.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if let Some(frame) = self.step(buf, true)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        if self.resyncing {
            self.discard(buf, buf.len());
            return Ok(None);
        }
        let needed = match buf
            .get(..HEADER_LEN)
            .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
        {
            Some(header) => {
                FrameHeader::parse(header).map_or(HEADER_LEN as u64, |h| frame_len(&h) as u64)
            }
            None => HEADER_LEN as u64,
        };
        let err = FrameError::Truncated {
            index: self.next_index,
            offset: self.offset,
            available: buf.len() as u64,
            needed,
        };
        Err(self.fail(err, buf))
    }

    /// Decodes the frame at the front of `buf`, consuming it, or returns `Ok(None)`.
    /// The magic is judged once its 4 bytes are there (or the stream has ended), so that the
    /// error does not depend on how the stream was cut into reads.
    fn try_frame(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Frame>, FrameError> {
        let (index, offset) = (self.next_index, self.offset);
        if buf.len() < MAGIC.len() && !eof {
            buf.reserve(HEADER_LEN - buf.len());
            return Ok(None);
        }
        let seen = buf.len().min(MAGIC.len());
        if buf.get(..seen) != MAGIC.get(..seen) {
            return Err(FrameError::BadMagic {
                index,
                offset,
                found: buf.get(..seen).unwrap_or_default().to_vec(),
            });
        }
        let Some(header_bytes) = buf
            .get(..HEADER_LEN)
            .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
        else {
            buf.reserve(HEADER_LEN - buf.len());
            return Ok(None);
        };
        let header = FrameHeader::parse(header_bytes)
            .map_err(|problem| FrameError::from_header(problem, index, offset))?;
        if header.payload_len > self.max_payload_len {
            return Err(FrameError::PayloadTooLong {
                index,
                offset,
                len: u64::from(header.payload_len),
                max: self.max_payload_len,
            });
        }
        let total = frame_len(&header);
        if buf.len() < total {
            self.awaited = total;
            // Grow with what arrives, not with what the header claims.
            buf.reserve((total - buf.len()).min(buf.len().max(RESERVE_STEP)));
            return Ok(None);
        }
        let payload_end = total - 4;
        let (payload, trailer) = (
            buf.get(HEADER_LEN..payload_end).unwrap_or_default(),
            buf.get(payload_end..total).unwrap_or_default(),
        );
        let stored = trailer
            .try_into()
            .map(u32::from_le_bytes)
            .unwrap_or_default();
        let computed = super::crc32c(payload);
        if stored != computed {
            return Err(FrameError::PayloadCrc {
                index,
                offset,
                stored,
                computed,
            });
        }
        self.awaited = 0;
        let bytes = buf.split_to(total).freeze();
        self.offset += total as u64;
        self.next_index += 1;
        Ok(Some(Frame {
            index,
            offset,
            encoding: header.encoding,
            kind: header.kind,
            payload: bytes.slice(HEADER_LEN..payload_end),
        }))
    }

    /// The number of bytes `buf` lacks to complete the frame whose header has checked (0 when
    /// no such frame is awaited).
    pub(crate) fn missing(&self, buf: &BytesMut) -> usize {
        self.awaited.saturating_sub(buf.len())
    }

    /// Records an error: stops, or skips the first byte of the bad frame and resyncs.
    fn fail(&mut self, err: FrameError, buf: &mut BytesMut) -> FrameError {
        self.awaited = 0;
        match self.recovery {
            Recovery::Stop => self.stopped = Some(err.clone()),
            Recovery::Resync => {
                self.discard(buf, buf.len().min(1));
                self.resyncing = true;
            }
        }
        err
    }

    /// Drops bytes up to the next plausible header (magic and header CRC check). Returns
    /// true when `buf` now starts with one, false when more bytes are needed to tell.
    fn scan(&mut self, buf: &mut BytesMut) -> bool {
        let mut at = 0;
        let found = loop {
            let Some(rest) = buf.get(at..) else {
                break false;
            };
            if rest.is_empty() {
                break false;
            }
            if let Some(header) = rest
                .get(..HEADER_LEN)
                .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
            {
                if header.starts_with(&MAGIC) && is_plausible_header(header) {
                    break true;
                }
            } else {
                let seen = rest.len().min(MAGIC.len());
                if rest.get(..seen) == MAGIC.get(..seen) {
                    // Could be a header whose end has not arrived yet.
                    break false;
                }
            }
            at += 1;
        };
        self.discard(buf, at);
        if found {
            self.resyncing = false;
        }
        found
    }

    fn discard(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.offset += n as u64;
        self.skipped += n as u64;
    }
}

/// Header, payload and trailer length of the frame with this header.
fn frame_len(header: &FrameHeader) -> usize {
    FRAME_OVERHEAD + header.payload_len as usize
}
