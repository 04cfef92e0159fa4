//! `serialize_batch_into` appends after existing content, and what it appends is exactly what
//! `serialize_batch_with` returns, whatever the existing content's length (alignment is
//! relative to the start of each FlexBuffer).

use scry_codec::{read_batch, serialize_batch_into, serialize_batch_with, Encoding};
use scry_testkit::{workloads, Gen};

#[test]
fn appends_after_existing_content() {
    for encoding in [Encoding::Compat, Encoding::Compact] {
        for seed in 0..100 {
            let mut g = Gen::new(seed);
            g.allow_huge_values = false;
            let batch = g.batch(3);
            let alone = serialize_batch_with(&batch, encoding).expect("encodes");
            // Every prefix length modulo 8, so every padding decision is exercised.
            let prefix: Vec<u8> = (0..(seed % 8) as u8 + 1).map(|i| 0xA0 | i).collect();
            let mut out = prefix.clone();
            serialize_batch_into(&batch, encoding, &mut out).expect("encodes");
            assert_eq!(
                &out[..prefix.len()],
                &prefix[..],
                "{encoding:?} seed {seed}"
            );
            assert_eq!(&out[prefix.len()..], &alone[..], "{encoding:?} seed {seed}");
        }
    }
}

#[test]
fn a_reused_buffer_holds_consecutive_flexbuffers() {
    let first = workloads::small_rows(10);
    let second = workloads::large_rows(2);
    let mut out = Vec::new();
    serialize_batch_into(&first, Encoding::Compat, &mut out).expect("encodes");
    let split = out.len();
    serialize_batch_into(&second, Encoding::Compat, &mut out).expect("encodes");
    assert_eq!(read_batch(&out[..split]).expect("reads"), first);
    assert_eq!(read_batch(&out[split..]).expect("reads"), second);

    // Clearing and refilling the same buffer gives the same bytes as a fresh one.
    out.clear();
    serialize_batch_into(&second, Encoding::Compact, &mut out).expect("encodes");
    assert_eq!(
        out,
        serialize_batch_with(&second, Encoding::Compact).expect("encodes")
    );
}
