//! The 1:1 send pipeline against `wa-testserver` over loopback sockets: device lists, prekey
//! fetch, per-device encryption, the `DeviceSentMessage` copy for our own devices, the server
//! ack, the 463 privacy-token refusal, sending to a second account by LID, and the answer to
//! a retry receipt.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::{Jid, Node};
use wa_client::{
    Backoff, Client, Config, DisconnectReason, Error, Event, EventStream, MessageError, SendOptions,
};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_signal::store::{IncomingMessage, ProtocolAddress};
use wa_store::{Container, MemoryContainer, MemoryStore, Store};
use wa_testserver::TestServer;

const STEP: Duration = Duration::from_secs(20);

fn config(server: &TestServer) -> Config {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Config {
        url: server.url(),
        trust_root: server.trust_root(),
        backoff: Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            jitter: 0.25,
        },
        ..Config::default()
    }
}

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(STEP, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

async fn until(events: &mut EventStream, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let e = next(events).await;
        if pred(&e) {
            return e;
        }
    }
}

/// A paired, connected companion with its store at hand.
struct Companion {
    client: Client,
    events: EventStream,
    jid: Jid,
    container: MemoryContainer,
}

impl Companion {
    async fn store(&self) -> MemoryStore {
        self.container
            .get(self.client.device_id())
            .await
            .unwrap()
            .unwrap()
    }

    async fn stop(&mut self) {
        self.client.disconnect().await;
        until(&mut self.events, |e| {
            *e == Event::Disconnected {
                reason: DisconnectReason::Requested,
                reconnecting: false,
            }
        })
        .await;
    }
}

/// Pairs a companion to the account of `phone` (the default account when `None`).
async fn pair(server: &TestServer, phone: Option<&str>) -> Companion {
    let container = MemoryContainer::new();
    let (client, mut events) = Client::start(config(server), container.clone(), None)
        .await
        .unwrap();
    let Event::Qr { code } = until(&mut events, |e| matches!(e, Event::Qr { .. })).await else {
        unreachable!()
    };
    let admin = server.admin();
    let phone = phone.map(str::to_owned);
    let scan = tokio::spawn(async move {
        match phone {
            Some(p) => admin.scan_qr_for(&p, &code).await,
            None => admin.scan_qr(&code).await,
        }
    });
    until(&mut events, |e| matches!(e, Event::PairSuccess { .. })).await;
    let jid = scan.await.unwrap().unwrap();
    until(&mut events, |e| *e == Event::Connected).await;
    Companion {
        client,
        events,
        jid,
        container,
    }
}

fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

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
    let a = pair(&server, None).await;
    let mut b = pair(&server, None).await;
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
    let a = pair(&server, None).await;
    let _b = pair(&server, None).await;
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
    server.admin().set_require_tctoken(false);
    a.client
        .send_message(a.jid.to_non_ad(), text("accepted"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaired_clients_and_group_chats_are_refused_typed() {
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
    // Groups are not sent through the 1:1 path.
    let a = pair(&server, None).await;
    let group: Jid = "1203630@g.us".parse().unwrap();
    let err = a.client.send_message(group, text("x")).await.unwrap_err();
    assert!(
        matches!(err, Error::Message(MessageError::Unsupported(_))),
        "{err:?}"
    );
}
