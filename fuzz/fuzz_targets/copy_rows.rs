//! `BatchEncoder::push_copy_row` on arbitrary bytes as COPY tuples, in both encodings: each
//! tuple is accepted or refused exactly as `CopyRows::to_event` makes or refuses its event,
//! and the finished batch is byte for byte `serialize_batch_with` of those events, which
//! reads back equal.
//!
//! `CopyRows::first_tuple` (which guesses each field's length from its type or from the
//! column's values before, and learns from every tuple it walks) cuts exactly the tuple
//! `CopyTuple::first` cuts, from each tuple and from the rest of the input. A tuple
//! of length byte 0 ends the batch so far (checked as the whole one is), so that the next
//! batch reuses what the encoder kept.
//!
//! Input: a column count byte (0 to 15), a type byte per column, then tuples, each a
//! length byte and that many bytes.
#![no_main]

use bytes::Bytes;
use scry_codec::{read_batch, serialize_batch_with, BatchEncoder, CopyRows, CopyTuple, Encoding};
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, TypeTag};

const TYPES: [(TypeTag, u32); 7] = [
    (TypeTag::Int32, 23),
    (TypeTag::Text, 25),
    (TypeTag::Bytea, 17),
    (TypeTag::Bool, 16),
    (TypeTag::Int64, 20),
    (TypeTag::Int16, 21),
    (TypeTag::Uuid, 2950),
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
    let mut seq = 0;
    while let Some((&len, tail)) = rest.split_first() {
        assert_eq!(rows.first_tuple(tail), CopyTuple::first(tail, n));
        if len == 0 {
            check(&mut encoders, std::mem::take(&mut events), seq);
            seq += 1;
        }
        let len = usize::from(len).min(tail.len());
        let tuple = Bytes::copy_from_slice(&tail[..len]);
        assert_eq!(rows.first_tuple(&tuple), CopyTuple::first(&tuple, n));
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
    check(&mut encoders, events, seq);
});

/// Ends the batch each encoder holds: the bytes of `events` as one batch, read back equal.
fn check(encoders: &mut [BatchEncoder; 2], events: Vec<DatabaseEvent>, seq: u64) {
    let batch = DatabaseEventBatch::with_events(events).with_batch_seq(seq);
    let rest = DatabaseEventBatch::new().with_batch_seq(seq);
    for encoder in encoders {
        let encoding = encoder.encoding();
        let bytes = encoder.finish(&rest).expect("a batch of checked rows encodes");
        assert_eq!(bytes, serialize_batch_with(&batch, encoding).unwrap());
        assert_eq!(read_batch(bytes).unwrap(), batch);
    }
}
