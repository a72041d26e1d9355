//! The simulated primary phone: it holds the account identity key and signs companion devices.
//!
//! On a real account the phone signs each linked device's identity (the "ADV" signed device
//! identity) with its own identity key; this module does the same for the test account.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use prost::Message as _;
use rand_core::CryptoRng;
use sha2::Sha256;
use wa_noise::{KeyPair, xeddsa};
use wa_proto::proto::{
    AdvDeviceIdentity, AdvKeyIndexList, AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac,
    AdvSignedKeyIndexList,
};

use crate::error::{Error, Result};

/// Prefix of the message the account (phone) key signs: `details ‖ companion identity`.
pub const ADV_ACCOUNT_SIGNATURE_PREFIX: [u8; 2] = [6, 0];
/// Prefix of the message the companion device signs: `details ‖ companion identity ‖ account key`.
pub const ADV_DEVICE_SIGNATURE_PREFIX: [u8; 2] = [6, 1];
/// Prefix of the message the account key signs for a key-index list: `details`.
pub const ADV_KEY_INDEX_LIST_PREFIX: [u8; 2] = [6, 2];
/// Id of the phone's (deterministic) signed prekey.
pub const PHONE_SIGNED_PRE_KEY_ID: u32 = 1;

/// The fields of a pairing QR code as a companion device shows it.
///
/// Two forms are accepted: `https://wa.me/settings/linked_devices#ref,noise,identity,adv[,platform]`
/// (Baileys 7, current whatsmeow) and the bare comma-separated list.
#[derive(Clone, PartialEq, Eq)]
pub struct QrCode {
    /// The pairing reference the server handed out in `pair-device`.
    pub reference: String,
    /// The companion's static Noise public key.
    pub noise_key: [u8; 32],
    /// The companion's Signal identity public key.
    pub identity_key: [u8; 32],
    /// The companion's ADV secret (HMAC key for the signed device identity).
    pub adv_secret: [u8; 32],
    /// The platform id (fifth field), when present.
    pub platform: Option<String>,
}

impl std::fmt::Debug for QrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrCode")
            .field("reference", &self.reference)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

fn key32(field: &str, name: &str) -> Result<[u8; 32]> {
    let bytes = B64
        .decode(field.trim())
        .map_err(|e| Error::BadQr(format!("{name} is not base64: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::BadQr(format!("{name} is {} bytes, expected 32", bytes.len())))
}

impl QrCode {
    /// Parses a QR string in either accepted form.
    pub fn parse(qr: &str) -> Result<Self> {
        let qr = qr.trim();
        let body = match qr.split_once('#') {
            Some((prefix, body)) if prefix.starts_with("https://") => body,
            Some(_) => return Err(Error::BadQr("unexpected URL form".into())),
            None => qr,
        };
        let fields: Vec<&str> = body.split(',').collect();
        let (reference, noise, identity, adv, platform) = match fields.as_slice() {
            [r, n, i, a] => (*r, *n, *i, *a, None),
            [r, n, i, a, p] => (*r, *n, *i, *a, Some((*p).to_owned())),
            other => {
                return Err(Error::BadQr(format!(
                    "expected 4 or 5 comma-separated fields, got {}",
                    other.len()
                )));
            }
        };
        if reference.is_empty() {
            return Err(Error::BadQr("empty reference".into()));
        }
        Ok(Self {
            reference: reference.to_owned(),
            noise_key: key32(noise, "noise key")?,
            identity_key: key32(identity, "identity key")?,
            adv_secret: key32(adv, "ADV secret")?,
            platform,
        })
    }
}

/// The simulated primary phone of the test account.
#[derive(Debug, Clone)]
pub struct Phone {
    identity: KeyPair,
}

/// A signed device identity as sent in `pair-success`, plus what the server keeps to check the
/// companion's answer.
#[derive(Debug, Clone)]
pub struct SignedDevice {
    /// Encoded `ADVSignedDeviceIdentityHMAC` (the `<device-identity>` bytes of `pair-success`).
    pub container: Vec<u8>,
    /// Encoded `ADVDeviceIdentity` (signed by both sides).
    pub details: Vec<u8>,
    /// The key index assigned to the device.
    pub key_index: u32,
}

impl Phone {
    /// A phone whose account identity key is `identity`.
    #[must_use]
    pub fn new(identity: KeyPair) -> Self {
        Self { identity }
    }

    /// The account identity key pair.
    #[must_use]
    pub fn identity(&self) -> &KeyPair {
        &self.identity
    }

    /// A value derived from the identity private key and `label` (deterministic, so the
    /// phone's signed prekey needs no storage).
    fn derive(&self, label: &[u8]) -> [u8; 32] {
        use sha2::Digest as _;
        let mut h = Sha256::new();
        h.update(label);
        h.update(self.identity.private_bytes().as_slice());
        h.finalize().into()
    }

    /// The phone's signed prekey (id [`PHONE_SIGNED_PRE_KEY_ID`], signed by the identity key
    /// over `05 ‖ public`) and its registration id, as handed out in bundle fetches of
    /// device 0. Deterministic from the identity key. The phone never decrypts what is
    /// encrypted to it: the server drops messages for device 0.
    #[must_use]
    pub fn signed_pre_key(&self) -> (crate::state::SignedPreKey, u32) {
        let key = KeyPair::from_private_bytes(self.derive(b"wa-testserver phone signed prekey"));
        let mut msg = vec![5u8];
        msg.extend_from_slice(key.public());
        let r1 = self.derive(b"wa-testserver phone signed prekey nonce 1");
        let r2 = self.derive(b"wa-testserver phone signed prekey nonce 2");
        let mut random = [0u8; 64];
        for (dst, src) in random.iter_mut().zip(r1.iter().chain(r2.iter())) {
            *dst = *src;
        }
        let signature = xeddsa::sign(&self.identity.private_bytes(), &msg, &random);
        (
            crate::state::SignedPreKey {
                id: PHONE_SIGNED_PRE_KEY_ID,
                public: *key.public(),
                signature,
            },
            crate::phone_sync::PHONE_REGISTRATION_ID,
        )
    }

    /// An encoded `ADVSignedKeyIndexList` (`<key-index-list>` of usync device lists): the
    /// account's valid key indexes, signed by the account key over `06 02 ‖ details`.
    #[must_use]
    pub fn sign_key_index_list(
        &self,
        raw_id: u32,
        timestamp: u64,
        current_index: u32,
        valid_indexes: &[u32],
    ) -> Vec<u8> {
        let details = AdvKeyIndexList {
            raw_id: Some(raw_id),
            timestamp: Some(timestamp),
            current_index: Some(current_index),
            valid_indexes: valid_indexes.to_vec(),
            account_type: None,
        }
        .encode_to_vec();
        let mut msg = ADV_KEY_INDEX_LIST_PREFIX.to_vec();
        msg.extend_from_slice(&details);
        let random = self.derive(&msg);
        let mut r = [0u8; 64];
        for (dst, src) in r.iter_mut().zip(random.iter()) {
            *dst = *src;
        }
        let signature = xeddsa::sign(&self.identity.private_bytes(), &msg, &r);
        AdvSignedKeyIndexList {
            details: Some(details),
            account_signature: Some(signature.to_vec()),
            account_signature_key: Some(self.identity.public().to_vec()),
        }
        .encode_to_vec()
    }

    /// Signs a new companion: builds `ADVDeviceIdentity{raw_id, timestamp, key_index}`, signs
    /// `06 00 ‖ details ‖ companion identity` with the account key and wraps it in an HMAC
    /// container keyed by the companion's ADV secret.
    pub fn sign_device<R: CryptoRng + ?Sized>(
        &self,
        companion_identity: &[u8; 32],
        adv_secret: &[u8; 32],
        raw_id: u32,
        key_index: u32,
        timestamp: u64,
        rng: &mut R,
    ) -> SignedDevice {
        let details = AdvDeviceIdentity {
            raw_id: Some(raw_id),
            timestamp: Some(timestamp),
            key_index: Some(key_index),
            account_type: None,
            device_type: None,
        }
        .encode_to_vec();
        let mut msg = Vec::with_capacity(2 + details.len() + 32);
        msg.extend_from_slice(&ADV_ACCOUNT_SIGNATURE_PREFIX);
        msg.extend_from_slice(&details);
        msg.extend_from_slice(companion_identity);
        let mut random = [0u8; 64];
        rng.fill_bytes(&mut random);
        let account_signature = xeddsa::sign(&self.identity.private_bytes(), &msg, &random);
        let signed = AdvSignedDeviceIdentity {
            details: Some(details.clone()),
            account_signature_key: Some(self.identity.public().to_vec()),
            account_signature: Some(account_signature.to_vec()),
            device_signature: None,
        }
        .encode_to_vec();
        let hmac = adv_hmac(adv_secret, &signed);
        let container = AdvSignedDeviceIdentityHmac {
            details: Some(signed),
            hmac: Some(hmac.to_vec()),
            account_type: None,
        }
        .encode_to_vec();
        SignedDevice {
            container,
            details,
            key_index,
        }
    }

    /// Checks the companion's `pair-device-sign` answer: its `ADVSignedDeviceIdentity` must carry
    /// the details the phone signed, the phone's account signature, and a valid device signature
    /// over `06 01 ‖ details ‖ companion identity ‖ account key` by the companion identity key.
    pub fn verify_device_signature(
        &self,
        answer: &[u8],
        expected_details: &[u8],
        companion_identity: &[u8; 32],
    ) -> Result<()> {
        let signed = AdvSignedDeviceIdentity::decode(answer)?;
        if signed.details.as_deref() != Some(expected_details) {
            return Err(Error::Protocol(
                "pair-device-sign details differ from the ones the phone signed".into(),
            ));
        }
        let sig = signed
            .device_signature
            .as_deref()
            .ok_or_else(|| Error::Protocol("pair-device-sign has no device signature".into()))?;
        let sig: [u8; 64] = sig.try_into().map_err(|_| {
            Error::Protocol(format!(
                "device signature is {} bytes, expected 64",
                sig.len()
            ))
        })?;
        let mut msg = Vec::with_capacity(2 + expected_details.len() + 64);
        msg.extend_from_slice(&ADV_DEVICE_SIGNATURE_PREFIX);
        msg.extend_from_slice(expected_details);
        msg.extend_from_slice(companion_identity);
        msg.extend_from_slice(self.identity.public());
        if !xeddsa::verify(companion_identity, &msg, &sig) {
            return Err(Error::Protocol("device signature does not verify".into()));
        }
        Ok(())
    }
}

/// Damages a signed device identity container for fault tests: `bad_hmac` flips a bit of the
/// HMAC; `bad_signature` flips a bit of the account signature and recomputes a valid HMAC.
pub fn corrupt_container(
    container: &[u8],
    adv_secret: &[u8; 32],
    bad_hmac: bool,
    bad_signature: bool,
) -> Result<Vec<u8>> {
    let mut outer = AdvSignedDeviceIdentityHmac::decode(container)?;
    if bad_signature {
        let mut inner = AdvSignedDeviceIdentity::decode(outer.details.as_deref().unwrap_or(&[]))?;
        if let Some(byte) = inner.account_signature.as_mut().and_then(|s| s.first_mut()) {
            *byte ^= 0x01;
        }
        let details = inner.encode_to_vec();
        outer.hmac = Some(adv_hmac(adv_secret, &details).to_vec());
        outer.details = Some(details);
    }
    if bad_hmac && let Some(byte) = outer.hmac.as_mut().and_then(|h| h.first_mut()) {
        *byte ^= 0x01;
    }
    Ok(outer.encode_to_vec())
}

/// HMAC-SHA256 of `data` under the ADV secret.
#[must_use]
pub fn adv_hmac(adv_secret: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(adv_secret) else {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        return [0u8; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn qr_string(prefix: &str) -> String {
        format!(
            "{prefix}2@abc,{},{},{},1",
            B64.encode([1u8; 32]),
            B64.encode([2u8; 32]),
            B64.encode([3u8; 32])
        )
    }

    #[test]
    fn parses_both_qr_forms() {
        let url = QrCode::parse(&qr_string("https://wa.me/settings/linked_devices#")).unwrap();
        assert_eq!(url.reference, "2@abc");
        assert_eq!(url.noise_key, [1; 32]);
        assert_eq!(url.identity_key, [2; 32]);
        assert_eq!(url.adv_secret, [3; 32]);
        assert_eq!(url.platform.as_deref(), Some("1"));
        let bare = QrCode::parse(&qr_string("")).unwrap();
        assert_eq!(bare, url);
    }

    #[test]
    fn bad_qr_is_an_error() {
        assert!(matches!(QrCode::parse("a,b"), Err(Error::BadQr(_))));
        assert!(matches!(QrCode::parse("r,!!,x,y"), Err(Error::BadQr(_))));
        let short = format!(
            "r,{},{},{}",
            B64.encode([1u8; 31]),
            B64.encode([2u8; 32]),
            B64.encode([3u8; 32])
        );
        assert!(matches!(QrCode::parse(&short), Err(Error::BadQr(_))));
        assert!(matches!(
            QrCode::parse("http://x#r,a,b,c"),
            Err(Error::BadQr(_))
        ));
    }

    #[test]
    fn signed_device_verifies_and_device_signature_is_checked() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let phone = Phone::new(KeyPair::generate(&mut rng));
        let companion = KeyPair::generate(&mut rng);
        let adv = [9u8; 32];
        let signed = phone.sign_device(companion.public(), &adv, 7, 1, 1_700_000_000, &mut rng);

        // The container's HMAC and account signature are what a companion checks.
        let container = AdvSignedDeviceIdentityHmac::decode(signed.container.as_slice()).unwrap();
        let inner = container.details.unwrap();
        assert_eq!(container.hmac.unwrap(), adv_hmac(&adv, &inner));
        let sdi = AdvSignedDeviceIdentity::decode(inner.as_slice()).unwrap();
        let mut msg = ADV_ACCOUNT_SIGNATURE_PREFIX.to_vec();
        msg.extend_from_slice(&signed.details);
        msg.extend_from_slice(companion.public());
        let sig: [u8; 64] = sdi.account_signature.unwrap().try_into().unwrap();
        assert!(xeddsa::verify(phone.identity().public(), &msg, &sig));

        // The companion's answer.
        let mut dmsg = ADV_DEVICE_SIGNATURE_PREFIX.to_vec();
        dmsg.extend_from_slice(&signed.details);
        dmsg.extend_from_slice(companion.public());
        dmsg.extend_from_slice(phone.identity().public());
        let dsig = xeddsa::sign(&companion.private_bytes(), &dmsg, &[4u8; 64]);
        let mut answer = AdvSignedDeviceIdentity {
            details: Some(signed.details.clone()),
            account_signature_key: None,
            account_signature: Some(sig.to_vec()),
            device_signature: Some(dsig.to_vec()),
        };
        phone
            .verify_device_signature(&answer.encode_to_vec(), &signed.details, companion.public())
            .unwrap();
        // A flipped bit in the device signature is refused.
        let mut bad = dsig;
        bad[5] ^= 1;
        answer.device_signature = Some(bad.to_vec());
        assert!(
            phone
                .verify_device_signature(
                    &answer.encode_to_vec(),
                    &signed.details,
                    companion.public()
                )
                .is_err()
        );
        // Missing signature and garbage are errors, not panics.
        answer.device_signature = None;
        assert!(
            phone
                .verify_device_signature(
                    &answer.encode_to_vec(),
                    &signed.details,
                    companion.public()
                )
                .is_err()
        );
        assert!(
            phone
                .verify_device_signature(&[0xff, 0xff], &signed.details, companion.public())
                .is_err()
        );
    }
}
