//! pgoutput from a real PostgreSQL 15 server (`SCRY_PG_URL`, started by `.ci/postgres.sh` with
//! `wal_level=logical`), read through `pg_logical_slot_get_binary_changes` and decoded by
//! `ChangeDecoder`: the events must be exactly the committed changes, in commit order, with
//! the value bytes COPY BINARY gives for the same rows.
//!
//! Each test uses its own tables, publication and slot, so they run in parallel.

use std::io::Read;

use bytes::Bytes;
use postgres::{Client, NoTls};
use scry_pg::copy::CopyReader;
use scry_pg::pgoutput::{parse, Change, ChangeDecoder, Message};
use scry_types::{ColumnValue, DatabaseEvent, Lsn, OperationType, ReplicaIdentity, TypeTag};

fn connect(what: &str) -> Option<Client> {
    let url = scry_testkit::server::pg_url(what)?;
    Some(Client::connect(&url, NoTls).expect("connect to SCRY_PG_URL"))
}

/// Drops what an earlier run left, then creates the slot (`two_phase` as asked).
fn fresh_slot(client: &mut Client, slot: &str, two_phase: bool) {
    client
        .execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .expect("drop old slot");
    client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, $2)",
            &[&slot, &two_phase],
        )
        .expect("create slot");
}

/// Every message the slot has, with its LSN, consumed.
fn pull(client: &mut Client, slot: &str, options: &[(&str, &str)]) -> Vec<(u64, Bytes)> {
    let mut sql = format!(
        "SELECT lsn::text, data FROM pg_logical_slot_get_binary_changes('{slot}', NULL, NULL"
    );
    for (k, v) in options {
        sql.push_str(&format!(", '{k}', '{v}'"));
    }
    sql.push(')');
    client
        .query(&sql, &[])
        .expect("get changes")
        .iter()
        .map(|row| {
            let lsn: String = row.get(0);
            let data: Vec<u8> = row.get(1);
            (lsn.parse::<Lsn>().expect("an LSN").0, Bytes::from(data))
        })
        .collect()
}

fn decode(messages: &[(u64, Bytes)], decoder: &mut ChangeDecoder) -> Vec<Change> {
    let mut out = Vec::new();
    for (lsn, bytes) in messages {
        decoder
            .decode(*lsn, bytes, &mut |c| out.push(c))
            .unwrap_or_else(|e| panic!("decode: {e}"));
    }
    out
}

fn events(changes: &[Change]) -> Vec<&DatabaseEvent> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Event(e) => Some(e),
            Change::Message { .. } | Change::Commits { .. } => None,
        })
        .collect()
}

/// Each transaction's commit LSN as its Commit (or Stream Commit, or Commit Prepared)
/// message gives it, in order; and as the decoder announced it before each Begin, which
/// must come next.
fn commit_lsns(messages: &[(u64, Bytes)], changes: &[Change]) -> (Vec<u64>, Vec<u64>) {
    let given = messages
        .iter()
        .filter_map(|(_, m)| match parse(m, false) {
            Ok(Message::Commit(c)) => Some(c.commit_lsn),
            Ok(Message::StreamCommit(c)) => Some(c.commit.commit_lsn),
            Ok(Message::CommitPrepared(p)) => Some(p.lsn),
            _ => None,
        })
        .collect();
    let mut announced = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        if let Change::Commits { commit_lsn } = change {
            assert!(
                matches!(changes.get(i + 1), Some(Change::Event(e)) if e.operation == OperationType::Begin),
                "a Begin after the commit LSN, not {:?}",
                changes.get(i + 1)
            );
            announced.push(*commit_lsn);
        }
    }
    (given, announced)
}

fn shape(events: &[&DatabaseEvent]) -> Vec<(OperationType, String)> {
    events
        .iter()
        .map(|e| (e.operation, e.table.clone()))
        .collect()
}

/// The rows of `query` as COPY BINARY gives them: each row's fields (None for NULL).
fn copy_rows(client: &mut Client, query: &str) -> Vec<Vec<Option<Vec<u8>>>> {
    let mut out = Vec::new();
    client
        .copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))
        .expect("COPY TO STDOUT")
        .read_to_end(&mut out)
        .expect("read COPY data");
    CopyReader::new(Bytes::from(out))
        .expect("a COPY stream")
        .map(|row| {
            row.expect("a row")
                .fields()
                .iter()
                .map(|f| f.as_ref().map(|b| b.to_vec()))
                .collect()
        })
        .collect()
}

fn bytes_of(values: &[ColumnValue]) -> Vec<Option<Vec<u8>>> {
    values
        .iter()
        .map(|v| v.as_bytes().map(<[u8]>::to_vec))
        .collect()
}

fn int4(v: i32) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int32, 23, v.to_be_bytes().to_vec())
}

fn text(v: &str) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Text, 25, v.as_bytes().to_vec())
}

fn int8(v: i64) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int64, 20, v.to_be_bytes().to_vec())
}

#[test]
fn a_cdc_workload_decodes_to_exactly_its_committed_changes() {
    let Some(mut c) = connect("pgoutput CDC workload") else {
        return;
    };
    c.batch_execute(
        "DROP TABLE IF EXISTS pgo_items, pgo_full, pgo_child, pgo_parent CASCADE;
         DROP PUBLICATION IF EXISTS pgo_pub;
         CREATE TABLE pgo_items (id int4 PRIMARY KEY, name text, note text, qty int8);
         ALTER TABLE pgo_items ALTER COLUMN note SET STORAGE EXTERNAL;
         CREATE TABLE pgo_full (a int4, b text);
         ALTER TABLE pgo_full REPLICA IDENTITY FULL;
         CREATE TABLE pgo_parent (id int4 PRIMARY KEY);
         CREATE TABLE pgo_child (id int4 PRIMARY KEY, parent int4 REFERENCES pgo_parent);
         CREATE PUBLICATION pgo_pub FOR TABLE pgo_items, pgo_full, pgo_parent, pgo_child;",
    )
    .expect("schema");
    fresh_slot(&mut c, "pgo_slot", false);

    // A 12 KB value stored out of line, so that updates not touching it leave it unsent.
    let note: String = (0..12_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    c.execute(
        "INSERT INTO pgo_items VALUES (1, 'one', $1, 10), (2, 'two', NULL, 20)",
        &[&note],
    )
    .expect("T1");
    let after_t1 = copy_rows(&mut c, "SELECT * FROM pgo_items ORDER BY id");
    // One transaction a call (a multi-statement string is one implicit transaction).
    for sql in [
        "UPDATE pgo_items SET qty = 11 WHERE id = 1",
        "UPDATE pgo_items SET id = 3 WHERE id = 2",
        "BEGIN; INSERT INTO pgo_items VALUES (99, 'rolled back', NULL, 0); ROLLBACK",
        "BEGIN; INSERT INTO pgo_full VALUES (1, 'x'); UPDATE pgo_full SET b = 'y' WHERE a = 1; \
         DELETE FROM pgo_full WHERE a = 1; COMMIT",
        "DELETE FROM pgo_items WHERE id = 3",
        "SELECT pg_logical_emit_message(true, 'scry.test', 'hello')",
        "INSERT INTO pgo_parent VALUES (1)",
        "INSERT INTO pgo_child VALUES (1, 1)",
        "TRUNCATE pgo_parent RESTART IDENTITY CASCADE",
    ] {
        c.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let messages = pull(
        &mut c,
        "pgo_slot",
        &[
            ("proto_version", "1"),
            ("publication_names", "pgo_pub"),
            ("binary", "true"),
            ("messages", "true"),
        ],
    );
    let changes = decode(&messages, &mut ChangeDecoder::new());
    let (given, announced) = commit_lsns(&messages, &changes);
    assert!(!given.is_empty());
    assert_eq!(announced, given);
    let events = events(&changes);
    use OperationType::{
        Begin as B, Commit as C, Delete as D, Insert as I, Truncate as T, Update as U,
    };
    let t = |op, table: &str| (op, table.to_owned());
    let expected = vec![
        t(B, ""),
        t(I, "pgo_items"),
        t(I, "pgo_items"),
        t(C, ""),
        t(B, ""),
        t(U, "pgo_items"),
        t(C, ""),
        t(B, ""),
        t(U, "pgo_items"),
        t(C, ""),
        t(B, ""),
        t(I, "pgo_full"),
        t(U, "pgo_full"),
        t(D, "pgo_full"),
        t(C, ""),
        t(B, ""),
        t(D, "pgo_items"),
        t(C, ""),
        t(B, ""),
        t(C, ""), // the message's transaction: no row change
        t(B, ""),
        t(I, "pgo_parent"),
        t(C, ""),
        t(B, ""),
        t(I, "pgo_child"),
        t(C, ""),
        t(B, ""),
        t(T, "pgo_parent"),
        t(T, "pgo_child"),
        t(C, ""),
    ];
    let mut got = shape(&events);
    // The two truncated tables may come in either order.
    if got.get(27).map(|g| g.1.as_str()) == Some("pgo_child") {
        got.swap(27, 28);
    }
    assert_eq!(got, expected);

    // Positions never fall within a transaction (its Begin shares its first change's), and
    // rise from one Commit to the next.
    let mut last_commit = 0;
    for pair in events.windows(2) {
        if pair[0].operation != OperationType::Commit {
            let (a, b) = (pair[0].position, pair[1].position);
            assert!(
                a <= b,
                "{:?} at {a} before {:?} at {b}",
                pair[0].operation,
                pair[1].operation
            );
        }
    }
    for e in events
        .iter()
        .filter(|e| e.operation == OperationType::Commit)
    {
        assert!(e.position > last_commit);
        last_commit = e.position;
    }
    // Begin/Commit carry the xid and the commit time, as do the changes between them.
    let (begin, commit) = (events[0], events[3]);
    assert_eq!(begin.transaction_id, commit.transaction_id);
    assert_eq!(events[1].transaction_id, begin.transaction_id);
    assert!(begin.transaction_id > 0 && begin.timestamp_us > 1_700_000_000_000_000);
    assert_eq!(events[1].timestamp_us, begin.timestamp_us);

    // T1: the rows' bytes are COPY BINARY's bytes for the same rows; the relation comes along
    // on the table's first change only.
    let row_bytes: Vec<_> = events[1..3]
        .iter()
        .map(|e| bytes_of(&e.new_row.as_ref().unwrap().values))
        .collect();
    assert_eq!(row_bytes, after_t1);
    let meta = events[1]
        .relation_meta
        .as_ref()
        .expect("first change carries the relation");
    assert_eq!(
        (meta.schema.as_str(), meta.table.as_str()),
        ("public", "pgo_items")
    );
    assert_eq!(meta.replica_identity, ReplicaIdentity::Default);
    let cols: Vec<_> = meta
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_oid, c.is_key))
        .collect();
    assert_eq!(
        cols,
        [
            ("id", 23, true),
            ("name", 25, false),
            ("note", 25, false),
            ("qty", 20, false)
        ]
    );
    assert!(events[2].relation_meta.is_none());
    assert_eq!(events[1].columns, ["id", "name", "note", "qty"]);

    // T2: the TOASTed note was not touched: unchanged marker, no old row.
    let u = events[5];
    assert!(u.old_row.is_none());
    assert_eq!(
        u.new_row.as_ref().unwrap().values,
        [int4(1), text("one"), ColumnValue::unchanged(25), int8(11)]
    );
    // T3: the key changed: the old key, other columns NULL.
    let u = events[8];
    assert_eq!(
        u.old_row.as_ref().unwrap().values,
        [
            int4(2),
            ColumnValue::null(),
            ColumnValue::null(),
            ColumnValue::null()
        ]
    );
    assert_eq!(
        u.new_row.as_ref().unwrap().values,
        [int4(3), text("two"), ColumnValue::null(), int8(20)]
    );
    // REPLICA IDENTITY FULL, no key: whole old rows, every column flagged as identity.
    let full_meta = events[11].relation_meta.as_ref().unwrap();
    assert_eq!(full_meta.replica_identity, ReplicaIdentity::Full);
    assert!(full_meta.columns.iter().all(|c| c.is_key));
    assert_eq!(
        events[12].old_row.as_ref().unwrap().values,
        [int4(1), text("x")]
    );
    assert_eq!(
        events[12].new_row.as_ref().unwrap().values,
        [int4(1), text("y")]
    );
    assert_eq!(
        events[13].old_row.as_ref().unwrap().values,
        [int4(1), text("y")]
    );
    assert!(events[13].new_row.is_none());
    // DEFAULT identity delete: the key only.
    assert_eq!(
        events[16].old_row.as_ref().unwrap().values,
        [
            int4(3),
            ColumnValue::null(),
            ColumnValue::null(),
            ColumnValue::null()
        ]
    );
    // TRUNCATE keeps its options.
    let truncates: Vec<_> = events[27..29]
        .iter()
        .map(|e| e.ddl_sql.clone().unwrap())
        .collect();
    assert!(truncates
        .contains(&r#"TRUNCATE "public"."pgo_parent" RESTART IDENTITY CASCADE"#.to_owned()));
    assert!(
        truncates.contains(&r#"TRUNCATE "public"."pgo_child" RESTART IDENTITY CASCADE"#.to_owned())
    );

    // The logical message, inside its transaction.
    let message = changes
        .iter()
        .find_map(|c| match c {
            Change::Message {
                prefix,
                content,
                transactional,
                transaction_id,
                ..
            } => Some((
                prefix.clone(),
                content.clone(),
                *transactional,
                *transaction_id,
            )),
            Change::Event(_) | Change::Commits { .. } => None,
        })
        .expect("the logical message");
    assert_eq!(
        message,
        (
            "scry.test".to_owned(),
            Bytes::from_static(b"hello"),
            true,
            events[18].transaction_id
        )
    );
    // Nothing of the rolled-back transaction.
    assert!(!events
        .iter()
        .any(|e| e.new_row.as_ref().is_some_and(|r| r.values[0] == int4(99))));
}

#[test]
fn streamed_transactions_arrive_whole_and_aborted_ones_never() {
    let Some(mut c) = connect("pgoutput streamed transactions") else {
        return;
    };
    c.batch_execute(
        "DROP TABLE IF EXISTS pgo_big CASCADE;
         DROP PUBLICATION IF EXISTS pgo_big_pub;
         CREATE TABLE pgo_big (id int4 PRIMARY KEY, pad text);
         CREATE PUBLICATION pgo_big_pub FOR TABLE pgo_big;",
    )
    .expect("schema");
    fresh_slot(&mut c, "pgo_big_slot", false);
    c.batch_execute(
        "BEGIN;
         INSERT INTO pgo_big SELECT g, repeat('p', 100) FROM generate_series(1, 3000) g;
         SAVEPOINT s;
         INSERT INTO pgo_big SELECT g, repeat('q', 100) FROM generate_series(10001, 11000) g;
         ROLLBACK TO SAVEPOINT s;
         INSERT INTO pgo_big SELECT g, repeat('r', 100) FROM generate_series(30001, 30500) g;
         COMMIT;
         BEGIN;
         INSERT INTO pgo_big SELECT g, repeat('s', 100) FROM generate_series(20001, 23000) g;
         ROLLBACK;",
    )
    .expect("workload");
    // An abort record is not flushed when ROLLBACK returns, and decoding reads only flushed
    // WAL: without a committed write after it (whose commit flushes everything before it) a
    // quick pull can see the aborted transaction's streamed parts but not its end.
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS pgo_flush (x int4); INSERT INTO pgo_flush VALUES (1)",
    )
    .expect("flush");
    // Decoding runs in this session: a small work memory makes the server stream.
    c.batch_execute("SET logical_decoding_work_mem = '64kB'")
        .expect("set");
    let messages = pull(
        &mut c,
        "pgo_big_slot",
        &[
            ("proto_version", "2"),
            ("publication_names", "pgo_big_pub"),
            ("binary", "true"),
            ("streaming", "on"),
        ],
    );
    let mut parser = scry_pg::pgoutput::Parser::new();
    let kinds: Vec<_> = messages
        .iter()
        .map(|(_, m)| parser.parse(m).expect("parses").kind())
        .collect();
    let count = |k: &str| kinds.iter().filter(|m| m.name() == k).count();
    assert!(
        count("Stream Start") > 2,
        "the server streamed: {}",
        count("Stream Start")
    );
    assert_eq!(count("Stream Commit"), 1);
    assert!(count("Stream Abort") >= 1);

    let expected_ids: Vec<i32> = (1..=3000).chain(30_001..=30_500).collect();
    // All in memory, and spilled to a file past 4 KiB.
    for limit in [usize::MAX, 4096] {
        let mut decoder = ChangeDecoder::new().memory_limit(limit);
        let mut spilled = false;
        let mut out = Vec::new();
        for (lsn, bytes) in &messages {
            decoder
                .decode(*lsn, bytes, &mut |c| out.push(c))
                .expect("decode");
            spilled |= decoder.spilled();
        }
        assert_eq!(spilled, limit == 4096);
        assert_eq!(decoder.oldest_held_lsn(), None);
        let (given, announced) = commit_lsns(&messages, &out);
        assert_eq!(given.len(), 1, "one Stream Commit");
        assert_eq!(announced, given);
        let events = events(&out);
        assert_eq!(
            events.first().map(|e| e.operation),
            Some(OperationType::Begin)
        );
        assert_eq!(
            events.last().map(|e| e.operation),
            Some(OperationType::Commit)
        );
        let ids: Vec<i32> = events[1..events.len() - 1]
            .iter()
            .map(|e| {
                assert_eq!(e.operation, OperationType::Insert);
                let v = e.new_row.as_ref().unwrap().values[0].as_bytes().unwrap();
                i32::from_be_bytes(v.try_into().unwrap())
            })
            .collect();
        assert_eq!(ids, expected_ids, "memory limit {limit}");
    }
}

#[test]
fn prepared_transactions_arrive_at_commit_prepared_and_rolled_back_ones_never() {
    let Some(mut c) = connect("pgoutput two-phase transactions") else {
        return;
    };
    // What a failed earlier run may have left prepared.
    for gid in ["pgo_g1", "pgo_g2"] {
        let _ = c.batch_execute(&format!("ROLLBACK PREPARED '{gid}'"));
    }
    c.batch_execute(
        "DROP TABLE IF EXISTS pgo_2pc CASCADE;
         DROP PUBLICATION IF EXISTS pgo_2pc_pub;
         CREATE TABLE pgo_2pc (id int4 PRIMARY KEY);
         CREATE PUBLICATION pgo_2pc_pub FOR TABLE pgo_2pc;",
    )
    .expect("schema");
    fresh_slot(&mut c, "pgo_2pc_slot", true);
    // One statement a call: COMMIT/ROLLBACK PREPARED cannot run in a multi-statement string's
    // implicit transaction.
    for sql in [
        "BEGIN",
        "INSERT INTO pgo_2pc VALUES (1)",
        "PREPARE TRANSACTION 'pgo_g1'",
        "BEGIN",
        "INSERT INTO pgo_2pc VALUES (2)",
        "PREPARE TRANSACTION 'pgo_g2'",
        "INSERT INTO pgo_2pc VALUES (3)",
        "COMMIT PREPARED 'pgo_g1'",
        "ROLLBACK PREPARED 'pgo_g2'",
    ] {
        c.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let messages = pull(
        &mut c,
        "pgo_2pc_slot",
        &[
            ("proto_version", "3"),
            ("publication_names", "pgo_2pc_pub"),
            ("binary", "true"),
            ("two_phase", "on"),
        ],
    );
    let kinds: Vec<_> = messages
        .iter()
        .map(|(_, m)| parse(m, false).expect("parses").kind().name())
        .collect();
    for k in [
        "Begin Prepare",
        "Prepare",
        "Commit Prepared",
        "Rollback Prepared",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let mut decoder = ChangeDecoder::new();
    let mut out = Vec::new();
    let mut held_while_prepared = false;
    for (lsn, bytes) in &messages {
        decoder
            .decode(*lsn, bytes, &mut |c| out.push(c))
            .expect("decode");
        if matches!(parse(bytes, false), Ok(Message::Prepare(_))) {
            held_while_prepared |= decoder.oldest_held_lsn().is_some();
        }
    }
    assert!(held_while_prepared);
    let (given, announced) = commit_lsns(&messages, &out);
    assert!(!given.is_empty());
    assert_eq!(announced, given);
    let events = events(&out);
    let ids: Vec<(OperationType, Option<i32>)> = events
        .iter()
        .map(|e| {
            let id = e
                .new_row
                .as_ref()
                .map(|r| i32::from_be_bytes(r.values[0].as_bytes().unwrap().try_into().unwrap()));
            (e.operation, id)
        })
        .collect();
    use OperationType::{Begin as B, Commit as C, Insert as I};
    // Row 3 commits first; g1 arrives at its COMMIT PREPARED; g2 never.
    assert_eq!(
        ids,
        [
            (B, None),
            (I, Some(3)),
            (C, None),
            (B, None),
            (I, Some(1)),
            (C, None)
        ]
    );
    assert_eq!(decoder.oldest_held_lsn(), None);
}

#[test]
fn every_type_of_the_all_types_table_arrives_with_copy_binarys_bytes() {
    let Some(mut c) = connect("pgoutput all types") else {
        return;
    };
    // The round-trip fixture's table (a column of every supported type, TOASTed values
    // every 50th row) under a name of its own; the publication exists before the rows go in.
    let sql = include_str!("../fixtures/all_types.sql")
        .replace(":ROWS", "120")
        .replace("all_types", "pgo_all_types");
    let fill = sql.find("INSERT INTO").expect("the fixture inserts");
    c.batch_execute("DROP PUBLICATION IF EXISTS pgo_all_pub")
        .expect("drop publication");
    c.batch_execute(&sql[..fill]).expect("create pgo_all_types");
    c.batch_execute("CREATE PUBLICATION pgo_all_pub FOR TABLE pgo_all_types")
        .expect("publication");
    fresh_slot(&mut c, "pgo_all_slot", false);
    c.batch_execute(&sql[fill..]).expect("fill pgo_all_types");
    let copy = copy_rows(&mut c, "SELECT * FROM pgo_all_types ORDER BY id");
    assert_eq!(copy.len(), 120);

    let messages = pull(
        &mut c,
        "pgo_all_slot",
        &[
            ("proto_version", "1"),
            ("publication_names", "pgo_all_pub"),
            ("binary", "true"),
        ],
    );
    let changes = decode(&messages, &mut ChangeDecoder::new());
    let (given, announced) = commit_lsns(&messages, &changes);
    assert!(!given.is_empty());
    assert_eq!(announced, given);
    let mut rows: Vec<_> = events(&changes)
        .into_iter()
        .filter(|e| e.operation == OperationType::Insert)
        .map(|e| {
            let values = &e.new_row.as_ref().unwrap().values;
            assert!(values.iter().all(|v| !scry_pg::pgoutput::is_text_format(v)));
            bytes_of(values)
        })
        .collect();
    rows.sort_by_key(|r| r[0].clone());
    let mut copy_sorted = copy.clone();
    copy_sorted.sort_by_key(|r| r[0].clone());
    assert_eq!(rows.len(), 120);
    assert_eq!(rows[0].len(), 87);
    assert_eq!(rows, copy_sorted, "every value as COPY BINARY has it");
}
