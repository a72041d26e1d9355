//! Invite links (get, reset, inspect, join) and group invite messages (v4: the invite the
//! server makes when a member cannot be added directly, sent to them as a message).

use wa_binary::{Jid, Node};
use wa_proto::proto::message::GroupInviteMessage;

use crate::types::{GroupInfo, parse_group};
use crate::util::{IqType, check_reply, child, finish, group_server, iq};
use crate::{GroupError, IqRequest};

/// The prefix of invite links; the rest is the invite code.
pub const INVITE_LINK_PREFIX: &str = "https://chat.whatsapp.com/";

/// The invite code of a link (`https://chat.whatsapp.com/CODE` or `CODE`).
pub fn invite_code(link_or_code: &str) -> &str {
    link_or_code
        .strip_prefix(INVITE_LINK_PREFIX)
        .unwrap_or(link_or_code)
}

/// The invite link for a code.
pub fn invite_link(code: &str) -> String {
    format!("{INVITE_LINK_PREFIX}{code}")
}

/// Gets the group's invite code (`get`), or revokes it and gets a new one (`set`, `reset`).
/// Errors: 401 (not an admin), 403 (not a member), 404 (no such group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetInviteCode {
    /// The group.
    pub group: Jid,
    /// Revoke the current link and make a new one.
    pub reset: bool,
}

impl IqRequest for GetInviteCode {
    /// The invite code (see [`invite_link`]).
    type Response = String;

    fn build(&self) -> Node {
        let kind = if self.reset { IqType::Set } else { IqType::Get };
        iq(kind, self.group.clone(), Node::new("invite").build())
    }

    fn parse(&self, reply: &Node) -> Result<String, GroupError> {
        let reply = check_reply(reply)?;
        let inv = child(reply, "invite", "invite code reply")?;
        let mut r = inv.attr_reader();
        let code = r.string("code").to_owned();
        finish(r, "invite")?;
        Ok(code)
    }
}

/// Looks at the group behind an invite link without joining. Errors: 410 (revoked),
/// 406 (invalid code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetGroupFromLink {
    /// The code (a full link is accepted and its prefix stripped).
    pub code: String,
}

impl IqRequest for GetGroupFromLink {
    type Response = GroupInfo;

    fn build(&self) -> Node {
        let n = Node::new("invite")
            .attr("code", invite_code(&self.code))
            .build();
        iq(IqType::Get, group_server(), n)
    }

    fn parse(&self, reply: &Node) -> Result<GroupInfo, GroupError> {
        let reply = check_reply(reply)?;
        parse_group(child(reply, "group", "invite link info reply")?)
    }
}

/// The outcome of joining by link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JoinResult {
    /// Joined this group.
    Joined(Jid),
    /// The group needs approval: a join request for this group is pending.
    ApprovalPending(Jid),
}

/// Joins the group behind an invite link: `<invite code/>` set to `@g.us`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinWithLink {
    /// The code (a full link is accepted and its prefix stripped).
    pub code: String,
}

impl IqRequest for JoinWithLink {
    type Response = JoinResult;

    fn build(&self) -> Node {
        let n = Node::new("invite")
            .attr("code", invite_code(&self.code))
            .build();
        iq(IqType::Set, group_server(), n)
    }

    fn parse(&self, reply: &Node) -> Result<JoinResult, GroupError> {
        let reply = check_reply(reply)?;
        if let Some(pending) = reply.child("membership_approval_request") {
            let mut r = pending.attr_reader();
            let jid = r.jid("jid");
            finish(r, "membership_approval_request")?;
            return Ok(JoinResult::ApprovalPending(jid));
        }
        let g = child(reply, "group", "join by link reply")?;
        let mut r = g.attr_reader();
        let jid = r.jid("jid");
        finish(r, "group")?;
        Ok(JoinResult::Joined(jid))
    }
}

/// The invite carried by a group invite message (v4) or an `add_request`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Invite {
    /// The group.
    pub group: Jid,
    /// Who sent the invite (the admin whose add was refused).
    pub inviter: Jid,
    /// The invite code.
    pub code: String,
    /// When it expires, in Unix seconds.
    pub expiration: i64,
}

impl Invite {
    /// The invite in a received `GroupInviteMessage` from `inviter` (the chat it came from).
    pub fn from_message(msg: &GroupInviteMessage, inviter: Jid) -> Result<Self, GroupError> {
        let group = msg
            .group_jid
            .as_deref()
            .ok_or(GroupError::InvalidRequest(
                "invite message without a group JID",
            ))?
            .parse::<Jid>()
            .ok()
            .filter(Jid::is_group)
            .ok_or(GroupError::InvalidRequest(
                "invite message group JID is not a group",
            ))?;
        let code = msg
            .invite_code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(GroupError::InvalidRequest("invite message without a code"))?;
        Ok(Self {
            group,
            inviter,
            code,
            expiration: msg.invite_expiration.unwrap_or(0),
        })
    }

    fn attrs(&self, tag: &str) -> Node {
        Node::new(tag.to_owned())
            .attr("code", self.code.as_str())
            .attr("expiration", self.expiration)
            .attr("admin", &self.inviter)
            .build()
    }
}

/// Looks at the group of a v4 invite: `<query><add_request code expiration admin/></query>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetGroupFromInvite(pub Invite);

impl IqRequest for GetGroupFromInvite {
    type Response = GroupInfo;

    fn build(&self) -> Node {
        let q = Node::new("query")
            .child(self.0.attrs("add_request"))
            .build();
        iq(IqType::Get, self.0.group.clone(), q)
    }

    fn parse(&self, reply: &Node) -> Result<GroupInfo, GroupError> {
        let reply = check_reply(reply)?;
        parse_group(child(reply, "group", "invite info reply")?)
    }
}

/// Accepts a v4 invite: `<accept code expiration admin/>` to the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptInvite(pub Invite);

impl IqRequest for AcceptInvite {
    type Response = ();

    fn build(&self) -> Node {
        iq(IqType::Set, self.0.group.clone(), self.0.attrs("accept"))
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        check_reply(reply).map(|_| ())
    }
}

/// Revokes v4 invites sent to these members: `<revoke><participant jid/>…</revoke>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeInvites {
    /// The group.
    pub group: Jid,
    /// The invited members.
    pub invited: Vec<Jid>,
}

impl IqRequest for RevokeInvites {
    type Response = ();

    fn build(&self) -> Node {
        let n = Node::new("revoke")
            .children(
                self.invited
                    .iter()
                    .map(|j| Node::new("participant").attr("jid", j).build()),
            )
            .build();
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        check_reply(reply).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn result(child: Node) -> Node {
        Node::new("iq").attr("type", "result").child(child).build()
    }

    #[test]
    fn links_and_codes() {
        assert_eq!(invite_code("https://chat.whatsapp.com/AbC123"), "AbC123");
        assert_eq!(invite_code("AbC123"), "AbC123");
        assert_eq!(invite_link("AbC123"), "https://chat.whatsapp.com/AbC123");
    }

    #[test]
    fn invite_code_get_and_reset() {
        let get = GetInviteCode {
            group: jid("1-2@g.us"),
            reset: false,
        };
        let expected = Node::new("iq")
            .attr("to", jid("1-2@g.us"))
            .attr("type", "get")
            .attr("xmlns", "w:g2")
            .child(Node::new("invite").build())
            .build();
        assert_eq!(get.build(), expected);
        let reset = GetInviteCode {
            group: jid("1-2@g.us"),
            reset: true,
        }
        .build();
        assert_eq!(reset.attr("type").and_then(|v| v.as_str()), Some("set"));
        let code = get
            .parse(&result(Node::new("invite").attr("code", "XyZ").build()))
            .unwrap();
        assert_eq!(code, "XyZ");
        assert!(matches!(
            get.parse(&result(Node::new("invite").build())),
            Err(GroupError::Attrs { .. })
        ));
        assert!(matches!(
            get.parse(&Node::new("iq").attr("type", "result").build()),
            Err(GroupError::MissingElement { tag: "invite", .. })
        ));
    }

    #[test]
    fn link_info_and_join() {
        let info = GetGroupFromLink {
            code: invite_link("K1"),
        };
        let expected = Node::new("iq")
            .attr("to", group_server())
            .attr("type", "get")
            .attr("xmlns", "w:g2")
            .child(Node::new("invite").attr("code", "K1").build())
            .build();
        assert_eq!(info.build(), expected);
        let g = info
            .parse(&result(
                Node::new("group")
                    .attr("id", "9-9")
                    .attr("subject", "S")
                    .build(),
            ))
            .unwrap();
        assert_eq!((g.jid, g.subject.as_str()), (jid("9-9@g.us"), "S"));
        let gone = Node::new("iq")
            .attr("type", "error")
            .child(
                Node::new("error")
                    .attr("code", "410")
                    .attr("text", "gone")
                    .build(),
            )
            .build();
        assert_eq!(info.parse(&gone).unwrap_err().server_code(), Some(410));

        let join = JoinWithLink { code: "K1".into() };
        assert_eq!(
            join.build().attr("type").and_then(|v| v.as_str()),
            Some("set")
        );
        assert_eq!(join.build().child("invite"), expected.child("invite"));
        assert_eq!(
            join.parse(&result(
                Node::new("group").attr("jid", jid("9-9@g.us")).build()
            ))
            .unwrap(),
            JoinResult::Joined(jid("9-9@g.us"))
        );
        assert_eq!(
            join.parse(&result(
                Node::new("membership_approval_request")
                    .attr("jid", jid("9-9@g.us"))
                    .build()
            ))
            .unwrap(),
            JoinResult::ApprovalPending(jid("9-9@g.us"))
        );
        assert!(join.parse(&result(Node::new("group").build())).is_err());
        assert!(
            join.parse(&Node::new("iq").attr("type", "result").build())
                .is_err()
        );
    }

    #[test]
    fn v4_invites() {
        let msg = GroupInviteMessage {
            group_jid: Some("1-2@g.us".into()),
            invite_code: Some("C0DE".into()),
            invite_expiration: Some(1_700_000_000),
            group_name: Some("G".into()),
            ..Default::default()
        };
        let invite = Invite::from_message(&msg, jid("5@s.whatsapp.net")).unwrap();
        let accept = AcceptInvite(invite.clone());
        let expected = Node::new("iq")
            .attr("to", jid("1-2@g.us"))
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(
                Node::new("accept")
                    .attr("code", "C0DE")
                    .attr("expiration", "1700000000")
                    .attr("admin", jid("5@s.whatsapp.net"))
                    .build(),
            )
            .build();
        assert_eq!(accept.build(), expected);
        accept
            .parse(&Node::new("iq").attr("type", "result").build())
            .unwrap();

        let info = GetGroupFromInvite(invite).build();
        let req = info.child_path(&["query", "add_request"]).unwrap();
        assert_eq!(req.attr("code").and_then(|v| v.as_str()), Some("C0DE"));
        assert_eq!(info.attr("type").and_then(|v| v.as_str()), Some("get"));

        for bad in [
            GroupInviteMessage {
                group_jid: None,
                ..msg.clone()
            },
            GroupInviteMessage {
                group_jid: Some("5@s.whatsapp.net".into()),
                ..msg.clone()
            },
            GroupInviteMessage {
                invite_code: Some(String::new()),
                ..msg.clone()
            },
        ] {
            assert!(matches!(
                Invite::from_message(&bad, jid("5@s.whatsapp.net")),
                Err(GroupError::InvalidRequest(_))
            ));
        }

        let revoke = RevokeInvites {
            group: jid("1-2@g.us"),
            invited: vec![jid("7@s.whatsapp.net")],
        };
        assert_eq!(
            revoke.build().child("revoke").unwrap().children(),
            [Node::new("participant")
                .attr("jid", jid("7@s.whatsapp.net"))
                .build()]
        );
    }
}
