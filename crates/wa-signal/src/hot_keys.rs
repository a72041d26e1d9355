//! Which signing keys verify often enough to deserve a [`CombTable`].
//!
//! A table costs about as much to build as two signature checks without one (16·13 doublings,
//! 16·7 additions and a batched inversion: 742,000 instructions against 342,000 for one check)
//! and makes every later check about 40 % cheaper, so it is built on a key's fourth use: a
//! sender with up to three messages never pays for one, a sender that goes on has it back
//! after about five more.
//!
//! Sender-key records are usually decoded afresh for every message, so the tables live here,
//! process-wide, rather than in the records. A key is named by [`KeyId`]: its Montgomery
//! encoding and the Edwards sign bit. The cache is bounded: at most [`MAX_TABLES`] tables
//! (12 KiB each) and [`MAX_TRACKED`] keys counted; the least recently used table goes first. It
//! holds public data only.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use crate::edwards::CombTable;

/// Tables kept at most (12 KiB each, so 768 KiB).
pub(crate) const MAX_TABLES: usize = 64;
/// Keys whose uses are counted at most; beyond it the keys without a table are forgotten.
pub(crate) const MAX_TRACKED: usize = 1024;
/// The use on which a key's table is built.
const BUILD_ON_USE: u32 = 4;

/// What a use of a key calls for.
enum Noted {
    /// Not used often enough yet: check without a table.
    Cold,
    /// The key's table.
    Hot(Arc<CombTable>),
    /// This use makes the key hot: build its table (outside any lock) and
    /// [`HotKeys::insert`] it.
    Build,
}

/// A signing key as the cache names it: the 32-byte Montgomery u-coordinate, then the sign bit
/// that picks one of its two Edwards points.
pub(crate) type KeyId = [u8; 33];

struct Slot {
    uses: u32,
    last_use: u64,
    table: Option<Arc<CombTable>>,
}

/// Counts uses per key and keeps the tables of the busiest ones.
pub(crate) struct HotKeys {
    slots: HashMap<KeyId, Slot>,
    tables: usize,
    clock: u64,
    max_tables: usize,
    max_tracked: usize,
}

impl HotKeys {
    /// An empty cache with these bounds.
    pub(crate) fn new(max_tables: usize, max_tracked: usize) -> Self {
        Self {
            slots: HashMap::new(),
            tables: 0,
            clock: 0,
            max_tables,
            max_tracked,
        }
    }

    /// Records a use of the point with this encoding and says what the caller should do.
    fn note_use(&mut self, encoded: &KeyId) -> Noted {
        self.clock += 1;
        let now = self.clock;
        if !self.slots.contains_key(encoded) && self.slots.len() >= self.max_tracked {
            self.slots.retain(|_, slot| slot.table.is_some());
        }
        let slot = self.slots.entry(*encoded).or_insert(Slot {
            uses: 0,
            last_use: now,
            table: None,
        });
        slot.uses = slot.uses.saturating_add(1);
        slot.last_use = now;
        match &slot.table {
            Some(table) => Noted::Hot(Arc::clone(table)),
            None if slot.uses >= BUILD_ON_USE => Noted::Build,
            None => Noted::Cold,
        }
    }

    /// Keeps a freshly built table, dropping the least recently used one if the cache is full.
    fn insert(&mut self, encoded: &KeyId, table: Arc<CombTable>) {
        if self.max_tables == 0 {
            return;
        }
        let already = self
            .slots
            .get(encoded)
            .is_some_and(|slot| slot.table.is_some());
        if already {
            return;
        }
        if self.tables >= self.max_tables {
            let oldest = self
                .slots
                .iter()
                .filter(|(_, slot)| slot.table.is_some())
                .min_by_key(|(_, slot)| slot.last_use)
                .map(|(key, _)| *key);
            if let Some(slot) = oldest.and_then(|key| self.slots.get_mut(&key)) {
                slot.table = None;
                slot.uses = 0;
                self.tables -= 1;
            }
        }
        self.clock += 1;
        let now = self.clock;
        let slot = self.slots.entry(*encoded).or_insert(Slot {
            uses: BUILD_ON_USE,
            last_use: now,
            table: None,
        });
        slot.table = Some(table);
        self.tables += 1;
    }

    /// Number of tables held.
    #[cfg(test)]
    fn tables(&self) -> usize {
        self.tables
    }
}

static HOT_KEYS: LazyLock<Mutex<HotKeys>> =
    LazyLock::new(|| Mutex::new(HotKeys::new(MAX_TABLES, MAX_TRACKED)));

/// Records a use of a key in the process-wide cache and returns its table when the key is hot;
/// on the use that makes it hot, `build` makes the table.
pub(crate) fn table_for(
    encoded: &KeyId,
    build: impl FnOnce() -> Option<CombTable>,
) -> Option<Arc<CombTable>> {
    use_cache(&HOT_KEYS, encoded, build)
}

fn use_cache(
    cache: &Mutex<HotKeys>,
    encoded: &KeyId,
    build: impl FnOnce() -> Option<CombTable>,
) -> Option<Arc<CombTable>> {
    let noted = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .note_use(encoded);
    match noted {
        Noted::Cold => None,
        Noted::Hot(table) => Some(table),
        Noted::Build => {
            // Built without the lock: other keys' checks go on meanwhile.
            let table = Arc::new(build()?);
            cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(encoded, Arc::clone(&table));
            Some(table)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::scalar::Scalar;

    fn key(n: u64) -> KeyId {
        let mut id = [0u8; 33];
        id[..8].copy_from_slice(&n.to_le_bytes());
        id
    }

    /// A table for the key (the point does not matter to the cache).
    fn build(n: u64) -> impl FnOnce() -> Option<CombTable> {
        move || {
            let point = ED25519_BASEPOINT_POINT * Scalar::from(n + 1);
            CombTable::from_encoding(point.compress().as_bytes())
        }
    }

    #[test]
    fn a_table_is_built_on_the_fourth_use_and_reused() {
        let cache = Mutex::new(HotKeys::new(4, 16));
        for _ in 1..BUILD_ON_USE {
            assert!(use_cache(&cache, &key(1), build(1)).is_none());
        }
        let built = use_cache(&cache, &key(1), build(1)).unwrap();
        let again = use_cache(&cache, &key(1), build(1)).unwrap();
        assert!(Arc::ptr_eq(&built, &again));
        assert_eq!(cache.lock().unwrap().tables(), 1);
    }

    #[test]
    fn the_least_recently_used_table_goes_when_full() {
        let cache = Mutex::new(HotKeys::new(2, 16));
        for n in 0..3 {
            for _ in 1..BUILD_ON_USE {
                use_cache(&cache, &key(n), build(n));
            }
            assert!(use_cache(&cache, &key(n), build(n)).is_some());
            if n == 1 {
                // Key 0 is used again, so key 1 becomes the oldest.
                assert!(use_cache(&cache, &key(0), build(0)).is_some());
            }
        }
        assert_eq!(cache.lock().unwrap().tables(), 2);
        let mut guard = cache.lock().unwrap();
        assert!(guard.slots.get(&key(0)).unwrap().table.is_some());
        assert!(guard.slots.get(&key(1)).unwrap().table.is_none());
        assert!(guard.slots.get(&key(2)).unwrap().table.is_some());
        // The evicted key starts counting again.
        assert!(matches!(guard.note_use(&key(1)), Noted::Cold));
    }

    #[test]
    fn counted_keys_are_bounded() {
        let cache = Mutex::new(HotKeys::new(2, 8));
        for _ in 1..BUILD_ON_USE {
            use_cache(&cache, &key(100), build(100));
        }
        assert!(use_cache(&cache, &key(100), build(100)).is_some());
        for n in 0..100 {
            use_cache(&cache, &key(n), build(n));
        }
        let guard = cache.lock().unwrap();
        assert!(guard.slots.len() <= 8);
        // The key with a table survives the purge of cold keys.
        assert!(guard.slots.get(&key(100)).unwrap().table.is_some());
    }

    #[test]
    fn a_key_that_is_not_a_point_gets_no_table() {
        let cache = Mutex::new(HotKeys::new(2, 8));
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        let build = || CombTable::from_encoding(&not_a_point);
        for _ in 0..=BUILD_ON_USE {
            assert!(use_cache(&cache, &key(7), build).is_none());
        }
        assert_eq!(cache.lock().unwrap().tables(), 0);
    }
}
