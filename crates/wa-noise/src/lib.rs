//! WhatsApp's Noise handshake, frame transport and server certificate chain.
//!
//! This crate is a placeholder in the workspace ladder (layer 1): it holds nothing yet.
//! It will hold a sans-IO `Noise_XX_25519_AESGCM_SHA256` handshake with WhatsApp's deviations (client and server halves), the 3-byte length frame codec, the AES-GCM transport cipher with counter nonces, and verification of the server's `CertChain` under a configurable root key.
#![forbid(unsafe_code)]
