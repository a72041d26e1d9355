//! Sent `<message>` stanzas waiting for the server's `<ack class="message">`.
//!
//! The server acknowledges every message stanza with `<ack class="message" id=… t=…>`; the ack
//! carries `error="…"` when the message was refused (463: a privacy token is required), the
//! server timestamp `t`, and optionally `phash` (the participant-list hash the server saw) and
//! `server_id`. whatsmeow waits for that ack in `SendMessage`; the engine matches it here by
//! message id and gives up at a deadline.

use std::collections::HashMap;
use std::time::Instant;

use wa_binary::Node;

use crate::error::MessageError;

/// A handle for a message sent through [`super::Engine::send_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SendToken(pub u64);

/// What the server's ack of a sent message said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAck {
    /// The message id.
    pub id: String,
    /// Server timestamp (`t`, Unix seconds; 0 if absent).
    pub timestamp: u64,
    /// The participant-list hash the server computed (`phash`), if sent.
    pub phash: Option<String>,
    /// The server-side id (`server_id`, newsletters), if sent.
    pub server_id: Option<u64>,
}

/// The error code a 1:1 send gets when the chat requires a privacy (tc) token.
pub const PRIVACY_TOKEN_REQUIRED: u16 = 463;

#[derive(Debug)]
struct Pending {
    token: SendToken,
    deadline: Instant,
}

/// Outstanding sent messages by id.
#[derive(Debug, Default)]
pub(crate) struct OutgoingTable {
    pending: HashMap<String, Pending>,
}

impl OutgoingTable {
    /// Remembers a sent message; a previous wait for the same id is returned (it is superseded).
    pub(crate) fn insert(
        &mut self,
        id: String,
        token: SendToken,
        deadline: Instant,
    ) -> Option<SendToken> {
        self.pending
            .insert(id, Pending { token, deadline })
            .map(|p| p.token)
    }

    /// Matches an incoming `<ack>`: the token waiting for it and the outcome, if it is the
    /// ack of a message we wait for.
    pub(crate) fn on_ack(
        &mut self,
        ack: &Node,
    ) -> Option<(SendToken, Result<MessageAck, MessageError>)> {
        if ack.attr("class").and_then(|c| c.as_str()) != Some("message") {
            return None;
        }
        let id = ack.attr("id").and_then(|v| v.as_str())?;
        let pending = self.pending.remove(id)?;
        Some((pending.token, parse_ack(ack, id)))
    }

    /// Stops waiting for `token`. Returns whether it was pending.
    pub(crate) fn cancel(&mut self, token: SendToken) -> bool {
        let before = self.pending.len();
        self.pending.retain(|_, p| p.token != token);
        before != self.pending.len()
    }

    /// Removes and returns the tokens whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<SendToken> {
        let mut out = Vec::new();
        self.pending.retain(|_, p| {
            let keep = p.deadline > now;
            if !keep {
                out.push(p.token);
            }
            keep
        });
        out.sort();
        out
    }

    /// Removes every pending wait (the connection ended).
    pub(crate) fn drain(&mut self) -> Vec<SendToken> {
        let mut out: Vec<SendToken> = self.pending.drain().map(|(_, p)| p.token).collect();
        out.sort();
        out
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }
}

/// Reads an `<ack class="message">`: an `error` attribute becomes a typed error (463 →
/// [`MessageError::PrivacyTokenRequired`]), otherwise the timestamp and hashes.
pub(crate) fn parse_ack(ack: &Node, id: &str) -> Result<MessageAck, MessageError> {
    let mut r = ack.attr_reader();
    if let Some(error) = ack.attr("error") {
        let text = error.to_string();
        let code = text.parse::<u16>().unwrap_or(0);
        return Err(if code == PRIVACY_TOKEN_REQUIRED {
            MessageError::PrivacyTokenRequired
        } else {
            MessageError::ServerAck { code, text }
        });
    }
    Ok(MessageAck {
        id: id.to_owned(),
        timestamp: r.optional_u64("t").unwrap_or(0),
        phash: ack.attr("phash").map(ToString::to_string),
        server_id: r.optional_u64("server_id"),
    })
}

impl super::Engine {
    /// Sends a prebuilt `<message>` stanza (its `id` attribute must be set) and waits up to
    /// `timeout` for the server's ack, whose outcome comes out of
    /// [`Engine::poll_send_result`](super::Engine::poll_send_result) with the returned token.
    /// When the connection is not up the result is [`MessageError::NotConnected`] at once.
    pub fn send_message(
        &mut self,
        now: Instant,
        node: &Node,
        timeout: core::time::Duration,
    ) -> SendToken {
        self.next_token = self.next_token.wrapping_add(1);
        let token = SendToken(self.next_token);
        let id = node.attr("id").map(ToString::to_string).unwrap_or_default();
        if id.is_empty() {
            self.send_results.push_back((
                token,
                Err(MessageError::Malformed("message stanza without id".into())),
            ));
            return token;
        }
        if self.closed.is_some() || !self.transport_ready() || !self.is_logged_in() {
            self.send_results
                .push_back((token, Err(MessageError::NotConnected)));
            return token;
        }
        if let Some(old) = self.outgoing.insert(id, token, now + timeout) {
            self.send_results
                .push_back((old, Err(MessageError::Superseded)));
        }
        self.send_node(node);
        token
    }

    /// Stops waiting for the ack of `token` (a late ack is ignored). Returns whether it was
    /// pending.
    pub fn cancel_send(&mut self, token: SendToken) -> bool {
        self.outgoing.cancel(token)
    }

    /// The next finished send: the server's ack or why there is none.
    pub fn poll_send_result(&mut self) -> Option<(SendToken, Result<MessageAck, MessageError>)> {
        self.send_results.pop_front()
    }

    /// An incoming `<ack>`: resolves the send waiting for it, if any.
    pub(super) fn handle_ack(&mut self, node: &Node) {
        if let Some(done) = self.outgoing.on_ack(node) {
            self.send_results.push_back(done);
        }
    }

    /// Fails the sends whose deadline passed.
    pub(super) fn expire_sends(&mut self, now: Instant) {
        for token in self.outgoing.expire(now) {
            self.send_results
                .push_back((token, Err(MessageError::Timeout)));
        }
    }

    /// Fails every pending send (the connection ended).
    pub(super) fn drain_sends(&mut self) {
        for token in self.outgoing.drain() {
            self.send_results
                .push_back((token, Err(MessageError::NotConnected)));
        }
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    fn ack(id: &str) -> wa_binary::NodeBuilder {
        Node::new("ack")
            .attr("class", "message")
            .attr("id", id)
            .attr("t", "1700000000")
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a starting point only; the test moves time by hand
    fn acks_match_by_id_and_class() {
        let now = Instant::now();
        let mut t = OutgoingTable::default();
        assert!(
            t.insert("A".into(), SendToken(1), now + Duration::from_secs(5))
                .is_none()
        );
        t.insert("B".into(), SendToken(2), now + Duration::from_secs(1));
        // A receipt ack with the same id is not ours.
        let receipt_ack = Node::new("ack")
            .attr("class", "receipt")
            .attr("id", "A")
            .build();
        assert!(t.on_ack(&receipt_ack).is_none());
        // An ack for an unknown id is ignored.
        assert!(t.on_ack(&ack("Z").build()).is_none());
        let (token, res) = t.on_ack(&ack("A").attr("phash", "2:abc").build()).unwrap();
        assert_eq!(token, SendToken(1));
        let got = res.unwrap();
        assert_eq!(got.timestamp, 1_700_000_000);
        assert_eq!(got.phash.as_deref(), Some("2:abc"));
        assert_eq!(got.id, "A");
        // Matched once only.
        assert!(t.on_ack(&ack("A").build()).is_none());
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(t.expire(now + Duration::from_secs(2)), vec![SendToken(2)]);
        assert!(t.next_deadline().is_none());
    }

    #[test]
    fn error_acks_are_typed() {
        let refused = ack("A").attr("error", "463").build();
        assert_eq!(
            parse_ack(&refused, "A"),
            Err(MessageError::PrivacyTokenRequired)
        );
        let other = ack("A").attr("error", "479").build();
        assert_eq!(
            parse_ack(&other, "A"),
            Err(MessageError::ServerAck {
                code: 479,
                text: "479".into()
            })
        );
        let garbage = ack("A").attr("error", "nope").build();
        assert!(matches!(
            parse_ack(&garbage, "A"),
            Err(MessageError::ServerAck { code: 0, .. })
        ));
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn superseding_cancel_and_drain() {
        let now = Instant::now();
        let mut t = OutgoingTable::default();
        t.insert("A".into(), SendToken(1), now);
        assert_eq!(t.insert("A".into(), SendToken(2), now), Some(SendToken(1)));
        assert!(!t.cancel(SendToken(1)));
        t.insert("B".into(), SendToken(3), now);
        assert!(t.cancel(SendToken(3)));
        assert_eq!(t.drain(), vec![SendToken(2)]);
        assert!(t.drain().is_empty());
    }
}
