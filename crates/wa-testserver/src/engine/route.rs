//! Routing of `<message>` and `<receipt>` stanzas between the account's companion devices.
//!
//! A message addressed with `<participants><to jid=device><enc/></to>…</participants>` (or a
//! single `<enc>` to a device JID) is rewritten for each addressed device as the real server
//! does: `from` is the sender's device JID, `recipient` the chat the sender addressed, `t` the
//! server time, `notify` the sender's push name and `sender_lid` its LID device JID (the
//! addressing attributes whatsmeow's `message.go` reads). Each device gets only its own `<enc>`
//! children; `<participants>` and `<tctoken>` are not forwarded. Online devices get the stanza
//! through [`Effect::Deliver`]; offline devices get it, in order, when they next log in
//! (before `<ib><offline count=N/>`). Receipts go to the account's other devices the same way.
//!
//! Only devices of the server's one account are routed to; messages to other users (and to the
//! simulated phone, device 0) are acked and dropped.

use rand_core::CryptoRng;
use wa_binary::{Jid, Node, Server};

use super::{Connection, Effect};
use crate::error::Result;
use crate::state::{ConnId, ServerState};

/// Attributes of the client's stanza that the server sets itself (never forwarded as sent).
const SERVER_ATTRS: [&str; 8] = [
    "to",
    "from",
    "t",
    "notify",
    "recipient",
    "participant",
    "sender_lid",
    "device_fanout",
];

/// Children that are for the server only.
const SERVER_CHILDREN: [&str; 2] = ["participants", "tctoken"];

/// Whether `jid` names the server's account (phone-number or LID form).
fn is_own_account(jid: &Jid, state: &ServerState) -> bool {
    match jid.server() {
        Server::User => jid.user() == state.account.phone_number,
        Server::Lid => jid.user() == state.account.lid,
        _ => false,
    }
}

/// The `(device, enc children)` pairs a message is addressed to.
fn targets(node: &Node, to: &Jid, state: &ServerState) -> Vec<(u16, Vec<Node>)> {
    if let Some(parts) = node.child("participants") {
        return parts
            .children_by_tag("to")
            .filter_map(|t| {
                let jid = t.attr("jid").and_then(|v| v.as_jid())?;
                let device = state.device_of(jid)?;
                let encs: Vec<Node> = t.children_by_tag("enc").cloned().collect();
                Some((device, encs))
            })
            .collect();
    }
    let encs: Vec<Node> = node.children_by_tag("enc").cloned().collect();
    if encs.is_empty() {
        return Vec::new();
    }
    state
        .device_of(to)
        .map(|d| vec![(d, encs)])
        .unwrap_or_default()
}

/// The stanza `to_device` receives for `node` sent by `from_device`.
fn rewrite(
    node: &Node,
    chat: &Jid,
    from_device: u16,
    encs: Vec<Node>,
    now_ms: u64,
    state: &ServerState,
) -> Node {
    let account = &state.account;
    let mut b = Node::new(node.tag.clone()).attr("from", account.pn_jid(from_device));
    for (k, v) in node.attrs.iter() {
        if !SERVER_ATTRS.contains(&k) {
            b = b.attr(k.to_owned(), v.clone());
        }
    }
    b = b
        .attr("recipient", chat.to_non_ad())
        .attr("t", (now_ms / 1000).to_string());
    if node.tag == "message" {
        b = b
            .attr("notify", account.push_name.clone())
            .attr("sender_lid", account.lid_jid(from_device))
            .attr("addressing_mode", "pn");
    }
    let mut children = encs;
    children.extend(
        node.children()
            .iter()
            .filter(|c| c.tag != "enc" && !SERVER_CHILDREN.contains(&c.tag.as_str()))
            .cloned(),
    );
    if children.is_empty() {
        b.build()
    } else {
        b.children(children).build()
    }
}

/// A prekey fetch leaving a device with fewer one-time prekeys than this triggers a
/// low-prekey notification (whatsmeow uploads more below 5).
pub const LOW_PRE_KEY_COUNT: usize = 5;

/// A change of the account's device list, announced to its other devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChange {
    /// A companion paired.
    Added,
    /// A companion was unlinked.
    Removed,
}

/// The `<notification type='devices'>` announcing `change` of `device`:
/// `<add|remove><device jid='pn:N' lid='lid:N' key-index/></…>` from the account's JID.
#[must_use]
pub fn device_notification(
    state: &mut ServerState,
    change: DeviceChange,
    device: u16,
    now_ms: u64,
) -> Node {
    state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
    let account = &state.account;
    let mut dev = Node::new("device")
        .attr("jid", account.pn_jid(device))
        .attr("lid", account.lid_jid(device));
    if let Some(d) = state.devices.get(&device) {
        dev = dev.attr("key-index", d.key_index.to_string());
    }
    let tag = match change {
        DeviceChange::Added => "add",
        DeviceChange::Removed => "remove",
    };
    Node::new("notification")
        .attr("from", account.pn_jid(0).to_non_ad())
        .attr("id", format!("dev-{}", state.next_stanza_id))
        .attr("type", "devices")
        .attr("t", (now_ms / 1000).to_string())
        .child(Node::new(tag).child(dev.build()).build())
        .build()
}

/// Announces `change` of `device` to every other companion: offline ones get it queued, the
/// online ones are returned as `(connection, device, stanza)` to deliver.
pub fn announce_device_change(
    state: &mut ServerState,
    change: DeviceChange,
    device: u16,
    now_ms: u64,
) -> Vec<(ConnId, u16, Node)> {
    let node = device_notification(state, change, device, now_ms);
    let others: Vec<u16> = state
        .devices
        .keys()
        .copied()
        .filter(|d| *d != device)
        .collect();
    let mut online = Vec::new();
    for d in others {
        match state.online.get(&d) {
            Some(&conn) => online.push((conn, d, node.clone())),
            None => state.queue_offline(d, node.clone()),
        }
    }
    online
}

impl Connection {
    /// The privacy-token IQ (`<iq xmlns='privacy' type='set'><tokens><token jid t
    /// type='trusted_contact'/></tokens>`): answered with a result; each token's `jid`, when it
    /// is a device user of this server, is issued a fresh 16-byte token for the sender as a
    /// `<notification type='privacy_token'>` on its other devices.
    pub(super) fn privacy_tokens<R: CryptoRng>(
        &mut self,
        node: &Node,
        device: u16,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<()> {
        self.send(&super::stanza::result(node, Vec::new()))?;
        let chats: Vec<Jid> = node
            .child("tokens")
            .into_iter()
            .flat_map(|t| t.children_by_tag("token"))
            .filter_map(|t| t.attr("jid").and_then(|v| v.as_jid()).cloned())
            .collect();
        for chat in chats {
            if !is_own_account(&chat, state) {
                continue;
            }
            let mut token = [0u8; 16];
            rng.fill_bytes(&mut token);
            state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
            let t = (now_ms / 1000).to_string();
            let n = Node::new("notification")
                .attr("from", state.account.pn_jid(device).to_non_ad())
                .attr("id", format!("pt-{}", state.next_stanza_id))
                .attr("type", "privacy_token")
                .attr("t", t.clone())
                .child(
                    Node::new("tokens")
                        .child(
                            Node::new("token")
                                .attr("jid", chat.to_non_ad())
                                .attr("t", t)
                                .attr("type", "trusted_contact")
                                .bytes(token.to_vec())
                                .build(),
                        )
                        .build(),
                )
                .build();
            let others: Vec<u16> = state
                .devices
                .keys()
                .copied()
                .filter(|d| *d != device)
                .collect();
            for d in others {
                self.deliver_to(d, n.clone(), state)?;
            }
        }
        Ok(())
    }

    /// Hands `node` to `device`: an effect if it is online elsewhere, else its offline queue.
    pub(super) fn deliver_to(
        &mut self,
        device: u16,
        node: Node,
        state: &mut ServerState,
    ) -> Result<()> {
        match state.online.get(&device) {
            Some(&conn) if conn == self.id => return self.send(&node),
            Some(&conn) => self
                .effects
                .push_back(Effect::Deliver { conn, device, node }),
            None => state.queue_offline(device, node),
        }
        Ok(())
    }

    /// Tells `device` its one-time prekeys ran low (`<notification type='encrypt'><count
    /// value=N/>`), as the server does when a fetch leaves fewer than
    /// [`LOW_PRE_KEY_COUNT`].
    pub(super) fn notify_low_pre_keys(
        &mut self,
        device: u16,
        remaining: usize,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
        let node = Node::new("notification")
            .attr("from", Jid::new("", Server::User))
            .attr("id", format!("pk-{}", state.next_stanza_id))
            .attr("type", "encrypt")
            .attr("t", (now_ms / 1000).to_string())
            .child(
                Node::new("count")
                    .attr("value", remaining.to_string())
                    .build(),
            )
            .build();
        self.deliver_to(device, node, state)
    }

    /// A `<message>` from `device`: routes it to every addressed device, then acks it.
    pub(super) fn route_message(
        &mut self,
        node: &Node,
        device: u16,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        if let Some(to) = node.attr("to").and_then(|v| v.as_jid()).cloned() {
            let one_to_one = matches!(to.server(), Server::User | Server::Lid);
            if one_to_one && state.faults.require_tctoken && node.child("tctoken").is_none() {
                tracing::info!(conn = self.id, %to, "message without tctoken refused (463)");
                return self.send(
                    &Node::new("ack")
                        .attr("class", "message")
                        .attr("id", node.attr("id").cloned().unwrap_or_else(|| "".into()))
                        .attr("from", to)
                        .attr("t", (now_ms / 1000).to_string())
                        .attr("error", "463")
                        .build(),
                );
            }
            if is_own_account(&to, state) {
                for (target, encs) in targets(node, &to, state) {
                    if target == device {
                        continue;
                    }
                    let out = rewrite(node, &to, device, encs, now_ms, state);
                    self.deliver_to(target, out, state)?;
                }
            } else {
                tracing::info!(conn = self.id, %to, "message to an unknown account dropped");
            }
        }
        self.handle_common(node, now_ms, state)
    }

    /// A `<receipt>` from `device`: goes to the addressed account's other devices, then acked.
    pub(super) fn route_receipt(
        &mut self,
        node: &Node,
        device: u16,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        if let Some(to) = node.attr("to").and_then(|v| v.as_jid()).cloned()
            && is_own_account(&to, state)
        {
            let others: Vec<u16> = state
                .devices
                .keys()
                .copied()
                .filter(|d| *d != device)
                .collect();
            for target in others {
                let out = rewrite(node, &to, device, Vec::new(), now_ms, state);
                self.deliver_to(target, out, state)?;
            }
        }
        self.handle_common(node, now_ms, state)
    }

    /// A stanza another connection routed to `device` on this connection (see
    /// [`Effect::Deliver`]): sent if `device` is still logged in here, else queued for its
    /// next login.
    pub fn handle_deliver(
        &mut self,
        device: u16,
        node: Node,
        state: &mut ServerState,
    ) -> Result<()> {
        if self.closing || self.device() != Some(device) {
            state.queue_offline(device, node);
            return Ok(());
        }
        self.send(&node)
    }
}
