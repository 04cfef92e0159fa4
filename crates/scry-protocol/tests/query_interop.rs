//! Query events against scry-protocol 0.1.1 (`upstream`), the crate deployed proxies run.
//!
//! For every batch, in both directions: our bytes equal the bytes 0.1.1 writes for the same
//! events; 0.1.1 reads our bytes, and we read its bytes, as the events that were written
//! (times cut to whole microseconds). Batches come from seeded [`Gen`] draws covering every
//! `ParamValue` variant and optional field, and from explicit edge cases: empty and large
//! batches, long and non-ASCII strings, times before the epoch, floats JSON cannot hold.

use std::time::{Duration, SystemTime};

use scry_protocol::{
    DeserializationError, FlatBuffersSerializer, FlexBuffersDeserializer, ParamValue, QueryEvent,
    QueryEventBuilder,
};
use scry_testkit::query::json_finite as finite;
use scry_testkit::upstream::{
    query_from_upstream as from_upstream, query_to_upstream as to_upstream,
};
use scry_testkit::Gen;

/// `e` as a batch gives it back: times in whole microseconds (before the epoch: the epoch),
/// and without the parameters whose JSON is `null` (non-finite floats).
fn as_read(e: &QueryEvent) -> QueryEvent {
    let micros = |d: Duration| Duration::from_micros(d.as_micros() as u64);
    let mut e = e.clone();
    let since = e
        .timestamp
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    e.timestamp = SystemTime::UNIX_EPOCH + micros(since);
    e.duration = micros(e.duration);
    e.params.retain(finite);
    e
}

/// Compares event by event, so a failure shows one event, not the batch.
fn assert_events(ctx: &str, got: &[QueryEvent], expected: &[QueryEvent]) {
    assert_eq!(got.len(), expected.len(), "{ctx}: event count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g, e, "{ctx}: event {i}");
    }
}

/// Checks one batch both ways; returns our bytes.
fn check(ctx: &str, events: &[QueryEvent], proxy_id: &str, batch_seq: u64) -> Vec<u8> {
    let ours = FlatBuffersSerializer::serialize_batch(events, proxy_id, batch_seq);
    let up_events: Vec<_> = events.iter().map(to_upstream).collect();
    let theirs = upstream::FlatBuffersSerializer::serialize_batch(&up_events, proxy_id, batch_seq);
    if ours != theirs {
        let at = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "{ctx}: our bytes differ from 0.1.1's: lengths {} and {}, first difference at {at}",
            ours.len(),
            theirs.len()
        );
    }
    let expected: Vec<_> = events.iter().map(as_read).collect();

    // 0.1.1 reads our bytes.
    let read_by_them = upstream::FlexBuffersDeserializer::deserialize_batch(&ours)
        .unwrap_or_else(|e| panic!("{ctx}: 0.1.1 cannot read our bytes: {e}"));
    assert_eq!(read_by_them.proxy_id, proxy_id, "{ctx}");
    assert_eq!(read_by_them.batch_seq, batch_seq, "{ctx}");
    let theirs_events: Vec<_> = read_by_them.events.iter().map(from_upstream).collect();
    assert_events(
        &format!("{ctx}, as 0.1.1 reads our bytes"),
        &theirs_events,
        &expected,
    );

    // We read 0.1.1's bytes.
    let read_by_us = FlexBuffersDeserializer::deserialize_batch(&theirs)
        .unwrap_or_else(|e| panic!("{ctx}: we cannot read 0.1.1's bytes: {e}"));
    assert_eq!(read_by_us.proxy_id, proxy_id, "{ctx}");
    assert_eq!(read_by_us.batch_seq, batch_seq, "{ctx}");
    assert_events(
        &format!("{ctx}, as we read 0.1.1's bytes"),
        &read_by_us.events,
        &expected,
    );
    ours
}

#[test]
fn seeded_batches_are_byte_identical_both_ways() {
    let mut covered = std::collections::BTreeSet::new();
    for seed in 0..1500u64 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        let n = g.below(5);
        let events: Vec<_> = (0..n).map(|_| g.query_event()).collect();
        for e in &events {
            for p in &e.params {
                let json = serde_json::to_value(p).unwrap();
                covered.insert(json["type"].as_str().unwrap().to_owned());
            }
        }
        let proxy_id = g.string();
        let seq = g.u64();
        check(&format!("seed {seed}"), &events, &proxy_id, seq);
    }
    assert_eq!(
        covered.len(),
        21,
        "every ParamValue variant drawn: {covered:?}"
    );
}

#[test]
fn canonical_snapshot_batches_are_byte_identical_both_ways() {
    for case in scry_testkit::query::query_cases() {
        check(case.name, &case.events, case.proxy_id, case.batch_seq);
    }
}

#[test]
fn empty_and_large_batches_are_byte_identical_both_ways() {
    check("empty", &[], "", 0);
    check("empty, long proxy id", &[], &"p".repeat(70_000), u64::MAX);

    // Many events: slots and offsets of every width.
    let mut g = Gen::new(7);
    g.allow_huge_values = false;
    let many: Vec<_> = (0..5_000).map(|_| g.query_event()).collect();
    let bytes = check("5000 events", &many, "proxy-big", 1 << 40);
    assert!(bytes.len() > 1 << 16, "{} bytes", bytes.len());

    // Long strings, long parameter lists, unicode everywhere.
    let text = "日本語 🦀 ñ ".repeat(40_000);
    let big = QueryEventBuilder::new(text.clone())
        .event_id("é")
        .normalized_query(text.clone())
        .value_fingerprints(vec![text.clone(); 3])
        .params(
            (0..2_000)
                .map(|i| ParamValue::Text(format!("{i} ünïcødé")))
                .chain([ParamValue::Bytes(vec![7; 300_000])])
                .collect(),
        )
        .error(text.clone())
        .database("база")
        .connection_id("接続")
        .rows(u64::MAX)
        .duration(Duration::from_secs(u64::MAX / 2_000_000))
        .build();
    check("large strings", &[big.clone(), big], "prøxy", 3);
}

#[test]
fn edge_times_and_floats_are_read_alike_both_ways() {
    let before_epoch = QueryEventBuilder::new("SELECT 1")
        .timestamp(SystemTime::UNIX_EPOCH - Duration::from_secs(5))
        .duration(Duration::from_nanos(1_999))
        .build();
    let floats = QueryEventBuilder::new("SELECT $1, $2, $3, $4")
        .params(vec![
            ParamValue::Float64(f64::NAN),
            ParamValue::Float32(f32::INFINITY),
            ParamValue::Float64(f64::NEG_INFINITY),
            ParamValue::Float64(2.5),
        ])
        .build();
    let bytes = check("edge times and floats", &[before_epoch, floats], "p", 1);
    let batch = FlexBuffersDeserializer::deserialize_batch(&bytes).unwrap();
    assert_eq!(batch.events[0].timestamp, SystemTime::UNIX_EPOCH);
    assert_eq!(batch.events[0].duration, Duration::from_micros(1));
    assert_eq!(batch.events[1].params, vec![ParamValue::Float64(2.5)]);
}

#[test]
fn bad_input_is_an_error_in_both_and_never_a_panic_in_ours() {
    for bytes in [&[][..], &[0, 1, 2, 3, 4], &[0xff; 3], b"\x01\x04\x01"] {
        assert!(upstream::FlexBuffersDeserializer::deserialize_batch(bytes).is_err());
        assert!(matches!(
            FlexBuffersDeserializer::deserialize_batch(bytes),
            Err(DeserializationError::FlexBuffersError(_))
        ));
    }
    // Every truncation of a real batch: each is an error (or, if a shorter root happens to
    // parse, a batch), never a panic.
    let mut g = Gen::new(11);
    let events: Vec<_> = (0..3).map(|_| g.query_event()).collect();
    let bytes = FlatBuffersSerializer::serialize_batch(&events, "p", 9);
    for n in 0..bytes.len() {
        let _ = FlexBuffersDeserializer::deserialize_batch(&bytes[..n]);
    }
}
