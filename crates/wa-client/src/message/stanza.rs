//! Incoming `<message>` stanzas: who, where, what (whatsmeow `parseMessageSource` /
//! `parseMessageInfo` for 1:1 chats), and the `<ack>` and delivery `<receipt>` answers
//! (`sendAck` / `sendMessageReceipt`).

#[cfg(test)]
use wa_binary::AttrValue;
use wa_binary::{Jid, Node, Server};

use crate::error::MessageError;

/// Where a message comes from and which chat it belongs to. Serialized with JIDs as strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageSource {
    /// The chat: the other party of a 1:1 chat (without device), or the group.
    #[serde(with = "crate::recv::serde_jid")]
    pub chat: Jid,
    /// The sending device (with its device number).
    #[serde(with = "crate::recv::serde_jid")]
    pub sender: Jid,
    /// The sender's other address form: its LID when `sender` is a phone number, its phone
    /// number when `sender` is a LID (`sender_lid` / `sender_pn`), if the server sent it.
    #[serde(with = "crate::recv::serde_opt_jid")]
    pub sender_alt: Option<Jid>,
    /// For messages from our own other devices: the chat's other address form
    /// (`peer_recipient_lid` / `peer_recipient_pn`), if the server sent it.
    #[serde(with = "crate::recv::serde_opt_jid")]
    pub recipient_alt: Option<Jid>,
    /// Sent by one of our own devices (to `chat`).
    pub is_from_me: bool,
    /// The chat is a group or broadcast list.
    pub is_group: bool,
}

/// Everything the stanza says about a message, before decryption.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageInfo {
    /// Chat, sender and direction.
    pub source: MessageSource,
    /// The message id.
    pub id: String,
    /// The sender's push name (`notify`), if any.
    pub push_name: Option<String>,
    /// Server timestamp, Unix seconds.
    pub timestamp: u64,
    /// The stanza `type` (`text`, `media`, `reaction`, …; empty if absent).
    pub kind: String,
    /// The `category` attribute (`peer` for protocol messages between our own devices).
    pub category: Option<String>,
}

/// The Signal message type of one `<enc>` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncType {
    /// `pkmsg`: a `PreKeySignalMessage` that may establish a new session.
    PreKey,
    /// `msg`: a `SignalMessage` on an existing session.
    Whisper,
    /// `skmsg`: a group sender-key message.
    SenderKey,
}

impl EncType {
    /// The `type` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreKey => "pkmsg",
            Self::Whisper => "msg",
            Self::SenderKey => "skmsg",
        }
    }
}

/// One `<enc>` child of a `<message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncPayload {
    /// The Signal message type.
    pub kind: EncType,
    /// The `v` attribute (2 when absent; 3 means unpadded plaintext).
    pub version: u32,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
}

fn same_user(a: &Jid, b: Option<&Jid>) -> bool {
    b.is_some_and(|b| !b.user().is_empty() && a.user() == b.user())
}

impl MessageInfo {
    /// Parses the attributes of an incoming `<message>` stanza.
    ///
    /// `own_pn` and `own_lid` are this account's addresses; a message whose sender has either
    /// user is from one of our own devices, and its chat is the `recipient` attribute.
    pub fn parse(node: &Node, own_pn: &Jid, own_lid: Option<&Jid>) -> Result<Self, MessageError> {
        if node.tag.as_str() != "message" {
            return Err(MessageError::Malformed(format!(
                "expected <message>, got <{}>",
                node.tag.as_str()
            )));
        }
        let mut ag = node.attr_reader();
        let from = ag.required_jid("from");
        let id = ag.required_string("id").map(str::to_owned);
        let timestamp = ag.required_u64("t");
        let push_name = ag.optional_string("notify").map(str::to_owned);
        let kind = ag.optional_string("type").unwrap_or_default().to_owned();
        let category = ag.optional_string("category").map(str::to_owned);
        let addressing_lid = ag.optional_string("addressing_mode") == Some("lid");
        let participant = ag.optional_jid("participant");
        let recipient = ag.optional_jid("recipient");
        let participant_pn = ag.optional_jid("participant_pn");
        let participant_lid = ag.optional_jid("participant_lid");
        let sender_pn = ag.optional_jid("sender_pn");
        let sender_lid = ag.optional_jid("sender_lid");
        let peer_pn = ag.optional_jid("peer_recipient_pn");
        let peer_lid = ag.optional_jid("peer_recipient_lid");
        ag.finish()
            .map_err(|e| MessageError::Malformed(e.to_string()))?;
        let (from, id, timestamp) = match (from, id, timestamp) {
            (Ok(f), Ok(i), Ok(t)) => (f, i, t),
            // finish() already reported these; this arm is unreachable in practice.
            _ => return Err(MessageError::Malformed("missing from/id/t".into())),
        };
        if id.is_empty() {
            return Err(MessageError::Malformed("empty message id".into()));
        }
        let own_user = |j: &Jid| j.user() == own_pn.user() || same_user(j, own_lid);

        let source = match from.server() {
            Server::Group | Server::Broadcast => {
                let sender = participant.ok_or_else(|| {
                    MessageError::Malformed("group message without participant".into())
                })?;
                MessageSource {
                    is_from_me: own_user(&sender),
                    sender_alt: if addressing_lid {
                        participant_pn
                    } else {
                        participant_lid
                    },
                    chat: from,
                    sender,
                    recipient_alt: None,
                    is_group: true,
                }
            }
            Server::User | Server::Lid | Server::Hosted | Server::HostedLid => {
                let is_lid = matches!(from.server(), Server::Lid | Server::HostedLid);
                let sender_alt = if is_lid { sender_pn } else { sender_lid };
                if own_user(&from) {
                    let chat = recipient
                        .map(|r| r.to_non_ad())
                        .unwrap_or_else(|| from.to_non_ad());
                    let chat_is_lid = matches!(chat.server(), Server::Lid | Server::HostedLid);
                    MessageSource {
                        recipient_alt: if chat_is_lid { peer_pn } else { peer_lid },
                        chat,
                        sender: from,
                        sender_alt,
                        is_from_me: true,
                        is_group: false,
                    }
                } else {
                    MessageSource {
                        chat: from.to_non_ad(),
                        sender: from,
                        sender_alt,
                        recipient_alt: None,
                        is_from_me: false,
                        is_group: false,
                    }
                }
            }
            other => {
                return Err(MessageError::Unsupported(format!(
                    "messages from server {other}"
                )));
            }
        };
        Ok(Self {
            source,
            id,
            push_name: push_name.filter(|n| !n.is_empty() && n != "-"),
            timestamp,
            kind,
            category,
        })
    }
}

/// The `<enc>` children of a `<message>`, in order. Unknown `type`s and `<enc>` nodes without
/// bytes are errors: the caller must answer them with a retry receipt, not drop them silently.
pub fn enc_payloads(node: &Node) -> Result<Vec<EncPayload>, MessageError> {
    node.children_by_tag("enc")
        .map(|enc| {
            let mut ag = enc.attr_reader();
            let kind = match ag.optional_string("type") {
                Some("pkmsg") => EncType::PreKey,
                Some("msg") => EncType::Whisper,
                Some("skmsg") => EncType::SenderKey,
                other => {
                    return Err(MessageError::Unsupported(format!(
                        "<enc type={:?}>",
                        other.unwrap_or_default()
                    )));
                }
            };
            let version = match ag.optional_u64("v") {
                None => 2,
                Some(v) => {
                    u32::try_from(v).map_err(|_| MessageError::Malformed(format!("<enc v={v}>")))?
                }
            };
            ag.finish()
                .map_err(|e| MessageError::Malformed(e.to_string()))?;
            let ciphertext = enc
                .bytes()
                .ok_or_else(|| MessageError::Malformed("<enc> without bytes".into()))?
                .to_vec();
            Ok(EncPayload {
                kind,
                version,
                ciphertext,
            })
        })
        .collect()
}

/// The `<ack>` for a received stanza (`class` = its tag, `id`, `to` = its `from`,
/// `participant` and `recipient` copied; `type` copied except for `<message>`).
pub fn ack_for(node: &Node) -> Result<Node, MessageError> {
    let id = node
        .attr("id")
        .cloned()
        .ok_or_else(|| MessageError::Malformed(format!("<{}> without id", node.tag.as_str())))?;
    let from = node
        .attr("from")
        .cloned()
        .ok_or_else(|| MessageError::Malformed(format!("<{}> without from", node.tag.as_str())))?;
    let mut b = Node::builder("ack")
        .attr("class", node.tag.as_str())
        .attr("id", id)
        .attr("to", from);
    for key in ["participant", "recipient"] {
        if let Some(v) = node.attr(key) {
            b = b.attr(key, v.clone());
        }
    }
    if node.tag.as_str() != "message"
        && let Some(t) = node.attr("type")
    {
        b = b.attr("type", t.clone());
    }
    Ok(b.build())
}

/// The delivery `<receipt>` for a decrypted message (current whatsmeow
/// `buildBaseReceipt` + `sendMessageReceipt`): `id`, `to` = the stanza's `from`, its
/// `recipient` and `participant` copied; `type="sender"` for copies from our own devices
/// (`peer_msg` for `category="peer"`), else `type="inactive"` unless `active` (then no type:
/// delivered).
pub fn delivery_receipt(
    node: &Node,
    info: &MessageInfo,
    active: bool,
) -> Result<Node, MessageError> {
    let from = node
        .attr("from")
        .cloned()
        .ok_or_else(|| MessageError::Malformed("<message> without from".into()))?;
    let mut b = Node::builder("receipt")
        .attr("id", info.id.as_str())
        .attr("to", from);
    for key in ["recipient", "participant"] {
        if let Some(v) = node.attr(key) {
            b = b.attr(key, v.clone());
        }
    }
    if info.source.is_from_me {
        let kind = if info.category.as_deref() == Some("peer") {
            "peer_msg"
        } else {
            "sender"
        };
        b = b.attr("type", kind);
    } else if !active {
        b = b.attr("type", "inactive");
    }
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn own() -> (Jid, Jid) {
        (jid("111@s.whatsapp.net"), jid("900@lid"))
    }

    fn msg(attrs: &[(&str, &str)]) -> Node {
        let mut b = Node::builder("message");
        for (k, v) in attrs {
            b = match v.parse::<Jid>() {
                Ok(j) if v.contains('@') => b.attr(*k, j),
                _ => b.attr(*k, *v),
            };
        }
        b.build()
    }

    #[test]
    fn message_from_a_contact_device() {
        let (pn, lid) = own();
        let node = msg(&[
            ("from", "222:3@s.whatsapp.net"),
            ("id", "ABC"),
            ("t", "1700000000"),
            ("notify", "Bob"),
            ("type", "text"),
            ("sender_lid", "777:3@lid"),
        ]);
        let info = MessageInfo::parse(&node, &pn, Some(&lid)).unwrap();
        assert_eq!(info.id, "ABC");
        assert_eq!(info.timestamp, 1_700_000_000);
        assert_eq!(info.push_name.as_deref(), Some("Bob"));
        assert_eq!(info.kind, "text");
        assert_eq!(info.source.chat, jid("222@s.whatsapp.net"));
        assert_eq!(info.source.sender, jid("222:3@s.whatsapp.net"));
        assert_eq!(info.source.sender.device(), 3);
        assert_eq!(info.source.sender_alt, Some(jid("777:3@lid")));
        assert!(!info.source.is_from_me);
        assert!(!info.source.is_group);
    }

    #[test]
    fn lid_sender_gets_its_phone_number_as_alt() {
        let (pn, lid) = own();
        let node = msg(&[
            ("from", "777@lid"),
            ("id", "X"),
            ("t", "5"),
            ("sender_pn", "222@s.whatsapp.net"),
            ("sender_lid", "888@lid"),
        ]);
        let info = MessageInfo::parse(&node, &pn, Some(&lid)).unwrap();
        assert_eq!(info.source.chat, jid("777@lid"));
        assert_eq!(info.source.sender_alt, Some(jid("222@s.whatsapp.net")));
    }

    #[test]
    fn copy_from_our_own_device_belongs_to_the_recipient_chat() {
        let (pn, lid) = own();
        let node = msg(&[
            ("from", "111:4@s.whatsapp.net"),
            ("recipient", "222@s.whatsapp.net"),
            ("peer_recipient_lid", "777@lid"),
            ("id", "Y"),
            ("t", "6"),
            ("notify", "-"),
        ]);
        let info = MessageInfo::parse(&node, &pn, Some(&lid)).unwrap();
        assert!(info.source.is_from_me);
        assert_eq!(info.source.chat, jid("222@s.whatsapp.net"));
        assert_eq!(info.source.sender, jid("111:4@s.whatsapp.net"));
        assert_eq!(info.source.recipient_alt, Some(jid("777@lid")));
        assert_eq!(info.push_name, None, "\"-\" is no push name");

        // From our LID without a recipient: a note to self.
        let node = msg(&[("from", "900:2@lid"), ("id", "Z"), ("t", "7")]);
        let info = MessageInfo::parse(&node, &pn, Some(&lid)).unwrap();
        assert!(info.source.is_from_me);
        assert_eq!(info.source.chat, jid("900@lid"));
        // Without knowing our LID it is someone else's message.
        let info = MessageInfo::parse(&node, &pn, None).unwrap();
        assert!(!info.source.is_from_me);
    }

    #[test]
    fn group_message_needs_a_participant() {
        let (pn, lid) = own();
        let node = msg(&[
            ("from", "123-456@g.us"),
            ("participant", "111:1@s.whatsapp.net"),
            ("participant_lid", "900:1@lid"),
            ("id", "G"),
            ("t", "8"),
        ]);
        let info = MessageInfo::parse(&node, &pn, Some(&lid)).unwrap();
        assert!(info.source.is_group && info.source.is_from_me);
        assert_eq!(info.source.sender_alt, Some(jid("900:1@lid")));
        let node = msg(&[("from", "123-456@g.us"), ("id", "G"), ("t", "8")]);
        assert!(matches!(
            MessageInfo::parse(&node, &pn, Some(&lid)),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn bad_stanzas_are_typed_errors() {
        let (pn, _) = own();
        for node in [
            msg(&[("id", "A"), ("t", "1")]),
            msg(&[("from", "222@s.whatsapp.net"), ("t", "1")]),
            msg(&[("from", "222@s.whatsapp.net"), ("id", "A")]),
            msg(&[("from", "222@s.whatsapp.net"), ("id", "A"), ("t", "soon")]),
            msg(&[("from", "222@s.whatsapp.net"), ("id", ""), ("t", "1")]),
            Node::builder("receipt")
                .attr("from", jid("222@s.whatsapp.net"))
                .build(),
        ] {
            assert!(
                matches!(
                    MessageInfo::parse(&node, &pn, None),
                    Err(MessageError::Malformed(_))
                ),
                "{node:?}"
            );
        }
        let node = msg(&[("from", "1@newsletter"), ("id", "A"), ("t", "1")]);
        assert!(matches!(
            MessageInfo::parse(&node, &pn, None),
            Err(MessageError::Unsupported(_))
        ));
    }

    fn enc(kind: Option<&str>, v: Option<&str>, bytes: Option<&[u8]>) -> Node {
        let mut b = Node::builder("enc");
        if let Some(k) = kind {
            b = b.attr("type", k);
        }
        if let Some(v) = v {
            b = b.attr("v", v);
        }
        if let Some(bytes) = bytes {
            b = b.bytes(bytes.to_vec());
        }
        b.build()
    }

    #[test]
    fn enc_children_in_order() {
        let node = Node::builder("message")
            .child(enc(Some("pkmsg"), None, Some(b"one")))
            .child(Node::builder("meta").build())
            .child(enc(Some("msg"), Some("3"), Some(b"two")))
            .build();
        let encs = enc_payloads(&node).unwrap();
        assert_eq!(encs.len(), 2);
        assert_eq!(encs[0].kind, EncType::PreKey);
        assert_eq!(encs[0].version, 2);
        assert_eq!(encs[0].ciphertext, b"one");
        assert_eq!(encs[1].kind.as_str(), "msg");
        assert_eq!(encs[1].version, 3);

        let one = |e| Node::builder("message").child(e).build();
        assert!(matches!(
            enc_payloads(&one(enc(Some("frank"), None, Some(b"x")))),
            Err(MessageError::Unsupported(_))
        ));
        assert!(matches!(
            enc_payloads(&one(enc(Some("msg"), None, None))),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(
            enc_payloads(&one(enc(Some("msg"), Some("x"), Some(b"x")))),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn ack_mirrors_the_stanza() {
        let node = msg(&[
            ("from", "123-456@g.us"),
            ("participant", "222:1@s.whatsapp.net"),
            ("id", "M1"),
            ("type", "text"),
        ]);
        let ack = ack_for(&node).unwrap();
        assert_eq!(ack.tag, "ack");
        assert_eq!(
            ack.attr("class").and_then(AttrValue::as_str),
            Some("message")
        );
        assert_eq!(ack.attr("id").and_then(AttrValue::as_str), Some("M1"));
        assert_eq!(
            ack.attr("to").and_then(AttrValue::as_jid),
            Some(&jid("123-456@g.us"))
        );
        assert_eq!(
            ack.attr("participant").and_then(AttrValue::as_jid),
            Some(&jid("222:1@s.whatsapp.net"))
        );
        assert!(ack.attr("type").is_none(), "a message ack carries no type");

        let receipt = Node::builder("receipt")
            .attr("from", jid("222@s.whatsapp.net"))
            .attr("id", "R")
            .attr("type", "read")
            .build();
        let ack = ack_for(&receipt).unwrap();
        assert_eq!(
            ack.attr("class").and_then(AttrValue::as_str),
            Some("receipt")
        );
        assert_eq!(ack.attr("type").and_then(AttrValue::as_str), Some("read"));

        assert!(ack_for(&msg(&[("id", "A")])).is_err());
        assert!(ack_for(&msg(&[("from", "1@s.whatsapp.net")])).is_err());
    }

    #[test]
    fn delivery_receipts() {
        let (pn, lid) = own();
        let theirs = msg(&[("from", "222:3@s.whatsapp.net"), ("id", "A"), ("t", "1")]);
        let info = MessageInfo::parse(&theirs, &pn, Some(&lid)).unwrap();
        let r = delivery_receipt(&theirs, &info, false).unwrap();
        assert_eq!(r.tag, "receipt");
        assert_eq!(
            r.attr("to").and_then(AttrValue::as_jid),
            Some(&jid("222:3@s.whatsapp.net"))
        );
        assert_eq!(r.attr("type").and_then(AttrValue::as_str), Some("inactive"));
        let r = delivery_receipt(&theirs, &info, true).unwrap();
        assert!(
            r.attr("type").is_none(),
            "active delivery receipts carry no type"
        );

        let mine = msg(&[
            ("from", "111:4@s.whatsapp.net"),
            ("recipient", "222@s.whatsapp.net"),
            ("id", "B"),
            ("t", "1"),
        ]);
        let info = MessageInfo::parse(&mine, &pn, Some(&lid)).unwrap();
        let r = delivery_receipt(&mine, &info, false).unwrap();
        assert_eq!(r.attr("type").and_then(AttrValue::as_str), Some("sender"));
        assert_eq!(
            r.attr("to").and_then(AttrValue::as_jid),
            Some(&jid("111:4@s.whatsapp.net"))
        );
        assert_eq!(
            r.attr("recipient").and_then(AttrValue::as_jid),
            Some(&jid("222@s.whatsapp.net"))
        );

        let peer = msg(&[
            ("from", "111:4@s.whatsapp.net"),
            ("category", "peer"),
            ("id", "C"),
            ("t", "1"),
        ]);
        let info = MessageInfo::parse(&peer, &pn, Some(&lid)).unwrap();
        let r = delivery_receipt(&peer, &info, true).unwrap();
        assert_eq!(r.attr("type").and_then(AttrValue::as_str), Some("peer_msg"));
    }

    #[test]
    fn parsed_from_the_wire() {
        // The same stanza after a marshal/decode round trip (JIDs arrive as JID values).
        let (pn, lid) = own();
        let node = msg(&[
            ("from", "222:3@s.whatsapp.net"),
            ("id", "W"),
            ("t", "9"),
            ("sender_lid", "777:3@lid"),
        ]);
        let decoded = wa_binary::decode_frame(&wa_binary::marshal(&node)).unwrap();
        assert!(decoded.attr("from").and_then(AttrValue::as_jid).is_some());
        assert_eq!(
            MessageInfo::parse(&decoded, &pn, Some(&lid)).unwrap(),
            MessageInfo::parse(&node, &pn, Some(&lid)).unwrap()
        );
    }
}
