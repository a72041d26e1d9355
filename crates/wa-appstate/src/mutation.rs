//! Decoded mutations.

use wa_proto::proto::SyncActionValue;
use wa_proto::proto::syncd_mutation::SyncdOperation;

use crate::action::Action;
use crate::error::{AppStateError, Result};
use crate::state::{IndexMac, ValueMac};

/// What a mutation does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Store the record under its index (insert or overwrite).
    Set,
    /// Delete the record stored under its index.
    Remove,
}

impl Operation {
    /// Reads the `SyncdMutation.operation` field; an absent field is SET (the proto default).
    pub fn from_wire(value: Option<i32>) -> Result<Self> {
        match value.map(SyncdOperation::try_from) {
            None | Some(Ok(SyncdOperation::Set)) => Ok(Self::Set),
            Some(Ok(SyncdOperation::Remove)) => Ok(Self::Remove),
            Some(Err(_)) => Err(AppStateError::Malformed("unknown mutation operation")),
        }
    }

    /// The `SyncdMutation.operation` value.
    pub const fn to_wire(self) -> i32 {
        match self {
            Self::Set => SyncdOperation::Set as i32,
            Self::Remove => SyncdOperation::Remove as i32,
        }
    }

    /// The first byte of the value MAC input: the wire value plus one (SET 1, REMOVE 2).
    pub const fn mac_byte(self) -> u8 {
        match self {
            Self::Set => 1,
            Self::Remove => 2,
        }
    }
}

/// One decoded and verified mutation of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// SET or REMOVE.
    pub operation: Operation,
    /// The index, parsed from its JSON array: the action name first (`"mute"`, `"pin_v1"`, …),
    /// then its arguments (chat JID, message id, …).
    pub index: Vec<String>,
    /// The action value; absent if the sender left it out.
    pub value: Option<SyncActionValue>,
    /// The action's schema version (`SyncActionData.version`, e.g. 2 for mute).
    pub action_version: Option<i32>,
    /// The version of the patch (or snapshot) that carried the mutation.
    pub patch_version: u64,
    /// The record's index MAC.
    pub index_mac: IndexMac,
    /// The record's value MAC.
    pub value_mac: ValueMac,
}

impl Mutation {
    /// The typed view of this mutation (see [`Action`]); [`Action::Other`] for actions without
    /// one, whose data stays in [`value`](Self::value) and [`index`](Self::index).
    pub fn action(&self) -> Action {
        Action::from_parts(self.operation, &self.index, self.value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_wire() {
        assert_eq!(Operation::from_wire(None), Ok(Operation::Set));
        assert_eq!(Operation::from_wire(Some(0)), Ok(Operation::Set));
        assert_eq!(Operation::from_wire(Some(1)), Ok(Operation::Remove));
        assert!(Operation::from_wire(Some(7)).is_err());
        for op in [Operation::Set, Operation::Remove] {
            assert_eq!(Operation::from_wire(Some(op.to_wire())), Ok(op));
            assert_eq!(op.mac_byte() as i32, op.to_wire() + 1);
        }
    }
}
