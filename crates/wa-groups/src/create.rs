//! Creating groups and communities.

use wa_binary::{Jid, Node};

use crate::participants::ParticipantSpec;
use crate::types::{GroupInfo, MemberAddMode, parse_group};
use crate::util::{IqType, check_reply, child, group_server, iq};
use crate::{GroupError, IqRequest};

/// Creates a group (or, with [`CreateGroup::community`], a community): `<create subject key>` to
/// `@g.us`. The reply's `<group>` is the new group.
///
/// The creator is added by the server and need not be listed. Settings are sent in whatsmeow's
/// order: participants, `member_add_mode`, `parent`/`linked_parent`, `locked`, `announcement`,
/// `ephemeral`, `membership_approval_mode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateGroup {
    /// The subject (the server refuses long names with 406).
    pub subject: String,
    /// A client-chosen creation key (a message id), echoed in the creation notification.
    pub key: Option<String>,
    /// The initial members.
    pub participants: Vec<ParticipantSpec>,
    /// Who may add members.
    pub member_add_mode: MemberAddMode,
    /// Only admins edit the group info.
    pub locked: bool,
    /// Only admins send messages.
    pub announce: bool,
    /// Disappearing-messages timer in seconds (`None`: off).
    pub ephemeral_timer: Option<u32>,
    /// Joining needs an admin's approval.
    pub join_approval_required: bool,
    /// Create a community with this default membership approval mode (e.g. `request_required`).
    pub community: Option<String>,
    /// Create the group inside this community.
    pub linked_parent: Option<Jid>,
}

impl CreateGroup {
    /// A plain group with this subject, no members besides the creator and default settings.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            key: None,
            participants: Vec::new(),
            member_add_mode: MemberAddMode::AllMemberAdd,
            locked: false,
            announce: false,
            ephemeral_timer: None,
            join_approval_required: false,
            community: None,
            linked_parent: None,
        }
    }

    /// Adds an initial member.
    pub fn participant(mut self, p: impl Into<ParticipantSpec>) -> Self {
        self.participants.push(p.into());
        self
    }

    /// Sets the creation key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets who may add members.
    pub fn member_add_mode(mut self, mode: MemberAddMode) -> Self {
        self.member_add_mode = mode;
        self
    }

    /// Only admins edit the group info.
    pub fn locked(mut self, on: bool) -> Self {
        self.locked = on;
        self
    }

    /// Only admins send messages.
    pub fn announce(mut self, on: bool) -> Self {
        self.announce = on;
        self
    }

    /// Disappearing messages after `seconds` (`None` or 0: off).
    pub fn ephemeral(mut self, seconds: Option<u32>) -> Self {
        self.ephemeral_timer = seconds.filter(|s| *s > 0);
        self
    }

    /// Joining needs approval.
    pub fn join_approval(mut self, on: bool) -> Self {
        self.join_approval_required = on;
        self
    }

    /// Makes this a community with the default approval mode `request_required`.
    pub fn community(mut self) -> Self {
        self.community = Some("request_required".to_owned());
        self.linked_parent = None;
        self
    }

    /// Creates the group inside `community`.
    pub fn in_community(mut self, community: Jid) -> Self {
        self.linked_parent = Some(community);
        self.community = None;
        self
    }
}

impl IqRequest for CreateGroup {
    type Response = GroupInfo;

    fn build(&self) -> Node {
        let mut children: Vec<Node> = self.participants.iter().map(|p| p.to_node()).collect();
        children.push(
            Node::new("member_add_mode")
                .bytes(self.member_add_mode.as_str().as_bytes().to_vec())
                .build(),
        );
        if let Some(mode) = &self.community {
            children.push(
                Node::new("parent")
                    .attr("default_membership_approval_mode", mode.as_str())
                    .build(),
            );
        } else if let Some(parent) = &self.linked_parent {
            children.push(Node::new("linked_parent").attr("jid", parent).build());
        }
        if self.locked {
            children.push(Node::new("locked").build());
        }
        if self.announce {
            children.push(Node::new("announcement").build());
        }
        children.push(match self.ephemeral_timer {
            Some(t) => Node::new("ephemeral")
                .attr("expiration", t)
                .attr("trigger", "1")
                .build(),
            None => Node::new("ephemeral").attr("expiration", 0u32).build(),
        });
        let state = if self.join_approval_required {
            "on"
        } else {
            "off"
        };
        children.push(
            Node::new("membership_approval_mode")
                .child(Node::new("group_join").attr("state", state).build())
                .build(),
        );
        let create = Node::new("create")
            .attr("subject", self.subject.as_str())
            .attr_opt("key", self.key.as_deref())
            .children(children)
            .build();
        iq(IqType::Set, group_server(), create)
    }

    fn parse(&self, reply: &Node) -> Result<GroupInfo, GroupError> {
        let reply = check_reply(reply)?;
        parse_group(child(reply, "group", "create reply")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn builds_whatsmeow_shape() {
        let req = CreateGroup::new("Team")
            .key("3EB0ABC")
            .participant(jid("111@s.whatsapp.net"))
            .participant(
                ParticipantSpec::new(jid("22@lid")).phone_number(jid("222@s.whatsapp.net")),
            )
            .locked(true)
            .announce(true)
            .ephemeral(Some(86_400))
            .join_approval(true);
        let expected = Node::new("iq")
            .attr("to", group_server())
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(
                Node::new("create")
                    .attr("subject", "Team")
                    .attr("key", "3EB0ABC")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("111@s.whatsapp.net"))
                            .build(),
                    )
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("22@lid"))
                            .attr("phone_number", jid("222@s.whatsapp.net"))
                            .build(),
                    )
                    .child(
                        Node::new("member_add_mode")
                            .bytes(b"all_member_add".to_vec())
                            .build(),
                    )
                    .child(Node::new("locked").build())
                    .child(Node::new("announcement").build())
                    .child(
                        Node::new("ephemeral")
                            .attr("expiration", "86400")
                            .attr("trigger", "1")
                            .build(),
                    )
                    .child(
                        Node::new("membership_approval_mode")
                            .child(Node::new("group_join").attr("state", "on").build())
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(req.build(), expected, "{}", req.build().to_xml());
    }

    #[test]
    fn community_and_subgroup() {
        let c = CreateGroup::new("Club").community().build();
        let create = c.child("create").unwrap();
        let parent = create.child("parent").unwrap();
        assert_eq!(
            parent
                .attr("default_membership_approval_mode")
                .and_then(|v| v.as_str()),
            Some("request_required")
        );
        assert!(create.child("linked_parent").is_none());
        assert_eq!(
            create
                .child("ephemeral")
                .unwrap()
                .attr("expiration")
                .and_then(|v| v.as_str()),
            Some("0")
        );
        assert!(create.child("key").is_none() && create.attr("key").is_none());

        let s = CreateGroup::new("Sub")
            .in_community(jid("123@g.us"))
            .build();
        let create = s.child("create").unwrap();
        assert_eq!(
            create
                .child("linked_parent")
                .unwrap()
                .attr("jid")
                .and_then(|v| v.as_jid()),
            Some(&jid("123@g.us"))
        );
        assert!(create.child("parent").is_none());
        assert!(create.child("locked").is_none() && create.child("announcement").is_none());
    }

    #[test]
    fn parses_reply_and_errors() {
        let req = CreateGroup::new("Team");
        let reply = Node::new("iq")
            .attr("type", "result")
            .attr("from", "g.us")
            .child(
                Node::new("group")
                    .attr("id", "120363000000000001")
                    .attr("subject", "Team")
                    .attr("creation", "1700000000")
                    .attr("creator", jid("1@lid"))
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("1@lid"))
                            .attr("type", "superadmin")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let info = req.parse(&reply).unwrap();
        assert_eq!(info.jid.to_string(), "120363000000000001@g.us");
        assert_eq!(info.subject, "Team");
        assert_eq!(info.created_at, Some(1_700_000_000));
        assert!(info.participants[0].is_super_admin);

        let err = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "406")
                    .attr("text", "not-acceptable")
                    .build(),
            )
            .build();
        assert_eq!(req.parse(&err).unwrap_err().server_code(), Some(406));
        let empty = Node::new("iq").attr("type", "result").build();
        assert!(matches!(
            req.parse(&empty),
            Err(GroupError::MissingElement { tag: "group", .. })
        ));
        let no_id = Node::new("iq")
            .attr("type", "result")
            .child(Node::new("group").build())
            .build();
        assert!(matches!(req.parse(&no_id), Err(GroupError::Attrs { .. })));
    }
}
