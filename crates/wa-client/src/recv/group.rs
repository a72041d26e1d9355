//! `<notification type="w:gp2">` (whatsmeow `notification.go` `handleGroupNotification`):
//! each change becomes a [`GroupEvent`]; the parsed notification goes to the runtime, which
//! applies it to the group metadata cache; when members left or were removed our sender key
//! for the group is rotated here, so they cannot read our later messages.
//!
//! Changes that concern us are reported as such: [`GroupEventKind::Joined`] when we were
//! added (or a group was created with us in it), [`GroupEventKind::Left`] when we left or
//! were removed.

use serde::{Deserialize, Serialize};
use tracing::warn;
use wa_binary::{Jid, Node};
use wa_groups::{GroupChange, GroupNotification, ParticipantRef, parse_group_notification};
use wa_store::{Device, Store};

use crate::error::Result;
use crate::event::Event;

/// A change to a group, from a `w:gp2` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEvent {
    /// The group.
    pub group: String,
    /// Who made the change, when the server says.
    pub actor: Option<String>,
    /// The actor's phone-number JID, when the server says.
    pub actor_pn: Option<String>,
    /// When, in Unix seconds.
    pub timestamp: i64,
    /// What changed.
    pub change: GroupEventKind,
}

/// What changed in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupEventKind {
    /// We are now a member: the group was created with us in it, we were added, or we joined.
    Joined {
        /// The subject, when the notification carried the group.
        subject: Option<String>,
    },
    /// We are no longer a member.
    Left {
        /// Someone else removed us (`false`: we left).
        removed: bool,
    },
    /// Other members were added or joined.
    ParticipantsAdded {
        /// The members (the JID the group uses for each).
        participants: Vec<String>,
        /// Why (`invite`, `linked_group_join`, …).
        reason: Option<String>,
    },
    /// Other members were removed.
    ParticipantsRemoved {
        /// The members.
        participants: Vec<String>,
    },
    /// Other members left.
    ParticipantsLeft {
        /// The members.
        participants: Vec<String>,
    },
    /// Members became admins.
    Promoted {
        /// The members.
        participants: Vec<String>,
    },
    /// Members stopped being admins.
    Demoted {
        /// The members.
        participants: Vec<String>,
    },
    /// New subject.
    Subject {
        /// The subject.
        subject: String,
    },
    /// New description (`None`: deleted).
    Description {
        /// The text.
        text: Option<String>,
    },
    /// Announce mode (only admins send) turned on or off.
    Announce {
        /// On.
        on: bool,
    },
    /// Locked mode (only admins edit the info) turned on or off.
    Locked {
        /// On.
        on: bool,
    },
    /// Disappearing-messages timer changed.
    Ephemeral {
        /// Seconds, `None` when turned off.
        timer: Option<u32>,
    },
    /// The invite link was reset.
    InviteReset,
    /// A group was linked to this community (or this group to a community).
    Linked {
        /// The linked group.
        group: String,
    },
    /// A group was unlinked.
    Unlinked {
        /// The unlinked group.
        group: String,
    },
    /// The group was deleted.
    Deleted,
    /// Any other change (member-add mode, join approval, join requests, number changes,
    /// suspension, unknown elements), named by its kind.
    Other {
        /// What kind of change.
        what: String,
    },
}

fn names(refs: &[ParticipantRef]) -> Vec<String> {
    refs.iter().map(|r| r.jid.to_non_ad().to_string()).collect()
}

fn is_us(r: &ParticipantRef, own: &[Jid]) -> bool {
    [Some(&r.jid), r.lid.as_ref(), r.phone_number.as_ref()]
        .into_iter()
        .flatten()
        .any(|j| {
            own.iter()
                .any(|o| o.user() == j.user() && o.server() == j.server())
        })
}

/// The event for one change.
fn kind_of(change: &GroupChange, own: &[Jid], actor_is_us: bool) -> GroupEventKind {
    use GroupEventKind as K;
    match change {
        GroupChange::Created { info, .. } => K::Joined {
            subject: Some(info.subject.clone()),
        },
        GroupChange::Added(p) if p.participants.iter().any(|r| is_us(r, own)) => {
            K::Joined { subject: None }
        }
        GroupChange::Added(p) => K::ParticipantsAdded {
            participants: names(&p.participants),
            reason: p.reason.clone(),
        },
        GroupChange::Removed(p) | GroupChange::Left(p)
            if p.participants.iter().any(|r| is_us(r, own)) =>
        {
            K::Left {
                removed: matches!(change, GroupChange::Removed(_)) && !actor_is_us,
            }
        }
        GroupChange::Removed(p) => K::ParticipantsRemoved {
            participants: names(&p.participants),
        },
        GroupChange::Left(p) => K::ParticipantsLeft {
            participants: names(&p.participants),
        },
        GroupChange::Promoted(p) => K::Promoted {
            participants: names(&p.participants),
        },
        GroupChange::Demoted(p) => K::Demoted {
            participants: names(&p.participants),
        },
        GroupChange::Subject { subject, .. } => K::Subject {
            subject: subject.clone(),
        },
        GroupChange::Description { text, .. } => K::Description { text: text.clone() },
        GroupChange::Announce { on, .. } => K::Announce { on: *on },
        GroupChange::Locked(on) => K::Locked { on: *on },
        GroupChange::Ephemeral(timer) => K::Ephemeral { timer: *timer },
        GroupChange::InviteReset { .. } => K::InviteReset,
        GroupChange::Linked { group, .. } => K::Linked {
            group: group.jid.to_string(),
        },
        GroupChange::Unlinked { group, .. } => K::Unlinked {
            group: group.jid.to_string(),
        },
        GroupChange::Deleted { .. } => K::Deleted,
        GroupChange::MemberAddMode(_) => K::Other {
            what: "member_add_mode".into(),
        },
        GroupChange::JoinApproval(_) => K::Other {
            what: "membership_approval_mode".into(),
        },
        GroupChange::JoinRequestCreated { .. } => K::Other {
            what: "created_membership_requests".into(),
        },
        GroupChange::JoinRequestRevoked { .. } => K::Other {
            what: "revoked_membership_requests".into(),
        },
        GroupChange::NumberChanged(_) => K::Other {
            what: "modify".into(),
        },
        GroupChange::Suspended => K::Other {
            what: "suspended".into(),
        },
        GroupChange::Unsuspended => K::Other {
            what: "unsuspended".into(),
        },
        GroupChange::Unknown(node) => K::Other {
            what: node.tag.to_string(),
        },
        _ => K::Other {
            what: "unknown".into(),
        },
    }
}

/// The events of a `w:gp2` notification and the parsed notification (for the cache). A
/// notification that does not parse is logged and yields nothing (the engine acked it).
/// When other members left or were removed, our sender key for the group is rotated.
pub(crate) async fn handle<S: Store + ?Sized>(
    store: &S,
    device: &Device,
    node: &Node,
) -> Result<(Vec<Event>, Option<GroupNotification>)> {
    let notification = match parse_group_notification(node) {
        Ok(n) => n,
        Err(e) => {
            warn!(error = %e, "unusable group notification");
            return Ok((Vec::new(), None));
        }
    };
    let own: Vec<Jid> = [device.jid.clone(), device.lid.clone()]
        .into_iter()
        .flatten()
        .collect();
    let actor_is_us = [notification.actor.as_ref(), notification.actor_pn.as_ref()]
        .into_iter()
        .flatten()
        .any(|a| {
            own.iter()
                .any(|o| o.user() == a.user() && o.server() == a.server())
        });
    let mut events = Vec::with_capacity(notification.changes.len());
    let mut rotate = false;
    for change in &notification.changes {
        let kind = kind_of(change, &own, actor_is_us);
        rotate |= matches!(
            kind,
            GroupEventKind::ParticipantsRemoved { .. } | GroupEventKind::ParticipantsLeft { .. }
        );
        events.push(Event::Group(Box::new(GroupEvent {
            group: notification.group.to_string(),
            actor: notification.actor.as_ref().map(Jid::to_string),
            actor_pn: notification.actor_pn.as_ref().map(Jid::to_string),
            timestamp: notification.timestamp,
            change: kind,
        })));
    }
    if rotate {
        // Former members keep the key they were given; the next send makes a new one.
        for jid in &own {
            crate::group::rotate_sender_key(store, &notification.group, jid).await?;
        }
    }
    Ok((events, Some(notification)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_groups::ParticipantsChange;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn change(users: &[&str]) -> ParticipantsChange {
        ParticipantsChange {
            participants: users
                .iter()
                .map(|u| ParticipantRef {
                    jid: jid(u),
                    lid: None,
                    phone_number: None,
                })
                .collect(),
            reason: None,
            version_id: None,
            prev_version_id: None,
        }
    }

    #[test]
    fn changes_about_us_are_joined_and_left() {
        let own = [jid("1555:3@s.whatsapp.net"), jid("999:3@lid")];
        let added_us = GroupChange::Added(change(&["999@lid"]));
        assert_eq!(
            kind_of(&added_us, &own, false),
            GroupEventKind::Joined { subject: None }
        );
        let removed_us = GroupChange::Removed(change(&["1555@s.whatsapp.net"]));
        assert_eq!(
            kind_of(&removed_us, &own, false),
            GroupEventKind::Left { removed: true }
        );
        assert_eq!(
            kind_of(&removed_us, &own, true),
            GroupEventKind::Left { removed: false }
        );
        let other = GroupChange::Removed(change(&["777@lid"]));
        assert_eq!(
            kind_of(&other, &own, false),
            GroupEventKind::ParticipantsRemoved {
                participants: vec!["777@lid".into()]
            }
        );
    }

    #[test]
    fn events_serialize_with_a_kind_tag() {
        let ev = GroupEvent {
            group: "1203@g.us".into(),
            actor: None,
            actor_pn: None,
            timestamp: 5,
            change: GroupEventKind::Announce { on: true },
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert!(json.contains(r#""kind":"announce""#), "{json}");
        assert_eq!(serde_json::from_str::<GroupEvent>(&json).unwrap(), ev);
    }
}
