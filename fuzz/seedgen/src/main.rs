//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`:
//!
//! - batch and event targets: every `scry_testkit::canonical_cases()` payload (the wire
//!   snapshot fixtures) in both encodings, plus a few generated batches;
//! - frame targets: those payloads framed, one stream per case and one of all of them;
//! - `pg_decode`: every distinct field of the first rows of `scry-pg/fixtures/all_types.copy`
//!   with its column's OID;
//! - `copy_reader`: the fixture's header and first rows rewritten as small streams;
//! - `query_batch`: the canonical query-event batches and a few generated ones;
//! - `compact_blobs`: the `tables` and `events` blobs of every compact batch and event above,
//!   after checking that the root `scry_fuzz::compact_root` builds around them reads back as
//!   the original.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml -p scry-fuzz-seedgen`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use scry_codec::frame::{encode_frame, FrameEncoding, PayloadKind};
use scry_codec::{read_batch, read_event, serialize_batch_with, serialize_event_with, Encoding};
use scry_fuzz::{
    compact_blobs, compact_blobs_input, compact_blobs_root, compact_root, CompactRoot,
};
use scry_pg::copy::{CopyReader, CopyWriter};
use scry_testkit::{canonical_cases, workloads, CanonicalPayload, Gen};
use scry_types::{DatabaseEvent, DatabaseEventBatch, RelationMeta};

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
    // What was written in the compact encoding, for the compact_blobs seeds.
    let mut compact_batches: Vec<(String, DatabaseEventBatch)> = Vec::new();
    let mut compact_events: Vec<(String, DatabaseEvent)> = Vec::new();
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
                compact_batches.push((case.name.to_string(), b.clone()));
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
                compact_events.push((case.name.to_string(), e.clone()));
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
        compact_batches.push((format!("gen{seed}"), b));
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
        compact_batches.push((format!("alike-{name}"), b));
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
    write_all(&root.join("pgoutput"), &pgoutput_seeds())?;
    write_all(&root.join("query_batch"), &query_seeds())?;
    write_all(
        &root.join("compact_blobs"),
        &compact_blob_seeds(&compact_batches, &compact_events)?,
    )?;
    Ok(())
}

/// The metas a compact root carries: the events' relation maps, in event order.
fn metas_of<'a>(events: impl IntoIterator<Item = &'a DatabaseEvent>) -> Vec<RelationMeta> {
    events
        .into_iter()
        .filter_map(|e| e.relation_meta.clone())
        .collect()
}

/// The `compact_blobs` seeds: for each batch (and bare event) written compact, its blobs,
/// with flags asking for the optional root fields it has and as many metas. First checks
/// that the root `compact_root` builds around the blobs, with the original's other fields,
/// reads back as the original: else the target's roots would not be the writer's.
fn compact_blob_seeds(
    batches: &[(String, DatabaseEventBatch)],
    events: &[(String, DatabaseEvent)],
) -> Result<Seeds, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let (mut same_bytes, mut checked) = (0usize, 0usize);
    for (name, b) in batches {
        let wire = serialize_batch_with(b, Encoding::Compact)?;
        let (ev, tables) = compact_blobs(&wire).ok_or(format!("{name}: no compact blobs"))?;
        let metas = metas_of(&b.events);
        let root = compact_root(
            &CompactRoot {
                batch_seq: Some(b.batch_seq),
                source_id: b.source_id.as_deref(),
                relations: &b.relations,
                metas: (!metas.is_empty()).then_some(&metas[..]),
                meta_indexes: &[],
                control_directive: b.control_directive,
                sequence_values: b.sequence_values.as_deref(),
                backfill_metadata: b.backfill_metadata.clone(),
            },
            &tables,
            &ev,
        );
        let back = read_batch(&root).map_err(|e| format!("{name}: rebuilt root: {e}"))?;
        if &back != b {
            return Err(format!("{name}: the rebuilt root reads back different").into());
        }
        checked += 1;
        same_bytes += usize::from(root == wire);
        let Ok(n_metas) = u8::try_from(metas.len()) else {
            continue;
        };
        let flags = u8::from(b.batch_seq > 7) << 1
            | u8::from(b.source_id.is_some()) << 2
            | u8::from(!b.relations.is_empty()) << 4
            | u8::from(b.control_directive.is_some()) << 5
            | u8::from(b.sequence_values.is_some()) << 6
            | u8::from(b.backfill_metadata.is_some()) << 7;
        if let Some(input) = compact_blobs_input(flags, n_metas, &tables, &ev) {
            out.push((format!("{name}"), input));
        }
    }
    for (name, e) in events {
        let wire = serialize_event_with(e, Encoding::Compact)?;
        let (ev, tables) = compact_blobs(&wire).ok_or(format!("{name}: no compact blobs"))?;
        let metas = metas_of([e]);
        let root = compact_root(
            &CompactRoot {
                metas: (!metas.is_empty()).then_some(&metas[..]),
                ..CompactRoot::default()
            },
            &tables,
            &ev,
        );
        let back = read_event(&root).map_err(|err| format!("{name}: rebuilt root: {err}"))?;
        if &back != e {
            return Err(format!("{name}: the rebuilt event root reads back different").into());
        }
        checked += 1;
        same_bytes += usize::from(root == wire);
        if let Some(input) = compact_blobs_input(0x01, metas.len() as u8, &tables, &ev) {
            out.push((format!("event-{name}"), input));
        }
    }
    out.retain(|(_, b)| b.len() <= MAX_SEED);
    // How many seeds the target's readers accept (the metas differ from the original's).
    let mut accepted = 0;
    for (_, input) in &out {
        let (r, bare) = compact_blobs_root(input).ok_or("short input")?;
        accepted += usize::from(if bare {
            read_event(&r).is_ok()
        } else {
            read_batch(&r).is_ok()
        });
    }
    println!(
        "compact_blobs: {checked} rebuilt roots read back equal ({same_bytes} byte for byte the \
         writer's); {accepted} of {} seed inputs read successfully",
        out.len()
    );
    Ok(out)
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

/// Message streams for the `pgoutput` target: each message a 2-byte big-endian length and its
/// bytes, after a first byte that picks the decoder's memory limit.
fn pgoutput_seeds() -> Vec<(String, Vec<u8>)> {
    use scry_testkit::pgoutput::{begin, commit, insert, narrow_insert_stream, relation, tuple};
    let frame = |limit: u8, messages: &[Vec<u8>]| {
        let mut out = vec![limit];
        for m in messages {
            out.extend((m.len() as u16).to_be_bytes());
            out.extend(m);
        }
        out
    };
    let narrow: Vec<Vec<u8>> = narrow_insert_stream(3, 4)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let rel = relation(7, "public", "t", &[("id", 23, true), ("v", 25, false)]);
    let row: [Option<&[u8]>; 2] = [Some(&[0, 0, 0, 1]), Some(b"x")];
    let with_xid = |kind: u8, xid: u32, rest: &[u8]| {
        let mut m = vec![kind];
        m.extend(xid.to_be_bytes());
        m.extend(rest);
        m
    };
    let streamed_insert = {
        let mut m = Vec::new();
        m.extend(7u32.to_be_bytes());
        m.push(b'N');
        tuple(&mut m, &row);
        with_xid(b'I', 900, &m)
    };
    let mut update = vec![b'U'];
    update.extend(7u32.to_be_bytes());
    update.push(b'K');
    tuple(&mut update, &[Some(&[0, 0, 0, 1]), None]);
    update.push(b'N');
    tuple(&mut update, &row);
    let stream_commit = {
        let mut m = vec![b'c'];
        m.extend(900u32.to_be_bytes());
        m.push(0);
        m.extend(commit(0x90, 0xa0, 5)[2..].to_vec());
        m
    };
    let prepared = |kind: u8, flags: bool| {
        let mut m = vec![kind];
        if flags {
            m.push(0);
        }
        for v in [0x80u64, 0x88, 3] {
            m.extend(v.to_be_bytes());
        }
        m.extend(901u32.to_be_bytes());
        m.extend(b"gid\0");
        m
    };
    let mut message = vec![b'M', 1];
    message.extend(0x70u64.to_be_bytes());
    message.extend(b"scry.ddl\0");
    message.extend(4u32.to_be_bytes());
    message.extend(b"DROP");
    vec![
        ("narrow".to_owned(), frame(255, &narrow)),
        (
            "update-message".to_owned(),
            frame(
                255,
                &[
                    begin(0x90, 0, 5),
                    rel.clone(),
                    insert(7, &row),
                    update,
                    message,
                    commit(0x90, 0xa0, 0),
                ],
            ),
        ),
        (
            "streamed".to_owned(),
            frame(
                0,
                &[
                    vec![b'S', 0, 0, 3, 0x84, 1],
                    with_xid(b'R', 900, &rel[1..]),
                    streamed_insert,
                    vec![b'E'],
                    stream_commit,
                ],
            ),
        ),
        (
            "two-phase".to_owned(),
            frame(
                1,
                &[
                    prepared(b'b', false),
                    rel,
                    insert(7, &row),
                    prepared(b'P', true),
                    prepared(b'K', true),
                ],
            ),
        ),
    ]
}

/// `query_batch`: the canonical query-event batches and a few generated ones.
fn query_seeds() -> Seeds {
    let mut seeds: Seeds = scry_testkit::query::query_cases()
        .iter()
        .map(|c| {
            let bytes = scry_codec::FlatBuffersSerializer::serialize_batch(
                &c.events,
                c.proxy_id,
                c.batch_seq,
            );
            (c.name.to_owned(), bytes)
        })
        .collect();
    for seed in 0..8u64 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        let events: Vec<_> = (0..1 + seed as usize).map(|_| g.query_event()).collect();
        let bytes = scry_codec::FlatBuffersSerializer::serialize_batch(&events, "proxy", seed);
        if bytes.len() <= MAX_SEED {
            seeds.push((format!("query-gen-{seed}"), bytes));
        }
    }
    seeds
}

fn write_all(dir: &PathBuf, seeds: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
    Ok(())
}
