//! scry's one connection layer to PostgreSQL: every command and library entry point that
//! talks to a server goes through [`Conn`].
//!
//! It speaks the frontend protocol itself (the messages and authentication of
//! `postgres-protocol`, the crate tokio-postgres is built on), on the caller's thread, with
//! no async runtime:
//! - simple queries, with their rows as text;
//! - pipelines of many prepared statements closed by a single Sync (what the applier needs
//!   and no client library offers: the server answers without a flush after each statement,
//!   and after an error skips every statement up to the Sync by itself);
//! - statements with text parameters (`query`);
//! - `COPY ... TO STDOUT` as a reader and `COPY ... FROM STDIN` as a writer;
//! - in replication mode (`replication=database`), replication commands and the logical
//!   replication stream (`START_REPLICATION`, XLogData, keepalives, standby status updates).
//!
//! A well-kept general client was the other candidate. tokio-postgres ends every request
//! with a Sync, has no replication protocol, and brings an async runtime. pgwire-replication
//! does replication only. One layer that does all of it keeps parsing, authentication and
//! errors the same for every command.

pub mod config;
mod conn;
mod passfile;
mod tls;

pub use config::{ConfigError, ConnConfig, SslMode};
pub use conn::{
    pipe, while_in_use, Answer, Conn, CopyBoth, CopyIn, CopyOut, DbError, Rows, WireError, PIECE,
};
