//! The crate's error type.

use std::io;

/// Everything that can go wrong in the test server.
///
/// Errors caused by a client (bad frames, bad handshakes, malformed stanzas) end that client's
/// connection and are reported here; they never take the server down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding or accepting on a socket failed, or a state file could not be read or written.
    #[error("io: {0}")]
    Io(#[from] io::Error),
    /// The client's Noise frames were malformed (bad intro, frame over the limit).
    #[error("noise framing: {0}")]
    Frame(#[from] wa_noise::FrameError),
    /// The Noise handshake failed.
    #[error("noise handshake: {0}")]
    Handshake(#[from] wa_noise::HandshakeError),
    /// Encrypting or decrypting a transport frame failed.
    #[error("noise transport: {0}")]
    Transport(#[from] wa_noise::TransportError),
    /// A stanza did not decode.
    #[error("binary node: {0}")]
    Decode(#[from] wa_binary::DecodeError),
    /// A protobuf did not decode.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A client broke the protocol (a missing field, a wrong signature, a message out of order).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A QR string given to the admin interface did not parse.
    #[error("bad QR code: {0}")]
    BadQr(String),
    /// No connection is waiting for pairing with the QR's reference.
    #[error("no connection is waiting for pairing with this QR reference")]
    UnknownPairRef,
    /// The pairing attempt was abandoned (the client disconnected or refused it).
    #[error("pairing failed: {0}")]
    PairFailed(String),
    /// No such device in the account.
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// No account has this phone number.
    #[error("unknown account {0}")]
    UnknownAccount(String),
    /// An account could not be created (bad or taken phone number).
    #[error("cannot create account: {0}")]
    BadAccount(String),
    /// The server has shut down.
    #[error("the test server is shut down")]
    Shutdown,
    /// The OS random number generator failed.
    #[error("OS random number generator: {0}")]
    Random(String),
    /// Generating the TLS certificate or setting up TLS failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// An admin HTTP request failed.
    #[error("admin request: {0}")]
    Admin(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
