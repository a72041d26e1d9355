//! AES-256-GCM with WhatsApp's counter nonces, backed by `ring`.
//!
//! The nonce is 8 zero bytes followed by a 32-bit big-endian counter. `ring` was chosen over
//! RustCrypto's `aes-gcm` after measuring both (see the crate documentation and
//! `docs/performance.md`).

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// Length of the GCM authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// An AES-256-GCM key.
pub(crate) struct AeadKey(LessSafeKey);

/// `ring` refused an operation (it never says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unspecified;

fn nonce(counter: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[8..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

impl AeadKey {
    /// Expands a 32-byte key. `ring` only refuses keys of the wrong length, which the type rules out.
    pub(crate) fn new(key: &[u8; 32]) -> Result<Self, Unspecified> {
        UnboundKey::new(&AES_256_GCM, key)
            .map(|k| Self(LessSafeKey::new(k)))
            .map_err(|_| Unspecified)
    }

    /// Encrypts `buf` in place and appends the tag.
    pub(crate) fn seal_append(
        &self,
        counter: u32,
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), Unspecified> {
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce(counter), Aad::from(aad), buf)
            .map_err(|_| Unspecified)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Encrypts `in_out[start..]` in place and appends the tag; bytes before `start` are left alone.
    pub(crate) fn seal_append_from(
        &self,
        counter: u32,
        buf: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), Unspecified> {
        let body = buf.get_mut(start..).ok_or(Unspecified)?;
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce(counter), Aad::empty(), body)
            .map_err(|_| Unspecified)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypts `in_out` (ciphertext then tag) in place; returns the plaintext length.
    pub(crate) fn open_in_place(
        &self,
        counter: u32,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize, Unspecified> {
        self.0
            .open_in_place(nonce(counter), Aad::from(aad), in_out)
            .map(|p| p.len())
            .map_err(|_| Unspecified)
    }
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AeadKey(..)")
    }
}
