//! The handshake's symmetric state: running hash, chaining key ("salt"), AEAD key and counter.
//!
//! WhatsApp keeps one counter for both directions during the handshake and resets it whenever a
//! Diffie-Hellman output is mixed in. The protocol name is exactly 32 bytes, so it is the initial
//! hash itself (not hashed), and also the initial chaining key and AEAD key.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::NOISE_PROTOCOL_NAME;
use crate::aead::AeadKey;
use crate::error::{HandshakeError, HandshakeField};
use crate::keys::KeyPair;

/// Symmetric handshake state.
pub(crate) struct SymmetricState {
    hash: [u8; 32],
    salt: [u8; 32],
    key: AeadKey,
    counter: u32,
}

fn internal<T>(
    r: Result<T, crate::aead::Unspecified>,
    what: &'static str,
) -> Result<T, HandshakeError> {
    r.map_err(|_| HandshakeError::Internal(what))
}

/// A pair of derived 32-byte keys, zeroized on drop.
pub(crate) type KeyPairBytes = (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

/// HKDF-SHA256 with the chaining key as salt and empty info, 64 bytes split in two halves.
fn extract_and_expand(salt: &[u8; 32], ikm: &[u8]) -> Result<KeyPairBytes, HandshakeError> {
    let mut okm = Zeroizing::new([0u8; 64]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(&[], okm.as_mut_slice())
        .map_err(|_| HandshakeError::Internal("hkdf length"))?;
    let (first, second) = okm.split_at(32);
    let mut a = Zeroizing::new([0u8; 32]);
    let mut b = Zeroizing::new([0u8; 32]);
    a.copy_from_slice(first);
    b.copy_from_slice(second);
    Ok((a, b))
}

impl SymmetricState {
    /// Initial state with the 4-byte `WA` connection header mixed into the hash.
    pub(crate) fn new(header: &[u8; 4]) -> Result<Self, HandshakeError> {
        let name = *NOISE_PROTOCOL_NAME;
        let key = internal(AeadKey::new(&name), "aead key")?;
        let mut st = Self {
            hash: name,
            salt: name,
            key,
            counter: 0,
        };
        st.authenticate(header);
        Ok(st)
    }

    /// `h = SHA-256(h || data)`.
    pub(crate) fn authenticate(&mut self, data: &[u8]) {
        let mut d = Sha256::new();
        d.update(self.hash);
        d.update(data);
        self.hash.copy_from_slice(&d.finalize());
    }

    /// Mixes `ikm` into the chaining key and derives a new AEAD key; resets the counter.
    pub(crate) fn mix_into_key(&mut self, ikm: &[u8]) -> Result<(), HandshakeError> {
        let (write, read) = extract_and_expand(&self.salt, ikm)?;
        self.salt = *write;
        self.key = internal(AeadKey::new(&read), "aead key")?;
        self.counter = 0;
        Ok(())
    }

    /// Mixes the X25519 output of `ours` and `theirs`; refuses a low-order `theirs`.
    pub(crate) fn mix_dh(
        &mut self,
        ours: &KeyPair,
        theirs: &[u8; 32],
        what: &'static str,
    ) -> Result<(), HandshakeError> {
        let shared = ours.agree(theirs).ok_or(HandshakeError::WeakKey(what))?;
        self.mix_into_key(shared.as_slice())
    }

    fn next_counter(&mut self) -> Result<u32, HandshakeError> {
        let c = self.counter;
        self.counter = c
            .checked_add(1)
            .ok_or(HandshakeError::Internal("handshake counter"))?;
        Ok(c)
    }

    /// Encrypts with the hash as associated data, then mixes the ciphertext into the hash.
    pub(crate) fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        let counter = self.next_counter()?;
        let mut buf = Vec::with_capacity(plaintext.len() + crate::aead::TAG_LEN);
        buf.extend_from_slice(plaintext);
        internal(self.key.seal_append(counter, &self.hash, &mut buf), "seal")?;
        self.authenticate(&buf);
        Ok(buf)
    }

    /// Decrypts with the hash as associated data; on success mixes the ciphertext into the hash.
    pub(crate) fn decrypt(
        &mut self,
        ciphertext: &[u8],
        field: HandshakeField,
    ) -> Result<Vec<u8>, HandshakeError> {
        let counter = self.next_counter()?;
        let mut buf = ciphertext.to_vec();
        let len = self
            .key
            .open_in_place(counter, &self.hash, &mut buf)
            .map_err(|_| HandshakeError::Decrypt(field))?;
        buf.truncate(len);
        self.authenticate(ciphertext);
        Ok(buf)
    }

    /// The final split: (first, second) = HKDF(chaining key, empty). The client writes with the
    /// first key and reads with the second; the server the other way round.
    pub(crate) fn split(&self) -> Result<KeyPairBytes, HandshakeError> {
        extract_and_expand(&self.salt, &[])
    }
}

impl Drop for SymmetricState {
    fn drop(&mut self) {
        self.hash.zeroize();
        self.salt.zeroize();
    }
}

impl core::fmt::Debug for SymmetricState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SymmetricState")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}
