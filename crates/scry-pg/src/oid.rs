//! PostgreSQL type OIDs and their [`TypeTag`]s.
//!
//! The constants are the OIDs of PostgreSQL's built-in types (`pg_type.oid`, stable across
//! server versions). [`type_tag_from_oid`] maps any OID to its tag (array types give
//! [`TypeTag::Array`], unknown ones [`TypeTag::Custom`]); [`canonical_oid`] goes the other way;
//! [`array_element_oid`] and [`array_oid_of`] pair each built-in array type with its element.

use scry_types::TypeTag;

macro_rules! oids {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $sql:literal;)*) => {
        $($(#[$doc])* pub const $name: u32 = $value;)*

        /// The SQL name of a built-in type OID (`23` → `"int4"`, `1007` → `"int4[]"`), or
        /// `None` for an OID this crate does not know.
        #[must_use]
        pub fn type_name(oid: u32) -> Option<&'static str> {
            match oid {
                $($value => Some($sql),)*
                _ => None,
            }
        }
    };
}

oids! {
    /// `bool`.
    BOOL = 16, "bool";
    /// `bytea`.
    BYTEA = 17, "bytea";
    /// `"char"` (the one-byte internal type; tagged [`TypeTag::Custom`]).
    CHAR = 18, "char";
    /// `name`.
    NAME = 19, "name";
    /// `int8`.
    INT8 = 20, "int8";
    /// `int2`.
    INT2 = 21, "int2";
    /// `int4`.
    INT4 = 23, "int4";
    /// `text`.
    TEXT = 25, "text";
    /// `oid` (tagged [`TypeTag::Custom`]).
    OID = 26, "oid";
    /// `json`.
    JSON = 114, "json";
    /// `xml`.
    XML = 142, "xml";
    /// `xml[]`.
    XML_ARRAY = 143, "xml[]";
    /// `json[]`.
    JSON_ARRAY = 199, "json[]";
    /// `point`.
    POINT = 600, "point";
    /// `lseg`.
    LSEG = 601, "lseg";
    /// `path`.
    PATH = 602, "path";
    /// `box`.
    BOX = 603, "box";
    /// `polygon`.
    POLYGON = 604, "polygon";
    /// `line`.
    LINE = 628, "line";
    /// `line[]`.
    LINE_ARRAY = 629, "line[]";
    /// `cidr`.
    CIDR = 650, "cidr";
    /// `cidr[]`.
    CIDR_ARRAY = 651, "cidr[]";
    /// `float4`.
    FLOAT4 = 700, "float4";
    /// `float8`.
    FLOAT8 = 701, "float8";
    /// `circle`.
    CIRCLE = 718, "circle";
    /// `circle[]`.
    CIRCLE_ARRAY = 719, "circle[]";
    /// `macaddr8`.
    MACADDR8 = 774, "macaddr8";
    /// `macaddr8[]`.
    MACADDR8_ARRAY = 775, "macaddr8[]";
    /// `money`.
    MONEY = 790, "money";
    /// `money[]`.
    MONEY_ARRAY = 791, "money[]";
    /// `macaddr`.
    MACADDR = 829, "macaddr";
    /// `inet`.
    INET = 869, "inet";
    /// `bool[]`.
    BOOL_ARRAY = 1000, "bool[]";
    /// `bytea[]`.
    BYTEA_ARRAY = 1001, "bytea[]";
    /// `"char"[]`.
    CHAR_ARRAY = 1002, "char[]";
    /// `name[]`.
    NAME_ARRAY = 1003, "name[]";
    /// `int2[]`.
    INT2_ARRAY = 1005, "int2[]";
    /// `int4[]`.
    INT4_ARRAY = 1007, "int4[]";
    /// `text[]`.
    TEXT_ARRAY = 1009, "text[]";
    /// `bpchar[]`.
    BPCHAR_ARRAY = 1014, "bpchar[]";
    /// `varchar[]`.
    VARCHAR_ARRAY = 1015, "varchar[]";
    /// `int8[]`.
    INT8_ARRAY = 1016, "int8[]";
    /// `point[]`.
    POINT_ARRAY = 1017, "point[]";
    /// `lseg[]`.
    LSEG_ARRAY = 1018, "lseg[]";
    /// `path[]`.
    PATH_ARRAY = 1019, "path[]";
    /// `box[]`.
    BOX_ARRAY = 1020, "box[]";
    /// `float4[]`.
    FLOAT4_ARRAY = 1021, "float4[]";
    /// `float8[]`.
    FLOAT8_ARRAY = 1022, "float8[]";
    /// `polygon[]`.
    POLYGON_ARRAY = 1027, "polygon[]";
    /// `oid[]`.
    OID_ARRAY = 1028, "oid[]";
    /// `macaddr[]`.
    MACADDR_ARRAY = 1040, "macaddr[]";
    /// `inet[]`.
    INET_ARRAY = 1041, "inet[]";
    /// `bpchar` (`char(n)`).
    BPCHAR = 1042, "bpchar";
    /// `varchar`.
    VARCHAR = 1043, "varchar";
    /// `date`.
    DATE = 1082, "date";
    /// `time`.
    TIME = 1083, "time";
    /// `timestamp`.
    TIMESTAMP = 1114, "timestamp";
    /// `timestamp[]`.
    TIMESTAMP_ARRAY = 1115, "timestamp[]";
    /// `date[]`.
    DATE_ARRAY = 1182, "date[]";
    /// `time[]`.
    TIME_ARRAY = 1183, "time[]";
    /// `timestamptz`.
    TIMESTAMPTZ = 1184, "timestamptz";
    /// `timestamptz[]`.
    TIMESTAMPTZ_ARRAY = 1185, "timestamptz[]";
    /// `interval`.
    INTERVAL = 1186, "interval";
    /// `interval[]`.
    INTERVAL_ARRAY = 1187, "interval[]";
    /// `numeric[]`.
    NUMERIC_ARRAY = 1231, "numeric[]";
    /// `timetz`.
    TIMETZ = 1266, "timetz";
    /// `timetz[]`.
    TIMETZ_ARRAY = 1270, "timetz[]";
    /// `bit`.
    BIT = 1560, "bit";
    /// `bit[]`.
    BIT_ARRAY = 1561, "bit[]";
    /// `varbit`.
    VARBIT = 1562, "varbit";
    /// `varbit[]`.
    VARBIT_ARRAY = 1563, "varbit[]";
    /// `numeric`.
    NUMERIC = 1700, "numeric";
    /// `uuid`.
    UUID = 2950, "uuid";
    /// `uuid[]`.
    UUID_ARRAY = 2951, "uuid[]";
    /// `jsonb`.
    JSONB = 3802, "jsonb";
    /// `jsonb[]`.
    JSONB_ARRAY = 3807, "jsonb[]";
    /// `int4range`.
    INT4RANGE = 3904, "int4range";
    /// `int4range[]`.
    INT4RANGE_ARRAY = 3905, "int4range[]";
    /// `numrange`.
    NUMRANGE = 3906, "numrange";
    /// `numrange[]`.
    NUMRANGE_ARRAY = 3907, "numrange[]";
    /// `tsrange`.
    TSRANGE = 3908, "tsrange";
    /// `tsrange[]`.
    TSRANGE_ARRAY = 3909, "tsrange[]";
    /// `tstzrange`.
    TSTZRANGE = 3910, "tstzrange";
    /// `tstzrange[]`.
    TSTZRANGE_ARRAY = 3911, "tstzrange[]";
    /// `daterange`.
    DATERANGE = 3912, "daterange";
    /// `daterange[]`.
    DATERANGE_ARRAY = 3913, "daterange[]";
    /// `int8range`.
    INT8RANGE = 3926, "int8range";
    /// `int8range[]`.
    INT8RANGE_ARRAY = 3927, "int8range[]";
}

/// Built-in array types and their element types, `(array OID, element OID)`.
const ARRAYS: &[(u32, u32)] = &[
    (XML_ARRAY, XML),
    (JSON_ARRAY, JSON),
    (LINE_ARRAY, LINE),
    (CIDR_ARRAY, CIDR),
    (CIRCLE_ARRAY, CIRCLE),
    (MACADDR8_ARRAY, MACADDR8),
    (MONEY_ARRAY, MONEY),
    (BOOL_ARRAY, BOOL),
    (BYTEA_ARRAY, BYTEA),
    (CHAR_ARRAY, CHAR),
    (NAME_ARRAY, NAME),
    (INT2_ARRAY, INT2),
    (INT4_ARRAY, INT4),
    (TEXT_ARRAY, TEXT),
    (BPCHAR_ARRAY, BPCHAR),
    (VARCHAR_ARRAY, VARCHAR),
    (INT8_ARRAY, INT8),
    (POINT_ARRAY, POINT),
    (LSEG_ARRAY, LSEG),
    (PATH_ARRAY, PATH),
    (BOX_ARRAY, BOX),
    (FLOAT4_ARRAY, FLOAT4),
    (FLOAT8_ARRAY, FLOAT8),
    (POLYGON_ARRAY, POLYGON),
    (OID_ARRAY, OID),
    (MACADDR_ARRAY, MACADDR),
    (INET_ARRAY, INET),
    (TIMESTAMP_ARRAY, TIMESTAMP),
    (DATE_ARRAY, DATE),
    (TIME_ARRAY, TIME),
    (TIMESTAMPTZ_ARRAY, TIMESTAMPTZ),
    (INTERVAL_ARRAY, INTERVAL),
    (NUMERIC_ARRAY, NUMERIC),
    (TIMETZ_ARRAY, TIMETZ),
    (BIT_ARRAY, BIT),
    (VARBIT_ARRAY, VARBIT),
    (UUID_ARRAY, UUID),
    (JSONB_ARRAY, JSONB),
    (INT4RANGE_ARRAY, INT4RANGE),
    (NUMRANGE_ARRAY, NUMRANGE),
    (TSRANGE_ARRAY, TSRANGE),
    (TSTZRANGE_ARRAY, TSTZRANGE),
    (DATERANGE_ARRAY, DATERANGE),
    (INT8RANGE_ARRAY, INT8RANGE),
];

/// The element OID of a built-in array type (`1007` → `23`), or `None` when `array_oid` is
/// not a built-in array type.
#[must_use]
pub fn array_element_oid(array_oid: u32) -> Option<u32> {
    ARRAYS
        .iter()
        .find(|&&(array, _)| array == array_oid)
        .map(|&(_, element)| element)
}

/// The built-in array type whose elements are `element_oid` (`23` → `1007`), or `None`.
#[must_use]
pub fn array_oid_of(element_oid: u32) -> Option<u32> {
    ARRAYS
        .iter()
        .find(|&&(_, element)| element == element_oid)
        .map(|&(array, _)| array)
}

/// The [`TypeTag`] of a type OID: the category of every built-in scalar type, `Array` for
/// built-in array types, `Custom` for anything else (including OID 0).
#[must_use]
pub fn type_tag_from_oid(oid: u32) -> TypeTag {
    match oid {
        BOOL => TypeTag::Bool,
        INT2 => TypeTag::Int16,
        INT4 => TypeTag::Int32,
        INT8 => TypeTag::Int64,
        FLOAT4 => TypeTag::Float32,
        FLOAT8 => TypeTag::Float64,
        TEXT | VARCHAR | BPCHAR | NAME => TypeTag::Text,
        BYTEA => TypeTag::Bytea,
        JSON => TypeTag::Json,
        JSONB => TypeTag::Jsonb,
        UUID => TypeTag::Uuid,
        TIMESTAMP => TypeTag::Timestamp,
        TIMESTAMPTZ => TypeTag::TimestampTz,
        DATE => TypeTag::Date,
        TIME => TypeTag::Time,
        TIMETZ => TypeTag::TimeTz,
        INTERVAL => TypeTag::Interval,
        NUMERIC => TypeTag::Numeric,
        BIT => TypeTag::Bit,
        VARBIT => TypeTag::Varbit,
        POINT => TypeTag::Point,
        LINE => TypeTag::Line,
        LSEG => TypeTag::Lseg,
        BOX => TypeTag::Box,
        PATH => TypeTag::Path,
        POLYGON => TypeTag::Polygon,
        CIRCLE => TypeTag::Circle,
        INET => TypeTag::Inet,
        CIDR => TypeTag::Cidr,
        MACADDR => TypeTag::MacAddr,
        MACADDR8 => TypeTag::MacAddr8,
        INT4RANGE => TypeTag::Int4Range,
        INT8RANGE => TypeTag::Int8Range,
        NUMRANGE => TypeTag::NumRange,
        TSRANGE => TypeTag::TsRange,
        TSTZRANGE => TypeTag::TsTzRange,
        DATERANGE => TypeTag::DateRange,
        MONEY => TypeTag::Money,
        XML => TypeTag::Xml,
        _ if array_element_oid(oid).is_some() => TypeTag::Array,
        _ => TypeTag::Custom,
    }
}

/// The canonical OID of a tag (`Int32` → `23`, `Text` → `25`), or `None` for tags that name
/// no single type (`Null`, `Array`, `ToastUnchanged`, `Custom`).
#[must_use]
pub fn canonical_oid(tag: TypeTag) -> Option<u32> {
    Some(match tag {
        TypeTag::Bool => BOOL,
        TypeTag::Int16 => INT2,
        TypeTag::Int32 => INT4,
        TypeTag::Int64 => INT8,
        TypeTag::Float32 => FLOAT4,
        TypeTag::Float64 => FLOAT8,
        TypeTag::Text => TEXT,
        TypeTag::Bytea => BYTEA,
        TypeTag::Json => JSON,
        TypeTag::Jsonb => JSONB,
        TypeTag::Uuid => UUID,
        TypeTag::Timestamp => TIMESTAMP,
        TypeTag::TimestampTz => TIMESTAMPTZ,
        TypeTag::Date => DATE,
        TypeTag::Time => TIME,
        TypeTag::TimeTz => TIMETZ,
        TypeTag::Interval => INTERVAL,
        TypeTag::Numeric => NUMERIC,
        TypeTag::Bit => BIT,
        TypeTag::Varbit => VARBIT,
        TypeTag::Point => POINT,
        TypeTag::Line => LINE,
        TypeTag::Lseg => LSEG,
        TypeTag::Box => BOX,
        TypeTag::Path => PATH,
        TypeTag::Polygon => POLYGON,
        TypeTag::Circle => CIRCLE,
        TypeTag::Inet => INET,
        TypeTag::Cidr => CIDR,
        TypeTag::MacAddr => MACADDR,
        TypeTag::MacAddr8 => MACADDR8,
        TypeTag::Int4Range => INT4RANGE,
        TypeTag::Int8Range => INT8RANGE,
        TypeTag::NumRange => NUMRANGE,
        TypeTag::TsRange => TSRANGE,
        TypeTag::TsTzRange => TSTZRANGE,
        TypeTag::DateRange => DATERANGE,
        TypeTag::Money => MONEY,
        TypeTag::Xml => XML,
        TypeTag::Null | TypeTag::Array | TypeTag::ToastUnchanged | TypeTag::Custom => return None,
    })
}

/// `TypeTag::from_oid` / `TypeTag::canonical_oid` as methods on [`TypeTag`].
pub trait TypeTagOidExt: Sized {
    /// See [`type_tag_from_oid`].
    fn from_oid(oid: u32) -> Self;
    /// See [`canonical_oid`].
    fn canonical_oid(self) -> Option<u32>;
}

impl TypeTagOidExt for TypeTag {
    fn from_oid(oid: u32) -> Self {
        type_tag_from_oid(oid)
    }

    fn canonical_oid(self) -> Option<u32> {
        canonical_oid(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_oids_map_to_their_tags_and_back() {
        for &tag in TypeTag::ALL {
            if let Some(oid) = canonical_oid(tag) {
                assert_eq!(type_tag_from_oid(oid), tag, "{tag}");
                assert!(type_name(oid).is_some(), "{tag}");
            }
        }
        assert_eq!(type_tag_from_oid(INT4), TypeTag::Int32);
        assert_eq!(TypeTag::from_oid(VARCHAR), TypeTag::Text);
        assert_eq!(TypeTag::from_oid(BPCHAR), TypeTag::Text);
        assert_eq!(TypeTag::from_oid(NAME), TypeTag::Text);
        assert_eq!(TypeTag::Int64.canonical_oid(), Some(20));
        assert_eq!(canonical_oid(TypeTag::Array), None);
        assert_eq!(canonical_oid(TypeTag::Null), None);
    }

    #[test]
    fn arrays_and_unknown_oids() {
        assert_eq!(type_tag_from_oid(INT4_ARRAY), TypeTag::Array);
        assert_eq!(type_tag_from_oid(BOX_ARRAY), TypeTag::Array);
        assert_eq!(type_tag_from_oid(0), TypeTag::Custom);
        assert_eq!(type_tag_from_oid(OID), TypeTag::Custom);
        assert_eq!(type_tag_from_oid(99_999), TypeTag::Custom);
        assert_eq!(array_element_oid(1007), Some(23));
        assert_eq!(array_element_oid(23), None);
        assert_eq!(array_oid_of(3802), Some(3807));
        assert_eq!(array_oid_of(1007), None);
        for &(array, element) in ARRAYS {
            assert_eq!(array_oid_of(element), Some(array));
            assert_eq!(
                type_name(array).map(|n| n.trim_end_matches("[]")),
                type_name(element)
            );
        }
        assert_eq!(type_name(INT4_ARRAY), Some("int4[]"));
        assert_eq!(type_name(12_345), None);
    }
}
