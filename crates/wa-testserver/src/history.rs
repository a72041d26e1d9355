//! Downloadable history: conversations an admin seeded for an account
//! ([`crate::Admin::seed_history_for`]) become, on a companion's first login, one `RECENT`
//! history chunk that the simulated phone zlib-compresses, encrypts as history media
//! (`WhatsApp History Keys`, `md-msg-hist`) into the media store and announces with a second
//! `HistorySyncNotification` (`directPath`, `mediaKey`, hashes, length, chunk order, progress),
//! as WhatsApp's phone does after the inline bootstrap.
//!
//! The server also records the receipts companions send to their own phone (`hist_sync`,
//! `peer_msg`, …) so tests can check them ([`crate::Admin::phone_receipts_for`]).

use prost::Message as _;
use rand_core::CryptoRng;
use wa_binary::Node;
use wa_media::{MediaKeys, MediaType};
use wa_proto::proto::message::{HistorySyncNotification, ProtocolMessage, protocol_message};
use wa_proto::proto::{Conversation, HistorySync, Message};

use crate::error::Result;
use crate::state::{DeviceKey, ServerState};

/// `HistorySyncType::Recent`.
const RECENT: i32 = 3;

/// The chunk order of the downloadable chunk (the inline bootstrap is chunk 0).
pub const CHUNK_ORDER: u32 = 1;

/// How many receipts to the phone an account keeps (the oldest go first).
const MAX_PHONE_RECEIPTS: usize = 256;

/// A receipt a companion sent to its own account's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneReceipt {
    /// The companion that sent it.
    pub device: u16,
    /// The message id it acknowledges.
    pub id: String,
    /// Its `type` (`hist_sync`, `peer_msg`, …; empty when absent).
    pub kind: String,
}

/// The history chunk of `conversations` as the phone sends it: zlib-compressed `HistorySync`.
pub fn chunk_blob(conversations: &[Conversation]) -> Result<Vec<u8>> {
    let history = HistorySync {
        sync_type: RECENT,
        conversations: conversations.to_vec(),
        chunk_order: Some(CHUNK_ORDER),
        progress: Some(100),
        ..Default::default()
    };
    crate::phone_sync::zlib(&history.encode_to_vec())
}

/// Encrypts the seeded history of `device`'s account as history media, stores it in the
/// media store and returns the notification message announcing it; `None` when nothing is
/// seeded. With [`crate::state::Faults::corrupt_history_media`] one bit of the stored body is
/// flipped (so its hash and MAC fail).
pub(crate) fn downloadable_chunk<R: CryptoRng>(
    state: &mut ServerState,
    device: DeviceKey,
    now_ms: u64,
    rng: &mut R,
) -> Result<Option<Message>> {
    let Some(acct) = state.acct(device.account) else {
        return Ok(None);
    };
    if acct.history_seed.is_empty() {
        return Ok(None);
    }
    let blob = chunk_blob(&acct.history_seed)?;
    let oldest = acct
        .history_seed
        .iter()
        .flat_map(|c| &c.messages)
        .filter_map(|m| m.message.as_ref()?.message_timestamp)
        .min();
    let mut media_key = [0u8; 32];
    rng.fill_bytes(&mut media_key);
    let keys = MediaKeys::from_key(&media_key, MediaType::History);
    let encrypted = wa_media::encrypt(&keys, &blob);
    let direct_path = state.media.store(encrypted.body);
    if state.faults.corrupt_history_media {
        state.media.tamper(&direct_path);
    }
    let notification = HistorySyncNotification {
        file_sha256: Some(encrypted.info.file_sha256.to_vec()),
        file_length: Some(encrypted.info.file_length),
        media_key: Some(media_key.to_vec()),
        file_enc_sha256: Some(encrypted.info.file_enc_sha256.to_vec()),
        direct_path: Some(direct_path),
        sync_type: Some(RECENT),
        chunk_order: Some(CHUNK_ORDER),
        progress: Some(100),
        oldest_msg_in_chunk_timestamp_sec: oldest.and_then(|t| i64::try_from(t).ok()),
        ..Default::default()
    };
    tracing::debug!(
        account = device.account,
        device = device.device,
        at = now_ms,
        "phone stored a history chunk"
    );
    Ok(Some(Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::HistorySyncNotification as i32),
            history_sync_notification: Some(notification),
            ..Default::default()
        })),
        ..Default::default()
    }))
}

/// Records a receipt `device` sent to its own account's phone.
pub(crate) fn record_phone_receipt(state: &mut ServerState, device: DeviceKey, node: &Node) {
    let Some(a) = state.acct_mut(device.account) else {
        return;
    };
    let text = |k: &str| {
        node.attr(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    if a.phone_receipts.len() >= MAX_PHONE_RECEIPTS {
        a.phone_receipts.remove(0);
    }
    a.phone_receipts.push(PhoneReceipt {
        device: device.device,
        id: text("id"),
        kind: text("type"),
    });
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_media::Expected;
    use wa_noise::KeyPair;
    use wa_proto::proto::{HistorySyncMsg, WebMessageInfo};

    use super::*;
    use crate::phone::Phone;
    use crate::state::Account;

    fn state(rng: &mut ChaCha20Rng) -> ServerState {
        let account = Account {
            phone_number: "1555".into(),
            lid: "999".into(),
            push_name: "P".into(),
            created: 7,
        };
        ServerState::new(account, Phone::new(KeyPair::generate(rng)))
    }

    fn seed() -> Vec<Conversation> {
        vec![Conversation {
            id: "1666@s.whatsapp.net".into(),
            messages: vec![HistorySyncMsg {
                message: Some(WebMessageInfo {
                    message_timestamp: Some(42),
                    ..Default::default()
                }),
                msg_order_id: None,
            }],
            ..Default::default()
        }]
    }

    fn notification(m: &Message) -> HistorySyncNotification {
        m.protocol_message
            .as_ref()
            .unwrap()
            .history_sync_notification
            .clone()
            .unwrap()
    }

    #[test]
    fn the_seeded_chunk_is_stored_as_history_media_and_announced() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut state = state(&mut rng);
        let device = DeviceKey::new(0, 1);
        assert!(
            downloadable_chunk(&mut state, device, 0, &mut rng)
                .unwrap()
                .is_none()
        );
        state.accounts[0].history_seed = seed();
        let m = downloadable_chunk(&mut state, device, 0, &mut rng)
            .unwrap()
            .unwrap();
        let n = notification(&m);
        assert_eq!(
            (n.sync_type, n.chunk_order, n.progress),
            (Some(RECENT), Some(CHUNK_ORDER), Some(100))
        );
        assert_eq!(n.oldest_msg_in_chunk_timestamp_sec, Some(42));
        assert!(n.initial_hist_bootstrap_inline_payload.is_none());
        let body = state.media.blob(n.direct_path.as_deref().unwrap()).unwrap();
        let keys = MediaKeys::derive(n.media_key.as_deref().unwrap(), MediaType::History).unwrap();
        let expected = Expected::from_message(
            n.file_sha256.as_deref().unwrap(),
            n.file_enc_sha256.as_deref().unwrap(),
            n.file_length,
        )
        .unwrap();
        let blob = wa_media::decrypt(&keys, body, &expected).unwrap();
        assert_eq!(blob, chunk_blob(&seed()).unwrap());

        // With the fault on, the stored body no longer matches its hash.
        state.faults.corrupt_history_media = true;
        let m = downloadable_chunk(&mut state, device, 0, &mut rng)
            .unwrap()
            .unwrap();
        let n = notification(&m);
        let body = state.media.blob(n.direct_path.as_deref().unwrap()).unwrap();
        let keys = MediaKeys::derive(n.media_key.as_deref().unwrap(), MediaType::History).unwrap();
        let expected = Expected::from_message(
            n.file_sha256.as_deref().unwrap(),
            n.file_enc_sha256.as_deref().unwrap(),
            n.file_length,
        )
        .unwrap();
        assert!(wa_media::decrypt(&keys, body, &expected).is_err());
    }

    #[test]
    fn receipts_to_the_phone_are_recorded_and_bounded() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut state = state(&mut rng);
        let device = DeviceKey::new(0, 3);
        for i in 0..(MAX_PHONE_RECEIPTS + 5) {
            let r = Node::new("receipt")
                .attr("id", format!("M{i}"))
                .attr("type", "hist_sync")
                .build();
            record_phone_receipt(&mut state, device, &r);
        }
        let got = &state.accounts[0].phone_receipts;
        assert_eq!(got.len(), MAX_PHONE_RECEIPTS);
        assert_eq!(got[0].id, "M5");
        assert_eq!((got[0].device, got[0].kind.as_str()), (3, "hist_sync"));
    }
}
