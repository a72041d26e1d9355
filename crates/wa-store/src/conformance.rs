//! The conformance suite every backend runs (feature `testing`; no stability promise).
//!
//! A backend's tests invoke [`crate::store_conformance_tests!`] with an async maker that
//! returns a fresh, empty container plus a guard kept alive for the test (a temp dir, say):
//!
//! ```
//! async fn make() -> (wa_store::MemoryContainer, ()) {
//!     (wa_store::MemoryContainer::new().with_outgoing_capacity(8), ())
//! }
//! wa_store::store_conformance_tests!(make);
//! # fn main() {}
//! ```
//!
//! The maker must configure an outgoing-message capacity of [`OUTGOING_CAPACITY`]. Tests run
//! on [`block_on`], a minimal executor, so the suite needs no async runtime.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use core::future::Future;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::{Jid, Server};
use wa_signal::store::{
    IncomingMessage, ProtocolAddress, SenderKeyName, SessionStore, decrypt, encrypt, process_bundle,
};
use wa_signal::{
    IdentityKeyPair, PreKeyBundle, PreKeyRecord, SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};

use crate::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, Changes, ChatSettings, ContactInfo, Container,
    Device, MessageKey, MutationMac, OutgoingMessage, PrivacyToken, Store, StoreError, Transaction,
    generate_pre_keys,
};

/// The outgoing-message capacity the maker must configure.
pub const OUTGOING_CAPACITY: usize = 8;

/// Runs a future to completion on the current thread (parks until woken).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = core::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Generates one `#[test]` per suite function against the container `$make` builds.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        $crate::store_conformance_tests!(@tests $make;
            device_round_trip, device_update, jid_is_unique, isolation_and_delete,
            identities, sessions, pre_keys, signed_pre_keys, sender_keys,
            signal_helpers_and_transaction, app_state, contacts, chats_secrets_tokens,
            lid_mapping, outgoing_cache_is_bounded, event_buffer, failed_commit_writes_nothing
        );
    };
    (@tests $make:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::conformance::block_on(async {
                    let (container, _guard) = $make().await;
                    $crate::conformance::$name(container).await;
                });
            }
        )*
    };
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn full_device(seed: u64) -> Device {
    let mut d = Device::generate(&mut rng(seed));
    d.jid = Some(Jid::new_ad(format!("1555000{seed}"), 0, 3));
    d.lid = Some(jid(&format!("99{seed}:3@lid")));
    d.account = Some(vec![1, 2, 3, seed as u8]);
    d.push_name = format!("device {seed}");
    d.platform = "android".into();
    d.business_name = "shop".into();
    d.facebook_uuid = Some("fb-uuid".into());
    d.lid_migration_timestamp = 1_700_000_000;
    d
}

fn assert_same_device(a: &Device, b: &Device) {
    assert_eq!(a.jid, b.jid);
    assert_eq!(a.lid, b.lid);
    assert_eq!(a.registration_id, b.registration_id);
    assert_eq!(a.noise_key.public, b.noise_key.public);
    assert_eq!(
        a.noise_key.private.as_bytes(),
        b.noise_key.private.as_bytes()
    );
    assert_eq!(a.identity_key.public(), b.identity_key.public());
    assert_eq!(
        a.identity_key.private().as_bytes(),
        b.identity_key.private().as_bytes()
    );
    assert_same_signed(&a.signed_pre_key, &b.signed_pre_key);
    assert_eq!(a.adv_secret_key, b.adv_secret_key);
    assert_eq!(a.account, b.account);
    assert_eq!(a.push_name, b.push_name);
    assert_eq!(a.platform, b.platform);
    assert_eq!(a.business_name, b.business_name);
    assert_eq!(a.facebook_uuid, b.facebook_uuid);
    assert_eq!(a.lid_migration_timestamp, b.lid_migration_timestamp);
}

fn assert_same_signed(a: &SignedPreKeyRecord, b: &SignedPreKeyRecord) {
    assert_eq!(a.id, b.id);
    assert_eq!(a.key_pair.public, b.key_pair.public);
    assert_eq!(a.key_pair.private.as_bytes(), b.key_pair.private.as_bytes());
    assert_eq!(a.signature, b.signature);
}

fn addr(name: &str, device: u32) -> ProtocolAddress {
    ProtocolAddress::new(name, device)
}

/// A session record with a current state (Alice's side of a fresh X3DH).
pub fn session_record(seed: u64) -> SessionRecord {
    let mut r = rng(seed);
    let bob = IdentityKeyPair::generate(&mut r);
    let signed = SignedPreKeyRecord::generate(1, &bob, &mut r);
    let bundle = PreKeyBundle {
        registration_id: 5,
        identity_key: *bob.public(),
        signed_pre_key_id: 1,
        signed_pre_key: signed.key_pair.public,
        signed_pre_key_signature: signed.signature.to_vec(),
        pre_key: None,
    };
    let mut record = SessionRecord::new();
    record
        .initiate(&IdentityKeyPair::generate(&mut r), 7, &bundle, &mut r)
        .unwrap();
    record
}

fn sender_key_record(seed: u64) -> SenderKeyRecord {
    let mut record = SenderKeyRecord::new();
    record.create_distribution(&mut rng(seed));
    record
}

async fn commit<S: Store + ?Sized>(store: &S, f: impl FnOnce(&mut Changes)) {
    let mut c = Changes::new();
    f(&mut c);
    store.commit(c).await.unwrap();
}

pub async fn device_round_trip<C: Container>(c: C) {
    let device = full_device(1);
    let store = c.create(device.clone()).await.unwrap();
    assert_same_device(&store.device().await.unwrap(), &device);
    let listed = c.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, store.id());
    assert_same_device(&listed[0].device, &device);
    let by_jid = c.get_by_jid(device.jid.as_ref().unwrap()).await.unwrap();
    assert_eq!(by_jid.unwrap().id(), store.id());
    assert!(
        c.get_by_jid(&jid("1@s.whatsapp.net"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(c.get(store.id()).await.unwrap().unwrap().id(), store.id());
    // An unpaired device has no JID and is still listed.
    let unpaired = Device::generate(&mut rng(2));
    let second = c.create(unpaired.clone()).await.unwrap();
    assert_ne!(second.id(), store.id());
    assert_same_device(&second.device().await.unwrap(), &unpaired);
    assert_eq!(c.list().await.unwrap().len(), 2);
    // The device's signed prekey is readable by id.
    let signed = store.signed_pre_key(1).await.unwrap().unwrap();
    assert_same_signed(&signed, &device.signed_pre_key);
}

pub async fn device_update<C: Container>(c: C) {
    let store = c.create(Device::generate(&mut rng(3))).await.unwrap();
    let mut paired = full_device(3);
    paired.signed_pre_key = SignedPreKeyRecord::generate(9, &paired.identity_key, &mut rng(30));
    commit(&store, |ch| {
        ch.set_device(paired.clone());
    })
    .await;
    assert_same_device(&store.device().await.unwrap(), &paired);
    assert!(
        c.get_by_jid(paired.jid.as_ref().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_same_signed(
        &store.signed_pre_key(9).await.unwrap().unwrap(),
        &paired.signed_pre_key,
    );
}

pub async fn jid_is_unique<C: Container>(c: C) {
    let first = full_device(4);
    c.create(first.clone()).await.unwrap();
    let mut dup = Device::generate(&mut rng(5));
    dup.jid = first.jid.clone();
    assert!(matches!(
        c.create(dup.clone()).await,
        Err(StoreError::InvalidInput(_))
    ));
    let other = c.create(Device::generate(&mut rng(6))).await.unwrap();
    let err = other.commit({
        let mut ch = Changes::new();
        ch.set_device(dup);
        ch
    });
    assert!(matches!(err.await, Err(StoreError::InvalidInput(_))));
}

/// Writes one value of every kind, tagged with `tag`.
async fn write_everything<S: Store + ?Sized>(store: &S, tag: u8) {
    let t = u64::from(tag);
    commit(store, |ch| {
        ch.put_identity(
            addr("peer", 1),
            *IdentityKeyPair::generate(&mut rng(t)).public(),
        )
        .put_session(addr("peer", 1), &session_record(t))
        .put_pre_key(PreKeyRecord::generate(1, &mut rng(t)))
        .put_sender_key(
            SenderKeyName {
                group_id: "g@g.us".into(),
                sender: addr("peer", 1),
            },
            &sender_key_record(t),
        )
        .put_app_state_sync_key(AppStateSyncKey {
            key_id: vec![1],
            data: vec![tag; 32].into(),
            fingerprint: vec![tag],
            timestamp: 1,
        })
        .put_app_state_version(AppStateVersion {
            name: "regular".into(),
            version: t,
            hash: [tag; 128],
        })
        .put_mutation_macs(
            "regular",
            t,
            vec![MutationMac {
                index_mac: vec![1],
                value_mac: vec![tag],
            }],
        )
        .upsert_contact(
            jid("1@s.whatsapp.net"),
            ContactInfo {
                push_name: Some(format!("p{tag}")),
                ..ContactInfo::default()
            },
        )
        .put_chat_settings(
            jid("1@s.whatsapp.net"),
            ChatSettings {
                muted_until: i64::from(tag),
                ..ChatSettings::default()
            },
        )
        .put_message_secret(msg_key("m1"), vec![tag])
        .put_privacy_token(PrivacyToken {
            jid: jid("1@s.whatsapp.net"),
            token: vec![tag],
            timestamp: 1,
        })
        .put_lid_mapping(jid("5@lid"), jid(&format!("{tag}@s.whatsapp.net")))
        .put_outgoing_message(OutgoingMessage {
            chat: jid("1@s.whatsapp.net"),
            id: "m1".into(),
            payload: vec![tag],
        })
        .buffer_event(event(1, Some(vec![tag]), 1));
    })
    .await;
}

fn msg_key(id: &str) -> MessageKey {
    MessageKey {
        chat: jid("1@s.whatsapp.net"),
        sender: jid("2@s.whatsapp.net"),
        id: id.into(),
    }
}

fn event(n: u8, plaintext: Option<Vec<u8>>, inserted_at: i64) -> BufferedEvent {
    BufferedEvent {
        hash: [n; 32],
        plaintext,
        server_timestamp: 100 + inserted_at,
        inserted_at,
    }
}

/// Reads back what [`write_everything`] wrote with `tag`.
async fn check_everything<S: Store + ?Sized>(store: &S, tag: u8) {
    let t = u64::from(tag);
    let ident = IdentityKeyPair::generate(&mut rng(t));
    assert_eq!(
        store.identity(&addr("peer", 1)).await.unwrap(),
        Some(*ident.public())
    );
    let session = store.session(&addr("peer", 1)).await.unwrap().unwrap();
    assert_eq!(session.serialize(), session_record(t).serialize());
    let pk = store.pre_key(1).await.unwrap().unwrap();
    assert_eq!(
        pk.key_pair.public,
        PreKeyRecord::generate(1, &mut rng(t)).key_pair.public
    );
    let name = SenderKeyName {
        group_id: "g@g.us".into(),
        sender: addr("peer", 1),
    };
    let sk = store.sender_key(&name).await.unwrap().unwrap();
    assert_eq!(sk.serialize(), sender_key_record(t).serialize());
    assert_eq!(
        *store.app_state_sync_key(&[1]).await.unwrap().unwrap().data,
        vec![tag; 32]
    );
    assert_eq!(
        store
            .app_state_version("regular")
            .await
            .unwrap()
            .unwrap()
            .hash,
        [tag; 128]
    );
    assert_eq!(
        store.mutation_mac("regular", &[1]).await.unwrap(),
        Some(vec![tag])
    );
    let contact = store
        .contact(&jid("1@s.whatsapp.net"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.push_name, Some(format!("p{tag}")));
    let chat = store
        .chat_settings(&jid("1@s.whatsapp.net"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chat.muted_until, i64::from(tag));
    assert_eq!(
        store.message_secret(&msg_key("m1")).await.unwrap(),
        Some(vec![tag])
    );
    let token = store
        .privacy_token(&jid("1@s.whatsapp.net"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.token, vec![tag]);
    let pn = store.pn_for_lid(&jid("5@lid")).await.unwrap().unwrap();
    assert_eq!(pn, jid(&format!("{tag}@s.whatsapp.net")));
    let out = store
        .outgoing_message(&jid("1@s.whatsapp.net"), "m1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.payload, vec![tag]);
    let ev = store.buffered_event(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(ev.plaintext, Some(vec![tag]));
}

pub async fn isolation_and_delete<C: Container>(c: C) {
    let a = c.create(full_device(10)).await.unwrap();
    let b = c.create(full_device(11)).await.unwrap();
    write_everything(&a, 1).await;
    write_everything(&b, 2).await;
    check_everything(&a, 1).await;
    check_everything(&b, 2).await;
    assert_eq!(a.pre_key_counts().await.unwrap().total, 1);
    assert_eq!(a.contacts().await.unwrap().len(), 1);
    assert_eq!(a.pending_events().await.unwrap().len(), 1);

    c.delete(a.id()).await.unwrap();
    c.delete(a.id()).await.unwrap(); // deleting again is fine
    assert!(c.get(a.id()).await.unwrap().is_none());
    assert!(matches!(a.device().await, Err(StoreError::NoDevice(_))));
    assert!(matches!(
        a.commit(Changes::new()).await,
        Err(StoreError::NoDevice(_))
    ));
    assert!(a.session(&addr("peer", 1)).await.unwrap().is_none());
    assert!(a.contacts().await.unwrap().is_empty());
    assert!(a.pending_events().await.unwrap().is_empty());
    check_everything(&b, 2).await;
    assert_eq!(c.list().await.unwrap().len(), 1);
    // A new device never inherits a deleted one's rows.
    let fresh = c.create(full_device(10)).await.unwrap();
    assert!(fresh.session(&addr("peer", 1)).await.unwrap().is_none());
    assert!(fresh.pre_key(1).await.unwrap().is_none());
}

pub async fn identities<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(20))).await.unwrap();
    let (k1, k2) = (
        *IdentityKeyPair::generate(&mut rng(21)).public(),
        *IdentityKeyPair::generate(&mut rng(22)).public(),
    );
    assert_eq!(s.identity(&addr("x", 0)).await.unwrap(), None);
    commit(&s, |ch| {
        ch.put_identity(addr("x", 0), k1);
    })
    .await;
    assert_eq!(s.identity(&addr("x", 0)).await.unwrap(), Some(k1));
    assert_eq!(s.identity(&addr("x", 1)).await.unwrap(), None);
    commit(&s, |ch| {
        ch.put_identity(addr("x", 0), k2);
    })
    .await;
    assert_eq!(s.identity(&addr("x", 0)).await.unwrap(), Some(k2));
}

pub async fn sessions<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(23))).await.unwrap();
    assert!(s.session(&addr("x", 0)).await.unwrap().is_none());
    let (r1, r2) = (session_record(1), session_record(2));
    commit(&s, |ch| {
        ch.put_session(addr("x", 0), &r1)
            .put_session(addr("x", 1), &r1);
    })
    .await;
    commit(&s, |ch| {
        ch.put_session(addr("x", 0), &r2);
    })
    .await;
    let got = s.session(&addr("x", 0)).await.unwrap().unwrap();
    assert_eq!(got.serialize(), r2.serialize());
    let got = s.session(&addr("x", 1)).await.unwrap().unwrap();
    assert_eq!(got.serialize(), r1.serialize());
    // Later writes to the same key in one batch win.
    commit(&s, |ch| {
        ch.put_session(addr("y", 0), &r1)
            .put_session(addr("y", 0), &r2);
    })
    .await;
    let got = s.session(&addr("y", 0)).await.unwrap().unwrap();
    assert_eq!(got.serialize(), r2.serialize());
}

pub async fn pre_keys<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(24))).await.unwrap();
    assert_eq!(s.pre_key_counts().await.unwrap(), Default::default());
    let keys = generate_pre_keys(&s, 10, &mut rng(25)).await.unwrap();
    assert_eq!(
        keys.iter().map(|k| k.id).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let counts = s.pre_key_counts().await.unwrap();
    assert_eq!((counts.total, counts.uploaded, counts.last_id), (10, 0, 10));
    let five = s.pre_key(5).await.unwrap().unwrap();
    assert_eq!(five.key_pair.public, keys[4].key_pair.public);
    assert_eq!(
        five.key_pair.private.as_bytes(),
        keys[4].key_pair.private.as_bytes()
    );
    commit(&s, |ch| {
        ch.mark_pre_keys_uploaded(5).remove_pre_key(3);
    })
    .await;
    assert!(s.pre_key(3).await.unwrap().is_none());
    let counts = s.pre_key_counts().await.unwrap();
    assert_eq!((counts.total, counts.uploaded, counts.last_id), (9, 4, 10));
    // Removing every key keeps the id sequence going.
    commit(&s, |ch| {
        for id in 1..=10 {
            ch.remove_pre_key(id);
        }
    })
    .await;
    let more = generate_pre_keys(&s, 2, &mut rng(26)).await.unwrap();
    assert_eq!(more.iter().map(|k| k.id).collect::<Vec<_>>(), vec![11, 12]);
    // Ids wrap within 24 bits and skip 0.
    commit(&s, |ch| {
        ch.put_pre_key(PreKeyRecord::generate(0xFF_FFFF, &mut rng(27)));
    })
    .await;
    let wrapped = generate_pre_keys(&s, 1, &mut rng(28)).await.unwrap();
    assert_eq!(wrapped[0].id, 1);
}

pub async fn signed_pre_keys<C: Container>(c: C) {
    let device = Device::generate(&mut rng(29));
    let s = c.create(device.clone()).await.unwrap();
    assert!(s.signed_pre_key(2).await.unwrap().is_none());
    let two = SignedPreKeyRecord::generate(2, &device.identity_key, &mut rng(30));
    commit(&s, |ch| {
        ch.put_signed_pre_key(two.clone());
    })
    .await;
    assert_same_signed(&s.signed_pre_key(2).await.unwrap().unwrap(), &two);
    assert_same_signed(
        &s.signed_pre_key(1).await.unwrap().unwrap(),
        &device.signed_pre_key,
    );
}

pub async fn sender_keys<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(31))).await.unwrap();
    let name = |g: &str, d| SenderKeyName {
        group_id: g.into(),
        sender: addr("s", d),
    };
    assert!(s.sender_key(&name("g", 0)).await.unwrap().is_none());
    let (r1, r2) = (sender_key_record(1), sender_key_record(2));
    commit(&s, |ch| {
        ch.put_sender_key(name("g", 0), &r1)
            .put_sender_key(name("g", 1), &r2);
    })
    .await;
    assert_eq!(
        s.sender_key(&name("g", 0))
            .await
            .unwrap()
            .unwrap()
            .serialize(),
        r1.serialize()
    );
    assert_eq!(
        s.sender_key(&name("g", 1))
            .await
            .unwrap()
            .unwrap()
            .serialize(),
        r2.serialize()
    );
    assert!(s.sender_key(&name("h", 0)).await.unwrap().is_none());
}

pub async fn signal_helpers_and_transaction<C: Container>(c: C) {
    let alice = c.create(Device::generate(&mut rng(40))).await.unwrap();
    let bob_device = Device::generate(&mut rng(41));
    let bob = c.create(bob_device.clone()).await.unwrap();
    let one_time = generate_pre_keys(&bob, 1, &mut rng(42))
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
    let (to_bob, to_alice) = (addr("bob", 0), addr("alice", 0));
    let mut r = rng(43);
    process_bundle(&alice, &to_bob, &bundle, &mut r)
        .await
        .unwrap();
    let sent = encrypt(&alice, &to_bob, b"hello").await.unwrap();
    assert_eq!(sent.wa_type(), "pkmsg");

    // Bob decrypts in a transaction and buffers the plaintext with the same commit.
    let mut txn = Transaction::new(&bob);
    let incoming = IncomingMessage::PreKey(sent.serialized());
    let (plain, _) = decrypt(&txn, &to_alice, incoming, &mut r).await.unwrap();
    assert_eq!(plain, b"hello");
    assert!(txn.load_session(&to_alice).await.unwrap().is_some());
    assert!(
        bob.session(&to_alice).await.unwrap().is_none(),
        "not committed yet"
    );
    assert!(bob.pre_key(one_time.id).await.unwrap().is_some());
    txn.changes().buffer_event(event(7, Some(plain), 5));
    txn.commit().await.unwrap();
    assert!(bob.session(&to_alice).await.unwrap().is_some());
    assert!(bob.pre_key(one_time.id).await.unwrap().is_none());
    assert!(bob.identity(&to_alice).await.unwrap().is_some());
    assert_eq!(bob.pending_events().await.unwrap().len(), 1);

    // The reply works against the store directly; a dropped transaction writes nothing.
    let reply = encrypt(&bob, &to_alice, b"hi").await.unwrap();
    let before = alice.session(&to_bob).await.unwrap().unwrap().serialize();
    {
        let txn = Transaction::new(&alice);
        let msg = IncomingMessage::Whisper(reply.serialized());
        decrypt(&txn, &to_bob, msg, &mut r).await.unwrap();
    }
    assert_eq!(
        alice.session(&to_bob).await.unwrap().unwrap().serialize(),
        before
    );
    let msg = IncomingMessage::Whisper(reply.serialized());
    let (plain, _) = decrypt(&alice, &to_bob, msg, &mut r).await.unwrap();
    assert_eq!(plain, b"hi");
    // The same helpers work through `dyn Store` (in a transaction, which is sized).
    let dyn_alice: &dyn Store = &alice;
    let txn = Transaction::new(dyn_alice);
    let again = encrypt(&txn, &to_bob, b"more").await.unwrap();
    txn.commit().await.unwrap();
    let msg = IncomingMessage::Whisper(again.serialized());
    assert_eq!(
        decrypt(&bob, &to_alice, msg, &mut r).await.unwrap().0,
        b"more"
    );
}

pub async fn app_state<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(50))).await.unwrap();
    assert!(s.latest_app_state_sync_key().await.unwrap().is_none());
    let key = |id: u8, ts| AppStateSyncKey {
        key_id: vec![id],
        data: vec![id; 32].into(),
        fingerprint: vec![id, 1],
        timestamp: ts,
    };
    commit(&s, |ch| {
        ch.put_app_state_sync_key(key(1, 10))
            .put_app_state_sync_key(key(2, 30))
            .put_app_state_sync_key(key(3, 20));
    })
    .await;
    assert_eq!(s.app_state_sync_key(&[3]).await.unwrap(), Some(key(3, 20)));
    assert_eq!(
        s.latest_app_state_sync_key().await.unwrap(),
        Some(key(2, 30))
    );
    assert!(s.app_state_sync_key(&[9]).await.unwrap().is_none());

    let v = AppStateVersion {
        name: "critical_block".into(),
        version: 42,
        hash: [7; 128],
    };
    commit(&s, |ch| {
        ch.put_app_state_version(v.clone()).put_mutation_macs(
            "critical_block",
            42,
            vec![
                MutationMac {
                    index_mac: vec![1],
                    value_mac: vec![11],
                },
                MutationMac {
                    index_mac: vec![2],
                    value_mac: vec![22],
                },
            ],
        );
    })
    .await;
    assert_eq!(
        s.app_state_version("critical_block").await.unwrap(),
        Some(v)
    );
    assert_eq!(
        s.mutation_mac("critical_block", &[2]).await.unwrap(),
        Some(vec![22])
    );
    assert!(s.mutation_mac("regular", &[2]).await.unwrap().is_none());
    commit(&s, |ch| {
        ch.remove_mutation_macs("critical_block", vec![vec![1]]);
    })
    .await;
    assert!(
        s.mutation_mac("critical_block", &[1])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.mutation_mac("critical_block", &[2])
            .await
            .unwrap()
            .is_some()
    );
    commit(&s, |ch| {
        ch.remove_app_state_version("critical_block");
    })
    .await;
    assert!(
        s.app_state_version("critical_block")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.mutation_mac("critical_block", &[2])
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn contacts<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(51))).await.unwrap();
    let (x, y) = (jid("2@s.whatsapp.net"), jid("1@s.whatsapp.net"));
    commit(&s, |ch| {
        ch.upsert_contact(
            x.clone(),
            ContactInfo {
                first_name: Some("Ann".into()),
                full_name: Some("Ann Lee".into()),
                ..ContactInfo::default()
            },
        )
        .upsert_contact(
            y.clone(),
            ContactInfo {
                business_name: Some("Shop".into()),
                ..ContactInfo::default()
            },
        );
    })
    .await;
    commit(&s, |ch| {
        ch.upsert_contact(
            x.clone(),
            ContactInfo {
                push_name: Some("annie".into()),
                full_name: Some("Ann B. Lee".into()),
                ..ContactInfo::default()
            },
        );
    })
    .await;
    let want = ContactInfo {
        first_name: Some("Ann".into()),
        full_name: Some("Ann B. Lee".into()),
        push_name: Some("annie".into()),
        business_name: None,
    };
    assert_eq!(s.contact(&x).await.unwrap(), Some(want.clone()));
    let all = s.contacts().await.unwrap();
    assert_eq!(
        all.iter().map(|(j, _)| j.clone()).collect::<Vec<_>>(),
        vec![y, x]
    );
    assert_eq!(all[1].1, want);
    assert!(s.contact(&jid("3@s.whatsapp.net")).await.unwrap().is_none());
}

pub async fn chats_secrets_tokens<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(52))).await.unwrap();
    let chat = jid("123-456@g.us");
    let settings = ChatSettings {
        muted_until: -1,
        pinned: true,
        archived: true,
    };
    commit(&s, |ch| {
        ch.put_chat_settings(chat.clone(), settings)
            .put_message_secret(msg_key("a"), vec![1])
            .put_privacy_token(PrivacyToken {
                jid: jid("9@s.whatsapp.net"),
                token: vec![1],
                timestamp: 10,
            });
    })
    .await;
    commit(&s, |ch| {
        ch.put_message_secret(msg_key("a"), vec![2])
            .put_privacy_token(PrivacyToken {
                jid: jid("9@s.whatsapp.net"),
                token: vec![2],
                timestamp: 20,
            });
    })
    .await;
    assert_eq!(s.chat_settings(&chat).await.unwrap(), Some(settings));
    assert!(s.chat_settings(&jid("1@g.us")).await.unwrap().is_none());
    assert_eq!(
        s.message_secret(&msg_key("a")).await.unwrap(),
        Some(vec![1]),
        "first wins"
    );
    assert!(s.message_secret(&msg_key("b")).await.unwrap().is_none());
    let token = s
        .privacy_token(&jid("9@s.whatsapp.net"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((token.token, token.timestamp), (vec![2], 20));
}

pub async fn lid_mapping<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(53))).await.unwrap();
    let (lid, pn) = (Jid::new("111", Server::Lid), jid("555@s.whatsapp.net"));
    commit(&s, |ch| {
        ch.put_lid_mapping(lid.clone(), pn.clone());
    })
    .await;
    assert_eq!(s.pn_for_lid(&lid).await.unwrap(), Some(pn.clone()));
    assert_eq!(s.lid_for_pn(&pn).await.unwrap(), Some(lid.clone()));
    // Remapping the phone number to a new LID drops the old pair both ways.
    let lid2 = Jid::new("222", Server::Lid);
    commit(&s, |ch| {
        ch.put_lid_mapping(lid2.clone(), pn.clone());
    })
    .await;
    assert_eq!(s.lid_for_pn(&pn).await.unwrap(), Some(lid2.clone()));
    assert!(s.pn_for_lid(&lid).await.unwrap().is_none());
    assert_eq!(s.pn_for_lid(&lid2).await.unwrap(), Some(pn));
}

pub async fn outgoing_cache_is_bounded<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(54))).await.unwrap();
    let chat = jid("1@s.whatsapp.net");
    let msg = |i: usize| OutgoingMessage {
        chat: chat.clone(),
        id: format!("m{i}"),
        payload: vec![i as u8],
    };
    for i in 0..OUTGOING_CAPACITY + 3 {
        commit(&s, |ch| {
            ch.put_outgoing_message(msg(i));
        })
        .await;
        if i == 5 {
            // Re-putting m0 makes it the newest.
            commit(&s, |ch| {
                ch.put_outgoing_message(msg(0));
            })
            .await;
        }
    }
    let present = |i| {
        let s = s.clone();
        let chat = chat.clone();
        async move { s.outgoing_message(&chat, &format!("m{i}")).await.unwrap() }
    };
    assert!(present(1).await.is_none());
    assert!(present(2).await.is_none());
    assert!(present(3).await.is_none());
    assert_eq!(present(0).await, Some(msg(0)));
    for i in 4..OUTGOING_CAPACITY + 3 {
        assert_eq!(present(i).await, Some(msg(i)), "m{i}");
    }
}

pub async fn event_buffer<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(55))).await.unwrap();
    commit(&s, |ch| {
        ch.buffer_event(event(2, Some(vec![2]), 20))
            .buffer_event(event(1, Some(vec![1]), 10))
            .buffer_event(event(3, Some(vec![3]), 30));
    })
    .await;
    let pending = s.pending_events().await.unwrap();
    assert_eq!(
        pending.iter().map(|e| e.hash[0]).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        s.buffered_event(&[2; 32]).await.unwrap(),
        Some(event(2, Some(vec![2]), 20))
    );
    commit(&s, |ch| {
        ch.clear_buffered_event([2; 32]);
    })
    .await;
    assert_eq!(
        s.buffered_event(&[2; 32]).await.unwrap(),
        Some(event(2, None, 20))
    );
    assert_eq!(s.pending_events().await.unwrap().len(), 2);
    commit(&s, |ch| {
        ch.delete_buffered_events_before(25);
    })
    .await;
    assert!(s.buffered_event(&[2; 32]).await.unwrap().is_none());
    assert!(s.buffered_event(&[1; 32]).await.unwrap().is_none());
    assert_eq!(
        s.pending_events().await.unwrap(),
        vec![event(3, Some(vec![3]), 30)]
    );
}

pub async fn failed_commit_writes_nothing<C: Container>(c: C) {
    let first = full_device(60);
    c.create(first.clone()).await.unwrap();
    let s = c.create(Device::generate(&mut rng(61))).await.unwrap();
    let mut dup = Device::generate(&mut rng(62));
    dup.jid = first.jid.clone();
    let mut ch = Changes::new();
    ch.put_session(addr("x", 0), &session_record(1))
        .put_pre_key(PreKeyRecord::generate(1, &mut rng(63)))
        .buffer_event(event(1, Some(vec![1]), 1))
        .set_device(dup);
    assert!(!ch.is_empty());
    assert!(matches!(
        s.commit(ch).await,
        Err(StoreError::InvalidInput(_))
    ));
    // A value that fails in the middle of the batch (after the Signal writes) also rolls back.
    let mut ch = Changes::new();
    ch.put_session(addr("x", 0), &session_record(1))
        .put_pre_key(PreKeyRecord::generate(1, &mut rng(63)))
        .put_app_state_version(AppStateVersion {
            name: "regular".into(),
            version: u64::MAX,
            hash: [0; 128],
        })
        .buffer_event(event(1, Some(vec![1]), 1));
    assert!(matches!(
        s.commit(ch).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(s.app_state_version("regular").await.unwrap().is_none());
    assert!(s.session(&addr("x", 0)).await.unwrap().is_none());
    assert!(s.pre_key(1).await.unwrap().is_none());
    assert!(s.buffered_event(&[1; 32]).await.unwrap().is_none());
    assert!(Changes::new().is_empty());
}
