//! The one error type of this crate.

/// Everything that can go wrong while building sessions, encrypting or decrypting.
///
/// Bytes that do not parse are [`SignalError::InvalidMessage`]; well-formed input that fails
/// authentication is [`SignalError::InvalidMac`] or [`SignalError::InvalidSignature`]; protocol
/// state problems have their own variants so a client can decide between a retry receipt and a drop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// There is no session (or no sender key state) to decrypt or encrypt with.
    #[error("no session for this address")]
    NoSession,
    /// The bytes do not form a valid message of the expected kind.
    #[error("invalid message: {0}")]
    InvalidMessage(&'static str),
    /// The message carries a version this implementation does not speak.
    #[error("unsupported message version {0}")]
    UnsupportedVersion(u8),
    /// The message authentication code did not verify.
    #[error("invalid message MAC")]
    InvalidMac,
    /// The message key for this counter was already used (a duplicate or replay).
    #[error("duplicate message (counter {0} already used)")]
    DuplicateMessage(u32),
    /// The counter is further ahead than the skipped-key bound allows.
    #[error("message counter {counter} is too far ahead of {current}")]
    TooFarAhead {
        /// Counter (or iteration) carried by the message.
        counter: u32,
        /// Next counter the chain expected.
        current: u32,
    },
    /// The remote identity differs from the trusted one.
    #[error("untrusted identity key")]
    UntrustedIdentity,
    /// A prekey, signed prekey or sender key id that we do not hold.
    #[error("invalid key id {0}")]
    InvalidKeyId(u32),
    /// A key is malformed (wrong length, wrong type byte, not a curve point).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// An XEdDSA signature did not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A stored record does not decode.
    #[error("invalid record: {0}")]
    InvalidRecord(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = SignalError> = core::result::Result<T, E>;
