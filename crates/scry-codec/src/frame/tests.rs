//! Tests of the framing: round trips, corruption, truncation, garbage and resynchronization.

use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};

use super::*;

/// A payload of `len` bytes that differs from frame to frame.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Frames `payloads` (alternating kinds and encodings) into one stream.
fn stream_of(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut writer = FrameWriter::new(Vec::new());
    for (i, p) in payloads.iter().enumerate() {
        writer.write_frame(kind_of(i), encoding_of(i), p).unwrap();
    }
    writer.into_inner()
}

fn kind_of(i: usize) -> PayloadKind {
    if i.is_multiple_of(2) {
        PayloadKind::Batch
    } else {
        PayloadKind::Event
    }
}

fn encoding_of(i: usize) -> FrameEncoding {
    if i % 3 == 2 {
        FrameEncoding::Compact
    } else {
        FrameEncoding::Compat
    }
}

/// The frames `stream_of(payloads)` holds, starting at `index` and `offset`.
fn expected_frames(payloads: &[Vec<u8>], index: u64, offset: u64) -> Vec<Frame> {
    let mut offset = offset;
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let frame = Frame {
                index: index + i as u64,
                offset,
                encoding: encoding_of(i),
                kind: kind_of(i),
                payload: Bytes::from(p.clone()),
            };
            offset += (p.len() + FRAME_OVERHEAD) as u64;
            frame
        })
        .collect()
}

fn read_all(bytes: &[u8], recovery: Recovery) -> Vec<Result<Frame, FrameError>> {
    FrameReader::new(bytes).with_recovery(recovery).collect()
}

/// Decodes `bytes` with a `FrameDecoder` fed `chunk` bytes at a time, then at EOF.
fn decode_chunked(
    bytes: &[u8],
    chunk: usize,
    recovery: Recovery,
) -> Vec<Result<Frame, FrameError>> {
    let mut decoder = FrameDecoder::new().with_recovery(recovery);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        if drain(&mut decoder, &mut buf, false, &mut out) {
            return out;
        }
    }
    drain(&mut decoder, &mut buf, true, &mut out);
    out
}

/// Decodes until the decoder needs more bytes (false) or stops on an error (true).
fn drain(
    decoder: &mut FrameDecoder,
    buf: &mut BytesMut,
    eof: bool,
    out: &mut Vec<Result<Frame, FrameError>>,
) -> bool {
    loop {
        let decoded = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        match decoded {
            Ok(Some(frame)) => out.push(Ok(frame)),
            Ok(None) => return false,
            Err(err) => {
                out.push(Err(err));
                if decoder.recovery() == Recovery::Stop {
                    return true;
                }
            }
        }
    }
}

fn oks(frames: Vec<Frame>) -> Vec<Result<Frame, FrameError>> {
    frames.into_iter().map(Ok).collect()
}

#[test]
fn round_trips_frames_of_many_sizes() {
    let sizes = [
        0usize,
        1,
        2,
        15,
        16,
        17,
        255,
        4096,
        64 * 1024,
        1024 * 1024,
        0,
        3,
    ];
    let payloads: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| payload(n, i as u8))
        .collect();
    let bytes = stream_of(&payloads);
    let total: usize = sizes.iter().map(|n| n + FRAME_OVERHEAD).sum();
    assert_eq!(bytes.len(), total);
    let expected = oks(expected_frames(&payloads, 0, 0));
    assert_eq!(read_all(&bytes, Recovery::Stop), expected);
    assert_eq!(read_all(&bytes, Recovery::Resync), expected);
    assert_eq!(
        decode_chunked(&bytes, bytes.len(), Recovery::Stop),
        expected
    );
    assert_eq!(decode_chunked(&bytes, 4093, Recovery::Resync), expected);

    // The encoder writes the same bytes as the writer.
    let mut encoder = FrameEncoder::new();
    let mut buf = BytesMut::new();
    for (i, p) in payloads.iter().enumerate() {
        encoder
            .encode(kind_of(i), encoding_of(i), p, &mut buf)
            .unwrap();
    }
    assert_eq!(&buf[..], &bytes[..]);
    assert_eq!(encoder.frames_encoded(), sizes.len() as u64);
    assert_eq!(encoder.bytes_encoded(), total as u64);
}

#[test]
fn an_empty_stream_has_no_frames() {
    assert_eq!(read_all(&[], Recovery::Stop), vec![]);
    assert_eq!(decode_chunked(&[], 1, Recovery::Stop), vec![]);
}

#[test]
fn a_frame_s_bytes_are_the_documented_layout() {
    let mut buf = BytesMut::new();
    encode_frame(PayloadKind::Event, FrameEncoding::Compact, b"abc", &mut buf).unwrap();
    let crc_header = crc32c::crc32c(b"SCRY\x01\x01\x00\x01\x03\x00\x00\x00").to_le_bytes();
    let crc_payload = crc32c::crc32c(b"abc").to_le_bytes();
    let mut expected = b"SCRY\x01\x01\x00\x01\x03\x00\x00\x00".to_vec();
    expected.extend_from_slice(&crc_header);
    expected.extend_from_slice(b"abc");
    expected.extend_from_slice(&crc_payload);
    assert_eq!(&buf[..], &expected[..]);
}

/// What a reader must report when bit `bit` of a lone frame with an 8-byte payload flips.
fn expected_flip_error(bit: usize, stream: &[u8], flipped: &[u8]) -> FrameError {
    let byte = bit / 8;
    let word = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    if byte < 4 {
        FrameError::BadMagic {
            index: 0,
            offset: 0,
            found: flipped[..4].to_vec(),
        }
    } else if byte < HEADER_LEN {
        FrameError::HeaderCrc {
            index: 0,
            offset: 0,
            stored: word(flipped, 12),
            computed: crc32c::crc32c(&flipped[..12]),
        }
    } else {
        let end = stream.len() - TRAILER_LEN;
        FrameError::PayloadCrc {
            index: 0,
            offset: 0,
            stored: word(flipped, end),
            computed: crc32c::crc32c(&flipped[HEADER_LEN..end]),
        }
    }
}

#[test]
fn every_single_bit_flip_is_reported_and_never_decoded() {
    let stream = stream_of(&[payload(8, 7)]);
    assert_eq!(stream.len(), 28);
    for bit in 0..stream.len() * 8 {
        let mut flipped = stream.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let expected = expected_flip_error(bit, &stream, &flipped);
        assert_eq!(
            read_all(&flipped, Recovery::Stop),
            vec![Err(expected.clone())],
            "bit {bit}"
        );
        assert_eq!(
            decode_chunked(&flipped, 1, Recovery::Stop),
            vec![Err(expected.clone())],
            "bit {bit}"
        );
        // Resynchronizing finds no other frame in the damaged bytes.
        let resynced = read_all(&flipped, Recovery::Resync);
        assert_eq!(resynced.first(), Some(&Err(expected)), "bit {bit}");
        assert!(
            resynced.iter().all(Result::is_err),
            "bit {bit}: {resynced:?}"
        );
    }
}

#[test]
fn truncation_at_every_position_names_the_truncated_frame() {
    let payloads = [payload(9, 1), payload(5, 2)];
    let stream = stream_of(&payloads);
    let frames = expected_frames(&payloads, 0, 0);
    let len0 = 9 + FRAME_OVERHEAD;
    for cut in 0..=stream.len() {
        let bytes = &stream[..cut];
        let truncated = |index: u64, start: usize, frame_len: usize| FrameError::Truncated {
            index,
            offset: start as u64,
            available: (cut - start) as u64,
            needed: if cut - start < HEADER_LEN {
                HEADER_LEN as u64
            } else {
                frame_len as u64
            },
        };
        let expected: Vec<Result<Frame, FrameError>> = if cut == 0 {
            vec![]
        } else if cut < len0 {
            vec![Err(truncated(0, 0, len0))]
        } else if cut == len0 {
            vec![Ok(frames[0].clone())]
        } else if cut < stream.len() {
            vec![
                Ok(frames[0].clone()),
                Err(truncated(1, len0, 5 + FRAME_OVERHEAD)),
            ]
        } else {
            oks(frames.clone())
        };
        for recovery in [Recovery::Stop, Recovery::Resync] {
            assert_eq!(
                read_all(bytes, recovery),
                expected,
                "cut {cut} {recovery:?}"
            );
            assert_eq!(
                decode_chunked(bytes, 1, recovery),
                expected,
                "cut {cut} {recovery:?}"
            );
        }
    }
}

#[test]
fn resync_skips_garbage_between_frames_and_names_its_offset() {
    let payloads = [payload(40, 1), payload(3, 2), payload(0, 3)];
    let frames = expected_frames(&payloads, 0, 0);
    let whole = stream_of(&payloads);
    let (f0, rest) = whole.split_at(40 + FRAME_OVERHEAD);
    // Garbage with a partial magic and a magic followed by a header that does not check.
    let mut garbage = b"xxSCRxSCRY\x01\x00\x00\x00\x05\x00\x00\x00\xde\xad\xbe\xefyy".to_vec();
    garbage.extend_from_slice(&payload(300, 9));
    let mut stream = f0.to_vec();
    stream.extend_from_slice(&garbage);
    stream.extend_from_slice(rest);

    let shift = |f: &Frame| Frame {
        offset: f.offset + garbage.len() as u64,
        ..f.clone()
    };
    let bad_magic = FrameError::BadMagic {
        index: 1,
        offset: f0.len() as u64,
        found: b"xxSC".to_vec(),
    };
    let expected = vec![
        Ok(frames[0].clone()),
        Err(bad_magic.clone()),
        Ok(shift(&frames[1])),
        Ok(shift(&frames[2])),
    ];
    assert_eq!(read_all(&stream, Recovery::Resync), expected);
    assert_eq!(decode_chunked(&stream, 1, Recovery::Resync), expected);
    assert_eq!(decode_chunked(&stream, 7, Recovery::Resync), expected);

    let mut reader = FrameReader::new(&stream[..]).with_recovery(Recovery::Resync);
    assert_eq!(reader.by_ref().count(), 4);
    assert_eq!(reader.decoder().bytes_skipped(), garbage.len() as u64);
    assert_eq!(reader.decoder().frames_decoded(), 3);

    // Stop mode stops at the garbage.
    let stopped = vec![Ok(frames[0].clone()), Err(bad_magic)];
    assert_eq!(read_all(&stream, Recovery::Stop), stopped);
    assert_eq!(decode_chunked(&stream, 1, Recovery::Stop), stopped);
}

#[test]
fn resync_recovers_frames_appended_after_a_torn_write() {
    let payloads = [
        payload(10, 1),
        payload(200, 2),
        payload(6, 3),
        payload(1, 4),
    ];
    let whole = stream_of(&payloads);
    let frames = expected_frames(&payloads, 0, 0);
    let len0 = 10 + FRAME_OVERHEAD;
    let len1 = 200 + FRAME_OVERHEAD;
    // Frame 1 is torn after 100 of its bytes; frames 2 and 3 were appended after it.
    let torn = 100;
    let mut stream = whole[..len0 + torn].to_vec();
    stream.extend_from_slice(&whole[len0 + len1..]);
    // Frame 1's header claims 200 bytes: its "payload" runs into frames 2 and 3 and the
    // stream ends before its claimed end, so it is reported as truncated.
    assert!(stream.len() < len0 + len1);
    let back = (len1 - torn) as u64;
    let moved = |f: &Frame, index: u64| Frame {
        index,
        offset: f.offset - back,
        ..f.clone()
    };
    let expected = vec![
        Ok(frames[0].clone()),
        Err(FrameError::Truncated {
            index: 1,
            offset: len0 as u64,
            available: (stream.len() - len0) as u64,
            needed: len1 as u64,
        }),
        Ok(moved(&frames[2], 1)),
        Ok(moved(&frames[3], 2)),
    ];
    assert_eq!(read_all(&stream, Recovery::Resync), expected);
    assert_eq!(decode_chunked(&stream, 1, Recovery::Resync), expected);

    // With more frames after, the claimed length fits and the payload CRC fails instead.
    let mut longer = stream.clone();
    let tail = stream_of(&[payload(300, 5)]);
    longer.extend_from_slice(&tail);
    let results = read_all(&longer, Recovery::Resync);
    assert!(
        matches!(results[1], Err(FrameError::PayloadCrc { index: 1, offset, .. }) if offset == len0 as u64),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], expected[2]);
    assert_eq!(results[3], expected[3]);
    assert_eq!(results.len(), 5);
    assert_eq!(
        results[4].as_ref().map(|f| (f.index, &f.payload[..])).ok(),
        Some((3, &payload(300, 5)[..]))
    );
}

#[test]
fn decoding_one_byte_at_a_time_matches_whole_buffer_decoding() {
    let payloads: Vec<Vec<u8>> = (0..20).map(|i| payload(i * 13 % 70, i as u8)).collect();
    let stream = stream_of(&payloads);
    let whole = decode_chunked(&stream, stream.len(), Recovery::Stop);
    assert_eq!(whole, oks(expected_frames(&payloads, 0, 0)));
    assert_eq!(decode_chunked(&stream, 1, Recovery::Stop), whole);
    assert_eq!(decode_chunked(&stream, 1, Recovery::Resync), whole);
}

/// A header that checks, with the given fields (`len` as claimed).
fn header(version: u8, encoding: u8, flags: u8, kind: u8, len: u32) -> Vec<u8> {
    let mut h = vec![b'S', b'C', b'R', b'Y', version, encoding, flags, kind];
    h.extend_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

#[test]
fn intact_headers_with_unknown_fields_are_refused() {
    let cases = [
        (
            header(2, 0, 0, 0, 0),
            FrameError::UnsupportedVersion {
                index: 0,
                offset: 0,
                version: 2,
            },
        ),
        (
            header(1, 0, 4, 0, 0),
            FrameError::ReservedFlags {
                index: 0,
                offset: 0,
                flags: 4,
            },
        ),
        (
            header(1, 2, 0, 0, 0),
            FrameError::UnknownEncoding {
                index: 0,
                offset: 0,
                encoding: 2,
            },
        ),
        (
            header(1, 0, 0, 9, 0),
            FrameError::UnknownKind {
                index: 0,
                offset: 0,
                kind: 9,
            },
        ),
    ];
    for (mut bytes, err) in cases {
        bytes.extend_from_slice(&crc32c::crc32c(b"").to_le_bytes());
        assert_eq!(read_all(&bytes, Recovery::Stop), vec![Err(err)]);
    }
}

#[test]
fn a_claimed_length_over_the_maximum_is_refused_without_allocating_it() {
    let mut decoder = FrameDecoder::new().with_max_payload_len(1000);
    let mut buf = BytesMut::from(&header(1, 0, 0, 0, u32::MAX)[..]);
    let err = FrameError::PayloadTooLong {
        index: 0,
        offset: 0,
        len: u64::from(u32::MAX),
        max: 1000,
    };
    assert_eq!(decoder.decode(&mut buf), Err(err.clone()));
    assert!(buf.capacity() < 1024, "{}", buf.capacity());
    // Stop mode: the error sticks and nothing is consumed.
    assert_eq!(decoder.decode(&mut buf), Err(err.clone()));
    assert_eq!(decoder.decode_eof(&mut buf), Err(err));
    assert_eq!(buf.len(), HEADER_LEN);

    // A corrupt header claiming 4 GiB is caught by its CRC before its length is trusted.
    let mut corrupt = header(1, 0, 0, 0, 5);
    corrupt[11] = 0xFF;
    let mut buf = BytesMut::from(&corrupt[..]);
    assert!(matches!(
        FrameDecoder::new().decode(&mut buf),
        Err(FrameError::HeaderCrc {
            index: 0,
            offset: 0,
            ..
        })
    ));
    assert!(buf.capacity() < 1024, "{}", buf.capacity());

    // The reader, too, reports the maximum and exactly where.
    let mut stream = stream_of(&[payload(3, 0)]);
    stream.extend_from_slice(&stream_of(&[payload(101, 0)]));
    let results = read_all(&stream[..], Recovery::Stop);
    let limited: Vec<_> = FrameReader::new(&stream[..])
        .with_max_payload_len(100)
        .collect();
    assert_eq!(
        limited,
        vec![
            results[0].clone(),
            Err(FrameError::PayloadTooLong {
                index: 1,
                offset: 23,
                len: 101,
                max: 100,
            })
        ]
    );
}

#[test]
fn writers_refuse_payloads_over_their_maximum_and_write_nothing() {
    let mut writer = FrameWriter::new(Vec::new()).with_max_payload_len(4);
    writer
        .write_frame(PayloadKind::Batch, FrameEncoding::Compat, b"four")
        .unwrap();
    assert_eq!(
        writer.write_frame(PayloadKind::Batch, FrameEncoding::Compat, b"fives"),
        Err(FrameError::PayloadTooLong {
            index: 1,
            offset: 24,
            len: 5,
            max: 4,
        })
    );
    assert_eq!(writer.frames_written(), 1);
    assert_eq!(writer.bytes_written(), 24);
    assert_eq!(writer.get_ref().len(), 24);

    let mut encoder = FrameEncoder::new().with_max_payload_len(0);
    let mut buf = BytesMut::new();
    assert_eq!(
        encoder.encode(PayloadKind::Event, FrameEncoding::Compat, b"x", &mut buf),
        Err(FrameError::PayloadTooLong {
            index: 0,
            offset: 0,
            len: 1,
            max: 0,
        })
    );
    assert!(buf.is_empty());
}

#[test]
fn batches_and_events_round_trip_through_frames() {
    let batch = scry_testkit::workloads::small_rows(3);
    let event = batch.events[1].clone();
    let mut writer = FrameWriter::new(Vec::new());
    writer.write_batch(&batch).unwrap();
    writer.write_event(&event).unwrap();
    writer.flush().unwrap();
    let bytes = writer.into_inner();
    let frames: Vec<Frame> = FrameReader::new(&bytes[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[0].kind, frames[0].encoding),
        (PayloadKind::Batch, FrameEncoding::Compat)
    );
    assert_eq!(frames[1].kind, PayloadKind::Event);
    assert_eq!(crate::read_batch(&frames[0].payload), Ok(batch.clone()));
    assert_eq!(crate::read_event(&frames[1].payload), Ok(event));
    assert_eq!(
        frames[0].payload,
        Bytes::from(crate::serialize_batch(&batch).unwrap())
    );
    assert_eq!(frames[1].offset, frames[0].wire_len());
}

/// A reader that yields `data` a few bytes at a time, then fails.
struct Flaky<'a> {
    data: &'a [u8],
    interrupted: bool,
}

impl Read for Flaky<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::new(io::ErrorKind::Interrupted, "again"));
        }
        self.interrupted = false;
        if self.data.is_empty() {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer left"));
        }
        let n = out.len().min(self.data.len()).min(3);
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn io_errors_are_reported_where_they_happen_and_interruptions_retried() {
    let payloads = [payload(5, 0), payload(7, 1)];
    let stream = stream_of(&payloads);
    let cut = 25 + 4;
    let reader = FrameReader::new(Flaky {
        data: &stream[..cut],
        interrupted: false,
    })
    .with_recovery(Recovery::Resync);
    let results: Vec<_> = reader.collect();
    assert_eq!(
        results,
        vec![
            Ok(expected_frames(&payloads, 0, 0)[0].clone()),
            Err(FrameError::Io {
                index: 1,
                offset: cut as u64,
                kind: io::ErrorKind::ConnectionReset,
                message: "peer left".to_owned(),
            })
        ]
    );

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut writer = FrameWriter::new(Full);
    let err = writer
        .write_frame(PayloadKind::Batch, FrameEncoding::Compat, b"x")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "frame 0 at byte 0: I/O error (StorageFull): disk full"
    );
    assert_eq!(writer.frames_written(), 0);
}

#[test]
fn error_messages_say_what_and_where() {
    let cases = [
        (
            FrameError::Truncated {
                index: 1,
                offset: 29,
                available: 3,
                needed: 16,
            },
            "frame 1 at byte 29 is truncated: the stream ends after 3 of its 16 bytes",
        ),
        (
            FrameError::BadMagic {
                index: 2,
                offset: 50,
                found: b"xy".to_vec(),
            },
            "no frame at byte 50 (where frame 2 should start): found [78, 79], not the magic \"SCRY\"",
        ),
        (
            FrameError::HeaderCrc {
                index: 0,
                offset: 0,
                stored: 1,
                computed: 0xABCD,
            },
            "frame 0 at byte 0: header CRC-32C mismatch (stored 0x00000001, computed 0x0000abcd)",
        ),
        (
            FrameError::PayloadTooLong {
                index: 3,
                offset: 7,
                len: 9,
                max: 8,
            },
            "frame 3 at byte 7: payload of 9 bytes exceeds the maximum of 8",
        ),
        (
            FrameError::UnsupportedVersion {
                index: 0,
                offset: 0,
                version: 7,
            },
            "frame 0 at byte 0: unsupported format version 7 (reads 1)",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(err.to_string(), message);
    }
    let err = FrameError::PayloadCrc {
        index: 4,
        offset: 100,
        stored: 0,
        computed: 1,
    };
    assert_eq!((err.index(), err.offset()), (4, 100));
}

/// A small deterministic generator (SplitMix64) for the randomized tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_streams_with_garbage_runs_lose_no_frame_under_resync() {
    for seed in 0..20 {
        let mut rng = Rng(seed);
        let payloads: Vec<Vec<u8>> = (0..60).map(|i| payload(rng.below(3000), i as u8)).collect();
        let whole = stream_of(&payloads);
        let frames = expected_frames(&payloads, 0, 0);
        // Insert a garbage run (without the byte 'S', so it holds no magic) before some frames.
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for frame in &frames {
            if rng.below(3) == 0 {
                let garbage: Vec<u8> = (0..1 + rng.below(40))
                    .map(|_| match rng.next() as u8 {
                        b'S' => b's',
                        b => b,
                    })
                    .collect();
                expected.push(Err(FrameError::BadMagic {
                    index: frame.index,
                    offset: stream.len() as u64,
                    found: garbage
                        .iter()
                        .chain(whole.iter().skip(frame.offset as usize))
                        .take(4)
                        .copied()
                        .collect(),
                }));
                stream.extend_from_slice(&garbage);
            }
            let start = frame.offset as usize;
            expected.push(Ok(Frame {
                offset: stream.len() as u64,
                ..frame.clone()
            }));
            stream.extend_from_slice(&whole[start..start + frame.wire_len() as usize]);
        }
        assert_eq!(read_all(&stream, Recovery::Resync), expected, "seed {seed}");
        let chunk = 1 + rng.below(5000);
        assert_eq!(
            decode_chunked(&stream, chunk, Recovery::Resync),
            expected,
            "seed {seed}, chunks of {chunk}"
        );
    }
}

#[test]
fn the_frame_crc_is_crc32c_as_the_crc32c_crate_computes_it() {
    assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(super::crc32c(b""), crc32c::crc32c(b""));
    // Every length through the vector widths and past them, over bytes that are not all alike.
    let data: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for len in (0..600).chain([4095, 4096, 4097, 65_535, 65_536, 70_000]) {
        for start in [0, 1, 7] {
            let slice = &data[start..(start + len).min(data.len())];
            assert_eq!(
                super::crc32c(slice),
                crc32c::crc32c(slice),
                "length {len} at {start}"
            );
        }
    }
}
