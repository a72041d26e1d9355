//! Server-initiated notifications: device-list changes (`type='devices'`), low one-time
//! prekeys (`type='encrypt'`), privacy tokens (`type='privacy_token'`) and account settings
//! changed on another companion (`type='account_sync'`).

use rand_core::CryptoRng;
use wa_binary::{Jid, Node, Server};

use super::Connection;
use crate::error::Result;
use crate::state::{ConnId, DeviceKey, ServerState};

/// A prekey fetch leaving a device with fewer one-time prekeys than this triggers a
/// low-prekey notification (whatsmeow uploads more below 5).
pub const LOW_PRE_KEY_COUNT: usize = 5;

/// A change of an account's device list, announced to its other devices and to the companions
/// of every other account (so their device-list caches drop the entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChange {
    /// A companion paired.
    Added,
    /// A companion was unlinked.
    Removed,
}

/// The `<notification type='devices'>` announcing `change` of `device`:
/// `<add|remove><device jid='pn:N' lid='lid:N' key-index/></…>` from the account's JID.
/// `None` if the account does not exist.
#[must_use]
pub fn device_notification(
    state: &mut ServerState,
    change: DeviceChange,
    device: DeviceKey,
    now_ms: u64,
) -> Option<Node> {
    state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
    let id = state.next_stanza_id;
    let a = state.acct(device.account)?;
    let account = &a.account;
    let mut dev = Node::new("device")
        .attr("jid", account.pn_jid(device.device))
        .attr("lid", account.lid_jid(device.device));
    if let Some(d) = a.devices.get(&device.device) {
        dev = dev.attr("key-index", d.key_index.to_string());
    }
    let tag = match change {
        DeviceChange::Added => "add",
        DeviceChange::Removed => "remove",
    };
    Some(
        Node::new("notification")
            .attr("from", account.pn_jid(0).to_non_ad())
            .attr("id", format!("dev-{id}"))
            .attr("type", "devices")
            .attr("t", (now_ms / 1000).to_string())
            .child(Node::new(tag).child(dev.build()).build())
            .build(),
    )
}

/// Announces `change` of `device` to every other companion of every account: offline ones
/// get it queued, the online ones are returned as `(connection, device, stanza)` to deliver.
pub fn announce_device_change(
    state: &mut ServerState,
    change: DeviceChange,
    device: DeviceKey,
    now_ms: u64,
) -> Vec<(ConnId, DeviceKey, Node)> {
    let Some(node) = device_notification(state, change, device, now_ms) else {
        return Vec::new();
    };
    let others: Vec<DeviceKey> = state
        .accounts
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.devices.keys().map(move |d| DeviceKey::new(i, *d)))
        .filter(|k| *k != device)
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
    /// names an account of this server, is issued a fresh 16-byte token for the sender's
    /// account, delivered as `<notification type='privacy_token' from=sender>` to that
    /// account's companions (the sending device excepted). The server remembers the token
    /// to check `<tctoken>` when the account requires them.
    pub(super) fn privacy_tokens<R: CryptoRng>(
        &mut self,
        node: &Node,
        device: DeviceKey,
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
            let Some(holder) = state.account_of(&chat) else {
                continue;
            };
            let Some(issuer) = state.acct(device.account).map(|a| a.account.clone()) else {
                continue;
            };
            let mut token = [0u8; 16];
            rng.fill_bytes(&mut token);
            if let Some(a) = state.acct_mut(device.account) {
                a.issued_tokens.insert(holder, token.to_vec());
            }
            state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
            let t = (now_ms / 1000).to_string();
            let n = Node::new("notification")
                .attr("from", issuer.pn_jid(0))
                .attr("sender_lid", issuer.lid_jid(0))
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
            let targets: Vec<DeviceKey> = state
                .acct(holder)
                .map(|a| {
                    a.devices
                        .keys()
                        .map(|d| DeviceKey::new(holder, *d))
                        .filter(|k| *k != device)
                        .collect()
                })
                .unwrap_or_default();
            for d in targets {
                self.deliver_to(d, n.clone(), state)?;
            }
        }
        Ok(())
    }

    /// Tells `device` its one-time prekeys ran low (`<notification type='encrypt'><count
    /// value=N/>`), as the server does when a fetch leaves fewer than
    /// [`LOW_PRE_KEY_COUNT`].
    pub(super) fn notify_low_pre_keys(
        &mut self,
        device: DeviceKey,
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
}

impl Connection {
    /// Tells the other companions of `device`'s account about a change it made:
    /// `<notification type="account_sync" from=account id=PREFIX-N t>item</notification>`
    /// (queued for those offline).
    pub(super) fn tell_other_companions(
        &mut self,
        device: DeviceKey,
        id_prefix: &str,
        item: Node,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let Some(account) = state.acct(device.account) else {
            return Ok(());
        };
        let from = account.account.pn_jid(0);
        let others: Vec<DeviceKey> = account
            .devices
            .keys()
            .filter(|d| **d != 0 && **d != device.device)
            .map(|d| DeviceKey::new(device.account, *d))
            .collect();
        state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
        let notification = Node::new("notification")
            .attr("from", from)
            .attr("id", format!("{id_prefix}-{}", state.next_stanza_id))
            .attr("type", "account_sync")
            .attr("t", (now_ms / 1000).to_string())
            .child(item)
            .build();
        for other in others {
            self.deliver_to(other, notification.clone(), state)?;
        }
        Ok(())
    }
}
