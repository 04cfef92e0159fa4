//! Encodes the benchmark workloads in a loop, for profilers (`valgrind --tool=callgrind`).
//! Usage: `profile_encode [small|large|bare] [compat|compact|upstream] [iterations]`; `bare`
//! is `small` without the rows, to tell the cost of the event maps from that of the values;
//! `upstream` runs scry-protocol 0.1.1's `serialize_batch` on the same batch, so both
//! instruction counts come from the same driver.

use scry_codec::{serialize_batch_with, Encoding};
use scry_testkit::workloads;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch = match args.get(1).map(String::as_str) {
        Some("large") => workloads::large_rows(100),
        Some("bare") => {
            let mut b = workloads::small_rows(1000);
            b.events.iter_mut().for_each(|e| e.new_row = None);
            b
        }
        _ => workloads::small_rows(1000),
    };
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let encoding = match args.get(2).map(String::as_str) {
        Some("compact") => Encoding::Compact,
        Some("upstream") => {
            let bytes = serialize_batch_with(&batch, Encoding::Compat).unwrap_or_default();
            let Ok(theirs) = upstream::database_event::read_batch(&bytes) else {
                eprintln!("0.1.1 cannot read the batch");
                return;
            };
            let mut total = 0;
            for _ in 0..iterations {
                total += upstream::database_event::serialize_batch(&theirs).map_or(0, |b| b.len());
            }
            println!("{total}");
            return;
        }
        _ => Encoding::Compat,
    };
    let mut total = 0;
    for _ in 0..iterations {
        total += serialize_batch_with(&batch, encoding).map_or(0, |b| b.len());
    }
    println!("{total}");
}
