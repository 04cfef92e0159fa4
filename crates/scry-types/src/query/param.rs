//! [`ParamValue`].

/// One parameter of a statement, decoded from the client's Bind message by its type OID.
///
/// The common PostgreSQL types have their own variant; anything else (an extension type, an
/// OID the proxy does not know) is [`Unknown`](Self::Unknown) with the raw bytes. With the
/// `serde` feature a value serializes as `{"type": <variant name>, "value": <content>}`
/// (`Null` has no `value`), `Bytes` and `Unknown` data as standard padded base64 and `Uuid`
/// as lowercase hyphenated hex: the shape scry-protocol 0.1.1 gives it, and the JSON text
/// that query-event batches carry for each parameter.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", content = "value"))]
pub enum ParamValue {
    /// SQL NULL.
    Null,
    /// `bool` (OID 16).
    Bool(bool),
    /// `int2` (OID 21).
    Int16(i16),
    /// `int4` (OID 23).
    Int32(i32),
    /// `int8` (OID 20).
    Int64(i64),
    /// `float4` (OID 700).
    Float32(f32),
    /// `float8` (OID 701). NaN and the infinities have no JSON number: in a batch they
    /// become `null` and are lost on reading (see `FlexBuffersDeserializer`).
    Float64(f64),
    /// `numeric` (OID 1700), as its decimal text, so no precision is lost.
    Numeric(String),
    /// `text`, `varchar` and the other character types (OIDs 25, 1043, ...).
    Text(String),
    /// `bytea` (OID 17).
    #[cfg_attr(feature = "serde", serde(with = "super::param_text::base64"))]
    Bytes(Vec<u8>),
    /// `date` (OID 1082): days since 2000-01-01.
    Date(i32),
    /// `time` (OID 1083): microseconds since midnight.
    Time(i64),
    /// `timestamp` (OID 1114): microseconds since 2000-01-01 00:00.
    Timestamp(i64),
    /// `timestamptz` (OID 1184): microseconds since 2000-01-01 00:00 UTC.
    TimestampTz(i64),
    /// `interval` (OID 1186), in PostgreSQL's three parts.
    Interval {
        /// Whole months.
        months: i32,
        /// Whole days.
        days: i32,
        /// The rest, in microseconds.
        microseconds: i64,
    },
    /// `uuid` (OID 2950): its 16 bytes.
    #[cfg_attr(feature = "serde", serde(with = "super::param_text::uuid"))]
    Uuid([u8; 16]),
    /// `json` or `jsonb` (OIDs 114, 3802), as text.
    Json(String),
    /// An array: its elements in row-major order and the length of each dimension.
    Array {
        /// The elements, flattened.
        elements: Vec<ParamValue>,
        /// The length of each dimension.
        dimensions: Vec<i32>,
    },
    /// A range: its bounds (`None` for an unbounded side) and whether each is inclusive.
    Range {
        /// The lower bound.
        lower: Option<Box<ParamValue>>,
        /// The upper bound.
        upper: Option<Box<ParamValue>>,
        /// True when the lower bound is inclusive.
        lower_inc: bool,
        /// True when the upper bound is inclusive.
        upper_inc: bool,
    },
    /// A composite (row) value: its fields in order.
    Composite {
        /// The fields.
        fields: Vec<ParamValue>,
    },
    /// A type the proxy does not decode: its OID and the bytes as the client sent them.
    Unknown {
        /// The type's OID.
        oid: u32,
        /// The parameter's bytes.
        #[cfg_attr(feature = "serde", serde(with = "super::param_text::base64"))]
        data: Vec<u8>,
    },
}
