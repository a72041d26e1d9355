//! Unit tests: requests built with `wa_groups` builders, replies and notifications parsed with
//! `wa_groups` parsers.

use wa_binary::{Jid, Node};
use wa_groups::{
    CreateGroup, GetGroupInfo, GetJoinedGroups, GroupChange, GroupError, IqRequest, LeaveGroups,
    MemberAddMode, ParticipantAction, SetAnnounce, SetDescription, SetEphemeral, SetJoinApproval,
    SetLocked, SetMemberAddMode, SetSubject, UpdateParticipants, parse_group_notification,
};

use super::*;

pub(super) const NOW: u64 = 1_700_000_000;

pub(super) fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

/// Four registered accounts: (pn, lid).
pub(super) fn users() -> [(Jid, Jid); 4] {
    [
        (jid("15550000001@s.whatsapp.net"), jid("900000000001@lid")),
        (jid("15550000002@s.whatsapp.net"), jid("900000000002@lid")),
        (jid("15550000003@s.whatsapp.net"), jid("900000000003@lid")),
        (jid("15550000004@s.whatsapp.net"), jid("900000000004@lid")),
    ]
}

pub(super) fn registry() -> GroupRegistry {
    let mut r = GroupRegistry::new();
    for (pn, lid) in users() {
        r.register_user(&pn, &lid);
    }
    r
}

pub(super) fn pn(i: usize) -> Jid {
    users()[i].0.clone()
}

pub(super) fn lid(i: usize) -> Jid {
    users()[i].1.clone()
}

/// A parsed reply and the notifications that came with it.
pub(super) type Answer<T> = (Result<T, GroupError>, Vec<(Jid, Node)>);

/// Sends `req` as `who` (a device JID, to check the device part is ignored), checks the reply
/// is an iq answering it, and parses it with the request's own parser.
pub(super) fn run<R: IqRequest>(
    reg: &mut GroupRegistry,
    who: &Jid,
    req: &R,
) -> Answer<R::Response> {
    let mut iq = req.build();
    iq.attrs.insert("id", "req.1");
    let out = reg.handle_iq(NOW, &who.clone().with_device(3), &iq);
    assert_eq!(out.reply.tag.as_str(), "iq");
    assert_eq!(out.reply.attr("id").and_then(|v| v.as_str()), Some("req.1"));
    (req.parse(&out.reply), out.notifications)
}

pub(super) fn ok<R: IqRequest>(
    reg: &mut GroupRegistry,
    who: &Jid,
    req: &R,
) -> (R::Response, Vec<(Jid, Node)>)
where
    R::Response: std::fmt::Debug,
{
    let (res, n) = run(reg, who, req);
    (res.unwrap(), n)
}

pub(super) fn code<R: IqRequest>(reg: &mut GroupRegistry, who: &Jid, req: &R) -> Option<u16> {
    let (res, n) = run(reg, who, req);
    if res.is_err() {
        assert!(n.is_empty(), "a refused request notifies nobody");
    }
    res.err().and_then(|e| e.server_code())
}

/// The recipients of the notifications and the parsed changes of the first one; all
/// notifications in `n` must be the same stanza.
pub(super) fn changes(n: &[(Jid, Node)]) -> (Vec<Jid>, wa_groups::GroupNotification) {
    let first = &n.first().expect("a notification").1;
    assert!(n.iter().all(|(_, s)| s == first), "one stanza for everyone");
    let mut to: Vec<Jid> = n.iter().map(|(j, _)| j.clone()).collect();
    to.sort();
    (to, parse_group_notification(first).unwrap())
}

/// A join's two notifications: `<add>` to the members who were there and `<create>` to the
/// newcomers, as `(add recipients, add, create recipients, create)`.
pub(super) fn joins(
    n: &[(Jid, Node)],
) -> (
    Vec<Jid>,
    wa_groups::GroupNotification,
    Vec<Jid>,
    wa_groups::GroupNotification,
) {
    let (create, add): (Vec<_>, Vec<_>) = n.iter().cloned().partition(|(_, s)| {
        parse_group_notification(s)
            .is_ok_and(|p| matches!(p.changes[..], [GroupChange::Created { .. }]))
    });
    let (add_to, add) = changes(&add);
    let (create_to, create) = changes(&create);
    (add_to, add, create_to, create)
}

pub(super) fn sorted(mut v: Vec<Jid>) -> Vec<Jid> {
    v.sort();
    v
}

/// alice (0) creates "Team" with bob (1); returns the group.
pub(super) fn team(reg: &mut GroupRegistry) -> Jid {
    let (info, _) = ok(reg, &pn(0), &CreateGroup::new("Team").participant(pn(1)));
    info.jid
}

#[test]
fn create_replies_with_the_group_and_notifies_members() {
    let mut reg = registry();
    let req = CreateGroup::new("Team")
        .key("3EB0KEY")
        .participant(pn(1))
        .participant(lid(2))
        .ephemeral(Some(86_400))
        .announce(true);
    let (info, n) = ok(&mut reg, &pn(0), &req);
    assert!(info.jid.is_group() && info.jid.user().starts_with("120363"));
    assert_eq!(info.subject, "Team");
    assert_eq!(info.created_at, Some(NOW as i64));
    assert_eq!(info.owner, Some(lid(0)));
    assert_eq!(info.owner_pn, Some(pn(0)));
    assert_eq!(info.addressing_mode, Some(wa_groups::AddressingMode::Lid));
    assert!(info.announce && !info.locked);
    assert_eq!(info.ephemeral_timer, Some(86_400));
    assert_eq!(info.participants.len(), 3);
    let owner = &info.participants[0];
    assert!(owner.is_super_admin && owner.jid == lid(0) && owner.phone_number == Some(pn(0)));
    for (p, i) in info.participants[1..].iter().zip([1, 2]) {
        assert!(!p.is_admin);
        assert_eq!(
            (p.lid.clone(), p.phone_number.clone()),
            (Some(lid(i)), Some(pn(i)))
        );
    }
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1), pn(2)]));
    assert_eq!(notif.group, info.jid);
    assert_eq!(notif.actor, Some(lid(0)));
    assert_eq!(notif.actor_pn, Some(pn(0)));
    assert_eq!(notif.timestamp, NOW as i64);
    match &notif.changes[..] {
        [
            GroupChange::Created {
                info: created,
                key,
                kind,
                ..
            },
        ] => {
            assert_eq!(key.as_deref(), Some("3EB0KEY"));
            assert_eq!(kind.as_deref(), Some("new"));
            assert_eq!(created.participants, info.participants);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(reg.len(), 1);

    // Subjects must be 1..=100 characters.
    assert_eq!(code(&mut reg, &pn(0), &CreateGroup::new("")), Some(406));
    assert_eq!(
        code(&mut reg, &pn(0), &CreateGroup::new("x".repeat(101))),
        Some(406)
    );
    assert_eq!(reg.len(), 1);
}

#[test]
fn pn_addressed_groups_list_phone_numbers() {
    let mut reg = registry();
    reg.set_default_addressing(wa_groups::AddressingMode::Pn);
    let (info, _) = ok(
        &mut reg,
        &lid(0),
        &CreateGroup::new("Old style").participant(pn(1)),
    );
    assert_eq!(info.addressing_mode, Some(wa_groups::AddressingMode::Pn));
    assert_eq!(info.owner, Some(pn(0)));
    assert_eq!(info.participants[0].jid, pn(0));
    assert_eq!(info.participants[0].lid, Some(lid(0)));
    // An unregistered user is listed in the only form known.
    let stranger = jid("4400000009@s.whatsapp.net");
    let (res, _) = ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(info.jid.clone(), ParticipantAction::Add, [stranger.clone()]),
    );
    assert_eq!(
        (res[0].jid.clone(), res[0].lid.clone(), res[0].code),
        (stranger, None, 200)
    );
}

#[test]
fn info_and_joined_groups_need_membership() {
    let mut reg = registry();
    let g = team(&mut reg);
    let (info, n) = ok(&mut reg, &lid(1), &GetGroupInfo { group: g.clone() });
    assert!(n.is_empty());
    assert_eq!(info.participants.len(), 2);
    assert_eq!(
        code(&mut reg, &pn(2), &GetGroupInfo { group: g.clone() }),
        Some(403)
    );
    let unknown = jid("120363999999999999@g.us");
    assert_eq!(
        code(&mut reg, &pn(0), &GetGroupInfo { group: unknown }),
        Some(404)
    );

    let (_, _) = ok(&mut reg, &pn(1), &CreateGroup::new("Second"));
    let (groups, _) = ok(&mut reg, &pn(1), &GetJoinedGroups);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].jid, g);
    let (groups, _) = ok(&mut reg, &pn(0), &GetJoinedGroups);
    assert_eq!(groups.len(), 1);
    let (groups, _) = ok(&mut reg, &pn(3), &GetJoinedGroups);
    assert!(groups.is_empty());
}

#[test]
fn participants_add_remove_promote_demote() {
    let mut reg = registry();
    let g = team(&mut reg);
    let add = |who: Vec<Jid>| UpdateParticipants::new(g.clone(), ParticipantAction::Add, who);
    let act = |a, who: Vec<Jid>| UpdateParticipants::new(g.clone(), a, who);

    // Anyone may add while the mode is all_member_add.
    let (res, n) = ok(&mut reg, &pn(1), &add(vec![pn(2), lid(0)]));
    assert_eq!(res.iter().map(|r| r.code).collect::<Vec<_>>(), [200, 409]);
    assert_eq!(res[0].jid, lid(2));
    assert_eq!(res[0].phone_number, Some(pn(2)));
    let (to, notif, newcomers, joined) = joins(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(newcomers, [pn(2)]);
    match &joined.changes[..] {
        [
            GroupChange::Created {
                info, reason, kind, ..
            },
        ] => {
            assert_eq!((reason, kind), (&None, &None));
            assert_eq!(info.participants.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(notif.actor, Some(lid(1)));
    let GroupChange::Added(added) = &notif.changes[0] else {
        panic!("{notif:?}")
    };
    assert_eq!(added.participants.len(), 1);
    assert_eq!(added.participants[0].phone_number, Some(pn(2)));
    assert_eq!(
        (
            added.prev_version_id.as_deref(),
            added.version_id.as_deref()
        ),
        (Some("1"), Some("2"))
    );

    // admin_add: members may no longer add (401), admins may.
    ok(
        &mut reg,
        &pn(0),
        &SetMemberAddMode {
            group: g.clone(),
            mode: MemberAddMode::AdminAdd,
        },
    );
    assert_eq!(code(&mut reg, &pn(1), &add(vec![pn(3)])), Some(401));
    assert_eq!(code(&mut reg, &pn(3), &add(vec![pn(3)])), Some(403));

    // Promote: bob becomes admin; unknown members get 404 each.
    let (res, n) = ok(
        &mut reg,
        &pn(0),
        &act(ParticipantAction::Promote, vec![pn(1), pn(3)]),
    );
    assert_eq!(res.iter().map(|r| r.code).collect::<Vec<_>>(), [200, 404]);
    let (_, notif) = changes(&n);
    assert!(matches!(&notif.changes[..], [GroupChange::Promoted(c)] if c.participants.len() == 1));
    let (info, _) = ok(&mut reg, &pn(1), &GetGroupInfo { group: g.clone() });
    assert!(info.participant(&pn(1)).unwrap().is_admin);

    // bob (admin) cannot demote or remove the super admin.
    let (res, n) = ok(
        &mut reg,
        &pn(1),
        &act(ParticipantAction::Demote, vec![pn(0)]),
    );
    assert_eq!(res[0].code, 403);
    assert!(n.is_empty());
    let (res, _) = ok(
        &mut reg,
        &pn(1),
        &act(ParticipantAction::Remove, vec![lid(0)]),
    );
    assert_eq!(res[0].code, 403);

    // bob removes carol: carol is told too, and loses access.
    let (res, n) = ok(
        &mut reg,
        &lid(1),
        &act(ParticipantAction::Remove, vec![pn(2)]),
    );
    assert!(res[0].is_ok());
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1), pn(2)]));
    assert!(
        matches!(&notif.changes[..], [GroupChange::Removed(c)] if c.participants[0].lid == Some(lid(2)))
    );
    assert_eq!(
        code(&mut reg, &pn(2), &GetGroupInfo { group: g.clone() }),
        Some(403)
    );

    // Demote bob; a plain member may not promote.
    ok(
        &mut reg,
        &pn(0),
        &act(ParticipantAction::Demote, vec![pn(1)]),
    );
    assert_eq!(
        code(
            &mut reg,
            &pn(1),
            &act(ParticipantAction::Promote, vec![pn(1)])
        ),
        Some(401)
    );
    let (info, _) = ok(&mut reg, &pn(1), &GetGroupInfo { group: g.clone() });
    assert!(!info.participant(&pn(1)).unwrap().is_admin);
    assert_eq!(info.participant_version_id.as_deref(), Some("5"));
}

#[test]
fn settings_need_rights_and_notify_everyone() {
    let mut reg = registry();
    let g = team(&mut reg);
    let subject = |s: &str| SetSubject {
        group: g.clone(),
        subject: s.into(),
    };

    // Unlocked: any member edits the subject.
    let (_, n) = ok(&mut reg, &pn(1), &subject("Renamed"));
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1)]));
    assert_eq!(
        notif.changes,
        [GroupChange::Subject {
            subject: "Renamed".into(),
            set_at: NOW as i64,
            set_by: Some(lid(1)),
            set_by_pn: Some(pn(1)),
        }]
    );
    assert_eq!(code(&mut reg, &pn(2), &subject("x")), Some(403));
    assert_eq!(
        code(&mut reg, &pn(0), &subject(&"y".repeat(101))),
        Some(406)
    );

    // Locked: only admins; announce/locked themselves are admin-only.
    assert_eq!(
        code(
            &mut reg,
            &pn(1),
            &SetLocked {
                group: g.clone(),
                locked: true
            }
        ),
        Some(401)
    );
    let (_, n) = ok(
        &mut reg,
        &pn(0),
        &SetLocked {
            group: g.clone(),
            locked: true,
        },
    );
    assert_eq!(changes(&n).1.changes, [GroupChange::Locked(true)]);
    assert_eq!(code(&mut reg, &pn(1), &subject("Nope")), Some(401));
    assert_eq!(
        code(
            &mut reg,
            &pn(1),
            &SetEphemeral {
                group: g.clone(),
                timer: Some(604_800)
            }
        ),
        Some(401)
    );
    assert_eq!(
        code(
            &mut reg,
            &pn(1),
            &SetAnnounce {
                group: g.clone(),
                announce: true
            }
        ),
        Some(401)
    );

    let (_, n) = ok(
        &mut reg,
        &pn(0),
        &SetAnnounce {
            group: g.clone(),
            announce: true,
        },
    );
    assert_eq!(
        changes(&n).1.changes,
        [GroupChange::Announce {
            on: true,
            version_id: Some("2".into())
        }]
    );
    let (_, n) = ok(
        &mut reg,
        &pn(0),
        &SetEphemeral {
            group: g.clone(),
            timer: Some(604_800),
        },
    );
    assert_eq!(
        changes(&n).1.changes,
        [GroupChange::Ephemeral(Some(604_800))]
    );
    let (_, n) = ok(
        &mut reg,
        &pn(0),
        &SetJoinApproval {
            group: g.clone(),
            required: true,
        },
    );
    assert_eq!(changes(&n).1.changes, [GroupChange::JoinApproval(true)]);
    let (_, n) = ok(
        &mut reg,
        &pn(0),
        &SetMemberAddMode {
            group: g.clone(),
            mode: MemberAddMode::AdminAdd,
        },
    );
    assert_eq!(
        changes(&n).1.changes,
        [GroupChange::MemberAddMode(MemberAddMode::AdminAdd)]
    );

    // Descriptions: set, replace with the right prev, refuse a stale prev, delete.
    let desc = |text: &str, id: &str, prev: Option<&str>| SetDescription {
        group: g.clone(),
        text: text.into(),
        id: id.into(),
        prev: prev.map(str::to_owned),
    };
    let (_, n) = ok(&mut reg, &pn(0), &desc("Rules", "D1", None));
    assert_eq!(
        changes(&n).1.changes,
        [GroupChange::Description {
            text: Some("Rules".into()),
            id: "D1".into()
        }]
    );
    ok(&mut reg, &pn(0), &desc("Rules v2", "D2", Some("D1")));
    assert_eq!(
        code(&mut reg, &pn(0), &desc("Lost update", "D3", Some("D1"))),
        Some(409)
    );

    let (info, _) = ok(&mut reg, &pn(1), &GetGroupInfo { group: g.clone() });
    assert_eq!(info.subject, "Renamed");
    assert_eq!(info.subject_set_by, Some(lid(1)));
    assert!(info.locked && info.announce && info.join_approval_required);
    assert_eq!(info.announce_version_id.as_deref(), Some("2"));
    assert_eq!(info.ephemeral_timer, Some(604_800));
    assert_eq!(info.member_add_mode, Some(MemberAddMode::AdminAdd));
    let d = info.description.unwrap();
    assert_eq!(
        (d.text.as_str(), d.id.as_str(), d.set_by),
        ("Rules v2", "D2", Some(lid(0)))
    );

    let (_, n) = ok(&mut reg, &pn(0), &desc("", "D4", Some("D2")));
    assert_eq!(
        changes(&n).1.changes,
        [GroupChange::Description {
            text: None,
            id: "D4".into()
        }]
    );
    ok(
        &mut reg,
        &pn(0),
        &SetEphemeral {
            group: g.clone(),
            timer: None,
        },
    );
    ok(
        &mut reg,
        &pn(0),
        &SetLocked {
            group: g.clone(),
            locked: false,
        },
    );
    ok(
        &mut reg,
        &pn(0),
        &SetAnnounce {
            group: g.clone(),
            announce: false,
        },
    );
    ok(
        &mut reg,
        &pn(0),
        &SetJoinApproval {
            group: g.clone(),
            required: false,
        },
    );
    let (info, _) = ok(&mut reg, &pn(1), &GetGroupInfo { group: g.clone() });
    assert!(info.description.is_none() && info.ephemeral_timer.is_none());
    assert!(!info.locked && !info.announce && !info.join_approval_required);
}

#[test]
fn leaving_promotes_a_successor_and_empty_groups_vanish() {
    let mut reg = registry();
    let g = team(&mut reg);
    ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(g.clone(), ParticipantAction::Add, [pn(2)]),
    );

    // The only admin leaves: bob (longest member) is promoted in the same notification.
    let (_, n) = ok(&mut reg, &pn(0), &LeaveGroups::one(g.clone()));
    let (to, notif) = changes(&n);
    assert_eq!(to, sorted(vec![pn(0), pn(1), pn(2)]));
    assert_eq!(notif.actor, Some(lid(0)));
    match &notif.changes[..] {
        [GroupChange::Removed(r), GroupChange::Promoted(p)] => {
            assert_eq!(r.participants[0].lid, Some(lid(0)));
            assert_eq!(p.participants[0].lid, Some(lid(1)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(&mut reg, &pn(0), &GetGroupInfo { group: g.clone() }),
        Some(403)
    );
    assert_eq!(
        code(&mut reg, &pn(0), &LeaveGroups::one(g.clone())),
        Some(403)
    );
    let (info, _) = ok(&mut reg, &pn(2), &GetGroupInfo { group: g.clone() });
    assert!(info.participant(&pn(1)).unwrap().is_admin);

    ok(&mut reg, &pn(1), &LeaveGroups::one(g.clone()));
    ok(&mut reg, &pn(2), &LeaveGroups::one(g.clone()));
    assert!(reg.is_empty());
    assert_eq!(code(&mut reg, &pn(2), &LeaveGroups::one(g)), Some(404));
}

#[test]
fn announce_mode_limits_message_targets() {
    let mut reg = registry();
    let g = team(&mut reg);
    let everyone = vec![pn(0), pn(1)];
    assert_eq!(
        reg.message_targets(&g, &lid(1).with_device(2)).unwrap(),
        everyone
    );
    ok(
        &mut reg,
        &pn(0),
        &SetAnnounce {
            group: g.clone(),
            announce: true,
        },
    );
    let refused = reg.message_targets(&g, &pn(1)).unwrap_err();
    assert_eq!(refused, RegistryError::AdminsOnly);
    assert_eq!((refused.code(), refused.text()), (401, "not-authorized"));
    assert_eq!(reg.message_targets(&g, &pn(0)).unwrap(), everyone);
    assert_eq!(reg.message_targets(&g, &pn(2)).unwrap_err().code(), 403);
    let unknown = jid("1-2@g.us");
    assert_eq!(
        reg.message_targets(&unknown, &pn(0)).unwrap_err().code(),
        404
    );
    assert_eq!(
        reg.message_targets(&g, &jid("1@g.us")).unwrap_err().code(),
        403
    );
}

#[test]
fn participant_hash_covers_member_devices() {
    let mut reg = registry();
    let g = team(&mut reg);
    let devices = |m: &Member| {
        let user = m.user.jid_in(&wa_groups::AddressingMode::Lid);
        vec![user.clone(), user.with_device(3)]
    };
    let expected = wa_groups::participant_hash_v2(&[
        lid(0),
        lid(0).with_device(3),
        lid(1),
        lid(1).with_device(3),
    ]);
    let before = reg.participant_hash(&g, devices).unwrap();
    assert_eq!(before, expected);
    assert!(before.starts_with("2:") && before.len() == 10);
    ok(
        &mut reg,
        &pn(0),
        &UpdateParticipants::new(g.clone(), ParticipantAction::Add, [pn(2)]),
    );
    assert_ne!(reg.participant_hash(&g, devices).unwrap(), before);
    assert_eq!(
        reg.participant_hash(&jid("1-2@g.us"), devices),
        Err(RegistryError::NotFound)
    );
}

#[test]
fn malformed_requests_are_error_replies() {
    let mut reg = registry();
    let g = team(&mut reg);
    let iq = |to: Jid, kind: &str, body: Node| {
        Node::new("iq")
            .attr("id", "x")
            .attr("to", to)
            .attr("type", kind)
            .attr("xmlns", "w:g2")
            .child(body)
            .build()
    };
    let server = wa_groups::group_server();
    let cases = [
        (Node::new("iq").attr("id", "x").build(), 400),
        (
            iq(jid("1@s.whatsapp.net"), "get", Node::new("query").build()),
            400,
        ),
        (
            iq(server.clone(), "result", Node::new("create").build()),
            400,
        ),
        (
            iq(server.clone(), "set", Node::new("frobnicate").build()),
            501,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("subject").bytes(vec![0xff]).build(),
            ),
            400,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("add")
                    .child(Node::new("participant").build())
                    .build(),
            ),
            400,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("add")
                    .child(Node::new("participant").attr("jid", jid("5@g.us")).build())
                    .build(),
            ),
            400,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("ephemeral").attr("expiration", "soon").build(),
            ),
            400,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("member_add_mode")
                    .bytes(b"everyone".to_vec())
                    .build(),
            ),
            400,
        ),
        (
            iq(
                g.clone(),
                "set",
                Node::new("membership_approval_mode").build(),
            ),
            400,
        ),
        (iq(g.clone(), "set", Node::new("description").build()), 400),
        (iq(server.clone(), "set", Node::new("invite").build()), 400),
        (
            iq(
                server.clone(),
                "get",
                Node::new("invite").attr("code", "nope").build(),
            ),
            406,
        ),
        (
            iq(
                server,
                "set",
                Node::new("create")
                    .attr("subject", "S")
                    .child(Node::new("linked_parent").build())
                    .build(),
            ),
            400,
        ),
    ];
    for (req, expected) in cases {
        let out = reg.handle_iq(NOW, &pn(0), &req);
        let err = wa_groups::check_reply(&out.reply).unwrap_err();
        assert_eq!(err.server_code(), Some(expected), "{}", req.to_xml());
        assert!(out.notifications.is_empty());
    }
    let out = reg.handle_iq(NOW, &jid("1@g.us"), &GetGroupInfo { group: g }.build());
    assert_eq!(
        wa_groups::check_reply(&out.reply)
            .unwrap_err()
            .server_code(),
        Some(400)
    );
}
