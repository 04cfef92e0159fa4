//! A COPY BINARY tuple that claims 32767 fields does not make `CopyReader` allocate for them
//! before their bytes are there.

use scry_pg::copy::{CopyError, CopyReader, SIGNATURE};
use scry_testkit::alloc::requested;

#[global_allocator]
static GLOBAL: scry_testkit::alloc::Counting = scry_testkit::alloc::Counting;

#[test]
fn a_claimed_field_count_is_not_allocated_up_front() {
    // Header, then a tuple claiming 32767 fields and holding one NULL.
    let mut input = SIGNATURE.to_vec();
    input.extend_from_slice(&[0; 8]);
    input.extend_from_slice(&i16::MAX.to_be_bytes());
    input.extend_from_slice(&(-1i32).to_be_bytes());
    let (rows, allocated) =
        requested(|| CopyReader::new(input.clone()).unwrap().collect::<Vec<_>>());
    assert_eq!(
        rows,
        vec![Err(CopyError::Truncated {
            what: "field length",
            offset: 25,
            needed: 4,
            available: 0,
        })]
    );
    // 32767 fields would be about 1 MiB of slots; the input is 25 bytes.
    assert!(allocated < 4096, "{allocated}");
}
