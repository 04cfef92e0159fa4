//! FlexBuffers at the byte level, for the protocol's fixed schema.
//!
//! Reading: validated, bounds-checked access to FlexBuffers bytes (`read`, `types`, and the
//! `fast` paths the views use). Writing: a hand-written writer that encodes the protocol's
//! structs straight into a byte buffer, without serde or the flexbuffers builder (`compat`
//! writes 0.1.1's exact bytes, `compact` the compact encoding; `sink`, `frame`, `value`,
//! `keys`, `fields`, `shared`, `runs`, `template`, `estimate` and `hash` are their parts).

// Reading.
pub(crate) mod fast;
mod read;
mod types;

#[cfg(test)]
pub(crate) use read::KEY_PREFIX;
pub(crate) use read::{key_name, wrong_type, Map, Reader, Res, Slot, Vector};
pub(crate) use types::FlexType;

// Writing.
pub(crate) mod compact;
mod compat;
mod cursor;
pub(crate) mod estimate;
mod fields;
mod hash;
pub(crate) mod query;
mod runs;
mod shared;
mod sink;
mod template;
mod value;

pub(crate) use compat::{Compat, State as CompatState};
pub(crate) use sink::Sink;
