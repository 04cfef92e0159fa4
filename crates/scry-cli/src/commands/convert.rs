//! `scry convert`: re-encode, frame or unframe, or turn into JSON Lines.

use std::io::Write;

use scry_codec::frame::{FrameEncoding, FrameError, FrameWriter, Recovery};

use super::{CliError, Output};
use crate::codec;
use crate::input::{Input, Payload};
use crate::json;

/// What `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Serialized payloads in this encoding.
    Binary(FrameEncoding),
    /// JSON Lines.
    Json,
}

/// Converts `input` to `target`, written to `output`; binary output is framed (one frame per
/// batch or event) when `framed`, else bare (which holds exactly one batch or event).
pub fn run(input: &str, output: &str, target: Target, framed: bool) -> Result<(), CliError> {
    Output::check_distinct(input, output)?;
    let units = Input::open(input, Recovery::Stop)?;
    match target {
        Target::Binary(encoding) => write_payloads(
            units.map(|u| u.map(|u| u.payload).map_err(CliError::from)),
            output,
            encoding,
            framed,
        ),
        Target::Json => {
            if framed {
                return Err(CliError::Usage(
                    "--framed applies to binary output, not to --to json".to_owned(),
                ));
            }
            let mut out = Output::create(output)?;
            for unit in units {
                let unit = unit?;
                let written = match &unit.payload {
                    Payload::Batch(b) => {
                        let all: Vec<usize> = (0..b.events.len()).collect();
                        json::write_batch(out.writer(), b, &unit.origin, &all)
                    }
                    Payload::Event(e) => json::write_event(out.writer(), e, &unit.origin),
                };
                written.map_err(|e| out.error(e))?;
            }
            out.finish()
        }
    }
}

/// Serializes `payloads` in `encoding` and writes them to `output`: as frames when `framed`,
/// else as the one bare payload (more than one is an error, reported before anything is
/// written).
pub fn write_payloads(
    payloads: impl Iterator<Item = Result<Payload, CliError>>,
    output: &str,
    encoding: FrameEncoding,
    framed: bool,
) -> Result<(), CliError> {
    let mut payloads = payloads.enumerate();
    let serialize = |i: usize, p: &Payload| {
        codec::encode(p, encoding).map_err(|source| CliError::Encode {
            what: format!("payload {i}"),
            source,
        })
    };
    if !framed {
        let Some((i, payload)) = payloads.next() else {
            return Err(CliError::Usage(
                "the input holds no batch or event, and bare output needs one".to_owned(),
            ));
        };
        let payload = payload?;
        if payloads.next().is_some() {
            return Err(CliError::Usage(
                "the input holds more than one batch or event, and bare output holds one: use \
                 --framed"
                    .to_owned(),
            ));
        }
        let bytes = serialize(i, &payload)?;
        let mut out = Output::create(output)?;
        out.writer().write_all(&bytes).map_err(|e| out.error(e))?;
        return out.finish();
    }
    let mut out = Output::create(output)?;
    let mut frames = FrameWriter::new(out.writer());
    let mut failed = None;
    for (i, payload) in payloads {
        let written = payload.and_then(|p| {
            let bytes = serialize(i, &p)?;
            frames
                .write_frame(p.kind(), encoding, &bytes)
                .map_err(|e| CliError::Write {
                    name: output.to_owned(),
                    source: match e {
                        FrameError::Io { kind, message, .. } => std::io::Error::new(kind, message),
                        other => std::io::Error::other(other.to_string()),
                    },
                })
        });
        if let Err(e) = written {
            failed = Some(e);
            break;
        }
    }
    // Whatever was written completely stays written, also when a later payload fails.
    let flushed = out.finish();
    match failed {
        Some(e) => Err(e),
        None => flushed,
    }
}
