//! `DeviceSentMessage`: how a message we send reaches our own other devices.
//!
//! Our other devices get the message wrapped with the chat it was sent to
//! (`destination_jid`), the wrapper carrying the original's `message_context_info`
//! (whatsmeow `send.go`). A receiving device unwraps it and files the inner message under the
//! destination chat.

use wa_proto::proto::Message;
use wa_proto::proto::message::DeviceSentMessage;

/// Wraps `message` (sent to `destination`) for our own other devices.
pub fn wrap(message: &Message, destination: &str) -> Message {
    Message {
        device_sent_message: Some(Box::new(DeviceSentMessage {
            destination_jid: Some(destination.to_owned()),
            message: Some(Box::new(message.clone())),
            phash: None,
        })),
        message_context_info: message.message_context_info.clone(),
        ..Message::default()
    }
}

/// Unwraps a `DeviceSentMessage`: the inner message and its destination chat. A message
/// without a wrapped inner message is returned unchanged with no destination. When the inner
/// message has no `message_context_info`, the wrapper's (which carries the message secret) is
/// moved in.
pub fn unwrap(message: Message) -> (Message, Option<String>) {
    let Message {
        device_sent_message,
        message_context_info,
        ..
    } = &message;
    let Some(DeviceSentMessage {
        destination_jid,
        message: Some(inner),
        ..
    }) = device_sent_message.as_deref()
    else {
        return (message, None);
    };
    let mut inner = (**inner).clone();
    if inner.message_context_info.is_none() {
        inner.message_context_info = message_context_info.clone();
    }
    (inner, destination_jid.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_proto::prost::Message as _;
    use wa_proto::proto::MessageContextInfo;

    fn text(s: &str) -> Message {
        Message {
            conversation: Some(s.into()),
            message_context_info: Some(MessageContextInfo {
                message_secret: Some(vec![7; 32]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn wrap_then_unwrap_through_protobuf() {
        let original = text("hi");
        let wrapped = wrap(&original, "222@s.whatsapp.net");
        assert!(wrapped.conversation.is_none());
        assert_eq!(wrapped.message_context_info, original.message_context_info);
        let bytes = wrapped.encode_to_vec();
        let decoded = Message::decode(bytes.as_slice()).unwrap();
        let (inner, dest) = unwrap(decoded);
        assert_eq!(inner, original);
        assert_eq!(dest.as_deref(), Some("222@s.whatsapp.net"));
    }

    #[test]
    fn plain_messages_pass_through() {
        let m = text("plain");
        assert_eq!(unwrap(m.clone()), (m, None));
        // A wrapper without an inner message is left as it is.
        let empty = Message {
            device_sent_message: Some(Box::default()),
            ..Default::default()
        };
        assert_eq!(unwrap(empty.clone()), (empty, None));
    }

    #[test]
    fn outer_context_fills_a_missing_inner_one() {
        let mut wrapped = wrap(&text("x"), "222@s.whatsapp.net");
        if let Some(dsm) = wrapped.device_sent_message.as_mut()
            && let Some(inner) = dsm.message.as_mut()
        {
            inner.message_context_info = None;
        }
        let (inner, _) = unwrap(wrapped);
        assert_eq!(inner.message_context_info, text("x").message_context_info);
    }
}
