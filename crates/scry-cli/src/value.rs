//! One column value as text: PostgreSQL's own text output where the value decodes, marked
//! hex where it does not.

use scry_types::{ColumnValue, TypeTag};

/// How a column value reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueText {
    /// SQL NULL: no data (with any tag but `ToastUnchanged`).
    Null,
    /// The unchanged-TOAST marker of an UPDATE.
    Unchanged,
    /// PostgreSQL's text output of the value.
    Text(String),
    /// The value's bytes, because they have no text form here; `why` says why.
    Hex {
        /// `\x` followed by the bytes in lower-case hex (as PostgreSQL writes a `bytea`).
        hex: String,
        /// Why there is no text form.
        why: String,
    },
}

impl ValueText {
    /// Renders `value`.
    pub fn of(value: &ColumnValue) -> Self {
        if value.type_tag == TypeTag::ToastUnchanged && value.data.is_none() {
            return Self::Unchanged;
        }
        let Some(data) = value.data.as_deref() else {
            return Self::Null;
        };
        match pg_text(value) {
            Ok(text) => Self::Text(text),
            Err(why) => Self::Hex {
                hex: format!("\\x{}", hex(data)),
                why,
            },
        }
    }

    /// The PostgreSQL text, when there is one.
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// PostgreSQL's text output of a value with data (through scry-pg), or why there is none.
///
/// The value is decoded as its `type_oid` says; when scry-pg does not know that OID (0, or a
/// user-defined type) but the tag names one type (`Int32`), as the tag's type.
fn pg_text(value: &ColumnValue) -> Result<String, String> {
    let oid = match value.type_tag {
        TypeTag::Null => return Err("Null tag with data".to_owned()),
        TypeTag::ToastUnchanged => return Err("unchanged-TOAST marker with data".to_owned()),
        tag if scry_pg::type_tag_from_oid(value.type_oid) == TypeTag::Custom => {
            scry_pg::canonical_oid(tag).unwrap_or(value.type_oid)
        }
        _ => value.type_oid,
    };
    let data = value.data.as_deref().unwrap_or_default();
    let decoded = scry_pg::decode(oid, data).map_err(|e| e.to_string())?;
    decoded
        .to_text()
        .ok_or_else(|| match scry_pg::oid::type_name(oid) {
            Some(name) => format!("{name} value without a text form here"),
            None => format!("unknown type (OID {oid})"),
        })
}

/// `bytes` in lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Why a hex string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// An odd number of digits.
    #[error("hex string has an odd number of digits ({0})")]
    OddLength(usize),
    /// A character that is no hex digit.
    #[error("{found:?} at position {at} is not a hex digit")]
    NotHex {
        /// Its position (in characters).
        at: usize,
        /// The character.
        found: char,
    },
}

/// The bytes a hex string (either case, no prefix) spells.
pub fn unhex(text: &str) -> Result<Vec<u8>, HexError> {
    let chars: Vec<char> = text.chars().collect();
    if !chars.len().is_multiple_of(2) {
        return Err(HexError::OddLength(chars.len()));
    }
    let digit = |at: usize, c: char| {
        c.to_digit(16)
            .map(|d| d as u8)
            .ok_or(HexError::NotHex { at, found: c })
    };
    chars
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match pair {
            [hi, lo] => Ok(digit(2 * i, *hi)? << 4 | digit(2 * i + 1, *lo)?),
            _ => Err(HexError::OddLength(chars.len())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0x00, 0x2a, 0xff]), "002aff");
        assert_eq!(unhex("002aFF"), Ok(vec![0x00, 0x2a, 0xff]));
        assert_eq!(unhex(""), Ok(vec![]));
        assert_eq!(unhex("abc"), Err(HexError::OddLength(3)));
        assert_eq!(unhex("0g"), Err(HexError::NotHex { at: 1, found: 'g' }));
    }

    #[test]
    fn null_and_unchanged() {
        assert_eq!(ValueText::of(&ColumnValue::null()), ValueText::Null);
        assert_eq!(
            ValueText::of(&ColumnValue::unchanged(25)),
            ValueText::Unchanged
        );
        let typed_null = ColumnValue {
            type_tag: TypeTag::Int32,
            type_oid: 23,
            data: None,
        };
        assert_eq!(ValueText::of(&typed_null), ValueText::Null);
        assert_eq!(
            ValueText::of(&ColumnValue::from_pg_binary(TypeTag::Null, 0, vec![1, 2])),
            ValueText::Hex {
                hex: "\\x0102".to_owned(),
                why: "Null tag with data".to_owned()
            }
        );
    }

    fn text_of(tag: TypeTag, oid: u32, data: &[u8]) -> ValueText {
        ValueText::of(&ColumnValue::from_pg_binary(tag, oid, data.to_vec()))
    }

    #[test]
    fn values_read_as_postgres_text() {
        let text = |s: &str| ValueText::Text(s.to_owned());
        assert_eq!(
            text_of(TypeTag::Int32, 23, &(-7i32).to_be_bytes()),
            text("-7")
        );
        assert_eq!(text_of(TypeTag::Bool, 16, &[1]), text("t"));
        assert_eq!(text_of(TypeTag::Text, 25, "né".as_bytes()), text("né"));
        assert_eq!(text_of(TypeTag::Bytea, 17, &[0xde, 0xad]), text("\\xdead"));
        // 2024-03-01 12:00:00 UTC as microseconds since 2000-01-01.
        assert_eq!(
            text_of(
                TypeTag::TimestampTz,
                1184,
                &762_609_600_000_000i64.to_be_bytes()
            ),
            text("2024-03-01 12:00:00+00")
        );
    }

    #[test]
    fn an_unknown_oid_falls_back_to_the_tag() {
        assert_eq!(
            text_of(TypeTag::Int64, 0, &5i64.to_be_bytes()),
            ValueText::Text("5".to_owned())
        );
    }

    #[test]
    fn unknown_types_and_bad_bytes_are_marked_hex() {
        assert_eq!(
            text_of(TypeTag::Custom, 16_999, &[1, 2]),
            ValueText::Hex {
                hex: "\\x0102".to_owned(),
                why: "unknown type (OID 16999)".to_owned()
            }
        );
        assert_eq!(
            text_of(TypeTag::Int32, 23, &[0, 1]),
            ValueText::Hex {
                hex: "\\x0001".to_owned(),
                why: "cannot decode int4 (OID 23): expected 4 bytes, got 2".to_owned()
            }
        );
    }
}
