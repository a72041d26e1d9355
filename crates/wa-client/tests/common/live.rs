//! Shared by the tests against a live `wa-testserver` over loopback sockets (`send`, `recv`,
//! `loopback`, `groups`): a client config with a fast reconnect backoff, waits for events with a
//! timeout, pairing by QR and a paired companion with its store at hand.

use std::time::Duration;

use wa_binary::Jid;
use wa_client::{Backoff, Client, Config, DisconnectReason, Event, EventStream};
use wa_proto::proto::Message;
use wa_store::{Container, MemoryContainer, MemoryStore};
use wa_testserver::TestServer;

/// How long one wait for an event may take.
pub const STEP: Duration = Duration::from_secs(20);

/// The phone number of the second account most tests create ("Bob").
pub const BOB: &str = "15550002222";

/// A fresh test server with the account "Bob" ([`BOB`]) created on it.
pub async fn server_with_bob() -> (TestServer, wa_testserver::AccountInfo) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let bob = server.admin().create_account(BOB, "Bob").unwrap();
    (server, bob)
}

/// A client config for `server` (its URL and trust root) with a backoff of 50..400 ms; also
/// installs the `RUST_LOG` test tracing subscriber once.
pub fn config(server: &TestServer) -> Config {
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
        // The test server serves media over plain http on loopback.
        media: wa_client::MediaOptions::test_server(),
        ..Config::default()
    }
}

/// The next event; panics after [`STEP`] or when the stream ends.
pub async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(STEP, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

/// Waits for an event matching `pred`, returning it; other events are skipped.
pub async fn until(events: &mut EventStream, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let e = next(events).await;
        if pred(&e) {
            return e;
        }
    }
}

/// Waits for the `Message` event with id `id`; other events are skipped.
pub async fn message_with_id(events: &mut EventStream, id: &str) -> wa_client::MessageEvent {
    match until(
        events,
        |e| matches!(e, Event::Message(m) if m.info.id == id),
    )
    .await
    {
        Event::Message(m) => *m,
        _ => unreachable!("until returned an event its predicate refused"),
    }
}

/// Asserts that the message `id` does not arrive within 1.5 s.
pub async fn assert_no_message(events: &mut EventStream, id: &str) {
    let arrived = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            match events.recv().await {
                Some(Event::Message(m)) if m.info.id == id => return true,
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await;
    assert!(!matches!(arrived, Ok(true)), "message {id} arrived");
}

/// Starts a client on `container` and pairs it by QR to the account of `phone` (the default
/// account when `None`); returns once it is connected, with the device JID the phone linked.
pub async fn pair_by_qr<C: Container + 'static>(
    server: &TestServer,
    phone: Option<&str>,
    container: C,
) -> (Client, EventStream, Jid) {
    let (client, mut events) = Client::start(config(server), container, None)
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
    (client, events, jid)
}

/// Disconnects `client` and waits for its final `Disconnected { Requested }` event.
pub async fn stop(client: &Client, events: &mut EventStream) {
    client.disconnect().await;
    until(events, |e| {
        *e == Event::Disconnected {
            reason: DisconnectReason::Requested,
            reconnecting: false,
        }
    })
    .await;
}

/// A text message.
pub fn text(s: &str) -> Message {
    Message {
        conversation: Some(s.into()),
        ..Message::default()
    }
}

/// A paired, connected companion with its store at hand.
pub struct Companion {
    /// The client.
    pub client: Client,
    /// Its events.
    pub events: EventStream,
    /// Its device JID.
    pub jid: Jid,
    /// The container holding its store.
    pub container: MemoryContainer,
}

impl Companion {
    /// Pairs a companion with an in-memory store to the account of `phone` (the default
    /// account when `None`).
    pub async fn pair(server: &TestServer, phone: Option<&str>) -> Companion {
        let container = MemoryContainer::new();
        let (client, events, jid) = pair_by_qr(server, phone, container.clone()).await;
        Companion {
            client,
            events,
            jid,
            container,
        }
    }

    /// Creates the account `phone` (push name `name`) and pairs a companion to it; returns
    /// the companion and the account's phone-number JID.
    pub async fn pair_new_account(
        server: &TestServer,
        phone: &str,
        name: &str,
    ) -> (Companion, Jid) {
        let pn = server.admin().create_account(phone, name).unwrap().pn;
        (Companion::pair(server, Some(pn.user())).await, pn)
    }

    /// The companion's device store.
    pub async fn store(&self) -> MemoryStore {
        self.container
            .get(self.client.device_id())
            .await
            .unwrap()
            .unwrap()
    }

    /// Makes this companion's store lose the sender key `sender` uses in `chat` (an empty
    /// record, as after a lost database), so its next sender-key message fails to decrypt.
    pub async fn lose_sender_key(&self, chat: &Jid, sender: &Jid) {
        let name = wa_client::group::sender_key_name(chat, sender);
        let mut lost = wa_store::Changes::new();
        lost.put_sender_key(name, &wa_signal::SenderKeyRecord::new());
        wa_store::Store::commit(&self.store().await, lost)
            .await
            .unwrap();
    }

    /// Disconnects and waits for the final `Disconnected` event.
    pub async fn stop(&mut self) {
        stop(&self.client, &mut self.events).await;
    }
}
