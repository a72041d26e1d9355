//! Privacy settings (`xmlns="privacy"` IQs other than tokens): each account's categories,
//! answered as `<privacy><category name value/>…</privacy>`; a change is stored and announced
//! to the account's other companions as `<notification type="account_sync"><privacy>` with the
//! changed categories.

use wa_binary::Node;

use super::Connection;
use super::stanza::{error, result};
use crate::error::Result;
use crate::state::{DeviceKey, ServerState};

/// Every account starts with these values.
pub(crate) const DEFAULT_PRIVACY: [(&str, &str); 10] = [
    ("readreceipts", "all"),
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("groupadd", "all"),
    ("calladd", "all"),
    ("messages", "all"),
    ("defense", "off"),
    ("stickers", "all"),
];

fn privacy_node<'a>(categories: impl IntoIterator<Item = (&'a str, &'a str)>) -> Node {
    Node::new("privacy")
        .children(categories.into_iter().map(|(n, v)| {
            Node::new("category")
                .attr("name", n)
                .attr("value", v)
                .build()
        }))
        .build()
}

impl Connection {
    /// `<iq xmlns="privacy" type="get">`: the account's categories.
    pub(super) fn privacy_get(
        &mut self,
        node: &Node,
        device: DeviceKey,
        state: &ServerState,
    ) -> Result<()> {
        let stored = state.privacy.get(&device.account);
        let categories: Vec<(&str, &str)> = DEFAULT_PRIVACY
            .iter()
            .map(|(name, default)| {
                let value = stored
                    .and_then(|s| s.get(*name))
                    .map_or(*default, String::as_str);
                (*name, value)
            })
            .collect();
        self.send(&result(node, vec![privacy_node(categories)]))
    }

    /// `<iq xmlns="privacy" type="set"><privacy><category name value/>…`: stores the values
    /// (400 for an unknown category or an empty value) and tells the other companions.
    pub(super) fn privacy_set(
        &mut self,
        node: &Node,
        device: DeviceKey,
        now_ms: u64,
        state: &mut ServerState,
    ) -> Result<()> {
        let mut changes: Vec<(String, String)> = Vec::new();
        for c in node
            .child("privacy")
            .map(Node::children)
            .unwrap_or_default()
            .iter()
            .filter(|c| c.tag == "category")
        {
            let name = c.attr("name").and_then(|v| v.as_str()).unwrap_or_default();
            let value = c.attr("value").and_then(|v| v.as_str()).unwrap_or_default();
            if value.is_empty() || !DEFAULT_PRIVACY.iter().any(|(n, _)| *n == name) {
                return self.send(&error(node, 400, "bad-request"));
            }
            changes.push((name.to_owned(), value.to_owned()));
        }
        if changes.is_empty() {
            return self.send(&error(node, 400, "bad-request"));
        }
        let stored = state.privacy.entry(device.account).or_default();
        for (name, value) in &changes {
            stored.insert(name.clone(), value.clone());
        }
        self.send(&result(node, Vec::new()))?;

        let item = privacy_node(changes.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        self.tell_other_companions(device, "pv", item, now_ms, state)
    }
}
