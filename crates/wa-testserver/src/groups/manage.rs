//! Creating groups, reading them, changing members and settings, leaving.

use wa_binary::{Jid, Node};
use wa_groups::{AddressingMode, MemberAddMode};

use super::model::{Description, Group, Member, PendingInvite, Role, UserRef};
use super::{
    GroupRegistry, INVITE_V4_LIFETIME, MAX_DESCRIPTION_CHARS, MAX_SUBJECT_CHARS, Outbox,
    RegistryError, Shared, attr_group, attr_jid, attr_str, notification, text,
};

/// Checks a subject: non-empty, at most [`MAX_SUBJECT_CHARS`].
fn check_subject(s: &str) -> Result<(), RegistryError> {
    let n = s.trim().chars().count();
    if n == 0 || s.chars().count() > MAX_SUBJECT_CHARS {
        return Err(RegistryError::NotAcceptable("subject empty or too long"));
    }
    Ok(())
}

/// `<participant v_id prev_v_id …>` change bodies bump the participant version.
pub(super) fn versioned(g: &mut Group, tag: &str, reason: Option<&str>, who: &[UserRef]) -> Node {
    let prev = g.participant_version;
    g.participant_version += 1;
    Node::new(tag.to_owned())
        .attr_opt("reason", reason)
        .attr("v_id", g.participant_version)
        .attr("prev_v_id", prev)
        .children(who.iter().map(|u| g.participant(u)))
        .build()
}

/// When no admin is left, the longest-standing member becomes one (as WhatsApp does).
fn ensure_admin(g: &mut Group) -> Option<UserRef> {
    if g.members.iter().any(|m| m.role.is_admin()) {
        return None;
    }
    let first = g.members.first_mut()?;
    first.role = Role::Admin;
    Some(first.user.clone())
}

/// Tells of members who just joined `g` (already in its member list): the members who were
/// there get `<add [reason] v_id prev_v_id>`, each newcomer gets `<create [reason]>` with the
/// whole group (whatsmeow's `JoinedGroup`, Baileys' `groups.upsert`).
pub(super) fn announce_joins(
    shared: &mut Shared,
    now: u64,
    g: &mut Group,
    actor: Option<&UserRef>,
    reason: Option<&str>,
    newcomers: &[UserRef],
    out: &mut Outbox,
) {
    let change = versioned(g, "add", reason, newcomers);
    let n = notification(shared.stanza_id(), now, g, actor, vec![change]);
    let before = g
        .members
        .iter()
        .filter(|m| !newcomers.iter().any(|u| u.same(&m.user)))
        .map(|m| m.user.user());
    out.send(before, &n);
    let create = Node::new("create")
        .attr_opt("reason", reason)
        .child(g.to_node(true))
        .build();
    let n = notification(shared.stanza_id(), now, g, actor, vec![create]);
    out.send(newcomers.iter().map(UserRef::user), &n);
}

impl GroupRegistry {
    /// The member named by a `<participant jid [phone_number|lid]>`.
    pub(super) fn participant_ref(&self, p: &Node) -> Result<UserRef, RegistryError> {
        let jid = attr_jid(p, "jid").ok_or(RegistryError::BadRequest("participant without jid"))?;
        let alt = attr_jid(p, "phone_number").or_else(|| attr_jid(p, "lid"));
        self.shared
            .resolve(&jid, alt)
            .ok_or(RegistryError::BadRequest("participant is not a user JID"))
    }

    pub(super) fn create(
        &mut self,
        now: u64,
        who: &UserRef,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let subject = attr_str(body, "subject").unwrap_or_default().to_owned();
        check_subject(&subject)?;
        let key = attr_str(body, "key").map(str::to_owned);
        let mut g = Group {
            jid: Jid::default(),
            subject,
            subject_by: who.clone(),
            subject_at: now,
            creator: who.clone(),
            created_at: now,
            description: None,
            announce: false,
            locked: false,
            member_add_mode: MemberAddMode::AllMemberAdd,
            ephemeral: None,
            join_approval: false,
            pending: Vec::new(),
            invites: Vec::new(),
            invite_code: None,
            addressing: self.addressing.clone(),
            members: vec![Member {
                user: who.clone(),
                role: Role::SuperAdmin,
            }],
            participant_version: 1,
            announce_version: 1,
            community: None,
            linked_parent: None,
            default_sub_group: false,
        };
        let mut wanted = Vec::new();
        for c in body.children() {
            match c.tag.as_str() {
                "participant" => wanted.push(self.participant_ref(c)?),
                "member_add_mode" => {
                    g.member_add_mode = match text(c)?.as_str() {
                        "admin_add" => MemberAddMode::AdminAdd,
                        "all_member_add" => MemberAddMode::AllMemberAdd,
                        _ => return Err(RegistryError::BadRequest("unknown member add mode")),
                    }
                }
                "parent" => {
                    let mode = attr_str(c, "default_membership_approval_mode");
                    g.community = Some(mode.unwrap_or("request_required").to_owned());
                }
                "linked_parent" => {
                    let parent = attr_group(c, "jid").ok_or(RegistryError::BadRequest(
                        "linked_parent without a group jid",
                    ))?;
                    let p = self.admin_of(who, &parent)?;
                    if p.community.is_none() {
                        return Err(RegistryError::NotAcceptable(
                            "linked parent is not a community",
                        ));
                    }
                    g.linked_parent = Some(p.jid.clone());
                }
                "locked" => g.locked = true,
                "announcement" => g.announce = true,
                "ephemeral" => {
                    let exp = attr_str(c, "expiration").unwrap_or("0");
                    let exp: u32 = exp
                        .parse()
                        .map_err(|_| RegistryError::BadRequest("bad ephemeral expiration"))?;
                    g.ephemeral = Some(exp).filter(|e| *e > 0);
                }
                "membership_approval_mode" => {
                    g.join_approval = c
                        .child("group_join")
                        .and_then(|j| attr_str(j, "state"))
                        .is_none_or(|s| s != "off");
                }
                _ => {}
            }
        }
        if g.community.is_some() && g.linked_parent.is_some() {
            return Err(RegistryError::BadRequest("a community cannot be linked"));
        }
        g.jid = self.shared.group_jid();
        let mut refused = Vec::new();
        for user in wanted {
            if g.member(&user).is_some() {
                continue;
            }
            if self.invite_only(&user) {
                let code = self.shared.code(&g.jid);
                let expiration = now + INVITE_V4_LIFETIME;
                g.invites.push(PendingInvite {
                    invited: user.clone(),
                    code: code.clone(),
                    expiration,
                });
                refused.push((user, code, expiration));
            } else {
                g.members.push(Member {
                    user,
                    role: Role::Member,
                });
            }
        }
        let mut reply = g.to_node(true);
        if let wa_binary::Content::Nodes(children) = &mut reply.content {
            for (user, code, expiration) in refused {
                children.push(
                    Node::new("participant")
                        .attr("jid", user.jid_in(&g.addressing))
                        .attr("error", "403")
                        .child(
                            Node::new("add_request")
                                .attr("code", code)
                                .attr("expiration", expiration)
                                .build(),
                        )
                        .build(),
                );
            }
        }
        let create = Node::new("create")
            .attr(
                "type",
                if g.linked_parent.is_some() {
                    "sub_group"
                } else {
                    "new"
                },
            )
            .attr_opt("key", key.as_deref())
            .child(g.to_node(true))
            .build();
        let n = notification(self.shared.stanza_id(), now, &g, Some(who), vec![create]);
        out.send(g.users(), &n);
        let jid = g.jid.clone();
        let parent = g.linked_parent.clone();
        let is_community = g.community.is_some();
        let members = g.members.clone();
        self.groups.insert(jid.clone(), g);
        if is_community {
            self.create_announcement_group(now, who, &jid, members, out);
        }
        if let Some(parent) = parent {
            self.announce_link(now, who, &parent, &jid, out);
        }
        Ok(vec![reply])
    }

    fn invite_only(&self, user: &UserRef) -> bool {
        [&user.pn, &user.lid]
            .into_iter()
            .flatten()
            .any(|j| self.shared.invite_only.contains(j))
    }

    pub(super) fn participating(&self, who: &UserRef) -> Vec<Node> {
        let groups = self
            .groups
            .values()
            .filter(|g| g.member(who).is_some())
            .map(|g| g.to_node(true));
        vec![Node::new("groups").children(groups).build()]
    }

    pub(super) fn info(&self, who: &UserRef, group: &Jid) -> Result<Vec<Node>, RegistryError> {
        Ok(vec![self.member_of(who, group)?.to_node(true)])
    }

    pub(super) fn leave(
        &mut self,
        now: u64,
        who: &UserRef,
        body: &Node,
        out: &mut Outbox,
    ) -> Vec<Node> {
        let mut echoed = Vec::new();
        for item in body.children_by_tag("group") {
            let Some(gj) = attr_group(item, "id") else {
                echoed.push(Node::new("group").attr("error", "400").build());
                continue;
            };
            let code = match self.remove_member(now, who, &gj, who, out) {
                Ok(()) => None,
                Err(e) => Some(e.code()),
            };
            echoed.push(
                Node::new("group")
                    .attr("id", gj)
                    .attr_opt("error", code)
                    .build(),
            );
        }
        vec![Node::new("leave").children(echoed).build()]
    }

    /// Removes `target` from `group` (a leave when `actor` is `target`), notifies, deletes an
    /// emptied group and promotes someone when the last admin left.
    fn remove_member(
        &mut self,
        now: u64,
        actor: &UserRef,
        group: &Jid,
        target: &UserRef,
        out: &mut Outbox,
    ) -> Result<(), RegistryError> {
        let g = self
            .groups
            .get_mut(&group.to_non_ad())
            .ok_or(RegistryError::NotFound)?;
        let pos = g
            .members
            .iter()
            .position(|m| m.user.same(target))
            .ok_or(RegistryError::NotParticipant)?;
        let gone = g.members.remove(pos);
        let mut changes = vec![versioned(
            g,
            "remove",
            None,
            std::slice::from_ref(&gone.user),
        )];
        if let Some(promoted) = ensure_admin(g) {
            changes.push(versioned(g, "promote", None, &[promoted]));
        }
        let n = notification(self.shared.stanza_id(), now, g, Some(actor), changes);
        let mut to = g.users();
        to.push(gone.user.user());
        out.send(to, &n);
        self.drop_if_empty(group);
        Ok(())
    }

    /// Deletes `group` once its last member is gone; its invite code is revoked.
    fn drop_if_empty(&mut self, group: &Jid) {
        let key = group.to_non_ad();
        if self.groups.get(&key).is_some_and(|g| g.members.is_empty())
            && let Some(code) = self.groups.remove(&key).and_then(|g| g.invite_code)
        {
            self.shared.codes.remove(&code);
            self.shared.revoked.insert(code);
        }
    }

    pub(super) fn update_participants(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let action = body.tag.as_str().to_owned();
        let targets = body
            .children_by_tag("participant")
            .map(|p| self.participant_ref(p))
            .collect::<Result<Vec<_>, _>>()?;
        let g = self
            .groups
            .get_mut(&group.to_non_ad())
            .ok_or(RegistryError::NotFound)?;
        let me = g.member(who).ok_or(RegistryError::NotParticipant)?;
        let all_may_add = g.member_add_mode == MemberAddMode::AllMemberAdd;
        if !(me.role.is_admin() || action == "add" && all_may_add) {
            return Err(RegistryError::NotAdmin);
        }
        let mut results = Vec::new();
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for target in targets {
            let mut add_request = None;
            let code: u16 = match action.as_str() {
                "add" if g.member(&target).is_some() => 409,
                "add" if self.shared.invite_only.iter().any(|j| target.is(j)) => {
                    let code = self.shared.code(&g.jid);
                    let expiration = now + INVITE_V4_LIFETIME;
                    g.invites.retain(|i| !i.invited.same(&target));
                    g.invites.push(PendingInvite {
                        invited: target.clone(),
                        code: code.clone(),
                        expiration,
                    });
                    add_request = Some((code, expiration));
                    403
                }
                "add" => {
                    g.pending.retain(|r| !r.user.same(&target));
                    g.members.push(Member {
                        user: target.clone(),
                        role: Role::Member,
                    });
                    200
                }
                _ => match g.member_mut(&target) {
                    None => 404,
                    Some(m) if m.role == Role::SuperAdmin && action != "promote" => 403,
                    Some(m) => {
                        match action.as_str() {
                            "promote" => m.role = Role::Admin,
                            "demote" => m.role = Role::Member,
                            _ => {}
                        }
                        200
                    }
                },
            };
            if code == 200 && action == "remove" {
                g.members.retain(|m| !m.user.same(&target));
                removed.push(target.clone());
            }
            let mut p = g.participant(&target);
            if code != 200 {
                p.attrs.insert("error", code);
            }
            if let Some((c, e)) = add_request {
                p = Node {
                    content: wa_binary::Content::Nodes(vec![
                        Node::new("add_request")
                            .attr("code", c)
                            .attr("expiration", e)
                            .build(),
                    ]),
                    ..p
                };
            }
            results.push(p);
            if code == 200 {
                changed.push(target);
            }
        }
        if action == "add" && !changed.is_empty() {
            announce_joins(&mut self.shared, now, g, Some(who), None, &changed, out);
        } else if !changed.is_empty() {
            let mut changes = vec![versioned(g, &action, None, &changed)];
            if let Some(promoted) = ensure_admin(g) {
                changes.push(versioned(g, "promote", None, &[promoted]));
            }
            let n = notification(self.shared.stanza_id(), now, g, Some(who), changes);
            let mut to = g.users();
            to.extend(removed.iter().map(UserRef::user));
            out.send(to, &n);
        }
        let parent = g.linked_parent.clone();
        let reply = Node::new(action.clone()).children(results).build();
        if action == "add"
            && !changed.is_empty()
            && let Some(parent) = parent
        {
            self.join_community(now, &parent, &changed, out);
        }
        self.drop_if_empty(group);
        Ok(vec![reply])
    }

    /// A group `who` may edit the info of (any member, or admins only when locked).
    fn editable(&mut self, who: &UserRef, group: &Jid) -> Result<&mut Group, RegistryError> {
        let g = self
            .groups
            .get_mut(&group.to_non_ad())
            .ok_or(RegistryError::NotFound)?;
        let m = g.member(who).ok_or(RegistryError::NotParticipant)?;
        if g.locked && !m.role.is_admin() {
            return Err(RegistryError::NotAdmin);
        }
        Ok(g)
    }

    pub(super) fn set_subject(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let subject = text(body)?;
        check_subject(&subject)?;
        let g = self.editable(who, group)?;
        g.subject = subject;
        g.subject_by = who.clone();
        g.subject_at = now;
        let mode = g.addressing.clone();
        let change = Node::new("subject")
            .attr("subject", g.subject.as_str())
            .attr("s_t", now)
            .attr("s_o", who.jid_in(&mode))
            .attr_opt(
                "s_o_pn",
                who.pn.as_ref().filter(|_| mode == AddressingMode::Lid),
            )
            .build();
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    pub(super) fn set_description(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let id = attr_str(body, "id")
            .filter(|s| !s.is_empty())
            .ok_or(RegistryError::BadRequest("description without id"))?
            .to_owned();
        let prev = attr_str(body, "prev");
        let delete = attr_str(body, "delete") == Some("true") || body.child("delete").is_some();
        let new_text = match body.child("body") {
            Some(b) if !delete => Some(text(b)?),
            _ => None,
        };
        if new_text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(RegistryError::NotAcceptable("description too long"));
        }
        let g = self.editable(who, group)?;
        if let Some(prev) = prev
            && g.description.as_ref().map(|d| d.id.as_str()) != Some(prev)
        {
            return Err(RegistryError::Conflict("description changed since prev"));
        }
        let change = match new_text.filter(|t| !t.is_empty()) {
            Some(t) => {
                let node = Node::new("description")
                    .attr("id", id.as_str())
                    .child(Node::new("body").bytes(t.as_bytes().to_vec()).build())
                    .build();
                g.description = Some(Description {
                    text: t,
                    id,
                    set_by: who.clone(),
                    set_at: now,
                });
                node
            }
            None => {
                g.description = None;
                Node::new("description")
                    .attr("id", id.as_str())
                    .child(Node::new("delete").build())
                    .build()
            }
        };
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    pub(super) fn set_flag(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        tag: &str,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let g = self.admin_of(who, group)?;
        let change = match tag {
            "announcement" | "not_announcement" => {
                g.announce = tag == "announcement";
                g.announce_version += 1;
                Node::new(tag.to_owned())
                    .attr("v_id", g.announce_version)
                    .build()
            }
            _ => {
                g.locked = tag == "locked";
                Node::new(tag.to_owned()).build()
            }
        };
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    pub(super) fn set_member_add_mode(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let mode = match text(body)?.as_str() {
            "admin_add" => MemberAddMode::AdminAdd,
            "all_member_add" => MemberAddMode::AllMemberAdd,
            _ => return Err(RegistryError::BadRequest("unknown member add mode")),
        };
        let g = self.admin_of(who, group)?;
        let change = Node::new("member_add_mode")
            .bytes(mode.as_str().as_bytes().to_vec())
            .build();
        g.member_add_mode = mode;
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    pub(super) fn set_ephemeral(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let timer = if body.tag.as_str() == "ephemeral" {
            let exp = attr_str(body, "expiration")
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or(RegistryError::BadRequest("bad ephemeral expiration"))?;
            Some(exp).filter(|e| *e > 0)
        } else {
            None
        };
        let g = self.editable(who, group)?;
        g.ephemeral = timer;
        let change = match timer {
            Some(t) => Node::new("ephemeral").attr("expiration", t).build(),
            None => Node::new("not_ephemeral").build(),
        };
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    pub(super) fn set_join_approval(
        &mut self,
        now: u64,
        who: &UserRef,
        group: &Jid,
        body: &Node,
        out: &mut Outbox,
    ) -> Result<Vec<Node>, RegistryError> {
        let on = match body.child("group_join").and_then(|j| attr_str(j, "state")) {
            Some("on") => true,
            Some("off") => false,
            _ => {
                return Err(RegistryError::BadRequest(
                    "group_join state must be on or off",
                ));
            }
        };
        let g = self.admin_of(who, group)?;
        g.join_approval = on;
        let change = Node::new("membership_approval_mode")
            .child(
                Node::new("group_join")
                    .attr("state", if on { "on" } else { "off" })
                    .build(),
            )
            .build();
        self.broadcast(now, who, group, vec![change], out);
        Ok(Vec::new())
    }

    /// Sends `changes` by `actor` to every member of `group`.
    pub(super) fn broadcast(
        &mut self,
        now: u64,
        actor: &UserRef,
        group: &Jid,
        changes: Vec<Node>,
        out: &mut Outbox,
    ) {
        if let Some(g) = self.groups.get(&group.to_non_ad()) {
            let n = notification(self.shared.stanza_id(), now, g, Some(actor), changes);
            out.send(g.users(), &n);
        }
    }
}
