//! Status posts: who they go to. As whatsmeow's `broadcast.go`: the account's status privacy
//! (`<iq xmlns="status" type="get"><privacy/>`, [`privacy_request`] and [`parse_privacy`];
//! "my contacts" when the server has none) decides it: a whitelist is the recipients, else
//! every contact with an address-book name, minus a blacklist ([`recipients`]).
//! [`crate::Client::status_privacy`] asks the server; a status post without
//! [`crate::SendOptions::status_recipients`] goes to [`recipients`] of the answer.
//!
//! ```
//! use wa_binary::Node;
//! use wa_client::status::{StatusPrivacyType, parse_privacy, recipients};
//! use wa_store::ContactInfo;
//!
//! let bob: wa_binary::Jid = "15550002222@s.whatsapp.net".parse().unwrap();
//! let reply = Node::new("iq")
//!     .child(
//!         Node::new("privacy")
//!             .child(
//!                 Node::new("list")
//!                     .attr("type", "whitelist")
//!                     .attr("default", "true")
//!                     .child(Node::new("user").attr("jid", bob.clone()).build())
//!                     .build(),
//!             )
//!             .build(),
//!     )
//!     .build();
//! let privacy = parse_privacy(&reply).unwrap();
//! assert_eq!(privacy[0].kind, StatusPrivacyType::Whitelist);
//! assert_eq!(recipients(&privacy, &[]), vec![bob]);
//! ```

use wa_binary::{Jid, Node};
use wa_store::ContactInfo;

use crate::engine::server_jid;
use crate::error::MessageError;

/// Who may see our status posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusPrivacyType {
    /// `contacts`: every contact.
    Contacts,
    /// `whitelist`: only the listed users.
    Whitelist,
    /// `blacklist`: every contact but the listed users.
    Blacklist,
    /// A type this library does not know (treated as `contacts`).
    Other(String),
}

/// One status privacy setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPrivacy {
    /// The kind.
    pub kind: StatusPrivacyType,
    /// The listed users (white- or blacklist).
    pub list: Vec<Jid>,
    /// Whether this is the setting in use.
    pub is_default: bool,
}

impl StatusPrivacy {
    /// What whatsmeow assumes when the server has no setting: all contacts.
    #[must_use]
    pub fn default_contacts() -> Self {
        Self {
            kind: StatusPrivacyType::Contacts,
            list: Vec::new(),
            is_default: true,
        }
    }
}

/// `<iq xmlns="status" type="get" to="s.whatsapp.net"><privacy/></iq>`.
#[must_use]
pub fn privacy_request() -> Node {
    Node::new("iq")
        .attr("xmlns", "status")
        .attr("type", "get")
        .attr("to", server_jid())
        .child(Node::new("privacy").build())
        .build()
}

/// The settings of a [`privacy_request`] reply, the one in use first; the default (all
/// contacts) when the reply lists none.
///
/// # Errors
///
/// [`MessageError::Malformed`] for a reply without `<privacy>` or a `<list>` without `type`.
pub fn parse_privacy(reply: &Node) -> Result<Vec<StatusPrivacy>, MessageError> {
    let privacy = reply
        .child("privacy")
        .ok_or_else(|| MessageError::Malformed("status privacy reply without <privacy>".into()))?;
    let mut out = Vec::new();
    for list in privacy.children_by_tag("list") {
        let kind = match list.attr("type").and_then(|v| v.as_str()) {
            Some("contacts") => StatusPrivacyType::Contacts,
            Some("whitelist") => StatusPrivacyType::Whitelist,
            Some("blacklist") => StatusPrivacyType::Blacklist,
            Some(other) => StatusPrivacyType::Other(other.to_owned()),
            None => {
                return Err(MessageError::Malformed(
                    "status privacy <list> without type".into(),
                ));
            }
        };
        let is_default = list.attr("default").and_then(|v| v.as_str()) == Some("true");
        let users = list
            .children_by_tag("user")
            .filter_map(|u| u.attr("jid").and_then(|v| v.as_jid()).cloned())
            .collect();
        out.push(StatusPrivacy {
            kind,
            list: users,
            is_default,
        });
        if is_default {
            let last = out.len() - 1;
            out.swap(0, last);
        }
    }
    if out.is_empty() {
        out.push(StatusPrivacy::default_contacts());
    }
    Ok(out)
}

/// Who a status post goes to under `privacy` (its first entry, the one in use): the whitelist
/// itself, else every contact with an address-book name that is not blacklisted. Our own
/// account is added by the send.
#[must_use]
pub fn recipients(privacy: &[StatusPrivacy], contacts: &[(Jid, ContactInfo)]) -> Vec<Jid> {
    let setting = privacy.first();
    if let Some(s) = setting.filter(|s| s.kind == StatusPrivacyType::Whitelist) {
        return s.list.clone();
    }
    let blacklist: &[Jid] = match setting {
        Some(s) if s.kind == StatusPrivacyType::Blacklist => &s.list,
        _ => &[],
    };
    contacts
        .iter()
        .filter(|(_, c)| c.full_name.as_deref().is_some_and(|n| !n.is_empty()))
        .map(|(jid, _)| jid)
        .filter(|jid| !blacklist.iter().any(|b| b.to_non_ad() == jid.to_non_ad()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn contact(name: Option<&str>) -> ContactInfo {
        ContactInfo {
            full_name: name.map(str::to_owned),
            ..ContactInfo::default()
        }
    }

    fn reply(lists: Vec<Node>) -> Node {
        Node::new("iq")
            .child(Node::new("privacy").children(lists).build())
            .build()
    }

    #[test]
    fn the_default_list_comes_first_and_an_empty_reply_means_contacts() {
        let lists = vec![
            Node::new("list").attr("type", "blacklist").build(),
            Node::new("list")
                .attr("type", "whitelist")
                .attr("default", "true")
                .child(
                    Node::new("user")
                        .attr("jid", jid("1@s.whatsapp.net"))
                        .build(),
                )
                .build(),
        ];
        let parsed = parse_privacy(&reply(lists)).unwrap();
        assert_eq!(parsed[0].kind, StatusPrivacyType::Whitelist);
        assert!(parsed[0].is_default);
        assert_eq!(parsed[0].list, vec![jid("1@s.whatsapp.net")]);
        assert_eq!(parsed[1].kind, StatusPrivacyType::Blacklist);
        assert_eq!(
            parse_privacy(&reply(Vec::new())).unwrap(),
            vec![StatusPrivacy::default_contacts()]
        );
        assert!(parse_privacy(&Node::new("iq").build()).is_err());
        let untyped = reply(vec![Node::new("list").build()]);
        assert!(parse_privacy(&untyped).is_err());
    }

    #[test]
    fn recipients_follow_the_setting_in_use() {
        let contacts = vec![
            (jid("1@s.whatsapp.net"), contact(Some("Ann"))),
            (jid("2@s.whatsapp.net"), contact(Some("Ben"))),
            (jid("3@s.whatsapp.net"), contact(None)),
        ];
        let contacts_only = [StatusPrivacy::default_contacts()];
        assert_eq!(
            recipients(&contacts_only, &contacts),
            vec![jid("1@s.whatsapp.net"), jid("2@s.whatsapp.net")]
        );
        let black = [StatusPrivacy {
            kind: StatusPrivacyType::Blacklist,
            list: vec![jid("2@s.whatsapp.net")],
            is_default: true,
        }];
        assert_eq!(recipients(&black, &contacts), vec![jid("1@s.whatsapp.net")]);
        let white = [StatusPrivacy {
            kind: StatusPrivacyType::Whitelist,
            list: vec![jid("3@s.whatsapp.net")],
            is_default: true,
        }];
        assert_eq!(recipients(&white, &contacts), vec![jid("3@s.whatsapp.net")]);
    }
}
