//! An in-memory store for tests, examples and benchmarks.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    IdentityKeyStore, PreKeyStore, ProtocolAddress, SenderKeyName, SenderKeyStore, SessionStore,
    SignedPreKeyStore,
};
use crate::group::SenderKeyRecord;
use crate::keys::{IdentityKeyPair, PublicKey};
use crate::prekeys::{PreKeyRecord, SignedPreKeyRecord};
use crate::session::SessionRecord;

/// The in-memory store's only error: a poisoned lock.
#[derive(Debug, thiserror::Error)]
#[error("memory store lock poisoned")]
pub struct MemoryError;

#[derive(Default)]
struct Inner {
    identities: HashMap<ProtocolAddress, PublicKey>,
    pre_keys: HashMap<u32, PreKeyRecord>,
    signed_pre_keys: HashMap<u32, SignedPreKeyRecord>,
    /// Sessions are kept serialized, as a real backend keeps them.
    sessions: HashMap<ProtocolAddress, Vec<u8>>,
    sender_keys: HashMap<SenderKeyName, Vec<u8>>,
}

/// A store that keeps everything in memory (records serialized, as a backend would).
pub struct MemorySignalStore {
    identity: IdentityKeyPair,
    registration_id: u32,
    inner: Mutex<Inner>,
}

impl core::fmt::Debug for MemorySignalStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemorySignalStore")
            .field("identity", self.identity.public())
            .field("registration_id", &self.registration_id)
            .finish_non_exhaustive()
    }
}

impl MemorySignalStore {
    /// A store for the device with this identity and registration id.
    pub fn new(identity: IdentityKeyPair, registration_id: u32) -> Self {
        Self {
            identity,
            registration_id,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, MemoryError> {
        self.inner.lock().map_err(|_| MemoryError)
    }
}

impl IdentityKeyStore for MemorySignalStore {
    type Error = MemoryError;
    async fn identity_key_pair(&self) -> Result<IdentityKeyPair, MemoryError> {
        Ok(self.identity.clone())
    }
    async fn local_registration_id(&self) -> Result<u32, MemoryError> {
        Ok(self.registration_id)
    }
    async fn identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>, MemoryError> {
        Ok(self.lock()?.identities.get(address).copied())
    }
    async fn save_identity(
        &self,
        address: &ProtocolAddress,
        key: &PublicKey,
    ) -> Result<(), MemoryError> {
        self.lock()?.identities.insert(address.clone(), *key);
        Ok(())
    }
}

impl PreKeyStore for MemorySignalStore {
    type Error = MemoryError;
    async fn load_pre_key(&self, id: u32) -> Result<Option<PreKeyRecord>, MemoryError> {
        Ok(self.lock()?.pre_keys.get(&id).cloned())
    }
    async fn store_pre_key(&self, record: &PreKeyRecord) -> Result<(), MemoryError> {
        self.lock()?.pre_keys.insert(record.id, record.clone());
        Ok(())
    }
    async fn remove_pre_key(&self, id: u32) -> Result<(), MemoryError> {
        self.lock()?.pre_keys.remove(&id);
        Ok(())
    }
}

impl SignedPreKeyStore for MemorySignalStore {
    type Error = MemoryError;
    async fn load_signed_pre_key(
        &self,
        id: u32,
    ) -> Result<Option<SignedPreKeyRecord>, MemoryError> {
        Ok(self.lock()?.signed_pre_keys.get(&id).cloned())
    }
    async fn store_signed_pre_key(&self, record: &SignedPreKeyRecord) -> Result<(), MemoryError> {
        self.lock()?
            .signed_pre_keys
            .insert(record.id, record.clone());
        Ok(())
    }
}

impl SessionStore for MemorySignalStore {
    type Error = MemoryError;
    async fn load_session(
        &self,
        address: &ProtocolAddress,
    ) -> Result<Option<SessionRecord>, MemoryError> {
        let bytes = self.lock()?.sessions.get(address).cloned();
        // Records written by this store always parse; a corrupt one reads as absent.
        Ok(bytes.and_then(|b| SessionRecord::deserialize(&b).ok()))
    }
    async fn store_session(
        &self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> Result<(), MemoryError> {
        self.lock()?
            .sessions
            .insert(address.clone(), record.serialize());
        Ok(())
    }
}

impl SenderKeyStore for MemorySignalStore {
    type Error = MemoryError;
    async fn load_sender_key(
        &self,
        name: &SenderKeyName,
    ) -> Result<Option<SenderKeyRecord>, MemoryError> {
        let bytes = self.lock()?.sender_keys.get(name).cloned();
        Ok(bytes.and_then(|b| SenderKeyRecord::deserialize(&b).ok()))
    }
    async fn store_sender_key(
        &self,
        name: &SenderKeyName,
        record: &SenderKeyRecord,
    ) -> Result<(), MemoryError> {
        self.lock()?
            .sender_keys
            .insert(name.clone(), record.serialize());
        Ok(())
    }
}
