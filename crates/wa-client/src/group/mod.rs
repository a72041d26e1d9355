//! Group messaging with sender keys, sans-IO: functions over a [`wa_store::Store`] that the
//! send and receive pipelines call.
//!
//! Sending ([`encrypt_group_message`]): our sender key for the group is created on first use;
//! every participant device that the store does not record as holding it gets it as a
//! `SenderKeyDistributionMessage` inside a padded `Message`, pairwise-encrypted (`pkmsg`/`msg`);
//! the message itself is encrypted once with the sender key (`skmsg`). [`GroupSend::to_stanza`]
//! builds the `<message>` with `<participants>`, `<enc type="skmsg">`, `phash` and, when a
//! `pkmsg` is included, `<device-identity>`. A device without a session fails the call with
//! [`GroupError::MissingSessions`]; the caller fetches bundles and calls again with them.
//!
//! Membership changes: a new member's devices lack the key and get it at the next send
//! without further action; when members leave, [`rotate_sender_key`] makes the next send use
//! a new key, distributed to everyone who remains. [`forget_distribution`] and
//! [`forget_distribution_to`] make the next send redistribute the current key.
//!
//! Receiving: [`process_sender_key_distribution`] stores the key a sender distributed (found in
//! a decrypted `pkmsg`/`msg` payload), and [`decrypt_group_message`] opens its `skmsg`.
//!
//! [`GroupInfoCache`] caches group metadata and applies `w:gp2` notifications to it.
//!
//! ```
//! # use rand_chacha::ChaCha20Rng;
//! # use rand_core::SeedableRng;
//! use wa_binary::Jid;
//! use wa_client::group::{self, GroupMessage, GroupStanza};
//! use wa_store::{Container, Device, MemoryContainer};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let store = MemoryContainer::new().create(Device::generate(&mut rng)).await?;
//! let group: Jid = "120363000000000001@g.us".parse().unwrap();
//! let own: Jid = "15550001:1@s.whatsapp.net".parse().unwrap();
//! // A group of ourselves alone: nothing to distribute, one skmsg.
//! let message = GroupMessage {
//!     group: &group,
//!     own: &own,
//!     devices: &[own.clone()],
//!     plaintext: b"serialized Message",
//!     bundles: &[],
//! };
//! let sent = group::encrypt_group_message(&store, &message, &mut rng).await?;
//! assert!(sent.distribution.is_empty() && sent.new_sender_key);
//! let stanza = sent.to_stanza(&group, &GroupStanza {
//!     id: "3EB0AA",
//!     kind: "text",
//!     addressing_mode: None,
//!     device_identity: None,
//! });
//! assert!(stanza.child("enc").is_some() && stanza.child("participants").is_none());
//! # Ok::<(), wa_client::group::GroupError>(())
//! # }).unwrap();
//! ```

mod cache;
mod error;
mod recv;
mod send;
#[cfg(test)]
mod tests;

pub use cache::{DEFAULT_CAPACITY, GroupInfoCache, NotificationEffect};
pub use error::GroupError;
pub use recv::{decrypt_group_message, process_sender_key_distribution};
pub use send::{
    Distribution, GroupMessage, GroupSend, GroupStanza, encrypt_group_message, forget_distribution,
    forget_distribution_to, prepare_group_message, rotate_sender_key,
};

use wa_binary::Jid;
use wa_signal::store::{ProtocolAddress, SenderKeyName};

/// The Signal address of a device JID (user, or `user_agent` for LID and hosted JIDs).
fn address(jid: &Jid) -> ProtocolAddress {
    ProtocolAddress::new(jid.signal_address_user(), u32::from(jid.device()))
}

/// The name of the sender-key record of `sender` (a device JID) in `group`, as whatsmeow
/// names it: the group JID string and the sender's Signal address.
pub fn sender_key_name(group: &Jid, sender: &Jid) -> SenderKeyName {
    SenderKeyName {
        group_id: group.to_string(),
        sender: address(sender),
    }
}
