//! Every integration test of this crate, linked into one binary: one link and one
//! executable instead of one per file, which keeps the test build's disk use and link time
//! down (see docs/ci.md). Each file below is still its own module; pick one with
//! `cargo test --test integration <module>::`.

mod appstate_client_baileys;
mod appstate_interop;
mod binary_interop;
mod client_baileys_calls;
mod client_baileys_messaging;
mod client_baileys_profile;
mod client_baileys_status;
mod client_groups_baileys;
mod history_interop;
mod media_interop;
mod message_types_interop;
mod noise_interop;
mod oracle_harness;
mod ours_and_baileys;
mod signal_interop;
mod testserver_baileys;
mod testserver_baileys_messaging;
mod testserver_groups_baileys;
