//! The FlexBuffers codec of the scry `database_event` protocol.
//!
//! [`serialize_batch`] and [`serialize_event`] write exactly the bytes scry-protocol 0.1.1
//! writes for the same value; [`read_batch`] and [`read_event`] read what it writes.
//! Errors are [`CodecError`]s that say what went wrong and where.
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

mod encode;
mod encoding;
mod error;
mod flex;
pub mod reference;
mod serde_path;

pub use encode::{
    serialize_batch, serialize_batch_into, serialize_batch_with, serialize_event,
    serialize_event_with,
};
pub use encoding::Encoding;
pub use error::CodecError;
pub use serde_path::{read_batch, read_event};
