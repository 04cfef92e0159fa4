//! The incremental COPY BINARY readers: pushed in chunks of any size ([`CopyDecoder`]) or
//! read from any `Read` ([`CopyStream`]), a stream gives the rows and errors the
//! whole-buffer [`CopyReader`] gives, keeps no more than the largest tuple plus one chunk,
//! and hands out rows that are slices of the chunk they arrived in.

use std::io::{self, Read};

use bytes::Bytes;
use scry_pg::copy::{
    CopyDecoder, CopyError, CopyIoError, CopyReader, CopyRow, CopyStream, CopyWriter,
};
use scry_testkit::Gen;

mod common;

const FIXTURE: &[u8] = include_bytes!("../fixtures/all_types.copy");

/// What the whole-buffer reader reads: every row, then the error (if any).
fn whole(data: &[u8]) -> (Vec<CopyRow>, Option<CopyError>) {
    let mut reader = match CopyReader::new(Bytes::copy_from_slice(data)) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut rows = Vec::new();
    loop {
        match reader.next_row() {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => return (rows, None),
            Err(e) => return (rows, Some(e)),
        }
    }
}

/// The same through a decoder pushed `chunk` bytes at a time; also the most it buffered
/// after decoding what each chunk completed.
fn pushed(data: &[u8], chunk: usize) -> ((Vec<CopyRow>, Option<CopyError>), usize) {
    let mut d = CopyDecoder::new();
    let (mut rows, mut most) = (Vec::new(), 0);
    for piece in data.chunks(chunk) {
        d.push(Bytes::copy_from_slice(piece));
        loop {
            match d.decode() {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => break,
                Err(e) => return ((rows, Some(e)), most),
            }
        }
        most = most.max(d.buffered());
    }
    loop {
        match d.decode_eof() {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => return ((rows, None), most),
            Err(e) => return ((rows, Some(e)), most),
        }
    }
}

/// The longest tuple of a valid stream, in bytes.
fn longest_tuple(data: &[u8]) -> usize {
    whole(data)
        .0
        .iter()
        .map(|r| {
            2 + r
                .fields()
                .iter()
                .map(|f| 4 + f.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// A stream of generated rows: NULLs, empty fields, and values up to `max_len` bytes.
fn generated(seed: u64, rows: usize, max_len: usize) -> Vec<u8> {
    let mut g = Gen::new(seed);
    let mut w = CopyWriter::new();
    for _ in 0..rows {
        let n = g.below(12);
        let fields: Vec<Option<Vec<u8>>> = (0..n)
            .map(|_| match g.below(5) {
                0 => None,
                1 => Some(Vec::new()),
                _ => {
                    let len = g.below(max_len + 1);
                    Some((0..len).map(|_| g.next_u64() as u8).collect())
                }
            })
            .collect();
        let refs: Vec<Option<&[u8]>> = fields.iter().map(Option::as_deref).collect();
        w.write_row(&refs).unwrap();
    }
    w.finish().to_vec()
}

#[test]
fn every_chunk_size_reads_what_the_whole_buffer_reads() {
    let small = generated(1, 40, 300);
    let expected = whole(&small);
    assert_eq!(expected.0.len(), 40);
    assert_eq!(expected.1, None);
    let longest = longest_tuple(&small);
    for chunk in 1..=small.len() {
        let (got, most) = pushed(&small, chunk);
        assert_eq!(got, expected, "chunk {chunk}");
        assert!(
            most <= longest + chunk,
            "chunk {chunk}: {most} > {longest} + {chunk}"
        );
    }
}

#[test]
fn the_fixture_reads_the_same_in_pieces() {
    let expected = whole(FIXTURE);
    assert!(expected.0.len() > 10);
    assert_eq!(expected.1, None);
    let longest = longest_tuple(FIXTURE);
    let sizes = (1..=64).chain([97, 251, 1000, 4096, 65_536, FIXTURE.len()]);
    for chunk in sizes {
        let (got, most) = pushed(FIXTURE, chunk);
        assert_eq!(got, expected, "chunk {chunk}");
        assert!(most <= longest + chunk, "chunk {chunk}: {most}");
    }
}

#[test]
fn a_stream_cut_or_damaged_anywhere_fails_as_the_whole_buffer_does() {
    let good = generated(2, 6, 20);
    for cut in 0..good.len() {
        let expected = whole(&good[..cut]);
        assert!(expected.1.is_some(), "cut {cut}");
        for chunk in [1, 3, 8, 64] {
            assert_eq!(
                pushed(&good[..cut], chunk).0,
                expected,
                "cut {cut} chunk {chunk}"
            );
        }
    }
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x80;
        let expected = whole(&bad);
        for chunk in [1, 5, 64] {
            assert_eq!(pushed(&bad, chunk).0, expected, "byte {at} chunk {chunk}");
        }
    }
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"xyz");
    let expected = whole(&trailing);
    assert_eq!(
        expected.1,
        Some(CopyError::TrailingData {
            offset: good.len(),
            count: 3
        })
    );
    assert_eq!(pushed(&trailing, 1000).0, expected);
}

#[test]
fn rows_inside_a_chunk_are_slices_of_it() {
    let data = Bytes::from(generated(3, 20, 50));
    let mut d = CopyDecoder::new();
    d.push(data.clone());
    let base = data.as_ptr() as usize;
    let mut fields = 0;
    while let Some(row) = d.decode_eof().unwrap() {
        for f in row.fields().iter().flatten().filter(|f| !f.is_empty()) {
            let at = f.as_ptr() as usize;
            assert!(at >= base && at + f.len() <= base + data.len());
            fields += 1;
        }
    }
    assert!(fields > 20, "{fields}");
    assert!(d.is_finished());
}

#[test]
fn a_tuple_over_the_limit_is_refused_before_it_is_buffered() {
    let data = generated(4, 5, 4000);
    let longest = longest_tuple(&data);
    let mut d = CopyDecoder::new().with_max_tuple_bytes(longest - 1);
    let mut outcome = None;
    for piece in data.chunks(100) {
        d.push(Bytes::copy_from_slice(piece));
        match d.decode() {
            Ok(_) => {}
            Err(e) => {
                outcome = Some(e);
                break;
            }
        }
        while let Ok(Some(_)) = d.decode() {}
        assert!(d.buffered() < longest + 100);
    }
    let e = outcome.expect("the longest tuple is refused");
    assert!(
        matches!(e, CopyError::TupleTooLarge { max, len, .. } if max == longest - 1 && len > max),
        "{e:?}"
    );
    assert_eq!(d.decode(), Ok(None), "nothing more after an error");
}

/// A source that returns at most `step` bytes a read, and fails at byte `fail_at`.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
    fail_at: Option<usize>,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_at.is_some_and(|f| self.at >= f) {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"));
        }
        let n = self.step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_copy_stream_reads_any_source_in_chunks() {
    let expected = whole(FIXTURE).0;
    for (step, chunk) in [(1, 7), (100, 4096), (65_536, 1000), (7, 1 << 20)] {
        let source = Trickle {
            data: FIXTURE.to_vec(),
            at: 0,
            step,
            fail_at: None,
        };
        let mut s = CopyStream::with_decoder(source, CopyDecoder::new(), chunk);
        let rows: Vec<CopyRow> = s.by_ref().map(Result::unwrap).collect();
        assert_eq!(rows, expected, "step {step} chunk {chunk}");
        assert!(s.decoder().is_finished());
        assert_eq!(s.decoder().offset(), FIXTURE.len() as u64);
    }
}

#[test]
fn a_copy_stream_reports_the_source_failing_and_the_stream_cut() {
    let source = Trickle {
        data: FIXTURE.to_vec(),
        at: 0,
        step: 1000,
        fail_at: Some(50_000),
    };
    let results: Vec<_> = CopyStream::with_decoder(source, CopyDecoder::new(), 4096).collect();
    let last = results.last().unwrap();
    assert!(
        matches!(last, Err(CopyIoError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset),
        "{last:?}"
    );
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));

    let cut = &FIXTURE[..FIXTURE.len() - 2];
    let results: Vec<_> = CopyStream::new(cut).collect();
    match results.last() {
        Some(Err(CopyIoError::Copy(e))) => {
            assert_eq!(e, &CopyError::MissingTrailer { offset: cut.len() })
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_large_stream_is_read_in_bounded_memory() {
    // 200 MB of 10,000-byte rows, never held whole: the decoder never holds more than a
    // chunk and a tuple.
    let rows = 20_000;
    let chunk = 64 * 1024;
    let mut s = CopyStream::with_decoder(
        common::Endless::new(rows, 10_000),
        CopyDecoder::new(),
        chunk,
    );
    let (mut n, mut most) = (0u64, 0);
    while let Some(row) = s.next_row().unwrap() {
        assert_eq!(row.len(), 3);
        n += 1;
        most = most.max(s.decoder().buffered());
    }
    assert_eq!(n, rows);
    assert!(most <= chunk + 10_100, "{most}");
}
