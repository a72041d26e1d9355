//! Random request sequences against `groups::GroupRegistry`: thousands of requests built with
//! `wa_groups` builders (valid, out of order, by the wrong users, and mangled) must never
//! panic, every reply must be a well-formed answer, every notification must parse, and the
//! registry's invariants must hold after every step.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use wa_binary::{Jid, Node};
use wa_groups::{
    AcceptInvite, CreateGroup, GetGroupFromInvite, GetGroupFromLink, GetGroupInfo, GetInviteCode,
    GetJoinRequests, GetJoinedGroups, GetLinkedGroupsParticipants, GetSubGroups, GroupChange,
    Invite, IqRequest, JoinRequestAction, JoinWithLink, LeaveGroups, LinkGroups, MemberAddMode,
    ParticipantAction, RevokeInvites, SetAnnounce, SetDescription, SetEphemeral, SetJoinApproval,
    SetLocked, SetMemberAddMode, SetSubject, UnlinkGroups, UpdateJoinRequests, UpdateParticipants,
    check_reply, parse_group_notification,
};
use wa_testserver::groups::{GroupRegistry, RegistryError, Role};

const ALLOWED_CODES: [u16; 8] = [400, 401, 403, 404, 406, 409, 410, 501];

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

/// A generated request and the check of its reply (returning the groups it names).
type Generated = (Node, Box<dyn Fn(&Node) -> Vec<Jid>>);

struct World {
    rng: ChaCha8Rng,
    reg: GroupRegistry,
    users: Vec<Jid>,
    groups: Vec<Jid>,
    codes: Vec<String>,
    invites: Vec<(Jid, Invite)>,
    now: u64,
    /// The kinds of change seen in notifications.
    seen: std::collections::BTreeSet<String>,
    /// A requester the last generated request wants (an admin), used half of the time.
    prefer: Option<Jid>,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut reg = GroupRegistry::new();
        if seed.is_multiple_of(3) {
            reg.set_default_addressing(wa_groups::AddressingMode::Pn);
        }
        let mut users = Vec::new();
        for i in 1..=4u64 {
            let pn = jid(&format!("1555000000{i}@s.whatsapp.net"));
            let lid = jid(&format!("90000000000{i}@lid"));
            reg.register_user(&pn, &lid);
            users.push(pn);
            users.push(lid);
        }
        // Known in one form only, and one whose adds are refused with an invite.
        users.push(jid("4400000009@s.whatsapp.net"));
        users.push(jid("880000000009@lid"));
        reg.set_invite_only(&jid("15550000004@s.whatsapp.net"), true);
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            reg,
            users,
            groups: vec![jid("120363999999999999@g.us")],
            codes: vec!["bogus".into()],
            invites: Vec::new(),
            now: 1_700_000_000,
            seen: std::collections::BTreeSet::new(),
            prefer: None,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u32() as usize) % n.max(1)
    }

    fn coin(&mut self) -> bool {
        self.rng.next_u32() & 1 == 1
    }

    fn user(&mut self) -> Jid {
        let i = self.below(self.users.len());
        self.users[i].clone()
    }

    fn users(&mut self) -> Vec<Jid> {
        let n = self.below(4);
        (0..n).map(|_| self.user()).collect()
    }

    /// An admin of `group`, if it exists.
    fn admin_of(&self, group: &Jid) -> Option<Jid> {
        let members = self.reg.members(group).ok()?;
        members
            .iter()
            .find(|m| m.role.is_admin())
            .map(|m| m.user.user())
    }

    fn group(&mut self) -> Jid {
        let i = self.below(self.groups.len());
        self.groups[i].clone()
    }

    fn subject(&mut self) -> String {
        match self.below(6) {
            0 => String::new(),
            1 => "x".repeat(90 + self.below(20)),
            2 => "ünïcödé ✓".into(),
            _ => format!("Group {}", self.below(1000)),
        }
    }

    /// One random request as (stanza, parser check).
    fn request(&mut self) -> Generated {
        fn boxed<R: IqRequest + 'static>(r: R) -> Generated
        where
            R::Response: std::fmt::Debug,
        {
            let node = r.build();
            (
                node,
                Box::new(move |reply| {
                    // Parsing our own reply must not fail except as a server refusal.
                    match r.parse(reply) {
                        Ok(resp) => found_groups(&format!("{resp:?}")),
                        Err(e) => {
                            assert!(
                                e.server_code().is_some(),
                                "unparseable reply: {e} in {}",
                                reply.to_xml()
                            );
                            Vec::new()
                        }
                    }
                }),
            )
        }
        let g = self.group();
        self.prefer = self.admin_of(&g);
        match self.below(24) {
            0 | 1 => {
                let mut req = CreateGroup::new(self.subject());
                for p in self.users() {
                    req = req.participant(p);
                }
                req = req
                    .locked(self.coin())
                    .announce(self.coin())
                    .join_approval(self.coin());
                if self.coin() {
                    req = req.ephemeral(Some(86_400));
                }
                match self.below(4) {
                    0 => req = req.community(),
                    1 => req = req.in_community(g),
                    _ => {}
                }
                if self.coin() {
                    req = req.member_add_mode(MemberAddMode::AdminAdd);
                }
                boxed(req)
            }
            2 => boxed(GetGroupInfo { group: g }),
            3 => boxed(GetJoinedGroups),
            4..=6 => {
                let action = [
                    ParticipantAction::Add,
                    ParticipantAction::Remove,
                    ParticipantAction::Promote,
                    ParticipantAction::Demote,
                ][self.below(4)];
                boxed(UpdateParticipants::new(g, action, self.users()))
            }
            7 => {
                let n = 1 + self.below(2);
                let groups = (0..n).map(|_| self.group()).collect();
                boxed(LeaveGroups { groups })
            }
            8 => boxed(SetSubject {
                group: g,
                subject: self.subject(),
            }),
            9 => {
                let prev = [
                    None,
                    Some("D1".to_owned()),
                    Some(format!("D{}", self.below(9))),
                ][self.below(3)]
                .clone();
                let text = if self.coin() {
                    String::new()
                } else {
                    self.subject()
                };
                boxed(SetDescription {
                    group: g,
                    text,
                    id: format!("D{}", self.below(9)),
                    prev,
                })
            }
            10 => boxed(SetAnnounce {
                group: g,
                announce: self.coin(),
            }),
            11 => boxed(SetLocked {
                group: g,
                locked: self.coin(),
            }),
            12 => boxed(SetMemberAddMode {
                group: g,
                mode: if self.coin() {
                    MemberAddMode::AdminAdd
                } else {
                    MemberAddMode::AllMemberAdd
                },
            }),
            13 => boxed(SetEphemeral {
                group: g,
                timer: [None, Some(0), Some(86_400)][self.below(3)],
            }),
            14 => boxed(SetJoinApproval {
                group: g,
                required: self.coin(),
            }),
            15 => boxed(GetInviteCode {
                group: g,
                reset: self.coin(),
            }),
            16 => {
                let i = self.below(self.codes.len());
                let code = self.codes[i].clone();
                if self.coin() {
                    boxed(JoinWithLink { code })
                } else {
                    boxed(GetGroupFromLink { code })
                }
            }
            17 => boxed(GetJoinRequests { group: g }),
            18 => {
                let action = if self.coin() {
                    JoinRequestAction::Approve
                } else {
                    JoinRequestAction::Reject
                };
                self.prefer = self.admin_of(&g);
                let participants = if self.coin() {
                    self.users.clone()
                } else {
                    self.users()
                };
                boxed(UpdateJoinRequests {
                    group: g,
                    action,
                    participants,
                })
            }
            19 if !self.invites.is_empty() => {
                let i = self.below(self.invites.len());
                let (_, inv) = self.invites[i].clone();
                match self.below(3) {
                    0 => boxed(AcceptInvite(inv)),
                    1 => boxed(GetGroupFromInvite(inv)),
                    _ => boxed(RevokeInvites {
                        group: inv.group,
                        invited: vec![self.user()],
                    }),
                }
            }
            20 => {
                let sub = self.group();
                if self.coin() {
                    boxed(LinkGroups {
                        community: g,
                        groups: vec![sub],
                    })
                } else {
                    // Unlink a group that is linked, as an admin of its community, most of the time.
                    let parent = self
                        .reg
                        .group_node(&sub)
                        .ok()
                        .filter(|n| n.child("default_sub_group").is_none())
                        .and_then(|n| {
                            n.child("linked_parent")
                                .and_then(|p| p.attr("jid"))
                                .and_then(|v| v.as_jid())
                                .cloned()
                        });
                    let community = match parent {
                        Some(p) if self.below(4) != 0 => p,
                        _ => g,
                    };
                    self.prefer = self.admin_of(&community);
                    boxed(UnlinkGroups {
                        community,
                        groups: vec![sub],
                    })
                }
            }
            21 => boxed(GetSubGroups { community: g }),
            22 => boxed(GetLinkedGroupsParticipants { community: g }),
            _ => {
                let (mut node, _) = self.request();
                self.mangle(&mut node, 0);
                (node, Box::new(|_| Vec::new()))
            }
        }
    }

    /// Drops or garbles attributes and children at random.
    fn mangle(&mut self, node: &mut Node, depth: usize) {
        let keys: Vec<String> = node.attrs.iter().map(|(k, _)| k.to_owned()).collect();
        for k in keys {
            match self.below(6) {
                0 => {
                    node.attrs.remove(&k);
                }
                1 => node.attrs.insert(k, "@@garbage"),
                2 => node.attrs.insert(k, jid("1@s.whatsapp.net")),
                _ => {}
            }
        }
        if let wa_binary::Content::Nodes(children) = &mut node.content {
            if !children.is_empty() && self.below(4) == 0 {
                let i = self.below(children.len());
                children.remove(i);
            }
            if depth < 4 {
                for c in children.iter_mut() {
                    self.mangle(c, depth + 1);
                }
            }
        } else if self.below(5) == 0 {
            node.content = wa_binary::Content::Bytes(vec![0xff, 0xfe]);
        }
    }

    fn step(&mut self, i: usize) {
        self.prefer = None;
        let (mut iq, check) = self.request();
        let who = match self.prefer.take() {
            Some(admin) if self.coin() => admin,
            _ => self.user(),
        };
        let id = format!("r{i}");
        iq.attrs.insert("id", id.as_str());
        self.now += self.below(100) as u64;
        // Through the binary codec, as a client's stanza arrives (JID-looking strings become
        // JIDs); values the wire cannot hold are sent as built.
        if let Ok(wire) = wa_binary::try_marshal(&iq) {
            iq = wa_binary::decode_frame(&wire).expect("own encoding decodes");
        }
        let out = self.reg.handle_iq(self.now, &who, &iq);
        assert_eq!(out.reply.tag.as_str(), "iq");
        assert_eq!(
            out.reply.attr("id").and_then(|v| v.as_str()),
            Some(id.as_str())
        );
        match check_reply(&out.reply) {
            Ok(_) => {}
            Err(e) => {
                let code = e.server_code().expect("an error reply with a code");
                assert!(ALLOWED_CODES.contains(&code), "code {code}");
                assert!(out.notifications.is_empty(), "refusals notify nobody");
            }
        }
        // The client parses what it decodes from the wire.
        let reply = round_trip(&out.reply);
        assert_eq!(check_reply(&reply).is_ok(), check_reply(&out.reply).is_ok());
        for g in check(&reply) {
            if !self.groups.contains(&g) {
                self.groups.push(g);
            }
        }
        if let Some(code) = out
            .reply
            .child("invite")
            .and_then(|n| n.attr("code"))
            .and_then(|v| v.as_str())
        {
            self.codes.push(code.to_owned());
        }
        for (to, n) in &out.notifications {
            assert!(matches!(
                to.server(),
                wa_binary::Server::User | wa_binary::Server::Lid
            ));
            let parsed =
                parse_group_notification(n).unwrap_or_else(|e| panic!("{e}: {}", n.to_xml()));
            let decoded = parse_group_notification(&round_trip(n));
            assert_eq!(decoded.ok().as_ref(), Some(&parsed), "{}", n.to_xml());
            for c in &parsed.changes {
                let kind = format!("{c:?}");
                let kind = kind
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                self.seen.insert(kind);
                if let GroupChange::Created { info, .. } = c
                    && !self.groups.contains(&info.jid)
                {
                    self.groups.push(info.jid.clone());
                }
                assert!(!matches!(c, GroupChange::Unknown(_)), "{}", n.to_xml());
            }
        }
        self.collect_invites(&iq, &out.reply);
        self.check_invariants();
    }

    /// Remembers v4 invites from `<participant error=403><add_request/>` in replies.
    fn collect_invites(&mut self, iq: &Node, reply: &Node) {
        let group = iq
            .attr("to")
            .and_then(|v| v.as_jid())
            .cloned()
            .filter(|g| !g.user().is_empty())
            .or_else(|| {
                reply
                    .child("group")
                    .and_then(|g| g.attr("id"))
                    .and_then(|v| v.as_str())
                    .map(|id| Jid::new(id.to_owned(), wa_binary::Server::Group))
            });
        let Some(group) = group else { return };
        let holders = [reply.child("add"), reply.child("group")];
        for holder in holders.into_iter().flatten() {
            for p in holder.children_by_tag("participant") {
                if let Some(req) = p.child("add_request") {
                    let code = req
                        .attr("code")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    let expiration = req
                        .attr("expiration")
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let invited = p
                        .attr("jid")
                        .and_then(|v| v.as_jid())
                        .cloned()
                        .unwrap_or_default();
                    let inviter = self.users[0].clone();
                    self.invites.push((
                        invited,
                        Invite {
                            group: group.clone(),
                            inviter,
                            code,
                            expiration,
                        },
                    ));
                }
            }
        }
    }

    fn check_invariants(&self) {
        for g in &self.groups {
            let members = match self.reg.members(g) {
                Ok(m) => m,
                Err(e) => {
                    assert_eq!(e, RegistryError::NotFound);
                    continue;
                }
            };
            assert!(!members.is_empty(), "an empty group is deleted");
            assert!(
                members.iter().any(|m| m.role.is_admin()),
                "{g} has no admin"
            );
            assert!(
                members
                    .iter()
                    .filter(|m| m.role == Role::SuperAdmin)
                    .count()
                    <= 1
            );
            for (i, a) in members.iter().enumerate() {
                assert!(a.user.pn.is_some() || a.user.lid.is_some());
                for b in &members[i + 1..] {
                    assert!(!a.user.same(&b.user), "{g} lists a member twice");
                }
                match self.reg.message_targets(g, &a.user.user()) {
                    Ok(t) => assert_eq!(t.len(), members.len()),
                    Err(e) => assert_eq!(e, RegistryError::AdminsOnly),
                }
            }
            let phash = self
                .reg
                .participant_hash(g, |m| vec![m.user.user()])
                .unwrap();
            assert!(phash.starts_with("2:"));
        }
    }
}

/// `node` encoded and decoded as the client would receive it.
fn round_trip(node: &Node) -> Node {
    wa_binary::decode_frame(&wa_binary::marshal(node)).expect("server stanzas decode")
}

/// Group JIDs mentioned in a debug-printed response (new groups from create replies).
fn found_groups(debug: &str) -> Vec<Jid> {
    debug
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '@' || c == '.' || c == '-'))
        .filter(|w| w.ends_with("@g.us"))
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn random_request_sequences_never_panic_and_keep_invariants() {
    let mut requests = 0;
    for seed in 0..300 {
        let mut w = World::new(seed);
        for i in 0..80 {
            w.step(i);
            requests += 1;
        }
    }
    assert_eq!(requests, 24_000);
}

#[test]
fn random_sequences_do_reach_deep_states() {
    // The generator is not vacuous: across seeds, every kind of change is made and notified.
    let mut seen = std::collections::BTreeSet::new();
    let mut created = 0;
    for seed in 0..300 {
        let mut w = World::new(seed);
        for i in 0..80 {
            w.step(i);
        }
        created += w.groups.len() - 1;
        seen.extend(w.seen);
    }
    assert!(created > 100, "{created}");
    let expected = [
        "Created",
        "Added",
        "Removed",
        "Promoted",
        "Demoted",
        "Subject",
        "Description",
        "Announce",
        "Locked",
        "Ephemeral",
        "MemberAddMode",
        "JoinApproval",
        "InviteReset",
        "Linked",
        "Unlinked",
        "JoinRequestCreated",
        "JoinRequestRevoked",
    ];
    for kind in expected {
        assert!(seen.contains(kind), "{kind} never happened; saw {seen:?}");
    }
}
