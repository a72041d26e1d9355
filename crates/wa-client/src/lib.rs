//! The WhatsApp Web multi-device client.
//!
//! Two layers, as quinn splits `quinn-proto` from `quinn`:
//!
//! - [`engine`]: a sans-IO state machine for one connection. It drives the Noise handshake
//!   (`wa-noise`), sends the `ClientPayload` for registration or login, pairs by QR (verifying
//!   the ADV HMAC and the account signature, signing the device identity), logs in, uploads
//!   prekeys when the server runs low, goes active, pings, tracks IQs with ids and deadlines,
//!   and handles stream errors. Bytes, time and a random seed go in; bytes, [`Event`]s and
//!   store writes come out. It never touches a socket or a clock.
//! - [`runtime`]: the tokio shell. [`Client`] is a cheap handle to one driver task that feeds
//!   the engine, applies its store writes to a `wa-store` [`wa_store::Container`], delivers
//!   events, and reconnects with exponential backoff, jitter and a cap. Beside it a socket
//!   stage owns the WebSocket (rustls for `wss://`) and, once the handshake is done, the
//!   engine's two transport halves ([`engine::StanzaReader`], [`engine::StanzaWriter`]): it
//!   decrypts and decodes what it reads, and encodes and encrypts what it writes. On a
//!   single-thread runtime it runs on one process-wide socket thread, so a burst is received
//!   on two cores ([`Config::socket_thread`]).
//!
//! Pairing by phone-number code ([`Engine::pair_phone`], [`Client::pair_phone`]) runs the
//! `link_code_companion_reg` stages of whatsmeow's `pair-code.go`; the socket can go through an
//! HTTP CONNECT or SOCKS5 [`Proxy`], and `wss://` trusts Mozilla's roots plus
//! [`Config::extra_ca_der`] (a test server's certificate). [`Config::trust_root`] replaces
//! WhatsApp's Noise root for test servers; nothing weakens verification.
//!
//! [`message`] holds the sans-IO building blocks of 1:1 messaging: plaintext padding, parsing
//! of `<message>` stanzas into [`message::MessageInfo`] (chat, sender, own-device copies,
//! PN/LID alternates, push name, timestamp, `<enc>` payloads) and the `<ack>` / delivery
//! `<receipt>` answers.
//!
//! [`recv`] is the receive pipeline: the engine hands `<message>`, `<receipt>` and the
//! notifications that need the store to the runtime ([`Engine::poll_incoming`]), which
//! decrypts, buffers the plaintext in the store before acknowledging, and emits
//! [`Event::Message`], [`Event::Receipt`] and [`Event::UndecryptableMessage`] (answered with a
//! retry receipt); [`Client::mark_read`] and [`Client::mark_played`] send read receipts.
//!
//! [`send`] is the 1:1 send pipeline: [`Client::send_message`] addresses a phone-number
//! recipient by its LID (as whatsmeow does), fetches device lists (usync, cached until a
//! `<notification type="devices">`) and missing prekey bundles, encrypts per device
//! (`DeviceSentMessage` for our own other devices, `<device-identity>` with `pkmsg`), commits
//! the sessions with the outgoing-message cache, attaches a held privacy token and waits for
//! the server ack ([`Engine::send_message`]; 463 is [`MessageError::PrivacyTokenRequired`]).
//! Retry receipts for our messages are answered by re-encrypting from that cache.
//!
//! [`appstate`] syncs app state (mute, pin, archive, …) with the account's other devices:
//! [`Client::fetch_app_state`], [`Client::send_app_state`], [`Event::AppState`].
//!
//! [`media`] uploads and downloads encrypted media over HTTP (hyper, rustls):
//! [`Client::upload`], [`Client::download`], [`UploadResponse::image_message`].
//!
//! [`presence`] is whether contacts are online and typing: [`Client::send_presence`],
//! [`Client::subscribe_presence`], [`Client::send_chat_presence`], [`Event::Presence`],
//! [`Event::ChatPresence`].
//!
//! [`privacy`] reads and changes privacy settings: [`Client::privacy_settings`],
//! [`Client::set_privacy_setting`], [`Event::PrivacySettings`].
//!
//! [`blocklist`] blocks and unblocks users: [`Client::blocklist`],
//! [`Client::update_blocklist`], [`Event::Blocklist`].
//!
//! [`call`] reports call signalling (offers, accepts, rejects, hang-ups) as [`Event::Call`]
//! and refuses calls: [`Client::reject_call`]. Audio and video are not carried.
//!
//! [`profile`] is the about text, profile pictures and user info: [`Client::set_status_message`],
//! [`Client::user_info`], [`Client::profile_picture_info`], [`Client::set_profile_picture`],
//! [`Event::Picture`], [`Event::UserAbout`].
//!
//! [`history`] is history sync: the chats and messages the primary phone sends after pairing
//! arrive as [`Event::HistorySync`] (push names and PN↔LID mappings stored), and
//! [`history::HistorySyncEvent::messages`] gives each as a [`MessageEvent`].
//!
//! Edge-routing info from `<ib><edge_routing>` is reused on
//! reconnects within the process (not persisted).
//!
//! ```text
//!  socket bytes ─► Engine::handle_data ─► poll_store ─► Store::commit
//!  deadlines    ─► Engine::handle_timeout   poll_transmit ─► socket
//!  commands     ─► Engine::send_iq / logout poll_event ─► EventStream
//! ```
//!
//! ```no_run
//! use wa_client::{Client, Config, Event};
//! use wa_store::MemoryContainer;
//!
//! # async fn run() -> Result<(), wa_client::Error> {
//! let (client, mut events) = Client::start(Config::default(), MemoryContainer::new(), None).await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         Event::Qr { code } => println!("scan: {code}"),
//!         Event::Connected => break,
//!         _ => {}
//!     }
//! }
//! client.disconnect().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod appstate;
pub mod blocklist;
pub mod call;
pub mod config;
pub mod engine;
pub mod error;
pub mod event;
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod history;
pub mod media;
pub mod message;
pub mod pair;
pub mod pair_code;
pub mod payload;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod recv;
pub mod runtime;
pub mod send;
pub mod status;

pub use appstate::{AppStateAction, AppStateEvent, AppStateSyncError};
pub use blocklist::{Blocklist, BlocklistAction, BlocklistChange, BlocklistEvent};
pub use call::{CallEvent, CallMeta, CallRemoteMeta};
pub use config::{Backoff, Config, DeviceProps, KeepAlive, Proxy};
pub use engine::{Engine, IqToken, StoreOp};
pub use error::{ContentError, Error, IqError, MessageError, PairError, Result};
pub use event::{DisconnectReason, Event, MessageEvent, ReceiptEvent, ReceiptKind};
pub use history::{HistoryError, HistoryOptions, HistorySyncEvent};
pub use media::{DownloadableMessage, MediaError, MediaOptions, MediaRef, UploadResponse};
pub use presence::{ChatPresence, ChatPresenceEvent, ChatPresenceMedia, Presence, PresenceEvent};
pub use privacy::{PrivacyCategory, PrivacySettings, PrivacyValue};
pub use profile::{PictureEvent, PictureInfo, UserAboutEvent, UserInfo};
pub use recv::group::{GroupEvent, GroupEventKind};
pub use runtime::{Client, EventStream};
pub use send::{SendOptions, SendResponse};
/// The group request types the group API of [`Client`] takes and returns.
pub use wa_groups;
