//! [`ColumnValue`] and [`Row`]: column values in PostgreSQL's binary format.

use bytes::Bytes;

use crate::TypeTag;

/// One column value: a type tag, the PostgreSQL type OID and the value's bytes in PostgreSQL's
/// binary format (`None` for SQL NULL and for an unchanged TOAST value).
///
/// The bytes are held as [`Bytes`], so a value decoded from a shared buffer, or cut from a
/// COPY BINARY stream, is not copied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ColumnValue {
    /// The value's type, as a one-byte tag a receiver can branch on without an OID lookup.
    pub type_tag: TypeTag,
    /// PostgreSQL type OID (for arrays, custom types and disambiguation); 0 when unknown.
    pub type_oid: u32,
    /// Raw PostgreSQL binary bytes; `None` represents NULL (and the unchanged TOAST marker).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_data"))]
    pub data: Option<Bytes>,
}

impl ColumnValue {
    /// A NULL value: tag [`TypeTag::Null`], OID 0, no data.
    #[must_use]
    pub const fn null() -> Self {
        Self {
            type_tag: TypeTag::Null,
            type_oid: 0,
            data: None,
        }
    }

    /// A value from PostgreSQL binary bytes. Takes anything that converts into [`Bytes`]
    /// (`Vec<u8>`, `&'static [u8]`, `Bytes`, ...) without copying it.
    #[must_use]
    pub fn from_pg_binary(type_tag: TypeTag, type_oid: u32, data: impl Into<Bytes>) -> Self {
        Self {
            type_tag,
            type_oid,
            data: Some(data.into()),
        }
    }

    /// The marker for an unchanged TOAST value in an UPDATE: tag
    /// [`TypeTag::ToastUnchanged`], the column's OID, no data.
    #[must_use]
    pub const fn unchanged(type_oid: u32) -> Self {
        Self {
            type_tag: TypeTag::ToastUnchanged,
            type_oid,
            data: None,
        }
    }

    /// True when this is NULL: no data and tag [`TypeTag::Null`].
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.data.is_none() && self.type_tag == TypeTag::Null
    }

    /// True when this is the unchanged-TOAST marker.
    #[must_use]
    pub fn is_unchanged(&self) -> bool {
        self.type_tag == TypeTag::ToastUnchanged
    }

    /// The raw bytes, if any.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// Size estimate used for batching: 1 (tag) + 4 (OID) + the data's length.
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        5 + self.data.as_ref().map_or(0, Bytes::len)
    }
}

/// A row: the column values in column order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Row {
    /// The values, in column order.
    pub values: Vec<ColumnValue>,
}

impl Row {
    /// A row of these values.
    #[must_use]
    pub const fn new(values: Vec<ColumnValue>) -> Self {
        Self { values }
    }

    /// A row with no values.
    #[must_use]
    pub const fn empty() -> Self {
        Self { values: Vec::new() }
    }

    /// The value at `index`, if the row has that many.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&ColumnValue> {
        self.values.get(index)
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the row has no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Size estimate used for batching: the sum of the values' [`ColumnValue::size_bytes`].
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        self.values.iter().map(ColumnValue::size_bytes).sum()
    }
}

impl From<Vec<ColumnValue>> for Row {
    fn from(values: Vec<ColumnValue>) -> Self {
        Self { values }
    }
}

impl FromIterator<ColumnValue> for Row {
    fn from_iter<I: IntoIterator<Item = ColumnValue>>(iter: I) -> Self {
        Self {
            values: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_unchanged() {
        let null = ColumnValue::null();
        assert!(null.is_null());
        assert!(!null.is_unchanged());
        assert_eq!(null.as_bytes(), None);
        assert_eq!(null.size_bytes(), 5);

        let unchanged = ColumnValue::unchanged(25);
        assert!(!unchanged.is_null());
        assert!(unchanged.is_unchanged());
        assert_eq!(unchanged.type_oid, 25);
        assert_eq!(unchanged.size_bytes(), 5);
    }

    #[test]
    fn from_pg_binary_takes_vec_slice_and_bytes() {
        let a = ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]);
        let b = ColumnValue::from_pg_binary(TypeTag::Int32, 23, &[0u8, 0, 0, 1][..]);
        let c = ColumnValue::from_pg_binary(TypeTag::Int32, 23, Bytes::from_static(&[0, 0, 0, 1]));
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.as_bytes(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(a.size_bytes(), 9);
        assert!(!a.is_null());
    }

    #[test]
    fn a_null_tag_with_data_is_not_null() {
        let v = ColumnValue::from_pg_binary(TypeTag::Null, 0, vec![1]);
        assert!(!v.is_null());
    }

    #[test]
    fn row_accessors_and_size() {
        let row: Row = vec![
            ColumnValue::null(),
            ColumnValue::from_pg_binary(TypeTag::Text, 25, b"abc".to_vec()),
        ]
        .into();
        assert_eq!(row.len(), 2);
        assert_eq!(row.size_bytes(), 5 + 8);
        assert_eq!(
            row.get(1).and_then(ColumnValue::as_bytes),
            Some(&b"abc"[..])
        );
        assert_eq!(row.get(2), None);
        assert!(Row::empty().is_empty());
        assert_eq!(Row::empty().size_bytes(), 0);
    }
}
