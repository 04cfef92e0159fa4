//! [`FlexType`]: the FlexBuffers value types, as packed in type bytes.

/// A FlexBuffers value type (the upper six bits of a packed type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FlexType {
    Null = 0,
    Int = 1,
    UInt = 2,
    Float = 3,
    Key = 4,
    String = 5,
    IndirectInt = 6,
    IndirectUInt = 7,
    IndirectFloat = 8,
    Map = 9,
    Vector = 10,
    VectorInt = 11,
    VectorUInt = 12,
    VectorFloat = 13,
    VectorKey = 14,
    VectorString = 15,
    VectorInt2 = 16,
    VectorUInt2 = 17,
    VectorFloat2 = 18,
    VectorInt3 = 19,
    VectorUInt3 = 20,
    VectorFloat3 = 21,
    VectorInt4 = 22,
    VectorUInt4 = 23,
    VectorFloat4 = 24,
    Blob = 25,
    Bool = 26,
    VectorBool = 36,
}

impl FlexType {
    /// The type with this number, if any.
    pub(crate) const fn from_u8(t: u8) -> Option<Self> {
        use FlexType::*;
        Some(match t {
            0 => Null,
            1 => Int,
            2 => UInt,
            3 => Float,
            4 => Key,
            5 => String,
            6 => IndirectInt,
            7 => IndirectUInt,
            8 => IndirectFloat,
            9 => Map,
            10 => Vector,
            11 => VectorInt,
            12 => VectorUInt,
            13 => VectorFloat,
            14 => VectorKey,
            15 => VectorString,
            16 => VectorInt2,
            17 => VectorUInt2,
            18 => VectorFloat2,
            19 => VectorInt3,
            20 => VectorUInt3,
            21 => VectorFloat3,
            22 => VectorInt4,
            23 => VectorUInt4,
            24 => VectorFloat4,
            25 => Blob,
            26 => Bool,
            36 => VectorBool,
            _ => return None,
        })
    }

    /// The type's name, for error messages.
    pub(crate) const fn name(self) -> &'static str {
        use FlexType::*;
        match self {
            Null => "Null",
            Int => "Int",
            UInt => "UInt",
            Float => "Float",
            Key => "Key",
            String => "String",
            IndirectInt => "IndirectInt",
            IndirectUInt => "IndirectUInt",
            IndirectFloat => "IndirectFloat",
            Map => "Map",
            Vector => "Vector",
            VectorInt => "VectorInt",
            VectorUInt => "VectorUInt",
            VectorFloat => "VectorFloat",
            VectorKey => "VectorKey",
            VectorString => "VectorString",
            VectorInt2 => "VectorInt2",
            VectorUInt2 => "VectorUInt2",
            VectorFloat2 => "VectorFloat2",
            VectorInt3 => "VectorInt3",
            VectorUInt3 => "VectorUInt3",
            VectorFloat3 => "VectorFloat3",
            VectorInt4 => "VectorInt4",
            VectorUInt4 => "VectorUInt4",
            VectorFloat4 => "VectorFloat4",
            Blob => "Blob",
            Bool => "Bool",
            VectorBool => "VectorBool",
        }
    }

    /// For a vector type: the element type (`None` for the untyped `Vector`, whose elements
    /// carry their own type bytes) and the fixed length (`None` when length-prefixed).
    /// `Err(())` for types that are not vectors.
    pub(crate) const fn vector_shape(self) -> Result<(Option<FlexType>, Option<u8>), ()> {
        use FlexType::*;
        Ok(match self {
            Vector => (None, None),
            VectorInt => (Some(Int), None),
            VectorUInt => (Some(UInt), None),
            VectorFloat => (Some(Float), None),
            VectorKey => (Some(Key), None),
            VectorString => (Some(String), None),
            VectorBool => (Some(Bool), None),
            VectorInt2 => (Some(Int), Some(2)),
            VectorUInt2 => (Some(UInt), Some(2)),
            VectorFloat2 => (Some(Float), Some(2)),
            VectorInt3 => (Some(Int), Some(3)),
            VectorUInt3 => (Some(UInt), Some(3)),
            VectorFloat3 => (Some(Float), Some(3)),
            VectorInt4 => (Some(Int), Some(4)),
            VectorUInt4 => (Some(UInt), Some(4)),
            VectorFloat4 => (Some(Float), Some(4)),
            _ => return Err(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let mut known = 0;
        for t in 0..64u8 {
            if let Some(ty) = FlexType::from_u8(t) {
                assert_eq!(ty as u8, t);
                known += 1;
            }
        }
        assert_eq!(known, 28);
        assert_eq!(FlexType::from_u8(27), None);
        assert_eq!(
            FlexType::VectorUInt3.vector_shape(),
            Ok((Some(FlexType::UInt), Some(3)))
        );
        assert_eq!(FlexType::Map.vector_shape(), Err(()));
    }
}
