//! [`ChangeBatcher`]: CDC changes (from [`ChangeDecoder`](crate::pgoutput::ChangeDecoder)) to
//! framed batches, one batch per transaction, large transactions cut every N events.
//!
//! Each batch is encoded as its events arrive ([`BatchEncoder`]), so no transaction is held
//! whole, and framed without copying it again. A batch that ends at a Commit says so, with the
//! Commit's position: once that frame is durable, the position can be confirmed to the server.
//!
//! ```
//! use scry_codec::{frame::FrameReader, BatchView, Encoding};
//! use scry_pg::capture::ChangeBatcher;
//! use scry_pg::pgoutput::Change;
//! use scry_types::{DatabaseEvent, OperationType};
//!
//! let event = |op, position| {
//!     let mut e = DatabaseEvent::new(op, "", "");
//!     e.position = position;
//!     Change::Event(e)
//! };
//! let mut batcher = ChangeBatcher::new(Encoding::Compact).source_id("cdc-1");
//! let mut out = Vec::new();
//! for change in [event(OperationType::Begin, 8), event(OperationType::Commit, 16)] {
//!     if let Some(frame) = batcher.push(change)? {
//!         assert_eq!(frame.commit_position, Some(16));
//!         out.extend_from_slice(frame.bytes);
//!     }
//! }
//! let frame = FrameReader::new(&out[..]).next().unwrap()?;
//! assert_eq!(BatchView::parse(&frame.payload)?.events().len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use scry_codec::frame::{FrameEncoder, FrameError};
use scry_codec::{BatchEncoder, CodecError, Encoding};
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, RelationMeta};

use crate::pgoutput::Change;

/// The [`Ddl`](OperationType::Ddl) event of a DDL statement that an event trigger emitted as
/// a logical message (its `content`, UTF-8), with the message's position, transaction and
/// commit time.
#[must_use]
pub fn ddl_event(
    lsn: u64,
    transaction_id: u64,
    timestamp_us: u64,
    content: &[u8],
) -> DatabaseEvent {
    let mut e = DatabaseEvent::new(OperationType::Ddl, "", "");
    e.position = lsn;
    e.transaction_id = transaction_id;
    e.timestamp_us = timestamp_us;
    e.ddl_sql = Some(String::from_utf8_lossy(content).into_owned());
    e
}

/// A batch could not be encoded or framed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// An event could not be encoded (a value of 2 GiB or more in the compact encoding).
    #[error("event at LSN {lsn}: {source}", lsn = scry_types::Lsn(*.lsn))]
    Encode {
        /// The event's position.
        lsn: u64,
        /// The encoder's error.
        source: CodecError,
    },
    /// A batch could not be framed (longer than a frame may be).
    #[error("batch {batch_seq}: {source}")]
    Frame {
        /// The batch's number.
        batch_seq: u64,
        /// The framing error.
        source: FrameError,
    },
}

/// A framed batch [`ChangeBatcher::push`] completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The frame's bytes (header, batch, checksum), ready to be written.
    pub bytes: &'a [u8],
    /// The batch's number.
    pub batch_seq: u64,
    /// The number of events in it.
    pub events: usize,
    /// The position of the Commit that ended it: everything up to it is in this frame or
    /// an earlier one. `None` for a part of a transaction cut at the event limit.
    pub commit_position: Option<u64>,
}

/// Puts CDC changes into framed batches: a batch ends at each Commit, or after
/// [`max_events`](Self::max_events) events of a large transaction.
///
/// A relation's metadata travels in `relations` of the batch holding its first change after
/// a Relation message (and on that event, as the decoder put it there). Logical messages
/// whose prefix is the [`ddl_prefix`](Self::ddl_prefix) become [`OperationType::Ddl`] events
/// holding their content as `ddl_sql`. Other logical messages become
/// [`OperationType::Message`] events ([`DatabaseEvent::logical_message`]) when
/// [`messages`](Self::messages) asks for their prefix; the rest are counted
/// ([`messages_skipped`](Self::messages_skipped)) and not carried. Message events are off by
/// default because 0.1.1 peers cannot read a batch holding one.
#[derive(Debug)]
pub struct ChangeBatcher {
    encoder: BatchEncoder,
    frames: FrameEncoder,
    max_events: usize,
    source_id: Option<String>,
    batch_seq: u64,
    relations: Vec<RelationMeta>,
    ddl_prefix: Option<String>,
    messages: MessageFilter,
    messages_skipped: u64,
}

/// Which logical messages [`ChangeBatcher`] carries as [`OperationType::Message`] events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MessageFilter {
    /// None (the default): 0.1.1 peers can read every batch.
    #[default]
    None,
    /// Those whose prefix is one of these.
    Prefixes(Vec<String>),
    /// Every one (but the DDL prefix's, which become Ddl events when that is set).
    All,
}

impl MessageFilter {
    /// True when a message with `prefix` is carried.
    #[must_use]
    pub fn carries(&self, prefix: &str) -> bool {
        match self {
            Self::None => false,
            Self::Prefixes(p) => p.iter().any(|p| p == prefix),
            Self::All => true,
        }
    }
}

impl ChangeBatcher {
    /// A batcher writing `encoding`, batches numbered from 0, cut at 1000 events.
    #[must_use]
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoder: BatchEncoder::new(encoding),
            frames: FrameEncoder::new(),
            max_events: 1000,
            source_id: None,
            batch_seq: 0,
            relations: Vec::new(),
            ddl_prefix: None,
            messages: MessageFilter::None,
            messages_skipped: 0,
        }
    }

    /// The most events a batch holds (at least 1).
    #[must_use]
    pub fn max_events(mut self, max: usize) -> Self {
        self.max_events = max.max(1);
        self
    }

    /// The `source_id` every batch carries.
    #[must_use]
    pub fn source_id(mut self, id: impl Into<String>) -> Self {
        self.source_id = Some(id.into());
        self
    }

    /// The number of the next batch.
    #[must_use]
    pub fn batch_seq(mut self, seq: u64) -> Self {
        self.batch_seq = seq;
        self
    }

    /// Which logical messages to carry as [`OperationType::Message`] events.
    #[must_use]
    pub fn messages(mut self, filter: MessageFilter) -> Self {
        self.messages = filter;
        self
    }

    /// Logical messages with this prefix carry DDL statements (see
    /// [`DDL_PREFIX`]) and become Ddl events.
    #[must_use]
    pub fn ddl_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.ddl_prefix = Some(prefix.into());
        self
    }

    /// The number of the next batch.
    #[must_use]
    pub fn next_batch_seq(&self) -> u64 {
        self.batch_seq
    }

    /// Logical messages not carried so far.
    #[must_use]
    pub fn messages_skipped(&self) -> u64 {
        self.messages_skipped
    }

    /// True when no event waits for its batch to end.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.encoder.is_empty()
    }

    /// Adds a change; returns the framed batch it completed, if it completed one.
    ///
    /// # Errors
    /// [`CaptureError`] when the event cannot be encoded or the batch framed.
    pub fn push(&mut self, change: Change) -> Result<Option<Frame<'_>>, CaptureError> {
        let event = match change {
            Change::Event(e) => e,
            // The stream carries each transaction's Commit; its commit LSN is for consumers
            // applying as they decode.
            Change::Commits { .. } => return Ok(None),
            Change::Message {
                lsn,
                transaction_id,
                timestamp_us,
                prefix,
                content,
                transactional,
            } => {
                if self.ddl_prefix.as_deref() != Some(prefix.as_str()) {
                    if !self.messages.carries(&prefix) {
                        self.messages_skipped += 1;
                        return Ok(None);
                    }
                    let mut e = DatabaseEvent::logical_message(&prefix, content, transactional);
                    e.position = lsn;
                    e.transaction_id = transaction_id;
                    e.timestamp_us = timestamp_us;
                    return self.push_event(e);
                }
                ddl_event(lsn, transaction_id, timestamp_us, &content)
            }
        };
        self.push_event(event)
    }

    fn push_event(&mut self, event: DatabaseEvent) -> Result<Option<Frame<'_>>, CaptureError> {
        if let Some(meta) = &event.relation_meta {
            if !self.relations.iter().any(|r| r.rel_id == meta.rel_id) {
                self.relations.push(meta.clone());
            }
        }
        self.encoder
            .push(&event)
            .map_err(|source| CaptureError::Encode {
                lsn: event.position,
                source,
            })?;
        let commit = event.operation == OperationType::Commit;
        if commit || self.encoder.len() >= self.max_events {
            let position = commit.then_some(event.position);
            return self.flush(position).map(Some);
        }
        Ok(None)
    }

    /// A [`ControlDirective::SyncSequences`](scry_types::ControlDirective::SyncSequences)
    /// batch of these values, framed, between transactions.
    ///
    /// # Errors
    /// As [`push`](Self::push); a transaction's events waiting for their Commit are an
    /// encoding error ("sequence values inside a transaction").
    pub fn sequence_sync(
        &mut self,
        values: Vec<scry_types::SequenceValue>,
    ) -> Result<Frame<'_>, CaptureError> {
        let batch_seq = self.batch_seq;
        if !self.encoder.is_empty() {
            return Err(CaptureError::Encode {
                lsn: 0,
                source: CodecError::Encode {
                    what: "sequence values",
                    reason: "inside a transaction".into(),
                },
            });
        }
        let mut batch = DatabaseEventBatch::sequence_sync(values).with_batch_seq(batch_seq);
        batch.source_id.clone_from(&self.source_id);
        self.batch_seq = self.batch_seq.wrapping_add(1);
        let bytes = self
            .encoder
            .finish_frame(&batch, &mut self.frames)
            .map_err(|source| CaptureError::Frame { batch_seq, source })?;
        Ok(Frame {
            bytes,
            batch_seq,
            events: 0,
            commit_position: None,
        })
    }

    /// Ends the batch being written even though no Commit ended it (at the end of a
    /// capture); `None` when it is empty.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn finish(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.encoder.is_empty() {
            return Ok(None);
        }
        self.flush(None).map(Some)
    }

    fn flush(&mut self, commit_position: Option<u64>) -> Result<Frame<'_>, CaptureError> {
        let batch_seq = self.batch_seq;
        let rest = DatabaseEventBatch {
            events: Vec::new(),
            source_id: self.source_id.clone(),
            batch_seq,
            relations: std::mem::take(&mut self.relations),
            control_directive: None,
            sequence_values: None,
            backfill_metadata: None,
        };
        let events = self.encoder.len();
        self.batch_seq = self.batch_seq.wrapping_add(1);
        let bytes = self
            .encoder
            .finish_frame(&rest, &mut self.frames)
            .map_err(|source| CaptureError::Frame { batch_seq, source })?;
        Ok(Frame {
            bytes,
            batch_seq,
            events,
            commit_position,
        })
    }
}

/// The prefix `scry capture --ddl`'s event trigger emits DDL statements under.
pub const DDL_PREFIX: &str = "scry.ddl";
