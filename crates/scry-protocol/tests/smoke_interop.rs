use scry_testkit::Gen;

fn to_upstream(
    b: &scry_protocol::DatabaseEventBatch,
) -> upstream::database_event::DatabaseEventBatch {
    let bytes = scry_protocol::serialize_batch(b).unwrap();
    upstream::database_event::read_batch(&bytes).unwrap()
}

#[test]
fn smoke() {
    let mut g = Gen::new(3);
    for i in 0..300 {
        let b = g.batch(4);
        let ours = scry_protocol::serialize_batch(&b).unwrap();
        let up = to_upstream(&b);
        let theirs = upstream::database_event::serialize_batch(&up).unwrap();
        assert_eq!(ours, theirs, "case {i}");
        assert_eq!(scry_protocol::read_batch(&theirs).unwrap(), b);
    }
}
