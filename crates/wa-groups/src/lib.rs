//! WhatsApp groups and communities.
//!
//! This crate is a placeholder in the workspace ladder (layer 3): it holds nothing yet.
//! It will hold one request type per group IQ (create, info, participants, invite links, join requests, communities), each pairing a stanza builder with a typed response parser. Sans-IO: the client sends the stanzas.
#![forbid(unsafe_code)]
