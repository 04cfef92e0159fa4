//! pgoutput messages written as PostgreSQL 15's `proto.c` lays them out, for benchmarks, fuzz
//! seeds and tests that need a replication stream without a server.

/// A Begin (`B`) message.
#[must_use]
pub fn begin(final_lsn: u64, commit_time: i64, xid: u32) -> Vec<u8> {
    let mut m = vec![b'B'];
    m.extend(final_lsn.to_be_bytes());
    m.extend(commit_time.to_be_bytes());
    m.extend(xid.to_be_bytes());
    m
}

/// A Commit (`C`) message.
#[must_use]
pub fn commit(commit_lsn: u64, end_lsn: u64, commit_time: i64) -> Vec<u8> {
    let mut m = vec![b'C', 0];
    m.extend(commit_lsn.to_be_bytes());
    m.extend(end_lsn.to_be_bytes());
    m.extend(commit_time.to_be_bytes());
    m
}

/// A Relation (`R`) message with replica identity `d`; columns are `(name, type OID, key)`.
#[must_use]
pub fn relation(rel_id: u32, schema: &str, table: &str, columns: &[(&str, u32, bool)]) -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend(rel_id.to_be_bytes());
    for s in [schema, table] {
        m.extend(s.as_bytes());
        m.push(0);
    }
    m.push(b'd');
    m.extend((columns.len() as u16).to_be_bytes());
    for &(name, oid, key) in columns {
        m.push(u8::from(key));
        m.extend(name.as_bytes());
        m.push(0);
        m.extend(oid.to_be_bytes());
        m.extend((-1i32).to_be_bytes());
    }
    m
}

/// An Insert (`I`) message whose new row has these binary values (`None` for NULL).
#[must_use]
pub fn insert(rel_id: u32, values: &[Option<&[u8]>]) -> Vec<u8> {
    let mut m = vec![b'I'];
    m.extend(rel_id.to_be_bytes());
    m.push(b'N');
    tuple(&mut m, values);
    m
}

/// Appends a TupleData of binary values (`None` for NULL).
pub fn tuple(m: &mut Vec<u8>, values: &[Option<&[u8]>]) {
    m.extend((values.len() as u16).to_be_bytes());
    for v in values {
        match v {
            None => m.push(b'n'),
            Some(data) => {
                m.push(b'b');
                m.extend((data.len() as u32).to_be_bytes());
                m.extend_from_slice(data);
            }
        }
    }
}

/// A replication stream of `transactions` transactions of `rows` narrow-row INSERTs each into
/// `public.orders (id int8 key, customer int4, status text, created timestamptz, paid bool,
/// note text)`, with the LSN of each message: a Relation first, then Begin, the Inserts and
/// Commit per transaction.
#[must_use]
pub fn narrow_insert_stream(transactions: u32, rows: u32) -> Vec<(u64, Vec<u8>)> {
    let mut out = vec![(
        0x100,
        relation(
            16_385,
            "public",
            "orders",
            &[
                ("id", 20, true),
                ("customer", 23, false),
                ("status", 25, false),
                ("created", 1184, false),
                ("paid", 16, false),
                ("note", 25, false),
            ],
        ),
    )];
    let mut lsn = 0x1000u64;
    for t in 0..transactions {
        let xid = 1000 + t;
        let time = 786_000_000_000_000 + i64::from(t);
        let first = lsn;
        let commit_lsn = first + u64::from(rows) * 0x60;
        out.push((first, begin(commit_lsn, time, xid)));
        for r in 0..rows {
            let i = t * rows + r;
            let status = format!("status-{:0w$}", i % 97, w = 3 + (i % 21) as usize);
            let id = i64::from(i).to_be_bytes();
            let customer = (i as i32).to_be_bytes();
            let created = (i64::from(i) * 1_000_003).to_be_bytes();
            let values: [Option<&[u8]>; 6] = [
                Some(&id),
                Some(&customer),
                Some(status.as_bytes()),
                Some(&created),
                Some(&[u8::from(i.is_multiple_of(2))]),
                None,
            ];
            out.push((lsn, insert(16_385, &values)));
            lsn += 0x60;
        }
        out.push((commit_lsn, commit(commit_lsn, commit_lsn + 0x30, time)));
        lsn = commit_lsn + 0x30;
    }
    out
}
