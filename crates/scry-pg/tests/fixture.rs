//! The committed fixture — a COPY BINARY stream the real server wrote from the
//! `all_types` table, and the server's text rendering of the same rows — checked without a
//! server: the snapshot pipeline gives back the same bytes, and every value re-encodes byte
//! for byte and renders like the server.

mod common;

use bytes::Bytes;
use scry_types::{OperationType, TypeTag};

#[test]
fn fixture_round_trips_through_events_and_batches() {
    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    assert_eq!(rel.table, "all_types");
    let copy = Bytes::from_static(common::FIXTURE_COPY);
    let out = common::run_pipeline(&rel, copy.clone()).unwrap();
    assert_eq!(out.copy_out, copy);
    let rows = out
        .events
        .iter()
        .filter(|e| e.operation == OperationType::SnapshotRow)
        .count();
    assert_eq!(rows, 60);
    assert_eq!(
        common::parse_relation(&common::format_relation(&rel)).unwrap(),
        rel
    );
}

#[test]
fn fixture_values_render_like_the_server() {
    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    let stats = common::check_values(
        &rel,
        Bytes::from_static(common::FIXTURE_COPY),
        Bytes::from_static(common::FIXTURE_TEXT),
        40,
    )
    .unwrap_or_else(|p| panic!("{} mismatches:\n{}", p.len(), p.join("\n")));
    assert_eq!(stats.rows, 60);
    assert!(stats.largest > 8 * 1024);
    for tag in TypeTag::ALL {
        if *tag != TypeTag::ToastUnchanged {
            assert!(
                stats.tags.contains(&tag.as_u8()),
                "no {tag} value in the fixture"
            );
        }
    }
}

#[test]
fn a_streamed_snapshot_makes_the_batches_of_the_whole_buffer() {
    use scry_builder::BatchBuilder;
    use scry_pg::snapshot::SnapshotAdapter;

    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    let adapter = SnapshotAdapter::new(rel).timestamp_us(1_700_000_000_000_000);
    let builder = || BatchBuilder::new().source_id("s").max_events(7);
    let mut whole = builder();
    let mut expected = adapter
        .run(Bytes::from_static(common::FIXTURE_COPY), &mut whole)
        .unwrap();
    expected.extend(whole.finish());
    assert!(expected.len() > 5);
    // Batches come out as they fill, from a source that yields a few bytes at a time.
    struct Pieces<'a>(&'a [u8], usize);
    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    for step in [1, 13, 4096, 1 << 20] {
        let mut b = builder();
        let mut got = Vec::new();
        adapter
            .run_stream(Pieces(common::FIXTURE_COPY, step), &mut b, |batch| {
                got.push(batch);
                Ok(())
            })
            .unwrap();
        got.extend(b.finish());
        assert_eq!(got, expected, "step {step}");
    }
    // A stream cut short is the COPY error naming the table; what was emitted stays.
    let cut = &common::FIXTURE_COPY[..common::FIXTURE_COPY.len() / 2];
    let mut emitted = 0;
    let e = adapter
        .run_stream(cut, &mut builder(), |_| {
            emitted += 1;
            Ok(())
        })
        .unwrap_err();
    assert!(emitted > 0);
    assert!(
        matches!(&e, scry_pg::snapshot::SnapshotError::Copy { table, source: scry_pg::copy::CopyError::Truncated { .. } } if table == "public.all_types"),
        "{e:?}"
    );
    // A failing sink stops the run with its error.
    let e = adapter
        .run_stream(common::FIXTURE_COPY, &mut builder(), |_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        })
        .unwrap_err();
    assert!(
        matches!(
            &e,
            scry_pg::snapshot::SnapshotError::Io {
                kind: std::io::ErrorKind::BrokenPipe,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn snapshot_batches_load_back_as_the_same_copy_bytes_a_batch_at_a_time() {
    use scry_builder::BatchBuilder;
    use scry_codec::{serialize_batch_with, BatchView, Encoding};
    use scry_pg::copy::CopySink;
    use scry_pg::snapshot::{SnapshotAdapter, SnapshotLoader};

    /// Records the largest single write.
    struct Out {
        bytes: Vec<u8>,
        largest: usize,
    }
    impl std::io::Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.largest = self.largest.max(b.len());
            self.bytes.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let rel = common::parse_relation(common::FIXTURE_RELATION).unwrap();
    let adapter = SnapshotAdapter::new(rel.clone());
    for encoding in [Encoding::Compat, Encoding::Compact] {
        // The producer: batches serialized as they fill.
        let mut wire = Vec::new();
        let mut b = BatchBuilder::new().max_events(9);
        adapter
            .run_stream(common::FIXTURE_COPY, &mut b, |batch| {
                wire.push(serialize_batch_with(&batch, encoding).unwrap());
                Ok(())
            })
            .unwrap();
        wire.extend(
            b.finish()
                .map(|batch| serialize_batch_with(&batch, encoding).unwrap()),
        );
        // The receiver: each batch's rows straight from its bytes into the COPY stream.
        let sink = CopySink::with_flush_bytes(
            Out {
                bytes: Vec::new(),
                largest: 0,
            },
            4096,
        );
        let mut loader = SnapshotLoader::with_sink(&rel, sink);
        let mut rows = 0;
        for bytes in &wire {
            rows += loader
                .load_batch(&BatchView::parse(bytes).unwrap())
                .unwrap();
        }
        assert_eq!((rows, loader.rows_written()), (60, 60));
        let out = loader.finish().unwrap();
        assert_eq!(out.bytes, common::FIXTURE_COPY, "{encoding:?}");
        // Written on in pieces of about the flush size (a tuple past it at most).
        assert!(out.largest < 4096 + 16_384, "{}", out.largest);
    }
}
