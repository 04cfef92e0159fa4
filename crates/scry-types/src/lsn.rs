//! [`Lsn`]: a PostgreSQL log sequence number, printed as PostgreSQL prints it.

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL WAL position (`pg_lsn`). [`DatabaseEvent::position`](crate::DatabaseEvent)
/// holds it as a `u64`; this type prints and parses it as PostgreSQL does: `16/B374D848`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl From<u64> for Lsn {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl From<Lsn> for u64 {
    fn from(v: Lsn) -> Self {
        v.0
    }
}

/// The text was not an LSN of the form `X/Y` with 1 to 8 hex digits on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLsnError(pub String);

impl fmt::Display for ParseLsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an LSN of the form X/Y (hex)", self.0)
    }
}

impl std::error::Error for ParseLsnError {}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError(s.to_owned());
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let part = |p: &str| {
            if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                None
            } else {
                u32::from_str_radix(p, 16).ok()
            }
        };
        let hi = part(hi).ok_or_else(err)?;
        let lo = part(lo).ok_or_else(err)?;
        Ok(Self((u64::from(hi) << 32) | u64::from(lo)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_postgres() {
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert_eq!(Lsn(u64::MAX).to_string(), "FFFFFFFF/FFFFFFFF");
    }

    #[test]
    fn parses_what_it_prints() {
        for v in [0, 1, 0x16_B374_D848, u64::MAX] {
            assert_eq!(Lsn(v).to_string().parse::<Lsn>(), Ok(Lsn(v)));
        }
        assert_eq!("0/16b374d8".parse::<Lsn>(), Ok(Lsn(0x16B3_74D8)));
        for bad in ["", "16", "/1", "1/", "1/2/3", "G/0", "123456789/0", "+1/0"] {
            assert_eq!(
                bad.parse::<Lsn>(),
                Err(ParseLsnError(bad.to_owned())),
                "{bad}"
            );
        }
    }
}
