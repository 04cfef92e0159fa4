//! `scry_pg::pgoutput` on arbitrary message streams. The input is a sequence of messages,
//! each a 2-byte big-endian length and that many bytes (the first byte of the input picks the
//! decoder's memory limit, so held transactions also spill to a file). Every message goes
//! through `parse` (in and out of a stream) and the whole sequence through `ChangeDecoder`.
//!
//! Checks: nothing panics; a parsed tuple walks exactly its column count; an error's offset
//! lies inside the message; every row event the decoder hands on has as many values as its
//! relation has columns, and Begin and Commit alternate.
#![no_main]

use bytes::Bytes;
use scry_pg::pgoutput::{parse, Change, ChangeDecoder, Message};
use scry_types::OperationType;

fn check_tuples(message: &Message<'_>) {
    let tuples = match message {
        Message::Insert(m) => vec![m.new],
        Message::Update(m) => m.old.iter().map(|(_, t)| *t).chain([m.new]).collect(),
        Message::Delete(m) => vec![m.old],
        _ => vec![],
    };
    for t in tuples {
        assert_eq!(t.columns().count(), t.len(), "a checked tuple walks whole");
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&limit, mut rest)) = data.split_first() else {
        return;
    };
    let mut decoder = ChangeDecoder::new().memory_limit(usize::from(limit) * 16);
    let mut open = false;
    let mut lsn = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(message) = rest.get(2..2 + len) else {
            break;
        };
        rest = &rest[2 + len..];
        for in_stream in [false, true] {
            match parse(message, in_stream) {
                Ok(m) => check_tuples(&m),
                Err(e) => assert!(e.offset <= message.len(), "{e}"),
            }
        }
        lsn += 1;
        let bytes = Bytes::copy_from_slice(message);
        let result = decoder.decode(lsn, &bytes, &mut |change| {
            if let Change::Event(e) = change {
                match e.operation {
                    OperationType::Begin => {
                        assert!(!open, "Begin inside a transaction");
                        open = true;
                    }
                    OperationType::Commit => {
                        assert!(open, "Commit outside a transaction");
                        open = false;
                    }
                    _ => {
                        let width = e.columns.len();
                        for row in e.new_row.iter().chain(e.old_row.iter()) {
                            assert_eq!(row.values.len(), width, "a row as wide as its relation");
                        }
                    }
                }
            }
        });
        if result.is_err() {
            // A consumer stops at the first error.
            break;
        }
    }
});
