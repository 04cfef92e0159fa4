//! The encoder's output read by the decoder: every reader reads what every writer writes, in
//! both encodings, and the compact encoding is zero-copy through the view and `read_batch_bytes`.

use std::borrow::Cow;

use bytes::Bytes;
use scry_codec::{
    read_batch, read_batch_bytes, read_event, serialize_batch_with, serialize_event_with,
    BatchView, Encoding, EventView,
};
use scry_testkit::{workloads, Gen};

const ENCODINGS: [Encoding; 2] = [Encoding::Compat, Encoding::Compact];

#[test]
fn generated_batches_and_events_read_back_in_both_encodings() {
    for seed in 0..1500u64 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = seed % 100 == 0;
        let batch = g.batch(4);
        let event = g.event();
        for encoding in ENCODINGS {
            let bytes = serialize_batch_with(&batch, encoding).unwrap();
            assert_eq!(
                read_batch(&bytes).unwrap(),
                batch,
                "seed {seed} {encoding:?}"
            );
            let shared = Bytes::from(bytes.clone());
            assert_eq!(
                read_batch_bytes(&shared).unwrap(),
                batch,
                "seed {seed} {encoding:?}"
            );
            let view = BatchView::parse(&bytes).unwrap();
            assert_eq!(view.to_owned(), batch, "seed {seed} {encoding:?}");

            let bytes = serialize_event_with(&event, encoding).unwrap();
            assert_eq!(
                read_event(&bytes).unwrap(),
                event,
                "seed {seed} {encoding:?}"
            );
            let view = EventView::parse(&bytes).unwrap();
            assert_eq!(view.to_owned_event(), event, "seed {seed} {encoding:?}");
        }
    }
}

#[test]
fn the_view_reports_the_encoding_of_batches_with_enums() {
    let batch = workloads::small_rows(3);
    for encoding in ENCODINGS {
        let bytes = serialize_batch_with(&batch, encoding).unwrap();
        assert_eq!(BatchView::parse(&bytes).unwrap().encoding(), encoding);
    }
}

#[test]
fn compact_large_rows_are_borrowed_by_the_view_and_shared_by_read_batch_bytes() {
    let batch = workloads::large_rows(20);
    let bytes = Bytes::from(serialize_batch_with(&batch, Encoding::Compact).unwrap());
    let payload = workloads::payload_bytes(&batch);
    assert!(
        bytes.len() as f64 <= payload as f64 * 1.15,
        "{} vs {payload}",
        bytes.len()
    );

    let view = BatchView::parse(&bytes).unwrap();
    let mut borrowed = 0;
    for event in view.events() {
        for value in event.new_row().unwrap().values() {
            match value.data() {
                Some(Cow::Borrowed(d)) => {
                    assert!(bytes.as_ptr_range().contains(&d.as_ptr()));
                    borrowed += 1;
                }
                other => panic!("value not borrowed: {other:?}"),
            }
        }
    }
    assert_eq!(borrowed, 40);

    let owned = read_batch_bytes(&bytes).unwrap();
    assert_eq!(owned, batch);
    for event in &owned.events {
        for value in &event.new_row.as_ref().unwrap().values {
            let d = value.data.as_ref().unwrap();
            assert!(bytes.as_ptr_range().contains(&d.as_ptr()), "value copied");
        }
    }
}

#[test]
fn compat_values_over_255_bytes_are_copied_out_of_their_wide_slots() {
    let batch = workloads::large_rows(2);
    let bytes = serialize_batch_with(&batch, Encoding::Compat).unwrap();
    let view = BatchView::parse(&bytes).unwrap();
    let event = view.events().next().unwrap();
    let values: Vec<_> = event
        .new_row()
        .unwrap()
        .values()
        .map(|v| v.data())
        .collect();
    // The 8-byte id is a width-1 vector (contiguous); the 4 KiB body takes 2-byte slots.
    assert!(matches!(values[0], Some(Cow::Borrowed(_))));
    assert!(matches!(values[1], Some(Cow::Owned(ref d)) if d.len() == 4096));
}
