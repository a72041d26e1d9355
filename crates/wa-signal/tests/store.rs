//! The async store helpers over the in-memory store: TOFU identities, prekey consumption,
//! identity changes, sender keys.

use crate::common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wa_signal::store::{
    self, IdentityChange, IdentityKeyStore, IncomingMessage, MemorySignalStore, PreKeyStore,
    ProtocolAddress, SenderKeyName, SignedPreKeyStore, StoreError,
};
use wa_signal::{
    CiphertextMessage, IdentityKeyPair, PreKeyBundle, PreKeyRecord, SignalError, SignedPreKeyRecord,
};

/// The memory store never pends, so polling once with a no-op waker completes every future.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn device(seed: u64) -> (MemorySignalStore, PreKeyBundle) {
    let mut rng = common::rng(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let signed = SignedPreKeyRecord::generate(7, &identity, &mut rng);
    let pre_key = PreKeyRecord::generate(42, &mut rng);
    let bundle = PreKeyBundle {
        registration_id: 1234,
        identity_key: *identity.public(),
        signed_pre_key_id: 7,
        signed_pre_key: signed.key_pair.public,
        signed_pre_key_signature: signed.signature.to_vec(),
        pre_key: Some((42, pre_key.key_pair.public)),
    };
    let s = MemorySignalStore::new(identity, 1234);
    block_on(s.store_signed_pre_key(&signed)).unwrap();
    block_on(s.store_pre_key(&pre_key)).unwrap();
    (s, bundle)
}

fn incoming(m: &CiphertextMessage) -> IncomingMessage<'_> {
    match m {
        CiphertextMessage::PreKey(p) => IncomingMessage::PreKey(p.serialized()),
        CiphertextMessage::Whisper(w) => IncomingMessage::Whisper(w.serialized()),
    }
}

#[test]
fn session_over_stores_with_tofu_and_prekey_removal() {
    let mut rng = common::rng(1);
    let (alice, _) = device(10);
    let (bob, bob_bundle) = device(20);
    let bob_addr = ProtocolAddress::new("bob", 1);
    let alice_addr = ProtocolAddress::new("alice", 0);
    assert_eq!(bob_addr.to_string(), "bob.1");

    let change = block_on(store::process_bundle(
        &alice,
        &bob_addr,
        &bob_bundle,
        &mut rng,
    ))
    .unwrap();
    assert_eq!(change, IdentityChange::New);
    let m = block_on(store::encrypt(&alice, &bob_addr, b"hi bob")).unwrap();
    assert_eq!(m.wa_type(), "pkmsg");
    let (pt, change) = block_on(store::decrypt(&bob, &alice_addr, incoming(&m), &mut rng)).unwrap();
    assert_eq!(
        (pt.as_slice(), change),
        (&b"hi bob"[..], IdentityChange::New)
    );
    assert!(
        block_on(bob.load_pre_key(42)).unwrap().is_none(),
        "one-time prekey consumed"
    );

    let r = block_on(store::encrypt(&bob, &alice_addr, b"hi alice")).unwrap();
    assert_eq!(r.wa_type(), "msg");
    let (pt, _) = block_on(store::decrypt(&alice, &bob_addr, incoming(&r), &mut rng)).unwrap();
    assert_eq!(pt, b"hi alice");

    // Duplicate through the store is refused and does not corrupt the session.
    let err = block_on(store::decrypt(&alice, &bob_addr, incoming(&r), &mut rng)).unwrap_err();
    assert!(matches!(
        err,
        StoreError::Signal(SignalError::DuplicateMessage(0))
    ));
    let m2 = block_on(store::encrypt(&alice, &bob_addr, b"after dup")).unwrap();
    assert_eq!(
        block_on(store::decrypt(&bob, &alice_addr, incoming(&m2), &mut rng))
            .unwrap()
            .0,
        b"after dup"
    );
}

#[test]
fn identity_change_is_reported_or_refused() {
    let mut rng = common::rng(2);
    let (alice, _) = device(10);
    let (_, bob_bundle) = device(20);
    let (_, bob_new_bundle) = device(21);
    let bob_addr = ProtocolAddress::new("bob", 0);
    block_on(store::process_bundle(
        &alice,
        &bob_addr,
        &bob_bundle,
        &mut rng,
    ))
    .unwrap();
    let change = block_on(store::process_bundle(
        &alice,
        &bob_addr,
        &bob_new_bundle,
        &mut rng,
    ))
    .unwrap();
    assert_eq!(
        change,
        IdentityChange::Replaced {
            previous: bob_bundle.identity_key
        }
    );
    assert_eq!(
        block_on(alice.identity(&bob_addr)).unwrap(),
        Some(bob_new_bundle.identity_key)
    );
    let strict = block_on(store::trust_identity(
        &alice,
        &bob_addr,
        &bob_bundle.identity_key,
        false,
    ));
    assert!(matches!(
        strict,
        Err(StoreError::Signal(SignalError::UntrustedIdentity))
    ));
    let same = block_on(store::trust_identity(
        &alice,
        &bob_addr,
        &bob_new_bundle.identity_key,
        false,
    ));
    assert_eq!(same.unwrap(), IdentityChange::Unchanged);
}

#[test]
fn no_session_errors() {
    let (alice, _) = device(10);
    let addr = ProtocolAddress::new("nobody", 0);
    let err = block_on(store::encrypt(&alice, &addr, b"x")).unwrap_err();
    assert!(matches!(err, StoreError::Signal(SignalError::NoSession)));
}

#[test]
fn group_helpers() {
    let mut rng = common::rng(3);
    let (alice, _) = device(10);
    let (bob, _) = device(20);
    let name = SenderKeyName {
        group_id: "123@g.us".into(),
        sender: ProtocolAddress::new("alice", 0),
    };
    let skdm = block_on(store::group_create_distribution(&alice, &name, &mut rng)).unwrap();
    block_on(store::group_process_distribution(&bob, &name, &skdm)).unwrap();
    let m1 = block_on(store::group_encrypt(&alice, &name, b"one", &mut rng)).unwrap();
    let m2 = block_on(store::group_encrypt(&alice, &name, b"two", &mut rng)).unwrap();
    assert_eq!(
        block_on(store::group_decrypt(&bob, &name, m2.serialized())).unwrap(),
        b"two"
    );
    assert_eq!(
        block_on(store::group_decrypt(&bob, &name, m1.serialized())).unwrap(),
        b"one"
    );
    let err = block_on(store::group_decrypt(&bob, &name, m1.serialized())).unwrap_err();
    assert!(matches!(
        err,
        StoreError::Signal(SignalError::DuplicateMessage(0))
    ));
}
