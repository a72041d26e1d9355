//! Curve25519 key pairs for the handshake (ephemeral and static) and the certificate chain.

use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// A Curve25519 key pair. The private half is zeroized on drop.
///
/// Public keys travel as the plain 32-byte Montgomery `u` coordinate (no `0x05` type prefix),
/// as the handshake and the certificate chain carry them.
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl KeyPair {
    /// Builds a key pair from its 32 private bytes (clamped when used, as X25519 does).
    #[must_use]
    pub fn from_private_bytes(private: [u8; 32]) -> Self {
        let secret = StaticSecret::from(private);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// Draws a fresh key pair from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut private = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(private.as_mut_slice());
        Self::from_private_bytes(*private)
    }

    /// The public key.
    #[must_use]
    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// A copy of the private key, for persisting it; zeroized when the copy is dropped.
    #[must_use]
    pub fn private_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// X25519 with `their_public`, or `None` when the result is all zeros (a low-order peer key).
    pub(crate) fn agree(&self, their_public: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*their_public));
        if shared.was_contributory() {
            Some(Zeroizing::new(shared.to_bytes()))
        } else {
            None
        }
    }
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &Hex(&self.public))
            .finish_non_exhaustive()
    }
}

/// Lower-case hex for `Debug` output.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7748_public_key() {
        // RFC 7748 section 6.1, Alice.
        let private: [u8; 32] =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap()
                .try_into()
                .unwrap();
        let kp = KeyPair::from_private_bytes(private);
        assert_eq!(
            hex::encode(kp.public()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        let bob_public: [u8; 32] =
            hex::decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
                .unwrap()
                .try_into()
                .unwrap();
        let shared = kp.agree(&bob_public).unwrap();
        assert_eq!(
            hex::encode(*shared),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
    }

    #[test]
    fn low_order_peer_key_is_refused() {
        let kp = KeyPair::from_private_bytes([7; 32]);
        assert!(kp.agree(&[0; 32]).is_none());
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(kp.agree(&one).is_none());
    }
}
