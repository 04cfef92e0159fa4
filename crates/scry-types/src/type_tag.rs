//! [`TypeTag`]: the PostgreSQL type category of a column value.

wire_enum! {
    /// Type tag for fast dispatch without parsing the OID: the PostgreSQL type category of a
    /// [`ColumnValue`](crate::ColumnValue). The discriminants are fixed by the protocol.
    pub enum TypeTag {
        /// SQL NULL (no type information).
        Null = 0,
        /// `bool`.
        Bool = 1,
        /// `int2`.
        Int16 = 2,
        /// `int4`.
        Int32 = 3,
        /// `int8`.
        Int64 = 4,
        /// `float4`.
        Float32 = 5,
        /// `float8`.
        Float64 = 6,
        /// `text`, `varchar`, `bpchar`, `name`.
        Text = 7,
        /// `bytea`.
        Bytea = 8,
        /// `json`.
        Json = 9,
        /// `jsonb`.
        Jsonb = 10,
        /// `uuid`.
        Uuid = 11,
        /// `timestamp` (without time zone).
        Timestamp = 12,
        /// `timestamptz`.
        TimestampTz = 13,
        /// `date`.
        Date = 14,
        /// `time` (without time zone).
        Time = 15,
        /// `timetz`.
        TimeTz = 16,
        /// `interval`.
        Interval = 17,
        /// `numeric`.
        Numeric = 18,
        /// `bit(n)`.
        Bit = 20,
        /// `varbit`.
        Varbit = 21,
        /// `point`.
        Point = 30,
        /// `line`.
        Line = 31,
        /// `lseg`.
        Lseg = 32,
        /// `box`.
        Box = 33,
        /// `path`.
        Path = 34,
        /// `polygon`.
        Polygon = 35,
        /// `circle`.
        Circle = 36,
        /// `inet`.
        Inet = 40,
        /// `cidr`.
        Cidr = 41,
        /// `macaddr`.
        MacAddr = 42,
        /// `macaddr8`.
        MacAddr8 = 43,
        /// `int4range`.
        Int4Range = 50,
        /// `int8range`.
        Int8Range = 51,
        /// `numrange`.
        NumRange = 52,
        /// `tsrange`.
        TsRange = 53,
        /// `tstzrange`.
        TsTzRange = 54,
        /// `daterange`.
        DateRange = 55,
        /// `money`.
        Money = 60,
        /// `xml`.
        Xml = 61,
        /// Any array; the element type is given by the value's `type_oid`.
        Array = 100,
        /// An unchanged TOAST value in an UPDATE: PostgreSQL did not send the value because it
        /// was not modified. Carries no data; the receiver leaves the column out of its SET list.
        ToastUnchanged = 126,
        /// Any other (custom or unknown) type; `type_oid` says which.
        Custom = 127,
    }
}

impl TypeTag {
    /// The byte length of this type's PostgreSQL binary form when it is fixed
    /// (`Int32` → 4, `Uuid` → 16, ...), or `None` for variable-length types and markers.
    #[must_use]
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Bool => Some(1),
            Self::Int16 => Some(2),
            Self::Int32 | Self::Float32 | Self::Date => Some(4),
            Self::Int64
            | Self::Float64
            | Self::Timestamp
            | Self::TimestampTz
            | Self::Time
            | Self::Money => Some(8),
            Self::TimeTz => Some(12),
            Self::Uuid | Self::Interval | Self::Point => Some(16),
            Self::Line => Some(24),
            Self::Lseg | Self::Box => Some(32),
            Self::Circle => Some(24),
            Self::MacAddr => Some(6),
            Self::MacAddr8 => Some(8),
            _ => None,
        }
    }
}

impl std::fmt::Display for TypeTag {
    /// Writes the variant name (`Int32`, `ToastUnchanged`, ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminants_are_the_protocol_s() {
        let expected: &[(TypeTag, u8)] = &[
            (TypeTag::Null, 0),
            (TypeTag::Bool, 1),
            (TypeTag::Numeric, 18),
            (TypeTag::Bit, 20),
            (TypeTag::Point, 30),
            (TypeTag::Inet, 40),
            (TypeTag::Int4Range, 50),
            (TypeTag::Money, 60),
            (TypeTag::Xml, 61),
            (TypeTag::Array, 100),
            (TypeTag::ToastUnchanged, 126),
            (TypeTag::Custom, 127),
        ];
        for &(tag, byte) in expected {
            assert_eq!(tag as u8, byte);
            assert_eq!(TypeTag::from_byte(byte), Some(tag));
        }
        assert_eq!(TypeTag::ALL.len(), 43);
    }

    #[test]
    fn every_byte_maps_to_at_most_one_tag_and_back() {
        let mut known = 0;
        for b in 0..=u8::MAX {
            if let Some(tag) = TypeTag::from_byte(b) {
                known += 1;
                assert_eq!(tag.as_u8(), b);
                assert_eq!(TypeTag::from_name(tag.name()), Some(tag));
            }
        }
        assert_eq!(known, TypeTag::ALL.len());
        assert_eq!(TypeTag::from_byte(19), None);
        assert_eq!(
            TypeTag::try_from(19u8).unwrap_err().to_string(),
            "19 is not the discriminant of any TypeTag variant"
        );
    }

    #[test]
    fn names_parse_exactly() {
        assert_eq!("Int32".parse::<TypeTag>(), Ok(TypeTag::Int32));
        assert_eq!(
            "int32".parse::<TypeTag>().unwrap_err().to_string(),
            "\"int32\" is not the name of any TypeTag variant"
        );
        assert_eq!(TypeTag::TimestampTz.to_string(), "TimestampTz");
    }

    #[test]
    fn fixed_lengths() {
        assert_eq!(TypeTag::Int32.fixed_len(), Some(4));
        assert_eq!(TypeTag::Uuid.fixed_len(), Some(16));
        assert_eq!(TypeTag::TimeTz.fixed_len(), Some(12));
        assert_eq!(TypeTag::Text.fixed_len(), None);
        assert_eq!(TypeTag::Null.fixed_len(), None);
    }
}
