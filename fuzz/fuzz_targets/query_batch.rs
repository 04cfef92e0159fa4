//! `FlexBuffersDeserializer::deserialize_batch` on arbitrary bytes: it never panics, and a
//! batch it reads, written again, reads back as itself. Parameters are compared by variant
//! only (their floats pass through serde_json's fast float parsing, which 0.1.1 uses too and
//! which may move a value by one unit in the last place), and one holding a non-finite float
//! is expected to vanish: `1e39` read as a `Float32` is infinite, which JSON writes as `null`.
#![no_main]

use scry_codec::{FlatBuffersSerializer, FlexBuffersDeserializer};
use scry_testkit::query::json_finite as finite;
use scry_types::QueryEvent;

fn without_params(
    events: &[QueryEvent],
) -> (
    Vec<QueryEvent>,
    Vec<Vec<std::mem::Discriminant<scry_types::ParamValue>>>,
) {
    let kinds = events
        .iter()
        .map(|e| {
            e.params
                .iter()
                .filter(|p| finite(p))
                .map(std::mem::discriminant)
                .collect()
        })
        .collect();
    let bare = events
        .iter()
        .cloned()
        .map(|mut e| {
            e.params.clear();
            e
        })
        .collect();
    (bare, kinds)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = FlexBuffersDeserializer::deserialize_batch(data) {
        let bytes =
            FlatBuffersSerializer::serialize_batch(&batch.events, &batch.proxy_id, batch.batch_seq);
        let again = FlexBuffersDeserializer::deserialize_batch(&bytes)
            .unwrap_or_else(|e| panic!("our own bytes do not read: {e}"));
        assert_eq!(again.proxy_id, batch.proxy_id);
        assert_eq!(again.batch_seq, batch.batch_seq);
        assert_eq!(without_params(&again.events), without_params(&batch.events));
    }
});
