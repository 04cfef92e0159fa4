//! `scry encode`: errors in JSON Lines input name the line and the field.

mod common;

use common::{scry, stderr};

const EVENT: &str = r#"{"event":{"event_id":null,"timestamp_us":1,"operation":"Begin","schema":"","table":"","position":0,"transaction_id":0,"columns":[],"new_row":null,"old_row":null,"relation_meta":null,"ddl_sql":null,"ddl_object_type":null}}"#;
const HEADER_OF_2: &str = r#"{"batch":{"event_count":2,"source_id":null,"batch_seq":1,"relations":[],"control_directive":null,"sequence_values":null,"backfill_metadata":null}}"#;

#[test]
fn a_batch_with_too_few_events_is_an_error() {
    let input = format!("{HEADER_OF_2}\n{EVENT}\n");
    let out = scry(&["encode", "-", "-"], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scry: -:2: input ends, but the batch of line 1 has 1 of its 2 events\n"
    );
    assert_eq!(out.stdout, b"");
}

#[test]
fn a_header_inside_a_batch_is_an_error() {
    let input = format!("{HEADER_OF_2}\n{EVENT}\n\n{HEADER_OF_2}\n");
    let out = scry(&["encode", "--framed", "-", "-"], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scry: -:4: batch header, but the batch of line 1 still expects 1 of its 2 events\n"
    );
}

#[test]
fn bad_values_name_the_line_and_field() {
    let bad_hex = EVENT.replace(
        r#""new_row":null"#,
        r#""new_row":[{"type_tag":"Int32","type_oid":23,"data":"00x1"}]"#,
    );
    let out = scry(&["encode", "-", "-"], Some(bad_hex.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scry: -:1: event.new_row.values[0].data: 'x' at position 2 is not a hex digit\n"
    );
    let bad_tag = EVENT.replace(
        r#""new_row":null"#,
        r#""new_row":[{"type_tag":"Int33","type_oid":23,"data":null}]"#,
    );
    let out = scry(&["encode", "-", "-"], Some(bad_tag.as_bytes()));
    assert_eq!(
        stderr(&out),
        "scry: -:1: event.new_row.values[0].type_tag: \"Int33\" is not the name of any TypeTag \
         variant\n"
    );
    let unknown_field = EVENT.replace(r#""table":"""#, r#""tabel":"""#);
    let out = scry(&["encode", "-", "-"], Some(unknown_field.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("scry: -:1: unknown field `tabel`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_lone_event_line_encodes_to_its_bytes() {
    let out = scry(&["encode", "-", "-"], Some(EVENT.as_bytes()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut expected = scry_types::DatabaseEvent::new(scry_types::OperationType::Begin, "", "");
    expected.timestamp_us = 1;
    assert!(out.stdout == scry_codec::serialize_event(&expected).expect("serialize"));
}
