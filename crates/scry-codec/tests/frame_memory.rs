//! A frame header that checks but claims a huge payload makes neither `FrameReader` nor
//! `FrameDecoder` allocate for the claim: buffers grow with the bytes that arrive.

use bytes::BytesMut;
use scry_codec::frame::{
    FrameDecoder, FrameEncoding, FrameError, FrameHeader, FrameReader, PayloadKind,
    DEFAULT_MAX_PAYLOAD_LEN,
};
use scry_testkit::alloc::requested;

#[global_allocator]
static GLOBAL: scry_testkit::alloc::Counting = scry_testkit::alloc::Counting;

/// A valid header claiming the largest payload accepted by default, then `body` bytes of it.
fn huge_claim(body: usize) -> Vec<u8> {
    let header = FrameHeader {
        encoding: FrameEncoding::Compat,
        kind: PayloadKind::Batch,
        payload_len: DEFAULT_MAX_PAYLOAD_LEN,
    };
    let mut v = header.to_bytes().to_vec();
    v.resize(16 + body, 0xAB);
    v
}

fn truncated(available: u64) -> FrameError {
    FrameError::Truncated {
        index: 0,
        offset: 0,
        available,
        needed: u64::from(DEFAULT_MAX_PAYLOAD_LEN) + 20,
    }
}

#[test]
fn frame_reader_does_not_allocate_for_a_claimed_length() {
    for body in [0usize, 100_000] {
        let input = huge_claim(body);
        let (items, allocated) = requested(|| FrameReader::new(&input[..]).collect::<Vec<_>>());
        assert_eq!(items, vec![Err(truncated(input.len() as u64))]);
        // The claim is 64 MiB; what is allocated follows what arrived.
        assert!(
            allocated < 4 * input.len() + (1 << 20),
            "{body}: {allocated}"
        );
    }
}

#[test]
fn frame_decoder_does_not_reserve_for_a_claimed_length() {
    for body in [0usize, 100_000] {
        let input = huge_claim(body);
        let (result, allocated) = requested(|| {
            let mut decoder = FrameDecoder::new();
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for piece in input.chunks(4096) {
                buf.extend_from_slice(piece);
                out.push(decoder.decode(&mut buf));
            }
            out.push(decoder.decode_eof(&mut buf));
            out
        });
        assert!(result[..result.len() - 1].iter().all(|r| r == &Ok(None)));
        assert_eq!(result.last(), Some(&Err(truncated(input.len() as u64))));
        assert!(
            allocated < 4 * input.len() + (1 << 20),
            "{body}: {allocated}"
        );
    }
}
