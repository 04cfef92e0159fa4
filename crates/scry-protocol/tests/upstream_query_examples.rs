//! scry-protocol 0.1.1's own examples for query events (its crate documentation and README),
//! each kept exactly as published inside a test function (`rustfmt::skip` keeps their layout), so they must compile and run
//! against this facade unchanged. What follows each example checks what it produced.

#[test]
#[rustfmt::skip]
fn crate_doc_serialization_example() {
    // 0.1.1, src/lib.rs, "Example: Serialization".
    use scry_protocol::{QueryEventBuilder, FlatBuffersSerializer};
    use std::time::Duration;

    let event = QueryEventBuilder::new("SELECT * FROM users")
        .connection_id("conn-123")
        .database("mydb")
        .duration(Duration::from_millis(5))
        .build();

    let batch = vec![event];
    let bytes = FlatBuffersSerializer::serialize_batch(&batch, "proxy-1", 0);

    // The bytes are 0.1.1's for the same event.
    let theirs = upstream::FlatBuffersSerializer::serialize_batch(
        &[upstream::QueryEvent {
            event_id: batch[0].event_id.clone(),
            timestamp: batch[0].timestamp,
            query: "SELECT * FROM users".into(),
            params: Vec::new(),
            params_incomplete: false,
            normalized_query: None,
            value_fingerprints: None,
            duration: Duration::from_millis(5),
            rows: None,
            success: true,
            error: None,
            database: "mydb".into(),
            connection_id: "conn-123".into(),
        }],
        "proxy-1",
        0,
    );
    assert_eq!(bytes, theirs);
}

#[test]
#[rustfmt::skip]
fn crate_doc_deserialization_example() {
    // 0.1.1, src/lib.rs, "Example: Deserialization" (its hidden line made visible).
    use scry_protocol::FlexBuffersDeserializer;

    let bytes: Vec<u8> = vec![]; // From serialized batch
    let result = FlexBuffersDeserializer::deserialize_batch(&bytes);
    match result {
        Ok(batch) => {
            println!("Proxy ID: {}", batch.proxy_id);
            println!("Batch seq: {}", batch.batch_seq);
            println!("Events: {}", batch.events.len());
        }
        Err(e) => eprintln!("Deserialization error: {}", e),
    }

    // Empty input is an error, with a message that says why.
    let err = FlexBuffersDeserializer::deserialize_batch(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "FlexBuffers deserialization failed: input of 0 bytes is too short to hold a \
         FlexBuffers root at the root (byte 0)"
    );
}

#[test]
#[rustfmt::skip]
fn readme_examples() -> Result<(), Box<dyn std::error::Error>> {
    // 0.1.1, README.md, "Creating Events".
    use scry_protocol::{QueryEventBuilder, Duration};

    let event = QueryEventBuilder::new("SELECT * FROM users")
        .connection_id("conn-123")
        .database("mydb")
        .duration(Duration::from_millis(5))
        .rows(42)
        .build();
    let (event1, event2, event3) = (event.clone(), event.clone(), event);

    // "Serializing Batches".
    use scry_protocol::FlatBuffersSerializer;

    let events = vec![event1, event2, event3];
    let bytes = FlatBuffersSerializer::serialize_batch(
        &events,
        "proxy-1",  // proxy_id
        0           // batch_seq
    );

    // Send bytes over the network...

    // "Deserializing Batches".
    use scry_protocol::FlexBuffersDeserializer;

    // Receive bytes from the network...
    let batch = FlexBuffersDeserializer::deserialize_batch(&bytes)?;

    println!("Proxy ID: {}", batch.proxy_id);
    println!("Batch seq: {}", batch.batch_seq);

    for event in batch.events {
        println!("Query: {}", event.query);
        println!("Duration: {:?}", event.duration);
        println!("Success: {}", event.success);
    }

    let again = FlexBuffersDeserializer::deserialize_batch(&bytes)?;
    assert_eq!((again.proxy_id.as_str(), again.batch_seq), ("proxy-1", 0));
    assert_eq!(again.events.len(), 3);
    assert_eq!(again.events[2].rows, Some(42));
    Ok(())
}
