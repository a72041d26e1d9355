//! Unit tests of invite links, join requests, v4 invites and communities.

use wa_binary::Jid;
use wa_groups::{
    AcceptInvite, CreateGroup, GetGroupFromInvite, GetGroupFromLink, GetGroupInfo, GetInviteCode,
    GetJoinRequests, GetLinkedGroupsParticipants, GetSubGroups, GroupChange, Invite,
    JoinRequestAction, JoinResult, JoinWithLink, LinkGroups, LinkType, ParticipantAction,
    RevokeInvites, SetJoinApproval, UnlinkGroups, UpdateJoinRequests, UpdateParticipants,
    invite_link, parse_group_notification,
};

use super::tests::{NOW, changes, code, joins, lid, ok, pn, registry, run, sorted, team};

#[test]
fn invite_links_get_reset_inspect_join() {
    let mut reg = registry();
    let g = team(&mut reg);
    let get = GetInviteCode {
        group: g.clone(),
        reset: false,
    };
    assert_eq!(code(&mut reg, &pn(1), &get), Some(401));
    assert_eq!(code(&mut reg, &pn(2), &get), Some(403));
    let (first, n) = ok(&mut reg, &pn(0), &get);
    assert!(n.is_empty());
    assert_eq!(first.len(), 22);
    assert_eq!(ok(&mut reg, &pn(0), &get).0, first, "stable until reset");

    // Anyone with the link sees the group.
    let (info, _) = ok(
        &mut reg,
        &pn(2),
        &GetGroupFromLink {
            code: invite_link(&first),
        },
    );
    assert_eq!(
        (info.jid.clone(), info.subject.as_str()),
        (g.clone(), "Team")
    );

    // Reset: the old code is gone (410), members learn the new one.
    let (second, n) = ok(
        &mut reg,
        &pn(0),
        &GetInviteCode {
            group: g.clone(),
            reset: true,
        },
    );
    assert_ne!(second, first);
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(
        notif.changes,
        [GroupChange::InviteReset {
            code: second.clone()
        }]
    );
    assert_eq!(
        code(
            &mut reg,
            &pn(2),
            &JoinWithLink {
                code: first.clone()
            }
        ),
        Some(410)
    );
    assert_eq!(
        code(&mut reg, &pn(2), &GetGroupFromLink { code: first }),
        Some(410)
    );
    assert_eq!(
        code(
            &mut reg,
            &pn(2),
            &JoinWithLink {
                code: "NoSuchCode".into()
            }
        ),
        Some(406)
    );

    // Join with the new link: carol is added with reason "invite".
    let (joined, n) = ok(
        &mut reg,
        &pn(2),
        &JoinWithLink {
            code: second.clone(),
        },
    );
    assert_eq!(joined, JoinResult::Joined(g.clone()));
    let (to, notif, newcomers, created) = joins(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(newcomers, [pn(2)]);
    assert!(matches!(&created.changes[..],
        [GroupChange::Created { info, reason, .. }]
            if reason.as_deref() == Some("invite") && info.jid == g && info.participants.len() == 3));
    assert_eq!(notif.actor, Some(lid(2)));
    let GroupChange::Added(add) = &notif.changes[0] else {
        panic!("{notif:?}")
    };
    assert_eq!(add.reason.as_deref(), Some("invite"));
    assert_eq!(add.participants[0].phone_number, Some(pn(2)));
    assert_eq!(
        code(&mut reg, &pn(2), &JoinWithLink { code: second }),
        Some(409)
    );
    ok(&mut reg, &pn(2), &GetGroupInfo { group: g });
}

#[test]
fn join_approval_queues_requests_for_admins() {
    let mut reg = registry();
    let g = team(&mut reg);
    ok(
        &mut reg,
        &pn(0),
        &SetJoinApproval {
            group: g.clone(),
            required: true,
        },
    );
    let (link, _) = ok(
        &mut reg,
        &pn(0),
        &GetInviteCode {
            group: g.clone(),
            reset: false,
        },
    );

    let (res, n) = ok(&mut reg, &pn(2), &JoinWithLink { code: link.clone() });
    assert_eq!(res, JoinResult::ApprovalPending(g.clone()));
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(2)]), "admins and the requester");
    match &notif.changes[..] {
        [
            GroupChange::JoinRequestCreated {
                participants,
                method,
            },
        ] => {
            assert_eq!(method.as_deref(), Some("invite_link"));
            assert_eq!(participants[0].lid, Some(lid(2)));
        }
        other => panic!("{other:?}"),
    }
    ok(&mut reg, &pn(3), &JoinWithLink { code: link.clone() });
    // Asking twice changes nothing.
    let (_, n) = ok(&mut reg, &pn(3), &JoinWithLink { code: link });
    assert!(n.is_empty());
    assert_eq!(
        code(&mut reg, &pn(2), &GetGroupInfo { group: g.clone() }),
        Some(403)
    );

    let list = GetJoinRequests { group: g.clone() };
    assert_eq!(code(&mut reg, &pn(1), &list), Some(401));
    let (reqs, _) = ok(&mut reg, &pn(0), &list);
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        (reqs[0].jid.clone(), reqs[0].requested_at),
        (lid(2), NOW as i64)
    );

    let act = |action, who: Vec<Jid>| UpdateJoinRequests {
        group: g.clone(),
        action,
        participants: who,
    };
    let (res, n) = ok(
        &mut reg,
        &pn(0),
        &act(JoinRequestAction::Approve, vec![lid(2), pn(1)]),
    );
    assert_eq!(res.iter().map(|r| r.code).collect::<Vec<_>>(), [200, 404]);
    let (to, notif, newcomers, _) = joins(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(newcomers, [pn(2)]);
    assert!(
        matches!(&notif.changes[..], [GroupChange::Added(a)] if a.participants[0].lid == Some(lid(2)))
    );

    let (res, n) = ok(
        &mut reg,
        &pn(0),
        &act(JoinRequestAction::Reject, vec![pn(3)]),
    );
    assert!(res[0].is_ok());
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(3)]));
    assert!(
        matches!(&notif.changes[..], [GroupChange::JoinRequestRevoked { participants }] if participants[0].lid == Some(lid(3)))
    );
    assert!(ok(&mut reg, &pn(0), &list).0.is_empty());
    assert_eq!(
        code(&mut reg, &pn(3), &GetGroupInfo { group: g }),
        Some(403)
    );
}

#[test]
fn refused_adds_make_v4_invites() {
    let mut reg = registry();
    let g = team(&mut reg);
    reg.set_invite_only(&pn(2), true);
    let (res, n) = ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(g.clone(), ParticipantAction::Add, [pn(2)]),
    );
    assert!(n.is_empty(), "nobody was added");
    assert_eq!(res[0].code, 403);
    let req = res[0].add_request.clone().expect("an invite");
    assert_eq!(req.expiration, (NOW + super::INVITE_V4_LIFETIME) as i64);
    let invite = Invite {
        group: g.clone(),
        inviter: pn(0),
        code: req.code.clone(),
        expiration: req.expiration,
    };

    // Only the invited user can use it.
    assert_eq!(
        code(&mut reg, &pn(3), &GetGroupFromInvite(invite.clone())),
        Some(406)
    );
    let (info, _) = ok(&mut reg, &pn(2), &GetGroupFromInvite(invite.clone()));
    assert_eq!(info.jid, g);
    let wrong = Invite {
        code: "other".into(),
        ..invite.clone()
    };
    assert_eq!(code(&mut reg, &pn(2), &AcceptInvite(wrong)), Some(406));
    let (_, n) = ok(&mut reg, &lid(2), &AcceptInvite(invite.clone()));
    let (to, notif, newcomers, _) = joins(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(newcomers, [pn(2)]);
    assert!(
        matches!(&notif.changes[..], [GroupChange::Added(a)] if a.reason.as_deref() == Some("invite"))
    );
    assert_eq!(
        code(&mut reg, &pn(2), &AcceptInvite(invite)),
        Some(406),
        "used up"
    );

    // A revoked invite cannot be accepted; creation reports refused members too.
    reg.set_invite_only(&pn(3), true);
    let (info, _) = ok(
        &mut reg,
        &pn(0),
        &CreateGroup::new("Private").participant(pn(3)),
    );
    let refused = info.participant(&lid(3)).expect("listed with its error");
    assert_eq!(refused.error, Some(403));
    let code3 = refused.add_request.clone().unwrap().code;
    let invite = Invite {
        group: info.jid.clone(),
        inviter: pn(0),
        code: code3,
        expiration: 0,
    };
    assert_eq!(
        code(
            &mut reg,
            &pn(1),
            &RevokeInvites {
                group: info.jid.clone(),
                invited: vec![pn(3)]
            }
        ),
        Some(403)
    );
    ok(
        &mut reg,
        &pn(0),
        &RevokeInvites {
            group: info.jid.clone(),
            invited: vec![pn(3)],
        },
    );
    assert_eq!(code(&mut reg, &pn(3), &AcceptInvite(invite)), Some(406));
    reg.set_invite_only(&pn(3), false);
    let (res, _) = ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(info.jid, ParticipantAction::Add, [pn(3)]),
    );
    assert!(res[0].is_ok());
}

#[test]
fn community_with_two_subgroups() {
    let mut reg = registry();
    // alice creates a community with bob: the announcement group comes with it.
    let (community, n) = ok(
        &mut reg,
        &pn(0),
        &CreateGroup::new("Club").community().participant(pn(1)),
    );
    assert!(community.is_community);
    assert_eq!(
        community.default_membership_approval_mode.as_deref(),
        Some("request_required")
    );
    let c = community.jid.clone();
    let created: Vec<_> = n
        .iter()
        .map(|(_, s)| parse_group_notification(s).unwrap())
        .collect();
    assert!(created.iter().any(|x| x.group != c
        && matches!(&x.changes[..],
        [GroupChange::Created { info, kind, .. }] if info.is_default_sub_group && info.announce
            && info.linked_parent.as_ref() == Some(&c) && kind.as_deref() == Some("sub_group"))));
    let (subs, _) = ok(
        &mut reg,
        &pn(1),
        &GetSubGroups {
            community: c.clone(),
        },
    );
    assert_eq!(subs.len(), 1);
    assert!(subs[0].is_default_sub_group);
    assert_eq!(subs[0].subject.as_deref(), Some("Club"));
    let announcements = subs[0].jid.clone();

    // Sub-group A is created inside the community (only its admins may).
    let in_c = |s: &str| CreateGroup::new(s).in_community(c.clone());
    assert_eq!(code(&mut reg, &pn(1), &in_c("Nope")), Some(401));
    assert_eq!(code(&mut reg, &pn(2), &in_c("Nope")), Some(403));
    let (a, n) = ok(&mut reg, &pn(0), &in_c("Sub A").participant(pn(2)));
    assert_eq!(a.linked_parent, Some(c.clone()));
    let linked: Vec<_> = n
        .iter()
        .filter(|(_, s)| parse_group_notification(s).unwrap().group == c)
        .map(|(to, s)| (to.clone(), parse_group_notification(s).unwrap()))
        .collect();
    assert!(linked.iter().any(|(to, x)| *to == pn(1)
        && matches!(&x.changes[..],
        [GroupChange::Linked { link_type: LinkType::SubGroup, group }] if group.jid == a.jid)));
    // carol, a member of A, became a community member (reason linked_group_join): the
    // community's members are told by <add>, carol by <create>.
    assert!(linked.iter().any(|(to, x)| *to == pn(1)
        && matches!(&x.changes[..],
        [GroupChange::Added(add)] if add.reason.as_deref() == Some("linked_group_join"))));
    assert!(linked.iter().any(|(to, x)| *to == pn(2)
        && matches!(&x.changes[..],
        [GroupChange::Created { info, reason, .. }]
            if reason.as_deref() == Some("linked_group_join") && info.is_community)));
    ok(&mut reg, &pn(2), &GetGroupInfo { group: c.clone() });
    ok(
        &mut reg,
        &pn(2),
        &GetGroupInfo {
            group: announcements.clone(),
        },
    );

    // Sub-group B exists on its own (dave's), then is linked by an admin of both.
    let (b, _) = ok(
        &mut reg,
        &pn(3),
        &CreateGroup::new("Sub B").participant(pn(0)),
    );
    let link = LinkGroups {
        community: c.clone(),
        groups: vec![b.jid.clone()],
    };
    assert_eq!(
        code(&mut reg, &pn(0), &link),
        Some(401),
        "alice is not an admin of B"
    );
    ok(
        &mut reg,
        &pn(3),
        &UpdateParticipants::new(b.jid.clone(), ParticipantAction::Promote, [pn(0)]),
    );
    assert_eq!(
        code(&mut reg, &pn(1), &link),
        Some(401),
        "bob is not an admin of the community"
    );
    let (_, n) = ok(&mut reg, &pn(0), &link);
    let to_b: Vec<_> = n
        .iter()
        .map(|(to, s)| (to.clone(), parse_group_notification(s).unwrap()))
        .filter(|(_, x)| x.group == b.jid)
        .collect();
    assert_eq!(
        sorted(to_b.iter().map(|(t, _)| t.clone()).collect()),
        sorted(vec![pn(0), pn(3)])
    );
    assert!(matches!(&to_b[0].1.changes[..],
        [GroupChange::Linked { link_type: LinkType::Parent, group }] if group.jid == c));
    let (info, _) = ok(
        &mut reg,
        &pn(3),
        &GetGroupInfo {
            group: b.jid.clone(),
        },
    );
    assert_eq!(info.linked_parent, Some(c.clone()));

    let (subs, _) = ok(
        &mut reg,
        &pn(3),
        &GetSubGroups {
            community: c.clone(),
        },
    );
    let mut names: Vec<_> = subs.iter().filter_map(|s| s.subject.clone()).collect();
    names.sort();
    assert_eq!(names, ["Club", "Sub A", "Sub B"]);
    let (members, _) = ok(
        &mut reg,
        &pn(0),
        &GetLinkedGroupsParticipants {
            community: c.clone(),
        },
    );
    let mut lids: Vec<Jid> = members.iter().filter_map(|m| m.lid.clone()).collect();
    lids.sort();
    assert_eq!(lids, [lid(0), lid(1), lid(2), lid(3)]);

    // Linking elsewhere conflicts; the announcement group cannot be unlinked; B can.
    let (other, _) = ok(&mut reg, &pn(0), &CreateGroup::new("Other").community());
    let relink = LinkGroups {
        community: other.jid.clone(),
        groups: vec![b.jid.clone()],
    };
    assert_eq!(code(&mut reg, &pn(0), &relink), Some(409));
    let unlink = |g: &Jid| UnlinkGroups {
        community: c.clone(),
        groups: vec![g.clone()],
    };
    assert_eq!(code(&mut reg, &pn(0), &unlink(&announcements)), Some(406));
    assert_eq!(code(&mut reg, &pn(1), &unlink(&b.jid)), Some(401));
    let (_, n) = ok(&mut reg, &pn(0), &unlink(&b.jid));
    assert!(n.iter().any(
        |(_, s)| matches!(&parse_group_notification(s).unwrap().changes[..],
        [GroupChange::Unlinked { link_type: LinkType::SubGroup, reason, group }]
            if group.jid == b.jid && reason.as_deref() == Some("unlink_group"))
    ));
    let (subs, _) = ok(
        &mut reg,
        &pn(0),
        &GetSubGroups {
            community: c.clone(),
        },
    );
    assert_eq!(subs.len(), 2);
    let (info, _) = ok(
        &mut reg,
        &pn(3),
        &GetGroupInfo {
            group: b.jid.clone(),
        },
    );
    assert_eq!(info.linked_parent, None);
    assert_eq!(code(&mut reg, &pn(0), &unlink(&b.jid)), Some(404));

    // A plain group is not a community.
    assert_eq!(
        code(
            &mut reg,
            &pn(3),
            &GetSubGroups {
                community: b.jid.clone()
            }
        ),
        Some(406)
    );
    // Adding to a linked sub-group makes the new member a community member too.
    ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(a.jid.clone(), ParticipantAction::Add, [pn(3)]),
    );
    let (info, _) = ok(
        &mut reg,
        &pn(3),
        &GetGroupInfo {
            group: announcements,
        },
    );
    assert!(info.participant(&pn(3)).is_some());
    let (res, _) = run(&mut reg, &pn(3), &GetGroupInfo { group: c });
    assert!(res.is_ok());
}
