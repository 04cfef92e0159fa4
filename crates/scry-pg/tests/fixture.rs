//! The committed fixture — a COPY BINARY stream the real server wrote from the
//! `all_types` table, and the server's text rendering of the same rows — checked without a
//! server: the snapshot pipeline gives back the same bytes, and every value re-encodes byte
//! for byte and renders like the server.

mod common;

use bytes::Bytes;
use scry_types::{OperationType, TypeTag};

#[test]
fn fixture_round_trips_through_events_and_batches() {
    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    assert_eq!(rel.table, "all_types");
    let copy = Bytes::from_static(common::FIXTURE_COPY);
    let out = common::run_pipeline(&rel, copy.clone()).unwrap();
    assert_eq!(out.copy_out, copy);
    let rows = out
        .events
        .iter()
        .filter(|e| e.operation == OperationType::SnapshotRow)
        .count();
    assert_eq!(rows, 60);
    assert_eq!(
        common::parse_relation(&common::format_relation(&rel)).unwrap(),
        rel
    );
}

#[test]
fn fixture_values_render_like_the_server() {
    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    let stats = common::check_values(
        &rel,
        Bytes::from_static(common::FIXTURE_COPY),
        Bytes::from_static(common::FIXTURE_TEXT),
        40,
    )
    .unwrap_or_else(|p| panic!("{} mismatches:\n{}", p.len(), p.join("\n")));
    assert_eq!(stats.rows, 60);
    assert!(stats.largest > 8 * 1024);
    for tag in TypeTag::ALL {
        if *tag != TypeTag::ToastUnchanged {
            assert!(
                stats.tags.contains(&tag.as_u8()),
                "no {tag} value in the fixture"
            );
        }
    }
}
