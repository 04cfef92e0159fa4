//! The canonical cases (the values whose wire bytes the snapshot tests pin): every one dumps,
//! validates as `validate()` judges it, and survives bytes → JSON Lines → bytes unchanged, bare and as one framed
//! stream.

mod common;

use common::{scry, stderr, stdout};
use scry_codec::frame::FrameWriter;
use scry_testkit::{canonical_cases, CanonicalPayload};
use scry_types::{DatabaseEvent, OperationType};

fn bytes_of(payload: &CanonicalPayload) -> Vec<u8> {
    match payload {
        CanonicalPayload::Batch(b) => scry_codec::serialize_batch(b),
        CanonicalPayload::Event(e) => scry_codec::serialize_event(e),
    }
    .expect("serialize")
}

#[test]
fn every_case_round_trips_through_json_exactly() {
    for case in canonical_cases() {
        let bytes = bytes_of(&case.payload);
        let json = scry(&["convert", "--to", "json", "-", "-"], Some(&bytes));
        assert_eq!(
            json.status.code(),
            Some(0),
            "{}: {}",
            case.name,
            stderr(&json)
        );
        let back = scry(&["encode", "-", "-"], Some(&json.stdout));
        assert_eq!(
            back.status.code(),
            Some(0),
            "{}: {}",
            case.name,
            stderr(&back)
        );
        assert!(back.stdout == bytes, "{}: bytes differ", case.name);
    }
}

#[test]
fn a_stream_of_every_case_dumps_validates_and_round_trips() {
    let mut w = FrameWriter::new(Vec::new());
    let cases = canonical_cases();
    // What validate must report: each case's own violations, placed at its frame.
    let mut expected = String::new();
    let mut events = 0;
    let mut open: Option<(String, String)> = None;
    for (i, case) in cases.iter().enumerate() {
        let place = format!("frame {i} at byte {}", w.bytes_written());
        let (checked, kind) = match &case.payload {
            CanonicalPayload::Batch(b) => {
                events += b.events.len();
                w.write_batch(b).expect("frame");
                (b.validate(), "batch")
            }
            CanonicalPayload::Event(e) => {
                events += 1;
                w.write_event(e).expect("frame");
                (e.validate(), "event")
            }
        };
        for v in checked.err().into_iter().flatten() {
            expected.push_str(&format!("{place} ({kind}): {v}\n"));
        }
        // Across frames: a table's snapshot is open from its SnapshotBegin to its SnapshotEnd.
        let events: Vec<&DatabaseEvent> = match &case.payload {
            CanonicalPayload::Batch(b) => b.events.iter().collect(),
            CanonicalPayload::Event(e) => vec![e],
        };
        for e in events {
            let name = format!("{}.{}", e.schema, e.table);
            match e.operation {
                OperationType::SnapshotBegin => {
                    assert!(open.is_none(), "the cases open one snapshot at a time");
                    open = Some((name, format!("{place} ({kind})")));
                }
                OperationType::SnapshotEnd => {
                    assert_eq!(open.take().map(|(n, _)| n), Some(name), "ends what began");
                }
                _ => {}
            }
        }
    }
    if let Some((table, began)) = open {
        expected.push_str(&format!(
            "the stream ends inside the snapshot of {table} (begun at {began}): no \
             SnapshotEnd, so the snapshot is incomplete\n"
        ));
    }
    let stream = w.into_inner();

    let dump = scry(&["dump", "-"], Some(&stream));
    assert_eq!(dump.status.code(), Some(0), "{}", stderr(&dump));
    let text = stdout(&dump);
    let units = text
        .lines()
        .filter(|l| l.starts_with("batch ") || l.starts_with("event ("))
        .count();
    assert_eq!(units, cases.len());

    let validate = scry(&["validate", "-"], Some(&stream));
    let problems = expected.lines().count();
    if problems == 0 {
        expected.push_str(&format!(
            "valid: {} payloads, {events} events\n",
            cases.len()
        ));
    } else {
        let s = if problems == 1 { "" } else { "s" };
        expected.push_str(&format!(
            "invalid: {problems} problem{s} ({} payloads decoded, {events} events)\n",
            cases.len()
        ));
    }
    assert_eq!(stdout(&validate), expected);
    assert_eq!(validate.status.code(), Some(i32::from(problems > 0)));

    let json = scry(&["dump", "--json", "-"], Some(&stream));
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let back = scry(&["encode", "--framed", "-", "-"], Some(&json.stdout));
    assert_eq!(back.status.code(), Some(0), "{}", stderr(&back));
    assert!(
        back.stdout == stream,
        "the framed stream differs after the JSON round trip"
    );
}

#[test]
fn every_case_converts_to_compact_and_back_exactly() {
    for case in canonical_cases() {
        let compat = bytes_of(&case.payload);
        let compact = scry(&["convert", "--to", "compact", "-", "-"], Some(&compat));
        assert_eq!(
            compact.status.code(),
            Some(0),
            "{}: {}",
            case.name,
            stderr(&compact)
        );
        let expected = match &case.payload {
            CanonicalPayload::Batch(b) => {
                scry_codec::serialize_batch_with(b, scry_codec::Encoding::Compact)
            }
            CanonicalPayload::Event(e) => {
                scry_codec::serialize_event_with(e, scry_codec::Encoding::Compact)
            }
        }
        .expect("serialize");
        assert!(
            compact.stdout == expected,
            "{}: compact bytes differ",
            case.name
        );

        // Compact → JSON Lines (which names the source encoding) → compact is exact too.
        let json = scry(&["dump", "--json", "-"], Some(&compact.stdout));
        assert!(
            stdout(&json).starts_with(r#"{"batch":{"encoding":"compact","#)
                || stdout(&json).starts_with(r#"{"event":{"encoding":"compact","#),
            "{}: {}",
            case.name,
            stdout(&json)
        );
        let back = scry(&["encode", "--to", "compact", "-", "-"], Some(&json.stdout));
        assert!(
            back.stdout == expected,
            "{}: compact → JSON → compact differs",
            case.name
        );

        let compat_again = scry(&["convert", "--to", "compat", "-", "-"], Some(&expected));
        assert!(
            compat_again.stdout == compat,
            "{}: compact → compat differs",
            case.name
        );
    }
}
