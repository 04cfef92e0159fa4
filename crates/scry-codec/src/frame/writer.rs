//! [`FrameWriter`]: frames onto any [`Write`].

use std::io::Write;

use scry_types::{DatabaseEvent, DatabaseEventBatch};

use super::encoder::header_for;
use super::header::{DEFAULT_MAX_PAYLOAD_LEN, FRAME_OVERHEAD};
use super::{FrameEncoding, FrameError, PayloadKind};

/// Writes frames to a [`Write`] (a file, a socket, a `Vec<u8>`).
///
/// Each frame is written with three `write_all` calls (header, payload, payload CRC); wrap an
/// unbuffered writer in a [`std::io::BufWriter`]. When a write fails part of a frame may
/// have reached the stream; a [`FrameReader`](super::FrameReader) with
/// [`Recovery::Resync`](super::Recovery::Resync) skips it and reads the frames written after.
///
/// ```
/// use scry_codec::frame::{FrameReader, FrameWriter};
/// use scry_types::{ControlDirective, DatabaseEventBatch};
///
/// let batch = DatabaseEventBatch::control(ControlDirective::EnableForeignKeys);
/// let mut writer = FrameWriter::new(Vec::new());
/// writer.write_batch(&batch)?;
/// let bytes = writer.into_inner();
///
/// let frame = FrameReader::new(&bytes[..]).next_frame().expect("one frame")?;
/// assert_eq!(scry_codec::read_batch(&frame.payload).ok(), Some(batch));
/// # Ok::<(), scry_codec::frame::FrameError>(())
/// ```
#[derive(Debug)]
pub struct FrameWriter<W: Write> {
    inner: W,
    max_payload_len: u32,
    next_index: u64,
    offset: u64,
}

impl<W: Write> FrameWriter<W> {
    /// A writer onto `inner` that refuses payloads longer than [`DEFAULT_MAX_PAYLOAD_LEN`].
    pub const fn new(inner: W) -> Self {
        Self {
            inner,
            max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
            next_index: 0,
            offset: 0,
        }
    }

    /// Sets the largest payload written; a longer one is a [`FrameError::PayloadTooLong`]
    /// and nothing of it is written.
    #[must_use]
    pub fn with_max_payload_len(mut self, max_payload_len: u32) -> Self {
        self.max_payload_len = max_payload_len;
        self
    }

    /// Writes one frame carrying `payload`.
    pub fn write_frame(
        &mut self,
        kind: PayloadKind,
        encoding: FrameEncoding,
        payload: &[u8],
    ) -> Result<(), FrameError> {
        let (index, offset) = (self.next_index, self.offset);
        let header = header_for(kind, encoding, payload, self.max_payload_len, index, offset)?;
        let io = |e: std::io::Error| FrameError::io(index, offset, &e);
        self.inner.write_all(&header.to_bytes()).map_err(io)?;
        self.inner.write_all(payload).map_err(io)?;
        self.inner
            .write_all(&super::crc32c(payload).to_le_bytes())
            .map_err(io)?;
        self.next_index += 1;
        self.offset += (FRAME_OVERHEAD + payload.len()) as u64;
        Ok(())
    }

    /// Serializes `batch` with [`serialize_batch`](crate::serialize_batch) (the compat
    /// encoding) and writes it as one [`PayloadKind::Batch`] frame.
    pub fn write_batch(&mut self, batch: &DatabaseEventBatch) -> Result<(), FrameError> {
        let payload = crate::serialize_batch(batch).map_err(|source| FrameError::Encode {
            index: self.next_index,
            offset: self.offset,
            source,
        })?;
        self.write_frame(PayloadKind::Batch, FrameEncoding::Compat, &payload)
    }

    /// Serializes `event` with [`serialize_event`](crate::serialize_event) (the compat
    /// encoding) and writes it as one [`PayloadKind::Event`] frame.
    pub fn write_event(&mut self, event: &DatabaseEvent) -> Result<(), FrameError> {
        let payload = crate::serialize_event(event).map_err(|source| FrameError::Encode {
            index: self.next_index,
            offset: self.offset,
            source,
        })?;
        self.write_frame(PayloadKind::Event, FrameEncoding::Compat, &payload)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), FrameError> {
        self.inner
            .flush()
            .map_err(|e| FrameError::io(self.next_index, self.offset, &e))
    }

    /// The number of frames written.
    #[must_use]
    pub const fn frames_written(&self) -> u64 {
        self.next_index
    }

    /// The number of bytes written.
    #[must_use]
    pub const fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// The underlying writer.
    pub const fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer (without flushing it).
    pub fn into_inner(self) -> W {
        self.inner
    }
}
