//! Mutated batches and events (seeded) never make a reader panic, every reader agrees, and
//! whatever reads successfully encodes again in both encodings and reads back to the same
//! value (its Compat bytes equal to the serde reference path's).
//!
//! Mutations of valid compat and compact buffers: bit flips, byte sets, truncation,
//! insertion and deletion, splices of two valid buffers, and mutations aimed at the offset
//! and length fields (found by walking the valid buffer): offsets set to 0, to the width's
//! maximum, nudged, or redirected at another object (sharing, cycles, forward pointers), and
//! lengths set huge or nudged.
//!
//! `SCRY_MUTATION_INPUTS` sets the number of inputs per test (default 20,000) for longer
//! local runs; `SCRY_MUTATION_SEED` changes the seed.

use bytes::Bytes;
use scry_codec::{
    read_batch, read_batch_bytes, read_event, read_event_bytes, serialize_batch,
    serialize_batch_with, serialize_event, serialize_event_with, BatchView, Encoding, EventView,
};
use scry_testkit::reference;
use scry_testkit::Gen;

fn inputs() -> u64 {
    std::env::var("SCRY_MUTATION_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn seed() -> u64 {
    std::env::var("SCRY_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xF022)
}

/// An offset slot found in a valid buffer: where it is, how wide, and where it points.
#[derive(Debug, Clone, Copy)]
struct OffsetSlot {
    pos: usize,
    width: usize,
    target: usize,
}

/// A length prefix found in a valid buffer.
#[derive(Debug, Clone, Copy)]
struct LengthField {
    pos: usize,
    width: usize,
}

/// The offset slots and length fields of a valid FlexBuffers buffer (a minimal walker over
/// maps, vectors, strings, keys and blobs; it trusts its input, which is valid).
#[derive(Default)]
struct Layout {
    offsets: Vec<OffsetSlot>,
    lengths: Vec<LengthField>,
}

fn read_uint(b: &[u8], pos: usize, width: usize) -> Option<usize> {
    let bytes = b.get(pos..pos.checked_add(width)?)?;
    let mut v = 0u64;
    for (i, &x) in bytes.iter().enumerate() {
        v |= u64::from(x) << (8 * i);
    }
    usize::try_from(v).ok()
}

fn layout(b: &[u8]) -> Layout {
    let mut out = Layout::default();
    let Some(&root_width) = b.last() else {
        return out;
    };
    let root_width = usize::from(root_width);
    let Some(root_pos) = b.len().checked_sub(2 + root_width) else {
        return out;
    };
    let root_packed = b[b.len() - 2];
    // (slot position, slot width, packed type)
    let mut todo = vec![(root_pos, root_width, root_packed)];
    while let Some((slot, slot_width, packed)) = todo.pop() {
        if out.offsets.len() > 4096 {
            break;
        }
        let ty = packed >> 2;
        let child_width = 1usize << (packed & 3);
        let is_offset = matches!(ty, 4..=25) || ty == 36;
        if !is_offset {
            continue;
        }
        let Some(target) = read_uint(b, slot, slot_width).and_then(|o| slot.checked_sub(o)) else {
            continue;
        };
        out.offsets.push(OffsetSlot {
            pos: slot,
            width: slot_width,
            target,
        });
        let has_len = matches!(ty, 5 | 9..=15 | 25 | 36);
        if !has_len || target < child_width {
            continue;
        }
        out.lengths.push(LengthField {
            pos: target - child_width,
            width: child_width,
        });
        let Some(len) = read_uint(b, target - child_width, child_width) else {
            continue;
        };
        match ty {
            9 | 10 => {
                for i in 0..len {
                    let Some(&p) = b.get(target + len * child_width + i) else {
                        break;
                    };
                    todo.push((target + i * child_width, child_width, p));
                }
                if ty == 9 && target >= 3 * child_width {
                    let keys_slot = target - 3 * child_width;
                    let key_width = read_uint(b, target - 2 * child_width, child_width)
                        .filter(|w| matches!(w, 1 | 2 | 4 | 8))
                        .unwrap_or(1);
                    let packed = (14 << 2) | key_width.trailing_zeros() as u8;
                    todo.push((keys_slot, child_width, packed));
                }
            }
            14 => {
                for i in 0..len {
                    todo.push((target + i * child_width, child_width, 4 << 2));
                }
            }
            _ => {}
        }
    }
    out
}

fn write_uint(b: &mut [u8], pos: usize, width: usize, v: u64) {
    for i in 0..width {
        if let Some(x) = b.get_mut(pos + i) {
            *x = (v >> (8 * i)) as u8;
        }
    }
}

fn max_of(width: usize) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    }
}

/// Valid buffers and their layouts, built once (building and walking them per input would
/// cost more than reading the mutants).
struct Pool {
    items: Vec<(Vec<u8>, Layout)>,
}

impl Pool {
    fn new(make: impl Fn(u64) -> Vec<u8>) -> Self {
        let items = (0..POOL)
            .map(|i| {
                let bytes = make(i);
                let map = layout(&bytes);
                (bytes, map)
            })
            .collect();
        Self { items }
    }

    /// A mutant of the pool's `i`-th buffer (modulo its size).
    fn mutant(&self, g: &mut Gen, i: u64) -> Vec<u8> {
        let (bytes, map) = &self.items[(i % POOL) as usize];
        let (other, _) = &self.items[g.below(self.items.len())];
        mutate(g, bytes.clone(), map, other)
    }
}

/// Valid buffers per pool: a third compat, a third compact, a third compact as the
/// flexbuffers builder writes it (keys vectors shared).
const POOL: u64 = 256;

/// One to three mutations of `bytes` (whose layout is `map`); `other` is another valid
/// buffer to splice from.
fn mutate(g: &mut Gen, mut bytes: Vec<u8>, map: &Layout, other: &[u8]) -> Vec<u8> {
    for _ in 0..=g.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = g.below(bytes.len());
        match g.below(14) {
            0 => bytes.truncate(at),
            1 => {
                for _ in 0..=g.below(4) {
                    bytes.insert(at, g.next_u64() as u8);
                }
            }
            2 => {
                let n = (1 + g.below(4)).min(bytes.len() - at);
                bytes.drain(at..at + n);
            }
            3 => {
                // Flip a bit near the end, where the root and the outer maps live.
                let back = g.below(bytes.len().min(16));
                let i = bytes.len() - 1 - back;
                bytes[i] ^= 1 << g.below(8);
            }
            4 => bytes[at] ^= 1 << g.below(8),
            5 => bytes[at] = g.pick(&[0, 1, 0x7F, 0x80, 0xFF]),
            6 if !other.is_empty() => {
                // Splice: a prefix of this buffer and a suffix of the other, or a chunk of
                // the other written over this one.
                let from = g.below(other.len());
                if g.one_in(2) {
                    bytes.truncate(at);
                    bytes.extend_from_slice(&other[from..]);
                } else {
                    let n = (1 + g.below(64)).min(other.len() - from);
                    let end = (at + n).min(bytes.len());
                    bytes.splice(at..end, other[from..from + n].iter().copied());
                }
            }
            7..=10 if !map.offsets.is_empty() => {
                let s = map.offsets[g.below(map.offsets.len())];
                let current = read_uint(&bytes, s.pos, s.width).unwrap_or(0) as u64;
                let v = match g.below(6) {
                    0 => 0,
                    1 => max_of(s.width),
                    2 => current.wrapping_add(1 + g.below(8) as u64),
                    3 => current.wrapping_sub(1 + g.below(8) as u64),
                    // Redirect at another object: shares it, or points forward / at a parent.
                    _ => {
                        let other = map.offsets[g.below(map.offsets.len())];
                        (s.pos as u64).wrapping_sub(other.target as u64)
                    }
                };
                write_uint(&mut bytes, s.pos, s.width, v & max_of(s.width));
            }
            11 | 12 if !map.lengths.is_empty() => {
                let f = map.lengths[g.below(map.lengths.len())];
                let current = read_uint(&bytes, f.pos, f.width).unwrap_or(0) as u64;
                let v = match g.below(4) {
                    0 => max_of(f.width),
                    1 => u64::from(u32::MAX),
                    2 => current.wrapping_add(1 + g.below(4) as u64),
                    _ => current.wrapping_sub(1),
                };
                write_uint(&mut bytes, f.pos, f.width, v & max_of(f.width));
            }
            _ => bytes[at] = g.next_u64() as u8,
        }
    }
    bytes
}

fn valid_batch(i: u64) -> Vec<u8> {
    let mut src = Gen::new(i / 2);
    src.max_random_data_len = 24;
    src.allow_huge_values = false;
    let batch = src.batch(3);
    match i % 2 {
        0 => serialize_batch(&batch).unwrap(),
        _ => serialize_batch_with(&batch, Encoding::Compact).unwrap(),
    }
}

fn valid_event(i: u64) -> Vec<u8> {
    let mut src = Gen::new(i / 2);
    src.max_random_data_len = 24;
    src.allow_huge_values = false;
    let event = src.event();
    match i % 2 {
        0 => serialize_event(&event).unwrap(),
        _ => serialize_event_with(&event, Encoding::Compact).unwrap(),
    }
}

#[test]
fn the_walker_finds_offsets_and_lengths() {
    let bytes = valid_batch(0);
    let map = layout(&bytes);
    assert!(map.offsets.len() > 10, "{}", map.offsets.len());
    assert!(map.lengths.len() > 5, "{}", map.lengths.len());
    // Every offset found points backwards into the buffer.
    assert!(map.offsets.iter().all(|s| s.target < s.pos));
}

#[test]
fn mutated_batches_never_panic_and_ok_results_round_trip() {
    let n = inputs();
    let mut g = Gen::new(seed());
    let pool = Pool::new(valid_batch);
    let mut ok = 0u64;
    for i in 0..n {
        let input = pool.mutant(&mut g, i);
        let owned = read_batch(&input);
        let shared = read_batch_bytes(&Bytes::from(input.clone()));
        let viewed = BatchView::parse(&input).map(|v| v.to_owned());
        match (&owned, &shared, &viewed) {
            (Ok(a), Ok(b), Ok(c)) => {
                assert_eq!(a, b, "input {i}");
                assert_eq!(a, c, "input {i}");
                let compat = serialize_batch(a).unwrap();
                assert_eq!(compat, reference::serialize_batch(a).unwrap(), "input {i}");
                assert_eq!(&read_batch(&compat).unwrap(), a, "input {i}: compat");
                let compact = serialize_batch_with(a, Encoding::Compact).unwrap();
                assert_eq!(&read_batch(&compact).unwrap(), a, "input {i}: compact");
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
    assert!(ok > n / 40 && ok < n * 19 / 20, "{ok} of {n} read");
}

#[test]
fn mutated_events_never_panic_and_ok_results_round_trip() {
    let n = inputs() / 2;
    let mut g = Gen::new(seed() ^ 0xE7E7);
    let pool = Pool::new(valid_event);
    let mut ok = 0u64;
    for i in 0..n {
        let input = pool.mutant(&mut g, i);
        let owned = read_event(&input);
        let shared = read_event_bytes(&Bytes::from(input.clone()));
        let viewed = EventView::parse(&input).map(|v| v.to_owned_event());
        match (&owned, &shared, &viewed) {
            (Ok(a), Ok(b), Ok(c)) => {
                assert_eq!(a, b, "input {i}");
                assert_eq!(a, c, "input {i}");
                let compat = serialize_event(a).unwrap();
                assert_eq!(compat, reference::serialize_event(a).unwrap(), "input {i}");
                assert_eq!(&read_event(&compat).unwrap(), a, "input {i}: compat");
                let compact = serialize_event_with(a, Encoding::Compact).unwrap();
                assert_eq!(&read_event(&compact).unwrap(), a, "input {i}: compact");
                ok += 1;
            }
            (Err(a), Err(b), Err(c)) => {
                assert_eq!(a, b, "input {i}");
                assert_eq!(c, a, "input {i}");
            }
            _ => panic!("readers disagree on input {i}: {owned:?} / {shared:?} / {viewed:?}"),
        }
    }
    assert!(ok > n / 40 && ok < n * 19 / 20, "{ok} of {n} read");
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
