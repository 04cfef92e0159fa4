//! `scry replicate` keeps running through restarts, against real servers: the source (in one
//! test) or the target (in the other) is the server `.ci/test` lets tests stop and start
//! (`SCRY_PG_RESTART_URL`). Under a workload it is crashed (`pg_ctl stop -m immediate`, then
//! started) three times and its connection to scry is killed with `pg_terminate_backend`;
//! `replicate` retries each time, and the target ends equal to the source, a counter bumped
//! by every transaction showing that none was applied twice or lost.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pg::digest;
use postgres::{Client, NoTls};
use scry_testkit::server::{fresh_database, pg_ctl, restart_server};

const SCHEMA: &str = "CREATE TABLE counter (id int4 PRIMARY KEY, n int8 NOT NULL);
                      CREATE TABLE log (id int8 PRIMARY KEY, note text);";

/// A source with the schema, a row of `counter`, publication `p` and slot `slot`; a target
/// with the schema and that row.
fn databases(source_url: &str, target_url: &str, name: &str, slot: &str) -> (String, String) {
    let source = fresh_database(source_url, &format!("{name}_src"));
    let target = fresh_database(target_url, &format!("{name}_dst"));
    let mut s = Client::connect(&source, NoTls).expect("connect");
    s.batch_execute(SCHEMA).expect("schema");
    s.batch_execute("INSERT INTO counter VALUES (1, 0); CREATE PUBLICATION p FOR ALL TABLES")
        .expect("publication");
    s.execute(
        "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
        &[&slot],
    )
    .expect("slot");
    let mut t = Client::connect(&target, NoTls).expect("connect");
    t.batch_execute(SCHEMA).expect("schema");
    t.batch_execute("INSERT INTO counter VALUES (1, 0)")
        .expect("row");
    (source, target)
}

/// Transactions on the source until `stop`, each bumping the counter and logging a row;
/// connects again whenever the server goes away. Returns how many it tried.
fn workload(source: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut tried = 0u64;
        let mut client: Option<Client> = None;
        while !stop.load(Ordering::Relaxed) {
            let c = match client.as_mut() {
                Some(c) => c,
                None => match Client::connect(&source, NoTls) {
                    Ok(c) => client.insert(c),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                },
            };
            tried += 1;
            let sql = format!(
                "BEGIN; UPDATE counter SET n = n + 1 WHERE id = 1;
                 INSERT INTO log VALUES ({tried}, repeat('x', {tried} % 300)); COMMIT"
            );
            if c.batch_execute(&sql).is_err() {
                client = None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        tried
    })
}

fn replicate(source: &str, target: &str, slot: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "replicate",
            source,
            target,
            "--slot",
            slot,
            "--publication",
            "p",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry replicate")
}

/// Waits (90 s at most) until the target's tables equal the source's.
fn caught_up(source: &str, target: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let equal = (|| {
            let mut s = Client::connect(source, NoTls).ok()?;
            let mut t = Client::connect(target, NoTls).ok()?;
            Some(
                digest(&mut s, "counter") == digest(&mut t, "counter")
                    && digest(&mut s, "log") == digest(&mut t, "log"),
            )
        })();
        if equal == Some(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the target did not catch up in 90 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Kills the connections of `database` on the server of `url` that serve scry (its
/// walsender or its applier), and says how many.
fn kill_scry_backends(url: &str, database: &str) -> i64 {
    let mut admin = Client::connect(url, NoTls).expect("connect");
    admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND application_name LIKE 'scry %'",
            &[&database],
        )
        .expect("terminate")
        .get(0)
}

/// Stops `replicate` with one SIGINT and returns what it said.
fn stop(child: Child) -> String {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let out = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One test at a time crashes the shared server.
static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn restarts(source_restarts: bool) {
    let _alone = SERVER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(main) = scry_testkit::server::pg_url("replicate through restarts") else {
        return;
    };
    let Some((restart_url, dir)) = restart_server("replicate through restarts") else {
        return;
    };
    let (name, slot) = if source_restarts {
        ("restart_source", "restart_source_slot")
    } else {
        ("restart_target", "restart_target_slot")
    };
    let (source_server, target_server) = if source_restarts {
        (restart_url.as_str(), main.as_str())
    } else {
        (main.as_str(), restart_url.as_str())
    };
    let (source, target) = databases(source_server, target_server, name, slot);
    let stop_flag = Arc::new(AtomicBool::new(false));
    let load = workload(source.clone(), Arc::clone(&stop_flag));
    let child = replicate(&source, &target, slot);
    std::thread::sleep(Duration::from_millis(800));
    for _ in 0..3 {
        pg_ctl(&dir, "crash").expect("crash");
        std::thread::sleep(Duration::from_millis(300));
        pg_ctl(&dir, "start").expect("start");
        std::thread::sleep(Duration::from_millis(1500));
    }
    // The restarted server's side of scry, killed from inside.
    let database = format!("{name}_{}", if source_restarts { "src" } else { "dst" });
    let deadline = Instant::now() + Duration::from_secs(30);
    while kill_scry_backends(&restart_url, &database) == 0 {
        assert!(Instant::now() < deadline, "scry never connected again");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1000));
    stop_flag.store(true, Ordering::Relaxed);
    let tried = load.join().expect("the workload");
    assert!(tried > 50, "only {tried} transactions were tried");
    caught_up(&source, &target);
    let said = stop(child);
    eprintln!("{said}");
    assert!(said.contains("trying again in"), "{said}");
    // The counter equals the logged rows on both sides: no transaction twice, none lost.
    let mut t = Client::connect(&target, NoTls).expect("connect");
    let row = t
        .query_one(
            "SELECT (SELECT n FROM counter), (SELECT count(*) FROM log)",
            &[],
        )
        .expect("counts");
    let (n, logged): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(n, logged, "every transaction once");
    assert!(n > 0);
}

#[test]
fn replicate_keeps_running_through_source_crashes_and_a_killed_walsender() {
    restarts(true);
}

#[test]
fn replicate_keeps_running_through_target_crashes_and_a_killed_applier() {
    restarts(false);
}

#[test]
fn capture_keeps_running_through_source_crashes_each_source() {
    let _alone = SERVER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(main) = scry_testkit::server::pg_url("capture through restarts") else {
        return;
    };
    let Some((restart_url, dir)) = restart_server("capture through restarts") else {
        return;
    };
    for source_kind in ["stream", "sql"] {
        let name = format!("restart_capture_{source_kind}");
        let slot = format!("{name}_slot");
        let (source, target) = databases(&restart_url, &main, &name, &slot);
        let file = common::scratch(&name).join("cdc.scry");
        let file = file.to_str().expect("path").to_owned();
        let stop_flag = Arc::new(AtomicBool::new(false));
        let load = workload(source.clone(), Arc::clone(&stop_flag));
        let child = Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["capture", &source, "--slot", &slot, "--publication", "p"])
            .args(["--source", source_kind, "--out", &file])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scry capture");
        std::thread::sleep(Duration::from_millis(800));
        for _ in 0..2 {
            pg_ctl(&dir, "crash").expect("crash");
            std::thread::sleep(Duration::from_millis(300));
            pg_ctl(&dir, "start").expect("start");
            std::thread::sleep(Duration::from_millis(1500));
        }
        stop_flag.store(true, Ordering::Relaxed);
        load.join().expect("the workload");
        // Everything committed is in the file once the capture has caught up.
        std::thread::sleep(Duration::from_millis(2500));
        let said = stop(child);
        assert!(said.contains("trying again in"), "{source_kind}: {said}");
        let out = common::scry(&["apply", &target, &file], None);
        assert!(
            out.status.success(),
            "{source_kind}: {}",
            common::stderr(&out)
        );
        let mut s = Client::connect(&source, NoTls).expect("connect");
        let mut t = Client::connect(&target, NoTls).expect("connect");
        assert_eq!(
            digest(&mut t, "log"),
            digest(&mut s, "log"),
            "{source_kind}"
        );
        assert_eq!(
            digest(&mut t, "counter"),
            digest(&mut s, "counter"),
            "{source_kind}"
        );
    }
}
