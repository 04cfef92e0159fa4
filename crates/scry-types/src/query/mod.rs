//! Query events: what a SQL proxy saw of one statement a client ran through it (the text,
//! its decoded Bind parameters, how long it took, how many rows, whether it failed).
//!
//! These are the proxy's half of the protocol, kept with the same names, fields and serde
//! shapes as scry-protocol 0.1.1 so that a proxy built against it upgrades unchanged. The
//! FlexBuffers batch codec for them lives in `scry-codec` (`FlatBuffersSerializer`,
//! `FlexBuffersDeserializer`); this module compiles no codec.

mod builder;
mod event;
mod param;
#[cfg(feature = "serde")]
mod param_text;

pub use builder::QueryEventBuilder;
pub use event::QueryEvent;
pub use param::ParamValue;
