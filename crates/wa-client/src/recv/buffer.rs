//! What the store's event buffer holds for one decrypted message.
//!
//! [`wa_store::BufferedEvent`] keeps opaque plaintext bytes under the ciphertext's hash. To
//! re-emit a full [`MessageEvent`] after a restart we keep more than the protobuf: the
//! envelope is the original `<message>` stanza's attributes (so [`MessageInfo::parse`] runs
//! again and gives the same info) with one `<plaintext>` child carrying the decoded message
//! bytes, the retry count and whether it came wrapped in `DeviceSentMessage`, all encoded with
//! WhatsApp's binary XML.

use sha2::{Digest, Sha256};
use wa_binary::{Jid, Node, Str, decode_frame, marshal_parts};
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

/// Encodes a decrypted message for the event buffer: `plain` is the payload's `Message`
/// protobuf as it was decrypted (unpadded, not yet shaped: [`decode`] takes a group's sender
/// key distribution out and unwraps a copy from our own device again, as the pipeline did).
pub(crate) fn encode(stanza: &Node, plain: &[u8], retry_count: u32) -> Vec<u8> {
    let plaintext = Node::new(PLAINTEXT)
        .attr("retry", retry_count.to_string())
        .attr("raw", "1")
        .bytes(plain.to_vec())
        .build();
    // The stanza's attributes are written in place, not copied into an envelope node.
    marshal_parts(&Str::from("message"), &stanza.attrs, &[plaintext])
}

/// The message an event carries, from a decrypted payload: a group's sender key distribution
/// taken out, a copy from our own device unwrapped (with whether it was).
fn shape(mut message: Message, info: &MessageInfo) -> (Message, bool) {
    if info.source.is_group {
        message.sender_key_distribution_message = None;
    }
    if info.source.is_from_me {
        let (inner, dest) = crate::message::dsm::unwrap(message);
        (inner, dest.is_some())
    } else {
        (message, false)
    }
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
    let raw = ag.optional_string("raw") == Some("1");
    let dsm = ag.optional_string("dsm") == Some("1");
    let message = Message::decode(plain.bytes().unwrap_or_default())
        .map_err(|e| bad(format!("protobuf: {e}")))?;
    // Entries written before payloads were kept raw hold the shaped message and a dsm flag.
    let (message, dsm) = if raw {
        shape(message, &info)
    } else {
        (message, dsm)
    };
    Ok(MessageEvent {
        info,
        message: Box::new(message),
        retry_count: u32::try_from(retry).unwrap_or(u32::MAX),
        unwrapped_from_device_sent: dsm,
        from_buffer: true,
    })
}
