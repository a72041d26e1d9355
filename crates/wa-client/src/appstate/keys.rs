//! Asking the primary device for app-state keys this device lacks (whatsmeow
//! `requestMissingAppStateKeys`): a peer `<message>` to our own phone carrying a
//! `ProtocolMessage` of type `APP_STATE_SYNC_KEY_REQUEST`; the phone answers with a key share,
//! which the runtime stores before syncing again.

use rand_core::SeedableRng as _;
use wa_binary::{Jid, Node};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_proto::proto::message::{
    AppStateSyncKeyId, AppStateSyncKeyRequest, ProtocolMessage, protocol_message,
};
use wa_store::Transaction;

use crate::error::{Error, Result};
use crate::runtime::Client;
use crate::send::encrypt::encrypt_for_device;

/// The key request message for `key_ids`.
pub(crate) fn key_request(key_ids: &[Vec<u8>]) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::AppStateSyncKeyRequest as i32),
            app_state_sync_key_request: Some(AppStateSyncKeyRequest {
                key_ids: key_ids
                    .iter()
                    .map(|id| AppStateSyncKeyId {
                        key_id: Some(id.clone()),
                    })
                    .collect(),
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The peer `<message>` around `enc`, to our phone.
pub(crate) fn peer_stanza(phone: &Jid, id: &str, enc: Node) -> Node {
    Node::new("message")
        .attr("to", phone.clone())
        .attr("id", id)
        .attr("type", "text")
        .attr("category", "peer")
        .attr("push_priority", "high_force")
        .child(enc)
        .build()
}

impl Client {
    /// Asks our primary phone for the app-state keys `key_ids` (a peer message over the Signal
    /// session it started with us). The key share it answers with is stored by the runtime,
    /// which then syncs every collection again.
    pub async fn request_app_state_keys(&self, key_ids: &[Vec<u8>]) -> Result<()> {
        let store = self.send.store.clone();
        let device = store.device().await?;
        let own = device.jid.ok_or(Error::NotPaired)?;
        let phone = own.to_non_ad();
        let plaintext = key_request(key_ids).encode_to_vec();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Config(format!("OS randomness: {e}")))?;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let enc = {
            let _sessions = self.send.lock.lock().await;
            let txn = Transaction::new(store.as_ref());
            let (enc, _) =
                encrypt_for_device(&txn, &phone, &plaintext, None, &[], &mut rng).await?;
            txn.commit().await?;
            enc
        };
        let id = self.generate_message_id();
        self.send_node(peer_stanza(&phone, &id, enc)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_keys_and_goes_to_the_phone_as_peer() {
        let m = key_request(&[vec![1, 2], vec![3]]);
        let pm = m.protocol_message.unwrap();
        assert_eq!(
            pm.r#type,
            Some(protocol_message::Type::AppStateSyncKeyRequest as i32)
        );
        let ids: Vec<_> = pm
            .app_state_sync_key_request
            .unwrap()
            .key_ids
            .into_iter()
            .map(|k| k.key_id.unwrap())
            .collect();
        assert_eq!(ids, [vec![1, 2], vec![3]]);
        let phone: Jid = "15551234567@s.whatsapp.net".parse().unwrap();
        let n = peer_stanza(&phone, "ID1", Node::new("enc").build());
        assert_eq!(n.attr("category").unwrap().as_str(), Some("peer"));
        assert_eq!(n.attr("to").unwrap().as_jid(), Some(&phone));
        assert!(n.child("enc").is_some());
    }
}
