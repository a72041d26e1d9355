//! Call signalling, as whatsmeow's `call.go` reads it: the `<call>` stanzas the server relays
//! between the devices of a call (an offer, the callee's accept or reject, the caller hanging
//! up, …). This crate does not carry audio or video; it reports the signalling so an
//! application can show or refuse incoming calls.
//!
//! Sans-IO: [`parse_call`] turns a received `<call>` into a [`CallEvent`], [`ack_node`] is the
//! `<ack class="call">` every received `<call>` is answered with (also the malformed ones), and
//! [`reject_node`] is the stanza [`crate::Client::reject_call`] sends.
//!
//! ```
//! use wa_binary::{Jid, Node};
//! use wa_client::call::{CallEvent, parse_call};
//!
//! let caller: Jid = "15550002222@s.whatsapp.net".parse().unwrap();
//! let stanza = Node::new("call")
//!     .attr("from", caller.clone())
//!     .attr("id", "S1")
//!     .attr("t", "1700000000")
//!     .child(
//!         Node::new("offer")
//!             .attr("call-id", "C1")
//!             .attr("call-creator", caller.clone())
//!             .build(),
//!     )
//!     .build();
//! let CallEvent::Offer { meta, .. } = parse_call(&stanza).unwrap() else { panic!() };
//! assert_eq!((meta.call_id.as_str(), meta.call_creator), ("C1", caller));
//! ```

use serde::{Deserialize, Serialize};
use wa_binary::{Jid, Node, Server};

use crate::error::Error;

/// What every call stanza says about the call it belongs to (whatsmeow's `BasicCallMeta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallMeta {
    /// Who sent the stanza: the other party's device, or one of our own devices.
    #[serde(with = "crate::recv::serde_jid")]
    pub from: Jid,
    /// When the server relayed it (Unix seconds; 0 when absent).
    pub timestamp: u64,
    /// The account that started the call (`call-creator`).
    #[serde(with = "crate::recv::serde_jid")]
    pub call_creator: Jid,
    /// The creator's other JID form: `caller_pn` when `call_creator` is a LID, else
    /// `caller_lid`, when the server sent it.
    #[serde(with = "crate::recv::serde_opt_jid")]
    pub call_creator_alt: Option<Jid>,
    /// The call this stanza is about (`call-id`), the same in every stanza of one call.
    pub call_id: String,
    /// The group, for a group call.
    #[serde(with = "crate::recv::serde_opt_jid")]
    pub group_jid: Option<Jid>,
    /// The `id` of the `<call>` stanza itself (what the ack names), not the call's id.
    pub stanza_id: String,
}

/// The other party's client, as the server announces it on offers and answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallRemoteMeta {
    /// Its platform (`android`, `iphone`, `web`, …; empty when not sent).
    pub remote_platform: String,
    /// Its WhatsApp version (empty when not sent).
    pub remote_version: String,
}

/// A `<call>` stanza, by its single child. Every variant but [`CallEvent::Unknown`] keeps that
/// child as `data` (codec and relay details this crate does not interpret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallEvent {
    /// Someone is calling us (`<offer>`), a 1:1 call.
    Offer {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The caller's client.
        #[serde(flatten)]
        remote: CallRemoteMeta,
        /// The `<offer>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// A notice of a call (`<offer_notice>`), mostly for group calls.
    OfferNotice {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// `audio` or `video`.
        media: String,
        /// `group` for a group call.
        call_type: String,
        /// The `<offer_notice>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// Relay latency measurements, sent shortly after an offer (`<relaylatency>`).
    RelayLatency {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The `<relaylatency>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// The call was answered (`<accept>`).
    Accept {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The answering client.
        #[serde(flatten)]
        remote: CallRemoteMeta,
        /// The `<accept>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// The callee's client is about to answer (`<preaccept>`).
    PreAccept {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The other client.
        #[serde(flatten)]
        remote: CallRemoteMeta,
        /// The `<preaccept>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// Transport negotiation (`<transport>`).
    Transport {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The other client.
        #[serde(flatten)]
        remote: CallRemoteMeta,
        /// The `<transport>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// The call ended (`<terminate>`): the caller hung up, nobody answered, …
    Terminate {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The `reason` attribute (`timeout`, …; empty when absent).
        reason: String,
        /// The `<terminate>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// The call was refused (`<reject>`): by the callee, or by another of our own devices.
    Reject {
        /// The call.
        #[serde(flatten)]
        meta: CallMeta,
        /// The `<reject>` node.
        #[serde(with = "serde_node")]
        data: Node,
    },
    /// A `<call>` with an unknown child, or not exactly one child: the whole stanza.
    Unknown {
        /// The `<call>` stanza.
        #[serde(with = "serde_node")]
        node: Node,
    },
}

impl CallEvent {
    /// The call's details; `None` for [`CallEvent::Unknown`].
    #[must_use]
    pub fn meta(&self) -> Option<&CallMeta> {
        match self {
            Self::Offer { meta, .. }
            | Self::OfferNotice { meta, .. }
            | Self::RelayLatency { meta, .. }
            | Self::Accept { meta, .. }
            | Self::PreAccept { meta, .. }
            | Self::Transport { meta, .. }
            | Self::Terminate { meta, .. }
            | Self::Reject { meta, .. } => Some(meta),
            Self::Unknown { .. } => None,
        }
    }

    /// The child tag this event came from (`offer`, `reject`, …; `unknown` for
    /// [`CallEvent::Unknown`]).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Offer { .. } => "offer",
            Self::OfferNotice { .. } => "offer_notice",
            Self::RelayLatency { .. } => "relaylatency",
            Self::Accept { .. } => "accept",
            Self::PreAccept { .. } => "preaccept",
            Self::Transport { .. } => "transport",
            Self::Terminate { .. } => "terminate",
            Self::Reject { .. } => "reject",
            Self::Unknown { .. } => "unknown",
        }
    }
}

fn str_attr(node: &Node, key: &str) -> String {
    node.attr(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A JID attribute: absent is `None`, present but not a JID is an error.
fn opt_jid(node: &Node, key: &str) -> Result<Option<Jid>, Error> {
    match node.attr(key) {
        None => Ok(None),
        Some(v) => v.as_jid().cloned().map(Some).ok_or_else(|| {
            Error::Protocol(format!("<{}> with a {key} that is not a JID", node.tag))
        }),
    }
}

fn jid(node: &Node, key: &str) -> Result<Jid, Error> {
    opt_jid(node, key)?
        .ok_or_else(|| Error::Protocol(format!("<{}> without a {key} JID", node.tag)))
}

/// Reads a received `<call from id t [platform version]>` with one child. An unknown child
/// tag, or not exactly one child, is [`CallEvent::Unknown`]; a known child without a
/// `call-id` or `call-creator`, or a stanza without `from` or `id`, is
/// [`Error::Protocol`] (the stanza is acked all the same).
pub fn parse_call(node: &Node) -> Result<CallEvent, Error> {
    if node.tag != "call" {
        return Err(Error::Protocol(format!("<{}> is not a <call>", node.tag)));
    }
    let [child] = node.children() else {
        return Ok(CallEvent::Unknown { node: node.clone() });
    };
    let known = [
        "offer",
        "offer_notice",
        "relaylatency",
        "accept",
        "preaccept",
        "transport",
        "terminate",
        "reject",
    ];
    if !known.contains(&child.tag.as_str()) {
        return Ok(CallEvent::Unknown { node: node.clone() });
    }
    let from = jid(node, "from")?;
    let stanza_id = str_attr(node, "id");
    if stanza_id.is_empty() {
        return Err(Error::Protocol("<call> without an id".into()));
    }
    let call_id = str_attr(child, "call-id");
    if call_id.is_empty() {
        return Err(Error::Protocol(format!(
            "<{}> without a call-id",
            child.tag
        )));
    }
    let call_creator = jid(child, "call-creator")?;
    let alt_key = if *call_creator.server() == Server::Lid {
        "caller_pn"
    } else {
        "caller_lid"
    };
    let meta = CallMeta {
        from,
        timestamp: str_attr(node, "t").parse().unwrap_or(0),
        call_creator,
        call_creator_alt: opt_jid(child, alt_key)?,
        call_id,
        group_jid: opt_jid(child, "group-jid")?,
        stanza_id,
    };
    let remote = CallRemoteMeta {
        remote_platform: str_attr(node, "platform"),
        remote_version: str_attr(node, "version"),
    };
    let data = child.clone();
    Ok(match child.tag.as_str() {
        "offer" => CallEvent::Offer { meta, remote, data },
        "offer_notice" => CallEvent::OfferNotice {
            meta,
            media: str_attr(child, "media"),
            call_type: str_attr(child, "type"),
            data,
        },
        "relaylatency" => CallEvent::RelayLatency { meta, data },
        "accept" => CallEvent::Accept { meta, remote, data },
        "preaccept" => CallEvent::PreAccept { meta, remote, data },
        "transport" => CallEvent::Transport { meta, remote, data },
        "terminate" => CallEvent::Terminate {
            meta,
            reason: str_attr(child, "reason"),
            data,
        },
        _ => CallEvent::Reject { meta, data },
    })
}

/// The `<ack class="call" id to=from [participant] [recipient] [type]>` whatsmeow answers a
/// received `<call>` with; `None` when the stanza has no `id` or `from` to name.
#[must_use]
pub fn ack_node(node: &Node) -> Option<Node> {
    // The same ack every other stanza gets (the `type` is copied for non-message stanzas).
    crate::message::ack_for(node).ok()
}

/// `<call id from=own to=caller><reject call-id call-creator=caller count="0">[<tctoken>]`
/// `</reject></call>`, as whatsmeow's `RejectCall` sends it: both JIDs without a device
/// number, our privacy token for the caller inside the reject when we hold one.
#[must_use]
pub fn reject_node(
    stanza_id: &str,
    own: &Jid,
    caller: &Jid,
    call_id: &str,
    privacy_token: Option<&[u8]>,
) -> Node {
    let caller = caller.to_non_ad();
    let reject = Node::new("reject")
        .attr("call-id", call_id)
        .attr("call-creator", caller.clone())
        .attr("count", "0");
    let reject = match privacy_token {
        Some(token) => reject
            .child(Node::new("tctoken").bytes(token.to_vec()).build())
            .build(),
        None => reject.build(),
    };
    Node::new("call")
        .attr("id", stanza_id)
        .attr("from", own.to_non_ad())
        .attr("to", caller)
        .child(reject)
        .build()
}

/// A [`Node`] in JSON: `{"xml": …, "wire": …}`, the XML rendering for people and the binary
/// encoding (base64) to read it back.
pub mod serde_node {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use wa_binary::Node;

    #[derive(Serialize, Deserialize)]
    struct Repr {
        #[serde(default)]
        xml: String,
        wire: String,
    }

    /// Writes the node's XML and its base64 binary encoding.
    pub fn serialize<S: Serializer>(node: &Node, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            xml: node.to_xml(),
            wire: STANDARD.encode(wa_binary::marshal(node)),
        }
        .serialize(s)
    }

    /// Decodes the binary encoding (the XML is ignored).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let repr = Repr::deserialize(d)?;
        let bytes = STANDARD
            .decode(repr.wire.as_bytes())
            .map_err(serde::de::Error::custom)?;
        wa_binary::decode_frame(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
