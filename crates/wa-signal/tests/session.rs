//! Session behaviour: X3DH with and without a one-time prekey, the ratchet, duplicates, MAC
//! failures, skipped keys, archived states and record serialization.

use crate::common;

use common::{Party, Wire};
use wa_signal::{SessionRecord, SignalError, session::MAX_ARCHIVED_STATES};

fn pair(with_one_time: bool) -> (Party, Party) {
    let mut alice = Party::new(1);
    let bob = Party::new(2);
    alice.start_with(&bob.bundle(with_one_time));
    (alice, bob)
}

#[test]
fn first_exchange_with_and_without_one_time_prekey() {
    for with_one_time in [true, false] {
        let (mut alice, mut bob) = pair(with_one_time);
        let m1 = alice.encrypt(b"hello bob");
        assert!(m1.pkmsg, "first message is a pkmsg");
        let m2 = alice.encrypt(b"still waiting");
        assert!(m2.pkmsg, "pkmsg until bob answers");
        assert_eq!(bob.decrypt(&m1).unwrap(), b"hello bob");
        assert_eq!(bob.one_time.len(), if with_one_time { 4 } else { 5 });
        assert_eq!(bob.decrypt(&m2).unwrap(), b"still waiting");
        let r = bob.encrypt(b"hi alice");
        assert!(!r.pkmsg);
        assert_eq!(alice.decrypt(&r).unwrap(), b"hi alice");
        let m3 = alice.encrypt(b"now a plain msg");
        assert!(!m3.pkmsg, "answered session sends msg");
        assert_eq!(bob.decrypt(&m3).unwrap(), b"now a plain msg");
    }
}

#[test]
fn bundle_with_bad_signature_is_rejected() {
    let mut alice = Party::new(1);
    let bob = Party::new(2);
    let mut bundle = bob.bundle(true);
    bundle.signed_pre_key_signature[5] ^= 1;
    let mut rng = common::rng(9);
    let err = alice
        .record
        .initiate(&alice.identity, alice.registration_id, &bundle, &mut rng);
    assert_eq!(err, Err(SignalError::InvalidSignature));
    assert!(!alice.record.has_current());
}

#[test]
fn missing_or_wrong_prekeys_are_typed_errors() {
    let (mut alice, mut bob) = pair(true);
    let m = alice.encrypt(b"x");
    bob.one_time.clear();
    assert_eq!(bob.decrypt(&m), Err(SignalError::InvalidKeyId(1)));
    let pk = wa_signal::wire::PreKeySignalMessage::parse(&m.bytes).unwrap();
    let mut rng = common::rng(3);
    let err = bob
        .record
        .decrypt_pre_key(&bob.identity, 1, &pk, None, None, &mut rng);
    assert_eq!(err, Err(SignalError::InvalidKeyId(1)));
    assert!(
        !bob.record.has_current(),
        "failed pkmsg leaves the record untouched"
    );
}

#[test]
fn duplicates_are_refused() {
    let (mut alice, mut bob) = pair(true);
    let m1 = alice.encrypt(b"one");
    assert_eq!(bob.decrypt(&m1).unwrap(), b"one");
    assert_eq!(bob.decrypt(&m1), Err(SignalError::DuplicateMessage(0)));
    let r = bob.encrypt(b"r");
    alice.decrypt(&r).unwrap();
    let m2 = alice.encrypt(b"two");
    bob.decrypt(&m2).unwrap();
    assert_eq!(
        bob.decrypt(&m2),
        Err(SignalError::DuplicateMessage(0)),
        "new chain restarts at 0"
    );
}

#[test]
fn mac_failure_leaves_state_unchanged() {
    let (mut alice, mut bob) = pair(false);
    bob.decrypt(&alice.encrypt(b"a")).unwrap();
    alice.decrypt(&bob.encrypt(b"b")).unwrap();
    let good = alice.encrypt(b"c");
    let before = bob.record.serialize();
    let mut bad = good.clone();
    let last = bad.bytes.len() - 1;
    bad.bytes[last] ^= 0x40;
    assert_eq!(bob.decrypt(&bad), Err(SignalError::InvalidMac));
    let mut bad_ct = good.clone();
    bad_ct.bytes[40] ^= 0x01;
    assert!(bob.decrypt(&bad_ct).is_err());
    assert_eq!(
        bob.record.serialize(),
        before,
        "a failed decrypt must not change the record"
    );
    assert_eq!(bob.decrypt(&good).unwrap(), b"c");
}

#[test]
fn skipped_keys_and_forward_bound() {
    let (mut alice, mut bob) = pair(false);
    bob.decrypt(&alice.encrypt(b"first")).unwrap();
    alice.decrypt(&bob.encrypt(b"ack")).unwrap();
    let msgs: Vec<Wire> = (0..10)
        .map(|i| alice.encrypt(format!("m{i}").as_bytes()))
        .collect();
    for i in [9usize, 3, 0, 5, 1, 2, 4, 8, 6, 7] {
        assert_eq!(bob.decrypt(&msgs[i]).unwrap(), format!("m{i}").as_bytes());
    }
    assert_eq!(bob.record.current().unwrap().skipped_key_count(), 0);

    // 2,000 ahead decrypts; 2,001 ahead does not.
    for _ in 0..2000 {
        alice.encrypt(b"lost");
    }
    let far = alice.encrypt(b"far");
    assert_eq!(bob.decrypt(&far).unwrap(), b"far");
    for _ in 0..2001 {
        alice.encrypt(b"lost");
    }
    let too_far = alice.encrypt(b"too far");
    assert!(matches!(
        bob.decrypt(&too_far),
        Err(SignalError::TooFarAhead { .. })
    ));
}

#[test]
fn skipped_keys_survive_ratchet_steps() {
    let (mut alice, mut bob) = pair(true);
    bob.decrypt(&alice.encrypt(b"hi")).unwrap();
    alice.decrypt(&bob.encrypt(b"hey")).unwrap();
    let late = alice.encrypt(b"late from chain A");
    let next = alice.encrypt(b"next from chain A");
    bob.decrypt(&next).unwrap();
    // Bob answers, Alice ratchets, sends on a new chain.
    alice.decrypt(&bob.encrypt(b"answer")).unwrap();
    let newer = alice.encrypt(b"chain B");
    assert_eq!(bob.decrypt(&newer).unwrap(), b"chain B");
    assert_eq!(bob.decrypt(&late).unwrap(), b"late from chain A");
}

#[test]
fn record_round_trips_mid_conversation() {
    let (mut alice, mut bob) = pair(true);
    bob.decrypt(&alice.encrypt(b"1")).unwrap();
    alice.decrypt(&bob.encrypt(b"2")).unwrap();
    let skipped = alice.encrypt(b"skipped");
    let m = alice.encrypt(b"3");
    bob.decrypt(&m).unwrap();
    let bytes = bob.record.serialize();
    bob.record = SessionRecord::deserialize(&bytes).unwrap();
    assert_eq!(bob.record.serialize(), bytes);
    assert_eq!(bob.decrypt(&skipped).unwrap(), b"skipped");
    alice.record = SessionRecord::deserialize(&alice.record.serialize()).unwrap();
    alice.decrypt(&bob.encrypt(b"4")).unwrap();
    assert!(SessionRecord::deserialize(&bytes[..bytes.len() / 2]).is_err());
    assert!(SessionRecord::deserialize(&[0xFF, 0xFF, 0xFF]).is_err());
}

#[test]
fn peer_that_lost_its_session_starts_over() {
    let (mut alice, mut bob) = pair(true);
    bob.decrypt(&alice.encrypt(b"hello")).unwrap();
    alice.decrypt(&bob.encrypt(b"hi")).unwrap();
    let old_late = alice.encrypt(b"sent before the reset");
    let old_current = alice.encrypt(b"also old");
    bob.decrypt(&old_current).unwrap();

    // Alice loses her session and starts a new one from a fresh bundle (no one-time key left).
    alice.record = SessionRecord::new();
    alice.start_with(&bob.bundle(false));
    let fresh = alice.encrypt(b"new session");
    assert!(fresh.pkmsg);
    assert_eq!(bob.decrypt(&fresh).unwrap(), b"new session");
    assert_eq!(bob.record.previous().len(), 1, "old state archived");

    // A late message for the archived state still decrypts, and the new session stays current.
    assert_eq!(bob.decrypt(&old_late).unwrap(), b"sent before the reset");
    let reply = bob.encrypt(b"reply on new session");
    assert_eq!(alice.decrypt(&reply).unwrap(), b"reply on new session");
    assert_eq!(
        bob.decrypt(&old_late),
        Err(SignalError::DuplicateMessage(0))
    );
}

#[test]
fn archive_is_bounded() {
    let mut bob = Party::new(2);
    for i in 0..(MAX_ARCHIVED_STATES as u64 + 5) {
        let mut alice = Party::new(100 + i);
        alice.start_with(&bob.bundle(false));
        bob.decrypt(&alice.encrypt(b"x")).unwrap();
    }
    assert_eq!(bob.record.previous().len(), MAX_ARCHIVED_STATES);
}

#[test]
fn no_session_and_garbage() {
    let mut p = Party::new(5);
    assert_eq!(p.record.encrypt(b"x").err(), Some(SignalError::NoSession));
    let w = Wire {
        pkmsg: false,
        bytes: vec![0x33; 20],
    };
    assert!(p.decrypt(&w).is_err());
    for bytes in [vec![], vec![0x33], vec![0x23, 1, 2, 3, 4, 5, 6, 7, 8, 9]] {
        assert!(
            p.decrypt(&Wire {
                pkmsg: false,
                bytes: bytes.clone()
            })
            .is_err()
        );
        assert!(p.decrypt(&Wire { pkmsg: true, bytes }).is_err());
    }
}
