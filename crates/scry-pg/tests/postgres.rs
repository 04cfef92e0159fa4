//! The round trip against a real PostgreSQL 15 server (`SCRY_PG_URL`, started by
//! `.ci/postgres.sh`): a table with a column of every supported type and 3000 rows goes out
//! through COPY BINARY, through snapshot events, batches and the compat FlexBuffers
//! encoding, and back in through COPY FROM STDIN BINARY into a second table. The tables must
//! compare equal in SQL, the COPY streams must be byte-equal, and every value's text
//! rendering must equal the server's.
//!
//! Without `SCRY_PG_URL` the test fails when `CI` is set and otherwise skips, loudly.
//! With `SCRY_PG_WRITE_FIXTURES=1` it also rewrites `fixtures/all_types.*` from the server.

mod common;

use std::io::{Read, Write};

use bytes::Bytes;
use postgres::{Client, NoTls};
use scry_pg::oid;
use scry_types::{ColumnMeta, OperationType, RelationMeta, TypeTag};

const ROWS: usize = 3000;
/// Rows kept in the committed fixture.
const FIXTURE_ROWS: usize = 60;

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry-pg PostgreSQL round trip")
}

fn connect(url: &str) -> Client {
    let mut client = Client::connect(url, NoTls).expect("connect to SCRY_PG_URL");
    client
        .batch_execute(
            "SET DateStyle = ISO; SET TimeZone = 'UTC'; SET IntervalStyle = postgres; \
             SET bytea_output = hex; SET extra_float_digits = 1; SET lc_monetary = 'C'",
        )
        .expect("session settings");
    client
}

fn copy_out(client: &mut Client, query: &str) -> Bytes {
    let mut out = Vec::new();
    client
        .copy_out(&format!("COPY {query} TO STDOUT (FORMAT binary)"))
        .expect("COPY TO STDOUT")
        .read_to_end(&mut out)
        .expect("read COPY data");
    Bytes::from(out)
}

fn relation(client: &mut Client, table: &str) -> RelationMeta {
    let rel_id: u32 = client
        .query_one(&format!("SELECT '{table}'::regclass::oid"), &[])
        .expect("relation oid")
        .get(0);
    let columns = client
        .query(
            "SELECT attname::text, atttypid, atttypmod FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&rel_id],
        )
        .expect("columns")
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            let c = ColumnMeta::new(name.clone(), r.get(1)).type_modifier(r.get(2));
            if name == "id" {
                c.key()
            } else {
                c
            }
        })
        .collect();
    RelationMeta::new(rel_id, "public", table, columns)
}

/// Types with no equality operator EXCEPT could use: compared as text.
fn needs_text_compare(type_oid: u32) -> bool {
    let base = oid::array_element_oid(type_oid).unwrap_or(type_oid);
    matches!(
        base,
        oid::JSON
            | oid::XML
            | oid::POINT
            | oid::LINE
            | oid::LSEG
            | oid::BOX
            | oid::PATH
            | oid::POLYGON
            | oid::CIRCLE
    )
}

#[test]
fn copy_binary_round_trip_through_events_and_batches() {
    let Some(url) = conninfo() else { return };
    let mut client = connect(&url);
    let ddl = include_str!("../fixtures/all_types.sql").replace(":ROWS", &ROWS.to_string());
    client
        .batch_execute(&ddl)
        .expect("create and fill all_types");
    let rel = relation(&mut client, "all_types");
    assert_eq!(rel.columns.len(), 87);

    // Out through COPY BINARY, through events, batches and bytes, and back to COPY BINARY.
    let copy = copy_out(&mut client, "all_types");
    let out = common::run_pipeline(&rel, copy.clone()).expect("pipeline");
    let ops: Vec<OperationType> = out.events.iter().map(|e| e.operation).collect();
    assert_eq!(ops.first(), Some(&OperationType::SnapshotBegin));
    assert_eq!(ops.last(), Some(&OperationType::SnapshotEnd));
    assert_eq!(ops.len(), ROWS + 2);
    assert!(
        out.batch_bytes.len() > 1,
        "{} batches",
        out.batch_bytes.len()
    );
    assert_eq!(out.copy_out, copy, "COPY stream written back differs");

    // Back in through COPY FROM STDIN into a second table.
    client
        .batch_execute(
            "DROP TABLE IF EXISTS all_types_back; CREATE TABLE all_types_back (LIKE all_types)",
        )
        .expect("second table");
    let mut writer = client
        .copy_in("COPY all_types_back FROM STDIN (FORMAT binary)")
        .expect("COPY FROM STDIN");
    writer.write_all(&out.copy_out).expect("send COPY data");
    assert_eq!(writer.finish().expect("finish COPY"), ROWS as u64);

    // The two tables are equal in SQL, both ways.
    let select = |table: &str| {
        let cols: Vec<String> = rel
            .columns
            .iter()
            .map(|c| {
                if needs_text_compare(c.type_oid) {
                    format!("{}::text", c.name)
                } else {
                    c.name.clone()
                }
            })
            .collect();
        format!("SELECT {} FROM {table}", cols.join(", "))
    };
    for (a, b) in [
        ("all_types", "all_types_back"),
        ("all_types_back", "all_types"),
    ] {
        let sql = format!(
            "SELECT count(*) FROM ({} EXCEPT ALL {}) d",
            select(a),
            select(b)
        );
        let diff: i64 = client.query_one(&sql, &[]).expect("EXCEPT").get(0);
        assert_eq!(diff, 0, "{a} has {diff} rows that {b} lacks");
    }
    assert_eq!(copy_out(&mut client, "all_types_back"), copy);

    // Every value re-encodes byte for byte and renders like the server.
    let text = copy_out(&mut client, &format!("({})", common::text_query(&rel, "")));
    let stats = match common::check_values(&rel, copy.clone(), text, 40) {
        Ok(stats) => stats,
        Err(problems) => panic!(
            "{} value mismatches:\n{}",
            problems.len(),
            problems.join("\n")
        ),
    };
    assert_eq!(stats.rows, ROWS);
    assert!(
        stats.largest > 8 * 1024,
        "largest value {} bytes",
        stats.largest
    );
    assert!(stats.nulls > 0 && stats.custom > 0);
    for tag in TypeTag::ALL {
        if *tag != TypeTag::ToastUnchanged {
            assert!(
                stats.tags.contains(&tag.as_u8()),
                "no {tag} value in the table"
            );
        }
    }

    if std::env::var("SCRY_PG_WRITE_FIXTURES").as_deref() == Ok("1") {
        write_fixtures(&mut client, &rel);
    }
}

fn write_fixtures(client: &mut Client, rel: &RelationMeta) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let filter = format!("WHERE id <= {FIXTURE_ROWS}");
    let copy = copy_out(
        client,
        &format!("(SELECT * FROM all_types {filter} ORDER BY id)"),
    );
    let text = copy_out(client, &format!("({})", common::text_query(rel, &filter)));
    std::fs::write(dir.join("all_types.copy"), &copy).expect("write fixture");
    std::fs::write(dir.join("all_types.text.copy"), &text).expect("write fixture");
    std::fs::write(dir.join("all_types.relation"), common::format_relation(rel))
        .expect("write fixture");
    eprintln!("rewrote fixtures in {}", dir.display());
}

/// A xorshift64 generator: the same values on every run.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Loads a COPY BINARY stream into `table`.
fn copy_in(client: &mut Client, table: &str, copy: Bytes) {
    let mut writer = client
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
        .expect("COPY in");
    writer.write_all(&copy).expect("send");
    writer.finish().expect("finish");
}

/// Fails with the count and the first 30 of `mismatches`, if there are any.
fn assert_no_mismatches(mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
}

/// Floats are where rendering is hardest (PostgreSQL's Ryu excludes the rounding boundaries
/// and breaks ties to even): 40,000 float8 and float4 values — random bit patterns,
/// subnormals, integers around 2^24 and 2^53, decimal fractions, powers of ten — are loaded
/// with our own COPY writer and every rendering is compared with the server's.
#[test]
fn floats_render_like_the_server() {
    use scry_pg::copy::{CopyReader, CopyWriter};
    use scry_pg::PgValue;

    let Some(url) = conninfo() else { return };
    let mut client = connect(&url);
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let mut values: Vec<f64> = Vec::new();
    for i in 0..20_000u64 {
        let r = next();
        values.push(match i % 8 {
            0 | 1 => f64::from_bits(r),
            2 => f64::from_bits(r & 0x000F_FFFF_FFFF_FFFF), // subnormal
            3 => ((1u64 << 53) - (r % 5_000_000)) as f64 * if r & 1 == 0 { 1.0 } else { 64.0 },
            4 => (r % 1_000_000_000) as f64 / 10f64.powi((r % 12) as i32),
            5 => 10f64.powi((r % 600) as i32 - 300),
            6 => (r % (1 << 30)) as f64 + 0.25 * (r % 4) as f64,
            _ => f64::from(f32::from_bits(r as u32)),
        });
    }
    client
        .batch_execute(
            "DROP TABLE IF EXISTS floats; CREATE TABLE floats (id int4, f8 float8, f4 float4)",
        )
        .expect("floats table");
    let mut w = CopyWriter::new();
    for (i, v) in values.iter().enumerate() {
        let f4 = if i % 8 == 7 {
            f32::from_bits(next() as u32)
        } else {
            *v as f32
        };
        let row = [
            PgValue::Int4(i as i32),
            PgValue::Float8(*v),
            PgValue::Float4(f4),
        ];
        let bytes: Vec<_> = row.iter().map(PgValue::to_binary).collect();
        let fields: Vec<Option<&[u8]>> = bytes.iter().map(|b| b.as_deref()).collect();
        w.write_row(&fields).expect("row");
    }
    copy_in(&mut client, "floats", w.finish());

    let copy = copy_out(
        &mut client,
        "(SELECT f8, f4, format('%s', f8), format('%s', f4) FROM floats ORDER BY id)",
    );
    let mut mismatches = Vec::new();
    for row in CopyReader::new(copy).expect("reader") {
        let f = row.expect("row").into_fields();
        let text = |i: usize| String::from_utf8(f[i].as_ref().unwrap().to_vec()).unwrap();
        let f8 = scry_pg::decode(oid::FLOAT8, f[0].as_ref().unwrap()).unwrap();
        let f4 = scry_pg::decode(oid::FLOAT4, f[1].as_ref().unwrap()).unwrap();
        for (v, want) in [(f8, text(2)), (f4, text(3))] {
            let got = v.to_text().unwrap();
            if got != want {
                mismatches.push(format!("{v:?}: rendered {got}, server says {want}"));
            }
        }
    }
    assert_no_mismatches(&mismatches);
}

/// `numeric` fields as any sender may write them, not only as the server normalizes them:
/// leading and trailing zero groups, no digits with any weight, digits beyond the display
/// scale, negative zero. 6,000 of them are loaded with COPY BINARY, and every rendering is
/// compared with the server's text of what `numeric_recv` made of it.
#[test]
fn numerics_render_like_the_server() {
    use scry_pg::copy::{CopyReader, CopyWriter};

    let Some(url) = conninfo() else { return };
    let mut client = connect(&url);
    let mut random = xorshift(0x2545_F491_4F6C_DD1D);
    let mut next = move |n: u64| random() % n;
    let mut values: Vec<Vec<u8>> = Vec::new();
    for i in 0..6_000 {
        // Now and then more digits than an i16 counts: the server reads the count unsigned.
        let ndigits = if i % 1_000 == 999 {
            32_768 + next(32_768) as u16
        } else {
            next(6) as u16
        };
        let weight = match next(20) {
            0 => next(400) as i16 - 200,
            _ => next(13) as i16 - 6,
        };
        let sign: u16 = if next(2) == 0 { 0x0000 } else { 0x4000 };
        let dscale = next(25) as u16;
        let mut raw = Vec::new();
        for word in [ndigits, weight as u16, sign, dscale] {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        for _ in 0..ndigits {
            let d = if next(3) == 0 { 0 } else { next(10_000) as u16 };
            raw.extend_from_slice(&d.to_be_bytes());
        }
        values.push(raw);
    }
    client
        .batch_execute("DROP TABLE IF EXISTS numerics; CREATE TABLE numerics (id int4, v numeric)")
        .expect("numerics table");
    let mut w = CopyWriter::new();
    for (i, raw) in values.iter().enumerate() {
        let id = (i as i32).to_be_bytes();
        w.write_row(&[Some(&id[..]), Some(raw)]).expect("row");
    }
    copy_in(&mut client, "numerics", w.finish());

    let copy = copy_out(&mut client, "(SELECT v::text FROM numerics ORDER BY id)");
    let mut mismatches = Vec::new();
    let mut rows = 0;
    for (row, raw) in CopyReader::new(copy).expect("reader").zip(&values) {
        let f = row.expect("row").into_fields();
        let want = String::from_utf8(f[0].as_ref().unwrap().to_vec()).unwrap();
        let got = scry_pg::decode(oid::NUMERIC, raw)
            .unwrap()
            .to_text()
            .unwrap();
        if got != want {
            mismatches.push(format!("{raw:02x?}: rendered {got}, server says {want}"));
        }
        rows += 1;
    }
    assert_eq!(rows, values.len());
    assert_no_mismatches(&mismatches);
}

#[test]
fn a_table_streams_out_and_back_in_a_batch_at_a_time() {
    // 200,000 narrow rows (and a TOASTed value) from COPY TO STDOUT, read a chunk at a time
    // and encoded straight into compact batches (SnapshotEncoder), each batch's rows written
    // from its bytes into COPY FROM STDIN on a second connection (SnapshotLoader): nothing
    // holds the table whole.
    use scry_codec::{BatchView, Encoding};
    use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder, SnapshotLoader};

    let Some(url) = conninfo() else { return };
    let mut source = connect(&url);
    let mut target = connect(&url);
    source
        .batch_execute(
            "DROP TABLE IF EXISTS narrow, narrow_copy; \
             CREATE TABLE narrow (id int8 PRIMARY KEY, n int4, t text, ts timestamptz, \
                 x numeric, b bool, z text); \
             INSERT INTO narrow SELECT g, g % 1000, 'row ' || g || repeat('x', g % 20), \
                 timestamptz '2024-01-01' + g * interval '1 second', g / 7.0, g % 2 = 0, \
                 NULL FROM generate_series(1, 200000) g; \
             UPDATE narrow SET z = repeat(md5(id::text), 400) WHERE id = 77; \
             CREATE TABLE narrow_copy (LIKE narrow);",
        )
        .expect("create narrow");
    let rel = relation(&mut source, "narrow");
    let adapter = SnapshotAdapter::new(rel.clone());
    let reader = source
        .copy_out("COPY narrow TO STDOUT (FORMAT binary)")
        .expect("COPY out");
    let writer = target
        .copy_in("COPY narrow_copy FROM STDIN (FORMAT binary)")
        .expect("COPY in");
    let mut loader = SnapshotLoader::new(&rel, writer);
    let summary = SnapshotEncoder::new(Encoding::Compact)
        .max_events(5000)
        .encode_table(&adapter, reader, |bytes| {
            let view = BatchView::parse(bytes).map_err(std::io::Error::other)?;
            loader.load_batch(&view).map_err(std::io::Error::other)?;
            Ok(())
        })
        .expect("snapshot");
    assert!(summary.batches >= 40, "{} batches", summary.batches);
    assert_eq!(summary.rows, 200_000);
    assert_eq!(loader.rows_written(), 200_000);
    loader.finish().expect("trailer").finish().expect("COPY in");
    let diff: i64 = target
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT * FROM narrow EXCEPT SELECT * FROM narrow_copy) a) \
                  + (SELECT count(*) FROM (SELECT * FROM narrow_copy EXCEPT SELECT * FROM narrow) b)",
            &[],
        )
        .expect("compare")
        .get(0);
    assert_eq!(diff, 0);
    let rows: i64 = target
        .query_one("SELECT count(*) FROM narrow_copy", &[])
        .expect("count")
        .get(0);
    assert_eq!(rows, 200_000);
}
