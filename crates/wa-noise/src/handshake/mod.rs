//! The `Noise_XX_25519_AESGCM_SHA256` handshake as WhatsApp runs it, both halves.
//!
//! ```text
//! client                                                   server
//!   intro (ED preamble?, WA 6 3)  -- hash: WA header only --
//!   ClientHello { ephemeral e }   ----------------------->   hash: e (no payload hashed)
//!                                 <-----------------------   ServerHello { ephemeral re,
//!                                                              static  = enc(rs)      after DH(e, re),
//!                                                              payload = enc(chain)   after DH(e, rs) }
//!   ClientFinish { static  = enc(s),                    -->
//!                  payload = enc(ClientPayload) after DH(s, re) }
//!   split: HKDF(chaining key, "") = (client write, client read)
//! ```
//!
//! Each state is a struct that consumes itself to produce the next one, so a handshake cannot
//! be driven out of order. Every message in and out is the serialized `HandshakeMessage`
//! without its frame header; frame it with [`crate::FrameEncoder`] (which adds the intro in
//! front of the client's first frame) and read it with [`crate::FrameDecoder`].

mod client;
mod server;

pub use client::{ClientConfig, ExpectServerHello, SendClientFinish, client_hello};
pub use server::{ClientFinished, ExpectClientFinish, ExpectClientHello, ServerConfig};

use crate::error::HandshakeError;

/// Takes a 32-byte key out of an optional protobuf field.
pub(crate) fn key32(field: Option<&[u8]>, what: &'static str) -> Result<[u8; 32], HandshakeError> {
    let bytes = field.ok_or(HandshakeError::Missing(what))?;
    bytes.try_into().map_err(|_| HandshakeError::KeyLength {
        field: what,
        len: bytes.len(),
    })
}

#[cfg(test)]
mod tests;
