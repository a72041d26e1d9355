//! The load → operate → save loop over the store traits.

use rand_core::CryptoRng;

use super::{
    IdentityChange, IdentityKeyStore, ProtocolAddress, SenderKeyName, SenderKeyStore,
    SignalProtocolStore,
};
use crate::error::SignalError;
use crate::group::SenderKeyRecord;
use crate::keys::PublicKey;
use crate::prekeys::PreKeyBundle;
use crate::session::{CiphertextMessage, SessionRecord};
use crate::wire::{
    PreKeySignalMessage, SenderKeyDistributionMessage, SenderKeyMessage, SignalMessage,
};

/// Errors of the store helpers: the protocol's, or the backend's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError<E: std::error::Error + 'static> {
    /// The protocol refused the operation.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// The store failed.
    #[error("signal store: {0}")]
    Store(#[source] E),
}

fn store<E: std::error::Error>(e: E) -> StoreError<E> {
    StoreError::Store(e)
}

/// An incoming 1:1 message with its `<enc type>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncomingMessage<'a> {
    /// `type="msg"`.
    Whisper(&'a [u8]),
    /// `type="pkmsg"`.
    PreKey(&'a [u8]),
}

/// Trust on first use: saves a new identity, reports a changed one and replaces it. With
/// `allow_change == false` a changed key is refused with [`SignalError::UntrustedIdentity`].
pub async fn trust_identity<S: IdentityKeyStore + Sync>(
    store_: &S,
    address: &ProtocolAddress,
    key: &PublicKey,
    allow_change: bool,
) -> Result<IdentityChange, StoreError<S::Error>> {
    match store_.identity(address).await.map_err(store)? {
        Some(known) if &known == key => Ok(IdentityChange::Unchanged),
        Some(_) if !allow_change => Err(SignalError::UntrustedIdentity.into()),
        Some(previous) => {
            store_.save_identity(address, key).await.map_err(store)?;
            Ok(IdentityChange::Replaced { previous })
        }
        None => {
            store_.save_identity(address, key).await.map_err(store)?;
            Ok(IdentityChange::New)
        }
    }
}

/// Starts a session with `address` from its bundle (trusting its identity on first use).
pub async fn process_bundle<S: SignalProtocolStore, R: CryptoRng + Send + ?Sized>(
    s: &S,
    address: &ProtocolAddress,
    bundle: &PreKeyBundle,
    rng: &mut R,
) -> Result<IdentityChange, StoreError<<S as IdentityKeyStore>::Error>> {
    bundle.verify()?;
    let identity = s.identity_key_pair().await.map_err(store)?;
    let registration_id = s.local_registration_id().await.map_err(store)?;
    let change = trust_identity(s, address, &bundle.identity_key, true).await?;
    let mut record = s
        .load_session(address)
        .await
        .map_err(store)?
        .unwrap_or_default();
    record.initiate(&identity, registration_id, bundle, rng)?;
    s.store_session(address, &record).await.map_err(store)?;
    Ok(change)
}

/// Encrypts to `address` with its current session.
pub async fn encrypt<S: SignalProtocolStore>(
    s: &S,
    address: &ProtocolAddress,
    plaintext: &[u8],
) -> Result<CiphertextMessage, StoreError<<S as IdentityKeyStore>::Error>> {
    let mut record: SessionRecord = s
        .load_session(address)
        .await
        .map_err(store)?
        .ok_or(SignalError::NoSession)?;
    let out = record.encrypt(plaintext)?;
    s.store_session(address, &record).await.map_err(store)?;
    Ok(out)
}

/// Decrypts a message from `address`; returns the plaintext and what happened to the sender's
/// identity (a `pkmsg` may carry a new one).
pub async fn decrypt<S: SignalProtocolStore, R: CryptoRng + Send + ?Sized>(
    s: &S,
    address: &ProtocolAddress,
    message: IncomingMessage<'_>,
    rng: &mut R,
) -> Result<(Vec<u8>, IdentityChange), StoreError<<S as IdentityKeyStore>::Error>> {
    let mut record = s
        .load_session(address)
        .await
        .map_err(store)?
        .unwrap_or_default();
    match message {
        IncomingMessage::Whisper(bytes) => {
            let msg = SignalMessage::parse(bytes)?;
            let plaintext = record.decrypt(&msg, rng)?;
            s.store_session_owned(address, record)
                .await
                .map_err(store)?;
            Ok((plaintext, IdentityChange::Unchanged))
        }
        IncomingMessage::PreKey(bytes) => {
            let msg = PreKeySignalMessage::parse(bytes)?;
            let identity = s.identity_key_pair().await.map_err(store)?;
            let registration_id = s.local_registration_id().await.map_err(store)?;
            let known = record.has_base_key(msg.base_key());
            let signed = if known {
                None
            } else {
                s.load_signed_pre_key(msg.signed_pre_key_id())
                    .await
                    .map_err(store)?
            };
            let one_time = match (known, msg.pre_key_id()) {
                (false, Some(id)) => s.load_pre_key(id).await.map_err(store)?,
                _ => None,
            };
            let out = record.decrypt_pre_key(
                &identity,
                registration_id,
                &msg,
                signed.as_ref(),
                one_time.as_ref(),
                rng,
            )?;
            let change = trust_identity(s, address, msg.identity_key(), true).await?;
            s.store_session_owned(address, record)
                .await
                .map_err(store)?;
            if let Some(id) = out.consumed_pre_key_id {
                s.remove_pre_key(id).await.map_err(store)?;
            }
            Ok((out.plaintext, change))
        }
    }
}

/// Our distribution message for a group (creating our sender key on first use).
pub async fn group_create_distribution<S: SenderKeyStore + Sync, R: CryptoRng + Send + ?Sized>(
    s: &S,
    name: &SenderKeyName,
    rng: &mut R,
) -> Result<SenderKeyDistributionMessage, StoreError<S::Error>> {
    let mut record = s
        .load_sender_key(name)
        .await
        .map_err(store)?
        .unwrap_or_default();
    let skdm = record.create_distribution(rng);
    s.store_sender_key(name, &record).await.map_err(store)?;
    Ok(skdm)
}

/// Stores a sender's distribution message.
pub async fn group_process_distribution<S: SenderKeyStore + Sync>(
    s: &S,
    name: &SenderKeyName,
    message: &SenderKeyDistributionMessage,
) -> Result<(), StoreError<S::Error>> {
    let mut record = s
        .load_sender_key(name)
        .await
        .map_err(store)?
        .unwrap_or_default();
    record.process_distribution(message);
    s.store_sender_key(name, &record).await.map_err(store)
}

/// Encrypts to a group with our sender key.
pub async fn group_encrypt<S: SenderKeyStore + Sync, R: CryptoRng + Send + ?Sized>(
    s: &S,
    name: &SenderKeyName,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SenderKeyMessage, StoreError<S::Error>> {
    let mut record: SenderKeyRecord = s
        .load_sender_key(name)
        .await
        .map_err(store)?
        .ok_or(SignalError::NoSession)?;
    let out = record.encrypt(plaintext, rng)?;
    s.store_sender_key(name, &record).await.map_err(store)?;
    Ok(out)
}

/// Decrypts a sender's group message.
pub async fn group_decrypt<S: SenderKeyStore + Sync>(
    s: &S,
    name: &SenderKeyName,
    bytes: &[u8],
) -> Result<Vec<u8>, StoreError<S::Error>> {
    let message = SenderKeyMessage::parse(bytes)?;
    let mut record: SenderKeyRecord = s
        .load_sender_key(name)
        .await
        .map_err(store)?
        .ok_or(SignalError::NoSession)?;
    let plaintext = record.decrypt(&message)?;
    s.store_sender_key(name, &record).await.map_err(store)?;
    Ok(plaintext)
}
