//! Authentication at connection: trust, a cleartext password, MD5 or SCRAM-SHA-256.

use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{unexpected, Conn, DbError, WireError};
use crate::config::ChannelBinding;

impl Conn {
    /// Answers the server's authentication requests until it says AuthenticationOk.
    ///
    /// Over TLS (`binding`: the server certificate's hash), SCRAM binds the channel
    /// (SCRAM-SHA-256-PLUS) when the server offers it, unless `policy` disables it; under
    /// `ChannelBinding::Require` a login without it fails.
    pub(super) fn authenticate(
        &mut self,
        user: &[u8],
        password: Option<&[u8]>,
        binding: Option<&[u8]>,
        policy: ChannelBinding,
    ) -> Result<(), WireError> {
        let need = || {
            WireError::Protocol(
                "the server asks for a password, and none is given (password=, PGPASSWORD or \
                 the password file ~/.pgpass)"
                    .into(),
            )
        };
        let mut scram = None;
        let mut bound = false;
        loop {
            match self.next()? {
                Message::AuthenticationOk if policy == ChannelBinding::Require && !bound => {
                    return Err(WireError::Protocol(
                        "channel_binding=require, and the server logged in without it (it needs \
                         SCRAM over TLS)"
                            .into(),
                    ))
                }
                Message::AuthenticationOk => return Ok(()),
                Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password.ok_or_else(need)?, &mut self.output)?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash = md5_hash(user, password.ok_or_else(need)?, body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.output)?;
                }
                Message::AuthenticationSasl(body) => {
                    use fallible_iterator::FallibleIterator;
                    let mut offered = body.mechanisms();
                    let (mut plain, mut plus) = (false, false);
                    while let Some(m) = offered.next()? {
                        plain |= m == sasl::SCRAM_SHA_256;
                        plus |= m == sasl::SCRAM_SHA_256_PLUS;
                    }
                    let password = password.ok_or_else(need)?;
                    let (mechanism, channel) = match binding {
                        Some(hash) if plus && policy != ChannelBinding::Disable => {
                            bound = true;
                            (
                                sasl::SCRAM_SHA_256_PLUS,
                                sasl::ChannelBinding::tls_server_end_point(hash.to_vec()),
                            )
                        }
                        _ if policy == ChannelBinding::Require => {
                            return Err(WireError::Protocol(
                                "channel_binding=require, and the server offers no \
                                 SCRAM-SHA-256-PLUS over this connection (it needs TLS)"
                                    .into(),
                            ))
                        }
                        Some(_) if plain && policy != ChannelBinding::Disable => {
                            (sasl::SCRAM_SHA_256, sasl::ChannelBinding::unrequested())
                        }
                        _ if plain => (sasl::SCRAM_SHA_256, sasl::ChannelBinding::unsupported()),
                        _ => {
                            return Err(WireError::Protocol(
                                "the server offers no SASL mechanism this client knows".into(),
                            ))
                        }
                    };
                    let s = sasl::ScramSha256::new(password, channel);
                    frontend::sasl_initial_response(mechanism, s.message(), &mut self.output)?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let s = scram.as_mut().ok_or_else(|| {
                        WireError::Protocol("a SASL step before SASL began".into())
                    })?;
                    s.update(body.data())?;
                    frontend::sasl_response(s.message(), &mut self.output)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let s = scram.as_mut().ok_or_else(|| {
                        WireError::Protocol("a SASL end before SASL began".into())
                    })?;
                    s.finish(body.data())?;
                    continue;
                }
                Message::ErrorResponse(body) => {
                    return Err(WireError::Server(DbError::parse(&body)))
                }
                other => return Err(unexpected(&other, "during authentication")),
            }
            self.send()?;
        }
    }
}
