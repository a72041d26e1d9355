//! A local WhatsApp-compatible server with a simulated primary phone, for offline tests.
//!
//! `wa-testserver` listens on loopback for WebSocket connections at `/ws/chat`, runs the
//! server half of WhatsApp's Noise handshake under its own test root (clients load
//! [`TestServer::root_public_key`] instead of WhatsApp's), and speaks enough of the protocol
//! for a companion device to pair by QR code, log in and stay connected:
//!
//! - several accounts: a default one (from [`Config`]) and more from
//!   [`Admin::create_account`] (phone number, push name; the server picks a LID), each with its
//!   own simulated phone (identity key) and companions; the single-account calls act on the
//!   default account, the `*_for(phone, …)` ones on another ([`admin`]);
//! - registration: `pair-device` with references; the simulated phone "scans" a QR through
//!   [`Admin::scan_qr`] (or [`Admin::scan_qr_for`] for another account's phone) and sends `pair-success` with an ADV signed device identity (HMAC with
//!   the QR's ADV secret, account signature by the phone's identity key); the companion's
//!   `pair-device-sign` signature is verified; the stream ends with 515;
//! - pairing by phone-number code: the `link_code_companion_reg` stages (`companion_hello`,
//!   the phone's `primary_hello` notification once [`Admin::enter_pair_code`] typed the code,
//!   `companion_finish`), then the same `pair-success` as QR pairing ([`link_code`]);
//! - login of a paired device (`success` with `lid`, `failure 401` for unknown devices),
//!   prekey count, upload, digest, passive/active, pings, props, blocklist, privacy, app-state
//!   sync of the five (empty) collections, logout
//!   (`remove-companion-device`) and `<ib><offline count='0'/></ib>`;
//! - stream errors 515, 401 (device removed, [`Admin::remove_device`]), 440 (the same device
//!   connected twice) and 503 ([`Admin::kick`]);
//! - lookups across accounts: usync device lists (`<device id key-index>` and the phone-signed
//!   `<key-index-list>`), contact queries (`type='in'|'out'`) and `<lid val>` for PN and LID
//!   JIDs; prekey bundles of any device of any account by PN or LID JID (the phone, device 0,
//!   answers with a signed prekey derived from its identity key);
//! - routing between accounts: `<message>` fanouts (`<participants><to>` or a single `<enc>`)
//!   go to each addressed device of the recipient and of the sender's own account, rewritten
//!   as WhatsApp does (`from` in the addressed PN or LID form, `sender_lid`/`sender_pn`,
//!   `addressing_mode`, `notify`, `t`; `recipient` on the sender's own copies); receipts by
//!   type (delivery, read, read-self, played, played-self, retry to one device, sender,
//!   inactive) go to the right devices, read/played ones also to the reader's other devices;
//!   both are acked; offline devices get them in order on their next login, counted in
//!   `<offline count>` ([`Admin::queued_stanzas`]); a companion pairing or being removed is
//!   announced to every other companion as `<notification type='devices'>` (`<add>`/
//!   `<remove>`); a key fetch leaving a device below [`engine::LOW_PRE_KEY_COUNT`] one-time
//!   prekeys (and at 0) sends it `<notification type='encrypt'><count value=N/>`;
//! - privacy tokens: the privacy-token IQ is answered and issues the named account a token as
//!   `<notification type='privacy_token'>`; [`Admin::set_require_tctoken`] makes 1:1 messages
//!   without `<tctoken>` fail with an ack carrying `error='463'`, and
//!   [`Admin::set_require_tctoken_for`] makes one account accept only the token it issued to
//!   the sender's account;
//! - groups and communities ([`groups`], a sans-IO registry in `ServerState::groups`): every
//!   `w:g2` request (create, info, participating, add/remove/promote/demote, leave, settings,
//!   invite links and v4 invites, join requests, community links) with whatsmeow's error
//!   codes, `w:gp2` notifications to every companion of each member; `<message to=…@g.us>`
//!   fanned out to the members' companions (`participant` set, each device's own `<enc>` plus
//!   the `skmsg`), refused in the ack (403 not a member, 401 announce mode), the current
//!   `phash` on the ack when the sender's is stale; group receipts go to the sender's account;
//! - call signalling: `<call to>` goes to the callee's online companions (answers also to the
//!   answerer's other companions; offline devices miss it), the sender is acked and the
//!   companions' acks recorded; an account's simulated phone places and ends calls
//!   ([`Admin::place_call`], [`Admin::end_call`]) and logs what reaches it
//!   ([`Admin::calls_to_phone`], [`engine::CallLog`]);
//! - profiles (`engine/profile.rs`): about texts (`status` set, usync `<status>`) and account
//!   and group pictures (`w:profile:picture` get/set, usync `<picture id>`) served unencrypted
//!   by the media host, hidden by the owner's `profile`/`status` privacy set to `none` or a
//!   block (401); changes go as `<notification type='status'|'picture'>` to every other
//!   companion of every account (a group's: of its members);
//! - unknown IQs get an error IQ (`501`), unknown stanzas with an id are acked;
//! - on a device's first login the phone sends, as Signal peer messages (`pkmsg` from the
//!   uploaded bundle), the app-state sync key share and an initial history-sync notification
//!   whose small inline history holds the push names and PN→LID mappings of the accounts
//!   ([`phone_sync`]), then, for an account with seeded conversations
//!   ([`Admin::seed_history_for`]), a downloadable `RECENT` history chunk stored as history
//!   media and announced by a second notification; receipts to the phone are recorded
//!   ([`Admin::phone_receipts_for`], [`history`]);
//! - app-state sync ([`appstate`]): per-account collections of encrypted patches, uploads
//!   numbered by version (409 on a stale one), fetches after a version in pages, and
//!   `<notification type='server_sync'>` to the account's other companions; the phone answers
//!   app-state key requests (peer messages to device 0) with key shares;
//!   [`Admin::rotate_app_state_key`] and [`Admin::tamper_app_state_patch`] for tests;
//! - media ([`media`]): `<media_conn>` names a plain-HTTP loopback host
//!   ([`TestServer::media_url`]) that stores uploads (`POST /mms/{type}/{token}`, auth token and
//!   body hash checked) and serves them at their direct path; [`Admin::tamper_media`] and
//!   [`Admin::expire_media`] for tests;
//! - `Config::state_dir` (`--state DIR`) persists the keys (so the root stays trusted), the
//!   account, devices, prekeys, app-state keys and patches, and phone sessions across restarts
//!   ([`persist`]);
//! - `Config::tls` serves `wss://` with a self-signed certificate made by rcgen
//!   ([`TestServer::tls_cert_pem`], `--tls --cert-out FILE`) ([`tls`]);
//! - faults for client tests: unanswered pings ([`Admin::set_drop_pings`]), a bad ADV HMAC or
//!   account signature in `pair-success` ([`Admin::set_bad_pairing`]).
//!
//! The admin interface also runs over HTTP on a second loopback port ([`admin_http`]), which
//! the binary's `scan`, `pair-code`, `devices` and `remove` subcommands use.
//!
//! Layout: [`engine`] is sans-IO (bytes, commands and the time in; bytes and effects out);
//! `listener` is the tokio shell (one task per socket); [`phone`] signs devices.
//!
//! Not implemented: persistence of groups and of uploaded media, app-state patches with content (collections
//! answer empty), messages to the simulated phones (dropped; the phones never decrypt).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wa_testserver::Error> {
//! use wa_testserver::{Config, TestServer};
//! let server = TestServer::start(Config::default()).await?;
//! println!("{}", server.url()); // ws://127.0.0.1:PORT/ws/chat
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

pub mod admin;
pub mod admin_http;
pub mod appstate;
mod calls;
pub mod engine;
mod error;
pub mod groups;
pub mod history;
pub mod link_code;
mod listener;
pub mod media;
pub mod offline;
pub mod persist;
pub mod phone;
pub mod phone_sync;
mod server;
pub mod state;
pub mod tls;

pub use admin::AccountInfo;
pub use engine::{Connection, Effect, StreamError};
pub use error::{Error, Result};
pub use listener::WS_PATH;
pub use phone::{Phone, QrCode};
pub use server::{Admin, CODE_REQUEST_WAIT, Config, SCAN_TIMEOUT, TestServer};
pub use wa_binary::Jid;
