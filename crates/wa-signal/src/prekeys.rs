//! Registration ids, signed and one-time prekeys, and prekey bundles.

use rand_core::CryptoRng;

use crate::error::Result;
use crate::keys::{IdentityKeyPair, KeyPair, PublicKey, SIGNATURE_LEN};

/// Draws a registration id in libsignal's range (14 bits, never zero).
pub fn generate_registration_id<R: CryptoRng + ?Sized>(rng: &mut R) -> u32 {
    loop {
        let id = rng.next_u32() & 0x3FFF;
        if id != 0 {
            return id;
        }
    }
}

/// A one-time prekey we published.
#[derive(Clone, Debug)]
pub struct PreKeyRecord {
    /// Its id (24 bits on WhatsApp's wire).
    pub id: u32,
    /// The key pair.
    pub key_pair: KeyPair,
}

impl PreKeyRecord {
    /// Generates a one-time prekey with `id`.
    pub fn generate<R: CryptoRng + ?Sized>(id: u32, rng: &mut R) -> Self {
        Self {
            id,
            key_pair: KeyPair::generate(rng),
        }
    }
}

/// A signed prekey we published.
#[derive(Clone, Debug)]
pub struct SignedPreKeyRecord {
    /// Its id.
    pub id: u32,
    /// The key pair.
    pub key_pair: KeyPair,
    /// XEdDSA signature by our identity key over the 33-byte serialized public key.
    pub signature: [u8; SIGNATURE_LEN],
}

impl SignedPreKeyRecord {
    /// Generates a signed prekey with `id`, signed by `identity`.
    pub fn generate<R: CryptoRng + ?Sized>(
        id: u32,
        identity: &IdentityKeyPair,
        rng: &mut R,
    ) -> Self {
        let key_pair = KeyPair::generate(rng);
        let signature = identity.private().sign(&key_pair.public.serialize(), rng);
        Self {
            id,
            key_pair,
            signature,
        }
    }
}

/// What a remote device publishes so others can start sessions with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyBundle {
    /// The device's registration id.
    pub registration_id: u32,
    /// The device's identity key.
    pub identity_key: PublicKey,
    /// Signed prekey id.
    pub signed_pre_key_id: u32,
    /// Signed prekey public key.
    pub signed_pre_key: PublicKey,
    /// Signature over the serialized signed prekey by the identity key.
    pub signed_pre_key_signature: Vec<u8>,
    /// Optional one-time prekey (id, public key).
    pub pre_key: Option<(u32, PublicKey)>,
}

impl PreKeyBundle {
    /// Checks the signed prekey signature.
    pub fn verify(&self) -> Result<()> {
        self.identity_key.verify(
            &self.signed_pre_key.serialize(),
            &self.signed_pre_key_signature,
        )
    }
}
