//! `scry stats`: exact report for a small fixed input.

mod common;

use common::{scry, stderr, stdout};

#[test]
fn reports_counts_bytes_encodings_largest_values_and_lsn_range() {
    let out = scry(&["stats", "-"], Some(&common::framed_stream()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "\
payloads: 2 batches, 1 lone events, 3 frames, 2578 bytes
events: 6
encoding:
  compat            3 payloads           2578 bytes
by operation:
  INSERT                          1
  UPDATE                          1
  DELETE                          1
  BEGIN                           1
  COMMIT                          1
  DDL                             1
by table:
  public.users                            4
bytes by column type:
  Null                      0 values              0 bytes        6 without data
  Int32                     4 values             16 bytes        0 without data
  Text                      4 values             35 bytes        0 without data
  ToastUnchanged            0 values              0 bytes        1 without data
  Custom                    1 values              4 bytes        0 without data
largest values:
          11 bytes  Text frame 0 event 1 public.users: new_row.values[1] (name)
          11 bytes  Text frame 0 event 2 public.users: old_row.values[1] (name)
           8 bytes  Text frame 0 event 2 public.users: old_row.values[2] (bio)
           5 bytes  Text frame 0 event 2 public.users: new_row.values[1] (name)
           4 bytes  Int32 frame 0 event 1 public.users: new_row.values[0] (id)
lsn range: 16/B374D800 .. 17/10
"
    );
}

#[test]
fn empty_input_has_no_lsn_range() {
    let bytes = scry_codec::serialize_batch(&common::control_batch()).expect("serialize");
    let out = scry(&["stats", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("payloads: 1 batches, 0 lone events, 0 frames, "),
        "{text}"
    );
    assert!(
        text.ends_with("lsn range: none (no event has a non-zero position)\n"),
        "{text}"
    );
}
