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
payloads: 2 batches, 1 lone event, 3 frames, 2578 bytes
events: 6
encoding:                 payloads          bytes
  compat                         3           2578
by operation:               events
  INSERT                         1
  UPDATE                         1
  DELETE                         1
  BEGIN                          1
  COMMIT                         1
  DDL                            1
by table:                   events
  public.users                   4
bytes by type:              values          bytes  without data
  Null                           0              0             6
  Int32                          4             16             0
  Text                           4             35             0
  ToastUnchanged                 0              0             1
  Custom                         1              4             0
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
        text.starts_with("payloads: 1 batch, 0 lone events, 0 frames, "),
        "{text}"
    );
    assert!(
        text.ends_with("lsn range: none (no event has a non-zero position)\n"),
        "{text}"
    );
}
