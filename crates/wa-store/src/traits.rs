//! The store traits: one device's data ([`Store`]) and a container of devices ([`Container`]).
//!
//! Both are runtime-agnostic and object-safe (`Arc<dyn Store>` works): methods return boxed
//! `Send` futures. Reads are one method each; every write goes through [`Store::commit`], which
//! applies a whole [`Changes`] batch atomically.

use core::future::Future;
use core::pin::Pin;

use wa_binary::Jid;
use wa_signal::store::{
    IdentityKeyStore, PreKeyStore, ProtocolAddress, SenderKeyName, SenderKeyStore, SessionStore,
    SignedPreKeyStore,
};
use wa_signal::{PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord};

use crate::changes::Changes;
use crate::error::{Result, StoreError};
use crate::types::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device, DeviceId,
    MessageKey, OutgoingMessage, PrivacyToken, StoredDevice,
};

/// A boxed, `Send` future (what the object-safe store methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many one-time prekeys a device holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreKeyCounts {
    /// Stored prekeys (not yet consumed).
    pub total: u32,
    /// Of those, how many were uploaded to the server.
    pub uploaded: u32,
    /// Id of the last prekey stored (0 if none); generation continues after it.
    pub last_id: u32,
}

/// Everything one device (account) knows. A handle is cheap to clone and share; once its device
/// is deleted from the container, [`Store::device`] and [`Store::commit`] fail with
/// [`crate::StoreError::NoDevice`] and reads find nothing.
pub trait Store: Send + Sync + core::fmt::Debug {
    /// The device this handle reads and writes.
    fn id(&self) -> DeviceId;

    /// The device record.
    fn device(&self) -> BoxFuture<'_, Result<Device>>;

    /// Applies `changes` atomically: after a crash either all of them are present or none.
    fn commit(&self, changes: Changes) -> BoxFuture<'_, Result<()>>;

    /// The identity key stored for `address`.
    fn identity<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<PublicKey>>>;

    /// The session record for `address`.
    fn session<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>>;

    /// The session records for many addresses at once (one round trip), in the same order.
    fn sessions<'a>(
        &'a self,
        addresses: &'a [ProtocolAddress],
    ) -> BoxFuture<'a, Result<Vec<Option<SessionRecord>>>>;

    /// A one-time prekey.
    fn pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<PreKeyRecord>>>;

    /// How many prekeys are stored and uploaded, and the id of the last one stored.
    fn pre_key_counts(&self) -> BoxFuture<'_, Result<PreKeyCounts>>;

    /// A signed prekey.
    fn signed_pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<SignedPreKeyRecord>>>;

    /// A sender-key record.
    fn sender_key<'a>(
        &'a self,
        name: &'a SenderKeyName,
    ) -> BoxFuture<'a, Result<Option<SenderKeyRecord>>>;

    /// The device JIDs our sender key for `group` was distributed to, sorted by JID string.
    fn sender_key_distribution<'a>(&'a self, group: &'a Jid) -> BoxFuture<'a, Result<Vec<Jid>>>;

    /// An app-state sync key by id.
    fn app_state_sync_key<'a>(
        &'a self,
        key_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<AppStateSyncKey>>>;

    /// The app-state sync key with the highest timestamp.
    fn latest_app_state_sync_key(&self) -> BoxFuture<'_, Result<Option<AppStateSyncKey>>>;

    /// The version and LTHash of a collection.
    fn app_state_version<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<AppStateVersion>>>;

    /// The value MAC stored for an index MAC of a collection.
    fn mutation_mac<'a>(
        &'a self,
        name: &'a str,
        index_mac: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>>;

    /// A contact.
    fn contact<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<ContactInfo>>>;

    /// All contacts, ordered by JID string.
    fn contacts(&self) -> BoxFuture<'_, Result<Vec<(Jid, ContactInfo)>>>;

    /// A chat's settings.
    fn chat_settings<'a>(&'a self, chat: &'a Jid) -> BoxFuture<'a, Result<Option<ChatSettings>>>;

    /// A message secret.
    fn message_secret<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Vec<u8>>>>;

    /// A privacy token.
    fn privacy_token<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<PrivacyToken>>>;

    /// The phone-number user mapped to a LID user.
    fn pn_for_lid<'a>(&'a self, lid: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>>;

    /// The LID user mapped to a phone-number user.
    fn lid_for_pn<'a>(&'a self, pn: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>>;

    /// A cached outgoing message.
    fn outgoing_message<'a>(
        &'a self,
        chat: &'a Jid,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<OutgoingMessage>>>;

    /// A buffered event by ciphertext hash.
    fn buffered_event<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<BufferedEvent>>>;

    /// Buffered events whose plaintext the application has not handled yet, oldest first.
    fn pending_events(&self) -> BoxFuture<'_, Result<Vec<BufferedEvent>>>;

    /// The buffered events among `hashes` (hashes without one are left out), in one round
    /// trip where the backend can: a receive batch asks for all of its ciphertexts at once.
    fn buffered_events<'a>(
        &'a self,
        hashes: &'a [[u8; 32]],
    ) -> BoxFuture<'a, Result<Vec<BufferedEvent>>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for hash in hashes {
                if let Some(event) = self.buffered_event(hash).await? {
                    found.push(event);
                }
            }
            Ok(found)
        })
    }
}

/// Several devices in one database (whatsmeow's `sqlstore.Container`).
pub trait Container: Send + Sync + core::fmt::Debug {
    /// The per-device handle; it also implements wa-signal's store traits.
    type Store: Store
        + Clone
        + IdentityKeyStore<Error = StoreError>
        + PreKeyStore<Error = StoreError>
        + SignedPreKeyStore<Error = StoreError>
        + SessionStore<Error = StoreError>
        + SenderKeyStore<Error = StoreError>
        + 'static;

    /// Every stored device, by id.
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredDevice>>>;

    /// A handle to a device, if it exists.
    fn get(&self, id: DeviceId) -> BoxFuture<'_, Result<Option<Self::Store>>>;

    /// A handle to the device paired as `jid` (compared without agent; device number counts).
    fn get_by_jid<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<Self::Store>>>;

    /// Stores a new device and returns its handle.
    fn create(&self, device: Device) -> BoxFuture<'_, Result<Self::Store>>;

    /// Deletes a device and everything stored for it; deleting an absent device is not an error.
    fn delete(&self, id: DeviceId) -> BoxFuture<'_, Result<()>>;
}
