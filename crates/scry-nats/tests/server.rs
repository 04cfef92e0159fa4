//! Publishing and consuming against a real nats-server (`.ci/nats.sh`): what a restarted
//! capture reads back, what JetStream drops as a repeat, and what a restarted consumer is
//! handed again.

use std::time::Duration;

use bytes::Bytes;
use scry_nats::{Address, ClientOptions, Consumer, Publisher, Stored};

/// A stream of its own for each test, so that tests do not see each other's messages.
fn address(what: &str, stream: &str) -> Option<Address> {
    let url = scry_testkit::server::nats_url(what)?;
    let unique = format!(
        "{stream}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    Some(Address::parse(&format!("{url}/{unique}")).expect("a NATS address"))
}

/// The batch of `n` changes of the transaction committed at `commit`, starting at `first`.
fn stored(batch_seq: u64, commit: u64, first: u32, n: u32, ends: bool) -> Stored {
    Stored {
        batch_seq,
        frames: 1,
        encoding: "compact",
        first: (commit, first),
        last: (commit, first + n - 1),
        commit: ends.then_some(commit),
        resume: ends.then_some(commit),
        snapshot: None,
    }
}

#[test]
fn a_restarted_publisher_reads_back_the_last_batch_and_repeats_are_dropped() {
    let Some(address) = address("NATS publisher", "PUB") else {
        return;
    };
    let mut p =
        Publisher::open(&address, &ClientOptions::default(), "db.one", "scry_slot").expect("open");
    assert_eq!(p.subject(), format!("{}.db_one.scry_slot", address.stream));
    assert_eq!(p.last().expect("last"), None);
    let batches = [
        stored(0, 0x100, 0, 3, false),
        stored(1, 0x100, 3, 2, true),
        stored(2, 0x200, 0, 1, true),
    ];
    for (i, s) in batches.iter().enumerate() {
        p.publish(Bytes::from(vec![i as u8; 10]), s)
            .expect("publish");
    }
    assert_eq!(p.take_repeats(), 0);
    drop(p);

    let mut p = Publisher::open(&address, &ClientOptions::default(), "db.one", "scry_slot")
        .expect("reopen");
    let last = p.last().expect("last").expect("a last message");
    assert_eq!(last.sequence, 3);
    assert_eq!(last.stored, batches[2]);
    // The same batch again (a capture that did not see its acknowledgement): dropped.
    p.publish(Bytes::from(vec![2u8; 10]), &batches[2])
        .expect("publish");
    assert_eq!(p.take_repeats(), 1);
    assert_eq!(p.last().expect("last").expect("last").sequence, 3);
    // Another slot of the same stream has a subject, and a last message, of its own.
    let mut other =
        Publisher::open(&address, &ClientOptions::default(), "db.one", "other").expect("open");
    assert_eq!(other.last().expect("last"), None);
    other
        .publish(Bytes::from_static(b"o"), &stored(0, 0x50, 0, 1, true))
        .expect("publish to the other subject");

    // A snapshot taken again starts its subject anew, leaving other subjects alone; its
    // messages are not repeats of the changes that had the same keys.
    assert_eq!(p.purge_subject().expect("purge"), 3);
    assert_eq!(p.last().expect("last"), None);
    let table = Stored {
        first: (0, 0),
        last: (0, 0),
        commit: None,
        resume: None,
        snapshot: Some(0x300),
        ..stored(0, 0, 0, 1, false)
    };
    p.publish(Bytes::from_static(b"t"), &table)
        .expect("a snapshot message");
    let end = Stored {
        batch_seq: 1,
        commit: Some(0x300),
        ..table
    };
    p.publish(Bytes::from_static(b"e"), &end)
        .expect("the snapshot's end");
    assert_eq!(p.take_repeats(), 0);
    let last = p.last().expect("last").expect("the snapshot's end");
    assert_eq!((last.sequence, last.stored), (6, end));
    assert_eq!(
        other.last().expect("last").expect("kept").stored.first,
        (0x50, 0)
    );
}

#[test]
fn a_second_publisher_of_one_subject_is_refused_rather_than_interleaved() {
    let Some(address) = address("NATS publishers of one subject", "TWO") else {
        return;
    };
    let mut first =
        Publisher::open(&address, &ClientOptions::default(), "src", "slot").expect("open");
    let mut second =
        Publisher::open(&address, &ClientOptions::default(), "src", "slot").expect("open");
    assert_eq!(first.last().expect("last"), None);
    assert_eq!(second.last().expect("last"), None);
    first
        .publish(Bytes::from_static(b"a"), &stored(0, 0x10, 0, 1, true))
        .expect("the first publishes");
    // The second still takes the subject for empty: JetStream refuses its message.
    let e = second
        .publish(Bytes::from_static(b"b"), &stored(0, 0x20, 0, 1, true))
        .expect_err("refused");
    assert!(
        e.to_string()
            .starts_with(&format!("publishing to {}:", second.subject())),
        "{e}"
    );
    // Started again, it reads the subject's last message and goes on after it.
    let mut again =
        Publisher::open(&address, &ClientOptions::default(), "src", "slot").expect("open");
    let last = again.last().expect("last").expect("a message");
    assert_eq!(last.stored, stored(0, 0x10, 0, 1, true));
    again
        .publish(Bytes::from_static(b"b"), &stored(1, 0x20, 0, 1, true))
        .expect("after the last");
    assert_eq!(again.last().expect("last").expect("a message").sequence, 2);
}

#[test]
fn a_frame_larger_than_a_message_goes_in_parts_and_comes_back_whole() {
    let Some(address) = address("NATS frames in parts", "PARTS") else {
        return;
    };
    // Larger than the server's max_payload (1 MiB by default), and not a multiple of a part.
    let big = Bytes::from(
        (0..2_600_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let mut p = Publisher::open(&address, &ClientOptions::default(), "src", "slot").expect("open");
    p.publish(big.clone(), &stored(0, 0x100, 0, 7, true))
        .expect("publish in parts");
    let last = p.last().expect("last").expect("the last part");
    assert!(last.whole);
    assert_eq!(last.stored, stored(0, 0x100, 0, 7, true));
    let parts = last.sequence;
    assert!(parts >= 3, "{parts} messages");
    p.publish(Bytes::from_static(b"small"), &stored(1, 0x200, 0, 1, true))
        .expect("publish");

    let mut c = Consumer::open(&address, &ClientOptions::default(), "target").expect("consumer");
    let mut got = Vec::new();
    while got.len() < 2 {
        let fetched = c.next(10, Duration::from_secs(2)).expect("next");
        assert!(
            !fetched.is_empty(),
            "the stream ended after {} frames",
            got.len()
        );
        got.extend(
            fetched
                .into_iter()
                .map(|d| (d.sequence, d.payload.clone(), d)),
        );
    }
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].0, &got[0].1), (parts, &big));
    // Handed out as its last part, it says where its first part is.
    assert_eq!(
        (got[0].2.first_sequence, got[1].2.first_sequence),
        (1, parts + 1)
    );
    assert_eq!((got[1].0, got[1].1.as_ref()), (parts + 1, &b"small"[..]));
    // Acknowledging the frame acknowledges its parts; read back, it is whole again.
    c.ack(&got[0].2).expect("ack");
    let (floor, payload) = c.acknowledged_floor().expect("floor").expect("a floor");
    assert_eq!(
        (floor, payload),
        (stored(0, 0x100, 0, 7, true), big.clone())
    );
    assert_eq!(c.remaining().expect("remaining"), 0);
    // Read without consuming, the frames follow one another as in a file.
    let mut reader =
        scry_nats::StreamReader::open(&address, &ClientOptions::default()).expect("reader");
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut all).expect("read");
    assert_eq!(all.len(), big.len() + 5);
    assert!(all.starts_with(&big) && all.ends_with(b"small"));
}

#[test]
fn consumers_get_every_message_once_and_resume_after_what_they_acknowledged() {
    let Some(address) = address("NATS consumer", "CON") else {
        return;
    };
    let mut p = Publisher::open(&address, &ClientOptions::default(), "src", "slot").expect("open");
    for i in 0..5u8 {
        let s = stored(u64::from(i), 0x1000 + u64::from(i), 0, 1, true);
        p.publish(Bytes::from(vec![i; 4]), &s).expect("publish");
    }

    let wait = Duration::from_secs(2);
    let mut a =
        Consumer::open(&address, &ClientOptions::default(), "target_a").expect("consumer a");
    let got = a.next(3, wait).expect("next");
    let seqs: Vec<u64> = got.iter().map(|d| d.sequence).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(got[1].payload.as_ref(), [1u8; 4]);
    assert_eq!(got[1].stored, stored(1, 0x1001, 0, 1, true));
    assert_eq!(got[0].subject, format!("{}.src.slot", address.stream));
    a.ack(&got[0]).expect("ack");
    a.ack(&got[1]).expect("ack");
    drop(a);

    // Reopened, it starts at the first message it had not acknowledged.
    let mut a =
        Consumer::open(&address, &ClientOptions::default(), "target_a").expect("consumer a again");
    let got = a.next(10, wait).expect("next");
    let seqs: Vec<u64> = got.iter().map(|d| d.sequence).collect();
    assert_eq!(seqs, [3, 4, 5]);
    for d in &got {
        a.ack(d).expect("ack");
    }
    assert_eq!(a.remaining().expect("remaining"), 0);
    assert!(a
        .next(10, Duration::from_millis(200))
        .expect("next")
        .is_empty());

    // Another target reads the same stream from its start, on its own.
    let mut b =
        Consumer::open(&address, &ClientOptions::default(), "target_b").expect("consumer b");
    assert_eq!(b.remaining().expect("remaining"), 5);
    assert_eq!(b.next(10, wait).expect("next").len(), 5);
}

#[test]
fn a_consumer_of_a_missing_stream_says_which_and_how_to_make_it() {
    let Some(address) = address("NATS missing stream", "MISSING") else {
        return;
    };
    let e = Consumer::open(&address, &ClientOptions::default(), "t")
        .err()
        .expect("no stream");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("NATS stream {}:", address.stream)),
        "{text}"
    );
    assert!(text.contains("scry capture --out nats://"), "{text}");
}

#[test]
fn no_server_at_the_address_is_a_connect_error_naming_it() {
    let address = Address::parse("nats://127.0.0.1:1/S").expect("address");
    let e = Publisher::open(&address, &ClientOptions::default(), "s", "t")
        .err()
        .expect("refused");
    assert!(
        e.to_string()
            .starts_with("cannot connect to NATS at 127.0.0.1:1:"),
        "{e}"
    );
}

#[test]
fn a_server_requiring_tls_and_client_certificates_takes_the_options_nats_users_give() {
    let Some((url, [ca, cert, key])) = scry_testkit::server::nats_tls_url("NATS over TLS") else {
        return;
    };
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let address = Address::parse(&format!("{url}/TLS{unique}")).expect("a tls:// address");
    assert!(address.tls);
    let full = ClientOptions {
        ca: Some(ca.clone()),
        client_cert: Some((cert.clone(), key.clone())),
        ..ClientOptions::default()
    };
    let mut p = Publisher::open(&address, &full, "src", "slot").expect("open over TLS");
    p.publish(Bytes::from_static(b"sealed"), &stored(0, 0x10, 0, 1, true))
        .expect("publish");
    let mut c = Consumer::open(&address, &full, "target").expect("consumer over TLS");
    let got = c.next(10, Duration::from_secs(2)).expect("next");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload.as_ref(), b"sealed");

    // The server's certificate is signed by a CA the system does not trust.
    let no_ca = ClientOptions {
        ca: None,
        ..full.clone()
    };
    let refused =
        |options: &ClientOptions| match Publisher::open(&address, options, "src", "slot").err() {
            Some(e @ scry_nats::NatsError::Refused { .. }) => e.to_string(),
            other => panic!("expected the connection refused, got {other:?}"),
        };
    let said = refused(&no_ca);
    assert!(said.contains("refused the connection"), "{said}");
    // The server verifies clients: without a certificate it refuses.
    refused(&ClientOptions {
        client_cert: None,
        ..full.clone()
    });
    // A file that is not there is named.
    let missing = ClientOptions {
        ca: Some("/nonexistent/ca.pem".into()),
        ..full
    };
    let e = Publisher::open(&address, &missing, "src", "slot")
        .err()
        .expect("no such CA file");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
}

#[test]
fn a_consumer_shows_where_the_stream_removed_messages_it_never_had() {
    let Some(address) = address("NATS removed messages", "GAP") else {
        return;
    };
    let options = ClientOptions::default();
    let mut gone = Publisher::open(&address, &options, "src", "old").expect("open");
    for i in 0..3u8 {
        gone.publish(
            Bytes::from(vec![i; 4]),
            &stored(u64::from(i), 0x10 + u64::from(i), 0, 1, true),
        )
        .expect("publish");
    }
    let mut kept = Publisher::open(&address, &options, "src", "new").expect("open");
    kept.publish(Bytes::from_static(b"kept"), &stored(0, 0x100, 0, 1, true))
        .expect("publish");
    // The messages of the first subject removed.
    assert_eq!(gone.purge_subject().expect("purge"), 3);
    // A new consumer expects the stream's first message, 1: the stream now starts at 4.
    let mut new = Consumer::open(&address, &options, "new").expect("new");
    assert_eq!(new.goes_on_after(), 0);
    let got = new.next(10, Duration::from_secs(2)).expect("next");
    assert_eq!(got[0].first_sequence, 4);
}
