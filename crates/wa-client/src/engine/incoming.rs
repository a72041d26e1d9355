//! Stanzas the engine hands to the runtime's receive pipeline (`crate::recv`): `<message>`,
//! `<receipt>` and the `<notification>`s that need the store. The engine does not answer
//! them; the pipeline acks them after processing, so a crash before that makes the server
//! deliver them again.

use wa_binary::Node;

use super::Engine;
use crate::event::Event;
use crate::recv::PreparedMessage;

/// Notification types the receive pipeline acts on (the engine acks every notification).
const PIPELINE_NOTIFICATIONS: &[&str] = &[
    "devices",
    "encrypt",
    "privacy_token",
    "w:gp2",
    "server_sync",
];

/// One item for the receive pipeline, in wire order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A stanza to process with store access.
    Stanza(Node),
    /// A `<message>` stanza the caller parsed ahead
    /// ([`Engine::handle_prepared_message`]); its node is [`PreparedMessage::node`].
    Prepared(Box<PreparedMessage>),
    /// An engine event that must reach the application after the stanzas queued before it
    /// (`OfflineSyncCompleted` after the offline messages).
    Event(Box<Event>),
}

impl Engine {
    /// The next stanza (or ordered event) for the receive pipeline, in wire order.
    pub fn poll_incoming(&mut self) -> Option<Incoming> {
        self.incoming.pop_front()
    }

    /// Queues a stanza for the pipeline.
    pub(super) fn queue_incoming(&mut self, node: &Node) {
        self.incoming.push_back(Incoming::Stanza(node.clone()));
    }

    /// Whether a notification goes to the pipeline too.
    pub(super) fn pipeline_notification(node: &Node) -> bool {
        node.attr("type")
            .and_then(|t| t.as_str())
            .is_some_and(|t| PIPELINE_NOTIFICATIONS.contains(&t))
    }

    /// Emits `event` after the stanzas already queued for the pipeline.
    pub(super) fn event_after_incoming(&mut self, event: Event) {
        if self.incoming.is_empty() {
            self.events.push_back(event);
        } else {
            self.incoming.push_back(Incoming::Event(Box::new(event)));
        }
    }

    /// Sends a stanza the pipeline (or the application) built: acks, receipts.
    pub fn send_stanza(&mut self, node: &Node) {
        if self.closed.is_none() {
            self.send_node(node);
        }
    }

    /// [`Engine::send_stanza`] for a stanza the caller no longer needs (no copy when the
    /// writer was taken).
    pub fn send_stanza_owned(&mut self, node: Node) {
        if self.closed.is_none() {
            self.send_node_owned(node);
        }
    }

    /// Records that one-time prekey `id` was generated outside the engine (for a retry
    /// receipt), so the next upload continues after it.
    pub fn note_pre_key_generated(&mut self, id: u32) {
        if id > self.prekeys.last_id {
            self.prekeys.last_id = id;
        }
        self.prekeys.total = self.prekeys.total.saturating_add(1);
    }
}
