//! Adding, removing, promoting and demoting members, and leaving groups.

use wa_binary::{Jid, Node};

use crate::types::{AddRequest, parse_participant};
use crate::util::{IqType, check_reply, group_server, iq};
use crate::{GroupError, IqRequest};

/// A member named in a request: the JID, and for a LID the phone number when the client knows
/// it, plus the privacy (trusted contact) token when the client has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantSpec {
    /// The member (device part is dropped on the wire).
    pub jid: Jid,
    /// The phone-number JID of a LID member.
    pub phone_number: Option<Jid>,
    /// The privacy token, sent as `<privacy>` content.
    pub privacy_token: Option<Vec<u8>>,
}

impl ParticipantSpec {
    /// A member with only its JID.
    pub fn new(jid: Jid) -> Self {
        Self {
            jid,
            phone_number: None,
            privacy_token: None,
        }
    }

    /// Sets the phone number (for a LID member).
    pub fn phone_number(mut self, pn: Jid) -> Self {
        self.phone_number = Some(pn);
        self
    }

    /// Sets the privacy token.
    pub fn privacy_token(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.privacy_token = Some(token.into());
        self
    }

    /// `<participant jid [phone_number]>[<privacy>token</privacy>]`.
    pub(crate) fn to_node(&self) -> Node {
        let mut b = Node::new("participant")
            .attr("jid", self.jid.to_non_ad())
            .attr_opt("phone_number", self.phone_number.as_ref());
        if let Some(token) = &self.privacy_token {
            b = b.child(Node::new("privacy").bytes(token.clone()).build());
        }
        b.build()
    }
}

impl From<Jid> for ParticipantSpec {
    fn from(jid: Jid) -> Self {
        Self::new(jid)
    }
}

/// What to do to the listed members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipantAction {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `promote` to admin
    Promote,
    /// `demote` from admin
    Demote,
}

impl ParticipantAction {
    /// The wire tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Promote => "promote",
            Self::Demote => "demote",
        }
    }
}

/// The outcome for one member of a participant change.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParticipantResult {
    /// The member.
    pub jid: Jid,
    /// The LID, when the reply gave it.
    pub lid: Option<Jid>,
    /// The phone number, when the reply gave it.
    pub phone_number: Option<Jid>,
    /// 200 for success; otherwise the server's code: 403 (privacy: see `add_request`),
    /// 408 (recently left), 409 (already a member), 401, 404, 500 …
    pub code: u16,
    /// With 403 on add: the invite the server made, to send as a group invite message.
    pub add_request: Option<AddRequest>,
}

impl ParticipantResult {
    /// True for code 200.
    pub fn is_ok(&self) -> bool {
        self.code == 200
    }
}

/// Parses the `<participant>` children of `node` as per-member results.
pub(crate) fn parse_results(node: &Node) -> Result<Vec<ParticipantResult>, GroupError> {
    node.children_by_tag("participant")
        .map(|p| {
            let part = parse_participant(p)?;
            Ok(ParticipantResult {
                jid: part.jid,
                lid: part.lid,
                phone_number: part.phone_number,
                code: part.error.unwrap_or(200),
                add_request: part.add_request,
            })
        })
        .collect()
}

/// Adds, removes, promotes or demotes members: `<add|remove|promote|demote>` to the group;
/// the reply lists one `<participant>` per member with its `error` code, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateParticipants {
    /// The group.
    pub group: Jid,
    /// The change.
    pub action: ParticipantAction,
    /// The members. Phone numbers and privacy tokens are sent only for [`ParticipantAction::Add`].
    pub participants: Vec<ParticipantSpec>,
}

impl UpdateParticipants {
    /// A change of `action` for `participants` in `group`.
    pub fn new(
        group: Jid,
        action: ParticipantAction,
        participants: impl IntoIterator<Item = impl Into<ParticipantSpec>>,
    ) -> Self {
        Self {
            group,
            action,
            participants: participants.into_iter().map(Into::into).collect(),
        }
    }
}

impl IqRequest for UpdateParticipants {
    type Response = Vec<ParticipantResult>;

    fn build(&self) -> Node {
        let children = self.participants.iter().map(|p| {
            if self.action == ParticipantAction::Add {
                p.to_node()
            } else {
                Node::new("participant")
                    .attr("jid", p.jid.to_non_ad())
                    .build()
            }
        });
        let body = Node::new(self.action.as_str()).children(children).build();
        iq(IqType::Set, self.group.clone(), body)
    }

    fn parse(&self, reply: &Node) -> Result<Vec<ParticipantResult>, GroupError> {
        let reply = check_reply(reply)?;
        let context = "participant change reply";
        let node = reply
            .child(self.action.as_str())
            .ok_or(GroupError::MissingElement {
                tag: self.action.as_str(),
                context,
            })?;
        parse_results(node)
    }
}

/// Leaves groups: `<leave><group id=…/>…</leave>` to `@g.us`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaveGroups {
    /// The groups to leave.
    pub groups: Vec<Jid>,
}

impl LeaveGroups {
    /// Leaves one group.
    pub fn one(group: Jid) -> Self {
        Self {
            groups: vec![group],
        }
    }
}

impl IqRequest for LeaveGroups {
    type Response = ();

    fn build(&self) -> Node {
        let leave = Node::new("leave")
            .children(
                self.groups
                    .iter()
                    .map(|g| Node::new("group").attr("id", g).build()),
            )
            .build();
        iq(IqType::Set, group_server(), leave)
    }

    fn parse(&self, reply: &Node) -> Result<(), GroupError> {
        let reply = check_reply(reply)?;
        // The reply may echo `<leave><group id error?/>`: a per-group error is a refusal.
        if let Some(leave) = reply.child("leave") {
            for g in leave.children_by_tag("group") {
                let mut r = g.attr_reader();
                let err = r.optional_u64("error");
                crate::util::finish(r, "group")?;
                if let Some(code) = err.filter(|c| *c != 0) {
                    return Err(GroupError::Server {
                        code: u16::try_from(code).unwrap_or(u16::MAX),
                        text: String::new(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn add_builds_with_pn_and_token_others_without() {
        let spec = ParticipantSpec::new(jid("5:3@lid"))
            .phone_number(jid("555@s.whatsapp.net"))
            .privacy_token(vec![1, 2]);
        let add = UpdateParticipants::new(jid("1-2@g.us"), ParticipantAction::Add, [spec.clone()]);
        let expected = Node::new("iq")
            .attr("to", jid("1-2@g.us"))
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(
                Node::new("add")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("5@lid"))
                            .attr("phone_number", jid("555@s.whatsapp.net"))
                            .child(Node::new("privacy").bytes(vec![1, 2]).build())
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(add.build(), expected);
        for action in [
            ParticipantAction::Remove,
            ParticipantAction::Promote,
            ParticipantAction::Demote,
        ] {
            let req = UpdateParticipants::new(jid("1-2@g.us"), action, [spec.clone()]);
            let node = req.build();
            let body = node.child(action.as_str()).unwrap();
            assert_eq!(
                body.children(),
                [Node::new("participant").attr("jid", jid("5@lid")).build()]
            );
        }
    }

    #[test]
    fn parses_per_participant_results() {
        let req = UpdateParticipants::new(
            jid("1-2@g.us"),
            ParticipantAction::Add,
            [
                jid("1@s.whatsapp.net"),
                jid("2@s.whatsapp.net"),
                jid("3@s.whatsapp.net"),
                jid("4@lid"),
            ],
        );
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("add")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("1@s.whatsapp.net"))
                            .attr("lid", jid("11@lid"))
                            .build(),
                    )
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("2@s.whatsapp.net"))
                            .attr("error", "403")
                            .child(
                                Node::new("add_request")
                                    .attr("code", "AbCd")
                                    .attr("expiration", "1700600000")
                                    .build(),
                            )
                            .build(),
                    )
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("3@s.whatsapp.net"))
                            .attr("error", "409")
                            .build(),
                    )
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("4@lid"))
                            .attr("phone_number", jid("44@s.whatsapp.net"))
                            .attr("error", "408")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let res = req.parse(&reply).unwrap();
        assert_eq!(res.len(), 4);
        assert!(res[0].is_ok());
        assert_eq!(res[0].lid, Some(jid("11@lid")));
        assert_eq!(res[0].phone_number, Some(jid("1@s.whatsapp.net")));
        assert_eq!(res[1].code, 403);
        assert_eq!(
            res[1].add_request,
            Some(AddRequest {
                code: "AbCd".into(),
                expiration: 1_700_600_000
            })
        );
        assert_eq!((res[2].code, res[3].code), (409, 408));
        assert_eq!(res[3].phone_number, Some(jid("44@s.whatsapp.net")));
        assert_eq!(res[3].lid, Some(jid("4@lid")));
    }

    #[test]
    fn malformed_participant_replies() {
        let req = UpdateParticipants::new(
            jid("1-2@g.us"),
            ParticipantAction::Remove,
            [jid("1@s.whatsapp.net")],
        );
        let wrong_tag = Node::new("iq")
            .attr("type", "result")
            .child(Node::new("add").build())
            .build();
        assert!(matches!(
            req.parse(&wrong_tag),
            Err(GroupError::MissingElement { tag: "remove", .. })
        ));
        let no_jid = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("remove")
                    .child(Node::new("participant").build())
                    .build(),
            )
            .build();
        assert!(matches!(req.parse(&no_jid), Err(GroupError::Attrs { .. })));
        let bad_add_request = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("remove")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("1@s.whatsapp.net"))
                            .attr("error", "403")
                            .child(Node::new("add_request").attr("expiration", "x").build())
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert!(matches!(
            req.parse(&bad_add_request),
            Err(GroupError::Attrs { .. })
        ));
        let huge = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("remove")
                    .child(
                        Node::new("participant")
                            .attr("jid", jid("1@s.whatsapp.net"))
                            .attr("error", "99999")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert!(matches!(
            req.parse(&huge),
            Err(GroupError::BadContent { .. })
        ));
    }

    #[test]
    fn leave() {
        let req = LeaveGroups::one(jid("1-2@g.us"));
        let expected = Node::new("iq")
            .attr("to", group_server())
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(
                Node::new("leave")
                    .child(Node::new("group").attr("id", jid("1-2@g.us")).build())
                    .build(),
            )
            .build();
        assert_eq!(req.build(), expected);
        let ok = Node::new("iq").attr("type", "result").build();
        req.parse(&ok).unwrap();
        let refused = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("leave")
                    .child(
                        Node::new("group")
                            .attr("id", "1-2")
                            .attr("error", "404")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(req.parse(&refused).unwrap_err().server_code(), Some(404));
        let err = Node::new("iq")
            .attr("type", "error")
            .child(Node::new("error").attr("code", "401").build())
            .build();
        assert_eq!(req.parse(&err).unwrap_err().server_code(), Some(401));
    }
}
