//! Communities: linking and unlinking sub-groups, listing sub-groups and the members of all
//! linked groups. A community itself is created with [`crate::CreateGroup::community`].

use wa_binary::{Jid, Node};

use crate::types::{GroupLinkTarget, ParticipantRef, parse_link_target, parse_participant_refs};
use crate::util::{IqType, check_reply, child, iq};
use crate::{GroupError, IqRequest};

/// Links existing groups into a community:
/// `<links><link link_type="sub_group"><group jid/>…</link></links>` to the community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkGroups {
    /// The community (parent group).
    pub community: Jid,
    /// The groups to link.
    pub groups: Vec<Jid>,
}

impl IqRequest for LinkGroups {
    type Response = ();

    fn build(&self) -> Node {
        let link = Node::new("link")
            .attr("link_type", "sub_group")
            .children(
                self.groups
                    .iter()
                    .map(|g| Node::new("group").attr("jid", g).build()),
            )
            .build();
        iq(
            IqType::Set,
            self.community.clone(),
            Node::new("links").child(link).build(),
        )
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        check_reply(reply).map(|_| ())
    }
}

/// Unlinks groups from a community:
/// `<unlink unlink_type="sub_group"><group jid/>…</unlink>` to the community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlinkGroups {
    /// The community.
    pub community: Jid,
    /// The groups to unlink.
    pub groups: Vec<Jid>,
}

impl IqRequest for UnlinkGroups {
    type Response = ();

    fn build(&self) -> Node {
        let unlink = Node::new("unlink")
            .attr("unlink_type", "sub_group")
            .children(
                self.groups
                    .iter()
                    .map(|g| Node::new("group").attr("jid", g).build()),
            )
            .build();
        iq(IqType::Set, self.community.clone(), unlink)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        check_reply(reply).map(|_| ())
    }
}

/// Lists a community's sub-groups: `<sub_groups/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetSubGroups {
    /// The community.
    pub community: Jid,
}

impl IqRequest for GetSubGroups {
    type Response = Vec<GroupLinkTarget>;

    fn build(&self) -> Node {
        iq(
            IqType::Get,
            self.community.clone(),
            Node::new("sub_groups").build(),
        )
    }

    fn parse(&self, reply: &Node) -> Result<Vec<GroupLinkTarget>, GroupError> {
        let reply = check_reply(reply)?;
        child(reply, "sub_groups", "sub-group list")?
            .children_by_tag("group")
            .map(parse_link_target)
            .collect()
    }
}

/// Lists the members of every group linked to a community: `<linked_groups_participants/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetLinkedGroupsParticipants {
    /// The community.
    pub community: Jid,
}

impl IqRequest for GetLinkedGroupsParticipants {
    type Response = Vec<ParticipantRef>;

    fn build(&self) -> Node {
        iq(
            IqType::Get,
            self.community.clone(),
            Node::new("linked_groups_participants").build(),
        )
    }

    fn parse(&self, reply: &Node) -> Result<Vec<ParticipantRef>, GroupError> {
        let reply = check_reply(reply)?;
        parse_participant_refs(child(
            reply,
            "linked_groups_participants",
            "community members reply",
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn set_to(to: &str, content: Node) -> Node {
        Node::new("iq")
            .attr("to", jid(to))
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(content)
            .build()
    }

    #[test]
    fn link_and_unlink() {
        let link = LinkGroups {
            community: jid("1@g.us"),
            groups: vec![jid("2@g.us")],
        };
        assert_eq!(
            link.build(),
            set_to(
                "1@g.us",
                Node::new("links")
                    .child(
                        Node::new("link")
                            .attr("link_type", "sub_group")
                            .child(Node::new("group").attr("jid", jid("2@g.us")).build())
                            .build()
                    )
                    .build()
            )
        );
        let unlink = UnlinkGroups {
            community: jid("1@g.us"),
            groups: vec![jid("2@g.us")],
        };
        assert_eq!(
            unlink.build(),
            set_to(
                "1@g.us",
                Node::new("unlink")
                    .attr("unlink_type", "sub_group")
                    .child(Node::new("group").attr("jid", jid("2@g.us")).build())
                    .build()
            )
        );
        let ok = Node::new("iq").attr("type", "result").build();
        link.parse(&ok).unwrap();
        unlink.parse(&ok).unwrap();
        let err = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "403").build())
            .build();
        assert_eq!(unlink.parse(&err).unwrap_err().server_code(), Some(403));
    }

    #[test]
    fn sub_groups() {
        let req = GetSubGroups {
            community: jid("1@g.us"),
        };
        assert_eq!(
            req.build().attr("type").and_then(|v| v.as_str()),
            Some("get")
        );
        assert!(req.build().child("sub_groups").is_some());
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("sub_groups")
                    .child(
                        Node::new("group")
                            .attr("id", "2")
                            .attr("subject", "Announcements")
                            .attr("s_t", "1700000000")
                            .child(Node::new("default_sub_group").build())
                            .build(),
                    )
                    .child(Node::new("group").attr("jid", jid("3@g.us")).build())
                    .build(),
            )
            .build();
        let subs = req.parse(&reply).unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].jid, jid("2@g.us"));
        assert_eq!(subs[0].subject.as_deref(), Some("Announcements"));
        assert_eq!(subs[0].subject_set_at, Some(1_700_000_000));
        assert!(subs[0].is_default_sub_group);
        assert_eq!(subs[1].jid, jid("3@g.us"));
        assert!(!subs[1].is_default_sub_group);
        let bad = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("sub_groups")
                    .child(Node::new("group").build())
                    .build(),
            )
            .build();
        assert!(matches!(
            req.parse(&bad),
            Err(GroupError::MissingElement { tag: "jid", .. })
        ));
    }

    #[test]
    fn linked_participants() {
        let req = GetLinkedGroupsParticipants {
            community: jid("1@g.us"),
        };
        assert!(req.build().child("linked_groups_participants").is_some());
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("linked_groups_participants")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("5@lid"))
                            .attr("phone_number", jid("55@s.whatsapp.net"))
                            .build(),
                    )
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("6@s.whatsapp.net"))
                            .build(),
                    )
                    .build(),
            )
            .build();
        let ps = req.parse(&reply).unwrap();
        assert_eq!(ps[0].lid, Some(jid("5@lid")));
        assert_eq!(ps[0].phone_number, Some(jid("55@s.whatsapp.net")));
        assert_eq!(ps[1].phone_number, Some(jid("6@s.whatsapp.net")));
        assert_eq!(ps[1].lid, None);
        assert!(
            req.parse(&Node::new("iq").attr("type", "result").build())
                .is_err()
        );
    }
}
