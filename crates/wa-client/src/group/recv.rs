//! The receiving half: storing a sender's distribution message and decrypting its `skmsg`
//! (whatsmeow `handleSenderKeyDistributionMessage` and `decryptGroupMsg`).
//!
//! Both functions work against any wa-signal [`SenderKeyStore`] whose error is wa-store's: a
//! store handle (the write commits at once) or a [`wa_store::Transaction`] (the write commits
//! with the caller's other writes for the same stanza).

use wa_binary::Jid;
use wa_proto::proto::message::SenderKeyDistributionMessage as SkdmProto;
use wa_signal::store::SenderKeyStore;
use wa_signal::wire::{SenderKeyDistributionMessage, SenderKeyMessage};
use wa_signal::{SenderKeyRecord, SignalError};
use wa_store::StoreError;

use super::{GroupError, sender_key_name};

/// Stores the sender key that `sender` (a device JID) distributed for `group`, taken from the
/// `sender_key_distribution_message` field of a payload decrypted from that sender.
///
/// The record is keyed by the chat the stanza came from, as whatsmeow does; the message's own
/// `group_id` is not trusted. A repeated distribution of a known key changes nothing (it
/// cannot rewind the chain).
pub async fn process_sender_key_distribution<S>(
    store: &S,
    group: &Jid,
    sender: &Jid,
    message: &SkdmProto,
) -> Result<(), GroupError>
where
    S: SenderKeyStore<Error = StoreError> + Sync + ?Sized,
{
    let bytes = message
        .axolotl_sender_key_distribution_message
        .as_deref()
        .ok_or_else(|| GroupError::BadDistribution("no axolotl message".into()))?;
    let skdm = SenderKeyDistributionMessage::parse(bytes)
        .map_err(|e| GroupError::BadDistribution(e.to_string()))?;
    let name = sender_key_name(group, sender);
    let mut record = store.load_sender_key(&name).await?.unwrap_or_default();
    record.process_distribution(&skdm);
    store.store_sender_key(&name, &record).await?;
    Ok(())
}

/// Decrypts an `<enc type="skmsg">` payload that `sender` (a device JID) sent to `group`.
///
/// Returns the plaintext as the sender encrypted it, still padded: strip it with
/// [`crate::message::unpad`] and the `<enc>`'s `v`. The record is saved only on success.
/// Without a key of the sender this is [`GroupError::NoSenderKey`] (answer with a retry
/// receipt); a bad signature, replay or unknown key id is [`GroupError::Signal`].
pub async fn decrypt_group_message<S>(
    store: &S,
    group: &Jid,
    sender: &Jid,
    skmsg: &[u8],
) -> Result<Vec<u8>, GroupError>
where
    S: SenderKeyStore<Error = StoreError> + Sync + ?Sized,
{
    let message = SenderKeyMessage::parse(skmsg)?;
    let name = sender_key_name(group, sender);
    let no_key = || GroupError::NoSenderKey {
        group: group.clone(),
        sender: sender.clone(),
    };
    let mut record: SenderKeyRecord = store.load_sender_key(&name).await?.ok_or_else(no_key)?;
    let plaintext = match record.decrypt(&message) {
        Ok(p) => p,
        Err(SignalError::NoSession) => return Err(no_key()),
        Err(e) => return Err(e.into()),
    };
    store.store_sender_key(&name, &record).await?;
    Ok(plaintext)
}
