//! WhatsApp app-state sync, sans IO: the LTHash, the key expansion and MACs, decoding and
//! verifying snapshots and patches, typed mutations, and encoding outgoing patches.
//!
//! App state is the set of per-account settings that a user's devices share (mute, pin,
//! archive, contacts, labels, push name, …), kept by the server in five [`Collection`]s as
//! encrypted records. Each record is a `SyncActionData` encrypted with AES-256-CBC under a key
//! derived from an app-state sync key ([`AppStateKey`] → [`MutationKeys`]), named by an index
//! MAC and authenticated by a value MAC. A collection's state ([`HashState`]) is its version and
//! an [`LtHash`] of the value MACs it holds; every patch carries the MAC of the state it leads
//! to, so a client that misses or misapplies a change notices.
//!
//! This crate does no IO and keeps no store: bytes and protobufs come in, the new state, the
//! decoded [`Mutation`]s and the MAC rows to persist come out. Keys are looked up through
//! [`KeySource`] (a closure works); [`missing_keys`] says which to ask the primary device for;
//! external blobs are downloaded by the caller and attached with [`attach_external_mutations`].
//! Randomness (IVs) and time (action timestamps) are arguments.
//!
//! ```
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! use wa_appstate::{Action, AppStateKey, HashState, PatchInfo, decode_patch, encode_patch};
//! use wa_proto::proto::SyncdVersion;
//!
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let key_id = b"key-1".to_vec();
//! let key = AppStateKey::new([7; 32]);
//!
//! // Device A mutes a chat: a patch for `regular_high` on top of its state.
//! let info = PatchInfo::mute("123@s.whatsapp.net", true, None);
//! let mine = HashState::new();
//! let sent = encode_patch(&info, &mine, &key_id, &key, 1_700_000_000_000, &mut rng)?;
//!
//! // The server numbers it; device B (same key, same starting state) verifies and decodes it.
//! let mut patch = sent.patch.clone();
//! patch.version = Some(SyncdVersion { version: Some(1) });
//! let keys = |id: &[u8]| (id == key_id.as_slice()).then(|| key.clone());
//! let got = decode_patch(info.collection, &HashState::new(), &patch, &keys)?;
//! assert_eq!(got.state, sent.state); // same version, LTHash and records
//! assert_eq!(
//!     got.mutations[0].action(),
//!     Action::Mute { chat: "123@s.whatsapp.net".into(), muted: true, end_timestamp_ms: None }
//! );
//! # Ok::<(), wa_appstate::AppStateError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod action;
mod builders;
mod collection;
mod crypto;
mod decode;
mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
pub mod lthash;
pub mod mac;
mod mutation;
mod state;

pub use action::{Action, LabelTarget, MessageRef, index};
pub use collection::Collection;
pub use decode::{
    Decoded, attach_external_mutations, decode_patch, decode_patches, decode_snapshot, missing_keys,
};
pub use encode::{
    EncodedPatch, MutationInfo, PatchInfo, encode_patch, encode_snapshot, index_json,
};
pub use error::{AppStateError, Result};
pub use keys::{AppStateKey, KeySource, MutationKeys};
pub use lthash::LtHash;
pub use mutation::{Mutation, Operation};
pub use state::{HashState, IndexMac, MacChanges, ValueMac};

/// Helpers shared by the unit tests.
#[cfg(test)]
mod test_util {
    /// The bytes of a hex string (test vectors).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
