//! `inet`/`cidr` addresses and their PostgreSQL text form.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::DecodeProblem;
use crate::wire::Cursor;

/// `PGSQL_AF_INET`.
const FAMILY_V4: u8 = 2;
/// `PGSQL_AF_INET6`.
const FAMILY_V6: u8 = 3;

/// An `inet` or `cidr` value: an address and a netmask length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PgInet {
    /// The address.
    pub addr: IpAddr,
    /// The netmask length (at most 32 for IPv4, 128 for IPv6).
    pub bits: u8,
}

impl PgInet {
    /// A host address with a full netmask (`/32` or `/128`).
    #[must_use]
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            bits: max_bits(addr),
        }
    }

    pub(crate) fn encode(&self, is_cidr: bool, out: &mut Vec<u8>) {
        let (family, bytes): (u8, Vec<u8>) = match self.addr {
            IpAddr::V4(a) => (FAMILY_V4, a.octets().to_vec()),
            IpAddr::V6(a) => (FAMILY_V6, a.octets().to_vec()),
        };
        out.extend_from_slice(&[family, self.bits, u8::from(is_cidr)]);
        out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&bytes);
    }

    pub(crate) fn decode(data: &[u8], is_cidr: bool) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let family = c.u8()?;
        let bits = c.u8()?;
        let _is_cidr_flag = c.u8()?; // PostgreSQL ignores it on input too.
        let nb = c.u8()?;
        let addr = match (family, nb) {
            (FAMILY_V4, 4) => {
                let b = c.take(4)?;
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            (FAMILY_V6, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(c.take(16)?);
                IpAddr::V6(Ipv6Addr::from(b))
            }
            (FAMILY_V4 | FAMILY_V6, _) => {
                return Err(DecodeProblem::Invalid {
                    field: "address length",
                    value: nb.into(),
                })
            }
            _ => {
                return Err(DecodeProblem::Invalid {
                    field: "address family",
                    value: family.into(),
                })
            }
        };
        c.finish()?;
        if bits > max_bits(addr) {
            return Err(DecodeProblem::Invalid {
                field: "netmask length",
                value: bits.into(),
            });
        }
        if is_cidr && has_host_bits(addr, bits) {
            return Err(DecodeProblem::Invalid {
                field: "cidr host bits set beyond netmask length",
                value: bits.into(),
            });
        }
        Ok(Self { addr, bits })
    }

    /// The text form; `cidr` always shows the netmask length.
    pub(crate) fn render(&self, is_cidr: bool) -> String {
        let mut s = match self.addr {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => ipv6_text(&a),
        };
        if is_cidr || self.bits != max_bits(self.addr) {
            let _ = write!(s, "/{}", self.bits);
        }
        s
    }
}

impl fmt::Display for PgInet {
    /// The `inet` text form (`10.0.0.1`, `10.0.0.0/8`, `::ffff:1.2.3.4`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

fn max_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn has_host_bits(addr: IpAddr, bits: u8) -> bool {
    let bytes: Vec<u8> = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    bytes.iter().enumerate().any(|(i, &byte)| {
        let start = i * 8;
        let keep = usize::from(bits).saturating_sub(start).min(8);
        let host_mask = if keep >= 8 { 0 } else { 0xFFu8 >> keep };
        byte & host_mask != 0
    })
}

/// PostgreSQL's IPv6 text: the longest run (two or more) of zero words becomes `::` (the
/// first one on a tie), and `::a.b.c.d` / `::ffff:a.b.c.d` keep the embedded IPv4 dotted.
fn ipv6_text(addr: &Ipv6Addr) -> String {
    let words = addr.segments();
    // (start, length) of zero-word runs.
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            cur = Some(cur.map_or((i, 1), |(base, len)| (base, len + 1)));
        } else if let Some(run) = cur.take() {
            if best.is_none_or(|b| run.1 > b.1) {
                best = Some(run);
            }
        }
    }
    if let Some(run) = cur {
        if best.is_none_or(|b| run.1 > b.1) {
            best = Some(run);
        }
    }
    let best = best.filter(|b| b.1 >= 2);
    let mut s = String::with_capacity(40);
    for (i, &w) in words.iter().enumerate() {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    s.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            s.push(':');
        }
        let embedded_v4 = i == 6 && matches!(best, Some((0, 6)))
            || (i == 6 && matches!(best, Some((0, 5))) && words[5] == 0xffff);
        if embedded_v4 {
            let o = addr.octets();
            let _ = write!(s, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return s;
        }
        let _ = write!(s, "{w:x}");
    }
    if best.is_some_and(|(base, len)| base + len == 8) {
        s.push(':');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> String {
        ipv6_text(&s.parse().unwrap())
    }

    #[test]
    fn ipv6_text_matches_postgres() {
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("::2"), "::2");
        assert_eq!(v6("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(v6("::0.0.1.2"), "::102");
        assert_eq!(v6("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(v6("1::"), "1::");
        assert_eq!(v6("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(v6("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
        assert_eq!(v6("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    }

    #[test]
    fn netmask_suffixes() {
        let net = |s: &str, bits| PgInet {
            addr: s.parse().unwrap(),
            bits,
        };
        assert_eq!(net("10.1.2.3", 32).render(false), "10.1.2.3");
        assert_eq!(net("10.1.2.3", 32).render(true), "10.1.2.3/32");
        assert_eq!(net("10.1.0.0", 16).render(false), "10.1.0.0/16");
        assert_eq!(net("::", 0).render(true), "::/0");
        assert_eq!(net("::1", 128).to_string(), "::1");
    }

    #[test]
    fn binary_round_trip_and_errors() {
        let v = PgInet {
            addr: "192.168.0.0".parse().unwrap(),
            bits: 16,
        };
        let mut out = Vec::new();
        v.encode(true, &mut out);
        assert_eq!(out, [2, 16, 1, 4, 192, 168, 0, 0]);
        assert_eq!(PgInet::decode(&out, true), Ok(v));
        assert_eq!(
            PgInet::decode(&[2, 8, 1, 4, 10, 1, 0, 0], true),
            Err(DecodeProblem::Invalid {
                field: "cidr host bits set beyond netmask length",
                value: 8
            })
        );
        assert!(PgInet::decode(&[2, 8, 0, 4, 10, 1, 0, 0], false).is_ok());
        assert_eq!(
            PgInet::decode(&[2, 33, 0, 4, 10, 1, 0, 0], false),
            Err(DecodeProblem::Invalid {
                field: "netmask length",
                value: 33
            })
        );
        assert_eq!(
            PgInet::decode(&[9, 8, 0, 4, 10, 1, 0, 0], false),
            Err(DecodeProblem::Invalid {
                field: "address family",
                value: 9
            })
        );
        assert!(matches!(
            PgInet::decode(&[3, 8, 0, 16, 0], false),
            Err(DecodeProblem::Truncated { .. })
        ));
    }
}
