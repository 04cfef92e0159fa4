//! The hand-written FlexBuffers writer: encodes the protocol's structs straight into a byte
//! buffer, without serde or the flexbuffers builder.

mod compact;
mod compat;
pub(crate) mod estimate;
mod fields;
mod frame;
pub(crate) mod keys;
mod shared;
mod sink;
mod value;

pub(crate) use compact::Compact;
pub(crate) use compat::Compat;
pub(crate) use sink::Sink;
