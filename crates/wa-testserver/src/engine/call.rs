//! Call signalling: `<call to=…>` stanzas between the devices of two accounts.
//!
//! A device's `<call to=USER><CHILD call-id call-creator …/></call>` goes, as
//! `<call from=SENDER id t platform version><CHILD/></call>`, to every online companion of
//! `USER`'s account; `from` is the sender's device JID in the form `to` used (`@lid` or phone
//! number), the id is the server's own, and `<tctoken>` children are dropped. An answer
//! (`<reject>`, `<accept>`) also goes to the sender's other online companions, so they stop
//! ringing. Companions that are offline miss the stanza (calls are not queued: a call that
//! rang while a device was away is over when it comes back). The accounts' phones are
//! simulated: what reaches a phone is recorded in the [`CallLog`] instead. The sender gets
//! `<ack class="call" id from=to type=CHILD>`; the `<ack class="call">` stanzas companions
//! answer with are recorded too, so tests can check that every call stanza was acked.

use std::collections::{HashMap, VecDeque};

use wa_binary::{Jid, Node, Server};

use super::Connection;
use crate::error::Result;
use crate::state::{AccountId, DeviceKey, ServerState};

/// How many entries each list of the [`CallLog`] keeps (the oldest are dropped).
pub const CALL_LOG_CAP: usize = 1024;

/// The version the server announces for a calling client (`version` attribute).
const REMOTE_VERSION: &str = "2.3000.1";

/// Child tags that answer a call: the answering account's other devices get them too.
const ANSWERS: [&str; 2] = ["reject", "accept"];

/// A call stanza handed to a companion, or an ack a companion sent for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStanzaRecord {
    /// The companion (phone-number JID with device).
    pub device: Jid,
    /// The `<call>` stanza's id.
    pub id: String,
}

/// What the server saw of call signalling (not persisted). Each list keeps the last
/// [`CALL_LOG_CAP`] entries.
#[derive(Debug, Default)]
pub struct CallLog {
    /// Call stanzas handed to online companions, oldest first.
    pub delivered: VecDeque<CallStanzaRecord>,
    /// `<ack class="call">` stanzas companions sent, oldest first.
    pub acks: VecDeque<CallStanzaRecord>,
    /// Call stanzas that reached each account's (simulated) phone, oldest first.
    pub to_phone: HashMap<AccountId, VecDeque<Node>>,
}

fn push_capped<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() >= CALL_LOG_CAP {
        list.pop_front();
    }
    list.push_back(item);
}

/// `node` without its `<tctoken>` children (they are for the server).
fn without_tokens(node: &Node) -> Node {
    let children: Vec<Node> = node
        .children()
        .iter()
        .filter(|c| c.tag != "tctoken")
        .cloned()
        .collect();
    let mut out = node.clone();
    if !node.children().is_empty() {
        out.content = wa_binary::Content::Nodes(children);
    }
    out
}

/// Routes call signalling `child` from `sender` (a companion, or an account's phone as
/// device 0) to the account `to` names. Returns the online companions to hand the stanza to
/// (offline ones are skipped); the phones' copies go to `state.calls.to_phone`. `None` when `to`
/// is not an account.
pub(crate) fn route(
    state: &mut ServerState,
    sender: DeviceKey,
    to: &Jid,
    child: &Node,
    now_ms: u64,
) -> Option<Vec<(DeviceKey, Node)>> {
    let callee = state.account_of(to)?;
    let sender_account = &state.acct(sender.account)?.account;
    let from = if *to.server() == Server::Lid {
        sender_account.lid_jid(sender.device)
    } else {
        sender_account.pn_jid(sender.device)
    };
    let platform = if sender.device == 0 {
        Some("android".to_owned())
    } else {
        state.device(sender).and_then(|d| d.platform.clone())
    }
    .unwrap_or_else(|| "web".to_owned());
    state.next_stanza_id = state.next_stanza_id.wrapping_add(1);
    let stanza = Node::new("call")
        .attr("from", from)
        .attr("id", format!("call-{}", state.next_stanza_id))
        .attr("t", (now_ms / 1000).to_string())
        .attr("platform", platform)
        .attr("version", REMOTE_VERSION)
        .child(without_tokens(child))
        .build();
    let mut accounts = vec![callee];
    if ANSWERS.contains(&child.tag.as_str()) && callee != sender.account {
        accounts.push(sender.account);
    }
    let mut out = Vec::new();
    for account in accounts {
        let Some(a) = state.acct(account) else {
            continue;
        };
        let mut devices: Vec<u16> = a.devices.keys().copied().collect();
        devices.push(0);
        for device in devices {
            let key = DeviceKey::new(account, device);
            if key == sender {
                continue;
            }
            if device == 0 {
                let log = state.calls.to_phone.entry(account).or_default();
                push_capped(log, stanza.clone());
            } else if state.online.contains_key(&key) {
                out.push((key, stanza.clone()));
            } else {
                tracing::debug!(account, device, "call stanza not delivered: device offline");
            }
        }
    }
    let id = stanza
        .attr("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    for (key, _) in &out {
        if let Some(device) = state
            .acct(key.account)
            .map(|a| a.account.pn_jid(key.device))
        {
            let record = CallStanzaRecord {
                device,
                id: id.clone(),
            };
            push_capped(&mut state.calls.delivered, record);
        }
    }
    Some(out)
}

impl Connection {
    /// A `<call to>` from `device`: routed (see the module docs) and acked.
    pub(super) fn route_call(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let id = node.attr("id").and_then(|v| v.as_str()).unwrap_or_default();
        let to = node.attr("to").and_then(|v| v.as_jid()).cloned();
        let child = node.children().first();
        let ack = Node::new("ack")
            .attr("class", "call")
            .attr("id", id)
            .attr_opt("from", to.clone())
            .attr_opt("type", child.map(|c| c.tag.as_str().to_owned()))
            .build();
        let (Some(to), Some(child)) = (to, child) else {
            tracing::debug!(conn = self.id, "call stanza without to or child dropped");
            return self.send(&ack);
        };
        match route(state, device, &to, child, now_ms) {
            Some(deliveries) => {
                for (target, stanza) in deliveries {
                    self.deliver_online(target, stanza, state)?;
                }
            }
            None => tracing::debug!(conn = self.id, %to, "call to an unknown account dropped"),
        }
        self.send(&ack)
    }

    /// An `<ack class="call" id>` from `device`: recorded in the [`CallLog`].
    pub(super) fn record_call_ack(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &mut ServerState,
    ) {
        let id = node.attr("id").and_then(|v| v.as_str()).unwrap_or_default();
        if let Some(jid) = state
            .acct(device.account)
            .map(|a| a.account.pn_jid(device.device))
        {
            let record = CallStanzaRecord {
                device: jid,
                id: id.to_owned(),
            };
            push_capped(&mut state.calls.acks, record);
        }
    }
}
