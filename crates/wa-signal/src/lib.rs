//! The Signal protocol as WhatsApp uses it.
//!
//! This crate is a placeholder in the workspace ladder (layer 1): it holds nothing yet.
//! It will hold Curve25519 keys and XEdDSA signatures, X3DH session setup from prekey bundles, the double ratchet with `SignalMessage`/`PreKeySignalMessage` version 3, session records with archived states, sender keys for groups, and async store traits for identities, prekeys, sessions and sender keys. It does no IO: records come in, what to persist goes out.
#![forbid(unsafe_code)]
