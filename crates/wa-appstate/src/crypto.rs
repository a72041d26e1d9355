//! Symmetric primitives: HMAC-SHA256/512, HKDF-SHA256 with the zero salt, AES-256-CBC.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;
type HmacSha512 = Hmac<Sha512>;

/// An HMAC-SHA256 state keyed with all-zero bytes; only reached if keying could fail, which
/// HMAC (any key length) never does.
#[cold]
fn fallback_sha256() -> HmacSha256 {
    <HmacSha256 as KeyInit>::new(&Default::default())
}

#[cold]
fn fallback_sha512() -> HmacSha512 {
    <HmacSha512 as KeyInit>::new(&Default::default())
}

/// An HMAC-SHA256 computation fed piece by piece.
pub(crate) struct HmacSha256Stream(HmacSha256);

impl HmacSha256Stream {
    /// Starts an HMAC under `key`.
    pub(crate) fn new(key: &[u8]) -> Self {
        Self(HmacSha256::new_from_slice(key).unwrap_or_else(|_| fallback_sha256()))
    }

    /// Feeds `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The MAC of everything fed.
    pub(crate) fn finish(self) -> [u8; 32] {
        self.0.finalize().into_bytes().into()
    }
}

pub(crate) use wa_signal::crypto::hmac_sha256;

/// HMAC-SHA512 of the concatenation of `parts` under `key`, truncated to its first 32 bytes.
pub(crate) fn hmac_sha512_trunc32(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha512::new_from_slice(key).unwrap_or_else(|_| fallback_sha512());
    for p in parts {
        mac.update(p);
    }
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 32];
    if let Some(head) = full.get(..32) {
        out.copy_from_slice(head);
    }
    out
}

/// HKDF-SHA256 (RFC 5869) with no salt (32 zero bytes), expanded to `N` bytes (`N <= 8160`):
/// the same derivation as the Signal protocol's ([`wa_signal::crypto::hkdf`]).
pub(crate) fn hkdf_zero_salt<const N: usize>(ikm: &[u8], info: &[u8]) -> [u8; N] {
    wa_signal::crypto::hkdf(ikm, None, info)
}

/// Constant-time equality of two byte strings (lengths are compared in the clear).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub(crate) use wa_signal::crypto::aes_cbc_encrypt;

/// AES-256-CBC decryption checking PKCS#7 padding; `None` for a bad length or padding.
pub(crate) fn aes_cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Option<Vec<u8>> {
    wa_signal::crypto::aes_cbc_decrypt(key, iv, ciphertext).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trip_and_rejects() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for len in [0usize, 1, 15, 16, 17, 100] {
            let pt = vec![0xAB; len];
            let ct = aes_cbc_encrypt(&key, &iv, &pt);
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            assert_eq!(aes_cbc_decrypt(&key, &iv, &ct).unwrap(), pt);
        }
        assert!(aes_cbc_decrypt(&key, &iv, &[1, 2, 3]).is_none());
        assert!(aes_cbc_decrypt(&key, &iv, &[]).is_none());
        // A wrong key almost surely breaks the padding.
        let ct = aes_cbc_encrypt(&key, &iv, b"hello");
        assert!(aes_cbc_decrypt(&[8u8; 32], &iv, &ct).is_none());
    }

    #[test]
    fn hkdf_rfc5869_case_3() {
        // RFC 5869 A.3: no salt, no info, 42 bytes.
        let okm: [u8; 42] = hkdf_zero_salt(&[0x0bu8; 22], &[]);
        assert_eq!(okm[..8], [0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f]);
        assert_eq!(
            okm[32..],
            [0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8]
        );
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        // RFC 4231 test case 2 ("Jefe", "what do ya want for nothing?").
        let m256 = hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(m256[..4], [0x5b, 0xdc, 0xc1, 0x46]);
        let m512 = hmac_sha512_trunc32(b"Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(m512[..4], [0x16, 0x4b, 0x7a, 0x7b]);
    }

    #[test]
    fn ct_eq_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
