//! Sans-IO tests of profiles: about texts and pictures, their refusals, privacy and who is told.

use super::accounts::{World, world};
use super::*;
use crate::state::DeviceKey;

const A_PN: &str = "15551234567";
const B_PN: &str = "15550002222";

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn s(n: &Node, k: &str) -> String {
    n.attr(k).map(|v| v.to_string()).unwrap_or_default()
}

fn error_code(reply: &Node) -> String {
    reply
        .child("error")
        .map(|e| s(e, "code"))
        .unwrap_or_default()
}

fn told(c: &mut Client) -> Vec<(DeviceKey, Node)> {
    let mut out = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        if let Effect::Deliver { device, node, .. } = e {
            out.push((device, node));
        }
    }
    out
}

fn picture_set(target: Option<&str>, picture: Option<Node>) -> Node {
    let mut b = Node::new("iq")
        .attr("id", "p1")
        .attr("xmlns", "w:profile:picture")
        .attr("type", "set");
    if let Some(t) = target {
        b = b.attr("target", jid(t));
    }
    if let Some(p) = picture {
        b = b.child(p);
    }
    b.build()
}

fn picture_get(target: &str, kind: &str, id: Option<&str>) -> Node {
    let mut p = Node::new("picture").attr("query", "url").attr("type", kind);
    if let Some(id) = id {
        p = p.attr("id", id);
    }
    Node::new("iq")
        .attr("id", "g1")
        .attr("xmlns", "w:profile:picture")
        .attr("type", "get")
        .attr("target", jid(target))
        .child(p.build())
        .build()
}

fn image(bytes: &[u8]) -> Node {
    Node::new("picture")
        .attr("type", "image")
        .bytes(bytes.to_vec())
        .build()
}

#[test]
fn pictures_are_stored_served_and_announced_to_every_other_companion() {
    let World {
        mut h,
        mut a1,
        mut b1,
        ..
    } = world(90);
    h.state.media.set_host("127.0.0.1:9".into());
    let a = format!("{A_PN}@s.whatsapp.net");
    let b = format!("{B_PN}@s.whatsapp.net");

    let r = b1.send(&mut h, &picture_get(&a, "image", None));
    assert_eq!(error_code(&r[0]), "404", "no picture yet");
    let r = a1.send(&mut h, &picture_set(None, Some(image(b""))));
    assert_eq!(error_code(&r[0]), "400", "an empty picture");
    let r = a1.send(&mut h, &picture_set(Some(&b), Some(image(b"x"))));
    assert_eq!(error_code(&r[0]), "403", "another account's picture");
    let r = a1.send(
        &mut h,
        &picture_set(Some("19990000000@s.whatsapp.net"), None),
    );
    assert_eq!(error_code(&r[0]), "404", "an unknown account");
    assert!(told(&mut a1).is_empty());

    let preview = Node::new("picture")
        .attr("type", "preview")
        .bytes(b"small".to_vec())
        .build();
    let set = Node::new("iq")
        .attr("id", "p2")
        .attr("xmlns", "w:profile:picture")
        .attr("type", "set")
        .child(image(b"\xff\xd8big"))
        .child(preview)
        .build();
    let r = a1.send(&mut h, &set);
    assert_eq!(s(&r[0], "type"), "result");
    let id = s(r[0].child("picture").unwrap(), "id");
    assert!(!id.is_empty());
    let mut targets: Vec<DeviceKey> = told(&mut a1)
        .into_iter()
        .map(|(d, n)| {
            assert_eq!(s(&n, "type"), "picture");
            let change = n.child("set").unwrap();
            assert_eq!(s(change, "jid"), a);
            assert_eq!(s(change, "id"), id);
            d
        })
        .collect();
    targets.sort();
    // A2, B1, B2 and C1; never the setting device or a phone.
    assert_eq!(
        targets,
        [
            DeviceKey::new(0, 2),
            DeviceKey::new(1, 1),
            DeviceKey::new(1, 2),
            DeviceKey::new(2, 1)
        ]
    );

    for (kind, body) in [("image", &b"\xff\xd8big"[..]), ("preview", b"small")] {
        let r = b1.send(&mut h, &picture_get(&a, kind, None));
        let p = r[0].child("picture").unwrap();
        assert_eq!(s(p, "id"), id);
        assert_eq!(s(p, "type"), kind);
        assert_eq!(
            s(p, "url"),
            format!("http://127.0.0.1:9{}", s(p, "direct_path"))
        );
        assert_eq!(h.state.media.blob(&s(p, "direct_path")), Some(body));
    }
    let r = b1.send(&mut h, &picture_get(&a, "image", Some(&id)));
    assert_eq!(s(r[0].child("picture").unwrap(), "status"), "304");

    // Hidden by the profile setting; the owner still sees it.
    h.state
        .privacy
        .entry(0)
        .or_default()
        .insert("profile".into(), "none".into());
    let r = b1.send(&mut h, &picture_get(&a, "image", None));
    assert_eq!(error_code(&r[0]), "401");
    let r = a1.send(&mut h, &picture_get(&a, "image", None));
    assert_eq!(s(r[0].child("picture").unwrap(), "id"), id);
    h.state.privacy.clear();

    // Removal: the files go and everyone is told.
    let path = s(
        b1.send(&mut h, &picture_get(&a, "image", None))[0]
            .child("picture")
            .unwrap(),
        "direct_path",
    );
    let r = a1.send(&mut h, &picture_set(None, None));
    assert_eq!(s(&r[0], "type"), "result");
    let told = told(&mut a1);
    assert_eq!(told.len(), 4);
    assert!(told.iter().all(|(_, n)| n.child("delete").is_some()));
    assert_eq!(h.state.media.blob(&path), None);
    let r = b1.send(&mut h, &picture_get(&a, "preview", None));
    assert_eq!(error_code(&r[0]), "404");
}

#[test]
fn about_texts_are_stored_announced_and_hidden_by_the_status_setting() {
    let World {
        mut h,
        mut a1,
        mut b1,
        ..
    } = world(91);
    let a = format!("{A_PN}@s.whatsapp.net");
    let set = Node::new("iq")
        .attr("id", "s1")
        .attr("xmlns", "status")
        .attr("type", "set")
        .child(
            Node::new("status")
                .bytes("Busy ⏳".as_bytes().to_vec())
                .build(),
        )
        .build();
    let r = a1.send(&mut h, &set);
    assert_eq!(s(&r[0], "type"), "result");
    let told = told(&mut a1);
    assert_eq!(told.len(), 4);
    for (_, n) in &told {
        assert_eq!(s(n, "type"), "status");
        assert_eq!(s(n, "from"), a);
        assert_eq!(
            n.child("set").and_then(Node::bytes),
            Some("Busy ⏳".as_bytes())
        );
    }
    let bad = Node::new("iq")
        .attr("id", "s2")
        .attr("xmlns", "status")
        .attr("type", "set")
        .build();
    assert_eq!(error_code(&a1.send(&mut h, &bad)[0]), "400");

    let query = Node::new("iq")
        .attr("id", "u1")
        .attr("xmlns", "usync")
        .attr("type", "get")
        .child(
            Node::new("usync")
                .child(
                    Node::new("query")
                        .child(Node::new("status").build())
                        .child(Node::new("picture").build())
                        .build(),
                )
                .child(
                    Node::new("list")
                        .child(Node::new("user").attr("jid", jid(&a)).build())
                        .build(),
                )
                .build(),
        )
        .build();
    let user = |r: &[Node]| r[0].child_path(&["usync", "list", "user"]).unwrap().clone();
    let seen = user(&b1.send(&mut h, &query));
    let status = seen.child("status").unwrap();
    assert_eq!(status.bytes(), Some("Busy ⏳".as_bytes()));
    assert_eq!(s(status, "t"), (NOW / 1000).to_string());
    assert!(seen.child("picture").unwrap().attr("id").is_none());

    h.state
        .privacy
        .entry(0)
        .or_default()
        .insert("status".into(), "none".into());
    let hidden = user(&b1.send(&mut h, &query));
    assert_eq!(s(hidden.child("status").unwrap(), "code"), "401");
    assert_eq!(hidden.child("status").unwrap().bytes(), None);
    let own = user(&a1.send(&mut h, &query));
    assert_eq!(
        own.child("status").unwrap().bytes(),
        Some("Busy ⏳".as_bytes())
    );
}
