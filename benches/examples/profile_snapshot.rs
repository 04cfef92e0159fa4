//! Encodes the committed COPY fixture into compact frames in a loop, for profilers
//! (`perf record`). Usage: `profile_snapshot [iterations]`.

use bytes::Bytes;
use scry_codec::Encoding;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder};
use scry_types::{ColumnMeta, RelationMeta};

const FIXTURE: &[u8] = include_bytes!("../../crates/scry-pg/fixtures/all_types.copy");
const FIXTURE_RELATION: &str = include_str!("../../crates/scry-pg/fixtures/all_types.relation");

fn main() {
    let mut lines = FIXTURE_RELATION.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let columns = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ColumnMeta::new(f[0], f[1].parse().unwrap_or(0))
                .type_modifier(f[2].parse().unwrap_or(-1))
        })
        .collect();
    let rel = RelationMeta::new(head[0].parse().unwrap_or(1), head[1], head[2], columns);
    let adapter = SnapshotAdapter::new(rel).timestamp_us(1);
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    // `PROFILE_EMPTY=1`: the fixture's table without its rows (the cost of a table).
    let copy = if std::env::var_os("PROFILE_EMPTY").is_some() {
        let header = 11 + 4 + 4;
        let mut empty = FIXTURE[..header].to_vec();
        empty.extend_from_slice(&[0xFF, 0xFF]);
        Bytes::from(empty)
    } else {
        Bytes::from_static(FIXTURE)
    };
    let mut encoder = SnapshotEncoder::new(Encoding::Compact);
    let mut out = Vec::new();
    let mut total = 0;
    for _ in 0..iterations {
        out.clear();
        encoder
            .append_table_chunks(&adapter, [Ok(copy.clone())], &mut out)
            .expect("the fixture encodes");
        total += out.len();
    }
    println!("{total}");
}
