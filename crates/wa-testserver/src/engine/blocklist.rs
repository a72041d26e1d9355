//! Blocklists (`xmlns="blocklist"` IQs): each account's list of blocked users, answered as
//! `<list dhash><item jid/>…</list>`; a change is announced to the account's other companions
//! as `<notification type="account_sync"><blocklist dhash prev_dhash><item jid action/>…`, and
//! 1:1 messages from a blocked account are not delivered (the sender still gets its ack, as on
//! WhatsApp). The `dhash` is the list's revision number (clients only compare it).

use wa_binary::{Jid, Node};

use super::Connection;
use super::stanza::{error, result};
use crate::error::Result;
use crate::state::{AccountBlocklist, DeviceKey, ServerState};

fn list_node(list: Option<&AccountBlocklist>) -> Node {
    let revision = list.map_or(0, |l| l.revision);
    let items: Vec<Node> = list
        .map(|l| {
            l.jids
                .values()
                .map(|j| Node::new("item").attr("jid", j.clone()).build())
                .collect()
        })
        .unwrap_or_default();
    let builder = Node::new("list").attr("dhash", revision.to_string());
    if items.is_empty() {
        builder.build()
    } else {
        builder.children(items).build()
    }
}

impl Connection {
    /// `<iq xmlns="blocklist" type="get">`: the account's list.
    pub(super) fn blocklist_get(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &ServerState,
    ) -> Result<()> {
        let list = list_node(state.blocklists.get(&device.account));
        self.send(&result(node, vec![list]))
    }

    /// `<iq xmlns="blocklist" type="set"><item action="block|unblock" jid/>…`: applies the
    /// changes, answers with the new list and tells the account's other companions.
    pub(super) fn blocklist_set(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let mut changes: Vec<(Jid, bool)> = Vec::new();
        for item in node.children().iter().filter(|c| c.tag == "item") {
            let jid = item
                .attr("jid")
                .and_then(|v| v.as_jid())
                .map(Jid::to_non_ad);
            let action = item.attr("action").and_then(|v| v.as_str());
            match (jid, action) {
                (Some(jid), Some("block")) => changes.push((jid, true)),
                (Some(jid), Some("unblock")) => changes.push((jid, false)),
                _ => return self.send(&error(node, 400, "bad-request")),
            }
        }
        if changes.is_empty() {
            return self.send(&error(node, 400, "bad-request"));
        }
        let list = state.blocklists.entry(device.account).or_default();
        let previous = list.revision;
        for (jid, block) in &changes {
            if *block {
                list.jids.insert(jid.to_string(), jid.clone());
            } else {
                list.jids.remove(&jid.to_string());
            }
        }
        list.revision += 1;
        let revision = list.revision;
        let reply = list_node(Some(list));
        self.send(&result(node, vec![reply]))?;

        let items = changes.iter().map(|(jid, block)| {
            Node::new("item")
                .attr("jid", jid.clone())
                .attr("action", if *block { "block" } else { "unblock" })
                .build()
        });
        let item = Node::new("blocklist")
            .attr("dhash", revision.to_string())
            .attr("prev_dhash", previous.to_string())
            .children(items)
            .build();
        self.tell_other_companions(device, "bl", item, now_ms, state)
    }
}
