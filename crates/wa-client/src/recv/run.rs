//! A receive run's stanzas, and the parse of a `<message>` that can be made ahead of the
//! pipeline (on the socket stage's thread).

use std::sync::Arc;

use wa_binary::{Jid, Node};

use super::buffer;
use super::dedup::{MessageKey, key_of};
use crate::error::MessageError;
use crate::message::{EncPayload, MessageInfo, ack_for, delivery_receipt, enc_payloads};

/// A `<message>` stanza of a run, parsed once.
#[derive(Debug, Clone)]
pub(super) struct Parsed {
    pub(super) info: core::result::Result<MessageInfo, MessageError>,
    /// The key of `info`, when it parsed; `None` once taken.
    pub(super) key: Option<MessageKey>,
    pub(super) encs: core::result::Result<Vec<EncPayload>, MessageError>,
    /// The ciphertext hash of each of `encs` (the event buffer's key).
    pub(super) hashes: Vec<[u8; 32]>,
    /// The stanza's `<ack>`, built ahead ([`ack_for`]); `None` once taken.
    pub(super) ack: Option<core::result::Result<Node, MessageError>>,
    /// Its delivery `<receipt>`, built ahead ([`delivery_receipt`]) when `info` parsed;
    /// `None` once taken.
    pub(super) receipt: Option<core::result::Result<Node, MessageError>>,
}

impl Parsed {
    pub(super) fn new(node: &Node, pn: &Jid, lid: Option<&Jid>) -> Self {
        let encs = enc_payloads(node);
        let hashes = (encs
            .as_ref()
            .map(|e| e.iter().map(|e| buffer::hash(&e.ciphertext))))
        .map(Iterator::collect)
        .unwrap_or_default();
        let info = MessageInfo::parse(node, pn, lid);
        let (key, receipt) = match &info {
            Ok(info) => (Some(key_of(info)), Some(delivery_receipt(node, info, true))),
            Err(_) => (None, None),
        };
        Self {
            key,
            info,
            encs,
            hashes,
            ack: Some(ack_for(node)),
            receipt,
        }
    }
}

/// What a handled run leaves behind: its stanzas and what was parsed of them.
///
/// Most of it was allocated on the socket stage's thread (decoding, [`PreparedMessage`]).
/// The runtime hands it back there to be freed: freed on the pipeline's thread instead, each
/// of those blocks went back to the other thread's malloc arena under its lock, which cost
/// the two threads more than the parsing moved to the stage had saved (measured in
/// `docs/performance.md`).
#[derive(Debug, Default)]
pub(crate) struct Spent {
    pub(super) items: Vec<RunItem>,
    pub(super) parsed: Vec<Option<Box<Parsed>>>,
}

impl Spent {
    /// Whether nothing is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty() && self.parsed.is_empty()
    }
}

/// A `<message>` stanza parsed ahead of the receive pipeline, on the socket stage's thread:
/// its attributes, its encrypted payloads and their hashes, its `<ack>`. The pipeline then
/// only decrypts, stores and answers.
///
/// Made by the runtime's socket stage and handed to the engine
/// ([`Engine::handle_prepared_message`](crate::Engine::handle_prepared_message)), which
/// queues it in wire order like any other stanza
/// ([`Incoming::Prepared`](crate::engine::Incoming::Prepared)).
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    pub(super) node: Node,
    /// The account JIDs the stanza was parsed for: a parse made for other ones (the
    /// account changed under the connection) is made again.
    pub(super) own: Arc<(Jid, Option<Jid>)>,
    /// `None` once the pipeline took it.
    pub(super) parsed: Option<Box<Parsed>>,
}

impl PreparedMessage {
    /// Parses a `<message>` stanza for the account `own` (its phone-number and LID JIDs).
    pub fn new(node: Node, own: Arc<(Jid, Option<Jid>)>) -> Self {
        let parsed = Some(Box::new(Parsed::new(&node, &own.0, own.1.as_ref())));
        Self { node, own, parsed }
    }

    /// The stanza.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The stanza, without what was parsed.
    pub fn into_node(self) -> Node {
        self.node
    }
}

/// Two prepared messages are equal when their stanzas and accounts are (the rest is
/// parsed from those).
impl PartialEq for PreparedMessage {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node && self.own == other.own
    }
}

/// The stanzas of a receive run in wire order, some parsed ahead.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(super) items: Vec<RunItem>,
}

/// One stanza of a [`Run`].
#[derive(Debug)]
pub(super) enum RunItem {
    Stanza(Node),
    /// Kept in its box: the box goes back to the thread that made it ([`Spent`]).
    Prepared(Box<PreparedMessage>),
}

impl RunItem {
    pub(super) fn node(&self) -> &Node {
        match self {
            Self::Stanza(node) => node,
            Self::Prepared(message) => &message.node,
        }
    }
}

impl Run {
    /// Adds a stanza that was not parsed ahead.
    pub(crate) fn push(&mut self, node: Node) {
        self.items.push(RunItem::Stanza(node));
    }

    /// Adds a message parsed ahead.
    pub(crate) fn push_prepared(&mut self, message: Box<PreparedMessage>) {
        self.items.push(RunItem::Prepared(message));
    }

    /// How many stanzas the run holds.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the run holds no stanza.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
