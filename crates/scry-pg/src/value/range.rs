//! Range types: `int4range`, `int8range`, `numrange`, `tsrange`, `tstzrange`, `daterange`.

use crate::error::DecodeProblem;
use crate::oid;
use crate::text::push_range_bound;
use crate::value::PgValue;
use crate::wire::Cursor;

const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;
const KNOWN: u8 = EMPTY | LB_INC | UB_INC | LB_INF | UB_INF;

/// Which built-in range type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// `int4range` of `int4`.
    Int4,
    /// `int8range` of `int8`.
    Int8,
    /// `numrange` of `numeric`.
    Num,
    /// `tsrange` of `timestamp`.
    Ts,
    /// `tstzrange` of `timestamptz`.
    TsTz,
    /// `daterange` of `date`.
    Date,
}

impl RangeKind {
    /// The range type's OID.
    #[must_use]
    pub const fn oid(self) -> u32 {
        match self {
            Self::Int4 => oid::INT4RANGE,
            Self::Int8 => oid::INT8RANGE,
            Self::Num => oid::NUMRANGE,
            Self::Ts => oid::TSRANGE,
            Self::TsTz => oid::TSTZRANGE,
            Self::Date => oid::DATERANGE,
        }
    }

    /// The OID of the bounds' type.
    #[must_use]
    pub const fn subtype_oid(self) -> u32 {
        match self {
            Self::Int4 => oid::INT4,
            Self::Int8 => oid::INT8,
            Self::Num => oid::NUMERIC,
            Self::Ts => oid::TIMESTAMP,
            Self::TsTz => oid::TIMESTAMPTZ,
            Self::Date => oid::DATE,
        }
    }

    /// The kind of a range type OID, or `None`.
    #[must_use]
    pub const fn from_oid(oid: u32) -> Option<Self> {
        Some(match oid {
            oid::INT4RANGE => Self::Int4,
            oid::INT8RANGE => Self::Int8,
            oid::NUMRANGE => Self::Num,
            oid::TSRANGE => Self::Ts,
            oid::TSTZRANGE => Self::TsTz,
            oid::DATERANGE => Self::Date,
            _ => return None,
        })
    }
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBound {
    /// No bound (infinite).
    Unbounded,
    /// `[v` or `v]`.
    Inclusive(Box<PgValue>),
    /// `(v` or `v)`.
    Exclusive(Box<PgValue>),
}

impl RangeBound {
    fn value(&self) -> Option<&PgValue> {
        match self {
            Self::Unbounded => None,
            Self::Inclusive(v) | Self::Exclusive(v) => Some(v),
        }
    }
}

/// A range value. The bounds are values of the kind's subtype; PostgreSQL's canonical form
/// (`[a,b)` for discrete types) is what the server sends, and is kept as given.
#[derive(Debug, Clone, PartialEq)]
pub struct PgRange {
    /// The range type.
    pub kind: RangeKind,
    /// True for `empty` (then both bounds are [`RangeBound::Unbounded`] and ignored).
    pub empty: bool,
    /// The lower bound.
    pub lower: RangeBound,
    /// The upper bound.
    pub upper: RangeBound,
}

impl PgRange {
    /// The empty range of `kind`.
    #[must_use]
    pub fn empty(kind: RangeKind) -> Self {
        Self {
            kind,
            empty: true,
            lower: RangeBound::Unbounded,
            upper: RangeBound::Unbounded,
        }
    }

    /// A range with these bounds.
    #[must_use]
    pub fn new(kind: RangeKind, lower: RangeBound, upper: RangeBound) -> Self {
        Self {
            kind,
            empty: false,
            lower,
            upper,
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        if self.empty {
            out.push(EMPTY);
            return;
        }
        let flags = match &self.lower {
            RangeBound::Unbounded => LB_INF,
            RangeBound::Inclusive(_) => LB_INC,
            RangeBound::Exclusive(_) => 0,
        } | match &self.upper {
            RangeBound::Unbounded => UB_INF,
            RangeBound::Inclusive(_) => UB_INC,
            RangeBound::Exclusive(_) => 0,
        };
        out.push(flags);
        for bound in [&self.lower, &self.upper] {
            if let Some(v) = bound.value() {
                let bytes = v.to_binary().unwrap_or_default();
                out.extend_from_slice(&crate::wire::len_i32(bytes.len()).to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }

    pub(crate) fn decode(kind: RangeKind, data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let flags = c.u8()?;
        if flags & !KNOWN != 0 {
            return Err(DecodeProblem::Invalid {
                field: "range flags",
                value: flags.into(),
            });
        }
        if flags & EMPTY != 0 {
            c.finish()?;
            return Ok(Self::empty(kind));
        }
        let mut bound =
            |which: &'static str, inf: u8, inc: u8| -> Result<RangeBound, DecodeProblem> {
                if flags & inf != 0 {
                    return Ok(RangeBound::Unbounded);
                }
                let n = c.i32()?;
                let len = usize::try_from(n).map_err(|_| DecodeProblem::Invalid {
                    field: "range bound length",
                    value: n.into(),
                })?;
                let bytes = c.take(len)?;
                let value = crate::value::decode(kind.subtype_oid(), bytes).map_err(|e| {
                    DecodeProblem::Bound {
                        which,
                        source: Box::new(e),
                    }
                })?;
                Ok(if flags & inc != 0 {
                    RangeBound::Inclusive(Box::new(value))
                } else {
                    RangeBound::Exclusive(Box::new(value))
                })
            };
        let lower = bound("lower", LB_INF, LB_INC)?;
        let upper = bound("upper", UB_INF, UB_INC)?;
        c.finish()?;
        Ok(Self::new(kind, lower, upper))
    }

    /// `range_out`: `[1,5)`, `(,"2020-01-01 00:00:00"]`, `empty`. `None` when a bound has no
    /// text form.
    pub(crate) fn render(&self) -> Option<String> {
        if self.empty {
            return Some("empty".to_owned());
        }
        let mut s = String::with_capacity(32);
        s.push(if matches!(self.lower, RangeBound::Inclusive(_)) {
            '['
        } else {
            '('
        });
        if let Some(v) = self.lower.value() {
            push_range_bound(&mut s, &v.to_text()?);
        }
        s.push(',');
        if let Some(v) = self.upper.value() {
            push_range_bound(&mut s, &v.to_text()?);
        }
        s.push(if matches!(self.upper, RangeBound::Inclusive(_)) {
            ']'
        } else {
            ')'
        });
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{PgDate, PgTimestamp};

    fn int4(v: i32) -> Box<PgValue> {
        Box::new(PgValue::Int4(v))
    }

    #[test]
    fn binary_and_text() {
        let r = PgRange::new(
            RangeKind::Int4,
            RangeBound::Inclusive(int4(1)),
            RangeBound::Exclusive(int4(5)),
        );
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out, [0x02, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 5]);
        assert_eq!(PgRange::decode(RangeKind::Int4, &out), Ok(r.clone()));
        assert_eq!(r.render().as_deref(), Some("[1,5)"));

        let e = PgRange::empty(RangeKind::Date);
        let mut out = Vec::new();
        e.encode(&mut out);
        assert_eq!(out, [0x01]);
        assert_eq!(e.render().as_deref(), Some("empty"));

        let ts = PgRange::new(
            RangeKind::Ts,
            RangeBound::Unbounded,
            RangeBound::Inclusive(Box::new(PgValue::Timestamp(PgTimestamp(0)))),
        );
        assert_eq!(ts.render().as_deref(), Some("(,\"2000-01-01 00:00:00\"]"));
        let d = PgRange::new(
            RangeKind::Date,
            RangeBound::Inclusive(Box::new(PgValue::Date(PgDate::NEG_INFINITY))),
            RangeBound::Unbounded,
        );
        assert_eq!(d.render().as_deref(), Some("[-infinity,)"));
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out[0], LB_INC | UB_INF);
    }

    #[test]
    fn malformed_ranges_are_errors() {
        assert_eq!(
            PgRange::decode(RangeKind::Int4, &[0x80]),
            Err(DecodeProblem::Invalid {
                field: "range flags",
                value: 0x80
            })
        );
        assert_eq!(
            PgRange::decode(RangeKind::Int4, &[0x01, 0]),
            Err(DecodeProblem::Trailing { count: 1 })
        );
        let bad_bound = PgRange::decode(RangeKind::Int4, &[0x10, 0, 0, 0, 2, 0, 1]);
        assert_eq!(
            bad_bound.unwrap_err().to_string(),
            "lower bound: cannot decode int4 (OID 23): expected 4 bytes, got 2"
        );
        assert!(matches!(
            PgRange::decode(RangeKind::Int4, &[0x10, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeProblem::Invalid { .. })
        ));
    }
}
