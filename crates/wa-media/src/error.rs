//! The crate's one error type.

/// Which hash of a media file failed to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// SHA-256 of the plaintext (`file_sha256` in the message).
    File,
    /// SHA-256 of the uploaded body, ciphertext and MAC (`file_enc_sha256` in the message).
    EncFile,
}

impl std::fmt::Display for HashKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HashKind::File => "file_sha256",
            HashKind::EncFile => "file_enc_sha256",
        })
    }
}

/// Everything that can go wrong in this crate. Bad input from the network or from a message
/// always comes back as one of these, never as a panic.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaError {
    /// The media key is not 32 bytes long.
    #[error("media key must be 32 bytes, got {len}")]
    InvalidMediaKeyLength {
        /// The length that was given.
        len: usize,
    },
    /// A hash taken from a message is neither empty nor 32 bytes long.
    #[error("{which} must be 32 bytes, got {len}")]
    InvalidHashLength {
        /// Which hash.
        which: HashKind,
        /// The length that was given.
        len: usize,
    },
    /// The encrypted body is shorter than one cipher block plus the 10-byte MAC (26 bytes).
    #[error("encrypted media is {len} bytes, shorter than the 26-byte minimum")]
    TooShort {
        /// The body length.
        len: usize,
    },
    /// The ciphertext (body without its 10-byte MAC) is not a whole number of 16-byte blocks.
    #[error("encrypted media ciphertext of {len} bytes is not a multiple of 16")]
    NotBlockAligned {
        /// The ciphertext length (body minus MAC).
        len: usize,
    },
    /// The 10-byte HMAC-SHA256 over IV and ciphertext does not match.
    #[error("media MAC mismatch")]
    BadMac,
    /// The decrypted last block does not end in valid PKCS#7 padding.
    #[error("bad PKCS#7 padding in decrypted media")]
    BadPadding,
    /// A SHA-256 of the file does not match the one the message announced.
    #[error("{which} mismatch")]
    HashMismatch {
        /// Which hash failed.
        which: HashKind,
    },
    /// The plaintext length does not match the one the message announced.
    #[error("plaintext is {actual} bytes, message says {expected}")]
    LengthMismatch {
        /// The announced length.
        expected: u64,
        /// The decrypted length.
        actual: u64,
    },
    /// A sidecar does not have one 10-byte MAC per 64 KiB window of the body.
    #[error("sidecar is {actual} bytes, expected {expected} for this body")]
    SidecarLength {
        /// The length a sidecar for this body has.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },
    /// One window's MAC in a sidecar does not match.
    #[error("sidecar MAC mismatch in window {window}")]
    BadSidecar {
        /// The index of the first window that failed (0-based).
        window: usize,
    },
    /// The `<media_conn>` reply is malformed (missing node, attribute or host).
    #[error("invalid media_conn reply: {0}")]
    InvalidMediaConn(&'static str),
    /// An attribute of the `<media_conn>` reply has the wrong type.
    #[error("invalid media_conn attribute: {0}")]
    MediaConnAttr(#[from] wa_binary::DecodeError),
    /// A host name from the server is empty or holds characters that do not belong in a host.
    #[error("invalid media host name {0:?}")]
    InvalidHostname(String),
    /// A direct path is empty, does not start with `/`, or holds characters that would change
    /// the URL's host (`@`, `#`, `\`, whitespace, control characters).
    #[error("invalid media direct path {0:?}")]
    InvalidDirectPath(String),
}

/// Shorthand for this crate's results.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
