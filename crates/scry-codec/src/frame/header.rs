//! The frame header: its fields, its 16-byte layout and its checks.

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"SCRY";

/// The frame format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// The length of a frame header, including its CRC.
pub const HEADER_LEN: usize = 16;

/// The length of the payload CRC that follows the payload.
pub const TRAILER_LEN: usize = 4;

/// The bytes a frame adds to its payload: header and trailer.
pub const FRAME_OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;

/// The default largest payload a reader accepts and a writer writes: 64 MiB.
pub const DEFAULT_MAX_PAYLOAD_LEN: u32 = 64 * 1024 * 1024;

/// The number of header bytes the header CRC covers (everything before it).
pub(crate) const HEADER_CRC_COVERS: usize = 12;

/// How a frame's payload is encoded.
///
/// The discriminants are the byte written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameEncoding {
    /// The FlexBuffers encoding byte-identical to scry-protocol 0.1.1.
    Compat = 0,
    /// The compact encoding.
    Compact = 1,
}

impl From<crate::Encoding> for FrameEncoding {
    fn from(e: crate::Encoding) -> Self {
        match e {
            crate::Encoding::Compat => FrameEncoding::Compat,
            crate::Encoding::Compact => FrameEncoding::Compact,
        }
    }
}

impl FrameEncoding {
    /// The encoding whose header byte is `byte`, if any.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Compat),
            1 => Some(Self::Compact),
            _ => None,
        }
    }
}

/// What a frame's payload holds.
///
/// The discriminants are the byte written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PayloadKind {
    /// One serialized `DatabaseEventBatch`.
    Batch = 0,
    /// One serialized `DatabaseEvent`.
    Event = 1,
}

impl PayloadKind {
    /// The kind whose header byte is `byte`, if any.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Batch),
            1 => Some(Self::Event),
            _ => None,
        }
    }
}

/// The fields of a checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// How the payload is encoded.
    pub encoding: FrameEncoding,
    /// What the payload holds.
    pub kind: PayloadKind,
    /// The payload's length in bytes.
    pub payload_len: u32,
}

/// Why 16 header bytes are not a usable header (located by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    BadMagic([u8; 4]),
    HeaderCrc { stored: u32, computed: u32 },
    Version(u8),
    Flags(u8),
    Encoding(u8),
    Kind(u8),
}

impl FrameHeader {
    /// The 16 header bytes of this header, header CRC included.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let len = self.payload_len.to_le_bytes();
        let mut out = [
            MAGIC[0],
            MAGIC[1],
            MAGIC[2],
            MAGIC[3],
            FORMAT_VERSION,
            self.encoding as u8,
            0,
            self.kind as u8,
            len[0],
            len[1],
            len[2],
            len[3],
            0,
            0,
            0,
            0,
        ];
        let crc = super::crc32c(&out[..HEADER_CRC_COVERS]).to_le_bytes();
        out[HEADER_CRC_COVERS..].copy_from_slice(&crc);
        out
    }

    /// Checks and parses 16 header bytes: magic, then the header CRC (so that no field is
    /// trusted before it), then version, flags, encoding and kind.
    pub(crate) fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderProblem> {
        let [m0, m1, m2, m3, version, encoding, flags, kind, l0, l1, l2, l3, c0, c1, c2, c3] =
            *bytes;
        if [m0, m1, m2, m3] != MAGIC {
            return Err(HeaderProblem::BadMagic([m0, m1, m2, m3]));
        }
        let stored = u32::from_le_bytes([c0, c1, c2, c3]);
        let computed = super::crc32c(&bytes[..HEADER_CRC_COVERS]);
        if stored != computed {
            return Err(HeaderProblem::HeaderCrc { stored, computed });
        }
        if version != FORMAT_VERSION {
            return Err(HeaderProblem::Version(version));
        }
        if flags != 0 {
            return Err(HeaderProblem::Flags(flags));
        }
        let encoding =
            FrameEncoding::from_byte(encoding).ok_or(HeaderProblem::Encoding(encoding))?;
        let kind = PayloadKind::from_byte(kind).ok_or(HeaderProblem::Kind(kind))?;
        Ok(Self {
            encoding,
            kind,
            payload_len: u32::from_le_bytes([l0, l1, l2, l3]),
        })
    }
}

/// True when `bytes` starts with a header whose magic and CRC check (its other fields are
/// not looked at): what resynchronization looks for.
pub(crate) fn is_plausible_header(bytes: &[u8; HEADER_LEN]) -> bool {
    !matches!(
        FrameHeader::parse(bytes),
        Err(HeaderProblem::BadMagic(_) | HeaderProblem::HeaderCrc { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_the_documented_one() {
        let header = FrameHeader {
            encoding: FrameEncoding::Compact,
            kind: PayloadKind::Event,
            payload_len: 0x0102_0304,
        };
        let bytes = header.to_bytes();
        assert_eq!(&bytes[..12], b"SCRY\x01\x01\x00\x01\x04\x03\x02\x01");
        assert_eq!(
            u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]),
            crc32c::crc32c(&bytes[..12])
        );
        assert_eq!(FrameHeader::parse(&bytes), Ok(header));
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The check value of CRC-32C (iSCSI) for "123456789".
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn fields_are_checked_after_the_crc() {
        let mut bytes = FrameHeader {
            encoding: FrameEncoding::Compat,
            kind: PayloadKind::Batch,
            payload_len: 7,
        }
        .to_bytes();
        let reseal = |b: &mut [u8; HEADER_LEN]| {
            let crc = crc32c::crc32c(&b[..12]).to_le_bytes();
            b[12..].copy_from_slice(&crc);
        };
        bytes[4] = 2;
        reseal(&mut bytes);
        assert_eq!(FrameHeader::parse(&bytes), Err(HeaderProblem::Version(2)));
        bytes[4] = 1;
        bytes[6] = 0x80;
        reseal(&mut bytes);
        assert_eq!(FrameHeader::parse(&bytes), Err(HeaderProblem::Flags(0x80)));
        bytes[6] = 0;
        bytes[5] = 9;
        reseal(&mut bytes);
        assert_eq!(FrameHeader::parse(&bytes), Err(HeaderProblem::Encoding(9)));
        bytes[5] = 0;
        bytes[7] = 2;
        reseal(&mut bytes);
        assert_eq!(FrameHeader::parse(&bytes), Err(HeaderProblem::Kind(2)));
        assert!(is_plausible_header(&bytes));
        bytes[8] ^= 1;
        assert!(!is_plausible_header(&bytes));
    }
}
