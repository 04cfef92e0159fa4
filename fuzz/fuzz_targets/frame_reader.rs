//! `FrameReader` over a stream that hands out bytes in chunks. Input: one configuration byte
//! (bit 0: resync; bits 1-3: chunk size; bits 4-7: max payload length), then the stream.
//! Every frame read must be exactly the bytes `encode_frame` writes for it, at its offset,
//! and the reader must stop after at most one item per input byte.
#![no_main]

use std::io::Read;

use scry_codec::frame::{FrameReader, Recovery};

/// Reads at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&config, stream)) = data.split_first() else {
        return;
    };
    let recovery = if config & 1 == 1 {
        Recovery::Resync
    } else {
        Recovery::Stop
    };
    let chunk = 1 << ((config >> 1) & 7) as usize * 2; // 1, 4, 16, ... 16 KiB
    let max_payload = match config >> 4 {
        0 => scry_codec::frame::DEFAULT_MAX_PAYLOAD_LEN,
        n => 1 << n,
    };
    let reader = FrameReader::new(Chunked {
        data: stream,
        chunk,
    })
    .with_recovery(recovery)
    .with_max_payload_len(max_payload);
    let mut items = 0usize;
    for item in reader {
        items += 1;
        assert!(items <= stream.len() + 1, "more items than input bytes");
        match item {
            Ok(frame) => scry_fuzz::check_frame(stream, &frame),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
