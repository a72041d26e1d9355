//! Privacy settings, as whatsmeow's `privacysettings.go` has them: who may see our last seen,
//! online state, profile photo, status and read receipts, and who may add us to groups or call.
//!
//! Sans-IO: the IQs ([`get_request`], [`set_request`]), their reply ([`parse_settings`]) and
//! the `<notification type="account_sync"><privacy>` that announces a change made on another
//! device ([`parse_settings`] on the `<privacy>` child). [`crate::Client::privacy_settings`]
//! and [`crate::Client::set_privacy_setting`] send them; [`crate::Event::PrivacySettings`]
//! reports changes.
//!
//! ```
//! use wa_client::privacy::{PrivacyCategory, PrivacyValue, set_request};
//!
//! let iq = set_request(PrivacyCategory::LastSeen, &PrivacyValue::Contacts);
//! let category = iq.child_path(&["privacy", "category"]).unwrap();
//! assert_eq!(category.attr("name").and_then(|v| v.as_str()), Some("last"));
//! assert_eq!(category.attr("value").and_then(|v| v.as_str()), Some("contacts"));
//! ```

use serde::{Deserialize, Serialize};
use wa_binary::Node;

use crate::engine::server_jid;
use crate::error::Error;

/// A privacy category (the `name` of a `<category>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyCategory {
    /// `groupadd`: who may add us to groups.
    GroupAdd,
    /// `last`: who sees our last-seen time.
    LastSeen,
    /// `status`: who sees our status updates.
    Status,
    /// `profile`: who sees our profile photo.
    Profile,
    /// `readreceipts`: whether we send read receipts.
    ReadReceipts,
    /// `online`: who sees that we are online.
    Online,
    /// `calladd`: who may call us.
    CallAdd,
    /// `messages`: who may message us.
    Messages,
    /// `defense`: advanced chat privacy (`on_standard` or `off`).
    Defense,
    /// `stickers`: who may use our stickers.
    Stickers,
}

impl PrivacyCategory {
    /// Every category, in whatsmeow's order.
    pub const ALL: [Self; 10] = [
        Self::GroupAdd,
        Self::LastSeen,
        Self::Status,
        Self::Profile,
        Self::ReadReceipts,
        Self::Online,
        Self::CallAdd,
        Self::Messages,
        Self::Defense,
        Self::Stickers,
    ];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GroupAdd => "groupadd",
            Self::LastSeen => "last",
            Self::Status => "status",
            Self::Profile => "profile",
            Self::ReadReceipts => "readreceipts",
            Self::Online => "online",
            Self::CallAdd => "calladd",
            Self::Messages => "messages",
            Self::Defense => "defense",
            Self::Stickers => "stickers",
        }
    }

    /// The category with this wire name.
    #[must_use]
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// A privacy setting's value (the `value` of a `<category>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyValue {
    /// `all`: everyone.
    All,
    /// `contacts`: our contacts.
    Contacts,
    /// `contact_blacklist`: our contacts except some.
    ContactBlacklist,
    /// `match_last_seen`: the same as last seen (for `online`).
    MatchLastSeen,
    /// `known`: people we know (for `calladd`).
    Known,
    /// `none`: nobody.
    None,
    /// `off`: disabled (for `readreceipts`, `defense`).
    Off,
    /// `on_standard`: enabled (for `defense`).
    OnStandard,
    /// Another value the server sent.
    Other(String),
}

impl PrivacyValue {
    /// The wire value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::All => "all",
            Self::Contacts => "contacts",
            Self::ContactBlacklist => "contact_blacklist",
            Self::MatchLastSeen => "match_last_seen",
            Self::Known => "known",
            Self::None => "none",
            Self::Off => "off",
            Self::OnStandard => "on_standard",
            Self::Other(s) => s,
        }
    }

    /// The value with this wire form (unknown ones are kept as [`PrivacyValue::Other`]).
    #[must_use]
    pub fn from_wire(value: &str) -> Self {
        match value {
            "all" => Self::All,
            "contacts" => Self::Contacts,
            "contact_blacklist" => Self::ContactBlacklist,
            "match_last_seen" => Self::MatchLastSeen,
            "known" => Self::Known,
            "none" => Self::None,
            "off" => Self::Off,
            "on_standard" => Self::OnStandard,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Privacy settings: every category the server reported, with its value. Categories this
/// client does not know are skipped with a log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// The categories and their values, in the order the server sent them.
    pub settings: Vec<(PrivacyCategory, PrivacyValue)>,
}

impl PrivacySettings {
    /// The value of `category`, if the server reported it.
    #[must_use]
    pub fn get(&self, category: PrivacyCategory) -> Option<&PrivacyValue> {
        self.settings
            .iter()
            .find(|(c, _)| *c == category)
            .map(|(_, v)| v)
    }
}

fn privacy_iq(ty: &str) -> wa_binary::NodeBuilder {
    Node::new("iq")
        .attr("xmlns", "privacy")
        .attr("type", ty)
        .attr("to", server_jid())
}

/// `<iq xmlns="privacy" type="get"><privacy/></iq>`.
#[must_use]
pub fn get_request() -> Node {
    privacy_iq("get")
        .child(Node::new("privacy").build())
        .build()
}

/// `<iq xmlns="privacy" type="set"><privacy><category name value/></privacy></iq>`.
#[must_use]
pub fn set_request(category: PrivacyCategory, value: &PrivacyValue) -> Node {
    privacy_iq("set")
        .child(
            Node::new("privacy")
                .child(
                    Node::new("category")
                        .attr("name", category.as_str())
                        .attr("value", value.as_str())
                        .build(),
                )
                .build(),
        )
        .build()
}

/// Reads a `<privacy>` node (the child of a get reply, or of an `account_sync`
/// notification): its `<category name value/>` children.
pub fn parse_settings(privacy: &Node) -> Result<PrivacySettings, Error> {
    if privacy.tag != "privacy" {
        return Err(Error::Protocol(format!(
            "<{}> is not a <privacy>",
            privacy.tag
        )));
    }
    let settings = privacy
        .children()
        .iter()
        .filter(|c| c.tag == "category")
        .filter_map(|c| {
            let name = c.attr("name").and_then(|v| v.as_str()).unwrap_or_default();
            let value = c.attr("value").and_then(|v| v.as_str());
            match (PrivacyCategory::from_wire(name), value) {
                (Some(category), Some(value)) => Some((category, PrivacyValue::from_wire(value))),
                _ => {
                    tracing::debug!(name, "privacy category skipped");
                    None
                }
            }
        })
        .collect();
    Ok(PrivacySettings { settings })
}

/// The `<privacy>` of a get reply.
pub fn parse_reply(reply: &Node) -> Result<PrivacySettings, Error> {
    let privacy = reply
        .child("privacy")
        .ok_or_else(|| Error::Protocol("privacy reply without <privacy>".into()))?;
    parse_settings(privacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(name: &str, value: &str) -> Node {
        Node::new("category")
            .attr("name", name)
            .attr("value", value)
            .build()
    }

    #[test]
    fn requests_match_whatsmeow() {
        assert_eq!(
            get_request().to_xml().replace(['\n', ' '], ""),
            r#"<iqxmlns="privacy"type="get"to="s.whatsapp.net"><privacy/></iq>"#
        );
        let set = set_request(PrivacyCategory::ReadReceipts, &PrivacyValue::Off);
        let c = set.child_path(&["privacy", "category"]).unwrap();
        assert_eq!(
            c.attr("name").and_then(|v| v.as_str()),
            Some("readreceipts")
        );
        assert_eq!(c.attr("value").and_then(|v| v.as_str()), Some("off"));
    }

    #[test]
    fn categories_and_values_round_trip() {
        for c in PrivacyCategory::ALL {
            assert_eq!(PrivacyCategory::from_wire(c.as_str()), Some(c));
        }
        assert_eq!(PrivacyCategory::from_wire("bogus"), None);
        for v in [
            "all",
            "contacts",
            "contact_blacklist",
            "match_last_seen",
            "known",
            "none",
            "off",
            "on_standard",
        ] {
            assert_eq!(PrivacyValue::from_wire(v).as_str(), v);
            assert!(!matches!(
                PrivacyValue::from_wire(v),
                PrivacyValue::Other(_)
            ));
        }
        assert_eq!(
            PrivacyValue::from_wire("someday"),
            PrivacyValue::Other("someday".into())
        );
    }

    #[test]
    fn replies_parse_and_unknown_categories_are_skipped() {
        let reply = Node::new("iq")
            .child(
                Node::new("privacy")
                    .child(category("last", "contacts"))
                    .child(category("bogus", "all"))
                    .child(Node::new("category").attr("name", "online").build())
                    .child(category("readreceipts", "off"))
                    .build(),
            )
            .build();
        let settings = parse_reply(&reply).unwrap();
        assert_eq!(
            settings.settings,
            [
                (PrivacyCategory::LastSeen, PrivacyValue::Contacts),
                (PrivacyCategory::ReadReceipts, PrivacyValue::Off),
            ]
        );
        assert_eq!(settings.get(PrivacyCategory::Online), None);
        assert!(parse_reply(&Node::new("iq").build()).is_err());
        assert!(parse_settings(&Node::new("blocklist").build()).is_err());
    }
}
