//! Stanzas waiting for a device that is offline, kept encoded.
//!
//! A queued stanza is encoded once, when it is queued, and the login that drains the queue
//! only encrypts it into a frame. WhatsApp too delivers stored stanzas; here it keeps the
//! test server from encoding and freeing a long queue's node trees while the client that
//! logged in is receiving it on the same machine.

use wa_binary::{DecodeError, Node};

/// One stanza of an offline queue, encoded as it will leave (with the leading flags byte of
/// [`wa_binary::marshal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedStanza {
    encoded: Vec<u8>,
}

impl QueuedStanza {
    /// Encodes `node` for the queue; a node the wire format cannot hold is an error (it could
    /// never be sent).
    pub fn encode(node: &Node) -> Result<Self, DecodeError> {
        wa_binary::try_marshal(node).map(|encoded| Self { encoded })
    }

    /// The encoded stanza, as a frame carries it.
    #[must_use]
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The stanza as a node (for inspection: the admin interface and tests).
    pub fn node(&self) -> Result<Node, DecodeError> {
        wa_binary::decode_frame(&self.encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_stanza_decodes_to_the_node_it_was_made_from() {
        let node = Node::new("message")
            .attr("id", "3EB0")
            .attr("type", "text")
            .children(vec![Node::new("enc").bytes(vec![1, 2, 3]).build()])
            .build();
        let queued = QueuedStanza::encode(&node).unwrap();
        assert_eq!(queued.encoded(), wa_binary::marshal(&node).as_slice());
        assert_eq!(queued.node().unwrap(), node);
    }

    #[test]
    fn a_node_the_wire_cannot_hold_is_not_queued() {
        let attrs = (0..40_000).map(|i| (format!("a{i}"), "v".to_owned()));
        let mut builder = Node::new("message");
        for (k, v) in attrs {
            builder = builder.attr(k, v);
        }
        assert!(QueuedStanza::encode(&builder.build()).is_err());
    }
}
