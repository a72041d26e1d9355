//! `w:gp2` group notifications turned into typed changes, for the client to turn into events.
//!
//! A notification is `<notification type="w:gp2" from=group participant=actor t=…>` whose
//! children are the changes (whatsmeow's `parseGroupChange`/`parseGroupCreate`, Baileys'
//! `handleGroupNotification`).

use wa_binary::{Jid, Node};

use crate::GroupError;
use crate::types::{
    GroupInfo, GroupLinkTarget, MemberAddMode, ParticipantRef, parse_group, parse_link_target,
    parse_participant_refs,
};
use crate::util::{child, finish, text, to_u32};

/// One group notification: who did what, when, to which group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNotification {
    /// The stanza id (the client acks it).
    pub id: Option<String>,
    /// The group (`from`).
    pub group: Jid,
    /// Who made the change (`participant`), when the server says.
    pub actor: Option<Jid>,
    /// The actor as a phone-number JID (`participant_pn`).
    pub actor_pn: Option<Jid>,
    /// The actor's push name (`notify`).
    pub notify: Option<String>,
    /// When, in Unix seconds (`t`).
    pub timestamp: i64,
    /// The changes, in stanza order.
    pub changes: Vec<GroupChange>,
}

/// Members added, removed, promoted or demoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantsChange {
    /// The members concerned.
    pub participants: Vec<ParticipantRef>,
    /// Why (`reason`, e.g. `invite` or `linked_group_join` on add).
    pub reason: Option<String>,
    /// The participant list version after the change (`v_id`).
    pub version_id: Option<String>,
    /// The version before (`prev_v_id`).
    pub prev_version_id: Option<String>,
}

/// The kind of a community link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkType {
    /// `parent_group`
    Parent,
    /// `sub_group`
    SubGroup,
    /// `sibling_group`
    Sibling,
    /// Anything else, verbatim.
    Other(String),
}

impl LinkType {
    fn from_wire(s: &str) -> Self {
        match s {
            "parent_group" => Self::Parent,
            "sub_group" => Self::SubGroup,
            "sibling_group" => Self::Sibling,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One change in a group notification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupChange {
    /// The group was created with us in it (or we were added at creation).
    Created {
        /// The new group.
        info: Box<GroupInfo>,
        /// `reason` of the `<create>`.
        reason: Option<String>,
        /// The creation key the creator chose (`key`).
        key: Option<String>,
        /// `type` of the `<create>` (e.g. `new` or `sub_group`).
        kind: Option<String>,
    },
    /// `<add>`: members joined or were added.
    Added(ParticipantsChange),
    /// `<remove>`: members were removed (or removed themselves).
    Removed(ParticipantsChange),
    /// `<leave>`: members left.
    Left(ParticipantsChange),
    /// `<promote>`: members became admins.
    Promoted(ParticipantsChange),
    /// `<demote>`: members stopped being admins.
    Demoted(ParticipantsChange),
    /// `<modify>`: members changed their number.
    NumberChanged(Vec<ParticipantRef>),
    /// `<subject>`: new subject.
    Subject {
        /// The subject.
        subject: String,
        /// When, in Unix seconds.
        set_at: i64,
        /// Who set it.
        set_by: Option<Jid>,
        /// Who set it, as a phone-number JID.
        set_by_pn: Option<Jid>,
    },
    /// `<description>`: new description, or deleted (`text` is `None`).
    Description {
        /// The text, `None` when the description was deleted.
        text: Option<String>,
        /// The new description id.
        id: String,
    },
    /// `<announcement>`/`<not_announcement>`.
    Announce {
        /// Only admins send.
        on: bool,
        /// The setting's version id.
        version_id: Option<String>,
    },
    /// `<locked>`/`<unlocked>`.
    Locked(bool),
    /// `<ephemeral expiration>`/`<not_ephemeral>`: the timer in seconds, `None` when off.
    Ephemeral(Option<u32>),
    /// `<member_add_mode>`: who may add members.
    MemberAddMode(MemberAddMode),
    /// `<membership_approval_mode>`: join approval on or off.
    JoinApproval(bool),
    /// `<invite code>`: the invite link was reset; this is the new code.
    InviteReset {
        /// The new code.
        code: String,
    },
    /// `<link>`: a group was linked (to a community).
    Linked {
        /// The link kind.
        link_type: LinkType,
        /// The linked group.
        group: GroupLinkTarget,
    },
    /// `<unlink>`: a group was unlinked.
    Unlinked {
        /// The link kind.
        link_type: LinkType,
        /// Why (`unlink_group`, `delete_parent`, …).
        reason: Option<String>,
        /// The unlinked group.
        group: GroupLinkTarget,
    },
    /// `<delete>`: the group was deleted.
    Deleted {
        /// Why.
        reason: Option<String>,
    },
    /// `<suspended>`
    Suspended,
    /// `<unsuspended>`
    Unsuspended,
    /// `<created_membership_requests>`: someone asked to join.
    JoinRequestCreated {
        /// The requesters (empty when the server names only the actor).
        participants: Vec<ParticipantRef>,
        /// How (`request_method`, e.g. `invite_link`).
        method: Option<String>,
    },
    /// `<revoked_membership_requests>`: requests withdrawn or rejected.
    JoinRequestRevoked {
        /// The requesters.
        participants: Vec<ParticipantRef>,
    },
    /// A change this crate does not know, kept for logging.
    Unknown(Node),
}

/// Parses a `<notification type="w:gp2">`. Other stanzas are
/// [`GroupError::NotGroupNotification`]; missing or malformed attributes are typed errors.
pub fn parse_group_notification(node: &Node) -> Result<GroupNotification, GroupError> {
    if node.tag.as_str() != "notification" {
        return Err(GroupError::NotGroupNotification("not a <notification>"));
    }
    let mut r = node.attr_reader();
    let kind = r.optional_string("type");
    let id = r.optional_string("id").map(str::to_owned);
    let group = r.jid("from");
    let actor = r.optional_jid("participant");
    let actor_pn = r.optional_jid("participant_pn");
    let notify = r.optional_string("notify").map(str::to_owned);
    let timestamp = r.i64("t");
    let addressing_mode = r.optional_string("addressing_mode");
    if kind != Some("w:gp2") {
        return Err(GroupError::NotGroupNotification("type is not w:gp2"));
    }
    finish(r, "notification")?;
    if !group.is_group() {
        return Err(GroupError::BadContent {
            element: "notification",
            reason: "from is not a group JID",
        });
    }
    let changes = node
        .children()
        .iter()
        .map(|c| parse_change(c, addressing_mode))
        .collect::<Result<_, _>>()?;
    Ok(GroupNotification {
        id,
        group,
        actor,
        actor_pn,
        notify,
        timestamp,
        changes,
    })
}

fn participants_change(c: &Node) -> Result<ParticipantsChange, GroupError> {
    let mut r = c.attr_reader();
    let reason = r.optional_string("reason").map(str::to_owned);
    let version_id = r.optional_string("v_id").map(str::to_owned);
    let prev_version_id = r.optional_string("prev_v_id").map(str::to_owned);
    finish(r, "participant change")?;
    Ok(ParticipantsChange {
        participants: parse_participant_refs(c)?,
        reason,
        version_id,
        prev_version_id,
    })
}

fn parse_change(c: &Node, addressing_mode: Option<&str>) -> Result<GroupChange, GroupError> {
    let mut r = c.attr_reader();
    let change = match c.tag.as_str() {
        "create" => {
            let reason = r.optional_string("reason").map(str::to_owned);
            let key = r.optional_string("key").map(str::to_owned);
            let kind = r.optional_string("type").map(str::to_owned);
            let mut info = parse_group(child(c, "group", "group create notification")?)?;
            if info.addressing_mode.is_none() {
                info.addressing_mode = addressing_mode.map(crate::AddressingMode::from_wire);
            }
            GroupChange::Created {
                info: Box::new(info),
                reason,
                key,
                kind,
            }
        }
        "add" => GroupChange::Added(participants_change(c)?),
        "remove" => GroupChange::Removed(participants_change(c)?),
        "leave" => GroupChange::Left(participants_change(c)?),
        "promote" => GroupChange::Promoted(participants_change(c)?),
        "demote" => GroupChange::Demoted(participants_change(c)?),
        "modify" => GroupChange::NumberChanged(parse_participant_refs(c)?),
        "subject" => GroupChange::Subject {
            subject: r.string("subject").to_owned(),
            set_at: r.i64("s_t"),
            set_by: r.optional_jid("s_o"),
            set_by_pn: r.optional_jid("s_o_pn"),
        },
        "description" => {
            let id = r.string("id").to_owned();
            let text = if c.child("delete").is_some() || r.optional_bool("delete").unwrap_or(false)
            {
                None
            } else {
                Some(text(child(c, "body", "description change")?, "body")?)
            };
            GroupChange::Description { text, id }
        }
        "announcement" | "not_announcement" => GroupChange::Announce {
            on: c.tag.as_str() == "announcement",
            version_id: r.optional_string("v_id").map(str::to_owned),
        },
        "locked" => GroupChange::Locked(true),
        "unlocked" => GroupChange::Locked(false),
        "ephemeral" => {
            let t = to_u32(r.u64("expiration"));
            GroupChange::Ephemeral(Some(t).filter(|t| *t > 0))
        }
        "not_ephemeral" => GroupChange::Ephemeral(None),
        "member_add_mode" => {
            GroupChange::MemberAddMode(MemberAddMode::from_wire(&text(c, "member_add_mode")?))
        }
        "membership_approval_mode" => GroupChange::JoinApproval(
            c.child("group_join")
                .and_then(|g| g.attr("state"))
                .and_then(|v| v.as_str())
                != Some("off"),
        ),
        "invite" => GroupChange::InviteReset {
            code: r.string("code").to_owned(),
        },
        "link" => GroupChange::Linked {
            link_type: LinkType::from_wire(r.string("link_type")),
            group: parse_link_target(child(c, "group", "group link")?)?,
        },
        "unlink" => GroupChange::Unlinked {
            link_type: LinkType::from_wire(r.string("unlink_type")),
            reason: r.optional_string("unlink_reason").map(str::to_owned),
            group: parse_link_target(child(c, "group", "group unlink")?)?,
        },
        "delete" => GroupChange::Deleted {
            reason: r.optional_string("reason").map(str::to_owned),
        },
        "suspended" => GroupChange::Suspended,
        "unsuspended" => GroupChange::Unsuspended,
        "created_membership_requests" => GroupChange::JoinRequestCreated {
            participants: parse_participant_refs(c)?,
            method: r.optional_string("request_method").map(str::to_owned),
        },
        "revoked_membership_requests" => GroupChange::JoinRequestRevoked {
            participants: parse_participant_refs(c)?,
        },
        _ => GroupChange::Unknown(c.clone()),
    };
    finish(r, "group change")?;
    Ok(change)
}
