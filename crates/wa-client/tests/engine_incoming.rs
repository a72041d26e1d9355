//! The engine's hand-over to the receive pipeline, without sockets: `<message>` and
//! `<receipt>` stanzas and the notifications that need the store come out of
//! `Engine::poll_incoming` in wire order, unanswered by the engine (the pipeline acks them
//! after processing), and `OfflineSyncCompleted` waits for the offline stanzas before it.
// `Instant::now()` is read once per test as a starting point.
#![allow(clippy::disallowed_methods)]

use crate::common;

use std::time::Instant;

use common::*;
use wa_binary::{Jid, Node, Server};
use wa_client::engine::Incoming;
use wa_client::{Config, Engine, Event};
use wa_store::PreKeyCounts;

struct Pair {
    engine: Engine,
    server: FakeServer,
    now: Instant,
    events: Vec<Event>,
}

impl Pair {
    /// Logged in and active.
    fn connected() -> Self {
        let mut p = Self::logging_in();
        // Prekey count, then passive: answer both.
        for value in [Some("50"), None] {
            p.answer(value);
        }
        assert_eq!(std::mem::take(&mut p.events), vec![Event::Connected]);
        p
    }

    /// Answers the first request the server received (with `<count value>` if given).
    fn answer(&mut self, count: Option<&str>) -> Node {
        let req = self.server.take_received().remove(0);
        let mut b = Node::new("iq")
            .attr("from", Jid::new("", Server::User))
            .attr("id", req.attr("id").unwrap().to_string())
            .attr("type", "result");
        if let Some(v) = count {
            b = b.child(Node::new("count").attr("value", v).build());
        }
        self.push(&b.build());
        self.drive();
        req
    }

    /// `<success>` received; the prekey count request is out.
    fn logging_in() -> Self {
        let (server, trust_root) = FakeServer::new(21);
        let config = Config {
            trust_root,
            ..Config::default()
        };
        let now = Instant::now();
        let engine = Engine::new(
            config,
            paired_device(8),
            PreKeyCounts {
                total: 50,
                uploaded: 50,
                last_id: 50,
            },
            now,
            UNIX,
            [9; 32],
        )
        .unwrap();
        let mut p = Self {
            engine,
            server,
            now,
            events: Vec::new(),
        };
        p.drive();
        p.push(&Node::new("success").attr("t", "1750000000").build());
        p.drive();
        p
    }

    /// Queues a stanza from the server without delivering it yet.
    fn push(&mut self, node: &Node) {
        self.server.send(node);
    }

    /// Moves bytes both ways until idle; events are collected, incoming items left queued.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while self.engine.poll_store().is_some() {}
            while let Some(b) = self.engine.poll_transmit() {
                self.server.recv(&b);
                moved = true;
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
            }
            if !self.server.out.is_empty() {
                let out = std::mem::take(&mut self.server.out);
                self.engine.handle_data(self.now, &out).unwrap();
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }
}

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn message(id: &str) -> Node {
    Node::new("message")
        .attr("from", jid("222:1@s.whatsapp.net"))
        .attr("id", id)
        .attr("t", "1")
        .child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", "msg")
                .bytes(vec![1, 2, 3])
                .build(),
        )
        .build()
}

fn notification(id: &str, ty: &str) -> Node {
    Node::new("notification")
        .attr("from", jid("222@s.whatsapp.net"))
        .attr("id", id)
        .attr("type", ty)
        .build()
}

#[test]
fn stanzas_for_the_pipeline_come_out_in_wire_order_and_offline_sync_after_them() {
    let mut p = Pair::connected();
    let receipt = Node::new("receipt")
        .attr("from", jid("222:1@s.whatsapp.net"))
        .attr("id", "M1")
        .attr("type", "read")
        .build();
    p.push(&message("M1"));
    p.push(&receipt);
    p.push(&notification("n1", "devices"));
    p.push(&notification("n2", "account_sync"));
    p.push(&message("M2"));
    p.push(
        &Node::new("ib")
            .child(Node::new("offline").attr("count", "3").build())
            .build(),
    );
    p.drive();

    // The sync event is held back behind the queued stanzas.
    assert!(p.events.is_empty(), "{:?}", p.events);
    let mut items = Vec::new();
    while let Some(item) = p.engine.poll_incoming() {
        items.push(item);
    }
    let tags: Vec<String> = items
        .iter()
        .map(|i| match i {
            Incoming::Stanza(n) => format!(
                "{}:{}",
                n.tag.as_str(),
                n.attr("id").map(ToString::to_string).unwrap_or_default()
            ),
            Incoming::Event(e) => format!("{e:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        tags,
        [
            "message:M1",
            "receipt:M1",
            "notification:n1",
            "message:M2",
            "OfflineSyncCompleted { count: 3 }",
        ]
    );
    // The engine acked both notifications itself, and nothing else: messages and receipts
    // are acked by the pipeline once processed.
    let acks: Vec<String> = p
        .server
        .take_received()
        .iter()
        .filter(|n| n.tag == "ack")
        .map(|n| n.attr("id").unwrap().to_string())
        .collect();
    assert_eq!(acks, ["n1", "n2"]);

    // With nothing queued, the sync event is immediate.
    p.push(
        &Node::new("ib")
            .child(Node::new("offline").attr("count", "0").build())
            .build(),
    );
    p.drive();
    assert_eq!(p.events, vec![Event::OfflineSyncCompleted { count: 0 }]);
    assert!(p.engine.poll_incoming().is_none());
}

#[test]
fn stanzas_the_pipeline_builds_go_out_until_the_connection_closes() {
    let mut p = Pair::connected();
    let ack = Node::new("ack")
        .attr("class", "message")
        .attr("id", "M1")
        .attr("to", jid("222:1@s.whatsapp.net"))
        .build();
    p.engine.send_stanza(&ack);
    p.drive();
    assert_eq!(p.server.take_received(), vec![ack.clone()]);
    // After the connection closed nothing more is sent.
    p.engine.disconnect();
    p.engine.send_stanza(&ack);
    assert!(p.engine.poll_transmit().is_none());
}

#[test]
fn a_prekey_made_for_a_retry_receipt_is_not_overwritten_by_the_next_upload() {
    let mut p = Pair::logging_in();
    // The pipeline generated prekey 51 for a retry receipt (the engine started at 50).
    p.engine.note_pre_key_generated(51);
    // The server holds few prekeys: the upload must continue after 51.
    p.answer(Some("2"));
    let upload = p.server.take_received().remove(0);
    assert_eq!(upload.attr("xmlns").unwrap().to_string(), "encrypt");
    let first = upload
        .child("list")
        .and_then(|l| l.children_by_tag("key").next())
        .and_then(|k| k.child("id"))
        .and_then(Node::bytes)
        .unwrap()
        .to_vec();
    assert_eq!(first, [0, 0, 52]);
}

/// The server's `<notification type=encrypt><count value=N/>`: below whatsmeow's minimum the
/// engine uploads a new batch (once, however many notifications arrive meanwhile) and does
/// not go through `<active/>` and `Connected` again; at or above it nothing is sent.
#[test]
fn low_prekey_notification_uploads_one_batch_without_reconnecting() {
    let mut p = Pair::connected();
    p.server.take_received();
    let low = |id: &str, value: &str| {
        Node::new("notification")
            .attr("from", Jid::new("", Server::User))
            .attr("id", id)
            .attr("type", "encrypt")
            .child(Node::new("count").attr("value", value).build())
            .build()
    };

    p.push(&low("n1", "4"));
    p.push(&low("n2", "3"));
    p.drive();
    let sent = p.server.take_received();
    let uploads: Vec<&Node> = sent
        .iter()
        .filter(|n| {
            n.tag == "iq" && n.attr("xmlns").map(ToString::to_string).as_deref() == Some("encrypt")
        })
        .collect();
    assert_eq!(
        uploads.len(),
        1,
        "one upload for two notifications: {sent:?}"
    );
    let keys = uploads[0].child("list").unwrap().children().len();
    assert_eq!(keys, 50, "whatsmeow's WantedPreKeyCount");

    // The server accepts it: PreKeysUploaded, and no second Connected.
    let id = uploads[0].attr("id").unwrap().to_string();
    p.push(
        &Node::new("iq")
            .attr("from", Jid::new("", Server::User))
            .attr("id", id)
            .attr("type", "result")
            .build(),
    );
    p.drive();
    assert_eq!(
        std::mem::take(&mut p.events),
        vec![Event::PreKeysUploaded { count: 50 }]
    );
    assert!(
        p.server.take_received().iter().all(|n| n.tag == "ack"),
        "nothing but acks after the upload (no <active/>)"
    );

    // Plenty left: nothing to do; low again later: a new upload.
    p.push(&low("n3", "100"));
    p.drive();
    assert!(p.server.take_received().iter().all(|n| n.tag == "ack"));
    p.push(&low("n4", "1"));
    p.drive();
    assert!(
        p.server
            .take_received()
            .iter()
            .any(|n| n.tag == "iq" && n.child("list").is_some()),
        "a second low notification after the first upload finished uploads again"
    );
}

/// Profile notifications become events in the engine, acked by it: `type="status"` as
/// `UserAbout`, `type="picture"` as one `Picture` per change, and an `account_sync`
/// `<picture/>` as a change of our own picture.
#[test]
fn profile_notifications_become_events() {
    let mut p = Pair::connected();
    let status = Node::new("notification")
        .attr("from", jid("222@s.whatsapp.net"))
        .attr("id", "s1")
        .attr("type", "status")
        .attr("t", "1700000000")
        .child(Node::new("set").bytes(b"hello".to_vec()).build())
        .build();
    let picture = Node::new("notification")
        .attr("from", jid("222@s.whatsapp.net"))
        .attr("id", "p1")
        .attr("type", "picture")
        .attr("t", "1700000001")
        .child(
            Node::new("set")
                .attr("jid", jid("222@s.whatsapp.net"))
                .attr("id", "9")
                .build(),
        )
        .build();
    let own = Node::new("notification")
        .attr("from", jid("222@s.whatsapp.net"))
        .attr("id", "a1")
        .attr("type", "account_sync")
        .attr("t", "1700000002")
        .child(Node::new("picture").build())
        .build();
    for n in [&status, &picture, &own] {
        p.push(n);
    }
    p.drive();
    let events: Vec<Event> = std::mem::take(&mut p.events);
    let [
        Event::UserAbout(about),
        Event::Picture(changed),
        Event::Picture(mine),
    ] = events.as_slice()
    else {
        panic!("unexpected events {events:?}");
    };
    assert_eq!(about.jid, jid("222@s.whatsapp.net"));
    assert_eq!(about.status, "hello");
    assert_eq!(about.timestamp, 1_700_000_000);
    assert_eq!(changed.picture_id.as_deref(), Some("9"));
    assert!(!changed.remove);
    assert_eq!(mine.jid, p.engine.device().jid.clone().unwrap().to_non_ad());
    assert_eq!(mine.timestamp, 1_700_000_002);
    let acked: Vec<String> = p
        .server
        .take_received()
        .iter()
        .filter(|n| n.tag == "ack")
        .map(|n| n.attr("id").unwrap().to_string())
        .collect();
    assert_eq!(acked, ["s1", "p1", "a1"]);
    assert!(p.engine.poll_incoming().is_none());
}
