//! History messages as live-message events (whatsmeow `ParseWebMessage`) and what the store
//! keeps of a blob (whatsmeow `DownloadHistorySync`'s storage step).

use wa_binary::{Jid, Server};
use wa_proto::proto::message::protocol_message;
use wa_proto::proto::{HistorySync, WebMessageInfo};
use wa_store::{Changes, ContactInfo, MessageKey, PrivacyToken};

use super::HistoryError;
use crate::event::MessageEvent;
use crate::message::{MessageInfo, MessageSource};

fn bad(id: &str, reason: impl Into<String>) -> HistoryError {
    HistoryError::BadMessage {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

fn jid(text: &str, id: &str, what: &str) -> Result<Jid, HistoryError> {
    text.parse::<Jid>()
        .map_err(|e| bad(id, format!("{what} {text:?}: {e}")))
}

/// Whether a chat of this server is a 1:1 chat (its sender is the chat itself).
fn is_direct(server: &Server) -> bool {
    matches!(server, Server::User | Server::Lid | Server::Newsletter)
}

/// A history message as the [`MessageEvent`] a live one would be (whatsmeow
/// `ParseWebMessage`): `chat` is the conversation's JID (when `None`, the message key's
/// `remoteJid`); the sender is `own` for our own messages (or the original self author), the
/// chat for 1:1 chats and channels, else the message's or key's participant. A copy of ours
/// wrapped in `DeviceSentMessage` is unwrapped, and an edit carries the edited message under
/// the original id.
pub fn parse_web_message(
    chat: Option<&Jid>,
    web: &WebMessageInfo,
    own: &Jid,
) -> Result<MessageEvent, HistoryError> {
    let key = web.key.clone().unwrap_or_default();
    let id = key.id.clone().unwrap_or_default();
    if id.is_empty() {
        return Err(bad("", "no message id"));
    }
    let chat = match chat {
        Some(c) => c.clone(),
        None => jid(key.remote_jid.as_deref().unwrap_or(""), &id, "chat")?,
    };
    let from_me = key.from_me.unwrap_or(false);
    let sender = if from_me {
        match web
            .original_self_author_user_jid_string
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            Some(author) => jid(author, &id, "self author")?,
            None => own.to_non_ad(),
        }
    } else if is_direct(chat.server()) {
        chat.clone()
    } else if let Some(p) = web.participant.as_deref().filter(|s| !s.is_empty()) {
        jid(p, &id, "participant")?
    } else if let Some(p) = key.participant.as_deref().filter(|s| !s.is_empty()) {
        jid(p, &id, "participant")?
    } else {
        return Err(bad(&id, "no sender"));
    };
    let raw = web.message.clone().unwrap_or_default();
    let (mut message, dsm) = if from_me {
        let (inner, dest) = crate::message::dsm::unwrap(raw);
        (inner, dest.is_some())
    } else {
        (raw, false)
    };
    let mut id = id;
    // An edit comes as a protocol message, bare or in its `editedMessage` wrapper.
    let edit = message
        .protocol_message
        .as_deref()
        .or_else(|| {
            message
                .edited_message
                .as_ref()
                .and_then(|w| w.message.as_ref())
                .and_then(|m| m.protocol_message.as_deref())
        })
        .filter(|pm| pm.r#type == Some(protocol_message::Type::MessageEdit as i32))
        .cloned();
    if let Some(pm) = edit {
        if let Some(original) = pm.key.as_ref().and_then(|k| k.id.clone()) {
            id = original;
        }
        if let Some(edited) = pm.edited_message {
            message = *edited;
        }
    }
    let kind = crate::message::stanza_type(&message).to_owned();
    Ok(MessageEvent {
        info: MessageInfo {
            source: MessageSource {
                is_group: matches!(chat.server(), Server::Group | Server::Broadcast),
                chat,
                sender,
                sender_alt: None,
                recipient_alt: None,
                is_from_me: from_me,
            },
            id,
            push_name: web.push_name.clone().filter(|n| !n.is_empty()),
            timestamp: web.message_timestamp.unwrap_or(0),
            kind,
            category: None,
        },
        message: Box::new(message),
        retry_count: 0,
        unwrapped_from_device_sent: dsm,
        from_buffer: false,
    })
}

/// A user JID without device; a legacy `c.us` one as `s.whatsapp.net` (whatsmeow does the
/// same for PN→LID mappings).
fn user(text: Option<&str>) -> Option<Jid> {
    let j = text?.parse::<Jid>().ok()?;
    let j = if *j.server() == Server::LegacyUser {
        Jid::new(j.user().to_owned(), Server::User)
    } else {
        j
    };
    (!j.user().is_empty()).then(|| j.to_non_ad())
}

/// What the store keeps of a blob, as one batch of changes: PN↔LID mappings, push names
/// (`"-"` means none), the message secrets of history messages (for polls, reactions and
/// edits that reference them) and the conversations' privacy tokens (filed under the chat's
/// LID when the blob maps it). Malformed entries are skipped.
pub(crate) fn store_changes(data: &HistorySync, own: &Jid) -> (Changes, usize) {
    let mut c = Changes::new();
    let mut n = 0usize;
    let mut lid_of: Vec<(Jid, Jid)> = Vec::new();
    for m in &data.phone_number_to_lid_mappings {
        if let (Some(pn), Some(lid)) = (user(m.pn_jid.as_deref()), user(m.lid_jid.as_deref()))
            && *pn.server() == Server::User
            && *lid.server() == Server::Lid
        {
            c.put_lid_mapping(lid.clone(), pn.clone());
            lid_of.push((pn, lid));
            n += 1;
        }
    }
    for p in &data.pushnames {
        let (Some(jid), Some(name)) = (user(p.id.as_deref()), p.pushname.as_deref()) else {
            continue;
        };
        if name.is_empty() || name == "-" {
            continue;
        }
        c.upsert_contact(
            jid,
            ContactInfo {
                push_name: Some(name.to_owned()),
                ..ContactInfo::default()
            },
        );
        n += 1;
    }
    for conv in &data.conversations {
        let Ok(chat) = conv.id.parse::<Jid>() else {
            continue;
        };
        if let Some(token) = conv.tc_token.as_ref().filter(|t| !t.is_empty())
            && is_direct(chat.server())
        {
            let holder = lid_of
                .iter()
                .find(|(pn, _)| *pn == chat)
                .map_or_else(|| chat.clone(), |(_, lid)| lid.clone());
            c.put_privacy_token(PrivacyToken {
                jid: holder,
                token: token.clone(),
                timestamp: conv
                    .tc_token_timestamp
                    .and_then(|t| i64::try_from(t).ok())
                    .unwrap_or(0),
            });
            n += 1;
        }
        for m in &conv.messages {
            let Some(web) = &m.message else { continue };
            let Some(secret) = web.message_secret.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let Ok(ev) = parse_web_message(Some(&chat), web, own) else {
                continue;
            };
            c.put_message_secret(
                MessageKey {
                    chat: ev.info.source.chat.clone(),
                    sender: ev.info.source.sender.to_non_ad(),
                    id: ev.info.id.clone(),
                },
                secret.clone(),
            );
            n += 1;
        }
    }
    (c, n)
}
