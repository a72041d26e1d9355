//! Every integration test of this crate, linked into one binary: one link and one
//! executable instead of one per file, which keeps the test build's disk use and link time
//! down (see docs/ci.md). Each file below is still its own module; pick one with
//! `cargo test --test integration <module>::`.

mod common;
#[path = "support/tls.rs"]
mod support;

mod appstate;
mod blocklist;
mod calls;
mod engine;
mod engine_incoming;
mod groups;
mod history;
mod loopback;
mod media;
mod presence;
mod privacy;
mod profile;
mod recv;
mod recv_events;
mod refusal;
mod send;
mod send_engine;
mod status;
mod transport;
