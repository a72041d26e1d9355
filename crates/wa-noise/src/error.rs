//! Typed errors, one enum per concern.
//!
//! Bytes that do not parse, well-formed input that breaks the protocol and caller mistakes are
//! kept apart so that `wa-client` can decide what to do (drop the connection, report the peer,
//! fix the call site) without string matching.

use thiserror::Error;

/// Which certificate of the server's chain an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// The intermediate certificate, signed by the trust root.
    Intermediate,
    /// The leaf certificate, signed by the intermediate; it certifies the server's static key.
    Leaf,
}

impl core::fmt::Display for CertKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Intermediate => "intermediate",
            Self::Leaf => "leaf",
        })
    }
}

/// The server certificate chain was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The `CertChain` protobuf (or a certificate's `Details`) does not parse.
    #[error("malformed certificate chain: {0}")]
    Malformed(#[from] wa_proto::prost::DecodeError),
    /// A required part of the chain is absent.
    #[error("certificate chain lacks the {0}")]
    Missing(&'static str),
    /// A signature is not 64 bytes long.
    #[error("{cert} certificate signature has {len} bytes, expected 64")]
    SignatureLength {
        /// The certificate concerned.
        cert: CertKind,
        /// Length found.
        len: usize,
    },
    /// A certified key is not 32 bytes long.
    #[error("{cert} certificate key has {len} bytes, expected 32")]
    KeyLength {
        /// The certificate concerned.
        cert: CertKind,
        /// Length found.
        len: usize,
    },
    /// The XEdDSA signature over a certificate does not verify. For the intermediate this means
    /// the chain was not signed by the configured trust root; for the leaf, that the leaf was
    /// altered or was signed by another intermediate.
    #[error("{0} certificate signature is invalid")]
    BadSignature(CertKind),
    /// A certificate names an issuer serial other than its issuer's serial.
    #[error("{cert} certificate names issuer serial {found}, expected {expected}")]
    IssuerSerialMismatch {
        /// The certificate concerned.
        cert: CertKind,
        /// The issuer's serial.
        expected: u32,
        /// The serial the certificate names.
        found: u32,
    },
    /// The leaf certifies a key other than the static key the server used in the handshake.
    #[error("leaf certificate key differs from the server's static key")]
    KeyMismatch,
    /// `now` is before the certificate's `notBefore`.
    #[error("{cert} certificate is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// The certificate concerned.
        cert: CertKind,
        /// Start of validity, Unix seconds.
        not_before: u64,
        /// The time checked, Unix seconds.
        now: u64,
    },
    /// `now` is after the certificate's `notAfter`.
    #[error("{cert} certificate expired at {not_after} (now {now})")]
    Expired {
        /// The certificate concerned.
        cert: CertKind,
        /// End of validity, Unix seconds.
        not_after: u64,
        /// The time checked, Unix seconds.
        now: u64,
    },
}

/// Which encrypted handshake field failed to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeField {
    /// The server's static key in the server hello.
    ServerStatic,
    /// The certificate chain in the server hello.
    ServerPayload,
    /// The client's static key in the client finish.
    ClientStatic,
    /// The client payload in the client finish.
    ClientPayload,
}

impl core::fmt::Display for HandshakeField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::ServerStatic => "server static key",
            Self::ServerPayload => "server certificate payload",
            Self::ClientStatic => "client static key",
            Self::ClientPayload => "client payload",
        })
    }
}

/// The Noise handshake failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The `HandshakeMessage` protobuf does not parse.
    #[error("malformed handshake message: {0}")]
    Malformed(#[from] wa_proto::prost::DecodeError),
    /// The handshake message lacks a part this step needs.
    #[error("handshake message lacks {0}")]
    Missing(&'static str),
    /// A key in the handshake has the wrong length.
    #[error("{field} has {len} bytes, expected 32")]
    KeyLength {
        /// What the key is.
        field: &'static str,
        /// Length found.
        len: usize,
    },
    /// An encrypted handshake field failed AES-GCM authentication.
    #[error("{0} failed to decrypt")]
    Decrypt(HandshakeField),
    /// A peer key is a low-order point: the Diffie-Hellman output is all zeros.
    #[error("{0} is a low-order point")]
    WeakKey(&'static str),
    /// The connection header is not one this side speaks.
    #[error("unsupported connection header {0:02x?}")]
    UnsupportedHeader([u8; 4]),
    /// The server's certificate chain was refused.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// An internal invariant failed; this is a bug in wa-noise, reported instead of panicking.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// A frame could not be read or written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the configured maximum (at most 16 MiB - 1, what 3 length bytes hold).
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Length of the frame.
        len: usize,
        /// The maximum in force.
        max: usize,
    },
    /// The connection intro (optional `ED` routing preamble, then `WA` header) is not understood.
    #[error("unsupported connection intro {0:02x?}")]
    BadIntro([u8; 4]),
    /// The decoder failed earlier and refuses further input.
    #[error("frame decoder failed earlier and refuses further input")]
    Poisoned,
}

/// The transport cipher refused an operation.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// A frame failed AES-GCM authentication. The receiving half is unusable afterwards.
    #[error("frame failed to decrypt")]
    Decrypt,
    /// An earlier frame failed to decrypt; this half refuses further use.
    #[error("transport failed earlier and refuses further use")]
    Poisoned,
    /// 2^32 frames went this way; the counter nonce would repeat.
    #[error("nonce counter exhausted")]
    NonceExhausted,
    /// The ciphertext would not fit in a frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The ciphertext is shorter than the authentication tag.
    #[error("ciphertext of {0} bytes is shorter than the 16-byte tag")]
    TooShort(usize),
    /// An internal invariant failed; this is a bug in wa-noise, reported instead of panicking.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
