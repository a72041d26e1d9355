//! The error type of this crate: one enum, wrapping the lower layers' errors.

use wa_binary::DecodeError;
use wa_noise::{FrameError, HandshakeError, TransportError};
use wa_store::StoreError;

/// Everything a client operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Noise handshake failed (bad server hello, untrusted certificate chain, …).
    #[error("noise handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// A frame could not be cut from the byte stream.
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    /// A frame did not decrypt or could not be encrypted.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A decrypted frame is not valid binary XML, or a stanza lacks a required attribute.
    #[error("stanza: {0}")]
    Decode(#[from] DecodeError),
    /// A protobuf from the server does not decode.
    #[error("protobuf {what}: {source}")]
    Protobuf {
        /// Which message.
        what: &'static str,
        /// Why.
        source: wa_proto::prost::DecodeError,
    },
    /// Well-formed input that breaks the protocol (a stanza missing a required child, …).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// Pairing was refused: the server's `pair-success` did not verify. Nothing was saved.
    #[error("pairing refused: {0}")]
    Pair(#[from] PairError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Connecting the socket failed (DNS, TCP, TLS, WebSocket upgrade, proxy).
    #[error("connect: {0}")]
    Connect(String),
    /// The socket failed after it was connected.
    #[error("socket: {0}")]
    Socket(String),
    /// The configuration is unusable (bad URL, bad certificate file, …).
    #[error("configuration: {0}")]
    Config(String),
    /// An IQ failed.
    #[error("iq: {0}")]
    Iq(#[from] IqError),
    /// The client was stopped (or its driver task ended) before the operation completed.
    #[error("client stopped")]
    Stopped,
    /// The operation needs a paired device, and this one is not paired.
    #[error("device is not paired")]
    NotPaired,
    /// The operation needs a connected, logged-in session.
    #[error("not connected")]
    NotConnected,
    /// A message stanza or payload is unusable.
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// A group (sender-key) encryption or decryption step failed.
    #[error("group: {0}")]
    Group(#[from] crate::group::GroupError),
    /// A group management request (create, info, participants, settings, invites,
    /// communities) got a reply that is a refusal or does not parse.
    #[error("group request: {0}")]
    GroupRequest(#[from] wa_groups::GroupError),
    /// An app-state sync or upload failed.
    #[error("app state: {0}")]
    AppState(#[from] crate::appstate::AppStateSyncError),
    /// A message could not be built, or an encrypted add-on (poll vote, …) not opened.
    #[error("message content: {0}")]
    Content(#[from] ContentError),
    /// A media upload or download failed.
    #[error("media transfer: {0}")]
    Media(#[from] crate::media::MediaError),
    /// The user (or group) has no profile picture (the server answered 404).
    #[error("no profile picture is set")]
    ProfilePictureNotSet,
    /// The user's privacy settings hide their profile picture from us (401).
    #[error("not allowed to see the profile picture")]
    ProfilePictureUnauthorized,
    /// A history-sync blob could not be read (see [`crate::history`]).
    #[error("history sync: {0}")]
    History(#[from] crate::history::HistoryError),
}

/// Why an incoming message (stanza or decrypted payload) could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum MessageError {
    /// A required attribute or child is missing or has the wrong form.
    #[error("malformed message stanza: {0}")]
    Malformed(String),
    /// Well-formed but not handled by this client (another server, another `<enc>` type).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The decrypted plaintext does not end in valid padding.
    #[error("bad padding: {0}")]
    Padding(String),
    /// The recipient (or our own account, for our other devices) has no device to send to.
    #[error("no devices to send to")]
    NoDevices,
    /// No Signal session could be established with any device of the recipient.
    #[error("no session with {0}")]
    NoSession(String),
    /// Signal encryption failed.
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// A device-list (usync) or prekey reply is unusable.
    #[error("bad {what} reply: {why}")]
    BadReply {
        /// Which query (`usync`, `prekeys`).
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The server refused the message in its ack (`error` attribute).
    #[error("server refused the message: error {code} ({text})")]
    ServerAck {
        /// The numeric code (0 if not a number).
        code: u16,
        /// The attribute as sent.
        text: String,
    },
    /// The server refused a 1:1 message without a privacy token (ack error 463).
    #[error("the chat requires a privacy token (463)")]
    PrivacyTokenRequired,
    /// No ack arrived before the deadline.
    #[error("no server ack before the timeout")]
    Timeout,
    /// The connection is not up (or ended before the ack arrived).
    #[error("not connected")]
    NotConnected,
    /// Another send with the same message id replaced this wait.
    #[error("superseded by a send with the same id")]
    Superseded,
    /// A retry receipt could not be answered (unknown message, too many retries, bad keys).
    #[error("retry receipt: {0}")]
    Retry(String),
}

/// Why a message could not be built from the given parts, or an add-on encrypted with a
/// message secret (a poll vote, …) could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ContentError {
    /// The original message carries no message secret (or an empty one).
    #[error("the original message has no message secret")]
    MissingSecret,
    /// The IV is not 12 bytes.
    #[error("IV is {0} bytes, expected 12")]
    BadIv(usize),
    /// AES-GCM authentication failed: wrong secret, wrong ids, or tampered data.
    #[error("decryption failed (wrong key or tampered data)")]
    Decrypt,
    /// The decrypted payload is not the expected protobuf.
    #[error("decrypted payload does not decode: {0}")]
    Protobuf(String),
    /// The message is not of the kind the operation needs (a vote that is no poll update, …).
    #[error("not a {0}")]
    WrongKind(&'static str),
    /// A builder was given unusable parts (no poll options, duplicate options, …).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// Which part.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The OS random source failed.
    #[error("randomness unavailable: {0}")]
    Random(String),
}

/// Why a `pair-success` was refused (whatsmeow's `pair.go` checks, in order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum PairError {
    /// The stanza misses `device-identity` or `device`, or the JID is unusable.
    #[error("malformed pair-success: {0}")]
    Malformed(String),
    /// The HMAC over the device identity (keyed with our ADV secret) does not match.
    #[error("ADV HMAC mismatch")]
    HmacMismatch,
    /// The primary phone's account signature over our identity key does not verify.
    #[error("invalid account signature")]
    InvalidAccountSignature,
    /// Phone-code pairing failed (bad phone number, refused request, bad `primary_hello`).
    #[error("phone-code pairing: {0}")]
    PhoneCode(String),
}

/// Why an IQ did not produce a `result`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum IqError {
    /// No reply before the deadline.
    #[error("timed out")]
    Timeout,
    /// The server answered `type="error"`.
    #[error("server error {code}: {text}")]
    Server {
        /// The `code` attribute of `<error>` (0 if absent or not a number).
        code: u16,
        /// The `text` attribute of `<error>`.
        text: String,
    },
    /// The connection ended before the reply arrived.
    #[error("connection closed")]
    Disconnected,
    /// The reply has a `type` other than `result` or `error`.
    #[error("unexpected reply type {0:?}")]
    UnexpectedType(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
