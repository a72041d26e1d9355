//! Symmetric primitives as libsignal uses them: HMAC-SHA256, HKDF, AES-256-CBC with PKCS#7.
//!
//! WhatsApp's other formats build on the same ones (app-state patches use the same HKDF with
//! the zero salt, HMAC-SHA256 and AES-256-CBC), so they are public for the crates above.

use std::sync::OnceLock;

use aes::Aes256;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::error::{Result, SignalError};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` only fails for fixed-size keys; HMAC has none. Keep a total function anyway.
    <HmacSha256 as KeyInit>::new(&Default::default())
}

/// An HMAC-SHA256 state keyed once and then used for several messages: keying costs two
/// SHA-256 compressions (the padded key blocks), which every clone reuses.
#[derive(Clone)]
pub(crate) struct KeyedHmac(HmacSha256);

impl KeyedHmac {
    /// Keys the state with `key`.
    pub(crate) fn new(key: &[u8]) -> Self {
        match HmacSha256::new_from_slice(key) {
            Ok(m) => Self(m),
            Err(_) => Self(unreachable_hmac()),
        }
    }

    /// HMAC-SHA256 of `message` under the key; the keyed state is left as it was.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// The HMAC state keyed with HKDF's default salt (32 zero bytes), built once per process.
fn zero_salt_hmac() -> &'static KeyedHmac {
    static ZERO_SALT: OnceLock<KeyedHmac> = OnceLock::new();
    ZERO_SALT.get_or_init(|| KeyedHmac::new(&[0u8; 32]))
}

/// HKDF-SHA256 with a 32-byte zero salt when `salt` is `None`, expanded to `N` bytes.
///
/// With the zero salt (every per-message derivation), the extract step starts from a keyed
/// state built once per process instead of hashing the salt's key blocks each time.
pub fn hkdf<const N: usize>(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let hk = match salt {
        Some(salt) => hkdf::Hkdf::<Sha256>::new(Some(salt), ikm),
        None => {
            let mut prk = zero_salt_hmac().mac(ikm);
            let hk = hkdf::Hkdf::<Sha256>::from_prk(&prk);
            prk.zeroize();
            match hk {
                Ok(hk) => hk,
                // A 32-byte PRK is always long enough for SHA-256.
                Err(_) => return out,
            }
        }
    };
    // N is at most 255 * 32 for every caller in this crate (compile-time constants).
    if hk.expand(info, &mut out).is_err() {
        out.zeroize();
    }
    out
}

/// AES-256-CBC encryption with PKCS#7 padding.
pub fn aes_cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let len = plaintext.len();
    let mut buf = vec![0u8; (len / 16 + 1) * 16];
    if let Some(head) = buf.get_mut(..len) {
        head.copy_from_slice(plaintext);
    }
    let enc = cbc::Encryptor::<Aes256>::new(key.into(), iv.into());
    let n = match enc.encrypt_padded::<Pkcs7>(&mut buf, len) {
        Ok(ct) => ct.len(),
        Err(_) => 0, // the buffer always has room for a full padding block
    };
    buf.truncate(n);
    buf
}

/// AES-256-CBC decryption, checking PKCS#7 padding: a ciphertext that is not a whole number of
/// blocks, or whose padding is wrong, is [`SignalError::InvalidMessage`].
pub fn aes_cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(SignalError::InvalidMessage(
            "ciphertext is not a whole number of blocks",
        ));
    }
    let mut buf = ciphertext.to_vec();
    let dec = cbc::Decryptor::<Aes256>::new(key.into(), iv.into());
    let n = dec
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| SignalError::InvalidMessage("bad padding"))?
        .len();
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trip_and_padding() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for len in [0usize, 1, 15, 16, 17, 100] {
            let pt = vec![0xAB; len];
            let ct = aes_cbc_encrypt(&key, &iv, &pt);
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            assert_eq!(aes_cbc_decrypt(&key, &iv, &ct).unwrap(), pt);
        }
        assert!(aes_cbc_decrypt(&key, &iv, &[1, 2, 3]).is_err());
        assert!(aes_cbc_decrypt(&key, &iv, &[]).is_err());
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        // RFC 5869 A.1 (first 32 bytes of OKM).
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let okm: [u8; 42] = hkdf(&ikm, Some(&salt), &info);
        assert_eq!(okm[..8], [0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a]);
    }

    #[test]
    fn hkdf_rfc5869_case_3_zero_salt() {
        // RFC 5869 A.3: no salt (HashLen zero bytes), no info. Goes through the cached
        // zero-salt state.
        let ikm = [0x0bu8; 22];
        let okm: [u8; 42] = hkdf(&ikm, None, &[]);
        assert_eq!(
            okm[..16],
            [
                0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
                0x5a, 0x31
            ]
        );
        assert_eq!(
            okm[32..],
            [0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8]
        );
        // The explicit 32-byte zero salt gives the same output.
        let explicit: [u8; 42] = hkdf(&ikm, Some(&[0u8; 32]), &[]);
        assert_eq!(okm, explicit);
    }

    #[test]
    fn keyed_hmac_matches_one_shot() {
        let key = [0x33u8; 32];
        let keyed = KeyedHmac::new(&key);
        for msg in [&[][..], &[1], &[2], &[0xAB; 100]] {
            assert_eq!(keyed.mac(msg), hmac_sha256(&key, &[msg]));
        }
    }
}
