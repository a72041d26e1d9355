//! App-state sync keys, the five keys derived from each, and how decoding looks keys up.

use std::collections::HashMap;
use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::hkdf_zero_salt;
use crate::error::{AppStateError, Result};

/// HKDF info string of the mutation key expansion.
const INFO: &[u8] = b"WhatsApp Mutation Keys";

/// An app-state sync key: the 32-byte `keyData` of an `AppStateSyncKey` that the primary device
/// shares (`appStateSyncKeyShare`). Wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AppStateKey([u8; 32]);

impl AppStateKey {
    /// Wraps 32 key bytes.
    pub const fn new(key_data: [u8; 32]) -> Self {
        Self(key_data)
    }

    /// Reads key bytes from a key share; they must be exactly 32 bytes.
    pub fn from_slice(key_data: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(key_data)
            .map(Self)
            .map_err(|_| AppStateError::InvalidKeyLength(key_data.len()))
    }

    /// The key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Derives the five mutation keys (HKDF-SHA256, zero salt, info `"WhatsApp Mutation Keys"`).
    pub fn expand(&self) -> MutationKeys {
        MutationKeys::derive(self)
    }
}

impl fmt::Debug for AppStateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppStateKey(..)")
    }
}

/// The five keys expanded from one [`AppStateKey`] (160 HKDF bytes, 32 each, in this order).
/// Wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MutationKeys {
    index: [u8; 32],
    value_encryption: [u8; 32],
    value_mac: [u8; 32],
    snapshot_mac: [u8; 32],
    patch_mac: [u8; 32],
}

impl MutationKeys {
    /// Expands `key` into its five mutation keys.
    pub fn derive(key: &AppStateKey) -> Self {
        let mut okm = hkdf_zero_salt::<160>(key.as_bytes(), INFO);
        let mut keys = Self {
            index: [0; 32],
            value_encryption: [0; 32],
            value_mac: [0; 32],
            snapshot_mac: [0; 32],
            patch_mac: [0; 32],
        };
        let slots = [
            &mut keys.index,
            &mut keys.value_encryption,
            &mut keys.value_mac,
            &mut keys.snapshot_mac,
            &mut keys.patch_mac,
        ];
        for (slot, chunk) in slots.into_iter().zip(okm.chunks_exact(32)) {
            slot.copy_from_slice(chunk);
        }
        okm.zeroize();
        keys
    }

    /// Key of the index MAC (HMAC-SHA256 of the index JSON).
    pub const fn index(&self) -> &[u8; 32] {
        &self.index
    }

    /// AES-256-CBC key of the encrypted `SyncActionData`.
    pub const fn value_encryption(&self) -> &[u8; 32] {
        &self.value_encryption
    }

    /// Key of the value MAC (HMAC-SHA512, truncated to 32 bytes).
    pub const fn value_mac(&self) -> &[u8; 32] {
        &self.value_mac
    }

    /// Key of the snapshot MAC (HMAC-SHA256 over LTHash, version and collection name).
    pub const fn snapshot_mac(&self) -> &[u8; 32] {
        &self.snapshot_mac
    }

    /// Key of the patch MAC.
    pub const fn patch_mac(&self) -> &[u8; 32] {
        &self.patch_mac
    }
}

impl fmt::Debug for MutationKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MutationKeys(..)")
    }
}

/// Where decoding finds app-state sync keys by id. The store lives in the client; this crate
/// only asks. Implemented for closures `Fn(&[u8]) -> Option<AppStateKey>` and for maps from key
/// id to key.
pub trait KeySource {
    /// The key with this id (the bytes of a `KeyId.id`), or `None` if the caller lacks it.
    fn key(&self, key_id: &[u8]) -> Option<AppStateKey>;
}

impl<F> KeySource for F
where
    F: Fn(&[u8]) -> Option<AppStateKey>,
{
    fn key(&self, key_id: &[u8]) -> Option<AppStateKey> {
        self(key_id)
    }
}

impl KeySource for HashMap<Vec<u8>, AppStateKey> {
    fn key(&self, key_id: &[u8]) -> Option<AppStateKey> {
        self.get(key_id).cloned()
    }
}

/// Expanded keys by id for the length of one decode call: each key is looked up and expanded
/// once, however many records use it (usually one or two ids per call).
pub(crate) struct KeyCache<'a, K: ?Sized> {
    source: &'a K,
    expanded: Vec<(Vec<u8>, MutationKeys)>,
}

impl<'a, K: KeySource + ?Sized> KeyCache<'a, K> {
    pub(crate) fn new(source: &'a K) -> Self {
        Self {
            source,
            expanded: Vec::new(),
        }
    }

    /// The expanded keys of `key_id`, or [`AppStateError::MissingKey`].
    pub(crate) fn get(&mut self, key_id: &[u8]) -> Result<&MutationKeys> {
        let pos = match self.expanded.iter().position(|(id, _)| id == key_id) {
            Some(pos) => pos,
            None => {
                let key = self
                    .source
                    .key(key_id)
                    .ok_or_else(|| AppStateError::MissingKey {
                        id: key_id.to_vec(),
                    })?;
                self.expanded.push((key_id.to_vec(), key.expand()));
                self.expanded.len() - 1
            }
        };
        self.expanded
            .get(pos)
            .map(|(_, keys)| keys)
            .ok_or(AppStateError::Malformed("key cache"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    #[test]
    fn baileys_vector() {
        // Baileys 7 `expandAppStateKeys` of the bytes 0..32.
        let mut data = [0u8; 32];
        for (i, b) in data.iter_mut().enumerate() {
            *b = i as u8;
        }
        let k = AppStateKey::new(data).expand();
        let want = [
            "61387bcf643616a68bd611a45516b3980418323087d78bf08c615645549434b4",
            "900ba2843ba5fb0cee55cf2a4de9503dce68187d3f6b95b420b008bde66f5a20",
            "d0879f6b61f0bcba79faad3f47a8a768fd7fc04a6cc8b3ecefedfa087413226f",
            "69b2e91be6587307c43c29b027a71fdd55be25f07ca726714115430d23093071",
            "693845bdd996652aca9ca0b96d0f081abf29943303c5eb19bdb84f38b24c32ab",
        ];
        let got = [
            k.index(),
            k.value_encryption(),
            k.value_mac(),
            k.snapshot_mac(),
            k.patch_mac(),
        ];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.to_vec(), hex(w));
        }
    }

    #[test]
    fn key_length_and_debug() {
        assert_eq!(
            AppStateKey::from_slice(&[1; 31]),
            Err(AppStateError::InvalidKeyLength(31))
        );
        let key = AppStateKey::from_slice(&[1; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "AppStateKey(..)");
        assert_eq!(format!("{:?}", key.expand()), "MutationKeys(..)");
    }

    #[test]
    fn cache_reports_missing_and_looks_up_once() {
        use std::cell::Cell;
        let calls = Cell::new(0);
        let source = |id: &[u8]| {
            calls.set(calls.get() + 1);
            (id == b"k1").then(|| AppStateKey::new([5; 32]))
        };
        let mut cache = KeyCache::new(&source);
        assert!(cache.get(b"k1").is_ok());
        assert!(cache.get(b"k1").is_ok());
        assert_eq!(calls.get(), 1);
        assert_eq!(
            cache.get(b"k2").err(),
            Some(AppStateError::MissingKey { id: b"k2".to_vec() })
        );
        let mut map = HashMap::new();
        map.insert(b"k1".to_vec(), AppStateKey::new([5; 32]));
        assert_eq!(map.key(b"k1"), Some(AppStateKey::new([5; 32])));
        assert_eq!(map.key(b"k3"), None);
    }
}
