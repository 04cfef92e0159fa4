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
use scry_testkit::Gen;

fn param_to_upstream(p: &ParamValue) -> upstream::ParamValue {
    use upstream::ParamValue as U;
    let boxed = |b: &Option<Box<ParamValue>>| b.as_ref().map(|p| Box::new(param_to_upstream(p)));
    match p {
        ParamValue::Null => U::Null,
        ParamValue::Bool(v) => U::Bool(*v),
        ParamValue::Int16(v) => U::Int16(*v),
        ParamValue::Int32(v) => U::Int32(*v),
        ParamValue::Int64(v) => U::Int64(*v),
        ParamValue::Float32(v) => U::Float32(*v),
        ParamValue::Float64(v) => U::Float64(*v),
        ParamValue::Numeric(v) => U::Numeric(v.clone()),
        ParamValue::Text(v) => U::Text(v.clone()),
        ParamValue::Bytes(v) => U::Bytes(v.clone()),
        ParamValue::Date(v) => U::Date(*v),
        ParamValue::Time(v) => U::Time(*v),
        ParamValue::Timestamp(v) => U::Timestamp(*v),
        ParamValue::TimestampTz(v) => U::TimestampTz(*v),
        ParamValue::Interval {
            months,
            days,
            microseconds,
        } => U::Interval {
            months: *months,
            days: *days,
            microseconds: *microseconds,
        },
        ParamValue::Uuid(v) => U::Uuid(*v),
        ParamValue::Json(v) => U::Json(v.clone()),
        ParamValue::Array {
            elements,
            dimensions,
        } => U::Array {
            elements: elements.iter().map(param_to_upstream).collect(),
            dimensions: dimensions.clone(),
        },
        ParamValue::Range {
            lower,
            upper,
            lower_inc,
            upper_inc,
        } => U::Range {
            lower: boxed(lower),
            upper: boxed(upper),
            lower_inc: *lower_inc,
            upper_inc: *upper_inc,
        },
        ParamValue::Composite { fields } => U::Composite {
            fields: fields.iter().map(param_to_upstream).collect(),
        },
        ParamValue::Unknown { oid, data } => U::Unknown {
            oid: *oid,
            data: data.clone(),
        },
    }
}

/// 0.1.1's ParamValue has the same serde shape: its JSON is ours.
fn param_from_upstream(p: &upstream::ParamValue) -> ParamValue {
    serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap()
}

fn to_upstream(e: &QueryEvent) -> upstream::QueryEvent {
    upstream::QueryEvent {
        event_id: e.event_id.clone(),
        timestamp: e.timestamp,
        query: e.query.clone(),
        params: e.params.iter().map(param_to_upstream).collect(),
        params_incomplete: e.params_incomplete,
        normalized_query: e.normalized_query.clone(),
        value_fingerprints: e.value_fingerprints.clone(),
        duration: e.duration,
        rows: e.rows,
        success: e.success,
        error: e.error.clone(),
        database: e.database.clone(),
        connection_id: e.connection_id.clone(),
    }
}

fn from_upstream(e: &upstream::QueryEvent) -> QueryEvent {
    QueryEvent {
        event_id: e.event_id.clone(),
        timestamp: e.timestamp,
        query: e.query.clone(),
        params: e.params.iter().map(param_from_upstream).collect(),
        params_incomplete: e.params_incomplete,
        normalized_query: e.normalized_query.clone(),
        value_fingerprints: e.value_fingerprints.clone(),
        duration: e.duration,
        rows: e.rows,
        success: e.success,
        error: e.error.clone(),
        database: e.database.clone(),
        connection_id: e.connection_id.clone(),
    }
}

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

/// False when `p` holds a NaN or infinite float anywhere: its JSON holds a `null` there,
/// which no `ParamValue` reads back, so the whole parameter is dropped on reading.
fn finite(p: &ParamValue) -> bool {
    match p {
        ParamValue::Float32(f) => f.is_finite(),
        ParamValue::Float64(f) => f.is_finite(),
        ParamValue::Array { elements: all, .. } | ParamValue::Composite { fields: all } => {
            all.iter().all(finite)
        }
        ParamValue::Range { lower, upper, .. } => lower.iter().chain(upper).all(|b| finite(b)),
        _ => true,
    }
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
