//! Shared fixture of the `noise_*` fuzz targets: fixed keys and a test root, so every run (and
//! every checked-in seed) sees the same handshake states.
#![allow(dead_code)]

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_noise::{
    CertIssuer, ClientConfig, ExpectClientFinish, ExpectClientHello, ExpectServerHello, Intro,
    KeyPair, ServerConfig, client_hello,
};

pub const NOW: u64 = 1_750_000_000;

pub fn kp(b: u8) -> KeyPair {
    KeyPair::from_private_bytes([b; 32])
}

pub fn issuer() -> CertIssuer {
    CertIssuer::new(kp(1), 0, kp(2)).validity(NOW - 3600, NOW + 3600)
}

pub fn server_config_with_chain(cert_chain: Vec<u8>) -> ServerConfig {
    ServerConfig {
        static_key: kp(3),
        cert_chain,
    }
}

/// The fixed server configuration (its chain is signed once per process).
pub fn server_config() -> ServerConfig {
    static CHAIN: OnceLock<Vec<u8>> = OnceLock::new();
    let chain =
        CHAIN.get_or_init(|| issuer().issue(kp(3).public(), 4, &mut ChaCha20Rng::seed_from_u64(0)));
    server_config_with_chain(chain.clone())
}

pub fn client_config() -> ClientConfig {
    ClientConfig::new(kp(5)).with_trust_root(issuer().trust_root())
}

/// A client that sent its hello, and that hello.
pub fn client() -> (ExpectServerHello, Vec<u8>) {
    client_hello(client_config(), kp(6)).expect("fixed client hello")
}

/// A server that answered the fixed client's hello, and its answer.
pub fn server_after_hello(config: ServerConfig) -> (ExpectClientFinish, Vec<u8>) {
    let (_, hello) = client();
    ExpectClientHello::new(config)
        .read_client_hello(&Intro::default(), &hello, kp(7))
        .expect("fixed server hello")
}
