//! The async WhatsApp Web multi-device client.
//!
//! This crate is a placeholder in the workspace ladder (layer 4): it holds nothing yet.
//! It will hold a sans-IO engine (login, pairing, messaging, receipts, retries, app state, history sync) and a thin tokio runtime around it (WebSocket, timers, HTTP), with one `Event` enum delivered as a stream.
#![forbid(unsafe_code)]
