//! Retry receipts we send when a message does not decrypt (whatsmeow `retry.go`,
//! `sendRetryReceipt`): the sender encrypts the message again, on a new session built from the
//! keys we include from the second attempt on.

use std::collections::VecDeque;

use wa_store::hashing::FastMap;

use wa_binary::Node;
use wa_signal::PreKeyRecord;
use wa_store::Device;

use crate::error::MessageError;
use crate::payload;

/// Retry receipts sent per message id at most; later failures are only reported.
pub const MAX_RETRIES: u32 = 5;

/// How many message ids the counter remembers (oldest forgotten first).
const REMEMBERED_IDS: usize = 1024;

/// Retry receipts sent, per message id, bounded.
#[derive(Debug, Default)]
pub(crate) struct RetryCounter {
    counts: FastMap<String, u32>,
    order: VecDeque<String>,
}

impl RetryCounter {
    /// Counts one more retry receipt for `id`; `None` once [`MAX_RETRIES`] were sent.
    pub(crate) fn next(&mut self, id: &str) -> Option<u32> {
        let count = match self.counts.get_mut(id) {
            Some(c) => c,
            None => {
                if self.order.len() >= REMEMBERED_IDS
                    && let Some(old) = self.order.pop_front()
                {
                    self.counts.remove(&old);
                }
                self.order.push_back(id.to_owned());
                self.counts.entry(id.to_owned()).or_insert(0)
            }
        };
        if *count >= MAX_RETRIES {
            return None;
        }
        *count += 1;
        Some(*count)
    }

    /// How many retry receipts were sent for `id`.
    pub(crate) fn get(&self, id: &str) -> u32 {
        self.counts.get(id).copied().unwrap_or(0)
    }
}

/// Builds the retry receipt for a `<message>` stanza that did not decrypt:
/// `<receipt id type=retry to=from [recipient] [participant]><retry count id t v=1/>
/// <registration>` (4 bytes, big endian) and, when `pre_key` is given (from the second retry
/// on), `<keys>` with the key type, our identity, that one-time prekey, our signed prekey and
/// our signed device identity.
pub fn retry_receipt(
    stanza: &Node,
    count: u32,
    device: &Device,
    pre_key: Option<&PreKeyRecord>,
) -> Result<Node, MessageError> {
    let id = stanza
        .attr("id")
        .cloned()
        .ok_or_else(|| MessageError::Malformed("<message> without id".into()))?;
    let from = stanza
        .attr("from")
        .cloned()
        .ok_or_else(|| MessageError::Malformed("<message> without from".into()))?;
    let mut retry = Node::new("retry")
        .attr("count", count.to_string())
        .attr("id", id.clone());
    if let Some(t) = stanza.attr("t") {
        retry = retry.attr("t", t.clone());
    }
    let mut b = Node::new("receipt")
        .attr("id", id)
        .attr("type", "retry")
        .attr("to", from);
    for key in ["recipient", "participant"] {
        if let Some(v) = stanza.attr(key) {
            b = b.attr(key, v.clone());
        }
    }
    b = b.child(retry.attr("v", "1").build()).child(
        Node::new("registration")
            .bytes(device.registration_id.to_be_bytes().to_vec())
            .build(),
    );
    if let Some(key) = pre_key {
        let spk = &device.signed_pre_key;
        let keys = Node::new("keys")
            .child(
                Node::new("type")
                    .bytes(vec![payload::KEY_BUNDLE_TYPE])
                    .build(),
            )
            .child(
                Node::new("identity")
                    .bytes(device.identity_key.public().raw().to_vec())
                    .build(),
            )
            .child(payload::pre_key_node(key))
            .child(payload::signed_pre_key_node(spk))
            .child(
                Node::new("device-identity")
                    .bytes(device.account.clone().unwrap_or_default())
                    .build(),
            )
            .build();
        b = b.child(keys);
    }
    Ok(b.build())
}
