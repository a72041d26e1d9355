//! The Signal protocol as WhatsApp uses it, wire-compatible with libsignal.
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

mod crypto;
pub mod error;
pub mod keys;

pub use error::{Result, SignalError};
pub use keys::{IdentityKeyPair, KeyPair, PrivateKey, PublicKey};
