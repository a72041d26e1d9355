//! `wss://`: a self-signed certificate generated with rcgen (for `localhost`, `127.0.0.1` and
//! `::1`), served with rustls. Clients trust [`TlsIdentity::cert_pem`] as an extra CA.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// Certificate file (DER) in a state directory.
pub const CERT_FILE: &str = "tls-cert.der";
/// Private key file (PKCS#8 DER) in a state directory.
pub const KEY_FILE: &str = "tls-key.der";

/// The server's TLS certificate and key.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

impl TlsIdentity {
    /// A fresh self-signed certificate for the loopback names.
    pub fn generate() -> Result<Self> {
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let ck = rcgen::generate_simple_self_signed(names).map_err(tls_err)?;
        Ok(Self {
            cert_der: ck.cert.der().to_vec(),
            key_der: ck.signing_key.serialize_der(),
        })
    }

    /// Loads the certificate and key from `dir`, or generates and writes them there.
    pub fn load_or_generate(dir: &Path) -> Result<Self> {
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert.exists() && key.exists() {
            return Ok(Self {
                cert_der: std::fs::read(cert)?,
                key_der: std::fs::read(key)?,
            });
        }
        let id = Self::generate()?;
        std::fs::create_dir_all(dir)?;
        std::fs::write(cert, &id.cert_der)?;
        crate::persist::write_private(&key, &id.key_der)?;
        Ok(id)
    }

    /// The certificate, DER.
    #[must_use]
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM (what clients add to their trusted CAs).
    #[must_use]
    pub fn cert_pem(&self) -> String {
        let b64 = B64.encode(&self.cert_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .map_err(tls_err)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
