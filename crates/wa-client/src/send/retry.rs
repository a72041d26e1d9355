//! Answering a RECEIVED retry receipt (whatsmeow `retry.go` `handleRetryReceipt`).
//!
//! A device that could not decrypt one of our messages sends `<receipt type="retry">` with
//! `<retry count id t v/>`, its `<registration>` id and, from the second try on, a fresh
//! prekey bundle in `<keys>`. We take the message from the outgoing-message cache, rebuild the
//! session from the included keys (or fetch a bundle when we hold no session, or when the
//! count reached 2 and the session was not rebuilt within the hour), encrypt it again for
//! that one device (a `DeviceSentMessage` when the device is one of ours) and send it with the
//! same id and `<enc count=N>`. At most [`MAX_RETRIES_PER_MESSAGE`] - 1 answers per device
//! and message.
//!
//! A retry from a group member (`from` is the group, `participant` the device) means it could
//! not open our `skmsg`: the message goes to that device alone, pairwise, with the
//! distribution message of our current sender key attached.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tracing::debug;
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;
use wa_store::{OutgoingMessage, Transaction};

use super::encrypt::{address, encrypt_for_device};
use super::keys::bundle_from_node;
use super::{MAX_RETRIES_PER_MESSAGE, edit_attr, media_type, message_type};
use crate::error::{MessageError, Result};
use crate::message::dsm;
use crate::runtime::Client;

/// A session is rebuilt for a device's retries at most this often (whatsmeow
/// `recreateSessionTimeout`).
pub const RECREATE_SESSION_AFTER: Duration = Duration::from_secs(3600);

/// How long the resend waits for the server's ack.
pub const RESEND_ACK_TIMEOUT: Duration = Duration::from_secs(30);

fn retry_err(why: impl Into<String>) -> MessageError {
    MessageError::Retry(why.into())
}

/// What a retry receipt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryRequest {
    /// The device that asks (the `participant`, else `from`).
    pub(crate) sender: Jid,
    /// Where the answer goes (`from`).
    pub(crate) reply_to: Jid,
    /// The message id.
    pub(crate) id: String,
    /// The requester's retry count (1 on the first retry).
    pub(crate) count: u64,
    /// The original timestamp.
    pub(crate) timestamp: Option<u64>,
}

/// Reads the addressing and `<retry>` of a retry receipt.
pub(crate) fn parse_retry(receipt: &Node) -> Result<RetryRequest, MessageError> {
    let from = receipt
        .attr("from")
        .and_then(|v| v.as_jid())
        .cloned()
        .ok_or_else(|| retry_err("receipt without from"))?;
    let sender = receipt
        .attr("participant")
        .and_then(|v| v.as_jid())
        .cloned()
        .unwrap_or_else(|| from.clone());
    let retry = receipt
        .child("retry")
        .ok_or_else(|| retry_err("receipt without <retry>"))?;
    let mut r = retry.attr_reader();
    let id = r
        .optional_string("id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| retry_err("<retry> without id"))?
        .to_owned();
    Ok(RetryRequest {
        sender,
        reply_to: from,
        id,
        count: r.optional_u64("count").unwrap_or(1),
        timestamp: r.optional_u64("t"),
    })
}

/// `message` with the sender-key distribution of our current sender key in `group` (under
/// our LID or phone-number identity, whichever holds one), encoded.
async fn with_sender_key(
    store: &dyn wa_store::Store,
    group: &Jid,
    device: &wa_store::Device,
    mut message: Message,
) -> crate::Result<Vec<u8>> {
    for own in [device.lid.as_ref(), device.jid.as_ref()]
        .into_iter()
        .flatten()
    {
        let name = crate::group::sender_key_name(group, own);
        let Some(mut record) = store.sender_key(&name).await? else {
            continue;
        };
        if record.is_empty() {
            continue;
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| crate::Error::Config(format!("OS randomness: {e}")))?;
        let skdm = record.create_distribution(&mut ChaCha20Rng::from_seed(seed));
        message.sender_key_distribution_message =
            Some(wa_proto::proto::message::SenderKeyDistributionMessage {
                group_id: Some(group.to_string()),
                axolotl_sender_key_distribution_message: Some(skdm.serialized().to_vec()),
            });
        return Ok(message.encode_to_vec());
    }
    Err(retry_err(format!("no sender key of ours in {group} to resend with")).into())
}

impl Client {
    /// Answers a retry receipt: re-encrypts the cached message for the device that asked and
    /// sends it again with the same id. Errors say why it was not answered (unknown message,
    /// too many retries, unusable keys, encryption failure, not connected).
    pub(crate) async fn handle_retry_receipt(&self, receipt: &Node) -> crate::Result<()> {
        let req = parse_retry(receipt)?;
        let state = self.send.clone();
        let n = state.count_retry(&req.sender, &req.id);
        if n >= MAX_RETRIES_PER_MESSAGE {
            return Err(retry_err(format!(
                "dropping retry #{n} of {} from {}",
                req.id, req.sender
            ))
            .into());
        }
        let store = state.store.clone();
        let device = store.device().await?;
        let own_pn = device.jid.clone().ok_or(crate::Error::NotPaired)?;
        let own_users = [Some(own_pn.user()), device.lid.as_ref().map(Jid::user)];
        // Groups and status posts (`status@broadcast`) are both sender-key chats.
        let group = matches!(req.reply_to.server(), Server::Group | Server::Broadcast)
            .then(|| req.reply_to.clone());
        let from_me = group.is_none() && own_users.contains(&Some(req.sender.user()));

        // The chat the message was cached under: the group, the peer for its retries, the
        // `recipient` for our own devices' — in PN or LID form.
        let chat = if let Some(group) = &group {
            group.clone()
        } else if from_me {
            receipt
                .attr("recipient")
                .and_then(|v| v.as_jid())
                .map(Jid::to_non_ad)
                .ok_or_else(|| retry_err("own-device retry without recipient"))?
        } else {
            req.sender.to_non_ad()
        };
        let cached = self.find_outgoing(&chat, &req.id).await?.ok_or_else(|| {
            retry_err(format!("message {} to {chat} is not in the cache", req.id))
        })?;
        let message = Message::decode(cached.payload.as_slice())
            .map_err(|e| retry_err(format!("cached message does not decode: {e}")))?;
        let plaintext = if let Some(group) = &group {
            // The device lacks our sender key (that is why the skmsg failed): the message goes
            // to it pairwise with the key attached, as whatsmeow resends group messages.
            with_sender_key(store.as_ref(), group, &device, message.clone()).await?
        } else if from_me {
            dsm::wrap(&message, &cached.chat.to_string()).encode_to_vec()
        } else {
            cached.payload.clone()
        };

        // Sessions with a phone-number device live under its LID once one is known.
        let target = match req.sender.server() {
            Server::User => match store.lid_for_pn(&req.sender.to_non_ad()).await? {
                Some(lid) => lid.with_device(req.sender.device()),
                None => req.sender.clone(),
            },
            _ => req.sender.clone(),
        };

        let bundle = if receipt.child("keys").is_some() {
            Some(bundle_from_node(receipt)?)
        } else if self.should_recreate(&target, req.count).await? {
            debug!(device = %target, id = req.id, "fetching prekeys to answer a retry");
            let mut bundles = self.fetch_bundles(std::slice::from_ref(&target)).await;
            Some(
                bundles
                    .remove(&target)
                    .ok_or_else(|| retry_err(format!("no prekey bundle for {target}")))?,
            )
        } else {
            None
        };
        // Sessions are read, advanced and committed, and the resend queued, under the lock
        // (not held across the prekey fetch above: the driver answering it takes the lock).
        let guard = state.lock.lock().await;
        let mut extra: Vec<(&'static str, String)> = Vec::new();
        if let Some(m) = media_type(&message) {
            extra.push(("mediatype", m.to_owned()));
        }
        extra.push(("count", req.count.to_string()));
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| crate::Error::Config(format!("OS randomness: {e}")))?;
        let mut rng = ChaCha20Rng::from_seed(seed);
        let txn = Transaction::new(store.as_ref());
        let (enc, pkmsg) =
            encrypt_for_device(&txn, &target, &plaintext, bundle.as_ref(), &extra, &mut rng)
                .await?;
        txn.commit().await?;

        let mut node = Node::new("message")
            .attr("to", req.reply_to.clone())
            .attr("type", message_type(&message))
            .attr("id", req.id.clone())
            .attr_opt("t", req.timestamp.map(|t| t.to_string()));
        if receipt.attr("participant").is_none() {
            node = node.attr("device_fanout", "false");
        }
        node = node
            .attr_opt("participant", receipt.attr("participant").cloned())
            .attr_opt("recipient", receipt.attr("recipient").cloned())
            .attr_opt("edit", edit_attr(&message));
        let mut children = vec![enc];
        if pkmsg && let Some(identity) = device.account.clone() {
            children.push(Node::new("device-identity").bytes(identity).build());
        }
        // The resend is acked like any message; its ack is awaited so failures surface.
        let ack = self.queue_message(node.children(children).build(), RESEND_ACK_TIMEOUT)?;
        drop(guard);
        ack.await.map_err(|_| crate::Error::Stopped)??;
        debug!(id = req.id, device = %target, count = req.count, "answered a retry receipt");
        Ok(())
    }

    /// The cached outgoing message `id` of `chat`, looking under its PN and LID forms.
    async fn find_outgoing(&self, chat: &Jid, id: &str) -> crate::Result<Option<OutgoingMessage>> {
        let store = &self.send.store;
        if let Some(m) = store.outgoing_message(chat, id).await? {
            return Ok(Some(m));
        }
        let alt = match chat.server() {
            Server::User => store.lid_for_pn(chat).await?,
            Server::Lid => store.pn_for_lid(chat).await?,
            _ => None,
        };
        match alt {
            Some(alt) => Ok(store.outgoing_message(&alt, id).await?),
            None => Ok(None),
        }
    }

    /// Whether to fetch a fresh bundle for `device` (whatsmeow `shouldRecreateSession`): no
    /// session, or a second retry when the session was not rebuilt within the hour.
    async fn should_recreate(&self, device: &Jid, count: u64) -> crate::Result<bool> {
        let has_session = self
            .send
            .store
            .session(&address(device))
            .await?
            .is_some_and(|s| s.has_current());
        if !has_session {
            self.send.note_recreated(device);
            return Ok(true);
        }
        if count < 2 {
            return Ok(false);
        }
        Ok(self.send.recreate_due(device, RECREATE_SESSION_AFTER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(retry: Option<Node>) -> Node {
        let mut b = Node::new("receipt")
            .attr("from", "1555:2@s.whatsapp.net".parse::<Jid>().unwrap())
            .attr("type", "retry")
            .attr("id", "3EB0AA");
        if let Some(r) = retry {
            b = b.child(r);
        }
        b.build()
    }

    #[test]
    fn retry_receipts_parse() {
        let r = receipt(Some(
            Node::new("retry")
                .attr("count", "2")
                .attr("id", "3EB0AA")
                .attr("t", "1700000000")
                .attr("v", "1")
                .build(),
        ));
        let req = parse_retry(&r).unwrap();
        assert_eq!(req.id, "3EB0AA");
        assert_eq!(req.count, 2);
        assert_eq!(req.timestamp, Some(1_700_000_000));
        assert_eq!(req.sender, req.reply_to);
        assert_eq!(req.sender.device(), 2);
    }

    #[test]
    fn malformed_retry_receipts_are_typed_errors() {
        assert!(matches!(
            parse_retry(&receipt(None)),
            Err(MessageError::Retry(_))
        ));
        let no_id = receipt(Some(Node::new("retry").attr("count", "1").build()));
        assert!(matches!(parse_retry(&no_id), Err(MessageError::Retry(_))));
        let no_from = Node::new("receipt")
            .child(Node::new("retry").attr("id", "x").build())
            .build();
        assert!(matches!(parse_retry(&no_from), Err(MessageError::Retry(_))));
    }
}
