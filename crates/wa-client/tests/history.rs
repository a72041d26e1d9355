//! History sync end to end through `wa-testserver`: after pairing, the simulated phone sends
//! the inline bootstrap (push names and PN→LID mappings of every account) and, for an
//! account with seeded conversations, a downloadable `RECENT` chunk stored as history media.
//! The client emits both as `Event::HistorySync` with the seeded messages parsed like live
//! ones, stores push names and LID mappings, answers each with a `hist_sync` receipt the
//! server records, and marks the notifications handled. A corrupted blob gives
//! `Event::HistorySyncFailed`; a chunk that could not be fetched stays in the event buffer
//! and is processed after a restart.

use std::time::Duration;

use wa_binary::Jid;
use wa_client::{Client, Event, EventStream, HistorySyncEvent, MessageEvent};
use wa_proto::proto::history_sync::HistorySyncType;
use wa_proto::proto::{Conversation, HistorySyncMsg, MessageKey, WebMessageInfo};
use wa_store::{Container, MemoryContainer, SqliteContainer, Store};
use wa_testserver::history::PhoneReceipt;
use wa_testserver::{AccountInfo, TestServer};

use crate::common;

use common::live::{config, next, pair_by_qr, stop, text, until};

fn web(
    chat: &Jid,
    id: &str,
    from_me: bool,
    participant: Option<&Jid>,
    body: &str,
) -> WebMessageInfo {
    WebMessageInfo {
        key: Some(MessageKey {
            remote_jid: Some(chat.to_string()),
            from_me: Some(from_me),
            id: Some(id.into()),
            participant: participant.map(ToString::to_string),
        }),
        message: Some(text(body)),
        message_timestamp: Some(1_700_000_000),
        ..Default::default()
    }
}

/// Two conversations: a 1:1 chat with `bob` (one message each way) and a group where bob
/// wrote.
fn seed(bob: &AccountInfo) -> Vec<Conversation> {
    let group: Jid = "120363000000000001@g.us".parse().unwrap();
    let msg = |m: WebMessageInfo| HistorySyncMsg {
        message: Some(m),
        msg_order_id: None,
    };
    vec![
        Conversation {
            id: bob.pn.to_string(),
            messages: vec![
                msg(web(&bob.pn, "HIST1", false, None, "hello from history")),
                msg(web(&bob.pn, "HIST2", true, None, "my old reply")),
            ],
            ..Default::default()
        },
        Conversation {
            id: group.to_string(),
            name: Some("Old group".into()),
            messages: vec![msg(web(
                &group,
                "HIST3",
                false,
                Some(&bob.pn),
                "group history",
            ))],
            ..Default::default()
        },
    ]
}

/// Waits for `n` history outcomes (chunks or failures), in order.
async fn history_outcomes(events: &mut EventStream, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        let e = next(events).await;
        if matches!(e, Event::HistorySync(_) | Event::HistorySyncFailed { .. }) {
            out.push(e);
        }
    }
    out
}

fn chunk(e: &Event) -> &HistorySyncEvent {
    match e {
        Event::HistorySync(h) => h,
        other => panic!("expected a history chunk, got {other:?}"),
    }
}

/// Polls the server until the account's phone saw `hist_sync` receipts for every id of `ids`.
async fn wait_for_hist_sync_receipts(
    server: &TestServer,
    phone: &str,
    ids: &[&str],
) -> Vec<PhoneReceipt> {
    for _ in 0..200 {
        let got = server.admin().phone_receipts_for(phone).unwrap();
        if ids
            .iter()
            .all(|id| got.iter().any(|r| r.kind == "hist_sync" && r.id == *id))
        {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no hist_sync receipts for {ids:?}: {:?}",
        server.admin().phone_receipts_for(phone).unwrap()
    );
}

fn texts(messages: &[MessageEvent]) -> Vec<(String, String, bool, String)> {
    messages
        .iter()
        .map(|m| {
            (
                m.info.id.clone(),
                m.info.source.sender.to_string(),
                m.info.source.is_from_me,
                m.message.conversation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_and_downloaded_history_are_emitted_stored_and_acknowledged() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let me = admin.accounts()[0].clone();
    let phone = me.pn.user().to_owned();
    let bob = admin.create_account("15550002222", "Bob").unwrap();
    admin.seed_history_for(&phone, seed(&bob)).unwrap();

    let container = MemoryContainer::new();
    let (client, mut events, _) = pair_by_qr(&server, None, container.clone()).await;
    let outcomes = history_outcomes(&mut events, 2).await;
    let (boot, recent) = (chunk(&outcomes[0]), chunk(&outcomes[1]));

    assert_eq!(boot.sync_type(), Some(HistorySyncType::InitialBootstrap));
    assert_eq!(boot.data.pushnames.len(), 2);
    assert_eq!(boot.message_count(), 0);

    assert_eq!(recent.sync_type(), Some(HistorySyncType::Recent));
    assert_eq!((recent.chunk_order(), recent.progress()), (1, Some(100)));
    assert_eq!(recent.conversations().len(), 2);
    assert_eq!(recent.conversations()[1].name.as_deref(), Some("Old group"));
    let messages: Vec<MessageEvent> = recent.messages().into_iter().map(Result::unwrap).collect();
    let own = me.pn.to_string();
    let bob_pn = bob.pn.to_string();
    assert_eq!(
        texts(&messages),
        [
            (
                "HIST1".into(),
                bob_pn.clone(),
                false,
                "hello from history".into()
            ),
            ("HIST2".into(), own, true, "my old reply".into()),
            ("HIST3".into(), bob_pn, false, "group history".into()),
        ]
    );
    assert!(messages[2].info.source.is_group);
    assert_eq!(messages[0].info.source.chat, bob.pn);

    // What the store keeps: push names and PN→LID mappings of both accounts.
    let store = container.get(client.device_id()).await.unwrap().unwrap();
    assert_eq!(
        store
            .contact(&bob.pn)
            .await
            .unwrap()
            .and_then(|c| c.push_name)
            .as_deref(),
        Some("Bob")
    );
    assert_eq!(
        store.lid_for_pn(&bob.pn).await.unwrap(),
        Some(bob.lid.clone())
    );
    assert_eq!(
        store.pn_for_lid(&me.lid).await.unwrap(),
        Some(me.pn.clone())
    );

    // Both notifications acknowledged to the phone, then marked handled in the buffer.
    wait_for_hist_sync_receipts(&server, &phone, &[&boot.message_id, &recent.message_id]).await;
    for _ in 0..100 {
        if store.pending_events().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.pending_events().await.unwrap().is_empty());

    // Later sends to bob address his LID, learnt from history (the send works end to end).
    let (bob_client, mut bob_events, _) =
        pair_by_qr(&server, Some(bob.pn.user()), MemoryContainer::new()).await;
    client
        .send_message(bob.pn.clone(), text("after history"))
        .await
        .unwrap();
    until(&mut bob_events, |e| {
        matches!(e, Event::Message(m) if m.message.conversation.as_deref() == Some("after history"))
    })
    .await;
    stop(&bob_client, &mut bob_events).await;
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_history_blob_gives_the_failure_event() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let phone = admin.accounts()[0].pn.user().to_owned();
    let bob = admin.create_account("15550002222", "Bob").unwrap();
    admin.seed_history_for(&phone, seed(&bob)).unwrap();
    admin.set_corrupt_history_media(true);

    let (client, mut events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let outcomes = history_outcomes(&mut events, 2).await;
    assert_eq!(
        chunk(&outcomes[0]).sync_type(),
        Some(HistorySyncType::InitialBootstrap)
    );
    let Event::HistorySyncFailed { message_id, error } = &outcomes[1] else {
        panic!("expected a failure, got {:?}", outcomes[1]);
    };
    assert!(error.contains("file_enc_sha256 mismatch"), "{error}");
    // The failure is final: it is acknowledged, and the client keeps running.
    wait_for_hist_sync_receipts(&server, &phone, &[message_id]).await;
    client.media_conn().await.unwrap();
    stop(&client, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_not_processed_before_a_stop_is_processed_after_the_restart() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let phone = admin.accounts()[0].pn.user().to_owned();
    let bob = admin.create_account("15550002222", "Bob").unwrap();
    admin.seed_history_for(&phone, seed(&bob)).unwrap();
    admin.set_media_unavailable(true);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");

    let container = SqliteContainer::open(&db).await.unwrap();
    let (client, mut events, _) = pair_by_qr(&server, None, container).await;
    let outcomes = history_outcomes(&mut events, 2).await;
    let Event::HistorySyncFailed { message_id, .. } = &outcomes[1] else {
        panic!("expected a failure, got {:?}", outcomes[1]);
    };
    let message_id = message_id.clone();
    // A passing failure: no receipt, and the notification stays in the event buffer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let receipts = admin.phone_receipts_for(&phone).unwrap();
    assert!(
        !receipts
            .iter()
            .any(|r| r.id == message_id && r.kind == "hist_sync"),
        "{receipts:?}"
    );
    let device_id = client.device_id();
    stop(&client, &mut events).await;
    drop(client);

    admin.set_media_unavailable(false);
    let container = SqliteContainer::open(&db).await.unwrap();
    assert_eq!(
        container
            .get(device_id)
            .await
            .unwrap()
            .unwrap()
            .pending_events()
            .await
            .unwrap()
            .len(),
        1
    );
    let (client, mut events) = Client::start(config(&server), container.clone(), Some(device_id))
        .await
        .unwrap();
    // The buffered notification is redelivered, then processed once connected.
    let replayed = until(
        &mut events,
        |e| matches!(e, Event::Message(m) if m.info.id == message_id),
    )
    .await;
    let Event::Message(replayed) = replayed else {
        unreachable!()
    };
    assert!(replayed.from_buffer);
    let outcome = history_outcomes(&mut events, 1).await;
    let recent = chunk(&outcome[0]);
    assert_eq!(recent.message_id, message_id);
    assert_eq!(recent.message_count(), 3);
    wait_for_hist_sync_receipts(&server, &phone, &[&message_id]).await;
    let store = container.get(device_id).await.unwrap().unwrap();
    for _ in 0..100 {
        if store.pending_events().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.pending_events().await.unwrap().is_empty());
    stop(&client, &mut events).await;
}
