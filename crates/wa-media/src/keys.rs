//! Expansion of a 32-byte media key into the IV and keys that protect one file.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{MediaError, Result};
use crate::media_type::MediaType;

/// Length of a media key, the random secret sent inside the message.
pub const MEDIA_KEY_LEN: usize = 32;

/// Length of the HKDF output a media key expands to: IV, cipher key, MAC key and ref key.
pub const EXPANDED_LEN: usize = 112;

/// The IV and keys derived from a media key for one [`MediaType`]:
/// `HKDF-SHA256(ikm = media_key, salt = none, info = type label, 112 bytes)` split as
/// `iv (16) | cipher_key (32) | mac_key (32) | ref_key (32)`.
///
/// All fields are wiped when the value is dropped; `Debug` prints no key material.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MediaKeys {
    iv: [u8; 16],
    cipher_key: [u8; 32],
    mac_key: [u8; 32],
    ref_key: [u8; 32],
}

impl MediaKeys {
    /// Expands `media_key` (32 bytes, as carried in the message's `mediaKey` field) for
    /// `media_type`. Any other length is [`MediaError::InvalidMediaKeyLength`].
    pub fn derive(media_key: &[u8], media_type: MediaType) -> Result<Self> {
        let key: &[u8; MEDIA_KEY_LEN] =
            media_key
                .try_into()
                .map_err(|_| MediaError::InvalidMediaKeyLength {
                    len: media_key.len(),
                })?;
        Ok(Self::from_key(key, media_type))
    }

    /// Expands a media key of the right length (infallible form of [`MediaKeys::derive`]).
    pub fn from_key(media_key: &[u8; MEDIA_KEY_LEN], media_type: MediaType) -> Self {
        let mut okm = [0u8; EXPANDED_LEN];
        // 112 bytes is far below HKDF-SHA256's 8160-byte limit, so `expand` cannot fail; the
        // error arm keeps the function total without a panic path.
        if Hkdf::<Sha256>::new(None, media_key)
            .expand(media_type.hkdf_info().as_bytes(), &mut okm)
            .is_err()
        {
            okm.zeroize();
        }
        let keys = Self::from_expanded(&okm);
        okm.zeroize();
        keys
    }

    /// Splits an already expanded 112-byte block.
    pub fn from_expanded(expanded: &[u8; EXPANDED_LEN]) -> Self {
        let mut keys = Self {
            iv: [0; 16],
            cipher_key: [0; 32],
            mac_key: [0; 32],
            ref_key: [0; 32],
        };
        let (iv, rest) = expanded.split_at(16);
        let (cipher_key, rest) = rest.split_at(32);
        let (mac_key, ref_key) = rest.split_at(32);
        keys.iv.copy_from_slice(iv);
        keys.cipher_key.copy_from_slice(cipher_key);
        keys.mac_key.copy_from_slice(mac_key);
        keys.ref_key.copy_from_slice(ref_key);
        keys
    }

    /// The AES-CBC initialisation vector (bytes 0..16).
    pub fn iv(&self) -> &[u8; 16] {
        &self.iv
    }

    /// The AES-256 key (bytes 16..48).
    pub fn cipher_key(&self) -> &[u8; 32] {
        &self.cipher_key
    }

    /// The HMAC-SHA256 key (bytes 48..80).
    pub fn mac_key(&self) -> &[u8; 32] {
        &self.mac_key
    }

    /// The reference key (bytes 80..112), unused by the file encryption itself.
    pub fn ref_key(&self) -> &[u8; 32] {
        &self.ref_key
    }
}

impl std::fmt::Debug for MediaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaKeys { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_length_is_typed() {
        assert_eq!(
            MediaKeys::derive(&[0; 31], MediaType::Image),
            Err(MediaError::InvalidMediaKeyLength { len: 31 })
        );
        assert!(MediaKeys::derive(&[0; 32], MediaType::Image).is_ok());
    }

    #[test]
    fn labels_give_different_keys_and_split_is_in_order() {
        let k = [7u8; 32];
        let img = MediaKeys::from_key(&k, MediaType::Image);
        let stk = MediaKeys::from_key(&k, MediaType::Sticker);
        let vid = MediaKeys::from_key(&k, MediaType::Video);
        assert_eq!(img, stk);
        assert_ne!(img, vid);
        let mut okm = [0u8; EXPANDED_LEN];
        Hkdf::<Sha256>::new(None, &k)
            .expand(b"WhatsApp Image Keys", &mut okm)
            .unwrap();
        assert_eq!(&okm[..16], img.iv());
        assert_eq!(&okm[16..48], img.cipher_key());
        assert_eq!(&okm[48..80], img.mac_key());
        assert_eq!(&okm[80..], img.ref_key());
        assert_eq!(format!("{img:?}"), "MediaKeys { .. }");
    }
}
