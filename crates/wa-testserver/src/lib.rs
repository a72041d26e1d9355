//! A local WhatsApp-compatible server and simulated primary phone.
//!
//! This crate is a placeholder in the workspace ladder (layer 5): it holds nothing yet.
//! It will hold a sans-IO server engine (Noise responder under a test root, accounts, pairing by QR and code, routing, usync, prekeys, groups, app state) and a WebSocket listener, so that clients (ours and Baileys) can be tested offline. It never depends on `wa-client`.
#![forbid(unsafe_code)]
