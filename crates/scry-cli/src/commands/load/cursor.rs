//! Where reading a snapshot stream is: the frame being read and its next event.

use std::io::Read;

use bytes::Bytes;
use scry_codec::frame::{FrameError, FrameReader, Recovery};
use scry_codec::{BatchView, EventView};

use crate::commands::CliError;

/// The position of an event in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// The index of its frame.
    pub frame: u64,
    /// The stream offset just past its frame.
    pub offset: u64,
}

/// Why [`Cursor::each`] returned.
#[derive(Debug)]
pub enum Stop {
    /// The callback returned false: the cursor stays on that event.
    Paused,
    /// The stream ended.
    End,
    /// A frame is damaged (its framing, checksum or batch does not check). Under
    /// [`Recovery::Resync`] the cursor goes on after it with the next good frame; else
    /// nothing more is read.
    Damaged(String),
}

/// A snapshot stream's events, a frame at a time.
pub struct Cursor<R: Read> {
    frames: FrameReader<R>,
    batch: Option<Bytes>,
    /// The next event of `batch`.
    pub next: usize,
    at: At,
    /// The `source_id` of the batch being read: the stream's identity.
    source_id: String,
}

impl<R: Read> Cursor<R> {
    /// A cursor at the start of `reader`, skipping damaged frames under `resync`.
    pub fn new(reader: R, resync: bool) -> Self {
        let recovery = if resync {
            Recovery::Resync
        } else {
            Recovery::Stop
        };
        Self {
            frames: FrameReader::new(reader).with_recovery(recovery),
            batch: None,
            next: 0,
            at: At {
                frame: 0,
                offset: 0,
            },
            source_id: String::new(),
        }
    }

    /// The `source_id` of the batch of the last event given (empty when it has none).
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The bytes skipped to find good frames again.
    pub fn bytes_skipped(&self) -> u64 {
        self.frames.decoder().bytes_skipped()
    }

    /// Calls `f` with each event from here on until it returns false, the stream ends or a
    /// frame is damaged; says which.
    pub fn each(
        &mut self,
        mut f: impl FnMut(&EventView<'_>, At) -> Result<bool, CliError>,
    ) -> Result<Stop, CliError> {
        loop {
            if self.batch.is_none() {
                match self.frames.next_frame() {
                    None => return Ok(Stop::End),
                    Some(Err(e @ FrameError::Io { .. })) => {
                        return Err(CliError::Load(e.to_string()));
                    }
                    Some(Err(e)) => return Ok(Stop::Damaged(e.to_string())),
                    Some(Ok(frame)) => {
                        self.at = At {
                            frame: frame.index,
                            offset: self.frames.decoder().offset(),
                        };
                        self.batch = Some(frame.payload);
                        self.next = 0;
                    }
                }
            }
            let bytes = self.batch.clone().unwrap_or_default();
            let view = match BatchView::parse(&bytes) {
                Ok(view) => view,
                Err(e) => {
                    self.batch = None;
                    return Ok(Stop::Damaged(format!(
                        "frame {} (ending at byte {}): not a batch: {e}",
                        self.at.frame, self.at.offset
                    )));
                }
            };
            if view.source_id().unwrap_or("") != self.source_id {
                self.source_id = view.source_id().unwrap_or("").to_owned();
            }
            for (i, event) in view.events().enumerate().skip(self.next) {
                if !f(&event, self.at)? {
                    self.next = i;
                    return Ok(Stop::Paused);
                }
            }
            self.batch = None;
        }
    }
}
