//! Async store traits and helpers that run the sans-IO ciphers against them.
//!
//! The ciphers in [`crate::session`] and [`crate::group`] never see a store. These traits are
//! for callers that want the usual load → operate → save loop done for them; `wa-store`
//! implements them over its backends and [`MemorySignalStore`] is a small in-memory one.
//! Records travel as their typed values; backends keep [`SessionRecord::serialize`] bytes.

mod helpers;
mod memory;

use core::fmt;
use core::future::Future;

pub use helpers::{
    IncomingMessage, StoreError, decrypt, encrypt, group_create_distribution, group_decrypt,
    group_encrypt, group_process_distribution, process_bundle, trust_identity,
};
pub use memory::{MemoryError, MemorySignalStore};

use crate::group::SenderKeyRecord;
use crate::keys::{IdentityKeyPair, PublicKey};
use crate::prekeys::{PreKeyRecord, SignedPreKeyRecord};
use crate::session::SessionRecord;

/// A remote device: the user part of its JID and its device id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolAddress {
    /// User (phone number or LID user part).
    pub name: String,
    /// Device id (0 for the primary device).
    pub device_id: u32,
}

impl ProtocolAddress {
    /// Builds an address.
    pub fn new(name: impl Into<String>, device_id: u32) -> Self {
        Self {
            name: name.into(),
            device_id,
        }
    }
}

impl fmt::Display for ProtocolAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.name, self.device_id)
    }
}

/// Names a sender-key record: one sender device in one group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderKeyName {
    /// The group JID as a string.
    pub group_id: String,
    /// The sending device.
    pub sender: ProtocolAddress,
}

/// What trusting an identity key did (trust on first use; a changed key replaces the old one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityChange {
    /// First key seen for this address; saved.
    New,
    /// Same key as stored.
    Unchanged,
    /// A different key replaced the stored one; the client reports an identity change.
    Replaced {
        /// The key that was stored before.
        previous: PublicKey,
    },
}

/// Our identity and the identities of others.
pub trait IdentityKeyStore {
    /// Backend error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Our identity key pair.
    fn identity_key_pair(
        &self,
    ) -> impl Future<Output = Result<IdentityKeyPair, Self::Error>> + Send;
    /// Our registration id.
    fn local_registration_id(&self) -> impl Future<Output = Result<u32, Self::Error>> + Send;
    /// The identity stored for `address`.
    fn identity(
        &self,
        address: &ProtocolAddress,
    ) -> impl Future<Output = Result<Option<PublicKey>, Self::Error>> + Send;
    /// Stores (or replaces) the identity for `address`.
    fn save_identity(
        &self,
        address: &ProtocolAddress,
        key: &PublicKey,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Our one-time prekeys.
pub trait PreKeyStore {
    /// Backend error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Loads a prekey.
    fn load_pre_key(
        &self,
        id: u32,
    ) -> impl Future<Output = Result<Option<PreKeyRecord>, Self::Error>> + Send;
    /// Stores a prekey.
    fn store_pre_key(
        &self,
        record: &PreKeyRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Removes a consumed prekey.
    fn remove_pre_key(&self, id: u32) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Our signed prekeys.
pub trait SignedPreKeyStore {
    /// Backend error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Loads a signed prekey.
    fn load_signed_pre_key(
        &self,
        id: u32,
    ) -> impl Future<Output = Result<Option<SignedPreKeyRecord>, Self::Error>> + Send;
    /// Stores a signed prekey.
    fn store_signed_pre_key(
        &self,
        record: &SignedPreKeyRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Session records, one per remote device.
pub trait SessionStore {
    /// Backend error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Loads the record for `address`.
    fn load_session(
        &self,
        address: &ProtocolAddress,
    ) -> impl Future<Output = Result<Option<SessionRecord>, Self::Error>> + Send;
    /// Stores the record for `address`.
    fn store_session(
        &self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Stores the record for `address`, handed over: a store that keeps records in memory
    /// keeps this one instead of a copy. By default [`Self::store_session`].
    fn store_session_owned(
        &self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send
    where
        Self: Sync,
    {
        async move { self.store_session(address, &record).await }
    }
}

/// Sender-key records, one per (group, sender device).
pub trait SenderKeyStore {
    /// Backend error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Loads a record.
    fn load_sender_key(
        &self,
        name: &SenderKeyName,
    ) -> impl Future<Output = Result<Option<SenderKeyRecord>, Self::Error>> + Send;
    /// Stores a record.
    fn store_sender_key(
        &self,
        name: &SenderKeyName,
        record: &SenderKeyRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Every store the 1:1 helpers need, with one error type.
pub trait SignalProtocolStore:
    IdentityKeyStore
    + PreKeyStore<Error = <Self as IdentityKeyStore>::Error>
    + SignedPreKeyStore<Error = <Self as IdentityKeyStore>::Error>
    + SessionStore<Error = <Self as IdentityKeyStore>::Error>
    + Sync
{
}

impl<T> SignalProtocolStore for T where
    T: IdentityKeyStore
        + PreKeyStore<Error = <T as IdentityKeyStore>::Error>
        + SignedPreKeyStore<Error = <T as IdentityKeyStore>::Error>
        + SessionStore<Error = <T as IdentityKeyStore>::Error>
        + Sync
{
}
