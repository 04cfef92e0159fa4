//! The plain serde-into-flexbuffers path, kept as the byte-exact reference in tests; slow.
//!
//! [`serialize_batch`] and [`serialize_event`] drive the types' serde impls through the
//! flexbuffers crate's serializer, which is what scry-protocol 0.1.1 does, so they give its
//! exact bytes; the crate's fast writers are tested against them. [`read_batch`] and
//! [`read_event`] read through the flexbuffers crate's serde deserializer.

pub use crate::serde_path::{read_batch, read_event, serialize_batch, serialize_event};
