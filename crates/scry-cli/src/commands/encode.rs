//! `scry encode`: JSON Lines (as `dump --json` writes them) back to bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use scry_codec::frame::FrameEncoding;

use super::convert::write_payloads;
use super::{CliError, Output};
use crate::json::{read_lines, JsonError};

/// Reads the JSON Lines of `input` and writes the batches and events they describe to
/// `output` in `encoding`, framed or bare.
pub fn run(
    input: &str,
    output: &str,
    encoding: FrameEncoding,
    framed: bool,
) -> Result<(), CliError> {
    Output::check_distinct(input, output)?;
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(File::open(input).map_err(|source| {
            JsonError::Io {
                name: input.to_owned(),
                source,
            }
        })?))
    };
    let payloads = read_lines(input, reader)?;
    write_payloads(payloads.into_iter().map(Ok), output, encoding, framed)
}
