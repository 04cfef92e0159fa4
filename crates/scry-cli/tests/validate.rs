//! `scry validate` and the exit codes: 0 valid, 1 invalid, 2 usage or I/O error; damaged
//! input names the frame and byte offset.

mod common;

use common::{scratch, scry, stderr, stdout};

fn write(test: &str, name: &str, bytes: &[u8]) -> String {
    let file = scratch(test).join(name);
    std::fs::write(&file, bytes).expect("write");
    file.to_str().expect("utf-8").to_owned()
}

#[test]
fn a_valid_stream_exits_0() {
    let out = scry(&["validate", "-"], Some(&common::framed_stream()));
    assert_eq!(stdout(&out), "valid: 3 payloads, 6 events\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn semantic_violations_are_listed_with_their_path_and_exit_1() {
    let bytes = scry_codec::serialize_batch(&common::invalid_batch()).expect("serialize");
    let out = scry(&["validate", "-"], Some(&bytes));
    assert_eq!(
        stdout(&out),
        "bare batch: events[0].new_row: INSERT event has no new_row\n\
         bare batch: events[1].new_row.values[0].data: Int32 value has 3 bytes of data; its \
         PostgreSQL binary form is 4 bytes\n\
         invalid: 2 problems (1 payload decoded, 2 events)\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn violations_in_frames_name_the_frame() {
    let mut w = scry_codec::frame::FrameWriter::new(Vec::new());
    w.write_batch(&common::cdc_batch()).expect("frame");
    w.write_batch(&common::invalid_batch()).expect("frame");
    let out = scry(&["validate", "-"], Some(&w.into_inner()));
    assert_eq!(
        stdout(&out).lines().next(),
        Some("frame 1 at byte 1923 (batch): events[0].new_row: INSERT event has no new_row")
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_flipped_payload_bit_names_the_frame_and_the_others_still_validate() {
    let mut bytes = common::framed_stream();
    // A bit of the second frame's payload (the frame starts at byte 1923).
    bytes[1923 + 40] ^= 0x04;
    let file = write("flip-payload", "stream.scry", &bytes);
    let out = scry(&["validate", &file], None);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("frame 1 at byte 1923: payload CRC-32C mismatch (stored 0x"),
        "{text}"
    );
    assert_eq!(
        lines[1],
        "invalid: 1 problem (2 payloads decoded, 6 events)"
    );
    assert_eq!(out.status.code(), Some(1));

    // dump stops at the damage, after printing what came before it.
    let out = scry(&["dump", &file], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("batch seq=7 "));
    assert!(
        stderr(&out).starts_with("scry: frame 1 at byte 1923: payload CRC-32C mismatch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_flipped_header_bit_names_the_frame() {
    let mut bytes = common::framed_stream();
    bytes[1923 + 9] ^= 0x01; // the payload length
    let out = scry(&["validate", "-"], Some(&bytes));
    assert!(
        stdout(&out).starts_with("frame 1 at byte 1923: header CRC-32C mismatch (stored 0x"),
        "{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    let out = scry(&["stats", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("scry: frame 1 at byte 1923: header CRC-32C mismatch"));
}

#[test]
fn a_truncated_stream_names_the_frame() {
    let bytes = common::framed_stream();
    let out = scry(&["validate", "-"], Some(&bytes[..2300]));
    assert_eq!(
        stdout(&out),
        "frame 2 at byte 2258 is truncated: the stream ends after 42 of its 380 bytes\n\
         invalid: 1 problem (2 payloads decoded, 5 events)\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_truncated_bare_batch_is_a_decode_error() {
    let bytes = scry_codec::serialize_batch(&common::cdc_batch()).expect("serialize");
    let out = scry(&["dump", "-"], Some(&bytes[..1000]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scry: -: not a frame stream, and does not decode as a batch nor as an event: byte \
         width 0 is not 1, 2, 4 or 8 at the root (byte 999)\n"
    );
    let out = scry(&["validate", "-"], Some(&bytes[..1000]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).ends_with("invalid: 1 problem (0 payloads decoded, 0 events)\n"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = scry(&["validate", "/nonexistent/scry-input"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        stderr(&missing),
        "scry: cannot read /nonexistent/scry-input: No such file or directory (os error 2)\n"
    );
    let bad_op = scry(&["dump", "--op", "upsert", "-"], Some(b""));
    assert_eq!(bad_op.status.code(), Some(2));
    assert!(stderr(&bad_op).contains("invalid value 'upsert' for '--op <OP>'"));
    let no_command = scry(&[], None);
    assert_eq!(no_command.status.code(), Some(2));
    let bare_of_many = scry(
        &["convert", "--to", "compat", "-", "-"],
        Some(&common::framed_stream()),
    );
    assert_eq!(bare_of_many.status.code(), Some(2));
    assert_eq!(
        stderr(&bare_of_many),
        "scry: the input holds more than one batch or event, and bare output holds one: use \
         --framed\n"
    );
    assert_eq!(bare_of_many.stdout, b"");
}

#[test]
fn an_intact_frame_whose_payload_does_not_decode_names_frame_path_and_offsets() {
    use scry_codec::frame::{FrameEncoding, FrameWriter, PayloadKind};
    let mut w = FrameWriter::new(Vec::new());
    w.write_event(&common::ddl_event()).expect("frame");
    w.write_frame(PayloadKind::Batch, FrameEncoding::Compat, &[1, 2, 3, 4, 5])
        .expect("frame");
    let stream = w.into_inner();
    let out = scry(&["dump", "-"], Some(&stream));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scry: frame 1 at byte 380: its batch payload does not decode: byte width 5 is not 1, \
         2, 4 or 8 at the root (payload byte 4, stream byte 400)\n"
    );
    let out = scry(&["validate", "-"], Some(&stream));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "frame 1 at byte 380: its batch payload does not decode: byte width 5 is not 1, 2, 4 or \
         8 at the root (payload byte 4, stream byte 400)\n\
         invalid: 1 problem (1 payload decoded, 1 event)\n"
    );
}

/// The compat bytes of the CDC batch with its INSERT's operation renamed `Inzert`.
fn misnamed_operation() -> Vec<u8> {
    let mut bytes = scry_codec::serialize_batch(&common::cdc_batch()).expect("serialize");
    let at = bytes
        .windows(6)
        .position(|w| w == b"Insert")
        .expect("the operation string");
    bytes[at + 2] = b'z';
    bytes
}

#[test]
fn decode_errors_name_the_field_path_and_byte() {
    let out = scry(&["validate", "-"], Some(&misnamed_operation()));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(
            "-: not a frame stream, and does not decode as a batch (\"Inzert\" is not the name \
             of any OperationType variant at events[1].operation (byte "
        ),
        "{text}"
    );
}

#[test]
fn a_compact_batch_in_a_frame_that_says_compat_is_a_problem() {
    use scry_codec::frame::{FrameEncoding, FrameWriter, PayloadKind};
    let compact =
        scry_codec::serialize_batch_with(&common::cdc_batch(), scry_codec::Encoding::Compact)
            .expect("serialize");
    let mut w = FrameWriter::new(Vec::new());
    w.write_frame(PayloadKind::Batch, FrameEncoding::Compat, &compact)
        .expect("frame");
    let out = scry(&["validate", "-"], Some(&w.into_inner()));
    assert_eq!(
        stdout(&out),
        "frame 0 at byte 0 (batch): the header says compat but the payload is compact \
         (scry-protocol 0.1.1 cannot read it)\n\
         invalid: 1 problem (1 payload decoded, 5 events)\n"
    );
    assert_eq!(out.status.code(), Some(1));
}
