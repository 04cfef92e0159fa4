//! `read_event`, `read_event_bytes` and `EventView` on arbitrary bytes: no panic, all agree,
//! and an event read round-trips through both encodings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scry_fuzz::check_event(data));
