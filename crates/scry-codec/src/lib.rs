//! The FlexBuffers codec of the scry `database_event` protocol.
//!
//! [`serialize_batch`] and [`serialize_event`] write exactly the bytes scry-protocol 0.1.1
//! writes for the same value. [`read_batch`] and [`read_event`] read both wire encodings
//! (see [`Encoding`]) with this crate's own validating FlexBuffers reader: no input makes them
//! panic, recurse, or take time or memory out of proportion to its size, and every limit of
//! [`ReadOptions`] is enforced. [`BatchView`] reads a batch in place without copying it;
//! [`read_batch_bytes`] shares value bytes with the input buffer.
//!
//! A FlexBuffers root sits at the end of its buffer and points backwards, so there is no
//! "trailing garbage": bytes that nothing points at (alignment padding, say) are ignored.
//! Map keys the protocol does not know are ignored too; a known key appearing twice is an
//! error.
//!
//! Readers fail with [`DecodeError`]s that say what is wrong and where (field path and byte
//! offset); writers with [`CodecError`]s, which also wrap `DecodeError` (`?` converts).
//!
//! ```
//! use scry_codec::{read_batch, serialize_batch};
//! use scry_types::{ControlDirective, DatabaseEventBatch};
//!
//! let batch = DatabaseEventBatch::control(ControlDirective::EnableForeignKeys).with_batch_seq(7);
//! let bytes = serialize_batch(&batch)?;
//! assert_eq!(read_batch(&bytes)?, batch);
//! # Ok::<(), scry_codec::CodecError>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod batch_encoder;
mod compact;
mod copy_tuple;
mod decode;
mod decode_error;
mod encode;
mod encoding;
mod error;
mod flex;
pub mod frame;
mod options;
mod query;
mod schema;
mod view;

pub use batch_encoder::{BatchEncoder, CopyRows};
pub use copy_tuple::CopyTuple;
pub use decode::{
    read_batch, read_batch_bytes, read_batch_bytes_with, read_batch_with, read_event,
    read_event_bytes, read_event_bytes_with, read_event_with,
};
pub use decode_error::{DecodeError, DecodeErrorKind, Limit, PathSegment};
pub use encode::{
    serialize_batch, serialize_batch_into, serialize_batch_with, serialize_event,
    serialize_event_with,
};
pub use encoding::Encoding;
pub use error::CodecError;
pub use options::ReadOptions;
pub use query::{
    DeserializationError, DeserializedBatch, FlatBuffersSerializer, FlexBuffersDeserializer,
};
pub use view::{
    BatchView, ColumnMetaView, ColumnMetas, Columns, EventView, Events, RelationView, Relations,
    RowView, SequenceValueView, SequenceValues, ValueView, Values, ViewIter,
};

/// Fuzzing only (`cfg(fuzzing)`, which cargo-fuzz sets): validates `data` as a batch with
/// and without event templates, recording and not, and says where the results differ.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_template_agrees(data: &[u8]) -> Result<usize, String> {
    view::parse::differential::template_agrees(data)
}
