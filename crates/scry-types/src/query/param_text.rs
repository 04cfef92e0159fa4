//! The text forms [`ParamValue`](super::ParamValue)'s serde impls give to binary content:
//! base64 for byte strings, hyphenated hex for UUIDs.

/// Bytes as standard base64 with padding (RFC 4648 section 4), read back strictly: padding
/// required, no whitespace, unused bits zero.
pub(super) mod base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format_args!("bad base64: {e}")))
    }
}

/// A UUID's 16 bytes as lowercase hyphenated hex (`8-4-4-4-12` digits). Reading takes the
/// hex digits of the text, whatever separates them, and needs exactly 32.
pub(super) mod uuid {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Write as _;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            let _ = write!(text, "{b:02x}");
        }
        s.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        let mut out = [0u8; 16];
        let mut digits = 0usize;
        for c in text.chars() {
            let Some(v) = c.to_digit(16) else { continue };
            if let Some(byte) = out.get_mut(digits / 2) {
                // `v` is below 16.
                *byte = (*byte << 4) | v as u8;
            }
            digits += 1;
        }
        if digits != 32 {
            return Err(serde::de::Error::custom(format_args!(
                "a UUID needs 32 hex digits, found {digits}"
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::ParamValue;

    fn json(v: &ParamValue) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn bytes_and_uuids_have_their_text_forms() {
        assert_eq!(
            json(&ParamValue::Bytes(vec![1, 2, 3, 0xff])),
            r#"{"type":"Bytes","value":"AQID/w=="}"#
        );
        let id = [
            0x55, 0x06, 0x7d, 0xc5, 0xb9, 0x1c, 0x40, 0x78, 0x90, 0x5b, 0x8a, 0x7f, 0xdd, 0x00,
            0x83, 0x0c,
        ];
        assert_eq!(
            json(&ParamValue::Uuid(id)),
            r#"{"type":"Uuid","value":"55067dc5-b91c-4078-905b-8a7fdd00830c"}"#
        );
        assert_eq!(json(&ParamValue::Null), r#"{"type":"Null"}"#);
        let back: ParamValue =
            serde_json::from_str(r#"{"type":"Uuid","value":"{55067DC5B91C4078905B8A7FDD00830C}"}"#)
                .unwrap();
        assert_eq!(back, ParamValue::Uuid(id));
    }

    #[test]
    fn malformed_text_is_an_error_that_says_why() {
        let err = |s: &str| {
            serde_json::from_str::<ParamValue>(s)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"type":"Uuid","value":"55067dc5"}"#)
            .starts_with("a UUID needs 32 hex digits, found 8"));
        assert!(err(r#"{"type":"Bytes","value":"AQID/w="}"#).starts_with("bad base64"));
        assert!(err(r#"{"type":"Bytes","value":"AQJ="}"#).starts_with("bad base64"));
        assert!(err(r#"{"type":"Nope","value":1}"#).starts_with("unknown variant `Nope`"));
    }
}
