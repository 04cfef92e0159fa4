//! A slot the server has invalidated (it removed WAL the slot needed) ends `scry replicate`
//! at once with what happened and what to run next, and `scry status` shows it lost. The
//! test sets `max_slot_wal_keep_size` on the server `.ci/test` lets tests stop and start
//! (`SCRY_PG_RESTART_URL`): a test binary of its own, since the setting would invalidate the
//! slots of tests running beside it; it is reset at the end, even on failure.

mod common;

use common::replica::{source, target};
use common::{scry, stderr, stdout};
use postgres::{Client, NoTls};
use scry_testkit::server::restart_server;

/// Sets `max_slot_wal_keep_size` while it lives.
struct KeepSize(String);

impl KeepSize {
    fn set(url: &str, size: &str) -> Self {
        let mut c = Client::connect(url, NoTls).expect("connect");
        c.batch_execute(&format!(
            "ALTER SYSTEM SET max_slot_wal_keep_size = '{size}'"
        ))
        .expect("set max_slot_wal_keep_size");
        c.batch_execute("SELECT pg_reload_conf()").expect("reload");
        Self(url.to_owned())
    }
}

impl Drop for KeepSize {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.0, NoTls) {
            let _ = c.batch_execute("ALTER SYSTEM RESET max_slot_wal_keep_size");
            let _ = c.batch_execute("SELECT pg_reload_conf()");
        }
    }
}

#[test]
fn a_lost_slot_ends_replicate_with_what_to_do_next() {
    let Some((url, _dir)) = restart_server("a lost slot") else {
        return;
    };
    let (src, mut s) = source(&url, "lost_src");
    let dst = target(&url, "lost_dst");
    let _keep = KeepSize::set(&url, "1MB");
    // WAL past the limit while no one reads the slot, then a checkpoint removes it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        s.batch_execute(
            "INSERT INTO t SELECT g, g, repeat('x', 500) FROM generate_series(1, 5000) g;
             DELETE FROM t; SELECT pg_switch_wal(); CHECKPOINT;",
        )
        .expect("write WAL");
        let status: Option<String> = s
            .query_one(
                "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lost_src_slot'",
                &[],
            )
            .expect("slot")
            .get(0);
        if status.as_deref() == Some("lost") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "wal_status {status:?}"
        );
    }
    let out = scry(
        &[
            "replicate",
            &src,
            &dst,
            "--slot",
            "lost_src_slot",
            "--publication",
            "p",
        ],
        None,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("replication slot lost_src_slot: it is lost (wal_status lost)"),
        "{err}"
    );
    assert!(
        err.contains("scry drop SOURCE TARGET --slot lost_src_slot"),
        "{err}"
    );
    assert!(
        !err.contains("trying again"),
        "a lost slot is not retried: {err}"
    );
    let out = scry(&["status", &src], None);
    assert!(
        stdout(&out).contains("lost_src_slot (pgoutput): inactive, confirmed "),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("wal_status lost"), "{}", stdout(&out));
    s.batch_execute("SELECT pg_drop_replication_slot('lost_src_slot')")
        .expect("drop the slot");
}
