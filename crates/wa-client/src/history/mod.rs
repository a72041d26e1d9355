//! History sync (whatsmeow `message.go` `handleHistorySyncNotification` / `DownloadHistorySync`,
//! Baileys `Utils/history.js`): the chats and messages the primary phone hands a companion.
//!
//! The phone announces each chunk of history with a peer `protocolMessage` of type
//! `HISTORY_SYNC_NOTIFICATION` sent from our own account. Its blob is either inline
//! (`initialHistBootstrapInlinePayload`, the small first chunk) or encrypted media of type
//! [`wa_media::MediaType::History`] at `directPath` under `mediaKey`, checked against
//! `fileEncSha256`/`fileSha256`. The blob is zlib-compressed protobuf `HistorySync`.
//!
//! The sans-IO part lives here and in the submodules: [`notification_of`] recognises the
//! notification, [`decode_blob`] inflates (bounded by a size cap) and decodes the blob,
//! [`parse_web_message`] turns a history message into the [`MessageEvent`] shape live messages
//! have (whatsmeow's `ParseWebMessage`), and `store_changes` collects what the store keeps of a
//! blob (push names, PN↔LID mappings, message secrets, privacy tokens) for one commit.
//!
//! The runtime does the rest by itself ([`crate::Config::history`]): for a notification from
//! our own account it downloads (when needed), decodes, stores, emits [`Event::HistorySync`]
//! with a [`HistorySyncEvent`], sends the `hist_sync` receipt to our phone and only then marks
//! the notification handled in the store's event buffer, so a crash before that replays it on
//! the next start. A blob that fails (download, hash, inflate, decode) emits
//! [`Event::HistorySyncFailed`] and a warning; [`Client::download_history_sync`] fetches a
//! blob by hand.
//!
//! [`Event::HistorySync`]: crate::Event::HistorySync
//! [`Event::HistorySyncFailed`]: crate::Event::HistorySyncFailed
//! [`Client::download_history_sync`]: crate::Client::download_history_sync

mod blob;
mod parse;

use serde::{Deserialize, Serialize};
use wa_binary::Jid;
use wa_proto::proto::message::HistorySyncNotification;
use wa_proto::proto::{Conversation, HistorySync, history_sync::HistorySyncType};

pub use blob::{MAX_INFLATED, decode_blob, inflate, notification_of};
pub(crate) use blob::{Payload, payload as blob_payload};
pub use parse::parse_web_message;
pub(crate) use parse::store_changes;

use crate::event::MessageEvent;

/// Why a history blob could not be turned into a [`HistorySync`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The notification has neither an inline payload nor a direct path and media key.
    #[error("history notification has no payload: {0}")]
    NoPayload(&'static str),
    /// The blob is not a valid zlib stream (bad header, corrupt data, wrong checksum).
    #[error("history blob does not inflate: {0}")]
    Inflate(String),
    /// The zlib stream ends before its end marker.
    #[error("history blob is truncated")]
    Truncated,
    /// The inflated blob would exceed the size cap.
    #[error("history blob inflates to more than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The inflated blob is not a `HistorySync` protobuf.
    #[error("history blob is not a HistorySync protobuf: {0}")]
    Decode(String),
    /// A history message lacks what it takes to name its chat or sender.
    #[error("history message {id}: {reason}")]
    BadMessage {
        /// The message id (empty if it had none).
        id: String,
        /// What was missing or malformed.
        reason: String,
    },
}

/// What the runtime does with history-sync notifications ([`crate::Config::history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryOptions {
    /// Download, store and emit history chunks by themselves (default `true`). When `false`
    /// the notification is still delivered as an [`crate::Event::Message`] and acknowledged
    /// with the `hist_sync` receipt (whatsmeow's `ManualHistorySyncDownload`); the application
    /// may call [`crate::Client::download_history_sync`] itself.
    pub automatic: bool,
    /// Largest inflated blob accepted, in bytes (default [`MAX_INFLATED`]).
    pub max_inflated: usize,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        Self {
            automatic: true,
            max_inflated: MAX_INFLATED,
        }
    }
}

/// One decoded chunk of history ([`crate::Event::HistorySync`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySyncEvent {
    /// The id of the notification message that announced the chunk.
    pub message_id: String,
    /// Our own phone-number JID (without device), the sender of our own history messages.
    #[serde(with = "crate::recv::serde_jid")]
    pub own_jid: Jid,
    /// The decoded blob.
    #[serde(with = "serde_proto")]
    pub data: HistorySync,
}

impl HistorySyncEvent {
    /// The chunk's sync type; `None` for a type this client does not know.
    #[must_use]
    pub fn sync_type(&self) -> Option<HistorySyncType> {
        HistorySyncType::try_from(self.data.sync_type).ok()
    }

    /// The chunk's position among the chunks of its sync (0 when absent).
    #[must_use]
    pub fn chunk_order(&self) -> u32 {
        self.data.chunk_order.unwrap_or(0)
    }

    /// How far the whole sync is, in percent, if the phone said.
    #[must_use]
    pub fn progress(&self) -> Option<u32> {
        self.data.progress
    }

    /// The conversations of the chunk.
    #[must_use]
    pub fn conversations(&self) -> &[Conversation] {
        &self.data.conversations
    }

    /// How many messages the chunk's conversations hold.
    #[must_use]
    pub fn message_count(&self) -> usize {
        self.data
            .conversations
            .iter()
            .map(|c| c.messages.len())
            .sum()
    }

    /// Every message of every conversation, in order, parsed like a live message
    /// ([`parse_web_message`]); messages that do not parse are errors in their place.
    #[must_use]
    pub fn messages(&self) -> Vec<Result<MessageEvent, HistoryError>> {
        let mut out = Vec::with_capacity(self.message_count());
        for conversation in &self.data.conversations {
            let chat = conversation.id.parse::<Jid>().ok();
            for m in &conversation.messages {
                let Some(web) = &m.message else {
                    out.push(Err(HistoryError::BadMessage {
                        id: String::new(),
                        reason: "history entry without a message".into(),
                    }));
                    continue;
                };
                out.push(parse_web_message(chat.as_ref(), web, &self.own_jid));
            }
        }
        out
    }

    /// A short description for logs and `wa listen`: type, chunk, progress and counts.
    #[must_use]
    pub fn summary(&self) -> String {
        let kind = self
            .sync_type()
            .map_or("UNKNOWN", |t| t.as_str_name())
            .to_owned();
        format!(
            "{kind} chunk {} ({}%): {} conversations, {} messages, {} push names",
            self.chunk_order(),
            self.progress().unwrap_or(0),
            self.data.conversations.len(),
            self.message_count(),
            self.data.pushnames.len()
        )
    }
}

/// The notification's sync type; `None` for an unknown one.
#[must_use]
pub fn notification_sync_type(n: &HistorySyncNotification) -> Option<HistorySyncType> {
    n.sync_type.and_then(|t| HistorySyncType::try_from(t).ok())
}

/// Serde for a protobuf message as `{"proto_b64": …}` (the form [`MessageEvent`] uses).
mod serde_proto {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use wa_proto::prost::Message as _;
    use wa_proto::proto::HistorySync;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        proto_b64: String,
    }

    pub(super) fn serialize<S: Serializer>(data: &HistorySync, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            proto_b64: B64.encode(data.encode_to_vec()),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HistorySync, D::Error> {
        let wire = Wire::deserialize(d)?;
        let bytes = B64.decode(wire.proto_b64).map_err(D::Error::custom)?;
        HistorySync::decode(bytes.as_slice()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests;
