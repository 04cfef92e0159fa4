//! Query-event batches: the SQL proxy's FlexBuffers messages, byte for byte as scry-protocol
//! 0.1.1 writes and reads them.
//!
//! [`FlatBuffersSerializer`] writes a batch of [`QueryEvent`]s with the proxy's ID and the
//! batch's sequence number; [`FlexBuffersDeserializer`] reads one back into a
//! [`DeserializedBatch`]. (The names are 0.1.1's: the format is FlexBuffers either way.)
//!
//! On the wire a batch is a FlexBuffers map `{events, proxy_id, batch_seq}` and each event a
//! map with the [`QueryEvent`] fields, except that the timestamp travels as `timestamp_us`
//! (microseconds since the Unix epoch), the duration as `duration_us`, and each parameter as
//! the JSON text of its [`ParamValue`]. Empty `params`, a false `params_incomplete` and absent
//! optional fields are left out.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use scry_codec::{FlatBuffersSerializer, FlexBuffersDeserializer};
//! use scry_types::{ParamValue, QueryEventBuilder};
//!
//! let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_733_000_000_123_456);
//! let event = QueryEventBuilder::new("SELECT name FROM users WHERE id = $1")
//!     .event_id("e-1")
//!     .timestamp(at)
//!     .params(vec![ParamValue::Int32(42)])
//!     .duration(Duration::from_micros(250))
//!     .rows(1)
//!     .build();
//! let bytes = FlatBuffersSerializer::serialize_batch(&[event.clone()], "proxy-7", 12);
//!
//! let batch = FlexBuffersDeserializer::deserialize_batch(&bytes)?;
//! assert_eq!((batch.proxy_id.as_str(), batch.batch_seq), ("proxy-7", 12));
//! assert_eq!(batch.events, vec![event]);
//! # Ok::<(), scry_codec::DeserializationError>(())
//! ```

mod error;
mod read;

#[cfg(doc)]
use scry_types::ParamValue;
use scry_types::QueryEvent;

use crate::ReadOptions;

pub use error::DeserializationError;

/// Writes query-event batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlatBuffersSerializer;

impl FlatBuffersSerializer {
    /// The FlexBuffers bytes of a batch of `events` from proxy `proxy_id`, numbered
    /// `batch_seq`: exactly the bytes scry-protocol 0.1.1 writes for them.
    ///
    /// Times lose anything finer than a microsecond; a timestamp before the Unix epoch is
    /// written as 0. A `Float32` or `Float64` parameter that is NaN or infinite is written as
    /// JSON `null`, which no reader turns back into a [`ParamValue`].
    #[must_use]
    pub fn serialize_batch(events: &[QueryEvent], proxy_id: &str, batch_seq: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        Self::serialize_batch_into(&mut buf, events, proxy_id, batch_seq);
        buf
    }

    /// [`serialize_batch`](Self::serialize_batch), appending to `buf` (its capacity is reused;
    /// what it already holds is kept in front of the batch).
    pub fn serialize_batch_into(
        buf: &mut Vec<u8>,
        events: &[QueryEvent],
        proxy_id: &str,
        batch_seq: u64,
    ) {
        crate::flex::query::write_batch(buf, events, proxy_id, batch_seq);
    }
}

/// Reads query-event batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlexBuffersDeserializer;

impl FlexBuffersDeserializer {
    /// Reads a batch that [`FlatBuffersSerializer`] (or scry-protocol 0.1.1) wrote, under the
    /// default [`ReadOptions`].
    ///
    /// Fields are read by name in any order and unknown ones are ignored. A parameter whose
    /// JSON is not a [`ParamValue`] is left out of `params`, as 0.1.1 leaves it out.
    ///
    /// # Errors
    /// [`DeserializationError`] when the bytes are not such a batch. No input makes this
    /// panic, and none makes it take time or memory out of proportion to its length.
    pub fn deserialize_batch(bytes: &[u8]) -> Result<DeserializedBatch, DeserializationError> {
        Self::deserialize_batch_with(bytes, &ReadOptions::DEFAULT)
    }

    /// [`deserialize_batch`](Self::deserialize_batch) under `options`: `max_input_bytes`,
    /// `max_events`, `max_string_bytes` and `work_per_input_byte` apply.
    ///
    /// # Errors
    /// As [`deserialize_batch`](Self::deserialize_batch); an exceeded limit is a
    /// [`DeserializationError::FlexBuffersError`] naming it.
    pub fn deserialize_batch_with(
        bytes: &[u8],
        options: &ReadOptions,
    ) -> Result<DeserializedBatch, DeserializationError> {
        read::read_batch(bytes, options)
    }
}

/// A query-event batch as read.
#[derive(Debug, Clone, PartialEq)]
pub struct DeserializedBatch {
    /// The events, in order.
    pub events: Vec<QueryEvent>,
    /// The ID of the proxy that sent the batch.
    pub proxy_id: String,
    /// The batch's sequence number.
    pub batch_seq: u64,
}
