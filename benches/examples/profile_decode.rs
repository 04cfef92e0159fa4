//! Decodes the benchmark workloads in a loop, for profilers (`valgrind --tool=callgrind`).
//! Usage: `profile_decode [parse|scan|read|read_bytes|upstream|none] [small|large] [compat|compact]
//! [iterations]`; `upstream` is scry-protocol 0.1.1's `read_batch`; `none` only builds the
//! input (the fixed cost the per-iteration figure leaves out).

use bytes::Bytes;
use scry_benches::view_scan;
use scry_codec::{read_batch, read_batch_bytes, serialize_batch_with, BatchView, Encoding};
use scry_testkit::workloads;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch = match args.get(2).map(String::as_str) {
        Some("large") => workloads::large_rows(100),
        _ => workloads::small_rows(1000),
    };
    let encoding = match args.get(3).map(String::as_str) {
        Some("compact") => Encoding::Compact,
        _ => Encoding::Compat,
    };
    let iterations: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(10);
    let bytes = serialize_batch_with(&batch, encoding).unwrap_or_default();
    let shared = Bytes::from(bytes.clone());
    let mut total = 0;
    for _ in 0..iterations {
        total += match args.get(1).map(String::as_str) {
            Some("parse") => BatchView::parse(&bytes).map_or(0, |v| v.len()),
            // As the `view_scan` benchmark does.
            Some("scan") => view_scan(&bytes).map_or(0, |(len, sum)| len + sum as usize),
            Some("read") => read_batch(&bytes).map_or(0, |b| b.events.len()),
            Some("read_bytes") => read_batch_bytes(&shared).map_or(0, |b| b.events.len()),
            Some("upstream") => {
                upstream::database_event::read_batch(&bytes).map_or(0, |b| b.events.len())
            }
            _ => 0,
        };
    }
    println!("{total}");
}
