//! What the store's event buffer holds for one decrypted message.
//!
//! [`wa_store::BufferedEvent`] keeps opaque plaintext bytes under the ciphertext's hash. To
//! re-emit a full [`MessageEvent`] after a restart we keep more than the protobuf: the
//! envelope is the original `<message>` stanza's attributes (so [`MessageInfo::parse`] runs
//! again and gives the same info) with one `<plaintext>` child carrying the decoded message
//! bytes, the retry count and whether it came wrapped in `DeviceSentMessage`, all encoded with
//! WhatsApp's binary XML.

use sha2::{Digest, Sha256};
use wa_binary::{Content, Jid, Node, decode_frame, marshal};
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;

use crate::error::MessageError;
use crate::event::MessageEvent;
use crate::message::MessageInfo;

const PLAINTEXT: &str = "plaintext";

/// The buffer key of a ciphertext: its SHA-256.
pub(crate) fn hash(ciphertext: &[u8]) -> [u8; 32] {
    Sha256::digest(ciphertext).into()
}

/// Encodes a decrypted message for the event buffer.
pub(crate) fn encode(stanza: &Node, event: &MessageEvent) -> Vec<u8> {
    let plaintext = Node::new(PLAINTEXT)
        .attr("retry", event.retry_count.to_string())
        .attr(
            "dsm",
            if event.unwrapped_from_device_sent {
                "1"
            } else {
                "0"
            },
        )
        .bytes(event.message.encode_to_vec())
        .build();
    let envelope = Node {
        tag: "message".into(),
        attrs: stanza.attrs.clone(),
        content: Content::Nodes(vec![plaintext]),
    };
    marshal(&envelope)
}

/// Decodes a buffered envelope back into the event (`from_buffer` set).
pub(crate) fn decode(
    bytes: &[u8],
    own_pn: &Jid,
    own_lid: Option<&Jid>,
) -> Result<MessageEvent, MessageError> {
    let bad = |what: String| MessageError::Malformed(format!("buffered event: {what}"));
    let node = decode_frame(bytes).map_err(|e| bad(e.to_string()))?;
    let info = MessageInfo::parse(&node, own_pn, own_lid)?;
    let plain = node
        .child(PLAINTEXT)
        .ok_or_else(|| bad("no <plaintext>".into()))?;
    let mut ag = plain.attr_reader();
    let retry = ag.optional_u64("retry").unwrap_or(0);
    let dsm = ag.optional_string("dsm") == Some("1");
    let message = Message::decode(plain.bytes().unwrap_or_default())
        .map_err(|e| bad(format!("protobuf: {e}")))?;
    Ok(MessageEvent {
        info,
        message,
        retry_count: u32::try_from(retry).unwrap_or(u32::MAX),
        unwrapped_from_device_sent: dsm,
        from_buffer: true,
    })
}
