//! WhatsApp's Noise handshake, frame transport and server certificate chain.
//!
//! `wa-noise` is layer 1 of whatsmeow-rs. It implements `Noise_XX_25519_AESGCM_SHA256` the way
//! WhatsApp Web runs it, both halves: the client for `wa-client`, the server for
//! `wa-testserver`. It does **no IO**: no sockets, no clock, no thread RNG. Bytes, the current
//! time and keys (or a [`rand_core::CryptoRng`]) go in; bytes and typed results come out.
//!
//! ```text
//!  WebSocket bytes ──► FrameDecoder ──► frame ──► handshake state ──► next state + reply
//!                     (cut anywhere)             (ExpectServerHello / ExpectClientHello …)
//!                                        └─────► Transport::decrypt_in_place ──► plaintext
//!  plaintext ──► Transport::encrypt_frame ──► 3-byte length + AES-GCM ciphertext ──► socket
//! ```
//!
//! WhatsApp's deviations from the Noise specification, all implemented here:
//!
//! - the prologue is the 4-byte connection header `W A 6 3` ([`WA_HEADER`]; servers also
//!   accept `W A 6 2`), sent in front of the first frame, optionally after an edge-routing
//!   preamble `E D 0 1` + 3-byte length + routing info ([`Intro`]); only the 4-byte header is
//!   mixed into the hash;
//! - the first message carries no payload and hashes none; messages are `HandshakeMessage`
//!   protobufs; the server's payload is its certificate chain, the client's payload is opaque
//!   here (`wa-client` fills in a `ClientPayload`);
//! - one nonce counter for both directions during the handshake, reset on every key mix;
//!   nonces are 8 zero bytes and a 32-bit big-endian counter;
//! - frames are a 3-byte big-endian length and up to 16 MiB - 1 bytes ([`MAX_FRAME_LEN`]).
//!
//! The server's [`cert`] chain is verified with XEdDSA ([`xeddsa`]) under a configurable
//! [`TrustRoot`] that defaults to WhatsApp's; [`CertIssuer`] signs chains for test servers.
//!
//! # AEAD backend
//!
//! AES-256-GCM comes from `ring`, not RustCrypto's `aes-gcm`: on the development machine (x86-64
//! with AES-NI, VAES and VPCLMULQDQ) `ring` 0.17 sealed and opened 1 KiB and 64 KiB frames
//! 3.2–4.3× faster than `aes-gcm` 0.11 in the same benchmark run (for example 1.8 vs 0.44 GB/s
//! sealing 64 KiB). The figures, and how they compare with `openssl speed`, are in
//! `docs/performance.md`; `cargo bench -p wa-noise` reproduces them. `ring`'s expanded key
//! schedules are not zeroized on drop; every other secret here (private keys, chaining key,
//! handshake hash, derived key bytes) is.
//!
//! # Example
//!
//! A whole handshake in memory, then one frame each way:
//!
//! ```
//! use rand_chacha::ChaCha20Rng;
//! use rand_chacha::rand_core::SeedableRng;
//! use wa_noise::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let now = 1_750_000_000;
//!
//! // A test server: its own root, an intermediate, a leaf for its static key.
//! let issuer = CertIssuer::new(KeyPair::generate(&mut rng), 0, KeyPair::generate(&mut rng));
//! let server_static = KeyPair::generate(&mut rng);
//! let cert_chain = issuer.issue(server_static.public(), 1, &mut rng);
//! let server = ExpectClientHello::new(ServerConfig { static_key: server_static, cert_chain });
//!
//! // The client trusts that root instead of WhatsApp's.
//! let config = ClientConfig::new(KeyPair::generate(&mut rng)).with_trust_root(issuer.trust_root());
//! let mut client_frames = FrameEncoder::client(config.intro.clone());
//! let (client, hello) = client_hello(config, KeyPair::generate(&mut rng))?;
//! let mut wire = Vec::new();
//! client_frames.encode(&hello, &mut wire)?;
//!
//! // The server reads the intro and the hello from whatever pieces arrive.
//! let mut server_in = FrameDecoder::server();
//! server_in.push(&wire);
//! let frame = server_in.next_frame()?.ok_or("need more bytes")?;
//! let intro = server_in.intro().ok_or("no intro")?.clone();
//! let (server, server_hello) = server.read_client_hello(&intro, &frame, KeyPair::generate(&mut rng))?;
//!
//! let client = client.read_server_hello(&server_hello, now)?;
//! let (finish, mut client_transport) = client.finish(b"serialized ClientPayload")?;
//! let done = server.read_client_finish(&finish)?;
//! assert_eq!(done.payload, b"serialized ClientPayload");
//! let mut server_transport = done.transport;
//!
//! let mut out = Vec::new();
//! client_transport.encrypt_frame(b"<iq/>", &mut out)?;
//! let mut server_in = FrameDecoder::client();
//! server_in.push(&out);
//! let mut frame = server_in.next_frame()?.ok_or("need more bytes")?;
//! assert_eq!(server_transport.decrypt_in_place(&mut frame)?, b"<iq/>");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod aead;
pub mod cert;
pub mod error;
mod frame;
pub mod handshake;
mod keys;
mod symmetric;
mod transport;
pub mod xeddsa;

pub use aead::TAG_LEN;
pub use cert::{
    CertInfo, CertIssuer, TrustRoot, VerifiedCertChain, WA_CERT_ROOT_PUBLIC_KEY,
    WA_CERT_ROOT_SERIAL, verify_cert_chain,
};
pub use error::{CertError, CertKind, FrameError, HandshakeError, HandshakeField, TransportError};
pub use frame::{
    EDGE_ROUTING_MAGIC, FRAME_HEADER_LEN, FrameDecoder, FrameEncoder, Intro, MAX_FRAME_LEN,
    WA_HEADER, WA_HEADER_V2, frame_header,
};
pub use handshake::{
    ClientConfig, ClientFinished, ExpectClientFinish, ExpectClientHello, ExpectServerHello,
    SendClientFinish, ServerConfig, client_hello,
};
pub use keys::KeyPair;
pub use rand_core;
pub use transport::{RecvCipher, SendCipher, Transport};

/// The Noise protocol name, padded with NULs to exactly 32 bytes; it is the initial handshake hash.
pub const NOISE_PROTOCOL_NAME: &[u8; 32] = b"Noise_XX_25519_AESGCM_SHA256\0\0\0\0";
