//! The receive pipeline against `wa-testserver` over loopback sockets, two accounts: messages
//! decrypted into events with full info, delivery and read receipts back to the sender,
//! duplicates dropped, an undecryptable message answered with a retry receipt, and a message
//! whose handler never ran delivered again after a restart from SQLite.

use std::time::Duration;

use wa_binary::{Jid, Node};
use wa_client::{
    Client, DisconnectReason, Event, EventStream, ReceiptEvent, ReceiptKind, SendOptions,
};
use wa_store::{Container, MemoryContainer, SqliteContainer};
use wa_testserver::TestServer;

use crate::common;

use common::live::{BOB, config, message_with_id, next, pair_by_qr, server_with_bob, text, until};

/// Waits for a receipt of `kind` covering `id`.
async fn receipt(events: &mut EventStream, id: &str, kind: ReceiptKind) -> ReceiptEvent {
    let pred = |e: &Event| matches!(e, Event::Receipt(r) if r.kind == kind && r.message_ids.iter().any(|m| m == id));
    match until(events, pred).await {
        Event::Receipt(r) => r,
        _ => unreachable!(),
    }
}

fn same_user(a: &Jid, b: &Jid) -> bool {
    a.user() == b.user() && a.server() == b.server()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_the_other_account_and_receipts_come_back() {
    let (server, bob) = server_with_bob().await;
    let (alice, mut alice_events, alice_jid) =
        pair_by_qr(&server, None, MemoryContainer::new()).await;
    let (alice2, mut alice2_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let (bob_client, mut bob_events, bob_jid) =
        pair_by_qr(&server, Some(BOB), MemoryContainer::new()).await;
    let alice_account = server.admin().accounts()[0].clone();

    let sent = alice
        .send_message_with(
            bob.pn.clone(),
            text("hello bob"),
            SendOptions::with_id("3EB0RECV0001"),
        )
        .await
        .unwrap();
    assert_eq!(sent.id, "3EB0RECV0001");

    // Bob's device decrypts it, with who/where/when.
    let got = message_with_id(&mut bob_events, "3EB0RECV0001").await;
    assert_eq!(got.message.conversation.as_deref(), Some("hello bob"));
    assert!(!got.info.source.is_from_me && !got.info.source.is_group);
    assert!(!got.from_buffer && !got.unwrapped_from_device_sent);
    let sender = &got.info.source.sender;
    assert_eq!(sender.device(), alice_jid.device());
    assert!(
        same_user(sender, &alice_account.pn.to_non_ad())
            || same_user(sender, &alice_account.lid.to_non_ad()),
        "{sender}"
    );
    assert!(same_user(&got.info.source.chat, &sender.to_non_ad()));
    // The other address form of the sender came with the stanza.
    let alt = got.info.source.sender_alt.clone().expect("sender alt");
    assert!(
        same_user(&alt, &alice_account.pn.to_non_ad())
            || same_user(&alt, &alice_account.lid.to_non_ad())
    );
    assert!(got.info.timestamp > 0);

    // Alice's other device gets its own copy, unwrapped from DeviceSentMessage.
    let copy = message_with_id(&mut alice2_events, "3EB0RECV0001").await;
    assert!(copy.info.source.is_from_me && copy.unwrapped_from_device_sent);
    assert_eq!(copy.message.conversation.as_deref(), Some("hello bob"));
    assert!(
        same_user(&copy.info.source.chat, &bob.pn.to_non_ad())
            || same_user(&copy.info.source.chat, &bob.lid.to_non_ad()),
        "{}",
        copy.info.source.chat
    );

    // Bob's delivery receipt reaches Alice.
    let delivered = receipt(&mut alice_events, "3EB0RECV0001", ReceiptKind::Delivered).await;
    assert_eq!(delivered.message_ids, ["3EB0RECV0001"]);

    // Bob reads it; Alice sees the read receipt.
    bob_client
        .mark_read(
            &["3EB0RECV0001".to_owned()],
            got.info.source.chat.clone(),
            None,
            got.info.timestamp,
        )
        .await
        .unwrap();
    receipt(&mut alice_events, "3EB0RECV0001", ReceiptKind::Read).await;

    // The same id again (a resend of the same message) is dropped, not shown twice; the
    // next message is delivered.
    alice
        .send_message_with(
            bob.pn.clone(),
            text("hello bob"),
            SendOptions::with_id("3EB0RECV0001"),
        )
        .await
        .unwrap();
    alice
        .send_message_with(
            bob.pn.clone(),
            text("second"),
            SendOptions::with_id("3EB0RECV0002"),
        )
        .await
        .unwrap();
    let e = until(&mut bob_events, |e| matches!(e, Event::Message(_))).await;
    let Event::Message(m) = e else { unreachable!() };
    assert_eq!(
        m.info.id, "3EB0RECV0002",
        "the duplicate was delivered again"
    );

    // And the other direction.
    bob_client
        .send_message_with(
            alice_account.pn.clone(),
            text("hi alice"),
            SendOptions::with_id("3EB0RECV0003"),
        )
        .await
        .unwrap();
    let back = message_with_id(&mut alice_events, "3EB0RECV0003").await;
    assert_eq!(back.message.conversation.as_deref(), Some("hi alice"));
    assert_eq!(back.info.source.sender.device(), bob_jid.device());
    receipt(&mut bob_events, "3EB0RECV0003", ReceiptKind::Delivered).await;
    drop(alice2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecryptable_message_is_reported_and_answered_with_a_retry_receipt() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server.admin().create_account(BOB, "Bob").unwrap();
    let (alice, mut alice_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let (_bob_client, mut bob_events, bob_device) =
        pair_by_qr(&server, Some(BOB), MemoryContainer::new()).await;

    // A `msg` on a session Bob never had: it cannot decrypt.
    let garbage = Node::new("enc")
        .attr("v", "2")
        .attr("type", "msg")
        .bytes(vec![0x33; 60])
        .build();
    // A single `<enc>` addressed to Bob's device.
    let node = Node::new("message")
        .attr("to", bob_device)
        .attr("id", "3EB0BROKEN01")
        .attr("type", "text")
        .child(garbage)
        .build();
    alice.send_node(node).await.unwrap();

    let e = until(
        &mut bob_events,
        |e| matches!(e, Event::UndecryptableMessage { info, .. } if info.id == "3EB0BROKEN01"),
    )
    .await;
    let Event::UndecryptableMessage { reason, .. } = e else {
        unreachable!()
    };
    assert!(!reason.is_empty());
    // Alice receives Bob's retry receipt.
    let retry = receipt(&mut alice_events, "3EB0BROKEN01", ReceiptKind::Retry).await;
    assert_eq!(retry.message_ids, ["3EB0BROKEN01"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_handler_never_ran_is_delivered_after_a_restart() {
    let (server, bob) = server_with_bob().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bob.db");
    let (alice, mut alice_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let (bob_client, bob_events, _) = pair_by_qr(
        &server,
        Some(BOB),
        SqliteContainer::open(&db).await.unwrap(),
    )
    .await;
    // The application stops listening (its handler is gone): what Bob decrypts from now on
    // is buffered but never handled.
    drop(bob_events);
    alice
        .send_message_with(
            bob.pn.clone(),
            text("survives"),
            SendOptions::with_id("3EB0CRASH001"),
        )
        .await
        .unwrap();
    // Bob decrypted and buffered it (the delivery receipt is sent after that).
    receipt(&mut alice_events, "3EB0CRASH001", ReceiptKind::Delivered).await;
    bob_client.disconnect().await;
    drop(bob_client);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A new process opens the same database: the message comes first, from the buffer,
    // before the connection is even up.
    let container = SqliteContainer::open(&db).await.unwrap();
    let (client, mut events) = Client::start(config(&server), container, None)
        .await
        .unwrap();
    let mut replayed = None;
    loop {
        match next(&mut events).await {
            Event::Message(m) if m.info.id == "3EB0CRASH001" => {
                replayed = Some(*m);
            }
            Event::Message(m) => assert!(m.from_buffer),
            Event::Connected => break,
            _ => {}
        }
    }
    let m = replayed.expect("the buffered message was not delivered before login");
    assert!(m.from_buffer);
    assert_eq!(m.message.conversation.as_deref(), Some("survives"));
    // Handled now: a second restart delivers nothing again.
    client.disconnect().await;
    until(&mut events, |e| {
        *e == Event::Disconnected {
            reason: DisconnectReason::Requested,
            reconnecting: false,
        }
    })
    .await;
    drop(client);
    let container = SqliteContainer::open(&db).await.unwrap();
    let (client, mut events) = Client::start(config(&server), container, None)
        .await
        .unwrap();
    assert_eq!(next(&mut events).await, Event::Connected);
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_session_is_repaired_by_a_retry_receipt_and_the_message_delivered() {
    let (server, bob) = server_with_bob().await;
    let (alice, _alice_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let bob_container = MemoryContainer::new();
    let (bob_client, mut bob_events, _) =
        pair_by_qr(&server, Some(BOB), bob_container.clone()).await;
    let alice_account = server.admin().accounts()[0].clone();

    alice
        .send_message_with(
            bob.pn.clone(),
            text("one"),
            SendOptions::with_id("3EB0RETRY001"),
        )
        .await
        .unwrap();
    message_with_id(&mut bob_events, "3EB0RETRY001").await;

    // Bob loses every session with Alice's account (as after a reinstall of his store).
    let store = bob_container
        .get(bob_client.device_id())
        .await
        .unwrap()
        .unwrap();
    let mut changes = wa_store::Changes::new();
    changes
        .remove_sessions_of(alice_account.pn.signal_address_user())
        .remove_sessions_of(alice_account.lid.signal_address_user());
    wa_store::Store::commit(&store, changes).await.unwrap();

    // Alice's next message rides her old session: Bob cannot decrypt it, asks again, and
    // Alice resends on a new session.
    alice
        .send_message_with(
            bob.pn.clone(),
            text("two"),
            SendOptions::with_id("3EB0RETRY002"),
        )
        .await
        .unwrap();
    let e = until(
        &mut bob_events,
        |e| matches!(e, Event::UndecryptableMessage { info, .. } if info.id == "3EB0RETRY002"),
    )
    .await;
    assert!(matches!(e, Event::UndecryptableMessage { .. }));
    let got = message_with_id(&mut bob_events, "3EB0RETRY002").await;
    assert_eq!(got.message.conversation.as_deref(), Some("two"));
    // whatsmeow's sender re-encrypts on its old session for a first retry without keys (which
    // fails again here) and builds a new one from the keys of the second: one or two retries.
    assert!(
        (1..=2).contains(&got.retry_count),
        "retry count {}",
        got.retry_count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_while_offline_arrive_in_order_before_the_offline_sync_event() {
    let (server, bob) = server_with_bob().await;
    let (alice, _alice_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let bob_container = MemoryContainer::new();
    let (bob_client, mut bob_events, _) =
        pair_by_qr(&server, Some(BOB), bob_container.clone()).await;
    bob_client.disconnect().await;
    until(&mut bob_events, |e| {
        *e == Event::Disconnected {
            reason: DisconnectReason::Requested,
            reconnecting: false,
        }
    })
    .await;
    drop(bob_client);

    let ids: Vec<String> = (0..5).map(|i| format!("3EB0OFFLINE{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        alice
            .send_message_with(
                bob.pn.clone(),
                text(&format!("queued {i}")),
                SendOptions::with_id(id.clone()),
            )
            .await
            .unwrap();
    }

    let (_bob_client, mut bob_events) = Client::start(config(&server), bob_container, None)
        .await
        .unwrap();
    let mut got = Vec::new();
    loop {
        match next(&mut bob_events).await {
            Event::Message(m) if m.info.id.starts_with("3EB0OFFLINE") => {
                assert_eq!(
                    m.message.conversation.as_deref(),
                    Some(format!("queued {}", got.len()).as_str())
                );
                got.push(m.info.id.clone());
            }
            Event::OfflineSyncCompleted { count } => {
                assert!(count >= 5, "{count}");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(
        got, ids,
        "every queued message, in order, before the sync event"
    );
}

/// A program that marks a message read and exits right after `disconnect().await` (as the
/// `wa` command line does) still gets its receipt out: `disconnect` returns only once what
/// was sent before is written and the socket closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_sent_just_before_the_program_exits_still_leaves() {
    let (server, bob) = server_with_bob().await;
    let (alice, mut alice_events, _) = pair_by_qr(&server, None, MemoryContainer::new()).await;
    let bob_container = MemoryContainer::new();
    let (bob_client, mut bob_events, _) =
        pair_by_qr(&server, Some(BOB), bob_container.clone()).await;
    let mut received = Vec::new();
    for round in 0..5 {
        let id = format!("3EB0EXIT{round:04}");
        alice
            .send_message_with(bob.pn.clone(), text("read me"), SendOptions::with_id(&id))
            .await
            .unwrap();
        let got = message_with_id(&mut bob_events, &id).await;
        received.push((id, got.info.source.chat.clone(), got.info.timestamp));
    }
    bob_client.disconnect().await;
    for (id, chat, timestamp) in received {
        // Bob's "program": its own runtime, dropped as soon as `disconnect` returns.
        let cfg = config(&server);
        let container = bob_container.clone();
        let read = id.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, mut events) = Client::start(cfg, container, None).await.unwrap();
                until(&mut events, |e| *e == Event::Connected).await;
                client
                    .mark_read(&[read], chat, None, timestamp)
                    .await
                    .unwrap();
                client.disconnect().await;
            });
        })
        .join()
        .unwrap();
        receipt(&mut alice_events, &id, ReceiptKind::Read).await;
    }
}
