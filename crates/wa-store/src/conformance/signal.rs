//! Suite functions for wa-signal's records and helpers.

use wa_signal::store::{PreKeyStore, SenderKeyStore};

use super::*;

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
    commit(&s, |ch| {
        ch.put_identity(addr("x", 1), k1)
            .put_identity(addr("x", 12), k1)
            .put_identity(addr("x1", 2), k1)
            .put_identity(addr("y", 0), k1);
    })
    .await;
    commit(&s, |ch| {
        ch.remove_identity(addr("y", 0)).remove_identities_of("x");
    })
    .await;
    for a in [addr("x", 0), addr("x", 1), addr("x", 12), addr("y", 0)] {
        assert_eq!(s.identity(&a).await.unwrap(), None, "{a}");
    }
    assert_eq!(
        s.identity(&addr("x1", 2)).await.unwrap(),
        Some(k1),
        "other user kept"
    );
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
    // Many at once, in order, with gaps.
    let many = s
        .sessions(&[addr("y", 0), addr("z", 0), addr("x", 1)])
        .await
        .unwrap();
    let many: Vec<_> = many
        .iter()
        .map(|r| r.as_ref().map(SessionRecord::serialize))
        .collect();
    assert_eq!(many, vec![Some(r2.serialize()), None, Some(r1.serialize())]);
    // Removal of one device, then of a whole user (not of a user whose name merely starts alike).
    commit(&s, |ch| {
        ch.put_session(addr("x", 25), &r1)
            .put_session(addr("x2", 0), &r1)
            .remove_session(addr("y", 0));
    })
    .await;
    assert!(s.session(&addr("y", 0)).await.unwrap().is_none());
    commit(&s, |ch| {
        ch.remove_sessions_of("x");
    })
    .await;
    for a in [addr("x", 0), addr("x", 1), addr("x", 25)] {
        assert!(s.session(&a).await.unwrap().is_none(), "{a}");
    }
    assert!(s.session(&addr("x2", 0)).await.unwrap().is_some());
    // In a transaction, a removal hides the stored record before the commit.
    let mut txn = Transaction::new(&s);
    txn.changes().remove_session(addr("x2", 0));
    assert!(txn.load_session(&addr("x2", 0)).await.unwrap().is_none());
    drop(txn);
    assert!(s.session(&addr("x2", 0)).await.unwrap().is_some());
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

pub async fn sender_key_distribution<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(35))).await.unwrap();
    let other = c.create(Device::generate(&mut rng(36))).await.unwrap();
    let (g, h) = (
        jid("120363000000000001@g.us"),
        jid("120363000000000002@g.us"),
    );
    let (a1, a2, b0, l5) = (
        jid("1555001:1@s.whatsapp.net"),
        jid("1555001:2@s.whatsapp.net"),
        jid("1555002@s.whatsapp.net"),
        jid("777:5@lid"),
    );
    assert!(s.sender_key_distribution(&g).await.unwrap().is_empty());
    commit(&s, |ch| {
        ch.mark_sender_key_distributed(g.clone(), [b0.clone(), a2.clone(), l5.clone()])
            .mark_sender_key_distributed(g.clone(), [a1.clone(), b0.clone()])
            .mark_sender_key_distributed(h.clone(), vec![a1.clone()]);
    })
    .await;
    // Sorted by JID string, duplicates once, per group and per device.
    let got = s.sender_key_distribution(&g).await.unwrap();
    assert_eq!(got, [a1.clone(), a2.clone(), b0.clone(), l5.clone()]);
    assert_eq!(
        s.sender_key_distribution(&h).await.unwrap(),
        vec![a1.clone()]
    );
    assert!(other.sender_key_distribution(&g).await.unwrap().is_empty());
    commit(&s, |ch| {
        ch.forget_sender_key_distribution_to(g.clone(), [a2.clone(), jid("9@s.whatsapp.net")]);
    })
    .await;
    let got = s.sender_key_distribution(&g).await.unwrap();
    assert_eq!(got, [a1.clone(), b0.clone(), l5.clone()]);
    // A forget and a mark in one batch: the forget applies first.
    commit(&s, |ch| {
        ch.mark_sender_key_distributed(g.clone(), [a2.clone()])
            .forget_sender_key_distribution(g.clone());
    })
    .await;
    assert_eq!(
        s.sender_key_distribution(&g).await.unwrap(),
        vec![a2.clone()]
    );
    assert_eq!(
        s.sender_key_distribution(&h).await.unwrap(),
        vec![a1.clone()]
    );
    c.delete(s.id()).await.unwrap();
    assert!(s.sender_key_distribution(&h).await.unwrap().is_empty());
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
    assert!(
        txn.load_pre_key(one_time.id).await.unwrap().is_none(),
        "consumed in txn"
    );
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

pub async fn pn_to_lid_migration<C: Container>(c: C) {
    let s = c.create(Device::generate(&mut rng(44))).await.unwrap();
    let (r1, r2) = (session_record(1), session_record(2));
    let key = *IdentityKeyPair::generate(&mut rng(45)).public();
    let sk = sender_key_record(3);
    let group = |sender| SenderKeyName {
        group_id: "g@g.us".into(),
        sender,
    };
    commit(&s, |ch| {
        ch.put_session(addr("111", 0), &r1)
            .put_session(addr("111", 3), &r1)
            .put_session(addr("1112", 0), &r1)
            .put_session(addr("999", 0), &r2)
            .put_session(addr("999", 5), &r2)
            .put_identity(addr("111", 3), key)
            .put_sender_key(group(addr("111", 3)), &sk);
    })
    .await;
    let check = |store_view: Vec<Option<Vec<u8>>>| {
        let want = vec![
            None,                 // 111.0 moved away
            None,                 // 111.3 moved away
            Some(r1.serialize()), // 1112.0 is another user
            Some(r1.serialize()), // 999.0 replaced by 111.0
            Some(r1.serialize()), // 999.3 moved in
            Some(r2.serialize()), // 999.5 kept
        ];
        assert_eq!(store_view, want);
    };
    let addresses = [
        addr("111", 0),
        addr("111", 3),
        addr("1112", 0),
        addr("999", 0),
        addr("999", 3),
        addr("999", 5),
    ];
    // Seen through a transaction before the commit…
    let mut txn = Transaction::new(&s);
    txn.changes().migrate_pn_to_lid("111", "999");
    let mut view = Vec::new();
    for a in &addresses {
        view.push(txn.load_session(a).await.unwrap().map(|r| r.serialize()));
    }
    check(view);
    assert_eq!(
        wa_signal::store::IdentityKeyStore::identity(&txn, &addr("999", 3))
            .await
            .unwrap(),
        Some(key)
    );
    assert_eq!(
        wa_signal::store::IdentityKeyStore::identity(&txn, &addr("111", 3))
            .await
            .unwrap(),
        None
    );
    let moved = txn.load_sender_key(&group(addr("999", 3))).await.unwrap();
    assert_eq!(moved.map(|r| r.serialize()), Some(sk.serialize()));
    assert!(
        txn.load_sender_key(&group(addr("111", 3)))
            .await
            .unwrap()
            .is_none()
    );
    // …and in the store after it.
    txn.commit().await.unwrap();
    let view = s.sessions(&addresses).await.unwrap();
    check(
        view.iter()
            .map(|r| r.as_ref().map(SessionRecord::serialize))
            .collect(),
    );
    assert_eq!(s.identity(&addr("999", 3)).await.unwrap(), Some(key));
    assert_eq!(s.identity(&addr("111", 3)).await.unwrap(), None);
    let moved = s.sender_key(&group(addr("999", 3))).await.unwrap();
    assert_eq!(moved.map(|r| r.serialize()), Some(sk.serialize()));
    assert!(
        s.sender_key(&group(addr("111", 3)))
            .await
            .unwrap()
            .is_none()
    );
}
