//! One double-ratchet session: its root key, our sending chain, the peer's receiving chains.

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::chain::{ChainKey, MessageKeys, RootKey};
use crate::crypto::{aes_cbc_decrypt, aes_cbc_encrypt};
use crate::error::{Result, SignalError};
use crate::keys::{KeyPair, PublicKey};
use crate::wire::{PreKeySignalMessage, SignalMessage};

/// How far ahead of a chain a message counter may be (libsignal's bound).
pub const MAX_FORWARD_JUMP: u32 = 2_000;
/// Skipped message keys kept per receiving chain.
pub const MAX_MESSAGE_KEYS_PER_CHAIN: usize = 2_000;
/// Skipped message keys kept per session, over all receiving chains.
pub const MAX_MESSAGE_KEYS_PER_SESSION: usize = 5_000;
/// Receiving chains kept per session (older ones are dropped with their skipped keys).
pub const MAX_RECEIVER_CHAINS: usize = 5;

/// Our sending chain.
#[derive(Clone)]
pub(crate) struct SenderChain {
    pub(crate) ratchet: KeyPair,
    pub(crate) chain: ChainKey,
}

/// A chain we receive on, for one remote ratchet key.
#[derive(Clone)]
pub(crate) struct ReceiverChain {
    pub(crate) ratchet: PublicKey,
    pub(crate) chain: ChainKey,
    /// Keys for skipped counters, oldest first.
    pub(crate) skipped: Vec<MessageKeys>,
}

/// The prekey ids we started a session with, repeated until the peer answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingPreKey {
    pub(crate) pre_key_id: Option<u32>,
    pub(crate) signed_pre_key_id: u32,
    pub(crate) base_key: PublicKey,
}

/// One session with a remote device.
#[derive(Clone)]
pub struct SessionState {
    pub(crate) version: u32,
    pub(crate) local_identity: PublicKey,
    pub(crate) remote_identity: PublicKey,
    pub(crate) root_key: RootKey,
    pub(crate) previous_counter: u32,
    pub(crate) sender: SenderChain,
    pub(crate) receivers: Vec<ReceiverChain>,
    pub(crate) pending_pre_key: Option<PendingPreKey>,
    pub(crate) remote_registration_id: u32,
    pub(crate) local_registration_id: u32,
    pub(crate) base_key: PublicKey,
}

impl core::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionState")
            .field("remote_identity", &self.remote_identity)
            .field("base_key", &self.base_key)
            .field("sender_index", &self.sender.chain.index)
            .field("receiver_chains", &self.receivers.len())
            .field("pending_pre_key", &self.pending_pre_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Where the chain for an incoming message comes from.
enum Source {
    /// An existing receiving chain, by position.
    Existing(usize),
    /// A new remote ratchet key: the root key after the receiving half of the DH step.
    NewRatchet(RootKey),
}

impl SessionState {
    /// The remote identity key this session authenticates.
    pub fn remote_identity(&self) -> &PublicKey {
        &self.remote_identity
    }

    /// Our identity key in this session.
    pub fn local_identity(&self) -> &PublicKey {
        &self.local_identity
    }

    /// The X3DH base key that created this session.
    pub fn base_key(&self) -> &PublicKey {
        &self.base_key
    }

    /// The remote registration id.
    pub fn remote_registration_id(&self) -> u32 {
        self.remote_registration_id
    }

    /// Whether outgoing messages are still `PreKeySignalMessage`s (the peer has not answered).
    pub fn has_pending_pre_key(&self) -> bool {
        self.pending_pre_key.is_some()
    }

    /// Number of skipped message keys held over all receiving chains.
    pub fn skipped_key_count(&self) -> usize {
        self.receivers.iter().map(|r| r.skipped.len()).sum()
    }

    /// Encrypts `plaintext`, advancing the sending chain; wraps in a `PreKeySignalMessage`
    /// while the session is unacknowledged.
    pub(crate) fn encrypt(&mut self, plaintext: &[u8]) -> Result<super::CiphertextMessage> {
        let (keys, next) = self.sender.chain.step()?;
        let ciphertext = aes_cbc_encrypt(&keys.cipher_key, &keys.iv, plaintext);
        let message = SignalMessage::new(
            &keys.mac_key,
            self.sender.ratchet.public,
            keys.index,
            self.previous_counter,
            ciphertext,
            &self.local_identity,
            &self.remote_identity,
        );
        self.sender.chain = next;
        Ok(match &self.pending_pre_key {
            Some(p) => super::CiphertextMessage::PreKey(PreKeySignalMessage::new(
                self.local_registration_id,
                p.pre_key_id,
                p.signed_pre_key_id,
                p.base_key,
                self.local_identity,
                message,
            )),
            None => super::CiphertextMessage::Whisper(message),
        })
    }

    /// Decrypts `message`. The state changes only when the MAC and the padding check out.
    pub(crate) fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        message: &SignalMessage,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let their = message.ratchet_key();
        let counter = message.counter();
        let (source, chain) = match self.receivers.iter().position(|r| &r.ratchet == their) {
            Some(i) => {
                let chain = self
                    .receivers
                    .get(i)
                    .map(|r| r.chain.clone())
                    .ok_or(SignalError::InvalidRecord("receiver chain vanished"))?;
                (Source::Existing(i), chain)
            }
            None => {
                let (root, chain) = self
                    .root_key
                    .create_chain(their, &self.sender.ratchet.private);
                (Source::NewRatchet(root), chain)
            }
        };

        // Work out the message keys without touching the state.
        let mut skipped = Vec::new();
        let (keys, next_chain) = if counter < chain.index {
            let Source::Existing(i) = source else {
                return Err(SignalError::DuplicateMessage(counter));
            };
            let keys = self
                .receivers
                .get(i)
                .and_then(|r| r.skipped.iter().find(|k| k.index == counter))
                .cloned()
                .ok_or(SignalError::DuplicateMessage(counter))?;
            (keys, None)
        } else {
            if counter - chain.index > MAX_FORWARD_JUMP {
                return Err(SignalError::TooFarAhead {
                    counter,
                    current: chain.index,
                });
            }
            let mut ck = chain;
            while ck.index < counter {
                let (keys, next) = ck.step()?;
                skipped.push(keys);
                ck = next;
            }
            let (keys, next) = ck.step()?;
            (keys, Some(next))
        };

        if !message.verify_mac(&keys.mac_key, &self.remote_identity, &self.local_identity) {
            return Err(SignalError::InvalidMac);
        }
        let plaintext = aes_cbc_decrypt(&keys.cipher_key, &keys.iv, message.ciphertext())?;

        // Commit.
        match (source, next_chain) {
            (Source::Existing(i), None) => {
                if let Some(r) = self.receivers.get_mut(i) {
                    r.skipped.retain(|k| k.index != counter);
                }
            }
            (Source::Existing(i), Some(next)) => {
                if let Some(r) = self.receivers.get_mut(i) {
                    r.skipped.append(&mut skipped);
                    r.chain = next;
                }
            }
            (Source::NewRatchet(root), next) => {
                let next = next.ok_or(SignalError::InvalidRecord("ratchet step without chain"))?;
                self.receivers.push(ReceiverChain {
                    ratchet: *their,
                    chain: next,
                    skipped,
                });
                if self.receivers.len() > MAX_RECEIVER_CHAINS {
                    self.receivers.remove(0);
                }
                let ratchet = KeyPair::generate(rng);
                let (root, sending) = root.create_chain(their, &ratchet.private);
                self.previous_counter = self.sender.chain.index.saturating_sub(1);
                self.root_key = root;
                self.sender = SenderChain {
                    ratchet,
                    chain: sending,
                };
            }
        }
        self.enforce_key_caps();
        self.pending_pre_key = None;
        Ok(plaintext)
    }

    pub(crate) fn enforce_key_caps(&mut self) {
        for r in &mut self.receivers {
            if r.skipped.len() > MAX_MESSAGE_KEYS_PER_CHAIN {
                let excess = r.skipped.len() - MAX_MESSAGE_KEYS_PER_CHAIN;
                r.skipped.drain(..excess);
            }
        }
        let mut total = self.skipped_key_count();
        // Oldest chains first, oldest keys first.
        for r in &mut self.receivers {
            if total <= MAX_MESSAGE_KEYS_PER_SESSION {
                break;
            }
            let drop = (total - MAX_MESSAGE_KEYS_PER_SESSION).min(r.skipped.len());
            r.skipped.drain(..drop);
            total -= drop;
        }
    }

    /// Constant-time comparison of base keys.
    pub(crate) fn has_base_key(&self, base_key: &PublicKey) -> bool {
        bool::from(self.base_key.raw().ct_eq(base_key.raw()))
    }
}
