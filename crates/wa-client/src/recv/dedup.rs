//! Dropping duplicates: the key of a delivered message and the bounded memory of recent ones.

use std::collections::VecDeque;
use std::hash::BuildHasher as _;
use std::sync::{Arc, OnceLock};

use wa_binary::Jid;
use wa_store::hashing::FastState;

use crate::message::MessageInfo;

/// How many (chat, sender, id) triples of delivered messages are remembered for dropping
/// duplicates without a store read.
const RECENT_IDS: usize = 4096;

/// Remembered (chat, sender, id) triples, bounded, oldest forgotten first.
#[derive(Debug, Default)]
pub(super) struct RecentIds {
    set: KeySet<Arc<MessageKey>>,
    order: VecDeque<Arc<MessageKey>>,
}

impl RecentIds {
    pub(super) fn contains(&self, key: &MessageKey) -> bool {
        self.set.contains(key)
    }

    pub(super) fn insert(&mut self, key: MessageKey) {
        let key = Arc::new(key);
        if self.set.insert(key.clone()) {
            if self.order.len() >= RECENT_IDS
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
            self.order.push_back(key);
        }
    }
}

/// What identifies a delivered message: chat, sender (device) and id.
///
/// Its hash is computed once, when the stanza is parsed (on the socket stage's thread), with
/// a process-wide seeded [`FastState`]: the sets that drop duplicates look a key up several
/// times per message and only read that hash back ([`KeyState`]).
#[derive(Debug, Clone)]
pub(super) struct MessageKey {
    pub(super) hash: u64,
    pub(super) chat: Jid,
    pub(super) sender: Jid,
    pub(super) id: String,
}

impl MessageKey {
    fn new(chat: Jid, sender: Jid, id: String) -> Self {
        Self {
            hash: Self::hash_of(&chat, &sender, &id),
            chat,
            sender,
            id,
        }
    }

    /// The hash of the key (chat, sender, id), seeded once per process.
    pub(super) fn hash_of(chat: &Jid, sender: &Jid, id: &str) -> u64 {
        static SEED: OnceLock<FastState> = OnceLock::new();
        SEED.get_or_init(FastState::default)
            .hash_one((chat, sender, id))
    }
}

impl PartialEq for MessageKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.id == other.id
            && self.sender == other.sender
            && self.chat == other.chat
    }
}

impl Eq for MessageKey {}

impl core::hash::Hash for MessageKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Builds hashers for [`MessageKey`]s: they carry their seeded hash, which is read back.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct KeyState;

impl core::hash::BuildHasher for KeyState {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// Returns the `u64` written to it (a [`MessageKey`]'s hash).
pub(super) struct KeyHasher(u64);

impl core::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `MessageKey`; fold anything else in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A set of message keys.
pub(super) type KeySet<K> = std::collections::HashSet<K, KeyState>;

pub(super) fn key_of(info: &MessageInfo) -> MessageKey {
    MessageKey::new(
        info.source.chat.clone(),
        info.source.sender.clone(),
        info.id.clone(),
    )
}
