//! Tests of the `w:gp2` notification parser.

use wa_binary::{Jid, Node};

use crate::notification::*;
use crate::{AddressingMode, GroupError, MemberAddMode};

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

fn notif(children: Vec<Node>) -> Node {
    Node::new("notification")
        .attr("from", jid("120363000000000001@g.us"))
        .attr("type", "w:gp2")
        .attr("id", "123456")
        .attr("participant", jid("100@lid"))
        .attr("participant_pn", jid("4915@s.whatsapp.net"))
        .attr("notify", "Alice")
        .attr("t", "1700000000")
        .children(children)
        .build()
}

fn one(change: Node) -> GroupChange {
    let n = parse_group_notification(&notif(vec![change])).unwrap();
    assert_eq!(n.changes.len(), 1);
    n.changes.into_iter().next().unwrap()
}

fn p(j: &str) -> Node {
    Node::new("participant").attr("jid", jid(j)).build()
}

#[test]
fn header_fields() {
    let n = parse_group_notification(&notif(vec![Node::new("locked").build()])).unwrap();
    assert_eq!(n.id.as_deref(), Some("123456"));
    assert_eq!(n.group, jid("120363000000000001@g.us"));
    assert_eq!(n.actor, Some(jid("100@lid")));
    assert_eq!(n.actor_pn, Some(jid("4915@s.whatsapp.net")));
    assert_eq!(n.notify.as_deref(), Some("Alice"));
    assert_eq!(n.timestamp, 1_700_000_000);
    assert_eq!(n.changes, [GroupChange::Locked(true)]);
}

#[test]
fn participant_changes_with_actor() {
    let add = Node::new("add")
        .attr("reason", "invite")
        .attr("v_id", "7")
        .attr("prev_v_id", "6")
        .child(
            Node::new("participant")
                .attr("jid", jid("200@lid"))
                .attr("phone_number", jid("4917@s.whatsapp.net"))
                .build(),
        )
        .child(p("201@s.whatsapp.net"))
        .build();
    let GroupChange::Added(c) = one(add) else {
        panic!("not an add")
    };
    assert_eq!(c.reason.as_deref(), Some("invite"));
    assert_eq!(
        (c.version_id.as_deref(), c.prev_version_id.as_deref()),
        (Some("7"), Some("6"))
    );
    assert_eq!(c.participants[0].lid, Some(jid("200@lid")));
    assert_eq!(
        c.participants[0].phone_number,
        Some(jid("4917@s.whatsapp.net"))
    );
    assert_eq!(
        c.participants[1].phone_number,
        Some(jid("201@s.whatsapp.net"))
    );
    for (tag, check) in [
        (
            "remove",
            (|c: &GroupChange| matches!(c, GroupChange::Removed(_))) as fn(&GroupChange) -> bool,
        ),
        ("leave", |c| matches!(c, GroupChange::Left(_))),
        ("promote", |c| matches!(c, GroupChange::Promoted(_))),
        ("demote", |c| matches!(c, GroupChange::Demoted(_))),
    ] {
        let change = one(Node::new(tag).child(p("300@lid")).build());
        assert!(check(&change), "{tag}: {change:?}");
    }
    assert_eq!(
        one(Node::new("modify").child(p("1@s.whatsapp.net")).build()),
        GroupChange::NumberChanged(vec![crate::ParticipantRef {
            jid: jid("1@s.whatsapp.net"),
            lid: None,
            phone_number: Some(jid("1@s.whatsapp.net")),
        }])
    );
}

#[test]
fn settings_changes() {
    assert_eq!(
        one(Node::new("subject")
            .attr("subject", "New name")
            .attr("s_t", "1700000001")
            .attr("s_o", jid("100@lid"))
            .attr("s_o_pn", jid("4915@s.whatsapp.net"))
            .build()),
        GroupChange::Subject {
            subject: "New name".into(),
            set_at: 1_700_000_001,
            set_by: Some(jid("100@lid")),
            set_by_pn: Some(jid("4915@s.whatsapp.net")),
        }
    );
    assert_eq!(
        one(Node::new("description")
            .attr("id", "D2")
            .child(Node::new("body").bytes(b"Rules".to_vec()).build())
            .build()),
        GroupChange::Description {
            text: Some("Rules".into()),
            id: "D2".into()
        }
    );
    assert_eq!(
        one(Node::new("description")
            .attr("id", "D3")
            .child(Node::new("delete").build())
            .build()),
        GroupChange::Description {
            text: None,
            id: "D3".into()
        }
    );
    assert_eq!(
        one(Node::new("announcement").attr("v_id", "9").build()),
        GroupChange::Announce {
            on: true,
            version_id: Some("9".into())
        }
    );
    assert_eq!(
        one(Node::new("not_announcement").build()),
        GroupChange::Announce {
            on: false,
            version_id: None
        }
    );
    assert_eq!(
        one(Node::new("unlocked").build()),
        GroupChange::Locked(false)
    );
    assert_eq!(
        one(Node::new("ephemeral").attr("expiration", "86400").build()),
        GroupChange::Ephemeral(Some(86_400))
    );
    assert_eq!(
        one(Node::new("not_ephemeral").build()),
        GroupChange::Ephemeral(None)
    );
    assert_eq!(
        one(Node::new("member_add_mode")
            .bytes(b"all_member_add".to_vec())
            .build()),
        GroupChange::MemberAddMode(MemberAddMode::AllMemberAdd)
    );
    assert_eq!(
        one(Node::new("membership_approval_mode")
            .child(Node::new("group_join").attr("state", "off").build())
            .build()),
        GroupChange::JoinApproval(false)
    );
    assert_eq!(
        one(Node::new("membership_approval_mode")
            .child(Node::new("group_join").attr("state", "on").build())
            .build()),
        GroupChange::JoinApproval(true)
    );
    assert_eq!(
        one(Node::new("invite").attr("code", "NEWCODE").build()),
        GroupChange::InviteReset {
            code: "NEWCODE".into()
        }
    );
    assert_eq!(
        one(Node::new("delete").attr("reason", "delete").build()),
        GroupChange::Deleted {
            reason: Some("delete".into())
        }
    );
    assert_eq!(one(Node::new("suspended").build()), GroupChange::Suspended);
    assert_eq!(
        one(Node::new("unsuspended").build()),
        GroupChange::Unsuspended
    );
    let unknown = Node::new("future_thing").attr("x", "1").build();
    assert_eq!(one(unknown.clone()), GroupChange::Unknown(unknown));
}

#[test]
fn community_changes_and_requests() {
    let link = one(Node::new("link")
        .attr("link_type", "sub_group")
        .child(
            Node::new("group")
                .attr("jid", jid("2@g.us"))
                .attr("subject", "Sub")
                .build(),
        )
        .build());
    let GroupChange::Linked { link_type, group } = link else {
        panic!("not a link")
    };
    assert_eq!(link_type, LinkType::SubGroup);
    assert_eq!(group.jid, jid("2@g.us"));
    assert_eq!(group.subject.as_deref(), Some("Sub"));
    let unlink = one(Node::new("unlink")
        .attr("unlink_type", "parent_group")
        .attr("unlink_reason", "delete_parent")
        .child(Node::new("group").attr("id", "3").build())
        .build());
    assert_eq!(
        unlink,
        GroupChange::Unlinked {
            link_type: LinkType::Parent,
            reason: Some("delete_parent".into()),
            group: crate::GroupLinkTarget {
                jid: jid("3@g.us"),
                subject: None,
                subject_set_at: None,
                is_default_sub_group: false,
            },
        }
    );
    let created = one(Node::new("created_membership_requests")
        .attr("request_method", "invite_link")
        .child(p("400@lid"))
        .build());
    assert!(matches!(
        created,
        GroupChange::JoinRequestCreated { ref participants, method: Some(ref m) }
            if m == "invite_link" && participants.len() == 1
    ));
    assert!(matches!(
        one(Node::new("revoked_membership_requests")
            .child(p("400@lid"))
            .build()),
        GroupChange::JoinRequestRevoked { .. }
    ));
}

#[test]
fn create_notification() {
    let node = Node::new("notification")
        .attr("from", jid("5-6@g.us"))
        .attr("type", "w:gp2")
        .attr("t", "1700000000")
        .attr("participant", jid("100@lid"))
        .attr("addressing_mode", "lid")
        .child(
            Node::new("create")
                .attr("reason", "invite")
                .attr("key", "KEY1")
                .attr("type", "new")
                .child(
                    Node::new("group")
                        .attr("id", "5-6")
                        .attr("subject", "Fresh")
                        .attr("creation", "1700000000")
                        .child(
                            Node::new("participant")
                                .attr("jid", jid("100@lid"))
                                .attr("type", "superadmin")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build();
    let n = parse_group_notification(&node).unwrap();
    let [
        GroupChange::Created {
            info,
            reason,
            key,
            kind,
        },
    ] = n.changes.as_slice()
    else {
        panic!("{:?}", n.changes)
    };
    assert_eq!(info.jid, jid("5-6@g.us"));
    assert_eq!(info.subject, "Fresh");
    assert_eq!(info.addressing_mode, Some(AddressingMode::Lid));
    assert_eq!(
        (reason.as_deref(), key.as_deref(), kind.as_deref()),
        (Some("invite"), Some("KEY1"), Some("new"))
    );
}

#[test]
fn malformed_notifications_are_typed_errors() {
    assert!(matches!(
        parse_group_notification(&Node::new("message").build()),
        Err(GroupError::NotGroupNotification(_))
    ));
    let other_type = Node::new("notification").attr("type", "devices").build();
    assert!(matches!(
        parse_group_notification(&other_type),
        Err(GroupError::NotGroupNotification(_))
    ));
    let no_t = Node::new("notification")
        .attr("type", "w:gp2")
        .attr("from", jid("1@g.us"))
        .build();
    assert!(matches!(
        parse_group_notification(&no_t),
        Err(GroupError::Attrs { .. })
    ));
    let not_group = Node::new("notification")
        .attr("type", "w:gp2")
        .attr("from", jid("1@s.whatsapp.net"))
        .attr("t", "1")
        .build();
    assert!(matches!(
        parse_group_notification(&not_group),
        Err(GroupError::BadContent { .. })
    ));
    let bad_children = [
        Node::new("subject").attr("subject", "x").build(),
        Node::new("description").attr("id", "x").build(),
        Node::new("description")
            .attr("id", "x")
            .child(Node::new("body").bytes(vec![0xff, 0xfe]).build())
            .build(),
        Node::new("ephemeral").attr("expiration", "-1").build(),
        Node::new("invite").build(),
        Node::new("link").attr("link_type", "sub_group").build(),
        Node::new("unlink")
            .child(Node::new("group").attr("id", "1").build())
            .build(),
        Node::new("add")
            .child(Node::new("participant").build())
            .build(),
        Node::new("create").build(),
        Node::new("member_add_mode")
            .child(Node::new("x").build())
            .build(),
    ];
    for c in bad_children {
        assert!(
            parse_group_notification(&notif(vec![c.clone()])).is_err(),
            "{}",
            c.to_xml()
        );
    }
}
