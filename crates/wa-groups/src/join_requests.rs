//! Join requests of groups with approval on: list, approve, reject.

use wa_binary::{Jid, Node};

use crate::participants::{ParticipantResult, parse_results};
use crate::util::{IqType, check_reply, child, finish, iq};
use crate::{GroupError, IqRequest};

/// A pending request to join.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JoinRequest {
    /// Who asked.
    pub jid: Jid,
    /// When, in Unix seconds.
    pub requested_at: i64,
}

/// Lists pending join requests: `<membership_approval_requests/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetJoinRequests {
    /// The group.
    pub group: Jid,
}

impl IqRequest for GetJoinRequests {
    type Response = Vec<JoinRequest>;

    fn build(&self) -> Node {
        let n = Node::new("membership_approval_requests").build();
        iq(IqType::Get, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<Vec<JoinRequest>, GroupError> {
        let reply = check_reply(reply)?;
        child(reply, "membership_approval_requests", "join request list")?
            .children_by_tag("membership_approval_request")
            .map(|req| {
                let mut r = req.attr_reader();
                let jid = r.jid("jid");
                let requested_at = r.i64("request_time");
                finish(r, "membership_approval_request")?;
                Ok(JoinRequest { jid, requested_at })
            })
            .collect()
    }
}

/// Approve or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinRequestAction {
    /// `approve`: the requester becomes a member.
    Approve,
    /// `reject`
    Reject,
}

impl JoinRequestAction {
    /// The wire tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// Approves or rejects requests:
/// `<membership_requests_action><approve|reject><participant jid/>…`; the reply lists
/// per-member results like a participant change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateJoinRequests {
    /// The group.
    pub group: Jid,
    /// Approve or reject.
    pub action: JoinRequestAction,
    /// The requesters.
    pub participants: Vec<Jid>,
}

impl IqRequest for UpdateJoinRequests {
    type Response = Vec<ParticipantResult>;

    fn build(&self) -> Node {
        let action = Node::new(self.action.as_str())
            .children(
                self.participants
                    .iter()
                    .map(|j| Node::new("participant").attr("jid", j).build()),
            )
            .build();
        let n = Node::new("membership_requests_action")
            .child(action)
            .build();
        iq(IqType::Set, self.group.clone(), n)
    }

    fn parse(&self, reply: &Node) -> Result<Vec<ParticipantResult>, GroupError> {
        let reply = check_reply(reply)?;
        let outer = child(
            reply,
            "membership_requests_action",
            "join request action reply",
        )?;
        let inner = outer
            .child(self.action.as_str())
            .ok_or(GroupError::MissingElement {
                tag: self.action.as_str(),
                context: "join request action reply",
            })?;
        parse_results(inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn list() {
        let req = GetJoinRequests {
            group: jid("1-2@g.us"),
        };
        assert_eq!(
            req.build(),
            Node::new("iq")
                .attr("to", jid("1-2@g.us"))
                .attr("type", "get")
                .attr("xmlns", "w:g2")
                .child(Node::new("membership_approval_requests").build())
                .build()
        );
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("membership_approval_requests")
                    .child(
                        Node::new("membership_approval_request")
                            .attr("jid", jid("3@lid"))
                            .attr("request_time", "1700000001")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            req.parse(&reply).unwrap(),
            [JoinRequest {
                jid: jid("3@lid"),
                requested_at: 1_700_000_001
            }]
        );
        let bad = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("membership_approval_requests")
                    .child(
                        Node::new("membership_approval_request")
                            .attr("jid", jid("3@lid"))
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert!(matches!(req.parse(&bad), Err(GroupError::Attrs { .. })));
        assert!(
            req.parse(&Node::new("iq").attr("type", "result").build())
                .is_err()
        );
    }

    #[test]
    fn approve_and_reject() {
        let req = UpdateJoinRequests {
            group: jid("1-2@g.us"),
            action: JoinRequestAction::Approve,
            participants: vec![jid("3@lid"), jid("4@lid")],
        };
        let expected = Node::new("iq")
            .attr("to", jid("1-2@g.us"))
            .attr("type", "set")
            .attr("xmlns", "w:g2")
            .child(
                Node::new("membership_requests_action")
                    .child(
                        Node::new("approve")
                            .child(Node::new("participant").attr("jid", jid("3@lid")).build())
                            .child(Node::new("participant").attr("jid", jid("4@lid")).build())
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(req.build(), expected);
        let reply = Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("membership_requests_action")
                    .child(
                        Node::new("approve")
                            .child(Node::new("participant").attr("jid", jid("3@lid")).build())
                            .child(
                                Node::new("participant")
                                    .attr("jid", jid("4@lid"))
                                    .attr("error", "404")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        let res = req.parse(&reply).unwrap();
        assert_eq!((res[0].code, res[1].code), (200, 404));
        let reject = UpdateJoinRequests {
            action: JoinRequestAction::Reject,
            ..req
        };
        assert!(matches!(
            reject.parse(&reply),
            Err(GroupError::MissingElement { tag: "reject", .. })
        ));
    }
}
