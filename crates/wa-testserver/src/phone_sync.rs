//! What the simulated phone sends a companion on its first login, as Signal peer messages:
//! the app-state sync key share and an initial history-sync notification with a small inline
//! (zlib) history, both `protocolMessage`s from the account's own phone (device 0).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use prost::Message as _;
use rand_core::CryptoRng;
use wa_binary::Node;
use wa_proto::proto::message::{
    AppStateSyncKey, AppStateSyncKeyData, AppStateSyncKeyFingerprint, AppStateSyncKeyId,
    AppStateSyncKeyShare, HistorySyncNotification, ProtocolMessage, protocol_message,
};
use wa_proto::proto::{HistorySync, Message, PhoneNumberToLidMapping, Pushname};
use wa_signal::{IdentityKeyPair, KeyPair, PreKeyBundle, PrivateKey, PublicKey, SessionRecord};

use crate::error::{Error, Result};
use crate::state::{AccountState, DeviceKey, ServerState};

/// The phone's Signal registration id.
pub const PHONE_REGISTRATION_ID: u32 = 0x0A11;

/// `history_sync::HistorySyncType::InitialBootstrap`.
const INITIAL_BOOTSTRAP: i32 = 0;

/// An app-state sync key the phone shares with its companions.
#[derive(Clone, PartialEq, Eq)]
pub struct AppStateKey {
    /// Key id (6 bytes on WhatsApp).
    pub id: Vec<u8>,
    /// 32 bytes of key material.
    pub data: [u8; 32],
    /// Unix milliseconds at creation.
    pub timestamp: i64,
}

impl std::fmt::Debug for AppStateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStateKey")
            .field("id", &hex::encode(&self.id))
            .finish_non_exhaustive()
    }
}

impl AppStateKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(now_ms: u64, rng: &mut R) -> Self {
        let mut tail = [0u8; 4];
        rng.fill_bytes(&mut tail);
        let mut id = vec![0u8; 2];
        id.extend_from_slice(&tail);
        let mut data = [0u8; 32];
        rng.fill_bytes(&mut data);
        Self {
            id,
            data,
            timestamp: i64::try_from(now_ms).unwrap_or(i64::MAX),
        }
    }
}

fn phone_identity(state: &AccountState) -> Result<IdentityKeyPair> {
    let private = PrivateKey::from_slice(state.phone.identity().private_bytes().as_slice())
        .map_err(|e| Error::Protocol(format!("phone identity: {e}")))?;
    Ok(IdentityKeyPair(KeyPair::from_private(private)))
}

/// WhatsApp's random padding: 1–16 bytes, each equal to the count.
fn pad<R: CryptoRng + ?Sized>(mut plain: Vec<u8>, rng: &mut R) -> Vec<u8> {
    let n = (rng.next_u32() % 16 + 1) as u8;
    plain.extend(std::iter::repeat_n(n, usize::from(n)));
    plain
}

/// `data`, zlib-compressed (as WhatsApp compresses history blobs).
pub(crate) fn zlib(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// Encrypts `message` from the phone to companion `device` (starting a session from the
/// device's uploaded bundle if needed) and wraps it in a peer `<message>` stanza.
///
/// The caller records the change (the phone's session advanced) with [`ServerState::touch`].
pub fn peer_message<R: CryptoRng>(
    state: &mut AccountState,
    device: u16,
    message: &Message,
    now_ms: u64,
    rng: &mut R,
) -> Result<Node> {
    let identity = phone_identity(state)?;
    if !state.phone_sessions.contains_key(&device) {
        let d = state
            .devices
            .get_mut(&device)
            .ok_or_else(|| Error::UnknownDevice(device.to_string()))?;
        let (Some(registration_id), Some(skey)) = (d.registration_id, d.signed_pre_key.clone())
        else {
            return Err(Error::Protocol(format!(
                "device {device} has uploaded no prekeys"
            )));
        };
        let bundle = PreKeyBundle {
            registration_id,
            identity_key: PublicKey::from_raw(d.identity_key),
            signed_pre_key_id: skey.id,
            signed_pre_key: PublicKey::from_raw(skey.public),
            signed_pre_key_signature: skey.signature.to_vec(),
            pre_key: d
                .pre_keys
                .pop_first()
                .map(|(id, k)| (id, PublicKey::from_raw(k))),
        };
        let mut session = SessionRecord::new();
        session
            .initiate(&identity, PHONE_REGISTRATION_ID, &bundle, rng)
            .map_err(|e| Error::Protocol(format!("phone session with device {device}: {e}")))?;
        state.phone_sessions.insert(device, session);
    }
    let session = state
        .phone_sessions
        .get_mut(&device)
        .ok_or_else(|| Error::UnknownDevice(device.to_string()))?;
    let ct = session
        .encrypt(&pad(message.encode_to_vec(), rng))
        .map_err(|e| Error::Protocol(format!("phone encrypt: {e}")))?;
    let mut id = [0u8; 8];
    rng.fill_bytes(&mut id);
    Ok(Node::new("message")
        .attr("from", state.account.pn_jid(0))
        .attr("id", hex::encode_upper(id))
        .attr("type", "text")
        .attr("t", (now_ms / 1000).to_string())
        .attr("category", "peer")
        .child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", ct.wa_type())
                .bytes(ct.serialized().to_vec())
                .build(),
        )
        .build())
}

/// The first-login messages: the app-state key share and the history-sync notification
/// (whose inline history names every account of the server: push names and PN→LID mappings,
/// the device's own account first), then, when conversations were seeded for the account, a
/// second notification for a downloadable history chunk ([`crate::history`]).
pub fn first_login_messages<R: CryptoRng>(
    state: &mut ServerState,
    device: DeviceKey,
    now_ms: u64,
    rng: &mut R,
) -> Result<Vec<Node>> {
    let mut directory: Vec<crate::state::Account> = Vec::new();
    if let Some(a) = state.acct(device.account) {
        directory.push(a.account.clone());
    }
    directory.extend(
        state
            .accounts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != device.account)
            .map(|(_, a)| a.account.clone()),
    );
    let chunk = crate::history::downloadable_chunk(state, device, now_ms, rng)?;
    let acct = state
        .acct_mut(device.account)
        .ok_or_else(|| Error::UnknownDevice(format!("{device:?}")))?;
    let mut nodes = account_first_login(acct, device.device, &directory, now_ms, rng)?;
    if let Some(chunk) = chunk {
        nodes.push(peer_message(acct, device.device, &chunk, now_ms, rng)?);
    }
    state.touch();
    Ok(nodes)
}

fn account_first_login<R: CryptoRng>(
    state: &mut AccountState,
    device: u16,
    directory: &[crate::state::Account],
    now_ms: u64,
    rng: &mut R,
) -> Result<Vec<Node>> {
    if state.app_state_keys.is_empty() {
        state
            .app_state_keys
            .push(AppStateKey::generate(now_ms, rng));
    }
    let share = key_share(state, device, &[]);
    // A small inline history: push names and PN -> LID mappings of the accounts.
    let history = HistorySync {
        sync_type: INITIAL_BOOTSTRAP,
        chunk_order: Some(0),
        progress: Some(100),
        pushnames: directory
            .iter()
            .map(|account| Pushname {
                id: Some(account.pn_jid(0).to_string()),
                pushname: Some(account.push_name.clone()),
            })
            .collect(),
        phone_number_to_lid_mappings: directory
            .iter()
            .map(|account| PhoneNumberToLidMapping {
                pn_jid: Some(account.pn_jid(0).to_string()),
                lid_jid: Some(account.lid_jid(0).to_string()),
            })
            .collect(),
        ..Default::default()
    };
    let notification = Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::HistorySyncNotification as i32),
            history_sync_notification: Some(HistorySyncNotification {
                sync_type: Some(INITIAL_BOOTSTRAP),
                chunk_order: Some(0),
                progress: Some(100),
                initial_hist_bootstrap_inline_payload: Some(zlib(&history.encode_to_vec())?),
                ..Default::default()
            }),
            ..Default::default()
        })),
        ..Default::default()
    };
    Ok(vec![
        peer_message(state, device, &share, now_ms, rng)?,
        peer_message(state, device, &notification, now_ms, rng)?,
    ])
}

/// The phone's key share of the keys named in `ids` that it holds (all of them when `ids` is
/// empty), as it fingerprints them for `device`.
pub(crate) fn key_share(a: &AccountState, device: u16, ids: &[Vec<u8>]) -> Message {
    let key_index = a.devices.get(&device).map_or(0, |d| d.key_index);
    let keys = a
        .app_state_keys
        .iter()
        .filter(|k| ids.is_empty() || ids.contains(&k.id))
        .map(|k| AppStateSyncKey {
            key_id: Some(AppStateSyncKeyId {
                key_id: Some(k.id.clone()),
            }),
            key_data: Some(AppStateSyncKeyData {
                key_data: Some(k.data.to_vec()),
                fingerprint: Some(AppStateSyncKeyFingerprint {
                    raw_id: Some(0),
                    current_index: Some(key_index),
                    device_indexes: vec![0, key_index],
                }),
                timestamp: Some(k.timestamp),
            }),
        })
        .collect();
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::AppStateSyncKeyShare as i32),
            app_state_sync_key_share: Some(AppStateSyncKeyShare { keys }),
            ..Default::default()
        })),
        ..Default::default()
    }
}
