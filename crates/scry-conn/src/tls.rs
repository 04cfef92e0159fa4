//! TLS with libpq's `sslmode` semantics, over rustls (aws-lc-rs provider, post-quantum key
//! exchange preferred).
//!
//! - `require` (and `prefer`, `allow` when the server takes TLS) encrypts without checking
//!   the certificate, unless a root certificate file exists: then, as libpq does, as
//!   `verify-ca`. The handshake's signatures are still checked.
//! - `verify-ca`: the chain must end at a trusted root (`sslrootcert`, the system's with
//!   `system`); any name.
//! - `verify-full`: also the host name, against the certificate's subject alternative names.
//!
//! A client certificate (`sslcert`, `sslkey`) is offered when given. The session keeps the
//! server certificate's hash for SCRAM channel binding (`tls-server-end-point`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};

use crate::config::{ConnConfig, RootCert, SslMode};
use crate::WireError;

/// A TLS session over a TCP socket.
pub(crate) struct Tls {
    conn: ClientConnection,
    sock: TcpStream,
    /// The hash of the server's certificate, for SCRAM channel binding.
    pub(crate) end_point: Option<Vec<u8>>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls configuration for `config`'s sslmode and files.
fn client_config(config: &ConnConfig) -> Result<Arc<ClientConfig>, WireError> {
    let provider = provider();
    let roots = roots(config)?;
    let verifier: Arc<dyn ServerCertVerifier> = match (config.sslmode, roots) {
        (SslMode::VerifyFull, Some(roots)) => {
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| {
                    WireError::Protocol(format!("TLS: cannot use the root certificates: {e}"))
                })?
        }
        (SslMode::VerifyCa | SslMode::Require, Some(roots)) => Arc::new(AnyName(
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| {
                    WireError::Protocol(format!("TLS: cannot use the root certificates: {e}"))
                })?,
        )),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(WireError::Protocol(format!(
                "sslmode={} needs trusted roots: give sslrootcert (a PEM file, or system), or \
                 put them in ~/.postgresql/root.crt",
                mode_name(config.sslmode)
            )))
        }
        _ => Arc::new(Unchecked(provider.clone())),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WireError::Protocol(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut tls = match (&config.sslcert, &config.sslkey) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| file_error("sslcert", cert, &e))?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("sslkey", key, &e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| WireError::Protocol(format!("TLS: the client certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    if config.direct_tls {
        tls.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(tls))
}

fn file_error(key: &str, path: &std::path::Path, e: &dyn std::fmt::Display) -> WireError {
    WireError::Protocol(format!("TLS: cannot read {key} {}: {e}", path.display()))
}

/// The trusted roots, when there are any: the file's or the system's.
fn roots(config: &ConnConfig) -> Result<Option<Arc<RootCertStore>>, WireError> {
    let mut store = RootCertStore::empty();
    match &config.sslrootcert {
        None => return Ok(None),
        Some(RootCert::File(path)) => {
            if !path.exists() && !config.sslmode.verifies() {
                return Ok(None);
            }
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| file_error("sslrootcert", path, &e))?;
            for cert in certs {
                store.add(cert).map_err(|e| {
                    WireError::Protocol(format!("TLS: sslrootcert {}: {e}", path.display()))
                })?;
            }
        }
        Some(RootCert::System) => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(WireError::Protocol(
                    "sslrootcert=system: the system's trust store holds no certificate".into(),
                ));
            }
        }
    }
    Ok(Some(Arc::new(store)))
}

fn mode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Allow => "allow",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

impl Tls {
    /// The handshake with the server `host` over `sock` (blocking), as `config` asks.
    pub(crate) fn handshake(
        mut sock: TcpStream,
        host: &str,
        config: &ConnConfig,
    ) -> Result<Self, WireError> {
        let tls = client_config(config)?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| WireError::Protocol(format!("TLS: {host} is not a valid server name")))?;
        let mut conn = ClientConnection::new(tls, name)
            .map_err(|e| WireError::Protocol(format!("TLS: {e}")))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)
                .map_err(|e| handshake_error(host, &e))?;
        }
        let end_point = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| end_point_hash(cert.as_ref()));
        Ok(Self {
            conn,
            sock,
            end_point,
        })
    }

    pub(crate) fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Writes out the TLS records waiting; `WouldBlock` when the socket is full.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        Ok(())
    }

    /// True when decrypted bytes wait to be read, or the peer has closed.
    pub(crate) fn has_plaintext(&mut self) -> bool {
        self.conn.process_new_packets().map_or(true, |state| {
            state.plaintext_bytes_to_read() > 0 || state.peer_has_closed()
        })
    }

    /// True when TLS records wait to be written (after trying to write them).
    pub(crate) fn pending_write(&mut self) -> bool {
        let _ = self.flush_tls();
        self.conn.wants_write()
    }

    /// Closes the session (close_notify, best effort) and the socket.
    pub(crate) fn shutdown(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

/// A handshake's failure as the user needs it: what is wrong with the certificate.
fn handshake_error(host: &str, e: &io::Error) -> WireError {
    let why = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer => {
                "the server's certificate is not signed by a trusted root (see sslrootcert)"
                    .to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the server's certificate is not for {host} (sslmode=verify-full checks the name)")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            other => format!("the server's certificate is refused: {other:?}"),
        },
        Some(other) => other.to_string(),
        None => e.to_string(),
    };
    WireError::Protocol(format!("TLS handshake failed: {why}"))
}

impl Read for Tls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let _ = self.flush_tls();
            if self.conn.read_tls(&mut self.sock)? == 0 {
                // The socket closed: what rustls says of it (a clean close, or an abrupt one).
                self.conn
                    .process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                return match self.conn.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    other => other,
                };
            }
            self.conn
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl Write for Tls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.flush_tls()?;
        let n = self.conn.writer().write(buf)?;
        match self.flush_tls() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}

/// The `tls-server-end-point` channel binding data: the certificate's hash, with SHA-256
/// unless it is signed with SHA-384 or SHA-512 (RFC 5929; MD5 and SHA-1 become SHA-256).
fn end_point_hash(der: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match signature_hash(der) {
        Some(384) => sha2::Sha384::digest(der).to_vec(),
        Some(512) => sha2::Sha512::digest(der).to_vec(),
        _ => sha2::Sha256::digest(der).to_vec(),
    }
}

/// The SHA-2 size of the certificate's signature algorithm, from its OID (the second
/// element of the certificate's outer SEQUENCE).
fn signature_hash(der: &[u8]) -> Option<u32> {
    /// The content of the DER element at the start of `bytes`, and what follows it.
    fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *bytes.first()?;
        let first = *bytes.get(1)?;
        let (len, start) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            let mut len = 0usize;
            for b in bytes.get(2..2 + n)? {
                len = len.checked_mul(256)?.checked_add(usize::from(*b))?;
            }
            (len, 2 + n)
        };
        let content = bytes.get(start..start.checked_add(len)?)?;
        Some((tag, content, bytes.get(start + len..)?))
    }
    let (_, certificate, _) = element(der)?;
    let (_, _, after_tbs) = element(certificate)?;
    let (_, algorithm, _) = element(after_tbs)?;
    let (tag, oid, _) = element(algorithm)?;
    if tag != 0x06 {
        return None;
    }
    // sha{384,512}WithRSAEncryption 1.2.840.113549.1.1.{12,13}; ecdsa-with-SHA{384,512}
    // 1.2.840.10045.4.3.{3,4}; RSASSA-PSS is read as SHA-256 (its hash is in parameters).
    match oid {
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c] => Some(384),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d] => Some(512),
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03] => Some(384),
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04] => Some(512),
        _ => Some(256),
    }
}

/// Checks the handshake's signatures, not the certificate (`sslmode` require, prefer,
/// allow without roots): encryption against a passive listener, as libpq gives.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The chain checked against the roots, the name not (`verify-ca`).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
