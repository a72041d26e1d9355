//! The `wa` command line as a library: the subcommands' implementations, so tests (and other
//! programs) can run them without spawning the binary.
//!
//! - [`session`]: `wa login`, `wa logout`, `wa status` and logging in with a saved session.
//! - [`messaging`]: `wa send`, `wa react`, `wa edit`, `wa revoke`, `wa poll`, `wa listen`.
//! - [`media`]: `wa send --image`, `wa download`.
//! - [`appstate`]: `wa mute`, `wa pin`, `wa archive` (app-state sync).
//! - [`presence`]: `wa presence`, `wa typing` (and `wa listen --subscribe`).
//! - [`blocklist`]: `wa block`, `wa blocklist`.
//! - [`privacy`]: `wa privacy`.
//! - [`calls`]: `wa reject-call` (and `wa listen --reject-calls`).
//! - [`profile`]: `wa profile`, `wa user-info`, `wa picture`.
//! - [`demo`]: `wa demo`, two accounts talking through an embedded `wa-testserver`.
//! - [`output`]: lines for standard output that never panic ([`say!`]).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod appstate;
pub mod blocklist;
pub mod calls;
#[cfg(feature = "demo")]
pub mod demo;
pub mod media;
pub mod messaging;
pub mod output;
pub mod presence;
pub mod privacy;
pub mod profile;
pub mod session;
