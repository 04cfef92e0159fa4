//! `scry snapshot` and `scry load` against a real PostgreSQL server (`SCRY_PG_URL`, which
//! `.ci/test` sets): a database of a dozen tables goes through `scry snapshot` to a file and
//! `scry load --create` into a second database, and every table reads back there with the
//! same COPY BINARY bytes as in the source.

mod common;

use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry snapshot/load against a server")
}

/// `url` with its database replaced (a later `dbname` wins).
fn with_db(url: &str, db: &str) -> String {
    format!("{url} dbname={db}")
}

/// (name as `scry` prints it, the query that reads it in a fixed order)
const TABLES: [(&str, &str); 12] = [
    ("public.all_types", "SELECT * FROM all_types ORDER BY id"),
    ("public.narrow", "SELECT * FROM narrow ORDER BY id"),
    ("public.toasted", "SELECT * FROM toasted ORDER BY id"),
    ("public.empty", "SELECT * FROM empty ORDER BY id"),
    ("public.dropped", "SELECT * FROM dropped ORDER BY id"),
    ("public.parted", "SELECT * FROM parted ORDER BY id"),
    ("public.no_key", "SELECT * FROM no_key ORDER BY id, v"),
    (
        "public.Mixed Case",
        "SELECT * FROM \"Mixed Case\" ORDER BY \"Id\"",
    ),
    ("public.arrays", "SELECT * FROM arrays ORDER BY id"),
    (
        "public.full_identity",
        "SELECT * FROM full_identity ORDER BY id",
    ),
    ("sales.orders", "SELECT * FROM sales.orders ORDER BY id"),
    (
        "sales.lines",
        "SELECT * FROM sales.lines ORDER BY order_id, n",
    ),
];

/// The summary's `peak RSS N MB` is below `mb` (where the system reports it).
fn assert_peak_below(report: &str, mb: f64) {
    let Some(at) = report.rfind("peak RSS ") else {
        if cfg!(target_os = "linux") {
            panic!("no peak RSS in:\n{report}");
        }
        return;
    };
    let peak: f64 = report[at + 9..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable peak in:\n{report}"));
    assert!(peak < mb, "peak RSS {peak} MB:\n{report}");
}

fn copy_bytes(client: &mut Client, query: &str) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    client
        .copy_out(format!("COPY ({query}) TO STDOUT (FORMAT binary)").as_str())
        .expect("COPY out")
        .read_to_end(&mut out)
        .expect("read COPY");
    out
}

#[test]
fn a_database_of_a_dozen_tables_goes_through_snapshot_and_load() {
    let Some(url) = conninfo() else { return };
    let mut admin = Client::connect(&url, NoTls).expect("connect");
    for sql in [
        "DROP DATABASE IF EXISTS scry_live_src",
        "DROP DATABASE IF EXISTS scry_live_dst",
        "DROP DATABASE IF EXISTS scry_live_jobs",
        "CREATE DATABASE scry_live_src",
        "CREATE DATABASE scry_live_dst",
        "CREATE DATABASE scry_live_jobs",
    ] {
        admin.simple_query(sql).expect(sql);
    }
    let (src_url, dst_url) = (
        with_db(&url, "scry_live_src"),
        with_db(&url, "scry_live_dst"),
    );
    let mut src = Client::connect(&src_url, NoTls).expect("connect source");
    src.batch_execute(&common::dozen::schema(300))
        .expect("create the source tables");
    src.batch_execute(&common::dozen::data(1_000_000))
        .expect("fill the source tables");

    let dir = scratch("live_snapshot_load");
    let file = dir.join("snapshot.scry");
    let file = file.to_str().expect("path");
    let snap = scry(&["snapshot", &src_url, "--out", file], None);
    assert_eq!(snap.status.code(), Some(0), "{}", stderr(&snap));
    let report = stderr(&snap);
    for (name, _) in TABLES {
        assert!(
            report.contains(&format!("{name}: ")),
            "{name} missing from:\n{report}"
        );
    }
    assert!(report.contains("public.narrow: 1000000 rows"), "{report}");
    assert!(report.contains("12 tables"), "{report}");
    // The 88 MB of narrow rows went through a few MB, not the table.
    assert_peak_below(&report, 100.0);

    // The stream is valid as a whole.
    let valid = scry(&["validate", file], None);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));

    let load = scry(&["load", &dst_url, file, "--create"], None);
    assert_eq!(load.status.code(), Some(0), "{}", stderr(&load));
    assert!(
        stderr(&load).contains("loaded 12 tables, 1"),
        "{}",
        stderr(&load)
    );
    assert!(!stderr(&load).contains("skipped"), "{}", stderr(&load));
    assert_peak_below(&stderr(&load), 100.0);

    let mut dst = Client::connect(&dst_url, NoTls).expect("connect target");
    for (name, query) in TABLES {
        let a = copy_bytes(&mut src, query);
        let b = copy_bytes(&mut dst, query);
        assert!(
            a == b,
            "{name}: the target's COPY bytes differ ({} vs {})",
            a.len(),
            b.len()
        );
    }
    // Loading again into the same tables: the target records that each was loaded from this
    // snapshot, so each is passed over and nothing changes.
    let again = scry(&["load", &dst_url, file], None);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("loaded 0 tables, 0 rows in")
            && stderr(&again).contains("; 12 tables already loaded skipped"),
        "{}",
        stderr(&again)
    );
    // A table dropped and made anew is loaded again.
    dst.batch_execute("DROP TABLE \"Mixed Case\"")
        .expect("drop");
    let again = scry(&["load", &dst_url, file, "--create"], None);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("loaded 1 tables, 2 rows in")
            && stderr(&again).contains("; 11 tables already loaded skipped"),
        "{}",
        stderr(&again)
    );
    let n: i64 = dst
        .query_one("SELECT count(*) FROM \"Mixed Case\"", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 2);

    // Ctrl-C during a snapshot: it stops between frames (exit 130), the output holds only
    // whole frames, and loading it stops at the cut table, committing nothing of it.
    let stopped = dir.join("stopped.scry");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(["snapshot", &src_url, "--table", "narrow", "--out"])
        .arg(&stopped)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn scry");
    while std::fs::metadata(&stopped).map_or(0, |m| m.len()) < 1 << 20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    let report = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{report}");
    assert!(
        report.contains("scry: stopped (Ctrl-C or SIGTERM): 0 tables (0 rows) written whole, then the first batches of public.narrow"),
        "{report}"
    );
    let partial = stopped.to_str().expect("path");
    // Whole frames, but the table's snapshot has no end: validate calls it incomplete.
    let valid = scry(&["validate", partial], None);
    assert_eq!(valid.status.code(), Some(1), "{}", stderr(&valid));
    // (Frame 0 is the table's schema, frame 1 its first rows.)
    let said = common::stdout(&valid);
    assert!(
        said.contains(
            "the stream ends inside the snapshot of public.narrow (begun at frame 1 at byte "
        ) && said.contains("no SnapshotEnd, so the snapshot is incomplete"),
        "{said}"
    );
    let len = std::fs::metadata(&stopped).expect("stat").len();
    assert!(len < 90_000_000, "{len} bytes: the snapshot ran to its end");
    dst.batch_execute("DROP TABLE narrow").expect("drop");
    let cut = scry(&["load", &dst_url, partial, "--create"], None);
    assert_eq!(cut.status.code(), Some(1), "{}", stderr(&cut));
    assert!(
        stderr(&cut).contains("the stream ends inside the snapshot of public.narrow"),
        "{}",
        stderr(&cut)
    );
    let n: i64 = dst
        .query_one("SELECT count(*) FROM narrow", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 0);

    // A snapshot cut short is an error naming the table, and commits nothing of it.
    let bytes = std::fs::read(file).expect("read snapshot");
    let cut = dir.join("cut.scry");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write cut");
    dst.batch_execute(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA sales CASCADE",
    )
    .expect("empty the target");
    let bad = scry(
        &["load", &dst_url, cut.to_str().expect("path"), "--create"],
        None,
    );
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("scry: "), "{}", stderr(&bad));

    parallel_snapshot(&mut src, &src_url, &with_db(&url, "scry_live_jobs"), &dir);
    damaged_frames(&mut src, &mut dst, &dst_url, &bytes, &dir);
}

/// The tables of `file`'s frames in order, each with its batches' `batch_seq`s.
fn tables_and_seqs(file: &std::path::Path) -> Vec<(String, Vec<u64>)> {
    let reader = std::io::BufReader::new(std::fs::File::open(file).expect("open"));
    let mut tables: Vec<(String, Vec<u64>)> = Vec::new();
    for frame in scry_codec::frame::FrameReader::new(reader) {
        let frame = frame.expect("frame");
        let batch = scry_codec::BatchView::parse(&frame.payload).expect("batch");
        let first = batch.events().next().expect("an event");
        let name = format!("{}.{}", first.schema(), first.table());
        match tables.last_mut() {
            Some((last, seqs)) if *last == name => seqs.push(batch.batch_seq()),
            _ => tables.push((name, vec![batch.batch_seq()])),
        }
    }
    tables
}

/// `--jobs 3`: the same tables over three connections at one exported snapshot; each
/// table's frames contiguous, in the list's order, numbered from its position × 2^32; the
/// stream loads into a third database with every table equal to its source.
fn parallel_snapshot(src: &mut Client, src_url: &str, jobs_url: &str, dir: &std::path::Path) {
    let file = dir.join("jobs.scry");
    let path = file.to_str().expect("path");
    let snap = scry(&["snapshot", src_url, "--jobs", "3", "--out", path], None);
    let report = stderr(&snap);
    assert_eq!(snap.status.code(), Some(0), "{report}");
    assert!(report.contains("12 tables, 1"), "{report}");
    assert!(report.contains("over 3 connections"), "{report}");
    assert!(report.contains("public.narrow: 1000000 rows"), "{report}");
    assert_peak_below(&report, 100.0);
    let single = tables_and_seqs(&dir.join("snapshot.scry"));
    let parallel = tables_and_seqs(&file);
    let names = |t: &[(String, Vec<u64>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    // Twelve runs of frames, one per table, in the same order as over one connection.
    assert_eq!(names(&parallel), names(&single));
    assert_eq!(parallel.len(), 12);
    for (position, ((name, seqs), (_, one))) in parallel.iter().zip(&single).enumerate() {
        let first = (position as u64) << 32;
        let want: Vec<u64> = (first..first + one.len() as u64).collect();
        assert_eq!(seqs, &want, "{name}");
    }
    let load = scry(&["load", jobs_url, path, "--create"], None);
    assert_eq!(load.status.code(), Some(0), "{}", stderr(&load));
    let mut dst = Client::connect(jobs_url, NoTls).expect("connect the jobs target");
    for (name, query) in TABLES {
        assert!(
            copy_bytes(src, query) == copy_bytes(&mut dst, query),
            "{name}: the jobs target's COPY bytes differ"
        );
    }
}

/// A byte flipped inside public.narrow's frames: `load` stops at it, naming the table and
/// the frame, with the tables before it committed and nothing of narrow; `load --resync`
/// rolls narrow back, loads every other table and reports what it skipped.
fn damaged_frames(
    src: &mut Client,
    dst: &mut Client,
    dst_url: &str,
    snapshot: &[u8],
    dir: &std::path::Path,
) {
    // narrow is 88 of the stream's ~95 MB, wherever it is in the list: the middle byte is
    // one of its frames'.
    let mut damaged = snapshot.to_vec();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    let file = dir.join("damaged.scry");
    std::fs::write(&file, &damaged).expect("write damaged");
    let path = file.to_str().expect("path");
    let empty_target = |dst: &mut Client| {
        dst.batch_execute(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS sales CASCADE",
        )
        .expect("empty the target");
    };
    let position = TABLES
        .iter()
        .position(|(n, _)| *n == "public.narrow")
        .expect("narrow");
    empty_target(dst);
    let stop = scry(&["load", dst_url, path, "--create"], None);
    let report = stderr(&stop);
    assert_eq!(stop.status.code(), Some(1), "{report}");
    let loaded_before: Vec<&str> = report.lines().filter(|l| l.contains(" rows in ")).collect();
    assert!(
        report.contains("scry: public.narrow: frame ")
            && report.contains("; nothing of public.narrow was committed ("),
        "{report}"
    );
    let n: i64 = dst
        .query_one("SELECT count(*) FROM narrow", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "{report}");
    assert!(report.contains(&format!(
        "({} tables loaded before it)",
        loaded_before.len()
    )));

    empty_target(dst);
    let resync = scry(&["load", dst_url, path, "--create", "--resync"], None);
    let report = stderr(&resync);
    assert_eq!(resync.status.code(), Some(1), "{report}");
    assert!(
        report.contains("public.narrow: not loaded (rolled back): frame "),
        "{report}"
    );
    assert!(report.contains("loaded 11 tables"), "{report}");
    // What followed the damage in narrow's frames: the rest of its rows and its end.
    assert!(
        report.contains(" events outside any table's snapshot skipped"),
        "{report}"
    );
    assert!(report.contains("; not loaded: public.narrow"), "{report}");
    assert!(
        report.contains("scry: 1 damaged frame skipped (")
            && report.contains(" bytes); 1 table not loaded: public.narrow"),
        "{report}"
    );
    for (i, (name, query)) in TABLES.iter().enumerate() {
        if i == position {
            let n: i64 = dst
                .query_one("SELECT count(*) FROM narrow", &[])
                .expect("count")
                .get(0);
            assert_eq!(n, 0, "{report}");
        } else {
            assert!(
                copy_bytes(src, query) == copy_bytes(dst, query),
                "{name}: differs after --resync"
            );
        }
    }
}
