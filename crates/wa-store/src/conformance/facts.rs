//! Suite functions for app state, contacts, chats, LID map, retry cache and event buffer.

use super::*;

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
    // Several at once: the ones that exist (handled or not), whatever the order asked.
    let mut some = s
        .buffered_events(&[[3; 32], [9; 32], [2; 32], [1; 32]])
        .await
        .unwrap();
    some.sort_by_key(|e| e.hash[0]);
    assert_eq!(
        some,
        vec![
            event(1, Some(vec![1]), 10),
            event(2, None, 20),
            event(3, Some(vec![3]), 30)
        ]
    );
    let many: Vec<[u8; 32]> = (0..=255u8).chain(0..=255u8).map(|b| [b; 32]).collect();
    assert_eq!(s.buffered_events(&many).await.unwrap().len(), 6);
    assert!(s.buffered_events(&[]).await.unwrap().is_empty());
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
