//! The registry's data: members, groups, and how they render as `<group>` and `<participant>`.

use wa_binary::{Jid, Node, Server};
use wa_groups::{AddressingMode, MemberAddMode};

/// A member's rank in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A plain member.
    Member,
    /// An admin: changes settings and members.
    Admin,
    /// The super admin (the creator): an admin nobody can remove or demote.
    SuperAdmin,
}

impl Role {
    /// Admin or super admin.
    #[must_use]
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Admin | Self::SuperAdmin)
    }

    fn wire(self) -> Option<&'static str> {
        match self {
            Self::Member => None,
            Self::Admin => Some("admin"),
            Self::SuperAdmin => Some("superadmin"),
        }
    }
}

/// A user as the registry knows them: phone-number JID, LID, or both (never neither).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserRef {
    /// The phone-number JID (`…@s.whatsapp.net`, no device).
    pub pn: Option<Jid>,
    /// The LID (`…@lid`, no device).
    pub lid: Option<Jid>,
}

impl UserRef {
    /// The JID the registry reports this user under: the phone number when known, else the LID.
    #[must_use]
    pub fn user(&self) -> Jid {
        self.pn
            .clone()
            .or_else(|| self.lid.clone())
            .unwrap_or_default()
    }

    /// The JID a group in `mode` uses for this user (LID groups prefer the LID).
    #[must_use]
    pub fn jid_in(&self, mode: &AddressingMode) -> Jid {
        match mode {
            AddressingMode::Lid => self.lid.clone().or_else(|| self.pn.clone()),
            _ => self.pn.clone().or_else(|| self.lid.clone()),
        }
        .unwrap_or_default()
    }

    /// True when `jid` (device part ignored) is this user's PN or LID.
    #[must_use]
    pub fn is(&self, jid: &Jid) -> bool {
        let same_user = |j: &Jid| j.user() == jid.user() && j.server() == jid.server();
        self.pn.as_ref().is_some_and(same_user) || self.lid.as_ref().is_some_and(same_user)
    }

    /// True when both refer to the same user (any shared form).
    #[must_use]
    pub fn same(&self, other: &UserRef) -> bool {
        other.pn.as_ref().is_some_and(|j| self.is(j))
            || other.lid.as_ref().is_some_and(|j| self.is(j))
    }

    /// Fills in forms `other` knows and this one does not.
    pub(super) fn merge(&mut self, other: &UserRef) {
        if self.pn.is_none() {
            self.pn.clone_from(&other.pn);
        }
        if self.lid.is_none() {
            self.lid.clone_from(&other.lid);
        }
    }

    /// `<participant jid [phone_number|lid] [type]>` as a group in `mode` lists it.
    pub(super) fn participant_node(&self, mode: &AddressingMode, role: Option<Role>) -> Node {
        let jid = self.jid_in(mode);
        let b = Node::new("participant").attr("jid", &jid);
        let b = match jid.server() {
            Server::Lid => b.attr_opt("phone_number", self.pn.as_ref()),
            _ => b.attr_opt("lid", self.lid.as_ref()),
        };
        b.attr_opt("type", role.and_then(Role::wire)).build()
    }
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub user: UserRef,
    /// Their rank.
    pub role: Role,
}

/// A group description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Description {
    pub text: String,
    pub id: String,
    pub set_by: UserRef,
    pub set_at: u64,
}

/// An invite the server made for someone an admin could not add directly (v4 invite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingInvite {
    pub invited: UserRef,
    pub code: String,
    pub expiration: u64,
}

/// A join request waiting for an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct JoinRequest {
    pub user: UserRef,
    pub at: u64,
}

/// One group or community.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub jid: Jid,
    pub subject: String,
    pub subject_by: UserRef,
    pub subject_at: u64,
    pub creator: UserRef,
    pub created_at: u64,
    pub description: Option<Description>,
    pub announce: bool,
    pub locked: bool,
    pub member_add_mode: MemberAddMode,
    pub ephemeral: Option<u32>,
    pub join_approval: bool,
    pub pending: Vec<JoinRequest>,
    pub invites: Vec<PendingInvite>,
    pub invite_code: Option<String>,
    pub addressing: AddressingMode,
    pub members: Vec<Member>,
    pub participant_version: u64,
    pub announce_version: u64,
    /// `Some(default approval mode)` for a community (parent group).
    pub community: Option<String>,
    pub linked_parent: Option<Jid>,
    pub default_sub_group: bool,
}

impl Group {
    pub fn member(&self, user: &UserRef) -> Option<&Member> {
        self.members.iter().find(|m| m.user.same(user))
    }

    pub fn member_mut(&mut self, user: &UserRef) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user.same(user))
    }

    pub fn users(&self) -> Vec<Jid> {
        self.members.iter().map(|m| m.user.user()).collect()
    }

    /// The `<participant>` of `user` in this group's addressing mode.
    pub fn participant(&self, user: &UserRef) -> Node {
        user.participant_node(&self.addressing, None)
    }

    /// The `<group>` element describing this group; members listed when `participants`.
    pub fn to_node(&self, participants: bool) -> Node {
        let mode = &self.addressing;
        let lid_mode = *mode == AddressingMode::Lid;
        let creator = self.creator.jid_in(mode);
        let subject_by = self.subject_by.jid_in(mode);
        let mut b = Node::new("group")
            .attr("id", self.jid.user())
            .attr("subject", self.subject.as_str())
            .attr("s_t", self.subject_at)
            .attr("s_o", subject_by)
            .attr_opt("s_o_pn", self.subject_by.pn.as_ref().filter(|_| lid_mode))
            .attr("creation", self.created_at)
            .attr("creator", creator)
            .attr_opt("creator_pn", self.creator.pn.as_ref().filter(|_| lid_mode))
            .attr("addressing_mode", mode.as_str())
            .attr("size", self.members.len())
            .attr("p_v_id", self.participant_version)
            .attr("a_v_id", self.announce_version);
        let mut children = Vec::new();
        if let Some(d) = &self.description {
            children.push(
                Node::new("description")
                    .attr("id", d.id.as_str())
                    .attr("participant", d.set_by.jid_in(mode))
                    .attr_opt("participant_pn", d.set_by.pn.as_ref().filter(|_| lid_mode))
                    .attr("t", d.set_at)
                    .child(Node::new("body").bytes(d.text.as_bytes().to_vec()).build())
                    .build(),
            );
        }
        children.push(
            Node::new("member_add_mode")
                .bytes(self.member_add_mode.as_str().as_bytes().to_vec())
                .build(),
        );
        if self.announce {
            children.push(Node::new("announcement").build());
        }
        if self.locked {
            children.push(Node::new("locked").build());
        }
        if let Some(t) = self.ephemeral {
            children.push(Node::new("ephemeral").attr("expiration", t).build());
        }
        if self.join_approval {
            children.push(
                Node::new("membership_approval_mode")
                    .child(Node::new("group_join").attr("state", "on").build())
                    .build(),
            );
        }
        if let Some(mode) = &self.community {
            children.push(
                Node::new("parent")
                    .attr("default_membership_approval_mode", mode.as_str())
                    .build(),
            );
        }
        if let Some(parent) = &self.linked_parent {
            children.push(Node::new("linked_parent").attr("jid", parent).build());
        }
        if self.default_sub_group {
            children.push(Node::new("default_sub_group").build());
        }
        if participants {
            children.extend(
                self.members
                    .iter()
                    .map(|m| m.user.participant_node(mode, Some(m.role))),
            );
        }
        b = b.children(children);
        b.build()
    }

    /// `<group jid subject s_t [<default_sub_group/>]>` as sub-group lists and link changes name it.
    pub fn link_target(&self) -> Node {
        let b = Node::new("group")
            .attr("jid", &self.jid)
            .attr("subject", self.subject.as_str())
            .attr("s_t", self.subject_at);
        if self.default_sub_group {
            b.child(Node::new("default_sub_group").build()).build()
        } else {
            b.build()
        }
    }
}
