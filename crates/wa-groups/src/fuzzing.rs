//! Support for fuzz targets and no-panic tests (as rustls' `internal::fuzzing`): no stability
//! promise, hidden from the docs.

use wa_binary::{Jid, Node, Server};

use crate::*;

/// Feeds `node` to every reply parser and to the `w:gp2` notification parser, discarding the
/// results; only a panic would be noticed.
pub fn run_every_parser(node: &Node) {
    let g = Jid::new("1-2", Server::Group);
    let u = Jid::new("7", Server::User);
    let invite = Invite {
        group: g.clone(),
        inviter: u.clone(),
        code: "c".into(),
        expiration: 1,
    };
    let _ = check_reply(node);
    let _ = CreateGroup::new("x").parse(node);
    let _ = GetGroupInfo { group: g.clone() }.parse(node);
    let _ = GetJoinedGroups.parse(node);
    for action in [
        ParticipantAction::Add,
        ParticipantAction::Remove,
        ParticipantAction::Promote,
        ParticipantAction::Demote,
    ] {
        let _ = UpdateParticipants::new(g.clone(), action, [u.clone()]).parse(node);
    }
    let _ = LeaveGroups::one(g.clone()).parse(node);
    let _ = SetSubject {
        group: g.clone(),
        subject: "s".into(),
    }
    .parse(node);
    let _ = SetEphemeral {
        group: g.clone(),
        timer: None,
    }
    .parse(node);
    let _ = GetInviteCode {
        group: g.clone(),
        reset: false,
    }
    .parse(node);
    let _ = GetGroupFromLink { code: "c".into() }.parse(node);
    let _ = JoinWithLink { code: "c".into() }.parse(node);
    let _ = GetGroupFromInvite(invite.clone()).parse(node);
    let _ = AcceptInvite(invite).parse(node);
    let _ = GetJoinRequests { group: g.clone() }.parse(node);
    for action in [JoinRequestAction::Approve, JoinRequestAction::Reject] {
        let _ = UpdateJoinRequests {
            group: g.clone(),
            action,
            participants: vec![u.clone()],
        }
        .parse(node);
    }
    let _ = GetSubGroups {
        community: g.clone(),
    }
    .parse(node);
    let _ = GetLinkedGroupsParticipants {
        community: g.clone(),
    }
    .parse(node);
    let _ = LinkGroups {
        community: g.clone(),
        groups: vec![],
    }
    .parse(node);
    let _ = parse_group_notification(node);
}

/// [`run_every_parser`] on `node` bare, inside a result `<iq>` and inside a `w:gp2`
/// notification, so that the inner parsers are reached too.
pub fn run_every_parser_wrapped(node: &Node) {
    run_every_parser(node);
    let reply = Node::new("iq")
        .attr("type", "result")
        .child(node.clone())
        .build();
    run_every_parser(&reply);
    let notification = Node::new("notification")
        .attr("type", "w:gp2")
        .attr("from", Jid::new("1-2", Server::Group))
        .attr("t", "1")
        .child(node.clone())
        .build();
    run_every_parser(&notification);
}
