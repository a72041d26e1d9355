//! Sans-IO tests of the multi-account rules: pairing and login per account, cross-account
//! fanout in PN and LID forms, receipts by type, offline order, usync, bundles, tokens.

use super::*;
use crate::state::{AccountId, Device, DeviceKey, SignedPreKey};

const A_PN: &str = "15551234567";
const A_LID: &str = "99887766554433";
const B_PN: &str = "15550002222";
const B_LID: &str = "77770002222";
const C_PN: &str = "15550003333";

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn add_account(h: &mut Harness, pn: &str, lid: &str, name: &str) -> AccountId {
    let phone = Phone::new(KeyPair::generate(&mut h.rng));
    h.state
        .add_account(
            Account {
                phone_number: pn.into(),
                lid: lid.into(),
                push_name: name.into(),
                created: 2,
            },
            phone,
        )
        .unwrap()
}

/// Registers companion `id` of `account` directly (as if paired, with uploaded keys).
fn companion(h: &mut Harness, account: AccountId, id: u16) -> KeyPair {
    let noise = KeyPair::generate(&mut h.rng);
    let identity = KeyPair::generate(&mut h.rng);
    let pre_keys = (1..=3u32).map(|k| (k, [u8::try_from(k).unwrap(); 32]));
    h.state.accounts[account].devices.insert(
        id,
        Device {
            id,
            noise_key: *noise.public(),
            identity_key: *identity.public(),
            key_index: u32::from(id),
            registration_id: Some(1000 + u32::from(id)),
            signed_pre_key: Some(SignedPreKey {
                id: 1,
                public: [9; 32],
                signature: [8; 64],
            }),
            pre_keys: pre_keys.collect(),
            logins: 1,
            platform: None,
        },
    );
    h.state.accounts[account].next_device_id = id + 1;
    noise
}

fn login_as(user: &str, device: u32) -> ClientPayload {
    ClientPayload {
        username: Some(user.parse().unwrap()),
        device: Some(device),
        passive: Some(true),
        pull: Some(true),
        ..Default::default()
    }
}

fn deliveries(c: &mut Client) -> Vec<(DeviceKey, Node)> {
    let mut out = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            out.push((device, node));
        }
    }
    out
}

fn to_node(device: &str, byte: u8) -> Node {
    Node::new("to")
        .attr("jid", jid(device))
        .child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", "msg")
                .bytes(vec![byte; 4])
                .build(),
        )
        .build()
}

fn message(id: &str, to: &str, devices: &[&str]) -> Node {
    let tos = devices
        .iter()
        .enumerate()
        .map(|(i, d)| to_node(d, u8::try_from(i).unwrap()))
        .collect::<Vec<_>>();
    Node::new("message")
        .attr("id", id)
        .attr("type", "text")
        .attr("to", jid(to))
        .child(Node::new("participants").children(tos).build())
        .build()
}

fn s(n: &Node, k: &str) -> String {
    n.attr(k).map(|v| v.to_string()).unwrap_or_default()
}

/// Accounts A (default, devices 1 and 2), B (devices 1 and 2) and C (device 1), all online.
pub(super) struct World {
    pub(super) h: Harness,
    pub(super) a1: Client,
    pub(super) a2: Client,
    pub(super) b1: Client,
    pub(super) b2: Client,
    pub(super) c1: Client,
}

pub(super) fn world(seed: u64) -> World {
    let mut h = Harness::new(seed);
    let b = add_account(&mut h, B_PN, B_LID, "Bob");
    let c = add_account(&mut h, C_PN, "66660003333", "Carol");
    let ka1 = companion(&mut h, 0, 1);
    let ka2 = companion(&mut h, 0, 2);
    let kb1 = companion(&mut h, b, 1);
    let kb2 = companion(&mut h, b, 2);
    let kc1 = companion(&mut h, c, 1);
    let (a1, first) = h.connect(ka1, &login_as(A_PN, 1));
    assert_eq!(s(&first[0], "lid"), format!("{A_LID}:1@lid"));
    let (a2, _) = h.connect(ka2, &login_as(A_PN, 2));
    let (b1, first) = h.connect(kb1, &login_as(B_PN, 1));
    assert_eq!(first[0].tag, "success");
    assert_eq!(s(&first[0], "lid"), format!("{B_LID}:1@lid"));
    let (b2, _) = h.connect(kb2, &login_as(B_PN, 2));
    let (c1, _) = h.connect(kc1, &login_as(C_PN, 1));
    let mut w = World {
        h,
        a1,
        a2,
        b1,
        b2,
        c1,
    };
    for c in [&mut w.a1, &mut w.a2, &mut w.b1, &mut w.b2, &mut w.c1] {
        deliveries(c);
        c.recv();
    }
    w
}

#[test]
fn logins_are_per_account_and_a_wrong_account_is_refused() {
    let mut h = Harness::new(60);
    let b = add_account(&mut h, B_PN, B_LID, "Bob");
    let kb1 = companion(&mut h, b, 1);
    // Device 1 of B exists, but not with A's number.
    let (_, first) = h.connect(kb1.clone(), &login_as(A_PN, 1));
    assert_eq!(first[0].tag, "failure");
    let (mut c, first) = h.connect(kb1, &login_as(B_PN, 1));
    assert_eq!(first[0].tag, "success");
    assert_eq!(c.conn.device(), Some(DeviceKey::new(b, 1)));
    assert!(matches!(
        c.conn.poll_effect(),
        Some(Effect::LoggedIn(j)) if j.to_string() == format!("{B_PN}:1@s.whatsapp.net")
    ));
    // The same number or LID cannot be taken twice.
    let dup = h.state.add_account(
        Account {
            phone_number: B_PN.into(),
            lid: "1".into(),
            push_name: String::new(),
            created: 0,
        },
        Phone::new(KeyPair::generate(&mut h.rng)),
    );
    assert_eq!(dup, Err(b));
}

#[test]
fn qr_scanned_by_another_accounts_phone_pairs_the_companion_to_that_account() {
    let mut h = Harness::new(61);
    let b = add_account(&mut h, B_PN, B_LID, "Bob");
    let identity = KeyPair::generate(&mut h.rng);
    let noise_key = KeyPair::generate(&mut h.rng);
    let (mut c, first) = h.connect(noise_key.clone(), &registration(&identity));
    let r = String::from_utf8(
        first[0].child("pair-device").unwrap().children()[0]
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    let qr = format!(
        "{r},{},{},{}",
        B64.encode(noise_key.public()),
        B64.encode(identity.public()),
        B64.encode([7u8; 32])
    );
    let qr = QrCode::parse(&qr).unwrap();
    c.conn
        .handle_scan_for(&qr, b, NOW, &mut h.state, &mut h.rng)
        .unwrap();
    let success = c.recv().pop().unwrap();
    let ps = success.child("pair-success").unwrap();
    let dev = ps.child("device").unwrap();
    assert_eq!(s(dev, "jid"), format!("{B_PN}:1@s.whatsapp.net"));
    assert_eq!(s(dev, "lid"), format!("{B_LID}:1@lid"));
    assert_eq!(s(ps.child("biz").unwrap(), "name"), "Bob");
    // Signed by B's phone, not A's.
    let container =
        AdvSignedDeviceIdentityHmac::decode(ps.child("device-identity").unwrap().bytes().unwrap())
            .unwrap();
    let signed = AdvSignedDeviceIdentity::decode(container.details.unwrap().as_slice()).unwrap();
    assert_eq!(
        signed.account_signature_key.unwrap(),
        h.state.accounts[b].phone.identity().public().to_vec()
    );
    assert_eq!(h.state.accounts[b].next_device_id, 2);
    assert_eq!(h.state.accounts[0].next_device_id, 1);
}

#[test]
fn a_pn_message_reaches_the_recipients_devices_and_the_senders_other_devices() {
    let mut w = world(62);
    let msg = message(
        "M1",
        &format!("{B_PN}@s.whatsapp.net"),
        &[
            &format!("{B_PN}@s.whatsapp.net"),
            &format!("{B_PN}:1@s.whatsapp.net"),
            &format!("{B_PN}:2@s.whatsapp.net"),
            &format!("{A_PN}:2@s.whatsapp.net"),
            &format!("{C_PN}:1@s.whatsapp.net"),
        ],
    );
    let out = w.a1.send(&mut w.h, &msg);
    assert_eq!(out[0].tag, "ack");
    assert_eq!(s(&out[0], "id"), "M1");
    let got = deliveries(&mut w.a1);
    let keys: Vec<DeviceKey> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            DeviceKey::new(1, 1),
            DeviceKey::new(1, 2),
            DeviceKey::new(0, 2)
        ],
        "the phone and the third account are not routed to"
    );
    for (k, n) in &got[..2] {
        assert_eq!(s(n, "from"), format!("{A_PN}:1@s.whatsapp.net"), "{k:?}");
        assert_eq!(s(n, "sender_lid"), format!("{A_LID}:1@lid"));
        assert_eq!(s(n, "addressing_mode"), "pn");
        assert_eq!(s(n, "notify"), "Phone");
        assert_eq!(s(n, "t"), (NOW / 1000).to_string());
        assert!(n.attr("recipient").is_none());
        assert!(n.attr("participant").is_none());
        assert!(n.attr("to").is_none());
    }
    assert_eq!(got[0].1.children()[0].bytes().unwrap(), &[1u8; 4]);
    assert_eq!(got[1].1.children()[0].bytes().unwrap(), &[2u8; 4]);
    let own = &got[2].1;
    assert_eq!(s(own, "from"), format!("{A_PN}:1@s.whatsapp.net"));
    assert_eq!(s(own, "recipient"), format!("{B_PN}@s.whatsapp.net"));
    assert_eq!(own.children()[0].bytes().unwrap(), &[3u8; 4]);
    // The effects carry the stanza to the recipient's connection as is.
    w.b1.conn
        .handle_deliver(got[0].0, got[0].1.clone(), &mut w.h.state)
        .unwrap();
    assert_eq!(w.b1.recv(), vec![got[0].1.clone()]);
    assert!(deliveries(&mut w.c1).is_empty());
}

#[test]
fn a_lid_message_is_rewritten_in_lid_form_with_sender_pn() {
    let mut w = world(63);
    let msg = message(
        "L1",
        &format!("{B_LID}@lid"),
        &[&format!("{B_LID}:2@lid"), &format!("{A_LID}:2@lid")],
    );
    w.a1.send(&mut w.h, &msg);
    let got = deliveries(&mut w.a1);
    assert_eq!(got.len(), 2);
    let (k, n) = &got[0];
    assert_eq!(*k, DeviceKey::new(1, 2));
    assert_eq!(s(n, "from"), format!("{A_LID}:1@lid"));
    assert_eq!(s(n, "sender_pn"), format!("{A_PN}:1@s.whatsapp.net"));
    assert!(n.attr("sender_lid").is_none());
    assert_eq!(s(n, "addressing_mode"), "lid");
    let (k, own) = &got[1];
    assert_eq!(*k, DeviceKey::new(0, 2));
    assert_eq!(s(own, "from"), format!("{A_LID}:1@lid"));
    assert_eq!(s(own, "recipient"), format!("{B_LID}@lid"));
}

#[test]
fn receipts_are_routed_by_type() {
    let mut w = world(64);
    let to_a = format!("{A_PN}@s.whatsapp.net");
    let receipt = |kind: Option<&str>, to: &str| {
        let mut b = Node::new("receipt").attr("id", "M1").attr("to", jid(to));
        if let Some(k) = kind {
            b = b.attr("type", k);
        }
        b.build()
    };
    // Delivery: every device of A, nothing to B's other device.
    let out = w.b1.send(&mut w.h, &receipt(None, &to_a));
    assert_eq!(s(&out[0], "class"), "receipt");
    let got = deliveries(&mut w.b1);
    let keys: Vec<DeviceKey> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [DeviceKey::new(0, 1), DeviceKey::new(0, 2)]);
    assert_eq!(s(&got[0].1, "from"), format!("{B_PN}:1@s.whatsapp.net"));
    assert!(got[0].1.attr("recipient").is_none());
    assert!(got[0].1.attr("type").is_none());
    // Read (and played): A's devices, plus a copy for B's other device with recipient.
    for kind in ["read", "played"] {
        w.b1.send(&mut w.h, &receipt(Some(kind), &to_a));
        let got = deliveries(&mut w.b1);
        let keys: Vec<DeviceKey> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                DeviceKey::new(0, 1),
                DeviceKey::new(0, 2),
                DeviceKey::new(1, 2)
            ]
        );
        assert!(got.iter().all(|(_, n)| s(n, "type") == kind));
        assert_eq!(s(&got[2].1, "recipient"), to_a);
        assert_eq!(s(&got[2].1, "from"), format!("{B_PN}:1@s.whatsapp.net"));
    }
    // Read-self and played-self stay with the reader's account.
    for kind in ["read-self", "played-self"] {
        w.b1.send(&mut w.h, &receipt(Some(kind), &to_a));
        let got = deliveries(&mut w.b1);
        let keys: Vec<DeviceKey> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [DeviceKey::new(1, 2)], "{kind}");
    }
    // Retry (and any receipt to a device JID): that device only, in the addressed form.
    w.b1.send(&mut w.h, &receipt(Some("retry"), &format!("{A_LID}:2@lid")));
    let got = deliveries(&mut w.b1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, DeviceKey::new(0, 2));
    assert_eq!(s(&got[0].1, "from"), format!("{B_LID}:1@lid"));
    // Inactive receipts are delivered like delivery receipts.
    w.b1.send(&mut w.h, &receipt(Some("inactive"), &to_a));
    assert_eq!(deliveries(&mut w.b1).len(), 2);
    // Sender receipts (B's device confirming B's own copy, `to` = the chat as Baileys sends
    // it) stay in B's account: the named participant, else B's other devices.
    let mut sender = receipt(Some("sender"), &to_a);
    sender
        .attrs
        .insert("participant", jid(&format!("{B_PN}:2@s.whatsapp.net")));
    w.b1.send(&mut w.h, &sender);
    let got = deliveries(&mut w.b1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, DeviceKey::new(1, 2));
    assert_eq!(s(&got[0].1, "recipient"), to_a);
    w.b1.send(&mut w.h, &receipt(Some("sender"), &to_a));
    let keys: Vec<DeviceKey> = deliveries(&mut w.b1).iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [DeviceKey::new(1, 2)]);
    // Receipts to unknown users are acked and dropped.
    let out = w.b1.send(
        &mut w.h,
        &receipt(Some("read"), "19990000000@s.whatsapp.net"),
    );
    assert_eq!(s(&out[0], "class"), "receipt");
    assert!(deliveries(&mut w.b1).is_empty());
}

#[test]
fn an_offline_recipient_gets_messages_from_several_accounts_in_order() {
    let mut w = world(65);
    w.b2.conn.handle_closed(&mut w.h.state);
    let to_b = format!("{B_PN}@s.whatsapp.net");
    let b2 = format!("{B_PN}:2@s.whatsapp.net");
    w.a1.send(&mut w.h, &message("X1", &to_b, &[&b2]));
    w.c1.send(&mut w.h, &message("X2", &to_b, &[&b2]));
    w.a2.send(&mut w.h, &message("X3", &to_b, &[&b2]));
    assert_eq!(w.h.state.queued(DeviceKey::new(1, 2)), 3);
    let kb2 = KeyPair::generate(&mut w.h.rng);
    w.h.state.accounts[1].devices.get_mut(&2).unwrap().noise_key = *kb2.public();
    let (mut c, first) = w.h.connect(kb2, &login_as(B_PN, 2));
    let ids: Vec<String> = first[1..].iter().map(|n| s(n, "id")).collect();
    assert_eq!(ids, ["X1", "X2", "X3"]);
    let froms: Vec<String> = first[1..].iter().map(|n| s(n, "from")).collect();
    assert_eq!(
        froms,
        [
            format!("{A_PN}:1@s.whatsapp.net"),
            format!("{C_PN}:1@s.whatsapp.net"),
            format!("{A_PN}:2@s.whatsapp.net")
        ]
    );
    let at = c.conn.poll_timeout().unwrap();
    c.conn.handle_timeout(at).unwrap();
    let marker = c.recv();
    assert_eq!(s(marker[0].child("offline").unwrap(), "count"), "3");
}
