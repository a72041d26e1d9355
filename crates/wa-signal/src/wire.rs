//! Wire codecs: `SignalMessage`, `PreKeySignalMessage`, `SenderKeyMessage`,
//! `SenderKeyDistributionMessage`, each a version byte (`0x33`) then a protobuf body, then a MAC
//! (8 bytes) or a signature (64 bytes) where the format has one.

use prost::Message as _;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::crypto::hmac_sha256;
use crate::error::{Result, SignalError};
use crate::keys::{PublicKey, SIGNATURE_LEN, Signer, Verifier};
use crate::protobuf::Fields;
use wa_proto::proto as pb;

/// Message version WhatsApp speaks.
pub const CIPHERTEXT_VERSION: u8 = 3;
/// The version byte: current version in the high nibble, lowest supported in the low nibble.
pub const VERSION_BYTE: u8 = (CIPHERTEXT_VERSION << 4) | CIPHERTEXT_VERSION;
/// Length of the truncated HMAC-SHA256 that ends a `SignalMessage`.
pub const MAC_LEN: usize = 8;

fn check_version(byte: u8) -> Result<()> {
    if byte >> 4 == CIPHERTEXT_VERSION {
        Ok(())
    } else {
        Err(SignalError::UnsupportedVersion(byte >> 4))
    }
}

/// Splits a serialized Signal wire message into its protobuf body, after checking the version
/// byte and cutting off a trailer of `trailer_len` bytes (a MAC or a signature; 0 for none).
fn versioned_body<'a>(
    bytes: &'a [u8],
    trailer_len: usize,
    trailer: &'static str,
) -> Result<&'a [u8]> {
    let (&version, rest) = bytes
        .split_first()
        .ok_or(SignalError::InvalidMessage("empty message"))?;
    check_version(version)?;
    let body_len = rest
        .len()
        .checked_sub(trailer_len)
        .ok_or(SignalError::InvalidMessage(trailer))?;
    rest.get(..body_len)
        .ok_or(SignalError::InvalidMessage("truncated"))
}

fn invalid(what: &'static str) -> SignalError {
    SignalError::InvalidMessage(what)
}

fn key_field(bytes: Option<&[u8]>, what: &'static str) -> Result<PublicKey> {
    let bytes = bytes.ok_or(SignalError::InvalidMessage(what))?;
    PublicKey::from_bytes(bytes).map_err(|_| SignalError::InvalidMessage(what))
}

/// A parsed (or freshly built) `SignalMessage` (WhatsApp's `msg` type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalMessage {
    serialized: Vec<u8>,
    ratchet_key: PublicKey,
    counter: u32,
    previous_counter: u32,
    /// Where the AES-CBC ciphertext lies in `serialized`.
    ciphertext: core::ops::Range<usize>,
}

impl SignalMessage {
    /// Parses version byte, protobuf body and MAC. The MAC is checked later, against a session.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "SignalMessage protobuf";
        let body = versioned_body(bytes, MAC_LEN, "message shorter than its MAC")?;
        let (mut ratchet_key, mut counter, mut previous_counter, mut ciphertext) =
            (None, None, None, None);
        let mut fields = Fields::new(body);
        // The last occurrence of a field wins, as in any protobuf decoder.
        while let Some((tag, value)) = fields.next_field().map_err(|_| invalid(WHAT))? {
            match tag {
                1 => ratchet_key = Some(value.bytes().map_err(|_| invalid(WHAT))?),
                2 => counter = Some(value.uint32().map_err(|_| invalid(WHAT))?),
                3 => previous_counter = Some(value.uint32().map_err(|_| invalid(WHAT))?),
                4 => ciphertext = Some(value.bytes().map_err(|_| invalid(WHAT))?),
                _ => {}
            }
        }
        let ratchet_key = key_field(ratchet_key, "SignalMessage ratchet key")?;
        let counter = counter.ok_or(SignalError::InvalidMessage("SignalMessage counter"))?;
        let ciphertext =
            ciphertext.ok_or(SignalError::InvalidMessage("SignalMessage ciphertext"))?;
        // The ciphertext is a slice of `bytes`: keep its place, not a copy.
        let start = (ciphertext.as_ptr() as usize) - (bytes.as_ptr() as usize);
        Ok(Self {
            serialized: bytes.to_vec(),
            ratchet_key,
            counter,
            previous_counter: previous_counter.unwrap_or(0),
            ciphertext: start..start + ciphertext.len(),
        })
    }

    /// Builds and MACs a message.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        mac_key: &[u8; 32],
        ratchet_key: PublicKey,
        counter: u32,
        previous_counter: u32,
        ciphertext: Vec<u8>,
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
    ) -> Self {
        let pb = pb::SignalMessage {
            ratchet_key: Some(ratchet_key.serialize().to_vec()),
            counter: Some(counter),
            previous_counter: Some(previous_counter),
            ciphertext: Some(ciphertext),
        };
        let mut serialized = Vec::with_capacity(pb.encoded_len() + 1 + MAC_LEN);
        serialized.push(VERSION_BYTE);
        pb.encode_raw(&mut serialized);
        // The ciphertext (field 4) is encoded last, so it ends the body.
        let end = serialized.len();
        let start = end - pb.ciphertext.as_ref().map_or(0, Vec::len);
        debug_assert_eq!(serialized.get(start..end), pb.ciphertext.as_deref());
        let mac = compute_mac(mac_key, sender_identity, receiver_identity, &serialized);
        serialized.extend_from_slice(&mac);
        Self {
            serialized,
            ratchet_key,
            counter,
            previous_counter,
            ciphertext: start..end,
        }
    }

    /// Checks the truncated MAC in constant time.
    pub(crate) fn verify_mac(
        &self,
        mac_key: &[u8; 32],
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
    ) -> bool {
        let split = self.serialized.len().saturating_sub(MAC_LEN);
        let (body, mac) = self.serialized.split_at(split);
        let expected = compute_mac(mac_key, sender_identity, receiver_identity, body);
        bool::from(expected.ct_eq(mac))
    }

    /// The sender's current ratchet key.
    pub fn ratchet_key(&self) -> &PublicKey {
        &self.ratchet_key
    }
    /// Message counter within its chain.
    pub fn counter(&self) -> u32 {
        self.counter
    }
    /// Length of the sender's previous chain.
    pub fn previous_counter(&self) -> u32 {
        self.previous_counter
    }
    /// The AES-CBC ciphertext.
    pub fn ciphertext(&self) -> &[u8] {
        self.serialized
            .get(self.ciphertext.clone())
            .unwrap_or_default()
    }
    /// The full serialized form.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }
}

fn compute_mac(
    mac_key: &[u8; 32],
    sender_identity: &PublicKey,
    receiver_identity: &PublicKey,
    body: &[u8],
) -> [u8; MAC_LEN] {
    let full = hmac_sha256(
        mac_key,
        &[
            &sender_identity.serialize(),
            &receiver_identity.serialize(),
            body,
        ],
    );
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// A parsed (or freshly built) `PreKeySignalMessage` (WhatsApp's `pkmsg` type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeySignalMessage {
    serialized: Vec<u8>,
    registration_id: u32,
    pre_key_id: Option<u32>,
    signed_pre_key_id: u32,
    base_key: PublicKey,
    identity_key: PublicKey,
    message: SignalMessage,
}

impl PreKeySignalMessage {
    /// Parses the version byte, the protobuf body and the embedded `SignalMessage`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "PreKeySignalMessage protobuf";
        let body = versioned_body(bytes, 0, "empty message")?;
        let (mut registration_id, mut pre_key_id, mut signed_pre_key_id) = (None, None, None);
        let (mut base_key, mut identity_key, mut message) = (None, None, None);
        let mut fields = Fields::new(body);
        // The last occurrence of a field wins, as in any protobuf decoder.
        while let Some((tag, value)) = fields.next_field().map_err(|_| invalid(WHAT))? {
            match tag {
                5 => registration_id = Some(value.uint32().map_err(|_| invalid(WHAT))?),
                1 => pre_key_id = Some(value.uint32().map_err(|_| invalid(WHAT))?),
                6 => signed_pre_key_id = Some(value.uint32().map_err(|_| invalid(WHAT))?),
                2 => base_key = Some(value.bytes().map_err(|_| invalid(WHAT))?),
                3 => identity_key = Some(value.bytes().map_err(|_| invalid(WHAT))?),
                4 => message = Some(value.bytes().map_err(|_| invalid(WHAT))?),
                _ => {}
            }
        }
        let inner = message.ok_or(SignalError::InvalidMessage("PreKeySignalMessage body"))?;
        Ok(Self {
            registration_id: registration_id.unwrap_or(0),
            pre_key_id,
            signed_pre_key_id: signed_pre_key_id.ok_or(SignalError::InvalidMessage(
                "PreKeySignalMessage signed prekey id",
            ))?,
            base_key: key_field(base_key, "PreKeySignalMessage base key")?,
            identity_key: key_field(identity_key, "PreKeySignalMessage identity key")?,
            message: SignalMessage::parse(inner)?,
            serialized: bytes.to_vec(),
        })
    }

    pub(crate) fn new(
        registration_id: u32,
        pre_key_id: Option<u32>,
        signed_pre_key_id: u32,
        base_key: PublicKey,
        identity_key: PublicKey,
        message: SignalMessage,
    ) -> Self {
        let pb = pb::PreKeySignalMessage {
            registration_id: Some(registration_id),
            pre_key_id,
            signed_pre_key_id: Some(signed_pre_key_id),
            base_key: Some(base_key.serialize().to_vec()),
            identity_key: Some(identity_key.serialize().to_vec()),
            message: Some(message.serialized.clone()),
        };
        let mut serialized = Vec::with_capacity(pb.encoded_len() + 1);
        serialized.push(VERSION_BYTE);
        pb.encode_raw(&mut serialized);
        Self {
            serialized,
            registration_id,
            pre_key_id,
            signed_pre_key_id,
            base_key,
            identity_key,
            message,
        }
    }

    /// Sender's registration id.
    pub fn registration_id(&self) -> u32 {
        self.registration_id
    }
    /// The one-time prekey id used, if any.
    pub fn pre_key_id(&self) -> Option<u32> {
        self.pre_key_id
    }
    /// The signed prekey id used.
    pub fn signed_pre_key_id(&self) -> u32 {
        self.signed_pre_key_id
    }
    /// The sender's X3DH base key (identifies the session).
    pub fn base_key(&self) -> &PublicKey {
        &self.base_key
    }
    /// The sender's identity key.
    pub fn identity_key(&self) -> &PublicKey {
        &self.identity_key
    }
    /// The embedded message.
    pub fn message(&self) -> &SignalMessage {
        &self.message
    }
    /// The full serialized form.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }
}

/// A parsed (or freshly built) `SenderKeyMessage` (WhatsApp's `skmsg` type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderKeyMessage {
    serialized: Vec<u8>,
    key_id: u32,
    iteration: u32,
    ciphertext: Vec<u8>,
}

impl SenderKeyMessage {
    /// Parses version byte, protobuf body and signature (checked later against the sender's key).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let body = versioned_body(bytes, SIGNATURE_LEN, "message shorter than its signature")?;
        let pb = pb::SenderKeyMessage::decode(body)
            .map_err(|_| SignalError::InvalidMessage("SenderKeyMessage protobuf"))?;
        Ok(Self {
            serialized: bytes.to_vec(),
            key_id: pb
                .id
                .ok_or(SignalError::InvalidMessage("SenderKeyMessage id"))?,
            iteration: pb
                .iteration
                .ok_or(SignalError::InvalidMessage("SenderKeyMessage iteration"))?,
            ciphertext: pb
                .ciphertext
                .ok_or(SignalError::InvalidMessage("SenderKeyMessage ciphertext"))?,
        })
    }

    pub(crate) fn new<R: CryptoRng + ?Sized>(
        key_id: u32,
        iteration: u32,
        ciphertext: Vec<u8>,
        signing_key: &Signer,
        rng: &mut R,
    ) -> Self {
        let pb = pb::SenderKeyMessage {
            id: Some(key_id),
            iteration: Some(iteration),
            ciphertext: Some(ciphertext),
        };
        let mut serialized = Vec::with_capacity(pb.encoded_len() + 1 + SIGNATURE_LEN);
        serialized.push(VERSION_BYTE);
        pb.encode_raw(&mut serialized);
        let signature = signing_key.sign(&serialized, rng);
        serialized.extend_from_slice(&signature);
        Self {
            serialized,
            key_id,
            iteration,
            ciphertext: pb.ciphertext.unwrap_or_default(),
        }
    }

    /// Verifies the XEdDSA signature with the sender's signing key.
    pub fn verify_signature(&self, signing_key: &PublicKey) -> Result<()> {
        let split = self.serialized.len().saturating_sub(SIGNATURE_LEN);
        let (body, sig) = self.serialized.split_at(split);
        signing_key.verify(body, sig)
    }

    /// Verifies the XEdDSA signature with a sender-key state's cached verifier.
    pub(crate) fn verify_signature_with(&self, verifier: &Verifier) -> Result<()> {
        let split = self.serialized.len().saturating_sub(SIGNATURE_LEN);
        let (body, sig) = self.serialized.split_at(split);
        verifier.verify(body, sig)
    }

    /// The sender key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
    /// The chain iteration.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }
    /// The AES-CBC ciphertext.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
    /// The full serialized form.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }
}

/// A parsed (or freshly built) `SenderKeyDistributionMessage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderKeyDistributionMessage {
    serialized: Vec<u8>,
    key_id: u32,
    iteration: u32,
    chain_key: [u8; 32],
    signing_key: PublicKey,
}

impl SenderKeyDistributionMessage {
    /// Parses version byte and protobuf body.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let body = versioned_body(bytes, 0, "empty message")?;
        let pb = pb::SenderKeyDistributionMessage::decode(body)
            .map_err(|_| SignalError::InvalidMessage("SenderKeyDistributionMessage protobuf"))?;
        let chain_key: [u8; 32] = pb
            .chain_key
            .as_deref()
            .and_then(|c| c.try_into().ok())
            .ok_or(SignalError::InvalidMessage(
                "SenderKeyDistributionMessage chain key",
            ))?;
        Ok(Self {
            serialized: bytes.to_vec(),
            key_id: pb.id.ok_or(SignalError::InvalidMessage(
                "SenderKeyDistributionMessage id",
            ))?,
            iteration: pb.iteration.ok_or(SignalError::InvalidMessage(
                "SenderKeyDistributionMessage iteration",
            ))?,
            chain_key,
            signing_key: key_field(
                pb.signing_key.as_deref(),
                "SenderKeyDistributionMessage signing key",
            )?,
        })
    }

    pub(crate) fn new(
        key_id: u32,
        iteration: u32,
        chain_key: [u8; 32],
        signing_key: PublicKey,
    ) -> Self {
        let pb = pb::SenderKeyDistributionMessage {
            id: Some(key_id),
            iteration: Some(iteration),
            chain_key: Some(chain_key.to_vec()),
            signing_key: Some(signing_key.serialize().to_vec()),
        };
        let mut serialized = Vec::with_capacity(pb.encoded_len() + 1);
        serialized.push(VERSION_BYTE);
        pb.encode_raw(&mut serialized);
        Self {
            serialized,
            key_id,
            iteration,
            chain_key,
            signing_key,
        }
    }

    /// The sender key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
    /// The iteration of the distributed chain key.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }
    /// The chain key (secret).
    pub fn chain_key(&self) -> &[u8; 32] {
        &self.chain_key
    }
    /// The sender's signing public key.
    pub fn signing_key(&self) -> &PublicKey {
        &self.signing_key
    }
    /// The full serialized form.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }
}
