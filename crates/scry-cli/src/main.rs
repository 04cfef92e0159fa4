//! `scry`: read, check and convert scry `database_event` batches, events and framed streams.
//!
//! Input is detected automatically: a framed stream (starts with the frame magic `SCRY`), else
//! a bare batch, else a bare event; `-` reads standard input. See the crate's README for the
//! commands, the JSON Lines format and the exit codes.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod args;
mod codec;
mod commands;
mod input;
mod interrupt;
mod json;
mod log;
mod metrics;
mod nats;
mod pg;
mod progress;
mod render;
mod retry;
mod schema;
mod stats;
mod value;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use args::{CaptureSource, Cli, Command, ConvertTo, EncodeTo};
use commands::convert::Target;
use commands::dump::Filter;
use commands::{CliError, EXIT_INVALID, EXIT_OK};
use scry_codec::frame::FrameEncoding;

fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Dump {
            file,
            json,
            limit,
            table,
            op,
        } => {
            let filter = Filter {
                limit,
                tables: table,
                ops: op,
            };
            commands::dump::run(&file, json, &filter).map(|()| EXIT_OK)
        }
        Command::Stats { file } => commands::stats::run(&file).map(|()| EXIT_OK),
        Command::Validate { file } => commands::validate::run(&file).map(|verdict| {
            if verdict.problems == 0 {
                EXIT_OK
            } else {
                EXIT_INVALID
            }
        }),
        Command::Convert {
            to,
            framed,
            input,
            output,
        } => {
            let target = match to {
                ConvertTo::Compact => Target::Binary(FrameEncoding::Compact),
                ConvertTo::Compat => Target::Binary(FrameEncoding::Compat),
                ConvertTo::Json => Target::Json,
            };
            commands::convert::run(&input, &output, target, framed).map(|()| EXIT_OK)
        }
        Command::Encode {
            to,
            framed,
            input,
            output,
        } => commands::encode::run(&input, &output, to.encoding(), framed).map(|()| EXIT_OK),
        Command::Snapshot {
            conninfo,
            table,
            out,
            to,
            jobs,
        } => {
            let encoding = match to {
                EncodeTo::Compat => scry_codec::Encoding::Compat,
                EncodeTo::Compact => scry_codec::Encoding::Compact,
            };
            let options = commands::snapshot::Options {
                tables: &table,
                out: &out,
                encoding,
                jobs: usize::from(jobs),
                imported: None,
                stream: None,
            };
            commands::snapshot::run(&conninfo, options)
                .map_err(|e| CliError::on("source", e))
                .map(|()| EXIT_OK)
        }
        Command::Capture {
            conninfo,
            slot,
            publication,
            create,
            all_tables,
            out,
            until,
            to,
            batch_events,
            ddl,
            messages,
            source,
            snapshot,
            sequences,
            confirm_from,
            origin,
            retry_for,
            heartbeat,
            warn_retained,
        } => {
            let until = args::until_arg(until.as_deref())?;
            if heartbeat.0.is_some() && source != CaptureSource::Stream {
                return Err(CliError::Usage(
                    "--heartbeat needs --source stream (the SQL source reads the slot in pulls)"
                        .into(),
                ));
            }
            let options = commands::capture::Options {
                slot: &slot,
                publication: &publication,
                create,
                all_tables,
                out: &out,
                until,
                encoding: match to {
                    EncodeTo::Compat => scry_codec::Encoding::Compat,
                    EncodeTo::Compact => scry_codec::Encoding::Compact,
                },
                batch_events,
                ddl,
                messages: if messages.iter().any(|m| m == "*") {
                    scry_pg::capture::MessageFilter::All
                } else if messages.is_empty() {
                    scry_pg::capture::MessageFilter::None
                } else {
                    scry_pg::capture::MessageFilter::Prefixes(messages)
                },
                source: match source {
                    CaptureSource::Sql => commands::capture::Source::Sql,
                    CaptureSource::Stream => commands::capture::Source::Stream,
                },
                poll: std::time::Duration::from_millis(200),
                snapshot: snapshot.as_deref(),
                sequences,
                confirm_from: confirm_from.as_deref(),
                origin: origin.as_deref(),
                retry: retry_for,
                rails: watch::Rails {
                    heartbeat: heartbeat.0,
                    warn_retained,
                },
            };
            commands::capture::run(&conninfo, options)
                .map_err(|e| CliError::on("source", e))
                .map(|()| EXIT_OK)
        }
        Command::Replicate {
            source,
            target,
            slot,
            publication,
            table,
            schema,
            jobs,
            split_larger_than,
            origin,
            on_conflict,
            until,
            ddl,
            sequences,
            retry_for,
            metrics,
            heartbeat,
            warn_retained,
        } => {
            let until = args::until_arg(until.as_deref())?;
            if let Some(addr) = &metrics {
                metrics::serve(addr)?;
            }
            let plan = commands::replicate::clone::Plan {
                selection: scry_source::setup::Selection {
                    tables: table,
                    schemas: schema,
                },
                jobs: usize::from(jobs),
                split: split_larger_than,
            };
            let options = commands::replicate::Options {
                given: slot.as_deref().zip(publication.as_deref()),
                plan: &plan,
                origin: origin.as_deref(),
                on_conflict: on_conflict.into(),
                until,
                ddl,
                sequences,
                retry: retry_for,
                rails: watch::Rails {
                    heartbeat: heartbeat.0,
                    warn_retained,
                },
            };
            commands::replicate::run(&source, &target, options).map(|()| EXIT_OK)
        }
        Command::Apply {
            conninfo,
            input,
            origin,
            on_conflict,
            follow,
            retry_for,
        } => {
            let options = commands::apply::Options {
                input: &input,
                origin: origin.as_deref(),
                on_conflict: on_conflict.into(),
                follow,
                retry: retry_for,
            };
            commands::apply::run(&conninfo, options).map(|()| EXIT_OK)
        }
        Command::Drop {
            source,
            target,
            slot,
            publication,
            ddl_trigger,
            origin,
        } => {
            // Without --slot, what `replicate SOURCE TARGET` made for this target.
            let (slot, publication) = match (slot, &target) {
                (Some(slot), _) => (slot, publication),
                (None, Some(t)) => {
                    let mut conn = pg::connect(t).map_err(|e| CliError::on("target", e))?;
                    let name = commands::replicate::clone::derived_name(&mut conn)?;
                    (name.clone(), Some(publication.unwrap_or(name)))
                }
                (None, None) => {
                    return Err(CliError::Usage("--slot, or a TARGET, is needed".into()))
                }
            };
            commands::drop::run(
                &source,
                commands::drop::Options {
                    slot: &slot,
                    publication: publication.as_deref(),
                    ddl_trigger,
                    target: target.as_deref(),
                    origin: origin.as_deref(),
                },
            )
            .map(|()| EXIT_OK)
        }
        Command::Status {
            source,
            target,
            json,
        } => commands::status::run(&source, target.as_deref(), json).map(|()| EXIT_OK),
        Command::Verify {
            source,
            target,
            table,
            schema,
            publication,
            rounds,
        } => {
            let options = commands::verify::Options {
                selection: scry_source::setup::Selection {
                    tables: table,
                    schemas: schema,
                },
                publication,
                rounds,
            };
            commands::verify::run(&source, &target, &options).map(|equal| {
                if equal {
                    EXIT_OK
                } else {
                    EXIT_INVALID
                }
            })
        }
        Command::Load {
            conninfo,
            input,
            create,
            resync,
        } => commands::load::run(&conninfo, &input, create, resync)
            .map_err(|e| CliError::on("target", e))
            .map(|()| EXIT_OK),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::set_format(cli.log_format);
    nats::set_options(scry_nats::ClientOptions {
        creds: cli.nats_creds.clone(),
        ca: cli.nats_ca.clone(),
        client_cert: cli.nats_cert.clone().zip(cli.nats_key.clone()),
    });
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(e) => {
            let code = e.exit_code();
            let (level, event) = match e {
                CliError::Interrupted(_) => (log::Level::Warn, "stopped"),
                _ => (log::Level::Error, "error"),
            };
            log::Event::new(level, event, e.to_string())
                .field("exit_code", code)
                .emit();
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use args::parse_operation;
    use scry_types::OperationType;

    #[test]
    fn operations_parse_by_label_or_variant_name() {
        assert_eq!(parse_operation("insert"), Ok(OperationType::Insert));
        assert_eq!(
            parse_operation("SNAPSHOT_ROW"),
            Ok(OperationType::SnapshotRow)
        );
        assert_eq!(
            parse_operation("SnapshotRow"),
            Ok(OperationType::SnapshotRow)
        );
        assert_eq!(
            parse_operation("ddl_complete"),
            Ok(OperationType::DdlComplete)
        );
        assert!(parse_operation("upsert")
            .is_err_and(|e| e.starts_with("not an operation; one of: insert, update, delete,")));
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
