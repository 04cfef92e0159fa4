//! [`PgValue`]: a typed PostgreSQL value, its binary form and its text form.

mod array;
mod bits;
mod datetime;
mod geo;
mod net;
mod numeric;
mod range;

use bytes::Bytes;
use scry_types::{ColumnValue, TypeTag};

pub use array::{ArrayDim, ArrayShapeError, PgArray, MAX_DIMENSIONS};
pub use bits::PgBits;
pub use datetime::{PgDate, PgInterval, PgTime, PgTimeTz, PgTimestamp};
pub use geo::{Circle, Line, Lseg, Path, PgBox, Point, Polygon};
pub use net::PgInet;
pub use numeric::{NumericSign, ParseNumericError, PgNumeric};
pub use range::{PgRange, RangeBound, RangeKind};

use crate::error::{DecodeProblem, PgDecodeError};
use crate::oid;
use crate::text;
use crate::wire::{fixed, utf8};

/// A PostgreSQL value of a known type, or the raw bytes of any other type.
///
/// [`to_binary`](Self::to_binary) gives PostgreSQL's binary form (what `COPY ... (FORMAT
/// binary)`, `*_send` and logical replication in binary mode carry), [`decode`] reads it
/// back, and [`to_text`](Self::to_text) gives the server's text output for the same value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PgValue {
    /// SQL NULL.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int2`.
    Int2(i16),
    /// `int4`.
    Int4(i32),
    /// `int8`.
    Int8(i64),
    /// `float4`.
    Float4(f32),
    /// `float8`.
    Float8(f64),
    /// `text`.
    Text(String),
    /// `varchar`.
    Varchar(String),
    /// `bpchar` (`char(n)`; the value keeps its padding).
    Bpchar(String),
    /// `name`.
    Name(String),
    /// `bytea`.
    Bytea(Vec<u8>),
    /// `uuid`.
    Uuid([u8; 16]),
    /// `json` (the document's text).
    Json(String),
    /// `jsonb` (the document's text; binary form is a version byte 1 and the text).
    Jsonb(String),
    /// `xml` (the document's text).
    Xml(String),
    /// `date`.
    Date(PgDate),
    /// `time`.
    Time(PgTime),
    /// `timetz`.
    TimeTz(PgTimeTz),
    /// `timestamp`.
    Timestamp(PgTimestamp),
    /// `timestamptz` (microseconds since 2000-01-01 00:00:00 UTC; renders in UTC).
    TimestampTz(PgTimestamp),
    /// `interval`.
    Interval(PgInterval),
    /// `numeric`.
    Numeric(PgNumeric),
    /// `money`, in cents.
    Money(i64),
    /// `inet`.
    Inet(PgInet),
    /// `cidr`.
    Cidr(PgInet),
    /// `macaddr`.
    MacAddr([u8; 6]),
    /// `macaddr8`.
    MacAddr8([u8; 8]),
    /// `bit(n)`.
    Bit(PgBits),
    /// `varbit`.
    Varbit(PgBits),
    /// `point`.
    Point(Point),
    /// `line`.
    Line(Line),
    /// `lseg`.
    Lseg(Lseg),
    /// `box`.
    Box(PgBox),
    /// `path`.
    Path(Path),
    /// `polygon`.
    Polygon(Polygon),
    /// `circle`.
    Circle(Circle),
    /// A range type.
    Range(PgRange),
    /// An array.
    Array(PgArray),
    /// A value of a type this crate does not interpret: its OID and binary bytes.
    Other {
        /// The type OID.
        oid: u32,
        /// The binary bytes.
        data: Bytes,
    },
}

impl PgValue {
    /// The type OID (0 for NULL).
    #[must_use]
    pub fn type_oid(&self) -> u32 {
        match self {
            Self::Null => 0,
            Self::Bool(_) => oid::BOOL,
            Self::Int2(_) => oid::INT2,
            Self::Int4(_) => oid::INT4,
            Self::Int8(_) => oid::INT8,
            Self::Float4(_) => oid::FLOAT4,
            Self::Float8(_) => oid::FLOAT8,
            Self::Text(_) => oid::TEXT,
            Self::Varchar(_) => oid::VARCHAR,
            Self::Bpchar(_) => oid::BPCHAR,
            Self::Name(_) => oid::NAME,
            Self::Bytea(_) => oid::BYTEA,
            Self::Uuid(_) => oid::UUID,
            Self::Json(_) => oid::JSON,
            Self::Jsonb(_) => oid::JSONB,
            Self::Xml(_) => oid::XML,
            Self::Date(_) => oid::DATE,
            Self::Time(_) => oid::TIME,
            Self::TimeTz(_) => oid::TIMETZ,
            Self::Timestamp(_) => oid::TIMESTAMP,
            Self::TimestampTz(_) => oid::TIMESTAMPTZ,
            Self::Interval(_) => oid::INTERVAL,
            Self::Numeric(_) => oid::NUMERIC,
            Self::Money(_) => oid::MONEY,
            Self::Inet(_) => oid::INET,
            Self::Cidr(_) => oid::CIDR,
            Self::MacAddr(_) => oid::MACADDR,
            Self::MacAddr8(_) => oid::MACADDR8,
            Self::Bit(_) => oid::BIT,
            Self::Varbit(_) => oid::VARBIT,
            Self::Point(_) => oid::POINT,
            Self::Line(_) => oid::LINE,
            Self::Lseg(_) => oid::LSEG,
            Self::Box(_) => oid::BOX,
            Self::Path(_) => oid::PATH,
            Self::Polygon(_) => oid::POLYGON,
            Self::Circle(_) => oid::CIRCLE,
            Self::Range(r) => r.kind.oid(),
            Self::Array(a) => a.oid,
            Self::Other { oid, .. } => *oid,
        }
    }

    /// The type tag ([`TypeTag::Null`] for NULL).
    #[must_use]
    pub fn type_tag(&self) -> TypeTag {
        match self {
            Self::Null => TypeTag::Null,
            other => oid::type_tag_from_oid(other.type_oid()),
        }
    }

    /// The binary form, or `None` for NULL.
    #[must_use]
    pub fn to_binary(&self) -> Option<Bytes> {
        let mut out = Vec::new();
        match self {
            Self::Null => return None,
            Self::Bool(v) => out.push(u8::from(*v)),
            Self::Int2(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::Int4(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::Int8(v) | Self::Money(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::Float4(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::Float8(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::Text(s)
            | Self::Varchar(s)
            | Self::Bpchar(s)
            | Self::Name(s)
            | Self::Json(s)
            | Self::Xml(s) => out.extend_from_slice(s.as_bytes()),
            Self::Jsonb(s) => {
                out.push(1);
                out.extend_from_slice(s.as_bytes());
            }
            Self::Bytea(b) => out.extend_from_slice(b),
            Self::Uuid(b) => out.extend_from_slice(b),
            Self::Date(d) => out.extend_from_slice(&d.0.to_be_bytes()),
            Self::Time(t) => out.extend_from_slice(&t.0.to_be_bytes()),
            Self::TimeTz(t) => t.encode(&mut out),
            Self::Timestamp(t) | Self::TimestampTz(t) => out.extend_from_slice(&t.0.to_be_bytes()),
            Self::Interval(i) => i.encode(&mut out),
            Self::Numeric(n) => n.encode(&mut out),
            Self::Inet(a) => a.encode(false, &mut out),
            Self::Cidr(a) => a.encode(true, &mut out),
            Self::MacAddr(m) => out.extend_from_slice(m),
            Self::MacAddr8(m) => out.extend_from_slice(m),
            Self::Bit(b) | Self::Varbit(b) => b.encode(&mut out),
            Self::Point(p) => p.encode(&mut out),
            Self::Line(l) => l.encode(&mut out),
            Self::Lseg(l) => l.encode(&mut out),
            Self::Box(b) => b.encode(&mut out),
            Self::Path(p) => p.encode(&mut out),
            Self::Polygon(p) => p.encode(&mut out),
            Self::Circle(c) => c.encode(&mut out),
            Self::Range(r) => r.encode(&mut out),
            Self::Array(a) => a.encode(&mut out),
            Self::Other { data, .. } => return Some(data.clone()),
        }
        Some(Bytes::from(out))
    }

    /// The protocol's [`ColumnValue`]: the type tag, the OID and the binary bytes
    /// ([`ColumnValue::null`] for NULL).
    #[must_use]
    pub fn to_column_value(&self) -> ColumnValue {
        match self.to_binary() {
            None => ColumnValue::null(),
            Some(data) => ColumnValue::from_pg_binary(self.type_tag(), self.type_oid(), data),
        }
    }

    /// PostgreSQL's text output for this value (DateStyle ISO, TimeZone UTC, IntervalStyle
    /// postgres, bytea_output hex, extra_float_digits 1, lc_monetary C). `None` for NULL and
    /// for values of types this crate does not interpret ([`PgValue::Other`], also inside
    /// arrays and ranges).
    #[must_use]
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Self::Null | Self::Other { .. } => return None,
            Self::Bool(v) => if *v { "t" } else { "f" }.to_owned(),
            Self::Int2(v) => v.to_string(),
            Self::Int4(v) => v.to_string(),
            Self::Int8(v) => v.to_string(),
            Self::Float4(v) => text::float4_text(*v),
            Self::Float8(v) => text::float8_text(*v),
            Self::Text(s)
            | Self::Varchar(s)
            | Self::Bpchar(s)
            | Self::Name(s)
            | Self::Json(s)
            | Self::Jsonb(s)
            | Self::Xml(s) => s.clone(),
            Self::Bytea(b) => text::bytea_hex(b),
            Self::Uuid(b) => uuid_text(b),
            Self::Date(d) => d.to_string(),
            Self::Time(t) => t.to_string(),
            Self::TimeTz(t) => t.to_string(),
            Self::Timestamp(t) => t.to_string(),
            Self::TimestampTz(t) => t.render("+00"),
            Self::Interval(i) => i.to_string(),
            Self::Numeric(n) => n.to_string(),
            Self::Money(m) => text::money_text(*m),
            Self::Inet(a) => a.render(false),
            Self::Cidr(a) => a.render(true),
            Self::MacAddr(m) => mac_text(m),
            Self::MacAddr8(m) => mac_text(m),
            Self::Bit(b) | Self::Varbit(b) => b.to_string(),
            Self::Point(p) => p.to_string(),
            Self::Line(l) => l.to_string(),
            Self::Lseg(l) => l.to_string(),
            Self::Box(b) => b.to_string(),
            Self::Path(p) => p.to_string(),
            Self::Polygon(p) => p.to_string(),
            Self::Circle(c) => c.to_string(),
            Self::Range(r) => return r.render(),
            Self::Array(a) => return a.render(),
        })
    }

    /// A `date` of an astronomical year (0 is 1 BC), month and day; `None` if invalid.
    #[must_use]
    pub fn date(year: i32, month: u32, day: u32) -> Option<Self> {
        PgDate::from_ymd(year, month, day).map(Self::Date)
    }

    /// A `numeric` from a decimal string (`"-12.50"`, `"NaN"`, `"Infinity"`).
    pub fn numeric(decimal: &str) -> Result<Self, ParseNumericError> {
        decimal.parse().map(Self::Numeric)
    }

    /// A `jsonb` value from its text.
    #[must_use]
    pub fn jsonb(text: impl Into<String>) -> Self {
        Self::Jsonb(text.into())
    }

    /// A one-dimensional array of `elements` of type `element_oid`.
    pub fn array(element_oid: u32, elements: Vec<PgValue>) -> Result<Self, ArrayShapeError> {
        PgArray::from_elements(element_oid, elements).map(Self::Array)
    }
}

fn uuid_text(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

fn mac_text(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

macro_rules! from_rust {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for PgValue {
            fn from(v: $t) -> Self {
                Self::$variant(v.into())
            }
        })*
    };
}

from_rust! {
    bool => Bool,
    i16 => Int2,
    i32 => Int4,
    i64 => Int8,
    f32 => Float4,
    f64 => Float8,
    String => Text,
    &str => Text,
    Vec<u8> => Bytea,
    &[u8] => Bytea,
    [u8; 16] => Uuid,
    PgDate => Date,
    PgTime => Time,
    PgTimeTz => TimeTz,
    PgTimestamp => Timestamp,
    PgInterval => Interval,
    PgNumeric => Numeric,
    Point => Point,
    Line => Line,
    Lseg => Lseg,
    PgBox => Box,
    Path => Path,
    Polygon => Polygon,
    Circle => Circle,
    PgRange => Range,
    PgArray => Array,
}

impl From<std::net::IpAddr> for PgValue {
    /// An `inet` host address.
    fn from(addr: std::net::IpAddr) -> Self {
        Self::Inet(PgInet::host(addr))
    }
}

impl<T: Into<PgValue>> From<Option<T>> for PgValue {
    /// `None` is NULL.
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

fn text_of(data: &[u8]) -> Result<String, DecodeProblem> {
    utf8(data)
}

/// Decodes the binary form of a value of type `type_oid`. Types this crate does not
/// interpret give [`PgValue::Other`] with the bytes. Never panics: malformed bytes give a
/// [`PgDecodeError`] naming the type and the problem.
pub fn decode(type_oid: u32, data: &[u8]) -> Result<PgValue, PgDecodeError> {
    decode_inner(type_oid, data).map_err(|problem| PgDecodeError::new(type_oid, problem))
}

/// Decodes a [`ColumnValue`] by its `type_oid`; no data gives [`PgValue::Null`].
pub fn decode_column(value: &ColumnValue) -> Result<PgValue, PgDecodeError> {
    match &value.data {
        None => Ok(PgValue::Null),
        Some(data) if oid::type_tag_from_oid(value.type_oid) == TypeTag::Custom => {
            Ok(PgValue::Other {
                oid: value.type_oid,
                data: data.clone(),
            })
        }
        Some(data) => decode(value.type_oid, data),
    }
}

fn decode_inner(type_oid: u32, data: &[u8]) -> Result<PgValue, DecodeProblem> {
    Ok(match type_oid {
        oid::BOOL => match fixed::<1>(data)? {
            [0] => PgValue::Bool(false),
            [1] => PgValue::Bool(true),
            [other] => {
                return Err(DecodeProblem::Invalid {
                    field: "bool byte",
                    value: other.into(),
                })
            }
        },
        oid::INT2 => PgValue::Int2(i16::from_be_bytes(fixed(data)?)),
        oid::INT4 => PgValue::Int4(i32::from_be_bytes(fixed(data)?)),
        oid::INT8 => PgValue::Int8(i64::from_be_bytes(fixed(data)?)),
        oid::MONEY => PgValue::Money(i64::from_be_bytes(fixed(data)?)),
        oid::FLOAT4 => PgValue::Float4(f32::from_be_bytes(fixed(data)?)),
        oid::FLOAT8 => PgValue::Float8(f64::from_be_bytes(fixed(data)?)),
        oid::TEXT => PgValue::Text(text_of(data)?),
        oid::VARCHAR => PgValue::Varchar(text_of(data)?),
        oid::BPCHAR => PgValue::Bpchar(text_of(data)?),
        oid::NAME => PgValue::Name(text_of(data)?),
        oid::JSON => PgValue::Json(text_of(data)?),
        oid::XML => PgValue::Xml(text_of(data)?),
        oid::JSONB => match data.split_first() {
            Some((1, rest)) => PgValue::Jsonb(text_of(rest)?),
            Some((&version, _)) => {
                return Err(DecodeProblem::Invalid {
                    field: "jsonb version",
                    value: version.into(),
                })
            }
            None => {
                return Err(DecodeProblem::Truncated {
                    offset: 0,
                    needed: 1,
                    available: 0,
                })
            }
        },
        oid::BYTEA => PgValue::Bytea(data.to_vec()),
        oid::UUID => PgValue::Uuid(fixed(data)?),
        oid::DATE => PgValue::Date(PgDate::decode(data)?),
        oid::TIME => PgValue::Time(PgTime::decode(data)?),
        oid::TIMETZ => PgValue::TimeTz(PgTimeTz::decode(data)?),
        oid::TIMESTAMP => PgValue::Timestamp(PgTimestamp::decode(data)?),
        oid::TIMESTAMPTZ => PgValue::TimestampTz(PgTimestamp::decode(data)?),
        oid::INTERVAL => PgValue::Interval(PgInterval::decode(data)?),
        oid::NUMERIC => PgValue::Numeric(PgNumeric::decode(data)?),
        oid::INET => PgValue::Inet(PgInet::decode(data, false)?),
        oid::CIDR => PgValue::Cidr(PgInet::decode(data, true)?),
        oid::MACADDR => PgValue::MacAddr(fixed(data)?),
        oid::MACADDR8 => PgValue::MacAddr8(fixed(data)?),
        oid::BIT => PgValue::Bit(PgBits::decode(data)?),
        oid::VARBIT => PgValue::Varbit(PgBits::decode(data)?),
        oid::POINT => PgValue::Point(Point::decode(data)?),
        oid::LINE => PgValue::Line(Line::decode(data)?),
        oid::LSEG => PgValue::Lseg(Lseg::decode(data)?),
        oid::BOX => PgValue::Box(PgBox::decode(data)?),
        oid::PATH => PgValue::Path(Path::decode(data)?),
        oid::POLYGON => PgValue::Polygon(Polygon::decode(data)?),
        oid::CIRCLE => PgValue::Circle(Circle::decode(data)?),
        other => {
            if let Some(kind) = RangeKind::from_oid(other) {
                PgValue::Range(PgRange::decode(kind, data)?)
            } else if oid::array_element_oid(other).is_some() {
                PgValue::Array(PgArray::decode(other, data)?)
            } else {
                PgValue::Other {
                    oid: other,
                    data: Bytes::copy_from_slice(data),
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &PgValue) -> String {
        let bytes = v.to_binary().unwrap();
        let back = decode(v.type_oid(), &bytes).unwrap();
        assert_eq!(&back, v);
        v.to_text().unwrap()
    }

    #[test]
    fn scalars_encode_decode_and_render() {
        assert_eq!(round_trip(&PgValue::from(true)), "t");
        assert_eq!(round_trip(&PgValue::from(-5i16)), "-5");
        assert_eq!(round_trip(&PgValue::from(i32::MIN)), "-2147483648");
        assert_eq!(round_trip(&PgValue::from(i64::MAX)), "9223372036854775807");
        assert_eq!(round_trip(&PgValue::from(1.5e-7f64)), "1.5e-07");
        assert_eq!(round_trip(&PgValue::from(f32::NEG_INFINITY)), "-Infinity");
        assert_eq!(round_trip(&PgValue::from("héllo")), "héllo");
        assert_eq!(round_trip(&PgValue::from(vec![0xde, 0xad])), "\\xdead");
        assert_eq!(round_trip(&PgValue::jsonb("{\"a\": 1}")), "{\"a\": 1}");
        assert_eq!(round_trip(&PgValue::numeric("-1.50").unwrap()), "-1.50");
        assert_eq!(round_trip(&PgValue::Money(-123_456)), "-$1,234.56");
        assert_eq!(
            round_trip(&PgValue::Uuid([
                0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
                0x0a, 0x11
            ])),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
        assert_eq!(
            round_trip(&PgValue::MacAddr([8, 0, 0x2b, 1, 2, 3])),
            "08:00:2b:01:02:03"
        );
        assert_eq!(
            round_trip(&PgValue::from("::1".parse::<std::net::IpAddr>().unwrap())),
            "::1"
        );
        assert_eq!(
            round_trip(&PgValue::date(1999, 12, 31).unwrap()),
            "1999-12-31"
        );
        assert_eq!(PgValue::jsonb("1").to_binary().unwrap()[..], [1, b'1']);
    }

    #[test]
    fn column_values_carry_tag_and_oid() {
        let cv = PgValue::from(42i32).to_column_value();
        assert_eq!(
            cv,
            ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 42])
        );
        assert_eq!(PgValue::Null.to_column_value(), ColumnValue::null());
        let arr = PgValue::array(oid::INT8, vec![PgValue::Int8(1), PgValue::Null]).unwrap();
        let cv = arr.to_column_value();
        assert_eq!(
            (cv.type_tag, cv.type_oid),
            (TypeTag::Array, oid::INT8_ARRAY)
        );
        assert_eq!(decode_column(&cv).unwrap(), arr);
        assert_eq!(arr.to_text().as_deref(), Some("{1,NULL}"));
        let vc = PgValue::Varchar("x".into()).to_column_value();
        assert_eq!((vc.type_tag, vc.type_oid), (TypeTag::Text, oid::VARCHAR));
        assert_eq!(decode_column(&ColumnValue::null()), Ok(PgValue::Null));
        assert_eq!(PgValue::from(None::<i32>), PgValue::Null);
    }

    #[test]
    fn unknown_types_are_kept_raw_and_not_rendered() {
        let v = decode(oid::OID, &[0, 0, 0, 7]).unwrap();
        assert_eq!(
            v,
            PgValue::Other {
                oid: oid::OID,
                data: Bytes::from_static(&[0, 0, 0, 7])
            }
        );
        assert_eq!(v.to_text(), None);
        assert_eq!(v.type_tag(), TypeTag::Custom);
        assert_eq!(v.to_binary().unwrap()[..], [0, 0, 0, 7]);
    }

    #[test]
    fn errors_name_the_type_and_problem() {
        assert_eq!(
            decode(oid::INT4, &[1, 2]).unwrap_err().to_string(),
            "cannot decode int4 (OID 23): expected 4 bytes, got 2"
        );
        assert_eq!(
            decode(oid::BOOL, &[2]).unwrap_err().to_string(),
            "cannot decode bool (OID 16): invalid bool byte: 2"
        );
        assert_eq!(
            decode(oid::TEXT, &[0x66, 0xff]).unwrap_err().to_string(),
            "cannot decode text (OID 25): invalid UTF-8 at byte 1"
        );
        assert_eq!(
            decode(oid::JSONB, &[2, b'1']).unwrap_err().to_string(),
            "cannot decode jsonb (OID 3802): invalid jsonb version: 2"
        );
        assert!(decode(oid::JSONB, &[]).is_err());
    }

    /// Random bytes of random lengths, decoded as every type this crate knows, give a value
    /// or an error, never a panic, and any value decoded renders and re-encodes.
    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let oids: Vec<u32> = (0..5000).filter(|&o| oid::type_name(o).is_some()).collect();
        assert_eq!(oids.len(), 88);
        for _ in 0..20_000 {
            let r = next();
            let type_oid = oids[(r % oids.len() as u64) as usize];
            let len = (next() % 48) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Give arrays a plausible header now and then, so element decoding runs.
            if let (Some(element), true) = (oid::array_element_oid(type_oid), r % 3 == 0) {
                let mut header = vec![0, 0, 0, 1, 0, 0, 0, 0];
                header.extend_from_slice(&element.to_be_bytes());
                header.extend_from_slice(&[0, 0, 0, (len / 8) as u8, 0, 0, 0, 1]);
                header.extend_from_slice(&data);
                data = header;
            }
            if let Ok(v) = decode(type_oid, &data) {
                let _ = v.to_text();
                let _ = v.to_binary();
            }
        }
    }

    /// Every prefix of every valid encoding, and every single-byte corruption, decodes to a
    /// value or an error without panicking.
    #[test]
    fn malformed_bytes_never_panic() {
        let samples = [
            PgValue::numeric("12345.678").unwrap(),
            PgValue::array(
                oid::TEXT,
                vec![PgValue::from("a"), PgValue::Null, PgValue::from("bc")],
            )
            .unwrap(),
            PgValue::Range(PgRange::new(
                RangeKind::Num,
                RangeBound::Inclusive(Box::new(PgValue::numeric("1.5").unwrap())),
                RangeBound::Unbounded,
            )),
            PgValue::Path(Path {
                closed: false,
                points: vec![Point { x: 1.0, y: 2.0 }],
            }),
            PgValue::Varbit(PgBits::from_bit_str("10110").unwrap()),
            PgValue::Cidr(PgInet {
                addr: "10.0.0.0".parse().unwrap(),
                bits: 8,
            }),
        ];
        for v in &samples {
            let bytes = v.to_binary().unwrap();
            for cut in 0..bytes.len() {
                let _ = decode(v.type_oid(), &bytes[..cut]);
            }
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut b = bytes.to_vec();
                    b[i] ^= flip;
                    let _ = decode(v.type_oid(), &b);
                }
            }
        }
    }
}
