//! History sync against Baileys 7 through the Node oracle (`tests/interop/commands/history.mjs`).
//!
//! - Baileys builds a history chunk (WAProto's `HistorySync` encoder, Node's zlib, its
//!   `encryptedStream` with media type `md-msg-hist`): our decoder decrypts it as history media
//!   with every hash checked, inflates and decodes it, and parses each message into the same
//!   conversations, ids, senders and texts; the compressed blob alone decodes as an inline
//!   bootstrap payload would.
//! - The same Baileys chunk stored on `wa-testserver`'s media host is fetched by a paired
//!   `wa_client::Client` with `download_history_sync` (media conn, download, hash checks); a
//!   wrong `fileEncSha256` is refused.
//! - The other way: the notifications `wa-testserver`'s simulated phone sends a companion (the
//!   inline bootstrap and the downloadable chunk of seeded conversations) are processed by
//!   Baileys' `downloadAndProcessHistorySyncNotification` (Baileys downloads the chunk from the
//!   test server's media host and decrypts it), giving the seeded messages and the LID mappings.
//! - Live: Baileys 7 pairs as a companion of a `wa-testserver` account with seeded history; the
//!   simulated phone's notifications reach it as Signal peer messages, and Baileys downloads
//!   the chunk and emits `messaging-history.set` with the seeded messages (driver
//!   `tests/interop/baileys_client.mjs`), answering with the `hist_sync` receipt.

use serde_json::{Value, json};
use wa_binary::Jid;
use wa_client::history::{HistorySyncEvent, MAX_INFLATED, decode_blob, notification_of};
use wa_client::{Client, Config, Event, EventStream, MediaOptions};
use wa_media::{Expected, MediaKeys, MediaType};
use wa_proto::proto::message::HistorySyncNotification;
use wa_proto::proto::{Conversation, HistorySyncMsg, Message, MessageKey, WebMessageInfo};
use wa_store::MemoryContainer;
use wa_tests::oracle;
use wa_testserver::TestServer;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

/// The chunk Baileys builds: a 1:1 chat (a message each way) and a group message.
fn chunk_spec() -> Value {
    json!({
        "syncType": 3,
        "chunkOrder": 4,
        "progress": 60,
        "conversations": [
            {"id": "15550002222@s.whatsapp.net", "name": "Bob", "messages": [
                {"id": "B1", "fromMe": false, "text": "hello from Baileys", "timestamp": 1700000001},
                {"id": "B2", "fromMe": true, "text": "an old reply", "timestamp": 1700000002}
            ]},
            {"id": "120363000000000009@g.us", "name": "Crew", "messages": [
                {"id": "B3", "fromMe": false, "participant": "15550003333@s.whatsapp.net",
                 "text": "group line", "timestamp": 1700000003}
            ]}
        ],
        "pushnames": [{"id": "15550002222@s.whatsapp.net", "pushname": "Bob"}],
        "mappings": [{"pnJid": "15550002222@s.whatsapp.net", "lidJid": "900000002222@lid"}]
    })
}

/// (chat, id, sender, from_me, text) of every message of a decoded chunk.
fn rows(event: &HistorySyncEvent) -> Vec<(String, String, String, bool, String)> {
    event
        .messages()
        .into_iter()
        .map(|m| {
            let m = m.expect("history message parses");
            (
                m.info.source.chat.to_string(),
                m.info.id,
                m.info.source.sender.to_string(),
                m.info.source.is_from_me,
                m.message.conversation.unwrap_or_default(),
            )
        })
        .collect()
}

fn expected_rows(own: &str) -> Vec<(String, String, String, bool, String)> {
    let r = |c: &str, id: &str, s: &str, me: bool, t: &str| {
        (c.to_owned(), id.to_owned(), s.to_owned(), me, t.to_owned())
    };
    vec![
        r(
            "15550002222@s.whatsapp.net",
            "B1",
            "15550002222@s.whatsapp.net",
            false,
            "hello from Baileys",
        ),
        r(
            "15550002222@s.whatsapp.net",
            "B2",
            own,
            true,
            "an old reply",
        ),
        r(
            "120363000000000009@g.us",
            "B3",
            "15550003333@s.whatsapp.net",
            false,
            "group line",
        ),
    ]
}

fn check_chunk(event: &HistorySyncEvent) {
    assert_eq!(event.sync_type().map(|t| t as i32), Some(3));
    assert_eq!((event.chunk_order(), event.progress()), (4, Some(60)));
    let names: Vec<_> = event
        .conversations()
        .iter()
        .map(|c| c.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Bob", "Crew"]);
    assert_eq!(rows(event), expected_rows(&event.own_jid.to_string()));
    assert_eq!(event.data.pushnames[0].pushname.as_deref(), Some("Bob"));
    assert_eq!(
        event.data.phone_number_to_lid_mappings[0]
            .lid_jid
            .as_deref(),
        Some("900000002222@lid")
    );
}

fn own() -> Jid {
    "15551112222@s.whatsapp.net".parse().unwrap()
}

#[test]
fn a_chunk_baileys_builds_decrypts_inflates_and_parses_with_ours() {
    let built = call("history.build", chunk_spec());
    let media_key = unhex(&built["mediaKey"]);
    let keys = MediaKeys::derive(&media_key, MediaType::History).unwrap();
    let expected = Expected::from_message(
        &unhex(&built["fileSha256"]),
        &unhex(&built["fileEncSha256"]),
        built["fileLength"].as_u64(),
    )
    .unwrap();
    let blob = wa_media::decrypt(&keys, &unhex(&built["body"]), &expected).unwrap();
    assert_eq!(blob, unhex(&built["blob"]));
    for bytes in [&blob, &unhex(&built["blob"])] {
        let event = HistorySyncEvent {
            message_id: "N1".into(),
            own_jid: own(),
            data: decode_blob(bytes, MAX_INFLATED).unwrap(),
        };
        check_chunk(&event);
    }
    // Baileys' body under another media type's keys does not decrypt.
    let wrong = MediaKeys::derive(&media_key, MediaType::Document).unwrap();
    assert!(wa_media::decrypt(&wrong, &unhex(&built["body"]), &expected).is_err());
}

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(std::time::Duration::from_secs(20), events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

/// A client paired with the default account of `server`, connected.
async fn paired(server: &TestServer) -> (Client, EventStream) {
    let config = Config {
        url: server.url(),
        trust_root: server.trust_root(),
        media: MediaOptions::test_server(),
        ..Config::default()
    };
    let (client, mut events) = Client::start(config, MemoryContainer::new(), None)
        .await
        .unwrap();
    let code = loop {
        if let Event::Qr { code } = next(&mut events).await {
            break code;
        }
    };
    let admin = server.admin();
    let scan = tokio::spawn(async move { admin.scan_qr(&code).await });
    while next(&mut events).await != Event::Connected {}
    scan.await.unwrap().unwrap();
    (client, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_downloads_a_baileys_chunk_from_the_media_host() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let (client, _events) = paired(&server).await;
    let built = tokio::task::block_in_place(|| call("history.build", chunk_spec()));
    let direct_path = server.admin().store_media(unhex(&built["body"]));
    let notification = HistorySyncNotification {
        file_sha256: Some(unhex(&built["fileSha256"])),
        file_length: built["fileLength"].as_u64(),
        media_key: Some(unhex(&built["mediaKey"])),
        file_enc_sha256: Some(unhex(&built["fileEncSha256"])),
        direct_path: Some(direct_path),
        sync_type: Some(3),
        chunk_order: Some(4),
        progress: Some(60),
        ..Default::default()
    };
    let data = client
        .download_history_sync(&notification, MAX_INFLATED)
        .await
        .unwrap();
    check_chunk(&HistorySyncEvent {
        message_id: "N2".into(),
        own_jid: own(),
        data,
    });
    let mut wrong = notification.clone();
    if let Some(h) = wrong.file_enc_sha256.as_mut() {
        h[0] ^= 1;
    }
    let err = client
        .download_history_sync(&wrong, MAX_INFLATED)
        .await
        .unwrap_err();
    assert!(matches!(err, wa_client::Error::Media(_)), "{err}");
    client.disconnect().await;
}

fn web(
    chat: &str,
    id: &str,
    from_me: bool,
    participant: Option<&str>,
    text: &str,
) -> HistorySyncMsg {
    HistorySyncMsg {
        message: Some(WebMessageInfo {
            key: Some(MessageKey {
                remote_jid: Some(chat.into()),
                from_me: Some(from_me),
                id: Some(id.into()),
                participant: participant.map(str::to_owned),
            }),
            message: Some(Message {
                conversation: Some(text.into()),
                ..Default::default()
            }),
            message_timestamp: Some(1_700_000_100),
            participant: participant.map(str::to_owned),
            ..Default::default()
        }),
        msg_order_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_processes_the_history_our_server_sends() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let me = admin.accounts()[0].clone();
    let bob = admin.create_account("15550002222", "Bob").unwrap();
    let bob_pn = bob.pn.to_string();
    admin
        .seed_history_for(
            me.pn.user(),
            vec![
                Conversation {
                    id: bob_pn.clone(),
                    messages: vec![
                        web(&bob_pn, "S1", false, None, "seeded hello"),
                        web(&bob_pn, "S2", true, None, "seeded reply"),
                    ],
                    ..Default::default()
                },
                Conversation {
                    id: "120363000000000010@g.us".into(),
                    name: Some("Seeded group".into()),
                    messages: vec![web(
                        "120363000000000010@g.us",
                        "S3",
                        false,
                        Some(&bob_pn),
                        "seeded group line",
                    )],
                    ..Default::default()
                },
            ],
        )
        .unwrap();
    let (client, mut events) = paired(&server).await;
    // The two notifications as our client received them from the simulated phone.
    let mut notifications: Vec<HistorySyncNotification> = Vec::new();
    while notifications.len() < 2 {
        if let Event::Message(m) = next(&mut events).await
            && let Some(n) = notification_of(&m.message)
        {
            notifications.push(n.clone());
        }
    }
    client.disconnect().await;

    let inline = notifications[0]
        .initial_hist_bootstrap_inline_payload
        .as_ref()
        .expect("the first notification is the inline bootstrap");
    let boot = tokio::task::block_in_place(|| {
        call("history.process", json!({"inline": hex::encode(inline)}))
    });
    assert_eq!(boot["syncType"], 0);
    let mappings = boot["lidPnMappings"].as_array().unwrap();
    for account in [&me, &bob] {
        assert!(
            mappings
                .iter()
                .any(|m| m["pn"] == account.pn.to_string() && m["lid"] == account.lid.to_string()),
            "{account:?} not in {mappings:?}"
        );
    }

    let chunk = &notifications[1];
    let url = format!(
        "{}{}",
        server.media_url(),
        chunk.direct_path.as_deref().expect("a direct path")
    );
    let media_key = hex::encode(chunk.media_key.as_deref().expect("a media key"));
    let got = tokio::task::block_in_place(|| {
        call(
            "history.process",
            json!({"url": url, "mediaKey": media_key}),
        )
    });
    assert_eq!(got["syncType"], 3);
    assert_eq!(got["progress"], 100);
    let chats: Vec<_> = got["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        chats,
        [bob_pn.clone(), "120363000000000010@g.us".to_owned()]
    );
    let messages: Vec<_> = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["fromMe"].as_bool().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            ("S1".to_owned(), false, "seeded hello".to_owned()),
            ("S2".to_owned(), true, "seeded reply".to_owned()),
            ("S3".to_owned(), false, "seeded group line".to_owned()),
        ]
    );
    assert_eq!(got["messages"][2]["participant"], bob_pn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_as_a_companion_receives_our_history_chunk() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let me = admin.accounts()[0].clone();
    let bob = admin.create_account("15550002222", "Bob").unwrap();
    let bob_pn = bob.pn.to_string();
    admin
        .seed_history_for(
            me.pn.user(),
            vec![Conversation {
                id: bob_pn.clone(),
                messages: vec![
                    web(&bob_pn, "L1", false, None, "live hello"),
                    web(&bob_pn, "L2", true, None, "live reply"),
                ],
                ..Default::default()
            }],
        )
        .unwrap();
    let auth = tempfile::tempdir().unwrap();
    // Baileys fetches history media from mmg.whatsapp.net: the driver points that host at the
    // test server's media host.
    let media_host = server.media_url().trim_start_matches("http://").to_owned();
    let mut b = wa_tests::baileys::Baileys::spawn(
        "history",
        "baileys_client.mjs",
        &server,
        auth.path(),
        &["--media-host", &media_host],
    );
    wa_tests::baileys::pair(&mut b, &admin, None).await;
    let recent = b
        .expect_where("messaging-history.set of the RECENT chunk", |v| {
            v["event"] == "history" && v["syncType"] == 3
        })
        .await;
    assert_eq!(recent["chats"], 1, "{recent}");
    assert_eq!(recent["messages"], 2, "{recent}");
    assert_eq!(recent["ids"], json!(["L1", "L2"]), "{recent}");
    assert_eq!(
        recent["texts"],
        json!(["live hello", "live reply"]),
        "{recent}"
    );
    assert_eq!(recent["progress"], 100, "{recent}");
    // Baileys acknowledges both notifications to the phone with hist_sync receipts.
    let mut kinds = Vec::new();
    for _ in 0..100 {
        kinds = admin
            .phone_receipts_for(me.pn.user())
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "hist_sync")
            .collect();
        if kinds.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(kinds.len() >= 2, "{kinds:?}");
    b.quit().await;
}
