//! Readable renderings of wire bytes for snapshots and failure messages.

use std::fmt::Write as _;

/// Buffers up to this many bytes are dumped in full by [`wire_dump`].
pub const FULL_DUMP_LIMIT: usize = 4096;

/// How many bytes [`wire_dump`] shows from each end of a longer buffer.
pub const EDGE_BYTES: usize = 256;

/// The 64-bit FNV-1a hash of `bytes`: a fingerprint for snapshots (not a cryptographic hash).
#[must_use]
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A hex dump, 16 bytes a line: the offset (8 hex digits), the bytes in hex, and the printable
/// ASCII characters between bars (`.` for the others). Offsets start at `start`.
#[must_use]
pub fn hex_dump_at(bytes: &[u8], start: usize) -> String {
    let mut out = String::new();
    for (i, line) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", start + i * 16);
        for col in 0..16 {
            if col == 8 {
                out.push(' ');
            }
            match line.get(col) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

/// [`hex_dump_at`] from offset 0.
#[must_use]
pub fn hex_dump(bytes: &[u8]) -> String {
    hex_dump_at(bytes, 0)
}

/// The whole buffer as a hex dump when it holds at most [`FULL_DUMP_LIMIT`] bytes; otherwise
/// its length, its [`fnv1a64`] fingerprint and hex dumps of its first and last
/// [`EDGE_BYTES`] bytes (at their real offsets).
#[must_use]
pub fn wire_dump(bytes: &[u8]) -> String {
    if bytes.len() <= FULL_DUMP_LIMIT {
        return hex_dump(bytes);
    }
    let tail_start = bytes.len() - EDGE_BYTES;
    format!(
        "length {} bytes, fnv1a64 {:016x}\nfirst {EDGE_BYTES} bytes:\n{}...\nlast {EDGE_BYTES} bytes:\n{}",
        bytes.len(),
        fnv1a64(bytes),
        hex_dump_at(&bytes[..EDGE_BYTES], 0),
        hex_dump_at(&bytes[tail_start..], tail_start),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hex_dump_layout() {
        let bytes: Vec<u8> = (0x3e..0x50).collect();
        assert_eq!(
            hex_dump(&bytes),
            "00000000  3e 3f 40 41 42 43 44 45  46 47 48 49 4a 4b 4c 4d  |>?@ABCDEFGHIJKLM|\n\
             00000010  4e 4f                                             |NO|\n"
        );
        assert_eq!(hex_dump(&[]), "");
        assert_eq!(
            hex_dump_at(&[0, 0x7f, b' '], 0x20),
            "00000020  00 7f 20                                          |.. |\n"
        );
    }

    #[test]
    fn wire_dump_abbreviates_large_buffers() {
        let small = vec![1u8; FULL_DUMP_LIMIT];
        assert_eq!(wire_dump(&small), hex_dump(&small));
        let large: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let text = wire_dump(&large);
        assert!(text.starts_with(&format!(
            "length 10000 bytes, fnv1a64 {:016x}\nfirst 256 bytes:\n00000000  00 01",
            fnv1a64(&large)
        )));
        assert!(text.contains("...\nlast 256 bytes:\n00002610  10 11"));
        assert_eq!(text.lines().count(), 2 + 16 + 2 + 16);
    }
}
