//! Builders for the message types a client sends: text (plain, or extended with mentions and
//! a quoted reply), reactions, edits, revocations, locations, contact cards and the
//! disappearing-messages timer. Polls are in [`poll`](super::poll).
//!
//! Each returns a `wa_proto::proto::Message` to pass to
//! [`Client::send_message`](crate::Client). Time comes in as an argument (sans-IO); the shapes
//! follow whatsmeow's `send.go` (`BuildReaction`, `BuildEdit`, `BuildRevoke`,
//! `SetDisappearingTimer`) and what WhatsApp Web sends.

use wa_binary::{Jid, Server};
use wa_proto::proto::message::{
    ContactMessage, ExtendedTextMessage, FutureProofMessage, LocationMessage, ProtocolMessage,
    ReactionMessage, protocol_message,
};
use wa_proto::proto::{ContextInfo, Message, MessageKey};

use crate::error::ContentError;

/// The message another message refers to (reacted to, edited, revoked, quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The chat the message is in.
    pub chat: Jid,
    /// Its id.
    pub id: String,
    /// Whether we (this account) sent it.
    pub from_me: bool,
    /// Who sent it, when it was not us; needed in groups.
    pub sender: Option<Jid>,
}

impl Target {
    /// A message we sent in `chat`.
    pub fn own(chat: Jid, id: impl Into<String>) -> Self {
        Self {
            chat,
            id: id.into(),
            from_me: true,
            sender: None,
        }
    }

    /// A message `sender` sent in `chat`.
    pub fn from(chat: Jid, id: impl Into<String>, sender: Jid) -> Self {
        Self {
            chat,
            id: id.into(),
            from_me: false,
            sender: Some(sender),
        }
    }

    /// The `MessageKey` naming this message: the participant is set for others' messages in
    /// groups and broadcasts (whatsmeow `BuildMessageKey`).
    pub fn key(&self) -> MessageKey {
        let participant = match (&self.sender, self.chat.server()) {
            (Some(sender), Server::Group | Server::Broadcast | Server::Newsletter)
                if !self.from_me =>
            {
                Some(sender.to_non_ad().to_string())
            }
            _ => None,
        };
        MessageKey {
            remote_jid: Some(self.chat.to_string()),
            from_me: Some(self.from_me),
            id: Some(self.id.clone()),
            participant,
        }
    }
}

/// A plain text message (`conversation`).
pub fn text(text: impl Into<String>) -> Message {
    Message {
        conversation: Some(text.into()),
        ..Default::default()
    }
}

/// The message being answered by a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Its id.
    pub id: String,
    /// Who sent it (device part dropped).
    pub sender: Jid,
    /// Its content, shown above the reply.
    pub message: Message,
}

/// A text message with mentions and/or a quoted reply (`extendedTextMessage`); plain text
/// when it has neither.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextBuilder {
    text: String,
    mentions: Vec<Jid>,
    quote: Option<Quote>,
}

impl TextBuilder {
    /// Starts a text message. Mentioned users should appear in it as `@<user>`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Default::default()
        }
    }

    /// Mentions `jid` (device part dropped).
    #[must_use]
    pub fn mention(mut self, jid: Jid) -> Self {
        self.mentions.push(jid.to_non_ad());
        self
    }

    /// Makes this a reply to `quote`.
    #[must_use]
    pub fn reply_to(mut self, quote: Quote) -> Self {
        self.quote = Some(quote);
        self
    }

    /// The message.
    pub fn build(self) -> Message {
        if self.mentions.is_empty() && self.quote.is_none() {
            return text(self.text);
        }
        let mut context = ContextInfo {
            mentioned_jid: self.mentions.iter().map(ToString::to_string).collect(),
            ..Default::default()
        };
        if let Some(q) = self.quote {
            context.stanza_id = Some(q.id);
            context.participant = Some(q.sender.to_non_ad().to_string());
            context.quoted_message = Some(Box::new(q.message));
        }
        Message {
            extended_text_message: Some(Box::new(ExtendedTextMessage {
                text: Some(self.text),
                context_info: Some(Box::new(context)),
                ..Default::default()
            })),
            ..Default::default()
        }
    }
}

/// A reaction to `target`; an empty `emoji` removes our earlier reaction.
pub fn reaction(target: &Target, emoji: &str, timestamp_ms: i64) -> Message {
    Message {
        reaction_message: Some(ReactionMessage {
            key: Some(target.key()),
            text: Some(emoji.to_owned()),
            grouping_key: None,
            sender_timestamp_ms: Some(timestamp_ms),
        }),
        ..Default::default()
    }
}

/// An edit of our message `id` in `chat`, replacing its content with `new` (a
/// `MESSAGE_EDIT` protocol message wrapped in `editedMessage`, as WhatsApp Web sends it).
pub fn edit(chat: &Jid, id: &str, new: Message, timestamp_ms: i64) -> Message {
    let protocol = ProtocolMessage {
        key: Some(Target::own(chat.clone(), id).key()),
        r#type: Some(protocol_message::Type::MessageEdit as i32),
        edited_message: Some(Box::new(new)),
        timestamp_ms: Some(timestamp_ms),
        ..Default::default()
    };
    Message {
        edited_message: Some(Box::new(FutureProofMessage {
            message: Some(Box::new(Message {
                protocol_message: Some(Box::new(protocol)),
                ..Default::default()
            })),
        })),
        ..Default::default()
    }
}

/// Deletes `target` for everyone: our own message, or (as a group admin) someone else's.
pub fn revoke(target: &Target) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            key: Some(target.key()),
            r#type: Some(protocol_message::Type::Revoke as i32),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// A location pin. Latitude must be within ±90 and longitude within ±180.
pub fn location(
    latitude: f64,
    longitude: f64,
    name: Option<&str>,
    address: Option<&str>,
) -> Result<Message, ContentError> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(ContentError::Invalid {
            what: "location",
            why: format!("({latitude}, {longitude}) is not a point on Earth"),
        });
    }
    Ok(Message {
        location_message: Some(Box::new(LocationMessage {
            degrees_latitude: Some(latitude),
            degrees_longitude: Some(longitude),
            name: name.map(str::to_owned),
            address: address.map(str::to_owned),
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// A contact card.
pub fn contact(display_name: &str, vcard: &str) -> Message {
    Message {
        contact_message: Some(Box::new(ContactMessage {
            display_name: Some(display_name.to_owned()),
            vcard: Some(vcard.to_owned()),
            context_info: None,
        })),
        ..Default::default()
    }
}

/// A minimal vCard 3.0 for a WhatsApp user: full name and phone number (digits with country
/// code; a leading `+` and separators are ignored), tagged with the `waid` WhatsApp uses to
/// offer "Message" on the card.
pub fn vcard(full_name: &str, phone: &str) -> Result<String, ContentError> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let valid = !digits.is_empty()
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
    if !valid {
        return Err(ContentError::Invalid {
            what: "phone number",
            why: format!("{phone:?} is not a phone number"),
        });
    }
    if full_name.contains(['\n', '\r']) {
        return Err(ContentError::Invalid {
            what: "contact name",
            why: "contains a line break".into(),
        });
    }
    Ok(format!(
        "BEGIN:VCARD\nVERSION:3.0\nFN:{full_name}\nTEL;type=CELL;waid={digits}:+{digits}\nEND:VCARD"
    ))
}

/// Sets the disappearing-messages timer of a 1:1 chat to `seconds` (0 turns it off;
/// WhatsApp offers 86 400, 604 800 and 7 776 000), as of `setting_timestamp` (Unix seconds).
/// Groups change the timer with a group IQ instead.
pub fn ephemeral_setting(seconds: u32, setting_timestamp: i64) -> Message {
    Message {
        protocol_message: Some(Box::new(ProtocolMessage {
            r#type: Some(protocol_message::Type::EphemeralSetting as i32),
            ephemeral_expiration: Some(seconds),
            ephemeral_setting_timestamp: Some(setting_timestamp),
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_proto::prost::Message as _;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn through_protobuf(m: &Message) -> Message {
        Message::decode(m.encode_to_vec().as_slice()).unwrap()
    }

    #[test]
    fn plain_and_extended_text() {
        let plain = TextBuilder::new("hi").build();
        assert_eq!(plain, text("hi"));
        assert_eq!(plain.encode_to_vec(), b"\x0a\x02hi");

        let quoted = text("original");
        let m = TextBuilder::new("@200 yes")
            .mention(jid("200:3@s.whatsapp.net"))
            .reply_to(Quote {
                id: "3EB0ORIG".into(),
                sender: jid("200:3@s.whatsapp.net"),
                message: quoted.clone(),
            })
            .build();
        let m = through_protobuf(&m);
        assert!(m.conversation.is_none());
        let ext = m.extended_text_message.as_deref().unwrap();
        assert_eq!(ext.text.as_deref(), Some("@200 yes"));
        let ctx = ext.context_info.as_deref().unwrap();
        assert_eq!(ctx.mentioned_jid, vec!["200@s.whatsapp.net"]);
        assert_eq!(ctx.stanza_id.as_deref(), Some("3EB0ORIG"));
        assert_eq!(ctx.participant.as_deref(), Some("200@s.whatsapp.net"));
        assert_eq!(ctx.quoted_message.as_deref(), Some(&quoted));
    }

    #[test]
    fn keys_name_the_participant_only_for_others_in_groups() {
        let group = jid("1-2@g.us");
        let alice = jid("300:5@s.whatsapp.net");
        let k = Target::from(group.clone(), "A", alice.clone()).key();
        assert_eq!(k.participant.as_deref(), Some("300@s.whatsapp.net"));
        assert_eq!(k.from_me, Some(false));
        assert_eq!(k.remote_jid.as_deref(), Some("1-2@g.us"));
        assert_eq!(Target::own(group, "A").key().participant, None);
        let k = Target::from(jid("300@s.whatsapp.net"), "B", alice).key();
        assert_eq!(k.participant, None);
    }

    #[test]
    fn reaction_edit_revoke() {
        let chat = jid("300@s.whatsapp.net");
        let r = through_protobuf(&reaction(
            &Target::from(chat.clone(), "M1", chat.clone()),
            "👍",
            1_700_000_000_000,
        ));
        let rm = r.reaction_message.as_ref().unwrap();
        assert_eq!(rm.text.as_deref(), Some("👍"));
        assert_eq!(rm.key.as_ref().unwrap().id.as_deref(), Some("M1"));
        assert_eq!(rm.sender_timestamp_ms, Some(1_700_000_000_000));

        let e = through_protobuf(&edit(&chat, "M2", text("fixed"), 5));
        let inner = e.edited_message.as_ref().unwrap().message.as_ref().unwrap();
        let pm = inner.protocol_message.as_ref().unwrap();
        assert_eq!(pm.r#type, Some(protocol_message::Type::MessageEdit as i32));
        assert_eq!(pm.key.as_ref().unwrap().from_me, Some(true));
        assert_eq!(pm.key.as_ref().unwrap().id.as_deref(), Some("M2"));
        assert_eq!(pm.edited_message.as_deref(), Some(&text("fixed")));
        assert_eq!(pm.timestamp_ms, Some(5));

        let v = through_protobuf(&revoke(&Target::own(chat, "M3")));
        let pm = v.protocol_message.as_ref().unwrap();
        assert_eq!(pm.r#type, Some(0));
        assert_eq!(pm.key.as_ref().unwrap().id.as_deref(), Some("M3"));
    }

    #[test]
    fn location_contact_ephemeral() {
        let l = location(52.37, 4.89, Some("Dam"), None).unwrap();
        let lm = l.location_message.as_deref().unwrap();
        assert_eq!(lm.degrees_latitude, Some(52.37));
        assert_eq!(lm.name.as_deref(), Some("Dam"));
        for (lat, lon) in [(91.0, 0.0), (0.0, -180.5), (f64::NAN, 0.0)] {
            assert!(location(lat, lon, None, None).is_err());
        }

        let card = vcard("Ada Lovelace", "+44 20-7946 0958").unwrap();
        assert!(card.contains("FN:Ada Lovelace\n"));
        assert!(card.contains("waid=442079460958:+442079460958"));
        assert!(vcard("x", "call me").is_err());
        assert!(vcard("x", "").is_err());
        assert!(vcard("a\nEND:VCARD", "1").is_err());
        let c = contact("Ada", &card);
        assert_eq!(
            c.contact_message.as_deref().unwrap().vcard.as_deref(),
            Some(card.as_str())
        );

        let t = ephemeral_setting(86_400, 1_700_000_000);
        let pm = t.protocol_message.as_deref().unwrap();
        assert_eq!(pm.r#type, Some(3));
        assert_eq!(pm.ephemeral_expiration, Some(86_400));
        assert_eq!(pm.ephemeral_setting_timestamp, Some(1_700_000_000));
    }
}
