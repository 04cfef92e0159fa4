//! `scry stats`: counts and sizes of a file's content.

use scry_codec::frame::Recovery;

use super::{CliError, Output};
use crate::input::Input;
use crate::stats::Stats;

/// Reads all of `input` and writes its statistics to standard output.
pub fn run(input: &str) -> Result<(), CliError> {
    let mut stats = Stats::default();
    for unit in Input::open(input, Recovery::Stop)? {
        stats.add(&unit?);
    }
    let mut out = Output::create("-")?;
    stats.write(out.writer()).map_err(|e| out.error(e))?;
    out.finish()
}
