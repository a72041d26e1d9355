//! The 1:1 send pipeline against `wa-testserver` over loopback sockets: device lists, prekey
//! fetch, per-device encryption, the `DeviceSentMessage` copy for our own devices, the server
//! ack, the 463 privacy-token refusal, sending to a second account by LID, and the answer to
//! retry receipts; device-list refresh, offline delivery, concurrent sends and the PN->LID
//! session move.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::{Jid, Node};
use wa_client::{Client, Error, Event, MessageError, SendOptions};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_signal::store::{IncomingMessage, ProtocolAddress};
use wa_store::{MemoryContainer, MemoryStore, Store};
use wa_testserver::TestServer;

use crate::common;

use common::live::{Companion, config, message_with_id, next, text, until};

fn signal_address(jid: &Jid) -> ProtocolAddress {
    ProtocolAddress::new(jid.signal_address_user(), u32::from(jid.device()))
}

/// Decrypts the `<enc>` of a routed `<message>` with the receiver's store, as the receive
/// pipeline would, and returns the unpadded `Message`.
async fn decrypt(store: &MemoryStore, sender: &Jid, node: &Node) -> Message {
    let enc = node.child("enc").expect("an <enc> for this device");
    let bytes = enc.bytes().unwrap();
    let incoming = match enc.attr("type").and_then(|t| t.as_str()) {
        Some("pkmsg") => IncomingMessage::PreKey(bytes),
        Some("msg") => IncomingMessage::Whisper(bytes),
        other => panic!("enc type {other:?}"),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (plain, _) = wa_signal::store::decrypt(store, &signal_address(sender), incoming, &mut rng)
        .await
        .unwrap();
    let body = wa_client::message::unpad(&plain, 2).unwrap();
    Message::decode(body).unwrap()
}

async fn queued_messages(server: &TestServer, jid: &Jid) -> Vec<Node> {
    // Routing happens before the ack, so the queue is complete once the send returned.
    server
        .admin()
        .queued_stanzas(jid)
        .unwrap()
        .into_iter()
        .filter(|n| n.tag == "message")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_device_copy_is_a_device_sent_message_and_the_ack_is_awaited() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, None).await;
    let b_store = b.store().await;
    b.stop().await;

    let own = a.jid.to_non_ad();
    let sent = a
        .client
        .send_message_with(
            own.clone(),
            text("note to self"),
            SendOptions::with_id("3EB0SELF01"),
        )
        .await
        .unwrap();
    assert_eq!(sent.id, "3EB0SELF01");
    assert!(sent.timestamp > 0, "timestamp from the ack");
    // Sent as our LID to our LID (whatsmeow addressing), B among the devices, A itself not.
    let a_lid = a.store().await.device().await.unwrap().lid.unwrap();
    assert_eq!(sent.chat, a_lid.to_non_ad());
    assert!(sent.devices.iter().any(|d| d.device() == b.jid.device()));
    assert!(!sent.devices.iter().any(|d| d.device() == a.jid.device()));

    let queued = queued_messages(&server, &b.jid).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let stanza = &queued[0];
    assert_eq!(stanza.attr("id").unwrap().as_str(), Some("3EB0SELF01"));
    assert_eq!(
        stanza.child("enc").unwrap().attr("type").unwrap().as_str(),
        Some("pkmsg"),
        "first message on a new session"
    );
    assert!(
        stanza.child("device-identity").is_some(),
        "device identity goes with a pkmsg"
    );
    let sender = a_lid.clone().with_device(a.jid.device());
    let got = decrypt(&b_store, &sender, stanza).await;
    let (inner, dest) = wa_client::message::dsm::unwrap(got.clone());
    assert!(got.device_sent_message.is_some(), "own devices get a DSM");
    assert_eq!(inner.conversation.as_deref(), Some("note to self"));
    assert_eq!(
        dest.as_deref(),
        Some(a_lid.to_non_ad().to_string().as_str())
    );

    // The sender cached the message for retries and kept the session.
    let a_store = a.store().await;
    let cached = a_store
        .outgoing_message(&a_lid.to_non_ad(), "3EB0SELF01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Message::decode(cached.payload.as_slice()).unwrap(),
        text("note to self")
    );
    let b_lid = a_lid.clone().with_device(b.jid.device());
    assert!(
        a_store
            .session(&signal_address(&b_lid))
            .await
            .unwrap()
            .is_some()
    );

    // The second message reuses the session (still pkmsg until B answers) and no new bundle
    // is fetched: the server's prekey count for B does not move.
    let before = server.admin().pre_key_count(&b.jid).unwrap();
    a.client.send_message(own, text("again")).await.unwrap();
    assert_eq!(server.admin().pre_key_count(&b.jid).unwrap(), before);
    let queued = queued_messages(&server, &b.jid).await;
    assert_eq!(queued.len(), 2);
    let got = decrypt(&b_store, &sender, &queued[1]).await;
    assert_eq!(
        wa_client::message::dsm::unwrap(got)
            .0
            .conversation
            .as_deref(),
        Some("again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_privacy_token_is_a_typed_error() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let a = Companion::pair(&server, None).await;
    let _b = Companion::pair(&server, None).await;
    server.admin().set_require_tctoken(true);
    let err = a
        .client
        .send_message(a.jid.to_non_ad(), text("refused"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Message(MessageError::PrivacyTokenRequired)),
        "{err:?}"
    );
    // A token held for the chat goes along as <tctoken> and the server accepts the message.
    let mut c = wa_store::Changes::new();
    c.put_privacy_token(wa_store::PrivacyToken {
        jid: a.jid.to_non_ad(),
        token: vec![7; 16],
        timestamp: 1_700_000_000,
    });
    a.store().await.commit(c).await.unwrap();
    a.client
        .send_message(a.jid.to_non_ad(), text("accepted with a token"))
        .await
        .unwrap();
    server.admin().set_require_tctoken(false);
    a.client
        .send_message(a.jid.to_non_ad(), text("accepted"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaired_clients_unknown_numbers_and_broadcasts_are_refused_typed() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    // A client still showing QR codes has no account to send from.
    let (fresh, mut fresh_events) = Client::start(config(&server), MemoryContainer::new(), None)
        .await
        .unwrap();
    until(&mut fresh_events, |e| matches!(e, Event::Qr { .. })).await;
    let to: Jid = "15550001111@s.whatsapp.net".parse().unwrap();
    let err = fresh.send_message(to, text("x")).await.unwrap_err();
    assert!(matches!(err, Error::NotPaired), "{err:?}");
    // A number without an account has no devices: a typed error, nothing sent.
    let a = Companion::pair(&server, None).await;
    let nobody: Jid = "15559990000@s.whatsapp.net".parse().unwrap();
    let err = a.client.send_message(nobody, text("x")).await.unwrap_err();
    assert!(
        matches!(err, Error::Message(MessageError::NoDevices)),
        "{err:?}"
    );
    // Broadcast lists (other than status) have no send path.
    let broadcast: Jid = "1234@broadcast".parse().unwrap();
    let err = a
        .client
        .send_message(broadcast, text("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Message(MessageError::Unsupported(_))),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_gets_it_by_lid_and_our_other_device_gets_the_copy() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob_account = server.admin().create_account("15550002222", "Bob").unwrap();
    let a = Companion::pair(&server, None).await;
    let mut a2 = Companion::pair(&server, None).await;
    let mut bob = Companion::pair(&server, Some("15550002222")).await;
    let mut bob2 = Companion::pair(&server, Some("15550002222")).await;

    let sent = a
        .client
        .send_message(bob_account.pn.clone(), text("hello bob"))
        .await
        .unwrap();
    // whatsmeow addressing: the PN recipient is replaced by its LID, learned from usync and
    // stored with the mapping.
    assert_eq!(sent.chat, bob_account.lid);
    let a_store = a.store().await;
    assert_eq!(
        a_store.lid_for_pn(&bob_account.pn).await.unwrap(),
        Some(bob_account.lid.clone())
    );
    // Bob's phone and both companions, and our other companion (and our phone).
    for d in [bob.jid.device(), bob2.jid.device()] {
        assert!(
            sent.devices
                .iter()
                .any(|j| j.user() == bob_account.lid.user() && j.device() == d),
            "{:?}",
            sent.devices
        );
    }
    assert!(sent.devices.iter().any(|j| j.device() == a2.jid.device()));

    for events in [&mut bob.events, &mut bob2.events] {
        let m = message_with_id(events, &sent.id).await;
        assert_eq!(m.message.conversation.as_deref(), Some("hello bob"));
        assert!(!m.info.source.is_from_me);
        assert!(!m.unwrapped_from_device_sent);
    }
    let copy = message_with_id(&mut a2.events, &sent.id).await;
    assert_eq!(copy.message.conversation.as_deref(), Some("hello bob"));
    assert!(copy.unwrapped_from_device_sent);
    assert!(copy.info.source.is_from_me);

    // Bob answers; then we send again: established sessions, no new prekeys fetched.
    let reply = bob
        .client
        .send_message(a.jid.to_non_ad(), text("hi A"))
        .await
        .unwrap();
    let mut a_events = a.events;
    let got = message_with_id(&mut a_events, &reply.id).await;
    assert_eq!(got.message.conversation.as_deref(), Some("hi A"));
    let before = server.admin().pre_key_count(&bob.jid).unwrap();
    let again = a
        .client
        .send_message(bob_account.pn.clone(), text("second"))
        .await
        .unwrap();
    assert_eq!(server.admin().pre_key_count(&bob.jid).unwrap(), before);
    let m = message_with_id(&mut bob.events, &again.id).await;
    assert_eq!(m.message.conversation.as_deref(), Some("second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_receipt_gets_the_message_resent_on_a_new_session() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob_account = server.admin().create_account("15550003333", "Bob").unwrap();
    let a = Companion::pair(&server, None).await;
    let mut bob = Companion::pair(&server, Some("15550003333")).await;

    let first = a
        .client
        .send_message(bob_account.pn.clone(), text("one"))
        .await
        .unwrap();
    message_with_id(&mut bob.events, &first.id).await;

    // Bob loses every session: the next message cannot be decrypted, Bob asks for a retry,
    // we rebuild the session from the keys in the receipt (or fetched ones) and resend.
    let a_lid = a.store().await.device().await.unwrap().lid.unwrap();
    let mut c = wa_store::Changes::new();
    c.remove_sessions_of(a_lid.signal_address_user());
    c.remove_sessions_of(a.jid.signal_address_user());
    bob.store().await.commit(c).await.unwrap();

    let second = a
        .client
        .send_message(bob_account.pn.clone(), text("two"))
        .await
        .unwrap();
    let m = message_with_id(&mut bob.events, &second.id).await;
    assert_eq!(m.message.conversation.as_deref(), Some("two"));
    assert!(
        m.retry_count >= 1,
        "delivered through a retry: {}",
        m.retry_count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_paired_companion_is_included_after_the_devices_notification() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let a = Companion::pair(&server, None).await;
    let _b = Companion::pair(&server, None).await;
    let own = a.jid.to_non_ad();
    let first = a.client.send_message(own.clone(), text("1")).await.unwrap();
    // The device list is cached now: a second send does not ask usync again, so without
    // the notification a new companion would be missed.
    let c = Companion::pair(&server, None).await;
    // The server announces C to A as <notification type="devices">; the receive pipeline
    // drops A's cached list (both its PN and LID forms). Wait for that, at most 2 s.
    let mut tries = 0;
    let second = loop {
        let sent = a.client.send_message(own.clone(), text("2")).await.unwrap();
        if sent.devices.iter().any(|d| d.device() == c.jid.device()) || tries == 20 {
            break sent;
        }
        tries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        !first.devices.iter().any(|d| d.device() == c.jid.device()),
        "C was not paired yet"
    );
    assert!(
        second.devices.iter().any(|d| d.device() == c.jid.device()),
        "the cached list was refreshed: {:?}",
        second.devices
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_both_ways_all_arrive() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob_account = server.admin().create_account("15550004444", "Bob").unwrap();
    let mut a = Companion::pair(&server, None).await;
    let mut bob = Companion::pair(&server, Some("15550004444")).await;
    const N: usize = 15;
    let to_bob = {
        let client = a.client.clone();
        let to = bob_account.pn.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..N {
                ids.push(
                    client
                        .send_message(to.clone(), text(&format!("a{i}")))
                        .await
                        .unwrap()
                        .id,
                );
            }
            ids
        })
    };
    let to_a = {
        let client = bob.client.clone();
        let to = a.jid.to_non_ad();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..N {
                ids.push(
                    client
                        .send_message(to.clone(), text(&format!("b{i}")))
                        .await
                        .unwrap()
                        .id,
                );
            }
            ids
        })
    };
    let (ids_to_bob, ids_to_a) = (to_bob.await.unwrap(), to_a.await.unwrap());
    for (events, ids) in [(&mut bob.events, ids_to_bob), (&mut a.events, ids_to_a)] {
        let mut want: std::collections::HashSet<String> = ids.into_iter().collect();
        while !want.is_empty() {
            match next(events).await {
                Event::Message(m) => {
                    want.remove(&m.info.id);
                }
                Event::UndecryptableMessage { .. } => {}
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_receipt_from_our_own_device_gets_the_device_sent_copy_again() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, None).await;
    let own = a.jid.to_non_ad();
    let first = a
        .client
        .send_message(own.clone(), text("one"))
        .await
        .unwrap();
    message_with_id(&mut b.events, &first.id).await;

    let a_lid = a.store().await.device().await.unwrap().lid.unwrap();
    let mut c = wa_store::Changes::new();
    c.remove_sessions_of(a_lid.signal_address_user());
    c.remove_sessions_of(a.jid.signal_address_user());
    b.store().await.commit(c).await.unwrap();

    let second = a.client.send_message(own, text("two")).await.unwrap();
    let m = message_with_id(&mut b.events, &second.id).await;
    assert_eq!(m.message.conversation.as_deref(), Some("two"));
    assert!(
        m.unwrapped_from_device_sent,
        "resent as a DeviceSentMessage"
    );
    assert!(
        m.retry_count >= 1,
        "delivered through a retry: {}",
        m.retry_count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_offline_at_send_time_gets_it_on_login() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob_account = server.admin().create_account("15550005555", "Bob").unwrap();
    let a = Companion::pair(&server, None).await;
    let mut bob = Companion::pair(&server, Some("15550005555")).await;
    bob.stop().await;
    let sent = a
        .client
        .send_message_with(
            bob_account.pn.clone(),
            text("while you were away"),
            SendOptions::default().timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    // Bob logs in again from the same store and gets it from the offline queue.
    let (_client, mut events) = Client::start(config(&server), bob.container.clone(), None)
        .await
        .unwrap();
    let m = message_with_id(&mut events, &sent.id).await;
    assert_eq!(
        m.message.conversation.as_deref(),
        Some("while you were away")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_kept_under_a_phone_number_move_to_the_lid_when_the_mapping_is_learned() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob_account = server.admin().create_account("15550006666", "Bob").unwrap();
    let a = Companion::pair(&server, None).await;
    let mut bob = Companion::pair(&server, Some("15550006666")).await;
    let first = a
        .client
        .send_message(bob_account.pn.clone(), text("one"))
        .await
        .unwrap();
    message_with_id(&mut bob.events, &first.id).await;

    // Rewind A's store to before LIDs: Bob's sessions under his phone number, no mapping
    // (mapping Bob's LID to another number drops his).
    let a_store = a.store().await;
    let bob_lid_dev = bob_account.lid.clone().with_device(bob.jid.device());
    let bob_pn_dev = bob_account.pn.clone().with_device(bob.jid.device());
    let record = a_store
        .session(&signal_address(&bob_lid_dev))
        .await
        .unwrap()
        .expect("session with Bob's companion");
    let mut c = wa_store::Changes::new();
    c.remove_sessions_of(bob_lid_dev.signal_address_user())
        .put_session(signal_address(&bob_pn_dev), &record)
        .put_lid_mapping(
            bob_account.lid.clone(),
            "15550000000@s.whatsapp.net".parse().unwrap(),
        );
    a_store.commit(c).await.unwrap();
    assert_eq!(a_store.lid_for_pn(&bob_account.pn).await.unwrap(), None);

    // The next send learns the LID from usync, stores the mapping and moves the session in
    // the same commit: it is reused (no prekey fetched) and Bob decrypts.
    let before = server.admin().pre_key_count(&bob.jid).unwrap();
    let second = a
        .client
        .send_message(bob_account.pn.clone(), text("two"))
        .await
        .unwrap();
    assert_eq!(second.chat, bob_account.lid);
    assert_eq!(server.admin().pre_key_count(&bob.jid).unwrap(), before);
    let m = message_with_id(&mut bob.events, &second.id).await;
    assert_eq!(m.message.conversation.as_deref(), Some("two"));
    assert_eq!(
        a_store.lid_for_pn(&bob_account.pn).await.unwrap(),
        Some(bob_account.lid.clone())
    );
    assert!(
        a_store
            .session(&signal_address(&bob_pn_dev))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a_store
            .session(&signal_address(&bob_lid_dev))
            .await
            .unwrap()
            .is_some()
    );
}
