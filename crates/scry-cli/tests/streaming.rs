//! A large transaction streamed while it is written (pgoutput 2 and later, `streaming
//! 'on'`), not spilled to disk on the server first, against a real server (`SCRY_PG_URL`):
//! with `logical_decoding_work_mem = 64kB` a 200,000-row transaction reaches `scry
//! replicate` and `scry capture --source stream` as stream chunks
//! (`pg_stat_replication_slots.stream_txns` above 0), and the target ends equal.

mod common;

use common::pg::digest;
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

/// The slot's streamed and spilled transactions so far.
fn stream_stats(c: &mut Client, slot: &str) -> (i64, i64) {
    // The statistics are written when a walsender exits or reports: wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = c
            .query_opt(
                "SELECT stream_txns, spill_txns FROM pg_stat_replication_slots \
                 WHERE slot_name = $1",
                &[&slot],
            )
            .expect("pg_stat_replication_slots");
        if let Some(row) = row {
            let stats = (row.get::<_, i64>(0), row.get::<_, i64>(1));
            if stats.0 > 0 || std::time::Instant::now() >= deadline {
                return stats;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_large_transaction_streams_to_replicate_and_capture_instead_of_spilling() {
    let Some(url) = scry_testkit::server::pg_url("streamed transactions") else {
        return;
    };
    let src = fresh_database(&url, "streaming_src");
    let dst = fresh_database(&url, "streaming_dst");
    let copy = fresh_database(&url, "streaming_copy");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    let schema = "CREATE TABLE big (id int4 PRIMARY KEY, v text, n int4)";
    s.batch_execute(schema).expect("schema");
    s.batch_execute("CREATE PUBLICATION p FOR TABLE big")
        .expect("publication");
    for slot in ["streaming_repl", "streaming_cap"] {
        s.execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .expect("slot");
    }
    for target in [&dst, &copy] {
        Client::connect(target, NoTls)
            .expect("connect")
            .batch_execute(schema)
            .expect("schema");
    }
    s.batch_execute(
        "BEGIN;
         INSERT INTO big SELECT g, md5(g::text), g FROM generate_series(1, 200000) g;
         UPDATE big SET n = -n WHERE id % 1000 = 0;
         DELETE FROM big WHERE id % 777 = 0;
         COMMIT;
         INSERT INTO big VALUES (300000, 'after', 0);",
    )
    .expect("the large transaction");
    // Decoding memory of 64 kB for these walsenders: anything larger streams.
    let small = format!("{src} options='-c logical_decoding_work_mem=64kB'");

    let out = scry(
        &[
            "replicate",
            &small,
            &dst,
            "--slot",
            "streaming_repl",
            "--publication",
            "p",
            "--until",
            "now",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("applied 2 transactions"),
        "{}",
        stderr(&out)
    );
    let mut d = Client::connect(&dst, NoTls).expect("connect");
    assert_eq!(digest(&mut d, "big"), digest(&mut s, "big"));
    let (streamed, spilled) = stream_stats(&mut s, "streaming_repl");
    assert!(streamed > 0, "streamed {streamed}, spilled {spilled}");
    assert_eq!(spilled, 0, "nothing spilled on the server");

    let file = scratch("streaming").join("cdc.scry");
    let file = file.to_str().expect("path");
    let out = scry(
        &[
            "capture",
            &small,
            "--slot",
            "streaming_cap",
            "--publication",
            "p",
            "--source",
            "stream",
            "--out",
            file,
            "--until",
            "now",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = scry(&["apply", &copy, file], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = Client::connect(&copy, NoTls).expect("connect");
    assert_eq!(digest(&mut c, "big"), digest(&mut s, "big"));
    let (streamed, _) = stream_stats(&mut s, "streaming_cap");
    assert!(streamed > 0, "capture: streamed {streamed}");
}
