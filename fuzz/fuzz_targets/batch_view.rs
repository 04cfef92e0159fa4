//! `BatchView::parse` and then every accessor of every event, row, value, relation and
//! sequence (forwards, backwards and by index), compared with `to_owned`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(view) = scry_codec::BatchView::parse(data) {
        assert_eq!(scry_fuzz::scan_batch(&view), view.to_owned());
    }
});
