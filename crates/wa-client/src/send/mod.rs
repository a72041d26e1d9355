//! The 1:1 send pipeline (whatsmeow `send.go` `sendDM`): device lists, prekey bundles,
//! per-device Signal encryption, the `<message>` stanza and the server ack.
//!
//! Steps of [`Client::send_message`](crate::Client::send_message):
//!
//! 1. Addressing: a phone-number recipient is addressed by its LID when one is known (from the
//!    store or a usync `<lid/>` query), as whatsmeow does; our own identity then is our LID.
//!    The learned PN→LID mapping is stored and sessions kept under the phone number are
//!    migrated ([`devices`]).
//! 2. Device lists of the recipient and of our own account (usync `<devices version="2"/>`),
//!    cached per user until a `<notification type="devices">` invalidates them ([`devices`]).
//! 3. Prekey bundles for devices without a session (`<iq xmlns="encrypt"><key>`), sessions
//!    built by X3DH ([`keys`]).
//! 4. Encryption per device of the padded plaintext: the `Message` for the recipient's
//!    devices, a `DeviceSentMessage` for our own other devices; `pkmsg` while a session is
//!    unacknowledged, else `msg`; `<device-identity>` attached when any `pkmsg` goes out
//!    (`encrypt`). The session writes and the outgoing-message cache entry (for retries)
//!    commit in one store transaction before the stanza leaves.
//! 5. The stanza `<message id type to><participants><to jid><enc v="2" type/></to>…
//!    </participants>[<device-identity/>][<tctoken/>]</message>`, and the server's `<ack>`
//!    awaited (`error="463"` → [`MessageError::PrivacyTokenRequired`]).
//!
//! Received retry receipts are answered by `retry`: the message is re-encrypted from the
//! outgoing cache for the one device that asked and sent again with the same id.

pub mod devices;
pub(crate) mod encrypt;
pub(crate) mod group;
pub mod keys;
pub(crate) mod retry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wa_binary::{Jid, Node};
use wa_proto::proto::Message;

use crate::error::MessageError;
pub(crate) use crate::message::content::{
    edit_attribute as edit_attr, media_type, stanza_type as message_type,
};

pub use devices::UserDevices;

/// How long a send waits for the server's ack unless [`SendOptions::timeout`] says otherwise
/// (whatsmeow's default request timeout).
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(75);

/// How many retry receipts from one device for one message are answered (whatsmeow drops
/// the tenth and later).
pub const MAX_RETRIES_PER_MESSAGE: u32 = 10;

/// The retry counters and session-rebuild times are forgotten all at once beyond this many
/// entries, so a long-running client does not grow without bound.
const RETRY_MEMORY: usize = 4096;

/// What the server said about a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResponse {
    /// The message id.
    pub id: String,
    /// Server timestamp from the ack (Unix seconds).
    pub timestamp: u64,
    /// The chat the stanza was addressed to (the recipient's LID when LID addressing was used).
    pub chat: Jid,
    /// Our identity the message was sent as (our LID or phone-number JID, without device).
    pub sender: Jid,
    /// The devices the message was encrypted for.
    pub devices: Vec<Jid>,
}

/// Options of [`Client::send_message_with`](crate::Client::send_message_with).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SendOptions {
    /// The message id to use (default: [`Client::generate_message_id`](crate::Client::generate_message_id)).
    pub id: Option<String>,
    /// How long to wait for the server ack (default [`DEFAULT_ACK_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// Who a status post (to `status@broadcast`) goes to. `None`: as the account's status
    /// privacy says ([`crate::status::recipients`]: a whitelist, else every contact with an
    /// address-book name minus a blacklist). Our own account is always added. Ignored for
    /// other chats.
    pub status_recipients: Option<Vec<Jid>>,
}

impl SendOptions {
    /// Options for a status post to exactly `recipients` (see
    /// [`SendOptions::status_recipients`]).
    #[must_use]
    pub fn status_to(recipients: Vec<Jid>) -> Self {
        Self {
            status_recipients: Some(recipients),
            ..Self::default()
        }
    }

    /// Options with a fixed message id.
    #[must_use]
    pub fn with_id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }

    /// These options with an ack timeout of `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Send-side state shared by every handle of one client: the store, the lock that serializes
/// sends (their session reads and writes), the device-list cache and the retry counters.
#[derive(Debug)]
pub(crate) struct SendState {
    /// The device's store.
    pub(crate) store: Arc<dyn wa_store::Store>,
    /// Held while Signal sessions are read, advanced and committed: by a send (and its
    /// stanza is queued under it) and by the driver while it decrypts an incoming stanza.
    /// Never held across an IQ (the driver that answers IQs takes it).
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Device lists by user (non-AD JID).
    devices: Mutex<HashMap<Jid, Vec<Jid>>>,
    /// Retry receipts answered, by (requesting device, message id).
    retries: Mutex<HashMap<(Jid, String), u32>>,
    /// Our phone-number user, for message ids (empty until the first send).
    own_user: Mutex<String>,
    /// Distinguishes ids when the OS random source fails.
    counter: AtomicU64,
    /// When a session was last rebuilt for a device's retry receipts.
    recreated: Mutex<HashMap<Jid, tokio::time::Instant>>,
    /// Group metadata for group sends, kept current by `w:gp2` notifications.
    pub(crate) groups: crate::group::GroupInfoCache,
    /// App-state sync: event sender and the one-sync-at-a-time lock.
    pub(crate) app_state: crate::appstate::Shared,
    /// Media transfers: HTTP client and cached `<media_conn>`.
    pub(crate) media: crate::media::MediaShared,
    /// History sync: one chunk at a time, and the notifications being processed.
    pub(crate) history: crate::runtime::history::HistoryShared,
    /// The push name of [`crate::Config::push_name`], for presence when the device has none.
    pub(crate) configured_push_name: std::sync::OnceLock<String>,
}

impl SendState {
    /// State over `store`.
    pub(crate) fn new(store: Arc<dyn wa_store::Store>) -> Self {
        Self {
            store,
            lock: tokio::sync::Mutex::new(()),
            devices: Mutex::new(HashMap::new()),
            retries: Mutex::new(HashMap::new()),
            own_user: Mutex::new(String::new()),
            counter: AtomicU64::new(0),
            recreated: Mutex::new(HashMap::new()),
            groups: crate::group::GroupInfoCache::new(crate::group::DEFAULT_CAPACITY),
            app_state: crate::appstate::Shared::default(),
            media: crate::media::MediaShared::default(),
            history: crate::runtime::history::HistoryShared::default(),
            configured_push_name: std::sync::OnceLock::new(),
        }
    }

    /// Records that the session with `device` is being rebuilt now.
    pub(crate) fn note_recreated(&self, device: &Jid) {
        let mut map = self.recreated.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RETRY_MEMORY {
            map.clear();
        }
        map.insert(device.clone(), tokio::time::Instant::now());
    }

    /// Whether the session with `device` may be rebuilt again (never rebuilt, or longer than
    /// `every` ago); if so the rebuild is recorded now.
    pub(crate) fn recreate_due(&self, device: &Jid, every: Duration) -> bool {
        let now = tokio::time::Instant::now();
        let mut map = self.recreated.lock().unwrap_or_else(|e| e.into_inner());
        let due = map
            .get(device)
            .is_none_or(|t| now.duration_since(*t) > every);
        if due {
            if map.len() >= RETRY_MEMORY {
                map.clear();
            }
            map.insert(device.clone(), now);
        }
        due
    }

    /// Our phone-number user as last seen.
    pub(crate) fn own_user(&self) -> String {
        self.own_user
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Remembers our phone-number user.
    pub(crate) fn set_own_user(&self, user: &str) {
        let mut u = self.own_user.lock().unwrap_or_else(|e| e.into_inner());
        if u.as_str() != user {
            *u = user.to_owned();
        }
    }

    /// A process-wide increasing number.
    pub(crate) fn next_counter(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn device_cache(&self) -> MutexGuard<'_, HashMap<Jid, Vec<Jid>>> {
        self.devices.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached device list of `user`, if any.
    pub(crate) fn cached_devices(&self, user: &Jid) -> Option<Vec<Jid>> {
        self.device_cache().get(&user.to_non_ad()).cloned()
    }

    /// Caches the device list of `user`.
    pub(crate) fn cache_devices(&self, user: &Jid, devices: Vec<Jid>) {
        self.device_cache().insert(user.to_non_ad(), devices);
    }

    /// Forgets the cached device list of `user` (its devices changed).
    pub(crate) fn invalidate_devices(&self, user: &Jid) {
        self.device_cache().remove(&user.to_non_ad());
    }

    /// Forgets the cached device lists of `user` in both its phone-number and LID forms
    /// (the store's mapping, or our own device's JIDs), as a `<notification type="devices">`
    /// requires. Store failures only leave the other form cached until its next refresh.
    pub(crate) async fn invalidate_user(&self, user: &Jid) {
        let user = user.to_non_ad();
        self.invalidate_devices(&user);
        let alt = match user.server() {
            wa_binary::Server::User => self.store.lid_for_pn(&user).await,
            wa_binary::Server::Lid => self.store.pn_for_lid(&user).await,
            _ => Ok(None),
        };
        match alt {
            Ok(Some(alt)) => self.invalidate_devices(&alt),
            Ok(None) => {}
            Err(e) => tracing::warn!(%user, error = %e, "LID mapping not read"),
        }
        if let Ok(device) = self.store.device().await {
            let own: Vec<Jid> = [device.jid, device.lid]
                .into_iter()
                .flatten()
                .map(|j| j.to_non_ad())
                .collect();
            if own.contains(&user) {
                for j in &own {
                    self.invalidate_devices(j);
                }
            }
        }
    }

    /// Counts one more retry receipt from `device` for message `id`; the new count.
    pub(crate) fn count_retry(&self, device: &Jid, id: &str) -> u32 {
        let mut map = self.retries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RETRY_MEMORY {
            map.clear();
        }
        let n = map.entry((device.clone(), id.to_owned())).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }
}

/// Extra `<enc>` attributes: `mediatype` for media, `decrypt-fail="hide"` for reactions,
/// poll votes and edits (whatsmeow `prepareMessageNode`).
pub(crate) fn enc_attrs(message: &Message) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if let Some(m) = media_type(message) {
        out.push(("mediatype", m));
    }
    if message_type(message) == "reaction"
        || message.poll_update_message.is_some()
        || edit_attr(message).is_some()
    {
        out.push(("decrypt-fail", "hide"));
    }
    out
}

/// A message id in whatsmeow's format: `3EB0` and 18 uppercase hex digits of the SHA-256 of
/// the time (8 bytes, big-endian), `user@c.us` (when our user is known) and 16 random bytes.
#[must_use]
pub fn generate_message_id(unix_now: u64, own_user: &str, random: &[u8; 16]) -> String {
    let mut h = Sha256::new();
    h.update(unix_now.to_be_bytes());
    if !own_user.is_empty() {
        h.update(own_user.as_bytes());
        h.update(b"@c.us");
    }
    h.update(random);
    let digest = h.finalize();
    let mut out = String::with_capacity(22);
    out.push_str("3EB0");
    for b in digest.iter().take(9) {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// whatsmeow's participant-list hash (`phash`, version 2) over every device the message was
/// addressed for, our own included (`participantListHashV2` over `GetUserDevices`): `2:` and
/// the unpadded base64 of the first six bytes of the SHA-256 over the sorted
/// `user.agent:device@server` strings. The server's ack carries its own; a difference means a
/// device list is stale.
#[must_use]
pub fn participant_list_hash(devices: &[Jid]) -> String {
    wa_groups::participant_hash_v2(devices)
}

/// The parts of an outgoing 1:1 `<message>` stanza.
#[derive(Debug, Clone)]
pub(crate) struct Stanza<'a> {
    pub(crate) id: &'a str,
    pub(crate) chat: &'a Jid,
    pub(crate) message: &'a Message,
    /// `<to>` nodes.
    pub(crate) participants: Vec<Node>,
    /// The `ADVSignedDeviceIdentity` bytes when a `pkmsg` is among the participants.
    pub(crate) device_identity: Option<Vec<u8>>,
    /// The privacy token for the chat, if held.
    pub(crate) tctoken: Option<Vec<u8>>,
    /// The recipient's phone-number JID when `chat` is its LID.
    pub(crate) peer_recipient_pn: Option<Jid>,
}

impl Stanza<'_> {
    /// The `<message>` node (whatsmeow `prepareMessageNode` + `getMessageContent`).
    pub(crate) fn build(self) -> Node {
        let ty = message_type(self.message);
        let mut children = vec![
            Node::new("participants")
                .children(self.participants)
                .build(),
        ];
        if let Some(identity) = self.device_identity {
            children.push(Node::new("device-identity").bytes(identity).build());
        }
        if ty == "poll" {
            let kind = if self.message.poll_update_message.is_some() {
                "vote"
            } else {
                "creation"
            };
            children.push(Node::new("meta").attr("polltype", kind).build());
        }
        if let Some(token) = self.tctoken {
            children.push(Node::new("tctoken").bytes(token).build());
        }
        Node::new("message")
            .attr("id", self.id)
            .attr("type", ty)
            .attr("to", self.chat.clone())
            .attr_opt("edit", edit_attr(self.message))
            .attr_opt("peer_recipient_pn", self.peer_recipient_pn)
            .children(children)
            .build()
    }
}

/// Reads a `MessageError` out of the lower layers' failures for a send.
pub(crate) fn encrypt_error(e: impl core::fmt::Display) -> MessageError {
    MessageError::Encrypt(e.to_string())
}

#[cfg(test)]
mod tests;
