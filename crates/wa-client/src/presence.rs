//! Presence and chat state, as whatsmeow's `presence.go` has them: whether an account is
//! online (and when it was last seen), and whether someone is typing or recording in a chat.
//!
//! Sans-IO: the stanzas to send ([`presence_node`], [`subscribe_node`], [`chat_state_node`])
//! and the events received ones become ([`parse_presence`], [`parse_chat_state`]). The
//! [`crate::Client`] methods `send_presence`, `subscribe_presence` and `send_chat_presence`
//! send them; [`crate::Event::Presence`] and [`crate::Event::ChatPresence`] report them.
//!
//! ```
//! use wa_binary::Jid;
//! use wa_client::presence::{ChatPresence, ChatPresenceMedia, chat_state_node};
//!
//! let chat: Jid = "15550001111@s.whatsapp.net".parse().unwrap();
//! let node = chat_state_node(None, &chat, ChatPresence::Composing, ChatPresenceMedia::Audio);
//! let composing = node.child("composing").unwrap();
//! assert_eq!(composing.attr("media").and_then(|m| m.as_str()), Some("audio"));
//! ```

use serde::{Deserialize, Serialize};
use wa_binary::{Jid, Node};

use crate::error::Error;

/// Our own availability, sent with `<presence type=…>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Online: contacts subscribed to us see it, and the phone stops getting notifications.
    Available,
    /// Offline: contacts see the time from now on as "last seen".
    Unavailable,
}

impl Presence {
    fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Unavailable => "unavailable",
        }
    }
}

/// What someone is doing in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatPresence {
    /// Typing (or recording, see [`ChatPresenceMedia`]).
    Composing,
    /// Stopped typing or recording.
    Paused,
}

/// What a [`ChatPresence::Composing`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatPresenceMedia {
    /// Text (no `media` attribute).
    #[default]
    Text,
    /// A voice note (`media="audio"`).
    Audio,
}

/// An account we subscribed to changed its presence (`<presence from type [last]>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEvent {
    /// The account (user JID, phone number or LID).
    #[serde(with = "crate::recv::serde_jid")]
    pub from: Jid,
    /// `true` for `type="unavailable"`, `false` when it came online.
    pub unavailable: bool,
    /// When it was last seen (Unix seconds), if it went offline and shares that.
    pub last_seen: Option<u64>,
}

/// Someone is typing, recording or stopped in a chat (`<chatstate from [participant]>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPresenceEvent {
    /// The chat: the other user of a 1:1 chat, or the group.
    #[serde(with = "crate::recv::serde_jid")]
    pub chat: Jid,
    /// Who: the same as `chat` in a 1:1 chat, the participant in a group.
    #[serde(with = "crate::recv::serde_jid")]
    pub sender: Jid,
    /// Composing or paused.
    pub state: ChatPresence,
    /// Text or audio.
    pub media: ChatPresenceMedia,
}

/// `<presence [name] type=…/>`. WhatsApp shows `push_name` to contacts; whatsmeow refuses to
/// send `available` without one, and so does [`crate::Client::send_presence`].
#[must_use]
pub fn presence_node(presence: Presence, push_name: Option<&str>) -> Node {
    Node::new("presence")
        .attr_opt(
            "name",
            push_name.filter(|n| !n.is_empty()).map(str::to_owned),
        )
        .attr("type", presence.as_str())
        .build()
}

/// `<presence type="subscribe" to=…>`, with our privacy token for `to` when we hold one (the
/// server may otherwise withhold the presence).
#[must_use]
pub fn subscribe_node(to: &Jid, privacy_token: Option<&[u8]>) -> Node {
    let builder = Node::new("presence")
        .attr("type", "subscribe")
        .attr("to", to.clone());
    match privacy_token {
        Some(token) => builder
            .child(Node::new("tctoken").bytes(token.to_vec()).build())
            .build(),
        None => builder.build(),
    }
}

/// `<chatstate [from] to><composing [media="audio"]/> | <paused/></chatstate>`.
#[must_use]
pub fn chat_state_node(
    from: Option<&Jid>,
    to: &Jid,
    state: ChatPresence,
    media: ChatPresenceMedia,
) -> Node {
    let child = match state {
        ChatPresence::Composing => Node::new("composing")
            .attr_opt(
                "media",
                (media == ChatPresenceMedia::Audio).then(|| "audio".to_owned()),
            )
            .build(),
        ChatPresence::Paused => Node::new("paused").build(),
    };
    Node::new("chatstate")
        .attr_opt("from", from.cloned())
        .attr("to", to.clone())
        .child(child)
        .build()
}

fn jid_attr(node: &Node, key: &str) -> Result<Jid, Error> {
    node.attr(key)
        .and_then(|v| v.as_jid())
        .cloned()
        .ok_or_else(|| Error::Protocol(format!("<{}> without a {key} JID", node.tag)))
}

/// Reads an incoming `<presence>`. `last` is Unix seconds, or `deny` (or absent) when the
/// account does not share it.
pub fn parse_presence(node: &Node) -> Result<PresenceEvent, Error> {
    let from = jid_attr(node, "from")?;
    let ty = node.attr("type").and_then(|v| v.as_str()).unwrap_or("");
    let last_seen = node
        .attr("last")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<u64>().ok());
    Ok(PresenceEvent {
        from,
        unavailable: ty == "unavailable",
        last_seen,
    })
}

/// Reads an incoming `<chatstate>`: its first child is `composing` (with `media="audio"` when
/// recording) or `paused`.
pub fn parse_chat_state(node: &Node) -> Result<ChatPresenceEvent, Error> {
    let chat = jid_attr(node, "from")?;
    let sender = match node.attr("participant") {
        Some(_) => jid_attr(node, "participant")?,
        None => chat.clone(),
    };
    let child = node
        .children()
        .first()
        .ok_or_else(|| Error::Protocol("<chatstate> without a state".into()))?;
    let state = match child.tag.as_str() {
        "composing" => ChatPresence::Composing,
        "paused" => ChatPresence::Paused,
        other => {
            return Err(Error::Protocol(format!(
                "<chatstate> with unknown state <{other}>"
            )));
        }
    };
    let media = match child.attr("media").and_then(|v| v.as_str()) {
        Some("audio") => ChatPresenceMedia::Audio,
        _ => ChatPresenceMedia::Text,
    };
    Ok(ChatPresenceEvent {
        chat,
        sender,
        state,
        media,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    #[test]
    fn presence_nodes_match_whatsmeow() {
        assert_eq!(
            presence_node(Presence::Available, Some("Ann")).to_xml(),
            r#"<presence name="Ann" type="available"/>"#
        );
        assert_eq!(
            presence_node(Presence::Unavailable, Some("")).to_xml(),
            r#"<presence type="unavailable"/>"#
        );
        let bob = jid("15550002222@s.whatsapp.net");
        assert_eq!(
            subscribe_node(&bob, None).to_xml(),
            r#"<presence type="subscribe" to="15550002222@s.whatsapp.net"/>"#
        );
        let with_token = subscribe_node(&bob, Some(b"tok"));
        assert_eq!(
            with_token.child("tctoken").and_then(Node::bytes),
            Some(&b"tok"[..])
        );
        let me = jid("15550001111:3@s.whatsapp.net");
        let paused = chat_state_node(
            Some(&me),
            &bob,
            ChatPresence::Paused,
            ChatPresenceMedia::Audio,
        );
        assert_eq!(paused.attr("from").and_then(|v| v.as_jid()), Some(&me));
        assert_eq!(paused.attr("to").and_then(|v| v.as_jid()), Some(&bob));
        let tags: Vec<&str> = paused.children().iter().map(|c| c.tag.as_str()).collect();
        assert_eq!(tags, ["paused"]);
        assert!(paused.children()[0].attr("media").is_none());
    }

    #[test]
    fn incoming_presence_and_chat_states_parse() {
        let away = Node::new("presence")
            .attr("from", jid("15550002222@s.whatsapp.net"))
            .attr("type", "unavailable")
            .attr("last", "1700000000")
            .build();
        assert_eq!(
            parse_presence(&away).unwrap(),
            PresenceEvent {
                from: jid("15550002222@s.whatsapp.net"),
                unavailable: true,
                last_seen: Some(1_700_000_000),
            }
        );
        let denied = Node::new("presence")
            .attr("from", jid("12345@lid"))
            .attr("last", "deny")
            .build();
        let parsed = parse_presence(&denied).unwrap();
        assert!(!parsed.unavailable);
        assert_eq!(parsed.last_seen, None);

        let group = jid("120363000000000001@g.us");
        let recording = Node::new("chatstate")
            .attr("from", group.clone())
            .attr("participant", jid("12345@lid"))
            .child(Node::new("composing").attr("media", "audio").build())
            .build();
        assert_eq!(
            parse_chat_state(&recording).unwrap(),
            ChatPresenceEvent {
                chat: group,
                sender: jid("12345@lid"),
                state: ChatPresence::Composing,
                media: ChatPresenceMedia::Audio,
            }
        );
        // Round trip of what we send, as the peer receives it (the server sets `from`).
        let bob = jid("15550002222@s.whatsapp.net");
        let sent = chat_state_node(None, &bob, ChatPresence::Paused, ChatPresenceMedia::Text);
        let received = Node::new("chatstate")
            .attr("from", bob.clone())
            .children(sent.children().to_vec())
            .build();
        let parsed = parse_chat_state(&received).unwrap();
        assert_eq!((parsed.sender, parsed.state), (bob, ChatPresence::Paused));
    }

    #[test]
    fn malformed_stanzas_are_typed_errors() {
        let no_from = Node::new("presence").attr("type", "available").build();
        assert!(matches!(parse_presence(&no_from), Err(Error::Protocol(_))));
        let bob = jid("15550002222@s.whatsapp.net");
        let empty = Node::new("chatstate").attr("from", bob.clone()).build();
        assert!(parse_chat_state(&empty).is_err());
        let odd = Node::new("chatstate")
            .attr("from", bob)
            .child(Node::new("dancing").build())
            .build();
        assert!(parse_chat_state(&odd).is_err());
        let bad_participant = Node::new("chatstate")
            .attr("from", jid("120363000000000001@g.us"))
            .attr("participant", "not a jid")
            .child(Node::new("paused").build())
            .build();
        assert!(parse_chat_state(&bad_participant).is_err());
    }
}
