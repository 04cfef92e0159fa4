//! Low-level, validated access to FlexBuffers bytes.

pub(crate) mod fast;
mod read;
mod types;

#[cfg(test)]
pub(crate) use read::KEY_PREFIX;
pub(crate) use read::{key_name, wrong_type, Map, Reader, Res, Slot, Vector};
pub(crate) use types::FlexType;
