//! Property test: every reply parser and the notification parser return `Ok` or a typed error
//! for arbitrary node trees built from the vocabulary of group stanzas; none panics.

use proptest::prelude::*;
use wa_binary::{Jid, Node};

const TAGS: &[&str] = &[
    "iq",
    "error",
    "group",
    "groups",
    "participant",
    "description",
    "body",
    "announcement",
    "locked",
    "ephemeral",
    "member_add_mode",
    "linked_parent",
    "default_sub_group",
    "parent",
    "membership_approval_mode",
    "group_join",
    "add",
    "remove",
    "promote",
    "demote",
    "leave",
    "add_request",
    "invite",
    "membership_approval_request",
    "membership_approval_requests",
    "membership_requests_action",
    "approve",
    "reject",
    "sub_groups",
    "linked_groups_participants",
    "notification",
    "create",
    "subject",
    "link",
    "unlink",
    "delete",
    "not_ephemeral",
    "modify",
    "created_membership_requests",
    "revoked_membership_requests",
    "incognito",
    "suspended",
];

const KEYS: &[&str] = &[
    "type",
    "code",
    "text",
    "id",
    "jid",
    "lid",
    "phone_number",
    "error",
    "expiration",
    "subject",
    "s_t",
    "s_o",
    "creation",
    "creator",
    "size",
    "addressing_mode",
    "t",
    "from",
    "participant",
    "request_time",
    "link_type",
    "unlink_type",
    "state",
    "v_id",
    "reason",
    "display_name",
];

const VALUES: &[&str] = &[
    "result",
    "error",
    "w:gp2",
    "1-2@g.us",
    "1-2",
    "5@lid",
    "7@s.whatsapp.net",
    "403",
    "200",
    "-1",
    "99999999999999999999",
    "",
    "@",
    "a@b@c",
    "on",
    "off",
    "true",
    "superadmin",
    "admin",
    "sub_group",
    "lid",
    "pn",
    "1700000000",
    "\u{0}",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(VALUES).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Node> {
    (
        proptest::sample::select(TAGS),
        proptest::collection::vec(
            (proptest::sample::select(KEYS), value(), any::<bool>()),
            0..5,
        ),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(tag, attrs, bytes)| {
            let mut b = Node::new(tag);
            for (k, v, as_jid) in attrs {
                b = match (as_jid, v.parse::<Jid>()) {
                    (true, Ok(j)) => b.attr(k, j),
                    _ => b.attr(k, v),
                };
            }
            if let Some(bytes) = bytes {
                b = b.bytes(bytes);
            }
            b.build()
        })
}

fn tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        (leaf(), proptest::collection::vec(inner, 0..6)).prop_map(|(mut n, kids)| {
            n.content = wa_binary::Content::Nodes(kids);
            n
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsers_never_panic(node in tree()) {
        // Bare, as a result reply and as a group notification, to reach deeper code.
        wa_groups::fuzzing::run_every_parser_wrapped(&node);
    }
}
