//! [`PgNumeric`]: `numeric` in PostgreSQL's base-10000 binary form.

use std::fmt;
use std::str::FromStr;

use crate::error::DecodeProblem;
use crate::wire::Cursor;

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;
/// The largest display scale PostgreSQL stores (`NUMERIC_DSCALE_MAX`).
const DSCALE_MAX: u16 = 0x3FFF;
const NBASE: i16 = 10_000;

/// The sign word of a `numeric`: a finite number's sign, or one of the special values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumericSign {
    /// A positive number or zero (`0x0000`).
    Positive,
    /// A negative number (`0x4000`).
    Negative,
    /// `NaN` (`0xC000`).
    NaN,
    /// `Infinity` (`0xD000`).
    Infinity,
    /// `-Infinity` (`0xF000`).
    NegInfinity,
}

impl NumericSign {
    const fn word(self) -> u16 {
        match self {
            Self::Positive => SIGN_POS,
            Self::Negative => SIGN_NEG,
            Self::NaN => SIGN_NAN,
            Self::Infinity => SIGN_PINF,
            Self::NegInfinity => SIGN_NINF,
        }
    }

    const fn from_word(word: u16) -> Option<Self> {
        Some(match word {
            SIGN_POS => Self::Positive,
            SIGN_NEG => Self::Negative,
            SIGN_NAN => Self::NaN,
            SIGN_PINF => Self::Infinity,
            SIGN_NINF => Self::NegInfinity,
            _ => return None,
        })
    }

    /// True for NaN and the infinities.
    #[must_use]
    pub const fn is_special(self) -> bool {
        matches!(self, Self::NaN | Self::Infinity | Self::NegInfinity)
    }
}

/// A `numeric` value exactly as PostgreSQL sends it: the sign word, the weight (power of
/// 10000) of the first digit, the display scale and the base-10000 digits, so that encoding a
/// decoded value gives back the same bytes. For NaN and ±Infinity the digits are empty and
/// weight and scale carry whatever the sender put there (PostgreSQL ignores them).
///
/// Parse one from a decimal string with [`str::parse`] and render it with `Display`, which
/// writes PostgreSQL's text output (`"-12.3400"`, `"NaN"`, `"Infinity"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PgNumeric {
    /// The sign, or the special value.
    pub sign: NumericSign,
    /// The power of 10000 of the first digit.
    pub weight: i16,
    /// Digits after the decimal point to display.
    pub dscale: u16,
    /// Base-10000 digits, each 0..=9999, most significant first. The binary form counts them
    /// in 16 bits, so it holds at most 65535; the binary form of a longer list carries its
    /// first 65535 digits. (Neither the decoder nor `str::parse` makes a longer one.)
    pub digits: Vec<i16>,
}

/// A string is not a decimal number (`[-+]digits[.digits]`, `NaN`, `Infinity`, `-Infinity`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a decimal number")]
pub struct ParseNumericError {
    /// The input.
    pub input: String,
}

impl PgNumeric {
    /// `NaN`.
    #[must_use]
    pub const fn nan() -> Self {
        Self::special(NumericSign::NaN)
    }

    /// `Infinity`.
    #[must_use]
    pub const fn infinity() -> Self {
        Self::special(NumericSign::Infinity)
    }

    /// `-Infinity`.
    #[must_use]
    pub const fn neg_infinity() -> Self {
        Self::special(NumericSign::NegInfinity)
    }

    const fn special(sign: NumericSign) -> Self {
        Self {
            sign,
            weight: 0,
            dscale: 0,
            digits: Vec::new(),
        }
    }

    fn finite(negative: bool, weight: i16, dscale: u16, digits: Vec<i16>) -> Self {
        if digits.is_empty() {
            return Self {
                sign: NumericSign::Positive,
                weight: 0,
                dscale,
                digits,
            };
        }
        Self {
            sign: if negative {
                NumericSign::Negative
            } else {
                NumericSign::Positive
            },
            weight,
            dscale,
            digits,
        }
    }
}

impl FromStr for PgNumeric {
    type Err = ParseNumericError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseNumericError {
            input: s.to_owned(),
        };
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Self::nan()),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Self::infinity()),
            "-infinity" | "-inf" => return Ok(Self::neg_infinity()),
            _ => {}
        }
        let (negative, unsigned) = match t.as_bytes().first() {
            Some(b'-') => (true, t.get(1..).unwrap_or_default()),
            Some(b'+') => (false, t.get(1..).unwrap_or_default()),
            _ => (false, t),
        };
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(err());
        }
        let dscale = u16::try_from(frac_part.len())
            .ok()
            .filter(|&d| d <= DSCALE_MAX)
            .ok_or_else(err)?;
        let int_part = int_part.trim_start_matches('0');
        // Pad the integer part on the left and the fraction on the right to whole groups.
        let int_pad = (4 - int_part.len() % 4) % 4;
        let frac_pad = (4 - frac_part.len() % 4) % 4;
        let mut decimal: Vec<u8> = Vec::with_capacity(int_pad + unsigned.len() + frac_pad);
        decimal.extend(std::iter::repeat_n(0, int_pad));
        decimal.extend(int_part.bytes().map(|b| b - b'0'));
        decimal.extend(frac_part.bytes().map(|b| b - b'0'));
        decimal.extend(std::iter::repeat_n(0, frac_pad));
        let int_groups = (int_pad + int_part.len()) / 4;
        let mut digits: Vec<i16> = decimal
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, &d| acc * 10 + i16::from(d)))
            .collect();
        let mut weight = i32::try_from(int_groups).map_err(|_| err())? - 1;
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        weight -= i32::try_from(leading).map_err(|_| err())?;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let weight = if digits.is_empty() {
            0
        } else {
            i16::try_from(weight).map_err(|_| err())?
        };
        Ok(Self::finite(negative, weight, dscale, digits))
    }
}

impl From<i64> for PgNumeric {
    fn from(v: i64) -> Self {
        let mut digits = Vec::new();
        let mut rest = v.unsigned_abs();
        while rest > 0 {
            // The remainder is below 10000.
            digits.push(i16::try_from(rest % 10_000).unwrap_or_default());
            rest /= 10_000;
        }
        let weight = i16::try_from(digits.len()).unwrap_or_default() - 1;
        digits.reverse();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Self::finite(v < 0, weight, 0, digits)
    }
}

impl PgNumeric {
    /// Appends the binary form.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        // `numeric_recv` reads the count unsigned: up to 65535 digits.
        let ndigits = u16::try_from(self.digits.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&ndigits.to_be_bytes());
        out.extend_from_slice(&self.weight.to_be_bytes());
        out.extend_from_slice(&self.sign.word().to_be_bytes());
        out.extend_from_slice(&self.dscale.to_be_bytes());
        for d in &self.digits[..usize::from(ndigits)] {
            out.extend_from_slice(&d.to_be_bytes());
        }
    }

    /// Reads the binary form.
    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        // Unsigned, as `numeric_recv` reads it: a sender may write up to 65535 digits, and the
        // server keeps those the display scale does not cut off.
        let count = usize::from(c.u16()?);
        let weight = c.i16()?;
        let sign = c.u16()?;
        let dscale = c.u16()?;
        let sign = NumericSign::from_word(sign).ok_or(DecodeProblem::Invalid {
            field: "numeric sign",
            value: i64::from(sign),
        })?;
        if sign.is_special() {
            c.finish()?;
            return Ok(Self {
                sign,
                weight,
                dscale,
                digits: Vec::new(),
            });
        }
        if dscale > DSCALE_MAX {
            return Err(DecodeProblem::Invalid {
                field: "numeric display scale",
                value: i64::from(dscale),
            });
        }
        let mut digits = Vec::with_capacity(count.min(c.remaining() / 2));
        for _ in 0..count {
            let d = c.i16()?;
            if !(0..NBASE).contains(&d) {
                return Err(DecodeProblem::Invalid {
                    field: "numeric digit",
                    value: i64::from(d),
                });
            }
            digits.push(d);
        }
        c.finish()?;
        Ok(Self {
            sign,
            weight,
            dscale,
            digits,
        })
    }
}

impl fmt::Display for PgNumeric {
    /// PostgreSQL's `numeric_out` of the value `numeric_recv` makes of these fields: every
    /// integer digit without leading zeros, then exactly `dscale` fraction digits (digits
    /// beyond them are cut off, not rounded). A value that is zero after the cut has no sign,
    /// whatever the sign word said.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;

        let negative = match self.sign {
            NumericSign::NaN => return f.write_str("NaN"),
            NumericSign::Infinity => return f.write_str("Infinity"),
            NumericSign::NegInfinity => return f.write_str("-Infinity"),
            NumericSign::Positive => false,
            NumericSign::Negative => true,
        };
        let (weight, dscale, digits) = (
            i32::from(self.weight),
            usize::from(self.dscale),
            &self.digits,
        );
        // The group at power `weight - i` of 10000; zero outside the digits.
        let digit = |i: i32| -> i16 {
            usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i))
                .copied()
                .unwrap_or(0)
        };
        let mut s = String::new();
        // Integer part: from the first nonzero group (a sender may put leading zero groups;
        // past the digits every group is zero).
        let last = weight.min(i32::try_from(digits.len()).unwrap_or(i32::MAX) - 1);
        match (0..=last).find(|&i| digit(i) != 0) {
            Some(first) => {
                write!(s, "{}", digit(first))?;
                for i in first + 1..=weight {
                    write!(s, "{:04}", digit(i))?;
                }
            }
            None => s.push('0'),
        }
        if dscale > 0 {
            s.push('.');
            let point = s.len();
            let mut i = weight + 1;
            while s.len() - point < dscale {
                write!(s, "{:04}", digit(i))?;
                i += 1;
            }
            s.truncate(point + dscale);
        }
        if negative && s.bytes().any(|b| matches!(b, b'1'..=b'9')) {
            f.write_str("-")?;
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> (Vec<u8>, String) {
        let n: PgNumeric = text.parse().unwrap();
        let mut bytes = Vec::new();
        n.encode(&mut bytes);
        let back = PgNumeric::decode(&bytes).unwrap();
        assert_eq!(back, n);
        (bytes, back.to_string())
    }

    #[test]
    fn parses_into_base_10000_groups() {
        assert_eq!(
            "12345.678".parse::<PgNumeric>().unwrap(),
            PgNumeric::finite(false, 1, 3, vec![1, 2345, 6780])
        );
        assert_eq!(
            "-0.00012".parse::<PgNumeric>().unwrap(),
            PgNumeric::finite(true, -1, 5, vec![1, 2000])
        );
        assert_eq!(
            "100000000".parse::<PgNumeric>().unwrap(),
            PgNumeric::finite(false, 2, 0, vec![1])
        );
        assert_eq!(
            "-0.000".parse::<PgNumeric>().unwrap(),
            PgNumeric {
                sign: NumericSign::Positive,
                weight: 0,
                dscale: 3,
                digits: vec![],
            }
        );
        assert_eq!(PgNumeric::from(-1_0000_0002), "-100000002".parse().unwrap());
        assert_eq!(PgNumeric::from(0), "0".parse().unwrap());
        assert!("1e5".parse::<PgNumeric>().is_err());
        assert!(".".parse::<PgNumeric>().is_err());
        assert_eq!(
            "12a".parse::<PgNumeric>().unwrap_err().to_string(),
            "\"12a\" is not a decimal number"
        );
    }

    #[test]
    fn binary_and_text_match_postgres() {
        // SELECT numeric_send('12345.678') = 0003 0001 0000 0003 0001 0929 1a7c
        let (bytes, text) = roundtrip("12345.678");
        assert_eq!(
            bytes,
            [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        assert_eq!(text, "12345.678");
        assert_eq!(roundtrip("-0.00012").1, "-0.00012");
        assert_eq!(roundtrip("0.000").1, "0.000");
        assert_eq!(roundtrip("100000000").1, "100000000");
        assert_eq!(roundtrip("007.50").1, "7.50");
        assert_eq!(roundtrip("NaN").1, "NaN");
        assert_eq!(roundtrip("-Infinity").1, "-Infinity");
        assert_eq!(roundtrip("Infinity").0, [0, 0, 0, 0, 0xD0, 0, 0, 0]);
        // The server's own Infinity carries a display scale of 32; it survives a round trip.
        let server_inf = [0, 0, 0, 0, 0xD0, 0, 0, 0x20];
        let n = PgNumeric::decode(&server_inf).unwrap();
        assert_eq!(n.to_string(), "Infinity");
        let mut out = Vec::new();
        n.encode(&mut out);
        assert_eq!(out, server_inf);
    }

    /// Fields no PostgreSQL server sends but `numeric_recv` accepts, rendered as the server
    /// renders them after loading them with COPY BINARY (checked against PostgreSQL 15, and
    /// on many more values by `tests/postgres.rs`).
    #[test]
    fn unnormalized_fields_render_like_numeric_recv() {
        let n = |negative: bool, weight: i16, dscale: u16, digits: &[i16]| {
            PgNumeric::finite(negative, weight, dscale, digits.to_vec()).to_string()
        };
        // No digits: zero, whatever the weight and sign.
        assert_eq!(n(false, 5, 2, &[]), "0.00");
        assert_eq!(n(true, -3, 3, &[]), "0.000");
        assert_eq!(n(false, i16::MAX, 0, &[]), "0");
        // Leading zero groups are not printed; trailing ones past the digits are.
        assert_eq!(n(false, 1, 0, &[0, 7]), "7");
        assert_eq!(n(false, 3, 0, &[1]), "1000000000000");
        assert_eq!(n(true, 2, 1, &[0, 0, 12, 3400]), "-12.3");
        // Digits beyond the display scale are cut off, and a zero left by the cut is unsigned.
        assert_eq!(n(false, 0, 0, &[0, 5]), "0");
        assert_eq!(n(true, 0, 0, &[0, 5]), "0");
        assert_eq!(n(true, 0, 4, &[0, 5]), "-0.0005");
        assert_eq!(n(true, 0, 3, &[0, 9999]), "-0.999");
        assert_eq!(n(false, -2, 9, &[1234]), "0.000012340");
        // The largest weight with one digit: 1 and 131068 zeros, as the server prints it.
        let big = n(false, i16::MAX, 0, &[1]);
        assert_eq!(big.len(), 1 + 4 * 32767);
        assert!(big.starts_with('1') && big[1..].bytes().all(|b| b == b'0'));
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert!(matches!(
            PgNumeric::decode(&[0, 1, 0, 0, 0, 0, 0, 0]),
            Err(DecodeProblem::Truncated { offset: 8, .. })
        ));
        assert_eq!(
            PgNumeric::decode(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]),
            Err(DecodeProblem::Invalid {
                field: "numeric digit",
                value: 10_000
            })
        );
        assert_eq!(
            PgNumeric::decode(&[0, 0, 0, 0, 0x12, 0x34, 0, 0]),
            Err(DecodeProblem::Invalid {
                field: "numeric sign",
                value: 0x1234
            })
        );
        // The count is unsigned: 0xffff claims 65535 digits, and none follows.
        assert_eq!(
            PgNumeric::decode(&[0xff, 0xff, 0, 0, 0, 0, 0, 0]),
            Err(DecodeProblem::Truncated {
                needed: 2,
                offset: 8,
                available: 0
            })
        );
    }

    /// PostgreSQL 15 loads these with COPY BINARY (`numeric_recv` reads the digit count as
    /// unsigned 16 bits) and prints the texts asserted here.
    #[test]
    fn digit_counts_above_32767_are_read() {
        let field = |weight: i16, sign: u16, dscale: u16, digits: &[i16]| {
            let mut raw = Vec::new();
            let count = u16::try_from(digits.len()).unwrap();
            for word in [count, weight as u16, sign, dscale] {
                raw.extend_from_slice(&word.to_be_bytes());
            }
            for d in digits {
                raw.extend_from_slice(&d.to_be_bytes());
            }
            raw
        };
        let mut five = vec![1; 40_000];
        five[0] = 5;
        let cases = [
            (field(0, SIGN_POS, 0, &five), "5".to_owned()),
            (field(-1, SIGN_POS, 4, &[7; 32_768]), "0.0007".to_owned()),
            (field(0, SIGN_NEG, 8, &[0; 65_535]), "0.00000000".to_owned()),
            (
                field(32_767, SIGN_POS, 0, &[1; 40_000]),
                format!("1{}", "0001".repeat(32_767)),
            ),
        ];
        for (raw, text) in cases {
            let n = PgNumeric::decode(&raw).unwrap();
            assert_eq!(n.to_string(), text);
            let mut out = Vec::new();
            n.encode(&mut out);
            assert_eq!(out, raw);
        }
    }
}
