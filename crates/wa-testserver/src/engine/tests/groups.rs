//! Sans-IO tests of the group hook: `w:g2` IQs answered by the registry with notifications
//! to every companion of every member, and group messages fanned out, refused or acked with
//! the current `phash`; status posts (`status@broadcast`) fanned out to their audience.

use wa_binary::Jid;
use wa_groups::{
    CreateGroup, GroupChange, IqRequest, LeaveGroups, SetAnnounce, parse_group_notification,
};

use super::accounts::{World, world};
use super::*;

const A_PN: &str = "15551234567";
const A_LID: &str = "99887766554433";
const B_PN: &str = "15550002222";
const B_LID: &str = "77770002222";
const C_PN: &str = "15550003333";

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn effects(c: &mut Client) -> Vec<(DeviceKey, Node)> {
    let mut out = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            out.push((device, node));
        }
    }
    out
}

/// Sends `req` from `c` with id `id`; returns the reply, what `c` got besides it, and the
/// deliveries to other connections.
fn ask<R: IqRequest>(
    w: &mut World,
    who: fn(&mut World) -> &mut Client,
    req: &R,
) -> (R::Response, Vec<Node>, Vec<(DeviceKey, Node)>)
where
    R::Response: std::fmt::Debug,
{
    let mut iq = req.build();
    iq.attrs.insert("id", "g1");
    let mut h = std::mem::replace(&mut w.h, Harness::new(0));
    let got = who(w).send(&mut h, &iq);
    w.h = h;
    let (replies, others): (Vec<Node>, Vec<Node>) = got.into_iter().partition(|n| n.tag == "iq");
    assert_eq!(replies.len(), 1, "{replies:?}");
    let res = req.parse(&replies[0]).unwrap();
    (res, others, effects(who(w)))
}

fn send(
    w: &mut World,
    who: fn(&mut World) -> &mut Client,
    node: &Node,
) -> (Vec<Node>, Vec<(DeviceKey, Node)>) {
    let mut h = std::mem::replace(&mut w.h, Harness::new(0));
    let got = who(w).send(&mut h, node);
    w.h = h;
    (got, effects(who(w)))
}

fn a1(w: &mut World) -> &mut Client {
    &mut w.a1
}

fn b1(w: &mut World) -> &mut Client {
    &mut w.b1
}

fn c1(w: &mut World) -> &mut Client {
    &mut w.c1
}

fn enc(kind: &str, byte: u8) -> Node {
    Node::new("enc")
        .attr("v", "2")
        .attr("type", kind)
        .bytes(vec![byte; 4])
        .build()
}

fn group_message(id: &str, group: &Jid, to: &[(&str, u8)], phash: &str) -> Node {
    let tos = to.iter().map(|(d, b)| {
        Node::new("to")
            .attr("jid", jid(d))
            .child(enc("pkmsg", *b))
            .build()
    });
    Node::new("message")
        .attr("id", id)
        .attr("type", "text")
        .attr("to", group)
        .attr("phash", phash)
        .child(Node::new("participants").children(tos).build())
        .child(enc("skmsg", 9))
        .build()
}

fn attr(n: &Node, k: &str) -> String {
    n.attr(k).map(|v| v.to_string()).unwrap_or_default()
}

#[test]
fn group_iq_replies_and_notifies_every_companion_of_every_member() {
    let mut w = world(80);
    let req = CreateGroup::new("Team")
        .key("K1")
        .participant(jid(&format!("{B_PN}@s.whatsapp.net")))
        .participant(jid(&format!("{}@lid", "66660003333")));
    let (info, own, delivered) = ask(&mut w, a1, &req);
    assert_eq!(info.subject, "Team");
    assert_eq!(info.participants.len(), 3);
    assert_eq!(info.owner_pn, Some(jid(&format!("{A_PN}@s.whatsapp.net"))));
    assert_eq!(info.owner, Some(jid(&format!("{A_LID}@lid"))));
    // The creating device gets the notification too, on its own connection.
    assert_eq!(own.len(), 1);
    let n = parse_group_notification(&own[0]).unwrap();
    assert!(
        matches!(&n.changes[..], [GroupChange::Created { key, .. }] if key.as_deref() == Some("K1"))
    );
    let mut to: Vec<DeviceKey> = delivered.iter().map(|(k, _)| *k).collect();
    to.sort_by_key(|k| (k.account, k.device));
    assert_eq!(
        to,
        [
            DeviceKey::new(0, 2),
            DeviceKey::new(1, 1),
            DeviceKey::new(1, 2),
            DeviceKey::new(2, 1)
        ]
    );
    assert!(delivered.iter().all(|(_, node)| *node == own[0]));
}

#[test]
fn group_messages_fan_out_with_participant_and_own_enc() {
    let mut w = world(81);
    let b = jid(&format!("{B_PN}@s.whatsapp.net"));
    let c = jid(&format!("{C_PN}@s.whatsapp.net"));
    let (info, _, _) = ask(
        &mut w,
        a1,
        &CreateGroup::new("Team").participant(b).participant(c),
    );
    let g = info.jid.clone();

    // a1 distributes its sender key to b1 only (pkmsg) and sends the skmsg to everyone.
    let msg = group_message("M1", &g, &[(&format!("{B_LID}:1@lid"), 1)], "2:stale000");
    let (got, delivered) = send(&mut w, a1, &msg);
    let ack = got.iter().find(|n| n.tag == "ack").expect("acked");
    assert_eq!(attr(ack, "class"), "message");
    assert_eq!(attr(ack, "id"), "M1");
    assert_eq!(attr(ack, "from"), g.to_string());
    assert!(ack.attr("error").is_none());
    // The sender's phash was stale: the ack tells the current one.
    let phash = attr(ack, "phash");
    assert!(phash.starts_with("2:") && phash != "2:stale000", "{phash}");

    let mut to: Vec<DeviceKey> = delivered.iter().map(|(k, _)| *k).collect();
    to.sort_by_key(|k| (k.account, k.device));
    assert_eq!(
        to,
        [
            DeviceKey::new(0, 2),
            DeviceKey::new(1, 1),
            DeviceKey::new(1, 2),
            DeviceKey::new(2, 1)
        ]
    );
    for (key, m) in &delivered {
        assert_eq!(attr(m, "from"), g.to_string());
        assert_eq!(attr(m, "participant"), format!("{A_LID}:1@lid"));
        assert_eq!(
            attr(m, "participant_pn"),
            format!("{A_PN}:1@s.whatsapp.net")
        );
        assert_eq!(attr(m, "addressing_mode"), "lid");
        assert_eq!(attr(m, "id"), "M1");
        assert!(m.attr("phash").is_none() && m.child("participants").is_none());
        let kinds: Vec<String> = m.children().iter().map(|e| attr(e, "type")).collect();
        if *key == DeviceKey::new(1, 1) {
            assert_eq!(kinds, ["pkmsg", "skmsg"]);
        } else {
            assert_eq!(kinds, ["skmsg"]);
        }
    }

    // With the right phash, the ack carries none.
    let msg = group_message("M2", &g, &[], &phash);
    let (got, _) = send(&mut w, a1, &msg);
    let ack = got.iter().find(|n| n.tag == "ack").unwrap();
    assert!(ack.attr("phash").is_none());
}

#[test]
fn announce_mode_and_membership_are_enforced_on_group_messages() {
    let mut w = world(82);
    let b = jid(&format!("{B_PN}@s.whatsapp.net"));
    let c = jid(&format!("{C_PN}@s.whatsapp.net"));
    let (info, _, _) = ask(
        &mut w,
        a1,
        &CreateGroup::new("News").participant(b).participant(c),
    );
    let g = info.jid.clone();
    ask(
        &mut w,
        a1,
        &SetAnnounce {
            group: g.clone(),
            announce: true,
        },
    );

    let (got, delivered) = send(&mut w, b1, &group_message("B1", &g, &[], "x"));
    assert!(delivered.is_empty());
    let ack = got.iter().find(|n| n.tag == "ack").unwrap();
    assert_eq!(attr(ack, "error"), "401");

    // Admins still post.
    let (got, delivered) = send(&mut w, a1, &group_message("A1", &g, &[], "x"));
    assert!(
        got.iter()
            .any(|n| n.tag == "ack" && n.attr("error").is_none())
    );
    assert_eq!(delivered.len(), 4);

    // A member who left cannot post (403) and gets nothing more.
    ask(&mut w, c1, &LeaveGroups::one(g.clone()));
    let (got, delivered) = send(&mut w, c1, &group_message("C1", &g, &[], "x"));
    assert!(delivered.is_empty());
    assert_eq!(
        attr(got.iter().find(|n| n.tag == "ack").unwrap(), "error"),
        "403"
    );
    let (_, delivered) = send(&mut w, a1, &group_message("A2", &g, &[], "x"));
    assert!(delivered.iter().all(|(k, _)| k.account != 2));
}

#[test]
fn group_receipts_reach_the_senders_companions() {
    let mut w = world(83);
    let b = jid(&format!("{B_PN}@s.whatsapp.net"));
    let (info, _, _) = ask(&mut w, a1, &CreateGroup::new("Team").participant(b));
    let g = info.jid.clone();
    let receipt = Node::new("receipt")
        .attr("id", "M1")
        .attr("to", &g)
        .attr("participant", jid(&format!("{A_LID}:1@lid")))
        .attr("type", "read")
        .build();
    let (got, delivered) = send(&mut w, b1, &receipt);
    assert!(
        got.iter()
            .any(|n| n.tag == "ack" && attr(n, "class") == "receipt")
    );
    let mut to: Vec<DeviceKey> = delivered.iter().map(|(k, _)| *k).collect();
    to.sort_by_key(|k| (k.account, k.device));
    assert_eq!(to, [DeviceKey::new(0, 1), DeviceKey::new(0, 2)]);
    for (_, r) in &delivered {
        assert_eq!(attr(r, "from"), g.to_string());
        assert_eq!(attr(r, "participant"), format!("{B_LID}:1@lid"));
        assert_eq!(
            (attr(r, "id"), attr(r, "type")),
            ("M1".into(), "read".into())
        );
        assert!(r.attr("to").is_none());
    }
    // A non-member's receipt is acked and dropped.
    let (got, delivered) = send(&mut w, c1, &receipt);
    assert!(got.iter().any(|n| n.tag == "ack"));
    assert!(delivered.is_empty());
}

#[test]
fn a_status_post_reaches_its_audience_and_a_resend_only_the_device_it_names() {
    let mut w = world(11);
    let status = Jid::new("status", wa_binary::Server::Broadcast);
    // A's post names B's first device (the sender key distribution): B's companions and A's
    // other companion get it, C (never named) does not.
    let mut post = group_message(
        "S1",
        &status,
        &[(&format!("{B_PN}:1@s.whatsapp.net"), 1)],
        "",
    );
    post.attrs.remove("phash");
    let (acks, out) = send(&mut w, a1, &post);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(attr(&acks[0], "from"), "status@broadcast");
    assert!(acks[0].attr("phash").is_none());
    let mut got: Vec<(u16, usize)> = out
        .iter()
        .map(|(k, n)| {
            assert_eq!(attr(n, "from"), "status@broadcast");
            assert_eq!(attr(n, "participant"), format!("{A_PN}:1@s.whatsapp.net"));
            (k.device, n.children_by_tag("enc").count())
        })
        .collect();
    got.sort_unstable();
    let accounts: Vec<usize> = out.iter().map(|(k, _)| k.account).collect();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(!accounts.contains(&2), "Carol got a status: {out:?}");
    // B1: its pkmsg and the skmsg; B2 and A2: the skmsg only.
    assert_eq!(
        got.iter().filter(|(_, encs)| *encs == 2).count(),
        1,
        "{got:?}"
    );

    // A's resend answering B2's retry receipt goes to B2 alone.
    let resend = Node::new("message")
        .attr("id", "S1")
        .attr("type", "text")
        .attr("to", status.clone())
        .attr("participant", jid(&format!("{B_PN}:2@s.whatsapp.net")))
        .child(enc("pkmsg", 7))
        .build();
    let (_, out) = send(&mut w, a1, &resend);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0.device, 2);
    assert_ne!(out[0].0.account, 0);
    assert_eq!(out[0].1.children_by_tag("enc").count(), 1);

    // A resend naming a device outside the audience is dropped.
    let mut stray = resend.clone();
    stray
        .attrs
        .insert("participant", jid(&format!("{C_PN}:1@s.whatsapp.net")));
    let (_, out) = send(&mut w, a1, &stray);
    assert!(out.is_empty(), "{out:?}");
}
