//! A fault-injecting wrapper: a container whose stores fail commits on command, to test what
//! callers do when the store fails (or the process "crashes") between two writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wa_binary::Jid;
use wa_signal::store::{ProtocolAddress, SenderKeyName};
use wa_signal::{PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord};

use crate::traits::{BoxFuture, PreKeyCounts};
use crate::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, Changes, ChatSettings, ContactInfo, Container,
    Device, DeviceId, MessageKey, OutgoingMessage, PrivacyToken, Result, Store, StoreError,
    StoredDevice,
};

/// Shared fault schedule: how many more commits succeed before every commit fails.
#[derive(Debug)]
pub struct Faults {
    remaining: AtomicU64,
    failed: AtomicU64,
}

impl Faults {
    fn new() -> Self {
        Self {
            remaining: AtomicU64::new(u64::MAX),
            failed: AtomicU64::new(0),
        }
    }

    /// Lets `n` more commits through, then fails every commit (a crash after `n` writes).
    pub fn fail_after(&self, n: u64) {
        self.remaining.store(n, Ordering::SeqCst);
    }

    /// Stops failing.
    pub fn heal(&self) {
        self.remaining.store(u64::MAX, Ordering::SeqCst);
    }

    /// How many commits were refused so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    fn admit(&self) -> Result<()> {
        let admitted =
            self.remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| match r {
                    u64::MAX => Some(r),
                    0 => None,
                    r => Some(r - 1),
                });
        if admitted.is_err() {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Backend("injected fault".into()));
        }
        Ok(())
    }
}

/// A container whose stores fail commits according to [`FaultyContainer::faults`]. With no
/// fault scheduled it behaves exactly as the wrapped container (the suite runs through it).
#[derive(Clone, Debug)]
pub struct FaultyContainer<C> {
    inner: C,
    faults: Arc<Faults>,
}

impl<C: Container> FaultyContainer<C> {
    /// Wraps `inner`; nothing fails until a fault is scheduled.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            faults: Arc::new(Faults::new()),
        }
    }

    /// The fault schedule shared by every store of this container.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    fn wrap(&self, store: C::Store) -> FaultyStore<C::Store> {
        FaultyStore {
            inner: store,
            faults: Arc::clone(&self.faults),
        }
    }
}

impl<C: Container> Container for FaultyContainer<C> {
    type Store = FaultyStore<C::Store>;

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredDevice>>> {
        self.inner.list()
    }

    fn get(&self, id: DeviceId) -> BoxFuture<'_, Result<Option<Self::Store>>> {
        Box::pin(async move { Ok(self.inner.get(id).await?.map(|s| self.wrap(s))) })
    }

    fn get_by_jid<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<Self::Store>>> {
        Box::pin(async move { Ok(self.inner.get_by_jid(jid).await?.map(|s| self.wrap(s))) })
    }

    fn create(&self, device: Device) -> BoxFuture<'_, Result<Self::Store>> {
        Box::pin(async move { Ok(self.wrap(self.inner.create(device).await?)) })
    }

    fn delete(&self, id: DeviceId) -> BoxFuture<'_, Result<()>> {
        self.inner.delete(id)
    }
}

/// A store whose commits fail when its container's [`Faults`] say so; reads pass through.
#[derive(Clone, Debug)]
pub struct FaultyStore<S> {
    inner: S,
    faults: Arc<Faults>,
}

impl<S: Store> Store for FaultyStore<S> {
    fn id(&self) -> DeviceId {
        self.inner.id()
    }
    fn device(&self) -> BoxFuture<'_, Result<Device>> {
        self.inner.device()
    }
    fn commit(&self, changes: Changes) -> BoxFuture<'_, Result<()>> {
        match self.faults.admit() {
            Ok(()) => self.inner.commit(changes),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
    fn identity<'a>(&'a self, a: &'a ProtocolAddress) -> BoxFuture<'a, Result<Option<PublicKey>>> {
        self.inner.identity(a)
    }
    fn session<'a>(
        &'a self,
        a: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        self.inner.session(a)
    }
    fn sessions<'a>(
        &'a self,
        a: &'a [ProtocolAddress],
    ) -> BoxFuture<'a, Result<Vec<Option<SessionRecord>>>> {
        self.inner.sessions(a)
    }
    fn pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<PreKeyRecord>>> {
        self.inner.pre_key(id)
    }
    fn pre_key_counts(&self) -> BoxFuture<'_, Result<PreKeyCounts>> {
        self.inner.pre_key_counts()
    }
    fn signed_pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<SignedPreKeyRecord>>> {
        self.inner.signed_pre_key(id)
    }
    fn sender_key<'a>(
        &'a self,
        n: &'a SenderKeyName,
    ) -> BoxFuture<'a, Result<Option<SenderKeyRecord>>> {
        self.inner.sender_key(n)
    }
    fn sender_key_distribution<'a>(&'a self, g: &'a Jid) -> BoxFuture<'a, Result<Vec<Jid>>> {
        self.inner.sender_key_distribution(g)
    }
    fn app_state_sync_key<'a>(
        &'a self,
        id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<AppStateSyncKey>>> {
        self.inner.app_state_sync_key(id)
    }
    fn latest_app_state_sync_key(&self) -> BoxFuture<'_, Result<Option<AppStateSyncKey>>> {
        self.inner.latest_app_state_sync_key()
    }
    fn app_state_version<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<AppStateVersion>>> {
        self.inner.app_state_version(name)
    }
    fn mutation_mac<'a>(
        &'a self,
        name: &'a str,
        index: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        self.inner.mutation_mac(name, index)
    }
    fn contact<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<ContactInfo>>> {
        self.inner.contact(jid)
    }
    fn contacts(&self) -> BoxFuture<'_, Result<Vec<(Jid, ContactInfo)>>> {
        self.inner.contacts()
    }
    fn chat_settings<'a>(&'a self, chat: &'a Jid) -> BoxFuture<'a, Result<Option<ChatSettings>>> {
        self.inner.chat_settings(chat)
    }
    fn message_secret<'a>(&'a self, k: &'a MessageKey) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        self.inner.message_secret(k)
    }
    fn privacy_token<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<PrivacyToken>>> {
        self.inner.privacy_token(jid)
    }
    fn pn_for_lid<'a>(&'a self, lid: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        self.inner.pn_for_lid(lid)
    }
    fn lid_for_pn<'a>(&'a self, pn: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        self.inner.lid_for_pn(pn)
    }
    fn outgoing_message<'a>(
        &'a self,
        chat: &'a Jid,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<OutgoingMessage>>> {
        self.inner.outgoing_message(chat, id)
    }
    fn buffered_event<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<BufferedEvent>>> {
        self.inner.buffered_event(hash)
    }
    fn pending_events(&self) -> BoxFuture<'_, Result<Vec<BufferedEvent>>> {
        self.inner.pending_events()
    }
    fn buffered_events<'a>(
        &'a self,
        hashes: &'a [[u8; 32]],
    ) -> BoxFuture<'a, Result<Vec<BufferedEvent>>> {
        self.inner.buffered_events(hashes)
    }
}

/// A crash between the writes of wa-signal's `decrypt` helper run directly on a store leaves a
/// half-applied result; run on a [`crate::Transaction`], a failed commit leaves nothing and the
/// same message can be decrypted again.
pub async fn crash_between_writes<C: Container>(c: FaultyContainer<C>) {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_signal::PreKeyBundle;
    use wa_signal::store::{IncomingMessage, decrypt, encrypt, process_bundle};

    let mut rng = ChaCha20Rng::seed_from_u64(90);
    let alice = c.create(Device::generate(&mut rng)).await.unwrap();
    let bob_device = Device::generate(&mut rng);
    let bob = c.create(bob_device.clone()).await.unwrap();
    let one_time = crate::generate_pre_keys(&bob, 1, &mut rng)
        .await
        .unwrap()
        .remove(0);
    let bundle = PreKeyBundle {
        registration_id: bob_device.registration_id,
        identity_key: *bob_device.identity_key.public(),
        signed_pre_key_id: bob_device.signed_pre_key.id,
        signed_pre_key: bob_device.signed_pre_key.key_pair.public,
        signed_pre_key_signature: bob_device.signed_pre_key.signature.to_vec(),
        pre_key: Some((one_time.id, one_time.key_pair.public)),
    };
    let (to_bob, to_alice) = (
        ProtocolAddress::new("bob", 0),
        ProtocolAddress::new("alice", 0),
    );
    process_bundle(&alice, &to_bob, &bundle, &mut rng)
        .await
        .unwrap();
    let sent = encrypt(&alice, &to_bob, b"once").await.unwrap();
    let message = IncomingMessage::PreKey(sent.serialized());

    // Transaction: the commit fails, nothing is written, and the message decrypts again.
    c.faults().fail_after(0);
    let txn = crate::Transaction::new(&bob);
    let (plain, _) = decrypt(&txn, &to_alice, message, &mut rng).await.unwrap();
    assert_eq!(plain, b"once");
    assert!(txn.commit().await.is_err());
    assert!(bob.session(&to_alice).await.unwrap().is_none());
    assert!(bob.identity(&to_alice).await.unwrap().is_none());
    assert!(bob.pre_key(one_time.id).await.unwrap().is_some());
    c.faults().heal();
    let txn = crate::Transaction::new(&bob);
    let (plain, _) = decrypt(&txn, &to_alice, message, &mut rng).await.unwrap();
    assert_eq!(plain, b"once");
    txn.commit().await.unwrap();
    assert!(bob.session(&to_alice).await.unwrap().is_some());
    assert!(bob.pre_key(one_time.id).await.unwrap().is_none());

    // Directly on the store, each write is its own commit: failing after two (identity, then
    // session) leaves the session advanced but the one-time prekey not consumed.
    let carol = c.create(bob_device.clone()).await.unwrap();
    let carol_key = crate::generate_pre_keys(&carol, 1, &mut rng)
        .await
        .unwrap()
        .remove(0);
    let bundle = PreKeyBundle {
        pre_key: Some((carol_key.id, carol_key.key_pair.public)),
        ..bundle
    };
    let to_carol = ProtocolAddress::new("carol", 0);
    process_bundle(&alice, &to_carol, &bundle, &mut rng)
        .await
        .unwrap();
    let sent = encrypt(&alice, &to_carol, b"twice").await.unwrap();
    c.faults().fail_after(2);
    let message = IncomingMessage::PreKey(sent.serialized());
    assert!(decrypt(&carol, &to_alice, message, &mut rng).await.is_err());
    assert_eq!(c.faults().failed(), 2);
    assert!(
        carol.session(&to_alice).await.unwrap().is_some(),
        "half applied"
    );
    assert!(
        carol.pre_key(carol_key.id).await.unwrap().is_some(),
        "half applied"
    );
    c.faults().heal();
}
