//! Dropping duplicates: the key of a delivered message and the bounded memory of recent ones.

use std::hash::BuildHasher as _;
use std::sync::OnceLock;

use hashbrown::HashTable;

use wa_binary::Jid;
use wa_store::hashing::{DigestState, FastState};

use crate::message::MessageInfo;

/// How many (chat, sender, id) triples of delivered messages are remembered for dropping
/// duplicates without a store read.
const RECENT_IDS: usize = 4096;

/// Remembered (chat, sender, id) triples, bounded, oldest forgotten first.
///
/// The keys sit in a ring; a raw hash table indexes the ring by each key's own hash, so
/// remembering a key stores it once (no shared copy for a set and a queue) and forgetting
/// the oldest one is an overwrite.
#[derive(Default)]
pub(super) struct RecentIds {
    /// Once full, `next` is the oldest key.
    ring: Vec<MessageKey>,
    next: usize,
    /// Indexes into `ring`.
    index: HashTable<usize>,
}

impl core::fmt::Debug for RecentIds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecentIds")
            .field("len", &self.ring.len())
            .finish()
    }
}

impl RecentIds {
    pub(super) fn contains(&self, key: &MessageKey) -> bool {
        let ring = &self.ring;
        self.index
            .find(key.hash, |&i| ring.get(i) == Some(key))
            .is_some()
    }

    pub(super) fn insert(&mut self, key: MessageKey) {
        if self.contains(&key) {
            return;
        }
        let Self { ring, next, index } = self;
        let hash = key.hash;
        let slot = if ring.len() < RECENT_IDS {
            ring.push(key);
            ring.len() - 1
        } else {
            let slot = *next;
            *next = (slot + 1) % RECENT_IDS;
            if let Some(old) = ring.get_mut(slot) {
                if let Ok(entry) = index.find_entry(old.hash, |&i| i == slot) {
                    entry.remove();
                }
                *old = key;
            }
            slot
        };
        index.insert_unique(hash, slot, |&i| ring.get(i).map_or(0, |k| k.hash));
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ring.len()
    }
}

/// What identifies a delivered message: chat, sender (device) and id.
///
/// Its hash is computed once, when the stanza is parsed (on the socket stage's thread), with
/// a process-wide seeded [`FastState`]: the sets that drop duplicates look a key up several
/// times per message and only read that hash back ([`DigestState`]).
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

/// A set of message keys.
pub(super) type KeySet<K> = std::collections::HashSet<K, DigestState>;

pub(super) fn key_of(info: &MessageInfo) -> MessageKey {
    MessageKey::new(
        info.source.chat.clone(),
        info.source.sender.clone(),
        info.id.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> MessageKey {
        MessageKey::new(
            "111@s.whatsapp.net".parse().unwrap(),
            "222:1@s.whatsapp.net".parse().unwrap(),
            format!("ID{n}"),
        )
    }

    #[test]
    fn the_last_ids_are_remembered_and_the_oldest_forgotten() {
        let mut recent = RecentIds::default();
        for n in 0..RECENT_IDS + 10 {
            recent.insert(key(n));
            recent.insert(key(n));
        }
        assert_eq!(recent.len(), RECENT_IDS);
        for n in 0..10 {
            assert!(!recent.contains(&key(n)), "{n} should be forgotten");
        }
        for n in 10..RECENT_IDS + 10 {
            assert!(recent.contains(&key(n)), "{n} should be remembered");
        }
        // A key equal in hash but not in content is not taken for a remembered one.
        let mut twin = key(RECENT_IDS);
        twin.id.push('x');
        twin.hash = key(RECENT_IDS).hash;
        assert!(!recent.contains(&twin));
        recent.insert(twin.clone());
        assert!(recent.contains(&twin) && recent.contains(&key(RECENT_IDS)));
        assert!(!recent.contains(&key(10)), "the oldest made room");
    }
}
