//! The phone's half of pairing by phone-number code (`link_code_companion_reg`).
//!
//! The companion wraps an ephemeral X25519 public key with a key derived from the 8-character
//! code (PBKDF2-HMAC-SHA256, 131,072 rounds, then AES-256-CTR); the phone, once the user typed
//! the code, unwraps it, wraps its own ephemeral key the same way, and later opens the
//! companion's key bundle (AES-256-GCM under an HKDF of the ephemeral shared secret) to derive
//! the ADV secret both sides then use exactly as in QR pairing.

use aes::Aes256;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::{Error, Result};

/// PBKDF2 rounds for the code key (`2 << 16`).
pub const PBKDF2_ROUNDS: u32 = 2 << 16;
/// Length of a wrapped ephemeral key: salt (32) ‖ IV (16) ‖ AES-CTR(public key) (32).
pub const WRAPPED_KEY_LEN: usize = 80;
/// HKDF info for the key-bundle encryption key.
pub const KEY_BUNDLE_INFO: &[u8] = b"link_code_pairing_key_bundle_encryption_key";
/// HKDF info for the ADV secret.
pub const ADV_SECRET_INFO: &[u8] = b"adv_secret";
/// The code alphabet (Crockford-like base32 without 0, O, I, U).
pub const CODE_ALPHABET: &str = "123456789ABCDEFGHJKLMNPQRSTVWXYZ";

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Normalises a code as typed (`ABCD-EFGH`, lower case, spaces) to its 8 characters.
pub fn normalize_code(code: &str) -> Result<String> {
    let c: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() != 8 || !c.chars().all(|ch| CODE_ALPHABET.contains(ch)) {
        return Err(Error::PairFailed(format!(
            "a pairing code is 8 characters of {CODE_ALPHABET}"
        )));
    }
    Ok(c)
}

fn code_key(code: &str, salt: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let rounds = std::num::NonZeroU32::new(PBKDF2_ROUNDS).unwrap_or(std::num::NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        code.as_bytes(),
        &mut key,
    );
    key
}

fn ctr_apply(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes256Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

fn split_wrapped(wrapped: &[u8]) -> Result<(&[u8], [u8; 16], [u8; 32])> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(Error::Protocol(format!(
            "wrapped ephemeral key is {} bytes, expected {WRAPPED_KEY_LEN}",
            wrapped.len()
        )));
    }
    let (salt, rest) = wrapped.split_at(32);
    let (iv, ct) = rest.split_at(16);
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| Error::Protocol("bad IV".into()))?;
    let ct: [u8; 32] = ct
        .try_into()
        .map_err(|_| Error::Protocol("bad wrapped key".into()))?;
    Ok((salt, iv, ct))
}

/// Unwraps an ephemeral public key wrapped under `code`.
pub fn unwrap_key(code: &str, wrapped: &[u8]) -> Result<[u8; 32]> {
    let (salt, iv, mut key) = split_wrapped(wrapped)?;
    ctr_apply(&code_key(code, salt), &iv, &mut key);
    Ok(key)
}

/// Wraps `public` under `code` with a fresh salt and IV.
pub fn wrap_key<R: CryptoRng + ?Sized>(
    code: &str,
    public: &[u8; 32],
    rng: &mut R,
) -> [u8; WRAPPED_KEY_LEN] {
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    let mut ct = *public;
    ctr_apply(&code_key(code, &salt), &iv, &mut ct);
    let mut out = [0u8; WRAPPED_KEY_LEN];
    out[..32].copy_from_slice(&salt);
    out[32..48].copy_from_slice(&iv);
    out[48..].copy_from_slice(&ct);
    out
}

/// X25519 of a private key and a public key.
#[must_use]
pub fn agree(private: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    StaticSecret::from(*private)
        .diffie_hellman(&PublicKey::from(*public))
        .to_bytes()
}

/// The companion's decrypted key bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBundle {
    /// The companion's identity public key.
    pub companion_identity: [u8; 32],
    /// The primary identity public key the companion was given.
    pub primary_identity: [u8; 32],
    /// The companion's randomness for the ADV secret.
    pub adv_random: [u8; 32],
}

fn hkdf32(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit (8160), so expansion cannot fail.
    let _ = Hkdf::<Sha256>::new(salt, ikm).expand(info, &mut out);
    out
}

/// Opens `salt (32) ‖ nonce (12) ‖ AES-256-GCM(bundle)` with the ephemeral shared secret.
pub fn open_key_bundle(shared: &[u8; 32], wrapped: &[u8]) -> Result<KeyBundle> {
    if wrapped.len() < 32 + 12 + 96 + 16 {
        return Err(Error::Protocol(format!(
            "wrapped key bundle is only {} bytes",
            wrapped.len()
        )));
    }
    let (salt, rest) = wrapped.split_at(32);
    let (nonce, ct) = rest.split_at(12);
    let key = hkdf32(shared, Some(salt), KEY_BUNDLE_INFO);
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key).map_err(|_| Error::Protocol("AES key".into()))?,
    );
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Protocol("nonce".into()))?;
    let mut buf = ct.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::empty(), &mut buf)
        .map_err(|_| {
            Error::PairFailed("the key bundle does not decrypt: wrong pairing code?".into())
        })?;
    let field = |i: usize| -> Result<[u8; 32]> {
        plain
            .get(i * 32..(i + 1) * 32)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::Protocol("key bundle is not 96 bytes".into()))
    };
    if plain.len() != 96 {
        return Err(Error::Protocol(format!(
            "key bundle is {} bytes, expected 96",
            plain.len()
        )));
    }
    Ok(KeyBundle {
        companion_identity: field(0)?,
        primary_identity: field(1)?,
        adv_random: field(2)?,
    })
}

/// Seals a key bundle as a companion does (used by tests and simulated companions).
pub fn seal_key_bundle<R: CryptoRng + ?Sized>(
    shared: &[u8; 32],
    bundle: &KeyBundle,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let key = hkdf32(shared, Some(&salt), KEY_BUNDLE_INFO);
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key).map_err(|_| Error::Protocol("AES key".into()))?,
    );
    let mut buf = Vec::with_capacity(96 + 16);
    buf.extend_from_slice(&bundle.companion_identity);
    buf.extend_from_slice(&bundle.primary_identity);
    buf.extend_from_slice(&bundle.adv_random);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .map_err(|_| Error::Protocol("seal".into()))?;
    let mut out = salt.to_vec();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// The ADV secret: HKDF-SHA256(ephemeral shared ‖ identity shared ‖ random, no salt, "adv_secret").
#[must_use]
pub fn adv_secret(
    ephemeral_shared: &[u8; 32],
    identity_shared: &[u8; 32],
    random: &[u8; 32],
) -> [u8; 32] {
    let mut ikm = Vec::with_capacity(96);
    ikm.extend_from_slice(ephemeral_shared);
    ikm.extend_from_slice(identity_shared);
    ikm.extend_from_slice(random);
    hkdf32(&ikm, None, ADV_SECRET_INFO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(normalize_code("abcd-efgh").unwrap(), "ABCDEFGH");
        assert!(normalize_code("ABCD-EFG").is_err());
        assert!(normalize_code("ABCD-EFG0").is_err()); // 0 is not in the alphabet
    }

    #[test]
    fn wrap_unwrap_round_trip_and_wrong_code_gives_another_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = [42u8; 32];
        let wrapped = wrap_key("ABCDEFGH", &key, &mut rng);
        assert_eq!(unwrap_key("ABCDEFGH", &wrapped).unwrap(), key);
        assert_ne!(unwrap_key("ABCDEFGJ", &wrapped).unwrap(), key);
        assert!(unwrap_key("ABCDEFGH", &wrapped[..79]).is_err());
    }

    #[test]
    fn key_bundle_round_trip_and_tamper() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let bundle = KeyBundle {
            companion_identity: [1; 32],
            primary_identity: [2; 32],
            adv_random: [3; 32],
        };
        let sealed = seal_key_bundle(&[9; 32], &bundle, &mut rng).unwrap();
        assert_eq!(open_key_bundle(&[9; 32], &sealed).unwrap(), bundle);
        assert!(open_key_bundle(&[8; 32], &sealed).is_err());
        let mut bad = sealed.clone();
        bad[50] ^= 1;
        assert!(open_key_bundle(&[9; 32], &bad).is_err());
        assert!(open_key_bundle(&[9; 32], &sealed[..20]).is_err());
    }
}
