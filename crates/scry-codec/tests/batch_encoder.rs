//! `BatchEncoder` writes, an event at a time, exactly the bytes `serialize_batch_with` writes
//! for the whole batch; `push_copy_row` exactly those of `push` of the event the tuple makes.

use bytes::{BufMut, Bytes, BytesMut};
use scry_codec::frame::{FrameEncoder, FrameError, PayloadKind};
use scry_codec::{
    read_batch, serialize_batch_with, BatchEncoder, CodecError, CopyRows, CopyTuple, Encoding,
};
use scry_testkit::{canonical_cases, workloads, CanonicalPayload, Gen};
use scry_types::{DatabaseEvent, DatabaseEventBatch, OperationType, TypeTag};

const ENCODINGS: [Encoding; 2] = [Encoding::Compat, Encoding::Compact];

/// `batch` without its events.
fn rest_of(batch: &DatabaseEventBatch) -> DatabaseEventBatch {
    DatabaseEventBatch {
        events: Vec::new(),
        ..batch.clone()
    }
}

/// The batches every test runs on: the canonical ones, random ones and the benchmark
/// workloads.
fn batches() -> Vec<DatabaseEventBatch> {
    let mut out: Vec<DatabaseEventBatch> = canonical_cases()
        .into_iter()
        .filter_map(|c| match c.payload {
            CanonicalPayload::Batch(b) => Some(b),
            CanonicalPayload::Event(_) => None,
        })
        .collect();
    let mut g = Gen::new(0x5eed_0b47);
    out.extend((0..200).map(|_| g.batch(12)));
    out.push(workloads::small_rows(300));
    out.push(workloads::large_rows(20));
    out
}

#[test]
fn events_pushed_one_at_a_time_make_the_bytes_of_the_whole_batch() {
    let batches = batches();
    for encoding in ENCODINGS {
        // One encoder for all of them: each batch starts afresh after the last one ended.
        let mut encoder = BatchEncoder::new(encoding);
        for (i, batch) in batches.iter().enumerate() {
            let want = serialize_batch_with(batch, encoding).unwrap();
            // Every split between pushed events and the events `finish` is given.
            for split in [0, batch.events.len() / 2, batch.events.len()] {
                for e in &batch.events[..split] {
                    encoder.push(e).unwrap();
                }
                assert_eq!(encoder.len(), split);
                let rest = DatabaseEventBatch {
                    events: batch.events[split..].to_vec(),
                    ..batch.clone()
                };
                let got = encoder.finish(&rest).unwrap();
                assert_eq!(got, want, "batch {i}, {encoding:?}, split {split}");
                assert!(encoder.is_empty());
            }
        }
    }
}

#[test]
fn an_empty_encoder_finishes_an_empty_batch() {
    for encoding in ENCODINGS {
        let mut encoder = BatchEncoder::new(encoding);
        assert_eq!(encoder.encoded_len(), 0);
        let batch = DatabaseEventBatch::new().with_batch_seq(3);
        let got = encoder.finish(&batch).unwrap().to_vec();
        assert_eq!(got, serialize_batch_with(&batch, encoding).unwrap());
        assert_eq!(read_batch(&got).unwrap(), batch);
    }
}

#[test]
fn finish_frame_is_the_frame_of_the_serialized_batch() {
    let batch = workloads::small_rows(50);
    for encoding in ENCODINGS {
        let mut frames = FrameEncoder::new();
        let mut want = BytesMut::new();
        let mut expected = FrameEncoder::new();
        let mut encoder = BatchEncoder::new(encoding);
        let mut got = Vec::new();
        for seq in 0..3 {
            let batch = DatabaseEventBatch {
                batch_seq: seq,
                ..batch.clone()
            };
            let payload = serialize_batch_with(&batch, encoding).unwrap();
            expected
                .encode(PayloadKind::Batch, encoding.into(), &payload, &mut want)
                .unwrap();
            for e in &batch.events {
                encoder.push(e).unwrap();
            }
            got.extend_from_slice(encoder.finish_frame(&rest_of(&batch), &mut frames).unwrap());
        }
        assert_eq!(got, want.to_vec(), "{encoding:?}");
        assert_eq!(frames.frames_encoded(), 3);
        assert_eq!(frames.bytes_encoded(), want.len() as u64);
    }
}

#[test]
fn kept_frames_are_the_frames_finish_frame_returns() {
    // Event counts whose varints are 1 or 2 bytes long, in every order: the room kept in
    // front of compact events is guessed from the batch before.
    let counts = [0, 1, 127, 128, 200, 5, 300, 3];
    let source = workloads::small_rows(300);
    for encoding in ENCODINGS {
        for prefix in 0..=8u8 {
            let mut one_by_one = BatchEncoder::new(encoding);
            let mut frames_a = FrameEncoder::new();
            let mut want: Vec<u8> = (0..prefix).collect();
            let mut kept = BatchEncoder::new(encoding);
            let mut frames_b = FrameEncoder::new();
            kept.keep_frames((0..prefix).collect());
            for (seq, &n) in counts.iter().enumerate() {
                let rest = DatabaseEventBatch::new().with_batch_seq(seq as u64);
                for e in &source.events[..n] {
                    one_by_one.push(e).unwrap();
                    kept.push(e).unwrap();
                }
                want.extend_from_slice(one_by_one.finish_frame(&rest, &mut frames_a).unwrap());
                let frame = kept.finish_frame(&rest, &mut frames_b).unwrap();
                assert_eq!(frame, &want[want.len() - frame.len()..]);
            }
            // A batch too long for its frame is refused and leaves nothing behind; a batch
            // being written when the buffer is taken back is dropped.
            let mut strict = FrameEncoder::new().with_max_payload_len(100);
            for e in &source.events[..20] {
                kept.push(e).unwrap();
            }
            assert!(kept
                .finish_frame(&DatabaseEventBatch::new(), &mut strict)
                .is_err());
            kept.push(&source.events[0]).unwrap();
            let got = kept.take_frames();
            assert!(got == want, "{encoding:?}, {prefix} bytes ahead");
            assert!(kept.is_empty());
            // Back in its own buffer, the encoder writes each batch over the last.
            assert!(kept.take_frames().is_empty());
            kept.push(&source.events[1]).unwrap();
            let batch = DatabaseEventBatch::with_events(vec![source.events[1].clone()]);
            assert_eq!(
                kept.finish(&DatabaseEventBatch::new()).unwrap(),
                serialize_batch_with(&batch, encoding).unwrap()
            );
        }
    }
}

#[test]
fn a_batch_too_long_for_the_frame_is_refused_and_not_counted() {
    let batch = workloads::small_rows(50);
    let mut frames = FrameEncoder::new().with_max_payload_len(200);
    let mut encoder = BatchEncoder::new(Encoding::Compact);
    let len = serialize_batch_with(&batch, Encoding::Compact)
        .unwrap()
        .len();
    let err = encoder.finish_frame(&batch, &mut frames).unwrap_err();
    assert_eq!(
        err,
        FrameError::PayloadTooLong {
            index: 0,
            offset: 0,
            len: len as u64,
            max: 200
        }
    );
    assert_eq!(frames.frames_encoded(), 0);
    // The encoder goes on with a new batch.
    let small = DatabaseEventBatch::new();
    let frame = encoder.finish_frame(&small, &mut frames).unwrap();
    assert_eq!(&frame[..4], b"SCRY");
}

/// A relation's row events and random COPY tuples for it, NULLs in every pattern.
fn copy_rows(g: &mut Gen, columns: usize) -> (CopyRows, Vec<Bytes>) {
    let tags = [
        (TypeTag::Int32, 23),
        (TypeTag::Text, 25),
        (TypeTag::Bytea, 17),
        (TypeTag::Bool, 16),
        (TypeTag::Inet, 869),
    ];
    let types: Vec<(TypeTag, u32)> = (0..columns).map(|_| g.pick(&tags)).collect();
    let mut event = DatabaseEvent::new(OperationType::SnapshotRow, "public", g.string());
    event.timestamp_us = g.u64();
    event.position = g.u64();
    event.transaction_id = g.u64();
    if g.one_in(2) {
        event.columns = (0..columns).map(|i| format!("column_{i}")).collect();
    }
    let rows = CopyRows::new(event, types);
    let tuples = (0..40)
        .map(|_| {
            let mut t = BytesMut::new();
            t.put_i16(columns as i16);
            for _ in 0..columns {
                if g.one_in(3) {
                    t.put_i32(-1);
                } else {
                    let d = g.data();
                    t.put_i32(d.len() as i32);
                    t.put_slice(&d);
                }
            }
            t.freeze()
        })
        .collect();
    (rows, tuples)
}

#[test]
fn copy_rows_make_the_bytes_of_their_events() {
    let mut g = Gen::new(0xc0_9e);
    for encoding in ENCODINGS {
        for columns in [0, 1, 2, 5, 9, 40] {
            let (rows, tuples) = copy_rows(&mut g, columns);
            let mut direct = BatchEncoder::new(encoding);
            let mut events = Vec::new();
            for t in &tuples {
                direct.push_copy_row(&rows, t).unwrap();
                let e = rows.to_event(t).unwrap();
                assert_eq!(rows.event_size(t), e.size_bytes());
                events.push(e);
            }
            let batch = DatabaseEventBatch::with_events(events).with_batch_seq(9);
            let got = direct.finish(&rest_of(&batch)).unwrap();
            let want = serialize_batch_with(&batch, encoding).unwrap();
            assert_eq!(got, want, "{encoding:?}, {columns} columns");
            assert_eq!(read_batch(got).unwrap(), batch);
        }
    }
}

#[test]
fn copy_rows_mix_with_other_events() {
    let mut g = Gen::new(77);
    let (rows, tuples) = copy_rows(&mut g, 4);
    for encoding in ENCODINGS {
        let mut encoder = BatchEncoder::new(encoding);
        let mut events = Vec::new();
        for (i, t) in tuples.iter().enumerate() {
            if i % 5 == 0 {
                let e = g.event();
                encoder.push(&e).unwrap();
                events.push(e);
            }
            encoder.push_copy_row(&rows, t).unwrap();
            events.push(rows.to_event(t).unwrap());
        }
        let batch = DatabaseEventBatch::with_events(events);
        assert_eq!(
            encoder.finish(&rest_of(&batch)).unwrap(),
            serialize_batch_with(&batch, encoding).unwrap()
        );
    }
}

#[test]
fn a_bad_tuple_is_refused_and_leaves_the_batch_as_it_was() {
    let rows = CopyRows::new(
        DatabaseEvent::new(OperationType::SnapshotRow, "public", "t"),
        vec![(TypeTag::Int32, 23), (TypeTag::Text, 25)],
    );
    let good = Bytes::from_static(&[0, 2, 0, 0, 0, 4, 0, 0, 0, 42, 0xFF, 0xFF, 0xFF, 0xFF]);
    let cases: [(&'static [u8], &str); 6] = [
        (&[0], "1 bytes, too short for a field count"),
        (&[0, 3], "3 fields, the row has 2 columns"),
        (&[0xFF, 0xFF], "-1 fields, the row has 2 columns"),
        (&[0, 2, 0, 0, 0], "ends in field 0's length, at byte 2"),
        (
            &[0, 2, 0, 0, 0, 9, 1, 2],
            "field 0's length 9 at byte 2 does not fit the 2 bytes left",
        ),
        (
            &[0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 7],
            "1 bytes after the last field, at byte 10",
        ),
    ];
    for encoding in ENCODINGS {
        let mut encoder = BatchEncoder::new(encoding);
        encoder.push_copy_row(&rows, &good).unwrap();
        for (tuple, reason) in cases {
            let err = encoder
                .push_copy_row(&rows, &Bytes::from_static(tuple))
                .unwrap_err();
            assert_eq!(
                err,
                CodecError::Encode {
                    what: "COPY tuple",
                    reason: reason.to_owned()
                },
                "{tuple:?}"
            );
            assert_eq!(rows.to_event(&Bytes::from_static(tuple)).unwrap_err(), err);
        }
        assert_eq!(encoder.len(), 1);
        let batch = DatabaseEventBatch::with_events(vec![rows.to_event(&good).unwrap()]);
        assert_eq!(
            encoder.finish(&rest_of(&batch)).unwrap(),
            serialize_batch_with(&batch, encoding).unwrap()
        );
    }
}

#[test]
fn copy_tuples_are_cut_from_the_start_of_a_stream_only_when_whole() {
    // 2 fields: an int4 7 and a NULL; then more bytes.
    let tuple: &[u8] = &[0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut stream = tuple.to_vec();
    stream.extend_from_slice(&[0xFF, 0xFF, 9, 9]);
    let first = CopyTuple::first(&stream, 2).unwrap();
    assert_eq!(first.as_bytes(), tuple);
    assert_eq!((first.len(), first.fields()), (14, 2));
    assert_eq!(CopyTuple::new(tuple, 2), Ok(first));
    // Every cut short prefix, another field count, the trailer, a bad length: none.
    for n in 0..tuple.len() {
        assert_eq!(CopyTuple::first(&tuple[..n], 2), None, "{n} bytes");
    }
    assert_eq!(CopyTuple::first(tuple, 3), None);
    assert_eq!(CopyTuple::first(&[0xFF, 0xFF], 0), None);
    assert_eq!(CopyTuple::first(&[0, 1, 0xFF, 0xFF, 0xFF, 0xFE], 1), None);
    // `new` wants exactly one tuple.
    assert_eq!(
        CopyTuple::new(&stream, 2).unwrap_err(),
        CodecError::Encode {
            what: "COPY tuple",
            reason: "4 bytes after the last field, at byte 14".to_owned()
        }
    );
    // A checked tuple of another field count than the rows' is refused, the batch kept.
    let rows = CopyRows::new(
        DatabaseEvent::new(OperationType::SnapshotRow, "public", "t"),
        vec![(TypeTag::Int32, 23)],
    );
    for encoding in ENCODINGS {
        let mut encoder = BatchEncoder::new(encoding);
        assert_eq!(
            encoder.push_copy_tuple(&rows, &first).unwrap_err(),
            CodecError::Encode {
                what: "COPY tuple",
                reason: "2 fields, the row has 1 columns".to_owned()
            }
        );
        assert!(encoder.is_empty());
    }
}

#[test]
fn first_tuple_cuts_what_first_cuts_whatever_it_guessed() {
    // `first_tuple` guesses each field's length from the column's type or its last value,
    // and learns from every tuple: random tuples (lengths that change from row to row,
    // NULLs, fixed-width columns with values of other lengths) walked both ways, each cut
    // short at every length, must give the same tuples and the same refusals.
    let mut g = Gen::new(0x5EED_0017);
    for columns in [1, 3, 7, 70] {
        let (rows, tuples) = copy_rows(&mut g, columns);
        let mut stream = Vec::new();
        for (i, t) in tuples.iter().enumerate() {
            // Some rows alike (the guesses hold), some not.
            let t = if i % 3 == 1 { &tuples[i - 1] } else { t };
            stream.extend_from_slice(t);
            if i % 5 == 4 {
                // A field of an impossible length after the guesses were learned.
                let mut bad = t.to_vec();
                if let Some(len) = bad.get_mut(2..6) {
                    len.copy_from_slice(&(-7i32).to_be_bytes());
                }
                assert_eq!(rows.first_tuple(&bad), None, "{columns} columns, tuple {i}");
                assert_eq!(CopyTuple::first(&bad, columns), None);
            }
            for cut in 0..t.len() {
                assert_eq!(
                    rows.first_tuple(&t[..cut]),
                    None,
                    "{columns} columns, {cut} bytes"
                );
            }
        }
        stream.extend_from_slice(&[0xFF, 0xFF]);
        let (mut at, mut walked) = (0, 0);
        while let Some(tuple) = rows.first_tuple(&stream[at..]) {
            assert_eq!(Some(tuple), CopyTuple::first(&stream[at..], columns));
            at += tuple.len();
            walked += 1;
        }
        assert_eq!((walked, &stream[at..]), (tuples.len(), &[0xFF, 0xFF][..]));
        assert_eq!(CopyTuple::first(&stream[at..], columns), None);
    }
}
