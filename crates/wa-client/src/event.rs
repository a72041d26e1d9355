//! The events a client delivers to the application: one enum, one variant per fact.

use serde::{Deserialize, Serialize};

use crate::error::PairError;

/// Something the application should know about. Serializable, so `wa listen --json` and tests
/// can print and compare events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
