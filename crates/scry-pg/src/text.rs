//! PostgreSQL text output helpers: floats, money, bytea, and the quoting rules of array
//! elements and range bounds.
//!
//! Output matches a server running with `extra_float_digits = 1` (the default since
//! PostgreSQL 12: shortest round-trip digits), `bytea_output = hex` and `lc_monetary = C`.

use std::fmt::Write as _;

/// Formats shortest round-trip `digits` (no point) with decimal exponent `exp` (of the first
/// digit) the way PostgreSQL's Ryu-based `to_chars` does: fixed notation when
/// `-4 <= exp < fixed_limit`, else `d.ddde+XX` with at least two exponent digits.
fn shortest(negative: bool, digits: &str, exp: i32, fixed_limit: i32) -> String {
    let mut s = String::with_capacity(digits.len() + 8);
    if negative {
        s.push('-');
    }
    if (-4..fixed_limit).contains(&exp) {
        if exp < 0 {
            s.push_str("0.");
            for _ in 0..(-exp - 1) {
                s.push('0');
            }
            s.push_str(digits);
        } else {
            let int_len = usize::try_from(exp).unwrap_or_default() + 1;
            if digits.len() <= int_len {
                s.push_str(digits);
                for _ in digits.len()..int_len {
                    s.push('0');
                }
            } else {
                let (int_part, frac) = digits.split_at(int_len);
                s.push_str(int_part);
                s.push('.');
                s.push_str(frac);
            }
        }
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        let _ = write!(
            s,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
    s
}

/// Splits Rust's `{:e}` output (`-1.25e-7`, shortest round-trip) into sign, digits, exponent.
fn split_exp(formatted: &str) -> (bool, String, i32) {
    let negative = formatted.starts_with('-');
    let body = formatted.trim_start_matches('-');
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (negative, digits, exp.parse().unwrap_or(0))
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// `float8` text: `1.5`, `1e+20`, `1.5e-07`, `-0`, `NaN`, `Infinity`, `-Infinity`.
#[must_use]
pub fn float8_text(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (negative, digits, exp) = split_exp(&format!("{v:e}"));
    shortest(negative, &digits, exp, 15)
}

/// `float4` text: like [`float8_text`] with `float4`'s shortest digits and fixed notation
/// only below `1e+06`.
#[must_use]
pub fn float4_text(v: f32) -> String {
    if let Some(s) = special(v.into()) {
        return s.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (negative, digits, exp) = split_exp(&format!("{v:e}"));
    shortest(negative, &digits, exp, 6)
}

/// `money` text under `lc_monetary = C`: `$1,234.56`, `-$0.01`.
#[must_use]
pub fn money_text(cents: i64) -> String {
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3 + 8);
    if cents < 0 {
        grouped.push('-');
    }
    grouped.push('$');
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let _ = write!(grouped, ".{:02}", abs % 100);
    grouped
}

/// `bytea` text with `bytea_output = hex`: `\x` and two lowercase hex digits a byte.
#[must_use]
pub fn bytea_hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(2 + data.len() * 2);
    s.push_str("\\x");
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Appends an array element's text, quoted and escaped the way `array_out` does: quotes
/// when it is empty, is `NULL` in any case, or holds `"`, `\`, `{`, `}`, the delimiter or
/// white space; `"` and `\` are backslash-escaped.
pub(crate) fn push_array_element(out: &mut String, text: &str, delimiter: char) {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case("NULL")
        || text.chars().any(|c| {
            matches!(
                c,
                '"' | '\\' | '{' | '}' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'
            ) || c == delimiter
        });
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends a range bound's text, quoted the way `range_out` does: quotes when it is empty or
/// holds `"`, `\`, `(`, `)`, `[`, `]`, `,` or white space; `"` and `\` are doubled.
pub(crate) fn push_range_bound(out: &mut String, text: &str) {
    let needs_quotes = text.is_empty()
        || text.chars().any(|c| {
            matches!(
                c,
                '"' | '\\'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | ','
                    | ' '
                    | '\t'
                    | '\n'
                    | '\r'
                    | '\x0b'
                    | '\x0c'
            )
        });
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float8_matches_postgres() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e14, "100000000000000"),
            (123_456_789_012_345.0, "123456789012345"),
            (1e15, "1e+15"),
            (1e20, "1e+20"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, text) in cases {
            assert_eq!(float8_text(v), text, "{v:e}");
        }
    }

    #[test]
    fn float4_matches_postgres() {
        let cases: &[(f32, &str)] = &[
            (0.0, "0"),
            (1.5, "1.5"),
            (100_000.0, "100000"),
            (1e6, "1e+06"),
            (0.1, "0.1"),
            (3.4028235e38, "3.4028235e+38"),
            (1e-45, "1e-45"),
            (-1.17549435e-38, "-1.1754944e-38"),
            (f32::NAN, "NaN"),
        ];
        for &(v, text) in cases {
            assert_eq!(float4_text(v), text, "{v:e}");
        }
    }

    #[test]
    fn money_and_bytea() {
        assert_eq!(money_text(123_456), "$1,234.56");
        assert_eq!(money_text(-1), "-$0.01");
        assert_eq!(money_text(0), "$0.00");
        assert_eq!(money_text(100_000_000), "$1,000,000.00");
        assert_eq!(money_text(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(bytea_hex(&[0, 0xab, 0x10]), "\\x00ab10");
        assert_eq!(bytea_hex(&[]), "\\x");
    }

    #[test]
    fn quoting_rules() {
        let quote = |t: &str, d| {
            let mut s = String::new();
            push_array_element(&mut s, t, d);
            s
        };
        assert_eq!(quote("abc", ','), "abc");
        assert_eq!(quote("", ','), "\"\"");
        assert_eq!(quote("null", ','), "\"null\"");
        assert_eq!(quote("a b", ','), "\"a b\"");
        assert_eq!(quote("a\"b\\c", ','), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("(1,2)", ','), "\"(1,2)\"");
        assert_eq!(quote("(1,2),(0,0)", ';'), "(1,2),(0,0)");
        assert_eq!(quote("日本", ','), "日本");
        let bound = |t: &str| {
            let mut s = String::new();
            push_range_bound(&mut s, t);
            s
        };
        assert_eq!(bound("5"), "5");
        assert_eq!(bound("2020-01-01 00:00:00"), "\"2020-01-01 00:00:00\"");
        assert_eq!(bound("a\"b"), "\"a\"\"b\"");
        assert_eq!(bound(""), "\"\"");
    }
}
