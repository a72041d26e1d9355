//! Arbitrary bytes decoded as a stanza and fed to every wa-groups reply parser and to the
//! `w:gp2` notification parser (also wrapped in a result `<iq>` and in a group notification to
//! reach the inner parsers): each returns `Ok` or a typed error, none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_binary::{Jid, Node, Server};
use wa_groups::*;

fn run_all(node: &Node) {
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
    let _ = parse_group_notification(node);
}

fuzz_target!(|data: &[u8]| {
    let Ok(node) = wa_binary::unmarshal(data) else {
        return;
    };
    run_all(&node);
    let reply = Node::new("iq")
        .attr("type", "result")
        .child(node.clone())
        .build();
    run_all(&reply);
    let notification = Node::new("notification")
        .attr("type", "w:gp2")
        .attr("from", Jid::new("1-2", Server::Group))
        .attr("t", "1")
        .child(node)
        .build();
    run_all(&notification);
});
