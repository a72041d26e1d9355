//! Sans-IO tests: a Noise client from `wa-noise` talks to a [`Connection`] through byte buffers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use prost::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::{Node, decode_frame, marshal};
use wa_noise::{
    CertIssuer, ClientConfig, FrameDecoder, FrameEncoder, KeyPair, ServerConfig, Transport,
    client_hello, xeddsa,
};
use wa_proto::proto::client_payload::DevicePairingRegistrationData;
use wa_proto::proto::{AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac, ClientPayload};

use super::*;
use crate::phone::{ADV_DEVICE_SIGNATURE_PREFIX, Phone, adv_hmac};
use crate::state::{Account, DeviceKey, ServerState};

const NOW: u64 = 1_750_000_000_000;

struct Harness {
    rng: ChaCha20Rng,
    state: ServerState,
    issuer: CertIssuer,
    noise: ServerConfig,
    next_conn: u64,
}

struct Client {
    conn: Connection,
    transport: Transport,
    decoder: FrameDecoder,
}

impl Harness {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let issuer = CertIssuer::new(KeyPair::generate(&mut rng), 0, KeyPair::generate(&mut rng));
        let static_key = KeyPair::generate(&mut rng);
        let cert_chain = issuer.issue(static_key.public(), 2, &mut rng);
        let account = Account {
            phone_number: "15551234567".into(),
            lid: "99887766554433".into(),
            push_name: "Phone".into(),
            created: 1,
        };
        let state = ServerState::new(account, Phone::new(KeyPair::generate(&mut rng)));
        Self {
            rng,
            state,
            issuer,
            noise: ServerConfig {
                static_key,
                cert_chain,
            },
            next_conn: 1,
        }
    }

    /// Runs the handshake with `payload`; returns the client side and the server's first stanzas.
    fn connect(&mut self, noise_key: KeyPair, payload: &ClientPayload) -> (Client, Vec<Node>) {
        let id = self.next_conn;
        self.next_conn += 1;
        let mut conn = Connection::new(id, self.noise.clone());
        let config = ClientConfig::new(noise_key.clone()).with_trust_root(self.issuer.trust_root());
        let mut enc = FrameEncoder::client(config.intro.clone());
        let (client, hello) = client_hello(config, KeyPair::generate(&mut self.rng)).unwrap();
        let mut wire = Vec::new();
        enc.encode(&hello, &mut wire).unwrap();
        conn.handle_data(&wire, NOW, &mut self.state, &mut self.rng)
            .unwrap();
        let mut decoder = FrameDecoder::client();
        decoder.push(&conn.poll_transmit().unwrap());
        let server_hello = decoder.next_frame().unwrap().unwrap();
        let client = client.read_server_hello(&server_hello, NOW / 1000).unwrap();
        let (finish, transport) = client.finish(&payload.encode_to_vec()).unwrap();
        let mut wire = Vec::new();
        enc.encode(&finish, &mut wire).unwrap();
        conn.handle_data(&wire, NOW, &mut self.state, &mut self.rng)
            .unwrap();
        let mut c = Client {
            conn,
            transport,
            decoder,
        };
        let out = c.recv();
        (c, out)
    }
}

impl Client {
    fn recv(&mut self) -> Vec<Node> {
        let mut out = Vec::new();
        while let Some(bytes) = self.conn.poll_transmit() {
            self.decoder.push(&bytes);
            while let Some(mut frame) = self.decoder.next_frame().unwrap() {
                let plain = self.transport.decrypt_in_place(&mut frame).unwrap();
                out.push(decode_frame(plain).unwrap());
            }
        }
        out
    }

    fn send(&mut self, h: &mut Harness, node: &Node) -> Vec<Node> {
        let mut wire = Vec::new();
        self.transport
            .encrypt_frame(&marshal(node), &mut wire)
            .unwrap();
        self.conn
            .handle_data(&wire, NOW, &mut h.state, &mut h.rng)
            .unwrap();
        self.recv()
    }
}

fn registration(identity: &KeyPair) -> ClientPayload {
    ClientPayload {
        passive: Some(false),
        device_pairing_data: Some(DevicePairingRegistrationData {
            e_regid: Some(vec![0, 0, 0, 1]),
            e_keytype: Some(vec![5]),
            e_ident: Some(identity.public().to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn login(device: u32) -> ClientPayload {
    ClientPayload {
        username: Some(15_551_234_567),
        device: Some(device),
        passive: Some(true),
        pull: Some(true),
        ..Default::default()
    }
}

fn attr<'a>(n: &'a Node, k: &str) -> &'a str {
    n.attr(k).and_then(|v| v.as_str()).unwrap_or("")
}

fn iq(id: &str, xmlns: &str, kind: &str, children: Vec<Node>) -> Node {
    Node::new("iq")
        .attr("id", id)
        .attr("xmlns", xmlns)
        .attr("type", kind)
        .children(children)
        .build()
}

/// Pairs a device; `tamper` may corrupt the device signature. Returns the effects and stanzas
/// after the companion's answer.
fn pair(h: &mut Harness, tamper: bool) -> (Client, KeyPair, Vec<Effect>, Vec<Node>) {
    let identity = KeyPair::generate(&mut h.rng);
    pair_with(h, tamper, &identity)
}

fn pair_with(
    h: &mut Harness,
    tamper: bool,
    identity: &KeyPair,
) -> (Client, KeyPair, Vec<Effect>, Vec<Node>) {
    let noise_key = KeyPair::generate(&mut h.rng);
    let (mut c, first) = h.connect(noise_key.clone(), &registration(identity));
    let pair_device = first.first().unwrap();
    let refs: Vec<String> = pair_device
        .child("pair-device")
        .unwrap()
        .children_by_tag("ref")
        .map(|r| String::from_utf8(r.bytes().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(refs.len(), 6);
    assert!(
        c.send(h, &iq(attr(pair_device, "id"), "", "result", vec![]))
            .is_empty()
    );

    let adv = [7u8; 32];
    let qr = format!(
        "https://wa.me/settings/linked_devices#{},{},{},{},1",
        refs[2],
        B64.encode(noise_key.public()),
        B64.encode(identity.public()),
        B64.encode(adv)
    );
    let qr = QrCode::parse(&qr).unwrap();
    c.conn
        .handle_scan(&qr, NOW, &mut h.state, &mut h.rng)
        .unwrap();
    let success = c.recv().pop().unwrap();
    let ps = success.child("pair-success").unwrap();
    let dev = h.state.accounts[0].next_device_id - 1;
    assert_eq!(
        ps.child("device").unwrap().attr("jid").unwrap().to_string(),
        format!("15551234567:{dev}@s.whatsapp.net")
    );
    assert_eq!(
        ps.child("device").unwrap().attr("lid").unwrap().to_string(),
        format!("99887766554433:{dev}@lid")
    );
    // What a companion checks: HMAC under the ADV secret, then the account signature.
    let container =
        AdvSignedDeviceIdentityHmac::decode(ps.child("device-identity").unwrap().bytes().unwrap())
            .unwrap();
    let inner = container.details.unwrap();
    assert_eq!(container.hmac.unwrap(), adv_hmac(&adv, &inner));
    let mut signed = AdvSignedDeviceIdentity::decode(inner.as_slice()).unwrap();
    let details = signed.details.clone().unwrap();
    let account_key: [u8; 32] = signed
        .account_signature_key
        .clone()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(&account_key, h.state.accounts[0].phone.identity().public());

    let mut msg = ADV_DEVICE_SIGNATURE_PREFIX.to_vec();
    msg.extend_from_slice(&details);
    msg.extend_from_slice(identity.public());
    msg.extend_from_slice(&account_key);
    let mut sig = xeddsa::sign(&identity.private_bytes(), &msg, &[1u8; 64]);
    if tamper {
        sig[10] ^= 0x40;
    }
    signed.device_signature = Some(sig.to_vec());
    signed.account_signature_key = None;
    let answer = Node::new("iq")
        .attr("id", attr(&success, "id"))
        .attr("type", "result")
        .child(
            Node::new("pair-device-sign")
                .child(
                    Node::new("device-identity")
                        .attr("key-index", "1")
                        .bytes(signed.encode_to_vec())
                        .build(),
                )
                .build(),
        )
        .build();
    let out = c.send(h, &answer);
    let mut effects = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        effects.push(e);
    }
    (c, noise_key, effects, out)
}

#[test]
fn qr_pairing_ends_with_515_and_registers_the_device() {
    let mut h = Harness::new(1);
    let (c, _, effects, out) = pair(&mut h, false);
    assert_eq!(
        effects,
        vec![Effect::Paired(
            "15551234567:1@s.whatsapp.net".parse().unwrap()
        )]
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].tag, "stream:error");
    assert_eq!(attr(&out[0], "code"), "515");
    assert!(c.conn.is_closing());
    assert!(h.state.accounts[0].devices.contains_key(&1));
    assert!(h.state.pair_refs.is_empty());
}

#[test]
fn bad_device_signature_fails_pairing_and_saves_nothing() {
    let mut h = Harness::new(2);
    let (c, _, effects, out) = pair(&mut h, true);
    assert!(
        matches!(effects.as_slice(), [Effect::PairFailed(_)]),
        "{effects:?}"
    );
    assert!(out.is_empty());
    assert!(c.conn.is_closing());
    assert!(h.state.accounts[0].devices.is_empty());
}

#[test]
fn scan_with_a_foreign_noise_key_is_refused() {
    let mut h = Harness::new(3);
    let identity = KeyPair::generate(&mut h.rng);
    let key = KeyPair::generate(&mut h.rng);
    let (mut c, first) = h.connect(key, &registration(&identity));
    let r = first[0].child("pair-device").unwrap().children()[0]
        .bytes()
        .unwrap()
        .to_vec();
    let qr = format!(
        "{},{},{},{}",
        String::from_utf8(r).unwrap(),
        B64.encode([9u8; 32]),
        B64.encode(identity.public()),
        B64.encode([1u8; 32])
    );
    let err = c
        .conn
        .handle_scan(&QrCode::parse(&qr).unwrap(), NOW, &mut h.state, &mut h.rng)
        .unwrap_err();
    assert!(matches!(err, Error::BadQr(_)), "{err}");
    assert!(c.recv().is_empty());
}

#[test]
fn login_answers_success_prekeys_and_unknown_iqs() {
    let mut h = Harness::new(4);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let (mut c, first) = h.connect(noise_key, &login(1));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].tag, "success");
    assert_eq!(
        first[0].attr("lid").unwrap().to_string(),
        "99887766554433:1@lid"
    );

    let count = c.send(
        &mut h,
        &iq("1", "encrypt", "get", vec![Node::new("count").build()]),
    );
    assert_eq!(attr(count[0].child("count").unwrap(), "value"), "0");

    let identity = h.state.accounts[0].devices[&1].identity_key;
    let key = |id: u32, v: u8| {
        Node::new("key")
            .child(
                Node::new("id")
                    .bytes(id.to_be_bytes()[1..].to_vec())
                    .build(),
            )
            .child(Node::new("value").bytes(vec![v; 32]).build())
            .build()
    };
    let upload = iq(
        "2",
        "encrypt",
        "set",
        vec![
            Node::new("registration").bytes(vec![0, 0, 1, 0]).build(),
            Node::new("type").bytes(vec![5]).build(),
            Node::new("identity").bytes(identity.to_vec()).build(),
            Node::new("list").children([key(1, 1), key(2, 2)]).build(),
            Node::new("skey")
                .child(Node::new("id").bytes(vec![0, 0, 1]).build())
                .child(Node::new("value").bytes(vec![3; 32]).build())
                .child(Node::new("signature").bytes(vec![4; 64]).build())
                .build(),
        ],
    );
    let r = c.send(&mut h, &upload);
    assert_eq!(attr(&r[0], "type"), "result");
    assert_eq!(h.state.accounts[0].devices[&1].pre_keys.len(), 2);

    // A malformed upload (31-byte prekey) is a 400, not a panic, and changes nothing.
    let mut bad = upload.clone();
    if let Content::Nodes(children) = &mut bad.content {
        children[3] = Node::new("list")
            .child(
                Node::new("key")
                    .child(Node::new("id").bytes(vec![0, 0, 9]).build())
                    .child(Node::new("value").bytes(vec![1; 31]).build())
                    .build(),
            )
            .build();
    }
    let r = c.send(&mut h, &bad);
    assert_eq!(attr(&r[0], "type"), "error");
    assert_eq!(attr(r[0].child("error").unwrap(), "code"), "400");
    assert_eq!(h.state.accounts[0].devices[&1].pre_keys.len(), 2);

    let digest = c.send(
        &mut h,
        &iq("3", "encrypt", "get", vec![Node::new("digest").build()]),
    );
    assert!(digest[0].child("digest").is_some());

    let ping = c.send(
        &mut h,
        &iq("4", "w:p", "get", vec![Node::new("ping").build()]),
    );
    assert_eq!(attr(&ping[0], "type"), "result");

    let unknown = c.send(
        &mut h,
        &iq("5", "w:nope", "get", vec![Node::new("x").build()]),
    );
    assert_eq!(attr(&unknown[0], "type"), "error");
    assert_eq!(attr(unknown[0].child("error").unwrap(), "code"), "501");

    // The offline marker follows the passive IQ's result, once.
    let active = c.send(
        &mut h,
        &iq("6", "passive", "set", vec![Node::new("active").build()]),
    );
    assert_eq!(active.len(), 2);
    assert_eq!(active[1].tag, "ib");
    assert_eq!(attr(active[1].child("offline").unwrap(), "count"), "0");
    assert_eq!(c.conn.poll_timeout(), None);
}

fn queued(id: &str) -> Node {
    Node::new("message").attr("id", id).build()
}

fn message_ids(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| n.tag == "message")
        .map(|n| attr(n, "id").to_owned())
        .collect()
}

#[test]
fn ephemeral_stanzas_handed_to_a_closing_connection_are_not_queued_for_the_next_login() {
    let mut h = Harness::new(7);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let key = DeviceKey {
        account: 0,
        device: 1,
    };
    // What a connection that ended gives back: a message, then ephemeral stanzas.
    h.state.queue_offline(key, queued("kept"));
    for tag in ["chatstate", "presence", "call"] {
        h.state
            .queue_offline(key, Node::new(tag).attr("id", tag).build());
    }
    let (_, first) = h.connect(noise_key, &login(1));
    assert_eq!(message_ids(&first), ["kept"]);
    assert!(
        first
            .iter()
            .all(|n| !matches!(n.tag.as_str(), "chatstate" | "presence" | "call")),
        "{first:?}"
    );
}

#[test]
fn a_long_offline_queue_leaves_in_chunks_with_live_stanzas_and_the_marker_behind_it() {
    let mut h = Harness::new(6);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let key = DeviceKey {
        account: 0,
        device: 1,
    };
    let total = BACKLOG_CHUNK * 2 + 5;
    for i in 0..total {
        h.state.queue_offline(key, queued(&format!("q{i}")));
    }
    let (mut c, first) = h.connect(noise_key, &login(1));
    // `success` and the first chunk only; the rest waits.
    assert_eq!(first[0].tag, "success");
    let mut ids = message_ids(&first);
    assert_eq!(ids.len(), BACKLOG_CHUNK);
    assert!(c.conn.has_backlog());
    // The client asks for the offline marker early: it must come after the whole queue.
    let active = c.send(
        &mut h,
        &iq("1", "passive", "set", vec![Node::new("active").build()]),
    );
    assert!(active.iter().all(|n| n.tag != "ib"), "{active:?}");
    // A stanza routed to the device meanwhile goes behind the queued ones.
    c.conn
        .handle_deliver(key, queued("live"), &mut h.state)
        .unwrap();
    let mut rest = Vec::new();
    while c.conn.has_backlog() {
        c.conn.pump_backlog().unwrap();
        rest.extend(c.recv());
    }
    ids.extend(message_ids(&rest));
    let mut want: Vec<String> = (0..total).map(|i| format!("q{i}")).collect();
    want.push("live".into());
    assert_eq!(ids, want);
    let marker = rest
        .iter()
        .position(|n| n.tag == "ib")
        .expect("offline marker");
    let last_message = rest.iter().rposition(|n| n.tag == "message").unwrap();
    assert!(marker > last_message);
    assert_eq!(
        attr(rest[marker].child("offline").unwrap(), "count"),
        total.to_string()
    );
}

#[test]
fn an_unsent_offline_backlog_goes_back_to_the_queue_when_the_connection_ends() {
    let mut h = Harness::new(7);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let key = DeviceKey {
        account: 0,
        device: 1,
    };
    let total = BACKLOG_CHUNK + 3;
    for i in 0..total {
        h.state.queue_offline(key, queued(&format!("q{i}")));
    }
    let (mut c, first) = h.connect(noise_key, &login(1));
    assert_eq!(message_ids(&first).len(), BACKLOG_CHUNK);
    // Something new is queued for the device while the connection ends.
    c.conn.handle_closed(&mut h.state);
    h.state.queue_offline(key, queued("later"));
    let left: Vec<String> = h
        .state
        .take_offline(key)
        .iter()
        .map(|q| attr(&q.node().unwrap(), "id").to_owned())
        .collect();
    let mut want: Vec<String> = (BACKLOG_CHUNK..total).map(|i| format!("q{i}")).collect();
    want.push("later".into());
    assert_eq!(left, want);
}

#[test]
fn offline_marker_falls_back_to_a_timer() {
    let mut h = Harness::new(5);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let (mut c, _) = h.connect(noise_key, &login(1));
    let at = c.conn.poll_timeout().unwrap();
    assert_eq!(at, NOW + OFFLINE_MARKER_FALLBACK_MS);
    c.conn.handle_timeout(at - 1).unwrap();
    assert!(c.recv().is_empty());
    c.conn.handle_timeout(at).unwrap();
    assert_eq!(c.recv()[0].tag, "ib");
}

#[test]
fn unknown_device_and_wrong_noise_key_get_failure_401() {
    let mut h = Harness::new(6);
    let key = KeyPair::generate(&mut h.rng);
    let (_, first) = h.connect(key, &login(3));
    assert_eq!(first[0].tag, "failure");
    assert_eq!(attr(&first[0], "reason"), "401");

    pair(&mut h, false);
    let key = KeyPair::generate(&mut h.rng);
    let (c, first) = h.connect(key, &login(1));
    assert_eq!(attr(&first[0], "reason"), "401");
    assert!(c.conn.is_closing());
}

#[test]
fn second_login_of_a_device_kicks_the_first_with_440() {
    let mut h = Harness::new(7);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let (a, _) = h.connect(noise_key.clone(), &login(1));
    let (mut b, _) = h.connect(noise_key, &login(1));
    let mut effects = Vec::new();
    while let Some(e) = b.conn.poll_effect() {
        effects.push(e);
    }
    assert!(effects.contains(&Effect::Kick {
        conn: a.conn.id(),
        error: StreamError::Replaced
    }));
    assert_eq!(
        h.state.online.get(&DeviceKey::new(0, 1)),
        Some(&b.conn.id())
    );
    b.conn.handle_kick(StreamError::DeviceRemoved).unwrap();
    let out = b.recv();
    assert_eq!(attr(&out[0], "code"), "401");
    assert_eq!(
        attr(out[0].child("conflict").unwrap(), "type"),
        "device_removed"
    );
}

#[test]
fn garbage_after_the_handshake_is_an_error_not_a_panic() {
    let mut h = Harness::new(8);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let (mut c, _) = h.connect(noise_key, &login(1));
    let err = c
        .conn
        .handle_data(
            &[
                0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            ],
            NOW,
            &mut h.state,
            &mut h.rng,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert!(c.conn.is_closing());
    // Garbage instead of a client hello.
    let mut conn = Connection::new(99, h.noise.clone());
    assert!(
        conn.handle_data(
            b"WA\x06\x03\x00\x00\x02\xff\xff",
            NOW,
            &mut h.state,
            &mut h.rng
        )
        .is_err()
    );
    assert!(conn.is_closing());
}

#[test]
fn first_login_gets_the_phone_key_share_and_history_sync_as_signal_messages() {
    use wa_proto::proto::{HistorySync, Message};
    use wa_signal::wire::PreKeySignalMessage;
    use wa_signal::{IdentityKeyPair, PrivateKey, SessionRecord, SignedPreKeyRecord};

    let mut h = Harness::new(9);
    let identity = KeyPair::generate(&mut h.rng);
    let (_, noise_key, _, _) = pair_with(&mut h, false, &identity);
    let signal_identity = IdentityKeyPair(wa_signal::KeyPair::from_private(
        PrivateKey::from_slice(identity.private_bytes().as_slice()).unwrap(),
    ));
    let signed = SignedPreKeyRecord::generate(1, &signal_identity, &mut h.rng);
    let one_time = wa_signal::PreKeyRecord::generate(5, &mut h.rng);
    let (mut c, _) = h.connect(noise_key.clone(), &login(1));
    let upload = iq(
        "1",
        "encrypt",
        "set",
        vec![
            Node::new("registration").bytes(vec![0, 0, 0, 42]).build(),
            Node::new("type").bytes(vec![5]).build(),
            Node::new("identity")
                .bytes(identity.public().to_vec())
                .build(),
            Node::new("list")
                .child(
                    Node::new("key")
                        .child(Node::new("id").bytes(vec![0, 0, 5]).build())
                        .child(
                            Node::new("value")
                                .bytes(one_time.key_pair.public.raw().to_vec())
                                .build(),
                        )
                        .build(),
                )
                .build(),
            Node::new("skey")
                .child(Node::new("id").bytes(vec![0, 0, 1]).build())
                .child(
                    Node::new("value")
                        .bytes(signed.key_pair.public.raw().to_vec())
                        .build(),
                )
                .child(
                    Node::new("signature")
                        .bytes(signed.signature.to_vec())
                        .build(),
                )
                .build(),
        ],
    );
    assert_eq!(attr(&c.send(&mut h, &upload)[0], "type"), "result");
    let out = c.send(
        &mut h,
        &iq("2", "passive", "set", vec![Node::new("active").build()]),
    );
    let tags: Vec<&str> = out.iter().map(|n| n.tag.as_str()).collect();
    assert_eq!(tags, ["iq", "ib", "message", "message"]);

    let mut session = SessionRecord::new();
    let mut plain = Vec::new();
    for (i, msg) in out[2..].iter().enumerate() {
        assert_eq!(attr(msg, "category"), "peer");
        assert_eq!(
            msg.attr("from").unwrap().to_string(),
            "15551234567@s.whatsapp.net"
        );
        let enc = msg.child("enc").unwrap();
        assert_eq!(attr(enc, "type"), "pkmsg");
        let pkmsg = PreKeySignalMessage::parse(enc.bytes().unwrap()).unwrap();
        let p = if i == 0 {
            let d = session
                .decrypt_pre_key(
                    &signal_identity,
                    42,
                    &pkmsg,
                    Some(&signed),
                    Some(&one_time),
                    &mut h.rng,
                )
                .unwrap();
            assert_eq!(d.consumed_pre_key_id, Some(5));
            d.plaintext
        } else {
            session
                .decrypt_pre_key(
                    &signal_identity,
                    42,
                    &pkmsg,
                    Some(&signed),
                    None,
                    &mut h.rng,
                )
                .unwrap()
                .plaintext
        };
        // Random padding: the last byte says how many bytes to drop.
        let n = usize::from(*p.last().unwrap());
        assert!((1..=16).contains(&n));
        plain.push(Message::decode(&p[..p.len() - n]).unwrap());
    }
    let share = plain[0].protocol_message.as_ref().unwrap();
    assert_eq!(share.r#type, Some(6));
    let keys = &share.app_state_sync_key_share.as_ref().unwrap().keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0]
            .key_id
            .as_ref()
            .unwrap()
            .key_id
            .as_ref()
            .unwrap()
            .len(),
        6
    );
    let hist = plain[1].protocol_message.as_ref().unwrap();
    assert_eq!(hist.r#type, Some(5));
    let inline = hist
        .history_sync_notification
        .as_ref()
        .unwrap()
        .initial_hist_bootstrap_inline_payload
        .as_ref()
        .unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(inline.as_slice()),
        &mut raw,
    )
    .unwrap();
    let history = HistorySync::decode(raw.as_slice()).unwrap();
    assert_eq!(history.sync_type, 0);
    assert_eq!(history.pushnames[0].pushname.as_deref(), Some("Phone"));
    assert_eq!(
        history.phone_number_to_lid_mappings[0].lid_jid.as_deref(),
        Some("99887766554433@lid")
    );

    // The device asks the phone for the key (a peer `msg` to device 0) and for an unknown
    // one: the phone answers each with a key share of what it holds, over the same session.
    let key_id = keys[0].key_id.clone().unwrap().key_id.unwrap();
    let phone_jid: Jid = "15551234567@s.whatsapp.net".parse().unwrap();
    for (i, (ask, expect)) in [(key_id.clone(), 1usize), (vec![9; 6], 0)]
        .into_iter()
        .enumerate()
    {
        let request = Message {
            protocol_message: Some(Box::new(wa_proto::proto::message::ProtocolMessage {
                r#type: Some(
                    wa_proto::proto::message::protocol_message::Type::AppStateSyncKeyRequest as i32,
                ),
                app_state_sync_key_request: Some(
                    wa_proto::proto::message::AppStateSyncKeyRequest {
                        key_ids: vec![wa_proto::proto::message::AppStateSyncKeyId {
                            key_id: Some(ask),
                        }],
                    },
                ),
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut padded = request.encode_to_vec();
        padded.extend([3, 3, 3]);
        let ct = session.encrypt(&padded).unwrap();
        assert_eq!(ct.wa_type(), "msg");
        let stanza = Node::new("message")
            .attr("to", phone_jid.clone())
            .attr("id", format!("KR{i}"))
            .attr("type", "text")
            .attr("category", "peer")
            .child(
                Node::new("enc")
                    .attr("v", "2")
                    .attr("type", "msg")
                    .bytes(ct.serialized().to_vec())
                    .build(),
            )
            .build();
        let out = c.send(&mut h, &stanza);
        let tags: Vec<&str> = out.iter().map(|n| n.tag.as_str()).collect();
        assert_eq!(tags, ["ack", "message"]);
        let enc = out[1].child("enc").unwrap();
        let sm = wa_signal::wire::SignalMessage::parse(enc.bytes().unwrap()).unwrap();
        let p = session.decrypt(&sm, &mut h.rng).unwrap();
        let n = usize::from(*p.last().unwrap());
        let share = Message::decode(&p[..p.len() - n]).unwrap();
        let keys = share
            .protocol_message
            .unwrap()
            .app_state_sync_key_share
            .unwrap()
            .keys;
        assert_eq!(keys.len(), expect);
        if expect == 1 {
            assert_eq!(keys[0].key_id.clone().unwrap().key_id.unwrap(), key_id);
        }
    }

    // Only on the first login.
    let (mut again, _) = h.connect(noise_key, &login(1));
    let out = again.send(
        &mut h,
        &iq("3", "passive", "set", vec![Node::new("active").build()]),
    );
    assert_eq!(out.len(), 2);
}

#[test]
fn dictionary_v2_header_is_accepted() {
    let mut h = Harness::new(10);
    let mut conn = Connection::new(1, h.noise.clone());
    let config = ClientConfig::new(KeyPair::generate(&mut h.rng))
        .with_trust_root(h.issuer.trust_root())
        .with_intro(wa_noise::Intro::new(wa_noise::WA_HEADER_V2).unwrap());
    let mut enc = FrameEncoder::client(config.intro.clone());
    let (client, hello) = client_hello(config, KeyPair::generate(&mut h.rng)).unwrap();
    let mut wire = Vec::new();
    enc.encode(&hello, &mut wire).unwrap();
    conn.handle_data(&wire, NOW, &mut h.state, &mut h.rng)
        .unwrap();
    let mut decoder = FrameDecoder::client();
    decoder.push(&conn.poll_transmit().unwrap());
    let server_hello = decoder.next_frame().unwrap().unwrap();
    client.read_server_hello(&server_hello, NOW / 1000).unwrap();
}

#[test]
fn pings_can_be_dropped_as_a_fault() {
    let mut h = Harness::new(11);
    let (_, noise_key, _, _) = pair(&mut h, false);
    let (mut c, _) = h.connect(noise_key, &login(1));
    let ping = iq("p", "w:p", "get", vec![Node::new("ping").build()]);
    h.state.faults.drop_pings = true;
    assert!(c.send(&mut h, &ping).is_empty());
    h.state.faults.drop_pings = false;
    assert_eq!(attr(&c.send(&mut h, &ping)[0], "type"), "result");
}

#[test]
fn usync_key_fetch_app_state_and_logout() {
    let mut h = Harness::new(12);
    let (_, key1, _, _) = pair(&mut h, false);
    let (_, key2, _, _) = pair(&mut h, false);
    let (mut c1, _) = h.connect(key1, &login(1));
    let (c2, _) = h.connect(key2, &login(2));

    // usync: our own user lists the phone and both companions with key indexes, and its LID.
    let usync = Node::new("usync")
        .attr("context", "message")
        .child(
            Node::new("query")
                .child(Node::new("devices").attr("version", "2").build())
                .child(Node::new("lid").build())
                .build(),
        )
        .child(
            Node::new("list")
                .child(
                    Node::new("user")
                        .attr("jid", "15551234567@s.whatsapp.net".parse::<Jid>().unwrap())
                        .build(),
                )
                .child(
                    Node::new("user")
                        .attr("jid", "15550000000@s.whatsapp.net".parse::<Jid>().unwrap())
                        .build(),
                )
                .build(),
        )
        .build();
    let r = c1.send(&mut h, &iq("u", "usync", "get", vec![usync]));
    let users: Vec<&Node> = r[0]
        .child_path(&["usync", "list"])
        .unwrap()
        .children_by_tag("user")
        .collect();
    let ids: Vec<&str> = users[0]
        .child_path(&["devices", "device-list"])
        .unwrap()
        .children()
        .iter()
        .map(|d| attr(d, "id"))
        .collect();
    assert_eq!(ids, ["0", "1", "2"]);
    assert_eq!(
        users[0]
            .child("lid")
            .unwrap()
            .attr("val")
            .unwrap()
            .to_string(),
        "99887766554433@lid"
    );
    assert!(
        users[1]
            .child_path(&["devices", "device-list"])
            .unwrap()
            .children()
            .is_empty()
    );

    // Key fetch: device 2 has uploaded nothing, so its entry is a 404.
    let key = Node::new("key")
        .child(
            Node::new("user")
                .attr(
                    "jid",
                    "15551234567:2@s.whatsapp.net".parse::<Jid>().unwrap(),
                )
                .build(),
        )
        .build();
    let r = c1.send(&mut h, &iq("k", "encrypt", "get", vec![key]));
    let user = r[0].child_path(&["list", "user"]).unwrap();
    assert_eq!(attr(user.child("error").unwrap(), "code"), "404");

    // App state: the five collections answer empty at their version; others are errors.
    let sync = Node::new("sync")
        .children(["regular", "critical_block", "nope"].map(|n| {
            Node::new("collection")
                .attr("name", n)
                .attr("version", "0")
                .build()
        }))
        .build();
    let r = c1.send(&mut h, &iq("s", "w:sync:app:state", "set", vec![sync]));
    let cols = r[0].child("sync").unwrap().children();
    assert_eq!(attr(&cols[0], "version"), "0");
    assert!(cols[0].children().is_empty());
    assert_eq!(attr(&cols[2], "type"), "error");

    // Logout of device 2 from device 1: result here, a 401 kick for device 2's connection.
    let remove = Node::new("remove-companion-device")
        .attr(
            "jid",
            "15551234567:2@s.whatsapp.net".parse::<Jid>().unwrap(),
        )
        .attr("reason", "user_initiated")
        .build();
    let r = c1.send(&mut h, &iq("r", "md", "set", vec![remove]));
    assert_eq!(attr(&r[0], "type"), "result");
    let mut effects = Vec::new();
    while let Some(e) = c1.conn.poll_effect() {
        effects.push(e);
    }
    assert!(effects.contains(&Effect::Kick {
        conn: c2.conn.id(),
        error: StreamError::DeviceRemoved
    }));
    assert!(!h.state.accounts[0].devices.contains_key(&2));

    // Device 1 logs itself out: result, then the connection closes.
    let remove = Node::new("remove-companion-device")
        .attr(
            "jid",
            "15551234567:1@s.whatsapp.net".parse::<Jid>().unwrap(),
        )
        .build();
    let r = c1.send(&mut h, &iq("r2", "md", "set", vec![remove]));
    assert_eq!(attr(&r[0], "type"), "result");
    assert!(c1.conn.is_closing());
    assert!(h.state.accounts[0].devices.is_empty());
}

#[test]
fn bad_pairing_faults_damage_hmac_or_account_signature() {
    for (bad_hmac, bad_sig) in [(true, false), (false, true)] {
        let mut h = Harness::new(13);
        h.state.faults.bad_adv_hmac = bad_hmac;
        h.state.faults.bad_account_signature = bad_sig;
        let identity = KeyPair::generate(&mut h.rng);
        let noise_key = KeyPair::generate(&mut h.rng);
        let (mut c, first) = h.connect(noise_key.clone(), &registration(&identity));
        let r = first[0].child("pair-device").unwrap().children()[0]
            .bytes()
            .unwrap()
            .to_vec();
        let adv = [5u8; 32];
        let qr = format!(
            "{},{},{},{}",
            String::from_utf8(r).unwrap(),
            B64.encode(noise_key.public()),
            B64.encode(identity.public()),
            B64.encode(adv)
        );
        c.conn
            .handle_scan(&QrCode::parse(&qr).unwrap(), NOW, &mut h.state, &mut h.rng)
            .unwrap();
        let success = c.recv().pop().unwrap();
        let bytes = success
            .child_path(&["pair-success", "device-identity"])
            .unwrap()
            .bytes()
            .unwrap();
        let container = AdvSignedDeviceIdentityHmac::decode(bytes).unwrap();
        let inner = container.details.unwrap();
        let hmac_ok = container.hmac.unwrap() == adv_hmac(&adv, &inner);
        let sdi = AdvSignedDeviceIdentity::decode(inner.as_slice()).unwrap();
        let mut msg = crate::phone::ADV_ACCOUNT_SIGNATURE_PREFIX.to_vec();
        msg.extend_from_slice(sdi.details.as_ref().unwrap());
        msg.extend_from_slice(identity.public());
        let sig: [u8; 64] = sdi.account_signature.unwrap().try_into().unwrap();
        let sig_ok = xeddsa::verify(h.state.accounts[0].phone.identity().public(), &msg, &sig);
        assert_eq!((hmac_ok, sig_ok), (!bad_hmac, !bad_sig));
    }
}

#[test]
fn code_pairing_stages_derive_the_same_adv_secret() {
    let mut h = Harness::new(14);
    let ps = code_pairing(&mut h, "15551234567", 0);
    assert_eq!(
        ps.child("device").unwrap().attr("jid").unwrap().to_string(),
        "15551234567:1@s.whatsapp.net"
    );
}

#[test]
fn code_pairing_finds_the_account_by_the_requested_number() {
    let mut h = Harness::new(15);
    let b = h
        .state
        .add_account(
            Account {
                phone_number: "15550002222".into(),
                lid: "77770002222".into(),
                push_name: "Bob".into(),
                created: 1,
            },
            Phone::new(KeyPair::generate(&mut h.rng)),
        )
        .unwrap();
    let ps = code_pairing(&mut h, "15550002222", b);
    assert_eq!(
        ps.child("device").unwrap().attr("lid").unwrap().to_string(),
        "77770002222:1@lid"
    );
    assert_eq!(h.state.accounts[0].next_device_id, 1);
    // A number without an account is refused with 404.
    let noise_key = KeyPair::generate(&mut h.rng);
    let identity = KeyPair::generate(&mut h.rng);
    let (mut c, _) = h.connect(noise_key.clone(), &registration(&identity));
    let hello = Node::new("link_code_companion_reg")
        .attr("jid", "19990000000@s.whatsapp.net".parse::<Jid>().unwrap())
        .attr("stage", "companion_hello")
        .build();
    let r = c.send(&mut h, &iq("h", "md", "set", vec![hello]));
    assert_eq!(attr(r[0].child("error").unwrap(), "code"), "404");
    assert!(
        h.state
            .code_waiting
            .iter()
            .all(|(conn, _)| *conn != c.conn.id())
    );
}

/// Runs code pairing for `phone` (account `account`) through every stage; returns the
/// `<pair-success>` after checking its HMAC under the ADV secret the companion derives.
fn code_pairing(h: &mut Harness, phone: &str, account: usize) -> Node {
    use crate::link_code::{KeyBundle, adv_secret, agree, seal_key_bundle, unwrap_key, wrap_key};
    let identity = KeyPair::generate(&mut h.rng);
    let noise_key = KeyPair::generate(&mut h.rng);
    let (mut c, _) = h.connect(noise_key.clone(), &registration(&identity));
    let code = "ABCDEFGH";
    let eph = KeyPair::generate(&mut h.rng);
    let hello = Node::new("link_code_companion_reg")
        .attr(
            "jid",
            format!("{phone}@s.whatsapp.net").parse::<Jid>().unwrap(),
        )
        .attr("stage", "companion_hello")
        .children([
            Node::new("link_code_pairing_wrapped_companion_ephemeral_pub")
                .bytes(wrap_key(code, eph.public(), &mut h.rng).to_vec())
                .build(),
            Node::new("companion_server_auth_key_pub")
                .bytes(noise_key.public().to_vec())
                .build(),
            Node::new("companion_platform_display")
                .bytes(b"Chrome (Linux)".to_vec())
                .build(),
        ])
        .build();
    let r = c.send(h, &iq("h", "md", "set", vec![hello]));
    assert_eq!(attr(&r[0], "type"), "result");
    let reference = r[0]
        .child_path(&["link_code_companion_reg", "link_code_pairing_ref"])
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    assert_eq!(h.state.code_waiting, vec![(c.conn.id(), account)]);

    let phone_pub = *h.state.accounts[account].phone.identity().public();
    c.conn
        .handle_pair_code("abcd-efgh", &phone_pub, NOW, &mut h.rng)
        .unwrap();
    let note = c.recv().pop().unwrap();
    assert_eq!(attr(&note, "type"), "link_code_companion_reg");
    let reg = note.child("link_code_companion_reg").unwrap();
    assert_eq!(attr(reg, "stage"), "primary_hello");
    let wrapped = reg
        .child("link_code_pairing_wrapped_primary_ephemeral_pub")
        .unwrap()
        .bytes()
        .unwrap();
    let primary_eph = unwrap_key(code, wrapped).unwrap();
    let primary_identity: [u8; 32] = reg
        .child("primary_identity_pub")
        .unwrap()
        .bytes()
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(primary_identity, phone_pub);

    let shared = agree(&eph.private_bytes(), &primary_eph);
    let random = [7u8; 32];
    let bundle = KeyBundle {
        companion_identity: *identity.public(),
        primary_identity,
        adv_random: random,
    };
    let finish = Node::new("link_code_companion_reg")
        .attr("stage", "companion_finish")
        .children([
            Node::new("link_code_pairing_wrapped_key_bundle")
                .bytes(seal_key_bundle(&shared, &bundle, &mut h.rng).unwrap())
                .build(),
            Node::new("companion_identity_public")
                .bytes(identity.public().to_vec())
                .build(),
            Node::new("link_code_pairing_ref").bytes(reference).build(),
        ])
        .build();
    let r = c.send(h, &iq("f", "md", "set", vec![finish]));
    assert_eq!(attr(&r[0], "type"), "result");
    // The pair-success HMAC verifies under the ADV secret the companion derives.
    let adv = adv_secret(
        &shared,
        &agree(&identity.private_bytes(), &primary_identity),
        &random,
    );
    let container = AdvSignedDeviceIdentityHmac::decode(
        r[1].child_path(&["pair-success", "device-identity"])
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        container.hmac.unwrap(),
        adv_hmac(&adv, &container.details.unwrap())
    );
    r[1].child("pair-success").unwrap().clone()
}

mod accounts;
mod calls;
mod groups;
mod lookups;
mod profile;
mod random;
mod routing;

fn app_state_iq(id: &str, name: &str, version: u64, patch: Option<Vec<u8>>) -> Node {
    let mut c = Node::new("collection")
        .attr("name", name)
        .attr("version", version.to_string())
        .attr("return_snapshot", "false");
    if let Some(p) = patch {
        c = c.child(Node::new("patch").bytes(p).build());
    }
    iq(
        id,
        "w:sync:app:state",
        "set",
        vec![Node::new("sync").child(c.build()).build()],
    )
}

fn a_patch(mac: u8) -> Vec<u8> {
    wa_proto::proto::SyncdPatch {
        mutations: vec![wa_proto::proto::SyncdMutation {
            operation: Some(0),
            record: Some(wa_proto::proto::SyncdRecord::default()),
        }],
        patch_mac: Some(vec![mac; 32]),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn app_state_upload_fetch_conflict_and_server_sync_to_other_devices() {
    let mut h = Harness::new(21);
    let (_, key1, _, _) = pair(&mut h, false);
    let (_, key2, _, _) = pair(&mut h, false);
    let (_, _key3, _, _) = pair(&mut h, false);
    let (mut c1, _) = h.connect(key1, &login(1));
    let (mut c2, _) = h.connect(key2, &login(2));
    while c1.conn.poll_effect().is_some() {}
    c2.recv();

    // Device 1 uploads on top of version 0: stored as version 1.
    let r = c1.send(
        &mut h,
        &app_state_iq("u1", "regular_high", 0, Some(a_patch(1))),
    );
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(&r[0], "type"), "result");
    assert_eq!(
        (attr(col, "name"), attr(col, "version"), attr(col, "type")),
        ("regular_high", "1", "")
    );
    // Device 2 (online, another connection) is told through a Deliver effect; device 3
    // (offline) gets it queued; device 1 is not told.
    let mut delivered = Vec::new();
    while let Some(e) = c1.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            delivered.push((device.device, node));
        }
    }
    assert_eq!(delivered.len(), 1);
    let (dev, note) = &delivered[0];
    assert_eq!(*dev, 2);
    assert_eq!(attr(note, "type"), "server_sync");
    let c = note.child("collection").unwrap();
    assert_eq!((attr(c, "name"), attr(c, "version")), ("regular_high", "1"));
    let queued = &h.state.accounts[0].offline_queue[&3];
    assert_eq!(queued.len(), 1);
    assert_eq!(attr(&queued[0].node().unwrap(), "type"), "server_sync");

    // An upload from a stale version is a 409 for that collection; nothing is stored.
    let r = c2.send(
        &mut h,
        &app_state_iq("u2", "regular_high", 0, Some(a_patch(2))),
    );
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(col, "type"), "error");
    assert_eq!(attr(col.child("error").unwrap(), "code"), "409");
    // Garbage is a 400, an unknown collection a 404.
    let r = c2.send(
        &mut h,
        &app_state_iq("u3", "regular_high", 1, Some(vec![0xff])),
    );
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(col.child("error").unwrap(), "code"), "400");
    let r = c2.send(&mut h, &app_state_iq("u4", "nope", 0, Some(a_patch(2))));
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(col.child("error").unwrap(), "code"), "404");
    assert_eq!(h.state.accounts[0].app_state.version("regular_high"), 1);

    // Device 2 uploads on top of 1 (version 2), then fetches from 0: both patches, numbered.
    c2.send(
        &mut h,
        &app_state_iq("u5", "regular_high", 1, Some(a_patch(3))),
    );
    let r = c2.send(&mut h, &app_state_iq("f1", "regular_high", 0, None));
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(col, "version"), "2");
    assert_eq!(attr(col, "has_more_patches"), "");
    let patches: Vec<wa_proto::proto::SyncdPatch> = col
        .child("patches")
        .unwrap()
        .children_by_tag("patch")
        .map(|p| wa_proto::proto::SyncdPatch::decode(p.bytes().unwrap()).unwrap())
        .collect();
    let versions: Vec<_> = patches
        .iter()
        .map(|p| p.version.unwrap().version.unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(patches[1].patch_mac.as_deref(), Some(&[3u8; 32][..]));
    // From the latest version: nothing.
    let r = c2.send(&mut h, &app_state_iq("f2", "regular_high", 2, None));
    let col = r[0].child_path(&["sync", "collection"]).unwrap();
    assert_eq!(attr(col, "version"), "2");
    assert!(col.child("patches").is_none());
    // Device 1 (online on its own connection) hears of version 2 through a Deliver effect.
    let mut told = false;
    while let Some(e) = c2.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            told |= device.device == 1 && attr(node.child("collection").unwrap(), "version") == "2";
        }
    }
    assert!(told);
    assert_eq!(h.state.accounts[0].offline_queue[&3].len(), 2);
}
