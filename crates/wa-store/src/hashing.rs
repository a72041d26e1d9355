//! Hashers for the in-memory maps on the receive path.
//!
//! std's SipHash is built to resist hash flooding with keys an attacker picks, at several
//! times the cost of a fast hash; on the receive path it was about 8 % of all instructions
//! (message keys, Signal addresses, ciphertext hashes). Two cheaper choices, each where it is
//! safe:
//!
//! - [`FastState`] (foldhash, seeded per process) for keys that come from the network
//!   (JIDs, message ids, Signal addresses): still seeded, so the bucket of a key cannot be
//!   computed from outside.
//! - [`DigestState`] for SHA-256 digests: the digest is already uniform and nobody can choose
//!   it (that would take SHA-256 preimages), so its first bytes are the hash.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// The seeded fast hasher for keys from the network.
pub type FastState = foldhash::fast::RandomState;

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// A `HashSet` with [`FastState`].
pub type FastSet<T> = HashSet<T, FastState>;

/// A map keyed by SHA-256 digests (the event buffer's ciphertext hashes).
pub type DigestMap<V> = HashMap<[u8; 32], V, DigestState>;

/// A set of SHA-256 digests.
pub type DigestSet = HashSet<[u8; 32], DigestState>;

/// Builds [`DigestHasher`]s: for keys whose bytes are uniform already, nothing else: SHA-256
/// digests, or a key that hashes as one seeded 64-bit hash it carries (`write_u64`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DigestState;

impl BuildHasher for DigestState {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// Folds the digest's 8-byte words together (a digest's bytes are uniform already).
#[derive(Debug, Clone, Copy)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for word in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            for (b, w) in buf.iter_mut().zip(word) {
                *b = *w;
            }
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(buf);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }

    // The array's length prefix carries nothing (every key is 32 bytes).
    fn write_usize(&mut self, _: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct, well-mixed 32-byte keys (uniformity is SHA-256's job in real use).
    fn digest(seed: u8) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut x = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        for b in &mut out {
            x ^= x >> 33;
            x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            *b = x.to_le_bytes()[7];
        }
        out
    }

    #[test]
    fn digest_maps_find_what_they_hold_and_only_that() {
        let mut map: DigestMap<u8> = DigestMap::default();
        for i in 0..=200u8 {
            map.insert(digest(i), i);
        }
        for i in 0..=200u8 {
            assert_eq!(map.get(&digest(i)), Some(&i));
        }
        assert_eq!(map.get(&digest(201)), None);
        assert_eq!(map.len(), 201);
    }

    #[test]
    fn the_digest_hash_depends_on_every_word() {
        let base = [7u8; 32];
        let hash = |k: &[u8; 32]| DigestState.hash_one(k);
        for i in [0, 8, 16, 24, 31] {
            let mut other = base;
            other[i] ^= 1;
            assert_ne!(hash(&base), hash(&other), "byte {i}");
        }
    }
}
