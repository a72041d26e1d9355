//! WhatsApp app-state sync.
//!
//! This crate is a placeholder in the workspace ladder (layer 3): it holds nothing yet.
//! It will hold the LTHash, the app-state key derivation, patch and snapshot decoding with MAC verification, typed mutations (mute, pin, archive, contacts, …), patch encoding, and a sans-IO sync state machine that asks for patches and keys instead of fetching them.
#![forbid(unsafe_code)]
