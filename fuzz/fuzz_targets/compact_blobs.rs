//! The compact encoding's blobs (layout version 3) inside a well-formed root: the input is
//! split into a `tables` and an `events` blob, wrapped in a compact root map as the writer
//! lays it out (`scry_fuzz::compact_blobs_root`: a flags byte picks the root's optional
//! fields, a second byte the number of `metas`), then read as `read_batch` does (all batch
//! readers agree, accessors and both encodings round-trip), and as a bare event when the
//! root has no `batch_seq`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((root, bare)) = scry_fuzz::compact_blobs_root(data) else {
        return;
    };
    scry_fuzz::check_batch(&root);
    if bare {
        scry_fuzz::check_event(&root);
    }
});
