//! bytes → JSON Lines → bytes is exact, for bare batches, bare events and framed streams.

mod common;

use common::{scratch, scry, stderr, stdout};
use scry_codec::frame::FrameWriter;
use scry_testkit::Gen;

fn round_trip(dir: &std::path::Path, name: &str, bytes: &[u8], framed: bool) {
    let input = dir.join(format!("{name}.bin"));
    let json = dir.join(format!("{name}.jsonl"));
    let output = dir.join(format!("{name}.out"));
    std::fs::write(&input, bytes).expect("write input");
    let to_json = scry(
        &["convert", "--to", "json", path(&input), path(&json)],
        None,
    );
    assert_eq!(
        to_json.status.code(),
        Some(0),
        "{name}: {}",
        stderr(&to_json)
    );
    let mut args = vec!["encode", path(&json), path(&output)];
    if framed {
        args.insert(1, "--framed");
    }
    let back = scry(&args, None);
    assert_eq!(back.status.code(), Some(0), "{name}: {}", stderr(&back));
    let out = std::fs::read(&output).expect("read output");
    assert!(
        out == bytes,
        "{name}: bytes differ after the JSON round trip"
    );
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn generated_bare_batches_and_events_round_trip_exactly() {
    let dir = scratch("roundtrip-bare");
    for seed in 0..24 {
        let mut gen = Gen::new(seed);
        gen.allow_huge_values = seed % 8 == 0;
        let batch = gen.batch(4);
        let bytes = scry_codec::serialize_batch(&batch).expect("serialize");
        round_trip(&dir, &format!("batch-{seed}"), &bytes, false);
        let event = gen.event();
        let bytes = scry_codec::serialize_event(&event).expect("serialize");
        round_trip(&dir, &format!("event-{seed}"), &bytes, false);
    }
}

#[test]
fn generated_framed_streams_round_trip_exactly() {
    let dir = scratch("roundtrip-framed");
    for seed in 100..108 {
        let mut gen = Gen::new(seed);
        gen.allow_huge_values = false;
        let mut w = FrameWriter::new(Vec::new());
        for i in 0..5 {
            if i % 2 == 0 {
                w.write_batch(&gen.batch(3)).expect("frame");
            } else {
                w.write_event(&gen.event()).expect("frame");
            }
        }
        round_trip(&dir, &format!("stream-{seed}"), &w.into_inner(), true);
    }
}

#[test]
fn workloads_round_trip_through_stdin_and_stdout() {
    let bytes =
        scry_codec::serialize_batch(&scry_testkit::workloads::small_rows(50)).expect("serialize");
    let json = scry(&["convert", "--to", "json", "-", "-"], Some(&bytes));
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert_eq!(stdout(&json).lines().count(), 51);
    let back = scry(&["encode", "-", "-"], Some(&json.stdout));
    assert_eq!(back.status.code(), Some(0), "{}", stderr(&back));
    assert!(back.stdout == bytes);
}

#[test]
fn convert_frames_and_unframes() {
    let dir = scratch("convert-framing");
    let bare = scry_codec::serialize_batch(&common::cdc_batch()).expect("serialize");
    let input = dir.join("cdc.bin");
    std::fs::write(&input, &bare).expect("write");
    let framed = scry(
        &["convert", "--to", "compat", "--framed", path(&input), "-"],
        None,
    );
    assert_eq!(framed.status.code(), Some(0), "{}", stderr(&framed));
    let mut expected = FrameWriter::new(Vec::new());
    expected.write_batch(&common::cdc_batch()).expect("frame");
    assert!(framed.stdout == expected.into_inner());
    let unframed = scry(
        &["convert", "--to", "compat", "-", "-"],
        Some(&framed.stdout),
    );
    assert_eq!(unframed.status.code(), Some(0), "{}", stderr(&unframed));
    assert!(unframed.stdout == bare);
}

#[test]
fn generated_streams_convert_to_compact_and_back_exactly() {
    for seed in 200..206 {
        let mut gen = Gen::new(seed);
        gen.allow_huge_values = false;
        let mut w = FrameWriter::new(Vec::new());
        for _ in 0..3 {
            w.write_batch(&gen.batch(3)).expect("frame");
            w.write_event(&gen.event()).expect("frame");
        }
        let compat = w.into_inner();
        let compact = scry(
            &["convert", "--to", "compact", "--framed", "-", "-"],
            Some(&compat),
        );
        assert_eq!(
            compact.status.code(),
            Some(0),
            "{seed}: {}",
            stderr(&compact)
        );
        assert!(
            compact.stdout.len() < compat.len(),
            "{seed}: compact is not smaller"
        );
        let stats = scry(&["stats", "-"], Some(&compact.stdout));
        assert!(
            stdout(&stats).contains("\n  compact                        6 "),
            "{seed}: {}",
            stdout(&stats)
        );
        let back = scry(
            &["convert", "--to", "compat", "--framed", "-", "-"],
            Some(&compact.stdout),
        );
        assert!(
            back.stdout == compat,
            "{seed}: compat → compact → compat differs"
        );
    }
}

#[test]
fn refuses_to_overwrite_its_input() {
    let dir = scratch("same-file");
    let file = dir.join("stream.scry");
    let stream = common::framed_stream();
    std::fs::write(&file, &stream).expect("write");
    let out = scry(
        &[
            "convert",
            "--to",
            "compact",
            "--framed",
            path(&file),
            path(&file),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "scry: {} is the input file too: write to another file\n",
            path(&file)
        )
    );
    assert!(std::fs::read(&file).expect("read") == stream);
}
