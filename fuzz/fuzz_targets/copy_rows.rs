//! `BatchEncoder::push_copy_row` on arbitrary bytes as COPY tuples, in both encodings: each
//! tuple is accepted or refused exactly as `CopyRows::to_event` makes or refuses its event,
//! and the finished batch is byte for byte `serialize_batch_with` of those events, which
//! reads back equal.
//!
//! Input: a column count byte (0 to 15), a type byte per column, then tuples, each a
//! length byte and that many bytes.
#![no_main]

use bytes::Bytes;
use scry_codec::{read_batch, serialize_batch_with, BatchEncoder, CopyRows, Encoding};
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, TypeTag};

const TYPES: [(TypeTag, u32); 4] = [
    (TypeTag::Int32, 23),
    (TypeTag::Text, 25),
    (TypeTag::Bytea, 17),
    (TypeTag::Bool, 16),
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16);
    let Some((types, mut rest)) = rest.split_at_checked(n) else {
        return;
    };
    let types = types.iter().map(|&t| TYPES[usize::from(t) % TYPES.len()]).collect();
    let mut event = DatabaseEvent::new(OperationType::SnapshotRow, "public", "t");
    if n % 2 == 1 {
        event.columns = (0..n).map(|i| format!("c{i}")).collect();
    }
    let rows = CopyRows::new(event, types);
    let mut encoders = [
        BatchEncoder::new(Encoding::Compat),
        BatchEncoder::new(Encoding::Compact),
    ];
    let mut events = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let tuple = Bytes::copy_from_slice(&tail[..len]);
        rest = &tail[len..];
        let made = rows.to_event(&tuple);
        for encoder in &mut encoders {
            let pushed = encoder.push_copy_row(&rows, &tuple);
            assert_eq!(pushed.as_ref().err(), made.as_ref().err());
        }
        if let Ok(e) = made {
            assert_eq!(rows.event_size(&tuple), e.size_bytes());
            events.push(e);
        }
    }
    let batch = DatabaseEventBatch::with_events(events).with_batch_seq(1);
    let rest = DatabaseEventBatch::new().with_batch_seq(1);
    for encoder in &mut encoders {
        let encoding = encoder.encoding();
        let bytes = encoder.finish(&rest).expect("a batch of checked rows encodes");
        assert_eq!(bytes, serialize_batch_with(&batch, encoding).unwrap());
        assert_eq!(read_batch(bytes).unwrap(), batch);
    }
});
