//! Differential: a batch validated with event templates (each event compared with the one
//! before it) gives exactly what the fast path and the general pass give, recording or not,
//! and the layout table agrees with the record. Seeded with batches of alike events.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = scry_codec::fuzz_template_agrees(data) {
        panic!("templates disagree: {e}");
    }
});
