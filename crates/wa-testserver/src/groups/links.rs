//! Invite links, v4 invites, join requests and communities.

use wa_binary::{Jid, Node};

use super::manage::announce_joins;
use super::model::{Group, JoinRequest, Member, Role, UserRef};
use super::{GroupRegistry, Outbox, RegistryError, admin_in, attr_group, attr_str, notification};

impl GroupRegistry {
    /// Adds `user` to `group` (no-op when already a member) with an `<add reason>` notification
    /// by `actor`, clearing their join request and invites; a linked sub-group also makes them a
    /// community member.
    fn admit(
        &mut self,
        now: u64,
        actor: &UserRef,
        group: &Jid,
        user: &UserRef,
        reason: Option<&str>,
        out: &mut Outbox,
    ) -> Result<(), RegistryError> {
        let g = self
            .groups
            .get_mut(&group.to_non_ad())
            .ok_or(RegistryError::NotFound)?;
        if g.member(user).is_some() {
            return Ok(());
        }
        g.pending.retain(|r| !r.user.same(user));
        g.invites.retain(|i| !i.invited.same(user));
        g.members.push(Member {
            user: user.clone(),
            role: Role::Member,
        });
        let newcomer = std::slice::from_ref(user);
        announce_joins(&mut self.shared, now, g, Some(actor), reason, newcomer, out);
        if let Some(parent) = g.linked_parent.clone() {
            self.join_community(now, &parent, std::slice::from_ref(user), out);
        }
        Ok(())
    }

    /// Makes `users` (new members of a sub-group) members of the community `parent` and of its
    /// announcement group, notified with reason `linked_group_join`.
    pub(super) fn join_community(
        &mut self,
        now: u64,
        parent: &Jid,
        users: &[UserRef],
        out: &mut Outbox,
    ) {
        let announcement = self
            .groups
            .values()
            .find(|g| g.default_sub_group && g.linked_parent.as_ref() == Some(parent))
            .map(|g| g.jid.clone());
        for target in std::iter::once(parent.clone()).chain(announcement) {
            let Some(g) = self.groups.get_mut(&target) else {
                continue;
            };
            let new: Vec<UserRef> = users
                .iter()
                .filter(|u| g.member(u).is_none())
                .cloned()
                .collect();
            if new.is_empty() {
                continue;
            }
            g.members.extend(new.iter().map(|u| Member {
                user: u.clone(),
                role: Role::Member,
            }));
            let reason = Some("linked_group_join");
            announce_joins(&mut self.shared, now, g, None, reason, &new, out);
        }
    }

    /// Creates a community's announcement group (same subject and members, announce mode).
    pub(super) fn create_announcement_group(
        &mut self,
        now: u64,
        who: &UserRef,
        community: &Jid,
        members: Vec<Member>,
        out: &mut Outbox,
    ) {
        let Some(parent) = self.groups.get(community) else {
            return;
        };
        let g = Group {
            jid: self.shared.group_jid(),
            subject: parent.subject.clone(),
            subject_by: who.clone(),
            subject_at: now,
            creator: who.clone(),
            created_at: now,
            description: None,
            announce: true,
            locked: true,
            member_add_mode: wa_groups::MemberAddMode::AdminAdd,
            ephemeral: None,
            join_approval: false,
            pending: Vec::new(),
            invites: Vec::new(),
            invite_code: None,
            addressing: parent.addressing.clone(),
            members,
            participant_version: 1,
            announce_version: 1,
            community: None,
            linked_parent: Some(community.clone()),
            default_sub_group: true,
        };
        let create = Node::new("create")
            .attr("type", "sub_group")
            .child(g.to_node(true))
            .build();
        let n = notification(self.shared.stanza_id(), now, &g, Some(who), vec![create]);
        out.send(g.users(), &n);
        self.groups.insert(g.jid.clone(), g);
    }

    /// Tells the community's members that `sub` was linked, and `sub`'s members that it now
    /// has a parent; `sub`'s members join the community.
    pub(super) fn announce_link(
        &mut self,
        now: u64,
        actor: &UserRef,
        parent: &Jid,
        sub: &Jid,
        out: &mut Outbox,
    ) {
        let (Some(p), Some(s)) = (self.groups.get(parent), self.groups.get(sub)) else {
            return;
        };
        let to_parent = Node::new("link")
            .attr("link_type", "sub_group")
            .child(s.link_target())
            .build();
        let n = notification(
            self.shared.stanza_id(),
            now,
            p,
            Some(actor),
            vec![to_parent],
        );
        out.send(p.users(), &n);
        let to_sub = Node::new("link")
            .attr("link_type", "parent_group")
            .child(p.link_target())
            .build();
        let n = notification(self.shared.stanza_id(), now, s, Some(actor), vec![to_sub]);
        out.send(s.users(), &n);
        let members: Vec<UserRef> = s.members.iter().map(|m| m.user.clone()).collect();
        self.join_community(now, parent, &members, out);
    }

    /// The group behind a live invite code.
    fn by_code(&self, body: &Node) -> Result<Jid, RegistryError> {
        let code = attr_str(body, "code")
            .filter(|c| !c.is_empty())
            .ok_or(RegistryError::BadRequest("invite without code"))?;
        let code = wa_groups::invite_code(code);
        if self.shared.revoked.contains(code) {
            return Err(RegistryError::Gone);
        }
        self.shared
            .codes
            .get(code)
            .cloned()
            .ok_or(RegistryError::NotAcceptable("unknown invite code"))
    }

    pub(super) fn link_info(&self, body: &Node) -> Result<Vec<Node>, RegistryError> {
        let g = self.get(&self.by_code(body)?)?;
        Ok(vec![g.to_node(true)])
    }

    pub(super) fn join_link(
        &mut self,
        now: u64,
        who: &UserRef,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let gj = self.by_code(body)?;
        let g = self.groups.get_mut(&gj).ok_or(RegistryError::NotFound)?;
        if g.member(who).is_some() {
            return Err(RegistryError::Conflict("already a member"));
        }
        if g.join_approval {
            if !g.pending.iter().any(|r| r.user.same(who)) {
                g.pending.push(JoinRequest {
                    user: who.clone(),
                    at: now,
                });
                let change = Node::new("created_membership_requests")
                    .attr("request_method", "invite_link")
                    .child(g.participant(who))
                    .build();
                let n = notification(self.shared.stanza_id(), now, g, Some(who), vec![change]);
                let mut to: Vec<Jid> = admins(g);
                to.push(who.user());
                out.send(to, &n);
            }
            return Ok(vec![
                Node::new("membership_approval_request")
                    .attr("jid", &gj)
                    .build(),
            ]);
        }
        self.admit(now, who, &gj, who, Some("invite"), out)?;
        Ok(vec![Node::new("group").attr("jid", &gj).build()])
    }

    pub(super) fn invite_code(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        reset: bool,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let g = admin_in(&mut self.groups, who, group)?;
        let old = g.invite_code.clone();
        let code = match (&old, reset) {
            (Some(c), false) => c.clone(),
            _ => {
                let c = self.shared.code(&g.jid);
                g.invite_code = Some(c.clone());
                self.shared.codes.insert(c.clone(), g.jid.clone());
                c
            }
        };
        if let (Some(old), true) = (old, reset) {
            self.shared.codes.remove(&old);
            self.shared.revoked.insert(old);
            let change = Node::new("invite").attr("code", code.as_str()).build();
            self.broadcast(now, who, group, vec![change], out);
        }
        Ok(vec![Node::new("invite").attr("code", code).build()])
    }

    /// The v4 invite of `who` to `group` matching `<… code expiration admin>`.
    fn find_v4(
        &self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        req: &Node,
    ) -> Result<(), RegistryError> {
        let g = self.get(group)?;
        let code = attr_str(req, "code").ok_or(RegistryError::BadRequest("invite without code"))?;
        let inv = g
            .invites
            .iter()
            .find(|i| i.code == code && i.invited.same(who))
            .ok_or(RegistryError::NotAcceptable("unknown invite"))?;
        if inv.expiration < now {
            return Err(RegistryError::Gone);
        }
        Ok(())
    }

    pub(super) fn invite_v4_info(
        &self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
    ) -> Result<Vec<Node>, RegistryError> {
        let req = body
            .child("add_request")
            .ok_or(RegistryError::BadRequest("query without add_request"))?;
        self.find_v4(now, who, group, req)?;
        Ok(vec![self.get(group)?.to_node(true)])
    }

    pub(super) fn accept_v4(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        self.find_v4(now, who, group, body)?;
        self.admit(now, who, group, who, Some("invite"), out)?;
        Ok(Vec::new())
    }

    pub(super) fn revoke_v4(
        &mut self,
        who: &UserRef,
        group: &Jid,
        body: &Node,
    ) -> Result<Vec<Node>, RegistryError> {
        let targets = body
            .children_by_tag("participant")
            .map(|p| self.participant_ref(p))
            .collect::<Result<Vec<_>, _>>()?;
        let g = self.admin_of(who, group)?;
        g.invites
            .retain(|i| !targets.iter().any(|t| t.same(&i.invited)));
        Ok(Vec::new())
    }

    pub(super) fn join_requests(
        &mut self,
        who: &UserRef,
        group: &Jid,
    ) -> Result<Vec<Node>, RegistryError> {
        let g = self.admin_of(who, group)?;
        let mode = g.addressing.clone();
        let list = g.pending.iter().map(|r| {
            Node::new("membership_approval_request")
                .attr("jid", r.user.jid_in(&mode))
                .attr("request_time", r.at)
                .build()
        });
        Ok(vec![
            Node::new("membership_approval_requests")
                .children(list)
                .build(),
        ])
    }

    pub(super) fn act_on_requests(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let action = body
            .children()
            .first()
            .filter(|a| matches!(a.tag.as_str(), "approve" | "reject"))
            .ok_or(RegistryError::BadRequest("expected approve or reject"))?;
        let approve = action.tag.as_str() == "approve";
        let targets = action
            .children_by_tag("participant")
            .map(|p| self.participant_ref(p))
            .collect::<Result<Vec<_>, _>>()?;
        let g = admin_in(&mut self.groups, who, group)?;
        let mut results = Vec::new();
        let mut granted = Vec::new();
        let mut rejected = Vec::new();
        for t in targets {
            let mut p = g.participant(&t);
            match g.pending.iter().position(|r| r.user.same(&t)) {
                None => p.attrs.insert("error", "404"),
                Some(i) => {
                    let req = g.pending.remove(i);
                    if approve {
                        granted.push(req.user);
                    } else {
                        rejected.push(req.user);
                    }
                }
            }
            results.push(p);
        }
        if !rejected.is_empty() {
            let change = Node::new("revoked_membership_requests")
                .children(rejected.iter().map(|u| g.participant(u)))
                .build();
            let n = notification(self.shared.stanza_id(), now, g, Some(who), vec![change]);
            let mut to = admins(g);
            to.extend(rejected.iter().map(UserRef::user));
            out.send(to, &n);
        }
        for user in &granted {
            self.admit(now, who, group, user, None, out)?;
        }
        let inner = Node::new(action.tag.clone()).children(results).build();
        Ok(vec![
            Node::new("membership_requests_action").child(inner).build(),
        ])
    }

    /// The community `group`, which `who` must be an admin of.
    fn community_admin(&mut self, who: &UserRef, group: &Jid) -> Result<&mut Group, RegistryError> {
        let g = self.admin_of(who, group)?;
        if g.community.is_none() {
            return Err(RegistryError::NotAcceptable("not a community"));
        }
        Ok(g)
    }

    pub(super) fn link(
        &mut self,
        now: u64,
        who: &UserRef,
        community: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let link = body
            .child("link")
            .filter(|l| attr_str(l, "link_type") == Some("sub_group"))
            .ok_or(RegistryError::BadRequest(
                "expected <link link_type=sub_group>",
            ))?;
        let subs = link
            .children_by_tag("group")
            .map(|g| attr_group(g, "jid").ok_or(RegistryError::BadRequest("group without jid")))
            .collect::<Result<Vec<_>, _>>()?;
        let community = self.community_admin(who, community)?.jid.clone();
        for sub in &subs {
            let s = self.admin_of(who, sub)?;
            if s.community.is_some() {
                return Err(RegistryError::NotAcceptable(
                    "a community cannot be a sub-group",
                ));
            }
            if s.linked_parent.as_ref().is_some_and(|p| *p != community) {
                return Err(RegistryError::Conflict(
                    "already linked to another community",
                ));
            }
        }
        for sub in &subs {
            if let Some(s) = self.groups.get_mut(&sub.to_non_ad())
                && s.linked_parent.is_none()
            {
                s.linked_parent = Some(community.clone());
                self.announce_link(now, who, &community, &sub.to_non_ad(), out);
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn unlink(
        &mut self,
        now: u64,
        who: &UserRef,
        community: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        if attr_str(body, "unlink_type") != Some("sub_group") {
            return Err(RegistryError::BadRequest("expected unlink_type=sub_group"));
        }
        let subs = body
            .children_by_tag("group")
            .map(|g| attr_group(g, "jid").ok_or(RegistryError::BadRequest("group without jid")))
            .collect::<Result<Vec<_>, _>>()?;
        let community = self.community_admin(who, community)?.jid.clone();
        for sub in &subs {
            let s = self.get(sub)?;
            if s.linked_parent.as_ref() != Some(&community) {
                return Err(RegistryError::NotFound);
            }
            if s.default_sub_group {
                return Err(RegistryError::NotAcceptable(
                    "the announcement group stays linked",
                ));
            }
        }
        for sub in &subs {
            let Some(s) = self.groups.get_mut(&sub.to_non_ad()) else {
                continue;
            };
            s.linked_parent = None;
            let target = s.link_target();
            let s = &*s;
            let to_sub = Node::new("unlink")
                .attr("unlink_type", "parent_group")
                .attr("unlink_reason", "unlink_group")
                .child(Node::new("group").attr("jid", &community).build())
                .build();
            let n = notification(self.shared.stanza_id(), now, s, Some(who), vec![to_sub]);
            out.send(s.users(), &n);
            let change = Node::new("unlink")
                .attr("unlink_type", "sub_group")
                .attr("unlink_reason", "unlink_group")
                .child(target)
                .build();
            self.broadcast(now, who, &community, vec![change], out);
        }
        Ok(Vec::new())
    }

    /// The groups linked to `community`, which `who` must be a member of.
    fn linked(&self, who: &UserRef, community: &Jid) -> Result<Vec<&Group>, RegistryError> {
        let c = self.member_of(who, community)?;
        if c.community.is_none() {
            return Err(RegistryError::NotAcceptable("not a community"));
        }
        Ok(self
            .groups
            .values()
            .filter(|g| g.linked_parent.as_ref() == Some(&c.jid))
            .collect())
    }

    pub(super) fn sub_groups(
        &self,
        who: &UserRef,
        community: &Jid,
    ) -> Result<Vec<Node>, RegistryError> {
        let subs = self
            .linked(who, community)?
            .into_iter()
            .map(Group::link_target);
        Ok(vec![Node::new("sub_groups").children(subs).build()])
    }

    pub(super) fn linked_participants(
        &self,
        who: &UserRef,
        community: &Jid,
    ) -> Result<Vec<Node>, RegistryError> {
        let mode = self.get(community)?.addressing.clone();
        let mut seen: Vec<&UserRef> = Vec::new();
        for g in self.linked(who, community)? {
            for m in &g.members {
                if !seen.iter().any(|u| u.same(&m.user)) {
                    seen.push(&m.user);
                }
            }
        }
        let list = seen.into_iter().map(|u| u.participant_node(&mode, None));
        Ok(vec![
            Node::new("linked_groups_participants")
                .children(list)
                .build(),
        ])
    }
}

/// The user JIDs of `g`'s admins.
fn admins(g: &Group) -> Vec<Jid> {
    g.members
        .iter()
        .filter(|m| m.role.is_admin())
        .map(|m| m.user.user())
        .collect()
}
