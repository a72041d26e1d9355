//! XEdDSA signatures over Curve25519 keys, as libsignal computes them.
//!
//! The Montgomery private key is clamped and used as an Ed25519 scalar `a`; its Edwards public
//! key `A = aB` has a sign bit, which the signer copies into the top bit of the signature (the
//! top bit of `s` is always clear) so the verifier can rebuild `A` from the Montgomery `u`
//! coordinate alone. The nonce is `SHA-512(0xFE || 0xFF*31 || a || message || Z)` with 64
//! random bytes `Z`. Certificate chains are signed and verified with this scheme.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Length of an XEdDSA signature.
pub const SIGNATURE_LEN: usize = 64;

fn clamp(mut k: [u8; 32]) -> [u8; 32] {
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    k
}

fn hash_to_scalar(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let mut wide = Zeroizing::new([0u8; 64]);
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// Signs `message` with the Curve25519 `private` key; `random` is 64 fresh random bytes.
#[must_use]
pub fn sign(private: &[u8; 32], message: &[u8], random: &[u8; 64]) -> [u8; SIGNATURE_LEN] {
    let k = Zeroizing::new(clamp(*private));
    let a = Zeroizing::new(Scalar::from_bytes_mod_order(*k));
    let cap_a = EdwardsPoint::mul_base(&a).compress();
    let sign_bit = cap_a.as_bytes()[31] & 0x80;

    let mut prefix = [0xFFu8; 32];
    prefix[0] = 0xFE;
    let r = Zeroizing::new(hash_to_scalar(&[&prefix, k.as_slice(), message, random]));
    let cap_r = EdwardsPoint::mul_base(&r).compress();
    let h = hash_to_scalar(&[cap_r.as_bytes(), cap_a.as_bytes(), message]);
    let s = h * *a + *r;

    let mut sig = [0u8; SIGNATURE_LEN];
    sig[..32].copy_from_slice(cap_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    sig[63] &= 0x7F;
    sig[63] |= sign_bit;
    sig
}

/// Checks an XEdDSA `signature` over `message` by the Curve25519 `public` key.
#[must_use]
pub fn verify(public: &[u8; 32], message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    let sign = (signature[63] & 0x80) >> 7;
    let Some(cap_a) = MontgomeryPoint(*public).to_edwards(sign) else {
        return false;
    };
    let mut cap_r = [0u8; 32];
    cap_r.copy_from_slice(&signature[..32]);
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    s[31] &= 0x7F;
    if s[31] & 0xE0 != 0 {
        return false;
    }
    let h = hash_to_scalar(&[&cap_r, cap_a.compress().as_bytes(), message]);
    let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &h,
        &-cap_a,
        &Scalar::from_bytes_mod_order(s),
    )
    .compress();
    check.as_bytes().ct_eq(&cap_r).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyPair;

    fn arr<const N: usize>(h: &str) -> [u8; N] {
        hex::decode(h).unwrap().try_into().unwrap()
    }

    #[test]
    fn sign_then_verify() {
        for i in 0u8..16 {
            let kp = KeyPair::from_private_bytes([i.wrapping_mul(37).wrapping_add(1); 32]);
            let msg = vec![i; usize::from(i) * 3];
            let sig = sign(&kp.private_bytes(), &msg, &[i; 64]);
            assert!(verify(kp.public(), &msg, &sig));
            let mut bad = sig;
            bad[5] ^= 1;
            assert!(!verify(kp.public(), &msg, &bad));
            let mut flipped = sig;
            flipped[63] ^= 0x80;
            assert!(!verify(kp.public(), &msg, &flipped));
            let mut other_msg = msg.clone();
            other_msg.push(0);
            assert!(!verify(kp.public(), &other_msg, &sig));
        }
    }

    #[test]
    fn rejects_key_on_twist_and_high_s() {
        let kp = KeyPair::from_private_bytes([9; 32]);
        let sig = sign(&kp.private_bytes(), b"m", &[1; 64]);
        let mut high = sig;
        high[63] |= 0x60;
        assert!(!verify(kp.public(), b"m", &high));
        // u = p - 1 (that is, -1) has no Edwards image.
        let mut minus_one = [0xFFu8; 32];
        minus_one[0] = 0xEC;
        minus_one[31] = 0x7F;
        assert!(!verify(&minus_one, b"m", &sig));
    }

    /// Vector made with curve25519-js `sign(priv, msg, random)` (the library under Baileys'
    /// libsignal), also checked live through the oracle in `tests/tests/noise_interop.rs`.
    #[test]
    fn matches_curve25519_js_vector() {
        let private: [u8; 32] =
            arr("a8abababababababababababababababababababababababababababababab6b");
        let random = [0x42u8; 64];
        let msg = b"whatsmeow-rs xeddsa vector";
        let sig = sign(&private, msg, &random);
        let kp = KeyPair::from_private_bytes(private);
        assert_eq!(
            hex::encode(kp.public()),
            "e3712d851a0e5d79b831c5e34ab22b41a198171de209b8b8faca23a11c624859"
        );
        assert!(verify(kp.public(), msg, &sig));
        assert_eq!(hex::encode(sig), XEDDSA_VECTOR_SIG);
    }

    const XEDDSA_VECTOR_SIG: &str = "818598c018985ba1dfcf2184090f39edd80707fd3a83cf7679320d4169d441fd38eac5b76c87243a813dd4627ee4c3e6786d96f3159dd723cf767965efaad10d";
}
