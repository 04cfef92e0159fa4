//! The `START_REPLICATION` command for a pgoutput slot, with the protocol the server speaks.

use scry_types::Lsn;

use crate::text::{quote_ident, quote_literal};

/// The pgoutput protocol version to ask a server of `server_version_num` for: 4 from
/// PostgreSQL 16, 3 on 15, 2 on 14 (all stream transactions in progress: a large one comes
/// as it is written instead of spilling to disk on the server first), 1 before. Protocol 4
/// is asked with `streaming 'on'`, not `'parallel'`: parallel streaming lets a subscriber
/// apply several transactions in progress at once, and scry applies each at its commit, so
/// its messages are those of protocol 3.
#[must_use]
pub fn protocol_for(server_version_num: u32) -> u32 {
    match server_version_num {
        160_000.. => 4,
        150_000.. => 3,
        140_000.. => 2,
        _ => 1,
    }
}

/// `START_REPLICATION SLOT slot LOGICAL from (...)` for the tables of `publication` in
/// pgoutput `protocol` (most often [`protocol_for`] the server): in-progress transactions
/// streamed from protocol 2 on (`streaming 'on'`), values in binary (PostgreSQL 14 on) and
/// logical messages.
#[must_use]
pub fn start_replication(
    slot: &str,
    from: u64,
    publication: &str,
    server_version_num: u32,
    protocol: u32,
) -> String {
    let mut options = format!(
        "proto_version '{protocol}', publication_names {}, messages 'true'",
        quote_literal(&quote_ident(publication))
    );
    if server_version_num >= 140_000 {
        options.push_str(", binary 'true'");
    }
    if protocol >= 2 {
        options.push_str(", streaming 'on'");
    }
    format!(
        "START_REPLICATION SLOT {} LOGICAL {} ({options})",
        quote_ident(slot),
        Lsn(from)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_gets_the_protocol_it_speaks() {
        assert_eq!(protocol_for(130_012), 1);
        assert_eq!(protocol_for(140_023), 2);
        assert_eq!(protocol_for(150_018), 3);
        assert_eq!(protocol_for(160_014), 4);
        assert_eq!(protocol_for(180_004), 4);
        assert_eq!(
            start_replication("s", 0x16_B374_D848, "p", 170_010, protocol_for(170_010)),
            "START_REPLICATION SLOT \"s\" LOGICAL 16/B374D848 (proto_version '4', \
             publication_names '\"p\"', messages 'true', binary 'true', streaming 'on')"
        );
        assert_eq!(
            start_replication("s", 0, "p", 140_023, protocol_for(140_023)),
            "START_REPLICATION SLOT \"s\" LOGICAL 0/0 (proto_version '2', publication_names \
             '\"p\"', messages 'true', binary 'true', streaming 'on')"
        );
        // Protocol 1 asked of a new server: no streaming.
        assert_eq!(
            start_replication("s", 0, "p", 170_010, 1),
            "START_REPLICATION SLOT \"s\" LOGICAL 0/0 (proto_version '1', publication_names \
             '\"p\"', messages 'true', binary 'true')"
        );
    }
}
