//! A refused `pair-success` over a real socket: a scripted server sends a tampered ADV
//! identity; the client refuses it with a clear error, answers with an error IQ, stops, and the
//! SQLite store holds no pairing.

use crate::common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wa_binary::Node;
use wa_client::{Client, Config, DisconnectReason, Event, PairError};
use wa_noise::KeyPair;
use wa_proto::prost::Message;
use wa_proto::proto::{AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac};
use wa_store::{Container, SqliteContainer};
use wa_testserver::QrCode;
use wa_testserver::phone::{Phone, adv_hmac};

/// Serves one WebSocket connection with a [`FakeServer`]: sends `pair-device` once the
/// handshake is done, then whatever the test sends on `to_client`; reports every stanza.
async fn scripted_server(
    mut fake: FakeServer,
) -> (
    String,
    mpsc::UnboundedSender<Node>,
    mpsc::UnboundedReceiver<Node>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws/chat", listener.local_addr().unwrap());
    let (to_client, mut commands) = mpsc::unbounded_channel::<Node>();
    let (report, received) = mpsc::unbounded_channel::<Node>();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let mut sent_pair_device = false;
        loop {
            tokio::select! {
                msg = ws.next() => {
                    let Some(Ok(WsMessage::Binary(b))) = msg else { return };
                    fake.recv(&b);
                    for n in fake.take_received() {
                        let _ = report.send(n);
                    }
                    if fake.transport.is_some() && !sent_pair_device {
                        sent_pair_device = true;
                        fake.send(&pair_device(&["ref-1"]));
                    }
                }
                cmd = commands.recv() => {
                    let Some(node) = cmd else { return };
                    fake.send(&node);
                }
            }
            if !fake.out.is_empty() {
                let out = std::mem::take(&mut fake.out);
                if ws.send(WsMessage::Binary(out.into())).await.is_err() {
                    return;
                }
            }
        }
    });
    (url, to_client, received)
}

async fn next(events: &mut wa_client::EventStream) -> Event {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap()
}

async fn refused_over_a_socket(tamper: fn(&QrCode, Vec<u8>) -> Vec<u8>, expected: PairError) {
    let (fake, trust_root) = FakeServer::new(21);
    let (url, to_client, mut received) = scripted_server(fake).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let cfg = Config {
        url,
        trust_root,
        ..Config::default()
    };
    let (_client, mut events) = Client::start(cfg, SqliteContainer::open(&db).await.unwrap(), None)
        .await
        .unwrap();
    let Event::Qr { code } = next(&mut events).await else {
        panic!("expected a QR code")
    };
    let qr = QrCode::parse(&code).unwrap();
    let phone = Phone::new(KeyPair::generate(&mut ChaCha20Rng::seed_from_u64(5)));
    let signed = phone.sign_device(
        &qr.identity_key,
        &qr.adv_secret,
        4,
        1,
        UNIX,
        &mut ChaCha20Rng::seed_from_u64(6),
    );
    to_client
        .send(pair_success(tamper(&qr, signed.container)))
        .unwrap();
    assert_eq!(
        next(&mut events).await,
        Event::PairError { error: expected }
    );
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            reason: DisconnectReason::PairingEnded,
            reconnecting: false
        }
    );
    // The client acked pair-device, then answered pair-success with an error IQ.
    let ack = received.recv().await.unwrap();
    assert_eq!(ack.attr("type").unwrap().to_string(), "result");
    let err = received.recv().await.unwrap();
    assert_eq!(err.attr("type").unwrap().to_string(), "error");
    assert_eq!(err.attr("id").unwrap().to_string(), "ps-1");
    // Nothing about the pairing reached the store.
    let stored = SqliteContainer::open(&db)
        .await
        .unwrap()
        .list()
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].device.jid.is_none());
    assert!(stored[0].device.lid.is_none());
    assert!(stored[0].device.account.is_none());
    assert_eq!(stored[0].device.adv_secret_key.0, qr.adv_secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_adv_hmac_over_a_socket_saves_nothing() {
    refused_over_a_socket(
        |_, container| {
            let mut c = AdvSignedDeviceIdentityHmac::decode(container.as_slice()).unwrap();
            c.hmac.as_mut().unwrap()[31] ^= 0x80;
            c.encode_to_vec()
        },
        PairError::HmacMismatch,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_account_signature_over_a_socket_saves_nothing() {
    refused_over_a_socket(
        |qr, container| {
            let c = AdvSignedDeviceIdentityHmac::decode(container.as_slice()).unwrap();
            let mut inner = AdvSignedDeviceIdentity::decode(c.details.as_deref().unwrap()).unwrap();
            inner.account_signature.as_mut().unwrap()[0] ^= 1;
            let inner = inner.encode_to_vec();
            AdvSignedDeviceIdentityHmac {
                hmac: Some(adv_hmac(&qr.adv_secret, &inner).to_vec()),
                details: Some(inner),
                account_type: None,
            }
            .encode_to_vec()
        },
        PairError::InvalidAccountSignature,
    )
    .await;
}
