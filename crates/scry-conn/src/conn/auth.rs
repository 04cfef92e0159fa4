//! Authentication at connection: trust, a cleartext password, MD5 or SCRAM-SHA-256.

use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{unexpected, Conn, DbError, WireError};

impl Conn {
    /// Answers the server's authentication requests until it says AuthenticationOk.
    pub(super) fn authenticate(
        &mut self,
        user: &[u8],
        password: Option<&[u8]>,
    ) -> Result<(), WireError> {
        let need = || {
            WireError::Protocol(
                "the server asks for a password, and none is given (password=, PGPASSWORD or \
                 the password file ~/.pgpass)"
                    .into(),
            )
        };
        let mut scram = None;
        loop {
            match self.next()? {
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
                    let mut scram_offered = false;
                    while let Some(m) = offered.next()? {
                        scram_offered |= m == sasl::SCRAM_SHA_256;
                    }
                    if !scram_offered {
                        return Err(WireError::Protocol(
                            "the server offers no SASL mechanism this client knows".into(),
                        ));
                    }
                    let s = sasl::ScramSha256::new(
                        password.ok_or_else(need)?,
                        sasl::ChannelBinding::unsupported(),
                    );
                    frontend::sasl_initial_response(
                        sasl::SCRAM_SHA_256,
                        s.message(),
                        &mut self.output,
                    )?;
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
