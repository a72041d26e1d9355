//! Sans-IO tests of call routing: the form of `from`, answers copied to the answering
//! account's other companions, tokens dropped, the phones' log, acks both ways.

use super::*;
use crate::phone::Phone;
use crate::state::{Account, DeviceKey};

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn effects(c: &mut Client) -> Vec<Effect> {
    let mut out = Vec::new();
    while let Some(e) = c.conn.poll_effect() {
        out.push(e);
    }
    out
}

fn call_to(id: &str, to: &str, child: Node) -> Node {
    Node::new("call")
        .attr("id", id)
        .attr("from", jid("15551234567:1@s.whatsapp.net"))
        .attr("to", jid(to))
        .child(child)
        .build()
}

#[test]
fn calls_are_routed_rewritten_acked_and_logged() {
    let mut h = Harness::new(41);
    let bob = h
        .state
        .add_account(
            Account {
                phone_number: "15550002222".into(),
                lid: "77770002222".into(),
                push_name: "Bob".into(),
                created: 2,
            },
            Phone::new(KeyPair::generate(&mut h.rng)),
        )
        .unwrap();
    let (_, k1, _, _) = pair(&mut h, false);
    let (_, k2, _, _) = pair(&mut h, false);
    let (mut c1, _) = h.connect(k1, &login(1));
    let (mut c2, _) = h.connect(k2, &login(2));
    effects(&mut c1);
    effects(&mut c2);

    // Device 1 rejects Bob's call, addressing Bob by phone number, with a privacy token.
    let reject = Node::new("reject")
        .attr("call-id", "C1")
        .attr("call-creator", jid("15550002222@s.whatsapp.net"))
        .attr("count", "0")
        .child(Node::new("tctoken").bytes(vec![7; 4]).build())
        .build();
    let out = c1.send(&mut h, &call_to("R1", "15550002222@s.whatsapp.net", reject));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        out[0].to_xml(),
        r#"<ack class="call" id="R1" from="15550002222@s.whatsapp.net" type="reject"/>"#
    );
    // Our other companion stops ringing: it gets the reject, from device 1 in PN form.
    let fx = effects(&mut c1);
    let [Effect::Deliver { conn, device, node }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!((*conn, *device), (c2.conn.id(), DeviceKey::new(0, 2)));
    assert_eq!(
        node.attr("from").unwrap().to_string(),
        "15551234567:1@s.whatsapp.net"
    );
    assert_eq!(
        node.attr("t").unwrap().as_str(),
        Some((NOW / 1000).to_string().as_str())
    );
    assert!(node.attr("platform").is_some() && node.attr("version").is_some());
    assert!(node.attr("to").is_none());
    let child = &node.children()[0];
    assert_eq!(child.tag, "reject");
    assert!(child.children().is_empty(), "the token is for the server");
    // Bob's phone (his only device) got it too.
    let phone = &h.state.calls.to_phone[&bob];
    assert_eq!(phone.len(), 1);
    assert_eq!(phone[0].attr("id"), node.attr("id"));

    // Device 2 acks it: recorded.
    c2.conn
        .handle_deliver(DeviceKey::new(0, 2), node.clone(), &mut h.state)
        .unwrap();
    c2.recv();
    let id = node.attr("id").unwrap().as_str().unwrap().to_owned();
    let ack = Node::new("ack")
        .attr("class", "call")
        .attr("id", id.clone())
        .attr("to", jid("15551234567:1@s.whatsapp.net"))
        .build();
    assert!(c2.send(&mut h, &ack).is_empty());
    let acks: Vec<_> = h.state.calls.acks.iter().cloned().collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(
        (acks[0].device.to_string().as_str(), acks[0].id.as_str()),
        ("15551234567:2@s.whatsapp.net", id.as_str())
    );
    let delivered: Vec<_> = h.state.calls.delivered.iter().cloned().collect();
    assert_eq!(delivered, acks);

    // An offer to Bob's LID: Bob has no companions, only his phone hears it, in LID form.
    let offer = Node::new("offer")
        .attr("call-id", "C2")
        .attr("call-creator", jid("99887766554433:1@lid"))
        .build();
    let out = c1.send(&mut h, &call_to("O1", "77770002222@lid", offer));
    assert_eq!(out[0].attr("type").unwrap().as_str(), Some("offer"));
    assert!(
        effects(&mut c1).is_empty(),
        "offers do not go to our own devices"
    );
    let last = h.state.calls.to_phone[&bob].back().unwrap().clone();
    assert_eq!(
        last.attr("from").unwrap().to_string(),
        "99887766554433:1@lid"
    );

    // A call without `to`, or to nobody, is acked and dropped.
    let bare = Node::new("call")
        .attr("id", "X1")
        .child(Node::new("offer").build())
        .build();
    let out = c1.send(&mut h, &bare);
    assert_eq!(out[0].attr("id").unwrap().as_str(), Some("X1"));
    let out = c1.send(
        &mut h,
        &call_to(
            "X2",
            "19999999999@s.whatsapp.net",
            Node::new("offer").build(),
        ),
    );
    assert_eq!(out[0].tag, "ack");
    assert!(effects(&mut c1).is_empty());
    assert_eq!(h.state.calls.delivered.len(), 1);
}
