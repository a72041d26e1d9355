//! wa-signal against libsignal-node 6.0.0 (what Baileys runs) and Baileys' sender-key classes,
//! through the Node oracle (`tests/interop/commands/signal.mjs`).
//!
//! Sessions are started on either side, with and without a one-time prekey; at least 50
//! alternating messages flow each way with some delivered out of order; group sender keys work
//! in both directions; XEdDSA signatures verify across both implementations.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use wa_signal::wire::{
    PreKeySignalMessage, SenderKeyDistributionMessage, SenderKeyMessage, SignalMessage,
};
use wa_signal::{
    CiphertextMessage, IdentityKeyPair, KeyPair, PreKeyBundle, PreKeyRecord, PrivateKey, PublicKey,
    SenderKeyRecord, SessionRecord, SignedPreKeyRecord,
};
use wa_tests::oracle;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

/// Our side of a 1:1 conversation.
struct RustParty {
    identity: IdentityKeyPair,
    registration_id: u32,
    signed: SignedPreKeyRecord,
    one_time: Option<PreKeyRecord>,
    record: SessionRecord,
    rng: ChaCha20Rng,
}

impl RustParty {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let identity = IdentityKeyPair::generate(&mut rng);
        let registration_id = wa_signal::generate_registration_id(&mut rng);
        let signed = SignedPreKeyRecord::generate(1, &identity, &mut rng);
        let one_time = Some(PreKeyRecord::generate(77, &mut rng));
        Self {
            identity,
            registration_id,
            signed,
            one_time,
            record: SessionRecord::new(),
            rng,
        }
    }

    fn bundle_json(&self, with_one_time: bool) -> Value {
        json!({
            "registrationId": self.registration_id,
            "identityKey": hex::encode(self.identity.public().serialize()),
            "signedPreKey": {
                "keyId": self.signed.id,
                "publicKey": hex::encode(self.signed.key_pair.public.serialize()),
                "signature": hex::encode(self.signed.signature),
            },
            "preKey": match (&self.one_time, with_one_time) {
                (Some(p), true) => json!({"keyId": p.id, "publicKey": hex::encode(p.key_pair.public.serialize())}),
                _ => Value::Null,
            },
        })
    }

    fn start_from_json(&mut self, bundle: &Value, with_one_time: bool) {
        let key = |v: &Value| PublicKey::from_bytes(&unhex(v)).unwrap();
        let b = PreKeyBundle {
            registration_id: bundle["registrationId"].as_u64().unwrap() as u32,
            identity_key: key(&bundle["identityKey"]),
            signed_pre_key_id: bundle["signedPreKey"]["keyId"].as_u64().unwrap() as u32,
            signed_pre_key: key(&bundle["signedPreKey"]["publicKey"]),
            signed_pre_key_signature: unhex(&bundle["signedPreKey"]["signature"]),
            pre_key: with_one_time.then(|| {
                (
                    bundle["preKey"]["keyId"].as_u64().unwrap() as u32,
                    key(&bundle["preKey"]["publicKey"]),
                )
            }),
        };
        self.record
            .initiate(&self.identity, self.registration_id, &b, &mut self.rng)
            .unwrap();
    }

    fn encrypt(&mut self, text: &str) -> (String, String) {
        let m = self.record.encrypt(text.as_bytes()).unwrap();
        let kind = match m {
            CiphertextMessage::PreKey(_) => "pkmsg",
            CiphertextMessage::Whisper(_) => "msg",
        };
        (kind.to_string(), hex::encode(m.serialized()))
    }

    fn decrypt(&mut self, kind: &str, body: &[u8]) -> Vec<u8> {
        if kind == "pkmsg" {
            let pk = PreKeySignalMessage::parse(body).unwrap();
            let signed = self.signed.clone();
            let one_time = self.one_time.clone();
            let out = self
                .record
                .decrypt_pre_key(
                    &self.identity,
                    self.registration_id,
                    &pk,
                    Some(&signed),
                    one_time.as_ref(),
                    &mut self.rng,
                )
                .unwrap();
            if out.consumed_pre_key_id.is_some() {
                self.one_time = None;
            }
            out.plaintext
        } else {
            let m = SignalMessage::parse(body).unwrap();
            self.record.decrypt(&m, &mut self.rng).unwrap()
        }
    }
}

/// Delivery order for a burst of `n` messages in round `round`: some bursts arrive reversed,
/// some rotated, the rest in order.
fn order(n: usize, round: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    match round % 4 {
        1 => v.reverse(),
        3 => v.rotate_left(1),
        _ => {}
    }
    v
}

/// Runs `rounds` bursts alternating between us and the node party; returns messages per side.
fn converse(
    us: &mut RustParty,
    node: &str,
    our_addr: &str,
    rounds: usize,
    rust_first: bool,
) -> (usize, usize) {
    let (mut from_rust, mut from_node) = (0, 0);
    for round in 0..rounds {
        let n = 1 + round % 3;
        let rust_turn = (round % 2 == 0) == rust_first;
        if rust_turn {
            let burst: Vec<(String, (String, String))> = (0..n)
                .map(|i| {
                    let text = format!("rust r{round} m{i}");
                    (text.clone(), us.encrypt(&text))
                })
                .collect();
            for i in order(n, round) {
                let (text, (kind, body)) = &burst[i];
                let pt = call(
                    "signal.decrypt",
                    json!({"party": node, "peer": our_addr, "type": kind, "body": body}),
                );
                assert_eq!(unhex(&pt), text.as_bytes(), "node decrypts {text}");
                from_rust += 1;
            }
        } else {
            let burst: Vec<(String, Value)> = (0..n)
                .map(|i| {
                    let text = format!("node r{round} m{i}");
                    let m = call(
                        "signal.encrypt",
                        json!({"party": node, "peer": our_addr, "plaintext": hex::encode(&text)}),
                    );
                    (text, m)
                })
                .collect();
            for i in order(n, round) {
                let (text, m) = &burst[i];
                let pt = us.decrypt(m["type"].as_str().unwrap(), &unhex(&m["body"]));
                assert_eq!(pt, text.as_bytes(), "we decrypt {text}");
                from_node += 1;
            }
        }
    }
    (from_rust, from_node)
}

#[test]
fn session_started_by_us_with_and_without_one_time_prekey() {
    for (i, with_one_time) in [true, false].into_iter().enumerate() {
        let node = format!("node-bob-{i}");
        let bundle = call("signal.newParty", json!({"name": node}));
        let mut alice = RustParty::new(100 + i as u64);
        alice.start_from_json(&bundle, with_one_time);
        let (a, b) = converse(&mut alice, &node, "rustalice.1", 60, true);
        assert!(a >= 50 && b >= 50, "{a} from us, {b} from node");
        let consumed = !call("signal.hasPreKey", json!({"party": node, "id": 1}))
            .as_bool()
            .unwrap();
        assert_eq!(
            consumed, with_one_time,
            "node consumed its one-time prekey iff we used it"
        );
    }
}

#[test]
fn session_started_by_node_with_and_without_one_time_prekey() {
    for (i, with_one_time) in [true, false].into_iter().enumerate() {
        let node = format!("node-alice-{i}");
        call("signal.newParty", json!({"name": node}));
        let mut bob = RustParty::new(200 + i as u64);
        call(
            "signal.processBundle",
            json!({"party": node, "peer": "rustbob.0", "bundle": bob.bundle_json(with_one_time)}),
        );
        let (a, b) = converse(&mut bob, &node, "rustbob.0", 60, false);
        assert!(a >= 50 && b >= 50, "{a} from us, {b} from node");
        assert_eq!(bob.one_time.is_none(), with_one_time);
    }
}

#[test]
fn node_peer_resets_and_old_messages_still_decrypt() {
    let node = "node-resetter";
    call("signal.newParty", json!({"name": node}));
    let mut bob = RustParty::new(300);
    call(
        "signal.processBundle",
        json!({"party": node, "peer": "rustbob.0", "bundle": bob.bundle_json(true)}),
    );
    let (_, _) = converse(&mut bob, node, "rustbob.0", 6, false);
    let late = call(
        "signal.encrypt",
        json!({"party": node, "peer": "rustbob.0", "plaintext": hex::encode("late")}),
    );
    // The node side starts a new session from our bundle (without a one-time prekey).
    call(
        "signal.processBundle",
        json!({"party": node, "peer": "rustbob.0", "bundle": bob.bundle_json(false)}),
    );
    let fresh = call(
        "signal.encrypt",
        json!({"party": node, "peer": "rustbob.0", "plaintext": hex::encode("fresh")}),
    );
    assert_eq!(fresh["type"], "pkmsg");
    assert_eq!(bob.decrypt("pkmsg", &unhex(&fresh["body"])), b"fresh");
    assert_eq!(bob.record.previous().len(), 1);
    assert_eq!(
        bob.decrypt(late["type"].as_str().unwrap(), &unhex(&late["body"])),
        b"late"
    );
    let (a, b) = converse(&mut bob, node, "rustbob.0", 8, true);
    assert!(a > 0 && b > 0);
}

#[test]
fn xeddsa_signatures_verify_across_implementations() {
    let mut rng = ChaCha20Rng::seed_from_u64(400);
    for i in 0..16 {
        let message: Vec<u8> = (0..(i * 7 + 1)).map(|b| b as u8).collect();
        // Node key, node signature, verified by us.
        let kp = call("signal.keyPair", json!({}));
        let public = PublicKey::from_bytes(&unhex(&kp["pub"])).unwrap();
        let private = PrivateKey::from_slice(&unhex(&kp["priv"])).unwrap();
        assert_eq!(
            private.public_key(),
            public,
            "same public key from a node private key"
        );
        let sig = call(
            "signal.sign",
            json!({"priv": kp["priv"], "message": hex::encode(&message)}),
        );
        public.verify(&message, &unhex(&sig)).unwrap();
        let mut bad = unhex(&sig);
        bad[10] ^= 1;
        assert!(public.verify(&message, &bad).is_err());

        // Our key, our signature, verified by node; and node rejects a tampered one.
        let ours = KeyPair::generate(&mut rng);
        let sig = ours.private.sign(&message, &mut rng);
        let ok = call(
            "signal.verify",
            json!({"pub": hex::encode(ours.public.serialize()), "message": hex::encode(&message), "signature": hex::encode(sig)}),
        );
        assert_eq!(ok, json!(true));
        let mut bad = sig;
        bad[40] ^= 1;
        let rejected = call(
            "signal.verify",
            json!({"pub": hex::encode(ours.public.serialize()), "message": hex::encode(&message), "signature": hex::encode(bad)}),
        );
        assert_eq!(rejected, json!(false));
    }
}

#[test]
fn group_sender_keys_node_to_us() {
    let node = "node-group-sender";
    call("signal.newParty", json!({"name": node}));
    let (group, sender) = ("120363@g.us", "nodesender.0");
    let skdm = unhex(&call(
        "signal.groupCreate",
        json!({"party": node, "group": group, "sender": sender}),
    ));
    let mut ours = SenderKeyRecord::new();
    ours.process_distribution(&SenderKeyDistributionMessage::parse(&skdm).unwrap());
    let msgs: Vec<(String, Vec<u8>)> = (0..30)
        .map(|i| {
            let text = format!("group msg {i}");
            let body = call(
                "signal.groupEncrypt",
                json!({"party": node, "group": group, "sender": sender, "plaintext": hex::encode(&text)}),
            );
            (text, unhex(&body))
        })
        .collect();
    let mut idx: Vec<usize> = (0..30).collect();
    idx.swap(3, 9);
    idx.swap(10, 20);
    idx.reverse();
    for i in idx {
        let (text, body) = &msgs[i];
        let m = SenderKeyMessage::parse(body).unwrap();
        assert_eq!(ours.decrypt(&m).unwrap(), text.as_bytes());
    }
}

#[test]
fn group_sender_keys_us_to_node() {
    let node = "node-group-receiver";
    call("signal.newParty", json!({"name": node}));
    let (group, sender) = ("120364@g.us", "rustsender.0");
    let mut rng = ChaCha20Rng::seed_from_u64(500);
    let mut ours = SenderKeyRecord::new();
    let skdm = ours.create_distribution(&mut rng);
    call(
        "signal.groupProcess",
        json!({"party": node, "group": group, "sender": sender, "skdm": hex::encode(skdm.serialized())}),
    );
    let msgs: Vec<(String, String)> = (0..30)
        .map(|i| {
            let text = format!("our group msg {i}");
            let m = ours.encrypt(text.as_bytes(), &mut rng).unwrap();
            (text, hex::encode(m.serialized()))
        })
        .collect();
    let mut idx: Vec<usize> = (0..30).collect();
    idx.swap(0, 5);
    idx.swap(12, 13);
    idx[20..].reverse();
    for i in idx {
        let (text, body) = &msgs[i];
        let pt = call(
            "signal.groupDecrypt",
            json!({"party": node, "group": group, "sender": sender, "body": body}),
        );
        assert_eq!(unhex(&pt), text.as_bytes());
    }
}
