//! WhatsApp media encryption and transfer planning.
//!
//! This crate is a placeholder in the workspace ladder (layer 3): it holds nothing yet.
//! It will hold the HKDF media key expansion per media type, streaming AES-256-CBC + HMAC encryption and decryption with sidecars, and upload/download URL planning. Sans-IO: bytes in, bytes and URLs out.
#![forbid(unsafe_code)]
