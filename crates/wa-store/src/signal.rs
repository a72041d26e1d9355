//! wa-signal's store traits over [`Store`], and [`Transaction`] for atomic multi-record updates.
//!
//! Every backend handle (and `dyn Store`) implements `IdentityKeyStore`, `PreKeyStore`,
//! `SignedPreKeyStore`, `SessionStore` and `SenderKeyStore`, so wa-signal's helpers run against
//! it directly; each of their writes is then its own commit. To commit "session updated +
//! prekey consumed + plaintext buffered" as one unit, run the helper against a [`Transaction`]:
//! it reads through to the store, collects the writes, and [`Transaction::commit`] applies them
//! together with whatever else the caller added.

use crate::hashing::{DigestMap, FastMap};
use std::sync::{Mutex, MutexGuard};

use rand_core::CryptoRng;
use wa_binary::Jid;
use wa_signal::store::{
    IdentityKeyStore, PreKeyStore, ProtocolAddress, SenderKeyName, SenderKeyStore, SessionStore,
    SignedPreKeyStore,
};
use wa_signal::{
    IdentityKeyPair, PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};

use crate::changes::Changes;
use crate::error::{Result, StoreError};
use crate::traits::Store;
use crate::types::BufferedEvent;

/// Largest prekey id on WhatsApp's wire (ids are 3 bytes).
pub const MAX_PRE_KEY_ID: u32 = 0x00FF_FFFF;

/// Generates `count` one-time prekeys with the ids after the last stored one (wrapping
/// within 24 bits, skipping 0), stores them in one commit and returns them for upload.
pub async fn generate_pre_keys<S, R>(
    store: &S,
    count: u32,
    rng: &mut R,
) -> Result<Vec<PreKeyRecord>>
where
    S: Store + ?Sized,
    R: CryptoRng + Send + ?Sized,
{
    let start = store.pre_key_counts().await?.last_id;
    let mut changes = Changes::new();
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 1..=count {
        let id = (start.wrapping_add(i).wrapping_sub(1) % MAX_PRE_KEY_ID) + 1;
        let record = PreKeyRecord::generate(id, rng);
        changes.put_pre_key(record.clone());
        out.push(record);
    }
    store.commit(changes).await?;
    Ok(out)
}

fn one(changes: impl FnOnce(&mut Changes)) -> Changes {
    let mut c = Changes::new();
    changes(&mut c);
    c
}

/// Implements wa-signal's store traits for a [`Store`] type; each write is one commit.
macro_rules! impl_signal_stores {
    ([$($g:tt)*] $ty:ty) => {
        impl<$($g)*> IdentityKeyStore for $ty {
            type Error = StoreError;
            async fn identity_key_pair(&self) -> Result<IdentityKeyPair> {
                Ok(Store::device(self).await?.identity_key)
            }
            async fn local_registration_id(&self) -> Result<u32> {
                Ok(Store::device(self).await?.registration_id)
            }
            async fn identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>> {
                Store::identity(self, address).await
            }
            async fn save_identity(
                &self,
                address: &ProtocolAddress,
                key: &PublicKey,
            ) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.put_identity(address.clone(), *key);
                    }),
                )
                .await
            }
        }
        impl<$($g)*> PreKeyStore for $ty {
            type Error = StoreError;
            async fn load_pre_key(&self, id: u32) -> Result<Option<PreKeyRecord>> {
                Store::pre_key(self, id).await
            }
            async fn store_pre_key(&self, record: &PreKeyRecord) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.put_pre_key(record.clone());
                    }),
                )
                .await
            }
            async fn remove_pre_key(&self, id: u32) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.remove_pre_key(id);
                    }),
                )
                .await
            }
        }
        impl<$($g)*> SignedPreKeyStore for $ty {
            type Error = StoreError;
            async fn load_signed_pre_key(&self, id: u32) -> Result<Option<SignedPreKeyRecord>> {
                Store::signed_pre_key(self, id).await
            }
            async fn store_signed_pre_key(&self, record: &SignedPreKeyRecord) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.put_signed_pre_key(record.clone());
                    }),
                )
                .await
            }
        }
        impl<$($g)*> SessionStore for $ty {
            type Error = StoreError;
            async fn load_session(
                &self,
                address: &ProtocolAddress,
            ) -> Result<Option<SessionRecord>> {
                Store::session(self, address).await
            }
            async fn store_session(
                &self,
                address: &ProtocolAddress,
                record: &SessionRecord,
            ) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.put_session(address.clone(), record);
                    }),
                )
                .await
            }
        }
        impl<$($g)*> SenderKeyStore for $ty {
            type Error = StoreError;
            async fn load_sender_key(
                &self,
                name: &SenderKeyName,
            ) -> Result<Option<SenderKeyRecord>> {
                Store::sender_key(self, name).await
            }
            async fn store_sender_key(
                &self,
                name: &SenderKeyName,
                record: &SenderKeyRecord,
            ) -> Result<()> {
                Store::commit(
                    self,
                    one(|c| {
                        c.put_sender_key(name.clone(), record);
                    }),
                )
                .await
            }
        }
    };
}

impl_signal_stores!([] dyn Store);
impl_signal_stores!([] crate::memory::MemoryStore);
#[cfg(feature = "sqlite")]
impl_signal_stores!([] crate::sqlite::SqliteStore);
#[cfg(feature = "testing")]
impl_signal_stores!([S: Store] crate::conformance::FaultyStore<S>);

/// Writes collected against a store, applied together by [`Transaction::commit`].
///
/// Reads see the transaction's own writes first (removals win over puts and PN→LID moves apply
/// last, as in a commit), then the store. It implements wa-signal's
/// store traits, so `wa_signal::store::decrypt(&txn, ..)` followed by
/// `txn.changes().buffer_event(..)` and `txn.commit()` persists the advanced session, the
/// consumed prekey and the buffered plaintext in one atomic commit. Dropping it discards the
/// writes.
pub struct Transaction<'s, S: Store + ?Sized> {
    store: &'s S,
    changes: Mutex<Changes>,
    /// Sessions written through the transaction, kept decoded: a batch that advances one
    /// session many times decodes it once and encodes it once (into `changes` when the
    /// transaction ends).
    sessions: Mutex<FastMap<ProtocolAddress, SessionRecord>>,
    /// Our identity key pair and registration id, read from the store at most once.
    own: Mutex<Option<(IdentityKeyPair, u32)>>,
    /// What the store answered so far (a batch asks about the same contact many times; with
    /// SQLite every question is a round trip to its thread).
    reads: Mutex<Reads>,
}

/// Prints the pending writes' counts, never keys or session state.
impl<S: Store + ?Sized> core::fmt::Debug for Transaction<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transaction")
            .field("changes", &*self.lock())
            .field(
                "sessions_written",
                &(self.sessions.lock().unwrap_or_else(|e| e.into_inner())).len(),
            )
            .finish_non_exhaustive()
    }
}

/// Store answers a [`Transaction`] keeps for its lifetime.
#[derive(Default)]
struct Reads {
    identities: FastMap<ProtocolAddress, Option<PublicKey>>,
    sessions: FastMap<ProtocolAddress, Option<SessionRecord>>,
    buffered: DigestMap<Option<BufferedEvent>>,
}

impl<'s, S: Store + ?Sized> Transaction<'s, S> {
    /// Starts collecting writes against `store`.
    pub fn new(store: &'s S) -> Self {
        Self {
            store,
            changes: Mutex::new(Changes::new()),
            sessions: Mutex::new(FastMap::default()),
            own: Mutex::new(None),
            reads: Mutex::new(Reads::default()),
        }
    }

    fn reads(&self) -> MutexGuard<'_, Reads> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the store about all of `hashes` in one go, so that [`Self::buffered_event`] answers
    /// them without a round trip each.
    pub async fn prefetch_buffered_events(&self, hashes: &[[u8; 32]]) -> Result<()> {
        let found = self.store.buffered_events(hashes).await?;
        let mut reads = self.reads();
        for hash in hashes {
            reads.buffered.entry(*hash).or_insert(None);
        }
        for event in found {
            reads.buffered.insert(event.hash, Some(event));
        }
        Ok(())
    }

    /// The writes collected so far, to add more.
    pub fn changes(&mut self) -> &mut Changes {
        self.changes.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// The collected writes, without committing them.
    pub fn into_changes(self) -> Changes {
        let mut changes = self.changes.into_inner().unwrap_or_else(|e| e.into_inner());
        let sessions = self
            .sessions
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        for (address, record) in sessions {
            changes.put_session(address, &record);
        }
        changes
    }

    /// Our identity key pair and registration id (a pending device write first, then the
    /// store, read once per transaction).
    async fn own(&self) -> Result<(IdentityKeyPair, u32)> {
        if let Some(d) = self.lock().device.as_ref() {
            return Ok((d.identity_key.clone(), d.registration_id));
        }
        let cached = self.own.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(own) = cached {
            return Ok(own);
        }
        let device = self.store.device().await?;
        let own = (device.identity_key, device.registration_id);
        *self.own.lock().unwrap_or_else(|e| e.into_inner()) = Some(own.clone());
        Ok(own)
    }

    /// Commits every collected write atomically.
    pub async fn commit(self) -> Result<()> {
        let store = self.store;
        store.commit(self.into_changes()).await
    }

    /// The store, for reads the transaction does not cover.
    pub fn store(&self) -> &'s S {
        self.store
    }

    /// A buffered event by ciphertext hash, seeing this transaction's own puts and clears
    /// first (so a batch of messages finds a ciphertext it buffered itself).
    pub async fn buffered_event(&self, hash: &[u8; 32]) -> Result<Option<BufferedEvent>> {
        let pending = {
            let c = self.lock();
            (c.buffered_events.iter().rev())
                .find(|e| &e.hash == hash)
                .cloned()
                .map(|mut e| {
                    if c.cleared_events.contains(hash) {
                        e.plaintext = None;
                    }
                    e
                })
        };
        if let Some(e) = pending {
            return Ok(Some(e));
        }
        if let Some(known) = self.reads().buffered.get(hash) {
            return Ok(known.clone());
        }
        self.store.buffered_event(hash).await
    }

    /// The LID user mapped to phone-number user `pn`, seeing this transaction's own mappings
    /// first.
    pub async fn lid_for_pn(&self, pn: &Jid) -> Result<Option<Jid>> {
        let pending = (self.lock().lid_mappings.iter().rev())
            .find(|(_, p)| p == pn)
            .map(|(lid, _)| lid.clone());
        match pending {
            Some(lid) => Ok(Some(lid)),
            None => self.store.lid_for_pn(pn).await,
        }
    }

    /// True if nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
            && (self.sessions.lock().unwrap_or_else(|e| e.into_inner())).is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: Store + ?Sized> IdentityKeyStore for Transaction<'_, S> {
    type Error = StoreError;
    async fn identity_key_pair(&self) -> Result<IdentityKeyPair> {
        Ok(self.own().await?.0)
    }
    async fn local_registration_id(&self) -> Result<u32> {
        Ok(self.own().await?.1)
    }
    async fn identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>> {
        match self.moved_from(&address.name) {
            Source::Gone => Ok(None),
            Source::Own => self.identity_before_moves(address).await,
            Source::From(pn) => {
                let from = ProtocolAddress::new(pn, address.device_id);
                match self.identity_before_moves(&from).await? {
                    Some(k) => Ok(Some(k)),
                    None => self.identity_before_moves(address).await,
                }
            }
        }
    }
    async fn save_identity(&self, address: &ProtocolAddress, key: &PublicKey) -> Result<()> {
        self.lock().put_identity(address.clone(), *key);
        Ok(())
    }
}

impl<S: Store + ?Sized> Transaction<'_, S> {
    async fn identity_before_moves(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>> {
        let pending = {
            let c = self.lock();
            if c.removed_identities.iter().any(|r| r.matches(address)) {
                return Ok(None);
            }
            (c.identities.iter().rev())
                .find(|(a, _)| a == address)
                .map(|(_, k)| *k)
        };
        if let Some(k) = pending {
            return Ok(Some(k));
        }
        if let Some(known) = self.reads().identities.get(address) {
            return Ok(*known);
        }
        let stored = self.store.identity(address).await?;
        self.reads().identities.insert(address.clone(), stored);
        Ok(stored)
    }

    /// Keeps `record` as the run's session for `address` (copying the address only the first
    /// time the run stores that session).
    fn keep_session(&self, address: &ProtocolAddress, record: SessionRecord) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(address) {
            Some(kept) => *kept = record,
            None => {
                sessions.insert(address.clone(), record);
            }
        }
    }

    async fn session_before_moves(
        &self,
        address: &ProtocolAddress,
    ) -> Result<Option<SessionRecord>> {
        let pending = {
            let c = self.lock();
            if c.removed_sessions.iter().any(|r| r.matches(address)) {
                return Ok(None);
            }
            let decoded = (self.sessions.lock().unwrap_or_else(|e| e.into_inner()))
                .get(address)
                .cloned();
            if decoded.is_some() {
                return Ok(decoded);
            }
            (c.sessions.iter().rev())
                .find(|(a, _)| a == address)
                .map(|(_, b)| b.clone())
        };
        if let Some(bytes) = pending {
            return SessionRecord::deserialize(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("session", e));
        }
        if let Some(known) = self.reads().sessions.get(address) {
            return Ok(known.clone());
        }
        let stored = self.store.session(address).await?;
        (self.reads().sessions).insert(address.clone(), stored.clone());
        Ok(stored)
    }

    async fn sender_key_before_moves(
        &self,
        name: &SenderKeyName,
    ) -> Result<Option<SenderKeyRecord>> {
        let pending = (self.lock().sender_keys.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone());
        match pending {
            Some(bytes) => SenderKeyRecord::deserialize(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("sender key", e)),
            None => self.store.sender_key(name).await,
        }
    }

    /// Where `user`'s Signal data comes from once the pending PN→LID moves apply.
    fn moved_from(&self, user: &str) -> Source {
        let c = self.lock();
        if c.pn_to_lid_moves.iter().any(|(pn, _)| pn == user) {
            return Source::Gone;
        }
        match c.pn_to_lid_moves.iter().rev().find(|(_, lid)| lid == user) {
            Some((pn, _)) => Source::From(pn.clone()),
            None => Source::Own,
        }
    }
}

/// The effect of pending PN→LID moves on one user's records.
enum Source {
    /// Not affected.
    Own,
    /// A phone-number user whose records move away.
    Gone,
    /// A LID user that receives the records of this phone-number user (where it has them).
    From(String),
}

impl<S: Store + ?Sized> PreKeyStore for Transaction<'_, S> {
    type Error = StoreError;
    async fn load_pre_key(&self, id: u32) -> Result<Option<PreKeyRecord>> {
        let pending = {
            let c = self.lock();
            if c.removed_pre_keys.contains(&id) {
                return Ok(None);
            }
            c.pre_keys.iter().rev().find(|r| r.id == id).cloned()
        };
        match pending {
            Some(r) => Ok(Some(r)),
            None => self.store.pre_key(id).await,
        }
    }
    async fn store_pre_key(&self, record: &PreKeyRecord) -> Result<()> {
        self.lock().put_pre_key(record.clone());
        Ok(())
    }
    async fn remove_pre_key(&self, id: u32) -> Result<()> {
        self.lock().remove_pre_key(id);
        Ok(())
    }
}

impl<S: Store + ?Sized> SignedPreKeyStore for Transaction<'_, S> {
    type Error = StoreError;
    async fn load_signed_pre_key(&self, id: u32) -> Result<Option<SignedPreKeyRecord>> {
        let pending = (self.lock().signed_pre_keys.iter().rev())
            .find(|r| r.id == id)
            .cloned();
        match pending {
            Some(r) => Ok(Some(r)),
            None => self.store.signed_pre_key(id).await,
        }
    }
    async fn store_signed_pre_key(&self, record: &SignedPreKeyRecord) -> Result<()> {
        self.lock().put_signed_pre_key(record.clone());
        Ok(())
    }
}

impl<S: Store + ?Sized> SessionStore for Transaction<'_, S> {
    type Error = StoreError;
    async fn load_session(&self, address: &ProtocolAddress) -> Result<Option<SessionRecord>> {
        match self.moved_from(&address.name) {
            Source::Gone => Ok(None),
            Source::Own => self.session_before_moves(address).await,
            Source::From(pn) => {
                let from = ProtocolAddress::new(pn, address.device_id);
                match self.session_before_moves(&from).await? {
                    Some(r) => Ok(Some(r)),
                    None => self.session_before_moves(address).await,
                }
            }
        }
    }
    async fn store_session(&self, address: &ProtocolAddress, record: &SessionRecord) -> Result<()> {
        self.keep_session(address, record.clone());
        Ok(())
    }
    fn store_session_owned(
        &self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> impl Future<Output = Result<()>> + Send
    where
        Self: Sync,
    {
        self.keep_session(address, record);
        core::future::ready(Ok(()))
    }
}

impl<S: Store + ?Sized> SenderKeyStore for Transaction<'_, S> {
    type Error = StoreError;
    async fn load_sender_key(&self, name: &SenderKeyName) -> Result<Option<SenderKeyRecord>> {
        match self.moved_from(&name.sender.name) {
            Source::Gone => Ok(None),
            Source::Own => self.sender_key_before_moves(name).await,
            Source::From(pn) => {
                let from = SenderKeyName {
                    group_id: name.group_id.clone(),
                    sender: ProtocolAddress::new(pn, name.sender.device_id),
                };
                match self.sender_key_before_moves(&from).await? {
                    Some(r) => Ok(Some(r)),
                    None => self.sender_key_before_moves(name).await,
                }
            }
        }
    }
    async fn store_sender_key(&self, name: &SenderKeyName, record: &SenderKeyRecord) -> Result<()> {
        self.lock().put_sender_key(name.clone(), record);
        Ok(())
    }
}
