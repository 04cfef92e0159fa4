//! `EventView::parse` and then every accessor, compared with `to_owned_event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(view) = scry_codec::EventView::parse(data) {
        assert_eq!(scry_fuzz::scan_event(&view), view.to_owned_event());
    }
});
