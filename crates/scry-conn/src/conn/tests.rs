//! The connection against a real server (`SCRY_PG_URL`, as `.ci/test` starts it): logins,
//! pipelines closed by one Sync, simple queries and COPY.

use super::{Answer, Conn, WireError};

fn url() -> Option<String> {
    let url = std::env::var("SCRY_PG_URL").ok();
    if url.is_none() {
        eprintln!("SCRY_PG_URL is not set: skipped");
    }
    url
}

fn conn(url: &str) -> Conn {
    Conn::connect(url).expect("connect")
}

/// `url` with `user` and `password` instead of its own user.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let rest: Vec<&str> = url
        .split_whitespace()
        .filter(|kv| !kv.starts_with("user="))
        .collect();
    format!("{} user={user} password={password}", rest.join(" "))
}

#[test]
fn logs_in_with_a_cleartext_md5_or_scram_password_and_refuses_a_wrong_one() {
    let Some(url) = url() else { return };
    let mut admin = conn(&url);
    // `.ci/postgres.sh` lets these three roles in by password, MD5 and SCRAM-SHA-256.
    for (role, stored) in [
        ("scry_password", "scram-sha-256"),
        ("scry_md5", "md5"),
        ("scry_scram", "scram-sha-256"),
    ] {
        admin
            .simple(&format!(
                "DROP ROLE IF EXISTS {role}; SET password_encryption = '{stored}'; \
                 CREATE ROLE {role} LOGIN PASSWORD 'pw of {role}'"
            ))
            .expect("role");
        let mut c = Conn::connect(&as_user(&url, role, &format!("'pw of {role}'")))
            .unwrap_or_else(|e| panic!("{role} logs in: {e}"));
        let rows = c.simple("SELECT current_user::text").expect("query");
        assert_eq!(rows, vec![vec![Some(role.to_owned())]]);
        match Conn::connect(&as_user(&url, role, "wrong")) {
            Err(e) => assert_eq!(e.code(), Some("28P01"), "{role}: {e}"),
            Ok(_) => panic!("{role} logged in with a wrong password"),
        }
        match Conn::connect(&as_user(&url, role, "").replace(" password=", " x=")) {
            Err(WireError::Protocol(m)) => assert_eq!(m, "invalid connection option \"x\""),
            Err(e) => panic!("{role}: {e}"),
            Ok(_) => panic!("an unknown key was taken"),
        }
    }
    // A role that asks for a password, given none.
    let no_password: String = url
        .split_whitespace()
        .filter(|kv| !kv.starts_with("user="))
        .chain(["user=scry_scram"])
        .collect::<Vec<_>>()
        .join(" ");
    match Conn::connect(&no_password) {
        Err(WireError::Protocol(m)) => {
            assert!(m.starts_with("127.0.0.1:"), "names the host: {m}");
            assert!(
                m.ends_with(
                    ": the server asks for a password, and none is given (password=, \
                     PGPASSWORD or the password file ~/.pgpass)"
                ),
                "{m}"
            );
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn a_pipeline_runs_nothing_after_its_first_failure() {
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    c.simple(
        "DROP TABLE IF EXISTS conn_pipeline; CREATE TABLE conn_pipeline (id int8 PRIMARY KEY)",
    )
    .expect("table");
    c.prepare("ins", "INSERT INTO conn_pipeline VALUES ($1)")
        .expect("prepare");
    c.prepare("begin", "BEGIN").expect("prepare");
    c.prepare("commit", "COMMIT").expect("prepare");
    let id = |n: i64| n.to_be_bytes();
    // Two transactions; the second inserts a duplicate key; a third would insert 3.
    let one = id(1);
    let two = id(2);
    let three = id(3);
    c.execute("begin", []).expect("queue");
    c.execute("ins", [Some(&one[..])]).expect("queue");
    c.execute("commit", []).expect("queue");
    c.execute("begin", []).expect("queue");
    c.execute("ins", [Some(&two[..])]).expect("queue");
    c.execute("ins", [Some(&two[..])]).expect("queue");
    c.execute("commit", []).expect("queue");
    c.execute("begin", []).expect("queue");
    c.execute("ins", [Some(&three[..])]).expect("queue");
    c.execute("commit", []).expect("queue");
    assert!(!c.answered().expect("poll"), "nothing was sent yet");
    c.sync();
    c.send().expect("send");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.answered().expect("poll") {
        assert!(
            std::time::Instant::now() < deadline,
            "no ReadyForQuery in 10 s"
        );
        std::thread::yield_now();
    }
    let (answers, in_failed_block) = c.answers(10).expect("answers");
    assert!(!c.answered().expect("poll"), "the answers were all taken");
    assert!(in_failed_block, "the second transaction is left failed");
    assert_eq!(
        &answers[..5],
        &[
            Answer::Done(0),
            Answer::Done(1),
            Answer::Done(0),
            Answer::Done(0),
            Answer::Done(1)
        ]
    );
    match &answers[5] {
        Answer::Failed(e) => {
            assert_eq!(e.code, "23505");
            assert_eq!(e.severity, "ERROR");
            assert_eq!(
                e.to_string(),
                "ERROR: duplicate key value violates unique constraint \"conn_pipeline_pkey\" \
                 (Key (id)=(2) already exists.)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(answers[6..].to_vec(), vec![Answer::NotRun; 4]);
    c.simple("ROLLBACK").expect("rollback");
    let rows = c
        .simple("SELECT string_agg(id::text, ',' ORDER BY id) FROM conn_pipeline")
        .expect("rows");
    assert_eq!(
        rows,
        vec![vec![Some("1".to_owned())]],
        "only the first committed"
    );
    // A NULL parameter, and the count of a multi-row tag.
    c.prepare("ins2", "INSERT INTO conn_pipeline SELECT x FROM unnest(ARRAY[$1, $2]::int8[]) x WHERE x IS NOT NULL")
        .expect("prepare");
    let five = id(5);
    c.execute("ins2", [Some(&five[..]), None]).expect("queue");
    c.sync();
    c.send().expect("send");
    assert_eq!(
        c.answers(1).expect("answers"),
        (vec![Answer::Done(1)], false)
    );
}

#[test]
fn simple_queries_return_text_rows_and_errors_name_their_code() {
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    let rows = c
        .simple("SELECT 1; SELECT 'a''b', NULL::text UNION ALL SELECT 'c', 'd'")
        .expect("rows");
    assert_eq!(
        rows,
        vec![
            vec![Some("a'b".to_owned()), None],
            vec![Some("c".to_owned()), Some("d".to_owned())]
        ]
    );
    let e = c.simple("SELECT 1/0").expect_err("division by zero");
    assert_eq!(e.code(), Some("22012"));
    assert_eq!(e.to_string(), "ERROR: division by zero");
    assert_eq!(
        c.prepare("bad", "SELEC 1").expect_err("syntax").code(),
        Some("42601")
    );
    // The session goes on after errors.
    assert_eq!(
        c.simple("SELECT 2").expect("rows"),
        vec![vec![Some("2".to_owned())]]
    );
}

#[test]
fn copy_in_counts_its_rows_and_reports_a_refused_one() {
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    c.simple("DROP TABLE IF EXISTS conn_copy; CREATE TABLE conn_copy (id int4 PRIMARY KEY)")
        .expect("table");
    let header = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
    let tuple = |n: i32| {
        let mut t = vec![0, 1, 0, 0, 0, 4];
        t.extend_from_slice(&n.to_be_bytes());
        t
    };
    c.copy_in("COPY conn_copy FROM STDIN (FORMAT binary)")
        .expect("copy");
    c.copy_data(header).expect("data");
    for n in 0..3 {
        c.copy_data(&tuple(n)).expect("data");
    }
    c.copy_data(&[0xff, 0xff]).expect("data");
    assert_eq!(c.copy_done().expect("done"), 3);
    // A duplicate key: the error comes at the end (or with the next piece).
    c.copy_in("COPY conn_copy FROM STDIN (FORMAT binary)")
        .expect("copy");
    let mut data = header.to_vec();
    data.extend(tuple(1));
    data.extend([0xff, 0xff]);
    let e = c
        .copy_data(&data)
        .and_then(|()| c.copy_done().map(drop))
        .expect_err("duplicate");
    assert_eq!(e.code(), Some("23505"));
    // A COPY given up.
    c.copy_in("COPY conn_copy FROM STDIN (FORMAT binary)")
        .expect("copy");
    c.copy_data(header).expect("data");
    c.copy_fail("given up").expect("failed");
    let e = c
        .copy_in("COPY nowhere FROM STDIN (FORMAT binary)")
        .expect_err("no table");
    assert_eq!(e.code(), Some("42P01"));
    assert_eq!(
        c.simple("SELECT count(*) FROM conn_copy").expect("rows"),
        vec![vec![Some("3".to_owned())]]
    );
}

#[test]
fn a_pipeline_larger_than_both_socket_buffers_is_written_while_its_answers_arrive() {
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    // Each statement sends 64 KiB and gets them back: 300 of them are 19 MiB each way, far
    // over what the sockets hold, so the server stops reading while its answers wait for
    // ours to be read. A writer that did not read meanwhile would wait forever.
    c.prepare("echo", "SELECT $1::bytea").expect("prepare");
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let value: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..300 {
            c.execute("echo", [Some(&value[..])]).expect("queue");
        }
        c.sync();
        c.send().expect("send");
        let answers = c.answers(300).expect("answers");
        let after = c.simple("SELECT 2").expect("query");
        let _ = done.send((answers, after));
    });
    let ((answers, failed), after) = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the pipeline and its answers went through within 60 s");
    assert!(!failed);
    assert_eq!(answers.len(), 300);
    assert!(
        answers.iter().all(|a| matches!(a, Answer::Done(1))),
        "{answers:?}"
    );
    // The session goes on.
    assert_eq!(after, vec![vec![Some("2".to_owned())]]);
}

#[test]
fn a_replication_connection_streams_a_slots_messages_and_takes_its_confirmation() {
    use super::CopyBoth;
    use std::time::{Duration, Instant};
    let Some(url) = url() else { return };
    let mut admin = conn(&url);
    for sql in [
        "SELECT pg_drop_replication_slot('scry_conn_repl') FROM pg_replication_slots \
         WHERE slot_name = 'scry_conn_repl'",
        "DROP TABLE IF EXISTS conn_repl; DROP PUBLICATION IF EXISTS conn_repl_pub; \
         CREATE TABLE conn_repl (id int4 PRIMARY KEY); \
         CREATE PUBLICATION conn_repl_pub FOR TABLE conn_repl",
        "SELECT pg_create_logical_replication_slot('scry_conn_repl', 'pgoutput')",
    ] {
        admin.simple(sql).expect(sql);
    }
    admin
        .simple("INSERT INTO conn_repl VALUES (7)")
        .expect("insert");

    let mut repl = Conn::connect_replication(&url).expect("replication connection");
    // A replication command the server refuses leaves the connection usable.
    let e = repl
        .start_copy_both("START_REPLICATION SLOT no_such_slot LOGICAL 0/0")
        .expect_err("no such slot");
    assert_eq!(e.code(), Some("42704"), "{e}");
    repl.start_copy_both(
        "START_REPLICATION SLOT scry_conn_repl LOGICAL 0/0 \
         (proto_version '1', publication_names 'conn_repl_pub')",
    )
    .expect("start");
    let mut kinds = Vec::new();
    let commit_end = loop {
        match repl.copy_both(Duration::from_secs(10)).expect("a message") {
            Some(CopyBoth::XLogData { start, data }) => {
                kinds.push(char::from(data[0]));
                if data[0] == b'C' {
                    // Commit: flags, commit LSN, end LSN, time; XLogData starts at its end.
                    let end = u64::from_be_bytes(data[10..18].try_into().unwrap());
                    assert_eq!(start, end, "a Commit's position is its end LSN");
                    break end;
                }
            }
            Some(CopyBoth::Keepalive { .. }) => {}
            other => panic!("not a change: {other:?}"),
        }
    };
    assert_eq!(kinds, ['B', 'R', 'I', 'C']);

    // Asked for a reply, the server answers with a keepalive at its position; the flushed
    // position becomes the slot's confirmed one.
    repl.standby_status(commit_end, commit_end, true)
        .expect("status");
    match repl.copy_both(Duration::from_secs(10)).expect("a message") {
        Some(CopyBoth::Keepalive { end, .. }) => assert!(end >= commit_end, "{end}"),
        other => panic!("not a keepalive: {other:?}"),
    }
    let confirmed = |admin: &mut Conn| {
        admin
            .simple(
                "SELECT (confirmed_flush_lsn - '0/0')::text FROM pg_replication_slots \
                 WHERE slot_name = 'scry_conn_repl'",
            )
            .expect("slot")
    };
    let want = vec![vec![Some(commit_end.to_string())]];
    let deadline = Instant::now() + Duration::from_secs(10);
    while confirmed(&mut admin) != want {
        assert!(Instant::now() < deadline, "{:?}", confirmed(&mut admin));
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(repl);
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin
        .simple("SELECT pg_drop_replication_slot('scry_conn_repl')")
        .is_err()
    {
        assert!(Instant::now() < deadline, "the slot was not released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_query_takes_text_parameters_that_need_no_quoting() {
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    let rows = c
        .query(
            "SELECT $1::text, $2::int4 + 1, $3::text IS NULL",
            &[Some("it's \\ \"quoted\""), Some("41"), None],
        )
        .expect("rows");
    assert_eq!(
        rows,
        vec![vec![
            Some("it's \\ \"quoted\"".to_owned()),
            Some("42".to_owned()),
            Some("t".to_owned())
        ]]
    );
    assert_eq!(
        c.query_value(
            "SELECT count(*) FROM generate_series(1, $1::int4)",
            &[Some("7")]
        )
        .expect("value"),
        Some("7".to_owned())
    );
    let refused = c
        .query("SELECT $1::int4", &[Some("x")])
        .expect_err("not an int");
    assert_eq!(refused.code(), Some("22P02"));
    assert_eq!(c.query("SELECT 1", &[]).expect("goes on").len(), 1);
}

#[test]
fn copy_out_reads_as_it_arrives_and_copy_in_writes_in_pieces() {
    use std::io::{Read, Write};
    let Some(url) = url() else { return };
    let mut c = conn(&url);
    c.simple("DROP TABLE IF EXISTS conn_copy_rw; CREATE TABLE conn_copy_rw (id int4, t text)")
        .expect("table");
    let mut w = c
        .copy_in_writer("COPY conn_copy_rw FROM STDIN")
        .expect("copy in");
    for i in 0..50_000 {
        writeln!(w, "{i}\trow {i}").expect("write");
    }
    assert_eq!(w.finish().expect("finish"), 50_000);
    let mut text = String::new();
    c.copy_out("COPY (SELECT * FROM conn_copy_rw ORDER BY id) TO STDOUT")
        .expect("copy out")
        .read_to_string(&mut text)
        .expect("read");
    assert_eq!(text.lines().count(), 50_000);
    assert_eq!(text.lines().nth(49_999), Some("49999\trow 49999"));
    // A writer dropped unfinished stops the COPY: nothing of it is there.
    c.simple("BEGIN").expect("begin");
    {
        let mut w = c
            .copy_in_writer("COPY conn_copy_rw FROM STDIN")
            .expect("copy in");
        writeln!(w, "1\tabandoned").expect("write");
    }
    c.simple("ROLLBACK").expect("rollback");
    assert_eq!(
        c.query_value("SELECT count(*) FROM conn_copy_rw", &[])
            .expect("count"),
        Some("50000".to_owned())
    );
    // A COPY TO the server refuses: the error, and the session goes on.
    assert!(c.copy_out("COPY nope TO STDOUT").is_err());
    assert_eq!(c.simple("SELECT 1").expect("goes on").len(), 1);
}
