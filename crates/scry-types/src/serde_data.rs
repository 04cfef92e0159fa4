//! serde for `ColumnValue::data`, shaped like 0.1.1's `Option<Vec<u8>>`.
//!
//! Serializing writes `Some` followed by a sequence of `u8` (what serde does for a `Vec<u8>`),
//! so a serde format produces the same bytes as 0.1.1. Deserializing accepts a sequence of
//! integers (0.1.1's shape) as well as a byte string (the compact encoding's shape).

use bytes::Bytes;
use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

struct AsU8Seq<'a>(&'a [u8]);

impl serde::Serialize for AsU8Seq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0)
    }
}

/// Serializes `Option<Bytes>` as 0.1.1 serializes `Option<Vec<u8>>`.
pub(crate) fn serialize<S: Serializer>(data: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    match data {
        Some(bytes) => s.serialize_some(&AsU8Seq(bytes)),
        None => s.serialize_none(),
    }
}

/// Deserializes `Option<Bytes>` from a null, a sequence of byte-sized integers or a byte string.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
    d.deserialize_option(OptionVisitor)
}

struct OptionVisitor;

impl<'de> Visitor<'de> for OptionVisitor {
    type Value = Option<Bytes>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, a sequence of bytes or a byte string")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BytesVisitor).map(Some)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of integers from 0 to 255 or a byte string")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes::copy_from_slice(v))
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes::from(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
        // The hint comes from the input; cap it so a hostile length cannot reserve memory.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(Bytes::from(out))
    }
}
