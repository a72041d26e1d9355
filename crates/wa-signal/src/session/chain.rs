//! Root, chain and message keys of the double ratchet (KDF chains as libsignal defines them).

use zeroize::{Zeroize, ZeroizeOnDrop};

#[cfg(test)]
use crate::crypto::hmac_sha256;
use crate::crypto::{KeyedHmac, hkdf};
use crate::error::{Result, SignalError};
use crate::keys::{PrivateKey, PublicKey};

const MESSAGE_KEY_SEED: [u8; 1] = [0x01];
const CHAIN_KEY_SEED: [u8; 1] = [0x02];

/// The root key of a session.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct RootKey(pub(crate) [u8; 32]);

impl RootKey {
    /// One DH ratchet step: mixes `DH(their, ours)` into the root and starts a chain.
    pub(crate) fn create_chain(&self, their: &PublicKey, ours: &PrivateKey) -> (RootKey, ChainKey) {
        let mut shared = ours.agree(their);
        let mut okm: [u8; 64] = hkdf(&shared, Some(&self.0), b"WhisperRatchet");
        shared.zeroize();
        let (root, chain) = split_64(&okm);
        okm.zeroize();
        (
            RootKey(root),
            ChainKey {
                index: 0,
                key: chain,
            },
        )
    }
}

/// Splits 64 bytes into two 32-byte halves.
pub(crate) fn split_64(okm: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(&okm[..32]);
    b.copy_from_slice(&okm[32..]);
    (a, b)
}

/// A symmetric-ratchet chain key at `index`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChainKey {
    /// Index of the next message key this chain key derives.
    pub(crate) index: u32,
    /// The 32-byte key.
    pub(crate) key: [u8; 32],
}

impl ChainKey {
    /// The message keys for message `index` (the definition [`Self::step`] is checked against).
    #[cfg(test)]
    pub(crate) fn message_keys(&self) -> MessageKeys {
        let mut seed = hmac_sha256(&self.key, &[&MESSAGE_KEY_SEED]);
        let keys = MessageKeys::from_seed(self.index, &seed);
        seed.zeroize();
        keys
    }

    /// The message keys for message `index` and the chain key for the following one, as
    /// [`Self::message_keys`] and [`Self::next`] give them. Both are HMACs under this chain
    /// key, so the key is hashed into an HMAC state once for the two (two SHA-256
    /// compressions fewer per message).
    pub(crate) fn step(&self) -> Result<(MessageKeys, ChainKey)> {
        let index = self
            .index
            .checked_add(1)
            .ok_or(SignalError::InvalidMessage("chain index overflow"))?;
        let keyed = KeyedHmac::new(&self.key);
        let mut seed = keyed.mac(&MESSAGE_KEY_SEED);
        let keys = MessageKeys::from_seed(self.index, &seed);
        seed.zeroize();
        let next = ChainKey {
            index,
            key: keyed.mac(&CHAIN_KEY_SEED),
        };
        Ok((keys, next))
    }

    /// The chain key for the following message (the definition [`Self::step`] is checked
    /// against).
    #[cfg(test)]
    pub(crate) fn next(&self) -> Result<ChainKey> {
        let index = self
            .index
            .checked_add(1)
            .ok_or(SignalError::InvalidMessage("chain index overflow"))?;
        Ok(ChainKey {
            index,
            key: hmac_sha256(&self.key, &[&CHAIN_KEY_SEED]),
        })
    }
}

/// The keys protecting one message.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageKeys {
    /// The message counter these keys belong to.
    pub(crate) index: u32,
    /// AES-256-CBC key.
    pub(crate) cipher_key: [u8; 32],
    /// HMAC-SHA256 key.
    pub(crate) mac_key: [u8; 32],
    /// CBC IV.
    pub(crate) iv: [u8; 16],
}

impl MessageKeys {
    fn from_seed(index: u32, seed: &[u8; 32]) -> Self {
        let mut okm: [u8; 80] = hkdf(seed, None, b"WhisperMessageKeys");
        let mut cipher_key = [0u8; 32];
        let mut mac_key = [0u8; 32];
        let mut iv = [0u8; 16];
        cipher_key.copy_from_slice(&okm[..32]);
        mac_key.copy_from_slice(&okm[32..64]);
        iv.copy_from_slice(&okm[64..]);
        okm.zeroize();
        Self {
            index,
            cipher_key,
            mac_key,
            iv,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_gives_the_message_keys_and_the_next_chain_key() {
        for (index, byte) in [(0u32, 0u8), (1, 7), (1_000, 0xa5), (u32::MAX - 1, 0xff)] {
            let chain = ChainKey {
                index,
                key: [byte; 32],
            };
            let (keys, next) = chain.step().unwrap();
            let expected = chain.message_keys();
            assert_eq!(keys.index, index);
            assert_eq!(keys.cipher_key, expected.cipher_key);
            assert_eq!(keys.mac_key, expected.mac_key);
            assert_eq!(keys.iv, expected.iv);
            let expected_next = chain.next().unwrap();
            assert_eq!(
                (next.index, next.key),
                (expected_next.index, expected_next.key)
            );
        }
        let last = ChainKey {
            index: u32::MAX,
            key: [1; 32],
        };
        assert!(matches!(last.step(), Err(SignalError::InvalidMessage(_))));
    }
}
