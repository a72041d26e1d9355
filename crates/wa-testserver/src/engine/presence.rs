//! Presence and chat state: `<presence type=available|unavailable>` is kept per account and
//! pushed to the devices subscribed to it (`<presence type=subscribe to>`, answered at once
//! with the current state); `<chatstate to>` goes to the online devices of the other user, or
//! of every other member of a group. Both are ephemeral: a device that is offline misses them,
//! as on WhatsApp.

use wa_binary::{Jid, Node};

use super::Connection;
use crate::error::Result;
use crate::state::{AccountPresence, DeviceKey, ServerState};

/// `<presence from type [last]>` as a subscriber receives it; an account that never said
/// anything is unavailable with no last-seen time.
fn presence_stanza(from: Jid, presence: Option<&AccountPresence>) -> Node {
    let builder = Node::new("presence").attr("from", from);
    match presence {
        Some(p) if p.available => builder.attr("type", "available").build(),
        Some(p) => builder
            .attr("type", "unavailable")
            .attr("last", p.last_seen.to_string())
            .build(),
        None => builder.attr("type", "unavailable").build(),
    }
}

impl Connection {
    /// Hands an ephemeral stanza to `device` if it is logged in somewhere; drops it otherwise.
    fn deliver_if_online(
        &mut self,
        device: DeviceKey,
        node: Node,
        state: &ServerState,
    ) -> Result<()> {
        self.deliver_online(device, node, state).map(drop)
    }

    /// A `<presence>` from `device`: a subscription, or the account's new availability.
    /// Anything else (a bare `<presence/>`, a name update) is ignored.
    pub(super) fn handle_presence(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        match node.attr("type").and_then(|v| v.as_str()).unwrap_or("") {
            "subscribe" => {
                let Some(to) = node.attr("to").and_then(|v| v.as_jid()).cloned() else {
                    return Ok(());
                };
                let Some(target) = state.account_of(&to) else {
                    tracing::debug!(conn = self.id, %to, "presence subscription to an unknown account");
                    return Ok(());
                };
                state
                    .presence_subscribers
                    .entry(target)
                    .or_default()
                    .insert(device);
                let current = presence_stanza(to.to_non_ad(), state.presence.get(&target));
                self.send(&current)
            }
            kind @ ("available" | "unavailable") => {
                let update = AccountPresence {
                    available: kind == "available",
                    last_seen: now_ms / 1000,
                };
                state.presence.insert(device.account, update);
                let Some(from) = state.acct(device.account).map(|a| a.account.pn_jid(0)) else {
                    return Ok(());
                };
                let subscribers: Vec<DeviceKey> = state
                    .presence_subscribers
                    .get(&device.account)
                    .map(|s| {
                        s.iter()
                            .copied()
                            .filter(|d| d.account != device.account)
                            .collect()
                    })
                    .unwrap_or_default();
                let stanza = presence_stanza(from, Some(&update));
                for subscriber in subscribers {
                    self.deliver_if_online(subscriber, stanza.clone(), state)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A `<chatstate to>` from `device`: to the other user's online devices as
    /// `<chatstate from=sender>`, or to every other group member's as
    /// `<chatstate from=group participant=sender>`.
    pub(super) fn route_chat_state(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &mut ServerState,
    ) -> Result<()> {
        let (Some(to), Some(child)) = (
            node.attr("to").and_then(|v| v.as_jid()).cloned(),
            node.children().first().cloned(),
        ) else {
            return Ok(());
        };
        let Some(sender) = state.acct(device.account).map(|a| a.account.pn_jid(0)) else {
            return Ok(());
        };
        let (recipients, out) = if to.is_group() {
            let Ok(members) = state.groups.members(&to) else {
                tracing::debug!(conn = self.id, %to, "chat state for an unknown group");
                return Ok(());
            };
            let users: Vec<Jid> = members.iter().map(|m| m.user.user()).collect();
            let out = Node::new("chatstate")
                .attr("from", to.to_non_ad())
                .attr("participant", sender)
                .child(child)
                .build();
            (users, out)
        } else {
            let out = Node::new("chatstate")
                .attr("from", sender)
                .child(child)
                .build();
            (vec![to], out)
        };
        let mut accounts: Vec<_> = recipients
            .iter()
            .filter_map(|u| state.account_of(u))
            .filter(|a| *a != device.account)
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            for target in state.companions(account) {
                self.deliver_if_online(target, out.clone(), state)?;
            }
        }
        Ok(())
    }
}
