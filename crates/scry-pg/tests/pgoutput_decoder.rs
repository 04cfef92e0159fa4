//! `ChangeDecoder` on message streams written by hand (`scry_testkit::pgoutput`): text-format
//! values, and the exact error for each message that does not fit the stream's order.

use bytes::Bytes;
use scry_pg::pgoutput::{is_text_format, Change, ChangeDecoder, ChangeError};
use scry_testkit::pgoutput::{begin, commit, insert, relation};
use scry_types::{OperationType, TypeTag};

fn run(messages: &[Vec<u8>]) -> Result<Vec<Change>, ChangeError> {
    let mut decoder = ChangeDecoder::new();
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        decoder.decode(0x10 * (i as u64 + 1), &Bytes::from(m.clone()), &mut |c| {
            out.push(c)
        })?;
    }
    Ok(out)
}

fn rel() -> Vec<u8> {
    relation(
        7,
        "public",
        "t",
        &[("id", 23, true), ("mood", 16_400, false)],
    )
}

#[test]
fn a_text_format_value_is_tagged_text_with_its_own_oid() {
    // The custom type's column arrives as text (`t`): no binary send function.
    let mut ins = vec![
        b'I', 0, 0, 0, 7, b'N', 0, 2, b'b', 0, 0, 0, 4, 0, 0, 0, 1, b't',
    ];
    ins.extend(5u32.to_be_bytes());
    ins.extend(b"happy");
    let out = run(&[begin(0x90, 0, 5), rel(), ins, commit(0x90, 0xa0, 0)]).unwrap();
    // The commit LSN Begin gave, then Begin, then the Insert.
    assert_eq!(out[0], Change::Commits { commit_lsn: 0x90 });
    let Change::Event(e) = &out[2] else { panic!() };
    let values = &e.new_row.as_ref().unwrap().values;
    assert_eq!(
        (values[1].type_tag, values[1].type_oid),
        (TypeTag::Text, 16_400)
    );
    assert_eq!(values[1].as_bytes(), Some(&b"happy"[..]));
    assert!(is_text_format(&values[1]));
    assert!(!is_text_format(&values[0]));
    assert_eq!(e.operation, OperationType::Insert);
}

#[test]
fn messages_out_of_order_get_exact_errors() {
    let one: &[Option<&[u8]>] = &[Some(&[0, 0, 0, 1]), None];
    let err = |messages: &[Vec<u8>]| run(messages).unwrap_err().to_string();
    assert_eq!(
        err(&[begin(0x90, 0, 5), insert(7, one)]),
        "at LSN 0/20: Insert of relation OID 7, which no Relation message described"
    );
    assert_eq!(
        err(&[rel(), insert(7, one)]),
        "at LSN 0/20: unexpected Insert: outside a transaction"
    );
    assert_eq!(
        err(&[commit(1, 2, 3)]),
        "at LSN 0/10: unexpected Commit: no Begin before it"
    );
    assert_eq!(
        err(&[begin(0x90, 0, 5), begin(0x90, 0, 6)]),
        "at LSN 0/20: unexpected Begin: inside an open transaction"
    );
    assert_eq!(
        err(&[begin(0x90, 0, 5), rel(), insert(7, &[None])]),
        "at LSN 0/30: Insert of public.t: a row of 1 columns, the relation has 2"
    );
    let mut stream_commit = vec![b'c'];
    stream_commit.extend(9u32.to_be_bytes());
    stream_commit.push(0);
    stream_commit.extend([0u8; 24]);
    assert_eq!(
        err(&[stream_commit]),
        "at LSN 0/10: unexpected Stream Commit: no streamed transaction has that xid"
    );
    assert_eq!(
        err(&[b"I\0".to_vec()]),
        "at LSN 0/10: pgoutput Insert message at byte 1: the relation OID needs 4 bytes, 1 left"
    );
}
