//! How the server splits a sender-key message (to a group or to `status@broadcast`) into the
//! stanza each receiving device gets: the device's own `<enc>` from `<participants><to jid>`
//! (the sender key distribution), the shared top-level `<enc>` (the `skmsg`), and the
//! message's other children except those for the server only.

use std::collections::BTreeMap;

use wa_binary::{Content, Node, NodeBuilder};

use crate::state::{DeviceKey, ServerState};

/// A sender-key message taken apart for fan-out.
pub(super) struct Fanout {
    /// Each named device's own `<enc>`s (devices the server does not know are left out).
    per_device: BTreeMap<DeviceKey, Vec<Node>>,
    /// The top-level `<enc>`s every device gets.
    shared: Vec<Node>,
    /// The other children every device gets.
    extra: Vec<Node>,
}

impl Fanout {
    /// Splits `node`; children tagged in `server_only` (besides `<enc>`, placed apart) are
    /// dropped.
    pub(super) fn split(node: &Node, state: &ServerState, server_only: &[&str]) -> Self {
        let mut per_device: BTreeMap<DeviceKey, Vec<Node>> = BTreeMap::new();
        if let Some(parts) = node.child("participants") {
            for to in parts.children_by_tag("to") {
                let Some(key) = to
                    .attr("jid")
                    .and_then(|v| v.as_jid())
                    .and_then(|j| state.companion(j))
                else {
                    continue;
                };
                per_device
                    .entry(key)
                    .or_default()
                    .extend(to.children_by_tag("enc").cloned());
            }
        }
        Self {
            per_device,
            shared: node.children_by_tag("enc").cloned().collect(),
            extra: node
                .children()
                .iter()
                .filter(|c| c.tag != "enc" && !server_only.contains(&c.tag.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// The devices `<participants>` named.
    pub(super) fn named(&self) -> impl Iterator<Item = &DeviceKey> {
        self.per_device.keys()
    }

    /// What `key` gets: `base` with its own `<enc>`s (unless `own_encs` is false), the shared
    /// ones and the other children; `None` when there is no `<enc>` for it.
    pub(super) fn stanza_for(&self, base: &Node, key: DeviceKey, own_encs: bool) -> Option<Node> {
        let mut children: Vec<Node> = if own_encs {
            self.per_device.get(&key).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        children.extend(self.shared.iter().cloned());
        if children.is_empty() {
            return None;
        }
        children.extend(self.extra.iter().cloned());
        let mut out = base.clone();
        out.content = Content::Nodes(children);
        Some(out)
    }
}

/// `builder` with every attribute of the client's `node` except those in `server_attrs`
/// (which the server sets itself or keeps to itself).
pub(super) fn with_client_attrs(
    mut builder: NodeBuilder,
    node: &Node,
    server_attrs: &[&str],
) -> NodeBuilder {
    for (k, v) in node.attrs.iter() {
        if !server_attrs.contains(&k) {
            builder = builder.attr(k.to_owned(), v.clone());
        }
    }
    builder
}
