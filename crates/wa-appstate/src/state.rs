//! The per-collection state a client persists, and what changed in it.

use std::collections::{HashMap, HashSet};

use crate::lthash::LtHash;
use crate::mutation::Operation;

/// A 32-byte index MAC (names a record).
pub type IndexMac = [u8; 32];
/// A 32-byte value MAC (authenticates a record's encrypted value; the LTHash sums them).
pub type ValueMac = [u8; 32];

/// The state of one collection: its version, its LTHash, and the value MAC of every record it
/// holds by index MAC (needed to subtract a record from the LTHash when it is overwritten or
/// removed). A new collection starts from [`HashState::default`] (version 0, zero hash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashState {
    /// The version of the last patch (or snapshot) applied.
    pub version: u64,
    /// The LTHash of the value MACs of every record in `index_value_map`.
    pub hash: LtHash,
    /// Value MAC of the record currently stored under each index MAC.
    pub index_value_map: HashMap<IndexMac, ValueMac>,
}

impl HashState {
    /// A fresh state (version 0, zero hash, no records).
    pub fn new() -> Self {
        Self::default()
    }
}

/// How the stored index → value MAC rows of a collection change (whatsmeow keeps them in the
/// `whatsmeow_app_state_mutation_macs` table). Apply `reset`, then `removed`, then `added`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacChanges {
    /// A snapshot was applied: drop every stored row of the collection first.
    pub reset: bool,
    /// Rows to insert or overwrite.
    pub added: Vec<(IndexMac, ValueMac)>,
    /// Rows to delete.
    pub removed: Vec<IndexMac>,
}

/// Applies mutations to a [`HashState`] in order, remembering what each touched index held
/// before, so the net [`MacChanges`] can be reported.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// What each touched index held before the first touch, in first-touch order.
    before: Vec<(IndexMac, Option<ValueMac>)>,
    seen: HashSet<IndexMac>,
    /// REMOVE mutations of indexes the state did not hold.
    pub(crate) unknown_removals: Vec<IndexMac>,
}

impl Tracker {
    /// Applies one mutation to the map, and returns (value MAC to subtract, value MAC to add).
    pub(crate) fn apply(
        &mut self,
        map: &mut HashMap<IndexMac, ValueMac>,
        operation: Operation,
        index_mac: IndexMac,
        value_mac: ValueMac,
    ) -> (Option<ValueMac>, Option<ValueMac>) {
        let previous = match operation {
            Operation::Set => map.insert(index_mac, value_mac),
            Operation::Remove => map.remove(&index_mac),
        };
        if self.seen.insert(index_mac) {
            self.before.push((index_mac, previous));
        }
        match operation {
            Operation::Set => (previous, Some(value_mac)),
            Operation::Remove => {
                if previous.is_none() {
                    self.unknown_removals.push(index_mac);
                }
                (previous, None)
            }
        }
    }

    /// The net row changes between the state before the first `apply` and `map`.
    pub(crate) fn changes(&self, map: &HashMap<IndexMac, ValueMac>) -> MacChanges {
        let mut changes = MacChanges::default();
        for (index, before) in &self.before {
            match (map.get(index), before) {
                (Some(now), Some(was)) if now == was => {}
                (Some(now), _) => changes.added.push((*index, *now)),
                (None, Some(_)) => changes.removed.push(*index),
                (None, None) => {}
            }
        }
        changes
    }
}

/// Applies `mutations` (operation, index MAC, value MAC) to `state` in order: updates the map and
/// the LTHash (subtracting the value a SET overwrites or a REMOVE deletes, adding each SET).
pub(crate) fn apply_all<I>(state: &mut HashState, tracker: &mut Tracker, mutations: I)
where
    I: IntoIterator<Item = (Operation, IndexMac, ValueMac)>,
{
    let mut subtract = Vec::new();
    let mut add = Vec::new();
    for (op, index, value) in mutations {
        let (sub, plus) = tracker.apply(&mut state.index_value_map, op, index, value);
        subtract.extend(sub);
        add.extend(plus);
    }
    state.hash.subtract_then_add(&subtract, &add);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `mutations` to `state` with a fresh tracker, and returns the tracker.
    fn apply<const N: usize>(
        state: &mut HashState,
        mutations: [(Operation, IndexMac, ValueMac); N],
    ) -> Tracker {
        let mut tracker = Tracker::default();
        apply_all(state, &mut tracker, mutations);
        tracker
    }

    #[test]
    fn set_overwrite_remove() {
        let mut state = HashState::new();
        apply(
            &mut state,
            [
                (Operation::Set, [1; 32], [10; 32]),
                (Operation::Set, [2; 32], [20; 32]),
            ],
        );
        let after_first = state.clone();
        let mut expect = LtHash::ZERO;
        expect.add(&[10; 32]);
        expect.add(&[20; 32]);
        assert_eq!(state.hash, expect);

        let t2 = apply(
            &mut state,
            [
                (Operation::Set, [1; 32], [11; 32]),
                (Operation::Remove, [2; 32], [0; 32]),
                (Operation::Remove, [3; 32], [0; 32]),
            ],
        );
        let mut expect = LtHash::ZERO;
        expect.add(&[11; 32]);
        assert_eq!(state.hash, expect);
        assert_eq!(t2.unknown_removals, vec![[3; 32]]);
        let changes = t2.changes(&state.index_value_map);
        assert_eq!(changes.added, vec![([1; 32], [11; 32])]);
        assert_eq!(changes.removed, vec![[2; 32]]);
        assert!(!changes.reset);
        assert_ne!(after_first, state);
    }

    #[test]
    fn set_then_remove_in_one_batch_is_no_change() {
        let mut state = HashState::new();
        let t = apply(
            &mut state,
            [
                (Operation::Set, [1; 32], [10; 32]),
                (Operation::Remove, [1; 32], [10; 32]),
            ],
        );
        assert_eq!(state.hash, LtHash::ZERO);
        assert!(state.index_value_map.is_empty());
        assert_eq!(t.changes(&state.index_value_map), MacChanges::default());
        assert!(t.unknown_removals.is_empty());
    }
}
