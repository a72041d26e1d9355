//! Pairing by phone-number code (whatsmeow's `pair-code.go`): the companion shows an 8-character
//! code, the user types it on the phone, and both sides derive the ADV secret from an
//! ephemeral X25519 exchange wrapped under that code.
//!
//! 1. `companion_hello`: our ephemeral public key wrapped as `salt ‖ iv ‖ AES-256-CTR(key)`
//!    under `PBKDF2-HMAC-SHA256(code, salt, 131072)`, with our Noise key and platform.
//! 2. The phone answers with a `link_code_companion_reg` notification (`primary_hello`): its
//!    identity key and its ephemeral key, wrapped the same way.
//! 3. `companion_finish`: `salt ‖ nonce ‖ AES-256-GCM(our identity ‖ its identity ‖ random)`
//!    under `HKDF(shared, salt, "link_code_pairing_key_bundle_encryption_key")`; the ADV secret
//!    becomes `HKDF(shared ‖ DH(our identity, its identity) ‖ random, "adv_secret")`.
//!
//! `pair-success` then follows exactly as after a QR scan.

use core::num::NonZeroU32;

use aes::Aes256;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use wa_binary::{Jid, Node, Server};
use wa_signal::{KeyPair, PublicKey};
use wa_store::Device;

use crate::error::PairError;

/// PBKDF2 rounds for the code key (`2 << 16`).
pub const PBKDF2_ROUNDS: u32 = 2 << 16;
/// The characters a code is made of (Crockford base32 without 0, I, O, U).
pub const CODE_ALPHABET: &[u8; 32] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";
const KEY_BUNDLE_INFO: &[u8] = b"link_code_pairing_key_bundle_encryption_key";
const ADV_SECRET_INFO: &[u8] = b"adv_secret";

/// A phone-code pairing in progress.
#[derive(Clone)]
pub struct PhonePairing {
    /// The code shown to the user.
    pub code: String,
    /// The account's phone-number JID.
    pub phone_jid: Jid,
    ephemeral: KeyPair,
}

impl core::fmt::Debug for PhonePairing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PhonePairing")
            .field("phone_jid", &self.phone_jid)
            .finish_non_exhaustive()
    }
}

/// Encodes 5 random bytes as the 8-character code.
#[must_use]
pub fn code_from_bytes(bytes: [u8; 5]) -> String {
    let mut v: u64 = 0;
    for b in bytes {
        v = (v << 8) | u64::from(b);
    }
    (0..8)
        .rev()
        .map(|i| {
            let idx = usize::try_from((v >> (i * 5)) & 31).unwrap_or(0);
            char::from(CODE_ALPHABET.get(idx).copied().unwrap_or(b'1'))
        })
        .collect()
}

/// Checks a phone number (digits with country code, `+`, spaces and dashes ignored).
pub fn parse_phone(phone: &str) -> Result<String, PairError> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    let valid = (6..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(digits)
    } else {
        Err(PairError::PhoneCode(format!(
            "{phone:?} is not a phone number with country code"
        )))
    }
}

fn code_key(code: &str, salt: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let rounds = NonZeroU32::new(PBKDF2_ROUNDS).unwrap_or(NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        code.as_bytes(),
        &mut key,
    );
    key
}

fn ctr(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    ctr::Ctr128BE::<Aes256>::new(key.into(), iv.into()).apply_keystream(data);
}

fn hkdf32(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit; expansion cannot fail.
    let _ = Hkdf::<Sha256>::new(salt, ikm).expand(info, &mut out);
    out
}

fn random<const N: usize, R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// Starts a phone-code pairing: returns the state and the `companion_hello` IQ (without id).
pub fn companion_hello<R: CryptoRng + ?Sized>(
    phone: &str,
    device: &Device,
    platform_id: u8,
    platform_display: &str,
    rng: &mut R,
) -> Result<(PhonePairing, Node), PairError> {
    let phone = parse_phone(phone)?;
    let code = code_from_bytes(random(rng));
    let ephemeral = KeyPair::generate(rng);
    let salt: [u8; 32] = random(rng);
    let iv: [u8; 16] = random(rng);
    let mut wrapped_key = *ephemeral.public.raw();
    ctr(&code_key(&code, &salt), &iv, &mut wrapped_key);
    let wrapped = [&salt[..], &iv, &wrapped_key].concat();
    let phone_jid = Jid::new(phone, Server::User);
    let node = Node::new("iq")
        .attr("xmlns", "md")
        .attr("type", "set")
        .child(
            Node::new("link_code_companion_reg")
                .attr("jid", phone_jid.clone())
                .attr("stage", "companion_hello")
                .attr("should_show_push_notification", "true")
                .child(
                    Node::new("link_code_pairing_wrapped_companion_ephemeral_pub")
                        .bytes(wrapped)
                        .build(),
                )
                .child(
                    Node::new("companion_server_auth_key_pub")
                        .bytes(device.noise_key.public.raw().to_vec())
                        .build(),
                )
                .child(
                    Node::new("companion_platform_id")
                        .bytes(platform_id.to_string().into_bytes())
                        .build(),
                )
                .child(
                    Node::new("companion_platform_display")
                        .bytes(platform_display.as_bytes().to_vec())
                        .build(),
                )
                .child(
                    Node::new("link_code_pairing_nonce")
                        .bytes(b"0".to_vec())
                        .build(),
                )
                .build(),
        )
        .build();
    Ok((
        PhonePairing {
            code,
            phone_jid,
            ephemeral,
        },
        node,
    ))
}

fn child_bytes<'a>(node: &'a Node, tag: &str) -> Result<&'a [u8], PairError> {
    node.child(tag)
        .and_then(Node::bytes)
        .ok_or_else(|| PairError::PhoneCode(format!("primary_hello without {tag}")))
}

fn key32(bytes: &[u8], what: &str) -> Result<[u8; 32], PairError> {
    bytes
        .try_into()
        .map_err(|_| PairError::PhoneCode(format!("{what} is {} bytes", bytes.len())))
}

/// Handles the phone's `primary_hello` (the `<link_code_companion_reg>` element): returns the
/// `companion_finish` IQ (without id) and the ADV secret to pair with.
pub fn primary_hello<R: CryptoRng + ?Sized>(
    pairing: &PhonePairing,
    device: &Device,
    reg: &Node,
    rng: &mut R,
) -> Result<(Node, [u8; 32]), PairError> {
    let pairing_ref = child_bytes(reg, "link_code_pairing_ref")?;
    let primary_identity = key32(
        child_bytes(reg, "primary_identity_pub")?,
        "primary identity",
    )?;
    let wrapped = child_bytes(reg, "link_code_pairing_wrapped_primary_ephemeral_pub")?;
    if wrapped.len() != 80 {
        return Err(PairError::PhoneCode(format!(
            "wrapped primary key is {} bytes",
            wrapped.len()
        )));
    }
    let (salt, rest) = wrapped.split_at(32);
    let (iv, ct) = rest.split_at(16);
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| PairError::PhoneCode("bad IV".into()))?;
    let mut primary_ephemeral = key32(ct, "primary ephemeral")?;
    ctr(&code_key(&pairing.code, salt), &iv, &mut primary_ephemeral);

    let shared = pairing
        .ephemeral
        .private
        .agree(&PublicKey::from_raw(primary_ephemeral));
    let adv_random: [u8; 32] = random(rng);
    let bundle_salt: [u8; 32] = random(rng);
    let nonce: [u8; 12] = random(rng);
    let key = hkdf32(&shared, Some(&bundle_salt), KEY_BUNDLE_INFO);
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key).map_err(|_| PairError::PhoneCode("AES key".into()))?,
    );
    let mut bundle = [
        &device.identity_key.public().raw()[..],
        &primary_identity,
        &adv_random,
    ]
    .concat();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut bundle,
    )
    .map_err(|_| PairError::PhoneCode("sealing the key bundle".into()))?;
    let wrapped_bundle = [&bundle_salt[..], &nonce, &bundle].concat();

    let identity_shared = device
        .identity_key
        .private()
        .agree(&PublicKey::from_raw(primary_identity));
    let adv_secret = hkdf32(
        &[&shared[..], &identity_shared, &adv_random].concat(),
        None,
        ADV_SECRET_INFO,
    );
    let node = Node::new("iq")
        .attr("xmlns", "md")
        .attr("type", "set")
        .child(
            Node::new("link_code_companion_reg")
                .attr("jid", pairing.phone_jid.clone())
                .attr("stage", "companion_finish")
                .child(
                    Node::new("link_code_pairing_wrapped_key_bundle")
                        .bytes(wrapped_bundle)
                        .build(),
                )
                .child(
                    Node::new("companion_identity_public")
                        .bytes(device.identity_key.public().raw().to_vec())
                        .build(),
                )
                .child(
                    Node::new("link_code_pairing_ref")
                        .bytes(pairing_ref.to_vec())
                        .build(),
                )
                .build(),
        )
        .build();
    Ok((node, adv_secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_crockford_alphabet() {
        assert_eq!(code_from_bytes([0; 5]), "11111111");
        assert_eq!(code_from_bytes([0xff; 5]), "ZZZZZZZZ");
        // 0x0842108421 = 00001 00001 ... : every 5-bit group is 1 -> '2'
        assert_eq!(code_from_bytes([0x08, 0x42, 0x10, 0x84, 0x21]), "22222222");
    }

    #[test]
    fn phone_numbers_are_checked() {
        assert_eq!(parse_phone("+1 555-123-4567").unwrap(), "15551234567");
        assert!(parse_phone("0123456").is_err());
        assert!(parse_phone("12ab5678").is_err());
        assert!(parse_phone("123").is_err());
    }
}
