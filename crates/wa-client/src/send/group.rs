//! Sending to a group (whatsmeow `send.go` `sendGroup`): the participants from the cached
//! group metadata (fetched when missing), their device lists (the send module's cache, one
//! usync query for the rest), prekey bundles for devices that need our sender key but have
//! no session, the sender-key distribution and `skmsg` from [`crate::group`], the store
//! writes committed before the stanza leaves, and the server ack with its `phash`.
//!
//! A status post (`status@broadcast`) is the same sender-key send with the recipients given
//! instead of a group's members: [`SendOptions::status_recipients`], else those the account's
//! status privacy names ([`crate::status::recipients`]), always with our own account.
//!
//! A `phash` in the ack that differs from ours means our view of the group or of a device
//! list is stale: the cached metadata and device lists are dropped and the message is sent
//! once more with the same id to the refreshed device list (the server drops the duplicate
//! for devices that already had it, and devices it missed get our sender key).

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tracing::{debug, warn};
use wa_binary::{Jid, Server};
use wa_groups::{AddressingMode, GetGroupInfo, GroupInfo, IqRequest};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_store::OutgoingMessage;

use super::devices::same_device;
use super::{DEFAULT_ACK_TIMEOUT, SendOptions, SendResponse, message_type};
use crate::error::{Error, MessageError, Result};
use crate::group::{GroupError, GroupMessage, GroupStanza, prepare_group_message};
use crate::runtime::Client;

/// How many times a send is repeated after the server's `phash` disagreed with ours.
const PHASH_RESENDS: u32 = 1;

/// What one attempt of a group send produced.
struct Attempt {
    response: SendResponse,
    /// The server's `phash` differed from ours.
    stale: bool,
}

impl Client {
    /// The metadata of `group`: from the cache, else from the server (and cached).
    ///
    /// Fails with [`Error::Iq`] carrying the server's code when the server refuses (403 when
    /// we are not a member, 404 when there is no such group).
    pub async fn group_info(&self, group: &Jid) -> Result<Arc<GroupInfo>> {
        if let Some(info) = self.send.groups.get(group) {
            return Ok(info);
        }
        self.fetch_group_info(group).await
    }

    /// The metadata of `group` from the server, replacing the cached entry.
    pub async fn fetch_group_info(&self, group: &Jid) -> Result<Arc<GroupInfo>> {
        let request = GetGroupInfo {
            group: group.to_non_ad(),
        };
        let reply = self.send_iq(request.build(), None).await?;
        let info = request.parse(&reply)?;
        Ok(self.send.groups.insert(info))
    }

    /// Forgets the cached metadata of `group` (the next send fetches it again).
    pub fn invalidate_group_info(&self, group: &Jid) {
        self.send.groups.invalidate(group);
    }

    /// Makes our next send to `group` use a new sender key, distributed to every device that
    /// is then in the group (after members left or were removed). Both our phone-number and
    /// LID identities are rotated, whichever the group addresses us by.
    pub async fn rotate_group_sender_key(&self, group: &Jid) -> Result<()> {
        let store = self.send.store.as_ref();
        let device = store.device().await?;
        for own in [device.jid, device.lid].into_iter().flatten() {
            crate::group::rotate_sender_key(store, group, &own).await?;
        }
        Ok(())
    }

    /// Sends `message` to the group `to`; see [`Client::send_message_with`].
    pub(crate) async fn send_group_message(
        &self,
        to: Jid,
        message: Message,
        options: SendOptions,
    ) -> Result<SendResponse> {
        let group = to.to_non_ad();
        let id = options.id.unwrap_or_else(|| self.generate_message_id());
        let timeout = options.timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        let mut resends = 0;
        loop {
            let attempt = self
                .group_attempt(&group, &id, &message, timeout, None)
                .await?;
            if !attempt.stale || resends >= PHASH_RESENDS {
                return Ok(attempt.response);
            }
            resends += 1;
            debug!(%group, id, "participant hash differs from the server's; resending");
        }
    }

    /// The account's status privacy (who status posts go to), the setting in use first; all
    /// contacts when the server has none (404), as whatsmeow's `GetStatusPrivacy`.
    pub async fn status_privacy(&self) -> Result<Vec<crate::status::StatusPrivacy>> {
        match self.send_iq(crate::status::privacy_request(), None).await {
            Ok(reply) => Ok(crate::status::parse_privacy(&reply)?),
            Err(Error::Iq(crate::error::IqError::Server { code: 404, .. })) => {
                Ok(vec![crate::status::StatusPrivacy::default_contacts()])
            }
            Err(e) => Err(e),
        }
    }

    /// Posts `message` as a status to `options.status_recipients` (else as the status privacy
    /// says); see
    /// [`Client::send_message_with`]. Fails with [`MessageError::NoDevices`] when there is
    /// nobody to post to.
    pub(crate) async fn send_status_message(
        &self,
        message: Message,
        options: SendOptions,
    ) -> Result<SendResponse> {
        let status = Jid::new("status", Server::Broadcast);
        let recipients = match options.status_recipients {
            Some(list) => list,
            None => {
                let privacy = self.status_privacy().await?;
                let contacts = self.send.store.contacts().await?;
                crate::status::recipients(&privacy, &contacts)
            }
        };
        if recipients.is_empty() {
            return Err(MessageError::NoDevices.into());
        }
        let id = options.id.unwrap_or_else(|| self.generate_message_id());
        let timeout = options.timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        let attempt = self
            .group_attempt(&status, &id, &message, timeout, Some(&recipients))
            .await?;
        Ok(attempt.response)
    }

    /// One encryption and send of a sender-key message, and its ack: to the members of the
    /// group `group`, or, with `status_recipients`, a status post to them.
    async fn group_attempt(
        &self,
        group: &Jid,
        id: &str,
        message: &Message,
        timeout: std::time::Duration,
        status_recipients: Option<&[Jid]>,
    ) -> Result<Attempt> {
        let store = self.send.store.clone();
        let device = store.device().await?;
        let own_pn = device.jid.clone().ok_or(Error::NotPaired)?;
        self.send.set_own_user(own_pn.user());
        let (mut users, addressing_mode): (Vec<Jid>, Option<AddressingMode>) =
            match status_recipients {
                Some(list) => (list.iter().map(Jid::to_non_ad).collect(), None),
                None => {
                    let info = self.group_info(group).await?;
                    let users = info
                        .participants
                        .iter()
                        .map(|p| p.jid.to_non_ad())
                        .collect();
                    (users, info.addressing_mode.clone())
                }
            };
        let lid_mode = addressing_mode == Some(AddressingMode::Lid);
        let own = match (&device.lid, lid_mode) {
            (Some(lid), true) => lid.clone(),
            _ => own_pn.clone(),
        };
        let own_user = own.to_non_ad();
        // A recipient list may name someone twice; one device list query and one copy each.
        users.sort_unstable();
        users.dedup();
        if !users.contains(&own_user) {
            users.push(own_user.clone());
        }
        let mut devices = self.user_devices(&users).await?;
        // Our own device as the device list spells it, so it is recognized as ours.
        let own_device = devices
            .iter()
            .find(|d| same_device(d, &own))
            .cloned()
            .unwrap_or_else(|| own.clone());
        if !devices.contains(&own_device) {
            devices.push(own_device.clone());
        }
        let plaintext = message.encode_to_vec();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Config(format!("OS randomness: {e}")))?;
        let mut rng = ChaCha20Rng::from_seed(seed);

        let mut bundles = Vec::new();
        let mut fetched = false;
        let (guard, sent, mut changes) = loop {
            // Sessions and sender keys are read, advanced and committed, and the stanza
            // queued, under the send lock; bundle fetches (IQs) happen outside it.
            let guard = self.send.lock.lock().await;
            let request = GroupMessage {
                group,
                own: &own_device,
                devices: &devices,
                plaintext: &plaintext,
                bundles: &bundles,
            };
            match prepare_group_message(store.as_ref(), &request, &mut rng).await {
                Ok((sent, changes)) => break (guard, sent, changes),
                Err(GroupError::MissingSessions(missing)) if !fetched => {
                    drop(guard);
                    fetched = true;
                    let got = self.fetch_bundles(&missing).await;
                    for device in &missing {
                        if !got.contains_key(device) {
                            warn!(%device, %group, "no prekey bundle; leaving the device out");
                            devices.retain(|d| d != device);
                        }
                    }
                    bundles = got.into_iter().collect();
                }
                Err(e) => return Err(e.into()),
            }
        };
        changes.put_outgoing_message(OutgoingMessage {
            chat: group.clone(),
            id: id.to_owned(),
            payload: plaintext,
        });
        store.commit(changes).await?;
        let kind = message_type(message);
        let node = sent.to_stanza(
            group,
            &GroupStanza {
                id,
                kind,
                addressing_mode: addressing_mode.as_ref().map(AddressingMode::as_str),
                device_identity: device.account.as_deref(),
            },
        );
        let rx = self.queue_message(node, timeout)?;
        drop(guard);
        let ack = match rx.await.map_err(|_| Error::Stopped)? {
            Ok(ack) => ack,
            Err(e) => {
                // The devices recorded as holding our key may never have got it.
                if !sent.distribution.is_empty()
                    && let Err(f) = crate::group::forget_distribution(store.as_ref(), group).await
                {
                    warn!(%group, error = %f, "sender key distribution not forgotten");
                }
                if let MessageError::ServerAck {
                    code: 401 | 403 | 404,
                    ..
                } = e
                {
                    self.send.groups.invalidate(group);
                }
                return Err(e.into());
            }
        };
        let stale = ack.phash.as_ref().is_some_and(|p| *p != sent.phash);
        if stale {
            self.send.groups.invalidate(group);
            for user in &users {
                self.send.invalidate_devices(user);
            }
        }
        let targets = devices
            .into_iter()
            .filter(|d| *d != own_device && !matches!(d.server(), Server::Hosted))
            .collect();
        Ok(Attempt {
            response: SendResponse {
                id: id.to_owned(),
                timestamp: ack.timestamp,
                chat: group.clone(),
                sender: own_user,
                devices: targets,
            },
            stale,
        })
    }
}
