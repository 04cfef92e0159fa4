//! `scry_pg::copy::CopyReader` on arbitrary bytes: every row until the end or an error; the
//! rows read, written again with `CopyWriter`, read back equal. Rows are decoded as values
//! of the fixture table's column types.
#![no_main]

use scry_pg::copy::{CopyReader, CopyWriter};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CopyReader::new(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let mut rows = Vec::new();
    let mut clean_end = true;
    for row in reader {
        match row {
            Ok(row) => {
                for (i, field) in row.fields().iter().enumerate() {
                    if let Some(bytes) = field {
                        let oids = scry_fuzz::fixture_oids();
                        let oid = oids[i % oids.len()];
                        let _ = scry_pg::decode(oid, bytes).map(|v| v.to_text());
                    }
                }
                rows.push(row);
                assert!(
                    rows.len() <= data.len() / 2,
                    "more rows than the input can hold"
                );
            }
            Err(e) => {
                let _ = e.to_string();
                clean_end = false;
            }
        }
    }
    if clean_end {
        let mut writer = CopyWriter::new();
        for row in &rows {
            let fields: Vec<Option<&[u8]>> = row.fields().iter().map(|f| f.as_deref()).collect();
            writer.write_row(&fields).expect("a row read writes");
        }
        let again: Vec<_> = CopyReader::new(writer.finish())
            .expect("written header reads")
            .collect::<Result<_, _>>()
            .expect("written rows read");
        assert_eq!(again, rows);
    }
});
