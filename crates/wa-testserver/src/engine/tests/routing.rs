//! Sans-IO tests of message and receipt routing between the account's devices.

use super::*;

fn effects(c: &mut Client) -> Vec<Effect> {
    let mut out = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        out.push(e);
    }
    out
}

fn dk(d: u16) -> crate::state::DeviceKey {
    crate::state::DeviceKey::new(0, d)
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

/// A fanout message from a companion to `to` addressed to the listed devices.
fn fanout(id: &str, to: &str, devices: &[&str]) -> Node {
    let tos = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Node::new("to")
                .attr("jid", jid(d))
                .child(
                    Node::new("enc")
                        .attr("v", "2")
                        .attr("type", "pkmsg")
                        .bytes(vec![u8::try_from(i).unwrap(); 8])
                        .build(),
                )
                .build()
        })
        .collect::<Vec<_>>();
    Node::new("message")
        .attr("id", id)
        .attr("type", "text")
        .attr("to", jid(to))
        .child(Node::new("participants").children(tos).build())
        .child(Node::new("device-identity").bytes(vec![9; 4]).build())
        .child(Node::new("tctoken").bytes(vec![1; 4]).build())
        .build()
}

/// Pairs two companions (devices 1 and 2) and returns their noise keys.
fn two_devices(h: &mut Harness) -> (KeyPair, KeyPair) {
    let (_, k1, _, _) = pair(h, false);
    let (_, k2, _, _) = pair(h, false);
    assert_eq!(h.state.accounts[0].devices.len(), 2);
    (k1, k2)
}

#[test]
fn fanout_message_reaches_the_online_device_rewritten_and_the_sender_is_acked() {
    let mut h = Harness::new(40);
    let (k1, k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    let (mut c2, _) = h.connect(k2, &login(2));
    effects(&mut c1);
    effects(&mut c2);

    let msg = fanout(
        "M1",
        "15551234567@s.whatsapp.net",
        &[
            "15551234567:0@s.whatsapp.net",
            "15551234567:2@s.whatsapp.net",
        ],
    );
    let out = c1.send(&mut h, &msg);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].tag, "ack");
    assert_eq!(attr(&out[0], "class"), "message");
    assert_eq!(attr(&out[0], "id"), "M1");
    assert_eq!(attr(&out[0], "t"), (NOW / 1000).to_string());

    let mut fx = effects(&mut c1);
    assert_eq!(
        fx.len(),
        1,
        "only device 2 is routed to (the phone is simulated)"
    );
    let Some(Effect::Deliver { conn, device, node }) = fx.pop() else {
        panic!("expected a delivery");
    };
    assert_eq!((conn, device), (c2.conn.id(), dk(2)));
    assert_eq!(node.tag, "message");
    assert_eq!(
        node.attr("from").unwrap().to_string(),
        "15551234567:1@s.whatsapp.net"
    );
    assert_eq!(
        node.attr("recipient").unwrap().to_string(),
        "15551234567@s.whatsapp.net"
    );
    assert_eq!(
        node.attr("sender_lid").unwrap().to_string(),
        "99887766554433:1@lid"
    );
    assert_eq!(attr(&node, "id"), "M1");
    assert_eq!(attr(&node, "type"), "text");
    assert_eq!(attr(&node, "notify"), "Phone");
    assert_eq!(attr(&node, "t"), (NOW / 1000).to_string());
    assert!(node.attr("to").is_none());
    let tags: Vec<&str> = node.children().iter().map(|c| c.tag.as_str()).collect();
    assert_eq!(tags, ["enc", "device-identity"]);
    // Device 2 gets its own ciphertext (the second `to`), not the phone's.
    assert_eq!(node.children()[0].bytes().unwrap(), &[1u8; 8]);
    assert_eq!(attr(&node.children()[0], "type"), "pkmsg");

    c2.conn
        .handle_deliver(dk(2), node.clone(), &mut h.state)
        .unwrap();
    assert_eq!(c2.recv(), vec![node]);
}

#[test]
fn offline_device_gets_queued_messages_in_order_before_the_offline_marker() {
    let mut h = Harness::new(41);
    let (k1, k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    for id in ["A", "B", "C"] {
        let out = c1.send(
            &mut h,
            &fanout(
                id,
                "15551234567@s.whatsapp.net",
                &["15551234567:2@s.whatsapp.net"],
            ),
        );
        assert_eq!(attr(&out[0], "id"), id);
    }
    assert!(
        effects(&mut c1)
            .iter()
            .all(|e| !matches!(e, Effect::Deliver { .. }))
    );
    assert_eq!(h.state.queued(dk(2)), 3);

    let (mut c2, first) = h.connect(k2, &login(2));
    let tags: Vec<&str> = first.iter().map(|n| n.tag.as_str()).collect();
    assert_eq!(tags, ["success", "message", "message", "message"]);
    let ids: Vec<&str> = first[1..].iter().map(|n| attr(n, "id")).collect();
    assert_eq!(ids, ["A", "B", "C"]);
    assert_eq!(h.state.queued(dk(2)), 0);
    let at = c2.conn.poll_timeout().unwrap();
    c2.conn.handle_timeout(at).unwrap();
    let marker = c2.recv();
    assert_eq!(attr(marker[0].child("offline").unwrap(), "count"), "3");
}

#[test]
fn receipts_go_to_the_other_devices_and_are_acked() {
    let mut h = Harness::new(42);
    let (k1, k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    let (mut c2, _) = h.connect(k2, &login(2));
    effects(&mut c1);
    effects(&mut c2);
    let receipt = Node::new("receipt")
        .attr("id", "M1")
        .attr("type", "read")
        .attr("to", jid("15551234567@s.whatsapp.net"))
        .child(
            Node::new("list")
                .child(Node::new("item").attr("id", "M0").build())
                .build(),
        )
        .build();
    let out = c2.send(&mut h, &receipt);
    assert_eq!(attr(&out[0], "class"), "receipt");
    assert_eq!(attr(&out[0], "type"), "read");
    let fx = effects(&mut c2);
    assert_eq!(fx.len(), 1);
    let Effect::Deliver { conn, device, node } = &fx[0] else {
        panic!("expected a delivery");
    };
    assert_eq!((*conn, *device), (c1.conn.id(), dk(1)));
    assert_eq!(node.tag, "receipt");
    assert_eq!(
        node.attr("from").unwrap().to_string(),
        "15551234567:2@s.whatsapp.net"
    );
    assert_eq!(attr(node, "type"), "read");
    assert_eq!(attr(node, "id"), "M1");
    assert!(node.attr("notify").is_none());
    assert_eq!(node.child("list").unwrap().children().len(), 1);
}

#[test]
fn unknown_recipients_are_acked_and_dropped_and_stale_deliveries_are_queued() {
    let mut h = Harness::new(43);
    let (k1, _k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    effects(&mut c1);
    let out = c1.send(
        &mut h,
        &fanout(
            "X",
            "19998887777@s.whatsapp.net",
            &["19998887777:0@s.whatsapp.net"],
        ),
    );
    assert_eq!(attr(&out[0], "class"), "message");
    assert!(effects(&mut c1).is_empty());
    assert_eq!(h.state.queued(dk(2)), 0);

    // A delivery meant for device 2 reaching device 1's connection is kept for device 2.
    let node = Node::new("message").attr("id", "late").build();
    c1.conn.handle_deliver(dk(2), node, &mut h.state).unwrap();
    assert!(c1.recv().is_empty());
    assert_eq!(h.state.queued(dk(2)), 1);
    // A removed device's queue goes with it.
    h.state.remove_device(dk(2));
    assert_eq!(h.state.queued(dk(2)), 0);
}

#[test]
fn pairing_and_removal_are_announced_as_device_notifications() {
    let mut h = Harness::new(44);
    let (_, k1, _, _) = pair(&mut h, false);
    let (mut c1, _) = h.connect(k1.clone(), &login(1));
    effects(&mut c1);
    // Device 2 pairs while device 1 is online: device 1 gets <add>.
    let (_, k2, fx, _) = pair(&mut h, false);
    let add = fx
        .iter()
        .find_map(|e| match e {
            Effect::Deliver { conn, device, node } if *conn == c1.conn.id() && *device == dk(1) => {
                Some(node.clone())
            }
            _ => None,
        })
        .expect("device 1 is told about device 2");
    assert_eq!(attr(&add, "type"), "devices");
    assert_eq!(
        add.attr("from").unwrap().to_string(),
        "15551234567@s.whatsapp.net"
    );
    let dev = add.child("add").unwrap().child("device").unwrap();
    assert_eq!(
        dev.attr("jid").unwrap().to_string(),
        "15551234567:2@s.whatsapp.net"
    );
    assert_eq!(dev.attr("lid").unwrap().to_string(), "99887766554433:2@lid");
    assert!(matches!(fx.last(), Some(Effect::Paired(_))));

    // Device 1 goes offline; device 2 is removed: device 1 finds <remove> on its next login.
    c1.conn.handle_closed(&mut h.state);
    h.state.remove_device(dk(2));
    let online = announce_device_change(&mut h.state, DeviceChange::Removed, dk(2), NOW);
    assert!(online.is_empty());
    drop(k2);
    let (_, first) = h.connect(k1, &login(1));
    let n = &first[1];
    assert_eq!(attr(n, "type"), "devices");
    let dev = n.child("remove").unwrap().child("device").unwrap();
    assert_eq!(
        dev.attr("jid").unwrap().to_string(),
        "15551234567:2@s.whatsapp.net"
    );
    assert_ne!(attr(n, "id"), attr(&add, "id"));
}

#[test]
fn fetching_prekeys_down_to_the_low_mark_notifies_the_owner() {
    let mut h = Harness::new(45);
    let (k1, _k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    effects(&mut c1);
    {
        let d2 = h.state.accounts[0].devices.get_mut(&2).unwrap();
        d2.registration_id = Some(7);
        d2.signed_pre_key = Some(crate::state::SignedPreKey {
            id: 1,
            public: [3; 32],
            signature: [4; 64],
        });
        d2.pre_keys = (1..=5)
            .map(|i| (i, [u8::try_from(i).unwrap(); 32]))
            .collect();
    }
    h.state.accounts[0].offline_queue.clear();
    let fetch = |n: usize| {
        iq(
            &format!("f{n}"),
            "encrypt",
            "get",
            vec![
                Node::new("key")
                    .child(
                        Node::new("user")
                            .attr("jid", jid("15551234567:2@s.whatsapp.net"))
                            .build(),
                    )
                    .build(),
            ],
        )
    };
    let mut counts = Vec::new();
    for n in 0..6 {
        let r = c1.send(&mut h, &fetch(n));
        assert_eq!(attr(&r[0], "type"), "result");
        counts.push(h.state.queued(dk(2)));
    }
    // Crossing below 5 (4 left) and running out (0 left) each queue one notification.
    assert_eq!(counts, [1, 1, 1, 1, 2, 2]);
    let q = &h.state.accounts[0].offline_queue[&2];
    let values: Vec<String> = q
        .iter()
        .map(|q| {
            let n = q.node().unwrap();
            assert_eq!(attr(&n, "type"), "encrypt");
            attr(n.child("count").unwrap(), "value").to_owned()
        })
        .collect();
    assert_eq!(values, ["4", "0"]);

    // The owner's own connection gets it directly.
    h.state.accounts[0]
        .devices
        .get_mut(&1)
        .unwrap()
        .registration_id = Some(8);
    h.state.accounts[0]
        .devices
        .get_mut(&1)
        .unwrap()
        .signed_pre_key = h.state.accounts[0].devices[&2].signed_pre_key.clone();
    h.state.accounts[0].devices.get_mut(&1).unwrap().pre_keys =
        [(1, [1; 32])].into_iter().collect();
    let own = iq(
        "own",
        "encrypt",
        "get",
        vec![
            Node::new("key")
                .child(
                    Node::new("user")
                        .attr("jid", jid("15551234567:1@s.whatsapp.net"))
                        .build(),
                )
                .build(),
        ],
    );
    let r = c1.send(&mut h, &own);
    assert_eq!(r.len(), 2);
    assert_eq!(attr(&r[1], "type"), "encrypt");
    assert_eq!(attr(r[1].child("count").unwrap(), "value"), "0");
}

#[test]
fn required_privacy_tokens_refuse_messages_without_one_with_463() {
    let mut h = Harness::new(46);
    let (k1, _k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    effects(&mut c1);
    h.state.accounts[0].offline_queue.clear();
    h.state.faults.require_tctoken = true;
    let mut without = fanout(
        "N",
        "15551234567@s.whatsapp.net",
        &["15551234567:2@s.whatsapp.net"],
    );
    if let Content::Nodes(children) = &mut without.content {
        children.retain(|c| c.tag != "tctoken");
    }
    let out = c1.send(&mut h, &without);
    assert_eq!(attr(&out[0], "class"), "message");
    assert_eq!(attr(&out[0], "id"), "N");
    assert_eq!(attr(&out[0], "error"), "463");
    assert_eq!(h.state.queued(dk(2)), 0);

    let with = fanout(
        "Y",
        "15551234567@s.whatsapp.net",
        &["15551234567:2@s.whatsapp.net"],
    );
    let out = c1.send(&mut h, &with);
    assert!(out[0].attr("error").is_none());
    assert_eq!(h.state.queued(dk(2)), 1);
    // The token is for the server: the recipient does not see it.
    assert!(
        h.state.accounts[0].offline_queue[&2][0]
            .node()
            .unwrap()
            .child("tctoken")
            .is_none()
    );
}

#[test]
fn privacy_token_iq_is_answered_and_issues_a_token_notification() {
    let mut h = Harness::new(47);
    let (k1, _k2) = two_devices(&mut h);
    let (mut c1, _) = h.connect(k1, &login(1));
    effects(&mut c1);
    h.state.accounts[0].offline_queue.clear();
    let req = iq(
        "pt",
        "privacy",
        "set",
        vec![
            Node::new("tokens")
                .child(
                    Node::new("token")
                        .attr("jid", jid("15551234567@s.whatsapp.net"))
                        .attr("t", "1")
                        .attr("type", "trusted_contact")
                        .build(),
                )
                .build(),
        ],
    );
    let out = c1.send(&mut h, &req);
    assert_eq!(attr(&out[0], "type"), "result");
    assert_eq!(attr(&out[0], "id"), "pt");
    let n = &h.state.accounts[0].offline_queue[&2][0].node().unwrap();
    assert_eq!(attr(n, "type"), "privacy_token");
    let token = n.child("tokens").unwrap().child("token").unwrap();
    assert_eq!(attr(token, "type"), "trusted_contact");
    assert_eq!(token.bytes().unwrap().len(), 16);
}
