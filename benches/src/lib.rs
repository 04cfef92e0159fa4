//! Criterion benchmarks live in `benches/benches/`, and loops for profilers (`valgrind
//! --tool=callgrind`) in `benches/examples/`. This library holds what both run, so a profile
//! measures the loop the benchmark times.

pub mod replication;

use scry_codec::BatchView;
use scry_testkit::workloads;

/// Parses `bytes` as a [`BatchView`], then reads every value's bytes through the views: how
/// many there are and their sum, so that nothing can be skipped. `None` if the bytes are not
/// a batch.
#[must_use]
pub fn view_scan(bytes: &[u8]) -> Option<(usize, u64)> {
    let view = BatchView::parse(bytes).ok()?;
    let (mut len, mut sum) = (0, 0);
    for event in view.events() {
        for row in [event.new_row(), event.old_row()].into_iter().flatten() {
            for value in row.values() {
                if let Some(d) = value.data() {
                    len += d.len();
                    sum += workloads::byte_sum(&d);
                }
            }
        }
    }
    Some((len, sum))
}
