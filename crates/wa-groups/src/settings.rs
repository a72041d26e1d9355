//! Group settings: subject, description, announce and locked modes, member-add mode,
//! disappearing timer and join approval. Each reply is an empty `<iq type="result">`.

use wa_binary::{Jid, Node};

use crate::types::MemberAddMode;
use crate::util::{IqType, check_reply, iq};
use crate::{GroupError, IqRequest};

fn parse_empty(reply: &Node) -> Result<(), GroupError> {
    check_reply(reply).map(|_| ())
}

/// Sets the subject: `<subject>name</subject>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSubject {
    /// The group.
    pub group: Jid,
    /// The new subject.
    pub subject: String,
}

impl IqRequest for SetSubject {
    type Response = ();

    fn build(&self) -> Node {
        let n = Node::new("subject")
            .bytes(self.subject.as_bytes().to_vec())
            .build();
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// Sets or deletes the description: `<description id prev?><body>text</body></description>`,
/// or `<description id prev? delete="true"/>` when `text` is empty.
///
/// `id` is a new client-chosen id (a message id); `prev` is the current description id from
/// [`crate::GroupInfo::description`] (the server refuses a stale `prev` with 409).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetDescription {
    /// The group.
    pub group: Jid,
    /// The new text; empty deletes the description.
    pub text: String,
    /// The new description id.
    pub id: String,
    /// The id of the description being replaced.
    pub prev: Option<String>,
}

impl IqRequest for SetDescription {
    type Response = ();

    fn build(&self) -> Node {
        let b = Node::new("description")
            .attr("id", self.id.as_str())
            .attr_opt("prev", self.prev.as_deref());
        let n = if self.text.is_empty() {
            b.attr("delete", "true").build()
        } else {
            b.child(
                Node::new("body")
                    .bytes(self.text.as_bytes().to_vec())
                    .build(),
            )
            .build()
        };
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// Announce mode on (`<announcement/>`: only admins send) or off (`<not_announcement/>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAnnounce {
    /// The group.
    pub group: Jid,
    /// On or off.
    pub announce: bool,
}

impl IqRequest for SetAnnounce {
    type Response = ();

    fn build(&self) -> Node {
        let tag = if self.announce {
            "announcement"
        } else {
            "not_announcement"
        };
        iq(IqType::Set, self.group.clone(), Node::new(tag).build())
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// Locked mode on (`<locked/>`: only admins edit the info) or off (`<unlocked/>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetLocked {
    /// The group.
    pub group: Jid,
    /// On or off.
    pub locked: bool,
}

impl IqRequest for SetLocked {
    type Response = ();

    fn build(&self) -> Node {
        let tag = if self.locked { "locked" } else { "unlocked" };
        iq(IqType::Set, self.group.clone(), Node::new(tag).build())
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// Who may add members: `<member_add_mode>admin_add|all_member_add</member_add_mode>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetMemberAddMode {
    /// The group.
    pub group: Jid,
    /// The mode.
    pub mode: MemberAddMode,
}

impl IqRequest for SetMemberAddMode {
    type Response = ();

    fn build(&self) -> Node {
        let n = Node::new("member_add_mode")
            .bytes(self.mode.as_str().as_bytes().to_vec())
            .build();
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// The disappearing-messages timer: `<ephemeral expiration=seconds/>`, or `<not_ephemeral/>`
/// for `None`/0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetEphemeral {
    /// The group.
    pub group: Jid,
    /// Seconds (WhatsApp offers 86400, 604800 and 7776000), or `None` to turn it off.
    pub timer: Option<u32>,
}

impl IqRequest for SetEphemeral {
    type Response = ();

    fn build(&self) -> Node {
        let n = match self.timer.filter(|t| *t > 0) {
            Some(t) => Node::new("ephemeral").attr("expiration", t).build(),
            None => Node::new("not_ephemeral").build(),
        };
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

/// Join approval on or off:
/// `<membership_approval_mode><group_join state="on|off"/></membership_approval_mode>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetJoinApproval {
    /// The group.
    pub group: Jid,
    /// On or off.
    pub required: bool,
}

impl IqRequest for SetJoinApproval {
    type Response = ();

    fn build(&self) -> Node {
        let state = if self.required { "on" } else { "off" };
        let n = Node::new("membership_approval_mode")
            .child(Node::new("group_join").attr("state", state).build())
            .build();
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        parse_empty(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> Jid {
        "1-2@g.us".parse().unwrap()
    }

    fn set(content: Node) -> Node {
        Node::new("iq")
            .attr("to", g())
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(content)
            .build()
    }

    #[test]
    fn builders_produce_exact_nodes() {
        assert_eq!(
            SetSubject {
                group: g(),
                subject: "New".into()
            }
            .build(),
            set(Node::new("subject").bytes(b"New".to_vec()).build())
        );
        assert_eq!(
            SetDescription {
                group: g(),
                text: "About".into(),
                id: "NEW".into(),
                prev: Some("OLD".into())
            }
            .build(),
            set(Node::new("description")
                .attr("id", "NEW")
                .attr("prev", "OLD")
                .child(Node::new("body").bytes(b"About".to_vec()).build())
                .build())
        );
        assert_eq!(
            SetDescription {
                group: g(),
                text: String::new(),
                id: "N".into(),
                prev: None
            }
            .build(),
            set(Node::new("description")
                .attr("id", "N")
                .attr("delete", "true")
                .build())
        );
        assert_eq!(
            SetAnnounce {
                group: g(),
                announce: true
            }
            .build(),
            set(Node::new("announcement").build())
        );
        assert_eq!(
            SetAnnounce {
                group: g(),
                announce: false
            }
            .build(),
            set(Node::new("not_announcement").build())
        );
        assert_eq!(
            SetLocked {
                group: g(),
                locked: true
            }
            .build(),
            set(Node::new("locked").build())
        );
        assert_eq!(
            SetLocked {
                group: g(),
                locked: false
            }
            .build(),
            set(Node::new("unlocked").build())
        );
        assert_eq!(
            SetMemberAddMode {
                group: g(),
                mode: MemberAddMode::AdminAdd
            }
            .build(),
            set(Node::new("member_add_mode")
                .bytes(b"admin_add".to_vec())
                .build())
        );
        assert_eq!(
            SetEphemeral {
                group: g(),
                timer: Some(86_400)
            }
            .build(),
            set(Node::new("ephemeral").attr("expiration", "86400").build())
        );
        for off in [None, Some(0)] {
            assert_eq!(
                SetEphemeral {
                    group: g(),
                    timer: off
                }
                .build(),
                set(Node::new("not_ephemeral").build())
            );
        }
        assert_eq!(
            SetJoinApproval {
                group: g(),
                required: true
            }
            .build(),
            set(Node::new("membership_approval_mode")
                .child(Node::new("group_join").attr("state", "on").build())
                .build())
        );
        assert_eq!(
            SetJoinApproval {
                group: g(),
                required: false
            }
            .build()
            .child_path(&["membership_approval_mode", "group_join"])
            .and_then(|n| n.attr("state"))
            .and_then(|v| v.as_str()),
            Some("off")
        );
    }

    #[test]
    fn replies() {
        let ok = Node::new("iq").attr("type", "result").build();
        let forbidden = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "401")
                    .attr("text", "not-authorized")
                    .build(),
            )
            .build();
        let req = SetLocked {
            group: g(),
            locked: true,
        };
        req.parse(&ok).unwrap();
        assert!(matches!(
            req.parse(&forbidden),
            Err(GroupError::Server { code: 401, text }) if text == "not-authorized"
        ));
        assert!(
            SetSubject {
                group: g(),
                subject: "x".into()
            }
            .parse(&Node::new("presence").build())
            .is_err()
        );
    }
}
