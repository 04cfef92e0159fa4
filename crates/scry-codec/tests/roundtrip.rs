//! Every generated batch and event reads, through every reader, to the value the serde
//! reference path reads.

use bytes::Bytes;
use scry_codec::{
    read_batch, read_batch_bytes, read_event, read_event_bytes, serialize_batch, serialize_event,
    BatchView, Encoding, EventView,
};
use scry_testkit::{reference, Gen};
use scry_types::{DatabaseEvent, DatabaseEventBatch};

fn reference_batch(bytes: &[u8]) -> DatabaseEventBatch {
    reference::read_batch(bytes).expect("reference path reads its own output")
}

fn reference_event(bytes: &[u8]) -> DatabaseEvent {
    reference::read_event(bytes).expect("reference path reads its own output")
}

#[test]
fn generated_batches_read_like_the_reference() {
    for seed in 0..3000u64 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = seed % 50 == 0;
        let batch = g.batch(4);
        let bytes = serialize_batch(&batch).unwrap();
        let expected = reference_batch(&bytes);
        assert_eq!(expected, batch, "seed {seed}: reference");
        assert_eq!(
            read_batch(&bytes).unwrap(),
            expected,
            "seed {seed}: read_batch"
        );
        let shared = Bytes::from(bytes.clone());
        assert_eq!(
            read_batch_bytes(&shared).unwrap(),
            expected,
            "seed {seed}: read_batch_bytes"
        );
        let view = BatchView::parse(&bytes).unwrap();
        assert_eq!(view.encoding(), Encoding::Compat, "seed {seed}");
        assert_eq!(view.len(), expected.events.len());
        assert_eq!(
            DatabaseEventBatch::from(&view),
            expected,
            "seed {seed}: view"
        );
    }
}

#[test]
fn generated_events_read_like_the_reference() {
    for seed in 0..3000u64 {
        let mut g = Gen::new(seed ^ 0x5eed);
        let event = g.event();
        let bytes = serialize_event(&event).unwrap();
        let expected = reference_event(&bytes);
        assert_eq!(expected, event, "seed {seed}: reference");
        assert_eq!(
            read_event(&bytes).unwrap(),
            expected,
            "seed {seed}: read_event"
        );
        assert_eq!(
            read_event_bytes(&Bytes::from(bytes.clone())).unwrap(),
            expected,
            "seed {seed}: read_event_bytes"
        );
        let view = EventView::parse(&bytes).unwrap();
        assert_eq!(view.to_owned_event(), expected, "seed {seed}: view");
    }
}
