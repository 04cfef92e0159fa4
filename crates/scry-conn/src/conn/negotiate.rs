//! Which tries a connection makes at a host under its `sslmode`, and the TLS request and
//! handshake of each.

use std::io::{Read, Write};

use super::stream::Stream;
use super::WireError;
use crate::config::{ConnConfig, Host, SslMode};

/// One try at a host: a plain connection, or TLS (`optional`: the server may say no, and
/// the connection goes on in plain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    Plain,
    Tls { optional: bool },
}

/// The tries `config`'s sslmode makes at `host`, in order (a Unix socket is never TLS).
pub(super) fn attempts(config: &ConnConfig, host: &Host) -> Vec<Attempt> {
    if host.is_socket() {
        return vec![Attempt::Plain];
    }
    match config.sslmode {
        SslMode::Disable => vec![Attempt::Plain],
        SslMode::Allow => vec![Attempt::Plain, Attempt::Tls { optional: false }],
        SslMode::Prefer => vec![Attempt::Tls { optional: true }],
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            vec![Attempt::Tls { optional: false }]
        }
    }
}

/// The TLS request (an SSLRequest, or TLS from the first byte under `sslnegotiation=direct`)
/// and handshake `attempt` asks for; the stream to speak the protocol on, and the server
/// certificate's hash for channel binding when it is TLS.
pub(super) fn negotiate(
    stream: Stream,
    host: &Host,
    config: &ConnConfig,
    attempt: Attempt,
) -> Result<(Stream, Option<Vec<u8>>), WireError> {
    let optional = match attempt {
        Attempt::Plain => return Ok((stream, None)),
        Attempt::Tls { optional } => optional,
    };
    let Stream::Tcp(mut sock) = stream else {
        return Ok((stream, None));
    };
    if !config.direct_tls {
        // SSLRequest: length 8, code 80877103; the server answers one byte.
        sock.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])?;
        let mut answer = [0u8; 1];
        sock.read_exact(&mut answer)?;
        match answer[0] {
            b'S' => {}
            b'N' if optional => return Ok((Stream::Tcp(sock), None)),
            b'N' => {
                return Err(WireError::Protocol(
                    "the server does not accept TLS (ssl = off), and the sslmode asks for it"
                        .into(),
                ))
            }
            other => {
                return Err(WireError::Protocol(format!(
                    "the server answered the TLS request with {other:#04x}, not S or N"
                )))
            }
        }
    }
    let tls = crate::tls::Tls::handshake(sock, &host.name, config)?;
    let binding = tls.end_point.clone();
    Ok((Stream::Tls(Box::new(tls)), binding))
}
