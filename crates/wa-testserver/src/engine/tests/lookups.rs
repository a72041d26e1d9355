//! Sans-IO tests of lookups across accounts (usync, prekey bundles) and per-pair privacy
//! tokens.

use super::accounts::{World, world};
use super::*;
use crate::state::DeviceKey;

const A_PN: &str = "15551234567";
const A_LID: &str = "99887766554433";
const B_PN: &str = "15550002222";
const B_LID: &str = "77770002222";

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn s(n: &Node, k: &str) -> String {
    n.attr(k).map(|v| v.to_string()).unwrap_or_default()
}

fn usync(query: Vec<Node>, users: Vec<Node>) -> Node {
    iq(
        "u1",
        "usync",
        "get",
        vec![
            Node::new("usync")
                .attr("sid", "s1")
                .attr("mode", "query")
                .attr("context", "message")
                .child(Node::new("query").children(query).build())
                .child(Node::new("list").children(users).build())
                .build(),
        ],
    )
}

fn user(j: &str) -> Node {
    Node::new("user").attr("jid", jid(j)).build()
}

fn listed(reply: &Node) -> Vec<Node> {
    reply
        .child_path(&["usync", "list"])
        .unwrap()
        .children()
        .to_vec()
}

#[test]
fn usync_lists_devices_key_indexes_and_lids_of_every_account() {
    let World { mut h, mut a1, .. } = world(70);
    let reply = a1.send(
        &mut h,
        &usync(
            vec![
                Node::new("devices").attr("version", "2").build(),
                Node::new("lid").build(),
            ],
            vec![
                user(&format!("{A_PN}@s.whatsapp.net")),
                user(&format!("{B_PN}@s.whatsapp.net")),
                user(&format!("{B_LID}@lid")),
                user("19990000000@s.whatsapp.net"),
            ],
        ),
    );
    assert_eq!(s(&reply[0], "type"), "result");
    assert_eq!(s(reply[0].child("usync").unwrap(), "sid"), "s1");
    let users = listed(&reply[0]);
    assert_eq!(users.len(), 4);
    let devices = |u: &Node| -> Vec<(String, String)> {
        u.child_path(&["devices", "device-list"])
            .unwrap()
            .children()
            .iter()
            .map(|d| (s(d, "id"), s(d, "key-index")))
            .collect()
    };
    let want = vec![
        ("0".to_owned(), String::new()),
        ("1".to_owned(), "1".to_owned()),
        ("2".to_owned(), "2".to_owned()),
    ];
    assert_eq!(devices(&users[0]), want);
    assert_eq!(devices(&users[1]), want);
    assert_eq!(s(&users[1], "jid"), format!("{B_PN}@s.whatsapp.net"));
    assert_eq!(
        s(users[1].child("lid").unwrap(), "val"),
        format!("{B_LID}@lid")
    );
    assert_eq!(
        s(users[0].child("lid").unwrap(), "val"),
        format!("{A_LID}@lid")
    );
    // A LID query gets the same devices and no <lid> child.
    assert_eq!(s(&users[2], "jid"), format!("{B_LID}@lid"));
    assert_eq!(devices(&users[2]), want);
    assert!(users[2].child("lid").is_none());
    // Unknown users: an empty device list.
    assert!(devices(&users[3]).is_empty());
    // The key-index list is B's phone's signature over its valid indexes.
    let kil = users[1].child_path(&["devices", "key-index-list"]).unwrap();
    let signed = wa_proto::proto::AdvSignedKeyIndexList::decode(kil.bytes().unwrap()).unwrap();
    let details = signed.details.unwrap();
    let list = wa_proto::proto::AdvKeyIndexList::decode(details.as_slice()).unwrap();
    assert_eq!(list.valid_indexes, [1, 2]);
    let mut msg = crate::phone::ADV_KEY_INDEX_LIST_PREFIX.to_vec();
    msg.extend_from_slice(&details);
    let sig: [u8; 64] = signed.account_signature.unwrap().try_into().unwrap();
    assert!(xeddsa::verify(
        h.state.accounts[1].phone.identity().public(),
        &msg,
        &sig
    ));
}

#[test]
fn usync_contact_queries_say_in_or_out() {
    let World { mut h, mut a1, .. } = world(71);
    let contact = |n: &str| {
        Node::new("user")
            .child(Node::new("contact").bytes(n.as_bytes().to_vec()).build())
            .build()
    };
    let reply = a1.send(
        &mut h,
        &usync(
            vec![Node::new("contact").build(), Node::new("lid").build()],
            vec![contact(&format!("+{B_PN}")), contact("+19990000000")],
        ),
    );
    let users = listed(&reply[0]);
    assert_eq!(s(&users[0], "jid"), format!("{B_PN}@s.whatsapp.net"));
    let c = users[0].child("contact").unwrap();
    assert_eq!(s(c, "type"), "in");
    assert_eq!(c.bytes().unwrap(), format!("+{B_PN}").as_bytes());
    assert_eq!(
        s(users[0].child("lid").unwrap(), "val"),
        format!("{B_LID}@lid")
    );
    assert_eq!(s(&users[1], "jid"), "19990000000@s.whatsapp.net");
    assert_eq!(s(users[1].child("contact").unwrap(), "type"), "out");
    assert!(users[1].child("lid").is_none());

    // whatsmeow's IsOnWhatsApp: `<contact addressing_mode='lid'/>`, numbers as `+N@c.us`:
    // known ones come back as the LID with the phone-number JID in `pn_jid`.
    let reply = a1.send(
        &mut h,
        &usync(
            vec![Node::new("contact").attr("addressing_mode", "lid").build()],
            vec![
                contact(&format!("+{B_PN}@c.us")),
                contact("+19990000000@c.us"),
            ],
        ),
    );
    let users = listed(&reply[0]);
    assert_eq!(s(&users[0], "jid"), format!("{B_LID}@lid"));
    assert_eq!(s(&users[0], "pn_jid"), format!("{B_PN}@s.whatsapp.net"));
    assert_eq!(s(users[0].child("contact").unwrap(), "type"), "in");
    assert_eq!(s(&users[1], "jid"), "19990000000@s.whatsapp.net");
    assert_eq!(s(users[1].child("contact").unwrap(), "type"), "out");
}

#[test]
fn bundles_of_any_device_by_pn_or_lid_and_of_the_phone() {
    let World { mut h, mut a1, .. } = world(72);
    let fetch = iq(
        "k1",
        "encrypt",
        "get",
        vec![
            Node::new("key")
                .child(user(&format!("{B_LID}:1@lid")))
                .child(user(&format!("{B_PN}:2@s.whatsapp.net")))
                .child(user(&format!("{B_LID}@lid")))
                .child(user(&format!("{B_PN}:9@s.whatsapp.net")))
                .build(),
        ],
    );
    let reply = a1.send(&mut h, &fetch);
    let users = reply[0].child("list").unwrap().children().to_vec();
    assert_eq!(users.len(), 4);
    assert_eq!(s(&users[0], "jid"), format!("{B_LID}:1@lid"));
    assert_eq!(
        users[0].child("registration").unwrap().bytes().unwrap(),
        1001u32.to_be_bytes()
    );
    assert!(users[0].child("key").is_some());
    assert_eq!(
        h.state.device(DeviceKey::new(1, 1)).unwrap().pre_keys.len(),
        2
    );
    assert!(users[1].child("identity").is_some());
    // The phone: identity = B's account key, a signed prekey that verifies, no one-time key.
    let phone = &users[2];
    assert_eq!(
        phone.child("identity").unwrap().bytes().unwrap(),
        h.state.accounts[1].phone.identity().public()
    );
    let skey = phone.child("skey").unwrap();
    let mut signed = vec![5u8];
    signed.extend_from_slice(skey.child("value").unwrap().bytes().unwrap());
    let sig: [u8; 64] = skey
        .child("signature")
        .unwrap()
        .bytes()
        .unwrap()
        .try_into()
        .unwrap();
    assert!(xeddsa::verify(
        h.state.accounts[1].phone.identity().public(),
        &signed,
        &sig
    ));
    assert!(phone.child("key").is_none());
    assert_eq!(s(users[3].child("error").unwrap(), "code"), "404");
}

#[test]
fn an_account_requiring_tokens_accepts_the_one_it_issued_to_the_sender() {
    let World {
        mut h,
        mut a1,
        mut b1,
        mut b2,
        ..
    } = world(73);
    h.state.accounts[1].require_tctoken = true;
    let to_b = format!("{B_PN}@s.whatsapp.net");
    let send = |token: Option<Vec<u8>>| {
        let mut b = Node::new("message")
            .attr("id", "T1")
            .attr("type", "text")
            .attr("to", jid(&to_b))
            .child(
                Node::new("participants")
                    .child(
                        Node::new("to")
                            .attr("jid", jid(&format!("{B_PN}:1@s.whatsapp.net")))
                            .child(Node::new("enc").attr("type", "msg").bytes(vec![1]).build())
                            .build(),
                    )
                    .build(),
            );
        if let Some(t) = token {
            b = b.child(Node::new("tctoken").bytes(t).build());
        }
        b.build()
    };
    // B issued nothing yet: a message without a token is refused, any token passes.
    let out = a1.send(&mut h, &send(None));
    assert_eq!(s(&out[0], "error"), "463");
    assert!(a1.conn.poll_effect().is_none());
    let out = a1.send(&mut h, &send(Some(vec![1; 16])));
    assert!(out[0].attr("error").is_none());
    while a1.conn.poll_effect().is_some() {}
    // B (device 1) issues a token to A: A's devices get it from B, B's other device not.
    let issue = iq(
        "p1",
        "privacy",
        "set",
        vec![
            Node::new("tokens")
                .child(
                    Node::new("token")
                        .attr("jid", jid(&format!("{A_PN}@s.whatsapp.net")))
                        .attr("t", "1")
                        .attr("type", "trusted_contact")
                        .build(),
                )
                .build(),
        ],
    );
    let out = b1.send(&mut h, &issue);
    assert_eq!(s(&out[0], "type"), "result");
    let mut notes = Vec::new();
    while let Some(e) = b1.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            notes.push((device, node));
        }
    }
    let keys: Vec<DeviceKey> = notes.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [DeviceKey::new(0, 1), DeviceKey::new(0, 2)]);
    let n = &notes[0].1;
    assert_eq!(s(n, "type"), "privacy_token");
    assert_eq!(s(n, "from"), format!("{B_PN}@s.whatsapp.net"));
    assert_eq!(s(n, "sender_lid"), format!("{B_LID}@lid"));
    let token = n
        .child_path(&["tokens", "token"])
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    assert_eq!(token.len(), 16);
    assert!(b2.recv().is_empty());
    // Now only that token passes.
    let out = a1.send(&mut h, &send(Some(vec![1; 16])));
    assert_eq!(s(&out[0], "error"), "463");
    let out = a1.send(&mut h, &send(Some(token)));
    assert!(out[0].attr("error").is_none());
    let mut routed = 0;
    while let Some(e) = a1.conn.poll_effect() {
        if let Effect::Deliver { node, .. } = e {
            assert!(node.child("tctoken").is_none());
            routed += 1;
        }
    }
    assert_eq!(routed, 1);
    // B's own messages to A are not checked (A does not require tokens).
    let to_a = Node::new("message")
        .attr("id", "T2")
        .attr("to", jid(&format!("{A_PN}@s.whatsapp.net")))
        .child(Node::new("enc").attr("type", "msg").bytes(vec![1]).build())
        .build();
    let out = b1.send(&mut h, &to_a);
    assert!(out[0].attr("error").is_none());
}
