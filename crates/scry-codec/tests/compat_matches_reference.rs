//! The fast Compat writer gives exactly the serde path's bytes (which are 0.1.1's).

use scry_codec::{reference, serialize_batch, serialize_event};
use scry_testkit::Gen;

#[test]
fn gen_batches_quick() {
    for seed in 0..200 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        let b = g.batch(4);
        let fast = serialize_batch(&b).unwrap();
        let slow = reference::serialize_batch(&b).unwrap();
        if fast != slow {
            let n = fast.iter().zip(&slow).position(|(a, b)| a != b);
            panic!(
                "seed {seed}: first difference at {n:?} of {} / {}",
                fast.len(),
                slow.len()
            );
        }
        let e = g.event();
        assert_eq!(
            serialize_event(&e).unwrap(),
            reference::serialize_event(&e).unwrap(),
            "event seed {seed}"
        );
    }
}
