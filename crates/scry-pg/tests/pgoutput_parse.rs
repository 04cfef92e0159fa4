//! Every pgoutput message kind parsed from bytes laid out as PostgreSQL 15's `proto.c` writes
//! them, and the exact error for each way a message can be malformed.

use scry_pg::pgoutput::{
    parse, Begin, Commit, LogicalMessage, Message, MessageKind, OldRow, Parser, PgOutputError,
    PgOutputProblem, Prepared, RelationColumn, TupleColumn,
};

/// A message under construction, in network byte order.
#[derive(Default)]
struct M(Vec<u8>);

impl M {
    fn new(kind: u8) -> Self {
        Self(vec![kind])
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    fn s(mut self, v: &str) -> Self {
        self.0.extend(v.as_bytes());
        self.0.push(0);
        self
    }
    fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend(v);
        self
    }
    /// A TupleData: `n`, `u`, or `t`/`b` with their bytes.
    fn tuple(mut self, columns: &[(u8, &[u8])]) -> Self {
        self = self.u16(columns.len() as u16);
        for &(kind, data) in columns {
            self.0.push(kind);
            if kind == b't' || kind == b'b' {
                self.0.extend((data.len() as u32).to_be_bytes());
                self.0.extend(data);
            }
        }
        self
    }
}

fn cols<'a>(m: &Message<'a>) -> Vec<Vec<TupleColumn<'a>>> {
    match m {
        Message::Insert(i) => vec![i.new.columns().collect()],
        Message::Update(u) => {
            let mut v: Vec<Vec<_>> = u.old.iter().map(|(_, t)| t.columns().collect()).collect();
            v.push(u.new.columns().collect());
            v
        }
        Message::Delete(d) => vec![d.old.columns().collect()],
        _ => vec![],
    }
}

#[test]
fn transaction_boundaries() {
    let b = M::new(b'B').u64(0x16_B374_D848).u64(5).u32(771).0;
    assert_eq!(
        parse(&b, false).unwrap(),
        Message::Begin(Begin {
            final_lsn: 0x16_B374_D848,
            commit_time: 5,
            xid: 771
        })
    );
    let c = M::new(b'C').u8(0).u64(10).u64(20).u64(30).0;
    let commit = Commit {
        commit_lsn: 10,
        end_lsn: 20,
        commit_time: 30,
    };
    assert_eq!(parse(&c, false).unwrap(), Message::Commit(commit));
    let o = M::new(b'O').u64(99).s("upstream").0;
    let Message::Origin(origin) = parse(&o, false).unwrap() else {
        panic!()
    };
    assert_eq!((origin.lsn, origin.name), (99, "upstream"));
}

#[test]
fn relation_and_type() {
    let r = M::new(b'R')
        .u32(16_385)
        .s("")
        .s("t")
        .u8(b'f')
        .u16(2)
        .u8(1)
        .s("id")
        .u32(23)
        .u32(u32::MAX)
        .u8(0)
        .s("price")
        .u32(1700)
        .u32(0x0006_0006)
        .0;
    let Message::Relation(rel) = parse(&r, false).unwrap() else {
        panic!()
    };
    assert_eq!(
        (rel.xid, rel.rel_id, rel.schema, rel.name),
        (None, 16_385, "pg_catalog", "t")
    );
    assert_eq!(rel.replica_identity, b'f');
    assert_eq!(
        rel.columns,
        [
            RelationColumn {
                is_key: true,
                name: "id",
                type_oid: 23,
                type_modifier: -1
            },
            RelationColumn {
                is_key: false,
                name: "price",
                type_oid: 1700,
                type_modifier: 0x0006_0006
            },
        ]
    );
    // Inside a stream the subtransaction's xid comes first.
    let streamed = M::new(b'Y').u32(7).u32(16_400).s("public").s("mood").0;
    let Message::Type(ty) = parse(&streamed, true).unwrap() else {
        panic!()
    };
    assert_eq!(
        (ty.xid, ty.type_oid, ty.schema, ty.name),
        (Some(7), 16_400, "public", "mood")
    );
    // Read outside a stream, the same bytes do not fit: the xid is taken for the OID and
    // the rest does not parse as two strings and nothing after them.
    assert!(parse(&streamed, false).is_err());
}

#[test]
fn row_changes() {
    let i = M::new(b'I')
        .u32(16_385)
        .u8(b'N')
        .tuple(&[
            (b'b', &[0, 0, 0, 1]),
            (b'n', &[]),
            (b'u', &[]),
            (b't', b"(1,2)"),
        ])
        .0;
    let m = parse(&i, false).unwrap();
    assert_eq!(
        cols(&m),
        [vec![
            TupleColumn::Binary(&[0, 0, 0, 1]),
            TupleColumn::Null,
            TupleColumn::Unchanged,
            TupleColumn::Text(b"(1,2)"),
        ]]
    );
    let Message::Insert(ins) = m else { panic!() };
    assert_eq!((ins.rel_id, ins.new.len()), (16_385, 4));

    let u = M::new(b'U')
        .u32(1)
        .u8(b'K')
        .tuple(&[(b'b', &[2])])
        .u8(b'N')
        .tuple(&[(b'b', &[3])])
        .0;
    let m = parse(&u, false).unwrap();
    let Message::Update(up) = &m else { panic!() };
    assert_eq!(up.old.map(|(k, _)| k), Some(OldRow::Key));
    assert_eq!(
        cols(&m),
        [
            vec![TupleColumn::Binary(&[2])],
            vec![TupleColumn::Binary(&[3])]
        ]
    );
    let u = M::new(b'U').u32(1).u8(b'N').tuple(&[(b'u', &[])]).0;
    let Message::Update(up) = parse(&u, false).unwrap() else {
        panic!()
    };
    assert!(up.old.is_none());

    let d = M::new(b'D').u32(5).u32(1).u8(b'O').tuple(&[(b'b', &[9])]).0;
    let Message::Delete(del) = parse(&d, true).unwrap() else {
        panic!()
    };
    assert_eq!((del.xid, del.rel_id, del.kind), (Some(5), 1, OldRow::Full));

    let t = M::new(b'T').u32(2).u8(3).u32(10).u32(11).0;
    let Message::Truncate(tr) = parse(&t, false).unwrap() else {
        panic!()
    };
    assert_eq!(
        (tr.cascade, tr.restart_identity, tr.rel_ids),
        (true, true, vec![10, 11])
    );
    let t = M::new(b'T').u32(1).u8(2).u32(10).0;
    let Message::Truncate(tr) = parse(&t, false).unwrap() else {
        panic!()
    };
    assert_eq!((tr.cascade, tr.restart_identity), (false, true));

    let msg = M::new(b'M')
        .u8(1)
        .u64(77)
        .s("scry.ddl")
        .u32(3)
        .raw(b"abc")
        .0;
    let Message::Message(lm) = parse(&msg, false).unwrap() else {
        panic!()
    };
    assert_eq!(
        (lm.transactional, lm.lsn, lm.prefix, lm.content),
        (true, 77, "scry.ddl", &b"abc"[..])
    );
}

#[test]
fn streaming_and_two_phase() {
    let mut p = Parser::new();
    let start = M::new(b'S').u32(900).u8(1).0;
    let Message::StreamStart(s) = p.parse(&start).unwrap() else {
        panic!()
    };
    assert_eq!((s.xid, s.first_segment), (900, true));
    assert!(p.in_stream());
    let ins = M::new(b'I')
        .u32(901)
        .u32(1)
        .u8(b'N')
        .tuple(&[(b'n', &[])])
        .0;
    let Message::Insert(i) = p.parse(&ins).unwrap() else {
        panic!()
    };
    assert_eq!(i.xid, Some(901));
    assert_eq!(p.parse(b"E").unwrap(), Message::StreamStop);
    assert!(!p.in_stream());

    let sc = M::new(b'c').u32(900).u8(0).u64(1).u64(2).u64(3).0;
    let Message::StreamCommit(c) = parse(&sc, false).unwrap() else {
        panic!()
    };
    assert_eq!((c.xid, c.commit.end_lsn), (900, 2));
    let sa = M::new(b'A').u32(900).u32(901).0;
    let Message::StreamAbort(a) = parse(&sa, false).unwrap() else {
        panic!()
    };
    assert_eq!((a.xid, a.subxid), (900, 901));

    let prepared = Prepared {
        lsn: 1,
        end_lsn: 2,
        time: 3,
        xid: 4,
        gid: "g",
    };
    let bp = M::new(b'b').u64(1).u64(2).u64(3).u32(4).s("g").0;
    assert_eq!(parse(&bp, false).unwrap(), Message::BeginPrepare(prepared));
    for (kind, wrap) in [
        (
            b'P',
            Message::Prepare as fn(Prepared<'static>) -> Message<'static>,
        ),
        (b'K', Message::CommitPrepared),
        (b'p', Message::StreamPrepare),
    ] {
        let bytes = M::new(kind).u8(0).u64(1).u64(2).u64(3).u32(4).s("g").0;
        assert_eq!(parse(&bytes, false).unwrap(), wrap(prepared));
    }
    let rp = M::new(b'r')
        .u8(0)
        .u64(1)
        .u64(2)
        .u64(3)
        .u64(4)
        .u32(5)
        .s("g")
        .0;
    let Message::RollbackPrepared(r) = parse(&rp, false).unwrap() else {
        panic!()
    };
    assert_eq!(
        (
            r.prepare_end_lsn,
            r.rollback_end_lsn,
            r.prepare_time,
            r.rollback_time,
            r.xid,
            r.gid
        ),
        (1, 2, 3, 4, 5, "g")
    );
}

fn err(bytes: &[u8]) -> PgOutputError {
    parse(bytes, false).unwrap_err()
}

#[test]
fn malformed_messages_get_exact_errors() {
    assert_eq!(
        err(b""),
        PgOutputError {
            message: None,
            offset: 0,
            problem: PgOutputProblem::Empty
        }
    );
    assert_eq!(
        err(b"Z").to_string(),
        "pgoutput unknown message at byte 0: unknown message type byte 0x5a"
    );
    assert_eq!(
        err(&M::new(b'I').u32(1).u8(b'X').0).to_string(),
        "pgoutput Insert message at byte 5: expected tuple marker N, got 0x58"
    );
    assert_eq!(
        err(&M::new(b'I').u32(1).u8(b'N').u16(2).u8(b'n').u8(b'q').0),
        PgOutputError {
            message: Some(MessageKind::Insert),
            offset: 9,
            problem: PgOutputProblem::ColumnKind {
                column: 1,
                kind: b'q'
            },
        }
    );
    assert_eq!(
        err(&M::new(b'I').u32(1).u8(b'N').u16(1).u8(b'b').u32(u32::MAX).0).to_string(),
        "pgoutput Insert message at byte 9: column 0 has a negative length -1"
    );
    assert_eq!(
        err(&M::new(b'I')
            .u32(1)
            .u8(b'N')
            .u16(1)
            .u8(b'b')
            .u32(10)
            .raw(b"abc")
            .0)
        .to_string(),
        "pgoutput Insert message at byte 13: the column value needs 10 bytes, 3 left"
    );
    assert_eq!(
        err(&M::new(b'D').u32(1).u8(b'N').0).to_string(),
        "pgoutput Delete message at byte 5: expected tuple marker K or O, got 0x4e"
    );
    assert_eq!(
        err(&M::new(b'O').u64(1).raw(b"no nul").0).to_string(),
        "pgoutput Origin message at byte 9: the origin name has no terminating NUL byte"
    );
    assert_eq!(
        err(&M::new(b'O').u64(1).raw(b"\xff\0").0).to_string(),
        "pgoutput Origin message at byte 9: the origin name is not UTF-8"
    );
    assert_eq!(
        err(&M::new(b'T').u32(1_000_000).u8(0).u32(1).0).to_string(),
        "pgoutput Truncate message at byte 1: the relation count claims 1000000 entries, more than the 4 bytes left can hold"
    );
    assert_eq!(
        err(&M::new(b'R').u32(1).s("s").s("t").u8(b'd').u16(60_000).0).to_string(),
        "pgoutput Relation message at byte 10: the column count claims 60000 entries, more than the 0 bytes left can hold"
    );
    assert_eq!(
        err(&M::new(b'E').u8(0).0).to_string(),
        "pgoutput Stream Stop message at byte 1: 1 bytes after the message's last field"
    );
}

#[test]
fn every_cut_of_every_message_is_an_error_not_a_panic() {
    let messages = [
        M::new(b'B').u64(1).u64(2).u32(3).0,
        M::new(b'R')
            .u32(1)
            .s("public")
            .s("t")
            .u8(b'd')
            .u16(1)
            .u8(1)
            .s("id")
            .u32(23)
            .u32(0)
            .0,
        M::new(b'U')
            .u32(1)
            .u8(b'O')
            .tuple(&[(b'b', &[1, 2]), (b't', b"x")])
            .u8(b'N')
            .tuple(&[(b'u', &[])])
            .0,
        M::new(b'M').u8(0).u64(7).s("p").u32(2).raw(b"hi").0,
        M::new(b'r')
            .u8(0)
            .u64(1)
            .u64(2)
            .u64(3)
            .u64(4)
            .u32(5)
            .s("gid")
            .0,
    ];
    for m in &messages {
        assert!(parse(m, false).is_ok());
        for cut in 0..m.len() {
            let e = parse(&m[..cut], false).unwrap_err();
            assert!(e.offset <= cut, "{e} for {cut} of {m:?}");
        }
    }
}

#[test]
fn written_messages_parse_back_as_themselves() {
    let begin = Begin {
        final_lsn: 0x16_B374_D848,
        commit_time: -5,
        xid: 771,
    };
    assert_eq!(
        begin.to_bytes(),
        M::new(b'B')
            .u64(0x16_B374_D848)
            .u64(-5i64 as u64)
            .u32(771)
            .0
    );
    assert_eq!(
        parse(&begin.to_bytes(), false).unwrap(),
        Message::Begin(begin)
    );
    let commit = Commit {
        commit_lsn: 10,
        end_lsn: 20,
        commit_time: 30,
    };
    assert_eq!(
        commit.to_bytes(),
        M::new(b'C').u8(0).u64(10).u64(20).u64(30).0
    );
    assert_eq!(
        parse(&commit.to_bytes(), false).unwrap(),
        Message::Commit(commit)
    );
    for (xid, in_stream) in [(None, false), (Some(901), true)] {
        let message = LogicalMessage {
            xid,
            transactional: true,
            lsn: 77,
            prefix: "scry.ddl",
            content: b"CREATE TABLE x ()",
        };
        assert_eq!(
            parse(&message.to_bytes(), in_stream).unwrap(),
            Message::Message(message)
        );
    }
}
