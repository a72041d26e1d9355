//! Typed group state: [`GroupInfo`], [`GroupParticipant`] and the small enums around them, and
//! the parser of the `<group>` element shared by every reply that describes a group.

use wa_binary::{Jid, Node, Server};

use crate::GroupError;
use crate::util::{finish, group_jid_from_id, text, to_u32};

/// How a group addresses its members on the wire: by phone number or by LID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressingMode {
    /// `pn`: members are phone-number JIDs.
    Pn,
    /// `lid`: members are LIDs.
    Lid,
    /// A value this crate does not know, kept verbatim.
    Other(String),
}

impl AddressingMode {
    /// Parses the wire value.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "pn" => Self::Pn,
            "lid" => Self::Lid,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pn => "pn",
            Self::Lid => "lid",
            Self::Other(s) => s,
        }
    }
}

/// Who may add members to a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberAddMode {
    /// `admin_add`: only admins.
    AdminAdd,
    /// `all_member_add`: every member.
    AllMemberAdd,
    /// A value this crate does not know, kept verbatim.
    Other(String),
}

impl MemberAddMode {
    /// Parses the wire value.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "admin_add" => Self::AdminAdd,
            "all_member_add" => Self::AllMemberAdd,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AdminAdd => "admin_add",
            Self::AllMemberAdd => "all_member_add",
            Self::Other(s) => s,
        }
    }
}

/// The invite the server created for someone who could not be added directly (result 403):
/// the adder can send it as a group invite message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddRequest {
    /// The invite code.
    pub code: String,
    /// When the invite expires, in Unix seconds.
    pub expiration: i64,
}

/// A member of a group as a group reply describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupParticipant {
    /// The JID the group uses for this member (a LID in LID-addressed groups).
    pub jid: Jid,
    /// The member's LID, when known (the JID itself in LID groups, or the `lid` attribute).
    pub lid: Option<Jid>,
    /// The member's phone-number JID, when known (the JID itself, or `phone_number`).
    pub phone_number: Option<Jid>,
    /// The display name the server sent (for members whose number is hidden).
    pub display_name: Option<String>,
    /// An admin (or the super admin).
    pub is_admin: bool,
    /// The super admin (the creator).
    pub is_super_admin: bool,
    /// A per-participant error code from a participant change (e.g. 403, 408, 409).
    pub error: Option<u16>,
    /// The invite the server made instead of adding this member (with error 403).
    pub add_request: Option<AddRequest>,
}

/// A group description and its metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupDescription {
    /// The text.
    pub text: String,
    /// The description id (pass it as `prev` when changing the description).
    pub id: String,
    /// Who set it.
    pub set_by: Option<Jid>,
    /// Who set it, as a phone-number JID.
    pub set_by_pn: Option<Jid>,
    /// When, in Unix seconds.
    pub set_at: Option<i64>,
}

/// Everything a `<group>` element says about a group, as whatsmeow's `GroupInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupInfo {
    /// The group JID (`…@g.us`).
    pub jid: Jid,
    /// The creator.
    pub owner: Option<Jid>,
    /// The creator as a phone-number JID.
    pub owner_pn: Option<Jid>,
    /// The subject (name).
    pub subject: String,
    /// Who set the subject.
    pub subject_set_by: Option<Jid>,
    /// Who set the subject, as a phone-number JID.
    pub subject_set_by_pn: Option<Jid>,
    /// When the subject was set, in Unix seconds.
    pub subject_set_at: Option<i64>,
    /// The description, when the group has one.
    pub description: Option<GroupDescription>,
    /// When the group was created, in Unix seconds.
    pub created_at: Option<i64>,
    /// The creator's country code.
    pub creator_country_code: Option<String>,
    /// Only admins may send messages.
    pub announce: bool,
    /// The version id of the announce setting.
    pub announce_version_id: Option<String>,
    /// Only admins may edit the group info.
    pub locked: bool,
    /// The disappearing-messages timer in seconds, when enabled.
    pub ephemeral_timer: Option<u32>,
    /// Who may add members.
    pub member_add_mode: Option<MemberAddMode>,
    /// Joining needs an admin's approval.
    pub join_approval_required: bool,
    /// The group is a community (a parent group).
    pub is_community: bool,
    /// A community's default membership approval mode (e.g. `request_required`).
    pub default_membership_approval_mode: Option<String>,
    /// The community this group belongs to.
    pub linked_parent: Option<Jid>,
    /// The group is its community's announcement group.
    pub is_default_sub_group: bool,
    /// The group is incognito.
    pub is_incognito: bool,
    /// The group is suspended.
    pub suspended: bool,
    /// How the group addresses members.
    pub addressing_mode: Option<AddressingMode>,
    /// The participant list version id.
    pub participant_version_id: Option<String>,
    /// The member count the server reports (`size`), which may exceed the listed participants.
    pub size: Option<u32>,
    /// The members listed in the reply.
    pub participants: Vec<GroupParticipant>,
}

impl GroupInfo {
    /// The participant whose JID, LID or phone number is `jid` (device part ignored).
    pub fn participant(&self, jid: &Jid) -> Option<&GroupParticipant> {
        let bare = jid.to_non_ad();
        self.participants.iter().find(|p| {
            p.jid.to_non_ad() == bare
                || p.lid.as_ref().is_some_and(|l| l.to_non_ad() == bare)
                || p.phone_number
                    .as_ref()
                    .is_some_and(|n| n.to_non_ad() == bare)
        })
    }

    /// The number of members: `size` when the server sent it, else the listed participants.
    pub fn member_count(&self) -> usize {
        self.size
            .map(|s| s as usize)
            .unwrap_or(self.participants.len())
    }
}

/// Parses a `<participant>` of a group or of a participant-change reply.
pub(crate) fn parse_participant(node: &Node) -> Result<GroupParticipant, GroupError> {
    let mut r = node.attr_reader();
    let jid = r.required_jid("jid").ok();
    let kind = r.optional_string("type");
    let display_name = r.optional_string("display_name").map(str::to_owned);
    let pn_attr = r.optional_jid("phone_number");
    let lid_attr = r.optional_jid("lid");
    let error = r.optional_u64("error");
    finish(r, "participant")?;
    let jid = jid.ok_or(GroupError::MissingElement {
        tag: "jid",
        context: "participant",
    })?;
    let (lid, phone_number) = match jid.server() {
        Server::Lid => (Some(jid.clone()), pn_attr),
        Server::User => (lid_attr, Some(jid.clone())),
        _ => (lid_attr, pn_attr),
    };
    let error = match error {
        None | Some(0) => None,
        Some(code) => Some(u16::try_from(code).map_err(|_| GroupError::BadContent {
            element: "participant",
            reason: "error code out of range",
        })?),
    };
    let add_request = match (error, node.child("add_request")) {
        (Some(_), Some(req)) => {
            let mut r = req.attr_reader();
            let code = r.string("code").to_owned();
            let expiration = r.i64("expiration");
            finish(r, "add_request")?;
            Some(AddRequest { code, expiration })
        }
        _ => None,
    };
    Ok(GroupParticipant {
        jid,
        lid,
        phone_number,
        display_name,
        is_admin: matches!(kind, Some("admin" | "superadmin")),
        is_super_admin: kind == Some("superadmin"),
        error,
        add_request,
    })
}

/// Parses a `<group>` element into a [`GroupInfo`].
pub(crate) fn parse_group(node: &Node) -> Result<GroupInfo, GroupError> {
    let mut r = node.attr_reader();
    let id = r.string("id");
    let mut info = GroupInfo {
        owner: r.optional_jid("creator"),
        owner_pn: r.optional_jid("creator_pn"),
        subject: r.optional_string("subject").unwrap_or_default().to_owned(),
        subject_set_at: r.optional_i64("s_t"),
        subject_set_by: r.optional_jid("s_o"),
        subject_set_by_pn: r.optional_jid("s_o_pn"),
        created_at: r.optional_i64("creation"),
        creator_country_code: r.optional_string("creator_country_code").map(str::to_owned),
        announce_version_id: r.optional_string("a_v_id").map(str::to_owned),
        participant_version_id: r.optional_string("p_v_id").map(str::to_owned),
        size: r.optional_u64("size").map(to_u32),
        addressing_mode: r
            .optional_string("addressing_mode")
            .map(AddressingMode::from_wire),
        ..GroupInfo::default()
    };
    finish(r, "group")?;
    info.jid = group_jid_from_id(id)?;
    for child in node.children() {
        match child.tag.as_str() {
            "participant" => info.participants.push(parse_participant(child)?),
            "description" => {
                if let Some(body) = child.child("body") {
                    let mut r = child.attr_reader();
                    let id = r.string("id").to_owned();
                    let set_by = r.optional_jid("participant");
                    let set_by_pn = r.optional_jid("participant_pn");
                    let set_at = r.optional_i64("t");
                    finish(r, "description")?;
                    info.description = Some(GroupDescription {
                        text: text(body, "body")?,
                        id,
                        set_by,
                        set_by_pn,
                        set_at,
                    });
                }
            }
            "announcement" => info.announce = true,
            "locked" => info.locked = true,
            "ephemeral" => {
                let mut r = child.attr_reader();
                let exp = r.u64("expiration");
                finish(r, "ephemeral")?;
                info.ephemeral_timer = Some(to_u32(exp));
            }
            "member_add_mode" => {
                info.member_add_mode =
                    Some(MemberAddMode::from_wire(&text(child, "member_add_mode")?));
            }
            "linked_parent" => {
                let mut r = child.attr_reader();
                let jid = r.jid("jid");
                finish(r, "linked_parent")?;
                info.linked_parent = Some(jid);
            }
            "default_sub_group" => info.is_default_sub_group = true,
            "parent" => {
                let mut r = child.attr_reader();
                let mode = r.optional_string("default_membership_approval_mode");
                finish(r, "parent")?;
                info.is_community = true;
                info.default_membership_approval_mode = mode.map(str::to_owned);
            }
            "incognito" => info.is_incognito = true,
            "membership_approval_mode" => {
                // `<membership_approval_mode><group_join state="on"/>`; a bare element means on.
                info.join_approval_required = match child.child("group_join") {
                    Some(gj) => gj.attr("state").and_then(|v| v.as_str()) != Some("off"),
                    None => true,
                };
            }
            "suspended" => info.suspended = true,
            _ => {}
        }
    }
    Ok(info)
}

/// A group as a community's sub-group list or a link notification names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupLinkTarget {
    /// The group JID.
    pub jid: Jid,
    /// The subject, when sent.
    pub subject: Option<String>,
    /// When the subject was set, in Unix seconds.
    pub subject_set_at: Option<i64>,
    /// The community's announcement group.
    pub is_default_sub_group: bool,
}

/// Parses a `<group jid=…>` or `<group id=…>` of a sub-group list or link change.
pub(crate) fn parse_link_target(node: &Node) -> Result<GroupLinkTarget, GroupError> {
    let mut r = node.attr_reader();
    let jid = r.optional_jid("jid");
    let id = r.optional_string("id");
    let subject = r.optional_string("subject").map(str::to_owned);
    let subject_set_at = r.optional_i64("s_t");
    finish(r, "group")?;
    let jid = match (jid, id) {
        (Some(j), _) => j,
        (None, Some(id)) => group_jid_from_id(id)?,
        (None, None) => {
            return Err(GroupError::MissingElement {
                tag: "jid",
                context: "linked group",
            });
        }
    };
    Ok(GroupLinkTarget {
        jid,
        subject,
        subject_set_at,
        is_default_sub_group: node.child("default_sub_group").is_some(),
    })
}

/// A member reference in a participant list (notifications, community member lists).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParticipantRef {
    /// The JID the group uses.
    pub jid: Jid,
    /// The LID, when known.
    pub lid: Option<Jid>,
    /// The phone-number JID, when known.
    pub phone_number: Option<Jid>,
}

/// Parses the `<participant jid=… [lid=…|phone_number=…]>` children of `node`.
pub(crate) fn parse_participant_refs(node: &Node) -> Result<Vec<ParticipantRef>, GroupError> {
    node.children_by_tag("participant")
        .map(|p| {
            let mut r = p.attr_reader();
            let jid = r.jid("jid");
            let pn_attr = r.optional_jid("phone_number");
            let lid_attr = r.optional_jid("lid");
            finish(r, "participant")?;
            let (lid, phone_number) = match jid.server() {
                Server::Lid => (Some(jid.clone()), pn_attr),
                Server::User => (lid_attr, Some(jid.clone())),
                _ => (lid_attr, pn_attr),
            };
            Ok(ParticipantRef {
                jid,
                lid,
                phone_number,
            })
        })
        .collect()
}
