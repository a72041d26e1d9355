//! A TLS acceptor for `localhost` with a fresh self-signed certificate, for tests that need an
//! https or wss peer (shared by `src/media/http_tests.rs` and `tests/transport.rs`).

use std::sync::Arc;

/// An acceptor presenting a new self-signed certificate for `localhost`, and that
/// certificate's DER (what a client adds to its trusted roots).
pub fn self_signed_localhost() -> (tokio_rustls::TlsAcceptor, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().to_vec();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), der)
}
