//! [`GroupError`]: why a group encryption or decryption step failed.

use wa_binary::Jid;
use wa_signal::SignalError;
use wa_store::StoreError;

/// Why a sender-key operation failed. Nothing was committed when one of these is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// These devices need a Signal session before our sender key can be sent to them: fetch
    /// their prekey bundles and call again with them.
    #[error("no Signal session with {} device(s) that need our sender key", .0.len())]
    MissingSessions(Vec<Jid>),
    /// A prekey bundle for a device did not verify or could not start a session.
    #[error("prekey bundle of {device}: {source}")]
    Bundle {
        /// The device the bundle is for.
        device: Jid,
        /// What the protocol refused.
        #[source]
        source: SignalError,
    },
    /// We hold no sender key of this sender in this group (its distribution message never
    /// arrived or was lost): the message cannot be decrypted until the sender resends it.
    #[error("no sender key of {sender} in {group}")]
    NoSenderKey {
        /// The group.
        group: Jid,
        /// The sending device.
        sender: Jid,
    },
    /// A received `SenderKeyDistributionMessage` lacks its key or does not parse.
    #[error("bad sender key distribution message: {0}")]
    BadDistribution(String),
    /// The protocol refused a message: bad signature, unknown key id, replay, too far ahead, …
    #[error("sender key: {0}")]
    Signal(#[from] SignalError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
