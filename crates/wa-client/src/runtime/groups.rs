//! Group management on [`Client`] (whatsmeow `group.go`): thin wrappers that send a
//! [`wa_groups`] request with [`Client::send_iq`] and parse its reply. Any other
//! [`IqRequest`] can be sent with [`Client::group_request`].
//!
//! Requests that change who is in a group drop its cached metadata, so the next group send
//! fetches the new participant list. A server refusal is [`Error::Iq`] with the server's code
//! (403 not an admin or not a member, 404 no such group, 406 bad subject, …).

use wa_binary::Jid;
use wa_groups::{
    CreateGroup, GetGroupFromLink, GetInviteCode, GetJoinedGroups, GetSubGroups, GroupInfo,
    GroupLinkTarget, IqRequest, JoinResult, JoinWithLink, LeaveGroups, LinkGroups,
    ParticipantAction, ParticipantResult, ParticipantSpec, SetAnnounce, SetDescription, SetLocked,
    SetSubject, UnlinkGroups, UpdateParticipants, invite_code,
};

use super::Client;
use crate::error::Result;

impl Client {
    /// Sends any group request and parses its reply.
    pub async fn group_request<R: IqRequest>(&self, request: &R) -> Result<R::Response> {
        let reply = self.send_iq(request.build(), None).await?;
        Ok(request.parse(&reply)?)
    }

    /// Sends a request that changes `group`, then drops the cached metadata (it is stale).
    async fn group_change<R: IqRequest>(&self, group: &Jid, request: &R) -> Result<()> {
        self.group_request(request).await?;
        self.send.groups.invalidate(group);
        Ok(())
    }

    /// Creates a group (or a community, see [`CreateGroup::community`]); the new group's
    /// metadata is cached and returned.
    pub async fn create_group(&self, request: &CreateGroup) -> Result<GroupInfo> {
        let info = self.group_request(request).await?;
        self.send.groups.insert(info.clone());
        Ok(info)
    }

    /// Every group we are in, with members; the cache is refreshed with them.
    pub async fn joined_groups(&self) -> Result<Vec<GroupInfo>> {
        let groups = self.group_request(&GetJoinedGroups).await?;
        for info in &groups {
            self.send.groups.insert(info.clone());
        }
        Ok(groups)
    }

    /// Adds, removes, promotes or demotes `participants`; one result per participant (a
    /// non-200 `code` is a per-participant refusal).
    pub async fn update_participants(
        &self,
        group: &Jid,
        action: ParticipantAction,
        participants: &[Jid],
    ) -> Result<Vec<ParticipantResult>> {
        let request = UpdateParticipants::new(
            group.to_non_ad(),
            action,
            participants.iter().cloned().map(ParticipantSpec::new),
        );
        let result = self.group_request(&request).await;
        self.send.groups.invalidate(group);
        let removed = result
            .as_ref()
            .is_ok_and(|r| r.iter().any(ParticipantResult::is_ok));
        if action == ParticipantAction::Remove && removed {
            // Removed members must not read our later messages.
            self.rotate_group_sender_key(group).await?;
        }
        result
    }

    /// Leaves `group`.
    pub async fn leave_group(&self, group: &Jid) -> Result<()> {
        self.group_change(group, &LeaveGroups::one(group.to_non_ad()))
            .await
    }

    /// Changes the subject of `group`.
    pub async fn set_group_subject(&self, group: &Jid, subject: &str) -> Result<()> {
        self.group_change(
            group,
            &SetSubject {
                group: group.to_non_ad(),
                subject: subject.to_owned(),
            },
        )
        .await
    }

    /// Sets (or with an empty `text`, deletes) the description of `group`. `prev` is the id
    /// of the description being replaced, from [`GroupInfo::description`].
    pub async fn set_group_description(
        &self,
        group: &Jid,
        text: &str,
        prev: Option<&str>,
    ) -> Result<()> {
        self.group_change(
            group,
            &SetDescription {
                group: group.to_non_ad(),
                text: text.to_owned(),
                id: self.generate_message_id(),
                prev: prev.map(str::to_owned),
            },
        )
        .await
    }

    /// Turns announce mode (only admins send) on or off.
    pub async fn set_group_announce(&self, group: &Jid, announce: bool) -> Result<()> {
        self.group_change(
            group,
            &SetAnnounce {
                group: group.to_non_ad(),
                announce,
            },
        )
        .await
    }

    /// Turns locked mode (only admins edit the group info) on or off.
    pub async fn set_group_locked(&self, group: &Jid, locked: bool) -> Result<()> {
        self.group_change(
            group,
            &SetLocked {
                group: group.to_non_ad(),
                locked,
            },
        )
        .await
    }

    /// The invite link of `group` (`https://chat.whatsapp.com/CODE`); with `reset` the old
    /// link stops working and a new one is returned.
    pub async fn group_invite_link(&self, group: &Jid, reset: bool) -> Result<String> {
        let code = self
            .group_request(&GetInviteCode {
                group: group.to_non_ad(),
                reset,
            })
            .await?;
        Ok(wa_groups::invite_link(&code))
    }

    /// The group an invite link (or bare code) leads to, without joining.
    pub async fn group_info_from_link(&self, link: &str) -> Result<GroupInfo> {
        self.group_request(&GetGroupFromLink {
            code: invite_code(link).to_owned(),
        })
        .await
    }

    /// Joins the group of an invite link (or bare code).
    pub async fn join_group_with_link(&self, link: &str) -> Result<JoinResult> {
        let result = self
            .group_request(&JoinWithLink {
                code: invite_code(link).to_owned(),
            })
            .await?;
        if let JoinResult::Joined(group) = &result {
            self.send.groups.invalidate(group);
        }
        Ok(result)
    }

    /// Links existing groups into `community`.
    pub async fn link_groups(&self, community: &Jid, groups: &[Jid]) -> Result<()> {
        self.group_request(&LinkGroups {
            community: community.to_non_ad(),
            groups: groups.to_vec(),
        })
        .await?;
        for group in groups {
            self.send.groups.invalidate(group);
        }
        Ok(())
    }

    /// Unlinks groups from `community`.
    pub async fn unlink_groups(&self, community: &Jid, groups: &[Jid]) -> Result<()> {
        self.group_request(&UnlinkGroups {
            community: community.to_non_ad(),
            groups: groups.to_vec(),
        })
        .await?;
        for group in groups {
            self.send.groups.invalidate(group);
        }
        Ok(())
    }

    /// The groups linked into `community`.
    pub async fn sub_groups(&self, community: &Jid) -> Result<Vec<GroupLinkTarget>> {
        self.group_request(&GetSubGroups {
            community: community.to_non_ad(),
        })
        .await
    }
}
