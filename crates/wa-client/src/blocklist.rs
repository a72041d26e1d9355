//! The blocklist, as whatsmeow's `blocklist.go` has it: the users this account blocked, and
//! changes made on the account's other devices.
//!
//! Sans-IO: the IQs to send ([`get_request`], [`update_request`]), their reply
//! ([`parse_blocklist`]) and the `<notification type="account_sync"><blocklist>` that
//! announces a change ([`parse_blocklist_change`]). [`crate::Client::blocklist`] and
//! [`crate::Client::update_blocklist`] send them; [`crate::Event::Blocklist`] reports changes.
//!
//! ```
//! use wa_binary::Jid;
//! use wa_client::blocklist::{BlocklistAction, update_request};
//!
//! let spammer: Jid = "15550009999@s.whatsapp.net".parse().unwrap();
//! let iq = update_request(&spammer, BlocklistAction::Block);
//! let item = iq.child("item").unwrap();
//! assert_eq!(item.attr("action").and_then(|a| a.as_str()), Some("block"));
//! ```

use serde::{Deserialize, Serialize};
use wa_binary::{Jid, Node};

use crate::engine::server_jid;
use crate::error::Error;

/// Block or unblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlocklistAction {
    /// Stop receiving messages and calls from the user.
    Block,
    /// Undo a block.
    Unblock,
}

impl BlocklistAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Unblock => "unblock",
        }
    }
}

/// The blocked users, with the server's hash of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocklist {
    /// The server's hash of the list (`dhash`).
    pub dhash: String,
    /// The blocked users.
    #[serde(with = "crate::recv::serde_jid_list")]
    pub jids: Vec<Jid>,
}

/// One user blocked or unblocked on another device of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistChange {
    /// The user.
    #[serde(with = "crate::recv::serde_jid")]
    pub jid: Jid,
    /// What was done.
    pub action: BlocklistAction,
}

/// The blocklist changed (`<notification type="account_sync"><blocklist>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistEvent {
    /// The list's hash after the change.
    pub dhash: String,
    /// Its hash before, when the server says.
    pub prev_dhash: Option<String>,
    /// What changed.
    pub changes: Vec<BlocklistChange>,
}

/// `<iq xmlns="blocklist" type="get" to="s.whatsapp.net"/>`.
#[must_use]
pub fn get_request() -> Node {
    Node::new("iq")
        .attr("xmlns", "blocklist")
        .attr("type", "get")
        .attr("to", server_jid())
        .build()
}

/// `<iq xmlns="blocklist" type="set"><item action jid/></iq>`.
#[must_use]
pub fn update_request(jid: &Jid, action: BlocklistAction) -> Node {
    Node::new("iq")
        .attr("xmlns", "blocklist")
        .attr("type", "set")
        .attr("to", server_jid())
        .child(
            Node::new("item")
                .attr("action", action.as_str())
                .attr("jid", jid.to_non_ad())
                .build(),
        )
        .build()
}

fn items(node: &Node) -> impl Iterator<Item = &Node> {
    node.children().iter().filter(|c| c.tag == "item")
}

fn item_jid(item: &Node) -> Option<Jid> {
    item.attr("jid").and_then(|v| v.as_jid()).cloned()
}

/// The `<list dhash><item jid/>…</list>` of a blocklist IQ reply. Items without a JID are
/// skipped with a log line, as whatsmeow does.
pub fn parse_blocklist(reply: &Node) -> Result<Blocklist, Error> {
    let list = reply
        .child("list")
        .ok_or_else(|| Error::Protocol("blocklist reply without <list>".into()))?;
    let dhash = list
        .attr("dhash")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let jids = items(list)
        .filter_map(|item| {
            let jid = item_jid(item);
            if jid.is_none() {
                tracing::debug!("blocklist item without a JID skipped");
            }
            jid
        })
        .collect();
    Ok(Blocklist { dhash, jids })
}

/// The `<blocklist dhash [prev_dhash]><item jid action/>…</blocklist>` of an `account_sync`
/// notification. Items with no JID or an unknown action are skipped with a log line.
pub fn parse_blocklist_change(blocklist: &Node) -> Result<BlocklistEvent, Error> {
    if blocklist.tag != "blocklist" {
        return Err(Error::Protocol(format!(
            "<{}> is not a <blocklist>",
            blocklist.tag
        )));
    }
    let text = |key: &str| {
        blocklist
            .attr(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let changes = items(blocklist)
        .filter_map(|item| {
            let action = match item.attr("action").and_then(|v| v.as_str()) {
                Some("block") => BlocklistAction::Block,
                Some("unblock") => BlocklistAction::Unblock,
                _ => {
                    tracing::debug!("blocklist change with an unknown action skipped");
                    return None;
                }
            };
            let Some(jid) = item_jid(item) else {
                tracing::debug!("blocklist change without a JID skipped");
                return None;
            };
            Some(BlocklistChange { jid, action })
        })
        .collect();
    Ok(BlocklistEvent {
        dhash: text("dhash").unwrap_or_default(),
        prev_dhash: text("prev_dhash"),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn requests_match_whatsmeow() {
        assert_eq!(
            get_request().to_xml(),
            r#"<iq xmlns="blocklist" type="get" to="s.whatsapp.net"/>"#
        );
        let iq = update_request(
            &jid("15550009999:4@s.whatsapp.net"),
            BlocklistAction::Unblock,
        );
        let item = iq.child("item").unwrap();
        assert_eq!(
            item.attr("action").and_then(|v| v.as_str()),
            Some("unblock")
        );
        assert_eq!(
            item.attr("jid").and_then(|v| v.as_jid()),
            Some(&jid("15550009999@s.whatsapp.net"))
        );
    }

    #[test]
    fn replies_and_changes_parse() {
        let reply = Node::new("iq")
            .child(
                Node::new("list")
                    .attr("dhash", "7")
                    .child(
                        Node::new("item")
                            .attr("jid", jid("1@s.whatsapp.net"))
                            .build(),
                    )
                    .child(Node::new("item").build())
                    .child(Node::new("item").attr("jid", jid("2@lid")).build())
                    .build(),
            )
            .build();
        assert_eq!(
            parse_blocklist(&reply).unwrap(),
            Blocklist {
                dhash: "7".into(),
                jids: vec![jid("1@s.whatsapp.net"), jid("2@lid")],
            }
        );
        assert!(parse_blocklist(&Node::new("iq").build()).is_err());

        let change = Node::new("blocklist")
            .attr("dhash", "8")
            .attr("prev_dhash", "7")
            .child(
                Node::new("item")
                    .attr("jid", jid("1@s.whatsapp.net"))
                    .attr("action", "unblock")
                    .build(),
            )
            .child(
                Node::new("item")
                    .attr("jid", jid("3@s.whatsapp.net"))
                    .attr("action", "mystery")
                    .build(),
            )
            .build();
        assert_eq!(
            parse_blocklist_change(&change).unwrap(),
            BlocklistEvent {
                dhash: "8".into(),
                prev_dhash: Some("7".into()),
                changes: vec![BlocklistChange {
                    jid: jid("1@s.whatsapp.net"),
                    action: BlocklistAction::Unblock,
                }],
            }
        );
        assert!(parse_blocklist_change(&Node::new("devices").build()).is_err());
    }

    #[test]
    fn a_blocklist_serializes_with_jids_as_text() {
        let list = Blocklist {
            dhash: "1".into(),
            jids: vec![jid("1@s.whatsapp.net")],
        };
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"{"dhash":"1","jids":["1@s.whatsapp.net"]}"#);
        assert_eq!(serde_json::from_str::<Blocklist>(&json).unwrap(), list);
    }
}
