//! App-state sync (whatsmeow `appstate.go`): the settings a user's devices share (mute, pin,
//! archive, read, star, contacts, push name, …), kept by the server in five collections of
//! encrypted patches.
//!
//! [`Client::fetch_app_state`] fetches the patches after the stored version of a collection,
//! verifies and decodes them with `wa-appstate` under the app-state sync keys the primary
//! device shared, persists the new version, LTHash and mutation MACs — with the chat settings
//! (mute, pin, archive) and contact names the mutations carry — in one store commit, and
//! emits one [`Event::AppState`] per mutation, then [`Event::AppStateSynced`]. The runtime does
//! this by itself when a key share arrives, after login (when a key is stored), and on
//! `<notification type='server_sync'>`. [`Client::send_app_state`] encodes a change
//! ([`PatchInfo`]: mute, pin, archive, mark read, …) under the latest key, uploads it and
//! fetches it back, so it is applied through the same path as everyone else's.
//!
//! A patch that does not verify (a wrong MAC, a wrong LTHash) is refused with
//! [`AppStateSyncError::Decode`] and nothing is stored. Patches under a key this device lacks
//! fail with [`AppStateSyncError::MissingKeys`]; the automatic sync then asks the primary
//! phone for them ([`Client::request_app_state_keys`]) and syncs again once its key share
//! arrives. Not supported yet: snapshots and patches whose mutations live in an external blob
//! (both need a media download); such replies fail with a typed error and store nothing.

mod keys;
mod store;
pub(crate) mod wire;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{debug, warn};
use wa_appstate::{Action, Mutation, Operation};
pub use wa_appstate::{Collection, PatchInfo};

use crate::event::Event;
use crate::runtime::Client;

/// How long one app-state IQ may take.
const IQ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most uploads [`Client::send_app_state`] makes while other devices keep winning the race
/// for the next version.
pub const UPLOAD_ATTEMPTS: usize = 5;
/// Most fetch rounds (pages) one sync makes before giving up on a server that keeps saying
/// `has_more_patches`.
const MAX_PAGES: usize = 1000;

/// Why an app-state sync or upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppStateSyncError {
    /// The patches were encrypted under keys this device does not have (ids listed). Nothing
    /// was stored.
    #[error("app-state keys missing for {collection}: {} key(s)", key_ids.len())]
    MissingKeys {
        /// The collection.
        collection: Collection,
        /// The missing key ids.
        key_ids: Vec<Vec<u8>>,
    },
    /// No app-state sync key is stored, so nothing can be encoded.
    #[error("no app-state sync key stored (the primary device has not shared one)")]
    NoKey,
    /// The patches did not verify or decode (MACs, LTHash, encryption). Nothing was stored.
    #[error("app-state patch of {collection} refused: {source}")]
    Decode {
        /// The collection.
        collection: Collection,
        /// What was wrong.
        source: wa_appstate::AppStateError,
    },
    /// Encoding an outgoing patch failed.
    #[error("app-state patch could not be encoded: {0}")]
    Encode(wa_appstate::AppStateError),
    /// The server holds another version: fetch, then encode again.
    #[error("app-state upload to {collection} conflicts with the server's version")]
    Conflict {
        /// The collection.
        collection: Collection,
    },
    /// The server refused the request for a collection.
    #[error("server refused app-state request for {collection}: {code} {text}")]
    Refused {
        /// The collection.
        collection: Collection,
        /// The error code.
        code: u16,
        /// The error text.
        text: String,
    },
    /// The server sent a snapshot, which this client cannot load yet.
    #[error("server sent a snapshot of {collection}; snapshots are not supported yet")]
    SnapshotUnsupported {
        /// The collection.
        collection: Collection,
    },
    /// The reply is not what the protocol says.
    #[error("bad app-state reply: {0}")]
    BadReply(&'static str),
    /// A stored value is unusable (an LTHash or key of the wrong length).
    #[error("bad stored app-state: {0}")]
    BadStore(&'static str),
    /// The server kept answering `has_more_patches`.
    #[error("app-state sync of {collection} did not end after {MAX_PAGES} pages")]
    TooManyPages {
        /// The collection.
        collection: Collection,
    },
}

/// What one app-state mutation did, typed (see [`wa_appstate::Action`]); actions this client
/// does not type are [`AppStateAction::Other`] with the raw index in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppStateAction {
    /// A chat was muted or unmuted.
    Mute {
        /// The chat JID.
        chat: String,
        /// Whether it is muted.
        muted: bool,
        /// When the mute ends (ms since the epoch); `None` or -1 is forever.
        end_timestamp_ms: Option<i64>,
    },
    /// A chat was pinned or unpinned.
    Pin {
        /// The chat JID.
        chat: String,
        /// Whether it is pinned.
        pinned: bool,
    },
    /// A chat was archived or unarchived.
    Archive {
        /// The chat JID.
        chat: String,
        /// Whether it is archived.
        archived: bool,
    },
    /// A chat was marked read or unread.
    MarkChatAsRead {
        /// The chat JID.
        chat: String,
        /// `true` for read.
        read: bool,
    },
    /// A message was starred or unstarred.
    Star {
        /// The chat JID.
        chat: String,
        /// The message id.
        message_id: String,
        /// Whether we sent it.
        from_me: bool,
        /// Whether it is starred.
        starred: bool,
    },
    /// A chat was cleared.
    ClearChat {
        /// The chat JID.
        chat: String,
    },
    /// A chat was deleted.
    DeleteChat {
        /// The chat JID.
        chat: String,
    },
    /// A contact was added or edited.
    Contact {
        /// The contact's JID.
        jid: String,
        /// Full name.
        full_name: Option<String>,
        /// First name.
        first_name: Option<String>,
    },
    /// A contact was removed.
    ContactRemoved {
        /// The contact's JID.
        jid: String,
    },
    /// Our push name changed.
    PushName {
        /// The new name.
        name: String,
    },
    /// Any other action.
    Other,
}

impl From<Action> for AppStateAction {
    fn from(a: Action) -> Self {
        match a {
            Action::Mute {
                chat,
                muted,
                end_timestamp_ms,
            } => Self::Mute {
                chat,
                muted,
                end_timestamp_ms,
            },
            Action::Pin { chat, pinned } => Self::Pin { chat, pinned },
            Action::Archive { chat, archived } => Self::Archive { chat, archived },
            Action::MarkChatAsRead { chat, read } => Self::MarkChatAsRead { chat, read },
            Action::Star { message, starred } => Self::Star {
                chat: message.chat,
                message_id: message.id,
                from_me: message.from_me,
                starred,
            },
            Action::ClearChat { chat } => Self::ClearChat { chat },
            Action::DeleteChat { chat } => Self::DeleteChat { chat },
            Action::Contact {
                jid,
                full_name,
                first_name,
                ..
            } => Self::Contact {
                jid,
                full_name,
                first_name,
            },
            Action::ContactRemoved { jid } => Self::ContactRemoved { jid },
            Action::PushName { name } => Self::PushName { name },
            _ => Self::Other,
        }
    }
}

/// One decoded app-state mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStateEvent {
    /// The collection (`regular_high`, …).
    pub collection: String,
    /// The patch version that carried it.
    pub version: u64,
    /// Whether the record was set (`false`: removed).
    pub set: bool,
    /// The record's index (`["mute", "123@s.whatsapp.net"]`, …).
    pub index: Vec<String>,
    /// What it did.
    pub action: AppStateAction,
    /// The action's timestamp (ms since the epoch), when it carries one.
    pub timestamp_ms: Option<i64>,
}

impl AppStateEvent {
    pub(crate) fn of(collection: Collection, m: &Mutation) -> Self {
        Self {
            collection: collection.as_str().to_owned(),
            version: m.patch_version,
            set: m.operation == Operation::Set,
            index: m.index.clone(),
            action: m.action().into(),
            timestamp_ms: m.value.as_ref().and_then(|v| v.timestamp),
        }
    }
}

#[allow(clippy::disallowed_methods)] // app-state timestamps are wall-clock time
fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// App-state state shared by the client handles: where events go, and a lock that keeps one
/// sync or upload at a time (they read and advance the same stored versions).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    events: std::sync::Mutex<Option<tokio::sync::mpsc::WeakUnboundedSender<Vec<Event>>>>,
    lock: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Sets where app-state events go (a weak sender: the stream still ends when the driver
    /// stops).
    pub(crate) fn set_events(&self, tx: tokio::sync::mpsc::WeakUnboundedSender<Vec<Event>>) {
        if let Ok(mut slot) = self.events.lock() {
            *slot = Some(tx);
        }
    }

    /// Sends `events` to the application (from a task; nothing if the stream is gone).
    pub(crate) fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let tx = self
            .events
            .lock()
            .ok()
            .and_then(|s| s.as_ref().and_then(|w| w.upgrade()));
        if let Some(tx) = tx {
            let _ = tx.send(events);
        }
    }
}

impl Client {
    /// Fetches and applies the patches of `collection` after the stored version (from 0 and
    /// forgetting the stored state when `full_sync`), emitting [`Event::AppState`] for each
    /// mutation and [`Event::AppStateSynced`] at the end. Returns the collection's version.
    pub async fn fetch_app_state(
        &self,
        collection: Collection,
        full_sync: bool,
    ) -> crate::Result<u64> {
        let shared = &self.send.app_state;
        let _one = shared.lock.lock().await;
        self.fetch_locked(collection, full_sync).await
    }

    async fn fetch_locked(&self, collection: Collection, full_sync: bool) -> crate::Result<u64> {
        let store = self.send.store.as_ref();
        if full_sync {
            store::forget(store, collection).await?;
        }
        let mut done = None;
        for _ in 0..MAX_PAGES {
            let state = store::load_version(store, collection).await?;
            let reply = self
                .send_iq(
                    wire::fetch_request(collection, state.version),
                    Some(IQ_TIMEOUT),
                )
                .await?;
            let list = wire::parse_fetch_reply(&reply, collection)?;
            if list.patches.is_empty() {
                done = Some(state.version);
                break;
            }
            let (decoded, changes) = store::decode(store, collection, state, &list.patches).await?;
            store.commit(changes).await?;
            let version = decoded.state.version;
            debug!(%collection, version, mutations = decoded.mutations.len(), "app state applied");
            let events = decoded
                .mutations
                .iter()
                .map(|m| Event::AppState(Box::new(AppStateEvent::of(collection, m))))
                .collect();
            self.send.app_state.emit(events);
            if !list.has_more {
                done = Some(version);
                break;
            }
        }
        let version = done.ok_or(AppStateSyncError::TooManyPages { collection })?;
        self.send.app_state.emit(vec![Event::AppStateSynced {
            collection: collection.as_str().to_owned(),
            version,
        }]);
        Ok(version)
    }

    /// Encodes `patch` under the latest app-state sync key on top of the stored state of its
    /// collection, uploads it, and fetches the collection (so the change is applied and its
    /// events emitted like any other). On a version conflict (another device uploaded first)
    /// it fetches and encodes again, up to [`UPLOAD_ATTEMPTS`] uploads in all.
    /// Returns the collection's version afterwards.
    pub async fn send_app_state(&self, patch: &PatchInfo) -> crate::Result<u64> {
        let shared = &self.send.app_state;
        let _one = shared.lock.lock().await;
        let collection = patch.collection;
        for attempt in 1..=UPLOAD_ATTEMPTS {
            let store = self.send.store.as_ref();
            let (state, node) = store::encode(store, patch, unix_now_ms()).await?;
            let reply = self.send_iq(node, Some(IQ_TIMEOUT)).await?;
            match wire::parse_upload_reply(&reply, collection) {
                Ok(_) => return self.fetch_locked(collection, false).await,
                Err(AppStateSyncError::Conflict { .. }) if attempt < UPLOAD_ATTEMPTS => {
                    debug!(%collection, version = state, "app-state upload conflicts; fetching");
                    self.fetch_locked(collection, false).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppStateSyncError::Conflict { collection }.into())
    }

    /// Stores the keys of a key share and syncs every collection (in a task).
    pub(crate) async fn on_key_share(&self, keys: Vec<wa_store::AppStateSyncKey>) {
        let n = keys.len();
        let mut c = wa_store::Changes::new();
        for k in keys {
            c.put_app_state_sync_key(k);
        }
        if let Err(e) = self.send.store.commit(c).await {
            warn!(error = %e, "app-state keys not stored");
            return;
        }
        debug!(keys = n, "app-state keys stored");
        self.spawn_sync(Collection::ALL.to_vec());
    }

    /// Syncs `collections` in a task, logging failures.
    pub(crate) fn spawn_sync(&self, collections: Vec<Collection>) {
        let client = self.clone();
        tokio::spawn(async move {
            for c in collections {
                if let Err(e) = client.fetch_app_state(c, false).await {
                    if connection_ended(&e) {
                        // Not a failure of the sync: the next login syncs every collection.
                        debug!(collection = %c, error = %e, "app-state sync cut by the disconnect");
                        return;
                    }
                    warn!(collection = %c, error = %e, "app-state sync failed");
                    if let crate::Error::AppState(AppStateSyncError::MissingKeys {
                        key_ids, ..
                    }) = &e
                        && let Err(e) = client.request_app_state_keys(key_ids).await
                    {
                        warn!(error = %e, "app-state key request not sent");
                    }
                    client.send.app_state.emit(vec![Event::AppStateSyncFailed {
                        collection: c.as_str().to_owned(),
                        error: e.to_string(),
                    }]);
                }
            }
        });
    }

    /// After login: syncs every collection when an app-state key is stored.
    pub(crate) fn spawn_sync_if_keyed(&self) {
        let client = self.clone();
        tokio::spawn(async move {
            match client.send.store.latest_app_state_sync_key().await {
                Ok(Some(_)) => client.spawn_sync(Collection::ALL.to_vec()),
                Ok(None) => debug!("no app-state key yet; sync waits for the key share"),
                Err(e) => warn!(error = %e, "app-state key lookup failed"),
            }
        });
    }
}

/// Whether `e` only says the connection ended under the request.
fn connection_ended(e: &crate::Error) -> bool {
    matches!(
        e,
        crate::Error::Iq(crate::error::IqError::Disconnected)
            | crate::Error::NotConnected
            | crate::Error::Stopped
    )
}

#[cfg(test)]
mod tests {
    use wa_appstate::{Action, MessageRef};

    use super::*;

    #[test]
    fn a_sync_cut_by_the_disconnect_is_not_reported_as_failed() {
        assert!(connection_ended(&crate::Error::Iq(
            crate::error::IqError::Disconnected
        )));
        assert!(connection_ended(&crate::Error::NotConnected));
        assert!(!connection_ended(&crate::Error::Iq(
            crate::error::IqError::Timeout
        )));
        assert!(!connection_ended(&crate::Error::AppState(
            AppStateSyncError::Conflict {
                collection: Collection::Regular
            }
        )));
    }

    #[test]
    fn actions_map_to_their_event_form() {
        let chat = || "1@s.whatsapp.net".to_owned();
        let cases = [
            (
                Action::MarkChatAsRead {
                    chat: chat(),
                    read: false,
                },
                AppStateAction::MarkChatAsRead {
                    chat: chat(),
                    read: false,
                },
            ),
            (
                Action::Star {
                    message: MessageRef {
                        chat: chat(),
                        id: "M1".into(),
                        from_me: true,
                        participant: None,
                    },
                    starred: true,
                },
                AppStateAction::Star {
                    chat: chat(),
                    message_id: "M1".into(),
                    from_me: true,
                    starred: true,
                },
            ),
            (
                Action::Contact {
                    jid: chat(),
                    full_name: Some("Ann B".into()),
                    first_name: Some("Ann".into()),
                    lid_jid: None,
                },
                AppStateAction::Contact {
                    jid: chat(),
                    full_name: Some("Ann B".into()),
                    first_name: Some("Ann".into()),
                },
            ),
            (
                Action::ContactRemoved { jid: chat() },
                AppStateAction::ContactRemoved { jid: chat() },
            ),
            (
                Action::PushName { name: "Me".into() },
                AppStateAction::PushName { name: "Me".into() },
            ),
            (
                Action::ClearChat { chat: chat() },
                AppStateAction::ClearChat { chat: chat() },
            ),
            (
                Action::DeleteChat { chat: chat() },
                AppStateAction::DeleteChat { chat: chat() },
            ),
            (
                Action::UnarchiveChatsSetting {
                    unarchive_chats: true,
                },
                AppStateAction::Other,
            ),
            (Action::Other, AppStateAction::Other),
        ];
        for (action, want) in cases {
            assert_eq!(AppStateAction::from(action), want);
        }
        // Events serialize with the action tagged, for `wa listen --json`.
        let e = AppStateEvent {
            collection: "regular_high".into(),
            version: 3,
            set: true,
            index: vec!["mute".into(), chat()],
            action: AppStateAction::Mute {
                chat: chat(),
                muted: true,
                end_timestamp_ms: None,
            },
            timestamp_ms: Some(5),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["action"]["action"], "mute");
        assert_eq!(v["version"], 3);
    }
}
