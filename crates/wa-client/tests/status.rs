//! Status posts (`status@broadcast`) end to end through `wa-testserver` over loopback sockets:
//! a post reaches every companion of its recipients and our own other companion, nobody else;
//! a recipient's read receipt reaches the poster; a later post reaches them without a new
//! sender key distribution; a recipient that blocked
//! the poster gets nothing; with no recipients at all the send is a typed error; and without
//! recipients a post follows the account's status privacy (a whitelist set on the server).

use wa_binary::{Jid, Server};
use wa_client::status::StatusPrivacyType;
use wa_client::{
    BlocklistAction, Error, Event, EventStream, MessageError, ReceiptKind, SendOptions,
};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, assert_no_message, message_with_id, text, until};

/// Waits for the message `id` and returns its text, checking that it is a status of `poster`.
async fn status_text(events: &mut EventStream, id: &str, poster: &Jid, from_me: bool) -> String {
    let m = message_with_id(events, id).await;
    assert!(m.info.source.chat.is_status_broadcast(), "{:?}", m.info);
    assert!(m.info.source.is_group, "a status is a sender-key chat");
    assert_eq!(m.info.source.sender.user(), poster.user(), "{:?}", m.info);
    assert_eq!(m.info.source.is_from_me, from_me);
    m.message.conversation.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_reaches_its_recipients_and_our_other_device_and_nobody_else() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let phones = ["15550300001", "15550300002", "15550300003"];
    let mut pn = Vec::new();
    for (phone, name) in phones.iter().zip(["Alice", "Bob", "Carol"]) {
        pn.push(server.admin().create_account(phone, name).unwrap().pn);
    }
    let mut a = [
        Companion::pair(&server, Some(phones[0])).await,
        Companion::pair(&server, Some(phones[0])).await,
    ];
    let mut b = [
        Companion::pair(&server, Some(phones[1])).await,
        Companion::pair(&server, Some(phones[1])).await,
    ];
    let mut c = Companion::pair(&server, Some(phones[2])).await;

    // First post to Bob: his two companions and Alice's other one get it, Carol does not.
    let sent = a[0]
        .client
        .send_message_with(
            Jid::new("status", Server::Broadcast),
            text("first status"),
            SendOptions::status_to(vec![pn[1].clone(), pn[1].clone()]),
        )
        .await
        .unwrap();
    assert!(sent.chat.is_status_broadcast());
    // Bob's phone and companions, Alice's phone and other companion; never Carol.
    assert_eq!(sent.devices.len(), 5, "{:?}", sent.devices);
    for device in [&b[0].jid, &b[1].jid, &a[1].jid] {
        assert!(sent.devices.contains(device), "{device} missing");
    }
    assert!(sent.devices.iter().all(|d| d.user() != pn[2].user()));
    for bob in &mut b {
        assert_eq!(
            status_text(&mut bob.events, &sent.id, &pn[0], false).await,
            "first status"
        );
    }
    assert_eq!(
        status_text(&mut a[1].events, &sent.id, &pn[0], true).await,
        "first status"
    );
    assert_no_message(&mut c.events, &sent.id).await;

    // Bob reads it: Alice's device that posted sees the read receipt from him.
    b[0].client
        .mark_read(
            std::slice::from_ref(&sent.id),
            Jid::new("status", Server::Broadcast),
            Some(pn[0].clone()),
            sent.timestamp,
        )
        .await
        .unwrap();
    let Event::Receipt(read) = until(&mut a[0].events, |e| {
        matches!(e, Event::Receipt(r) if r.kind == ReceiptKind::Read && r.message_ids.contains(&sent.id))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(read.chat, "status@broadcast", "{read:?}");
    assert!(read.sender.starts_with(pn[1].user()), "{read:?}");

    // A second post needs no new distribution: the sender key is held, and the server still
    // knows Bob is in Alice's status audience.
    let second = a[0]
        .client
        .send_message_with(
            Jid::new("status", Server::Broadcast),
            text("second status"),
            SendOptions::status_to(vec![pn[1].clone()]),
        )
        .await
        .unwrap();
    for bob in &mut b {
        assert_eq!(
            status_text(&mut bob.events, &second.id, &pn[0], false).await,
            "second status"
        );
    }

    // Bob blocks Alice: her next status does not reach him.
    b[0].client
        .update_blocklist(&pn[0], BlocklistAction::Block)
        .await
        .unwrap();
    let third = a[0]
        .client
        .send_message_with(
            Jid::new("status", Server::Broadcast),
            text("third status"),
            SendOptions::status_to(vec![pn[1].clone()]),
        )
        .await
        .unwrap();
    assert_eq!(
        status_text(&mut a[1].events, &third.id, &pn[0], true).await,
        "third status"
    );
    assert_no_message(&mut b[1].events, &third.id).await;

    // No recipients given and no contacts in the store: nobody to post to.
    let err = c
        .client
        .send_message(Jid::new("status", Server::Broadcast), text("alone"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Message(MessageError::NoDevices)),
        "{err:?}"
    );

    // Carol's status privacy is a whitelist of Bob: a post without recipients goes to him.
    server
        .admin()
        .set_status_privacy(phones[2], "whitelist", vec![pn[1].clone()])
        .unwrap();
    let privacy = c.client.status_privacy().await.unwrap();
    assert_eq!(privacy[0].kind, StatusPrivacyType::Whitelist);
    assert_eq!(privacy[0].list, vec![pn[1].clone()]);
    let carols = c
        .client
        .send_message(Jid::new("status", Server::Broadcast), text("whitelisted"))
        .await
        .unwrap();
    assert_eq!(
        status_text(&mut b[1].events, &carols.id, &pn[2], false).await,
        "whitelisted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_that_lost_the_sender_key_gets_the_status_resent_with_it() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let (a, pa) = Companion::pair_new_account(&server, "15550300011", "Alice").await;
    let (mut b, pb) = Companion::pair_new_account(&server, "15550300012", "Bob").await;
    let status = Jid::new("status", Server::Broadcast);
    let post = |body: &str| {
        a.client.send_message_with(
            status.clone(),
            text(body),
            SendOptions::status_to(vec![pb.clone()]),
        )
    };

    let first = post("one").await.unwrap();
    let m = message_with_id(&mut b.events, &first.id).await;
    // Bob's store loses Alice's status sender key.
    b.lose_sender_key(&status, &m.info.source.sender).await;

    // The next post fails to decrypt; Bob's retry receipt makes Alice resend it pairwise with
    // her sender key, and Bob reads it.
    let second = post("two").await.unwrap();
    until(
        &mut b.events,
        |e| matches!(e, Event::UndecryptableMessage { info, .. } if info.id == second.id),
    )
    .await;
    assert_eq!(
        status_text(&mut b.events, &second.id, &pa, false).await,
        "two"
    );
}
