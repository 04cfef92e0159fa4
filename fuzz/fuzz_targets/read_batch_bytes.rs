//! `read_batch_with` / `read_batch_bytes_with` under limits chosen by the first input byte
//! (the rest is the batch): they agree with each other, and with the default limits wherever
//! no limit was hit.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&first, rest)) = data.split_first() {
        scry_fuzz::check_batch_limited(&scry_fuzz::options(first), rest);
    }
});
