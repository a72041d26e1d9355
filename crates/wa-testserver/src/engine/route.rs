//! Routing of `<message>` and `<receipt>` stanzas between devices of every account.
//!
//! A message addressed with `<participants><to jid=device><enc/></to>…</participants>` (or a
//! single `<enc>` to a device JID) is rewritten for each addressed device as the real server
//! does (the addressing attributes whatsmeow's `message.go` reads):
//!
//! - the recipient's devices get `from` = the sender's device JID in the form the sender
//!   addressed (`@lid` for a `to=…@lid` send, else the phone-number form), the other form as
//!   `sender_lid` / `sender_pn`, `addressing_mode`, `notify` (the sender's push name) and `t`;
//!   no `participant` and no `recipient` for 1:1 chats;
//! - the sender's own other devices get the same `from` plus `recipient` = the chat the sender
//!   addressed (so they see the message as sent by themselves).
//!
//! Each device gets only its own `<enc>` children; `<participants>` and `<tctoken>` are not
//! forwarded. Devices of accounts other than the recipient's and the sender's are ignored, as is
//! the phone (device 0, which is simulated). Online devices get the stanza through
//! [`Effect::Deliver`]; offline ones get it, in order, when they next log in (before
//! `<ib><offline count=N/>`).
//!
//! Receipts (`<receipt to=… type=…>`) go to the addressed device when `to` names one (retry
//! receipts), else to every companion of the addressed account; `read-self`/`played-self`
//! never reach the peer, and `sender`/`peer_msg`/`hist_sync` receipts (about the reader's own
//! account's messages; Baileys sends them with `to` = the chat) stay in the reader's account
//! (the `participant` device, else the other companions). Read and played receipts are also
//! copied to the sender's other devices (with `recipient` = the chat), as WhatsApp syncs read
//! state. Every stanza is acked.

use wa_binary::{Jid, Node, Server};

use super::{Connection, Effect};
use crate::error::Result;
use crate::offline::QueuedStanza;
use crate::state::{AccountId, DeviceKey, ServerState};

/// Attributes of the client's stanza that the server sets itself (never forwarded as sent).
const SERVER_ATTRS: [&str; 11] = [
    "to",
    "from",
    "t",
    "notify",
    "recipient",
    "participant",
    "sender_lid",
    "sender_pn",
    "addressing_mode",
    "device_fanout",
    "peer_recipient_pn",
];

/// Children that are for the server only.
const SERVER_CHILDREN: [&str; 2] = ["participants", "tctoken"];

/// Receipt types the peer never sees (the reader's privacy setting hides them).
const SELF_ONLY_RECEIPTS: [&str; 2] = ["read-self", "played-self"];

/// Receipt types about messages the reader's own account sent (a companion confirming an
/// own-device copy, the phone's peer messages): they stay within the reader's account, going
/// to the device named by `participant` or else to the other companions.
const OWN_ACCOUNT_RECEIPTS: [&str; 3] = ["sender", "peer_msg", "hist_sync"];

/// Receipt types copied to the sender's other devices.
const SYNCED_RECEIPTS: [&str; 4] = ["read", "read-self", "played", "played-self"];

/// How a message or receipt is addressed: which account and in which JID form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Phone-number JIDs (`@s.whatsapp.net`).
    Pn,
    /// LID JIDs (`@lid`).
    Lid,
}

impl Form {
    fn of(jid: &Jid) -> Self {
        if *jid.server() == Server::Lid {
            Self::Lid
        } else {
            Self::Pn
        }
    }
}

/// The sending device's JID in `form`, and its other form (for `sender_pn`/`sender_lid`).
fn sender_jids(
    state: &ServerState,
    sender: DeviceKey,
    form: Form,
) -> Option<(Jid, &'static str, Jid)> {
    let a = &state.acct(sender.account)?.account;
    let pn = a.pn_jid(sender.device);
    let lid = a.lid_jid(sender.device);
    Some(match form {
        Form::Pn => (pn, "sender_lid", lid),
        Form::Lid => (lid, "sender_pn", pn),
    })
}

/// The companion devices a message is addressed to, with their `<enc>` children: devices of
/// the recipient account or of the sender's own account, never the sender itself nor a phone.
fn targets(
    node: &Node,
    to: &Jid,
    sender: DeviceKey,
    recipient: AccountId,
    state: &ServerState,
) -> Vec<(DeviceKey, Vec<Node>)> {
    let allowed = |k: &DeviceKey| {
        (k.account == recipient || k.account == sender.account) && *k != sender && k.device != 0
    };
    if let Some(parts) = node.child("participants") {
        return parts
            .children_by_tag("to")
            .filter_map(|t| {
                let jid = t.attr("jid").and_then(|v| v.as_jid())?;
                let key = state.companion(jid).filter(allowed)?;
                let encs: Vec<Node> = t.children_by_tag("enc").cloned().collect();
                Some((key, encs))
            })
            .collect();
    }
    let encs: Vec<Node> = node.children_by_tag("enc").cloned().collect();
    if encs.is_empty() {
        return Vec::new();
    }
    state
        .companion(to)
        .filter(allowed)
        .map(|k| vec![(k, encs)])
        .unwrap_or_default()
}

/// The stanza a device receives for `node` (a message or receipt) sent by `sender` to `chat`.
/// `own_copy` marks a copy for the sender's own other devices (it then carries `recipient`).
fn rewrite(
    node: &Node,
    chat: &Jid,
    sender: DeviceKey,
    own_copy: bool,
    encs: Vec<Node>,
    now_ms: u64,
    state: &ServerState,
) -> Option<Node> {
    let form = Form::of(chat);
    let (from, alt_name, alt) = sender_jids(state, sender, form)?;
    let mut b = Node::new(node.tag.clone()).attr("from", from);
    for (k, v) in node.attrs.iter() {
        if !SERVER_ATTRS.contains(&k) {
            b = b.attr(k.to_owned(), v.clone());
        }
    }
    if own_copy {
        b = b.attr("recipient", chat.to_non_ad());
    }
    b = b.attr("t", (now_ms / 1000).to_string());
    if node.tag == "message" {
        let push_name = state
            .acct(sender.account)
            .map(|a| a.account.push_name.clone())
            .unwrap_or_default();
        b = b.attr("notify", push_name).attr(alt_name, alt).attr(
            "addressing_mode",
            match form {
                Form::Pn => "pn",
                Form::Lid => "lid",
            },
        );
    }
    let mut children = encs;
    children.extend(
        node.children()
            .iter()
            .filter(|c| c.tag != "enc" && !SERVER_CHILDREN.contains(&c.tag.as_str()))
            .cloned(),
    );
    Some(if children.is_empty() {
        b.build()
    } else {
        b.children(children).build()
    })
}

/// Whether a 1:1 message from `sender` to account `recipient` must be refused for lacking a
/// valid privacy token: with the server-wide fault any `<tctoken>` passes; an account that
/// requires tokens wants one it issued to the sender's account (or, if it issued none, any).
fn token_refused(
    node: &Node,
    sender: DeviceKey,
    recipient: AccountId,
    state: &ServerState,
) -> bool {
    let token = node.child("tctoken").and_then(Node::bytes);
    if state.faults.require_tctoken && token.is_none() {
        return true;
    }
    let Some(r) = state.acct(recipient) else {
        return false;
    };
    if !r.require_tctoken || recipient == sender.account {
        return false;
    }
    match (token, r.issued_tokens.get(&sender.account)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(t), Some(issued)) => t != issued.as_slice(),
    }
}

impl Connection {
    /// Hands `node` to `device`: sent here if it is this connection's device, an effect if it
    /// is online elsewhere, else its offline queue.
    pub(super) fn deliver_to(
        &mut self,
        device: DeviceKey,
        node: Node,
        state: &mut ServerState,
    ) -> Result<()> {
        if let Some(node) = self.deliver_online(device, node, state)? {
            state.queue_offline(device, node);
        }
        Ok(())
    }

    /// Hands `node` to `device` if it is logged in, here or on another connection; gives the
    /// node back when the device is offline.
    pub(super) fn deliver_online(
        &mut self,
        device: DeviceKey,
        node: Node,
        state: &ServerState,
    ) -> Result<Option<Node>> {
        match state.online.get(&device) {
            Some(&conn) if conn == self.id => self.send(&node)?,
            Some(&conn) => self
                .effects
                .push_back(Effect::Deliver { conn, device, node }),
            None => return Ok(Some(node)),
        }
        Ok(None)
    }

    fn refuse_463(&mut self, node: &Node, to: Jid, now_ms: u64) -> Result<()> {
        tracing::info!(conn = self.id, %to, "message without a valid tctoken refused (463)");
        self.send(
            &Node::new("ack")
                .attr("class", "message")
                .attr("id", node.attr("id").cloned().unwrap_or_else(|| "".into()))
                .attr("from", to)
                .attr("t", (now_ms / 1000).to_string())
                .attr("error", "463")
                .build(),
        )
    }

    /// A `<message>` from `device`: routes it to every addressed device of the recipient and
    /// of the sender's own account, then acks it.
    pub(super) fn route_message(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        if let Some(group) = node
            .attr("to")
            .and_then(|v| v.as_jid())
            .filter(|j| j.is_group())
        {
            let group = group.clone();
            return self.route_group_message(node, &group, device, now_ms, state);
        }
        if node
            .attr("to")
            .and_then(|v| v.as_jid())
            .is_some_and(Jid::is_status_broadcast)
        {
            return self.route_status_message(node, device, now_ms, state);
        }
        if let Some(to) = node.attr("to").and_then(|v| v.as_jid()).cloned() {
            let one_to_one = matches!(to.server(), Server::User | Server::Lid);
            match state.account_of(&to).filter(|_| one_to_one) {
                Some(recipient) => {
                    if token_refused(node, device, recipient, state) {
                        return self.refuse_463(node, to, now_ms);
                    }
                    // A recipient that blocked the sender gets nothing; the sender's own
                    // devices still get their copies, and the sender its ack.
                    let blocked = state.blocks(recipient, device.account);
                    if blocked {
                        tracing::info!(conn = self.id, %to, "not delivered: the recipient blocked the sender");
                    }
                    for (target, encs) in targets(node, &to, device, recipient, state) {
                        let own_copy = target.account == device.account;
                        if blocked && !own_copy {
                            continue;
                        }
                        if let Some(out) = rewrite(node, &to, device, own_copy, encs, now_ms, state)
                        {
                            self.deliver_to(target, out, state)?;
                        }
                    }
                }
                None if one_to_one
                    && state.faults.require_tctoken
                    && node.child("tctoken").is_none() =>
                {
                    return self.refuse_463(node, to, now_ms);
                }
                None => {
                    tracing::info!(conn = self.id, %to, "message to an unknown account dropped");
                }
            }
        }
        self.handle_common(node, now_ms, state)
    }

    /// A `<receipt>` from `device`: goes to the addressed device (or account), copies of read
    /// and played receipts to the sender's other devices; then acked.
    pub(super) fn route_receipt(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        if let Some(group) = node
            .attr("to")
            .and_then(|v| v.as_jid())
            .filter(|j| j.is_group())
        {
            let group = group.clone();
            return self.route_group_receipt(node, &group, device, now_ms, state);
        }
        if node
            .attr("to")
            .and_then(|v| v.as_jid())
            .is_some_and(Jid::is_status_broadcast)
        {
            return self.route_status_receipt(node, device, now_ms, state);
        }
        if let Some(to) = node.attr("to").and_then(|v| v.as_jid()).cloned()
            && let Some(recipient) = state.account_of(&to)
        {
            let kind = node.attr("type").and_then(|v| v.as_str()).unwrap_or("");
            let own = recipient == device.account;
            if own && to.device() == 0 {
                crate::history::record_phone_receipt(state, device, node);
            }
            let mut deliveries: Vec<(DeviceKey, bool)> = Vec::new();
            if !own && OWN_ACCOUNT_RECEIPTS.contains(&kind) {
                let named = node
                    .attr("participant")
                    .and_then(|v| v.as_jid())
                    .and_then(|j| state.companion(j))
                    .filter(|k| k.account == device.account && *k != device);
                match (named, state.acct(device.account)) {
                    (Some(k), _) => deliveries.push((k, true)),
                    (None, Some(a)) => deliveries.extend(
                        a.devices
                            .keys()
                            .map(|d| DeviceKey::new(device.account, *d))
                            .filter(|k| *k != device)
                            .map(|k| (k, true)),
                    ),
                    (None, None) => {}
                }
            } else if !own && SELF_ONLY_RECEIPTS.contains(&kind) {
                // Not for the peer.
            } else if to.device() != 0 {
                if let Some(k) = state.companion(&to).filter(|k| *k != device) {
                    deliveries.push((k, own));
                }
            } else if let Some(a) = state.acct(recipient) {
                deliveries.extend(
                    a.devices
                        .keys()
                        .map(|d| DeviceKey::new(recipient, *d))
                        .filter(|k| *k != device)
                        .map(|k| (k, own)),
                );
            }
            if !own
                && SYNCED_RECEIPTS.contains(&kind)
                && let Some(a) = state.acct(device.account)
            {
                deliveries.extend(
                    a.devices
                        .keys()
                        .map(|d| DeviceKey::new(device.account, *d))
                        .filter(|k| *k != device)
                        .map(|k| (k, true)),
                );
            }
            for (target, own_copy) in deliveries {
                if let Some(out) = rewrite(node, &to, device, own_copy, Vec::new(), now_ms, state) {
                    self.deliver_to(target, out, state)?;
                }
            }
        }
        self.handle_common(node, now_ms, state)
    }

    /// A stanza another connection routed to `device` on this connection (see
    /// [`Effect::Deliver`]): sent if `device` is still logged in here, else queued for its
    /// next login.
    pub fn handle_deliver(
        &mut self,
        device: DeviceKey,
        node: Node,
        state: &mut ServerState,
    ) -> Result<()> {
        if self.closing || self.device() != Some(device) {
            state.queue_offline(device, node);
            return Ok(());
        }
        if let Some(backlog) = self.backlog_mut() {
            // Behind the offline stanzas still waiting, so the order stays the queue's.
            backlog.push_back(QueuedStanza::encode(&node)?);
            return Ok(());
        }
        self.send(&node)
    }
}
