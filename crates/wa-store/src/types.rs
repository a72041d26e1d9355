//! The plain data a store keeps: the device itself and the per-device facts around it.

use core::fmt;

use rand_core::CryptoRng;
use wa_binary::Jid;
use wa_signal::{IdentityKeyPair, KeyPair, SignedPreKeyRecord, generate_registration_id};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The container-wide id of one stored device (account); assigned when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub i64);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The 32-byte ADV secret shared with the primary phone at pairing. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AdvSecret(pub [u8; 32]);

impl fmt::Debug for AdvSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdvSecret(<redacted>)")
    }
}

/// Everything a companion device knows about itself (whatsmeow's `store.Device` without the
/// store handles). Private keys are zeroized on drop and redacted from `Debug`.
#[derive(Clone, Debug)]
pub struct Device {
    /// Our phone-number JID with device number; `None` until paired.
    pub jid: Option<Jid>,
    /// Our LID with device number; `None` until the server assigned one.
    pub lid: Option<Jid>,
    /// Signal registration id (14 bits).
    pub registration_id: u32,
    /// Noise static key pair used in the handshake.
    pub noise_key: KeyPair,
    /// Signal identity key pair.
    pub identity_key: IdentityKeyPair,
    /// The signed prekey currently published (also readable by id as a signed prekey).
    pub signed_pre_key: SignedPreKeyRecord,
    /// ADV secret key from pairing.
    pub adv_secret_key: AdvSecret,
    /// The `ADVSignedDeviceIdentity` protobuf bytes received at pairing (`None` until paired).
    pub account: Option<Vec<u8>>,
    /// Our push name.
    pub push_name: String,
    /// Platform reported by the server at pairing.
    pub platform: String,
    /// Business name, if this is a business account.
    pub business_name: String,
    /// Server-assigned Facebook UUID, if any.
    pub facebook_uuid: Option<String>,
    /// When the server told us the account migrated to LID addressing (unix seconds, 0 = never).
    pub lid_migration_timestamp: i64,
}

impl Device {
    /// A fresh unpaired device: new noise and identity keys, registration id, signed prekey 1
    /// and ADV secret, all drawn from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let identity_key = IdentityKeyPair::generate(rng);
        let signed_pre_key = SignedPreKeyRecord::generate(1, &identity_key, rng);
        let mut adv = [0u8; 32];
        rng.fill_bytes(&mut adv);
        let adv_secret_key = AdvSecret(adv);
        adv.zeroize();
        Self {
            jid: None,
            lid: None,
            registration_id: generate_registration_id(rng),
            noise_key: KeyPair::generate(rng),
            identity_key,
            signed_pre_key,
            adv_secret_key,
            account: None,
            push_name: String::new(),
            platform: String::new(),
            business_name: String::new(),
            facebook_uuid: None,
            lid_migration_timestamp: 0,
        }
    }
}

/// A stored device as listed by a container.
#[derive(Clone, Debug)]
pub struct StoredDevice {
    /// Its id in the container.
    pub id: DeviceId,
    /// Its data.
    pub device: Device,
}

/// An app-state sync key (from an `AppStateSyncKeyShare`), keyed by its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct AppStateSyncKey {
    /// Key id bytes.
    pub key_id: Vec<u8>,
    /// Key data (secret; zeroized on drop).
    pub data: Zeroizing<Vec<u8>>,
    /// Fingerprint protobuf bytes.
    pub fingerprint: Vec<u8>,
    /// Timestamp the phone gave the key.
    pub timestamp: i64,
}

impl fmt::Debug for AppStateSyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppStateSyncKey")
            .field("key_id", &self.key_id)
            .field("data", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Length of an LTHash state.
pub const LTHASH_LEN: usize = 128;

/// The synced state of one app-state collection: its version and LTHash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppStateVersion {
    /// Collection name (`regular`, `critical_block`, …).
    pub name: String,
    /// Version number.
    pub version: u64,
    /// LTHash over the collection's value MACs.
    pub hash: [u8; LTHASH_LEN],
}

/// A mutation MAC pair of an app-state collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutationMac {
    /// The index MAC (identifies the entry).
    pub index_mac: Vec<u8>,
    /// The value MAC (what the LTHash summed).
    pub value_mac: Vec<u8>,
}

/// What we know about a contact. In an upsert, `None` keeps the stored value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactInfo {
    /// First name from the address book.
    pub first_name: Option<String>,
    /// Full name from the address book.
    pub full_name: Option<String>,
    /// The name the contact set for itself.
    pub push_name: Option<String>,
    /// Verified business name.
    pub business_name: Option<String>,
}

/// Per-chat settings synced through app state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChatSettings {
    /// Muted until this unix time (0 = not muted, -1 = forever).
    pub muted_until: i64,
    /// Pinned to the top.
    pub pinned: bool,
    /// Archived.
    pub archived: bool,
}

/// Identifies a message whose secret (polls, reactions, edits) we keep.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageKey {
    /// The chat.
    pub chat: Jid,
    /// The sender.
    pub sender: Jid,
    /// The message id.
    pub id: String,
}

/// A privacy (trusted contact) token received from or for a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyToken {
    /// The contact.
    pub jid: Jid,
    /// Token bytes.
    pub token: Vec<u8>,
    /// When it was issued (unix seconds).
    pub timestamp: i64,
}

/// A message we sent, kept (bounded) to answer retry receipts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The chat it went to.
    pub chat: Jid,
    /// Its id.
    pub id: String,
    /// The serialized plaintext `Message` protobuf.
    pub payload: Vec<u8>,
}

/// A decrypted message held until the application has handled it, keyed by the SHA-256 of its
/// ciphertext so a redelivery after a crash reuses the plaintext instead of a spent ratchet key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferedEvent {
    /// SHA-256 of the ciphertext.
    pub hash: [u8; 32],
    /// The plaintext; `None` once the application handled it (the hash stays, to drop duplicates).
    pub plaintext: Option<Vec<u8>>,
    /// Server timestamp of the message (unix seconds).
    pub server_timestamp: i64,
    /// When it was buffered (unix seconds, caller's clock).
    pub inserted_at: i64,
}
