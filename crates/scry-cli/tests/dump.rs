//! `scry dump`: exact output for small fixed inputs, filters, JSON Lines, stdin.

mod common;

use common::{scratch, scry, stderr, stdout};

fn stream_file(test: &str) -> String {
    let file = scratch(test).join("stream.scry");
    std::fs::write(&file, common::framed_stream()).expect("write");
    file.to_str().expect("utf-8").to_owned()
}

const STREAM_DUMP: &str = r#"batch seq=7 source_id="cdc-1" events=5 relations=1 (frame 0 at byte 0, compat, 1903 bytes)
  relation public.users rel_id=16384 replica_identity=Full: id(oid 23, key), name(oid 25), bio(oid 25), score(oid 16999)
  event 0: BEGIN lsn=16/B374D800 xid=742 time=2023-11-14 22:13:20.000648+00 event_id="tx-742"
  event 1: INSERT public.users lsn=16/B374D848 xid=742 time=2023-11-14 22:13:20.000720+00
    new_row:
      id = 42
      name = "alice smith"
      bio = NULL
      score = \xdeadbeef (hex: unknown type (OID 16999))
  event 2: UPDATE public.users lsn=16/B374D8A0 xid=742 time=2023-11-14 22:13:20.000808+00
    new_row:
      id = 42
      name = alice
      bio = (unchanged TOAST)
      score = NULL
    old_row:
      id = 42
      name = "alice smith"
      bio = "long bio"
      score = NULL
  event 3: DELETE public.users lsn=16/B374D900 xid=742 time=2023-11-14 22:13:20.000904+00
    old_row:
      id = 7
      name = NULL
      bio = NULL
      score = NULL
  event 4: COMMIT lsn=16/B374D950 xid=742 time=2023-11-14 22:13:20.000984+00
batch seq=8 events=0 relations=0 (frame 1 at byte 1923, compat, 315 bytes)
  control_directive SYNC_SEQUENCES
  sequence_values: 1
    public.users_id_seq last_value=42 is_called=true increment_by=1 min_value=1 max_value=9223372036854775807
event (frame 2 at byte 2258, compat, 360 bytes): DDL public.users lsn=17/10 xid=0 time=2023-11-14 22:13:21.000000+00
  ddl_sql: "ALTER TABLE users ADD COLUMN age int4"
  ddl_object_type: "table"
"#;

#[test]
fn dumps_a_framed_stream_readably() {
    let out = scry(&["dump", &stream_file("dump-stream")], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), STREAM_DUMP);
    assert_eq!(stderr(&out), "");
}

#[test]
fn reads_standard_input() {
    let out = scry(&["dump", "-"], Some(&common::framed_stream()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), STREAM_DUMP);
}

#[test]
fn dumps_a_bare_event() {
    let bytes = scry_codec::serialize_event(&common::ddl_event()).expect("serialize");
    let out = scry(&["dump", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "event (bare, compat, 360 bytes): DDL public.users lsn=17/10 xid=0 \
         time=2023-11-14 22:13:21.000000+00\n  \
         ddl_sql: \"ALTER TABLE users ADD COLUMN age int4\"\n  \
         ddl_object_type: \"table\"\n"
    );
}

#[test]
fn filters_by_table_and_operation() {
    let file = stream_file("dump-filter");
    let out = scry(
        &["dump", "--table", "public.users", "--op", "delete", &file],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "batch seq=7 source_id=\"cdc-1\" events=5 relations=1 (frame 0 at byte 0, compat, 1903 bytes)\n  \
         relation public.users rel_id=16384 replica_identity=Full: id(oid 23, key), name(oid 25), bio(oid 25), score(oid 16999)\n  \
         event 3: DELETE public.users lsn=16/B374D900 xid=742 time=2023-11-14 22:13:20.000904+00\n    \
         old_row:\n      \
         id = 7\n      \
         name = NULL\n      \
         bio = NULL\n      \
         score = NULL\n"
    );
    // A bare table name matches too, and operations accept the variant name; the DDL event
    // is on users as well.
    let out = scry(
        &[
            "dump", "--table", "users", "--op", "Ddl", "--op", "commit", &file,
        ],
        None,
    );
    let text = stdout(&out);
    let firsts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("event ") && l.contains("lsn="))
        .collect();
    assert_eq!(
        firsts,
        [
            "event (frame 2 at byte 2258, compat, 360 bytes): DDL public.users lsn=17/10 xid=0 \
             time=2023-11-14 22:13:21.000000+00"
        ]
    );
}

#[test]
fn limit_stops_after_n_events() {
    let out = scry(
        &["dump", "--limit", "2", "--json", &stream_file("dump-limit")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with(r#"{"batch":{"frame":{"index":0,"offset":0},"encoding":"compat","event_count":2,"source_id":"cdc-1","batch_seq":7,"#));
    assert_eq!(
        lines[1],
        r#"{"event":{"index":0,"event_id":"tx-742","timestamp_us":1700000000000648,"operation":"Begin","schema":"","table":"","position":97500059648,"lsn":"16/B374D800","transaction_id":742,"columns":[],"new_row":null,"old_row":null,"relation_meta":null,"ddl_sql":null,"ddl_object_type":null}}"#
    );
    assert!(lines[2].starts_with(r#"{"event":{"index":1,"#));
}

#[test]
fn json_lines_of_a_lone_event_and_a_control_batch() {
    let file = stream_file("dump-json");
    let out = scry(&["dump", "--json", "--op", "ddl", &file], None);
    assert_eq!(
        stdout(&out),
        concat!(
            r#"{"event":{"frame":{"index":2,"offset":2258},"encoding":"compat","event_id":null,"timestamp_us":1700000001000000,"operation":"Ddl","schema":"public","table":"users","position":98784247824,"lsn":"17/10","transaction_id":0,"columns":[],"new_row":null,"old_row":null,"relation_meta":null,"ddl_sql":"ALTER TABLE users ADD COLUMN age int4","ddl_object_type":"table"}}"#,
            "\n"
        )
    );
    let out = scry(&["dump", "--json", &file], None);
    let text = stdout(&out);
    assert_eq!(
        text.lines().nth(6),
        Some(
            r#"{"batch":{"frame":{"index":1,"offset":1923},"encoding":"compat","event_count":0,"source_id":null,"batch_seq":8,"relations":[],"control_directive":"SyncSequences","sequence_values":[{"schema":"public","name":"users_id_seq","last_value":42,"is_called":true,"increment_by":1,"min_value":1,"max_value":9223372036854775807}],"backfill_metadata":null}}"#
        )
    );
}

#[test]
fn json_values_carry_tag_oid_hex_and_text() {
    let out = scry(
        &[
            "dump",
            "--json",
            "--op",
            "update",
            &stream_file("dump-values"),
        ],
        None,
    );
    let text = stdout(&out);
    let event = text.lines().nth(1).unwrap_or_default();
    assert!(
        event.contains(r#""new_row":[{"type_tag":"Int32","type_oid":23,"data":"0000002a","text":"#),
        "{event}"
    );
    assert!(
        event.contains(r#"{"type_tag":"ToastUnchanged","type_oid":25,"data":null,"text":null}"#),
        "{event}"
    );
}

#[test]
fn values_that_do_not_decode_show_as_marked_hex() {
    let bytes = scry_codec::serialize_batch(&common::invalid_batch()).expect("serialize");
    let out = scry(&["dump", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "batch seq=9 events=2 relations=0 (bare, compat, 372 bytes)\n  \
         event 0: INSERT public.users lsn=0/1 xid=0 time=1970-01-01 00:00:00.000000+00\n  \
         event 1: INSERT public.users lsn=0/0 xid=0 time=1970-01-01 00:00:00.000000+00\n    \
         new_row:\n      \
         [0] = \\x000001 (hex: cannot decode int4 (OID 23): expected 4 bytes, got 3)\n"
    );
}
