//! `FrameDecoder` fed a stream in chunks, then `decode_eof`. Input: one configuration byte
//! (bit 0: resync; bits 1-3: chunk size; bits 4-7: max payload length), then the stream.
//! Every frame decoded must be exactly the bytes `encode_frame` writes for it, at its offset;
//! the buffer must never hold much more than the input (memory bounded by what was fed),
//! and decoding must end after at most one item per input byte.
#![no_main]

use bytes::BytesMut;
use scry_codec::frame::{FrameDecoder, Recovery};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&config, stream)) = data.split_first() else {
        return;
    };
    let recovery = if config & 1 == 1 {
        Recovery::Resync
    } else {
        Recovery::Stop
    };
    let chunk = 1 << (((config >> 1) & 7) as usize * 2);
    let max_payload = match config >> 4 {
        0 => scry_codec::frame::DEFAULT_MAX_PAYLOAD_LEN,
        n => 1 << n,
    };
    let mut decoder = FrameDecoder::new()
        .with_recovery(recovery)
        .with_max_payload_len(max_payload);
    let mut buf = BytesMut::new();
    let mut items = 0usize;
    let mut stopped = false;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            assert!(
                buf.capacity() <= 4 * stream.len() + (1 << 18),
                "buffer of {} bytes for a {}-byte stream",
                buf.capacity(),
                stream.len()
            );
            items += 1;
            assert!(items <= 2 * stream.len() + 2, "decoder does not progress");
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => scry_fuzz::check_frame(stream, &frame),
                Ok(None) => break,
                Err(e) => {
                    let _ = e.to_string();
                    if recovery == Recovery::Stop {
                        assert_eq!(
                            decoder.decode(&mut buf),
                            Err(e),
                            "a stopped decoder repeats its error"
                        );
                        stopped = true;
                        break;
                    }
                }
            }
        }
        if stopped {
            return;
        }
    }
    loop {
        items += 1;
        assert!(
            items <= 2 * stream.len() + 4,
            "decode_eof does not progress"
        );
        match decoder.decode_eof(&mut buf) {
            Ok(Some(frame)) => scry_fuzz::check_frame(stream, &frame),
            Ok(None) => break,
            Err(_) if recovery == Recovery::Stop => break,
            Err(_) => {}
        }
    }
});
