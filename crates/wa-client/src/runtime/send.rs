//! The send API of [`Client`]: `send_message` and its helpers (device lists, LID lookup,
//! prekey fetch). The steps are described in [`crate::send`].

use std::collections::HashMap;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tokio::sync::oneshot;
use tracing::{debug, warn};
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_signal::PreKeyBundle;
use wa_store::{OutgoingMessage, Transaction};

use super::{Client, Command, os_seed, unix_now};
use crate::engine::MessageAck;
use crate::error::{Error, MessageError, Result};
use crate::message::dsm;
use crate::send::devices::{devices_query, parse_devices_reply, same_device};
use crate::send::encrypt::{address, encrypt_for_device, to_node};
use crate::send::keys::{parse_prekey_reply, prekey_request};
use crate::send::{
    DEFAULT_ACK_TIMEOUT, SendOptions, SendResponse, Stanza, enc_attrs, generate_message_id,
    participant_list_hash,
};

/// Who a 1:1 message goes to and as whom it is sent.
struct Addressing {
    /// The chat the stanza names (the recipient's LID when known).
    chat: Jid,
    /// The recipient's phone number when `chat` is its LID.
    peer_pn: Option<Jid>,
    /// Our own user in the same addressing (LID or phone number), non-AD.
    own_user: Jid,
    /// A PN→LID mapping learned on the way: `(lid, pn)`.
    learned: Option<(Jid, Jid)>,
}

impl Client {
    /// A new message id in whatsmeow's format (`3EB0` + 18 uppercase hex digits).
    #[must_use]
    pub fn generate_message_id(&self) -> String {
        let mut random = [0u8; 16];
        if getrandom::fill(&mut random).is_err() {
            // Fall back to the time alone; ids then still differ by the clock and the counter.
            random[..8].copy_from_slice(&self.send.next_counter().to_be_bytes());
        }
        generate_message_id(unix_now(), &self.send.own_user(), &random)
    }

    /// Sends `message` to the 1:1 chat `to` (a phone-number or LID user) and waits for the
    /// server's ack. See [`Client::send_message_with`].
    pub async fn send_message(&self, to: Jid, message: Message) -> Result<SendResponse> {
        self.send_message_with(to, message, SendOptions::default())
            .await
    }

    /// Sends `message` to `to` with `options` (message id, ack timeout): device lists of the
    /// recipient and of our own account, prekeys for devices without a session, one `<enc>`
    /// per device (a `DeviceSentMessage` for our own other devices), the session writes and
    /// the outgoing-message cache committed before the stanza leaves, and the server ack
    /// awaited.
    ///
    /// Fails with [`MessageError::NoDevices`] / [`MessageError::NoSession`] when nothing
    /// could be encrypted, [`MessageError::PrivacyTokenRequired`] when the server wants a
    /// privacy token (463), [`MessageError::ServerAck`] for other refusals,
    /// [`MessageError::Timeout`] without an ack, and [`Error::NotPaired`] before pairing.
    pub async fn send_message_with(
        &self,
        to: Jid,
        message: Message,
        options: SendOptions,
    ) -> Result<SendResponse> {
        match to.server() {
            Server::User | Server::Lid => {}
            Server::Group => return self.send_group_message(to, message, options).await,
            Server::Broadcast if to.is_status_broadcast() => {
                return self.send_status_message(message, options).await;
            }
            other => {
                return Err(MessageError::Unsupported(format!(
                    "sending to {other} chats is not implemented"
                ))
                .into());
            }
        }
        let to = to.to_non_ad();
        let store = self.send.store.clone();
        let device = store.device().await?;
        let own_pn = device.jid.clone().ok_or(Error::NotPaired)?;
        let own_lid = device.lid.clone();
        self.send.set_own_user(own_pn.user());
        let id = options.id.unwrap_or_else(|| self.generate_message_id());
        let timeout = options.timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        let mut rng = ChaCha20Rng::from_seed(os_seed()?);

        // Network steps first, without the session lock: the driver that answers these IQs
        // takes the same lock to decrypt incoming messages.
        let addressing = self.addressing(&to, &own_pn, own_lid.as_ref()).await?;
        let chat = addressing.chat.clone();
        let mut users = vec![chat.clone()];
        if addressing.own_user != chat {
            users.push(addressing.own_user.clone());
        }
        let all = self.user_devices(&users).await?;
        let is_self = |d: &Jid| {
            same_device(d, &own_pn) || own_lid.as_ref().is_some_and(|l| same_device(d, l))
        };
        let phash = participant_list_hash(&all);
        let targets: Vec<Jid> = all.into_iter().filter(|d| !is_self(d)).collect();
        // A recipient without devices (not on WhatsApp) is an error even though our own
        // devices would get the copy.
        let recipient_has_devices =
            chat == addressing.own_user || targets.iter().any(|d| d.user() == chat.user());
        if targets.is_empty() || !recipient_has_devices {
            return Err(MessageError::NoDevices.into());
        }

        let addresses: Vec<_> = targets.iter().map(address).collect();
        let mut sessions = store.sessions(&addresses).await?;
        if let Some((lid, pn)) = &addressing.learned {
            // Sessions kept under the phone number move to the LID in this send's commit:
            // they count as present, so no bundle replaces them.
            for (session, device) in sessions.iter_mut().zip(&targets) {
                if session.is_none() && device.user() == lid.user() {
                    let old = pn.clone().with_device(device.device());
                    *session = store.session(&address(&old)).await?;
                }
            }
        }
        let missing: Vec<Jid> = targets
            .iter()
            .zip(&sessions)
            .filter(|(_, s)| s.as_ref().is_none_or(|s| !s.has_current()))
            .map(|(d, _)| d.clone())
            .collect();
        let bundles = self.fetch_bundles(&missing).await;

        // Sessions are read, advanced and committed, and the stanza queued, under the lock.
        let guard = self.send.lock.lock().await;

        let plaintext = message.encode_to_vec();
        let dsm_plaintext = dsm::wrap(&message, &chat.to_string()).encode_to_vec();
        let extra: Vec<(&'static str, String)> = enc_attrs(&message)
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        let own_users = [Some(own_pn.user()), own_lid.as_ref().map(Jid::user)];
        let mut txn = Transaction::new(store.as_ref());
        if let Some((lid, pn)) = &addressing.learned {
            txn.changes()
                .put_lid_mapping(lid.clone(), pn.clone())
                .migrate_pn_to_lid(pn.signal_address_user(), lid.signal_address_user());
        }
        let mut participants = Vec::with_capacity(targets.len());
        let mut encrypted_for = Vec::with_capacity(targets.len());
        let mut any_pkmsg = false;
        for device in &targets {
            let own = own_users.contains(&Some(device.user()));
            let pt = if own { &dsm_plaintext } else { &plaintext };
            let bundle = bundles.get(device);
            match encrypt_for_device(&txn, device, pt, bundle, &extra, &mut rng).await {
                Ok((enc, pkmsg)) => {
                    any_pkmsg |= pkmsg;
                    participants.push(to_node(device, enc));
                    encrypted_for.push(device.clone());
                }
                Err(e) => warn!(%device, error = %e, id, "not encrypting for this device"),
            }
        }
        if participants.is_empty() {
            return Err(MessageError::NoSession(chat.to_string()).into());
        }
        txn.changes().put_outgoing_message(OutgoingMessage {
            chat: chat.clone(),
            id: id.clone(),
            payload: plaintext,
        });
        txn.commit().await?;

        let tctoken = match store.privacy_token(&to).await? {
            Some(t) => Some(t.token),
            None if chat != to => store.privacy_token(&chat).await?.map(|t| t.token),
            None => None,
        };
        let node = Stanza {
            id: &id,
            chat: &chat,
            message: &message,
            participants,
            device_identity: if any_pkmsg {
                device.account.clone()
            } else {
                None
            },
            tctoken,
            peer_recipient_pn: addressing.peer_pn.clone(),
        }
        .build();
        let rx = self.queue_message(node, timeout)?;
        drop(guard);
        let ack = rx.await.map_err(|_| Error::Stopped)??;
        if let Some(server_phash) = &ack.phash
            && *server_phash != phash
        {
            debug!(%chat, "participant hash differs from the server's; refreshing device lists");
            self.send.invalidate_devices(&chat);
            self.send.invalidate_devices(&addressing.own_user);
        }
        Ok(SendResponse {
            id,
            timestamp: ack.timestamp,
            chat,
            sender: addressing.own_user,
            devices: encrypted_for,
        })
    }

    /// Forgets the cached device list of `user` (call on `<notification type="devices">`).
    pub fn invalidate_devices(&self, user: &Jid) {
        self.send.invalidate_devices(user);
    }

    /// The devices of `users` (AD JIDs), from the cache or one usync query for the rest.
    pub async fn user_devices(&self, users: &[Jid]) -> Result<Vec<Jid>> {
        let mut out = Vec::new();
        let mut query = Vec::new();
        for user in users {
            match self.send.cached_devices(user) {
                Some(devices) if !devices.is_empty() => out.extend(devices),
                _ => query.push(user.to_non_ad()),
            }
        }
        if !query.is_empty() {
            let sid = self.generate_message_id();
            let reply = self
                .send_iq(devices_query(&query, &sid, false), None)
                .await?;
            for user in parse_devices_reply(&reply)? {
                self.send.cache_devices(&user.user, user.devices.clone());
                out.extend(user.devices);
            }
        }
        Ok(out)
    }

    /// The LID of phone-number user `pn` according to the server (usync `<lid/>`), caching
    /// the device list that comes with it.
    async fn query_lid(&self, pn: &Jid) -> Result<Option<Jid>> {
        let sid = self.generate_message_id();
        let reply = self
            .send_iq(devices_query(std::slice::from_ref(pn), &sid, true), None)
            .await?;
        let mut lid = None;
        for user in parse_devices_reply(&reply)? {
            if user.user == pn.to_non_ad() {
                lid.clone_from(&user.lid);
            }
            if !user.devices.is_empty() {
                self.send.cache_devices(&user.user, user.devices);
            }
        }
        Ok(lid)
    }

    /// Picks the addressing of a send to `to` (whatsmeow `SendMessage`): a phone-number
    /// recipient goes to its LID when the store or the server knows one.
    async fn addressing(
        &self,
        to: &Jid,
        own_pn: &Jid,
        own_lid: Option<&Jid>,
    ) -> Result<Addressing> {
        let store = &self.send.store;
        let own_lid_user = own_lid.map(Jid::to_non_ad);
        if *to.server() == Server::Lid {
            return Ok(Addressing {
                chat: to.clone(),
                peer_pn: store.pn_for_lid(to).await?,
                own_user: own_lid_user.unwrap_or_else(|| own_pn.to_non_ad()),
                learned: None,
            });
        }
        let (lid, learned) = if to.user() == own_pn.user() {
            (own_lid_user.clone(), None)
        } else if let Some(lid) = store.lid_for_pn(to).await? {
            (Some(lid), None)
        } else {
            match self.query_lid(to).await? {
                Some(lid) => (Some(lid.clone()), Some((lid, to.clone()))),
                None => (None, None),
            }
        };
        Ok(match (lid, own_lid_user) {
            (Some(lid), Some(own)) => Addressing {
                chat: lid,
                peer_pn: Some(to.clone()),
                own_user: own,
                learned,
            },
            // Without a LID on either side, both stay on phone numbers.
            (_, _) => Addressing {
                chat: to.clone(),
                peer_pn: None,
                own_user: own_pn.to_non_ad(),
                learned,
            },
        })
    }

    /// Prekey bundles of `devices`; devices the server has none for are left out (logged).
    pub(crate) async fn fetch_bundles(&self, devices: &[Jid]) -> HashMap<Jid, PreKeyBundle> {
        let mut out = HashMap::new();
        if devices.is_empty() {
            return out;
        }
        let reply = match self.send_iq(prekey_request(devices), None).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, count = devices.len(), "prekey fetch failed");
                return out;
            }
        };
        match parse_prekey_reply(&reply) {
            Ok(list) => {
                for (jid, bundle) in list {
                    match bundle {
                        Ok(b) => {
                            out.insert(jid, b);
                        }
                        Err(e) => warn!(%jid, error = %e, "no prekey bundle"),
                    }
                }
            }
            Err(e) => warn!(error = %e, "unusable prekey reply"),
        }
        out
    }

    /// Queues a prebuilt `<message>` and returns where its ack will arrive.
    pub(crate) fn queue_message(
        &self,
        node: Node,
        timeout: Duration,
    ) -> Result<oneshot::Receiver<core::result::Result<MessageAck, MessageError>>> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SendMessage {
                node,
                timeout,
                reply,
            })
            .map_err(|_| Error::Stopped)?;
        Ok(rx)
    }
}

/// A [`Client`] the driver can rebuild without keeping its own command channel alive.
pub(super) type WeakHandle = (
    tokio::sync::mpsc::WeakUnboundedSender<Command>,
    wa_store::DeviceId,
    std::sync::Arc<crate::send::SendState>,
);

type AckReply = oneshot::Sender<core::result::Result<MessageAck, MessageError>>;

/// The driver's sends waiting for their ack.
#[derive(Default)]
pub(super) struct PendingSends {
    waiting: HashMap<crate::engine::SendToken, AckReply>,
}

impl PendingSends {
    /// Sends `node` through the engine and remembers who waits for its ack.
    pub(super) fn start(
        &mut self,
        engine: &mut crate::engine::Engine,
        node: &Node,
        timeout: Duration,
        reply: AckReply,
    ) {
        let token = engine.send_message(tokio::time::Instant::now().into_std(), node, timeout);
        self.waiting.insert(token, reply);
        self.deliver(engine);
    }

    /// Hands every finished send to its waiter.
    pub(super) fn deliver(&mut self, engine: &mut crate::engine::Engine) {
        while let Some((token, res)) = engine.poll_send_result() {
            if let Some(tx) = self.waiting.remove(&token) {
                let _ = tx.send(res);
            }
        }
    }

    /// Stops waiting for acks nobody waits for any more.
    pub(super) fn drop_abandoned(&mut self, engine: &mut crate::engine::Engine) {
        self.waiting.retain(|token, tx| {
            let waiting = !tx.is_closed();
            if !waiting {
                engine.cancel_send(*token);
            }
            waiting
        });
    }
}

impl<C: wa_store::Container> super::Driver<C> {
    /// Answers a retry receipt in its own task (it needs IQs the driver itself serves).
    pub(super) fn spawn_retry(&self, receipt: &Node) {
        let (weak, device_id, send) = &self.handle;
        let Some(commands) = weak.upgrade() else {
            return;
        };
        let client = Client {
            commands,
            device_id: *device_id,
            send: send.clone(),
        };
        let receipt = receipt.clone();
        tokio::spawn(async move {
            if let Err(e) = client.handle_retry_receipt(&receipt).await {
                warn!(error = %e, "retry receipt not answered");
            }
        });
    }
}
