//! Group traffic, wired to the sans-IO [`GroupRegistry`](crate::groups::GroupRegistry) held in
//! [`ServerState::groups`]:
//!
//! - `<iq xmlns='w:g2'>` is answered by the registry (the requester is the device's account);
//!   each `w:gp2` notification it returns goes to every companion of the addressed member;
//! - `<message to='…@g.us'>` is refused with `<ack error=…>` when the registry refuses the
//!   sender (403 not a member, 401 announce mode), else fanned out to every companion of every
//!   member except the sending device: each gets its own `<enc>` from `<participants>` (if
//!   any) plus the message's top-level `<enc>` (the `skmsg`), with `from` = the group,
//!   `participant` = the sending device in the group's addressing form and the other form as
//!   `participant_pn`/`participant_lid`, `addressing_mode`, `notify` and `t`. The ack carries
//!   the group's current `phash` when the sender's differs (as whatsmeow's `sendGroup` reads);
//! - `<receipt to='…@g.us' participant=sender>` goes to the companions of the sender's
//!   account (not to the reading device) as `<receipt from=group participant=reader …>`, the
//!   reader in the form the sender was named in; receipts of non-members are only acked.

use wa_binary::{Jid, Node};
use wa_groups::AddressingMode;

use super::Connection;
use super::fanout::{Fanout, with_client_attrs};
use crate::error::Result;
use crate::state::{Account, AccountState, DeviceKey, ServerState};

/// Attributes of a group message the server sets itself (or keeps to itself).
const SERVER_ATTRS: [&str; 12] = [
    "to",
    "from",
    "t",
    "notify",
    "recipient",
    "participant",
    "participant_pn",
    "participant_lid",
    "addressing_mode",
    "phash",
    "device_fanout",
    "peer_recipient_pn",
];

/// Children of a group message that are for the server only.
const SERVER_CHILDREN: [&str; 2] = ["participants", "tctoken"];

/// Makes the registry know every account's PN and LID (cheap when nothing changed).
fn sync_users(state: &mut ServerState) {
    let pairs: Vec<(Jid, Jid)> = state
        .accounts
        .iter()
        .map(|a| (a.account.pn_jid(0), a.account.lid_jid(0)))
        .collect();
    for (pn, lid) in pairs {
        state.groups.register_user(&pn, &lid);
    }
}

/// The devices of `account` a group's phash covers, in the group's addressing form.
fn devices_in(account: &AccountState, mode: &AddressingMode) -> Vec<Jid> {
    account
        .all_device_ids()
        .into_iter()
        .map(|d| match mode {
            AddressingMode::Lid => account.account.lid_jid(d),
            _ => account.account.pn_jid(d),
        })
        .collect()
}

impl Connection {
    /// Answers a `w:g2` IQ of `device` and delivers the notifications it causes.
    pub(super) fn group_iq(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        sync_users(state);
        let Some(requester) = state.acct(device.account).map(|a| a.account.pn_jid(0)) else {
            return self.handle_common(node, now_ms, state);
        };
        let out = state.groups.handle_iq(now_ms / 1000, &requester, node);
        self.send(&out.reply)?;
        for (user, notification) in out.notifications {
            self.deliver_to_members_devices(&user, &notification, None, state)?;
        }
        Ok(())
    }

    /// Delivers `node` to every companion of the account `user` names, except `skip`.
    fn deliver_to_members_devices(
        &mut self,
        user: &Jid,
        node: &Node,
        skip: Option<DeviceKey>,
        state: &mut ServerState,
    ) -> Result<()> {
        let Some(account) = state.account_of(user) else {
            return Ok(());
        };
        for key in state.companions(account) {
            if Some(key) != skip {
                self.deliver_to(key, node.clone(), state)?;
            }
        }
        Ok(())
    }

    /// A `<message>` from `device` to the group `group`: checked, fanned out, acked.
    pub(super) fn route_group_message(
        &mut self,
        node: &Node,
        group: &Jid,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        sync_users(state);
        let Some(sender) = state.acct(device.account).map(|a| a.account.clone()) else {
            return self.handle_common(node, now_ms, state);
        };
        let targets = state.groups.message_targets(group, &sender.pn_jid(0));
        let mode = state
            .groups
            .addressing_mode(group)
            .cloned()
            .unwrap_or(AddressingMode::Lid);
        let phash = state.groups.participant_hash(group, |m| {
            let account = m
                .user
                .pn
                .as_ref()
                .or(m.user.lid.as_ref())
                .and_then(|j| state.accounts.iter().find(|a| a.owns(j)));
            account.map(|a| devices_in(a, &mode)).unwrap_or_default()
        });
        let id = node.attr("id").and_then(|v| v.as_str()).unwrap_or_default();
        let ack = |error: Option<u16>, phash: Option<String>| {
            Node::new("ack")
                .attr("class", "message")
                .attr("id", id)
                .attr("from", group)
                .attr("t", (now_ms / 1000).to_string())
                .attr_opt("error", error)
                .attr_opt("phash", phash)
                .build()
        };
        let users = match targets {
            Ok(users) => users,
            Err(e) => {
                tracing::info!(conn = self.id, %group, "group message refused: {e}");
                return if id.is_empty() {
                    Ok(())
                } else {
                    self.send(&ack(Some(e.code()), None))
                };
            }
        };
        let lid_mode = mode == AddressingMode::Lid;
        let (participant, alt_name, alt) = if lid_mode {
            (
                sender.lid_jid(device.device),
                "participant_pn",
                sender.pn_jid(device.device),
            )
        } else {
            (
                sender.pn_jid(device.device),
                "participant_lid",
                sender.lid_jid(device.device),
            )
        };
        let fanout = Fanout::split(node, state, &SERVER_CHILDREN);
        let base = with_client_attrs(
            Node::new("message")
                .attr("from", group)
                .attr("participant", participant)
                .attr(alt_name, alt)
                .attr("addressing_mode", mode.as_str())
                .attr("notify", sender.push_name.as_str())
                .attr("t", (now_ms / 1000).to_string()),
            node,
            &SERVER_ATTRS,
        )
        .build();
        // A resend to one member's device (the answer to its retry receipt): that device only.
        if let Some(only) = node.attr("participant").and_then(|v| v.as_jid()) {
            let member = state.companion(only).filter(|key| {
                state
                    .acct(key.account)
                    .is_some_and(|a| users.iter().any(|u| a.owns(u)))
            });
            if let Some(key) = member
                && let Some(out) = fanout.stanza_for(&base, key, false)
            {
                self.deliver_to(key, out, state)?;
            }
            return if id.is_empty() {
                Ok(())
            } else {
                self.send(&ack(None, None))
            };
        }
        for user in users {
            let Some(account) = state.account_of(&user) else {
                continue;
            };
            for key in state
                .companions(account)
                .into_iter()
                .filter(|k| *k != device)
            {
                if let Some(out) = fanout.stanza_for(&base, key, true) {
                    self.deliver_to(key, out, state)?;
                }
            }
        }
        if id.is_empty() {
            return Ok(());
        }
        let sent = node.attr("phash").and_then(|v| v.as_str());
        let stale = match (&phash, sent) {
            (Ok(expected), Some(sent)) if sent != expected => Some(expected.clone()),
            _ => None,
        };
        self.send(&ack(None, stale))
    }

    /// A `<receipt>` from `device` about a message in `group`: delivered to the companions of
    /// the account of `participant` (the message's sender), then acked.
    pub(super) fn route_group_receipt(
        &mut self,
        node: &Node,
        group: &Jid,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        sync_users(state);
        let sender = node.attr("participant").and_then(|v| v.as_jid()).cloned();
        let reader = state.acct(device.account).map(|a| a.account.clone());
        let member = reader.as_ref().is_some_and(|r| {
            state
                .groups
                .members(group)
                .is_ok_and(|ms| ms.iter().any(|m| m.user.is(&r.pn_jid(0))))
        });
        if let (Some(sender), Some(reader), true) = (sender, reader, member) {
            self.relay_sender_key_receipt(node, group, &sender, &reader, device, now_ms, state)?;
        }
        self.handle_common(node, now_ms, state)
    }

    /// Relays a receipt about a sender-key message in `chat` (a group or `status@broadcast`)
    /// from `reader`'s `device` to the companions of the message's `sender`, as `<receipt
    /// from=chat participant=reader …>` with the reader in the form the sender was named in.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn relay_sender_key_receipt(
        &mut self,
        node: &Node,
        chat: &Jid,
        sender: &Jid,
        reader: &Account,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let from_reader = if *sender.server() == wa_binary::Server::Lid {
            reader.lid_jid(device.device)
        } else {
            reader.pn_jid(device.device)
        };
        let mut b = Node::new("receipt")
            .attr("from", chat)
            .attr("participant", from_reader)
            .attr("t", (now_ms / 1000).to_string());
        for (k, v) in node.attrs.iter() {
            if !matches!(k, "to" | "from" | "participant" | "t" | "recipient") {
                b = b.attr(k.to_owned(), v.clone());
            }
        }
        let out = if node.children().is_empty() {
            b.build()
        } else {
            b.children(node.children().iter().cloned()).build()
        };
        self.deliver_to_members_devices(sender, &out, Some(device), state)
    }
}
