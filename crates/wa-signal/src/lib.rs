//! The Signal protocol as WhatsApp uses it, wire-compatible with libsignal.
//!
//! What it holds: Curve25519 keys with XEdDSA signatures ([`keys`]), prekeys and bundles
//! ([`prekeys`]), X3DH and the double ratchet behind [`SessionRecord`], `SignalMessage` and
//! `PreKeySignalMessage` version 3 ([`wire`]), sender keys for groups ([`SenderKeyRecord`]) and
//! async store traits ([`store`]) for callers that want them.
//!
//! What it does not do: IO. Records come in, the caller persists what comes out; time and
//! randomness are arguments. Every operation changes its record only when it succeeds.
//!
//! ```
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! use wa_signal::wire::PreKeySignalMessage;
//! use wa_signal::{
//!     CiphertextMessage, IdentityKeyPair, PreKeyBundle, PreKeyRecord, SessionRecord,
//!     SignedPreKeyRecord,
//! };
//!
//! let mut rng = ChaCha20Rng::seed_from_u64(7); // any `rand_core::CryptoRng`
//! // Bob publishes a bundle.
//! let bob_identity = IdentityKeyPair::generate(&mut rng);
//! let signed = SignedPreKeyRecord::generate(1, &bob_identity, &mut rng);
//! let one_time = PreKeyRecord::generate(2, &mut rng);
//! let bundle = PreKeyBundle {
//!     registration_id: 42,
//!     identity_key: *bob_identity.public(),
//!     signed_pre_key_id: signed.id,
//!     signed_pre_key: signed.key_pair.public,
//!     signed_pre_key_signature: signed.signature.to_vec(),
//!     pre_key: Some((one_time.id, one_time.key_pair.public)),
//! };
//!
//! // Alice starts a session and encrypts; she persists `alice` afterwards.
//! let alice_identity = IdentityKeyPair::generate(&mut rng);
//! let mut alice = SessionRecord::new();
//! alice.initiate(&alice_identity, 7, &bundle, &mut rng)?;
//! let sent = alice.encrypt(b"hello")?;
//! assert_eq!(sent.wa_type(), "pkmsg");
//!
//! // Bob decrypts the pkmsg with the prekeys it names, then deletes the one-time prekey.
//! let mut bob = SessionRecord::new();
//! let pkmsg = PreKeySignalMessage::parse(sent.serialized())?;
//! let out = bob.decrypt_pre_key(&bob_identity, 42, &pkmsg, Some(&signed), Some(&one_time), &mut rng)?;
//! assert_eq!(out.plaintext, b"hello");
//! assert_eq!(out.consumed_pre_key_id, Some(2));
//! let reply = bob.encrypt(b"hi")?;
//! assert!(matches!(reply, CiphertextMessage::Whisper(_)));
//! # Ok::<(), wa_signal::SignalError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod crypto;
mod edwards;
pub mod error;
pub mod group;
mod hot_keys;
pub mod keys;
pub mod prekeys;
mod protobuf;
pub mod session;
pub mod store;
pub mod wire;
mod x3dh;

pub use error::{Result, SignalError};
pub use group::SenderKeyRecord;
pub use keys::{IdentityKeyPair, KeyPair, PrivateKey, PublicKey};
pub use prekeys::{PreKeyBundle, PreKeyRecord, SignedPreKeyRecord, generate_registration_id};
pub use session::{CiphertextMessage, PreKeyDecryption, SessionRecord, SessionState};
