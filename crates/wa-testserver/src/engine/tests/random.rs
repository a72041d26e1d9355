//! Random stanza sequences from devices of several accounts: the engine never panics, answers
//! every stanza with an id, and routes only to existing companions.

use rand_core::Rng as _;

use super::accounts::{World, world};
use super::*;
use crate::state::DeviceKey;

const USERS: [&str; 7] = [
    "15551234567",
    "99887766554433",
    "15550002222",
    "77770002222",
    "15550003333",
    "19990000000",
    "123-456",
];

fn pick<'a, T>(rng: &mut ChaCha20Rng, items: &'a [T]) -> &'a T {
    let i = usize::try_from(rng.next_u32()).unwrap() % items.len();
    &items[i]
}

fn random_jid(rng: &mut ChaCha20Rng) -> Jid {
    let user = *pick(rng, &USERS);
    let device = u16::try_from(rng.next_u32() % 4).unwrap();
    let server = if user.contains('-') {
        Server::Group
    } else {
        pick(rng, &[Server::User, Server::Lid, Server::Group]).clone()
    };
    let group = server == Server::Group;
    let jid = Jid::new(user, server);
    if group { jid } else { jid.with_device(device) }
}

fn random_stanza(rng: &mut ChaCha20Rng, n: usize) -> Node {
    let tag = *pick(rng, &["message", "receipt", "iq", "notification"]);
    let mut b = Node::new(tag).attr("id", format!("r{n}"));
    if !rng.next_u32().is_multiple_of(8) {
        b = b.attr("to", random_jid(rng));
    }
    if rng.next_u32().is_multiple_of(2) {
        let kind = *pick(
            rng,
            &[
                "text",
                "read",
                "read-self",
                "played",
                "retry",
                "sender",
                "inactive",
                "get",
                "set",
                "peer_msg",
                "",
            ],
        );
        b = b.attr("type", kind);
    }
    if rng.next_u32().is_multiple_of(4) {
        b = b.attr("participant", random_jid(rng));
    }
    let mut children = Vec::new();
    match tag {
        "message" => {
            if rng.next_u32().is_multiple_of(2) {
                let tos = (0..rng.next_u32() % 4).map(|_| {
                    Node::new("to")
                        .attr("jid", random_jid(rng))
                        .child(Node::new("enc").attr("type", "msg").bytes(vec![1]).build())
                        .build()
                });
                children.push(Node::new("participants").children(tos).build());
            }
            if rng.next_u32().is_multiple_of(2) {
                children.push(
                    Node::new("enc")
                        .attr("type", "skmsg")
                        .bytes(vec![2])
                        .build(),
                );
            }
            if rng.next_u32().is_multiple_of(3) {
                children.push(Node::new("tctoken").bytes(vec![3; 16]).build());
            }
        }
        "iq" => {
            let xmlns = *pick(rng, &["usync", "encrypt", "privacy", "w:g2", "md"]);
            b = b.attr("xmlns", xmlns);
            let users = (0..rng.next_u32() % 3)
                .map(|_| Node::new("user").attr("jid", random_jid(rng)).build());
            let child = match xmlns {
                "usync" => Node::new("usync")
                    .child(
                        Node::new("query")
                            .child(Node::new("devices").build())
                            .child(Node::new("lid").build())
                            .build(),
                    )
                    .child(Node::new("list").children(users).build())
                    .build(),
                "encrypt" => Node::new("key").children(users).build(),
                "privacy" => Node::new("tokens")
                    .child(Node::new("token").attr("jid", random_jid(rng)).build())
                    .build(),
                _ => Node::new("query").children(users).build(),
            };
            children.push(child);
        }
        _ => {}
    }
    if children.is_empty() {
        b.build()
    } else {
        b.children(children).build()
    }
}

#[test]
fn random_stanzas_from_every_account_never_panic_and_route_to_companions_only() {
    let World {
        mut h,
        a1,
        a2,
        b1,
        b2,
        c1,
    } = world(90);
    let mut clients = [a1, a2, b1, b2, c1];
    let mut rng = ChaCha20Rng::seed_from_u64(91);
    for n in 0..1500 {
        let i = usize::try_from(rng.next_u32()).unwrap() % clients.len();
        let node = random_stanza(&mut rng, n);
        let out = clients[i].send(&mut h, &node);
        if matches!(
            node.tag.as_str(),
            "message" | "receipt" | "iq" | "notification"
        ) {
            assert!(
                out.iter().any(|o| o
                    .attr("id")
                    .is_some_and(|v| v.to_string() == format!("r{n}"))),
                "no answer to {node:?}: {out:?}"
            );
        }
        while let Some(e) = clients[i].conn.poll_effect() {
            if let Effect::Deliver { device, .. } = e {
                assert_ne!(device.device, 0, "nothing is routed to a phone");
                assert!(h.state.device(device).is_some(), "{device:?}");
            }
        }
        for (k, q) in h.state.accounts.iter().enumerate() {
            for d in q.offline_queue.keys() {
                assert!(h.state.device(DeviceKey::new(k, *d)).is_some());
            }
        }
    }
}
