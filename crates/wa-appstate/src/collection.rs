//! The app-state collections ("patch names").

use std::fmt;
use std::str::FromStr;

use crate::error::AppStateError;

/// An app-state collection. Its name is part of the snapshot and patch MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    /// `critical_block`: account settings such as the push name and locale.
    CriticalBlock,
    /// `critical_unblock_low`: the contact list.
    CriticalUnblockLow,
    /// `regular_high`: mute, starred messages, delete-for-me, clear and delete chat.
    RegularHigh,
    /// `regular_low`: pin, archive, mark as read, the unarchive-chats setting.
    RegularLow,
    /// `regular`: labels, quick replies, key expiration and other protocol data.
    Regular,
}

impl Collection {
    /// Every collection, in the order whatsmeow syncs them.
    pub const ALL: [Self; 5] = [
        Self::CriticalBlock,
        Self::CriticalUnblockLow,
        Self::RegularHigh,
        Self::Regular,
        Self::RegularLow,
    ];

    /// The wire name (`name` attribute of `<collection>`, and the MAC input).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CriticalBlock => "critical_block",
            Self::CriticalUnblockLow => "critical_unblock_low",
            Self::RegularHigh => "regular_high",
            Self::RegularLow => "regular_low",
            Self::Regular => "regular",
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Collection {
    type Err = AppStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(AppStateError::Malformed("unknown collection name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Collection::ALL {
            assert_eq!(c.as_str().parse::<Collection>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert!("regular_medium".parse::<Collection>().is_err());
    }
}
