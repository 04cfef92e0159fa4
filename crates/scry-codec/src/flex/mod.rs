//! Low-level, validated access to FlexBuffers bytes.

mod read;
mod types;

#[cfg(test)]
pub(crate) use read::KEY_PREFIX;
pub(crate) use read::{key_name, wrong_type, Map, Reader, Res, Slot, Vector};
pub(crate) use types::FlexType;
