//! PostgreSQL text output helpers: floats, money, bytea, the quoting rules of array
//! elements and range bounds, and quoted identifiers for SQL.
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

/// A decimal number: significant digits (no leading or trailing zeros; empty for zero) and
/// the decimal exponent of the first digit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    digits: Vec<u8>,
    exp: i32,
}

impl Decimal {
    /// Parses Rust's `{:e}` output of a non-negative finite number (`1.25e-7`).
    fn from_exp_format(formatted: &str) -> Self {
        let (mantissa, exp) = formatted.split_once('e').unwrap_or((formatted, "0"));
        let mut digits: Vec<u8> = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Self {
            digits,
            exp: exp.parse().unwrap_or(0),
        }
    }

    /// `d.ddde<exp>`, followed by `tail` digits, for parsing.
    fn parse_form(&self, tail: &str) -> String {
        let mut s = String::with_capacity(self.digits.len() + tail.len() + 8);
        let (first, rest) = self.digits.split_at(self.digits.len().min(1));
        s.push(char::from(b'0' + first.first().copied().unwrap_or(0)));
        s.push('.');
        s.extend(rest.iter().map(|d| char::from(b'0' + d)));
        s.push_str(tail);
        let _ = write!(s, "e{}", self.exp);
        s
    }

    /// Rounded to `n` significant digits, ties to even; and whether it went up.
    fn round(&self, n: usize) -> (Self, bool) {
        if self.digits.len() <= n {
            return (self.clone(), false);
        }
        let (kept, dropped) = self.digits.split_at(n);
        let first_dropped = dropped.first().copied().unwrap_or(0);
        let rest_nonzero = dropped.iter().skip(1).any(|&d| d != 0);
        let last_odd = kept.last().is_some_and(|d| d % 2 == 1);
        let up = first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || last_odd));
        let mut out = Self {
            digits: kept.to_vec(),
            exp: self.exp,
        };
        if up {
            out.step(true);
        }
        out.trim();
        (out, up)
    }

    /// Adds (or subtracts) one unit in the last digit's place.
    fn step(&mut self, up: bool) {
        let mut i = self.digits.len();
        loop {
            if i == 0 {
                if up {
                    self.digits.insert(0, 1);
                    self.exp += 1;
                }
                break;
            }
            i -= 1;
            let Some(d) = self.digits.get_mut(i) else {
                break;
            };
            if up {
                if *d == 9 {
                    *d = 0;
                } else {
                    *d += 1;
                    break;
                }
            } else if *d == 0 {
                *d = 9;
            } else {
                *d -= 1;
                break;
            }
        }
        while self.digits.first() == Some(&0) {
            self.digits.remove(0);
            self.exp -= 1;
        }
    }

    fn trim(&mut self) {
        while self.digits.last() == Some(&0) {
            self.digits.pop();
        }
    }
}

/// Float types PostgreSQL prints with its Ryu port.
trait Shortest: Copy + PartialEq + std::str::FromStr + std::fmt::LowerExp {
    /// Most significant digits ever needed.
    const MAX_DIGITS: usize;
    /// Display exponents below this print in fixed notation.
    const FIXED_LIMIT: i32;
    /// Decimal places past a candidate's last digit at which a perturbation is certain to
    /// be smaller than the gap to any rounding boundary it does not sit on. A boundary has at
    /// most `p` binary places (`p = 2 - e2`, `e2` the exponent of the last significand bit),
    /// a candidate `q >= 0` decimal places, so a nonzero gap is at least `10^-q * 2^-p`: `k`
    /// places past the candidate's last decimal place (or past the units digit when the
    /// candidate is an integer) with `10^k > 2^p` suffice.
    fn perturb_digits(self) -> usize;
    /// Decimal places of the exact expansion (`{:.N$e}` prints it exactly).
    fn exact_places(self) -> usize;
}

impl Shortest for f64 {
    const MAX_DIGITS: usize = 17;
    const FIXED_LIMIT: i32 = 15;
    fn perturb_digits(self) -> usize {
        let e2 = i64::try_from((self.to_bits() >> 52) & 0x7ff)
            .unwrap_or(0)
            .max(1)
            - 1075;
        perturb_for(e2)
    }
    fn exact_places(self) -> usize {
        // m * 2^e with e < 0 has about 0.7 * -e + 17 significant digits.
        let e = i32::try_from((self.to_bits() >> 52) & 0x7ff).unwrap_or(0) - 1075;
        let places = if e < 0 {
            20 + (-e * 7).div_euclid(10)
        } else {
            330
        };
        usize::try_from(places).unwrap_or(800).min(800)
    }
}

impl Shortest for f32 {
    const MAX_DIGITS: usize = 9;
    const FIXED_LIMIT: i32 = 6;
    fn perturb_digits(self) -> usize {
        let e2 = i64::from((self.to_bits() >> 23) & 0xff).max(1) - 150;
        perturb_for(e2)
    }
    fn exact_places(self) -> usize {
        let e = i32::try_from((self.to_bits() >> 23) & 0xff).unwrap_or(0) - 150;
        let places = if e < 0 {
            12 + (-e * 7).div_euclid(10)
        } else {
            50
        };
        usize::try_from(places).unwrap_or(160).min(160)
    }
}

/// `k` with `10^k > 2^(2 - e2)`, plus a margin.
fn perturb_for(e2: i64) -> usize {
    let p = (2 - e2).max(0);
    usize::try_from(p * 30_103 / 100_000 + 3).unwrap_or(400)
}

/// True when every number within a hair of `c` parses to `v`: `c` lies strictly inside
/// `v`'s rounding interval, never on its boundary (PostgreSQL's Ryu excludes boundaries).
fn strictly_inside<F: Shortest>(c: &Decimal, v: F) -> bool {
    let same = |s: String| s.parse::<F>().is_ok_and(|p| p == v);
    // The perturbation goes k places past the units digit, or past c's last digit when
    // that is further right (see `perturb_digits`).
    let last_place = i64::from(c.exp) - i64::try_from(c.digits.len()).unwrap_or(0) + 1;
    let k = v.perturb_digits() + usize::try_from(last_place.max(0)).unwrap_or(0);
    let zeros = "0".repeat(k);
    let nines = "9".repeat(k);
    // c minus one unit in its last place, leading zero kept so the exponent stays put.
    let mut below = c.digits.clone();
    for d in below.iter_mut().rev() {
        if *d == 0 {
            *d = 9;
        } else {
            *d -= 1;
            break;
        }
    }
    let below = Decimal {
        digits: below,
        exp: c.exp,
    };
    same(c.parse_form(""))
        && same(c.parse_form(&format!("{zeros}1")))
        && same(below.parse_form(&nines))
}

/// The digits PostgreSQL's Ryu port picks: the fewest significant digits strictly inside the
/// rounding interval, closest to the value, ties to even.
fn ryu_digits<F: Shortest>(v: F) -> Decimal {
    let shortest = Decimal::from_exp_format(&format!("{v:e}"));
    let exact = Decimal::from_exp_format(&format!("{:.*e}", v.exact_places(), v));
    for n in shortest.digits.len()..=F::MAX_DIGITS {
        let (rounded, went_up) = exact.round(n);
        if strictly_inside(&rounded, v) {
            return rounded;
        }
        // The nearest n-digit number sits on a boundary: its neighbour toward v may not.
        let mut toward_v = rounded.clone();
        toward_v.digits.resize(n.max(toward_v.digits.len()), 0);
        toward_v.step(!went_up);
        toward_v.trim();
        if strictly_inside(&toward_v, v) {
            return toward_v;
        }
    }
    exact.round(F::MAX_DIGITS).0
}

fn format_float<F: Shortest>(v: F, negative: bool) -> String {
    let d = ryu_digits(v);
    let digits: String = d.digits.iter().map(|x| char::from(b'0' + x)).collect();
    shortest(negative, &digits, d.exp, F::FIXED_LIMIT)
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
    format_float(v.abs(), v.is_sign_negative())
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
    format_float(v.abs(), v.is_sign_negative())
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
        if i > 0 && (units.len() - i).is_multiple_of(3) {
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

/// `text` as an SQL string literal: in single quotes, inner single quotes doubled (the
/// server's `standard_conforming_strings`, on by default, keeps backslashes as they are).
///
/// ```
/// assert_eq!(scry_pg::text::quote_literal("it's"), "'it''s'");
/// ```
#[must_use]
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `name` as a quoted SQL identifier: in double quotes, inner double quotes doubled, so any
/// name (mixed case, spaces, keywords) stands for itself.
///
/// ```
/// assert_eq!(scry_pg::text::quote_ident(r#"Mixed "Case""#), r#""Mixed ""Case""""#);
/// ```
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
// The cases are the values the server printed, written with its digits on purpose.
#[allow(clippy::excessive_precision)]
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
            // Seen from PostgreSQL 15: boundaries are excluded, ties go to even.
            (91_653_360_479_789_410.0, "9.165336047978941e+16"),
            (-615_992_967_779_907.25, "-615992967779907.2"),
            (930_139_161_662_407.25, "930139161662407.2"),
            (9.164250628767119e17, "9.164250628767119e+17"),
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
            (-77_237_616.0, "-7.7237616e+07"),
            (-293_311.12, "-293311.12"),
            (-2.7356001e9, "-2.7356001e+09"),
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
