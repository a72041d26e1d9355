//! The engine without sockets: a scripted server (the Noise responder from `wa-noise`, stanzas
//! written by hand, the simulated phone from `wa-testserver` for signatures) drives it through
//! pairing, refused pairings, login, prekeys, keepalive, IQ deadlines and stream errors.
// `Instant::now()` is read once per test as a starting point; time then moves by hand.
#![allow(clippy::disallowed_methods)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use wa_binary::{Jid, Node, Server};
use wa_client::{Config, DisconnectReason, Engine, Event, IqError, PairError, StoreOp};
use wa_proto::prost::Message;
use wa_proto::proto::{AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac};
use wa_store::{Device, PreKeyCounts};
use wa_testserver::phone::adv_hmac;

struct Pair {
    engine: Engine,
    server: FakeServer,
    now: Instant,
    events: Vec<Event>,
    store: Vec<StoreOp>,
}

impl Pair {
    fn new(device: Device, prekeys: PreKeyCounts, config: Config) -> Self {
        let (server, trust_root) = FakeServer::new(11);
        let config = Config {
            trust_root,
            ..config
        };
        let now = Instant::now();
        let engine = Engine::new(config, device, prekeys, now, UNIX, [7; 32]).unwrap();
        let mut p = Self {
            engine,
            server,
            now,
            events: Vec::new(),
            store: Vec::new(),
        };
        p.drive();
        p
    }

    /// Moves bytes both ways until both sides are idle; collects events and store writes.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(op) = self.engine.poll_store() {
                self.store.push(op);
            }
            while let Some(b) = self.engine.poll_transmit() {
                self.server.recv(&b);
                moved = true;
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
            }
            if !self.server.out.is_empty() {
                let out = std::mem::take(&mut self.server.out);
                let _ = self.engine.handle_data(self.now, &out);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn send(&mut self, node: &Node) {
        self.server.send(node);
        self.drive();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.engine.handle_timeout(self.now);
        self.drive();
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

#[test]
fn registration_shows_qr_codes_on_whatsmeows_timing_then_times_out() {
    let dev = device(1);
    let mut p = Pair::new(dev.clone(), PreKeyCounts::default(), Config::default());
    let payload = p.server.payload.clone().unwrap();
    assert!(
        payload.device_pairing_data.is_some(),
        "registration payload expected"
    );
    assert_eq!(payload.passive, Some(false));

    p.send(&pair_device(&["r1", "r2", "r3"]));
    // The pair-device IQ is acknowledged.
    let acks = p.server.take_received();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].attr("id").unwrap().to_string(), "pd-1");
    assert_eq!(acks[0].attr("type").unwrap().to_string(), "result");
    let events = p.take_events();
    let [Event::Qr { code }] = events.as_slice() else {
        panic!("{events:?}")
    };
    let fields: Vec<&str> = code
        .strip_prefix("https://wa.me/settings/linked_devices#")
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(fields[0], "r1");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.decode(fields[1]).unwrap(), dev.noise_key.public.raw());
    assert_eq!(
        b64.decode(fields[2]).unwrap(),
        dev.identity_key.public().raw()
    );
    assert_eq!(b64.decode(fields[3]).unwrap(), dev.adv_secret_key.0);
    assert_eq!(fields[4], "1");

    p.advance(Duration::from_secs(59));
    assert!(p.take_events().is_empty());
    p.advance(Duration::from_secs(1));
    assert!(matches!(p.take_events().as_slice(), [Event::Qr { code }] if code.contains("#r2,")));
    p.advance(Duration::from_secs(19));
    assert!(p.take_events().is_empty());
    p.advance(Duration::from_secs(1));
    assert!(matches!(p.take_events().as_slice(), [Event::Qr { code }] if code.contains("#r3,")));
    p.advance(Duration::from_secs(20));
    assert_eq!(p.take_events(), vec![Event::QrTimeout]);
    assert_eq!(p.engine.closed(), Some(&DisconnectReason::PairingEnded));
    assert!(p.engine.poll_timeout().is_none());
}

#[test]
fn pair_success_is_verified_signed_and_saved() {
    let dev = device(2);
    let mut p = Pair::new(dev.clone(), PreKeyCounts::default(), Config::default());
    p.send(&pair_device(&["r1"]));
    p.server.take_received();
    let signed = sign(&dev);
    p.send(&pair_success(signed.container.clone()));

    // Saved before the answer goes out.
    let [StoreOp::SaveDevice(saved)] = p.store.as_slice() else {
        panic!("{:?}", p.store)
    };
    assert_eq!(
        saved.jid.as_ref().unwrap().to_string(),
        "15551234567:3@s.whatsapp.net"
    );
    assert_eq!(
        saved.lid.as_ref().unwrap().to_string(),
        "99887766554433:3@lid"
    );
    assert_eq!(saved.platform, "android");
    let account = AdvSignedDeviceIdentity::decode(saved.account.as_deref().unwrap()).unwrap();
    assert_eq!(
        account.account_signature_key.as_deref(),
        Some(&signed.phone.identity().public()[..])
    );

    let replies = p.server.take_received();
    assert_eq!(replies.len(), 1);
    let reply = &replies[0];
    assert_eq!(reply.attr("type").unwrap().to_string(), "result");
    assert_eq!(reply.attr("id").unwrap().to_string(), "ps-1");
    let di = reply
        .child_path(&["pair-device-sign", "device-identity"])
        .unwrap();
    assert_eq!(di.attr("key-index").unwrap().to_string(), "1");
    let answer = AdvSignedDeviceIdentity::decode(di.bytes().unwrap()).unwrap();
    assert!(
        answer.account_signature_key.is_none(),
        "account key must be left out"
    );
    signed
        .phone
        .verify_device_signature(
            di.bytes().unwrap(),
            &signed.details,
            dev.identity_key.public().raw(),
        )
        .unwrap();
    assert!(matches!(
        p.take_events().as_slice(),
        [Event::Qr { .. }, Event::PairSuccess { jid, platform, .. }]
            if jid == "15551234567:3@s.whatsapp.net" && platform == "android"
    ));

    // The server restarts the stream; the engine asks to reconnect.
    p.send(&Node::new("stream:error").attr("code", "515").build());
    assert_eq!(p.engine.closed(), Some(&DisconnectReason::Restart));
    assert!(p.engine.closed().unwrap().should_reconnect());
}

fn refused(container: Vec<u8>, dev: &Device, expected: impl Fn(&PairError) -> bool) {
    let mut p = Pair::new(dev.clone(), PreKeyCounts::default(), Config::default());
    p.send(&pair_device(&["r1"]));
    p.server.take_received();
    p.take_events();
    p.send(&pair_success(container));
    assert!(p.store.is_empty(), "nothing may be saved: {:?}", p.store);
    assert_eq!(p.engine.device().jid, None);
    let replies = p.server.take_received();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].attr("type").unwrap().to_string(), "error");
    assert_eq!(
        replies[0]
            .child("error")
            .unwrap()
            .attr("code")
            .unwrap()
            .to_string(),
        "500"
    );
    let events = p.take_events();
    assert!(
        matches!(events.as_slice(), [Event::PairError { error }] if expected(error)),
        "{events:?}"
    );
    assert_eq!(p.engine.closed(), Some(&DisconnectReason::PairingEnded));
    assert!(!p.engine.closed().unwrap().should_reconnect());
}

#[test]
fn a_bad_adv_hmac_is_refused_and_nothing_saved() {
    let dev = device(3);
    let signed = sign(&dev);
    let mut c = AdvSignedDeviceIdentityHmac::decode(signed.container.as_slice()).unwrap();
    c.hmac.as_mut().unwrap()[0] ^= 1;
    refused(c.encode_to_vec(), &dev, |e| *e == PairError::HmacMismatch);

    // An HMAC keyed with someone else's ADV secret fails the same way.
    let other = device(30);
    let foreign = sign(&other);
    let mut c = AdvSignedDeviceIdentityHmac::decode(foreign.container.as_slice()).unwrap();
    let details = c.details.clone().unwrap();
    c.hmac = Some(adv_hmac(&other.adv_secret_key.0, &details).to_vec());
    refused(c.encode_to_vec(), &dev, |e| *e == PairError::HmacMismatch);
}

#[test]
fn a_bad_account_signature_is_refused_and_nothing_saved() {
    let dev = device(4);
    let signed = sign(&dev);
    let c = AdvSignedDeviceIdentityHmac::decode(signed.container.as_slice()).unwrap();
    let mut inner = AdvSignedDeviceIdentity::decode(c.details.as_deref().unwrap()).unwrap();
    inner.account_signature.as_mut().unwrap()[5] ^= 0x40;
    let inner = inner.encode_to_vec();
    // The HMAC is right (the attacker knows the QR), only the phone's signature is wrong.
    let c = AdvSignedDeviceIdentityHmac {
        hmac: Some(adv_hmac(&dev.adv_secret_key.0, &inner).to_vec()),
        details: Some(inner),
        account_type: None,
    };
    refused(c.encode_to_vec(), &dev, |e| {
        *e == PairError::InvalidAccountSignature
    });

    // Signed for another companion identity: also refused.
    let other = sign(&device(40));
    let oc = AdvSignedDeviceIdentityHmac::decode(other.container.as_slice()).unwrap();
    let inner = oc.details.unwrap();
    let c = AdvSignedDeviceIdentityHmac {
        hmac: Some(adv_hmac(&dev.adv_secret_key.0, &inner).to_vec()),
        details: Some(inner),
        account_type: None,
    };
    refused(c.encode_to_vec(), &dev, |e| {
        *e == PairError::InvalidAccountSignature
    });
}

#[test]
fn a_malformed_pair_success_is_refused() {
    let dev = device(5);
    refused(b"\xff\xff".to_vec(), &dev, |e| {
        matches!(e, PairError::Malformed(_))
    });
}

/// Logs a paired device in; returns the pair after `<success>` with the count IQ pending.
fn logged_in(prekeys: PreKeyCounts, config: Config) -> Pair {
    let mut p = Pair::new(paired_device(6), prekeys, config);
    let payload = p.server.payload.clone().unwrap();
    assert_eq!(payload.username, Some(15_551_234_567));
    assert_eq!(payload.device, Some(3));
    assert_eq!(payload.passive, Some(true));
    p.send(
        &Node::new("success")
            .attr("t", "1750000000")
            .attr("lid", "99887766554433:3@lid".parse::<Jid>().unwrap())
            .build(),
    );
    p
}

fn answer(p: &mut Pair, req: &Node, child: Option<Node>) {
    let id = req.attr("id").unwrap().to_string();
    let mut b = Node::new("iq")
        .attr("from", Jid::new("", Server::User))
        .attr("id", id)
        .attr("type", "result");
    if let Some(c) = child {
        b = b.child(c);
    }
    p.send(&b.build());
}

#[test]
fn login_uploads_prekeys_when_low_then_goes_active() {
    let mut p = logged_in(
        PreKeyCounts {
            total: 0,
            uploaded: 0,
            last_id: 10,
        },
        Config::default(),
    );
    assert!(p.engine.is_logged_in());
    // The new LID is saved.
    assert!(matches!(p.store.as_slice(), [StoreOp::SaveDevice(d)] if d.lid.is_some()));
    p.store.clear();
    let sent = p.server.take_received();
    let count = &sent[0];
    assert_eq!(count.attr("xmlns").unwrap().to_string(), "encrypt");
    assert!(count.child("count").is_some());
    answer(
        &mut p,
        count,
        Some(Node::new("count").attr("value", "3").build()),
    );

    // Stored first, then uploaded.
    let [StoreOp::Commit(_)] = p.store.as_slice() else {
        panic!("{:?}", p.store)
    };
    p.store.clear();
    let sent = p.server.take_received();
    let upload = &sent[0];
    assert_eq!(upload.attr("type").unwrap().to_string(), "set");
    let keys: Vec<&Node> = upload.child("list").unwrap().children().iter().collect();
    assert_eq!(keys.len(), 50);
    assert_eq!(keys[0].child("id").unwrap().bytes().unwrap(), [0, 0, 11]);
    assert_eq!(keys[49].child("id").unwrap().bytes().unwrap(), [0, 0, 60]);
    assert_eq!(keys[0].child("value").unwrap().bytes().unwrap().len(), 32);
    assert_eq!(upload.child("type").unwrap().bytes().unwrap(), [5]);
    assert_eq!(
        upload.child("registration").unwrap().bytes().unwrap().len(),
        4
    );
    assert_eq!(
        upload
            .child_path(&["skey", "signature"])
            .unwrap()
            .bytes()
            .unwrap()
            .len(),
        64
    );
    answer(&mut p, upload, None);
    assert!(matches!(p.store.as_slice(), [StoreOp::Commit(_)]));
    let sent = p.server.take_received();
    let passive = &sent[0];
    assert_eq!(passive.attr("xmlns").unwrap().to_string(), "passive");
    assert!(passive.child("active").is_some());
    answer(&mut p, passive, None);
    assert_eq!(
        p.take_events(),
        vec![Event::PreKeysUploaded { count: 50 }, Event::Connected]
    );
}

fn connected(config: Config) -> Pair {
    let mut p = logged_in(PreKeyCounts::default(), config);
    let sent = p.server.take_received();
    answer(
        &mut p,
        &sent[0],
        Some(Node::new("count").attr("value", "50").build()),
    );
    let sent = p.server.take_received();
    assert_eq!(sent[0].attr("xmlns").unwrap().to_string(), "passive");
    answer(&mut p, &sent[0], None);
    assert_eq!(p.take_events(), vec![Event::Connected]);
    p.store.clear();
    p
}

#[test]
fn keepalive_pings_every_20_to_30_s_times_out_and_recovers() {
    let mut p = connected(Config::default());
    p.advance(Duration::from_secs(19));
    assert!(p.server.take_received().is_empty());
    p.advance(Duration::from_secs(11));
    let pings = p.server.take_received();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].attr("xmlns").unwrap().to_string(), "w:p");
    assert!(pings[0].child("ping").is_some());
    // Unanswered for 10 s.
    p.advance(Duration::from_secs(10));
    assert!(matches!(
        p.take_events().as_slice(),
        [Event::KeepAliveTimeout { error_count: 1, .. }]
    ));
    // The next one is answered.
    p.advance(Duration::from_secs(30));
    let pings = p.server.take_received();
    assert_eq!(pings.len(), 1);
    answer(&mut p, &pings[0], None);
    assert_eq!(p.take_events(), vec![Event::KeepAliveRestored]);
    assert!(p.engine.closed().is_none());
}

#[test]
fn keepalive_failing_for_minutes_drops_the_connection() {
    let mut p = connected(Config::default());
    for _ in 0..20 {
        p.advance(Duration::from_secs(15));
        if p.engine.closed().is_some() {
            break;
        }
    }
    assert_eq!(p.engine.closed(), Some(&DisconnectReason::KeepAliveFailed));
    assert!(p.take_events().len() >= 5);
}

#[test]
fn application_iqs_get_ids_results_timeouts_and_cancellation() {
    let mut p = connected(Config::default());
    let t1 = p.engine.send_iq(
        p.now,
        Node::new("iq")
            .attr("xmlns", "w:g2")
            .attr("type", "get")
            .build(),
        None,
    );
    let t2 = p.engine.send_iq(
        p.now,
        Node::new("iq").attr("type", "get").build(),
        Some(Duration::from_secs(5)),
    );
    let t3 = p
        .engine
        .send_iq(p.now, Node::new("iq").attr("type", "get").build(), None);
    p.drive();
    let sent = p.server.take_received();
    assert_eq!(sent.len(), 3);
    assert_ne!(sent[0].attr("id"), sent[1].attr("id"));
    assert_eq!(sent[0].attr("to").unwrap().to_string(), "s.whatsapp.net");
    // An error reply is typed.
    let id = sent[0].attr("id").unwrap().to_string();
    p.send(
        &Node::new("iq")
            .attr("id", id)
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "403")
                    .attr("text", "forbidden")
                    .build(),
            )
            .build(),
    );
    let (tok, res) = p.engine.poll_iq_result().unwrap();
    assert_eq!(tok, t1);
    assert_eq!(
        res,
        Err(IqError::Server {
            code: 403,
            text: "forbidden".into()
        })
    );
    // t3 is cancelled: its late reply is dropped.
    assert!(p.engine.cancel_iq(t3));
    answer(&mut p, &sent[2], None);
    assert!(p.engine.poll_iq_result().is_none());
    // t2 times out.
    p.advance(Duration::from_secs(5));
    assert_eq!(p.engine.poll_iq_result(), Some((t2, Err(IqError::Timeout))));
    // After the connection ends, new IQs fail at once.
    p.engine.disconnect();
    let t4 = p.engine.send_iq(p.now, Node::new("iq").build(), None);
    assert_eq!(
        p.engine.poll_iq_result(),
        Some((t4, Err(IqError::Disconnected)))
    );
}

#[test]
fn stream_errors_map_to_events_and_reconnect_decisions() {
    let cases: Vec<(Node, DisconnectReason, Vec<Event>, bool)> = vec![
        (
            Node::new("stream:error")
                .attr("code", "401")
                .child(Node::new("conflict").attr("type", "device_removed").build())
                .build(),
            DisconnectReason::LoggedOut,
            vec![Event::LoggedOut {
                on_connect: false,
                reason: Some("device_removed".into()),
            }],
            true,
        ),
        (
            Node::new("stream:error")
                .attr("code", "440")
                .child(Node::new("conflict").attr("type", "replaced").build())
                .build(),
            DisconnectReason::Replaced,
            vec![Event::StreamReplaced],
            false,
        ),
        (
            Node::new("stream:error").attr("code", "503").build(),
            DisconnectReason::StreamError { code: "503".into() },
            vec![],
            false,
        ),
    ];
    for (node, reason, events, deletes) in cases {
        let mut p = connected(Config::default());
        p.send(&node);
        assert_eq!(p.engine.closed(), Some(&reason));
        assert_eq!(p.take_events(), events);
        assert_eq!(
            p.store.iter().any(|o| matches!(o, StoreOp::DeleteDevice)),
            deletes
        );
    }
    assert!(DisconnectReason::StreamError { code: "503".into() }.should_reconnect());
    assert!(!DisconnectReason::LoggedOut.should_reconnect());
    assert!(!DisconnectReason::Replaced.should_reconnect());
}

#[test]
fn a_401_login_failure_logs_out() {
    let mut p = Pair::new(paired_device(7), PreKeyCounts::default(), Config::default());
    p.send(&Node::new("failure").attr("reason", "401").build());
    assert_eq!(
        p.take_events(),
        vec![Event::LoggedOut {
            on_connect: true,
            reason: Some("401".into())
        }]
    );
    assert!(matches!(p.store.as_slice(), [StoreOp::DeleteDevice]));
    let mut p = Pair::new(paired_device(7), PreKeyCounts::default(), Config::default());
    p.send(
        &Node::new("failure")
            .attr("reason", "405")
            .attr("message", "outdated")
            .build(),
    );
    assert_eq!(
        p.take_events(),
        vec![Event::ConnectFailure {
            reason: 405,
            message: Some("outdated".into())
        }]
    );
    assert!(p.store.is_empty());
    assert!(!p.engine.closed().unwrap().should_reconnect());
}

#[test]
fn no_login_reply_in_time_drops_the_connection() {
    let mut p = Pair::new(paired_device(8), PreKeyCounts::default(), Config::default());
    p.advance(Duration::from_secs(20));
    assert!(matches!(
        p.engine.closed(),
        Some(DisconnectReason::ConnectionLost { .. })
    ));
}

/// The engine closed the connection for a protocol error.
fn assert_protocol_error(p: &Pair) {
    assert!(
        matches!(
            p.engine.closed(),
            Some(DisconnectReason::ProtocolError { .. })
        ),
        "{:?}",
        p.engine.closed()
    );
}

/// A ping from the server, as it sends one.
fn server_ping(id: &str) -> Node {
    Node::new("iq")
        .attr("from", Jid::new("", Server::User))
        .attr("id", id)
        .attr("type", "get")
        .attr("xmlns", "urn:xmpp:ping")
        .build()
}

/// A whole 20-byte frame that is not a Noise ciphertext of this session.
const GARBAGE_FRAME: [u8; 23] = [
    0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
];

#[test]
fn server_pings_are_answered_and_offline_marker_reported() {
    let mut p = connected(Config::default());
    p.send(&server_ping("sp-1"));
    let sent = p.server.take_received();
    assert_eq!(sent[0].attr("id").unwrap().to_string(), "sp-1");
    assert_eq!(sent[0].attr("type").unwrap().to_string(), "result");
    p.send(
        &Node::new("ib")
            .child(Node::new("offline").attr("count", "4").build())
            .build(),
    );
    assert_eq!(
        p.take_events(),
        vec![Event::OfflineSyncCompleted { count: 4 }]
    );
}

#[test]
fn garbage_from_the_server_closes_with_a_protocol_error() {
    let mut p = connected(Config::default());
    let err = p.engine.handle_data(p.now, &GARBAGE_FRAME);
    assert!(err.is_err());
    assert_protocol_error(&p);
    // Later input is ignored, not a panic.
    assert!(p.engine.handle_data(p.now, &[1, 2, 3]).is_ok());
}

#[test]
fn logout_sends_remove_companion_device_then_clears() {
    let mut p = connected(Config::default());
    p.engine.logout(p.now).unwrap();
    p.drive();
    let sent = p.server.take_received();
    let rm = sent[0].child("remove-companion-device").unwrap();
    assert_eq!(
        rm.attr("jid").unwrap().to_string(),
        "15551234567:3@s.whatsapp.net"
    );
    assert_eq!(rm.attr("reason").unwrap().to_string(), "user_initiated");
    answer(&mut p, &sent[0], None);
    assert!(matches!(p.store.as_slice(), [StoreOp::DeleteDevice]));
    assert_eq!(p.engine.closed(), Some(&DisconnectReason::LoggedOut));
}

#[test]
fn events_serialize_as_tagged_json() {
    let e = Event::Disconnected {
        reason: DisconnectReason::StreamError { code: "503".into() },
        reconnecting: true,
    };
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        r#"{"type":"disconnected","reason":{"kind":"stream_error","code":"503"},"reconnecting":true}"#
    );
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    let e = Event::PairError {
        error: PairError::HmacMismatch,
    };
    assert_eq!(
        serde_json::from_str::<Event>(&serde_json::to_string(&e).unwrap()).unwrap(),
        e
    );
}

mod arbitrary_stanzas {
    use proptest::prelude::*;

    use super::*;

    fn attr_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("401".to_owned()),
            Just("515".to_owned()),
            Just("result".to_owned()),
            Just("error".to_owned()),
            Just("replaced".to_owned()),
            Just("primary_hello".to_owned()),
            Just("link_code_companion_reg".to_owned()),
            "[a-z0-9.:@-]{0,12}",
        ]
    }

    fn node() -> impl Strategy<Value = Node> {
        let tag = prop_oneof![
            Just("iq"),
            Just("success"),
            Just("failure"),
            Just("stream:error"),
            Just("ib"),
            Just("notification"),
            Just("pair-device"),
            Just("pair-success"),
            Just("ref"),
            Just("count"),
            Just("conflict"),
            Just("offline"),
            Just("device-identity"),
            Just("device"),
            Just("link_code_companion_reg"),
            Just("message"),
        ];
        let key = prop_oneof![
            Just("id"),
            Just("type"),
            Just("code"),
            Just("reason"),
            Just("value"),
            Just("count"),
            Just("jid"),
            Just("lid"),
            Just("stage"),
            Just("from"),
        ];
        let leaf = (
            tag.clone(),
            proptest::collection::vec((key.clone(), attr_value()), 0..4),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..90)),
        )
            .prop_map(|(t, attrs, bytes)| {
                let mut b = Node::new(t);
                for (k, v) in attrs {
                    b = b.attr(k, v);
                }
                if let Some(bytes) = bytes {
                    b = b.bytes(bytes);
                }
                b.build()
            });
        leaf.prop_recursive(3, 24, 4, move |inner| {
            (
                tag.clone(),
                proptest::collection::vec((key.clone(), attr_value()), 0..4),
                proptest::collection::vec(inner, 0..4),
            )
                .prop_map(|(t, attrs, children)| {
                    let mut b = Node::new(t);
                    for (k, v) in attrs {
                        b = b.attr(k, v);
                    }
                    b.children(children).build()
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever stanzas a server sends, before or after login, the engine answers with
        /// events, errors or a closed connection, never a panic.
        #[test]
        fn server_stanzas_never_panic(stanzas in proptest::collection::vec(node(), 1..6), logged_in in any::<bool>()) {
            let mut p = if logged_in {
                connected(Config::default())
            } else {
                let mut p = Pair::new(device(9), PreKeyCounts::default(), Config::default());
                p.send(&pair_device(&["r1"]));
                p
            };
            for s in &stanzas {
                if p.engine.closed().is_some() {
                    break;
                }
                p.send(s);
                p.advance(Duration::from_secs(7));
            }
        }
    }
}

#[test]
fn edge_routing_info_is_kept_and_sent_in_the_next_intro() {
    let mut p = connected(Config::default());
    assert!(p.engine.routing_info().is_none());
    p.send(
        &Node::new("ib")
            .child(
                Node::new("edge_routing")
                    .child(Node::new("routing_info").bytes(vec![8, 2, 8, 5]).build())
                    .build(),
            )
            .build(),
    );
    assert_eq!(p.engine.routing_info(), Some(&[8, 2, 8, 5][..]));
    let config = Config {
        routing_info: Some(vec![8, 2, 8, 5]),
        ..Config::default()
    };
    let mut engine = unconnected_engine(config);
    let hello = engine.poll_transmit().unwrap();
    assert_eq!(&hello[..9], &[b'E', b'D', 0, 1, 0, 0, 4, 8, 2]);
    assert_eq!(&hello[9..15], &[8, 5, b'W', b'A', 6, 3]);
    // The scripted server reads that intro and completes the handshake.
    let (mut server, _root) = FakeServer::new(3);
    server.recv(&hello);
    assert_eq!(
        server.decoder.intro().unwrap().routing_info(),
        Some(&[8, 2, 8, 5][..])
    );
}

/// An engine for a paired device that has sent its client hello and nothing else.
fn unconnected_engine(config: Config) -> Engine {
    Engine::new(
        config,
        paired_device(6),
        PreKeyCounts::default(),
        Instant::now(),
        UNIX,
        [1; 32],
    )
    .unwrap()
}

#[test]
fn the_transport_halves_cannot_be_taken_during_the_handshake() {
    let mut engine = unconnected_engine(Config::default());
    assert!(engine.take_reader().is_none());
    assert!(engine.take_writer().is_none());
}

/// A runtime that reads the socket elsewhere takes the reader: it decodes what the engine
/// would have, and the engine handles the decoded stanzas as it handled bytes.
/// The server sends a `<message>` with `id`, then the offline marker counting it.
fn send_message_then_offline_marker(server: &mut FakeServer, id: &str) {
    server.send(
        &Node::new("message")
            .attr("from", "15550001111@s.whatsapp.net".parse::<Jid>().unwrap())
            .attr("id", id)
            .build(),
    );
    server.send(
        &Node::new("ib")
            .child(Node::new("offline").attr("count", "1").build())
            .build(),
    );
}

#[test]
fn a_taken_reader_decodes_the_stanzas_the_engine_then_handles() {
    let mut p = connected(Config::default());
    let mut reader = p.engine.take_reader().expect("reader after the handshake");
    assert!(p.engine.take_reader().is_none(), "taken once");
    p.server.send(&server_ping("sp-2"));
    send_message_then_offline_marker(&mut p.server, "M1");
    let bytes = std::mem::take(&mut p.server.out);
    // Cut anywhere: the reader keeps partial frames.
    let (head, tail) = bytes.split_at(bytes.len() / 2 + 3);
    reader.push(head);
    let mut stanzas = Vec::new();
    while let Some(node) = reader.next_stanza().unwrap() {
        stanzas.push(node);
    }
    reader.push(tail);
    while let Some(node) = reader.next_stanza().unwrap() {
        stanzas.push(node);
    }
    let tags: Vec<&str> = stanzas.iter().map(|n| n.tag.as_str()).collect();
    assert_eq!(tags, ["iq", "message", "ib"]);
    for node in stanzas {
        p.engine.handle_stanza(p.now, node).unwrap();
    }
    p.drive();
    let sent = p.server.take_received();
    assert_eq!(sent[0].attr("id").unwrap().to_string(), "sp-2");
    assert_eq!(sent[0].attr("type").unwrap().to_string(), "result");
    let Some(wa_client::engine::Incoming::Stanza(message)) = p.engine.poll_incoming() else {
        panic!("the message goes to the receive pipeline")
    };
    assert_eq!(message.attr("id").unwrap().to_string(), "M1");
    // The offline marker follows the message it counted.
    assert!(matches!(
        p.engine.poll_incoming(),
        Some(wa_client::engine::Incoming::Event(e)) if *e == Event::OfflineSyncCompleted { count: 1 }
    ));
    // Bytes no longer belong to the engine.
    assert!(p.engine.handle_data(p.now, &[0, 0, 1, 9]).is_err());
    assert_protocol_error(&p);
}

/// A `<message>` parsed ahead (as the socket stage does) is queued for the pipeline in wire
/// order: the offline marker after it still waits for it.
#[test]
fn a_message_parsed_ahead_is_queued_in_wire_order() {
    let mut p = connected(Config::default());
    let mut reader = p.engine.take_reader().unwrap();
    send_message_then_offline_marker(&mut p.server, "M2");
    reader.push(&std::mem::take(&mut p.server.out));
    let message = reader.next_stanza().unwrap().unwrap();
    let marker = reader.next_stanza().unwrap().unwrap();
    let own = std::sync::Arc::new(("15550002222:3@s.whatsapp.net".parse::<Jid>().unwrap(), None));
    let prepared = wa_client::recv::PreparedMessage::new(message, own);
    p.engine.handle_prepared_message(Box::new(prepared));
    p.engine.handle_stanza(p.now, marker).unwrap();
    p.drive();
    let Some(wa_client::engine::Incoming::Prepared(m)) = p.engine.poll_incoming() else {
        panic!("the prepared message goes to the receive pipeline")
    };
    assert_eq!(m.node().attr("id").unwrap().to_string(), "M2");
    assert!(matches!(
        p.engine.poll_incoming(),
        Some(wa_client::engine::Incoming::Event(e)) if *e == Event::OfflineSyncCompleted { count: 1 }
    ));
    assert!(p.engine.poll_incoming().is_none());
}

#[test]
fn a_frame_the_taken_reader_cannot_decrypt_closes_with_a_protocol_error() {
    let mut p = connected(Config::default());
    let mut reader = p.engine.take_reader().unwrap();
    reader.push(&GARBAGE_FRAME);
    let err = reader.next_stanza().unwrap_err();
    p.engine.handle_transport_error(&err);
    assert_protocol_error(&p);
}

/// A runtime that writes the socket elsewhere takes the writer: the engine then queues
/// stanzas, and what the writer makes of them is what the server reads.
#[test]
fn a_taken_writer_encodes_what_the_engine_sends() {
    let mut p = connected(Config::default());
    let mut writer = p.engine.take_writer().expect("writer after the handshake");
    assert!(p.engine.take_writer().is_none(), "taken once");
    let token = p.engine.send_iq(
        p.now,
        Node::new("iq")
            .attr("xmlns", "w:profile:picture")
            .attr("type", "get")
            .build(),
        None,
    );
    p.engine
        .send_stanza_owned(Node::new("presence").attr("type", "available").build());
    assert!(
        p.engine.poll_transmit().is_none(),
        "no frame is encrypted here"
    );
    let mut out = Vec::new();
    let mut tags = Vec::new();
    while let Some(stanza) = p.engine.poll_stanza() {
        tags.push(stanza.tag.to_string());
        writer.encode(&stanza, &mut out).unwrap();
        p.server.recv(&out);
    }
    assert_eq!(tags, ["iq", "presence"]);
    let received = p.server.take_received();
    assert_eq!(received.len(), 2);
    let iq = &received[0];
    assert_eq!(iq.attr("xmlns").unwrap().to_string(), "w:profile:picture");
    // The engine still matches the reply to the request.
    answer(&mut p, iq, None);
    assert!(matches!(p.engine.poll_iq_result(), Some((t, Ok(_))) if t == token));
    assert_eq!(received[1].tag.as_str(), "presence");
}
