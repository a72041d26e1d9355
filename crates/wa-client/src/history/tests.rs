use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use wa_proto::prost::Message as _;
use wa_proto::proto::message::{HistorySyncNotification, ProtocolMessage, protocol_message};
use wa_proto::proto::{
    Conversation, HistorySync, HistorySyncMsg, Message, MessageKey, PhoneNumberToLidMapping,
    Pushname, WebMessageInfo,
};

use super::*;
use crate::media::DownloadableMessage as _;

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn web(chat: &str, id: &str, from_me: bool, text: &str) -> WebMessageInfo {
    WebMessageInfo {
        key: Some(MessageKey {
            remote_jid: Some(chat.into()),
            from_me: Some(from_me),
            id: Some(id.into()),
            participant: None,
        }),
        message: Some(crate::message::build::text(text)),
        message_timestamp: Some(1_700_000_000),
        push_name: Some("Bob".into()),
        ..Default::default()
    }
}

fn sample() -> HistorySync {
    HistorySync {
        sync_type: HistorySyncType::Recent as i32,
        chunk_order: Some(2),
        progress: Some(40),
        conversations: vec![Conversation {
            id: "222@s.whatsapp.net".into(),
            messages: vec![
                HistorySyncMsg {
                    message: Some(web("222@s.whatsapp.net", "A1", false, "hi")),
                    msg_order_id: Some(1),
                },
                HistorySyncMsg {
                    message: Some(web("222@s.whatsapp.net", "A2", true, "yo")),
                    msg_order_id: Some(2),
                },
            ],
            tc_token: Some(vec![9; 8]),
            tc_token_timestamp: Some(77),
            ..Default::default()
        }],
        pushnames: vec![
            Pushname {
                id: Some("222@s.whatsapp.net".into()),
                pushname: Some("Bob".into()),
            },
            Pushname {
                id: Some("333@s.whatsapp.net".into()),
                pushname: Some("-".into()),
            },
        ],
        phone_number_to_lid_mappings: vec![PhoneNumberToLidMapping {
            pn_jid: Some("222@c.us".into()),
            lid_jid: Some("900222@lid".into()),
        }],
        ..Default::default()
    }
}

#[test]
fn a_blob_inflates_and_decodes() {
    let blob = zlib(&sample().encode_to_vec());
    let hs = decode_blob(&blob, MAX_INFLATED).unwrap();
    assert_eq!(hs, sample());
}

#[test]
fn an_oversized_blob_is_refused_at_the_cap() {
    let raw = vec![0u8; 100_000];
    let blob = zlib(&raw);
    assert_eq!(inflate(&blob, raw.len()).unwrap().len(), raw.len());
    assert!(matches!(
        inflate(&blob, raw.len() - 1),
        Err(HistoryError::TooLarge { limit }) if limit == raw.len() - 1
    ));
    assert!(matches!(
        inflate(&blob, 0),
        Err(HistoryError::TooLarge { limit: 0 })
    ));
    // A bomb: 64 MiB of zeros in ~64 KiB, refused without inflating it all.
    let bomb = zlib(&vec![0u8; 64 << 20]);
    assert!(matches!(
        decode_blob(&bomb, 1 << 20),
        Err(HistoryError::TooLarge { .. })
    ));
}

#[test]
fn garbage_is_an_inflate_error() {
    for garbage in [
        &b"not zlib at all"[..],
        &[0x78, 0x9c, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(
            matches!(
                inflate(garbage, MAX_INFLATED),
                Err(HistoryError::Inflate(_))
            ),
            "{garbage:?}"
        );
    }
    // A valid stream with a wrong Adler-32.
    let mut blob = zlib(b"hello history");
    let last = blob.len() - 1;
    blob[last] ^= 0xff;
    assert!(matches!(
        inflate(&blob, MAX_INFLATED),
        Err(HistoryError::Inflate(_))
    ));
    // Inflates fine but is not a HistorySync.
    let blob = zlib(&[0xff; 32]);
    assert!(matches!(
        decode_blob(&blob, MAX_INFLATED),
        Err(HistoryError::Decode(_))
    ));
}

#[test]
fn a_truncated_blob_is_refused() {
    let blob = zlib(&sample().encode_to_vec());
    for cut in [0, 1, 2, blob.len() / 2, blob.len() - 1] {
        let r = inflate(&blob[..cut], MAX_INFLATED);
        assert!(
            matches!(r, Err(HistoryError::Truncated)),
            "cut {cut}: {r:?}"
        );
    }
}

#[test]
fn notifications_are_recognised_and_point_at_their_payload() {
    let n = HistorySyncNotification {
        direct_path: Some("/v/t62/x".into()),
        media_key: Some(vec![1; 32]),
        file_sha256: Some(vec![2; 32]),
        file_enc_sha256: Some(vec![3; 32]),
        file_length: Some(10),
        ..Default::default()
    };
    let m = Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::HistorySyncNotification as i32),
            history_sync_notification: Some(n.clone()),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(notification_of(&m), Some(&n));
    let mut other = m.clone();
    if let Some(pm) = other.protocol_message.as_deref_mut() {
        pm.r#type = Some(protocol_message::Type::AppStateSyncKeyShare as i32);
    }
    assert_eq!(notification_of(&other), None);
    assert_eq!(notification_of(&crate::message::build::text("x")), None);
    let r = n.media_ref().unwrap();
    assert_eq!(r.media_type, wa_media::MediaType::History);
    assert_eq!(r.file_length, Some(10));
    assert!(matches!(blob_payload(&n), Ok(Payload::Media(_))));
    let inline = HistorySyncNotification {
        initial_hist_bootstrap_inline_payload: Some(vec![1, 2]),
        ..n.clone()
    };
    assert!(matches!(
        blob_payload(&inline),
        Ok(Payload::Inline(&[1, 2]))
    ));
    let empty = HistorySyncNotification::default();
    assert!(matches!(
        blob_payload(&empty),
        Err(HistoryError::NoPayload("direct_path"))
    ));
}

#[test]
fn history_messages_parse_like_live_ones() {
    let own = jid("111:3@s.whatsapp.net");
    let ev = HistorySyncEvent {
        message_id: "N".into(),
        own_jid: own.to_non_ad(),
        data: sample(),
    };
    assert_eq!(ev.sync_type(), Some(HistorySyncType::Recent));
    assert_eq!((ev.chunk_order(), ev.progress()), (2, Some(40)));
    assert_eq!(ev.message_count(), 2);
    assert!(
        ev.summary()
            .starts_with("RECENT chunk 2 (40%): 1 conversations, 2 messages")
    );
    let msgs: Vec<_> = ev.messages().into_iter().map(Result::unwrap).collect();
    assert_eq!(msgs[0].info.id, "A1");
    assert_eq!(msgs[0].info.source.sender, jid("222@s.whatsapp.net"));
    assert!(!msgs[0].info.source.is_from_me);
    assert_eq!(msgs[0].info.push_name.as_deref(), Some("Bob"));
    assert_eq!(msgs[0].info.timestamp, 1_700_000_000);
    assert_eq!(msgs[0].info.kind, "text");
    assert_eq!(
        crate::message::content::text_of(&msgs[0].message).as_deref(),
        Some("hi")
    );
    assert_eq!(msgs[1].info.source.sender, jid("111@s.whatsapp.net"));
    assert!(msgs[1].info.source.is_from_me);
    // Events round-trip through JSON like every event.
    let json = serde_json::to_string(&crate::Event::HistorySync(Box::new(ev.clone()))).unwrap();
    let back: crate::Event = serde_json::from_str(&json).unwrap();
    assert_eq!(back, crate::Event::HistorySync(Box::new(ev)));
}

#[test]
fn group_messages_need_a_participant_and_edits_take_the_original_id() {
    let own = jid("111@s.whatsapp.net");
    let group = jid("123-456@g.us");
    let mut m = web("123-456@g.us", "G1", false, "hey");
    assert!(matches!(
        parse_web_message(Some(&group), &m, &own),
        Err(HistoryError::BadMessage { id, .. }) if id == "G1"
    ));
    m.participant = Some("444@s.whatsapp.net".into());
    let ev = parse_web_message(None, &m, &own).unwrap();
    assert!(ev.info.source.is_group);
    assert_eq!(ev.info.source.sender, jid("444@s.whatsapp.net"));
    let edit = WebMessageInfo {
        message: Some(crate::message::build::edit(
            &group,
            "ORIG",
            crate::message::build::text("fixed"),
            5,
        )),
        ..m.clone()
    };
    let ev = parse_web_message(Some(&group), &edit, &own).unwrap();
    assert_eq!(ev.info.id, "ORIG");
    assert_eq!(
        crate::message::content::text_of(&ev.message).as_deref(),
        Some("fixed")
    );
    let no_id = WebMessageInfo::default();
    assert!(parse_web_message(Some(&group), &no_id, &own).is_err());
    let bad_chat = web("", "X", false, "x");
    assert!(parse_web_message(None, &bad_chat, &own).is_err());
}

#[test]
fn the_store_keeps_names_mappings_secrets_and_tokens() {
    let own = jid("111@s.whatsapp.net");
    let mut hs = sample();
    if let Some(w) = hs.conversations[0].messages[0].message.as_mut() {
        w.message_secret = Some(vec![5; 32]);
    }
    let (changes, n) = store_changes(&hs, &own);
    // One mapping, one push name ("-" skipped), one token, one secret.
    assert_eq!(n, 4);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        use rand_core::SeedableRng as _;
        use wa_store::{Container as _, Store as _};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let store = wa_store::MemoryContainer::new()
            .create(wa_store::Device::generate(&mut rng))
            .await
            .unwrap();
        store.commit(changes).await.unwrap();
        let pn = jid("222@s.whatsapp.net");
        let lid = jid("900222@lid");
        assert_eq!(store.lid_for_pn(&pn).await.unwrap(), Some(lid.clone()));
        assert_eq!(
            store
                .contact(&pn)
                .await
                .unwrap()
                .unwrap()
                .push_name
                .as_deref(),
            Some("Bob")
        );
        assert!(
            store
                .contact(&jid("333@s.whatsapp.net"))
                .await
                .unwrap()
                .is_none()
        );
        let token = store.privacy_token(&lid).await.unwrap().unwrap();
        assert_eq!((token.token, token.timestamp), (vec![9; 8], 77));
        let key = wa_store::MessageKey {
            chat: pn.clone(),
            sender: pn,
            id: "A1".into(),
        };
        assert_eq!(store.message_secret(&key).await.unwrap(), Some(vec![5; 32]));
    });
}
