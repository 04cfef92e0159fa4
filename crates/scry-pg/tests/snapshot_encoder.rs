//! `SnapshotEncoder` writes, straight from COPY tuples, exactly the bytes of the batches the
//! `SnapshotAdapter` makes for the same stream, serialized: on the committed fixture and on
//! generated tables, for every read size, both encodings and several batch limits; errors
//! are the adapter's, after the same batches.

mod common;

use std::io::Read;

use bytes::{Bytes, BytesMut};
use scry_builder::BatchBuilder;
use scry_codec::frame::{FrameEncoder, PayloadKind};
use scry_codec::{serialize_batch_with, Encoding};
use scry_pg::copy::{CopyError, CopyWriter};
use scry_pg::oid;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder, SnapshotError, TableSummary};
use scry_testkit::Gen;
use scry_types::{ColumnMeta, RelationMeta};

const ENCODINGS: [Encoding; 2] = [Encoding::Compat, Encoding::Compact];

/// A source that yields at most `step` bytes a read.
struct Pieces<'a>(&'a [u8], usize);

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Batch limits: (max_events, max_bytes).
const LIMITS: [(usize, usize); 3] = [(1000, 1_000_000), (7, 1_000_000), (1000, 5_000)];

fn builder((events, bytes): (usize, usize)) -> BatchBuilder {
    BatchBuilder::new()
        .source_id("src")
        .batch_seq(40)
        .max_events(events)
        .max_bytes(bytes)
}

fn encoder(encoding: Encoding, (events, bytes): (usize, usize)) -> SnapshotEncoder {
    SnapshotEncoder::new(encoding)
        .source_id("src")
        .batch_seq(40)
        .max_events(events)
        .max_bytes(bytes)
}

/// The adapter's batches of `copy`, serialized, the last partial one included.
fn expected(
    adapter: &SnapshotAdapter,
    copy: &[u8],
    limits: (usize, usize),
    encoding: Encoding,
) -> Vec<Vec<u8>> {
    let mut b = builder(limits);
    let mut batches = Vec::new();
    adapter
        .run_stream(copy, &mut b, |batch| {
            batches.push(batch);
            Ok(())
        })
        .unwrap();
    batches.extend(b.finish());
    batches
        .iter()
        .map(|batch| serialize_batch_with(batch, encoding).unwrap())
        .collect()
}

/// The encoder's batches of `copy` read `step` bytes at a time.
fn encoded(
    adapter: &SnapshotAdapter,
    copy: &[u8],
    limits: (usize, usize),
    encoding: Encoding,
    step: usize,
) -> (Vec<Vec<u8>>, TableSummary) {
    let mut got = Vec::new();
    let summary = encoder(encoding, limits)
        .chunk_bytes(step)
        .encode_table(adapter, Pieces(copy, step), |b| {
            got.push(b.to_vec());
            Ok(())
        })
        .unwrap();
    (got, summary)
}

fn fixture_adapter() -> SnapshotAdapter {
    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    SnapshotAdapter::new(rel)
        .timestamp_us(1_700_000_000_000_000)
        .position(0x16_B374_D848)
        .transaction_id(748)
}

#[test]
fn the_fixture_encodes_to_the_bytes_of_the_adapters_batches() {
    let adapter = fixture_adapter();
    let copy = common::FIXTURE_COPY;
    for encoding in ENCODINGS {
        for limits in LIMITS {
            let want = expected(&adapter, copy, limits, encoding);
            for step in [1, 2, 3, 7, 13, 100, 4096, 65_536, 1 << 20] {
                // Byte-sized reads of the whole fixture are slow; once is enough.
                if step < 7 && limits != LIMITS[1] {
                    continue;
                }
                let (got, summary) = encoded(&adapter, copy, limits, encoding, step);
                assert_eq!(got.len(), want.len(), "{encoding:?} {limits:?} step {step}");
                assert!(
                    got == want,
                    "{encoding:?} {limits:?} step {step}: bytes differ"
                );
                assert_eq!(
                    summary,
                    TableSummary {
                        rows: 60,
                        batches: want.len() as u64,
                        copy_bytes: copy.len() as u64,
                        encoded_bytes: want.iter().map(Vec::len).sum::<usize>() as u64,
                    }
                );
            }
        }
    }
}

#[test]
fn column_names_left_off_the_rows_still_match() {
    let adapter = fixture_adapter().column_names_on_rows(false);
    for encoding in ENCODINGS {
        let want = expected(&adapter, common::FIXTURE_COPY, LIMITS[1], encoding);
        let (got, _) = encoded(&adapter, common::FIXTURE_COPY, LIMITS[1], encoding, 4096);
        assert!(got == want, "{encoding:?}");
    }
}

/// A random table and its COPY stream: every value type from the narrow to the TOASTed, and
/// NULLs in any column.
fn generated_table(g: &mut Gen, rows: usize) -> (SnapshotAdapter, Bytes) {
    let kinds = [
        oid::INT4,
        oid::INT8,
        oid::TEXT,
        oid::BYTEA,
        oid::BOOL,
        oid::NUMERIC,
        oid::JSONB,
    ];
    let columns: Vec<ColumnMeta> = (0..1 + g.below(12))
        .map(|i| ColumnMeta::new(format!("c{i}"), g.pick(&kinds)))
        .collect();
    let n = columns.len();
    let rel = RelationMeta::new(
        16_384 + g.u32() % 1000,
        "public",
        format!("t{}", g.below(100)),
        columns,
    );
    let mut w = CopyWriter::new();
    for _ in 0..rows {
        let fields: Vec<Option<Vec<u8>>> = (0..n)
            .map(|_| {
                if g.one_in(4) {
                    None
                } else if g.one_in(50) {
                    Some(vec![b'x'; 9000 + g.below(3000)])
                } else {
                    Some(g.data())
                }
            })
            .collect();
        let refs: Vec<Option<&[u8]>> = fields.iter().map(Option::as_deref).collect();
        w.write_row(&refs).unwrap();
    }
    (
        SnapshotAdapter::new(rel)
            .timestamp_us(g.u64() >> 1)
            .position(g.u64()),
        w.finish(),
    )
}

#[test]
fn generated_tables_encode_to_the_bytes_of_the_adapters_batches() {
    let mut g = Gen::new(0x5_4a95);
    for round in 0..24 {
        let rows = g.below(300);
        let (adapter, copy) = generated_table(&mut g, rows);
        let encoding = ENCODINGS[round % 2];
        let limits = LIMITS[round % 3];
        let want = expected(&adapter, &copy, limits, encoding);
        for step in [1 + g.below(64), 1 + g.below(20_000), copy.len().max(1)] {
            let (got, summary) = encoded(&adapter, &copy, limits, encoding, step);
            assert!(got == want, "round {round}, step {step}");
            assert_eq!(summary.batches, want.len() as u64);
        }
    }
}

#[test]
fn tables_written_as_frames_number_on_and_frame_each_batch() {
    let mut g = Gen::new(0xf4a3e);
    let tables: Vec<(SnapshotAdapter, Bytes)> =
        (0..3).map(|_| generated_table(&mut g, 50)).collect();
    for encoding in ENCODINGS {
        let limits = LIMITS[1];
        let mut want = BytesMut::new();
        let mut frames = FrameEncoder::new();
        let mut b = builder(limits);
        for (adapter, copy) in &tables {
            let mut batches = Vec::new();
            adapter
                .run_stream(&copy[..], &mut b, |batch| {
                    batches.push(batch);
                    Ok(())
                })
                .unwrap();
            // The last partial batch of each table ends with it; numbering goes on.
            batches.push(b.flush());
            for batch in &batches {
                let payload = serialize_batch_with(batch, encoding).unwrap();
                frames
                    .encode(PayloadKind::Batch, encoding.into(), &payload, &mut want)
                    .unwrap();
            }
        }
        let mut enc = encoder(encoding, limits);
        let mut got = Vec::new();
        for (adapter, copy) in &tables {
            enc.write_table(adapter, &copy[..], &mut got).unwrap();
        }
        assert!(got == want.to_vec(), "{encoding:?}");
        assert_eq!(enc.next_batch_seq(), b.next_batch_seq());
        // Appended in place, after what the buffer held: the same frames.
        let mut enc = encoder(encoding, limits);
        let mut appended = b"held".to_vec();
        for (adapter, copy) in &tables {
            let summary = enc.append_table(adapter, &copy[..], &mut appended).unwrap();
            assert_eq!(summary.copy_bytes, copy.len() as u64);
        }
        assert_eq!(&appended[..4], b"held");
        assert!(appended[4..] == want[..], "{encoding:?}");
        assert_eq!(enc.next_batch_seq(), b.next_batch_seq());
    }
}

#[test]
fn progress_hears_of_every_frame_with_the_running_counts() {
    let mut g = Gen::new(0x9e0_9e55);
    let (adapter, copy) = generated_table(&mut g, 50);
    for encoding in ENCODINGS {
        let mut want = Vec::new();
        let summary = encoder(encoding, LIMITS[1])
            .write_table(&adapter, &copy[..], &mut want)
            .unwrap();
        let mut got = Vec::new();
        let mut heard: Vec<TableSummary> = Vec::new();
        let mut enc = encoder(encoding, LIMITS[1]);
        let last = enc
            .write_table_with_progress(&adapter, &copy[..], &mut got, &mut |s| {
                heard.push(*s);
            })
            .unwrap();
        assert!(got == want, "{encoding:?}");
        assert_eq!(last, summary, "{encoding:?}");
        // One call per frame: batches 1, 2, ... with the bytes written so far; the rows
        // are those of the batches written (7 events a batch, the begin event in the
        // first, the end event in the last).
        assert_eq!(heard.len() as u64, summary.batches, "{encoding:?}");
        for (i, s) in heard.iter().enumerate() {
            assert_eq!(s.batches, i as u64 + 1);
            assert_eq!(s.rows, (7 * (i as u64 + 1) - 1).min(summary.rows));
            assert_eq!(s.copy_bytes, 0);
        }
        let end = heard[heard.len() - 1];
        assert_eq!(end.encoded_bytes, got.len() as u64);
        assert_eq!(end.rows, summary.rows);
        // Numbering set between tables goes on from there.
        enc.set_next_batch_seq(1 << 32);
        let next = enc
            .write_table(&adapter, &copy[..], &mut Vec::new())
            .unwrap();
        assert_eq!(enc.next_batch_seq(), (1 << 32) + next.batches);
    }
}

#[test]
fn chunks_given_as_they_are_write_the_frames_of_a_read_stream() {
    let mut g = Gen::new(0xc4_0c5);
    let mut tables: Vec<(SnapshotAdapter, Bytes)> =
        (0..4).map(|_| generated_table(&mut g, 80)).collect();
    tables.push((fixture_adapter(), Bytes::from_static(common::FIXTURE_COPY)));
    for encoding in ENCODINGS {
        for (t, (adapter, copy)) in tables.iter().enumerate() {
            let mut want = Vec::new();
            let read = encoder(encoding, LIMITS[1])
                .write_table(adapter, &copy[..], &mut want)
                .unwrap();
            // One chunk; chunks cut at random points; chunks of 1 to 3 bytes.
            let mut cuts: Vec<Vec<Bytes>> = vec![vec![copy.clone()]];
            for max in [copy.len().max(2) / 3, 3] {
                let mut pieces = Vec::new();
                let mut at = 0;
                while at < copy.len() {
                    let n = (1 + g.below(max.max(1))).min(copy.len() - at);
                    pieces.push(copy.slice(at..at + n));
                    at += n;
                }
                cuts.push(pieces);
            }
            for pieces in cuts {
                let n = pieces.len();
                let mut got = Vec::new();
                let summary = encoder(encoding, LIMITS[1])
                    .write_table_chunks(adapter, pieces.clone().into_iter().map(Ok), &mut got)
                    .unwrap();
                assert!(got == want, "{encoding:?} table {t}, {n} chunks");
                assert_eq!(summary, read, "{encoding:?} table {t}, {n} chunks");
                let mut appended = Vec::new();
                let summary = encoder(encoding, LIMITS[1])
                    .append_table_chunks(adapter, pieces.into_iter().map(Ok), &mut appended)
                    .unwrap();
                assert!(
                    appended == want,
                    "{encoding:?} table {t}, {n} chunks appended"
                );
                assert_eq!(summary, read, "{encoding:?} table {t}, {n} chunks appended");
            }
        }
    }
}

#[test]
fn errors_are_the_adapters_after_the_same_batches() {
    let adapter = fixture_adapter();
    let copy = common::FIXTURE_COPY;
    // Cut short, damaged in a field length, or a tuple of the wrong field count.
    let cut = copy[..copy.len() / 2].to_vec();
    let mut bad_length = copy.to_vec();
    // The first tuple's first field length (after the 19-byte header and the count).
    bad_length[21..25].copy_from_slice(&(-7i32).to_be_bytes());
    let rel = RelationMeta::new(
        1,
        "public",
        "two",
        vec![
            ColumnMeta::new("a", oid::INT4),
            ColumnMeta::new("b", oid::INT4),
        ],
    );
    let narrow = SnapshotAdapter::new(rel).timestamp_us(5);
    let mut w = CopyWriter::new();
    for i in 0..30i32 {
        let v = i.to_be_bytes();
        if i == 20 {
            w.write_row(&[Some(&v[..])]).unwrap();
        } else {
            w.write_row(&[Some(&v[..]), None]).unwrap();
        }
    }
    let short_row = w.finish();
    let cases: [(&SnapshotAdapter, &[u8]); 3] = [
        (&adapter, &cut),
        (&adapter, &bad_length),
        (&narrow, &short_row),
    ];
    for (adapter, input) in cases {
        for encoding in ENCODINGS {
            let limits = LIMITS[1];
            let mut b = builder(limits);
            let mut want = Vec::new();
            let want_err = adapter
                .run_stream(input, &mut b, |batch| {
                    want.push(serialize_batch_with(&batch, encoding).unwrap());
                    Ok(())
                })
                .unwrap_err();
            let mut got = Vec::new();
            let err = encoder(encoding, limits)
                .encode_table(adapter, input, |bytes| {
                    got.push(bytes.to_vec());
                    Ok(())
                })
                .unwrap_err();
            assert_eq!(err, want_err);
            assert!(got == want);
            // Frames appended in place: the whole frames of those batches, and no part of
            // the batch the error cut short.
            let mut framed = BytesMut::new();
            let mut frames = FrameEncoder::new();
            for payload in &want {
                frames
                    .encode(PayloadKind::Batch, encoding.into(), payload, &mut framed)
                    .unwrap();
            }
            let mut appended = b"kept".to_vec();
            let err = encoder(encoding, limits)
                .append_table(adapter, input, &mut appended)
                .unwrap_err();
            assert_eq!(err, want_err);
            assert_eq!(&appended[..4], b"kept");
            assert!(appended[4..] == framed[..]);
        }
    }
    // The errors themselves, exactly.
    let err = encoder(Encoding::Compact, LIMITS[0])
        .encode_table(&narrow, &short_row[..], |_| Ok(()))
        .unwrap_err();
    assert_eq!(
        err,
        SnapshotError::FieldCount {
            table: "public.two".into(),
            row: 20,
            expected: 2,
            actual: 1
        }
    );
    let err = encoder(Encoding::Compact, LIMITS[0])
        .encode_table(&adapter, &bad_length[..], |_| Ok(()))
        .unwrap_err();
    assert_eq!(
        err,
        SnapshotError::Copy {
            table: "public.all_types".into(),
            source: CopyError::BadFieldLength {
                row: 0,
                field: 0,
                offset: 21,
                len: -7
            }
        }
    );
    // A failing sink stops the encoder with its error.
    let err = encoder(Encoding::Compact, LIMITS[1])
        .encode_table(&adapter, copy, |_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        })
        .unwrap_err();
    assert_eq!(
        err,
        SnapshotError::Io {
            table: "public.all_types".into(),
            kind: std::io::ErrorKind::BrokenPipe,
            message: "closed".into()
        }
    );
}

#[test]
fn the_loader_writes_its_tables_rows_and_refuses_bad_ones() {
    use scry_codec::BatchView;
    use scry_pg::snapshot::SnapshotLoader;
    use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row, TypeTag};

    let rel = RelationMeta::new(
        1,
        "public",
        "two",
        vec![
            ColumnMeta::new("a", oid::INT4),
            ColumnMeta::new("b", oid::TEXT),
        ],
    );
    let int4 =
        |v: i32| ColumnValue::from_pg_binary(TypeTag::Int32, oid::INT4, v.to_be_bytes().to_vec());
    let row = |table: &str, values: Vec<ColumnValue>| {
        let mut e = DatabaseEvent::new(OperationType::SnapshotRow, "public", table);
        e.new_row = Some(Row::new(values));
        e
    };
    let good = vec![
        DatabaseEvent::new(OperationType::SnapshotBegin, "public", "two"),
        row("two", vec![int4(1), ColumnValue::null()]),
        row("other", vec![int4(9)]),
        row(
            "two",
            vec![
                int4(2),
                ColumnValue::from_pg_binary(TypeTag::Text, oid::TEXT, b"x".to_vec()),
            ],
        ),
        DatabaseEvent::new(OperationType::SnapshotEnd, "public", "two"),
    ];
    let mut want = CopyWriter::new();
    want.write_row(&[Some(&1i32.to_be_bytes()[..]), None])
        .unwrap();
    want.write_row(&[Some(&2i32.to_be_bytes()[..]), Some(&b"x"[..])])
        .unwrap();
    for encoding in ENCODINGS {
        let bytes =
            serialize_batch_with(&DatabaseEventBatch::with_events(good.clone()), encoding).unwrap();
        let mut loader = SnapshotLoader::new(&rel, Vec::new());
        assert_eq!(
            loader
                .load_batch(&BatchView::parse(&bytes).unwrap())
                .unwrap(),
            2
        );
        assert_eq!(loader.finish().unwrap(), want.clone().finish().to_vec());

        let bad = [
            (
                row("two", vec![int4(3)]),
                SnapshotError::FieldCount {
                    table: "public.two".into(),
                    row: 0,
                    expected: 2,
                    actual: 1,
                },
            ),
            (
                row("two", vec![int4(3), ColumnValue::unchanged(oid::TEXT)]),
                SnapshotError::Copy {
                    table: "public.two".into(),
                    source: CopyError::UnchangedToast { field: 1 },
                },
            ),
        ];
        for (event, err) in bad {
            let bytes =
                serialize_batch_with(&DatabaseEventBatch::with_events(vec![event]), encoding)
                    .unwrap();
            let mut loader = SnapshotLoader::new(&rel, Vec::new());
            assert_eq!(
                loader
                    .load_batch(&BatchView::parse(&bytes).unwrap())
                    .unwrap_err(),
                err
            );
        }
    }
}
