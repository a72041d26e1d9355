//! The events a client delivers to the application: one enum, one variant per fact.

use serde::{Deserialize, Serialize};

use crate::error::PairError;
use crate::message::MessageInfo;

/// Something the application should know about. Serializable, so `wa listen --json` and tests
/// can print and compare events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A QR code to show to the user (scan it with the primary phone). The first one lives
    /// 60 s, each next one 20 s.
    Qr {
        /// The text to encode in the QR code
        /// (`https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform`).
        code: String,
    },
    /// The server ran out of QR references before the phone scanned one; the client stops.
    QrTimeout,
    /// The phone paired this device; the identity was verified and saved. The server restarts
    /// the stream (515) and the client logs in by itself.
    PairSuccess {
        /// Our phone-number JID with device number.
        jid: String,
        /// Our LID with device number, if the server sent one.
        lid: Option<String>,
        /// The primary phone's platform (`android`, `iphone`, …).
        platform: String,
        /// The business name, for business accounts.
        business_name: Option<String>,
    },
    /// The server's `pair-success` did not verify; nothing was saved and the client stops.
    PairError {
        /// Why it was refused.
        error: PairError,
    },
    /// The session is logged in and active.
    Connected,
    /// The connection ended; `reconnecting` tells whether the client will retry by itself.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// Whether a reconnect is scheduled.
        reconnecting: bool,
    },
    /// The device was removed (stream error 401 or a 401 login failure, or our own logout):
    /// the credentials were cleared and the client stopped.
    LoggedOut {
        /// Whether the server refused the login itself (`<failure reason="401">`), as opposed
        /// to ending a running session.
        on_connect: bool,
        /// The reason the server gave (`device_removed`, `user_initiated`, …), if any.
        reason: Option<String>,
    },
    /// Another connection of the same device replaced this one (stream error 440 / conflict
    /// `replaced`); the client stopped and will not reconnect.
    StreamReplaced,
    /// The server refused the login with a `<failure>` other than 401.
    ConnectFailure {
        /// The `reason` code.
        reason: u16,
        /// The `message` attribute, if any.
        message: Option<String>,
    },
    /// A keepalive ping went unanswered.
    KeepAliveTimeout {
        /// Consecutive unanswered pings.
        error_count: u32,
        /// Seconds since the last answered ping.
        seconds_since_last_success: u64,
    },
    /// A ping was answered again after timeouts.
    KeepAliveRestored,
    /// The server's offline queue is drained (`<ib><offline count=N/>`).
    OfflineSyncCompleted {
        /// How many stanzas the server had queued.
        count: u64,
    },
    /// Prekeys were uploaded because the server held fewer than the minimum.
    PreKeysUploaded {
        /// How many.
        count: u32,
    },
    /// A message was received, decrypted and stored in the event buffer (see [`MessageEvent`]).
    Message(Box<MessageEvent>),
    /// Receipts for messages (delivered, read, played, retry, …).
    Receipt(ReceiptEvent),
    /// A message could not be decrypted; a retry receipt was sent when the failure was one
    /// the sender can repair by encrypting again.
    UndecryptableMessage {
        /// What the stanza said about the message.
        info: Box<MessageInfo>,
        /// Why it could not be decrypted.
        reason: String,
    },
    /// A group changed (`w:gp2` notification): members, admins, settings, links.
    Group(Box<crate::recv::group::GroupEvent>),
    /// An app-state mutation was applied (mute, pin, archive, …; see [`crate::appstate`]).
    AppState(Box<crate::appstate::AppStateEvent>),
    /// A sync of an app-state collection finished at `version`.
    AppStateSynced {
        /// The collection.
        collection: String,
        /// Its version now.
        version: u64,
    },
    /// An automatic app-state sync failed (a refused patch, missing keys, …); nothing of the
    /// failing fetch was stored.
    AppStateSyncFailed {
        /// The collection.
        collection: String,
        /// Why.
        error: String,
    },
    /// An account we subscribed to ([`crate::Client::subscribe_presence`]) came online or
    /// went away.
    Presence(crate::presence::PresenceEvent),
    /// Someone is typing or recording in a chat, or stopped.
    ChatPresence(crate::presence::ChatPresenceEvent),
    /// The blocklist was changed (on another device of the account).
    Blocklist(crate::blocklist::BlocklistEvent),
    /// Privacy settings were changed (on another device of the account): the categories that
    /// changed, with their new values.
    PrivacySettings(crate::privacy::PrivacySettings),
    /// Call signalling: an incoming call, its answer or rejection, the hang-up (see
    /// [`crate::call`]). Every `<call>` is acked.
    Call(Box<crate::call::CallEvent>),
    /// A user's or group's profile picture was set or removed.
    Picture(crate::profile::PictureEvent),
    /// A user changed their about text.
    UserAbout(crate::profile::UserAboutEvent),
    /// A chunk of history from our primary phone was downloaded, decoded and stored (push
    /// names, PN↔LID mappings, message secrets): see [`crate::history::HistorySyncEvent`].
    HistorySync(Box<crate::history::HistorySyncEvent>),
    /// A history-sync notification could not be processed (download, hashes, inflate,
    /// decode); nothing of its blob was stored.
    HistorySyncFailed {
        /// The id of the notification message.
        message_id: String,
        /// Why.
        error: String,
    },
}

/// A received, decrypted message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEvent {
    /// Chat, sender, id, timestamp, push name, PN/LID alternates.
    pub info: MessageInfo,
    /// The message (for copies from our own devices: the message inside `DeviceSentMessage`).
    /// Boxed, as whatsmeow holds a pointer: a `Message` is several KiB, mostly empty fields,
    /// and every move of it would be a copy.
    #[serde(with = "crate::message::content::serde_message")]
    pub message: Box<wa_proto::proto::Message>,
    /// How many retry receipts we sent for this message before it decrypted.
    pub retry_count: u32,
    /// The message came wrapped in `DeviceSentMessage` (sent by one of our own devices).
    pub unwrapped_from_device_sent: bool,
    /// The message is redelivered from the store's event buffer (decrypted before a crash or
    /// restart, not yet handled by the application).
    pub from_buffer: bool,
}

/// A `<receipt>` from the server: one or more messages reached a new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEvent {
    /// The chat (the other party of a 1:1 chat, or the group).
    pub chat: String,
    /// The device that produced the receipt.
    pub sender: String,
    /// The messages it covers (the `id` attribute first, then `<list><item id>`).
    pub message_ids: Vec<String>,
    /// What happened.
    pub kind: ReceiptKind,
    /// The receipt's timestamp (Unix seconds; 0 when absent).
    pub timestamp: u64,
}

/// The `type` of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReceiptKind {
    /// No `type`: delivered to the device.
    Delivered,
    /// `read`: the recipient read it.
    Read,
    /// `read-self`: one of our own devices marked it read.
    ReadSelf,
    /// `played`: a voice or view-once message was played.
    Played,
    /// `played-self`: played on one of our own devices.
    PlayedSelf,
    /// `retry`: the recipient could not decrypt and asks for the message again.
    Retry,
    /// `sender`: delivered to another device of our own account.
    Sender,
    /// `inactive`: delivered to a device that is not active.
    Inactive,
    /// `server-error`: the server could not handle the message.
    ServerError,
    /// Any other `type`.
    Other(String),
}

impl ReceiptKind {
    /// Maps the `type` attribute (`None` or empty for a delivery receipt).
    #[must_use]
    pub fn from_attr(ty: Option<&str>) -> Self {
        match ty.unwrap_or("") {
            "" => Self::Delivered,
            "read" => Self::Read,
            "read-self" => Self::ReadSelf,
            "played" => Self::Played,
            "played-self" => Self::PlayedSelf,
            "retry" => Self::Retry,
            "sender" => Self::Sender,
            "inactive" => Self::Inactive,
            "server-error" => Self::ServerError,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `type` attribute value (`None` for a delivery receipt).
    #[must_use]
    pub fn as_attr(&self) -> Option<&str> {
        Some(match self {
            Self::Delivered => return None,
            Self::Read => "read",
            Self::ReadSelf => "read-self",
            Self::Played => "played",
            Self::PlayedSelf => "played-self",
            Self::Retry => "retry",
            Self::Sender => "sender",
            Self::Inactive => "inactive",
            Self::ServerError => "server-error",
            Self::Other(s) => s,
        })
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server asked for a restart (stream error 515, e.g. after pairing).
    Restart,
    /// The server ended the stream with another code (503, …).
    StreamError {
        /// The `code` attribute.
        code: String,
    },
    /// The socket closed or failed.
    ConnectionLost {
        /// What the runtime saw.
        detail: String,
    },
    /// Keepalive pings went unanswered for too long.
    KeepAliveFailed,
    /// The server sent bytes that do not decrypt or decode; the connection was dropped.
    ProtocolError {
        /// What was wrong.
        detail: String,
    },
    /// The application asked to disconnect.
    Requested,
    /// The device is logged out (see [`Event::LoggedOut`]).
    LoggedOut,
    /// Another connection replaced this one (see [`Event::StreamReplaced`]).
    Replaced,
    /// Pairing ended without success (QR refs ran out, or `pair-success` was refused).
    PairingEnded,
    /// The server refused the login (see [`Event::ConnectFailure`]).
    LoginRefused {
        /// The `reason` code.
        reason: u16,
    },
}

impl DisconnectReason {
    /// Whether the client should connect again after this reason.
    #[must_use]
    pub fn should_reconnect(&self) -> bool {
        match self {
            Self::Restart
            | Self::StreamError { .. }
            | Self::ConnectionLost { .. }
            | Self::KeepAliveFailed
            | Self::ProtocolError { .. } => true,
            // Temporary login refusals (server overloaded, 5xx) are retried; others are final.
            Self::LoginRefused { reason } => *reason >= 500,
            Self::Requested | Self::LoggedOut | Self::Replaced | Self::PairingEnded => false,
        }
    }
}
