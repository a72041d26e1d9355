//! Sessions: the record of current and archived states, and the session cipher.
//!
//! Everything here is sans-IO: functions take a [`SessionRecord`] by `&mut` and change it only
//! when they succeed, so the caller persists the record after `Ok` and drops nothing on `Err`.

pub(crate) mod chain;
mod record;
pub use record::MAX_RECORD_LEN;
pub(crate) mod state;

use std::collections::VecDeque;

use rand_core::CryptoRng;

pub use state::{
    MAX_FORWARD_JUMP, MAX_MESSAGE_KEYS_PER_CHAIN, MAX_MESSAGE_KEYS_PER_SESSION,
    MAX_RECEIVER_CHAINS, SessionState,
};

use crate::error::{Result, SignalError};
use crate::keys::IdentityKeyPair;
use crate::prekeys::{PreKeyBundle, PreKeyRecord, SignedPreKeyRecord};
use crate::wire::{PreKeySignalMessage, SignalMessage};
use crate::x3dh;

/// Archived states kept per record (libsignal keeps 40).
pub const MAX_ARCHIVED_STATES: usize = 40;

/// An encrypted message ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiphertextMessage {
    /// A `SignalMessage` (WhatsApp `enc type="msg"`).
    Whisper(SignalMessage),
    /// A `PreKeySignalMessage` (WhatsApp `enc type="pkmsg"`), sent until the peer answers.
    PreKey(PreKeySignalMessage),
}

impl CiphertextMessage {
    /// The bytes to put on the wire.
    pub fn serialized(&self) -> &[u8] {
        match self {
            Self::Whisper(m) => m.serialized(),
            Self::PreKey(m) => m.serialized(),
        }
    }

    /// WhatsApp's `type` attribute for the `<enc>` node: `"msg"` or `"pkmsg"`.
    pub fn wa_type(&self) -> &'static str {
        match self {
            Self::Whisper(_) => "msg",
            Self::PreKey(_) => "pkmsg",
        }
    }
}

/// Every session held with one remote device: the current state and up to
/// [`MAX_ARCHIVED_STATES`] archived ones, most recent first.
#[derive(Clone, Debug, Default)]
pub struct SessionRecord {
    pub(crate) current: Option<SessionState>,
    pub(crate) previous: VecDeque<SessionState>,
}

/// The result of decrypting a `PreKeySignalMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreKeyDecryption {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The one-time prekey consumed by a new session: the caller deletes it from its store.
    pub consumed_pre_key_id: Option<u32>,
    /// Whether the message created a new session (and archived the previous current state).
    pub new_session: bool,
}

impl SessionRecord {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current (sending) state.
    pub fn current(&self) -> Option<&SessionState> {
        self.current.as_ref()
    }

    /// The archived states, most recent first.
    pub fn previous(&self) -> impl ExactSizeIterator<Item = &SessionState> {
        self.previous.iter()
    }

    /// Whether there is a current state to encrypt with.
    pub fn has_current(&self) -> bool {
        self.current.is_some()
    }

    /// Moves the current state into the archive (as libsignal does on a new session).
    pub fn archive_current(&mut self) {
        if let Some(state) = self.current.take() {
            self.previous.push_front(state);
            self.previous.truncate(MAX_ARCHIVED_STATES);
        }
    }

    fn promote(&mut self, state: SessionState) {
        self.archive_current();
        self.current = Some(state);
    }

    /// Whether some state (current or archived) was created by `base_key`.
    pub fn has_base_key(&self, base_key: &crate::keys::PublicKey) -> bool {
        self.current
            .iter()
            .chain(self.previous.iter())
            .any(|s| s.has_base_key(base_key))
    }

    /// Starts a session as the initiator from a (verified) prekey bundle; the current state, if
    /// any, is archived. Outgoing messages are `PreKeySignalMessage`s until the peer answers.
    pub fn initiate<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &IdentityKeyPair,
        local_registration_id: u32,
        bundle: &PreKeyBundle,
        rng: &mut R,
    ) -> Result<()> {
        let state = x3dh::initiate(identity, local_registration_id, bundle, rng)?;
        self.promote(state);
        Ok(())
    }

    /// Encrypts with the current state.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<CiphertextMessage> {
        self.current
            .as_mut()
            .ok_or(SignalError::NoSession)?
            .encrypt(plaintext)
    }

    /// Decrypts a `SignalMessage` with the current state, then with archived ones.
    ///
    /// An archived state that decrypts is updated in place and stays archived: the current state
    /// is the newest session, the one the peer is known to hold. Nothing changes on error; the
    /// error is the current state's (or [`SignalError::NoSession`] without any state).
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        message: &SignalMessage,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let mut first_err = None;
        if let Some(state) = self.current.as_mut() {
            match state.decrypt(message, rng) {
                Ok(p) => return Ok(p),
                Err(e) => first_err = Some(e),
            }
        }
        for state in self.previous.iter_mut() {
            match state.decrypt(message, rng) {
                Ok(p) => return Ok(p),
                // A replay of a message an archived state already decrypted.
                Err(e @ SignalError::DuplicateMessage(_)) => {
                    if !matches!(first_err, Some(SignalError::DuplicateMessage(_))) {
                        first_err = Some(e);
                    }
                }
                Err(_) => {}
            }
        }
        Err(first_err.unwrap_or(SignalError::NoSession))
    }

    /// Decrypts a `PreKeySignalMessage`.
    ///
    /// When no state has its base key, a new session is built (the caller supplies the signed
    /// prekey and, when [`PreKeySignalMessage::pre_key_id`] is set, the one-time prekey), the
    /// current state is archived and the new one becomes current. Otherwise the embedded message
    /// is decrypted with the matching state (a repeat before we answered). The caller checks the
    /// sender's identity ([`PreKeySignalMessage::identity_key`]) against its trust store first.
    pub fn decrypt_pre_key<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &IdentityKeyPair,
        local_registration_id: u32,
        message: &PreKeySignalMessage,
        signed_pre_key: Option<&SignedPreKeyRecord>,
        one_time_pre_key: Option<&PreKeyRecord>,
        rng: &mut R,
    ) -> Result<PreKeyDecryption> {
        let base = message.base_key();
        let existing = self
            .current
            .iter_mut()
            .chain(self.previous.iter_mut())
            .find(|s| s.has_base_key(base));
        if let Some(state) = existing {
            let plaintext = state.decrypt(message.message(), rng)?;
            return Ok(PreKeyDecryption {
                plaintext,
                consumed_pre_key_id: None,
                new_session: false,
            });
        }
        let signed =
            signed_pre_key.ok_or(SignalError::InvalidKeyId(message.signed_pre_key_id()))?;
        let mut state = x3dh::respond(
            identity,
            local_registration_id,
            message,
            signed,
            one_time_pre_key,
        )?;
        let plaintext = state.decrypt(message.message(), rng)?;
        self.promote(state);
        Ok(PreKeyDecryption {
            plaintext,
            consumed_pre_key_id: message.pre_key_id(),
            new_session: true,
        })
    }
}
