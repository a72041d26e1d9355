//! Every integration test of this crate, linked into one binary: one link and one
//! executable instead of one per file, which keeps the test build's disk use and link time
//! down (see docs/ci.md). Each file below is still its own module; pick one with
//! `cargo test --test integration <module>::`.

mod common;

mod appstate;
mod blocklist;
mod calls;
mod demo;
mod media;
mod message_types;
mod messaging;
mod output;
mod presence;
mod privacy;
mod profile;
mod session;
mod status;
