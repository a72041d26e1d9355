//! A typed view of a received (or built) `Message`: what it is, without the protobuf.
//!
//! [`MessageContent::from_message`] looks through the wrappers WhatsApp puts around content
//! (ephemeral, view-once, `editedMessage`, document-with-caption) and names the message types
//! this crate understands; anything else is [`MessageContent::Other`] with the name of the
//! protobuf field that holds it, and stays available as the raw protobuf. The view is
//! serializable: it is the `content` of a message in `wa listen --json`.
//!
//! [`stanza_type`], [`media_type`] and [`edit_attribute`] give the `type`, `mediatype` and
//! `edit` attributes of the `<message>` stanza that carries a message (whatsmeow
//! `getTypeFromMessage`, `getMediaTypeFromMessage`, `getEditAttribute`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use wa_proto::proto::message::{ProtocolMessage, protocol_message};
use wa_proto::proto::{ContextInfo, Message, MessageKey};

/// A message key as plain data: which message another one refers to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyView {
    /// The chat (`remoteJid`).
    pub chat: String,
    /// The message id.
    pub id: String,
    /// Whether the referring side sent the message.
    pub from_me: bool,
    /// The sender, for others' messages in groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
}

impl From<&MessageKey> for KeyView {
    fn from(k: &MessageKey) -> Self {
        Self {
            chat: k.remote_jid.clone().unwrap_or_default(),
            id: k.id.clone().unwrap_or_default(),
            from_me: k.from_me.unwrap_or(false),
            participant: k.participant.clone(),
        }
    }
}

fn key_of(k: Option<&MessageKey>) -> KeyView {
    k.map(KeyView::from).unwrap_or_default()
}

/// The message a reply quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteView {
    /// The quoted message's id.
    pub id: String,
    /// Who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Its text, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageContent {
    /// Text, plain or with mentions and a quoted reply.
    Text {
        /// The text.
        text: String,
        /// Mentioned users.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
        /// The message this one replies to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted: Option<QuoteView>,
    },
    /// A reaction; an empty emoji removes the sender's earlier reaction.
    Reaction {
        /// The message reacted to.
        key: KeyView,
        /// The emoji.
        emoji: String,
    },
    /// An edit of an earlier message.
    Edit {
        /// The edited message.
        key: KeyView,
        /// Its new content.
        new: Box<MessageContent>,
    },
    /// A deletion for everyone; by an admin when `key.from_me` is false in a group.
    Revoke {
        /// The deleted message.
        key: KeyView,
    },
    /// A location pin.
    Location {
        /// Degrees north.
        latitude: f64,
        /// Degrees east.
        longitude: f64,
        /// The place's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Its address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// A contact card.
    Contact {
        /// The name shown.
        display_name: String,
        /// The vCard.
        vcard: String,
    },
    /// A new poll.
    PollCreation {
        /// The question.
        name: String,
        /// The options, in order.
        options: Vec<String>,
        /// How many options a voter may pick (0: any number).
        selectable: u32,
    },
    /// A vote on a poll, still encrypted with the poll's message secret (see
    /// [`poll::decrypt_poll_vote`](super::poll::decrypt_poll_vote)).
    PollVote {
        /// The poll.
        poll: KeyView,
        /// The sealed vote, base64.
        enc_payload: String,
        /// The IV, base64.
        enc_iv: String,
        /// When the vote was cast (ms), if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_timestamp_ms: Option<i64>,
    },
    /// The disappearing-messages timer of the chat changed.
    EphemeralSetting {
        /// The new timer in seconds (0: off).
        seconds: u32,
    },
    /// Any other message: the name of the protobuf field holding it (`image_message`,
    /// `protocol_message:HISTORY_SYNC_NOTIFICATION`, …), or `empty`.
    Other {
        /// What it is.
        #[serde(rename = "type")]
        kind: String,
    },
}

/// The content inside the wrappers WhatsApp adds (ephemeral, view once, document with
/// caption, `editedMessage` around a protocol message). Bounded: nesting stops after 8 levels.
pub fn unwrap_content(message: &Message) -> &Message {
    let mut m = message;
    for _ in 0..8 {
        let inner = m
            .ephemeral_message
            .as_deref()
            .or(m.view_once_message.as_deref())
            .or(m.view_once_message_v2.as_deref())
            .or(m.view_once_message_v2_extension.as_deref())
            .or(m.document_with_caption_message.as_deref())
            .or(m.edited_message.as_deref())
            .or(m.lottie_sticker_message.as_deref())
            .and_then(|f| f.message.as_deref());
        match inner {
            Some(next) => m = next,
            None => break,
        }
    }
    m
}

fn quote_of(ctx: Option<&ContextInfo>) -> (Vec<String>, Option<QuoteView>) {
    let Some(ctx) = ctx else {
        return (Vec::new(), None);
    };
    let quoted = ctx.stanza_id.as_ref().map(|id| QuoteView {
        id: id.clone(),
        sender: ctx.participant.clone(),
        text: ctx.quoted_message.as_deref().and_then(text_of),
    });
    (ctx.mentioned_jid.clone(), quoted)
}

/// The text of a text message (plain or extended), if it is one.
pub fn text_of(message: &Message) -> Option<String> {
    let m = unwrap_content(message);
    m.conversation.clone().or_else(|| {
        m.extended_text_message
            .as_deref()
            .and_then(|e| e.text.clone())
    })
}

fn protocol_content(pm: &ProtocolMessage, depth: u8) -> MessageContent {
    use protocol_message::Type;
    match pm.r#type.and_then(|t| Type::try_from(t).ok()) {
        Some(Type::Revoke) => MessageContent::Revoke {
            key: key_of(pm.key.as_ref()),
        },
        Some(Type::MessageEdit) if pm.edited_message.is_some() => MessageContent::Edit {
            key: key_of(pm.key.as_ref()),
            new: Box::new(match pm.edited_message.as_deref() {
                Some(m) if depth < 4 => content_at(m, depth + 1),
                _ => MessageContent::Other {
                    kind: "nested_edit".into(),
                },
            }),
        },
        Some(Type::EphemeralSetting) => MessageContent::EphemeralSetting {
            seconds: pm.ephemeral_expiration.unwrap_or(0),
        },
        Some(t) => MessageContent::Other {
            kind: format!("protocol_message:{}", t.as_str_name()),
        },
        None => MessageContent::Other {
            kind: format!("protocol_message:{}", pm.r#type.unwrap_or(-1)),
        },
    }
}

fn content_at(message: &Message, depth: u8) -> MessageContent {
    let m = unwrap_content(message);
    if let Some(text) = &m.conversation {
        return MessageContent::Text {
            text: text.clone(),
            mentions: Vec::new(),
            quoted: None,
        };
    }
    if let Some(ext) = m.extended_text_message.as_deref() {
        let (mentions, quoted) = quote_of(ext.context_info.as_deref());
        return MessageContent::Text {
            text: ext.text.clone().unwrap_or_default(),
            mentions,
            quoted,
        };
    }
    if let Some(r) = &m.reaction_message {
        return MessageContent::Reaction {
            key: key_of(r.key.as_ref()),
            emoji: r.text.clone().unwrap_or_default(),
        };
    }
    if let Some(pm) = m.protocol_message.as_deref() {
        return protocol_content(pm, depth);
    }
    if let Some(l) = m.location_message.as_deref() {
        return MessageContent::Location {
            latitude: l.degrees_latitude.unwrap_or(0.0),
            longitude: l.degrees_longitude.unwrap_or(0.0),
            name: l.name.clone(),
            address: l.address.clone(),
        };
    }
    if let Some(c) = m.contact_message.as_deref() {
        return MessageContent::Contact {
            display_name: c.display_name.clone().unwrap_or_default(),
            vcard: c.vcard.clone().unwrap_or_default(),
        };
    }
    if let Some(p) = super::poll::poll_of(m) {
        return MessageContent::PollCreation {
            name: p.name.clone().unwrap_or_default(),
            options: p
                .options
                .iter()
                .map(|o| o.option_name.clone().unwrap_or_default())
                .collect(),
            selectable: p.selectable_options_count.unwrap_or(0),
        };
    }
    if let Some(u) = &m.poll_update_message {
        let vote = u.vote.as_ref();
        return MessageContent::PollVote {
            poll: key_of(u.poll_creation_message_key.as_ref()),
            enc_payload: B64.encode(
                vote.and_then(|v| v.enc_payload.as_deref())
                    .unwrap_or_default(),
            ),
            enc_iv: B64.encode(vote.and_then(|v| v.enc_iv.as_deref()).unwrap_or_default()),
            sender_timestamp_ms: u.sender_timestamp_ms,
        };
    }
    MessageContent::Other {
        kind: field_name(m).to_owned(),
    }
}

impl MessageContent {
    /// The typed view of `message`.
    pub fn from_message(message: &Message) -> Self {
        content_at(message, 0)
    }

    /// The variant's name as in JSON (`text`, `reaction`, …, or the `Other` field name).
    pub fn kind(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Reaction { .. } => "reaction",
            Self::Edit { .. } => "edit",
            Self::Revoke { .. } => "revoke",
            Self::Location { .. } => "location",
            Self::Contact { .. } => "contact",
            Self::PollCreation { .. } => "poll_creation",
            Self::PollVote { .. } => "poll_vote",
            Self::EphemeralSetting { .. } => "ephemeral_setting",
            Self::Other { kind } => kind,
        }
    }

    /// One line for a person to read ("text: hello", "reaction 👍 to 3EB0…", …).
    pub fn summary(&self) -> String {
        match self {
            Self::Text { text, quoted, .. } => match quoted {
                Some(q) => format!("reply to {}: {text}", q.id),
                None => format!("text: {text}"),
            },
            Self::Reaction { key, emoji } if emoji.is_empty() => {
                format!("reaction removed from {}", key.id)
            }
            Self::Reaction { key, emoji } => format!("reaction {emoji} to {}", key.id),
            Self::Edit { key, new } => format!("edit of {}: {}", key.id, new.summary()),
            Self::Revoke { key } => format!("deleted {} for everyone", key.id),
            Self::Location {
                latitude,
                longitude,
                name,
                ..
            } => format!(
                "location {latitude}, {longitude}{}",
                name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            Self::Contact { display_name, .. } => format!("contact card: {display_name}"),
            Self::PollCreation { name, options, .. } => {
                format!("poll: {name} [{}]", options.join(" / "))
            }
            Self::PollVote { poll, .. } => format!("vote on poll {}", poll.id),
            Self::EphemeralSetting { seconds: 0 } => "disappearing messages off".into(),
            Self::EphemeralSetting { seconds } => {
                format!("disappearing messages after {seconds} s")
            }
            Self::Other { kind } => format!("({kind})"),
        }
    }
}

/// The name of the first set field of `m` among the common message types, `other` when none
/// of them is set, `empty` for an empty message.
fn field_name(m: &Message) -> &'static str {
    let table: [(bool, &'static str); 26] = [
        (m.image_message.is_some(), "image_message"),
        (m.video_message.is_some(), "video_message"),
        (m.ptv_message.is_some(), "ptv_message"),
        (m.audio_message.is_some(), "audio_message"),
        (m.document_message.is_some(), "document_message"),
        (m.sticker_message.is_some(), "sticker_message"),
        (m.contacts_array_message.is_some(), "contacts_array_message"),
        (m.live_location_message.is_some(), "live_location_message"),
        (m.enc_reaction_message.is_some(), "enc_reaction_message"),
        (m.enc_comment_message.is_some(), "enc_comment_message"),
        (
            m.poll_creation_message_v4.is_some(),
            "poll_creation_message_v4",
        ),
        (m.pin_in_chat_message.is_some(), "pin_in_chat_message"),
        (m.keep_in_chat_message.is_some(), "keep_in_chat_message"),
        (m.event_message.is_some(), "event_message"),
        (m.group_invite_message.is_some(), "group_invite_message"),
        (m.buttons_message.is_some(), "buttons_message"),
        (
            m.buttons_response_message.is_some(),
            "buttons_response_message",
        ),
        (m.list_message.is_some(), "list_message"),
        (m.list_response_message.is_some(), "list_response_message"),
        (m.template_message.is_some(), "template_message"),
        (m.interactive_message.is_some(), "interactive_message"),
        (
            m.interactive_response_message.is_some(),
            "interactive_response_message",
        ),
        (m.product_message.is_some(), "product_message"),
        (m.order_message.is_some(), "order_message"),
        (
            m.sender_key_distribution_message.is_some(),
            "sender_key_distribution_message",
        ),
        (m.device_sent_message.is_some(), "device_sent_message"),
    ];
    if let Some((_, name)) = table.iter().find(|(set, _)| *set) {
        return name;
    }
    if *m == Message::default() {
        "empty"
    } else {
        "other"
    }
}

/// The `type` attribute of the `<message>` stanza carrying `message`: `reaction`, `poll`,
/// `media` or `text` (whatsmeow `getTypeFromMessage`).
pub fn stanza_type(message: &Message) -> &'static str {
    let m = unwrap_stanza_wrappers(message);
    if m.reaction_message.is_some() || m.enc_reaction_message.is_some() {
        "reaction"
    } else if m.poll_creation_message.is_some()
        || m.poll_creation_message_v2.is_some()
        || m.poll_creation_message_v3.is_some()
        || m.poll_update_message.is_some()
    {
        "poll"
    } else if media_type(m).is_some() {
        "media"
    } else {
        "text"
    }
}

/// Ephemeral / view-once / lottie / document-with-caption wrappers (not `editedMessage`,
/// which whatsmeow does not look through for the stanza type).
fn unwrap_stanza_wrappers(message: &Message) -> &Message {
    let mut m = message;
    for _ in 0..8 {
        let inner = m
            .view_once_message
            .as_deref()
            .or(m.view_once_message_v2.as_deref())
            .or(m.view_once_message_v2_extension.as_deref())
            .or(m.lottie_sticker_message.as_deref())
            .or(m.ephemeral_message.as_deref())
            .or(m.document_with_caption_message.as_deref())
            .and_then(|f| f.message.as_deref());
        match inner {
            Some(next) => m = next,
            None => break,
        }
    }
    m
}

/// The `mediatype` attribute of the `<enc>` node for `message`, if it is media (`image`,
/// `ptt`, `vcard`, `url` for a link preview, …; whatsmeow `getMediaTypeFromMessage`).
pub fn media_type(message: &Message) -> Option<&'static str> {
    let m = unwrap_stanza_wrappers(message);
    Some(
        if m.extended_text_message
            .as_deref()
            .is_some_and(|e| e.title.is_some())
        {
            "url"
        } else if m.image_message.is_some() {
            "image"
        } else if m.sticker_message.is_some() {
            "sticker"
        } else if m.document_message.is_some() {
            "document"
        } else if let Some(a) = m.audio_message.as_deref() {
            if a.ptt == Some(true) { "ptt" } else { "audio" }
        } else if let Some(v) = m.video_message.as_deref() {
            if v.gif_playback == Some(true) {
                "gif"
            } else {
                "video"
            }
        } else if m.contact_message.is_some() {
            "vcard"
        } else if m.contacts_array_message.is_some() {
            "contact_array"
        } else if m.list_message.is_some() {
            "list"
        } else if m.list_response_message.is_some() {
            "list_response"
        } else if m.buttons_response_message.is_some() {
            "buttons_response"
        } else if m.order_message.is_some() {
            "order"
        } else if m.product_message.is_some() {
            "product"
        } else if m.interactive_response_message.is_some() {
            "native_flow_response"
        } else {
            return None;
        },
    )
}

/// The `edit` attribute of the `<message>` stanza: `1` for an edit, `2` for a pin, `7` for a
/// revoke of our own message (or removing a reaction), `8` for an admin revoke (whatsmeow
/// `getEditAttribute`).
pub fn edit_attribute(message: &Message) -> Option<&'static str> {
    if let Some(inner) = message
        .edited_message
        .as_deref()
        .and_then(|f| f.message.as_deref())
    {
        return edit_attribute(inner);
    }
    if let Some(pm) = message.protocol_message.as_deref()
        && let Some(key) = &pm.key
    {
        use protocol_message::Type;
        return match pm.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Revoke) if key.from_me == Some(true) => Some("7"),
            Some(Type::Revoke) => Some("8"),
            Some(Type::MessageEdit) if pm.edited_message.is_some() => Some("1"),
            _ => None,
        };
    }
    if message
        .reaction_message
        .as_ref()
        .is_some_and(|r| r.text.as_deref().unwrap_or_default().is_empty())
    {
        return Some("7");
    }
    if message.pin_in_chat_message.is_some() {
        return Some("2");
    }
    None
}

/// Serde for a `Message` field: written as `{"kind", "text", "content", "proto_b64"}` (the
/// typed view for people and scripts, the base64 protobuf so nothing is lost); read back from
/// `proto_b64`. Use with `#[serde(with = "wa_client::message::content::serde_message")]`.
pub mod serde_message {
    use super::*;
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};
    use wa_proto::prost::Message as _;

    #[derive(Serialize)]
    struct Out<'a> {
        kind: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        content: &'a MessageContent,
        proto_b64: String,
    }

    #[derive(Deserialize)]
    struct In {
        proto_b64: String,
    }

    /// Serializes `message` (a `Message` or a `Box<Message>`) as its typed view plus the
    /// base64 protobuf.
    pub fn serialize<S: Serializer, M: core::borrow::Borrow<Message>>(
        message: &M,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let message = message.borrow();
        let content = MessageContent::from_message(message);
        Out {
            kind: content.kind(),
            text: text_of(message),
            content: &content,
            proto_b64: B64.encode(message.encode_to_vec()),
        }
        .serialize(s)
    }

    /// Reads a message (a `Message` or a `Box<Message>`) back from `proto_b64`.
    pub fn deserialize<'de, D: Deserializer<'de>, M: From<Message>>(d: D) -> Result<M, D::Error> {
        let input = In::deserialize(d)?;
        let bytes = B64.decode(input.proto_b64).map_err(D::Error::custom)?;
        Message::decode(bytes.as_slice())
            .map(M::from)
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
