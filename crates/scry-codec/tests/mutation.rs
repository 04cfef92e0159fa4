//! Mutated batches (random byte flips, truncations and insertions of valid compat and compact
//! batches; seeded) never make a reader panic, every reader agrees, and whatever reads
//! successfully encodes again and reads back to the same value.

mod common;

use bytes::Bytes;
use scry_codec::{read_batch, read_batch_bytes, serialize_batch, BatchView};
use scry_testkit::Gen;

const INPUTS: u64 = 20_000;

fn mutate(g: &mut Gen, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..=g.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = g.below(bytes.len());
        match g.below(10) {
            0 => bytes.truncate(at),
            1 => {
                let n = 1 + g.below(4);
                for _ in 0..n {
                    bytes.insert(at, g.next_u64() as u8);
                }
            }
            2 => {
                // Flip bytes near the end, where the root and the outer maps live.
                let back = g.below(bytes.len().min(16));
                let i = bytes.len() - 1 - back;
                bytes[i] ^= 1 << g.below(8);
            }
            _ => bytes[at] = g.next_u64() as u8,
        }
    }
    bytes
}

#[test]
fn mutated_batches_never_panic_and_ok_results_round_trip() {
    let mut g = Gen::new(0xF022);
    let mut ok = 0u32;
    for i in 0..INPUTS {
        let mut src = Gen::new(i / 4);
        src.max_random_data_len = 24;
        src.allow_huge_values = false;
        let batch = src.batch(3);
        let valid = if i % 2 == 0 {
            serialize_batch(&batch).unwrap()
        } else {
            common::compact_batch(&batch)
        };
        let input = mutate(&mut g, valid);
        let owned = read_batch(&input);
        let shared = read_batch_bytes(&Bytes::from(input.clone()));
        let viewed = BatchView::parse(&input).map(|v| v.to_owned());
        match (&owned, &shared, &viewed) {
            (Ok(a), Ok(b), Ok(c)) => {
                assert_eq!(a, b, "input {i}");
                assert_eq!(a, c, "input {i}");
                let again = serialize_batch(a).unwrap();
                assert_eq!(&read_batch(&again).unwrap(), a, "input {i}");
                ok += 1;
            }
            (Err(a), Err(b), Err(c)) => {
                assert_eq!(a, b, "input {i}");
                assert_eq!(c, a, "input {i}");
            }
            _ => panic!("readers disagree on input {i}: {owned:?} / {shared:?} / {viewed:?}"),
        }
    }
    // Some mutations (in value bytes, in string contents) leave a valid batch; most do not.
    assert!(ok > 500 && ok < 19_000, "{ok} of {INPUTS} read");
}

#[test]
fn random_bytes_never_panic() {
    let mut g = Gen::new(0xBAD);
    for _ in 0..10_000 {
        let len = g.below(200);
        let mut bytes: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
        // Give most inputs a plausible root so the reader gets past it.
        if len >= 3 && g.below(4) != 0 {
            bytes[len - 1] = [1u8, 2, 4, 8][g.below(4)];
            bytes[len - 2] =
                [(9 << 2) | g.below(4) as u8, (10 << 2) | g.below(4) as u8][g.below(2)];
        }
        let owned = read_batch(&bytes);
        let viewed = BatchView::parse(&bytes).map(|v| v.to_owned());
        assert_eq!(owned, viewed);
        let _ = scry_codec::read_event(&bytes);
    }
}
