//! Group metadata: one group (`<query request="interactive">`) and every joined group
//! (`<participating>`).

use wa_binary::{Jid, Node};

use crate::types::{GroupInfo, parse_group};
use crate::util::{IqType, check_reply, child, group_server, iq};
use crate::{GroupError, IqRequest};

/// Fetches one group's metadata and members. Errors: 404 (no such group), 403 (not a member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetGroupInfo {
    /// The group.
    pub group: Jid,
}

impl IqRequest for GetGroupInfo {
    type Response = GroupInfo;

    fn build(&self) -> Node {
        let query = Node::new("query").attr("request", "interactive").build();
        iq(IqType::Get, self.group.clone(), query)
    }

    fn parse(&self, reply: &Node) -> Result<GroupInfo, GroupError> {
        let reply = check_reply(reply)?;
        parse_group(child(reply, "group", "group info reply")?)
    }
}

/// Lists every group the account is in, with members and descriptions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetJoinedGroups;

impl IqRequest for GetJoinedGroups {
    type Response = Vec<GroupInfo>;

    fn build(&self) -> Node {
        let q = Node::new("participating")
            .child(Node::new("participants").build())
            .child(Node::new("description").build())
            .build();
        iq(IqType::Get, group_server(), q)
    }

    fn parse(&self, reply: &Node) -> Result<Vec<GroupInfo>, GroupError> {
        let reply = check_reply(reply)?;
        child(reply, "groups", "joined groups reply")?
            .children_by_tag("group")
            .map(parse_group)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AddressingMode, MemberAddMode};

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn rich_group() -> Node {
        Node::new("group")
            .attr("id", "120363025246125486")
            .attr("addressing_mode", "lid")
            .attr("creator", jid("100@lid"))
            .attr("creator_pn", jid("4915@s.whatsapp.net"))
            .attr("creation", "1690000000")
            .attr("subject", "Bots")
            .attr("s_t", "1690000100")
            .attr("s_o", jid("100@lid"))
            .attr("s_o_pn", jid("4915@s.whatsapp.net"))
            .attr("size", "1024")
            .attr("p_v_id", "pv1")
            .attr("a_v_id", "av1")
            .attr("creator_country_code", "49")
            .child(
                Node::new("description")
                    .attr("id", "DESC1")
                    .attr("participant", jid("100@lid"))
                    .attr("participant_pn", jid("4915@s.whatsapp.net"))
                    .attr("t", "1690000200")
                    .child(
                        Node::new("body")
                            .bytes("Hello & welcome".as_bytes().to_vec())
                            .build(),
                    )
                    .build(),
            )
            .child(
                Node::new("member_add_mode")
                    .bytes(b"admin_add".to_vec())
                    .build(),
            )
            .child(Node::new("announcement").build())
            .child(Node::new("locked").build())
            .child(Node::new("ephemeral").attr("expiration", "604800").build())
            .child(
                Node::new("membership_approval_mode")
                    .child(Node::new("group_join").attr("state", "on").build())
                    .build(),
            )
            .child(
                Node::new("linked_parent")
                    .attr("jid", jid("999@g.us"))
                    .build(),
            )
            .child(Node::new("default_sub_group").build())
            .child(Node::new("some_future_tag").build())
            .child(
                Node::new("participant")
                    .attr("jid", jid("100@lid"))
                    .attr("phone_number", jid("4915@s.whatsapp.net"))
                    .attr("type", "superadmin")
                    .build(),
            )
            .child(
                Node::new("participant")
                    .attr("jid", jid("101@lid"))
                    .attr("type", "admin")
                    .attr("display_name", "Ann")
                    .build(),
            )
            .child(Node::new("participant").attr("jid", jid("102@lid")).build())
            .build()
    }

    #[test]
    fn builds() {
        let req = GetGroupInfo {
            group: jid("1-2@g.us"),
        };
        assert_eq!(
            req.build().to_xml(),
            Node::new("iq")
                .attr("to", jid("1-2@g.us"))
                .attr("type", "get")
                .attr("xmlns", "w:g2")
                .child(Node::new("query").attr("request", "interactive").build())
                .build()
                .to_xml()
        );
        let list = GetJoinedGroups.build();
        assert_eq!(
            list.attr("to").and_then(|v| v.as_jid()),
            Some(&group_server())
        );
        assert_eq!(list.attr("type").and_then(|v| v.as_str()), Some("get"));
        let p = list.child("participating").unwrap();
        let tags: Vec<_> = p.children().iter().map(|c| c.tag.as_str()).collect();
        assert_eq!(tags, ["participants", "description"]);
    }

    #[test]
    fn parses_every_field() {
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(rich_group())
            .build();
        let g = GetGroupInfo {
            group: jid("120363025246125486@g.us"),
        }
        .parse(&reply)
        .unwrap();
        assert_eq!(g.jid, jid("120363025246125486@g.us"));
        assert_eq!(g.addressing_mode, Some(AddressingMode::Lid));
        assert_eq!(g.owner, Some(jid("100@lid")));
        assert_eq!(g.owner_pn, Some(jid("4915@s.whatsapp.net")));
        assert_eq!(g.created_at, Some(1_690_000_000));
        assert_eq!(g.subject, "Bots");
        assert_eq!(g.subject_set_at, Some(1_690_000_100));
        assert_eq!(g.subject_set_by, Some(jid("100@lid")));
        assert_eq!(g.subject_set_by_pn, Some(jid("4915@s.whatsapp.net")));
        assert_eq!(g.size, Some(1024));
        assert_eq!(g.member_count(), 1024);
        assert_eq!(g.participant_version_id.as_deref(), Some("pv1"));
        assert_eq!(g.announce_version_id.as_deref(), Some("av1"));
        assert_eq!(g.creator_country_code.as_deref(), Some("49"));
        let d = g.description.as_ref().unwrap();
        assert_eq!(d.text, "Hello & welcome");
        assert_eq!(d.id, "DESC1");
        assert_eq!(d.set_by, Some(jid("100@lid")));
        assert_eq!(d.set_by_pn, Some(jid("4915@s.whatsapp.net")));
        assert_eq!(d.set_at, Some(1_690_000_200));
        assert_eq!(g.member_add_mode, Some(MemberAddMode::AdminAdd));
        assert!(g.announce && g.locked && g.join_approval_required && g.is_default_sub_group);
        assert!(!g.is_community && !g.suspended && !g.is_incognito);
        assert_eq!(g.ephemeral_timer, Some(604_800));
        assert_eq!(g.linked_parent, Some(jid("999@g.us")));
        assert_eq!(g.participants.len(), 3);
        let owner = &g.participants[0];
        assert!(owner.is_admin && owner.is_super_admin);
        assert_eq!(owner.lid, Some(jid("100@lid")));
        assert_eq!(owner.phone_number, Some(jid("4915@s.whatsapp.net")));
        let ann = &g.participants[1];
        assert!(ann.is_admin && !ann.is_super_admin);
        assert_eq!(ann.display_name.as_deref(), Some("Ann"));
        assert_eq!(ann.phone_number, None);
        assert!(!g.participants[2].is_admin);
        assert_eq!(
            g.participant(&jid("4915:3@s.whatsapp.net")).map(|p| &p.jid),
            Some(&jid("100@lid"))
        );
        assert!(g.participant(&jid("7@lid")).is_none());
    }

    #[test]
    fn community_and_pn_group() {
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("group")
                    .attr("id", "5-6")
                    .attr("addressing_mode", "pn")
                    .child(
                        Node::new("parent")
                            .attr("default_membership_approval_mode", "request_required")
                            .build(),
                    )
                    .child(Node::new("membership_approval_mode").build())
                    .child(Node::new("suspended").build())
                    .child(Node::new("incognito").build())
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("1@s.whatsapp.net"))
                            .attr("lid", jid("9@lid"))
                            .build(),
                    )
                    .build(),
            )
            .build();
        let g = GetGroupInfo {
            group: jid("5-6@g.us"),
        }
        .parse(&reply)
        .unwrap();
        assert!(g.is_community && g.join_approval_required && g.suspended && g.is_incognito);
        assert_eq!(
            g.default_membership_approval_mode.as_deref(),
            Some("request_required")
        );
        assert_eq!(g.addressing_mode, Some(AddressingMode::Pn));
        assert_eq!(g.participants[0].lid, Some(jid("9@lid")));
        assert_eq!(
            g.participants[0].phone_number,
            Some(jid("1@s.whatsapp.net"))
        );
        assert_eq!(g.member_count(), 1);
        assert_eq!(g.description, None);
        assert_eq!(g.ephemeral_timer, None);
    }

    #[test]
    fn joined_groups() {
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("groups")
                    .child(rich_group())
                    .child(
                        Node::new("group")
                            .attr("id", "7-8")
                            .attr("subject", "B")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let groups = GetJoinedGroups.parse(&reply).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].jid, jid("7-8@g.us"));
        assert_eq!(groups[1].subject, "B");
        let empty = Node::new("iq")
            .attr("type", "result")
            .child(Node::new("groups").build())
            .build();
        assert!(GetJoinedGroups.parse(&empty).unwrap().is_empty());
        let missing = Node::new("iq").attr("type", "result").build();
        assert!(matches!(
            GetJoinedGroups.parse(&missing),
            Err(GroupError::MissingElement { tag: "groups", .. })
        ));
    }

    #[test]
    fn malformed_groups_are_typed_errors() {
        let cases = [
            Node::new("group")
                .attr("id", "1")
                .attr("s_t", "soon")
                .build(),
            Node::new("group")
                .attr("id", jid("1@s.whatsapp.net"))
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(Node::new("ephemeral").build())
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(
                    Node::new("description")
                        .child(Node::new("body").bytes(vec![0xc3]).build())
                        .attr("id", "x")
                        .build(),
                )
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(
                    Node::new("description")
                        .child(Node::new("body").build())
                        .build(),
                )
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(Node::new("linked_parent").build())
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(Node::new("member_add_mode").children([]).build())
                .build(),
            Node::new("group")
                .attr("id", "1")
                .child(Node::new("participant").attr("jid", "@@").build())
                .build(),
        ];
        for group in cases {
            let reply = Node::new("iq")
                .attr("type", "result")
                .child(group.clone())
                .build();
            assert!(
                GetGroupInfo {
                    group: jid("1@g.us")
                }
                .parse(&reply)
                .is_err(),
                "{}",
                group.to_xml()
            );
        }
        let not_found = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "404")
                    .attr("text", "item-not-found")
                    .build(),
            )
            .build();
        assert!(matches!(
            GetGroupInfo {
                group: jid("1@g.us")
            }
            .parse(&not_found),
            Err(GroupError::Server { code: 404, .. })
        ));
    }
}
