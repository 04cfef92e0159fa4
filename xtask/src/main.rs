//! Maintainer tasks (placeholder replaced by the snapshots task).
fn main() {}
