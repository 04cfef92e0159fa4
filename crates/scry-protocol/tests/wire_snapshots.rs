//! Wire snapshots: the exact bytes `serialize_batch_with`/`serialize_event_with` write for every
//! canonical case ([`scry_testkit::canonical_cases`]) in both encodings, with what
//! `read_batch`/`read_event` make of them, pinned as insta snapshots in `tests/snapshots/`
//! (`<case>` for the default, 0.1.1-compatible encoding, `<case>__compact` for the compact one).
//!
//! Each case also asserts that decoding gives back the value that was encoded. A changed
//! snapshot means the bytes on the wire changed: for the default (0.1.1-compatible) encoding
//! that breaks deployed peers, so review it as such. `cargo xtask snapshots` regenerates the
//! files; `cargo xtask snapshots --check` fails when any is stale, missing or unreferenced.
//!
//! The SQL proxy's query-event batches (`query_batch_*`, from
//! [`scry_testkit::query::query_cases`]) are pinned the same way: the bytes
//! `FlatBuffersSerializer::serialize_batch` writes (0.1.1's) and what
//! `FlexBuffersDeserializer::deserialize_batch` reads from them.
//!
//! `SCRY_SNAPSHOT_DIR`, when set, makes the test read and write its snapshots in that folder
//! instead (the xtask uses it to check without touching the tree).

use std::panic::{catch_unwind, AssertUnwindSafe};

use scry_protocol::database_event::{
    read_batch, read_event, serialize_batch_with, serialize_event_with, Bytes, ColumnValue,
    DatabaseEvent, DatabaseEventBatch, Encoding,
};
use scry_protocol::{FlatBuffersSerializer, FlexBuffersDeserializer};
use scry_testkit::dump::{fnv1a64, wire_dump, EDGE_BYTES, FULL_DUMP_LIMIT};
use scry_testkit::query::{query_cases, QueryCase};
use scry_testkit::{canonical_cases, CanonicalCase, CanonicalPayload};

/// The folder that replaces `tests/snapshots` when set.
const SNAPSHOT_DIR_ENV: &str = "SCRY_SNAPSHOT_DIR";

/// Values longer than this are summarized in the decoded view.
const DECODED_VALUE_LIMIT: usize = 64;

fn header(case: &CanonicalCase, function: &str, encoding: Encoding) -> String {
    let encoding = match encoding {
        Encoding::Compat => "Encoding::Compat, the default: scry-protocol 0.1.1's FlexBuffers",
        Encoding::Compact => {
            "Encoding::Compact, layout version 3: events and tables blobs in a FlexBuffers map"
        }
    };
    format!(
        "# {name}: {description}\n\
         # Bytes: {function} ({encoding}).\n\
         # Hex dump: 16 bytes a line, hex offset, bytes, printable ASCII between bars.\n\
         #   Buffers over {FULL_DUMP_LIMIT} bytes show their length, an FNV-1a 64 fingerprint of\n\
         #   all their bytes, and only their first and last {EDGE_BYTES} bytes.\n\
         # Decoded: pretty Debug of reading those bytes back; a value over {DECODED_VALUE_LIMIT} bytes shows\n\
         #   as b\"<elided: N bytes, fnv1a64 …>\" in place of its data.\n",
        name = case.name,
        description = case.description,
    )
}

fn elide_value(value: &mut ColumnValue) {
    if let Some(data) = &value.data {
        if data.len() > DECODED_VALUE_LIMIT {
            let summary = format!(
                "<elided: {} bytes, fnv1a64 {:016x}>",
                data.len(),
                fnv1a64(data)
            );
            value.data = Some(Bytes::from(summary));
        }
    }
}

fn elide_event(mut event: DatabaseEvent) -> DatabaseEvent {
    for row in event.new_row.iter_mut().chain(event.old_row.iter_mut()) {
        row.values.iter_mut().for_each(elide_value);
    }
    event
}

fn elide_batch(mut batch: DatabaseEventBatch) -> DatabaseEventBatch {
    batch.events = batch.events.into_iter().map(elide_event).collect();
    batch
}

/// Encodes and decodes the case, checks the round trip, and renders the snapshot text.
fn render(case: &CanonicalCase, encoding: Encoding) -> String {
    let (function, bytes, decoded) = match &case.payload {
        CanonicalPayload::Batch(batch) => {
            let bytes = serialize_batch_with(batch, encoding)
                .unwrap_or_else(|e| panic!("{}: serialize_batch: {e}", case.name));
            let back =
                read_batch(&bytes).unwrap_or_else(|e| panic!("{}: read_batch: {e}", case.name));
            assert!(
                back == *batch,
                "{}: read_batch gives a different batch",
                case.name
            );
            (
                "serialize_batch_with",
                bytes,
                format!("{:#?}", elide_batch(back)),
            )
        }
        CanonicalPayload::Event(event) => {
            let bytes = serialize_event_with(event, encoding)
                .unwrap_or_else(|e| panic!("{}: serialize_event: {e}", case.name));
            let back =
                read_event(&bytes).unwrap_or_else(|e| panic!("{}: read_event: {e}", case.name));
            assert!(
                back == *event,
                "{}: read_event gives a different event",
                case.name
            );
            (
                "serialize_event_with",
                bytes,
                format!("{:#?}", elide_event(back)),
            )
        }
    };
    format!(
        "{}\n== bytes: {} ==\n{}\n== decoded ==\n{decoded}\n",
        header(case, function, encoding),
        bytes.len(),
        wire_dump(&bytes),
    )
}

/// The insta settings of every snapshot here: no expression, and `SCRY_SNAPSHOT_DIR` honoured.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    if let Some(dir) = std::env::var_os(SNAPSHOT_DIR_ENV) {
        settings.set_snapshot_path(std::path::PathBuf::from(dir));
    }
    settings
}

/// Serializes and reads a query-event case, checks the round trip (the cases' times are whole
/// microseconds, so nothing is lost), and renders the snapshot text.
fn render_query(case: &QueryCase) -> String {
    let bytes = FlatBuffersSerializer::serialize_batch(&case.events, case.proxy_id, case.batch_seq);
    let back = FlexBuffersDeserializer::deserialize_batch(&bytes)
        .unwrap_or_else(|e| panic!("{}: deserialize_batch: {e}", case.name));
    assert_eq!(back.events, case.events, "{}: events changed", case.name);
    assert_eq!(
        (back.proxy_id.as_str(), back.batch_seq),
        (case.proxy_id, case.batch_seq),
        "{}",
        case.name
    );
    format!(
        "# {name}: {description}\n\
         # Bytes: FlatBuffersSerializer::serialize_batch (scry-protocol 0.1.1's query-event FlexBuffers).\n\
         # Hex dump: 16 bytes a line, hex offset, bytes, printable ASCII between bars.\n\
         # Decoded: pretty Debug of FlexBuffersDeserializer::deserialize_batch on those bytes.\n\
         \n== bytes: {len} ==\n{dump}\n== decoded ==\n{back:#?}\n",
        name = case.name,
        description = case.description,
        len = bytes.len(),
        dump = wire_dump(&bytes),
    )
}

#[test]
fn query_snapshots() {
    let mut settings = settings();
    let mut mismatched = Vec::new();
    for case in query_cases() {
        settings.set_description(case.description);
        let text = render_query(&case);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(case.name, text));
        }));
        if outcome.is_err() {
            mismatched.push(case.name);
        }
    }
    assert!(
        mismatched.is_empty(),
        "query-event snapshots that do not match (stale or missing): {mismatched:?}; \
         if the change is intended, run `cargo xtask snapshots`"
    );
}

#[test]
fn wire_snapshots() {
    let mut settings = settings();
    let mut mismatched = Vec::new();
    for case in canonical_cases() {
        settings.set_description(case.description.clone());
        for (encoding, suffix) in [(Encoding::Compat, ""), (Encoding::Compact, "__compact")] {
            let name = format!("{}{suffix}", case.name);
            let text = render(&case, encoding);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_snapshot!(name.clone(), text));
            }));
            if outcome.is_err() {
                mismatched.push(name);
            }
        }
    }
    assert!(
        mismatched.is_empty(),
        "wire snapshots that do not match (stale or missing): {mismatched:?}; \
         if the change is intended, run `cargo xtask snapshots`"
    );
}
