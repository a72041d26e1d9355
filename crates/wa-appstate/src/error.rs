//! The one error type of this crate.

/// Why decoding, verifying or encoding app state failed.
///
/// Decoding is all-or-nothing: when any of these is returned, the [`HashState`](crate::HashState)
/// the caller passed in is still the current one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppStateError {
    /// A patch, snapshot or record names an app-state sync key the caller does not have. The
    /// client asks the primary device for it (an `appStateSyncKeyRequest`) and retries later.
    #[error("app state sync key {} is missing", hex(.id))]
    MissingKey {
        /// The key id as it appears in the `KeyId` message.
        id: Vec<u8>,
    },
    /// The snapshot MAC computed over our LTHash, the version and the collection name differs
    /// from the one the server sent: our state and the server's have diverged (or the snapshot
    /// MAC was tampered with). The client should fetch a fresh snapshot.
    #[error("LTHash mismatch at version {version}: the snapshot MAC does not verify")]
    MismatchingLtHash {
        /// The version whose snapshot MAC failed.
        version: u64,
    },
    /// The patch MAC (over the snapshot MAC, every value MAC, the version and the collection
    /// name) does not verify.
    #[error("patch MAC mismatch in patch version {version}")]
    MismatchingPatchMac {
        /// The patch version.
        version: u64,
    },
    /// A record's value MAC (over its operation, key id and encrypted value) does not verify.
    #[error("value MAC mismatch in mutation #{mutation} of version {version}")]
    MismatchingContentMac {
        /// The patch or snapshot version.
        version: u64,
        /// Zero-based position of the mutation (or snapshot record).
        mutation: usize,
    },
    /// A record's index MAC does not match the HMAC of its decrypted index.
    #[error("index MAC mismatch in mutation #{mutation} of version {version}")]
    MismatchingIndexMac {
        /// The patch or snapshot version.
        version: u64,
        /// Zero-based position of the mutation (or snapshot record).
        mutation: usize,
    },
    /// A record whose value MAC verified did not decrypt (bad length or padding) or its
    /// plaintext is not a `SyncActionData`.
    #[error("mutation #{mutation} of version {version} does not decrypt to a SyncActionData")]
    UndecryptableValue {
        /// The patch or snapshot version.
        version: u64,
        /// Zero-based position of the mutation (or snapshot record).
        mutation: usize,
    },
    /// The patch refers to its mutations through an external blob that has not been downloaded
    /// and attached yet (see [`attach_external_mutations`](crate::attach_external_mutations)).
    #[error("patch version {version} keeps its mutations in an external blob that is not attached")]
    ExternalMutationsNotLoaded {
        /// The patch version.
        version: u64,
    },
    /// The input does not have the structure the protocol requires (missing field, wrong length,
    /// index that is not a JSON array of strings, protobuf that does not parse).
    #[error("malformed app state data: {0}")]
    Malformed(&'static str),
    /// An app-state sync key does not have the 32 bytes a key share carries.
    #[error("an app state sync key must be 32 bytes, got {0}")]
    InvalidKeyLength(usize),
    /// An outgoing patch was requested with no mutations.
    #[error("a patch needs at least one mutation")]
    EmptyPatch,
}

/// Lowercase hex of `bytes`, for error messages.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Result alias of this crate.
pub type Result<T, E = AppStateError> = std::result::Result<T, E>;
