//! The engine's side of sending, sans-IO against a scripted server: a prebuilt `<message>`
//! goes out as it is, and its `<ack class="message">` (or the error in it, or the deadline,
//! or the end of the connection) comes back on the send's token.
#![allow(clippy::disallowed_methods)] // Instant::now only as a starting point; time moves by hand

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use wa_binary::{Jid, Node};
use wa_client::engine::{MessageAck, SendToken};
use wa_client::{Config, Engine, MessageError};
use wa_store::PreKeyCounts;

struct Pair {
    engine: Engine,
    server: FakeServer,
    now: Instant,
}

impl Pair {
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while self.engine.poll_store().is_some() {}
            while let Some(b) = self.engine.poll_transmit() {
                self.server.recv(&b);
                moved = true;
            }
            while self.engine.poll_event().is_some() {}
            if !self.server.out.is_empty() {
                let out = std::mem::take(&mut self.server.out);
                let _ = self.engine.handle_data(self.now, &out);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn send(&mut self, node: &Node) {
        self.server.send(node);
        self.drive();
    }

    fn results(&mut self) -> Vec<(SendToken, Result<MessageAck, MessageError>)> {
        std::iter::from_fn(|| self.engine.poll_send_result()).collect()
    }
}

fn engine_pair() -> Pair {
    let (server, trust_root) = FakeServer::new(21);
    let config = Config {
        trust_root,
        ..Config::default()
    };
    let now = Instant::now();
    let engine = Engine::new(
        config,
        paired_device(8),
        PreKeyCounts::default(),
        now,
        UNIX,
        [3; 32],
    )
    .unwrap();
    let mut p = Pair {
        engine,
        server,
        now,
    };
    p.drive();
    p
}

fn message(id: &str) -> Node {
    Node::new("message")
        .attr("id", id)
        .attr("type", "text")
        .attr("to", "99887766554433@lid".parse::<Jid>().unwrap())
        .child(Node::new("participants").build())
        .build()
}

fn ack(id: &str) -> wa_binary::NodeBuilder {
    Node::new("ack")
        .attr("class", "message")
        .attr("id", id)
        .attr("from", "99887766554433@lid".parse::<Jid>().unwrap())
        .attr("t", "1750000001")
}

#[test]
fn sends_are_refused_before_login_then_acked_refused_or_timed_out() {
    let mut p = engine_pair();
    // Transport up, not logged in: refused at once, nothing sent.
    let early = p
        .engine
        .send_message(p.now, &message("E"), Duration::from_secs(5));
    assert_eq!(p.results(), vec![(early, Err(MessageError::NotConnected))]);
    p.send(&Node::new("success").attr("t", "1750000000").build());
    p.server.take_received();

    let ok = p
        .engine
        .send_message(p.now, &message("A"), Duration::from_secs(5));
    let refused = p
        .engine
        .send_message(p.now, &message("B"), Duration::from_secs(5));
    let slow = p
        .engine
        .send_message(p.now, &message("C"), Duration::from_secs(2));
    p.drive();
    // The stanzas leave exactly as built.
    let sent = p.server.take_received();
    assert_eq!(sent, vec![message("A"), message("B"), message("C")]);
    assert!(p.engine.poll_timeout().is_some());

    p.send(&ack("A").attr("phash", "2:AAAAAAAA").build());
    p.send(&ack("B").attr("error", "463").build());
    // A receipt ack with a message's id is not the message's ack.
    p.send(
        &Node::new("ack")
            .attr("class", "receipt")
            .attr("id", "C")
            .build(),
    );
    assert_eq!(
        p.results(),
        vec![
            (
                ok,
                Ok(MessageAck {
                    id: "A".into(),
                    timestamp: 1_750_000_001,
                    phash: Some("2:AAAAAAAA".into()),
                    server_id: None,
                })
            ),
            (refused, Err(MessageError::PrivacyTokenRequired)),
        ]
    );
    p.now += Duration::from_secs(2);
    p.engine.handle_timeout(p.now);
    assert_eq!(p.results(), vec![(slow, Err(MessageError::Timeout))]);
    // A late ack is ignored.
    p.send(&ack("C").build());
    assert!(p.results().is_empty());
}

#[test]
fn a_cancelled_send_ignores_its_ack_and_the_end_of_the_connection_fails_the_rest() {
    let mut p = engine_pair();
    p.send(&Node::new("success").attr("t", "1750000000").build());
    let first = p
        .engine
        .send_message(p.now, &message("A"), Duration::from_secs(60));
    // The same id again supersedes the first wait.
    let second = p
        .engine
        .send_message(p.now, &message("A"), Duration::from_secs(60));
    assert_eq!(p.results(), vec![(first, Err(MessageError::Superseded))]);
    let cancelled = p
        .engine
        .send_message(p.now, &message("X"), Duration::from_secs(60));
    assert!(p.engine.cancel_send(cancelled));
    p.drive();
    p.send(&ack("X").build());
    assert!(p.results().is_empty());
    // A message without an id cannot be matched: refused.
    let no_id = p.engine.send_message(
        p.now,
        &Node::new("message").attr("type", "text").build(),
        Duration::from_secs(1),
    );
    assert!(matches!(
        p.results().as_slice(),
        [(t, Err(MessageError::Malformed(_)))] if *t == no_id
    ));
    p.engine.disconnect();
    assert_eq!(p.results(), vec![(second, Err(MessageError::NotConnected))]);
    assert!(p.engine.closed().is_some());
}
