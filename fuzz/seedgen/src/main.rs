//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`:
//!
//! - batch and event targets: every `scry_testkit::canonical_cases()` payload (the wire
//!   snapshot fixtures) in both encodings, plus a few generated batches;
//! - frame targets: those payloads framed, one stream per case and one of all of them;
//! - `pg_decode`: every distinct field of the first rows of `scry-pg/fixtures/all_types.copy`
//!   with its column's OID;
//! - `copy_reader`: the fixture's header and first rows rewritten as small streams.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml -p scry-fuzz-seedgen`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use scry_codec::frame::{encode_frame, FrameEncoding, PayloadKind};
use scry_codec::{serialize_batch_with, serialize_event_with, Encoding};
use scry_pg::copy::{CopyReader, CopyWriter};
use scry_testkit::{canonical_cases, workloads, CanonicalPayload, Gen};

/// Named seed inputs.
type Seeds = Vec<(String, Vec<u8>)>;

/// Seeds are kept under libFuzzer's `-max_len` of the README's commands.
const MAX_SEED: usize = 64 * 1024;
/// Rows of the COPY fixture used for seeds.
const COPY_ROWS: usize = 40;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut batches = Vec::new();
    let mut events = Vec::new();
    for case in canonical_cases() {
        match &case.payload {
            CanonicalPayload::Batch(b) => {
                batches.push((
                    format!("{}-compat", case.name),
                    serialize_batch_with(b, Encoding::Compat)?,
                ));
                batches.push((
                    format!("{}-compact", case.name),
                    serialize_batch_with(b, Encoding::Compact)?,
                ));
            }
            CanonicalPayload::Event(e) => {
                events.push((
                    format!("{}-compat", case.name),
                    serialize_event_with(e, Encoding::Compat)?,
                ));
                events.push((
                    format!("{}-compact", case.name),
                    serialize_event_with(e, Encoding::Compact)?,
                ));
            }
        }
    }
    for seed in 0..8 {
        let mut g = Gen::new(seed);
        g.max_random_data_len = 40;
        g.allow_huge_values = false;
        let b = g.batch(4);
        batches.push((
            format!("gen{seed}-compat"),
            serialize_batch_with(&b, Encoding::Compat)?,
        ));
        batches.push((
            format!("gen{seed}-compact"),
            serialize_batch_with(&b, Encoding::Compact)?,
        ));
    }
    // Batches of alike events (what event templates validate), both encodings.
    let mut alike = Vec::new();
    for (name, b) in [
        ("small_rows", workloads::small_rows(6)),
        ("large_rows", workloads::large_rows(2)),
    ] {
        for (enc, e) in [("compat", Encoding::Compat), ("compact", Encoding::Compact)] {
            alike.push((format!("alike-{name}-{enc}"), serialize_batch_with(&b, e)?));
        }
    }
    batches.extend(alike.iter().cloned());
    batches.retain(|(_, b)| b.len() <= MAX_SEED);
    events.retain(|(_, b)| b.len() <= MAX_SEED);

    for target in ["read_batch", "batch_view"] {
        write_all(&root.join(target), &batches)?;
    }
    alike.retain(|(_, b)| b.len() <= MAX_SEED);
    write_all(&root.join("template"), &alike)?;
    for target in ["read_event", "event_view"] {
        write_all(&root.join(target), &events)?;
    }
    // read_batch_bytes: one limits byte first (0: default limits; others tighten some).
    let limited: Vec<_> = batches
        .iter()
        .flat_map(|(name, b)| {
            [0u8, 0x15, 0xFF].map(|o| (format!("{name}-limits{o:02x}"), prefixed(&[o], b)))
        })
        .collect();
    write_all(&root.join("read_batch_bytes"), &limited)?;

    let frames = frame_seeds(&batches, &events)?;
    for target in ["frame_reader", "frame_decoder"] {
        write_all(&root.join(target), &frames)?;
    }

    let fixture = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/scry-pg/fixtures/all_types.copy"),
    )?;
    write_all(&root.join("pg_decode"), &pg_seeds(&fixture)?)?;
    write_all(&root.join("copy_reader"), &copy_seeds(&fixture)?)?;
    Ok(())
}

fn prefixed(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(rest);
    v
}

/// Config byte 0 (stop, 1-byte reads) and 0x0F (resync, 4 KiB reads), then the frames.
fn frame_seeds(
    batches: &[(String, Vec<u8>)],
    events: &[(String, Vec<u8>)],
) -> Result<Seeds, Box<dyn std::error::Error>> {
    let mut all = BytesMut::new();
    let mut out = Vec::new();
    let payloads = batches
        .iter()
        .map(|p| (PayloadKind::Batch, p))
        .chain(events.iter().map(|p| (PayloadKind::Event, p)));
    for (kind, (name, payload)) in payloads {
        let encoding = if name.contains("compact") {
            FrameEncoding::Compact
        } else {
            FrameEncoding::Compat
        };
        let mut one = BytesMut::new();
        encode_frame(kind, encoding, payload, &mut one)?;
        if all.len() + one.len() <= MAX_SEED {
            all.extend_from_slice(&one);
        }
        out.push((format!("{name}-stop"), prefixed(&[0x00], &one)));
        out.push((format!("{name}-resync"), prefixed(&[0x0F], &one)));
    }
    out.push(("all-stop".to_owned(), prefixed(&[0x00], &all)));
    out.push(("all-resync".to_owned(), prefixed(&[0x0F], &all)));
    out.retain(|(_, b)| b.len() <= MAX_SEED + 1);
    Ok(out)
}

/// Every distinct non-NULL field of the fixture's first rows, with its column's OID prefix.
fn pg_seeds(fixture: &[u8]) -> Result<Seeds, Box<dyn std::error::Error>> {
    let oids = scry_fuzz::fixture_oids();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for row in CopyReader::new(fixture.to_vec())?.take(COPY_ROWS) {
        for (i, field) in row?.fields().iter().enumerate() {
            let (Some(bytes), Some(&oid)) = (field, oids.get(i)) else {
                continue;
            };
            let input = prefixed(&scry_fuzz::oid_prefix(oid), bytes);
            if input.len() <= MAX_SEED && seen.insert(input.clone()) {
                out.push((format!("oid{oid}-{}", out.len()), input));
            }
        }
    }
    Ok(out)
}

/// The fixture's first 1, 4 and 16 rows as complete streams, and its first 64 KiB.
fn copy_seeds(fixture: &[u8]) -> Result<Seeds, Box<dyn std::error::Error>> {
    let rows: Vec<_> = CopyReader::new(fixture.to_vec())?
        .take(16)
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for n in [1, 4, 16] {
        let mut w = CopyWriter::new();
        for row in rows.iter().take(n) {
            let fields: Vec<Option<&[u8]>> = row.fields().iter().map(|f| f.as_deref()).collect();
            w.write_row(&fields)?;
        }
        let bytes = w.finish();
        if bytes.len() <= MAX_SEED {
            out.push((format!("rows{n}"), bytes.to_vec()));
        }
    }
    out.push((
        "fixture-prefix".to_owned(),
        fixture[..fixture.len().min(MAX_SEED)].to_vec(),
    ));
    Ok(out)
}

fn write_all(dir: &PathBuf, seeds: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
    Ok(())
}
