//! `read_batch`, `read_batch_bytes` and `BatchView` on arbitrary bytes: no panic, all agree,
//! and a batch read round-trips through both encodings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scry_fuzz::check_batch(data));
