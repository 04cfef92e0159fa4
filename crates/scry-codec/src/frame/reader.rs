//! [`FrameReader`]: frames from any [`Read`].

use std::io::Read;

use bytes::BytesMut;

use super::{Frame, FrameDecoder, FrameError, Recovery};

/// The smallest read the reader asks its source for.
const READ_CHUNK: usize = 8 * 1024;

/// Reads frames from a [`Read`] (a file, a socket, a byte slice); also an [`Iterator`] of
/// `Result<Frame, FrameError>`.
///
/// It drives a [`FrameDecoder`], so it checks and recovers the same way: under
/// [`Recovery::Stop`] (the default) the first error ends the iteration; under
/// [`Recovery::Resync`] each error is reported, then the reader scans for the next header
/// whose magic and CRC check and goes on from there, so that no frame written completely
/// after garbage, a torn write or a corrupt frame is lost. I/O errors other than
/// [`Interrupted`](std::io::ErrorKind::Interrupted) end the iteration in both modes.
///
/// Memory stays bounded by the largest accepted frame plus one read of at least 8 KiB, and
/// by about twice the bytes received: the buffer grows with what arrives, not with the
/// length a header claims.
#[derive(Debug)]
pub struct FrameReader<R: Read> {
    inner: R,
    decoder: FrameDecoder,
    buf: BytesMut,
    eof: bool,
    done: bool,
}

impl<R: Read> FrameReader<R> {
    /// A reader of `inner` with a default [`FrameDecoder`] (64 MiB payloads, stop on error).
    pub fn new(inner: R) -> Self {
        Self::with_decoder(inner, FrameDecoder::new())
    }

    /// A reader of `inner` that decodes with `decoder` (its options and its position).
    pub fn with_decoder(inner: R, decoder: FrameDecoder) -> Self {
        Self {
            inner,
            decoder,
            buf: BytesMut::new(),
            eof: false,
            done: false,
        }
    }

    /// Sets the largest payload accepted.
    #[must_use]
    pub fn with_max_payload_len(mut self, max_payload_len: u32) -> Self {
        self.decoder = self.decoder.with_max_payload_len(max_payload_len);
        self
    }

    /// Sets what happens after an error.
    #[must_use]
    pub fn with_recovery(mut self, recovery: Recovery) -> Self {
        self.decoder = self.decoder.with_recovery(recovery);
        self
    }

    /// The next frame, the next error, or `None` at the end of the stream (or after an error
    /// that stops the reader).
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        if self.done {
            return None;
        }
        loop {
            let decoded = if self.eof {
                self.decoder.decode_eof(&mut self.buf)
            } else {
                self.decoder.decode(&mut self.buf)
            };
            match decoded {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) if self.eof => {
                    self.done = true;
                    return None;
                }
                Ok(None) => {
                    if let Err(err) = self.fill() {
                        self.done = true;
                        return Some(Err(err));
                    }
                }
                Err(err) => {
                    if self.decoder.recovery() == Recovery::Stop {
                        self.done = true;
                    }
                    return Some(Err(err));
                }
            }
        }
    }

    /// Reads at least one more byte into the buffer, or notes the end of the stream.
    fn fill(&mut self) -> Result<(), FrameError> {
        let start = self.buf.len();
        // At most doubling per read: a header's claimed length is not allocated up front.
        let want = self
            .decoder
            .missing(&self.buf)
            .min(self.buf.len())
            .max(READ_CHUNK);
        self.buf.resize(start + want, 0);
        loop {
            let read = self
                .buf
                .get_mut(start..)
                .map_or(Ok(0), |spare| self.inner.read(spare));
            match read {
                Ok(n) => {
                    self.buf.truncate(start + n);
                    self.eof = n == 0;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(start);
                    let (index, offset) = (
                        self.decoder.frames_decoded(),
                        self.decoder.offset() + start as u64,
                    );
                    return Err(FrameError::io(index, offset, &e));
                }
            }
        }
    }

    /// The decoder: its position and counters.
    pub const fn decoder(&self) -> &FrameDecoder {
        &self.decoder
    }

    /// The underlying reader.
    pub const fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader; bytes read from it but not decoded yet are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = Result<Frame, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame()
    }
}
