//! Reading the input: a bare batch, a bare event or a framed stream, detected automatically,
//! from a file, from standard input (`-`) or from a NATS JetStream stream (`nats://...`,
//! its messages first to last, not consumed).
//!
//! Detection: input that starts with the frame magic `SCRY` is a framed stream (any number of
//! frames, read as a stream); anything else is read whole and decoded as a batch, and when
//! that fails, as an event.

use std::fs::File;
use std::io::{self, BufReader, Read};

use bytes::Bytes;
use scry_codec::frame::{
    Frame, FrameEncoding, FrameError, FrameReader, PayloadKind, Recovery, MAGIC,
};
use scry_codec::DecodeError;
use scry_types::{DatabaseEvent, DatabaseEventBatch};

use crate::codec::{decode_batch, decode_event};
use crate::progress::ReadProgress;

/// Where a decoded batch or event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The frame that carried it, when the input is a framed stream.
    pub frame: Option<FrameRef>,
    /// The encoding of its bytes: the frame header's, or what a bare payload shows; `None`
    /// for a bare event that neither encoding writes as it is.
    pub encoding: Option<FrameEncoding>,
    /// For a framed batch whose header says compat: true when its bytes show the compact
    /// encoding (which scry-protocol 0.1.1, trusting the header, cannot read).
    pub compact_in_compat_frame: bool,
    /// The length of its serialized bytes (the payload, without frame overhead).
    pub payload_len: usize,
}

/// A frame's position in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef {
    /// The frame's index (0 for the first).
    pub index: u64,
    /// The byte offset where the frame starts.
    pub offset: u64,
}

/// What one serialized payload holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A batch.
    Batch(DatabaseEventBatch),
    /// A lone event.
    Event(DatabaseEvent),
}

impl Payload {
    /// The payload kind, for frame headers.
    pub const fn kind(&self) -> PayloadKind {
        match self {
            Self::Batch(_) => PayloadKind::Batch,
            Self::Event(_) => PayloadKind::Event,
        }
    }
}

/// One decoded payload and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Where it came from.
    pub origin: Origin,
    /// What it holds.
    pub payload: Payload,
}

/// Why the input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read {name}: {source}")]
    Io {
        /// The file name (`-` for standard input).
        name: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The framing is damaged (the message names the frame and its byte offset).
    #[error("{0}")]
    Frame(FrameError),
    /// A frame is intact but its payload does not decode.
    #[error("frame {index} at byte {offset}: its {kind} payload does not decode: {reason}")]
    FramePayload {
        /// The frame's index.
        index: u64,
        /// Where the frame starts.
        offset: u64,
        /// `"batch"` or `"event"`, as its header says.
        kind: &'static str,
        /// What is wrong, at which field path, payload byte and stream byte.
        reason: String,
    },
    /// Unframed input that is neither a batch nor an event.
    #[error("{name}: not a frame stream, and {reason}")]
    Bare {
        /// The file name.
        name: String,
        /// Why it is neither a batch nor an event.
        reason: String,
    },
}

impl InputError {
    /// True when the error is about reading the file, not about its content.
    pub const fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Frame(FrameError::Io { .. }))
    }
}

/// The units of one input, in order.
pub struct Input {
    name: String,
    source: Source,
}

enum Source {
    /// Unframed bytes, not decoded yet (`None` once they have been).
    Bare(Option<Bytes>),
    /// A framed stream.
    Framed {
        reader: Box<FrameReader<Box<dyn Read>>>,
        progress: ReadProgress,
    },
}

impl Input {
    /// Opens `name` (`-` for standard input) and detects what it holds. `recovery` says what
    /// happens after damaged framing: stop, or report and resynchronize.
    pub fn open(name: &str, recovery: Recovery) -> Result<Self, InputError> {
        let io_err = |source| InputError::Io {
            name: name.to_owned(),
            source,
        };
        let (mut reader, total): (Box<dyn Read>, Option<u64>) = if name == "-" {
            (Box::new(io::stdin().lock()), None)
        } else if scry_nats::Address::is_nats(name) {
            let address = scry_nats::Address::parse(name)
                .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            let stream = scry_nats::StreamReader::open(&address, crate::nats::options())
                .map_err(|e| io_err(io::Error::other(e)))?;
            (Box::new(stream), None)
        } else {
            let file = File::open(name).map_err(io_err)?;
            let len = file.metadata().map(|m| m.len()).ok();
            (Box::new(BufReader::with_capacity(64 * 1024, file)), len)
        };
        let mut head = Vec::with_capacity(MAGIC.len());
        (&mut reader)
            .take(MAGIC.len() as u64)
            .read_to_end(&mut head)
            .map_err(io_err)?;
        let rest: Box<dyn Read> = Box::new(io::Cursor::new(head.clone()).chain(reader));
        let source = if head == MAGIC {
            Source::Framed {
                reader: Box::new(FrameReader::new(rest).with_recovery(recovery)),
                progress: ReadProgress::new(name, total),
            }
        } else {
            let mut bytes = Vec::new();
            let mut rest = rest;
            rest.read_to_end(&mut bytes).map_err(io_err)?;
            Source::Bare(Some(Bytes::from(bytes)))
        };
        Ok(Self {
            name: name.to_owned(),
            source,
        })
    }

    fn next_bare(name: &str, bytes: &Bytes) -> Result<Unit, InputError> {
        let origin = |encoding| Origin {
            frame: None,
            encoding,
            payload_len: bytes.len(),
            compact_in_compat_frame: false,
        };
        match decode_batch(bytes) {
            Ok((batch, encoding)) => Ok(Unit {
                origin: origin(Some(encoding)),
                payload: Payload::Batch(batch),
            }),
            Err(batch_err) => match decode_event(bytes) {
                Ok((event, encoding)) => Ok(Unit {
                    origin: origin(encoding),
                    payload: Payload::Event(event),
                }),
                Err(event_err) => Err(InputError::Bare {
                    name: name.to_owned(),
                    reason: if batch_err == event_err {
                        format!("does not decode as a batch nor as an event: {batch_err}")
                    } else {
                        format!(
                            "does not decode as a batch ({batch_err}) nor as an event \
                             ({event_err})"
                        )
                    },
                }),
            },
        }
    }
}

/// Decodes the payload of a checked frame.
pub fn decode_frame(frame: &Frame) -> Result<Unit, InputError> {
    let decoded = match frame.kind {
        PayloadKind::Batch => decode_batch(&frame.payload).map(|(batch, shown)| {
            let mismatch =
                frame.encoding == FrameEncoding::Compat && shown == FrameEncoding::Compact;
            (Payload::Batch(batch), mismatch)
        }),
        PayloadKind::Event => {
            scry_codec::read_event(&frame.payload).map(|event| (Payload::Event(event), false))
        }
    };
    let start = frame.offset + scry_codec::frame::HEADER_LEN as u64;
    decoded
        .map(|(payload, compact_in_compat_frame)| Unit {
            origin: Origin {
                frame: Some(FrameRef {
                    index: frame.index,
                    offset: frame.offset,
                }),
                encoding: Some(frame.encoding),
                payload_len: frame.payload.len(),
                compact_in_compat_frame,
            },
            payload,
        })
        .map_err(|err| InputError::FramePayload {
            index: frame.index,
            offset: frame.offset,
            kind: match frame.kind {
                PayloadKind::Batch => "batch",
                PayloadKind::Event => "event",
            },
            reason: located(&err, start),
        })
}

impl Iterator for Input {
    type Item = Result<Unit, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Bare(bytes) => bytes
                .take()
                .map(|bytes| Self::next_bare(&self.name, &bytes)),
            Source::Framed { reader, progress } => {
                let next = reader.next_frame();
                progress.update(reader.decoder().offset(), reader.decoder().frames_decoded());
                match next {
                    None => {
                        progress.finish();
                        None
                    }
                    Some(Err(err)) => Some(Err(InputError::Frame(err))),
                    Some(Ok(frame)) => Some(decode_frame(&frame)),
                }
            }
        }
    }
}

/// A decoding error with its offset both in the payload and in the stream, where the payload
/// starts at stream byte `start`: `missing field `operation` at events[0] (payload byte 12,
/// stream byte 28)`.
fn located(err: &DecodeError, start: u64) -> String {
    let at = err.offset() as u64;
    let path = err.path();
    let place = if path.is_empty() {
        "the root".to_owned()
    } else {
        path
    };
    format!(
        "{} at {place} (payload byte {at}, stream byte {})",
        err.kind(),
        start + at
    )
}
