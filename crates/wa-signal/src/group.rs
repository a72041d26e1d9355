//! Sender keys: the group ciphers (`SenderKeyDistributionMessage` and `SenderKeyMessage`).
//!
//! A [`SenderKeyRecord`] holds the states of one sender in one group, newest last, at most
//! [`MAX_SENDER_KEY_STATES`]. Our own record holds the signing private key; records of other
//! senders hold what their distribution messages announced.

use std::collections::VecDeque;

use prost::Message as _;
use rand_core::CryptoRng;
use wa_proto::records as pb;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{KeyedHmac, aes_cbc_decrypt, aes_cbc_encrypt, hkdf};
use crate::error::{Result, SignalError};
use crate::keys::{KeyPair, PrivateKey, PublicKey, Signer, Verifier};
use crate::wire::{SenderKeyDistributionMessage, SenderKeyMessage};

/// States kept per sender-key record.
pub const MAX_SENDER_KEY_STATES: usize = 5;
/// How far ahead of the chain an iteration may be.
pub const MAX_SENDER_FORWARD_JUMP: u32 = 2_000;
/// Skipped message keys kept per state.
pub const MAX_SENDER_MESSAGE_KEYS: usize = 2_000;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SenderChainKey {
    iteration: u32,
    seed: [u8; 32],
}

impl SenderChainKey {
    /// This iteration's message key and the next chain key, from one keyed HMAC state.
    fn step(&self) -> Result<(SenderMessageKey, Self)> {
        let iteration = self
            .iteration
            .checked_add(1)
            .ok_or(SignalError::InvalidMessage(
                "sender chain iteration overflow",
            ))?;
        let mac = KeyedHmac::new(&self.seed);
        Ok((
            SenderMessageKey {
                iteration: self.iteration,
                seed: mac.mac(&[0x01]),
            },
            Self {
                iteration,
                seed: mac.mac(&[0x02]),
            },
        ))
    }
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SenderMessageKey {
    iteration: u32,
    seed: [u8; 32],
}

impl SenderMessageKey {
    /// (iv, cipher key) as libsignal derives them with "WhisperGroup".
    fn keys(&self) -> ([u8; 16], [u8; 32]) {
        let mut okm: [u8; 48] = hkdf(&self.seed, None, b"WhisperGroup");
        let mut iv = [0u8; 16];
        let mut key = [0u8; 32];
        iv.copy_from_slice(&okm[..16]);
        key.copy_from_slice(&okm[16..]);
        okm.zeroize();
        (iv, key)
    }
}

#[derive(Clone)]
struct SenderKeyState {
    key_id: u32,
    chain: SenderChainKey,
    /// The signing public key, with its Edwards form cached once derived.
    signing_public: Verifier,
    /// Our signing private key (own states only), with its Edwards public key cached.
    signing_private: Option<Signer>,
    skipped: VecDeque<SenderMessageKey>,
}

/// All sender-key states of one sender in one group.
#[derive(Clone, Default)]
pub struct SenderKeyRecord {
    states: VecDeque<SenderKeyState>,
}

impl core::fmt::Debug for SenderKeyRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SenderKeyRecord")
            .field(
                "key_ids",
                &self.states.iter().map(|s| s.key_id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SenderKeyRecord {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the record holds no state.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Our distribution message for this group, creating our sending state on first use.
    pub fn create_distribution<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> SenderKeyDistributionMessage {
        let distribution = |s: &SenderKeyState| {
            SenderKeyDistributionMessage::new(
                s.key_id,
                s.chain.iteration,
                s.chain.seed,
                *s.signing_public.public(),
            )
        };
        if let Some(own) = self.states.back().filter(|s| s.signing_private.is_some()) {
            return distribution(own);
        }
        let signing = KeyPair::generate(rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let state = SenderKeyState {
            key_id: rng.next_u32() & 0x7FFF_FFFF,
            chain: SenderChainKey { iteration: 0, seed },
            signing_public: Verifier::new(signing.public),
            signing_private: Some(Signer::new(signing.private)),
            skipped: VecDeque::new(),
        };
        seed.zeroize();
        let message = distribution(&state);
        self.states.clear();
        self.states.push_back(state);
        message
    }

    /// Adds the state a sender announced. A repeat of a known (key id, signing key) is ignored,
    /// so a replayed distribution message cannot rewind the chain.
    pub fn process_distribution(&mut self, message: &SenderKeyDistributionMessage) {
        if let Some(pos) = self
            .states
            .iter()
            .position(|s| s.key_id == message.key_id())
        {
            let same_key = self
                .states
                .get(pos)
                .is_some_and(|s| s.signing_public.public() == message.signing_key());
            if same_key {
                return;
            }
            self.states.remove(pos);
        }
        self.states.push_back(SenderKeyState {
            key_id: message.key_id(),
            chain: SenderChainKey {
                iteration: message.iteration(),
                seed: *message.chain_key(),
            },
            signing_public: Verifier::new(*message.signing_key()),
            signing_private: None,
            skipped: VecDeque::new(),
        });
        while self.states.len() > MAX_SENDER_KEY_STATES {
            self.states.pop_front();
        }
    }

    /// Encrypts with our newest state (created by [`SenderKeyRecord::create_distribution`]).
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<SenderKeyMessage> {
        let state = self.states.back_mut().ok_or(SignalError::NoSession)?;
        let signing = state
            .signing_private
            .as_ref()
            .ok_or(SignalError::NoSession)?;
        let (key, next) = state.chain.step()?;
        let (iv, cipher_key) = key.keys();
        let ciphertext = aes_cbc_encrypt(&cipher_key, &iv, plaintext);
        let message = SenderKeyMessage::new(state.key_id, key.iteration, ciphertext, signing, rng);
        state.chain = next;
        Ok(message)
    }

    /// Verifies and decrypts a sender's message. Nothing changes on error.
    pub fn decrypt(&mut self, message: &SenderKeyMessage) -> Result<Vec<u8>> {
        if self.states.is_empty() {
            return Err(SignalError::NoSession);
        }
        let state = self
            .states
            .iter_mut()
            .rev()
            .find(|s| s.key_id == message.key_id())
            .ok_or(SignalError::InvalidKeyId(message.key_id()))?;
        message.verify_signature_with(&state.signing_public)?;
        let iteration = message.iteration();
        let current = state.chain.iteration;
        let mut skipped = Vec::new();
        let (key, next) = if iteration < current {
            let key = state
                .skipped
                .iter()
                .find(|k| k.iteration == iteration)
                .cloned()
                .ok_or(SignalError::DuplicateMessage(iteration))?;
            (key, None)
        } else {
            if iteration - current > MAX_SENDER_FORWARD_JUMP {
                return Err(SignalError::TooFarAhead {
                    counter: iteration,
                    current,
                });
            }
            let (mut key, mut next) = state.chain.step()?;
            while key.iteration < iteration {
                let (k, n) = next.step()?;
                skipped.push(core::mem::replace(&mut key, k));
                next = n;
            }
            (key, Some(next))
        };
        let (iv, cipher_key) = key.keys();
        let plaintext = aes_cbc_decrypt(&cipher_key, &iv, message.ciphertext())?;
        match next {
            None => state.skipped.retain(|k| k.iteration != iteration),
            Some(next) => {
                state.skipped.extend(skipped);
                while state.skipped.len() > MAX_SENDER_MESSAGE_KEYS {
                    state.skipped.pop_front();
                }
                state.chain = next;
            }
        }
        Ok(plaintext)
    }

    /// Serializes the record (protobuf `wa.records.SenderKeyRecord`).
    pub fn serialize(&self) -> Vec<u8> {
        pb::SenderKeyRecord {
            states: self
                .states
                .iter()
                .map(|s| pb::SenderKeyState {
                    key_id: s.key_id,
                    chain_key: Some(pb::SenderChainKey {
                        iteration: s.chain.iteration,
                        seed: s.chain.seed.to_vec(),
                    }),
                    signing_public: s.signing_public.public().serialize().to_vec(),
                    signing_private: s
                        .signing_private
                        .as_ref()
                        .map(|p| p.private().as_bytes().to_vec()),
                    message_keys: s
                        .skipped
                        .iter()
                        .map(|k| pb::SenderMessageKey {
                            iteration: k.iteration,
                            seed: k.seed.to_vec(),
                        })
                        .collect(),
                })
                .collect(),
        }
        .encode_to_vec()
    }

    /// Parses a record written by [`SenderKeyRecord::serialize`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self> {
        let bad = SignalError::InvalidRecord;
        if bytes.len() > crate::session::MAX_RECORD_LEN {
            return Err(bad("record too large"));
        }
        let p = pb::SenderKeyRecord::decode(bytes).map_err(|_| bad("SenderKeyRecord protobuf"))?;
        let seed = |b: &[u8]| -> Result<[u8; 32]> { b.try_into().map_err(|_| bad("seed length")) };
        let mut states = p
            .states
            .iter()
            .map(|s| {
                let chain = s
                    .chain_key
                    .as_ref()
                    .ok_or(bad("missing sender chain key"))?;
                let mut skipped = s
                    .message_keys
                    .iter()
                    .map(|k| {
                        Ok(SenderMessageKey {
                            iteration: k.iteration,
                            seed: seed(&k.seed)?,
                        })
                    })
                    .collect::<Result<VecDeque<_>>>()?;
                while skipped.len() > MAX_SENDER_MESSAGE_KEYS {
                    skipped.pop_front();
                }
                Ok(SenderKeyState {
                    key_id: s.key_id,
                    chain: SenderChainKey {
                        iteration: chain.iteration,
                        seed: seed(&chain.seed)?,
                    },
                    signing_public: Verifier::new(
                        PublicKey::from_bytes(&s.signing_public).map_err(|_| bad("signing key"))?,
                    ),
                    signing_private: s
                        .signing_private
                        .as_deref()
                        .map(|b| PrivateKey::from_slice(b).map(Signer::new))
                        .transpose()
                        .map_err(|_| bad("signing private key"))?,
                    skipped,
                })
            })
            .collect::<Result<VecDeque<_>>>()?;
        while states.len() > MAX_SENDER_KEY_STATES {
            states.pop_front();
        }
        Ok(Self { states })
    }
}
