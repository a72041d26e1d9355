//! The sending half: our sender key for a group, its distribution to the devices that lack
//! it, and the `skmsg` (whatsmeow `sendGroup`, Baileys `relayMessage`'s group branch).
//!
//! One send reads the store three times (our sender-key record, the devices it was already
//! distributed to, the sessions of the devices that still need it, in one batch) and writes
//! one [`Changes`] batch: the advanced sender key, the advanced sessions and the devices now
//! holding the key. [`prepare_group_message`] returns that batch for the caller to commit with
//! its own writes; [`encrypt_group_message`] commits it.

use std::collections::{HashMap, HashSet};

use rand_core::CryptoRng;
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;
use wa_proto::proto::{self, message::SenderKeyDistributionMessage as SkdmProto};
use wa_signal::{PreKeyBundle, SenderKeyRecord, SessionRecord};
use wa_store::{Changes, Store};

use super::{GroupError, address, sender_key_name};
use crate::message::padding::pad;
use crate::message::{EncPayload, EncType};

/// What to encrypt for a group, and for whom.
#[derive(Clone, Copy, Debug)]
pub struct GroupMessage<'a> {
    /// The group (`…@g.us`) or status broadcast JID.
    pub group: &'a Jid,
    /// Our own device JID as the group addresses us (our LID device in LID-addressed groups):
    /// the sender-key record is named after it, and it gets no distribution message.
    pub own: &'a Jid,
    /// Every device of every participant (ours included), as the device lists report them.
    /// The `phash` is computed over this list.
    pub devices: &'a [Jid],
    /// The serialized `Message` (unpadded; it is padded here).
    pub plaintext: &'a [u8],
    /// Prekey bundles for devices without a session (after a [`GroupError::MissingSessions`]).
    pub bundles: &'a [(Jid, PreKeyBundle)],
}

/// One device's copy of our sender key: a `pkmsg` or `msg` whose plaintext is a padded
/// `Message { sender_key_distribution_message }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distribution {
    /// The device.
    pub device: Jid,
    /// The pairwise-encrypted distribution message.
    pub payload: EncPayload,
}

/// The encrypted parts of one group message, ready to become a `<message>` stanza.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSend {
    /// The `SenderKeyMessage` for `<enc type="skmsg">`.
    pub skmsg: Vec<u8>,
    /// Our sender key for every device that did not have it yet (empty on most sends).
    pub distribution: Vec<Distribution>,
    /// The participant hash of the device list (`phash`).
    pub phash: String,
    /// Whether our sender key was created by this send (first send, or after a rotation).
    pub new_sender_key: bool,
}

/// Attributes and extra children of a group `<message>` stanza.
#[derive(Clone, Copy, Debug)]
pub struct GroupStanza<'a> {
    /// The message id.
    pub id: &'a str,
    /// The `type` attribute (`text`, `media`, `reaction`, `poll`, …).
    pub kind: &'a str,
    /// `addressing_mode` (`lid` or `pn`), when the group states one.
    pub addressing_mode: Option<&'a str>,
    /// Our encoded `ADVSignedDeviceIdentity`, added as `<device-identity>` when a distribution
    /// payload is a `pkmsg` (the recipient needs it to trust a new session).
    pub device_identity: Option<&'a [u8]>,
}

impl GroupSend {
    /// Whether any distribution payload starts a new session (`pkmsg`).
    pub fn has_pre_key_message(&self) -> bool {
        self.distribution
            .iter()
            .any(|d| d.payload.kind == EncType::PreKey)
    }

    /// The `<message to=group>` stanza: `<participants>` with one `<to jid><enc/></to>` per
    /// distribution (when there is any), the `skmsg` `<enc v="2">`, and `<device-identity>`
    /// when a `pkmsg` is among the distributions.
    pub fn to_stanza(&self, group: &Jid, stanza: &GroupStanza<'_>) -> Node {
        let mut node = Node::new("message")
            .attr("id", stanza.id)
            .attr("to", group)
            .attr("type", stanza.kind)
            .attr("phash", self.phash.as_str())
            .attr_opt("addressing_mode", stanza.addressing_mode);
        if !self.distribution.is_empty() {
            let to = self.distribution.iter().map(|d| {
                let enc = Node::new("enc")
                    .attr("v", d.payload.version.to_string())
                    .attr("type", d.payload.kind.as_str())
                    .bytes(d.payload.ciphertext.clone())
                    .build();
                Node::new("to").attr("jid", &d.device).child(enc).build()
            });
            node = node.child(Node::new("participants").children(to).build());
        }
        node = node.child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", EncType::SenderKey.as_str())
                .bytes(self.skmsg.clone())
                .build(),
        );
        if let Some(identity) = stanza
            .device_identity
            .filter(|_| self.has_pre_key_message())
        {
            node = node.child(Node::new("device-identity").bytes(identity).build());
        }
        node.build()
    }
}

/// Whether a device can receive a sender key: not ours, and not a hosted (business API)
/// device, which Baileys leaves out of the distribution too.
fn wants_distribution(device: &Jid, own: &Jid) -> bool {
    device != own && !matches!(device.server(), Server::Hosted | Server::HostedLid)
}

/// Encrypts `message` for its group without committing: returns the encrypted parts and the
/// store writes that must be committed before the stanza is sent.
///
/// Creates our sender key for the group when there is none; sends it, pairwise-encrypted,
/// to every device in `devices` that the store does not record as holding it (all of them
/// when the key is new); encrypts the padded plaintext with it. A device without a session
/// and without a bundle in `message.bundles` makes the whole call fail with
/// [`GroupError::MissingSessions`] listing every such device, and nothing changes.
///
/// The devices are recorded as holding the key when the batch commits, before the server
/// accepts the stanza: if the send fails, call [`super::forget_distribution`].
pub async fn prepare_group_message<S, R>(
    store: &S,
    message: &GroupMessage<'_>,
    rng: &mut R,
) -> Result<(GroupSend, Changes), GroupError>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let GroupMessage {
        group,
        own,
        devices,
        ..
    } = *message;
    let name = sender_key_name(group, own);
    let mut record = store.sender_key(&name).await?.unwrap_or_default();
    let new_sender_key = record.is_empty();
    let skdm = record.create_distribution(rng);

    let stored = if new_sender_key {
        Vec::new()
    } else {
        store.sender_key_distribution(group).await?
    };
    let holding: HashSet<&Jid> = stored.iter().collect();
    let mut seen = HashSet::new();
    let targets: Vec<&Jid> = devices
        .iter()
        .filter(|d| wants_distribution(d, own) && !holding.contains(d) && seen.insert(*d))
        .collect();

    let mut changes = Changes::new();
    let mut distribution = Vec::with_capacity(targets.len());
    if !targets.is_empty() {
        let sessions = start_sessions(store, &targets, message.bundles, &mut changes, rng).await?;
        let skdm_plaintext = proto::Message {
            sender_key_distribution_message: Some(SkdmProto {
                group_id: Some(group.to_string()),
                axolotl_sender_key_distribution_message: Some(skdm.serialized().to_vec()),
            }),
            ..Default::default()
        }
        .encode_to_vec();
        for (device, mut session) in targets.iter().copied().zip(sessions) {
            let padded = pad(skdm_plaintext.clone(), rng);
            let ciphertext = session.encrypt(&padded)?;
            let kind = match ciphertext.wa_type() {
                "pkmsg" => EncType::PreKey,
                _ => EncType::Whisper,
            };
            changes.put_session(address(device), &session);
            distribution.push(Distribution {
                device: device.clone(),
                payload: EncPayload {
                    kind,
                    version: 2,
                    ciphertext: ciphertext.serialized().to_vec(),
                },
            });
        }
    }

    let skmsg = record
        .encrypt(&pad(message.plaintext.to_vec(), rng), rng)?
        .serialized()
        .to_vec();
    changes.put_sender_key(name, &record);
    if new_sender_key {
        changes.forget_sender_key_distribution(group.clone());
    }
    if !targets.is_empty() {
        changes.mark_sender_key_distributed(group.clone(), targets.into_iter().cloned());
    }
    let send = GroupSend {
        skmsg,
        distribution,
        phash: wa_groups::participant_hash_v2(devices),
        new_sender_key,
    };
    Ok((send, changes))
}

/// [`prepare_group_message`], then commits its writes: the stanza from
/// [`GroupSend::to_stanza`] may be sent once this returns.
pub async fn encrypt_group_message<S, R>(
    store: &S,
    message: &GroupMessage<'_>,
    rng: &mut R,
) -> Result<GroupSend, GroupError>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let (send, changes) = prepare_group_message(store, message, rng).await?;
    store.commit(changes).await?;
    Ok(send)
}

/// The session of every target, in order: stored ones, or new ones from the bundles (their
/// identity saved in `changes`, trusted on first use and on change, as whatsmeow does).
async fn start_sessions<S, R>(
    store: &S,
    targets: &[&Jid],
    bundles: &[(Jid, PreKeyBundle)],
    changes: &mut Changes,
    rng: &mut R,
) -> Result<Vec<SessionRecord>, GroupError>
where
    S: Store + ?Sized,
    R: CryptoRng + ?Sized,
{
    let addresses: Vec<_> = targets.iter().map(|d| address(d)).collect();
    let stored = store.sessions(&addresses).await?;
    let bundles: HashMap<String, &PreKeyBundle> =
        bundles.iter().map(|(j, b)| (j.to_string(), b)).collect();
    // Our identity is read only when a bundle is about to be used.
    let needs_identity = !bundles.is_empty()
        && (stored.iter()).any(|s| !s.as_ref().is_some_and(SessionRecord::has_current));
    let own_keys = if needs_identity {
        let d = store.device().await?;
        Some((d.identity_key, d.registration_id))
    } else {
        None
    };
    let mut missing = Vec::new();
    let mut sessions = Vec::with_capacity(targets.len());
    for ((device, address), session) in targets.iter().zip(addresses).zip(stored) {
        let session = session.filter(SessionRecord::has_current);
        let bundle = bundles.get(&device.to_string());
        match (session, bundle, own_keys.as_ref()) {
            (Some(session), _, _) => sessions.push(session),
            (None, Some(bundle), Some((identity, registration_id))) => {
                let bad = |source| GroupError::Bundle {
                    device: (*device).clone(),
                    source,
                };
                bundle.verify().map_err(bad)?;
                let mut session = SessionRecord::new();
                session
                    .initiate(identity, *registration_id, bundle, rng)
                    .map_err(bad)?;
                changes.put_identity(address, bundle.identity_key);
                sessions.push(session);
            }
            _ => missing.push((*device).clone()),
        }
    }
    if missing.is_empty() {
        Ok(sessions)
    } else {
        Err(GroupError::MissingSessions(missing))
    }
}

/// Makes a new sender key for `group` at our next send and sends it to every device again
/// (whatsmeow and WhatsApp Web do this when a member leaves or is removed, so a former member
/// cannot read later messages). `own` is our device JID as in [`GroupMessage::own`].
pub async fn rotate_sender_key<S: Store + ?Sized>(
    store: &S,
    group: &Jid,
    own: &Jid,
) -> Result<(), GroupError> {
    let mut changes = Changes::new();
    changes
        .put_sender_key(sender_key_name(group, own), &SenderKeyRecord::new())
        .forget_sender_key_distribution(group.clone());
    store.commit(changes).await?;
    Ok(())
}

/// Forgets which devices hold our sender key for `group`, so the next send distributes it to
/// every device again (after a failed send, or when the group's devices changed in a way the
/// device list does not show, e.g. a member re-registered a device).
pub async fn forget_distribution<S: Store + ?Sized>(
    store: &S,
    group: &Jid,
) -> Result<(), GroupError> {
    let mut changes = Changes::new();
    changes.forget_sender_key_distribution(group.clone());
    store.commit(changes).await?;
    Ok(())
}

/// Forgets that `devices` hold our sender key for `group` (their sessions were reset or they
/// asked for a retry), so the next send distributes it to them again.
pub async fn forget_distribution_to<S: Store + ?Sized>(
    store: &S,
    group: &Jid,
    devices: &[Jid],
) -> Result<(), GroupError> {
    let mut changes = Changes::new();
    changes.forget_sender_key_distribution_to(group.clone(), devices.iter().cloned());
    store.commit(changes).await?;
    Ok(())
}
