//! Stanza helpers: logging without secrets, IQ replies, acks, and what any phase answers.

use wa_binary::{Jid, Node, Server};

use super::Connection;
use crate::error::Result;
use crate::state::ServerState;

fn attr<'a>(node: &'a Node, key: &str) -> &'a str {
    node.attr(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// A one-line summary of a stanza: tag, id, type, xmlns and first child tag (no byte content,
/// so no keys or message bodies reach the log).
pub(super) fn summary(node: &Node) -> String {
    let first = node
        .children()
        .first()
        .map(|c| c.tag.as_str())
        .unwrap_or("");
    format!(
        "<{} id='{}' type='{}' xmlns='{}'> first child <{}>",
        node.tag,
        attr(node, "id"),
        attr(node, "type"),
        attr(node, "xmlns"),
        first
    )
}

pub(super) fn log_in(conn: u64, node: &Node) {
    tracing::debug!(conn, "recv {}", summary(node));
}

pub(super) fn log_out(conn: u64, node: &Node) {
    tracing::debug!(conn, "send {}", summary(node));
}

/// `<iq type='result' id from='s.whatsapp.net'>children</iq>` answering `req`.
pub(super) fn result(req: &Node, children: Vec<Node>) -> Node {
    let b = Node::new("iq")
        .attr("type", "result")
        .attr("id", attr(req, "id"))
        .attr("from", Jid::new("", Server::User));
    if children.is_empty() {
        b.build()
    } else {
        b.children(children).build()
    }
}

/// `<iq type='error' id from><error code text/></iq>` answering `req`.
pub(super) fn error(req: &Node, code: u16, text: &str) -> Node {
    Node::new("iq")
        .attr("type", "error")
        .attr("id", attr(req, "id"))
        .attr("from", Jid::new("", Server::User))
        .child(
            Node::new("error")
                .attr("code", code.to_string())
                .attr("text", text)
                .build(),
        )
        .build()
}

impl Connection {
    /// What every phase after the handshake answers: pings, replies to our IQs, acks for
    /// receipts/messages, and an error or ack for anything unknown.
    pub(super) fn handle_common(
        &mut self,
        node: &Node,
        now_ms: u64,
        state: &ServerState,
    ) -> Result<()> {
        let kind = attr(node, "type");
        let xmlns = attr(node, "xmlns");
        match node.tag.as_str() {
            "iq" if kind == "result" || kind == "error" => Ok(()),
            "iq" if xmlns == "w:p" && node.child("ping").is_some() => {
                if state.faults.drop_pings {
                    tracing::info!(conn = self.id, "fault: ping left unanswered");
                    return Ok(());
                }
                self.send(&result(node, Vec::new()))
            }
            "iq" => {
                tracing::warn!(conn = self.id, "unhandled {}", summary(node));
                self.send(&error(node, 501, "feature-not-implemented"))
            }
            "presence" | "ib" | "ack" | "chatstate" => Ok(()),
            "receipt" | "message" | "notification" | "call" => {
                let id = attr(node, "id");
                if id.is_empty() {
                    tracing::warn!(conn = self.id, "stanza without id: {}", summary(node));
                    return Ok(());
                }
                let mut b = Node::new("ack")
                    .attr("class", node.tag.clone())
                    .attr("id", id);
                if let Some(to) = node.attr("to") {
                    b = b.attr("from", to.clone());
                }
                if !kind.is_empty() && node.tag != "message" {
                    b = b.attr("type", kind);
                }
                if node.tag == "message" {
                    b = b.attr("t", (now_ms / 1000).to_string());
                }
                self.send(&b.build())
            }
            _ => {
                tracing::warn!(conn = self.id, "unknown stanza {}", summary(node));
                let id = attr(node, "id");
                if id.is_empty() {
                    return Ok(());
                }
                self.send(
                    &Node::new("ack")
                        .attr("class", node.tag.clone())
                        .attr("id", id)
                        .build(),
                )
            }
        }
    }
}
