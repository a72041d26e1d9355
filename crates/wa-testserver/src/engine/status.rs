//! Status posts: `<message to='status@broadcast'>`.
//!
//! A status is a sender-key message like a group message, but there is no group to say who
//! gets it. whatsmeow names every recipient device in `<participants>` on every post (each
//! with the sender key distribution); Baileys names only the devices that do not hold its
//! status sender key yet. So the server remembers, per poster, every account a post named
//! (its status audience) and fans each post out to every companion of that audience and to
//! the poster's other companions: each device gets its own `<enc>` from `<participants>` (if
//! any) plus the shared `skmsg`, as `<message from='status@broadcast' participant=poster
//! participant_lid=… notify t>`. A recipient that blocked the poster gets nothing. A post
//! with `participant` (the poster's resend answering one device's retry receipt) goes to that
//! device only. The ack carries no `phash` (there is no member list to compare).
//!
//! A receipt `to='status@broadcast' participant=poster` (delivery, read) from an account in
//! the poster's audience (or from the poster's own other device) goes to the poster's
//! companions as `<receipt from='status@broadcast' participant=reader …>`.
//!
//! `<iq xmlns='status' type='get'><privacy/>` answers the account's status privacy as
//! whatsmeow's `GetStatusPrivacy` reads it: `<privacy><list type=… default='true'><user
//! jid=…/>…` (set through [`crate::Admin::set_status_privacy`]; "contacts" when unset).

use wa_binary::{Jid, Node, Server};

use super::Connection;
use super::fanout::{Fanout, with_client_attrs};
use crate::error::Result;
use crate::state::{Account, DeviceKey, ServerState};

/// Attributes of a status post the server sets itself (or keeps to itself).
const SERVER_ATTRS: [&str; 9] = [
    "to",
    "from",
    "t",
    "notify",
    "participant",
    "participant_pn",
    "participant_lid",
    "phash",
    "addressing_mode",
];

/// Children of a status post that are for the server only.
const SERVER_CHILDREN: [&str; 2] = ["participants", "tctoken"];

impl Connection {
    /// A status post from `device`: its audience updated, fanned out, acked.
    pub(super) fn route_status_message(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let Some(poster) = state.acct(device.account).map(|a| a.account.clone()) else {
            return self.handle_common(node, now_ms, state);
        };
        let fanout = Fanout::split(node, state, &SERVER_CHILDREN);
        // A resend to one device (the answer to its retry receipt): that device only, when
        // its account is in the poster's audience or is the poster's own.
        if let Some(only) = node.attr("participant").and_then(|v| v.as_jid()) {
            let target = state.companion(only).filter(|key| {
                key.account == device.account
                    || state
                        .status_audience
                        .get(&device.account)
                        .is_some_and(|a| a.contains(&key.account))
            });
            if let Some(key) = target
                && let Some(out) =
                    fanout.stanza_for(&status_base(node, &poster, device, now_ms), key, false)
            {
                self.deliver_to(key, out, state)?;
            }
            return self.ack_status(node, now_ms);
        }
        let named: Vec<_> = fanout.named().map(|k| k.account).collect();
        let audience = state.status_audience.entry(device.account).or_default();
        audience.extend(named.into_iter().filter(|a| *a != device.account));
        let mut accounts: Vec<_> = audience.iter().copied().collect();
        accounts.push(device.account);

        let base = status_base(node, &poster, device, now_ms);
        for account in accounts {
            if account != device.account && state.blocks(account, device.account) {
                tracing::info!(
                    conn = self.id,
                    "status not delivered: the recipient blocked the poster"
                );
                continue;
            }
            for key in state.companions(account) {
                if key == device {
                    continue;
                }
                if let Some(out) = fanout.stanza_for(&base, key, true) {
                    self.deliver_to(key, out, state)?;
                }
            }
        }
        self.ack_status(node, now_ms)
    }

    /// A receipt from `device` about a status post (`participant` = the poster): relayed to
    /// the poster's companions when the reader is in the poster's audience, then acked.
    pub(super) fn route_status_receipt(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let poster = node.attr("participant").and_then(|v| v.as_jid()).cloned();
        let reader = state.acct(device.account).map(|a| a.account.clone());
        if let (Some(poster), Some(reader)) = (poster, reader) {
            let allowed = state.account_of(&poster).is_some_and(|p| {
                p == device.account
                    || state
                        .status_audience
                        .get(&p)
                        .is_some_and(|a| a.contains(&device.account))
            });
            if allowed {
                let status = Jid::new("status", Server::Broadcast);
                self.relay_sender_key_receipt(
                    node, &status, &poster, &reader, device, now_ms, state,
                )?;
            }
        }
        self.handle_common(node, now_ms, state)
    }

    /// `<iq xmlns="status" type="get"><privacy/>`: the account's status privacy.
    pub(super) fn status_privacy_get(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &ServerState,
    ) -> Result<()> {
        let (kind, users) = state
            .status_privacy
            .get(&device.account)
            .map_or(("contacts", &[][..]), |(k, u)| (k.as_str(), u.as_slice()));
        let list = Node::new("list")
            .attr("type", kind)
            .attr("default", "true")
            .children(
                users
                    .iter()
                    .map(|u| Node::new("user").attr("jid", u.clone()).build()),
            )
            .build();
        let privacy = Node::new("privacy").child(list).build();
        self.send(&super::stanza::result(node, vec![privacy]))
    }

    /// The server's ack of a status post.
    fn ack_status(&mut self, node: &Node, now_ms: u64) -> Result<()> {
        match node.attr("id").and_then(|v| v.as_str()) {
            Some(id) if !id.is_empty() => {
                let ack = Node::new("ack")
                    .attr("class", "message")
                    .attr("id", id)
                    .attr("from", Jid::new("status", Server::Broadcast))
                    .attr("t", (now_ms / 1000).to_string())
                    .build();
                self.send(&ack)
            }
            _ => Ok(()),
        }
    }
}

/// The `<message from='status@broadcast'>` every recipient of `poster`'s post gets, before its
/// children.
fn status_base(node: &Node, poster: &Account, device: DeviceKey, now_ms: u64) -> Node {
    with_client_attrs(
        Node::new("message")
            .attr("from", Jid::new("status", Server::Broadcast))
            .attr("participant", poster.pn_jid(device.device))
            .attr("participant_lid", poster.lid_jid(device.device))
            .attr("notify", poster.push_name.as_str())
            .attr("t", (now_ms / 1000).to_string()),
        node,
        &SERVER_ATTRS,
    )
    .build()
}
