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

mod facts;
mod faults;
mod signal;

pub use facts::*;
pub use faults::{Faults, FaultyContainer, FaultyStore, crash_between_writes};
pub use signal::*;

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
            identities, sessions, pre_keys, signed_pre_keys, sender_keys, sender_key_distribution,
            signal_helpers_and_transaction, pn_to_lid_migration, app_state, contacts, chats_secrets_tokens,
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
