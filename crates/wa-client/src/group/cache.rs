//! A cache of group metadata ([`GroupInfo`]) kept current by `w:gp2` notifications.
//!
//! A group send needs the participant list (and the addressing mode) of the group; asking the
//! server for it on every send costs a round trip, so it is cached. Notifications that change
//! settings, subject, description or admins update the cached entry in place; those that
//! change who is in the group drop it (the next send fetches it again), and
//! [`NotificationEffect::rotate_sender_key`] says when our sender key must be replaced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wa_binary::Jid;
use wa_groups::{GroupChange, GroupDescription, GroupInfo, GroupNotification, GroupParticipant};

/// How many groups a cache keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 1_024;

/// What a notification did to the cache and means for our sender key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotificationEffect {
    /// The cached entry was dropped; the next send must fetch the group again.
    pub invalidated: bool,
    /// The cached entry was changed in place.
    pub updated: bool,
    /// Members left or were removed: rotate our sender key for the group
    /// ([`super::rotate_sender_key`]) so they cannot read later messages.
    pub rotate_sender_key: bool,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Jid, (u64, Arc<GroupInfo>)>,
    seq: u64,
}

/// A bounded, thread-safe map from group JID to its [`GroupInfo`]. When full, inserting
/// drops the entry inserted longest ago.
#[derive(Debug)]
pub struct GroupInfoCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for GroupInfoCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl GroupInfoCache {
    /// An empty cache holding at most `capacity` groups (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map stays consistent even if a holder panicked: every update is one insert or
        // remove.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached info of `group`.
    pub fn get(&self, group: &Jid) -> Option<Arc<GroupInfo>> {
        self.lock().entries.get(group).map(|(_, i)| Arc::clone(i))
    }

    /// Caches `info` (replacing an older entry of the same group) and returns it shared.
    pub fn insert(&self, info: GroupInfo) -> Arc<GroupInfo> {
        let info = Arc::new(info);
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        inner
            .entries
            .insert(info.jid.clone(), (seq, Arc::clone(&info)));
        while inner.entries.len() > self.capacity {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, (s, _))| *s)
                .map(|(j, _)| j.clone());
            match oldest {
                Some(j) => inner.entries.remove(&j),
                None => break,
            };
        }
        info
    }

    /// Drops the entry of `group`; returns whether there was one.
    pub fn invalidate(&self, group: &Jid) -> bool {
        self.lock().entries.remove(group).is_some()
    }

    /// Drops every entry (after a reconnect that may have missed notifications).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    /// How many groups are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no group is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies a parsed `w:gp2` notification to the entry of its group.
    pub fn apply(&self, notification: &GroupNotification) -> NotificationEffect {
        let rotate_sender_key = notification
            .changes
            .iter()
            .any(|c| matches!(c, GroupChange::Removed(_) | GroupChange::Left(_)));
        let mut inner = self.lock();
        let Some((_, entry)) = inner.entries.get_mut(&notification.group) else {
            return NotificationEffect {
                rotate_sender_key,
                ..Default::default()
            };
        };
        let mut info = GroupInfo::clone(entry);
        let mut updated = false;
        for change in &notification.changes {
            if !update(&mut info, notification, change) {
                inner.entries.remove(&notification.group);
                return NotificationEffect {
                    invalidated: true,
                    updated: false,
                    rotate_sender_key,
                };
            }
            updated = true;
        }
        *entry = Arc::new(info);
        NotificationEffect {
            invalidated: false,
            updated,
            rotate_sender_key,
        }
    }
}

/// Updates `info` for one change; false when the entry cannot be kept (membership changed).
fn update(info: &mut GroupInfo, n: &GroupNotification, change: &GroupChange) -> bool {
    match change {
        GroupChange::Subject {
            subject,
            set_at,
            set_by,
            set_by_pn,
        } => {
            info.subject.clone_from(subject);
            info.subject_set_at = Some(*set_at);
            info.subject_set_by.clone_from(set_by);
            info.subject_set_by_pn.clone_from(set_by_pn);
        }
        GroupChange::Description { text, id } => {
            info.description = text.as_ref().map(|text| GroupDescription {
                text: text.clone(),
                id: id.clone(),
                set_by: n.actor.clone(),
                set_by_pn: n.actor_pn.clone(),
                set_at: Some(n.timestamp),
            });
        }
        GroupChange::Announce { on, version_id } => {
            info.announce = *on;
            info.announce_version_id.clone_from(version_id);
        }
        GroupChange::Locked(on) => info.locked = *on,
        GroupChange::Ephemeral(timer) => info.ephemeral_timer = *timer,
        GroupChange::MemberAddMode(mode) => info.member_add_mode = Some(mode.clone()),
        GroupChange::JoinApproval(on) => info.join_approval_required = *on,
        GroupChange::InviteReset { .. }
        | GroupChange::JoinRequestCreated { .. }
        | GroupChange::JoinRequestRevoked { .. } => {}
        GroupChange::Promoted(p) | GroupChange::Demoted(p) => {
            let admin = matches!(change, GroupChange::Promoted(_));
            for r in &p.participants {
                let Some(member) = find_mut(&mut info.participants, &r.jid) else {
                    return false;
                };
                member.is_admin = admin;
                if !admin {
                    member.is_super_admin = false;
                }
            }
            if p.version_id.is_some() {
                info.participant_version_id.clone_from(&p.version_id);
            }
        }
        // Membership, links, deletion, suspension and unknown changes: fetch again.
        _ => return false,
    }
    true
}

fn find_mut<'a>(
    members: &'a mut [GroupParticipant],
    jid: &Jid,
) -> Option<&'a mut GroupParticipant> {
    let bare = jid.to_non_ad();
    members.iter_mut().find(|p| {
        p.jid.to_non_ad() == bare
            || p.lid.as_ref().is_some_and(|l| l.to_non_ad() == bare)
            || p.phone_number
                .as_ref()
                .is_some_and(|n| n.to_non_ad() == bare)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_groups::{ParticipantRef, ParticipantsChange};

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn member(user: &str) -> GroupParticipant {
        GroupParticipant {
            jid: jid(&format!("{user}@s.whatsapp.net")),
            lid: None,
            phone_number: None,
            display_name: None,
            is_admin: false,
            is_super_admin: false,
            error: None,
            add_request: None,
        }
    }

    fn group(n: u32) -> GroupInfo {
        GroupInfo {
            jid: jid(&format!("12036300000000{n}@g.us")),
            subject: "old".into(),
            participants: vec![member("1"), member("2")],
            ..Default::default()
        }
    }

    fn notification(group: &Jid, changes: Vec<GroupChange>) -> GroupNotification {
        GroupNotification {
            id: Some("n1".into()),
            group: group.clone(),
            actor: Some(jid("1@s.whatsapp.net")),
            actor_pn: None,
            notify: None,
            timestamp: 1_700_000_000,
            changes,
        }
    }

    fn participants(users: &[&str]) -> ParticipantsChange {
        ParticipantsChange {
            participants: users
                .iter()
                .map(|u| ParticipantRef {
                    jid: jid(&format!("{u}@s.whatsapp.net")),
                    lid: None,
                    phone_number: None,
                })
                .collect(),
            reason: None,
            version_id: Some("v2".into()),
            prev_version_id: None,
        }
    }

    #[test]
    fn settings_update_in_place_and_membership_invalidates() {
        let cache = GroupInfoCache::default();
        let g = cache.insert(group(1)).jid.clone();
        let effect = cache.apply(&notification(
            &g,
            vec![
                GroupChange::Subject {
                    subject: "new".into(),
                    set_at: 5,
                    set_by: None,
                    set_by_pn: None,
                },
                GroupChange::Announce {
                    on: true,
                    version_id: None,
                },
                GroupChange::Ephemeral(Some(86_400)),
                GroupChange::Promoted(participants(&["2"])),
                GroupChange::Description {
                    text: Some("about".into()),
                    id: "d1".into(),
                },
            ],
        ));
        assert_eq!(
            effect,
            NotificationEffect {
                updated: true,
                ..Default::default()
            }
        );
        let info = cache.get(&g).unwrap();
        assert_eq!(info.subject, "new");
        assert_eq!(info.subject_set_at, Some(5));
        assert!(info.announce);
        assert_eq!(info.ephemeral_timer, Some(86_400));
        assert!(info.participants[1].is_admin && !info.participants[0].is_admin);
        assert_eq!(info.participant_version_id.as_deref(), Some("v2"));
        let d = info.description.as_ref().unwrap();
        assert_eq!((d.text.as_str(), d.set_at), ("about", Some(1_700_000_000)));

        // Someone joined: the participant list is stale, no rotation needed.
        let effect = cache.apply(&notification(
            &g,
            vec![GroupChange::Added(participants(&["3"]))],
        ));
        assert!(effect.invalidated && !effect.rotate_sender_key);
        assert!(cache.get(&g).is_none());

        // A removal rotates our key, cached or not.
        cache.insert(group(1));
        let effect = cache.apply(&notification(
            &g,
            vec![GroupChange::Removed(participants(&["2"]))],
        ));
        assert!(effect.invalidated && effect.rotate_sender_key);
        let effect = cache.apply(&notification(
            &g,
            vec![GroupChange::Left(participants(&["1"]))],
        ));
        assert!(!effect.invalidated && effect.rotate_sender_key);
    }

    #[test]
    fn unknown_admin_invalidates_and_capacity_evicts_oldest() {
        let cache = GroupInfoCache::new(2);
        let g1 = cache.insert(group(1)).jid.clone();
        let effect = cache.apply(&notification(
            &g1,
            vec![GroupChange::Demoted(participants(&["9"]))],
        ));
        assert!(effect.invalidated);
        let g1 = cache.insert(group(1)).jid.clone();
        let g2 = cache.insert(group(2)).jid.clone();
        let g3 = cache.insert(group(3)).jid.clone();
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&g1).is_none());
        assert!(cache.get(&g2).is_some() && cache.get(&g3).is_some());
        assert!(cache.invalidate(&g2) && !cache.invalidate(&g2));
        cache.clear();
        assert!(cache.is_empty());
    }
}
