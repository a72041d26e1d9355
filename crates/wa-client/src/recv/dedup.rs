//! Dropping duplicates: the key of a delivered message and the bounded memory of recent ones.

use std::hash::Hash as _;

use hashbrown::HashTable;
use sha2::{Digest as _, Sha256};

use wa_binary::Jid;
use wa_store::hashing::DigestState;

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
            .find(key.index_hash(), |&i| ring.get(i) == Some(key))
            .is_some()
    }

    pub(super) fn insert(&mut self, key: MessageKey) {
        if self.contains(&key) {
            return;
        }
        let Self { ring, next, index } = self;
        let hash = key.index_hash();
        let slot = if ring.len() < RECENT_IDS {
            ring.push(key);
            ring.len() - 1
        } else {
            let slot = *next;
            *next = (slot + 1) % RECENT_IDS;
            if let Some(old) = ring.get_mut(slot) {
                if let Ok(entry) = index.find_entry(old.index_hash(), |&i| i == slot) {
                    entry.remove();
                }
                *old = key;
            }
            slot
        };
        index.insert_unique(hash, slot, |&i| {
            ring.get(i).map_or(0, MessageKey::index_hash)
        });
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ring.len()
    }
}

/// What identifies a delivered message: the SHA-256 digest of its chat, sender (device) and
/// id.
///
/// A digest rather than copies of the three: a key is made once, when the stanza is parsed
/// (on the socket stage's thread), and then only compared, so remembering one costs no
/// allocation on the pipeline's thread and forgetting one no free. Two different messages
/// would share a key only through a SHA-256 collision, the same trust the store's event
/// buffer puts in the digest of a ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MessageKey {
    digest: [u8; 32],
}

impl MessageKey {
    /// The key of (chat, sender, id).
    pub(super) fn new(chat: &Jid, sender: &Jid, id: &str) -> Self {
        let mut hasher = DigestWriter(Sha256::new());
        // `Hash` ends each string with a separator, so the fields cannot run into each other.
        (chat, sender, id).hash(&mut hasher);
        Self {
            digest: hasher.0.finalize().into(),
        }
    }

    /// The hash the duplicate sets index the key by: part of its digest, uniform already.
    fn index_hash(&self) -> u64 {
        let mut first = [0; 8];
        first.copy_from_slice(&self.digest[..8]);
        u64::from_le_bytes(first)
    }
}

impl core::hash::Hash for MessageKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.index_hash());
    }
}

/// Feeds what `Hash` writes into SHA-256.
struct DigestWriter(Sha256);

impl core::hash::Hasher for DigestWriter {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Not used: the digest is taken from the SHA-256 state.
    fn finish(&self) -> u64 {
        0
    }
}

/// A set of message keys.
pub(super) type KeySet<K> = std::collections::HashSet<K, DigestState>;

pub(super) fn key_of(info: &MessageInfo) -> MessageKey {
    MessageKey::new(&info.source.chat, &info.source.sender, &info.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> MessageKey {
        MessageKey::new(
            &"111@s.whatsapp.net".parse().unwrap(),
            &"222:1@s.whatsapp.net".parse().unwrap(),
            &format!("ID{n}"),
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
        // A key equal in hash but not in digest is not taken for a remembered one.
        let mut twin = key(RECENT_IDS);
        twin.digest[31] ^= 1;
        assert_eq!(twin.index_hash(), key(RECENT_IDS).index_hash());
        assert!(!recent.contains(&twin));
        recent.insert(twin);
        assert!(recent.contains(&twin) && recent.contains(&key(RECENT_IDS)));
        assert!(!recent.contains(&key(10)), "the oldest made room");
    }

    #[test]
    fn keys_differ_when_chat_sender_or_id_does_and_fields_cannot_run_into_each_other() {
        let jid = |s: &str| -> Jid { s.parse().unwrap() };
        let (chat, sender) = (jid("111@s.whatsapp.net"), jid("222:1@s.whatsapp.net"));
        let base = MessageKey::new(&chat, &sender, "ID");
        assert_eq!(base, MessageKey::new(&chat, &sender, "ID"));
        assert_ne!(base, MessageKey::new(&chat, &sender, "ID2"));
        assert_ne!(
            base,
            MessageKey::new(&chat, &jid("222:2@s.whatsapp.net"), "ID")
        );
        assert_ne!(
            base,
            MessageKey::new(&jid("112@s.whatsapp.net"), &sender, "ID")
        );
        assert_ne!(
            MessageKey::new(&jid("1@s.whatsapp.net"), &jid("12@s.whatsapp.net"), "3"),
            MessageKey::new(&jid("11@s.whatsapp.net"), &jid("2@s.whatsapp.net"), "3"),
        );
    }
}
