//! `scry_pg::decode(oid, bytes)`. Input: the OID — a first byte below 0xF0 picks one of the
//! OIDs the crate knows, 0xF0 or above takes the next 4 bytes as a raw OID — then the value's
//! bytes. A value decoded must render as text, and its binary form must decode again to the
//! same binary form.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((oid, bytes)) = scry_fuzz::split_oid(data) else {
        return;
    };
    if let Ok(value) = scry_pg::decode(oid, bytes) {
        let _ = value.to_text();
        let _ = value.to_column_value();
        if let Some(binary) = value.to_binary() {
            let again = scry_pg::decode(oid, &binary)
                .unwrap_or_else(|e| panic!("binary form of {value:?} does not decode: {e}"));
            assert_eq!(again.to_binary(), Some(binary), "binary form is not stable");
            assert_eq!(
                again.to_text(),
                value.to_text(),
                "text changed in a round trip"
            );
        }
    }
});
